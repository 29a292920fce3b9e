//! An in-memory remote directory at least as harsh as Entra where the engine can tell:
//! unique `userPrincipalName` (regardless of case); `mailNickname` unique only among Microsoft
//! 365 groups (two security groups may share one, as in Graph); idempotent creates by key (a
//! group's `uniqueName`); paged listings; idempotent membership changes; and, on demand,
//! errors before a call, writes that are applied and then answered with an error (the answer
//! lost), and read-after-write lag (a new object stays invisible for a number of reads).

mod read;
mod write;

use std::{
    collections::{BTreeMap, BTreeSet, VecDeque},
    sync::{Mutex, MutexGuard},
};

use engine::{
    Anchor, CreateKey, MemberChange, Properties, RemoteFailure, RemoteId, RemoteKind, RemoteObject,
    RemotePage, Target, TargetError, TargetRead,
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

/// One write the fake applied, as a test compares them.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    Create {
        kind: RemoteKind,
        id: RemoteId,
        properties: Properties,
    },
    Update {
        kind: RemoteKind,
        id: RemoteId,
        properties: Properties,
    },
    Delete {
        kind: RemoteKind,
        id: RemoteId,
    },
    AddMembers {
        group: RemoteId,
        members: Vec<RemoteId>,
    },
    RemoveMember {
        group: RemoteId,
        member: RemoteId,
    },
}

struct Stored {
    kind: RemoteKind,
    properties: Properties,
    /// Reads left before the object shows (read-after-write lag).
    hidden_for: u32,
    /// Left out of listings (as an eventually consistent listing can miss an object that a
    /// GET by id finds).
    unlisted: bool,
}

#[derive(Default)]
struct State {
    objects: BTreeMap<RemoteId, Stored>,
    members: BTreeMap<RemoteId, BTreeSet<RemoteId>>,
    before: VecDeque<TargetError>,
    after_write: VecDeque<TargetError>,
    lag: u32,
    counts: OperationCounts,
    writes: Vec<Write>,
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
    RemoteFailure::local(code, message)
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

fn is_unified(properties: &Properties) -> bool {
    properties
        .get("groupTypes")
        .and_then(Value::as_array)
        .is_some_and(|types| types.iter().any(|t| t.as_str() == Some("Unified")))
}

fn not_found(id: &RemoteId) -> TargetError {
    TargetError::NotFound {
        failure: failure(
            "Request_ResourceNotFound",
            format!(
                "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
            ),
        ),
    }
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

    /// The next call fails with `error`, doing nothing (queued errors are used in order).
    pub fn fail_next(&self, error: TargetError) {
        self.state().before.push_back(error);
    }

    /// The next write is applied, and then answered with `error`: the answer was lost.
    pub fn fail_after_next_write(&self, error: TargetError) {
        self.state().after_write.push_back(error);
    }

    /// Objects created from now on stay invisible to the next `reads` read calls (lists, gets,
    /// finds, member lists), and writes that name them answer as Graph does before it has
    /// replicated them (not found; a transient error for member references).
    pub fn set_read_lag(&self, reads: u32) {
        self.state().lag = reads;
    }

    pub fn counts(&self) -> OperationCounts {
        self.state().counts
    }

    /// Every write asked for so far (applied or refused), in order.
    pub fn writes(&self) -> Vec<Write> {
        self.state().writes.clone()
    }

    /// Forgets the writes recorded so far.
    pub fn clear_writes(&self) {
        self.state().writes.clear();
    }

    /// Every remote object of a kind, as a test would inspect it (lag ignored).
    pub fn objects(&self, kind: RemoteKind) -> Vec<RemoteObject> {
        self.state()
            .objects
            .iter()
            .filter(|(_, stored)| stored.kind == kind)
            .map(|(id, stored)| RemoteObject {
                id: id.clone(),
                properties: stored.properties.clone(),
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

    /// Puts an object in the remote directory directly (made by hand in Entra).
    pub fn insert(&self, kind: RemoteKind, properties: Properties) -> RemoteId {
        let mut state = self.state();
        let id = RemoteId::new(uuid::Uuid::new_v4().to_string());
        let mut stored = properties;
        stored.insert("id".into(), Value::from(id.as_str()));
        state.objects.insert(
            id.clone(),
            Stored {
                kind,
                properties: stored,
                hidden_for: 0,
                unlisted: false,
            },
        );
        id
    }

    /// Listings leave this object out from now on (a GET by id still finds it).
    pub fn hide_from_listings(&self, id: &RemoteId) {
        if let Some(stored) = self.state().objects.get_mut(id) {
            stored.unlisted = true;
        }
    }

    /// Changes an object directly (a hand edit in Entra).
    pub fn edit(&self, id: &RemoteId, properties: Properties) {
        if let Some(stored) = self.state().objects.get_mut(id) {
            stored.properties.extend(properties);
        }
    }

    /// Deletes an object directly (by hand in Entra).
    pub fn remove(&self, id: &RemoteId) {
        let mut state = self.state();
        state.objects.remove(id);
        state.members.remove(id);
        for members in state.members.values_mut() {
            members.remove(id);
        }
    }

    /// Adds a member directly (by hand in Entra).
    pub fn add_member_by_hand(&self, group: &RemoteId, member: &RemoteId) {
        self.state()
            .members
            .entry(group.clone())
            .or_default()
            .insert(member.clone());
    }

    fn before(state: &mut State) -> Result<(), TargetError> {
        match state.before.pop_front() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    /// After a write was applied: the answer, or the error that lost it.
    fn answer<T>(state: &mut State, value: T) -> Result<T, TargetError> {
        match state.after_write.pop_front() {
            Some(error) => Err(error),
            None => Ok(value),
        }
    }

    /// After one read call was answered: lagging objects come one read closer to showing.
    fn read(state: &mut State) {
        state.counts.reads += 1;
        for stored in state.objects.values_mut() {
            stored.hidden_for = stored.hidden_for.saturating_sub(1);
        }
    }

    fn visible<'a>(
        state: &'a State,
        kind: RemoteKind,
        id: &RemoteId,
    ) -> Result<&'a Stored, TargetError> {
        match state.objects.get(id) {
            Some(stored) if stored.kind == kind && stored.hidden_for == 0 => Ok(stored),
            _ => Err(not_found(id)),
        }
    }

    /// The uniqueness rules of the remote: UPN for users, mailNickname for Microsoft 365
    /// groups, uniqueName for groups.
    fn conflict(
        state: &State,
        kind: RemoteKind,
        properties: &Properties,
        except: Option<&RemoteId>,
    ) -> Option<TargetError> {
        let unique: &[&str] = match kind {
            RemoteKind::User => &["userPrincipalName"],
            RemoteKind::Group if is_unified(properties) => &["mailNickname", "uniqueName"],
            RemoteKind::Group => &["uniqueName"],
        };
        for name in unique {
            let Some(wanted) = text(properties, name) else {
                continue;
            };
            let taken = state.objects.iter().any(|(id, stored)| {
                stored.kind == kind
                    && Some(id) != except
                    && (*name != "mailNickname" || is_unified(&stored.properties))
                    && same_text(&stored.properties, name, &wanted)
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
            .filter(|(name, _)| select.contains(&name.as_str()) || name.as_str() == "id")
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
