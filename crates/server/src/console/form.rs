//! What the console's forms share: the posted fields, and a problem named by the field at
//! fault, exactly as the API names it (an input's `name` is the API's field path), so that the
//! page can put the API's message beside the input that caused it.

use std::collections::HashMap;

use axum::http::StatusCode;

use crate::error::ApiError;

/// The fields of a posted form (its CSRF token already checked and taken out).
#[derive(Default)]
pub struct Fields(HashMap<String, String>);

/// Whether a field holds a secret (a client secret, a private key): never printed.
fn is_secret(name: &str) -> bool {
    name.contains("secret") || name.contains("private_key")
}

impl std::fmt::Debug for Fields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(name, value)| {
                let shown = if is_secret(name) {
                    "[hidden]"
                } else {
                    value.as_str()
                };
                (name, shown)
            }))
            .finish()
    }
}

impl Fields {
    pub fn new(fields: HashMap<String, String>) -> Self {
        Self(fields)
    }

    /// The field as sent (empty when absent).
    pub fn raw(&self, name: &str) -> &str {
        self.0.get(name).map_or("", String::as_str)
    }

    /// The field trimmed (empty when absent).
    pub fn text(&self, name: &str) -> String {
        self.raw(name).trim().to_owned()
    }

    /// The field trimmed, or `None` when it is empty or absent.
    pub fn optional(&self, name: &str) -> Option<String> {
        Some(self.text(name)).filter(|text| !text.is_empty())
    }

    /// A checkbox: ticked when sent at all (browsers send nothing for an unticked one).
    pub fn checked(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    /// One entry per non-empty line, trimmed, in order.
    pub fn lines(&self, name: &str) -> Vec<String> {
        self.raw(name)
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// A whole number, or `None` when the field is empty.
    pub fn number(&self, name: &str) -> Result<Option<u32>, Problem> {
        match self.optional(name) {
            None => Ok(None),
            Some(text) => text.parse::<u32>().map(Some).map_err(|_| {
                Problem::at(
                    name,
                    format!("{name} must be a whole number from 0 to 4294967295, not {text:?}"),
                )
            }),
        }
    }

    /// A value of one of the API's snake_case enums (a `<select>`), named as the API names it.
    pub fn choice<T: serde::de::DeserializeOwned>(&self, name: &str) -> Result<T, Problem> {
        let text = self.text(name);
        serde_json::from_value(serde_json::Value::String(text.clone()))
            .map_err(|_| Problem::at(name, format!("{text:?} is not a choice of {name}")))
    }
}

impl Fields {
    /// A delete's form: its "yes, delete" box must be ticked (a browser insists; a script
    /// that forgets it is refused too).
    pub fn confirmed(&self) -> Result<(), Problem> {
        if self.checked("confirm") {
            Ok(())
        } else {
            Err(Problem::at(
                "confirm",
                "tick the box to confirm the delete: nothing was deleted",
            ))
        }
    }
}

/// Why a form was not accepted: the message, and the input at fault when there is one.
#[derive(Debug, Clone)]
pub struct Problem {
    /// The field path as the API names it (`user_mappings[1]`, `schedule.cron`).
    pub field: Option<String>,
    pub message: String,
}

impl Problem {
    pub fn at(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: Some(field.into()),
            message: message.into(),
        }
    }

    /// The form input the problem is about: the field path without a list index.
    pub fn input(&self) -> Option<&str> {
        self.field
            .as_deref()
            .map(|field| field.split_once('[').map_or(field, |(input, _)| input))
    }

    /// The message when the problem is about `input`.
    pub fn for_input(&self, input: &str) -> Option<&str> {
        (self.input() == Some(input)).then_some(self.message.as_str())
    }

    /// The id of the input the problem is about (what the page's alert links to).
    pub fn anchor(&self) -> Option<String> {
        self.input().map(input_id)
    }
}

impl From<ApiError> for Problem {
    fn from(error: ApiError) -> Self {
        Self {
            field: error.field,
            message: error.message,
        }
    }
}

/// Why a form's action did not happen.
#[derive(Debug)]
pub enum Refused {
    /// The input is at fault: the form again, with the problem beside its input.
    Form(Problem, StatusCode),
    /// Our own failure (storage, a bug): a page saying so; the detail goes to the log.
    Failure(String),
}

impl From<ApiError> for Refused {
    fn from(error: ApiError) -> Self {
        if error.status.is_server_error() {
            return Refused::Failure(error.message);
        }
        // A form naming something that is not there is a bad form (the page itself exists).
        let status = match error.status {
            StatusCode::NOT_FOUND => StatusCode::BAD_REQUEST,
            other => other,
        };
        Refused::Form(error.into(), status)
    }
}

impl From<store::StoreError> for Refused {
    fn from(error: store::StoreError) -> Self {
        ApiError::from(error).into()
    }
}

impl From<Problem> for Refused {
    fn from(problem: Problem) -> Self {
        Refused::Form(problem, StatusCode::BAD_REQUEST)
    }
}

/// The HTML id of the input named `name` (ids with dots would need escaping in selectors).
pub fn input_id(name: &str) -> String {
    name.replace('.', "-")
}

/// `problem`'s message for `input`, for templates (which hold an `Option<Problem>`).
pub fn problem_for<'a>(problem: &'a Option<Problem>, input: &str) -> Option<&'a str> {
    problem
        .as_ref()
        .and_then(|problem| problem.for_input(input))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Fields {
        Fields::new(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn a_problem_names_its_input_without_the_list_index() {
        let problem = Problem::at("user_mappings[1]", "no mapping has the name \"x\"");
        assert_eq!(problem.input(), Some("user_mappings"));
        assert!(problem.for_input("user_mappings").is_some());
        assert!(problem.for_input("group_mappings").is_none());
        assert_eq!(
            Problem::at("schedule.cron", "bad").anchor().as_deref(),
            Some("schedule-cron")
        );
    }

    #[test]
    fn printing_fields_never_shows_a_secret() {
        let form = fields(&[
            ("client_secret", "hunter2-secret"),
            ("certificate.private_key_pem", "hunter2-key"),
            ("name", "Contoso"),
        ]);
        let shown = format!("{form:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(
            shown.contains("Contoso") && shown.contains("[hidden]"),
            "{shown}"
        );
    }

    #[test]
    fn fields_read_as_text_lines_numbers_and_choices() {
        let form = fields(&[
            ("name", "  Contoso "),
            ("list", "a\r\n\n  b \n"),
            ("n", "12"),
            ("bad", "twelve"),
            ("cloud", "us_government"),
            ("tick", "on"),
        ]);
        assert_eq!(form.text("name"), "Contoso");
        assert_eq!(form.optional("missing"), None);
        assert_eq!(form.lines("list"), ["a", "b"]);
        assert_eq!(form.number("n").expect("a number"), Some(12));
        assert_eq!(form.number("missing").expect("empty"), None);
        let problem = form.number("bad").expect_err("not a number");
        assert_eq!(problem.input(), Some("bad"));
        assert!(form.checked("tick") && !form.checked("untick"));
        assert_eq!(
            form.choice::<model::Cloud>("cloud").expect("a cloud"),
            model::Cloud::UsGovernment
        );
        assert!(form.choice::<model::Cloud>("name").is_err());
    }
}
