//! The emulator against Graph's own v1.0 schema (`csdl/graph-v1.0-directory.json`, derived
//! from Microsoft's metadata): every property it answers with for users, groups, directory
//! objects and the organization exists there with a value of its type; a write naming a
//! property Graph does not have, or giving a value of the wrong type, is refused as Graph
//! refuses it; and the Graph forms Microsoft's SDKs rely on work (the `delta()` function form,
//! `$batch` item URLs relative to the version, references that name Graph's own host).

mod common;

use common::{directory_ref, start_default};
use graph_emulator::schema;
use serde_json::{Value, json};

/// Each object of an answer (`value` of a list, or the answer itself), against `entity`.
fn assert_conforms(entity: &str, answer: &Value) {
    let objects: Vec<&Value> = match answer.get("value").and_then(Value::as_array) {
        Some(list) => list.iter().collect(),
        None => vec![answer],
    };
    assert!(!objects.is_empty(), "nothing to check in {answer}");
    for object in objects {
        let fields = object.as_object().expect("an object");
        let owner = match fields.get("@odata.type").and_then(Value::as_str) {
            Some("#microsoft.graph.user") => "user",
            Some("#microsoft.graph.group") => "group",
            _ => entity,
        };
        assert_eq!(
            schema::v1().object_mismatch(owner, fields),
            None,
            "{owner}: {object}"
        );
    }
}

#[tokio::test]
async fn every_answer_keeps_to_graphs_schema() {
    let ctx = start_default().await;
    let user = ctx.create_user("ann").await;
    let group = ctx.create_group("Staff").await;
    let added = ctx
        .post(
            &format!("/groups/{group}/members/$ref"),
            json!({"@odata.id": directory_ref("", &user)}),
        )
        .await;
    assert_eq!(added.status, 204, "{}", added.body);
    for (entity, path) in [
        ("user", format!("/users/{user}")),
        ("user", "/users".to_owned()),
        (
            "user",
            "/users?$select=id,displayName,accountEnabled,businessPhones".to_owned(),
        ),
        ("group", format!("/groups/{group}")),
        ("group", "/groups".to_owned()),
        ("directoryObject", format!("/groups/{group}/members")),
        ("organization", "/organization".to_owned()),
        ("user", "/users/delta".to_owned()),
        (
            "group",
            "/groups/delta?$select=displayName,members".to_owned(),
        ),
    ] {
        let answer = ctx.get(&path).await;
        assert_eq!(answer.status, 200, "{path}: {}", answer.body);
        assert_conforms(entity, &answer.body);
    }
}

#[tokio::test]
async fn a_write_naming_what_graph_does_not_have_is_refused() {
    let ctx = start_default().await;
    let user = ctx.create_user("ann").await;
    let unknown = ctx
        .patch(&format!("/users/{user}"), json!({"shoeSize": 44}))
        .await;
    unknown.assert_error(
        400,
        "Request_BadRequest",
        "Property 'shoeSize' does not exist as a declared property or extension property.",
    );
    let wrong_type = ctx
        .patch(&format!("/users/{user}"), json!({"accountEnabled": "yes"}))
        .await;
    assert_eq!(wrong_type.status, 400, "{}", wrong_type.body);
    assert!(
        wrong_type.body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("accountEnabled")),
        "{}",
        wrong_type.body
    );
    let group = ctx
        .post(
            "/groups",
            json!({"displayName": "G", "mailEnabled": false, "mailNickname": "g",
                   "securityEnabled": "true"}),
        )
        .await;
    assert_eq!(
        group.status, 400,
        "a string is not a boolean: {}",
        group.body
    );
}

#[tokio::test]
async fn delta_answers_in_the_function_call_form_too() {
    let ctx = start_default().await;
    ctx.create_user("ann").await;
    for path in ["/users/delta()", "/groups/delta()"] {
        let answer = ctx.get(path).await;
        assert_eq!(answer.status, 200, "{path}: {}", answer.body);
        assert!(
            answer.body.get("@odata.deltaLink").is_some()
                || answer.body.get("@odata.nextLink").is_some(),
            "{path}: {}",
            answer.body
        );
    }
}

#[tokio::test]
async fn batch_item_urls_are_relative_to_the_version_as_graph_requires() {
    let ctx = start_default().await;
    let absolute = ctx
        .post(
            "/$batch",
            json!({"requests": [{"id": "1", "method": "GET",
                "url": "https://graph.microsoft.com/v1.0/users"}]}),
        )
        .await;
    assert_eq!(absolute.status, 400, "the whole batch: {}", absolute.body);
    let versioned = ctx
        .post(
            "/$batch",
            json!({"requests": [
                {"id": "1", "method": "GET", "url": "/v1.0/users"},
                {"id": "2", "method": "GET", "url": "/users"}]}),
        )
        .await;
    assert_eq!(versioned.status, 200, "{}", versioned.body);
    let status_of = |id: &str| {
        versioned.body["responses"]
            .as_array()
            .and_then(|items| items.iter().find(|item| item["id"] == id))
            .map(|item| item["status"].clone())
    };
    assert_eq!(status_of("1"), Some(json!(400)), "{}", versioned.body);
    assert_eq!(status_of("2"), Some(json!(200)), "{}", versioned.body);
}

#[tokio::test]
async fn references_name_graphs_own_host() {
    let ctx = start_default().await;
    let user = ctx.create_user("ann").await;
    let group = ctx.create_group("Staff").await;
    let emulator_host = format!("{}/directoryObjects/{user}", ctx.emu.base_url());
    let refused = ctx
        .post(
            &format!("/groups/{group}/members/$ref"),
            json!({"@odata.id": emulator_host}),
        )
        .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    let bound = ctx
        .patch(
            &format!("/groups/{group}"),
            json!({"members@odata.bind": [format!("http://example.com/v1.0/users/{user}")]}),
        )
        .await;
    assert_eq!(bound.status, 400, "{}", bound.body);
    for reference in [
        format!("https://graph.microsoft.com/v1.0/directoryObjects/{user}"),
        format!("https://graph.microsoft.com/v1.0/users/{user}"),
    ] {
        let removed = ctx
            .delete(&format!("/groups/{group}/members/{user}/$ref"))
            .await;
        assert!(removed.status.is_success() || removed.status == 404);
        let added = ctx
            .post(
                &format!("/groups/{group}/members/$ref"),
                json!({"@odata.id": reference}),
            )
            .await;
        assert_eq!(added.status, 204, "{reference}: {}", added.body);
    }
}
