use serde::{Deserialize, Serialize};

use crate::{GroupName, NewGroup, NewUser, Username};

/// One line of an import file. Users are matched by username and groups by name: an existing
/// one is updated to what the record says, so importing the same file twice changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ImportRecord {
    User(NewUser),
    Group(NewGroup),
    /// `user` (a username) is a member of `group` (a group name).
    Membership(MembershipRef),
}

/// A membership named by its ends, as import files write it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MembershipRef {
    pub group: GroupName,
    pub user: Username,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_tagged_by_type_and_strict() {
        let user: ImportRecord =
            serde_json::from_str(r#"{"type":"user","username":"bob","email":"bob@example.com"}"#)
                .expect("user record");
        assert!(matches!(user, ImportRecord::User(_)));
        let member: ImportRecord =
            serde_json::from_str(r#"{"type":"membership","group":"Eng","user":"bob"}"#)
                .expect("membership record");
        assert!(matches!(member, ImportRecord::Membership(_)));
        let err = serde_json::from_str::<ImportRecord>(r#"{"type":"user","username":"b","x":1}"#)
            .expect_err("unknown field");
        assert!(err.to_string().contains("unknown field `x`"), "{err}");
        assert!(serde_json::from_str::<ImportRecord>(r#"{"type":"robot"}"#).is_err());
    }
}
