//! A syntax error found while reading a filter or path: where it is and what was expected.
//! Offsets are kept in bytes while parsing (cheap to slice with) and turned into character
//! offsets only when the error is reported, since that is what a client can count.

use crate::ScimError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    /// Byte offset into the text that was parsed; always on a character boundary.
    pub at: usize,
    pub message: String,
}

impl SyntaxError {
    pub fn new(at: usize, message: impl Into<String>) -> Self {
        SyntaxError {
            at,
            message: message.into(),
        }
    }

    /// The same error, for a piece of text that started `base` bytes into a larger one.
    pub fn shifted(self, base: usize) -> Self {
        SyntaxError {
            at: self.at + base,
            message: self.message,
        }
    }

    /// "what went wrong at offset N", with N counted in characters of `text`.
    pub fn describe(&self, text: &str) -> String {
        let chars = text
            .get(..self.at)
            .map_or(self.at, |before| before.chars().count());
        if self.at >= text.len() {
            format!("{} at offset {chars} (end of input)", self.message)
        } else {
            format!("{} at offset {chars}", self.message)
        }
    }

    pub fn into_filter_error(self, text: &str) -> ScimError {
        ScimError::invalid_filter(self.describe(text))
    }

    pub fn into_path_error(self, text: &str) -> ScimError {
        ScimError::invalid_path(self.describe(text))
    }
}
