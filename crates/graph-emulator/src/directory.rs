//! The tenant's directory: users, groups, memberships and the change log that delta reads.
//!
//! Objects are JSON property bags (what Graph returns is what is stored, so `$select`, PATCH
//! merges and state dumps need no mapping layer). Every change bumps a global version; delta
//! tokens are versions, which makes "what changed since" a range scan.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Instant;

use serde_json::{Map, Value};

use crate::odata::filter::{Filter, Lit};
use uuid::Uuid;

/// Users or groups: the kind decides messages, default properties and routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    User,
    Group,
}

impl Kind {
    /// The resource name Graph uses in messages ("... of resource 'User'").
    pub fn resource(self) -> &'static str {
        match self {
            Kind::User => "User",
            Kind::Group => "Group",
        }
    }

    pub fn odata_type(self) -> &'static str {
        match self {
            Kind::User => "#microsoft.graph.user",
            Kind::Group => "#microsoft.graph.group",
        }
    }

    pub fn segment(self) -> &'static str {
        match self {
            Kind::User => "users",
            Kind::Group => "groups",
        }
    }

    /// Its entity type in Graph's schema.
    pub fn entity(self) -> &'static str {
        match self {
            Kind::User => "user",
            Kind::Group => "group",
        }
    }
}

#[derive(Debug, Clone)]
pub struct DirObject {
    pub id: Uuid,
    pub kind: Kind,
    /// Insertion order: lists and paging follow it, as Graph pages in a stable order.
    pub seq: u64,
    pub props: Map<String, Value>,
    /// Soft-deleted (restorable in Entra): hidden from reads, reported by delta as removed.
    pub deleted: bool,
    /// Real time of creation, for the replication-lag and read-lag knobs.
    pub created_at: Instant,
    /// Real time of the soft delete, for the read-lag knob.
    pub deleted_at: Option<Instant>,
    pub created_version: u64,
    /// Version of the last change of any kind (create, property, delete, membership).
    pub changed_version: u64,
    /// Version of the last change per property, so delta with `$select` skips objects whose
    /// changes are all outside the selection (as Graph does).
    pub prop_versions: HashMap<String, u64>,
    /// Group members (users or groups), ordered by id for cursor paging.
    pub members: BTreeSet<Uuid>,
    pub members_version: u64,
}

/// One membership change, kept for `members@delta`.
#[derive(Debug, Clone, Copy)]
pub struct MemberChange {
    pub version: u64,
    pub group: Uuid,
    pub member: Uuid,
    pub added: bool,
}

#[derive(Debug, Default)]
pub struct Directory {
    objects: HashMap<Uuid, DirObject>,
    /// (kind, seq) → id, the list order.
    order: BTreeMap<(u8, u64), Uuid>,
    upn_index: HashMap<String, Uuid>,
    /// mailNickname uniqueness is enforced among Microsoft 365 groups only.
    unified_nickname_index: HashMap<String, Uuid>,
    /// Groups by lower-cased uniqueName (compared case-insensitively like the other keys).
    unique_name_index: HashMap<String, Uuid>,
    pub member_log: Vec<MemberChange>,
    /// Reverse membership index (member → groups), so deleting an object is not a full scan.
    member_of: HashMap<Uuid, BTreeSet<Uuid>>,
    version: u64,
    next_seq: u64,
    /// Live (not deleted) users, for the throttle's tenant size class.
    live_users: usize,
    /// When an object of each kind was last deleted, so that reads know whether a lagging
    /// view may still show deleted objects (and cannot use the live-only key indexes).
    last_deleted_at: HashMap<Kind, Instant>,
}

fn kind_key(kind: Kind) -> u8 {
    match kind {
        Kind::User => 0,
        Kind::Group => 1,
    }
}

pub fn is_unified(props: &Map<String, Value>) -> bool {
    props
        .get("groupTypes")
        .and_then(Value::as_array)
        .is_some_and(|t| t.iter().any(|v| v.as_str() == Some("Unified")))
}

impl Directory {
    pub fn live_users(&self) -> usize {
        self.live_users
    }

    pub fn version(&self) -> u64 {
        self.version
    }

    fn bump(&mut self) -> u64 {
        self.version += 1;
        self.version
    }

    /// When an object of this kind was last deleted.
    pub fn last_deleted_at(&self, kind: Kind) -> Option<Instant> {
        self.last_deleted_at.get(&kind).copied()
    }

    pub fn get(&self, id: &Uuid) -> Option<&DirObject> {
        self.objects.get(id).filter(|o| !o.deleted)
    }

    /// Live or soft-deleted object (delta needs both).
    pub fn get_any(&self, id: &Uuid) -> Option<&DirObject> {
        self.objects.get(id)
    }

    pub fn get_kind(&self, kind: Kind, id: &Uuid) -> Option<&DirObject> {
        self.get(id).filter(|o| o.kind == kind)
    }

    /// Looks a user up by id or (case-insensitively) by userPrincipalName.
    pub fn find_user(&self, key: &str) -> Option<&DirObject> {
        if let Ok(id) = Uuid::parse_str(key) {
            return self.get_kind(Kind::User, &id);
        }
        let id = self.upn_index.get(&key.to_lowercase())?;
        self.get_kind(Kind::User, id)
    }

    /// The object a `$filter` names by key (`id`, `userPrincipalName`, `uniqueName`; `eq` or `in`), if the
    /// filter is only that: lookups then cost O(1) instead of a scan, as in Graph's indexes.
    pub fn keyed_candidates(&self, kind: Kind, filter: &Filter) -> Option<Vec<&DirObject>> {
        let by_key = |prop: &str, lit: &Lit| -> Option<Option<&DirObject>> {
            let Lit::Str(v) = lit else { return None };
            match prop {
                "id" => Some(
                    Uuid::parse_str(v)
                        .ok()
                        .and_then(|id| self.get_kind(kind, &id)),
                ),
                "userPrincipalName" if kind == Kind::User => Some(
                    self.upn_index
                        .get(&v.to_lowercase())
                        .and_then(|id| self.get_kind(kind, id)),
                ),
                "uniqueName" if kind == Kind::Group => Some(self.find_by_unique_name(v)),
                _ => None,
            }
        };
        let mut found: Vec<&DirObject> = match filter {
            Filter::Eq(p, lit) => by_key(p, lit)?.into_iter().collect(),
            Filter::In(p, lits) => {
                let mut v = Vec::new();
                for l in lits {
                    v.extend(by_key(p, l)?);
                }
                v
            }
            _ => return None,
        };
        found.sort_by_key(|o| o.seq);
        found.dedup_by_key(|o| o.seq);
        Some(found)
    }

    pub fn upn_taken(&self, upn: &str, except: Option<Uuid>) -> bool {
        self.upn_index
            .get(&upn.to_lowercase())
            .is_some_and(|id| Some(*id) != except)
    }

    pub fn unified_nickname_taken(&self, nick: &str, except: Option<Uuid>) -> bool {
        self.unified_nickname_index
            .get(&nick.to_lowercase())
            .is_some_and(|id| Some(*id) != except)
    }

    pub fn find_by_unique_name(&self, name: &str) -> Option<&DirObject> {
        let id = self.unique_name_index.get(&name.to_lowercase())?;
        self.get_kind(Kind::Group, id)
    }

    pub fn unique_name_taken(&self, name: &str, except: Option<Uuid>) -> bool {
        self.unique_name_index
            .get(&name.to_lowercase())
            .is_some_and(|id| Some(*id) != except)
    }

    /// Live objects of a kind, in list order, starting after `after_seq`.
    pub fn iter_after(&self, kind: Kind, after_seq: u64) -> impl Iterator<Item = &DirObject> {
        let k = kind_key(kind);
        self.order
            .range((k, after_seq.saturating_add(1))..=(k, u64::MAX))
            .filter_map(|(_, id)| self.objects.get(id))
    }

    fn index(&mut self, id: Uuid, props: &Map<String, Value>, kind: Kind) {
        match kind {
            Kind::User => {
                if let Some(upn) = props.get("userPrincipalName").and_then(Value::as_str) {
                    self.upn_index.insert(upn.to_lowercase(), id);
                }
            }
            Kind::Group => {
                if is_unified(props)
                    && let Some(n) = props.get("mailNickname").and_then(Value::as_str)
                {
                    self.unified_nickname_index.insert(n.to_lowercase(), id);
                }
                if let Some(n) = props.get("uniqueName").and_then(Value::as_str) {
                    self.unique_name_index.insert(n.to_lowercase(), id);
                }
            }
        }
    }

    /// Drops the object's current keys from the indexes (looked up by its properties, so an
    /// update costs O(1), not a scan of every index).
    fn unindex(&mut self, id: Uuid) {
        let Some(o) = self.objects.get(&id) else {
            return;
        };
        let key = |p: &str| o.props.get(p).and_then(Value::as_str).map(str::to_owned);
        let (upn, nick, unique) = (
            key("userPrincipalName"),
            key("mailNickname"),
            key("uniqueName"),
        );
        let forget = |index: &mut HashMap<String, Uuid>, k: Option<String>| {
            if let Some(k) = k
                && index.get(&k) == Some(&id)
            {
                index.remove(&k);
            }
        };
        forget(&mut self.upn_index, upn.map(|u| u.to_lowercase()));
        forget(
            &mut self.unified_nickname_index,
            nick.map(|n| n.to_lowercase()),
        );
        forget(
            &mut self.unique_name_index,
            unique.map(|u| u.to_lowercase()),
        );
    }

    /// Inserts a new object (validation is the caller's job). `props` must not carry `id`.
    pub fn insert(&mut self, kind: Kind, id: Uuid, mut props: Map<String, Value>) -> &DirObject {
        let version = self.bump();
        self.next_seq += 1;
        props.insert("id".into(), Value::String(id.to_string()));
        let prop_versions = props.keys().map(|k| (k.clone(), version)).collect();
        self.index(id, &props, kind);
        if kind == Kind::User {
            self.live_users += 1;
        }
        self.order.insert((kind_key(kind), self.next_seq), id);
        let obj = DirObject {
            id,
            kind,
            seq: self.next_seq,
            props,
            deleted: false,
            created_at: Instant::now(),
            deleted_at: None,
            created_version: version,
            changed_version: version,
            prop_versions,
            members: BTreeSet::new(),
            members_version: 0,
        };
        self.objects.entry(id).insert_entry(obj).into_mut()
    }

    /// Treats an object as fully replicated (seeded fixtures are not subject to the lag knob).
    pub fn mark_replicated(&mut self, id: Uuid) {
        if let Some(o) = self.objects.get_mut(&id) {
            let long_ago = Instant::now().checked_sub(std::time::Duration::from_secs(86_400));
            o.created_at = long_ago.unwrap_or(o.created_at);
        }
    }

    /// Merges `patch` into the object's properties (null clears a property).
    pub fn update(&mut self, id: Uuid, patch: Map<String, Value>) {
        if patch.is_empty() {
            return;
        }
        let version = self.bump();
        self.unindex(id);
        let Some(obj) = self.objects.get_mut(&id) else {
            return;
        };
        for (k, v) in patch {
            obj.prop_versions.insert(k.clone(), version);
            obj.props.insert(k, v);
        }
        obj.changed_version = version;
        let (props, kind) = (obj.props.clone(), obj.kind);
        self.index(id, &props, kind);
    }

    /// Soft-deletes an object; a deleted user or group also leaves every group it was in.
    pub fn delete(&mut self, id: Uuid) {
        let groups: Vec<Uuid> = self
            .member_of
            .get(&id)
            .map(|g| g.iter().copied().collect())
            .unwrap_or_default();
        for g in groups {
            self.remove_member(g, id);
        }
        let version = self.bump();
        self.unindex(id);
        if let Some(obj) = self.objects.get_mut(&id).filter(|o| !o.deleted) {
            if obj.kind == Kind::User {
                self.live_users -= 1;
            }
            obj.deleted = true;
            let now = Instant::now();
            obj.deleted_at = Some(now);
            self.last_deleted_at.insert(obj.kind, now);
            obj.changed_version = version;
            obj.props.insert(
                "deletedDateTime".into(),
                Value::String(crate::clock::utc_timestamp()),
            );
        }
    }

    pub fn add_member(&mut self, group: Uuid, member: Uuid) {
        let version = self.bump();
        if let Some(g) = self.objects.get_mut(&group)
            && g.members.insert(member)
        {
            g.members_version = version;
            g.changed_version = version;
            self.member_of.entry(member).or_default().insert(group);
            self.member_log.push(MemberChange {
                version,
                group,
                member,
                added: true,
            });
        }
    }

    pub fn remove_member(&mut self, group: Uuid, member: Uuid) {
        let version = self.bump();
        if let Some(g) = self.objects.get_mut(&group)
            && g.members.remove(&member)
        {
            g.members_version = version;
            g.changed_version = version;
            if let Some(groups) = self.member_of.get_mut(&member) {
                groups.remove(&group);
            }
            self.member_log.push(MemberChange {
                version,
                group,
                member,
                added: false,
            });
        }
    }

    /// All objects, live and deleted, for the state dump.
    pub fn all(&self) -> impl Iterator<Item = &DirObject> {
        self.order.values().filter_map(|id| self.objects.get(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn props(v: Value) -> Map<String, Value> {
        v.as_object().cloned().expect("object")
    }

    #[test]
    fn upn_lookup_is_case_insensitive_and_freed_on_delete() {
        let mut d = Directory::default();
        let id = Uuid::new_v4();
        d.insert(
            Kind::User,
            id,
            props(json!({"userPrincipalName": "Ada@Contoso.com"})),
        );
        assert_eq!(d.find_user("ada@contoso.COM").map(|o| o.id), Some(id));
        assert!(d.upn_taken("ADA@contoso.com", None));
        d.delete(id);
        assert!(d.find_user("ada@contoso.com").is_none());
        assert!(!d.upn_taken("ada@contoso.com", None));
    }

    #[test]
    fn renaming_moves_the_index_and_key_lookups_use_it() {
        let mut d = Directory::default();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        d.insert(
            Kind::User,
            a,
            props(json!({"userPrincipalName": "a@x.com"})),
        );
        d.insert(
            Kind::User,
            b,
            props(json!({"userPrincipalName": "b@x.com"})),
        );
        d.update(a, props(json!({"userPrincipalName": "c@x.com"})));
        assert!(!d.upn_taken("a@x.com", None));
        assert!(d.upn_taken("C@x.com", None));
        assert!(d.upn_taken("b@x.com", None), "other users keep their keys");
        let f = crate::odata::filter::parse("userPrincipalName eq 'C@X.COM'").expect("filter");
        let hits = d.keyed_candidates(Kind::User, &f).expect("keyed");
        assert_eq!(hits.iter().map(|o| o.id).collect::<Vec<_>>(), vec![a]);
        let f = crate::odata::filter::parse(&format!("id in ('{b}','{a}','{b}')")).expect("filter");
        let hits = d.keyed_candidates(Kind::User, &f).expect("keyed");
        assert_eq!(
            hits.iter().map(|o| o.id).collect::<Vec<_>>(),
            vec![a, b],
            "list order, no duplicates"
        );
        let f = crate::odata::filter::parse("mail eq 'a@x.com'").expect("filter");
        assert!(
            d.keyed_candidates(Kind::User, &f).is_none(),
            "not a key: scan"
        );
    }

    #[test]
    fn deleting_a_user_removes_its_memberships_and_logs_them() {
        let mut d = Directory::default();
        let (u, g) = (Uuid::new_v4(), Uuid::new_v4());
        d.insert(Kind::User, u, Map::new());
        d.insert(Kind::Group, g, Map::new());
        d.add_member(g, u);
        d.delete(u);
        assert!(d.get(&g).expect("group").members.is_empty());
        assert_eq!(d.member_log.len(), 2);
        assert!(!d.member_log[1].added);
    }
}
