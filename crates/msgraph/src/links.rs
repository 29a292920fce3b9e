//! Where the bearer token may go: only under the configured Graph base. Every request URL is
//! resolved here, our own paths (`/users/{id}`) and the links Graph hands back
//! (`@odata.nextLink`, a stored `@odata.deltaLink`) alike. A URL whose origin (scheme, host,
//! port) is not the base's, whose path leaves the base's version root (`/v1.0`), or that
//! carries userinfo is refused before anything is sent: a spoofed or misconfigured endpoint
//! must not be able to send the token elsewhere.

use url::Url;

use crate::error::{GraphError, LinkRefusal};

/// The configured Graph base, parsed once.
#[derive(Debug, Clone)]
pub(crate) struct GraphBase {
    /// As configured, without a trailing slash: paths are appended to it.
    text: String,
    url: Url,
    /// The base's path without a trailing slash (`/v1.0`; empty for a base at `/`).
    root: String,
}

impl GraphBase {
    pub(crate) fn parse(base: &str) -> Result<Self, GraphError> {
        let text = base.trim_end_matches('/').to_owned();
        let url = Url::parse(&text)
            .map_err(|e| GraphError::InvalidRequest(format!("Graph base URL {base:?}: {e}")))?;
        if url.cannot_be_a_base() || url.host_str().is_none() {
            return Err(GraphError::InvalidRequest(format!(
                "Graph base URL {base:?} has no host"
            )));
        }
        let root = url.path().trim_end_matches('/').to_owned();
        Ok(Self { text, url, root })
    }

    /// The URL for `target`, a path under the base (it starts with `/`) or an absolute link,
    /// with `query` (already encoded) appended; or why the token must not go there.
    pub(crate) fn resolve(&self, target: &str, query: &str) -> Result<Url, GraphError> {
        let mut full = if target.starts_with('/') {
            format!("{}{target}", self.text)
        } else {
            target.to_owned()
        };
        if !query.is_empty() {
            full.push(if full.contains('?') { '&' } else { '?' });
            full.push_str(query);
        }
        // Parsing also removes `..` segments (and their `%2e` spellings): what is checked
        // below is the path that would be requested.
        let url = Url::parse(&full)
            .map_err(|e| refused(target, LinkRefusal::Unparsable(e.to_string())))?;
        self.check(target, &url)?;
        Ok(url)
    }

    fn check(&self, target: &str, url: &Url) -> Result<(), GraphError> {
        if !url.username().is_empty() || url.password().is_some() {
            let mut shown = url.clone();
            // Not in the error either: it ends up in logs.
            let _ = shown.set_username("");
            let _ = shown.set_password(None);
            return Err(refused(shown.as_str(), LinkRefusal::Credentials));
        }
        // Opaque origins (`mailto:`, `data:`) never equal anything, the base's included.
        if url.origin() != self.url.origin() {
            return Err(refused(
                target,
                LinkRefusal::ForeignOrigin {
                    expected: self.url.origin().ascii_serialization(),
                    found: url.origin().ascii_serialization(),
                },
            ));
        }
        let path = url.path();
        let under_root = path
            .strip_prefix(self.root.as_str())
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
        if !under_root {
            return Err(refused(
                target,
                LinkRefusal::OutsideVersionRoot {
                    root: if self.root.is_empty() {
                        "/"
                    } else {
                        &self.root
                    }
                    .to_owned(),
                    path: path.to_owned(),
                },
            ));
        }
        Ok(())
    }
}

fn refused(link: &str, reason: LinkRefusal) -> GraphError {
    tracing::warn!(link, %reason, "refused to send the Graph token to a link");
    GraphError::LinkRefused {
        link: link.to_owned(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> GraphBase {
        GraphBase::parse("https://graph.microsoft.com/v1.0/").expect("base")
    }

    fn reason(target: &str) -> LinkRefusal {
        match base().resolve(target, "") {
            Err(GraphError::LinkRefused { reason, .. }) => reason,
            other => panic!("{target}: expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn paths_and_graph_links_resolve_under_the_base() {
        let b = base();
        assert_eq!(
            b.resolve("/users", "$top=999").expect("path").as_str(),
            "https://graph.microsoft.com/v1.0/users?$top=999"
        );
        let next = "https://graph.microsoft.com/v1.0/users?$skiptoken=X%27Y";
        assert_eq!(b.resolve(next, "").expect("next").as_str(), next);
        assert_eq!(
            b.resolve(
                "https://GRAPH.microsoft.com:443/v1.0/groups/delta?$deltatoken=t",
                "a=b"
            )
            .expect("same origin, spelled differently")
            .as_str(),
            "https://graph.microsoft.com/v1.0/groups/delta?$deltatoken=t&a=b"
        );
        assert!(b.resolve("/groups(uniqueName='a''b')", "").is_ok());
    }

    #[test]
    fn other_origins_are_refused() {
        for link in [
            "https://evil.example/v1.0/users?$skiptoken=x",
            "http://graph.microsoft.com/v1.0/users",
            "https://graph.microsoft.com:8443/v1.0/users",
            "https://graph.microsoft.com.evil.example/v1.0/users",
            "HTTPS://evil.example/v1.0/users",
            "mailto:a@graph.microsoft.com",
        ] {
            assert!(
                matches!(reason(link), LinkRefusal::ForeignOrigin { .. }),
                "{link}"
            );
        }
    }

    #[test]
    fn paths_outside_the_version_root_are_refused() {
        for link in [
            "https://graph.microsoft.com/beta/users",
            "https://graph.microsoft.com/v1.0/../beta/users",
            "https://graph.microsoft.com/v1.0/%2e%2e/beta/users",
            "https://graph.microsoft.com/v1.0.evil/users",
            "/../beta/users",
        ] {
            assert!(
                matches!(reason(link), LinkRefusal::OutsideVersionRoot { .. }),
                "{link}"
            );
        }
    }

    #[test]
    fn relative_links_and_credentials_are_refused() {
        assert!(matches!(
            reason("users?$skiptoken=x"),
            LinkRefusal::Unparsable(_)
        ));
        match base().resolve("https://me:pw@graph.microsoft.com/v1.0/users", "") {
            Err(GraphError::LinkRefused { link, reason }) => {
                assert_eq!(reason, LinkRefusal::Credentials);
                assert!(!link.contains("pw"), "{link}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_base_at_the_root_accepts_any_path_of_its_origin() {
        let b = GraphBase::parse("http://127.0.0.1:8080").expect("base");
        assert!(b.resolve("http://127.0.0.1:8080/anything", "").is_ok());
        assert!(b.resolve("http://127.0.0.1:8081/anything", "").is_err());
        assert!(GraphBase::parse("not a url").is_err());
    }
}
