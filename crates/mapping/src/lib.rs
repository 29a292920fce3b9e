//! Property mappings: admin-written [rhai](https://rhai.rs) expressions that turn a directory
//! user or group into the Graph JSON we want in Entra (a [`Document`]), or skip it.
//!
//! ```text
//! Mapping (source) --Mapper::compile_users/compile_groups--> UserMappings / GroupMappings
//!   --Mapper::map_user / map_group (object, provider, link)--> Mapped | MappingError
//! ```
//!
//! This crate knows nothing of Graph transport, storage or sync control flow. Evaluation is
//! synchronous CPU work bounded by the sandbox [`Limits`] (by default at most 1 s, usually a few
//! microseconds): async callers run it in `spawn_blocking` or accept that.
//!
//! # The expression language, as an administrator sees it
//!
//! Variables (read-only):
//! - `user`: `id`, `username`, `name`, `email` (or `()`), `is_active`, `kind` (`internal`,
//!   `external`, `service_account`, `internal_service_account`), `attributes` (a map), `groups`
//!   (names of the groups the user is a direct member of), `created_at`, `updated_at` (RFC 3339);
//! - `group`: `id`, `name`, `attributes`, `member_count`, `created_at`, `updated_at`;
//! - `provider`: `name` and the provider's settings;
//! - `link`: the remote object's last known Graph attributes, or `()` when creating.
//!
//! A mapping returns a map of Graph properties spelt as in Graph's JSON (`#{ displayName:
//! user.name, passwordProfile: #{ password: random_password() } }`), or `()` to add nothing, or
//! calls `skip()` / `skip("reason")`. A property set to `()` is sent as `null` (Graph clears it).
//! The outputs of a provider's list merge in order: a later scalar overrides, maps merge, lists
//! concatenate. Unknown or mistyped properties are errors ([`properties`]).
//!
//! Property access is strict: `user.nmae` is an error, not `()`. Read optional keys with
//! `get(map, "key", default)` (also works on a `()` link) or `"key" in map`.
//!
//! Helpers, besides rhai's own string and array functions (`split`, `trim`, `to_upper`, `sub_string`,
//! `contains`, `in`, …): `slugify(s)`, `slugify(s, max)`, `mail_nickname(s)`, `ascii(s)`,
//! `lower(s)`, `upper(s)`, `capitalize(s)`, `join(array, separator)`, `email_domain(s)`,
//! `email_local(s)`, `regex_match(s, pattern)`, `regex_replace(s, pattern, replacement)` (`$1`
//! for groups), `regex_captures(s, pattern)` (array or `()`), `format_date(date, strftime)`,
//! `get(map, key, default)`, `random_password()`, `random_password(length)`, `skip()`.
//! `print` and `debug` write to the service log. There is no I/O, `eval` or `import`.

mod compile;
mod convert;
mod defaults;
mod error;
mod evaluate;
mod helpers;
mod merge;
mod object;
mod outcome;
pub mod properties;
mod sandbox;
pub mod text;
mod try_it;

pub use compile::{CompiledMapping, GroupMappings, Mapping, UserMappings};
pub use defaults::{
    DEFAULT_GROUP_MAPPING, DEFAULT_GROUP_MAPPING_NAME, DEFAULT_USER_MAPPING,
    DEFAULT_USER_MAPPING_NAME, default_group_mapping, default_mappings, default_user_mapping,
};
pub use error::{CompileError, ListError, MappingError, SourcePosition};
pub use helpers::random_password;
pub use object::{
    Context, GroupInput, MappingKind, ObjectLabel, ProviderContext, Subject, UserInput,
};
pub use outcome::{Document, Mapped};
pub use sandbox::Limits;
pub use try_it::{TryError, TryReport};

/// The sandboxed rhai engine with our helpers: build one per process and share it (`Send +
/// Sync`); compiling and evaluating only borrow it.
pub struct Mapper {
    engine: rhai::Engine,
    limits: Limits,
}

impl Mapper {
    /// An engine with the default sandbox [`Limits`].
    pub fn new() -> Self {
        Self::with_limits(Limits::default())
    }

    pub fn with_limits(limits: Limits) -> Self {
        Self {
            engine: sandbox::build_engine(limits),
            limits,
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub(crate) fn engine(&self) -> &rhai::Engine {
        &self.engine
    }
}

impl Default for Mapper {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Mapper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mapper").finish_non_exhaustive()
    }
}
