//! A committed write survives the process dying right after the commit: a child process writes
//! and then aborts, and the parent finds both the row and its change record.

mod common;

use std::process::Command;

use model::{ChangeOp, NewUser, ObjectKind, Username};
use store::{ConnectOptions, Store};

const URL_VAR: &str = "ENTRASYNC_TEST_CHILD_URL";
const SCHEMA_VAR: &str = "ENTRASYNC_TEST_CHILD_SCHEMA";

/// The child's half: write one user, then die without any orderly shutdown.
#[tokio::test]
#[ignore = "run as a child process by `committed_writes_survive_a_crash`"]
async fn child_writes_then_aborts() {
    let url = std::env::var(URL_VAR).expect("run by the parent test");
    let options = ConnectOptions {
        schema: std::env::var(SCHEMA_VAR).ok(),
        ..ConnectOptions::new(url)
    };
    let store = Store::connect_with(&options).await.expect("connect");
    store
        .create_user(NewUser::new(Username::parse("survivor").expect("name")))
        .await
        .expect("write");
    std::process::abort();
}

fn run_child(t: &common::TestStore) {
    let exe = std::env::current_exe().expect("test binary");
    let mut command = Command::new(exe);
    command
        .args([
            "--exact",
            "child_writes_then_aborts",
            "--ignored",
            "--nocapture",
        ])
        .env(URL_VAR, &t.url);
    if let Some(schema) = &t.schema {
        command.env(SCHEMA_VAR, schema);
    }
    let status = command.status().expect("run the child");
    assert!(!status.success(), "the child must die, not exit cleanly");
}

both_backends!(committed_writes_survive_a_crash, |t| {
    run_child(t);
    let user = t
        .store
        .find_user_by_username("survivor")
        .await
        .expect("read")
        .expect("the committed user is there");
    let records = t.store.changes_after(0, 10).await.expect("changes");
    assert_eq!(records.len(), 1, "and so is its change record");
    assert_eq!(
        (records[0].kind, records[0].op, records[0].object_id),
        (ObjectKind::User, ChangeOp::Create, user.id.as_uuid())
    );
});
