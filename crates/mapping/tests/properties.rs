//! Property tests: whatever the directory holds, mapping gives a document that validates, a skip,
//! "no mappings", or a `MappingError`; never a panic. The defaults never fail at all.

mod common;

use chrono::{TimeZone, Utc};
use mapping::{
    Context, GroupInput, Mapped, Mapper, MappingKind, ProviderContext, UserInput,
    default_group_mapping, default_user_mapping, properties::validate,
};
use model::{Attributes, Email, Group, GroupId, GroupName, User, UserId, UserKind, Username};
use proptest::prelude::*;
use serde_json::{Map, Value};

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e12f64..1e12).prop_map(Value::from),
        ".{0,20}".prop_map(Value::String),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{1,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn json_object() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map(
        prop_oneof![
            "[a-z]{1,8}",
            Just("department".to_owned()),
            Just("title".to_owned())
        ],
        json_value(),
        0..5,
    )
    .prop_map(|m| m.into_iter().collect())
}

/// Attributes as the model accepts them (no NUL characters).
fn attributes() -> impl Strategy<Value = Attributes> {
    json_object().prop_filter_map("no NUL", |map| Attributes::try_from(map).ok())
}

fn name_text(max: usize) -> impl Strategy<Value = String> {
    // Any characters the model accepts: no control characters, no edge white space.
    prop::collection::vec(
        any::<char>().prop_filter("printable", |c| !c.is_control()),
        1..max,
    )
    .prop_map(|chars| chars.into_iter().collect::<String>().trim().to_owned())
}

fn email() -> impl Strategy<Value = Option<Email>> {
    prop::option::of(
        "[a-zA-Z0-9!#'^~_-]{1,20}(\\.[a-z0-9]{1,5})?@[a-z0-9]{1,10}\\.[a-z]{2,6}"
            .prop_filter_map("valid", |s| Email::parse(s).ok()),
    )
}

fn user() -> impl Strategy<Value = User> {
    (
        name_text(40).prop_filter_map("valid username", |s| Username::parse(s).ok()),
        prop_oneof![name_text(60), Just(String::new())],
        email(),
        any::<bool>(),
        prop::sample::select(UserKind::ALL.to_vec()),
        attributes(),
        any::<u128>(),
    )
        .prop_map(
            |(username, name, email, is_active, kind, attributes, id)| User {
                id: UserId::from_uuid(uuid::Uuid::from_u128(id)),
                username,
                name,
                email,
                is_active,
                kind,
                attributes,
                created_at: Utc
                    .timestamp_opt(1_700_000_000, 0)
                    .single()
                    .unwrap_or_default(),
                updated_at: Utc::now(),
            },
        )
}

/// Mappings an admin might write, some of which fail on some users (absent or mistyped
/// attributes), some of which skip.
fn admin_mappings() -> Vec<mapping::Mapping> {
    let m = |name: &str, expr: &str| mapping::Mapping::new(name, MappingKind::User, expr);
    vec![
        default_user_mapping(),
        m("department", "#{ department: user.attributes.department }"),
        m(
            "title",
            r#"#{ jobTitle: get(user.attributes, "title", ()) }"#,
        ),
        m("phones", "#{ businessPhones: user.groups }"),
        m(
            "given",
            r#"#{ givenName: user.name.split(" ")[0], surname: user.name.split(" ")[-1] }"#,
        ),
        m(
            "skip odd",
            r#"if user.username.len() % 7 == 3 { skip("odd") } ()"#,
        ),
        m(
            "slug",
            r#"#{ employeeId: slugify(user.username, 16) + "-" + lower(user.kind) }"#,
        ),
        m(
            "regex",
            r#"#{ mail: regex_replace(get(user, "email", ""), "@.*$", "@contoso.com") }"#,
        ),
        m(
            "date",
            r#"#{ employeeHireDate: format_date(user.created_at, "%Y-%m-%dT00:00:00Z") }"#,
        ),
        m(
            "link",
            r#"#{ officeLocation: get(link, "officeLocation", "none") }"#,
        ),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn any_user_maps_to_a_valid_document_or_a_mapping_error(
        user in user(),
        groups in prop::collection::vec(".{0,12}", 0..4),
        picks in prop::sample::subsequence((0..10usize).collect::<Vec<_>>(), 0..=10),
        link in prop::option::of(json_object()),
    ) {
        let mapper = Mapper::new();
        let all = admin_mappings();
        let chosen: Vec<_> = picks.iter().map(|&i| all[i].clone()).collect();
        let list = mapper.compile_users(&chosen).expect("fixtures compile");
        let provider = ProviderContext::new("p", &Value::Null);
        let link = link.map(Value::Object);
        let result = mapper.map_user(
            &list,
            &UserInput { user: &user, group_names: &groups },
            &Context { provider: &provider, link: link.as_ref() },
        );
        match result {
            Ok(Mapped::Document(doc)) => {
                prop_assert_eq!(validate(MappingKind::User, doc.as_map()), Ok(()));
            }
            Ok(Mapped::Skip { mapping, .. }) => prop_assert_eq!(mapping, "skip odd"),
            Ok(Mapped::NoMappings) => {}
            Err(err) => {
                prop_assert!(chosen.iter().any(|m| m.name == err.mapping));
                prop_assert!(!err.to_string().contains('\n'), "{}", err);
            }
        }
    }

    #[test]
    fn the_default_user_mapping_never_fails(user in user(), creating in any::<bool>()) {
        let mapper = Mapper::new();
        let list = mapper.compile_users(&[default_user_mapping()]).expect("compiles");
        let provider = ProviderContext::new("p", &Value::Null);
        let link = Value::Object(Map::new());
        let mapped = mapper.map_user(
            &list,
            &UserInput { user: &user, group_names: &[] },
            &Context { provider: &provider, link: (!creating).then_some(&link) },
        );
        let doc = match mapped {
            Ok(Mapped::Document(doc)) => doc,
            other => return Err(TestCaseError::fail(format!("{other:?}"))),
        };
        prop_assert_eq!(validate(MappingKind::User, doc.as_map()), Ok(()));
        let nickname = doc.get("mailNickname").and_then(Value::as_str).unwrap_or("");
        prop_assert!(mapping::text::is_valid_mail_nickname(nickname), "{:?}", nickname);
        prop_assert_eq!(doc.get("passwordProfile").is_some(), creating);
    }

    #[test]
    fn the_default_group_mapping_never_fails(
        name in name_text(256).prop_filter_map("valid", |s| GroupName::parse(s).ok()),
        attributes in attributes(),
        member_count in any::<u64>(),
    ) {
        let group = Group {
            id: GroupId::new(),
            name,
            attributes,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        };
        let mapper = Mapper::new();
        let list = mapper.compile_groups(&[default_group_mapping()]).expect("compiles");
        let provider = ProviderContext::new("p", &Value::Null);
        let mapped = mapper.map_group(
            &list,
            &GroupInput { group: &group, member_count },
            &Context { provider: &provider, link: None },
        );
        let doc = match mapped {
            Ok(Mapped::Document(doc)) => doc,
            other => return Err(TestCaseError::fail(format!("{other:?}"))),
        };
        prop_assert_eq!(validate(MappingKind::Group, doc.as_map()), Ok(()));
        let nickname = doc.get("mailNickname").and_then(Value::as_str).unwrap_or("");
        prop_assert!(mapping::text::is_valid_mail_nickname(nickname), "{:?}", nickname);
    }
}
