//! Fixtures shared by the integration tests.
#![allow(dead_code)]

use chrono::{TimeZone, Utc};
use mapping::{Context, GroupInput, Mapper, Mapping, MappingKind, ProviderContext, UserInput};
use model::{Attributes, Email, Group, GroupId, GroupName, User, UserId, UserKind, Username};
use serde_json::{Value, json};

pub fn user() -> User {
    User {
        id: UserId::from_uuid(
            "0190a5f0-0000-7000-8000-000000000001"
                .parse()
                .expect("uuid"),
        ),
        username: Username::parse("ada.lovelace").expect("valid"),
        name: "Ada Lovelace".to_owned(),
        email: Some(Email::parse("ada@contoso.com").expect("valid")),
        is_active: true,
        kind: UserKind::Internal,
        attributes: Attributes::from_value(json!({"department": "Analytics", "level": 3}))
            .expect("object"),
        created_at: Utc
            .with_ymd_and_hms(2024, 3, 1, 9, 30, 0)
            .single()
            .expect("date"),
        updated_at: Utc
            .with_ymd_and_hms(2025, 1, 2, 3, 4, 5)
            .single()
            .expect("date"),
    }
}

pub fn group() -> Group {
    Group {
        id: GroupId::from_uuid(
            "0190a5f0-0000-7000-8000-0000000000aa"
                .parse()
                .expect("uuid"),
        ),
        name: GroupName::parse("R&D Team").expect("valid"),
        attributes: Attributes::new(),
        created_at: Utc
            .with_ymd_and_hms(2024, 3, 1, 9, 30, 0)
            .single()
            .expect("date"),
        updated_at: Utc
            .with_ymd_and_hms(2025, 1, 2, 3, 4, 5)
            .single()
            .expect("date"),
    }
}

pub fn provider() -> ProviderContext {
    ProviderContext::new(
        "contoso",
        &json!({"verified_domains": ["contoso.com", "contoso.onmicrosoft.com"]}),
    )
}

pub const GROUPS: &[&str] = &["staff", "analysts"];

pub fn group_names() -> Vec<String> {
    GROUPS.iter().map(|s| (*s).to_owned()).collect()
}

pub fn user_mapping(name: &str, expression: &str) -> Mapping {
    Mapping::new(name, MappingKind::User, expression)
}

pub fn group_mapping(name: &str, expression: &str) -> Mapping {
    Mapping::new(name, MappingKind::Group, expression)
}

/// Compiles `mappings` and maps the fixture user (creating when `link` is `None`).
pub fn map_user_with(
    mapper: &Mapper,
    user: &User,
    mappings: &[Mapping],
    link: Option<&Value>,
) -> Result<mapping::Mapped, mapping::MappingError> {
    let list = mapper.compile_users(mappings).expect("compiles");
    let names = group_names();
    let provider = provider();
    mapper.map_user(
        &list,
        &UserInput {
            user,
            group_names: &names,
        },
        &Context {
            provider: &provider,
            link,
        },
    )
}

pub fn map_user(
    mappings: &[Mapping],
    link: Option<&Value>,
) -> Result<mapping::Mapped, mapping::MappingError> {
    map_user_with(&Mapper::new(), &user(), mappings, link)
}

pub fn map_group(
    mappings: &[Mapping],
    member_count: u64,
) -> Result<mapping::Mapped, mapping::MappingError> {
    let mapper = Mapper::new();
    let list = mapper.compile_groups(mappings).expect("compiles");
    let group = group();
    let provider = provider();
    mapper.map_group(
        &list,
        &GroupInput {
            group: &group,
            member_count,
        },
        &Context {
            provider: &provider,
            link: None,
        },
    )
}

/// The document, or a panic naming what came instead.
pub fn document(result: Result<mapping::Mapped, mapping::MappingError>) -> Value {
    match result {
        Ok(mapping::Mapped::Document(doc)) => doc.into_value(),
        other => panic!("expected a document, got {other:?}"),
    }
}

pub fn error(result: Result<mapping::Mapped, mapping::MappingError>) -> mapping::MappingError {
    match result {
        Err(err) => err,
        other => panic!("expected an error, got {other:?}"),
    }
}
