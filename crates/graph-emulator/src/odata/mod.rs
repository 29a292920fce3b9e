//! OData query options: parsing (`$select`, `$top`, `$filter`, `$count`, `$skiptoken`, ...),
//! projection of objects onto a selection, and the opaque paging tokens.

pub mod filter;
pub mod paging;

use axum::http::HeaderMap;
use serde_json::{Map, Value};

use crate::directory::Kind;
use crate::error::{GraphError, msg};
use filter::Filter;

/// Default page size of directory lists.
pub const DEFAULT_PAGE: usize = 100;
/// Largest `$top` Graph accepts.
pub const MAX_PAGE: usize = 999;

/// The parsed query options of one request.
#[derive(Debug, Default, Clone)]
pub struct Query {
    pub select: Option<Vec<String>>,
    pub top: Option<usize>,
    pub filter: Option<Filter>,
    pub filter_raw: Option<String>,
    pub count: bool,
    pub expand: bool,
    pub skiptoken: Option<String>,
    pub deltatoken: Option<String>,
    /// `$orderby`: property and descending flag (Graph's directory sorts on one property).
    pub orderby: Option<(String, bool)>,
    /// Options other than the paging tokens, in order, to rebuild nextLinks.
    pub carry: Vec<(String, String)>,
}

/// Graph v1.0 accepts query options with or without the `$` prefix.
fn option_name(key: &str) -> String {
    key.trim_start_matches('$').to_ascii_lowercase()
}

impl Query {
    pub fn parse(raw: Option<&str>) -> Result<Self, GraphError> {
        let mut q = Query::default();
        let Some(raw) = raw else {
            return Ok(q);
        };
        for (k, v) in url::form_urlencoded::parse(raw.as_bytes()) {
            let name = option_name(&k);
            match name.as_str() {
                "skiptoken" => {
                    q.skiptoken = Some(v.into_owned());
                    continue;
                }
                "deltatoken" => {
                    q.deltatoken = Some(v.into_owned());
                    continue;
                }
                "select" => {
                    q.select = Some(
                        v.split(',')
                            .map(|s| s.trim().to_owned())
                            .filter(|s| !s.is_empty())
                            .collect(),
                    );
                }
                "top" => {
                    let top = v
                        .trim()
                        .parse::<usize>()
                        .ok()
                        .filter(|t| (1..=MAX_PAGE).contains(t))
                        .ok_or_else(|| GraphError::bad_request(msg::bad_page_size(&v)))?;
                    q.top = Some(top);
                }
                "filter" => {
                    let f = filter::parse(&v).map_err(|e| GraphError::odata(e.0))?;
                    q.filter = Some(f);
                    q.filter_raw = Some(v.to_string());
                }
                "count" => q.count = v.eq_ignore_ascii_case("true"),
                "orderby" => {
                    let mut words = v.split_whitespace();
                    let prop = words.next().unwrap_or_default().to_owned();
                    let desc = match words.next().map(str::to_ascii_lowercase).as_deref() {
                        None | Some("asc") => false,
                        Some("desc") => true,
                        Some(_) => return Err(unsupported_sort()),
                    };
                    if prop.is_empty() || prop.contains(',') || words.next().is_some() {
                        return Err(unsupported_sort());
                    }
                    q.orderby = Some((prop, desc));
                }
                "expand" => q.expand = true,
                "skip" => {
                    return Err(GraphError::bad_request(
                        "'$skip' is not supported by the service.",
                    ));
                }
                _ => {}
            }
            q.carry.push((k.into_owned(), v.into_owned()));
        }
        Ok(q)
    }

    pub fn page_size(&self) -> usize {
        self.top.unwrap_or(DEFAULT_PAGE)
    }

    /// Rebuilds the query string of a nextLink/deltaLink: the original options plus a token.
    pub fn link_query(&self, token_name: &str, token: &str) -> String {
        let mut s = String::new();
        for (k, v) in &self.carry {
            s.push_str(k);
            s.push('=');
            s.extend(url::form_urlencoded::byte_serialize(v.as_bytes()));
            s.push('&');
        }
        s.push_str(token_name);
        s.push('=');
        s.push_str(token);
        s
    }
}

fn unsupported_sort() -> GraphError {
    GraphError::new(
        axum::http::StatusCode::BAD_REQUEST,
        "Request_UnsupportedQuery",
        "Sorting not supported for current query.",
    )
}

/// Properties `$orderby` accepts per kind.
fn sortable(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::User => &["displayName", "userPrincipalName"],
        Kind::Group => &["displayName"],
    }
}

/// True when a `Prefer` header of the request asks for `preference` (e.g. `return=minimal`,
/// `create-if-missing`); several headers and comma-separated lists both count.
pub fn prefers(headers: &HeaderMap, preference: &str) -> bool {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim().eq_ignore_ascii_case(preference))
}

/// True when the request carries `ConsistencyLevel: eventual` (advanced queries).
pub fn eventual(headers: &HeaderMap) -> bool {
    headers
        .get("consistencylevel")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("eventual"))
}

/// Properties Graph returns for a user when no `$select` is given.
pub const USER_DEFAULT: &[&str] = &[
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
];

/// Properties `$filter` accepts per kind (others get Graph's "unsupported filter clause").
const USER_FILTERABLE: &[&str] = &[
    "id",
    "userPrincipalName",
    "mail",
    "displayName",
    "mailNickname",
    "givenName",
    "surname",
    "employeeId",
    "accountEnabled",
    "onPremisesImmutableId",
    "jobTitle",
    "department",
    "userType",
    "proxyAddresses",
    "otherMails",
    "onPremisesSyncEnabled",
    "usageLocation",
    "city",
    "country",
    "companyName",
    "employeeType",
    "creationType",
    "state",
];
const GROUP_FILTERABLE: &[&str] = &[
    "id",
    "displayName",
    "mailNickname",
    "mail",
    "securityEnabled",
    "mailEnabled",
    "groupTypes",
    "uniqueName",
    "onPremisesSyncEnabled",
    "description",
    "proxyAddresses",
    "hasMembersWithLicenseErrors",
];

/// Whether the resource has the property or relationship (what `$select` may name), by
/// Graph's own schema, or it is a directory extension (`extension_{app}_{name}`).
pub fn is_declared(kind: Kind, prop: &str) -> bool {
    let schema = crate::schema::v1();
    prop.starts_with("extension_")
        || schema.property(kind.entity(), prop).is_some()
        || schema.navigation(kind.entity(), prop)
}

/// Checks that every `$select` name is a property of the resource.
pub fn validate_select(q: &Query, kind: Kind) -> Result<(), GraphError> {
    match q.select.iter().flatten().find(|p| !is_declared(kind, p)) {
        Some(p) => Err(GraphError::odata(format!(
            "Could not find a property named '{p}' on type 'microsoft.graph.{}'.",
            kind.resource().to_lowercase()
        ))),
        None => Ok(()),
    }
}

/// Checks `$select` names and the `$filter` properties/operators against Graph's rules.
pub fn validate(q: &Query, kind: Kind, headers: &HeaderMap) -> Result<(), GraphError> {
    validate_select(q, kind)?;
    if let Some(f) = &q.filter {
        let filterable = match kind {
            Kind::User => USER_FILTERABLE,
            Kind::Group => GROUP_FILTERABLE,
        };
        for p in f.properties() {
            if !filterable.contains(&p) && !p.starts_with("extension_") {
                return Err(GraphError::new(
                    axum::http::StatusCode::BAD_REQUEST,
                    "Request_UnsupportedQuery",
                    format!(
                        "Unsupported or invalid query filter clause specified for property '{p}' of resource '{}'.",
                        kind.resource()
                    ),
                ));
            }
        }
        if let Some(op) = f.advanced_operator()
            && !eventual(headers)
        {
            return Err(GraphError::new(
                axum::http::StatusCode::BAD_REQUEST,
                "Request_UnsupportedQuery",
                format!(
                    "Operator '{op}' is not supported because the 'ConsistencyLevel:eventual' header is missing. Refer to https://aka.ms/graph-docs/advanced-queries for more details"
                ),
            ));
        }
    }
    if let Some((prop, _)) = &q.orderby {
        // Sorting a filtered result is an advanced query in Graph.
        if !sortable(kind).contains(&prop.as_str()) || (q.filter.is_some() && !eventual(headers)) {
            return Err(unsupported_sort());
        }
    }
    if q.count && !eventual(headers) {
        return Err(GraphError::bad_request(msg::COUNT_UNSUPPORTED));
    }
    Ok(())
}

/// Projects stored properties onto `$select` (selected but unset properties are `null`, as in
/// Graph) or onto the kind's default set.
pub fn project(
    kind: Kind,
    props: &Map<String, Value>,
    select: Option<&[String]>,
) -> Map<String, Value> {
    let mut out = Map::new();
    match (select, kind) {
        (Some(sel), _) => {
            for p in sel {
                if p == "members" || p == "passwordProfile" {
                    continue;
                }
                out.insert(p.clone(), props.get(p).cloned().unwrap_or(Value::Null));
            }
        }
        (None, Kind::User) => {
            for p in USER_DEFAULT {
                out.insert(
                    (*p).to_owned(),
                    props.get(*p).cloned().unwrap_or(Value::Null),
                );
            }
        }
        (None, Kind::Group) => {
            for (k, v) in props {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    out
}

/// `@odata.context` of a collection, with the selection as Graph prints it.
pub fn collection_context(base: &str, segment: &str, select: Option<&[String]>) -> String {
    match select {
        Some(sel) => format!("{base}/$metadata#{segment}({})", sel.join(",")),
        None => format!("{base}/$metadata#{segment}"),
    }
}
