//! Every operation against the emulator over loopback: users, groups, finds with quotes,
//! members, paging, verified domains, delta rounds.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::{config, group_body, id, start, user_body};
use futures::TryStreamExt;
use msgraph::Kind;
use serde_json::json;

#[tokio::test]
async fn users_crud_and_finds_with_quotes() {
    let (_emu, g) = start(config()).await;
    assert_eq!(
        g.verified_domains().await.expect("domains"),
        vec!["contoso.onmicrosoft.com"]
    );

    let created = g
        .create(Kind::User, &user_body("o'brien"))
        .await
        .expect("create");
    let uid = id(&created);
    let got = g
        .get(Kind::User, &uid, &["displayName", "mailNickname"])
        .await
        .expect("get");
    assert_eq!(got["displayName"], "o'brien");

    let by_upn = g
        .find_user_by_upn("O'Brien@contoso.onmicrosoft.com", &["userPrincipalName"])
        .await
        .expect("find upn");
    assert_eq!(
        by_upn.len(),
        1,
        "UPN match ignores case and survives the quote"
    );
    let by_mail = g
        .find_user_by_mail("o'brien@contoso.onmicrosoft.com", &[])
        .await
        .expect("find mail");
    assert_eq!(id(&by_mail[0]), uid);
    assert!(
        g.find_user_by_upn("nobody@contoso.onmicrosoft.com", &[])
            .await
            .expect("none")
            .is_empty()
    );

    let mut change = serde_json::Map::new();
    change.insert("jobTitle".into(), json!("Engineer"));
    g.update(Kind::User, &uid, &change).await.expect("update");
    let got = g.get(Kind::User, &uid, &["jobTitle"]).await.expect("get");
    assert_eq!(got["jobTitle"], "Engineer");

    // Duplicate UPN: Graph's 400 with the ObjectConflict detail, kept as is.
    let dup = g
        .create(Kind::User, &user_body("o'brien"))
        .await
        .expect_err("duplicate");
    let api = dup.api().expect("api error");
    assert_eq!((api.status, api.code.as_str()), (400, "Request_BadRequest"));
    assert!(api.detail_codes.iter().any(|c| c == "ObjectConflict"));
    assert!(api.request_id.is_some() && api.date.is_some(), "{api}");
    assert!(!dup.outcome_unknown());

    g.delete(Kind::User, &uid).await.expect("delete");
    let gone = g.get(Kind::User, &uid, &[]).await.expect_err("gone");
    assert_eq!(gone.status(), Some(404));
}

#[tokio::test]
async fn groups_and_members() {
    let (_emu, g) = start(config()).await;
    let group = g
        .create(Kind::Group, &group_body("Dev's Team", "devs-team"))
        .await
        .expect("group");
    let gid = id(&group);
    let found = g
        .find_groups_by_display_name("Dev's Team", &["displayName"])
        .await
        .expect("find");
    assert_eq!(found.len(), 1);

    let mut users = Vec::new();
    for i in 0..25 {
        users.push(id(&g
            .create(Kind::User, &user_body(&format!("m{i}")))
            .await
            .expect("user")));
    }
    g.add_member(&gid, &users[0]).await.expect("add one");
    let again = g
        .add_member(&gid, &users[0])
        .await
        .expect_err("already a member");
    assert!(again.api().expect("api").message.contains("already exist"));
    let refs: Vec<&str> = users[1..21].iter().map(String::as_str).collect();
    g.bind_members(&gid, &refs).await.expect("bind 20");
    let too_many: Vec<&str> = users.iter().map(String::as_str).collect();
    assert!(
        g.bind_members(&gid, &too_many).await.is_err(),
        "more than 20 refused locally"
    );

    let page = g.list_members_page(&gid, None).await.expect("members");
    let ids: HashSet<String> = page.items.iter().map(id).collect();
    assert_eq!(ids.len(), 21);
    assert!(page.next_link.is_none());

    g.remove_member(&gid, &users[0]).await.expect("remove");
    let not_member = g
        .remove_member(&gid, &users[0])
        .await
        .expect_err("not a member");
    assert_eq!(not_member.status(), Some(404));
    // The user itself is still there (the `$ref` form removes the link only).
    g.get(Kind::User, &users[0], &[]).await.expect("user kept");

    let mut rename = serde_json::Map::new();
    rename.insert("description".into(), json!("d"));
    g.update(Kind::Group, &gid, &rename)
        .await
        .expect("update group");
    g.delete(Kind::Group, &gid).await.expect("delete group");
}

#[tokio::test]
async fn list_follows_next_links_across_pages() {
    let (emu, g) = start(config()).await;
    let users: Vec<_> = (0..2100)
        .map(|i| json!({"userPrincipalName": format!("p{i}@contoso.onmicrosoft.com"), "displayName": format!("p{i}")}))
        .collect();
    emu.seed(json!({ "users": users })).expect("seed");
    let pages: Vec<_> = g
        .list_pages(Kind::User, &["displayName"])
        .try_collect()
        .await
        .expect("pages");
    assert_eq!(pages.len(), 3, "999 + 999 + 102");
    let ids: HashSet<String> = pages.iter().flat_map(|p| p.items.iter().map(id)).collect();
    assert_eq!(ids.len(), 2100);
    assert!(pages[0].items[0].contains_key("displayName"));
    let m = g.metrics();
    assert_eq!(m.requests["GET /users"]["200"], 3);
}

#[tokio::test]
async fn delta_rounds_and_expired_link_resync() {
    let (emu, g) = start(config()).await;
    g.create(Kind::User, &user_body("d1")).await.expect("u1");
    let first = g
        .delta_round(Kind::User, &["displayName"], None)
        .await
        .expect("round 1");
    assert!(first.full_resync);
    assert_eq!(first.objects.len(), 1);

    let u2 = id(&g.create(Kind::User, &user_body("d2")).await.expect("u2"));
    let second = g
        .delta_round(Kind::User, &["displayName"], Some(&first.delta_link))
        .await
        .expect("round 2");
    assert!(!second.full_resync);
    assert_eq!(second.objects.iter().map(id).collect::<Vec<_>>(), vec![u2]);

    emu.advance_clock(Duration::from_secs(8 * 24 * 3600));
    let third = g
        .delta_round(Kind::User, &["displayName"], Some(&second.delta_link))
        .await
        .expect("round 3");
    assert!(
        third.full_resync,
        "expired deltaLink falls back to a full round"
    );
    assert_eq!(third.objects.len(), 2);
}
