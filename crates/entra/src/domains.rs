//! The tenant's verified domains, fetched once and cached: a UPN whose domain is not among
//! them is refused locally with a clear error, instead of a vague 400 from Graph.

use engine::{RemoteFailure, TargetError};
use msgraph::GraphClient;
use tokio::sync::OnceCell;

use crate::classify::classify;

#[derive(Debug, Default)]
pub struct VerifiedDomains {
    cell: OnceCell<Vec<String>>,
}

impl VerifiedDomains {
    /// The domains (lower-cased), fetched on first use. A failed fetch is not cached.
    pub async fn get(&self, graph: &GraphClient) -> Result<&[String], TargetError> {
        self.cell
            .get_or_try_init(|| async {
                let domains = graph.verified_domains().await.map_err(|e| classify(&e))?;
                Ok(domains
                    .into_iter()
                    .map(|d| d.to_ascii_lowercase())
                    .collect())
            })
            .await
            .map(Vec::as_slice)
    }

    /// Ok when `upn`'s domain is verified (case-insensitively).
    pub async fn check_upn(&self, graph: &GraphClient, upn: &str) -> Result<(), TargetError> {
        let Some((_, domain)) = upn.rsplit_once('@') else {
            return Err(rejected(format!(
                "userPrincipalName '{upn}' has no @domain part"
            )));
        };
        let domain = domain.to_ascii_lowercase();
        let verified = self.get(graph).await?;
        if verified.contains(&domain) {
            Ok(())
        } else {
            Err(rejected(format!(
                "the domain '{domain}' of userPrincipalName '{upn}' is not a verified domain of the tenant (verified: {})",
                verified.join(", ")
            )))
        }
    }
}

fn rejected(message: String) -> TargetError {
    TargetError::Rejected {
        failure: RemoteFailure {
            code: "DomainNotVerified".into(),
            message,
            request_id: None,
            date: None,
        },
    }
}
