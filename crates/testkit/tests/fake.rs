//! The fake keeps the promises of the Target conformance suite, and its own extras work.

use engine::{CreateKey, RemoteFailure, RemoteKind, Target, TargetError, TargetRead};
use serde_json::json;
use testkit::{FakeTarget, conformance};

#[tokio::test]
async fn the_fake_passes_the_conformance_suite() {
    // A small page size, so that paging is exercised.
    conformance::check(&FakeTarget::new(2), "contoso.onmicrosoft.com").await;
}

#[tokio::test]
async fn injected_errors_come_back_once_in_order() {
    let fake = FakeTarget::default();
    let throttled = TargetError::Transient {
        retry_after: Some(std::time::Duration::from_secs(2)),
        failure: RemoteFailure::default(),
    };
    fake.fail_next(throttled.clone());
    let first = fake.list(RemoteKind::User, &[], None).await;
    assert_eq!(first.expect_err("injected"), throttled);
    assert!(fake.list(RemoteKind::User, &[], None).await.is_ok());
    assert_eq!(
        fake.counts().reads,
        1,
        "a failed call is not counted as answered"
    );
    assert_eq!(fake.counts().writes(), 0);
}

fn group(nickname: &str) -> engine::Properties {
    json!({"displayName": "G", "mailEnabled": false, "securityEnabled": true, "mailNickname": nickname})
        .as_object()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn a_write_can_be_applied_and_its_answer_lost() {
    let fake = FakeTarget::default();
    let lost = TargetError::Transient {
        retry_after: None,
        failure: RemoteFailure::local("timeout", "the answer was lost"),
    };
    fake.fail_after_next_write(lost.clone());
    let key = CreateKey::derive(model::ProviderId::new(), uuid::Uuid::now_v7(), None);
    let answer = fake.create(RemoteKind::Group, &group("g"), &key).await;
    assert_eq!(answer.expect_err("the answer is lost"), lost);
    assert_eq!(
        fake.objects(RemoteKind::Group).len(),
        1,
        "yet the group exists"
    );
    let again = fake
        .create(RemoteKind::Group, &group("g"), &key)
        .await
        .expect("the retry answers");
    assert_eq!(
        fake.objects(RemoteKind::Group).len(),
        1,
        "and is that same group"
    );
    assert_eq!(again.id, fake.objects(RemoteKind::Group)[0].id);
}

#[tokio::test]
async fn new_objects_lag_behind_reads() {
    let fake = FakeTarget::default();
    fake.set_read_lag(2);
    let key = CreateKey::derive(model::ProviderId::new(), uuid::Uuid::now_v7(), None);
    let made = fake
        .create(RemoteKind::Group, &group("g"), &key)
        .await
        .expect("create");
    assert!(matches!(
        fake.get(RemoteKind::Group, &made.id, &[]).await,
        Err(TargetError::NotFound { .. })
    ));
    assert!(matches!(
        fake.add_members(&made.id, &[]).await,
        Err(TargetError::Transient { .. })
    ));
    let listed = fake.list(RemoteKind::Group, &[], None).await.expect("list");
    assert!(listed.objects.is_empty(), "not listed yet");
    let listed = fake.list(RemoteKind::Group, &[], None).await.expect("list");
    assert_eq!(listed.objects.len(), 1, "visible after the lag");
}
