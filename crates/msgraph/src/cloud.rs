//! Where a cloud's token endpoint and Graph live (graph-contract.md §0), from one table, plus an
//! explicit override for the emulator and other non-standard deployments.

use std::fmt;

/// A Microsoft national cloud deployment. Tokens are not interchangeable between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cloud {
    Global,
    UsGov,
    UsGovDod,
    China,
}

impl Cloud {
    /// (login host, Graph host) — the one table every endpoint is derived from.
    const fn hosts(self) -> (&'static str, &'static str) {
        match self {
            Cloud::Global => (
                "https://login.microsoftonline.com",
                "https://graph.microsoft.com",
            ),
            Cloud::UsGov => (
                "https://login.microsoftonline.us",
                "https://graph.microsoft.us",
            ),
            Cloud::UsGovDod => (
                "https://login.microsoftonline.us",
                "https://dod-graph.microsoft.us",
            ),
            Cloud::China => (
                "https://login.chinacloudapi.cn",
                "https://microsoftgraph.chinacloudapi.cn",
            ),
        }
    }
}

impl fmt::Display for Cloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Cloud::Global => "global",
            Cloud::UsGov => "us-gov",
            Cloud::UsGovDod => "us-gov-dod",
            Cloud::China => "china",
        })
    }
}

/// Resolved endpoints of one deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// Login authority root, e.g. `https://login.microsoftonline.com` (no trailing slash).
    pub login_url: String,
    /// Graph v1.0 root, e.g. `https://graph.microsoft.com/v1.0` (no trailing slash).
    pub graph_base_url: String,
    /// The client-credentials scope (`{resource}/.default`).
    pub scope: String,
    /// The resource root that `@odata.id` / `members@odata.bind` references are spelled with.
    pub reference_root: String,
}

impl Endpoints {
    pub fn for_cloud(cloud: Cloud) -> Self {
        let (login, graph) = cloud.hosts();
        Self {
            login_url: login.to_owned(),
            graph_base_url: format!("{graph}/v1.0"),
            scope: format!("{graph}/.default"),
            reference_root: format!("{graph}/v1.0"),
        }
    }

    /// Explicit URLs (the emulator: its `login_url()` and `base_url()`). The scope and the
    /// reference root stay the global Graph ones: a reference names an object by Graph's own
    /// URL for it, not by the address the requests go to, and Graph refuses any other host.
    pub fn custom(login_url: &str, graph_base_url: &str) -> Self {
        let global = Self::for_cloud(Cloud::Global);
        Self {
            login_url: login_url.trim_end_matches('/').to_owned(),
            graph_base_url: graph_base_url.trim_end_matches('/').to_owned(),
            scope: global.scope,
            reference_root: global.reference_root,
        }
    }

    /// Another client-credentials scope (a deployment whose Graph answers to another resource).
    #[must_use]
    pub fn with_scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = scope.into();
        self
    }

    /// `{login}/{tenant}/oauth2/v2.0/token` — tenant-specific, never `/common`.
    pub fn token_url(&self, tenant: &str) -> String {
        format!("{}/{tenant}/oauth2/v2.0/token", self.login_url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn national_clouds_come_from_one_table() {
        let dod = Endpoints::for_cloud(Cloud::UsGovDod);
        assert_eq!(dod.graph_base_url, "https://dod-graph.microsoft.us/v1.0");
        assert_eq!(dod.scope, "https://dod-graph.microsoft.us/.default");
        assert_eq!(
            dod.token_url("t"),
            "https://login.microsoftonline.us/t/oauth2/v2.0/token"
        );
        let cn = Endpoints::for_cloud(Cloud::China);
        assert_eq!(cn.login_url, "https://login.chinacloudapi.cn");
        assert_eq!(
            Endpoints::for_cloud(Cloud::Global).scope,
            "https://graph.microsoft.com/.default"
        );
    }

    #[test]
    fn custom_trims_slashes() {
        let e = Endpoints::custom("http://127.0.0.1:1/", "http://127.0.0.1:1/v1.0/");
        assert_eq!(e.token_url("x"), "http://127.0.0.1:1/x/oauth2/v2.0/token");
        assert_eq!(e.graph_base_url, "http://127.0.0.1:1/v1.0");
    }
}
