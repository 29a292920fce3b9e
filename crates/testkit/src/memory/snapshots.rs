//! Snapshots of the tenant, one per discovery: written while open, never changed once finished, only a full sync's made current.

use super::*;

impl Snapshots for MemoryStore {
    async fn begin_snapshot(
        &self,
        provider: ProviderId,
        purpose: SnapshotPurpose,
    ) -> Result<SnapshotId, LocalError> {
        let id = SnapshotId::new();
        self.state().snapshots.insert(
            id,
            StoredSnapshot {
                provider,
                purpose,
                started_at: Utc::now(),
                finished: false,
                objects: BTreeMap::new(),
            },
        );
        Ok(id)
    }

    async fn add_to_snapshot(
        &self,
        snapshot: SnapshotId,
        kind: RemoteKind,
        entries: &[SnapshotEntry],
    ) -> Result<(), LocalError> {
        let mut state = self.state();
        let Some(stored) = state.snapshots.get_mut(&snapshot).filter(|s| !s.finished) else {
            return Err(LocalError::message(format!(
                "snapshot {snapshot} is finished or gone"
            )));
        };
        for entry in entries {
            stored
                .objects
                .insert((kind, entry.object.id.clone()), entry.clone());
        }
        Ok(())
    }

    async fn finish_snapshot(&self, snapshot: SnapshotId) -> Result<Snapshot, LocalError> {
        let mut state = self.state();
        let Some(stored) = state.snapshots.get_mut(&snapshot) else {
            return Err(LocalError::message(format!("snapshot {snapshot} is gone")));
        };
        stored.finished = true;
        let (provider, purpose, taken_at) = (stored.provider, stored.purpose, stored.started_at);
        if purpose == SnapshotPurpose::Sync {
            state.current.insert(provider, snapshot);
            state.snapshots.retain(|id, s| {
                *id == snapshot || s.provider != provider || s.purpose != SnapshotPurpose::Sync
            });
        }
        Ok(Snapshot {
            id: snapshot,
            taken_at,
        })
    }

    async fn drop_snapshot(&self, snapshot: SnapshotId) -> Result<(), LocalError> {
        let mut state = self.state();
        state.snapshots.remove(&snapshot);
        state.current.retain(|_, id| *id != snapshot);
        Ok(())
    }

    async fn current_snapshot(&self, provider: ProviderId) -> Result<Option<Snapshot>, LocalError> {
        let state = self.state();
        Ok(state.current.get(&provider).and_then(|id| {
            state.snapshots.get(id).map(|s| Snapshot {
                id: *id,
                taken_at: s.started_at,
            })
        }))
    }

    async fn snapshot_object(
        &self,
        snapshot: SnapshotId,
        kind: RemoteKind,
        id: &RemoteId,
    ) -> Result<Option<RemoteObject>, LocalError> {
        Ok(self
            .state()
            .snapshots
            .get(&snapshot)
            .and_then(|s| s.objects.get(&(kind, id.clone())))
            .map(|entry| entry.object.clone()))
    }

    async fn snapshot_matching(
        &self,
        snapshot: SnapshotId,
        kind: RemoteKind,
        key: &str,
    ) -> Result<Vec<RemoteObject>, LocalError> {
        Ok(self
            .state()
            .snapshots
            .get(&snapshot)
            .map(|s| {
                s.objects
                    .iter()
                    .filter(|((k, _), entry)| *k == kind && entry.keys.iter().any(|x| x == key))
                    .map(|(_, entry)| entry.object.clone())
                    .collect()
            })
            .unwrap_or_default())
    }
}
