//! Mappings as the admin writes them, and their compiled form. A mapping is compiled once (when
//! saved, and when a sync loads the provider) and its AST evaluated for every object: that is
//! both the fast path and the only way rhai's strict property access holds.

use rhai::{AST, Dynamic, Scope};
use serde::{Deserialize, Serialize};

use crate::{CompileError, ListError, Mapper, MappingKind, SourcePosition};

/// A property mapping as stored: a name, the kind of object it maps, and its rhai source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Mapping {
    pub name: String,
    pub kind: MappingKind,
    pub expression: String,
}

impl Mapping {
    pub fn new(name: impl Into<String>, kind: MappingKind, expression: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            kind,
            expression: expression.into(),
        }
    }
}

/// A mapping that compiled. Cheap to share across threads (`Send + Sync`).
#[derive(Debug, Clone)]
pub struct CompiledMapping {
    name: String,
    kind: MappingKind,
    ast: AST,
}

impl CompiledMapping {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn kind(&self) -> MappingKind {
        self.kind
    }

    pub(crate) fn ast(&self) -> &AST {
        &self.ast
    }
}

macro_rules! mapping_list {
    ($(#[$doc:meta])* $name:ident, $kind:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default)]
        pub struct $name {
            mappings: Vec<CompiledMapping>,
        }

        impl $name {
            pub const KIND: MappingKind = $kind;

            /// Builds the list from mappings compiled earlier; refuses one of the other kind.
            pub fn new(mappings: Vec<CompiledMapping>) -> Result<Self, ListError> {
                if let Some(wrong) = mappings.iter().find(|m| m.kind != Self::KIND) {
                    return Err(ListError::WrongKind {
                        mapping: wrong.name.clone(),
                        expected: Self::KIND,
                        found: wrong.kind,
                    });
                }
                Ok(Self { mappings })
            }

            /// The mappings, in evaluation order.
            pub fn mappings(&self) -> &[CompiledMapping] {
                &self.mappings
            }

            pub fn is_empty(&self) -> bool {
                self.mappings.is_empty()
            }
        }
    };
}

mapping_list!(
    /// A provider's user mappings, in the order they are evaluated and merged.
    UserMappings,
    MappingKind::User
);
mapping_list!(
    /// A provider's group mappings, in the order they are evaluated and merged.
    GroupMappings,
    MappingKind::Group
);

/// The variables a mapping of `kind` may use. Strict-variables mode refuses any other name at
/// compile time, so `usr.name` or a group mapping reading `user` cannot be saved.
pub(crate) fn variable_names(kind: MappingKind) -> [&'static str; 3] {
    [kind.as_str(), "provider", "link"]
}

impl Mapper {
    /// Compiles one mapping. The error names the mapping and gives the line and column.
    pub fn compile(&self, mapping: &Mapping) -> Result<CompiledMapping, CompileError> {
        // Placeholders only declare the names: they are pushed as (non-constant) variables, so
        // the optimiser cannot fold their values into the AST (which would also bypass strict
        // property access, see crates.md §4).
        let mut scope = Scope::new();
        for name in variable_names(mapping.kind) {
            scope.push_dynamic(name, Dynamic::UNIT);
        }
        match self
            .engine()
            .compile_with_scope(&scope, &mapping.expression)
        {
            Ok(ast) => Ok(CompiledMapping {
                name: mapping.name.clone(),
                kind: mapping.kind,
                ast,
            }),
            Err(err) => Err(CompileError {
                mapping: mapping.name.clone(),
                message: err.0.to_string(),
                position: SourcePosition::from_rhai(err.1),
            }),
        }
    }

    /// Compiles a provider's user mappings, in order; the first failure is returned.
    pub fn compile_users(&self, mappings: &[Mapping]) -> Result<UserMappings, ListError> {
        UserMappings::new(self.compile_all(mappings)?)
    }

    /// Compiles a provider's group mappings, in order; the first failure is returned.
    pub fn compile_groups(&self, mappings: &[Mapping]) -> Result<GroupMappings, ListError> {
        GroupMappings::new(self.compile_all(mappings)?)
    }

    fn compile_all(&self, mappings: &[Mapping]) -> Result<Vec<CompiledMapping>, CompileError> {
        mappings.iter().map(|m| self.compile(m)).collect()
    }
}
