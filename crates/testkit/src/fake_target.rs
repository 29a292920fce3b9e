//! An in-memory remote directory that behaves as `entra` does where the engine can tell:
//! unique `userPrincipalName` (regardless of case) and mailNickname, display names that may
//! repeat, paged listings, idempotent membership changes, and errors injected on demand.

use std::{
    collections::{BTreeMap, BTreeSet, VecDeque},
    sync::{Mutex, MutexGuard},
};

use engine::{
    Anchor, MemberChange, Properties, RemoteFailure, RemoteId, RemoteKind, RemoteObject,
    RemotePage, Target, TargetError,
};
use serde_json::Value;

/// How many calls of each kind the fake has answered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OperationCounts {
    pub reads: u64,
    pub creates: u64,
    pub updates: u64,
    pub deletes: u64,
    pub member_changes: u64,
}

impl OperationCounts {
    /// Calls that change the remote directory.
    pub fn writes(&self) -> u64 {
        self.creates + self.updates + self.deletes + self.member_changes
    }
}

#[derive(Default)]
struct State {
    objects: BTreeMap<RemoteId, (RemoteKind, Properties)>,
    members: BTreeMap<RemoteId, BTreeSet<RemoteId>>,
    injected: VecDeque<TargetError>,
    counts: OperationCounts,
}

/// See the module documentation.
pub struct FakeTarget {
    state: Mutex<State>,
    page_size: usize,
}

impl Default for FakeTarget {
    fn default() -> Self {
        Self::new(100)
    }
}

fn failure(code: &str, message: impl Into<String>) -> RemoteFailure {
    RemoteFailure {
        code: code.to_owned(),
        message: message.into(),
        request_id: None,
        date: None,
    }
}

fn text(properties: &Properties, name: &str) -> Option<String> {
    properties
        .get(name)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn same_text(properties: &Properties, name: &str, wanted: &str) -> bool {
    text(properties, name).is_some_and(|value| value.eq_ignore_ascii_case(wanted))
}

impl FakeTarget {
    /// A fake whose listings return at most `page_size` objects per page.
    pub fn new(page_size: usize) -> Self {
        Self {
            state: Mutex::new(State::default()),
            page_size: page_size.max(1),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A test that panicked while holding the lock has failed already; carry on with the data.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The next call fails with `error` (queued errors are used in order).
    pub fn fail_next(&self, error: TargetError) {
        self.state().injected.push_back(error);
    }

    pub fn counts(&self) -> OperationCounts {
        self.state().counts
    }

    /// Every remote object of a kind, as a test would inspect it.
    pub fn objects(&self, kind: RemoteKind) -> Vec<RemoteObject> {
        self.state()
            .objects
            .iter()
            .filter(|(_, (k, _))| *k == kind)
            .map(|(id, (_, properties))| RemoteObject {
                id: id.clone(),
                properties: properties.clone(),
            })
            .collect()
    }

    /// A group's members, as a test would inspect them.
    pub fn members_of(&self, group: &RemoteId) -> Vec<RemoteId> {
        self.state()
            .members
            .get(group)
            .map(|members| members.iter().cloned().collect())
            .unwrap_or_default()
    }

    fn injected(state: &mut State) -> Result<(), TargetError> {
        match state.injected.pop_front() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    fn existing<'a>(
        state: &'a State,
        kind: RemoteKind,
        id: &RemoteId,
    ) -> Result<&'a Properties, TargetError> {
        match state.objects.get(id) {
            Some((k, properties)) if *k == kind => Ok(properties),
            _ => Err(TargetError::NotFound {
                failure: failure(
                    "Request_ResourceNotFound",
                    format!("Resource '{id}' does not exist"),
                ),
            }),
        }
    }

    /// The uniqueness rules of the remote: UPN for users, mailNickname for users and groups.
    fn conflict(
        state: &State,
        kind: RemoteKind,
        properties: &Properties,
        except: Option<&RemoteId>,
    ) -> Option<TargetError> {
        let unique: &[&str] = match kind {
            RemoteKind::User => &["userPrincipalName", "mailNickname"],
            RemoteKind::Group => &["mailNickname"],
        };
        for name in unique {
            let Some(wanted) = text(properties, name) else {
                continue;
            };
            let taken = state.objects.iter().any(|(id, (k, other))| {
                *k == kind && Some(id) != except && same_text(other, name, &wanted)
            });
            if taken {
                return Some(TargetError::AlreadyExists {
                    failure: failure(
                        "ObjectConflict",
                        format!(
                            "Another object with the same value for property {name} already exists."
                        ),
                    ),
                });
            }
        }
        None
    }

    fn select(properties: &Properties, select: &[&str]) -> Properties {
        if select.is_empty() {
            return properties.clone();
        }
        properties
            .iter()
            .filter(|(name, _)| select.contains(&name.as_str()))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect()
    }

    fn page(&self, ids: Vec<RemoteObject>, next: Option<&str>) -> Result<RemotePage, TargetError> {
        let start: usize = match next {
            None => 0,
            Some(token) => token.parse().map_err(|_| TargetError::Rejected {
                failure: failure("BadRequest", format!("unknown page token {token:?}")),
            })?,
        };
        let end = (start + self.page_size).min(ids.len());
        Ok(RemotePage {
            objects: ids.get(start..end).map(<[_]>::to_vec).unwrap_or_default(),
            next: (end < ids.len()).then(|| end.to_string()),
        })
    }
}

impl Target for FakeTarget {
    async fn list(
        &self,
        kind: RemoteKind,
        select: &[&str],
        next: Option<&str>,
    ) -> Result<RemotePage, TargetError> {
        let objects = {
            let mut state = self.state();
            Self::injected(&mut state)?;
            state.counts.reads += 1;
            state
                .objects
                .iter()
                .filter(|(_, (k, _))| *k == kind)
                .map(|(id, (_, properties))| RemoteObject {
                    id: id.clone(),
                    properties: Self::select(properties, select),
                })
                .collect()
        };
        self.page(objects, next)
    }

    async fn get(
        &self,
        kind: RemoteKind,
        id: &RemoteId,
        select: &[&str],
    ) -> Result<RemoteObject, TargetError> {
        let mut state = self.state();
        Self::injected(&mut state)?;
        state.counts.reads += 1;
        let properties = Self::existing(&state, kind, id)?;
        Ok(RemoteObject {
            id: id.clone(),
            properties: Self::select(properties, select),
        })
    }

    async fn find(
        &self,
        kind: RemoteKind,
        anchor: &Anchor,
        select: &[&str],
    ) -> Result<Vec<RemoteObject>, TargetError> {
        let mut state = self.state();
        Self::injected(&mut state)?;
        state.counts.reads += 1;
        let (name, wanted) = match anchor {
            Anchor::UserPrincipalName(value) => ("userPrincipalName", value),
            Anchor::Mail(value) => ("mail", value),
            Anchor::MailNickname(value) => ("mailNickname", value),
            Anchor::DisplayName(value) => ("displayName", value),
        };
        Ok(state
            .objects
            .iter()
            .filter(|(_, (k, properties))| *k == kind && same_text(properties, name, wanted))
            .map(|(id, (_, properties))| RemoteObject {
                id: id.clone(),
                properties: Self::select(properties, select),
            })
            .collect())
    }

    async fn create(
        &self,
        kind: RemoteKind,
        properties: &Properties,
    ) -> Result<RemoteObject, TargetError> {
        let mut state = self.state();
        Self::injected(&mut state)?;
        if let Some(conflict) = Self::conflict(&state, kind, properties, None) {
            return Err(conflict);
        }
        state.counts.creates += 1;
        let id = RemoteId::new(uuid::Uuid::new_v4().to_string());
        let mut stored = properties.clone();
        // Write-only properties are not read back, as in Graph.
        stored.remove("passwordProfile");
        stored.insert("id".into(), Value::from(id.as_str()));
        state.objects.insert(id.clone(), (kind, stored.clone()));
        Ok(RemoteObject {
            id,
            properties: stored,
        })
    }

    async fn update(
        &self,
        kind: RemoteKind,
        id: &RemoteId,
        properties: &Properties,
    ) -> Result<(), TargetError> {
        let mut state = self.state();
        Self::injected(&mut state)?;
        Self::existing(&state, kind, id)?;
        if let Some(conflict) = Self::conflict(&state, kind, properties, Some(id)) {
            return Err(conflict);
        }
        state.counts.updates += 1;
        if let Some((_, stored)) = state.objects.get_mut(id) {
            for (name, value) in properties {
                if name != "passwordProfile" {
                    stored.insert(name.clone(), value.clone());
                }
            }
        }
        Ok(())
    }

    async fn delete(&self, kind: RemoteKind, id: &RemoteId) -> Result<(), TargetError> {
        let mut state = self.state();
        Self::injected(&mut state)?;
        Self::existing(&state, kind, id)?;
        state.counts.deletes += 1;
        state.objects.remove(id);
        state.members.remove(id);
        for members in state.members.values_mut() {
            members.remove(id);
        }
        Ok(())
    }

    async fn list_members(
        &self,
        group: &RemoteId,
        next: Option<&str>,
    ) -> Result<RemotePage, TargetError> {
        let members = {
            let mut state = self.state();
            Self::injected(&mut state)?;
            Self::existing(&state, RemoteKind::Group, group)?;
            state.counts.reads += 1;
            state
                .members
                .get(group)
                .map(|members| {
                    members
                        .iter()
                        .map(|id| RemoteObject {
                            id: id.clone(),
                            properties: Properties::new(),
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        self.page(members, next)
    }

    async fn add_members(
        &self,
        group: &RemoteId,
        members: &[RemoteId],
    ) -> Result<MemberChange, TargetError> {
        let mut state = self.state();
        Self::injected(&mut state)?;
        Self::existing(&state, RemoteKind::Group, group)?;
        for member in members {
            if !state.objects.contains_key(member) {
                return Err(TargetError::Rejected {
                    failure: failure(
                        "Request_BadRequest",
                        format!(
                            "Resource '{member}' does not exist or one of its queried reference-property objects are not present."
                        ),
                    ),
                });
            }
        }
        state.counts.member_changes += 1;
        let mut change = MemberChange::default();
        let set = state.members.entry(group.clone()).or_default();
        for member in members {
            if set.insert(member.clone()) {
                change.changed.push(member.clone());
            } else {
                change.unchanged.push(member.clone());
            }
        }
        Ok(change)
    }

    async fn remove_member(
        &self,
        group: &RemoteId,
        member: &RemoteId,
    ) -> Result<MemberChange, TargetError> {
        let mut state = self.state();
        Self::injected(&mut state)?;
        Self::existing(&state, RemoteKind::Group, group)?;
        state.counts.member_changes += 1;
        let removed = state
            .members
            .get_mut(group)
            .is_some_and(|members| members.remove(member));
        Ok(if removed {
            MemberChange {
                changed: vec![member.clone()],
                unchanged: Vec::new(),
            }
        } else {
            MemberChange {
                changed: Vec::new(),
                unchanged: vec![member.clone()],
            }
        })
    }
}
