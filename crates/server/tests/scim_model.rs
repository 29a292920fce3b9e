//! Model-based: any sequence of SCIM writes (creating, replacing, patching and deleting users
//! and groups, over a small universe of names so that they collide, sometimes differing only
//! in case, sometimes aimed at ids that are gone) answers what a simple in-test model of the
//! directory predicts, and leaves the directory (as `GET /Users` and `GET /Groups` show it,
//! and as the store holds it) equal to that model after every step.
//!
//! The model is written from the SCIM mapping the server documents (`scim_api/user.rs` and
//! `group.rs`): `displayName` (trimmed; empty means the userName), `active` also as text, the
//! work email, `externalId` as sent, usernames and group names unique regardless of case
//! (409 `uniqueness`), members that must be users (400 `invalidValue`), a deleted user leaves
//! its groups. One server serves every case; each case starts from an empty directory.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use common::TestServer;
use model::{GroupId, UserId};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use store::{GroupFilter, NewApiToken, Page, TokenKind, UserFilter};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

const USER_NAMES: [&str; 6] = ["ada", "alan", "grace", "edsger", "barbara", "ken"];
const GROUP_NAMES: [&str; 3] = ["Engineering", "Sales", "Admins"];
const DISPLAY_NAMES: [&str; 4] = ["Ada Lovelace", "", " Grace Hopper ", "Alan"];
const EMAILS: [&str; 3] = [
    "ada@example.com",
    "Grace.Hopper@Example.org",
    "ken@example.net",
];
/// The universe's one malformed address.
const BAD_EMAIL: &str = "not-an-email";
const EXTERNAL_IDS: [&str; 3] = ["ext-1", "EXT-1", "00u1esetiaJ4H4Bv10h8"];
/// A member value that is no id at all.
const NOT_AN_ID: &str = "not-a-user-id";
/// An id no user or group of any case has.
const GHOST: &str = "0f0f0f0f-0000-4000-8000-00000000dead";

// ---------------------------------------------------------------------------------------------
// The operations, as generated.

/// A user of this case: `Nth(n)` is the n-th one created (modulo how many there were, deleted
/// ones included; no user yet makes it `Ghost`), `Ghost` an id no user has.
#[derive(Clone, Copy, PartialEq, Eq)]
enum UserRef {
    Nth(usize),
    Ghost,
}

/// A group of this case, as `UserRef` is a user.
#[derive(Clone, Copy, PartialEq, Eq)]
enum GroupRef {
    Nth(usize),
    Ghost,
}

impl fmt::Debug for UserRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Nth(n) => write!(f, "user#{n}"),
            Self::Ghost => write!(f, "no_such_user"),
        }
    }
}

impl fmt::Debug for GroupRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Nth(n) => write!(f, "group#{n}"),
            Self::Ghost => write!(f, "no_such_group"),
        }
    }
}

/// `active` as a client sends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Active {
    Absent,
    Bool(bool),
    /// `"True"`, `"false"`, … (or `"maybe"`, which is refused).
    Text(&'static str),
}

impl Active {
    fn json(self) -> Option<Value> {
        match self {
            Self::Absent => None,
            Self::Bool(flag) => Some(json!(flag)),
            Self::Text(text) => Some(json!(text)),
        }
    }

    /// What the directory keeps; `None` when the value is refused.
    fn value(self) -> Option<bool> {
        match self {
            Self::Absent => Some(true),
            Self::Bool(flag) => Some(flag),
            Self::Text("True" | "true" | "TRUE") => Some(true),
            Self::Text("False" | "false" | "FALSE") => Some(false),
            Self::Text(_) => None,
        }
    }
}

#[derive(Debug, Clone)]
struct UserBody {
    user_name: String,
    display_name: Option<&'static str>,
    active: Active,
    email: Option<&'static str>,
    external_id: Option<&'static str>,
}

#[derive(Debug, Clone)]
enum UserPatch {
    DisplayName {
        path: bool,
        value: &'static str,
    },
    Active {
        path: bool,
        value: Active,
    },
    UserName(String),
    /// `add` of `emails[type eq "work"].value`.
    AddWorkEmail(&'static str),
    /// `remove` of `emails`.
    RemoveEmails,
}

#[derive(Debug, Clone, Copy)]
enum Member {
    User(UserRef),
    NotAnId,
}

#[derive(Debug, Clone)]
struct GroupBody {
    display_name: String,
    external_id: Option<&'static str>,
    members: Vec<Member>,
}

#[derive(Debug, Clone)]
enum GroupPatch {
    /// `add` on `members`.
    AddMembers(Vec<Member>),
    /// `remove` on `members[value eq "…"]`.
    RemoveMember(Member),
    /// `remove` on `members` with the members as its value (Entra).
    RemoveMembers(Vec<Member>),
    /// `remove` on `members`, no value.
    RemoveAllMembers,
    /// `replace` on `members`.
    ReplaceMembers(Vec<Member>),
    DisplayName {
        path: bool,
        value: String,
    },
}

#[derive(Debug, Clone)]
enum Op {
    CreateUser(UserBody),
    ReplaceUser(UserRef, UserBody),
    PatchUser(UserRef, Vec<UserPatch>),
    DeleteUser(UserRef),
    CreateGroup(GroupBody),
    ReplaceGroup(GroupRef, GroupBody),
    PatchGroup(GroupRef, Vec<GroupPatch>),
    DeleteGroup(GroupRef),
}

/// A name as clients spell it: as it is, upper case, its first letter's case swapped, or
/// padded with spaces (which the server trims).
fn spelled(name: &str, variant: u8) -> String {
    match variant {
        0 => name.to_owned(),
        1 => name.to_uppercase(),
        2 => {
            let mut chars = name.chars();
            chars.next().map_or_else(String::new, |first| {
                let swapped: String = if first.is_uppercase() {
                    first.to_lowercase().collect()
                } else {
                    first.to_uppercase().collect()
                };
                swapped + chars.as_str()
            })
        }
        _ => format!(" {name} "),
    }
}

fn user_name() -> impl Strategy<Value = String> {
    prop_oneof![
        16 => (0..USER_NAMES.len(), 0..3u8).prop_map(|(i, v)| spelled(USER_NAMES[i], v)),
        1 => (0..USER_NAMES.len()).prop_map(|i| spelled(USER_NAMES[i], 3)),
        1 => Just("  ".to_owned()),
    ]
}

fn group_name() -> impl Strategy<Value = String> {
    prop_oneof![
        16 => (0..GROUP_NAMES.len(), 0..3u8).prop_map(|(i, v)| spelled(GROUP_NAMES[i], v)),
        1 => (0..GROUP_NAMES.len()).prop_map(|i| spelled(GROUP_NAMES[i], 3)),
        1 => Just(" ".to_owned()),
    ]
}

fn display_name() -> impl Strategy<Value = &'static str> {
    prop::sample::select(DISPLAY_NAMES.to_vec())
}

fn active_value() -> impl Strategy<Value = Active> {
    prop_oneof![
        5 => any::<bool>().prop_map(Active::Bool),
        3 => prop::sample::select(vec!["True", "False", "false"]).prop_map(Active::Text),
        1 => Just(Active::Text("maybe")),
    ]
}

fn email() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        6 => prop::sample::select(EMAILS.to_vec()),
        1 => Just(BAD_EMAIL),
    ]
}

fn user_body() -> impl Strategy<Value = UserBody> {
    (
        user_name(),
        prop::option::of(display_name()),
        prop_oneof![1 => Just(Active::Absent), 3 => active_value()],
        prop::option::of(email()),
        prop::option::of(prop::sample::select(EXTERNAL_IDS.to_vec())),
    )
        .prop_map(
            |(user_name, display_name, active, email, external_id)| UserBody {
                user_name,
                display_name,
                active,
                email,
                external_id,
            },
        )
}

fn user_patch() -> impl Strategy<Value = UserPatch> {
    prop_oneof![
        3 => (any::<bool>(), display_name())
            .prop_map(|(path, value)| UserPatch::DisplayName { path, value }),
        3 => (any::<bool>(), active_value()).prop_map(|(path, value)| UserPatch::Active { path, value }),
        2 => user_name().prop_map(UserPatch::UserName),
        2 => email().prop_map(UserPatch::AddWorkEmail),
        1 => Just(UserPatch::RemoveEmails),
    ]
}

fn user_ref() -> impl Strategy<Value = UserRef> {
    prop_oneof![
        12 => (0..6usize).prop_map(UserRef::Nth),
        1 => Just(UserRef::Ghost),
    ]
}

fn group_ref() -> impl Strategy<Value = GroupRef> {
    prop_oneof![
        12 => (0..3usize).prop_map(GroupRef::Nth),
        1 => Just(GroupRef::Ghost),
    ]
}

fn member() -> impl Strategy<Value = Member> {
    prop_oneof![
        20 => (0..6usize).prop_map(|n| Member::User(UserRef::Nth(n))),
        1 => Just(Member::User(UserRef::Ghost)),
        1 => Just(Member::NotAnId),
    ]
}

fn group_body() -> impl Strategy<Value = GroupBody> {
    (
        group_name(),
        prop::option::of(prop::sample::select(EXTERNAL_IDS.to_vec())),
        prop::collection::vec(member(), 0..3),
    )
        .prop_map(|(display_name, external_id, members)| GroupBody {
            display_name,
            external_id,
            members,
        })
}

fn group_patch() -> impl Strategy<Value = GroupPatch> {
    prop_oneof![
        4 => prop::collection::vec(member(), 1..4).prop_map(GroupPatch::AddMembers),
        2 => member().prop_map(GroupPatch::RemoveMember),
        2 => prop::collection::vec(member(), 1..3).prop_map(GroupPatch::RemoveMembers),
        1 => Just(GroupPatch::RemoveAllMembers),
        1 => prop::collection::vec(member(), 0..3).prop_map(GroupPatch::ReplaceMembers),
        3 => (any::<bool>(), group_name())
            .prop_map(|(path, value)| GroupPatch::DisplayName { path, value }),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => user_body().prop_map(Op::CreateUser),
        2 => (user_ref(), user_body()).prop_map(|(user, body)| Op::ReplaceUser(user, body)),
        4 => (user_ref(), prop::collection::vec(user_patch(), 1..=3))
            .prop_map(|(user, ops)| Op::PatchUser(user, ops)),
        1 => user_ref().prop_map(Op::DeleteUser),
        3 => group_body().prop_map(Op::CreateGroup),
        2 => (group_ref(), group_body()).prop_map(|(group, body)| Op::ReplaceGroup(group, body)),
        5 => (group_ref(), prop::collection::vec(group_patch(), 1..=3))
            .prop_map(|(group, ops)| Op::PatchGroup(group, ops)),
        1 => group_ref().prop_map(Op::DeleteGroup),
    ]
}

// ---------------------------------------------------------------------------------------------
// The model.

#[derive(Debug, Clone, PartialEq, Eq)]
struct UserState {
    user_name: String,
    display_name: String,
    active: bool,
    email: Option<String>,
    external_id: Option<String>,
}

/// Members are user ids in the model, labels (`u0`, …) in what is compared and shown.
#[derive(Debug, Clone, PartialEq, Eq)]
struct GroupState {
    display_name: String,
    external_id: Option<String>,
    members: BTreeSet<String>,
}

/// A refusal the model predicts: the status and the SCIM error type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Refusal(u16, Option<&'static str>);

const NOT_FOUND: Refusal = Refusal(404, None);
const TAKEN: Refusal = Refusal(409, Some("uniqueness"));
const INVALID: Refusal = Refusal(400, Some("invalidValue"));

#[derive(Debug, Default)]
struct Model {
    users: BTreeMap<String, UserState>,
    groups: BTreeMap<String, GroupState>,
    /// Every user created in this case, in order (`UserRef` indexes it).
    user_ids: Vec<String>,
    group_ids: Vec<String>,
}

fn same_name(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

/// A user as a resource describes it (a create, a replace, or a patched rendering).
fn user_from(
    user_name: &str,
    display_name: Option<&str>,
    active: Active,
    email: Option<&str>,
    external_id: Option<&str>,
) -> Result<UserState, Refusal> {
    let user_name = user_name.trim();
    if user_name.is_empty() {
        return Err(INVALID);
    }
    if email.is_some_and(|email| !EMAILS.contains(&email)) {
        return Err(INVALID);
    }
    let active = active.value().ok_or(INVALID)?;
    let display_name = display_name
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .unwrap_or(user_name);
    Ok(UserState {
        user_name: user_name.to_owned(),
        display_name: display_name.to_owned(),
        active,
        email: email.map(str::to_owned),
        external_id: external_id.map(str::to_owned),
    })
}

impl Model {
    fn user_id(&self, user: UserRef) -> String {
        match user {
            UserRef::Nth(n) if !self.user_ids.is_empty() => {
                self.user_ids[n % self.user_ids.len()].clone()
            }
            _ => GHOST.to_owned(),
        }
    }

    fn group_id(&self, group: GroupRef) -> String {
        match group {
            GroupRef::Nth(n) if !self.group_ids.is_empty() => {
                self.group_ids[n % self.group_ids.len()].clone()
            }
            _ => GHOST.to_owned(),
        }
    }

    /// `text` with every id of this case replaced by its label.
    fn labelled_text(&self, text: &str) -> String {
        let mut text = text.replace(GHOST, "ghost");
        for (index, id) in self.user_ids.iter().enumerate() {
            text = text.replace(id.as_str(), &format!("u{index}"));
        }
        for (index, id) in self.group_ids.iter().enumerate() {
            text = text.replace(id.as_str(), &format!("g{index}"));
        }
        text
    }

    fn member_value(&self, member: Member) -> String {
        match member {
            Member::User(user) => self.user_id(user),
            Member::NotAnId => NOT_AN_ID.to_owned(),
        }
    }

    fn user_label(&self, id: &str) -> String {
        match self.user_ids.iter().position(|known| known == id) {
            Some(index) => format!("u{index}"),
            None if id == GHOST => "ghost".to_owned(),
            None => format!("unknown user {id}"),
        }
    }

    fn group_label(&self, id: &str) -> String {
        match self.group_ids.iter().position(|known| known == id) {
            Some(index) => format!("g{index}"),
            None if id == GHOST => "ghost".to_owned(),
            None => format!("unknown group {id}"),
        }
    }

    fn labelled(&self, group: &GroupState) -> GroupState {
        GroupState {
            members: group.members.iter().map(|id| self.user_label(id)).collect(),
            ..group.clone()
        }
    }

    fn user_name_taken(&self, name: &str, except: Option<&str>) -> bool {
        self.users
            .iter()
            .any(|(id, user)| Some(id.as_str()) != except && same_name(&user.user_name, name))
    }

    fn group_name_taken(&self, name: &str, except: Option<&str>) -> bool {
        self.groups
            .iter()
            .any(|(id, group)| Some(id.as_str()) != except && same_name(&group.display_name, name))
    }

    /// A user write's outcome: refused as invalid, else as a name another user has.
    fn user_write(
        &self,
        wanted: Result<UserState, Refusal>,
        id: Option<&str>,
    ) -> Result<UserState, Refusal> {
        let wanted = wanted?;
        if self.user_name_taken(&wanted.user_name, id) {
            return Err(TAKEN);
        }
        Ok(wanted)
    }

    fn create_user(&self, body: &UserBody) -> Result<UserState, Refusal> {
        self.user_write(
            user_from(
                &body.user_name,
                body.display_name,
                body.active,
                body.email,
                body.external_id,
            ),
            None,
        )
    }

    fn replace_user(&self, id: &str, body: &UserBody) -> Result<UserState, Refusal> {
        if !self.users.contains_key(id) {
            return Err(NOT_FOUND);
        }
        self.user_write(
            user_from(
                &body.user_name,
                body.display_name,
                body.active,
                body.email,
                body.external_id,
            ),
            Some(id),
        )
    }

    /// The patch applies to the user as SCIM renders it; the result is read back as a whole.
    fn patch_user(&self, id: &str, ops: &[UserPatch]) -> Result<UserState, Refusal> {
        let current = self.users.get(id).ok_or(NOT_FOUND)?;
        let mut user_name = current.user_name.clone();
        let mut display_name = current.display_name.clone();
        let mut active = Active::Bool(current.active);
        let mut email = current.email.clone();
        for op in ops {
            match op {
                UserPatch::DisplayName { value, .. } => display_name = (*value).to_owned(),
                UserPatch::Active { value, .. } => active = *value,
                UserPatch::UserName(name) => user_name.clone_from(name),
                UserPatch::AddWorkEmail(address) => email = Some((*address).to_owned()),
                UserPatch::RemoveEmails => email = None,
            }
        }
        self.user_write(
            user_from(
                &user_name,
                Some(&display_name),
                active,
                email.as_deref(),
                current.external_id.as_deref(),
            ),
            Some(id),
        )
    }

    /// A group write's outcome, in the order the server decides: the resource itself
    /// (a name, members that are ids), then the name's uniqueness, then members that are users.
    fn group_write(
        &self,
        display_name: &str,
        external_id: Option<String>,
        members: BTreeSet<String>,
        id: Option<&str>,
    ) -> Result<GroupState, Refusal> {
        let display_name = display_name.trim();
        if display_name.is_empty() || members.contains(NOT_AN_ID) {
            return Err(INVALID);
        }
        if self.group_name_taken(display_name, id) {
            return Err(TAKEN);
        }
        if members
            .iter()
            .any(|member| !self.users.contains_key(member))
        {
            return Err(INVALID);
        }
        Ok(GroupState {
            display_name: display_name.to_owned(),
            external_id,
            members,
        })
    }

    fn body_members(&self, members: &[Member]) -> BTreeSet<String> {
        members.iter().map(|m| self.member_value(*m)).collect()
    }

    fn create_group(&self, body: &GroupBody) -> Result<GroupState, Refusal> {
        self.group_write(
            &body.display_name,
            body.external_id.map(str::to_owned),
            self.body_members(&body.members),
            None,
        )
    }

    fn replace_group(&self, id: &str, body: &GroupBody) -> Result<GroupState, Refusal> {
        if !self.groups.contains_key(id) {
            return Err(NOT_FOUND);
        }
        self.group_write(
            &body.display_name,
            body.external_id.map(str::to_owned),
            self.body_members(&body.members),
            Some(id),
        )
    }

    fn patch_group(&self, id: &str, ops: &[GroupPatch]) -> Result<GroupState, Refusal> {
        let current = self.groups.get(id).ok_or(NOT_FOUND)?;
        let mut display_name = current.display_name.clone();
        let mut members = current.members.clone();
        for op in ops {
            match op {
                GroupPatch::AddMembers(added) => members.extend(self.body_members(added)),
                GroupPatch::RemoveMember(removed) => {
                    members.remove(&self.member_value(*removed));
                }
                GroupPatch::RemoveMembers(removed) => {
                    for value in self.body_members(removed) {
                        members.remove(&value);
                    }
                }
                GroupPatch::RemoveAllMembers => members.clear(),
                GroupPatch::ReplaceMembers(given) => members = self.body_members(given),
                GroupPatch::DisplayName { value, .. } => display_name.clone_from(value),
            }
        }
        self.group_write(
            &display_name,
            current.external_id.clone(),
            members,
            Some(id),
        )
    }

    fn delete_user(&mut self, id: &str) {
        self.users.remove(id);
        for group in self.groups.values_mut() {
            group.members.remove(id);
        }
    }

    fn expected_users(&self) -> BTreeMap<String, UserState> {
        self.users
            .iter()
            .map(|(id, user)| (self.user_label(id), user.clone()))
            .collect()
    }

    fn expected_groups(&self) -> BTreeMap<String, GroupState> {
        self.groups
            .iter()
            .map(|(id, group)| (self.group_label(id), self.labelled(group)))
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Requests.

fn user_json(body: &UserBody) -> Value {
    let mut resource = json!({"schemas": [USER], "userName": body.user_name});
    if let Some(name) = body.display_name {
        resource["displayName"] = json!(name);
    }
    if let Some(active) = body.active.json() {
        resource["active"] = active;
    }
    if let Some(email) = body.email {
        resource["emails"] = json!([{"type": "work", "value": email, "primary": true}]);
    }
    if let Some(external_id) = body.external_id {
        resource["externalId"] = json!(external_id);
    }
    resource
}

fn user_patch_json(op: &UserPatch) -> Value {
    match op {
        UserPatch::DisplayName { path: true, value } => {
            json!({"op": "replace", "path": "displayName", "value": value})
        }
        UserPatch::DisplayName { path: false, value } => {
            json!({"op": "replace", "value": {"displayName": value}})
        }
        UserPatch::Active { path: true, value } => {
            json!({"op": "Replace", "path": "active", "value": value.json()})
        }
        UserPatch::Active { path: false, value } => {
            json!({"op": "Replace", "value": {"active": value.json()}})
        }
        UserPatch::UserName(name) => json!({"op": "replace", "path": "userName", "value": name}),
        UserPatch::AddWorkEmail(address) => {
            json!({"op": "Add", "path": "emails[type eq \"work\"].value", "value": address})
        }
        UserPatch::RemoveEmails => json!({"op": "remove", "path": "emails"}),
    }
}

impl Model {
    fn members_json(&self, members: &[Member]) -> Value {
        Value::Array(
            members
                .iter()
                .map(|member| json!({"value": self.member_value(*member)}))
                .collect(),
        )
    }

    fn group_json(&self, body: &GroupBody) -> Value {
        let mut resource = json!({
            "schemas": [GROUP],
            "displayName": body.display_name,
            "members": self.members_json(&body.members),
        });
        if let Some(external_id) = body.external_id {
            resource["externalId"] = json!(external_id);
        }
        resource
    }

    fn group_patch_json(&self, op: &GroupPatch) -> Value {
        match op {
            GroupPatch::AddMembers(members) => {
                json!({"op": "Add", "path": "members", "value": self.members_json(members)})
            }
            GroupPatch::RemoveMember(member) => json!({
                "op": "Remove",
                "path": format!("members[value eq \"{}\"]", self.member_value(*member)),
            }),
            GroupPatch::RemoveMembers(members) => {
                json!({"op": "Remove", "path": "members", "value": self.members_json(members)})
            }
            GroupPatch::RemoveAllMembers => json!({"op": "remove", "path": "members"}),
            GroupPatch::ReplaceMembers(members) => {
                json!({"op": "replace", "path": "members", "value": self.members_json(members)})
            }
            GroupPatch::DisplayName { path: true, value } => {
                json!({"op": "replace", "path": "displayName", "value": value})
            }
            GroupPatch::DisplayName { path: false, value } => {
                json!({"op": "replace", "value": {"displayName": value}})
            }
        }
    }
}

fn patch_body(operations: Vec<Value>) -> Value {
    json!({"schemas": [PATCH], "Operations": operations})
}

struct Scim {
    server: TestServer,
    token: String,
}

impl Scim {
    async fn start() -> Self {
        let server = TestServer::start().await;
        let token = "es_scim_test_token_for_model_0123456789abcdef".to_owned();
        server
            .store
            .create_api_token(NewApiToken {
                name: "model",
                kind: TokenKind::Scim,
                secret: &token,
                expires_at: None,
            })
            .await
            .expect("SCIM token");
        Self { server, token }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = self
            .server
            .client
            .request(method, format!("{}/scim/v2{path}", self.server.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/scim+json")
                .body(body.to_string());
        }
        let response = request.send().await.expect("send");
        let status = response.status();
        let text = response.text().await.expect("body");
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).expect("a JSON body")
        };
        (status, value)
    }

    /// Empties the directory for the next case.
    async fn clear(&self) {
        let store = &self.server.store;
        let groups = store
            .list_groups(&GroupFilter::default(), Page::first(1000))
            .await
            .expect("groups");
        for group in groups {
            store.delete_group(group.id).await.expect("delete group");
        }
        let users = store
            .list_users(&UserFilter::default(), Page::first(1000))
            .await
            .expect("users");
        for user in users {
            store.delete_user(user.id).await.expect("delete user");
        }
    }
}

/// A user resource as the model sees it.
fn user_view(resource: &Value) -> (String, UserState) {
    let text = |key: &str| resource[key].as_str().map(str::to_owned);
    let emails = resource["emails"].as_array();
    let email = emails.and_then(|list| list.first()?["value"].as_str().map(str::to_owned));
    (
        text("id").expect("an id"),
        UserState {
            user_name: text("userName").expect("a userName"),
            display_name: text("displayName").expect("a displayName"),
            active: resource["active"].as_bool().expect("active"),
            email,
            external_id: text("externalId"),
        },
    )
}

/// A group resource as the model sees it, its members by id.
fn group_view(resource: &Value) -> (String, GroupState) {
    let text = |key: &str| resource[key].as_str().map(str::to_owned);
    let members = resource["members"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|member| member["value"].as_str().expect("a member value").to_owned())
                .collect()
        })
        .unwrap_or_default();
    (
        text("id").expect("an id"),
        GroupState {
            display_name: text("displayName").expect("a displayName"),
            external_id: text("externalId"),
            members,
        },
    )
}

// ---------------------------------------------------------------------------------------------
// Running a case.

struct Case<'a> {
    scim: &'a Scim,
    model: Model,
    /// What happened so far, for failure messages.
    trace: String,
}

impl Case<'_> {
    /// Sends one request, noting it (ids as labels) and its answer's status in the trace.
    async fn send(
        &mut self,
        step: usize,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let shown = body.as_ref().map(Value::to_string).unwrap_or_default();
        let (status, answer) = self.scim.call(method.clone(), path, body).await;
        let line = format!("#{step} {method} {path} {shown} -> {}", status.as_u16());
        self.trace.push_str("\n  ");
        self.trace.push_str(&self.model.labelled_text(&line));
        (status, answer)
    }

    /// The answer is the one predicted: the status, and for a refusal its SCIM error.
    fn check_answer<T>(
        &self,
        status: StatusCode,
        body: &Value,
        success: u16,
        expected: &Result<T, Refusal>,
    ) -> Result<(), TestCaseError> {
        let (code, scim_type) = match expected {
            Ok(_) => (success, None),
            Err(Refusal(code, scim_type)) => (*code, *scim_type),
        };
        prop_assert_eq!(
            status.as_u16(),
            code,
            "status (answer {}) after:{}",
            body,
            self.trace
        );
        if expected.is_err() {
            prop_assert_eq!(&body["status"], &json!(code.to_string()), "{}", body);
            prop_assert_eq!(
                body["scimType"].as_str(),
                scim_type,
                "scimType of {} after:{}",
                body,
                self.trace
            );
        }
        Ok(())
    }

    fn check_user_answer(
        &self,
        body: &Value,
        id: Option<&str>,
        expected: &UserState,
    ) -> Result<String, TestCaseError> {
        let (answered_id, answered) = user_view(body);
        if let Some(id) = id {
            prop_assert_eq!(answered_id.as_str(), id, "the id answered");
        }
        prop_assert_eq!(
            &answered,
            expected,
            "the user answered after:{}",
            self.trace
        );
        Ok(answered_id)
    }

    fn check_group_answer(
        &self,
        body: &Value,
        id: Option<&str>,
        expected: &GroupState,
    ) -> Result<String, TestCaseError> {
        let (answered_id, answered) = group_view(body);
        if let Some(id) = id {
            prop_assert_eq!(answered_id.as_str(), id, "the id answered");
        }
        prop_assert_eq!(
            self.model.labelled(&answered),
            self.model.labelled(expected),
            "the group answered after:{}",
            self.trace
        );
        Ok(answered_id)
    }

    async fn step(&mut self, step: usize, op: &Op) -> Result<(), TestCaseError> {
        match op {
            Op::CreateUser(body) => {
                let expected = self.model.create_user(body);
                let (status, answer) = self
                    .send(step, Method::POST, "/Users", Some(user_json(body)))
                    .await;
                self.check_answer(status, &answer, 201, &expected)?;
                if let Ok(user) = expected {
                    let id = self.check_user_answer(&answer, None, &user)?;
                    self.trace
                        .push_str(&format!(" (u{})", self.model.user_ids.len()));
                    self.model.user_ids.push(id.clone());
                    self.model.users.insert(id, user);
                }
            }
            Op::ReplaceUser(user, body) => {
                let id = self.model.user_id(*user);
                let expected = self.model.replace_user(&id, body);
                let path = format!("/Users/{id}");
                let (status, answer) = self
                    .send(step, Method::PUT, &path, Some(user_json(body)))
                    .await;
                self.check_answer(status, &answer, 200, &expected)?;
                if let Ok(user) = expected {
                    self.check_user_answer(&answer, Some(&id), &user)?;
                    self.model.users.insert(id, user);
                }
            }
            Op::PatchUser(user, ops) => {
                let id = self.model.user_id(*user);
                let expected = self.model.patch_user(&id, ops);
                let body = patch_body(ops.iter().map(user_patch_json).collect());
                let path = format!("/Users/{id}");
                let (status, answer) = self.send(step, Method::PATCH, &path, Some(body)).await;
                self.check_answer(status, &answer, 200, &expected)?;
                if let Ok(user) = expected {
                    self.check_user_answer(&answer, Some(&id), &user)?;
                    self.model.users.insert(id, user);
                }
            }
            Op::DeleteUser(user) => {
                let id = self.model.user_id(*user);
                let expected = if self.model.users.contains_key(&id) {
                    Ok(())
                } else {
                    Err(NOT_FOUND)
                };
                let path = format!("/Users/{id}");
                let (status, answer) = self.send(step, Method::DELETE, &path, None).await;
                self.check_answer(status, &answer, 204, &expected)?;
                if expected.is_ok() {
                    self.model.delete_user(&id);
                }
            }
            Op::CreateGroup(body) => {
                let expected = self.model.create_group(body);
                let request = self.model.group_json(body);
                let (status, answer) = self
                    .send(step, Method::POST, "/Groups", Some(request))
                    .await;
                self.check_answer(status, &answer, 201, &expected)?;
                if let Ok(group) = expected {
                    let id = self.check_group_answer(&answer, None, &group)?;
                    self.trace
                        .push_str(&format!(" (g{})", self.model.group_ids.len()));
                    self.model.group_ids.push(id.clone());
                    self.model.groups.insert(id, group);
                }
            }
            Op::ReplaceGroup(group, body) => {
                let id = self.model.group_id(*group);
                let expected = self.model.replace_group(&id, body);
                let request = self.model.group_json(body);
                let path = format!("/Groups/{id}");
                let (status, answer) = self.send(step, Method::PUT, &path, Some(request)).await;
                self.check_answer(status, &answer, 200, &expected)?;
                if let Ok(group) = expected {
                    self.check_group_answer(&answer, Some(&id), &group)?;
                    self.model.groups.insert(id, group);
                }
            }
            Op::PatchGroup(group, ops) => {
                let id = self.model.group_id(*group);
                let expected = self.model.patch_group(&id, ops);
                let body = patch_body(
                    ops.iter()
                        .map(|op| self.model.group_patch_json(op))
                        .collect(),
                );
                let path = format!("/Groups/{id}");
                let (status, answer) = self.send(step, Method::PATCH, &path, Some(body)).await;
                self.check_answer(status, &answer, 204, &expected)?;
                if let Ok(group) = expected {
                    self.model.groups.insert(id, group);
                }
            }
            Op::DeleteGroup(group) => {
                let id = self.model.group_id(*group);
                let expected = if self.model.groups.contains_key(&id) {
                    Ok(())
                } else {
                    Err(NOT_FOUND)
                };
                let path = format!("/Groups/{id}");
                let (status, answer) = self.send(step, Method::DELETE, &path, None).await;
                self.check_answer(status, &answer, 204, &expected)?;
                if expected.is_ok() {
                    self.model.groups.remove(&id);
                }
            }
        }
        Ok(())
    }

    /// The directory, as SCIM lists it and as the store holds it, is the model's.
    async fn check_directory(&self) -> Result<(), TestCaseError> {
        let expected_users = self.model.expected_users();
        let expected_groups = self.model.expected_groups();

        let (status, listed) = self.scim.call(Method::GET, "/Users?count=1000", None).await;
        prop_assert_eq!(status, StatusCode::OK, "{}", listed);
        prop_assert_eq!(&listed["totalResults"], &json!(expected_users.len()));
        let scim_users: BTreeMap<String, UserState> = listed["Resources"]
            .as_array()
            .expect("Resources")
            .iter()
            .map(|resource| {
                let (id, user) = user_view(resource);
                (self.model.user_label(&id), user)
            })
            .collect();
        prop_assert_eq!(
            &scim_users,
            &expected_users,
            "GET /Users (left) against the model (right) after:{}",
            self.trace
        );

        let (status, listed) = self
            .scim
            .call(Method::GET, "/Groups?count=1000", None)
            .await;
        prop_assert_eq!(status, StatusCode::OK, "{}", listed);
        prop_assert_eq!(&listed["totalResults"], &json!(expected_groups.len()));
        let scim_groups: BTreeMap<String, GroupState> = listed["Resources"]
            .as_array()
            .expect("Resources")
            .iter()
            .map(|resource| {
                let (id, group) = group_view(resource);
                (self.model.group_label(&id), self.model.labelled(&group))
            })
            .collect();
        prop_assert_eq!(
            &scim_groups,
            &expected_groups,
            "GET /Groups (left) against the model (right) after:{}",
            self.trace
        );

        let store = &self.scim.server.store;
        let users = store
            .list_users(&UserFilter::default(), Page::first(1000))
            .await
            .expect("users");
        let ids: Vec<UserId> = users.iter().map(|user| user.id).collect();
        let records = store.scim_user_records(&ids).await.expect("records");
        let stored_users: BTreeMap<String, UserState> = users
            .into_iter()
            .map(|user| {
                let external_id = records
                    .get(&user.id)
                    .and_then(|record| record.external_id.clone());
                (
                    self.model.user_label(&user.id.to_string()),
                    UserState {
                        user_name: user.username.as_str().to_owned(),
                        display_name: user.name,
                        active: user.is_active,
                        email: user.email.map(|email| email.as_str().to_owned()),
                        external_id,
                    },
                )
            })
            .collect();
        prop_assert_eq!(
            &stored_users,
            &expected_users,
            "the store's users (left) against the model (right) after:{}",
            self.trace
        );

        let groups = store
            .list_groups(&GroupFilter::default(), Page::first(1000))
            .await
            .expect("groups");
        let mut stored_groups = BTreeMap::new();
        for group in groups {
            let scim_group = store.scim_group(group.id).await.expect("group");
            stored_groups.insert(
                self.model.group_label(&group.id.to_string()),
                self.model.labelled(&GroupState {
                    display_name: scim_group.group.name.as_str().to_owned(),
                    external_id: scim_group.record.external_id,
                    members: scim_group.members.iter().map(UserId::to_string).collect(),
                }),
            );
        }
        prop_assert_eq!(
            &stored_groups,
            &expected_groups,
            "the store's groups (left) against the model (right) after:{}",
            self.trace
        );
        Ok(())
    }

    /// Each user's groups, read from the user's side, are the model's.
    async fn check_user_groups(&self) -> Result<(), TestCaseError> {
        let store = &self.scim.server.store;
        for id in self.model.users.keys() {
            let user = UserId::from_uuid(id.parse().expect("a uuid"));
            let groups: BTreeSet<String> = store
                .list_user_groups(user, Page::first(1000))
                .await
                .expect("the user's groups")
                .iter()
                .map(|group| self.model.group_label(&group.id.to_string()))
                .collect();
            let expected: BTreeSet<String> = self
                .model
                .groups
                .iter()
                .filter(|(_, group)| group.members.contains(id))
                .map(|(group, _)| self.model.group_label(group))
                .collect();
            prop_assert_eq!(
                groups,
                expected,
                "the groups of {} after:{}",
                self.model.user_label(id),
                self.trace
            );
        }
        for id in self
            .model
            .group_ids
            .iter()
            .filter(|id| !self.model.groups.contains_key(*id))
        {
            let gone = GroupId::from_uuid(id.parse().expect("a uuid"));
            prop_assert!(
                store.get_group(gone).await.is_err(),
                "a deleted group is gone"
            );
        }
        Ok(())
    }
}

async fn run_case(scim: &Scim, ops: &[Op]) -> Result<(), TestCaseError> {
    scim.clear().await;
    let mut case = Case {
        scim,
        model: Model::default(),
        trace: String::new(),
    };
    case.check_directory().await?;
    for (step, op) in ops.iter().enumerate() {
        case.step(step, op).await?;
        case.check_directory().await?;
    }
    case.check_user_groups().await
}

fn cases() -> u32 {
    std::env::var("SCIM_MODEL_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(256)
}

#[test]
fn any_sequence_of_scim_writes_leaves_the_directory_the_model_predicts() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let scim = runtime.block_on(Scim::start());
    let mut runner = TestRunner::new(Config {
        cases: cases(),
        // Nothing is written next to the sources: a failure prints its minimal sequence.
        failure_persistence: None,
        max_shrink_iters: 2048,
        ..Config::default()
    });
    let result = runner.run(&prop::collection::vec(op(), 1..=25), |ops| {
        runtime.block_on(run_case(&scim, &ops))
    });
    match result {
        Ok(()) => {}
        Err(TestError::Fail(reason, ops)) => {
            panic!("{reason}\n\nminimal failing sequence: {ops:#?}")
        }
        Err(TestError::Abort(reason)) => panic!("aborted: {reason}"),
    }
}
