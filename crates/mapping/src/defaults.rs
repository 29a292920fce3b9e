//! The mappings a new provider gets unless the administrator chooses otherwise, as rhai source
//! so that they are shown, copied and edited like any other mapping.
//!
//! They follow authentik's defaults without its bugs (authentik-entra-behaviour.md §4.2, §9):
//! the initial password is random, never the stored password hash; the immutable id is a plain
//! string, set on creation only; the nickname is reduced to what Graph accepts.

use crate::{Mapping, MappingKind};

pub const DEFAULT_USER_MAPPING_NAME: &str = "entrasync default: user";
pub const DEFAULT_GROUP_MAPPING_NAME: &str = "entrasync default: group";

/// The default user mapping.
pub const DEFAULT_USER_MAPPING: &str = r#"// Default user mapping (entrasync).
let nickname = mail_nickname(user.username);
if nickname == "" {
    // A username made only of characters Graph refuses: the id is unique and allowed.
    nickname = user.id;
}
let document = #{
    displayName: if user.name == "" { user.username } else { user.name },
    accountEnabled: user.is_active,
    mailNickname: nickname,
};
if user.email != () {
    document.userPrincipalName = user.email;
}
if link == () {
    // Creating: Graph requires a password. Nobody knows this one; users sign in through
    // federation or a reset. It is never derived from anything we store.
    document.passwordProfile = #{
        password: random_password(),
        forceChangePasswordNextSignIn: false,
    };
    document.onPremisesImmutableId = user.id;
}
document
"#;

/// The default group mapping: a security group.
pub const DEFAULT_GROUP_MAPPING: &str = r#"// Default group mapping (entrasync): a security group.
let nickname = slugify(group.name, 64);
if nickname == "" {
    // A name with no ASCII letter or digit: the id is unique and allowed.
    nickname = group.id;
}
#{
    displayName: group.name,
    mailEnabled: false,
    securityEnabled: true,
    mailNickname: nickname,
}
"#;

pub fn default_user_mapping() -> Mapping {
    Mapping::new(
        DEFAULT_USER_MAPPING_NAME,
        MappingKind::User,
        DEFAULT_USER_MAPPING,
    )
}

pub fn default_group_mapping() -> Mapping {
    Mapping::new(
        DEFAULT_GROUP_MAPPING_NAME,
        MappingKind::Group,
        DEFAULT_GROUP_MAPPING,
    )
}

/// Both defaults, to install on a new provider.
pub fn default_mappings() -> Vec<Mapping> {
    vec![default_user_mapping(), default_group_mapping()]
}
