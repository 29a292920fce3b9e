//! The generated directory the sync benchmarks share (`bench sync`, `bench chaos`): users
//! `user000000…` with a name and an email on the emulator's default domain, groups
//! `group0000…`, and memberships spread evenly over the groups.

use anyhow::anyhow;
use model::{Email, GroupName, ImportRecord, MembershipRef, NewGroup, NewUser, Username};

/// The emulator's default verified domain: every generated email is on it, so it can be a UPN.
pub const DOMAIN: &str = graph_emulator::config::DEFAULT_DOMAIN;

/// A directory of this many users, groups and memberships.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SampleDirectory {
    pub users: u64,
    pub groups: u64,
    pub memberships: u64,
}

impl SampleDirectory {
    pub fn username(user: u64) -> String {
        format!("user{user:06}")
    }

    pub fn display_name(user: u64) -> String {
        format!("User {user}")
    }

    pub fn email(user: u64) -> String {
        format!("{}@{DOMAIN}", Self::username(user))
    }

    pub fn group_name(group: u64) -> String {
        format!("group{group:04}")
    }

    /// Membership `m` as (user, group): user `m % users` in group `(m / users + m) % groups`,
    /// so no pair comes twice while `memberships <= users * groups`.
    pub fn membership(&self, m: u64) -> (u64, u64) {
        let user = m % self.users.max(1);
        let group = (m / self.users.max(1) + m) % self.groups.max(1);
        (user, group)
    }

    /// How many memberships there are: none without users or groups.
    pub fn membership_count(&self) -> u64 {
        if self.users == 0 || self.groups == 0 {
            0
        } else {
            self.memberships
        }
    }

    /// Groups, then users, then memberships: import records in an order that always resolves.
    pub fn records(&self) -> impl Iterator<Item = anyhow::Result<ImportRecord>> + '_ {
        let groups = (0..self.groups).map(|g| {
            Ok(ImportRecord::Group(NewGroup::new(group_name(
                Self::group_name(g),
            )?)))
        });
        let users = (0..self.users).map(|u| {
            let mut user = NewUser::new(username(Self::username(u))?);
            user.name = Some(Self::display_name(u));
            user.email = Some(Email::parse(Self::email(u)).map_err(|e| anyhow!("{e}"))?);
            Ok(ImportRecord::User(user))
        });
        let memberships = (0..self.membership_count()).map(|m| {
            let (user, group) = self.membership(m);
            Ok(ImportRecord::Membership(MembershipRef {
                group: group_name(Self::group_name(group))?,
                user: username(Self::username(user))?,
            }))
        });
        groups.chain(users).chain(memberships)
    }
}

fn username(name: String) -> anyhow::Result<Username> {
    Username::parse(name).map_err(|e| anyhow!("{e}"))
}

fn group_name(name: String) -> anyhow::Result<GroupName> {
    GroupName::parse(name).map_err(|e| anyhow!("{e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memberships_never_repeat_a_pair() {
        let sample = SampleDirectory {
            users: 7,
            groups: 5,
            memberships: 35,
        };
        let mut pairs: Vec<_> = (0..35).map(|m| sample.membership(m)).collect();
        pairs.sort_unstable();
        pairs.dedup();
        assert_eq!(pairs.len(), 35);
    }

    #[test]
    fn records_come_groups_first_then_users_then_memberships() {
        let sample = SampleDirectory {
            users: 3,
            groups: 2,
            memberships: 4,
        };
        let records: Vec<ImportRecord> = sample
            .records()
            .collect::<anyhow::Result<_>>()
            .expect("records");
        assert_eq!(records.len(), 9);
        assert!(matches!(records[0], ImportRecord::Group(_)));
        assert!(matches!(records[2], ImportRecord::User(_)));
        assert!(matches!(records[8], ImportRecord::Membership(_)));
    }
}
