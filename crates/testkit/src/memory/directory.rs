//! The directory port: users, groups and members, read in keyset pages.

use super::*;

impl Directory for MemoryStore {
    async fn user(&self, id: UserId) -> Result<Option<User>, LocalError> {
        Ok(self.state().users.get(&id).cloned())
    }

    async fn group(&self, id: GroupId) -> Result<Option<Group>, LocalError> {
        Ok(self.state().groups.get(&id).cloned())
    }

    async fn user_group_names(&self, id: UserId) -> Result<Vec<String>, LocalError> {
        let state = self.state();
        let mut names: Vec<String> = state
            .members
            .iter()
            .filter(|(_, user)| *user == id)
            .filter_map(|(group, _)| state.groups.get(group))
            .map(|group| group.name.as_str().to_owned())
            .collect();
        names.sort();
        Ok(names)
    }

    async fn member_count(&self, group: GroupId) -> Result<u64, LocalError> {
        Ok(self
            .state()
            .members
            .iter()
            .filter(|(g, _)| *g == group)
            .count() as u64)
    }

    async fn is_member(&self, group: GroupId, user: UserId) -> Result<bool, LocalError> {
        Ok(self.state().members.contains(&(group, user)))
    }

    async fn users_page(&self, after: Option<UserId>, limit: u32) -> Result<Vec<User>, LocalError> {
        Ok(page(&self.state().users, after, limit))
    }

    async fn groups_page(
        &self,
        after: Option<GroupId>,
        limit: u32,
    ) -> Result<Vec<Group>, LocalError> {
        Ok(page(&self.state().groups, after, limit))
    }

    async fn members_page(
        &self,
        group: GroupId,
        after: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<User>, LocalError> {
        let state = self.state();
        Ok(state
            .members
            .iter()
            .filter(|(g, user)| *g == group && after.is_none_or(|after| *user > after))
            .filter_map(|(_, user)| state.users.get(user).cloned())
            .take(limit as usize)
            .collect())
    }
}
