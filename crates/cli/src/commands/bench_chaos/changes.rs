//! The batch of directory changes a scenario makes while a full sync runs: new users (with
//! memberships), members added and removed, users renamed, disabled and deleted, groups
//! deleted and renamed. Each kind touches objects of its own (a seeded pick), and none touches
//! the users kept for latency probes. The deletes stay under the provider's delete threshold.

use std::collections::{BTreeMap, HashSet};

use anyhow::Context;
use serde::Serialize;
use serde_json::{Value, json};

use super::{api::Api, rng::Rng};
use crate::client::segment;
use crate::commands::bench_directory::{DOMAIN, SampleDirectory};

/// What the batch changes, by kind (user and group indexes of the sample directory).
pub struct Changes {
    new_users: u64,
    renamed: Vec<u64>,
    disabled: Vec<u64>,
    deleted: Vec<u64>,
    groups_deleted: Vec<u64>,
    groups_renamed: Vec<u64>,
    /// Memberships removed, by group.
    removed: BTreeMap<u64, Vec<u64>>,
    /// Memberships added, by group.
    added: BTreeMap<u64, Vec<u64>>,
}

#[derive(Debug, Default, Serialize)]
pub struct ChangeCounts {
    pub users_created: u64,
    pub users_renamed: u64,
    pub users_disabled: u64,
    pub users_deleted: u64,
    pub groups_renamed: u64,
    pub groups_deleted: u64,
    pub members_added: u64,
    pub members_removed: u64,
}

/// A share of `n`, at least one when there is anything.
fn share(n: u64, per: u64) -> u64 {
    if n == 0 { 0 } else { (n / per).max(1) }
}

impl Changes {
    /// Picks the changes for `sample`; users in `keep` are left alone.
    pub fn pick(sample: &SampleDirectory, rng: &mut Rng, keep: &HashSet<u64>) -> Self {
        let mut users = rng
            .permutation(sample.users)
            .into_iter()
            .filter(|u| !keep.contains(u));
        let mut take = |n| users.by_ref().take(n as usize).collect::<Vec<_>>();
        let renamed = take(share(sample.users, 50));
        let disabled = take(share(sample.users, 100));
        let deleted = take(share(sample.users, 100));
        let mut groups = rng.permutation(sample.groups).into_iter();
        let groups_deleted: Vec<u64> = groups
            .by_ref()
            .take(share(sample.groups, 100) as usize)
            .collect();
        let groups_renamed: Vec<u64> = groups
            .by_ref()
            .take(share(sample.groups, 50) as usize)
            .collect();
        let gone_users: HashSet<u64> = deleted.iter().copied().collect();
        let gone_groups: HashSet<u64> = groups_deleted.iter().copied().collect();
        let existing: HashSet<(u64, u64)> = (0..sample.membership_count())
            .map(|m| sample.membership(m))
            .collect();

        let mut removed: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
        let memberships = sample.membership_count();
        for m in rng
            .permutation(memberships)
            .into_iter()
            .take(share(memberships, 50) as usize)
        {
            let (user, group) = sample.membership(m);
            if !gone_users.contains(&user) && !gone_groups.contains(&group) && !keep.contains(&user)
            {
                removed.entry(group).or_default().push(user);
            }
        }
        let mut added: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
        let mut pairs = HashSet::new();
        for _ in 0..share(memberships, 100) {
            let (user, group) = (rng.below(sample.users), rng.below(sample.groups));
            if !existing.contains(&(user, group))
                && !gone_users.contains(&user)
                && !gone_groups.contains(&group)
                && !keep.contains(&user)
                && pairs.insert((user, group))
            {
                added.entry(group).or_default().push(user);
            }
        }
        Self {
            new_users: share(sample.users, 100),
            renamed,
            disabled,
            deleted,
            groups_deleted,
            groups_renamed,
            removed,
            added,
        }
    }

    /// Makes the changes through the API, one request per object (members: one per group).
    pub async fn apply(
        &self,
        api: &Api,
        sample: &SampleDirectory,
        rng: &mut Rng,
        label: &str,
    ) -> anyhow::Result<ChangeCounts> {
        let client = api.client();
        let mut counts = ChangeCounts::default();
        let live_groups: Vec<u64> = (0..sample.groups)
            .filter(|g| !self.groups_deleted.contains(g))
            .collect();
        for k in 0..self.new_users {
            let username = format!("new-{label}-{k:05}");
            let _: Value = client
                .post(
                    "/api/v1/users",
                    &json!({"username": username, "name": format!("New {label} {k}"),
                        "email": format!("{username}@{DOMAIN}")}),
                )
                .await
                .with_context(|| format!("creating user {username}"))?;
            counts.users_created += 1;
            for _ in 0..2 {
                if let Some(&group) = live_groups.get(rng.below(live_groups.len() as u64) as usize)
                {
                    let answer: Value = client
                        .post(
                            &format!(
                                "/api/v1/groups/{}/members",
                                SampleDirectory::group_name(group)
                            ),
                            &json!({"users": [username]}),
                        )
                        .await?;
                    counts.members_added += answer["added"].as_array().map_or(0, Vec::len) as u64;
                }
            }
        }
        for (group, users) in &self.added {
            let answer: Value = client
                .post(
                    &format!(
                        "/api/v1/groups/{}/members",
                        SampleDirectory::group_name(*group)
                    ),
                    &json!({"users": usernames(users)}),
                )
                .await?;
            counts.members_added += answer["added"].as_array().map_or(0, Vec::len) as u64;
        }
        for (group, users) in &self.removed {
            let answer: Value = client
                .post(
                    &format!(
                        "/api/v1/groups/{}/members/remove",
                        SampleDirectory::group_name(*group)
                    ),
                    &json!({"users": usernames(users)}),
                )
                .await?;
            counts.members_removed += answer["removed"].as_array().map_or(0, Vec::len) as u64;
        }
        for &user in &self.renamed {
            api.patch_user(
                &SampleDirectory::username(user),
                json!({"name": format!("Renamed {label} {user}")}),
            )
            .await?;
            counts.users_renamed += 1;
        }
        for &user in &self.disabled {
            api.patch_user(
                &SampleDirectory::username(user),
                json!({"is_active": false}),
            )
            .await?;
            counts.users_disabled += 1;
        }
        for &user in &self.deleted {
            let username = SampleDirectory::username(user);
            client
                .delete(&format!("/api/v1/users/{}", segment(&username)))
                .await
                .with_context(|| format!("deleting user {username}"))?;
            counts.users_deleted += 1;
        }
        for &group in &self.groups_deleted {
            let name = SampleDirectory::group_name(group);
            client
                .delete(&format!("/api/v1/groups/{}", segment(&name)))
                .await
                .with_context(|| format!("deleting group {name}"))?;
            counts.groups_deleted += 1;
        }
        for &group in &self.groups_renamed {
            let name = SampleDirectory::group_name(group);
            let _: Value = client
                .patch(
                    &format!("/api/v1/groups/{}", segment(&name)),
                    &json!({"name": format!("{name} renamed {label}")}),
                )
                .await
                .with_context(|| format!("renaming group {name}"))?;
            counts.groups_renamed += 1;
        }
        Ok(counts)
    }
}

fn usernames(users: &[u64]) -> Vec<String> {
    users
        .iter()
        .map(|&u| SampleDirectory::username(u))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_touches_objects_of_its_own_and_spares_the_kept_users() {
        let sample = SampleDirectory {
            users: 500,
            groups: 50,
            memberships: 2000,
        };
        let keep: HashSet<u64> = (0..20).collect();
        let changes = Changes::pick(&sample, &mut Rng::new(1, "changes"), &keep);
        let mut touched: Vec<u64> = [&changes.renamed, &changes.disabled, &changes.deleted]
            .into_iter()
            .flatten()
            .copied()
            .collect();
        let all = touched.len();
        touched.sort_unstable();
        touched.dedup();
        assert_eq!(touched.len(), all, "no user gets two kinds of change");
        assert!(touched.iter().all(|u| !keep.contains(u)));
        assert_eq!(
            (changes.renamed.len(), changes.deleted.len()),
            (10, 5),
            "2 % renamed, 1 % deleted"
        );
        for (group, users) in &changes.removed {
            assert!(!changes.groups_deleted.contains(group));
            for user in users {
                assert!(!changes.deleted.contains(user) && !keep.contains(user));
            }
        }
    }
}
