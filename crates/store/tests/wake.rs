//! Workers wake at a directory write instead of at their next poll: a write made through a
//! store rings that store at once; on PostgreSQL, a write made by another node (another store
//! on the same schema) rings this one too, and a write to another schema does not.

mod common;

use std::time::Duration;

use model::{NewUser, Username};
use store::{ConnectOptions, Store};

async fn write_user(store: &Store, name: &str) {
    store
        .create_user(NewUser::new(Username::parse(name).expect("a name")))
        .await
        .expect("write");
}

/// Whether `store` is rung within `within`.
async fn rung(store: &Store, within: Duration) -> bool {
    tokio::time::timeout(within, store.directory_changed())
        .await
        .is_ok()
}

#[tokio::test]
async fn a_write_rings_its_own_store() {
    for t in [common::sqlite().await, common::postgres().await] {
        write_user(&t.store, "ann").await;
        assert!(rung(&t.store, Duration::from_secs(1)).await, "{}", t.url);
    }
}

#[tokio::test]
async fn on_postgresql_another_nodes_write_rings_this_one_and_another_schemas_does_not() {
    let here = common::postgres().await;
    let node = |schema: Option<String>| {
        let url = here.url.clone();
        async move {
            Store::connect_with(&ConnectOptions {
                schema,
                ..ConnectOptions::new(url)
            })
            .await
            .expect("another node")
        }
    };
    let other_node = node(here.schema.clone()).await;
    let elsewhere = common::postgres().await;
    // The first wait starts the listener (and, quiet, lets it get listening).
    assert!(!rung(&here.store, Duration::from_millis(500)).await);

    write_user(&elsewhere.store, "someone-else").await;
    assert!(
        !rung(&here.store, Duration::from_millis(700)).await,
        "another schema's write is not ours"
    );
    write_user(&other_node, "bob").await;
    assert!(
        rung(&here.store, Duration::from_secs(5)).await,
        "the other node's write woke this one"
    );
}
