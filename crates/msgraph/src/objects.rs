//! Users and groups: create, get, update, delete, list pages and find by a unique-ish
//! property. Both kinds share one shape in Graph, so one set of functions serves both.

use futures::Stream;
use reqwest::Method;
use serde_json::Value;

use crate::client::{Call, GraphClient};
use crate::error::GraphError;
use crate::odata::{self, MAX_PAGE, Object, Page, Trail};

/// Which collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    User,
    Group,
}

impl Kind {
    pub fn segment(self) -> &'static str {
        match self {
            Kind::User => "users",
            Kind::Group => "groups",
        }
    }

    fn collection_route(self) -> &'static str {
        match self {
            Kind::User => "/users",
            Kind::Group => "/groups",
        }
    }

    fn item_route(self) -> &'static str {
        match self {
            Kind::User => "/users/{id}",
            Kind::Group => "/groups/{id}",
        }
    }
}

/// A key with the characters that would end or split a path segment escaped: `%` first,
/// then `#` (B2B UPNs), `/` and `?`.
pub(crate) fn escape_key(key: &str) -> String {
    key.replace('%', "%25")
        .replace('#', "%23")
        .replace('/', "%2F")
        .replace('?', "%3F")
}

/// A path segment for an id or UPN ([`escape_key`]); a key that starts with `$` uses the
/// `('…')` form Graph requires for it.
pub(crate) fn key_segment(key: &str) -> String {
    let escaped = escape_key(key);
    if key.starts_with('$') {
        format!("('{}')", escaped.replace('\'', "''"))
    } else {
        format!("/{escaped}")
    }
}

impl GraphClient {
    /// `POST /users` or `/groups`. Not idempotent: an ambiguous failure comes back with
    /// `outcome_unknown`, never re-sent.
    pub async fn create(&self, kind: Kind, body: &Object) -> Result<Object, GraphError> {
        let call = Call::new(
            Method::POST,
            format!("/{}", kind.segment()),
            kind.collection_route(),
        )
        .body(Value::Object(body.clone()));
        odata::object(self.execute(&call).await?.body)
    }

    /// `GET /users/{id}` (an id or a UPN for users).
    pub async fn get(&self, kind: Kind, key: &str, select: &[&str]) -> Result<Object, GraphError> {
        let mut call = Call::new(
            Method::GET,
            format!("/{}{}", kind.segment(), key_segment(key)),
            kind.item_route(),
        );
        if let Some(s) = odata::select(select) {
            call = call.query("$select", s);
        }
        odata::object(self.execute(&call).await?.body)
    }

    /// `PATCH /users/{id}` with only the given properties.
    pub async fn update(&self, kind: Kind, key: &str, changes: &Object) -> Result<(), GraphError> {
        let call = Call::new(
            Method::PATCH,
            format!("/{}{}", kind.segment(), key_segment(key)),
            kind.item_route(),
        )
        .body(Value::Object(changes.clone()));
        self.execute(&call).await.map(drop)
    }

    /// `DELETE /users/{id}` (soft delete in Entra: restorable for 30 days).
    pub async fn delete(&self, kind: Kind, key: &str) -> Result<(), GraphError> {
        let call = Call::new(
            Method::DELETE,
            format!("/{}{}", kind.segment(), key_segment(key)),
            kind.item_route(),
        );
        self.execute(&call).await.map(drop)
    }

    /// One page: the first (`next` = `None`, `$top=999`, `$select`) or the one a nextLink
    /// names (its URL already carries the query).
    pub async fn list_page(
        &self,
        kind: Kind,
        select: &[&str],
        next: Option<&str>,
    ) -> Result<Page, GraphError> {
        let call = match next {
            Some(link) => Call::new(Method::GET, link, kind.collection_route()),
            None => {
                let mut call = Call::new(
                    Method::GET,
                    format!("/{}", kind.segment()),
                    kind.collection_route(),
                )
                .query("$top", MAX_PAGE.to_string());
                if let Some(s) = odata::select(select) {
                    call = call.query("$select", s);
                }
                call
            }
        };
        Page::from_body(self.execute(&call).await?.body)
    }

    /// Every page of a collection, as a stream. It ends after the last page, or after an
    /// error (a nextLink that leads back to a page already read is one).
    pub fn list_pages<'a>(
        &'a self,
        kind: Kind,
        select: &'a [&'a str],
    ) -> impl Stream<Item = Result<Page, GraphError>> + 'a {
        // Position: None = finished, Some(None) = first page, Some(Some(link)) = a next page.
        let start = (Some(None::<String>), Trail::default());
        futures::stream::try_unfold(start, move |(position, mut trail)| async move {
            let Some(next) = position else {
                return Ok(None);
            };
            if let Some(link) = &next {
                trail.step(link)?;
            }
            let page = self.list_page(kind, select, next.as_deref()).await?;
            let following = page.next_link.clone().map(Some);
            Ok(Some((page, (following, trail))))
        })
    }

    /// Objects whose `property` equals `value` (`$filter=property eq 'value'`, quotes escaped),
    /// all pages.
    pub async fn find_by(
        &self,
        kind: Kind,
        property: &str,
        value: &str,
        select: &[&str],
    ) -> Result<Vec<Object>, GraphError> {
        let mut call = Call::new(
            Method::GET,
            format!("/{}", kind.segment()),
            kind.collection_route(),
        )
        .query("$filter", odata::eq(property, value));
        if let Some(s) = odata::select(select) {
            call = call.query("$select", s);
        }
        let mut page = Page::from_body(self.execute(&call).await?.body)?;
        let mut found = std::mem::take(&mut page.items);
        let mut trail = Trail::default();
        while let Some(link) = page.next_link.take() {
            trail.step(&link)?;
            page = self.list_page(kind, select, Some(&link)).await?;
            found.append(&mut page.items);
        }
        Ok(found)
    }

    pub async fn find_user_by_upn(
        &self,
        upn: &str,
        select: &[&str],
    ) -> Result<Vec<Object>, GraphError> {
        self.find_by(Kind::User, "userPrincipalName", upn, select)
            .await
    }

    pub async fn find_user_by_mail(
        &self,
        mail: &str,
        select: &[&str],
    ) -> Result<Vec<Object>, GraphError> {
        self.find_by(Kind::User, "mail", mail, select).await
    }

    /// Groups by displayName: not unique in Entra, so several may answer.
    pub async fn find_groups_by_display_name(
        &self,
        name: &str,
        select: &[&str],
    ) -> Result<Vec<Object>, GraphError> {
        self.find_by(Kind::Group, "displayName", name, select).await
    }

    /// The tenant's verified domain names (`GET /organization?$select=verifiedDomains`).
    pub async fn verified_domains(&self) -> Result<Vec<String>, GraphError> {
        let call = Call::new(Method::GET, "/organization", "/organization")
            .query("$select", "id,verifiedDomains");
        let page = Page::from_body(self.execute(&call).await?.body)?;
        Ok(page
            .items
            .iter()
            .flat_map(|org| {
                org.get("verifiedDomains")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|d| d["name"].as_str().map(str::to_owned))
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_segments() {
        assert_eq!(key_segment("abc"), "/abc");
        assert_eq!(
            key_segment("a_x.com#EXT#@t.onmicrosoft.com"),
            "/a_x.com%23EXT%23@t.onmicrosoft.com"
        );
        assert_eq!(key_segment("$adm'in@x.com"), "('$adm''in@x.com')");
    }
}
