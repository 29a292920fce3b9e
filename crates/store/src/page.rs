use model::UserKind;
use uuid::Uuid;

/// A keyset page: the objects whose id comes after `after`, at most `limit` of them, in id
/// order. Memory stays flat however large the table: no offsets, no counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub after: Option<Uuid>,
    pub limit: u32,
}

impl Page {
    pub const MAX_LIMIT: u32 = 1000;

    pub fn first(limit: u32) -> Self {
        Self {
            after: None,
            limit: limit.clamp(1, Self::MAX_LIMIT),
        }
    }

    pub fn after(after: Uuid, limit: u32) -> Self {
        Self {
            after: Some(after),
            limit: limit.clamp(1, Self::MAX_LIMIT),
        }
    }

    /// The lower bound for `id > $n`: the nil UUID sorts before every real id.
    pub(crate) fn lower_bound(&self) -> Uuid {
        self.after.unwrap_or(Uuid::nil())
    }

    pub(crate) fn sql_limit(&self) -> i64 {
        i64::from(self.limit.clamp(1, Self::MAX_LIMIT))
    }
}

/// Which users a listing returns; every field set narrows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserFilter {
    /// Case-insensitive substring of the username.
    pub username: Option<String>,
    /// Case-insensitive substring of the email.
    pub email: Option<String>,
    pub kind: Option<UserKind>,
    pub is_active: Option<bool>,
}

/// Which groups a listing returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupFilter {
    /// Case-insensitive substring of the name.
    pub name: Option<String>,
}

/// `LIKE` pattern matching `needle` anywhere, case-insensitively (the column holds lower case),
/// with `%`, `_` and `\` in the needle taken literally.
pub(crate) fn contains_pattern(needle: &str) -> String {
    let mut pattern = String::with_capacity(needle.len() + 2);
    pattern.push('%');
    for c in needle.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(contains_pattern("Al_i%e"), r"%al\_i\%e%");
        assert_eq!(Page::first(0).limit, 1);
        assert_eq!(Page::first(5000).limit, Page::MAX_LIMIT);
    }
}
