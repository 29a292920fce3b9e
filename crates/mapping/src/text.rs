//! Text reductions to what Graph accepts: ASCII folding, slugs and mail nicknames. Pure Rust so
//! that the default mappings and their native benchmark baseline share one implementation.

/// Graph's longest `mailNickname` (users and groups).
pub const MAIL_NICKNAME_MAX: usize = 64;

/// Replaces common Latin letters with diacritics by their ASCII base ("Zoë Ørsted" →
/// "Zoe Orsted"), and drops every other non-ASCII character. A small table rather than full
/// Unicode decomposition: it covers the Latin-1 and Latin Extended-A letters names use, at no
/// extra dependency.
pub fn fold_to_ascii(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii() {
            out.push(c);
        } else if let Some(folded) = fold_char(c) {
            out.push_str(folded);
        }
    }
    out
}

fn fold_char(c: char) -> Option<&'static str> {
    const TABLE: &[(&str, &str)] = &[
        ("ÀÁÂÃÄÅĀĂĄ", "A"),
        ("àáâãäåāăą", "a"),
        ("ÇĆĈĊČ", "C"),
        ("çćĉċč", "c"),
        ("ĎĐÐ", "D"),
        ("ďđð", "d"),
        ("ÈÉÊËĒĔĖĘĚ", "E"),
        ("èéêëēĕėęě", "e"),
        ("ĜĞĠĢ", "G"),
        ("ĝğġģ", "g"),
        ("ĤĦ", "H"),
        ("ĥħ", "h"),
        ("ÌÍÎÏĨĪĬĮİ", "I"),
        ("ìíîïĩīĭįı", "i"),
        ("Ĵ", "J"),
        ("ĵ", "j"),
        ("Ķ", "K"),
        ("ķ", "k"),
        ("ĹĻĽĿŁ", "L"),
        ("ĺļľŀł", "l"),
        ("ÑŃŅŇ", "N"),
        ("ñńņň", "n"),
        ("ÒÓÔÕÖØŌŎŐ", "O"),
        ("òóôõöøōŏő", "o"),
        ("ŔŖŘ", "R"),
        ("ŕŗř", "r"),
        ("ŚŜŞŠ", "S"),
        ("śŝşš", "s"),
        ("ŢŤŦ", "T"),
        ("ţťŧ", "t"),
        ("ÙÚÛÜŨŪŬŮŰŲ", "U"),
        ("ùúûüũūŭůűų", "u"),
        ("Ŵ", "W"),
        ("ŵ", "w"),
        ("ÝŶŸ", "Y"),
        ("ýÿŷ", "y"),
        ("ŹŻŽ", "Z"),
        ("źżž", "z"),
        ("Æ", "AE"),
        ("æ", "ae"),
        ("Œ", "OE"),
        ("œ", "oe"),
        ("ß", "ss"),
        ("Þ", "TH"),
        ("þ", "th"),
    ];
    TABLE
        .iter()
        .find(|(from, _)| from.contains(c))
        .map(|(_, to)| *to)
}

/// A slug as Django's `slugify` makes it (so groups keep the nickname authentik gave them):
/// ASCII-folded, lower case, only `a-z 0-9 _ -`, runs of white space and hyphens become one
/// hyphen, no hyphen or underscore at either end; then cut to `max` characters.
pub fn slugify(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max));
    let mut pending_hyphen = false;
    for c in fold_to_ascii(s).chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            if pending_hyphen && !out.is_empty() {
                out.push('-');
            }
            pending_hyphen = false;
            out.push(c.to_ascii_lowercase());
        } else if c.is_whitespace() || c == '-' {
            pending_hyphen = true;
        }
        if out.len() >= max {
            break;
        }
    }
    out.truncate(max);
    let trimmed = out.trim_matches(|c| c == '-' || c == '_');
    trimmed.to_owned()
}

/// Reduces a username to what Graph accepts as a `mailNickname`: printable ASCII without
/// `@ ( ) \ [ ] " ; : < > ,` or space, no leading, trailing or doubled dot, at most 64
/// characters. May return an empty string (a username of only forbidden characters); the
/// default mapping then falls back to the user's id.
pub fn mail_nickname(s: &str) -> String {
    const FORBIDDEN: &str = "@()\\[]\";:<>,";
    let mut out = String::with_capacity(s.len().min(MAIL_NICKNAME_MAX));
    for c in fold_to_ascii(s).chars() {
        if !c.is_ascii_graphic() || FORBIDDEN.contains(c) {
            continue;
        }
        if c == '.' && (out.is_empty() || out.ends_with('.')) {
            continue;
        }
        out.push(c);
        if out.len() == MAIL_NICKNAME_MAX {
            break;
        }
    }
    while out.ends_with('.') {
        out.pop();
    }
    out
}

/// Whether `s` is a valid group `mailNickname` by Graph's published rule (the slug above always
/// is, unless empty).
pub fn is_valid_mail_nickname(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAIL_NICKNAME_MAX
        && s.chars()
            .all(|c| c.is_ascii_graphic() && !"@()\\[]\";:<>,".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugify_table() {
        for (input, want) in [
            ("Engineering", "engineering"),
            ("R&D Team", "rd-team"),
            ("  Café  Zürich -- Süd ", "cafe-zurich-sud"),
            ("__x__", "x"),
            ("snake_case name", "snake_case-name"),
            ("日本語", ""),
            ("Straße", "strasse"),
        ] {
            assert_eq!(slugify(input, usize::MAX), want, "{input}");
        }
    }

    #[test]
    fn slugify_respects_the_length_without_a_trailing_hyphen() {
        let long = format!("{} b", "a".repeat(63));
        assert_eq!(slugify(&long, 64), "a".repeat(63));
        assert_eq!(slugify(&"x".repeat(200), 64).len(), 64);
    }

    #[test]
    fn mail_nickname_table() {
        for (input, want) in [
            ("alice", "alice"),
            ("Ada Lovelace", "AdaLovelace"),
            ("j.o'neil", "j.o'neil"),
            ("..a..b..", "a.b"),
            ("müller@corp(x)", "mullercorpx"),
            ("ßß", "ssss"),
            ("@@@", ""),
        ] {
            assert_eq!(mail_nickname(input), want, "{input}");
        }
        assert_eq!(mail_nickname(&"n".repeat(100)).len(), 64);
    }

    #[test]
    fn nickname_validity_follows_graph() {
        assert!(is_valid_mail_nickname("eng-backend"));
        assert!(!is_valid_mail_nickname("eng backend"));
        assert!(!is_valid_mail_nickname(""));
        assert!(!is_valid_mail_nickname(&"a".repeat(65)));
    }
}
