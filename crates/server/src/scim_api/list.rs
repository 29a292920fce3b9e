//! Listing and searching (RFC 7644 §3.4.2, §3.4.3): the query as a `GET` has it in its query
//! string and a `POST …/.search` in its body, and the paging of the matches.

use std::collections::HashMap;

use scim::{AttrPath, Filter, ScimError, SortKey};
use serde_json::Value;

/// The most resources one answer holds (announced as the filter's `maxResults`).
pub const MAX_RESULTS: u64 = 1000;

/// What a list asks for.
#[derive(Debug, Default, Clone)]
pub struct ListQuery {
    pub filter: Option<Filter>,
    /// 1-based.
    pub start_index: u64,
    pub count: u64,
    pub attributes: Option<Vec<AttrPath>>,
    pub excluded: Option<Vec<AttrPath>>,
    pub sort: Option<SortBy>,
}

/// `sortBy` and `sortOrder`.
#[derive(Debug, Clone)]
pub struct SortBy {
    pub path: AttrPath,
    pub descending: bool,
}

/// A list's query string, or why it could not be read.
pub type QueryParams =
    Result<axum::extract::Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>;

fn number(name: &str, text: &str) -> Result<i64, ScimError> {
    text.trim()
        .parse::<i64>()
        .map_err(|_| ScimError::invalid_value(format!("{name} must be an integer, not {text:?}")))
}

impl ListQuery {
    /// From a request's query string (one that cannot be read is `invalidSyntax`).
    pub fn from_query(query: QueryParams) -> Result<Self, ScimError> {
        let axum::extract::Query(params) =
            query.map_err(|error| ScimError::invalid_syntax(error.body_text()))?;
        Self::from_params(&params)
    }

    /// `resource` with only the attributes this query asks for.
    pub fn project(&self, mut resource: Value, schema: &scim::ResourceSchema) -> Value {
        scim::project(
            &mut resource,
            self.attributes.as_deref(),
            self.excluded.as_deref(),
            schema,
        );
        resource
    }

    /// From a query string's parameters (names compared regardless of case).
    pub fn from_params(params: &HashMap<String, String>) -> Result<Self, ScimError> {
        let get = |name: &str| {
            params
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                .map(|(_, value)| value.as_str())
        };
        let start = get("startIndex")
            .map(|text| number("startIndex", text))
            .transpose()?;
        let count = get("count").map(|text| number("count", text)).transpose()?;
        Self::new(
            get("filter"),
            start,
            count,
            get("attributes"),
            get("excludedAttributes"),
        )?
        .sorted(get("sortBy"), get("sortOrder"))
    }

    /// From a `SearchRequest` body.
    pub fn from_search(body: &Value) -> Result<Self, ScimError> {
        let get = |name: &str| {
            body.as_object().and_then(|object| {
                object
                    .iter()
                    .find(|(key, _)| key.eq_ignore_ascii_case(name))
                    .map(|(_, value)| value)
            })
        };
        let text = |name: &str| -> Result<Option<String>, ScimError> {
            match get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(text)) => Ok(Some(text.clone())),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|item| {
                        item.as_str().map(str::to_owned).ok_or_else(|| {
                            ScimError::invalid_value(format!("{name} must list strings"))
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map(|items| Some(items.join(","))),
                Some(_) => Err(ScimError::invalid_value(format!("{name} must be a string"))),
            }
        };
        let int = |name: &str| -> Result<Option<i64>, ScimError> {
            match get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Number(n)) => n
                    .as_i64()
                    .map(Some)
                    .ok_or_else(|| ScimError::invalid_value(format!("{name} must be an integer"))),
                Some(Value::String(text)) => number(name, text).map(Some),
                Some(_) => Err(ScimError::invalid_value(format!(
                    "{name} must be an integer"
                ))),
            }
        };
        Self::new(
            text("filter")?.as_deref(),
            int("startIndex")?,
            int("count")?,
            text("attributes")?.as_deref(),
            text("excludedAttributes")?.as_deref(),
        )?
        .sorted(text("sortBy")?.as_deref(), text("sortOrder")?.as_deref())
    }

    fn sorted(mut self, by: Option<&str>, order: Option<&str>) -> Result<Self, ScimError> {
        let descending = match order.map(str::trim) {
            None | Some("") => false,
            Some(order) if order.eq_ignore_ascii_case("ascending") => false,
            Some(order) if order.eq_ignore_ascii_case("descending") => true,
            Some(order) => {
                return Err(ScimError::invalid_value(format!(
                    "sortOrder must be ascending or descending, not {order:?}"
                )));
            }
        };
        self.sort = match by.map(str::trim) {
            None | Some("") => None,
            Some(by) => Some(SortBy {
                path: AttrPath::parse(by)?,
                descending,
            }),
        };
        Ok(self)
    }

    fn new(
        filter: Option<&str>,
        start: Option<i64>,
        count: Option<i64>,
        attributes: Option<&str>,
        excluded: Option<&str>,
    ) -> Result<Self, ScimError> {
        let filter = match filter.map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(scim::parse_filter(text)?),
        };
        // RFC 7644 §3.4.2.4: below 1 is 1; a negative count is 0; above the maximum, the
        // maximum.
        let start_index = start.map_or(1, |start| start.max(1)).unsigned_abs();
        let count = count
            .map_or(100, |count| count.max(0))
            .unsigned_abs()
            .min(MAX_RESULTS);
        let list = |text: Option<&str>| -> Result<Option<Vec<AttrPath>>, ScimError> {
            match text.map(str::trim) {
                None | Some("") => Ok(None),
                Some(text) => scim::parse_attribute_list(text).map(Some),
            }
        };
        Ok(Self {
            filter,
            start_index,
            count,
            attributes: list(attributes)?,
            excluded: list(excluded)?,
            sort: None,
        })
    }

    /// The equality this query's filter holds on `key` (e.g. `username`), when it has one.
    pub fn equality(&self, key: &str) -> Option<String> {
        self.filter.as_ref().and_then(|filter| {
            filter
                .equalities()
                .into_iter()
                .find(|(path, _)| path == key)
                .map(|(_, value)| value)
        })
    }

    /// Whether an attribute is to be answered (so whether it must be read at all).
    pub fn wants(&self, key: &str) -> bool {
        if let Some(attributes) = &self.attributes {
            return attributes
                .iter()
                .any(|path| path.key() == key || path.key().starts_with(&format!("{key}.")));
        }
        if let Some(excluded) = &self.excluded {
            return !excluded.iter().any(|path| path.key() == key);
        }
        true
    }
}

/// Counts matches and keeps the ones in the asked window. Sorted, it keeps every match's key
/// and id instead (never every resource), and the window's resources are read again once
/// the order is known.
pub struct Window {
    start_index: u64,
    count: u64,
    sort: Option<SortBy>,
    schema: scim::ResourceSchema,
    keyed: Vec<(SortKey, uuid::Uuid)>,
    pub total: u64,
    pub resources: Vec<Value>,
}

impl Window {
    pub fn new(query: &ListQuery, schema: scim::ResourceSchema) -> Self {
        Self {
            start_index: query.start_index,
            count: query.count,
            sort: query.sort.clone(),
            schema,
            keyed: Vec::new(),
            total: 0,
            resources: Vec::new(),
        }
    }

    /// Offers one match (`resource`, already filtered); `finish` renders it for the answer
    /// when it falls in the window.
    pub fn offer(&mut self, id: uuid::Uuid, resource: Value, finish: impl FnOnce(Value) -> Value) {
        self.total += 1;
        if let Some(sort) = &self.sort {
            let key = scim::sort_key(&resource, &sort.path, &self.schema);
            self.keyed.push((key, id));
        } else if self.total >= self.start_index && (self.resources.len() as u64) < self.count {
            self.resources.push(finish(resource));
        }
    }

    /// When sorted, the ids of the window's resources, in order (read and `push` them).
    pub fn sorted_window(&mut self) -> Vec<uuid::Uuid> {
        let Some(sort) = &self.sort else {
            return Vec::new();
        };
        let descending = sort.descending;
        self.keyed
            .sort_by(|(a, a_id), (b, b_id)| a.compare(b, descending).then(a_id.cmp(b_id)));
        let skip = usize::try_from(self.start_index.saturating_sub(1)).unwrap_or(usize::MAX);
        let take = usize::try_from(self.count).unwrap_or(usize::MAX);
        self.keyed
            .iter()
            .skip(skip)
            .take(take)
            .map(|(_, id)| *id)
            .collect()
    }

    pub fn push(&mut self, resource: Value) {
        self.resources.push(resource);
    }

    pub fn answer(self) -> Value {
        scim::list_response(self.total, self.start_index, self.resources)
    }
}

/// Whether the filter names an attribute (by key, e.g. `members`).
pub fn mentions(filter: &Filter, key: &str) -> bool {
    let hits = |path: &AttrPath| path.key() == key || path.key().starts_with(&format!("{key}."));
    match filter {
        Filter::Compare { path, .. } | Filter::Present(path) => hits(path),
        Filter::ValuePath { path, .. } => hits(path),
        Filter::And(left, right) | Filter::Or(left, right) => {
            mentions(left, key) || mentions(right, key)
        }
        Filter::Not(inner) => mentions(inner, key),
    }
}
