//! Evaluating a provider's compiled mappings against one object: run each in list order, turn its
//! result into JSON, check it against the Graph property table, merge.

use rhai::{Dynamic, EvalAltResult, Scope};
use serde_json::Map;

use crate::compile::CompiledMapping;
use crate::convert::{Path, map_to_json, to_dynamic};
use crate::helpers::SkipSignal;
use crate::merge::merge_into;
use crate::properties::validate;
use crate::sandbox::Deadline;
use crate::{
    Context, Document, GroupInput, GroupMappings, Mapped, Mapper, MappingError, MappingKind,
    SourcePosition, Subject, UserInput, UserMappings,
};

impl Mapper {
    /// Maps one user with a provider's user mappings.
    pub fn map_user(
        &self,
        mappings: &UserMappings,
        user: &UserInput<'_>,
        context: &Context<'_>,
    ) -> Result<Mapped, MappingError> {
        self.evaluate(mappings.mappings(), Subject::User(*user), context)
    }

    /// Maps one group with a provider's group mappings.
    pub fn map_group(
        &self,
        mappings: &GroupMappings,
        group: &GroupInput<'_>,
        context: &Context<'_>,
    ) -> Result<Mapped, MappingError> {
        self.evaluate(mappings.mappings(), Subject::Group(*group), context)
    }

    /// The shared loop. `mappings` must all be of `subject.kind` (the typed lists and the try-it
    /// functions make sure of it).
    pub(crate) fn evaluate(
        &self,
        mappings: &[CompiledMapping],
        subject: Subject<'_>,
        context: &Context<'_>,
    ) -> Result<Mapped, MappingError> {
        let (kind, value) = match subject {
            Subject::User(user) => (MappingKind::User, user.to_dynamic()),
            Subject::Group(group) => (MappingKind::Group, group.to_dynamic()),
        };
        let mut scope = Scope::new();
        // Constants: a mapping cannot change what the next one sees.
        scope.push_constant_dynamic(kind.as_str(), value);
        scope.push_constant_dynamic("provider", context.provider.value().clone());
        scope.push_constant_dynamic("link", context.link.map_or(Dynamic::UNIT, to_dynamic));
        let base = scope.len();

        let mut document = Map::new();
        for mapping in mappings {
            let deadline = Deadline::start(self.limits().max_duration);
            let result = self
                .engine()
                .eval_ast_with_scope::<Dynamic>(&mut scope, mapping.ast());
            drop(deadline);
            // Top-level `let`s stay in the scope after a run; drop them so mappings stay
            // independent of each other's variable names.
            scope.rewind(base);
            let value = match result {
                Ok(value) => value,
                Err(err) => {
                    if let Some(reason) = skip_reason(&err) {
                        return Ok(Mapped::Skip {
                            mapping: mapping.name().to_owned(),
                            reason,
                        });
                    }
                    return Err(runtime_error(mapping, &subject, *err));
                }
            };
            let Some(contribution) = contribution(mapping, &subject, &value)? else {
                continue;
            };
            // Checked per mapping, not after the merge, so the error names the mapping that
            // produced the bad property. Merging checked parts cannot break the types.
            if let Err(err) = validate(kind, &contribution) {
                return Err(MappingError {
                    mapping: mapping.name().to_owned(),
                    object: subject.label(),
                    message: err.to_string(),
                    position: None,
                });
            }
            if document.is_empty() {
                document = contribution;
            } else {
                merge_into(&mut document, contribution);
            }
        }

        if document.is_empty() {
            Ok(Mapped::NoMappings)
        } else {
            Ok(Mapped::Document(Document::new(document)))
        }
    }
}

/// A mapping's result as JSON properties; `None` for `()` (adds nothing).
fn contribution(
    mapping: &CompiledMapping,
    object: &Subject<'_>,
    value: &Dynamic,
) -> Result<Option<Map<String, serde_json::Value>>, MappingError> {
    if value.is_unit() {
        return Ok(None);
    }
    let error = |message: String| MappingError {
        mapping: mapping.name().to_owned(),
        object: object.label(),
        message,
        position: None,
    };
    match value.as_map_ref() {
        Ok(map) => map_to_json(&map, Path::Root).map(Some).map_err(error),
        Err(type_name) => Err(error(format!(
            "a mapping must return a map of Graph properties, `()` or call skip(), not a {type_name}"
        ))),
    }
}

/// `Some(reason)` when the error is `skip()`, however deep in script functions it was called.
fn skip_reason(err: &EvalAltResult) -> Option<Option<String>> {
    match err.unwrap_inner() {
        EvalAltResult::ErrorRuntime(value, _) => value
            .read_lock::<SkipSignal>()
            .map(|signal| signal.reason.clone()),
        _ => None,
    }
}

fn runtime_error(
    mapping: &CompiledMapping,
    object: &Subject<'_>,
    err: EvalAltResult,
) -> MappingError {
    // For an error inside a script function, report the innermost error and where it happened
    // (the failing line, not the call), and name the function.
    let function = call_chain(&err).last().map(|name| (*name).to_owned());
    let outer_position = err.position();
    let mut inner = into_innermost(err);
    let position = SourcePosition::from_rhai(inner.take_position())
        .or_else(|| SourcePosition::from_rhai(outer_position));
    let mut message = match &inner {
        // `throw "text"` and helper failures: the text is the message, without rhai's
        // "Runtime error: " prefix.
        EvalAltResult::ErrorRuntime(value, _) if value.is_string() => value.to_string(),
        // The time limit (see `sandbox`), whose token is its message.
        EvalAltResult::ErrorTerminated(token, _) if token.is_string() => token.to_string(),
        _ => inner.to_string(),
    };
    if let Some(function) = function {
        message = format!("{message} (in function {function})");
    }
    MappingError {
        mapping: mapping.name().to_owned(),
        object: object.label(),
        message: one_line(&message),
        position,
    }
}

/// Names of the script functions an error passed through, outermost first.
fn call_chain(err: &EvalAltResult) -> Vec<&str> {
    let mut names = Vec::new();
    let mut current = err;
    while let EvalAltResult::ErrorInFunctionCall(name, _, inner, _)
    | EvalAltResult::ErrorInModule(name, inner, _) = current
    {
        names.push(name.as_str());
        current = inner;
    }
    names
}

fn into_innermost(err: EvalAltResult) -> EvalAltResult {
    match err {
        EvalAltResult::ErrorInFunctionCall(_, _, inner, _)
        | EvalAltResult::ErrorInModule(_, inner, _) => into_innermost(*inner),
        other => other,
    }
}

/// Error texts go into single log lines and table cells.
fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}
