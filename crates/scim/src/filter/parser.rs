//! Recursive descent over the tokens of a filter (RFC 7644 §3.4.2.2, figure 1):
//!
//! ```text
//! filter  = and *("or" and)            ; left-associative, lowest precedence
//! and     = unary *("and" unary)
//! unary   = "not" "(" filter ")" / "(" filter ")" / attrExp / valuePath
//! attrExp = attrPath "pr" / attrPath compareOp compValue
//! valuePath = attrPath "[" filter "]"  ; inside: the same grammar, without valuePaths
//! ```
//!
//! `and`/`or` chains are built in loops, and recursion happens only where nesting does, which
//! is capped at [`MAX_DEPTH`]: no input can make the parser recurse without bound.

use serde_json::Value;

use super::attr_path::{self, AttrPath};
use super::lexer::{Tok, Token, lex};
use super::number;
use super::syntax_error::SyntaxError;
use super::{CompareOp, Filter};

/// Longest filter or path accepted; real filters are a few hundred bytes at most.
pub(crate) const MAX_LEN: usize = 10_000;
/// Deepest nesting of parentheses, `not` and brackets accepted.
pub(crate) const MAX_DEPTH: usize = 32;

const OPERATOR_EXPECTED: &str =
    "expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr) or '[' after the attribute path";

pub(crate) struct Parser<'a> {
    tokens: Vec<Token<'a>>,
    pos: usize,
    depth: usize,
}

/// Where the expression being parsed stands; it decides what may close it and whether a
/// valuePath may open.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Within {
    Top,
    Brackets,
}

impl<'a> Parser<'a> {
    pub fn new(text: &'a str) -> Result<Self, SyntaxError> {
        if text.len() > MAX_LEN {
            return Err(SyntaxError::new(
                0,
                format!("expected at most {MAX_LEN} bytes, got {}", text.len()),
            ));
        }
        Ok(Parser {
            tokens: lex(text)?,
            pos: 0,
            depth: 0,
        })
    }

    /// A whole filter, up to the end of the text.
    pub fn filter(mut self) -> Result<Filter, SyntaxError> {
        let filter = self.or_expr(Within::Top)?;
        if !matches!(self.peek(), Tok::End) {
            return Err(self.error_here("expected 'and', 'or' or the end of the filter"));
        }
        Ok(filter)
    }

    /// A PATCH path: `attrPath` or `attrPath "[" valFilter "]" ["." subAttr]` (RFC 7644 §3.5.2).
    pub fn patch_path(mut self) -> Result<(AttrPath, Option<Filter>, Option<String>), SyntaxError> {
        let attr = match self.peek() {
            Tok::Word(word) => {
                let word = *word;
                let at = self.at();
                self.pos += 1;
                attr_path::parse_at(word).map_err(|e| e.shifted(at))?
            }
            _ => return Err(self.error_here("expected an attribute path")),
        };
        if matches!(self.peek(), Tok::End) {
            return Ok((attr, None, None));
        }
        if !matches!(self.peek(), Tok::LBracket) {
            return Err(self.error_here("expected '[' or the end of the path"));
        }
        if attr.sub.is_some() {
            return Err(self.error_here(
                "expected the end of the path: a value filter follows a multi-valued attribute, not a sub-attribute",
            ));
        }
        let filter = self.bracketed()?;
        let sub = match self.peek() {
            Tok::End => None,
            Tok::Word(word) if word.starts_with('.') => {
                let (word, at) = (*word, self.at());
                attr_path::check_name(&word[1..], at + 1)?;
                self.pos += 1;
                Some(word[1..].to_owned())
            }
            _ => {
                return Err(
                    self.error_here("expected '.' and a sub-attribute, or the end of the path")
                );
            }
        };
        if !matches!(self.peek(), Tok::End) {
            return Err(self.error_here("expected the end of the path"));
        }
        Ok((attr, Some(filter), sub))
    }

    fn peek(&self) -> &Tok<'a> {
        // The token list always ends with End, and the parser never steps past it.
        self.tokens.get(self.pos).map_or(&Tok::End, |t| &t.tok)
    }

    fn peek_second(&self) -> &Tok<'a> {
        self.tokens.get(self.pos + 1).map_or(&Tok::End, |t| &t.tok)
    }

    fn at(&self) -> usize {
        self.tokens
            .get(self.pos)
            .or(self.tokens.last())
            .map_or(0, |t| t.at)
    }

    fn error_here(&self, message: &str) -> SyntaxError {
        SyntaxError::new(self.at(), message)
    }

    fn at_keyword(&self, keyword: &str) -> bool {
        matches!(self.peek(), Tok::Word(word) if word.eq_ignore_ascii_case(keyword))
    }

    fn enter(&mut self) -> Result<(), SyntaxError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error_here(&format!(
                "expected at most {MAX_DEPTH} levels of parentheses, 'not' and brackets"
            )));
        }
        Ok(())
    }

    fn or_expr(&mut self, within: Within) -> Result<Filter, SyntaxError> {
        let mut left = self.and_expr(within)?;
        while self.at_keyword("or") {
            self.pos += 1;
            let right = self.and_expr(within)?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and_expr(&mut self, within: Within) -> Result<Filter, SyntaxError> {
        let mut left = self.unary(within)?;
        while self.at_keyword("and") {
            self.pos += 1;
            let right = self.unary(within)?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self, within: Within) -> Result<Filter, SyntaxError> {
        match self.peek() {
            Tok::LParen => self.parenthesized(within),
            Tok::Word(word) if word.eq_ignore_ascii_case("not") => {
                match self.peek_second() {
                    Tok::LParen => {
                        self.pos += 1;
                        Ok(Filter::Not(Box::new(self.parenthesized(within)?)))
                    }
                    // An attribute that happens to be called "not" is still an attribute.
                    Tok::LBracket => self.attr_expr(within),
                    Tok::Word(next) if is_operator(next) => self.attr_expr(within),
                    _ => {
                        self.pos += 1;
                        Err(self.error_here("expected '(' after 'not'"))
                    }
                }
            }
            Tok::Word(_) => self.attr_expr(within),
            _ => Err(self.error_here("expected an attribute path, '(' or 'not'")),
        }
    }

    /// `( filter )`, the current token being the '('.
    fn parenthesized(&mut self, within: Within) -> Result<Filter, SyntaxError> {
        self.enter()?;
        self.pos += 1;
        let inner = self.or_expr(within)?;
        if !matches!(self.peek(), Tok::RParen) {
            return Err(self.error_here("expected 'and', 'or' or ')'"));
        }
        self.pos += 1;
        self.depth -= 1;
        Ok(inner)
    }

    /// `[ filter ]`, the current token being the '['.
    fn bracketed(&mut self) -> Result<Filter, SyntaxError> {
        self.enter()?;
        self.pos += 1;
        let inner = self.or_expr(Within::Brackets)?;
        if !matches!(self.peek(), Tok::RBracket) {
            return Err(self.error_here("expected 'and', 'or' or ']' closing the value filter"));
        }
        self.pos += 1;
        self.depth -= 1;
        Ok(inner)
    }

    fn attr_expr(&mut self, within: Within) -> Result<Filter, SyntaxError> {
        let (word, at) = match self.peek() {
            Tok::Word(word) => (*word, self.at()),
            _ => return Err(self.error_here("expected an attribute path")),
        };
        let path = attr_path::parse_at(word).map_err(|e| e.shifted(at))?;
        if within == Within::Brackets && path.urn.is_some() {
            return Err(SyntaxError::new(
                at,
                "expected an attribute of the element: paths inside '[...]' take no schema URN",
            ));
        }
        self.pos += 1;
        match self.peek() {
            Tok::LBracket if within == Within::Brackets => {
                Err(self.error_here("expected an operator: value filters do not nest"))
            }
            Tok::LBracket => {
                let filter = self.bracketed()?;
                Ok(Filter::ValuePath {
                    path,
                    filter: Box::new(filter),
                })
            }
            Tok::Word(op) if op.eq_ignore_ascii_case("pr") => {
                self.pos += 1;
                Ok(Filter::Present(path))
            }
            Tok::Word(op) => match CompareOp::parse(op) {
                Some(op) => {
                    self.pos += 1;
                    let value = self.comp_value()?;
                    Ok(Filter::Compare { path, op, value })
                }
                None => Err(self.error_here(OPERATOR_EXPECTED)),
            },
            _ => Err(self.error_here(OPERATOR_EXPECTED)),
        }
    }

    /// compValue = false / null / true / number / string (RFC 7644 §3.4.2.2).
    fn comp_value(&mut self) -> Result<Value, SyntaxError> {
        const EXPECTED: &str =
            "expected a value: a string in double quotes, a number, true, false or null";
        let value = match self.peek() {
            Tok::Str(text) => Value::String(text.clone()),
            Tok::Word(word) if word.eq_ignore_ascii_case("true") => Value::Bool(true),
            Tok::Word(word) if word.eq_ignore_ascii_case("false") => Value::Bool(false),
            Tok::Word(word) if word.eq_ignore_ascii_case("null") => Value::Null,
            Tok::Word(word) if word.starts_with(|c: char| c == '-' || c.is_ascii_digit()) => {
                match number::parse(word) {
                    Some(number) => number,
                    None => return Err(self.error_here("expected a JSON number in f64's range")),
                }
            }
            _ => return Err(self.error_here(EXPECTED)),
        };
        self.pos += 1;
        Ok(value)
    }
}

fn is_operator(word: &str) -> bool {
    word.eq_ignore_ascii_case("pr") || CompareOp::parse(word).is_some()
}
