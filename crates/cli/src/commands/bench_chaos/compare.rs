//! What Entra holds (the emulator's dump) against what the directory says, after a scenario
//! has converged. The tenant starts empty, so every remote object is one the provider made:
//! - **duplicates**: remote users sharing a UPN, remote groups sharing a directory group's name
//!   (one of them too many each);
//! - **lost**: a directory user absent remotely or with the wrong displayName or
//!   accountEnabled, a directory group absent remotely, a directory membership missing
//!   remotely, a remote membership the directory does not have, and a remote object the
//!   directory no longer has (a delete or rename that never arrived).

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;
use serde_json::Value;

use super::api::{DirectoryGroup, DirectoryUser};

/// Examples kept per kind of defect, to name the objects in the report.
const EXAMPLES: usize = 10;

#[derive(Debug, Default, Serialize)]
pub struct Comparison {
    pub directory: Counts,
    pub entra: Counts,
    pub duplicates: Duplicates,
    pub lost: Lost,
}

#[derive(Debug, Default, Serialize)]
pub struct Counts {
    pub users: u64,
    pub groups: u64,
    pub memberships: u64,
}

#[derive(Debug, Default, Serialize)]
pub struct Duplicates {
    pub total: u64,
    pub users: u64,
    pub groups: u64,
    /// UPNs and group names held by more than one remote object, with how many hold each.
    pub examples: BTreeMap<String, u64>,
}

#[derive(Debug, Default, Serialize)]
pub struct Lost {
    pub total: u64,
    pub users_missing: u64,
    pub users_wrong: u64,
    pub groups_missing: u64,
    pub memberships_missing: u64,
    pub memberships_unexpected: u64,
    /// Remote users and groups the directory no longer has (deleted or renamed there).
    pub remote_leftovers: u64,
    pub examples: Vec<String>,
}

impl Lost {
    fn note(&mut self, example: impl FnOnce() -> String) {
        if self.examples.len() < EXAMPLES {
            self.examples.push(example());
        }
    }
}

/// A remote object's string property, `""` when absent.
fn prop<'a>(object: &'a Value, key: &str) -> &'a str {
    object[key].as_str().unwrap_or_default()
}

pub fn compare(users: &[DirectoryUser], groups: &[DirectoryGroup], dump: &Value) -> Comparison {
    let remote_users: &[Value] = dump["users"].as_array().map_or(&[], Vec::as_slice);
    let remote_groups: &[Value] = dump["groups"].as_array().map_or(&[], Vec::as_slice);
    let mut result = Comparison {
        directory: Counts {
            users: users.len() as u64,
            groups: groups.len() as u64,
            memberships: groups.iter().map(|g| g.members.len() as u64).sum(),
        },
        entra: Counts {
            users: remote_users.len() as u64,
            groups: remote_groups.len() as u64,
            memberships: remote_groups
                .iter()
                .map(|g| g["members"].as_array().map_or(0, Vec::len) as u64)
                .sum(),
        },
        ..Comparison::default()
    };

    // Users, by UPN regardless of case (the mapping makes the email the UPN).
    let mut by_upn: HashMap<String, Vec<&Value>> = HashMap::new();
    for user in remote_users {
        by_upn
            .entry(prop(user, "userPrincipalName").to_lowercase())
            .or_default()
            .push(user);
    }
    let duplicates = &mut result.duplicates;
    for (upn, holders) in &by_upn {
        if holders.len() > 1 {
            duplicates.users += holders.len() as u64 - 1;
            duplicates
                .examples
                .insert(upn.clone(), holders.len() as u64);
        }
    }
    let lost = &mut result.lost;
    let mut username_of_remote: HashMap<&str, &str> = HashMap::new();
    let mut expected_upns = HashSet::new();
    for user in users {
        let Some(email) = &user.email else { continue };
        let upn = email.to_lowercase();
        let Some(remote) = by_upn.get(&upn).and_then(|holders| holders.first()) else {
            lost.users_missing += 1;
            lost.note(|| format!("user {} is not in Entra", user.username));
            expected_upns.insert(upn);
            continue;
        };
        for holder in &by_upn[&upn] {
            username_of_remote.insert(prop(holder, "id"), &user.username);
        }
        let name = if user.name.is_empty() {
            &user.username
        } else {
            &user.name
        };
        let enabled = remote["accountEnabled"].as_bool();
        if prop(remote, "displayName") != name || enabled != Some(user.is_active) {
            lost.users_wrong += 1;
            lost.note(|| {
                format!(
                    "user {}: Entra has displayName {:?} accountEnabled {enabled:?}, the directory {name:?} {}",
                    user.username,
                    prop(remote, "displayName"),
                    user.is_active
                )
            });
        }
        expected_upns.insert(upn);
    }
    for (upn, holders) in &by_upn {
        if !expected_upns.contains(upn) {
            lost.remote_leftovers += holders.len() as u64;
            lost.note(|| format!("Entra still has user {upn}, the directory does not"));
        }
    }

    // Groups, by name.
    let mut by_name: HashMap<&str, Vec<&Value>> = HashMap::new();
    for group in remote_groups {
        by_name
            .entry(prop(group, "displayName"))
            .or_default()
            .push(group);
    }
    let names: HashSet<&str> = groups.iter().map(|g| g.name.as_str()).collect();
    for (name, holders) in &by_name {
        if !names.contains(name) {
            lost.remote_leftovers += holders.len() as u64;
            lost.note(|| format!("Entra still has group {name:?}, the directory does not"));
        } else if holders.len() > 1 {
            duplicates.groups += holders.len() as u64 - 1;
            duplicates
                .examples
                .insert(format!("group {name}"), holders.len() as u64);
        }
    }
    for group in groups {
        let Some(holders) = by_name.get(group.name.as_str()) else {
            lost.groups_missing += 1;
            lost.note(|| format!("group {:?} is not in Entra", group.name));
            continue;
        };
        let expected: HashSet<&str> = group.members.iter().map(String::as_str).collect();
        // With duplicates, judge the members of the copy that matches best (the duplicate
        // itself is counted above).
        let members_of = |remote: &Value| -> Vec<Option<&str>> {
            remote["members"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|id| {
                    username_of_remote
                        .get(id.as_str().unwrap_or_default())
                        .copied()
                })
                .collect()
        };
        let Some(best) = holders
            .iter()
            .map(|remote| members_of(remote))
            .max_by_key(|m| {
                m.iter()
                    .filter(|u| u.is_some_and(|u| expected.contains(u)))
                    .count()
            })
        else {
            continue;
        };
        let present: HashSet<&str> = best.iter().flatten().copied().collect();
        for member in &expected {
            if !present.contains(member) {
                lost.memberships_missing += 1;
                lost.note(|| format!("{member} is not a member of {:?} in Entra", group.name));
            }
        }
        for member in &best {
            if !member.is_some_and(|m| expected.contains(m)) {
                lost.memberships_unexpected += 1;
                lost.note(|| {
                    format!(
                        "Entra has {} as a member of {:?}, the directory does not",
                        member.unwrap_or("a user the directory does not have"),
                        group.name
                    )
                });
            }
        }
    }
    duplicates.total = duplicates.users + duplicates.groups;
    lost.total = lost.users_missing
        + lost.users_wrong
        + lost.groups_missing
        + lost.memberships_missing
        + lost.memberships_unexpected
        + lost.remote_leftovers;
    result
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn user(username: &str, name: &str, active: bool) -> DirectoryUser {
        DirectoryUser {
            username: username.into(),
            name: name.into(),
            email: Some(format!("{username}@example.com")),
            is_active: active,
        }
    }

    fn group(name: &str, members: &[&str]) -> DirectoryGroup {
        DirectoryGroup {
            name: name.into(),
            members: members.iter().map(|m| (*m).to_owned()).collect(),
        }
    }

    fn remote_user(id: &str, upn: &str, name: &str, enabled: bool) -> Value {
        json!({"id": id, "userPrincipalName": upn, "displayName": name, "accountEnabled": enabled})
    }

    #[test]
    fn a_tenant_in_step_has_nothing_to_report() {
        let dump = json!({
            "users": [remote_user("1", "A@example.com", "Ann", true), remote_user("2", "b@example.com", "b", false)],
            "groups": [{"id": "g", "displayName": "Staff", "members": ["1", "2"]}],
        });
        let c = compare(
            &[user("a", "Ann", true), user("b", "", false)],
            &[group("Staff", &["a", "b"])],
            &dump,
        );
        assert_eq!((c.duplicates.total, c.lost.total), (0, 0), "{c:?}");
        assert_eq!(c.entra.memberships, 2);
    }

    #[test]
    fn duplicates_and_every_kind_of_loss_are_counted() {
        let dump = json!({
            "users": [
                remote_user("1", "a@example.com", "Ann", true),
                remote_user("2", "b@example.com", "Old name", true),
                remote_user("9", "gone@example.com", "Gone", true),
            ],
            "groups": [
                {"id": "g1", "displayName": "Staff", "members": ["1", "9"]},
                {"id": "g2", "displayName": "Staff", "members": []},
                {"id": "g3", "displayName": "Old group", "members": []},
            ],
        });
        let c = compare(
            &[
                user("a", "Ann", true),
                user("b", "Bea", true),
                user("c", "Cy", true),
            ],
            &[group("Staff", &["a", "b"]), group("Sales", &[])],
            &dump,
        );
        assert_eq!(c.duplicates.groups, 1);
        assert_eq!(c.duplicates.users, 0);
        assert_eq!(c.lost.users_missing, 1, "c");
        assert_eq!(c.lost.users_wrong, 1, "b's name");
        assert_eq!(c.lost.groups_missing, 1, "Sales");
        assert_eq!(c.lost.memberships_missing, 1, "b in Staff");
        assert_eq!(c.lost.memberships_unexpected, 1, "gone in Staff");
        assert_eq!(c.lost.remote_leftovers, 2, "gone and Old group");
        assert_eq!(c.lost.total, 7);
    }
}
