//! Functions registered for expressions, beyond rhai's own string and array functions: slugs,
//! Graph-safe nicknames, regular expressions, case changes, joining, email parts, dates, lenient
//! map access, random passwords, and `skip()`.
//!
//! Every helper bounds what it allocates by the engine's string limit *before* allocating: rhai
//! checks sizes only after a native function returns, which is too late for a 4 GiB string.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use rand::RngCore as _;
use rhai::{Array, Dynamic, Engine, EvalAltResult, FuncRegistration, Map, NativeCallContext};

use crate::text::{fold_to_ascii, mail_nickname, slugify};

type HelperResult<T> = Result<T, Box<EvalAltResult>>;

/// Raised by `skip()`; evaluation recognises it and turns it into `Mapped::Skip`.
#[derive(Debug, Clone)]
pub(crate) struct SkipSignal {
    pub(crate) reason: Option<String>,
}

/// Longest regular expression source accepted, in bytes.
const MAX_PATTERN_LEN: usize = 1_000;
/// Compiled-program and DFA cache budget per regular expression, so that a pattern such as
/// `\w{1000}{1000}` is refused instead of eating memory.
const REGEX_SIZE_LIMIT: usize = 1 << 20;
/// Compiled patterns kept per engine; mappings use a handful, so a full cache means someone builds
/// patterns from data, and starting over is fine.
const REGEX_CACHE_SIZE: usize = 64;
/// Default and bounds of `random_password`: Entra allows up to 256 characters.
const PASSWORD_LEN: usize = 32;
const PASSWORD_LEN_RANGE: std::ops::RangeInclusive<i64> = 16..=256;

pub(crate) fn register(engine: &mut Engine) {
    register_control(engine);
    register_text(engine);
    register_regex(engine);
    register_dates(engine);
    register_collections(engine);
}

fn fail<T>(message: impl Into<String>) -> HelperResult<T> {
    Err(Box::new(EvalAltResult::ErrorRuntime(
        message.into().into(),
        rhai::Position::NONE,
    )))
}

fn max_string(ctx: &NativeCallContext) -> usize {
    match ctx.engine().max_string_size() {
        0 => usize::MAX,
        max => max,
    }
}

fn check_len(ctx: &NativeCallContext, function: &str, len: usize) -> HelperResult<()> {
    let max = max_string(ctx);
    if len > max {
        return fail(format!(
            "{function}: the result would be longer than the limit of {max} bytes"
        ));
    }
    Ok(())
}

fn register_control(engine: &mut Engine) {
    engine.register_fn("skip", || -> HelperResult<Dynamic> { skip(None) });
    engine.register_fn("skip", |reason: &str| -> HelperResult<Dynamic> {
        skip(Some(reason.to_owned()))
    });
    // Volatile: the optimiser must never fold a password into the compiled mapping.
    FuncRegistration::new("random_password")
        .with_volatility(true)
        .register_into_engine(engine, || random_password(PASSWORD_LEN));
    FuncRegistration::new("random_password")
        .with_volatility(true)
        .register_into_engine(engine, |len: i64| -> HelperResult<String> {
            match usize::try_from(len) {
                Ok(n) if PASSWORD_LEN_RANGE.contains(&len) => Ok(random_password(n)),
                _ => fail(format!(
                    "random_password: length must be between {} and {}, not {len}",
                    PASSWORD_LEN_RANGE.start(),
                    PASSWORD_LEN_RANGE.end()
                )),
            }
        });
}

fn skip(reason: Option<String>) -> HelperResult<Dynamic> {
    Err(Box::new(EvalAltResult::ErrorRuntime(
        Dynamic::from(SkipSignal { reason }),
        rhai::Position::NONE,
    )))
}

/// A password for a new Entra user that nobody knows (what `random_password()` returns in an
/// expression; `len` below 4 gives 4). Users sign in through federation or reset it.
///
/// Characters are drawn uniformly from the thread's CSPRNG (ChaCha, seeded from the OS); a draw
/// that lacks one of the four character classes is thrown away and drawn again, so every
/// password satisfies Entra's "3 of 4 classes" rule with room to spare, and all such passwords
/// are equally likely. Bytes come in blocks, as one call per character was most of the cost.
pub fn random_password(len: usize) -> String {
    const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
    const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    const DIGIT: &[u8] = b"23456789";
    // Only symbols Entra accepts in passwords; no quote or backslash, to spare JSON and shells.
    const SYMBOL: &[u8] = b"!#$%&()*+,-./:;<=>?@[]^_{|}~";
    const ALL: &[u8] =
        b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789!#$%&()*+,-./:;<=>?@[]^_{|}~";
    // Largest multiple of ALL.len() that fits a byte: bytes at or above it are rejected, so the
    // modulo below does not favour the first characters.
    const ACCEPT_BELOW: usize = 256 / ALL.len() * ALL.len();

    let len = len.max(4);
    let mut rng = rand::rng();
    let mut pool = [0u8; 64];
    let mut next = pool.len();
    let mut draw = || loop {
        if next == pool.len() {
            rng.fill_bytes(&mut pool);
            next = 0;
        }
        let byte = usize::from(pool[next]);
        next += 1;
        if byte < ACCEPT_BELOW {
            return ALL[byte % ALL.len()];
        }
    };
    let mut bytes = vec![0u8; len];
    loop {
        bytes.iter_mut().for_each(|b| *b = draw());
        let has = |class: &[u8]| bytes.iter().any(|b| class.contains(b));
        if has(LOWER) && has(UPPER) && has(DIGIT) && has(SYMBOL) {
            return bytes.into_iter().map(char::from).collect();
        }
    }
}

fn register_text(engine: &mut Engine) {
    engine.register_fn("slugify", |s: &str| slugify(s, usize::MAX));
    engine.register_fn("slugify", |s: &str, max: i64| {
        slugify(s, usize::try_from(max).unwrap_or(0))
    });
    engine.register_fn("mail_nickname", |s: &str| mail_nickname(s));
    engine.register_fn("ascii", |s: &str| fold_to_ascii(s));
    engine.register_fn("lower", |s: &str| s.to_lowercase());
    engine.register_fn("upper", |s: &str| s.to_uppercase());
    engine.register_fn("capitalize", |s: &str| capitalize_words(s));
    engine.register_fn("email_domain", |s: &str| {
        s.rsplit_once('@')
            .map_or(String::new(), |(_, domain)| domain.to_owned())
    });
    engine.register_fn("email_local", |s: &str| {
        s.rsplit_once('@')
            .map_or(s.to_owned(), |(local, _)| local.to_owned())
    });
}

/// "ada LOVELACE" → "Ada Lovelace": each white-space separated word, first letter up, rest down.
fn capitalize_words(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut at_word_start = true;
    for c in s.chars() {
        if c.is_whitespace() {
            out.push(c);
            at_word_start = true;
        } else if at_word_start {
            out.extend(c.to_uppercase());
            at_word_start = false;
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// Compiled patterns shared by the regex helpers of one engine.
#[derive(Default)]
struct RegexCache {
    compiled: Mutex<HashMap<String, regex::Regex>>,
}

impl RegexCache {
    fn get(&self, pattern: &str) -> HelperResult<regex::Regex> {
        if pattern.len() > MAX_PATTERN_LEN {
            return fail(format!(
                "regular expression longer than {MAX_PATTERN_LEN} bytes"
            ));
        }
        // A panic elsewhere while holding the lock leaves a still-valid cache: keep using it.
        let mut cache = self
            .compiled
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(regex) = cache.get(pattern) {
            return Ok(regex.clone());
        }
        let regex = match regex::RegexBuilder::new(pattern)
            .size_limit(REGEX_SIZE_LIMIT)
            .dfa_size_limit(REGEX_SIZE_LIMIT)
            .build()
        {
            Ok(regex) => regex,
            Err(err) => {
                // The parser's message is a multi-line caret diagram; its last line says what
                // is wrong, which is what fits in a one-line error.
                let text = err.to_string();
                let why = text
                    .lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("");
                return fail(format!(
                    "invalid regular expression {pattern:?}: {}",
                    why.trim()
                ));
            }
        };
        if cache.len() >= REGEX_CACHE_SIZE {
            cache.clear();
        }
        cache.insert(pattern.to_owned(), regex.clone());
        Ok(regex)
    }
}

fn register_regex(engine: &mut Engine) {
    let cache = Arc::new(RegexCache::default());

    let c = Arc::clone(&cache);
    engine.register_fn(
        "regex_match",
        move |s: &str, pattern: &str| -> HelperResult<bool> { Ok(c.get(pattern)?.is_match(s)) },
    );

    let c = Arc::clone(&cache);
    engine.register_fn(
        "regex_captures",
        move |s: &str, pattern: &str| -> HelperResult<Dynamic> {
            let regex = c.get(pattern)?;
            Ok(match regex.captures(s) {
                None => Dynamic::UNIT,
                Some(caps) => Dynamic::from_array(
                    caps.iter()
                        .map(|group| group.map_or(Dynamic::UNIT, |m| m.as_str().into()))
                        .collect(),
                ),
            })
        },
    );

    let c = cache;
    engine.register_fn(
        "regex_replace",
        move |ctx: NativeCallContext,
              s: &str,
              pattern: &str,
              replacement: &str|
              -> HelperResult<String> {
            let regex = c.get(pattern)?;
            replace_bounded(&regex, s, replacement, max_string(&ctx))
        },
    );
}

/// `Regex::replace_all` with `$1`-style expansion, refusing as soon as the result would pass
/// `max` bytes (an empty pattern and a long replacement would otherwise multiply the input).
fn replace_bounded(
    regex: &regex::Regex,
    s: &str,
    replacement: &str,
    max: usize,
) -> HelperResult<String> {
    let mut out = String::new();
    let mut last = 0;
    for caps in regex.captures_iter(s) {
        let Some(whole) = caps.get(0) else { continue };
        out.push_str(&s[last..whole.start()]);
        caps.expand(replacement, &mut out);
        last = whole.end();
        if out.len() > max {
            return fail(format!(
                "regex_replace: the result would be longer than the limit of {max} bytes"
            ));
        }
    }
    out.push_str(&s[last..]);
    if out.len() > max {
        return fail(format!(
            "regex_replace: the result would be longer than the limit of {max} bytes"
        ));
    }
    Ok(out)
}

fn register_dates(engine: &mut Engine) {
    engine.register_fn(
        "format_date",
        |ctx: NativeCallContext, date: &str, format: &str| -> HelperResult<String> {
            format_date(&ctx, date, format)
        },
    );
}

/// Formats an RFC 3339 timestamp (as `user.created_at`) or a plain `YYYY-MM-DD` date with a
/// strftime pattern. An invalid pattern is an error, never a panic (chrono's `to_string` would).
fn format_date(ctx: &NativeCallContext, date: &str, format: &str) -> HelperResult<String> {
    use chrono::format::{Item, StrftimeItems};
    let items: Vec<Item<'_>> = StrftimeItems::new(format).collect();
    if items.iter().any(|item| matches!(item, Item::Error)) {
        return fail(format!("format_date: invalid format {format:?}"));
    }
    let mut out = String::new();
    let written = if let Ok(at) = chrono::DateTime::parse_from_rfc3339(date) {
        write!(out, "{}", at.format_with_items(items.iter()))
    } else if let Ok(day) = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d") {
        write!(out, "{}", day.format_with_items(items.iter()))
    } else {
        return fail(format!(
            "format_date: {date:?} is neither an RFC 3339 timestamp nor a YYYY-MM-DD date"
        ));
    };
    if written.is_err() {
        // A time field asked of a plain date, for instance.
        return fail(format!(
            "format_date: {format:?} does not apply to {date:?}"
        ));
    }
    check_len(ctx, "format_date", out.len())?;
    Ok(out)
}

fn register_collections(engine: &mut Engine) {
    // `get(map, key, default)`: strict property access makes `map.key ?? default` an error when the
    // key is absent, and attributes are free-form, so this is the lenient read. Pure, so that it
    // may be called as a method on the constants `user`, `group`, `provider` and `link`.
    FuncRegistration::new("get")
        .with_purity(true)
        .register_into_engine(
            engine,
            |map: &mut Map, key: &str, default: Dynamic| -> Dynamic {
                match map.get(key) {
                    Some(value) if !value.is_unit() => value.clone(),
                    _ => default,
                }
            },
        );
    // `link` is `()` when creating; reading it leniently must not need an `if` first.
    FuncRegistration::new("get")
        .with_purity(true)
        .register_into_engine(engine, |_: &mut (), _: &str, default: Dynamic| -> Dynamic {
            default
        });
    FuncRegistration::new("join")
        .with_purity(true)
        .register_into_engine(
            engine,
            |ctx: NativeCallContext, items: &mut Array, separator: &str| -> HelperResult<String> {
                join(&ctx, items, separator)
            },
        );
}

fn join(ctx: &NativeCallContext, items: &Array, separator: &str) -> HelperResult<String> {
    let max = max_string(ctx);
    let mut out = String::new();
    for (index, item) in items.iter().enumerate() {
        if index > 0 {
            out.push_str(separator);
        }
        match item.as_immutable_string_ref() {
            Ok(s) => out.push_str(&s),
            Err(_) => {
                let _ = write!(out, "{item}");
            }
        }
        if out.len() > max {
            return fail(format!(
                "join: the result would be longer than the limit of {max} bytes"
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_alphabet_is_the_union_of_the_classes() {
        // ALL is spelt out for speed; it must stay the four classes, in full.
        let mut chars: Vec<char> = random_password(4_000).chars().collect();
        chars.sort_unstable();
        chars.dedup();
        assert_eq!(chars.len(), 25 + 24 + 8 + 28);
    }

    #[test]
    fn passwords_are_long_random_and_complex() {
        let a = random_password(PASSWORD_LEN);
        let b = random_password(PASSWORD_LEN);
        assert_eq!(a.len(), PASSWORD_LEN);
        assert_ne!(a, b);
        for p in [&a, &b] {
            assert!(p.chars().any(|c| c.is_ascii_lowercase()), "{p}");
            assert!(p.chars().any(|c| c.is_ascii_uppercase()), "{p}");
            assert!(p.chars().any(|c| c.is_ascii_digit()), "{p}");
            assert!(p.chars().any(|c| c.is_ascii_punctuation()), "{p}");
        }
        assert_eq!(
            random_password(2).len(),
            4,
            "never fewer than one per class"
        );
    }

    #[test]
    fn capitalize_words_handles_mixed_case() {
        assert_eq!(capitalize_words("ada LOVELACE  x"), "Ada Lovelace  X");
        assert_eq!(capitalize_words(""), "");
    }

    #[test]
    fn bounded_replace_expands_groups_and_stops_at_the_limit() {
        let regex = regex::Regex::new(r"(\w+)@(\w+)").expect("valid");
        let out = replace_bounded(&regex, "a@b, c@d", "$2/$1", 100).expect("fits");
        assert_eq!(out, "b/a, d/c");
        let empty = regex::Regex::new("").expect("valid");
        let err = replace_bounded(&empty, &"x".repeat(100), &"y".repeat(100), 1_000)
            .expect_err("too long");
        assert!(err.to_string().contains("limit of 1000 bytes"), "{err}");
    }
}
