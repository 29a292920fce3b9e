//! [`EntraTarget`]: the engine's `Target` over `msgraph`. Reads map one to one. A group is
//! created by upsert on its `uniqueName` (the engine's create key), so that a create retried
//! after a lost answer, a crash or a restart finds the group the first one made; a user's
//! create resolves an unknown outcome by looking its UPN up before trying again. Membership
//! adds go in `members@odata.bind` chunks of 20, falling back to a `$batch` of `$ref` adds when
//! some members are already there (Graph refuses the whole chunk then).

use std::collections::HashSet;

use engine::{
    Anchor, CreateKey, MemberChange, Properties, RemoteFailure, RemoteId, RemoteKind, RemoteObject,
    RemotePage, Target, TargetError, TargetRead,
};
use msgraph::{
    BatchRequest, GraphClient, GraphError, GroupUpsert, MAX_BATCH, MAX_BIND, Method, Object, Page,
};
use serde_json::json;

use crate::anchors;
use crate::classify::{classify, failure, is_already_member, is_conflict, is_not_member};
use crate::domains::VerifiedDomains;

/// Creates tried at most this often when each attempt's outcome stays unknown.
const CREATE_ATTEMPTS: u32 = 4;

/// The Entra ID target. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct EntraTarget {
    graph: GraphClient,
    domains: VerifiedDomains,
}

pub(crate) fn to_remote(mut o: Object) -> Result<RemoteObject, TargetError> {
    match o.remove("id") {
        Some(serde_json::Value::String(id)) => Ok(RemoteObject {
            id: RemoteId::new(id),
            properties: o,
        }),
        _ => Err(TargetError::Transient {
            retry_after: None,
            failure: RemoteFailure {
                code: "unexpectedAnswer".into(),
                message: "an object without an id".into(),
                request_id: None,
                date: None,
            },
        }),
    }
}

fn to_page(page: Page) -> Result<RemotePage, TargetError> {
    Ok(RemotePage {
        objects: page
            .items
            .into_iter()
            .map(to_remote)
            .collect::<Result<_, _>>()?,
        next: page.next_link,
    })
}

impl EntraTarget {
    pub fn new(graph: GraphClient) -> Self {
        Self {
            graph,
            domains: VerifiedDomains::default(),
        }
    }

    pub fn graph(&self) -> &GraphClient {
        &self.graph
    }

    /// The tenant's verified domains (cached after the first call).
    pub async fn verified_domains(&self) -> Result<Vec<String>, TargetError> {
        self.domains.get(&self.graph).await.map(<[String]>::to_vec)
    }

    pub(crate) async fn check_new(
        &self,
        kind: RemoteKind,
        properties: &Properties,
    ) -> Result<(), TargetError> {
        if kind == RemoteKind::User
            && let Some(upn) = properties.get("userPrincipalName").and_then(|v| v.as_str())
        {
            self.domains.check_upn(&self.graph, upn).await?;
        }
        Ok(())
    }

    /// The object a create with unknown outcome may have made, if Graph shows it.
    pub(crate) async fn resolve_anchor(
        &self,
        kind: RemoteKind,
        anchor: Option<&Anchor>,
    ) -> Result<Option<RemoteObject>, TargetError> {
        let Some(anchor) = anchor else {
            return Ok(None);
        };
        let mut found = self.find(kind, anchor, &[]).await?;
        Ok((found.len() == 1).then(|| found.remove(0)))
    }

    /// Creates a group, or answers the one an earlier call with the same key made: an upsert
    /// on `uniqueName`, which Graph applies at most once per key however often it is sent.
    async fn upsert_group(
        &self,
        properties: &Properties,
        key: &CreateKey,
    ) -> Result<RemoteObject, TargetError> {
        match self.graph.upsert_group(key.as_str(), properties).await {
            Ok(GroupUpsert::Created(group)) => to_remote(group),
            Ok(GroupUpsert::Existing) => {
                match self.graph.group_by_unique_name(key.as_str(), &[]).await {
                    Ok(group) => to_remote(group),
                    // It exists (Graph just said so) but does not show yet: replication.
                    Err(GraphError::Api(api)) if api.status == 404 => Err(TargetError::Transient {
                        retry_after: None,
                        failure: RemoteFailure {
                            code: "notReplicatedYet".into(),
                            message: format!("group {key} exists but Graph does not show it yet"),
                            request_id: api.request_id.clone(),
                            date: api.date.clone(),
                        },
                    }),
                    Err(error) => Err(classify(&error)),
                }
            }
            Err(error) => Err(classify(&error)),
        }
    }

    async fn add_by_ref(
        &self,
        group: &RemoteId,
        members: &[RemoteId],
    ) -> Result<MemberChange, TargetError> {
        let mut change = MemberChange::default();
        for chunk in members.chunks(MAX_BATCH) {
            let url = format!("/groups/{group}/members/$ref");
            let requests = chunk
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    BatchRequest::new(i.to_string(), Method::POST, url.clone())
                        .body(json!({"@odata.id": self.graph.directory_object_ref(m.as_str())}))
                        .idempotent(true)
                })
                .collect();
            let results = self.graph.batch(requests).await.map_err(|e| classify(&e))?;
            for (i, m) in chunk.iter().enumerate() {
                match results.get(&i.to_string()) {
                    Some(Ok(_)) => change.changed.push(m.clone()),
                    Some(Err(e)) if is_already_member(e) => change.unchanged.push(m.clone()),
                    Some(Err(e)) => return Err(classify(e)),
                    None => {
                        return Err(TargetError::Transient {
                            retry_after: None,
                            failure: RemoteFailure {
                                code: "unexpectedAnswer".into(),
                                message: format!("no batch answer for member {m}"),
                                request_id: None,
                                date: None,
                            },
                        });
                    }
                }
            }
        }
        Ok(change)
    }
}

impl TargetRead for EntraTarget {
    async fn list(
        &self,
        kind: RemoteKind,
        select: &[&str],
        next: Option<&str>,
    ) -> Result<RemotePage, TargetError> {
        let page = self
            .graph
            .list_page(anchors::kind(kind), select, next)
            .await
            .map_err(|e| classify(&e))?;
        to_page(page)
    }

    async fn get(
        &self,
        kind: RemoteKind,
        id: &RemoteId,
        select: &[&str],
    ) -> Result<RemoteObject, TargetError> {
        let o = self
            .graph
            .get(anchors::kind(kind), id.as_str(), select)
            .await
            .map_err(|e| classify(&e))?;
        to_remote(o)
    }

    async fn find(
        &self,
        kind: RemoteKind,
        anchor: &Anchor,
        select: &[&str],
    ) -> Result<Vec<RemoteObject>, TargetError> {
        let (property, value) = anchors::filter(anchor);
        let found = self
            .graph
            .find_by(anchors::kind(kind), property, value, select)
            .await
            .map_err(|e| classify(&e))?;
        found.into_iter().map(to_remote).collect()
    }

    async fn list_members(
        &self,
        group: &RemoteId,
        next: Option<&str>,
    ) -> Result<RemotePage, TargetError> {
        let page = self
            .graph
            .list_members_page(group.as_str(), next)
            .await
            .map_err(|e| classify(&e))?;
        to_page(page)
    }
}

impl Target for EntraTarget {
    async fn create(
        &self,
        kind: RemoteKind,
        properties: &Properties,
        key: &CreateKey,
    ) -> Result<RemoteObject, TargetError> {
        self.check_new(kind, properties).await?;
        if kind == RemoteKind::Group {
            return self.upsert_group(properties, key).await;
        }
        let anchor = anchors::of_new(kind, properties);
        let mut uncertain = false;
        for _ in 0..CREATE_ATTEMPTS {
            match self.graph.create(anchors::kind(kind), properties).await {
                Ok(o) => return to_remote(o),
                Err(e) if e.outcome_unknown() => {
                    tracing::warn!(error = %e, ?anchor, "create outcome unknown: looking it up");
                    uncertain = true;
                    if let Some(found) = self.resolve_anchor(kind, anchor.as_ref()).await? {
                        return Ok(found);
                    }
                }
                // Our own earlier attempt made it: the conflict is with ourselves.
                Err(GraphError::Api(api)) if uncertain && is_conflict(&api) => {
                    if let Some(found) = self.resolve_anchor(kind, anchor.as_ref()).await? {
                        return Ok(found);
                    }
                    return Err(TargetError::AlreadyExists {
                        failure: failure(&api),
                    });
                }
                Err(e) => return Err(classify(&e)),
            }
        }
        Err(TargetError::Transient {
            retry_after: None,
            failure: RemoteFailure {
                code: "outcomeUnknown".into(),
                message: format!(
                    "create of {kind} {anchor:?}: outcome still unknown after {CREATE_ATTEMPTS} attempts"
                ),
                request_id: None,
                date: None,
            },
        })
    }

    async fn update(
        &self,
        kind: RemoteKind,
        id: &RemoteId,
        properties: &Properties,
    ) -> Result<(), TargetError> {
        if kind == RemoteKind::User && properties.contains_key("userPrincipalName") {
            self.check_new(kind, properties).await?;
        }
        self.graph
            .update(anchors::kind(kind), id.as_str(), properties)
            .await
            .map_err(|e| classify(&e))
    }

    async fn delete(&self, kind: RemoteKind, id: &RemoteId) -> Result<(), TargetError> {
        self.graph
            .delete(anchors::kind(kind), id.as_str())
            .await
            .map_err(|e| classify(&e))
    }

    async fn add_members(
        &self,
        group: &RemoteId,
        members: &[RemoteId],
    ) -> Result<MemberChange, TargetError> {
        // The same id twice in one bind is a 400 of its own: send each once.
        let mut seen = HashSet::new();
        let unique: Vec<RemoteId> = members
            .iter()
            .filter(|m| seen.insert(*m))
            .cloned()
            .collect();
        let mut change = MemberChange::default();
        for chunk in unique.chunks(MAX_BIND) {
            let ids: Vec<&str> = chunk.iter().map(RemoteId::as_str).collect();
            match self.graph.bind_members(group.as_str(), &ids).await {
                Ok(()) => change.changed.extend(chunk.iter().cloned()),
                // All or nothing: find out member by member which were already there.
                Err(e) if is_already_member(&e) => {
                    let part = self.add_by_ref(group, chunk).await?;
                    change.changed.extend(part.changed);
                    change.unchanged.extend(part.unchanged);
                }
                Err(e) => return Err(classify(&e)),
            }
        }
        Ok(change)
    }

    async fn remove_member(
        &self,
        group: &RemoteId,
        member: &RemoteId,
    ) -> Result<MemberChange, TargetError> {
        match self
            .graph
            .remove_member(group.as_str(), member.as_str())
            .await
        {
            Ok(()) => Ok(MemberChange {
                changed: vec![member.clone()],
                unchanged: Vec::new(),
            }),
            Err(e) if is_not_member(&e) => Ok(MemberChange {
                changed: Vec::new(),
                unchanged: vec![member.clone()],
            }),
            Err(e) => Err(classify(&e)),
        }
    }
}
