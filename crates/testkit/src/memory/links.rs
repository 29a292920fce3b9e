//! Links between directory objects and remote ones: one per remote object, found both ways, paged for clean-up.

use super::*;

impl LinksRead for MemoryStore {
    async fn link(
        &self,
        provider: ProviderId,
        kind: RemoteKind,
        object: Uuid,
    ) -> Result<Option<Link>, LocalError> {
        Ok(self.state().links.get(&(provider, kind, object)).cloned())
    }

    async fn links_of(
        &self,
        provider: ProviderId,
        kind: RemoteKind,
        objects: &[Uuid],
    ) -> Result<Vec<Link>, LocalError> {
        let state = self.state();
        Ok(objects
            .iter()
            .filter_map(|object| state.links.get(&(provider, kind, *object)).cloned())
            .collect())
    }

    async fn link_to_remote(
        &self,
        provider: ProviderId,
        kind: RemoteKind,
        remote: &RemoteId,
    ) -> Result<Option<Link>, LocalError> {
        Ok(self
            .state()
            .links
            .values()
            .find(|l| l.provider == provider && l.kind == kind && &l.remote_id == remote)
            .cloned())
    }

    async fn links_page(
        &self,
        provider: ProviderId,
        kind: RemoteKind,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<Link>, LocalError> {
        Ok(self
            .state()
            .links
            .values()
            .filter(|l| l.provider == provider && l.kind == kind)
            .filter(|l| after.is_none_or(|after| l.object > after))
            .take(limit as usize)
            .cloned()
            .collect())
    }

    async fn orphaned_links_page(
        &self,
        provider: ProviderId,
        kind: RemoteKind,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<Link>, LocalError> {
        let state = self.state();
        Ok(state
            .links
            .values()
            .filter(|l| l.provider == provider && l.kind == kind)
            .filter(|l| after.is_none_or(|after| l.object > after))
            .filter(|l| match kind {
                RemoteKind::User => !state.users.contains_key(&UserId::from_uuid(l.object)),
                RemoteKind::Group => !state.groups.contains_key(&GroupId::from_uuid(l.object)),
            })
            .take(limit as usize)
            .cloned()
            .collect())
    }
}

impl Links for MemoryStore {
    async fn save_link(&self, link: &NewLink) -> Result<(), LocalError> {
        let mut state = self.state();
        let taken = state.links.values().any(|l| {
            l.provider == link.provider
                && l.kind == link.kind
                && l.remote_id == link.remote_id
                && l.object != link.object
        });
        if taken {
            return Err(LocalError::message(format!(
                "remote object {} is linked to another object",
                link.remote_id
            )));
        }
        state.links.insert(
            (link.provider, link.kind, link.object),
            Link {
                provider: link.provider,
                kind: link.kind,
                object: link.object,
                remote_id: link.remote_id.clone(),
                written: link.written.clone(),
                synced_at: Utc::now(),
            },
        );
        Ok(())
    }

    async fn remove_link(
        &self,
        provider: ProviderId,
        kind: RemoteKind,
        object: Uuid,
    ) -> Result<(), LocalError> {
        self.state().links.remove(&(provider, kind, object));
        Ok(())
    }
}
