//! The Target port against the emulator (and wiremock for the permission errors the emulator
//! does not produce).

use std::collections::HashSet;
use std::time::Duration;

use engine::{
    Anchor, CreateKey, Properties, RemoteId, RemoteKind, Target, TargetError, TargetRead,
};
use entra::EntraTarget;
use graph_emulator::{Emulator, EmulatorConfig, Knobs, RunningEmulator};
use msgraph::{ClientConfig, Credential, Endpoints, GraphClient, PacingConfig, RetryPolicy};
use serde_json::json;

fn retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 10,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(300),
        max_total_delay: Duration::from_secs(20),
    }
}

async fn start(knobs: Knobs) -> (RunningEmulator, EntraTarget) {
    let emu = Emulator::start(EmulatorConfig {
        tenant_id: uuid::Uuid::new_v4().to_string(),
        verified_domains: vec!["contoso.onmicrosoft.com".into(), "Contoso.com".into()],
        knobs,
        ..EmulatorConfig::default()
    })
    .await
    .expect("emulator");
    let graph = GraphClient::new(
        ClientConfig::new(
            Endpoints::custom(emu.login_url(), emu.base_url()),
            emu.tenant_id(),
            emu.client_id(),
            Credential::secret(emu.client_secret().expect("secret")),
        )
        .with_retry(retry())
        .with_pacing(PacingConfig::unlimited()),
    )
    .expect("client");
    (emu, EntraTarget::new(graph))
}

fn user(alias: &str, domain: &str) -> Properties {
    json!({"accountEnabled": true, "displayName": alias, "mailNickname": alias.replace('\'', ""),
           "userPrincipalName": format!("{alias}@{domain}"),
           "passwordProfile": {"password": "Xy7!long-random-Passw0rd-123"}})
    .as_object()
    .expect("object")
    .clone()
}

/// A create key of its own (each create stands for another directory object).
fn key() -> CreateKey {
    CreateKey::derive(model::ProviderId::new(), uuid::Uuid::now_v7(), None)
}

fn group(name: &str) -> Properties {
    json!({"displayName": name, "mailEnabled": false, "mailNickname": name,
           "securityEnabled": true})
    .as_object()
    .expect("object")
    .clone()
}

#[tokio::test]
async fn users_create_find_update_delete_and_classification() {
    let (_emu, t) = start(Knobs::default()).await;
    let u = t
        .create(RemoteKind::User, &user("O'Brien", "CONTOSO.com"), &key())
        .await
        .expect("create");
    let found = t
        .find(
            RemoteKind::User,
            &Anchor::UserPrincipalName("o'brien@contoso.com".into()),
            &["displayName"],
        )
        .await
        .expect("find");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, u.id);

    match t
        .create(RemoteKind::User, &user("O'Brien", "contoso.com"), &key())
        .await
    {
        Err(TargetError::AlreadyExists { failure }) => {
            assert_eq!(failure.code, "ObjectConflict");
            assert!(failure.request_id.is_some() && failure.date.is_some());
        }
        other => panic!("expected AlreadyExists, got {other:?}"),
    }
    match t
        .create(RemoteKind::User, &user("x", "fabrikam.com"), &key())
        .await
    {
        Err(TargetError::Rejected { failure }) => assert!(
            failure.message.contains("'fabrikam.com'"),
            "{}",
            failure.message
        ),
        other => panic!("expected Rejected, got {other:?}"),
    }
    let mut bad = user("y", "contoso.com");
    bad.insert("mailNickname".into(), json!("has space"));
    assert!(matches!(
        t.create(RemoteKind::User, &bad, &key()).await,
        Err(TargetError::Rejected { .. })
    ));

    let mut change = Properties::new();
    change.insert("jobTitle".into(), json!("CTO"));
    t.update(RemoteKind::User, &u.id, &change)
        .await
        .expect("update");
    let got = t
        .get(RemoteKind::User, &u.id, &["jobTitle"])
        .await
        .expect("get");
    assert_eq!(got.properties["jobTitle"], "CTO");
    t.delete(RemoteKind::User, &u.id).await.expect("delete");
    assert!(matches!(
        t.get(RemoteKind::User, &u.id, &[]).await,
        Err(TargetError::NotFound { .. })
    ));
    assert!(matches!(
        t.update(RemoteKind::User, &u.id, &change).await,
        Err(TargetError::NotFound { .. })
    ));

    let page = t
        .list(RemoteKind::User, &["displayName"], None)
        .await
        .expect("list");
    assert!(page.next.is_none());
}

#[tokio::test]
async fn membership_is_idempotent() {
    let (_emu, t) = start(Knobs::default()).await;
    let g = t
        .create(RemoteKind::Group, &group("eng"), &key())
        .await
        .expect("group");
    assert_eq!(
        t.find(RemoteKind::Group, &Anchor::DisplayName("eng".into()), &[])
            .await
            .expect("find")
            .len(),
        1
    );
    let mut users = Vec::new();
    for i in 0..45 {
        users.push(
            t.create(
                RemoteKind::User,
                &user(&format!("u{i}"), "contoso.onmicrosoft.com"),
                &key(),
            )
            .await
            .expect("user")
            .id,
        );
    }
    let first = t.add_members(&g.id, &users[..5]).await.expect("add 5");
    assert_eq!(first.changed.len(), 5);
    // 45 ids, 5 already members, one duplicated: three chunks, the first falls back to $ref.
    let mut again: Vec<RemoteId> = users.clone();
    again.push(users[10].clone());
    let second = t.add_members(&g.id, &again).await.expect("add all");
    assert_eq!(second.changed.len(), 40);
    let unchanged: HashSet<_> = second.unchanged.iter().collect();
    assert_eq!(unchanged, users[..5].iter().collect());

    let mut listed = Vec::new();
    let mut next = None;
    loop {
        let p = t
            .list_members(&g.id, next.as_deref())
            .await
            .expect("members");
        listed.extend(p.objects.into_iter().map(|o| o.id));
        next = p.next;
        if next.is_none() {
            break;
        }
    }
    assert_eq!(listed.len(), 45);
    let removed = t.remove_member(&g.id, &users[0]).await.expect("remove");
    assert_eq!(removed.changed, vec![users[0].clone()]);
    let again = t
        .remove_member(&g.id, &users[0])
        .await
        .expect("remove again");
    assert_eq!(again.unchanged, vec![users[0].clone()]);
}

#[tokio::test]
async fn a_reference_not_yet_replicated_is_transient() {
    let (_emu, t) = start(Knobs {
        replication_lag_ms: 60_000,
        ..Knobs::default()
    })
    .await;
    let g = t
        .create(RemoteKind::Group, &group("lagging"), &key())
        .await
        .expect("group");
    let u = t
        .create(
            RemoteKind::User,
            &user("fresh", "contoso.onmicrosoft.com"),
            &key(),
        )
        .await
        .expect("user");
    match t.add_members(&g.id, &[u.id]).await {
        Err(TargetError::Transient {
            retry_after: Some(_),
            ..
        }) => {}
        other => panic!("expected Transient, got {other:?}"),
    }
}

#[tokio::test]
async fn creates_under_faults_make_no_duplicates() {
    let (emu, t) = start(Knobs::default()).await;
    emu.set_knobs(Knobs {
        error_rate: 0.2,
        reset_rate: 0.1,
        ..Knobs::default()
    });
    let props: Vec<Properties> = (0..60)
        .map(|i| user(&format!("f{i}"), "contoso.onmicrosoft.com"))
        .collect();
    let mut ok = 0;
    for p in &props[..20] {
        match t.create(RemoteKind::User, p, &key()).await {
            Ok(_) => ok += 1,
            Err(TargetError::Transient { .. }) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    let batched = t.create_many(RemoteKind::User, &props[20..]).await;
    ok += batched.iter().filter(|r| r.is_ok()).count();
    emu.set_knobs(Knobs::default());
    let dump = emu.dump();
    let upns: Vec<String> = dump["users"]
        .as_array()
        .expect("users")
        .iter()
        .map(|u| u["userPrincipalName"].as_str().expect("upn").to_lowercase())
        .collect();
    let unique: HashSet<_> = upns.iter().collect();
    assert_eq!(unique.len(), upns.len(), "no user twice");
    assert!(upns.len() >= ok, "every success exists");
    assert!(
        ok >= 55,
        "retries and lookups resolve nearly everything: {ok}"
    );
}

#[tokio::test]
async fn a_group_whose_create_answers_were_all_lost_is_made_once() {
    // Graph applied every try and lost every answer: the key makes the group once.
    let (emu, t) = start(Knobs {
        post_write_fault_rate: 1.0,
        // A lost answer may hang before the reset: short, so the retries are not minutes.
        hang_ms: 50,
        ..Knobs::default()
    })
    .await;
    let key = key();
    let first = t.create(RemoteKind::Group, &group("lost"), &key).await;
    assert!(first.is_err(), "every answer was lost: {first:?}");
    emu.set_knobs(Knobs::default());
    let made = t
        .create(RemoteKind::Group, &group("lost"), &key)
        .await
        .expect("the same key answers the group");
    let groups = emu.dump()["groups"].as_array().cloned().unwrap_or_default();
    assert_eq!(groups.len(), 1, "one group: {groups:?}");
    assert_eq!(groups[0]["id"].as_str(), Some(made.id.as_str()));
}

#[tokio::test]
async fn a_user_whose_create_answer_was_lost_is_found_by_its_upn() {
    let (emu, t) = start(Knobs {
        post_write_fault_rate: 1.0,
        hang_ms: 50,
        fault_seed: Some(7),
        ..Knobs::default()
    })
    .await;
    let lost = t
        .create(
            RemoteKind::User,
            &user("lost", "contoso.onmicrosoft.com"),
            &key(),
        )
        .await;
    emu.set_knobs(Knobs::default());
    let users = emu.dump()["users"].as_array().cloned().unwrap_or_default();
    assert_eq!(users.len(), 1, "one user, whatever the answers: {users:?}");
    if let Ok(user) = lost {
        assert_eq!(users[0]["id"].as_str(), Some(user.id.as_str()));
    }
}
