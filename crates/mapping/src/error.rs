//! The two ways a mapping can fail: it does not compile (so it cannot be saved), or it fails
//! while evaluating one object (so the sync stops, naming the mapping and the object).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::object::ObjectLabel;

/// A place in a mapping's source text, both counted from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SourcePosition {
    pub line: u32,
    pub column: u32,
}

impl SourcePosition {
    /// Converts rhai's position; `None` when rhai does not know where (e.g. a limit hit inside a
    /// native helper), so callers never show a made-up "line 0".
    pub(crate) fn from_rhai(position: rhai::Position) -> Option<Self> {
        // rhai counts in u16, so the conversions cannot fail; saturate rather than trust that.
        let narrow = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        match (position.line(), position.position()) {
            (Some(line), Some(column)) => Some(Self {
                line: narrow(line),
                column: narrow(column),
            }),
            (Some(line), None) => Some(Self {
                line: narrow(line),
                column: 1,
            }),
            _ => None,
        }
    }
}

impl fmt::Display for SourcePosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// A mapping whose expression does not compile. The admin API refuses to save it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CompileError {
    /// The mapping's name.
    pub mapping: String,
    pub message: String,
    /// Where the parser stopped; `None` only for errors about the mapping as a whole.
    pub position: Option<SourcePosition>,
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "mapping {:?} does not compile: {}",
            self.mapping, self.message
        )?;
        if let Some(position) = self.position {
            write!(f, " (at {position})")?;
        }
        Ok(())
    }
}

/// A mapping that failed while evaluating one object: it threw, broke a sandbox limit, returned
/// something that is not a map, or produced a property Graph does not have (or of the wrong
/// type). The engine stops the sync on it rather than repeating the same error for every object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MappingError {
    /// The mapping's name.
    pub mapping: String,
    /// The directory object being mapped.
    pub object: ObjectLabel,
    pub message: String,
    /// Where in the mapping it failed, when rhai knows.
    pub position: Option<SourcePosition>,
}

impl fmt::Display for MappingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "mapping {:?} failed for {}: {}",
            self.mapping, self.object, self.message
        )?;
        if let Some(position) = self.position {
            write!(f, " (at {position})")?;
        }
        Ok(())
    }
}

/// What evaluating a mapping list can go wrong with before any object is looked at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum ListError {
    #[error(transparent)]
    Compile(#[from] CompileError),
    /// A user mapping in a group list (or the other way round).
    #[error("mapping {mapping:?} is a {found} mapping, but the list is for {expected}s")]
    WrongKind {
        mapping: String,
        expected: crate::MappingKind,
        found: crate::MappingKind,
    },
}
