//! Delta rounds (`/users/delta`, `/groups/delta`, graph-contract.md §5): follow nextLinks to
//! the deltaLink, which the caller persists and passes to the next round. When Graph says the
//! link has expired (410 or `syncStateNotFound`/`resyncRequired`), the round restarts from
//! scratch and says so, so the caller treats it as a full resync.

use reqwest::Method;

use crate::client::{Call, GraphClient};
use crate::error::GraphError;
use crate::objects::Kind;
use crate::odata::{self, Object, Page, Trail};

/// What one round saw.
#[derive(Debug, Clone, PartialEq)]
pub struct DeltaRound {
    /// Changed objects; deleted ones carry `@removed`.
    pub objects: Vec<Object>,
    /// Persist it; pass it to the next round.
    pub delta_link: String,
    /// True when this round enumerated everything: no link was given, or it had expired
    /// (then objects gone meanwhile do not appear as `@removed`; compare with what you hold).
    pub full_resync: bool,
}

fn expired(e: &GraphError) -> bool {
    e.api().is_some_and(|a| {
        a.status == 410
            || a.code.eq_ignore_ascii_case("syncStateNotFound")
            || a.code.eq_ignore_ascii_case("resyncRequired")
    })
}

fn route(kind: Kind) -> &'static str {
    match kind {
        Kind::User => "/users/delta",
        Kind::Group => "/groups/delta",
    }
}

impl GraphClient {
    /// One delta round. `delta_link` = `None` starts a full enumeration (with `select`,
    /// which the links then carry).
    pub async fn delta_round(
        &self,
        kind: Kind,
        select: &[&str],
        delta_link: Option<&str>,
    ) -> Result<DeltaRound, GraphError> {
        match self.follow_round(kind, select, delta_link).await {
            Err(e) if delta_link.is_some() && expired(&e) => {
                tracing::info!(error = %e, "deltaLink expired: full resync");
                let mut round = self.follow_round(kind, select, None).await?;
                round.full_resync = true;
                Ok(round)
            }
            other => other,
        }
    }

    async fn follow_round(
        &self,
        kind: Kind,
        select: &[&str],
        delta_link: Option<&str>,
    ) -> Result<DeltaRound, GraphError> {
        let mut call = match delta_link {
            Some(link) => Call::new(Method::GET, link, route(kind)),
            None => {
                let mut c = Call::new(
                    Method::GET,
                    format!("/{}/delta", kind.segment()),
                    route(kind),
                );
                if let Some(s) = odata::select(select) {
                    c = c.query("$select", s);
                }
                c
            }
        };
        let mut objects = Vec::new();
        let mut trail = Trail::default();
        loop {
            let body = self.execute(&call).await?.body;
            let delta = body["@odata.deltaLink"].as_str().map(str::to_owned);
            let mut page = Page::from_body(body)?;
            objects.append(&mut page.items);
            match (page.next_link, delta) {
                (Some(next), _) => {
                    trail.step(&next)?;
                    call = Call::new(Method::GET, next, route(kind));
                }
                (None, Some(link)) => {
                    return Ok(DeltaRound {
                        objects,
                        delta_link: link,
                        full_resync: delta_link.is_none(),
                    });
                }
                (None, None) => {
                    return Err(odata::decode(
                        "a delta page has neither nextLink nor deltaLink",
                    ));
                }
            }
        }
    }
}
