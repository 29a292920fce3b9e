//! The default mappings, and authentik's documented alternative user mapping for email domains
//! the tenant has not verified, written with our helpers.

mod common;

use common::*;
use mapping::{Mapper, default_group_mapping, default_mappings, default_user_mapping};
use model::{Email, GroupName, Username};
use serde_json::{Value, json};

#[test]
fn default_user_mapping_when_creating() {
    let doc = document(map_user(&[default_user_mapping()], None));
    let password = doc["passwordProfile"]["password"]
        .as_str()
        .expect("a password")
        .to_owned();
    assert_eq!(password.len(), 32);
    assert_eq!(
        doc,
        json!({
            "displayName": "Ada Lovelace",
            "accountEnabled": true,
            "mailNickname": "ada.lovelace",
            "userPrincipalName": "ada@contoso.com",
            "passwordProfile": {"password": password, "forceChangePasswordNextSignIn": false},
            "onPremisesImmutableId": "0190a5f0-0000-7000-8000-000000000001",
        })
    );
}

#[test]
fn default_user_password_is_fresh_and_never_from_stored_data() {
    let first = document(map_user(&[default_user_mapping()], None));
    let second = document(map_user(&[default_user_mapping()], None));
    assert_ne!(
        first["passwordProfile"]["password"],
        second["passwordProfile"]["password"]
    );
    // The compiled mapping must not have the password folded in as a constant either.
    let mapper = Mapper::new();
    let list = mapper
        .compile_users(&[default_user_mapping()])
        .expect("compiles");
    let names = group_names();
    let provider = provider();
    let user = user();
    let input = mapping::UserInput {
        user: &user,
        group_names: &names,
    };
    let context = mapping::Context {
        provider: &provider,
        link: None,
    };
    let a = document(mapper.map_user(&list, &input, &context));
    let b = document(mapper.map_user(&list, &input, &context));
    assert_ne!(a["passwordProfile"], b["passwordProfile"]);
}

#[test]
fn default_user_mapping_when_updating_sends_no_password_or_immutable_id() {
    let link = json!({"id": "remote", "onPremisesImmutableId": "old"});
    let doc = document(map_user(&[default_user_mapping()], Some(&link)));
    assert_eq!(
        doc,
        json!({
            "displayName": "Ada Lovelace",
            "accountEnabled": true,
            "mailNickname": "ada.lovelace",
            "userPrincipalName": "ada@contoso.com",
        })
    );
}

#[test]
fn default_user_mapping_edge_cases() {
    let link = json!({});
    let mut user = user();
    user.username = Username::parse("Zoë (admin) Ørsted").expect("valid");
    user.name = String::new();
    user.email = None;
    user.is_active = false;
    let doc = document(map_user_with(
        &Mapper::new(),
        &user,
        &[default_user_mapping()],
        Some(&link),
    ));
    assert_eq!(
        doc,
        json!({
            "displayName": "Zoë (admin) Ørsted",
            "accountEnabled": false,
            "mailNickname": "ZoeadminOrsted",
        })
    );

    user.username = Username::parse("@@@").expect("valid");
    let doc = document(map_user_with(
        &Mapper::new(),
        &user,
        &[default_user_mapping()],
        Some(&link),
    ));
    assert_eq!(doc["mailNickname"], "0190a5f0-0000-7000-8000-000000000001");
}

#[test]
fn default_group_mapping_makes_a_security_group() {
    let doc = document(map_group(&[default_group_mapping()], 3));
    assert_eq!(
        doc,
        json!({
            "displayName": "R&D Team",
            "mailEnabled": false,
            "securityEnabled": true,
            "mailNickname": "rd-team",
        })
    );
}

#[test]
fn default_group_nickname_stays_within_graph_rules() {
    let mapper = Mapper::new();
    let list = mapper
        .compile_groups(&[default_group_mapping()])
        .expect("compiles");
    let provider = provider();
    for (name, want) in [
        ("Équipe Développement", Some("equipe-developpement")),
        ("東京オフィス", None),
        (&*"Long name".repeat(20), None),
    ] {
        let mut group = group();
        group.name = GroupName::parse(name).expect("valid");
        let mapped = mapper.map_group(
            &list,
            &mapping::GroupInput {
                group: &group,
                member_count: 0,
            },
            &mapping::Context {
                provider: &provider,
                link: None,
            },
        );
        let doc = document(mapped);
        let nickname = doc["mailNickname"].as_str().expect("a string");
        assert!(
            mapping::text::is_valid_mail_nickname(nickname),
            "{name}: {nickname}"
        );
        if let Some(want) = want {
            assert_eq!(nickname, want);
        }
    }
}

#[test]
fn defaults_cover_both_kinds_and_compile() {
    let mapper = Mapper::new();
    let defaults = default_mappings();
    assert_eq!(defaults.len(), 2);
    for mapping in &defaults {
        mapper.compile(mapping).expect("defaults compile");
    }
}

/// authentik's "Email handling" alternative: users whose email domain the tenant has verified
/// are mapped as by default; the others get no UPN but a federated identity keyed on their
/// email, a mail address, a non-expiring password policy and a random password.
const UNVERIFIED_DOMAIN_MAPPING: &str = r#"
let email = get(user, "email", "");
let domain = lower(email_domain(email));
let verified = get(provider, "verified_domains", []);
if domain in verified {
    return #{
        displayName: user.name,
        accountEnabled: user.is_active,
        mailNickname: mail_nickname(user.username),
        userPrincipalName: email,
    };
}
let document = #{
    displayName: user.name,
    accountEnabled: user.is_active,
    mailNickname: mail_nickname(user.username),
    mail: email,
    passwordPolicies: "DisablePasswordExpiration",
    userType: if user.kind == "external" { "Guest" } else { "Member" },
    identities: [
        #{ signInType: "federated", issuer: "mail", issuerAssignedId: email },
    ],
};
if link == () {
    document.passwordProfile = #{ password: random_password(), forceChangePasswordNextSignIn: false };
}
document
"#;

#[test]
fn authentik_unverified_domain_mapping_can_be_written() {
    let mapping = user_mapping("unverified domains", UNVERIFIED_DOMAIN_MAPPING);

    let verified = document(map_user(std::slice::from_ref(&mapping), None));
    assert_eq!(verified["userPrincipalName"], "ada@contoso.com");
    assert!(verified.get("identities").is_none());

    let mut outsider = user();
    outsider.email = Some(Email::parse("grace@navy.example").expect("valid"));
    let doc = document(map_user_with(
        &Mapper::new(),
        &outsider,
        std::slice::from_ref(&mapping),
        None,
    ));
    assert!(doc.get("userPrincipalName").is_none(), "{doc}");
    assert_eq!(doc["mail"], "grace@navy.example");
    assert_eq!(doc["passwordPolicies"], "DisablePasswordExpiration");
    assert_eq!(doc["userType"], "Member");
    assert_eq!(
        doc["identities"],
        json!([{"signInType": "federated", "issuer": "mail", "issuerAssignedId": "grace@navy.example"}])
    );
    assert!(doc["passwordProfile"]["password"].is_string());
}

#[test]
fn helpers_table() {
    let cases: &[(&str, Value)] = &[
        (r#"slugify("R&D Team")"#, json!("rd-team")),
        (r#"slugify("a b c d", 3)"#, json!("a-b")),
        (r#"mail_nickname("Ada Lovelace")"#, json!("AdaLovelace")),
        (r#"ascii("Zoë")"#, json!("Zoe")),
        (r#"regex_match("E1001", "^E\\d+$")"#, json!(true)),
        (r#"regex_match("x1001", "(?i)^E\\d+$")"#, json!(false)),
        (
            r#"regex_replace("ada.lovelace", "\\.", "_")"#,
            json!("ada_lovelace"),
        ),
        (
            r#"regex_replace("Lovelace, Ada", "(\\w+), (\\w+)", "$2 $1")"#,
            json!("Ada Lovelace"),
        ),
        (
            r#"regex_captures("E-42-x", "E-(\\d+)-(y)?")"#,
            json!(["E-42-", "42", null]),
        ),
        (r#"regex_captures("nothing", "\\d")"#, json!(null)),
        (r#"upper("ada")"#, json!("ADA")),
        (r#"lower("ADA")"#, json!("ada")),
        (r#"capitalize("ada LOVELACE")"#, json!("Ada Lovelace")),
        (r#""a b c".split(" ")"#, json!(["a", "b", "c"])),
        (r#"join(["a", "b", 3], "-")"#, json!("a-b-3")),
        (r#"email_domain("ada@Contoso.com")"#, json!("Contoso.com")),
        (r#"email_local("ada@contoso.com")"#, json!("ada")),
        (r#"email_domain("no-at-sign")"#, json!("")),
        (
            r#"format_date("2024-03-01T09:30:00+00:00", "%d.%m.%Y")"#,
            json!("01.03.2024"),
        ),
        (r#"format_date("2024-03-01", "%Y%m%d")"#, json!("20240301")),
        (r#"get(#{a: 1}, "a", 0)"#, json!(1)),
        (r#"get(#{a: ()}, "a", 0)"#, json!(0)),
        (r#"get((), "a", "d")"#, json!("d")),
        (r#"random_password(20).len()"#, json!(20)),
    ];
    for (expression, want) in cases {
        let got = evaluate_raw(expression);
        assert_eq!(&got, want, "{expression}");
    }
}

/// Evaluates an expression through a mapping that wraps its value as a JSON string, so any type
/// passes validation; the test compares the parsed value.
fn evaluate_raw(expression: &str) -> Value {
    let wrapped = format!("let v = {expression}; #{{ department: to_json(#{{ v: v }}) }}");
    let doc = document(map_user(&[user_mapping("helper", &wrapped)], None));
    let text = doc["department"].as_str().expect("a string");
    let parsed: Value = serde_json::from_str(text).expect("json");
    parsed["v"].clone()
}

#[test]
fn helper_failures_are_mapping_errors() {
    for (expression, want) in [
        (
            r#"regex_match("x", "(")"#,
            "invalid regular expression \"(\": error: unclosed group",
        ),
        (
            r#"format_date("yesterday", "%Y")"#,
            "neither an RFC 3339 timestamp",
        ),
        (r#"format_date("2024-03-01", "%Q")"#, "invalid format"),
        (r#"format_date("2024-03-01", "%H")"#, "does not apply"),
        (r#"random_password(3)"#, "between 16 and 256"),
    ] {
        let err = error(map_user(
            &[user_mapping(
                "helper",
                &format!("#{{ department: {expression} }}"),
            )],
            None,
        ));
        assert!(err.message.contains(want), "{expression}: {err}");
        assert!(!err.message.contains('\n'), "{err}");
    }
}
