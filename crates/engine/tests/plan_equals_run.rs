//! The dry run's plan is exactly what the run then does. For generated directories, mappings
//! that skip some users, and remote states (objects deleted or edited by hand in Entra, extra
//! members, remote objects discovery adopts, ambiguous matches, objects gone from the
//! directory), the writes the plan lists are the writes the real run sends (as the fake target
//! records them), and a second plan lists nothing.

use std::collections::BTreeMap;

use engine::{Operation, Properties, RemoteId, RemoteKind, RemoteRef};
use model::{GroupId, UserDeleteAction, UserId};
use proptest::prelude::*;
use serde_json::{Value, json};
use testkit::{DOMAIN, Scenario, Write};

/// Skips users flagged in their attributes, then maps them as the default mapping does.
const SKIPPING: &str = r#"if get(user.attributes, "skip", false) { skip("flagged") }"#;

#[derive(Debug, Clone)]
struct UserCase {
    skip: bool,
    /// Synced by the first run (else added to the directory after it).
    early: bool,
    gone_from_directory: bool,
    gone_from_entra: bool,
    edited_in_entra: bool,
    /// A new user whom one (or two: ambiguous) remote users made by hand match.
    remote_matches: u8,
}

#[derive(Debug, Clone)]
struct GroupCase {
    early: bool,
    gone_from_entra: bool,
    edited_in_entra: bool,
}

#[derive(Debug, Clone)]
struct Case {
    users: Vec<UserCase>,
    groups: Vec<GroupCase>,
    /// (group, user) indexes.
    members: Vec<(usize, usize)>,
    /// Members added by hand in Entra after the first run: (group, user).
    extra_members: Vec<(usize, usize)>,
    remove_unmanaged: bool,
    user_delete_action: UserDeleteAction,
}

fn user_case() -> impl Strategy<Value = UserCase> {
    (any::<bool>(), any::<bool>(), 0..8u8, 0..8u8, 0..8u8, 0..6u8).prop_map(
        |(skip, early, gone_dir, gone_entra, edited, matches)| UserCase {
            skip: skip && gone_dir % 3 == 0,
            early,
            gone_from_directory: early && gone_dir == 1,
            gone_from_entra: early && gone_entra == 1,
            edited_in_entra: early && edited < 2,
            remote_matches: if early { 0 } else { matches.saturating_sub(3) },
        },
    )
}

fn group_case() -> impl Strategy<Value = GroupCase> {
    (any::<bool>(), 0..6u8, 0..6u8).prop_map(|(early, gone, edited)| GroupCase {
        early,
        gone_from_entra: early && gone == 0,
        edited_in_entra: early && edited == 0,
    })
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::collection::vec(user_case(), 0..7),
        prop::collection::vec(group_case(), 0..4),
        any::<bool>(),
        0..3u8,
    )
        .prop_flat_map(|(users, groups, remove_unmanaged, action)| {
            let pairs = if users.is_empty() || groups.is_empty() {
                Just(Vec::new()).boxed()
            } else {
                prop::collection::vec((0..groups.len(), 0..users.len()), 0..10).boxed()
            };
            let extras = pairs.clone();
            (pairs, extras).prop_map(move |(members, extra_members)| Case {
                users: users.clone(),
                groups: groups.clone(),
                members,
                extra_members,
                remove_unmanaged,
                user_delete_action: match action {
                    0 => UserDeleteAction::Delete,
                    1 => UserDeleteAction::Suspend,
                    _ => UserDeleteAction::DoNothing,
                },
            })
        })
}

fn props(value: Value) -> Properties {
    value.as_object().cloned().unwrap_or_default()
}

/// A write as compared: passwords (random on every create) and ids of new objects left out.
fn normal(write: &Write, names: &BTreeMap<RemoteId, String>) -> String {
    let strip = |p: &Properties| {
        let mut p = p.clone();
        p.remove("passwordProfile");
        serde_json::to_string(&p).unwrap_or_default()
    };
    let name = |id: &RemoteId| names.get(id).cloned().unwrap_or_else(|| id.to_string());
    match write {
        Write::Create {
            kind, properties, ..
        } => format!("create {kind} {}", strip(properties)),
        Write::Update {
            kind,
            id,
            properties,
        } => format!("update {kind} {} {}", name(id), strip(properties)),
        Write::Delete { kind, id } => format!("delete {kind} {}", name(id)),
        Write::AddMembers { group, members } => {
            let mut members: Vec<String> = members.iter().map(name).collect();
            members.sort();
            format!("add {} {members:?}", name(group))
        }
        Write::RemoveMember { group, member } => {
            format!("remove {} {}", name(group), name(member))
        }
    }
}

/// The writes a plan's operations send, once the run has linked what it made.
fn planned_writes(
    operations: &[Operation],
    links: &BTreeMap<(RemoteKind, uuid::Uuid), RemoteId>,
) -> Vec<Write> {
    let resolve = |r: &RemoteRef| match r {
        RemoteRef::Linked { id } => id.clone(),
        RemoteRef::Planned { kind, object } => links
            .get(&(*kind, *object))
            .cloned()
            .unwrap_or_else(|| RemoteId::new("(never linked)")),
    };
    let none = RemoteId::new("(new)");
    operations
        .iter()
        .filter_map(|op| match op {
            Operation::Create { kind, document } | Operation::Recreate { kind, document, .. } => {
                Some(Write::Create {
                    kind: *kind,
                    id: none.clone(),
                    properties: document.properties().clone(),
                })
            }
            Operation::Update {
                kind,
                remote_id,
                changes,
            } => Some(Write::Update {
                kind: *kind,
                id: remote_id.clone(),
                properties: changes
                    .iter()
                    .map(|c| (c.property.clone(), c.after.clone()))
                    .collect(),
            }),
            Operation::Delete { kind, remote_id } => Some(Write::Delete {
                kind: *kind,
                id: remote_id.clone(),
            }),
            Operation::Disable { remote_id } => Some(Write::Update {
                kind: RemoteKind::User,
                id: remote_id.clone(),
                properties: props(json!({"accountEnabled": false})),
            }),
            Operation::AddMembers { group, members } => Some(Write::AddMembers {
                group: resolve(group),
                members: members.iter().map(resolve).collect(),
            }),
            Operation::RemoveMember { group, member } => Some(Write::RemoveMember {
                group: group.clone(),
                member: member.clone(),
            }),
            Operation::Adopt { .. } | Operation::Unlink { .. } => None,
        })
        .collect()
}

async fn check(case: Case) -> Result<(), TestCaseError> {
    let mut s = Scenario::with_mappings(
        &[SKIPPING, mapping::DEFAULT_USER_MAPPING],
        &[mapping::DEFAULT_GROUP_MAPPING],
    );
    s.settings().remove_unmanaged_members = case.remove_unmanaged;
    s.settings().user_delete_action = case.user_delete_action;

    // The directory the first run sees, then what changed after it.
    let mut users: Vec<Option<UserId>> = vec![None; case.users.len()];
    let mut groups: Vec<Option<GroupId>> = vec![None; case.groups.len()];
    let add_user = |n: usize, spec: &UserCase| {
        let mut user = s.user(&format!("user{n}"));
        if spec.skip {
            user.attributes =
                model::Attributes::from_value(json!({"skip": true})).unwrap_or_default();
            s.store.put_user(user.clone());
        }
        user.id
    };
    for early in [true, false] {
        for (n, spec) in case.users.iter().enumerate() {
            if spec.early == early {
                users[n] = Some(add_user(n, spec));
            }
        }
        for (n, spec) in case.groups.iter().enumerate() {
            if spec.early == early {
                groups[n] = Some(s.store.add_group(&format!("Group {n}")).id);
            }
        }
        for &(g, u) in &case.members {
            if let (Some(g), Some(u)) = (groups[g], users[u]) {
                s.store.add_member(g, u);
            }
        }
        if early {
            s.full_sync()
                .await
                .map_err(|e| TestCaseError::fail(format!("first run: {e}")))?;
        }
    }
    let link_of = |kind: RemoteKind, object: uuid::Uuid| {
        s.store
            .links(s.provider.id)
            .into_iter()
            .find(|l| l.kind == kind && l.object == object)
            .map(|l| l.remote_id)
    };
    // Members added by hand first: deleting an object in Entra ends its memberships.
    for &(g, u) in &case.extra_members {
        let group = groups[g].and_then(|id| link_of(RemoteKind::Group, id.as_uuid()));
        let user = users[u].and_then(|id| link_of(RemoteKind::User, id.as_uuid()));
        if let (Some(group), Some(user)) = (group, user) {
            s.target.add_member_by_hand(&group, &user);
        }
    }
    for (n, spec) in case.users.iter().enumerate() {
        let Some(id) = users[n] else { continue };
        let remote = link_of(RemoteKind::User, id.as_uuid());
        if spec.gone_from_directory {
            s.store.delete_user(id);
        }
        if let Some(remote) = &remote {
            if spec.gone_from_entra {
                s.target.remove(remote);
            } else if spec.edited_in_entra {
                s.target
                    .edit(remote, props(json!({"displayName": "edited"})));
            }
        }
        for copy in 0..spec.remote_matches {
            s.target.insert(
                RemoteKind::User,
                props(json!({"displayName": format!("hand {n}"), "mail": format!("user{n}@{DOMAIN}"),
                    "userPrincipalName": format!("hand{n}.{copy}@{DOMAIN}"), "accountEnabled": true})),
            );
        }
    }
    for (n, spec) in case.groups.iter().enumerate() {
        let Some(remote) = groups[n].and_then(|id| link_of(RemoteKind::Group, id.as_uuid())) else {
            continue;
        };
        if spec.gone_from_entra {
            s.target.remove(&remote);
        } else if spec.edited_in_entra {
            s.target
                .edit(&remote, props(json!({"description": "by hand"})));
        }
    }
    // Long enough ago that a 404 is a deletion, not replication lag.
    s.store.age(engine::REPLICATION_GRACE * 2);

    let writes_before = s.target.counts().writes();
    let (run, plan_report) = s
        .dry_run()
        .await
        .map_err(|e| TestCaseError::fail(format!("plan: {e}")))?;
    prop_assert_eq!(
        s.target.counts().writes(),
        writes_before,
        "a plan writes nothing"
    );
    let plan = s.store.plan(run);
    s.target.clear_writes();
    let (run_report, _) = s
        .full_sync()
        .await
        .map_err(|e| TestCaseError::fail(format!("run: {e}")))?;

    let links: BTreeMap<(RemoteKind, uuid::Uuid), RemoteId> = s
        .store
        .links(s.provider.id)
        .into_iter()
        .map(|l| ((l.kind, l.object), l.remote_id))
        .collect();
    let names: BTreeMap<RemoteId, String> = BTreeMap::new();
    let mut planned: Vec<String> = plan
        .iter()
        .flat_map(|item| planned_writes(&item.operations, &links))
        .map(|w| normal(&w, &names))
        .collect();
    let mut done: Vec<String> = s
        .target
        .writes()
        .iter()
        .map(|w| normal(w, &names))
        .collect();
    planned.sort();
    done.sort();
    prop_assert_eq!(&planned, &done, "the plan's writes are the run's");
    prop_assert_eq!(&plan_report.outcomes, &run_report.outcomes);
    prop_assert_eq!(plan_report.members, run_report.members);

    let (again, _) = s
        .dry_run()
        .await
        .map_err(|e| TestCaseError::fail(format!("second plan: {e}")))?;
    let leftover: Vec<_> = s.store.plan(again);
    prop_assert!(
        leftover.is_empty(),
        "a second plan lists nothing: {leftover:?}"
    );
    Ok(())
}

fn cases() -> u32 {
    std::env::var("PLAN_EQUALS_RUN_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1000)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn the_plan_is_what_the_run_does(case in case()) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        runtime.block_on(check(case))?;
    }
}
