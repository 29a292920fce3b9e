//! The fake keeps the promises of the Target conformance suite, and its own extras work.

use engine::{RemoteFailure, RemoteKind, Target, TargetError};
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
