//! "Try it": evaluate one mapping, or a whole list, against a chosen user or group, from source,
//! and report the document or the error. The admin API's test endpoint and
//! `entrasync mapping test` call this; so can the API when a mapping is saved.

use serde::Serialize;

use crate::{
    CompileError, Context, Document, Mapped, Mapper, Mapping, MappingError, MappingKind, Subject,
};

/// Why a try did not produce an outcome.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TryError {
    #[error(transparent)]
    Compile(#[from] CompileError),
    #[error("mapping {mapping:?} maps {found}s and cannot be tried on a {expected}")]
    WrongKind {
        mapping: String,
        expected: MappingKind,
        found: MappingKind,
    },
    #[error(transparent)]
    Mapping(#[from] MappingError),
}

impl Mapper {
    /// Evaluates one mapping, as if it were the provider's only one.
    pub fn try_mapping(
        &self,
        mapping: &Mapping,
        subject: &Subject<'_>,
        context: &Context<'_>,
    ) -> Result<Mapped, TryError> {
        self.try_mappings(std::slice::from_ref(mapping), subject, context)
    }

    /// Evaluates a list of mappings in order and merges them, as a sync would.
    pub fn try_mappings(
        &self,
        mappings: &[Mapping],
        subject: &Subject<'_>,
        context: &Context<'_>,
    ) -> Result<Mapped, TryError> {
        let expected = subject.kind();
        if let Some(wrong) = mappings.iter().find(|m| m.kind != expected) {
            return Err(TryError::WrongKind {
                mapping: wrong.name.clone(),
                expected,
                found: wrong.kind,
            });
        }
        let compiled = mappings
            .iter()
            .map(|m| self.compile(m))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(self.evaluate(&compiled, *subject, context)?)
    }
}

/// The JSON answer of a try, for the API and the CLI's `--json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum TryReport {
    Document {
        document: Document,
    },
    Skip {
        mapping: String,
        reason: Option<String>,
    },
    NoMappings,
    CompileError {
        error: CompileError,
    },
    WrongKind {
        message: String,
    },
    MappingError {
        error: MappingError,
    },
}

impl From<Result<Mapped, TryError>> for TryReport {
    fn from(result: Result<Mapped, TryError>) -> Self {
        match result {
            Ok(Mapped::Document(document)) => TryReport::Document { document },
            Ok(Mapped::Skip { mapping, reason }) => TryReport::Skip { mapping, reason },
            Ok(Mapped::NoMappings) => TryReport::NoMappings,
            Err(TryError::Compile(error)) => TryReport::CompileError { error },
            Err(err @ TryError::WrongKind { .. }) => TryReport::WrongKind {
                message: err.to_string(),
            },
            Err(TryError::Mapping(error)) => TryReport::MappingError { error },
        }
    }
}
