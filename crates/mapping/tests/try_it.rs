//! The "try it" entry points the admin API and `entrasync mapping test` call.

mod common;

use common::*;
use mapping::{
    Context, GroupInput, Mapped, Mapper, Subject, TryError, TryReport, UserInput,
    default_group_mapping, default_user_mapping,
};
use serde_json::json;

fn try_user(mappings: &[mapping::Mapping]) -> Result<Mapped, TryError> {
    let mapper = Mapper::new();
    let user = user();
    let names = group_names();
    let provider = provider();
    mapper.try_mappings(
        mappings,
        &Subject::User(UserInput {
            user: &user,
            group_names: &names,
        }),
        &Context {
            provider: &provider,
            link: None,
        },
    )
}

#[test]
fn one_mapping_gives_its_document() {
    let mapper = Mapper::new();
    let group = group();
    let provider = provider();
    let mapped = mapper
        .try_mapping(
            &default_group_mapping(),
            &Subject::Group(GroupInput {
                group: &group,
                member_count: 2,
            }),
            &Context {
                provider: &provider,
                link: None,
            },
        )
        .expect("maps");
    assert_eq!(
        mapped.document().map(|d| d.get("mailNickname").cloned()),
        Some(Some(json!("rd-team")))
    );
}

#[test]
fn a_list_merges_like_a_sync() {
    let mapped = try_user(&[
        default_user_mapping(),
        user_mapping("dept", r#"#{ department: user.attributes.department }"#),
    ])
    .expect("maps");
    let doc = mapped.document().expect("a document");
    assert_eq!(doc.get("department"), Some(&json!("Analytics")));
    assert_eq!(doc.get("displayName"), Some(&json!("Ada Lovelace")));
}

#[test]
fn reports_serialise_for_the_api() {
    let cases = [
        (
            try_user(&[user_mapping("d", r#"#{ displayName: "x" }"#)]),
            json!({"outcome": "document", "document": {"displayName": "x"}}),
        ),
        (
            try_user(&[user_mapping("s", r#"skip("no")"#)]),
            json!({"outcome": "skip", "mapping": "s", "reason": "no"}),
        ),
        (try_user(&[]), json!({"outcome": "no_mappings"})),
        (
            try_user(&[user_mapping("c", "#{ displayName: }")]),
            json!({"outcome": "compile_error", "error": {
                "mapping": "c", "message": "Unexpected '}'",
                "position": {"line": 1, "column": 17}}}),
        ),
        (
            try_user(&[group_mapping("g", "()")]),
            json!({"outcome": "wrong_kind",
                   "message": "mapping \"g\" maps groups and cannot be tried on a user"}),
        ),
        (
            try_user(&[user_mapping("t", r#"throw "bad""#)]),
            json!({"outcome": "mapping_error", "error": {
                "mapping": "t",
                "object": {"kind": "user", "id": "0190a5f0-0000-7000-8000-000000000001",
                           "name": "ada.lovelace"},
                "message": "bad", "position": {"line": 1, "column": 1}}}),
        ),
    ];
    for (result, want) in cases {
        let report = TryReport::from(result);
        let got = serde_json::to_value(&report).expect("serialises");
        assert_eq!(got, want, "{report:?}");
    }
}
