//! The `$filter` subset Graph's directory supports for provisioning lookups: `eq`, `ne`,
//! `startswith`, `endswith`, `in`, `not`, `and`, `or`, parentheses and `collection/any(x:x eq 'v')`,
//! with OData string literals (`'O''Brien'` is `O'Brien`).

use serde_json::{Map, Value};

/// A parse failure; the message is what the 400 answer says.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct FilterError(pub String);

#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    Str(String),
    Bool(bool),
    Null,
    Num(f64),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Or(Vec<Filter>),
    And(Vec<Filter>),
    Not(Box<Filter>),
    Eq(String, Lit),
    Ne(String, Lit),
    StartsWith(String, String),
    EndsWith(String, String),
    In(String, Vec<Lit>),
    /// `prop/any(x:x eq 'v')` on a string collection.
    Any(String, Lit),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Open,
    Close,
    Comma,
    Colon,
}

fn tokenize(s: &str) -> Result<Vec<Tok>, FilterError> {
    let mut out = Vec::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' => i += 1,
            '(' => {
                out.push(Tok::Open);
                i += 1;
            }
            ')' => {
                out.push(Tok::Close);
                i += 1;
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1;
            }
            ':' => {
                out.push(Tok::Colon);
                i += 1;
            }
            '\'' => {
                let mut lit = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(FilterError("Unterminated string literal.".into())),
                        // OData escapes a quote inside a literal by doubling it.
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            lit.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(ch) => {
                            lit.push(*ch);
                            i += 1;
                        }
                    }
                }
                out.push(Tok::Str(lit));
            }
            _ => {
                let start = i;
                while i < chars.len()
                    && !matches!(chars[i], ' ' | '\t' | '(' | ')' | ',' | ':' | '\'')
                {
                    i += 1;
                }
                out.push(Tok::Ident(chars[start..i].iter().collect()));
            }
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

fn syntax(detail: &str) -> FilterError {
    FilterError(format!("Invalid filter clause: {detail}"))
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn expect(&mut self, t: &Tok) -> Result<(), FilterError> {
        match self.next() {
            Some(ref got) if got == t => Ok(()),
            _ => Err(syntax("syntax error")),
        }
    }

    fn keyword(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(w)) if w.eq_ignore_ascii_case(kw))
    }

    fn or(&mut self) -> Result<Filter, FilterError> {
        let mut parts = vec![self.and()?];
        while self.keyword("or") {
            self.pos += 1;
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Filter::Or(parts)
        })
    }

    fn and(&mut self) -> Result<Filter, FilterError> {
        let mut parts = vec![self.unary()?];
        while self.keyword("and") {
            self.pos += 1;
            parts.push(self.unary()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Filter::And(parts)
        })
    }

    fn unary(&mut self) -> Result<Filter, FilterError> {
        if self.keyword("not") {
            self.pos += 1;
            return Ok(Filter::Not(Box::new(self.unary()?)));
        }
        if self.peek() == Some(&Tok::Open) {
            self.pos += 1;
            let f = self.or()?;
            self.expect(&Tok::Close)?;
            return Ok(f);
        }
        self.atom()
    }

    fn literal(&mut self) -> Result<Lit, FilterError> {
        match self.next() {
            Some(Tok::Str(s)) => Ok(Lit::Str(s)),
            Some(Tok::Ident(w)) => match w.as_str() {
                "true" => Ok(Lit::Bool(true)),
                "false" => Ok(Lit::Bool(false)),
                "null" => Ok(Lit::Null),
                n => n
                    .parse::<f64>()
                    .map(Lit::Num)
                    .map_err(|_| syntax(&format!("unexpected '{n}'"))),
            },
            _ => Err(syntax("literal expected")),
        }
    }

    fn string_fn(&mut self) -> Result<(String, String), FilterError> {
        self.expect(&Tok::Open)?;
        let Some(Tok::Ident(prop)) = self.next() else {
            return Err(syntax("property expected"));
        };
        self.expect(&Tok::Comma)?;
        let Some(Tok::Str(v)) = self.next() else {
            return Err(syntax("string literal expected"));
        };
        self.expect(&Tok::Close)?;
        Ok((prop, v))
    }

    fn atom(&mut self) -> Result<Filter, FilterError> {
        let Some(Tok::Ident(word)) = self.next() else {
            return Err(syntax("property expected"));
        };
        if word.eq_ignore_ascii_case("startswith") {
            let (p, v) = self.string_fn()?;
            return Ok(Filter::StartsWith(p, v));
        }
        if word.eq_ignore_ascii_case("endswith") {
            let (p, v) = self.string_fn()?;
            return Ok(Filter::EndsWith(p, v));
        }
        if let Some(prop) = word.strip_suffix("/any") {
            // prop/any(x: x eq 'v')
            self.expect(&Tok::Open)?;
            let Some(Tok::Ident(var)) = self.next() else {
                return Err(syntax("lambda variable expected"));
            };
            self.expect(&Tok::Colon)?;
            match self.next() {
                Some(Tok::Ident(v)) if v == var => {}
                _ => return Err(syntax("lambda body")),
            }
            if !self.keyword("eq") {
                return Err(syntax("only 'eq' is supported inside any()"));
            }
            self.pos += 1;
            let lit = self.literal()?;
            self.expect(&Tok::Close)?;
            return Ok(Filter::Any(prop.to_owned(), lit));
        }
        let Some(Tok::Ident(op)) = self.next() else {
            return Err(syntax("operator expected"));
        };
        match op.to_ascii_lowercase().as_str() {
            "eq" => Ok(Filter::Eq(word, self.literal()?)),
            "ne" => Ok(Filter::Ne(word, self.literal()?)),
            "in" => {
                self.expect(&Tok::Open)?;
                let mut items = vec![self.literal()?];
                while self.peek() == Some(&Tok::Comma) {
                    self.pos += 1;
                    items.push(self.literal()?);
                }
                self.expect(&Tok::Close)?;
                Ok(Filter::In(word, items))
            }
            other => Err(syntax(&format!("operator '{other}' is not supported"))),
        }
    }
}

pub fn parse(s: &str) -> Result<Filter, FilterError> {
    let mut p = Parser {
        toks: tokenize(s)?,
        pos: 0,
    };
    let f = p.or()?;
    if p.pos != p.toks.len() {
        return Err(syntax("unexpected trailing tokens"));
    }
    Ok(f)
}

impl Filter {
    /// Every property the filter touches, for the "is this filterable" check.
    pub fn properties(&self) -> Vec<&str> {
        match self {
            Filter::Or(v) | Filter::And(v) => v.iter().flat_map(Filter::properties).collect(),
            Filter::Not(f) => f.properties(),
            Filter::Eq(p, _)
            | Filter::Ne(p, _)
            | Filter::StartsWith(p, _)
            | Filter::EndsWith(p, _)
            | Filter::In(p, _)
            | Filter::Any(p, _) => vec![p.as_str()],
        }
    }

    /// The first operator that Graph only accepts as an advanced query
    /// (`ConsistencyLevel: eventual` + `$count=true`).
    pub fn advanced_operator(&self) -> Option<&'static str> {
        match self {
            Filter::Or(v) | Filter::And(v) => v.iter().find_map(Filter::advanced_operator),
            Filter::Not(_) => Some("not"),
            Filter::Ne(..) => Some("ne"),
            Filter::EndsWith(..) => Some("endsWith"),
            _ => None,
        }
    }

    pub fn matches(&self, props: &Map<String, Value>) -> bool {
        match self {
            Filter::Or(v) => v.iter().any(|f| f.matches(props)),
            Filter::And(v) => v.iter().all(|f| f.matches(props)),
            Filter::Not(f) => !f.matches(props),
            Filter::Eq(p, lit) => lit_eq(props.get(p), lit),
            Filter::Ne(p, lit) => !lit_eq(props.get(p), lit),
            Filter::StartsWith(p, v) => str_of(props.get(p))
                .is_some_and(|s| s.to_lowercase().starts_with(&v.to_lowercase())),
            Filter::EndsWith(p, v) => {
                str_of(props.get(p)).is_some_and(|s| s.to_lowercase().ends_with(&v.to_lowercase()))
            }
            Filter::In(p, lits) => lits.iter().any(|l| lit_eq(props.get(p), l)),
            Filter::Any(p, lit) => props
                .get(p)
                .and_then(Value::as_array)
                .is_some_and(|items| items.iter().any(|i| lit_eq(Some(i), lit))),
        }
    }
}

fn str_of(v: Option<&Value>) -> Option<&str> {
    v.and_then(Value::as_str)
}

/// Directory string comparisons are case-insensitive (UPNs, mail, names).
fn lit_eq(v: Option<&Value>, lit: &Lit) -> bool {
    match (v, lit) {
        (None | Some(Value::Null), Lit::Null) => true,
        (Some(Value::String(s)), Lit::Str(l)) => {
            s.eq_ignore_ascii_case(l) || s.to_lowercase() == l.to_lowercase()
        }
        (Some(Value::Bool(b)), Lit::Bool(l)) => b == l,
        (Some(Value::Number(n)), Lit::Num(l)) => n.as_f64() == Some(*l),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().expect("object")
    }

    #[test]
    fn doubled_quotes_are_one_quote() {
        let f = parse("displayName eq 'O''Brien'").expect("parse");
        assert_eq!(
            f,
            Filter::Eq("displayName".into(), Lit::Str("O'Brien".into()))
        );
        assert!(f.matches(&obj(json!({"displayName": "o'brien"}))));
    }

    #[test]
    fn in_startswith_and_or() {
        let f = parse("id in ('a','b') and (startswith(mail,'ad') or accountEnabled eq false)")
            .expect("parse");
        assert!(f.matches(&obj(json!({"id": "b", "mail": "Ada@x"}))));
        assert!(f.matches(&obj(
            json!({"id": "a", "mail": "z", "accountEnabled": false})
        )));
        assert!(!f.matches(&obj(json!({"id": "c", "mail": "ada"}))));
        assert_eq!(f.properties(), vec!["id", "mail", "accountEnabled"]);
    }

    #[test]
    fn any_and_advanced_operators() {
        let f = parse("groupTypes/any(c:c eq 'Unified')").expect("parse");
        assert!(f.matches(&obj(json!({"groupTypes": ["Unified"]}))));
        assert!(!f.matches(&obj(json!({"groupTypes": []}))));
        assert_eq!(
            parse("mail ne null").expect("parse").advanced_operator(),
            Some("ne")
        );
        assert_eq!(
            parse("endswith(mail,'x')")
                .expect("parse")
                .advanced_operator(),
            Some("endsWith")
        );
    }

    #[test]
    fn syntax_errors_are_reported() {
        assert!(parse("displayName eq 'x").is_err());
        assert!(parse("displayName gt 'x'").is_err());
        assert!(parse("displayName eq 'x' extra").is_err());
    }
}
