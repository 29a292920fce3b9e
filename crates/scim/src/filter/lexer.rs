//! Splits a filter or PATCH path into tokens. Context-free on purpose: whether a word is an
//! attribute path, a keyword, an operator, a literal or a number depends on where it stands,
//! which is the parser's business.

use super::syntax_error::SyntaxError;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok<'a> {
    LParen,
    RParen,
    LBracket,
    RBracket,
    /// A run of `[A-Za-z0-9._:$+-]`: attribute paths, keywords, operators, literals, numbers.
    Word(&'a str),
    /// A JSON string literal, already decoded.
    Str(String),
    End,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token<'a> {
    pub tok: Tok<'a>,
    /// Byte offset of the token's first character.
    pub at: usize,
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'$' | b'+' | b'-')
}

/// The tokens of `text`, always ending with [`Tok::End`].
pub(crate) fn lex(text: &str) -> Result<Vec<Token<'_>>, SyntaxError> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let start = i;
        let tok = match b {
            // Clients put newlines in long filters; the RFC's SP is read generously.
            b' ' | b'\t' | b'\r' | b'\n' => {
                i += 1;
                continue;
            }
            b'(' => Tok::LParen,
            b')' => Tok::RParen,
            b'[' => Tok::LBracket,
            b']' => Tok::RBracket,
            b'"' => {
                let end = string_end(bytes, start)?;
                i = end + 1;
                tokens.push(Token {
                    tok: Tok::Str(decode_string(text, start, end)?),
                    at: start,
                });
                continue;
            }
            _ if is_word_byte(b) => {
                while i < bytes.len() && is_word_byte(bytes[i]) {
                    i += 1;
                }
                tokens.push(Token {
                    tok: Tok::Word(&text[start..i]),
                    at: start,
                });
                continue;
            }
            _ => {
                let c = text[start..].chars().next().unwrap_or('?');
                return Err(SyntaxError::new(
                    start,
                    format!("unexpected character {c:?}"),
                ));
            }
        };
        i += 1;
        tokens.push(Token { tok, at: start });
    }
    tokens.push(Token {
        tok: Tok::End,
        at: text.len(),
    });
    Ok(tokens)
}

/// Index of the quote closing the string that opens at `start`. Scanning bytes is safe in
/// UTF-8: neither '"' nor '\\' ever occurs inside a multi-byte character.
fn string_end(bytes: &[u8], start: usize) -> Result<usize, SyntaxError> {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Ok(i),
            _ => i += 1,
        }
    }
    Err(SyntaxError::new(
        start,
        "expected a closing '\"' for the string starting",
    ))
}

/// Compare values are JSON strings (RFC 7644 §3.4.2.2), so serde_json decodes the escapes,
/// and rejects what JSON rejects: unknown escapes, raw control characters, lone surrogates.
fn decode_string(text: &str, start: usize, end: usize) -> Result<String, SyntaxError> {
    serde_json::from_str::<String>(&text[start..=end]).map_err(|_| {
        SyntaxError::new(
            start,
            "expected a valid JSON string (bad escape, control character or lone surrogate)",
        )
    })
}
