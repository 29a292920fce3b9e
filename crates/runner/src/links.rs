//! Links by hand: an administrator links a directory object to a remote object (which must
//! exist: it is read first), reads a link with what Entra holds now, or removes a link (local
//! only: nothing changes in Entra). Both go through the object's work row, like any reconcile,
//! so that no worker reconciles the object meanwhile; the object is reconciled right after.

use std::time::{Duration, Instant};

use engine::{
    Item, Link, Links, LinksRead, NewLink, RemoteId, RemoteKind, RemoteObject, TargetError,
    TargetRead, compare,
};
use model::ProviderId;
use uuid::Uuid;

use crate::{Runner, RunnerError};

/// Why a link could not be made.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("the directory object is already linked to remote object {0}; remove that link first")]
    AlreadyLinked(RemoteId),
    #[error("remote object {0} is already linked to directory object {1}")]
    RemoteTaken(RemoteId, Uuid),
    #[error("Entra has no {0} with the id {1}")]
    NoSuchRemote(RemoteKind, RemoteId),
    #[error("Entra could not be asked: {0}")]
    Remote(TargetError),
    #[error("the directory object is not linked")]
    NotLinked,
    #[error(transparent)]
    Runner(#[from] RunnerError),
    #[error(transparent)]
    Local(#[from] engine::LocalError),
}

impl Runner {
    /// Links `object` to the remote object `remote_id`, after reading it from Entra. What Entra
    /// holds becomes the link's baseline: the next sync PATCHes only what differs.
    pub async fn link_by_hand(
        &self,
        provider: ProviderId,
        kind: RemoteKind,
        object: Uuid,
        remote_id: RemoteId,
    ) -> Result<(Link, RemoteObject), LinkError> {
        let row = self.claim_for_hand(provider, kind, object).await?;
        let result = async {
            if let Some(existing) = self.store.link(provider, kind, object).await? {
                return Err(LinkError::AlreadyLinked(existing.remote_id));
            }
            if let Some(other) = self
                .store
                .link_to_remote(provider, kind, &remote_id)
                .await?
            {
                return Err(LinkError::RemoteTaken(remote_id, other.object));
            }
            let remote = self.read_remote(provider, kind, &remote_id).await?;
            let mut written = remote.properties.clone();
            written.retain(|name, _| compare::select(kind).contains(&name.as_str()));
            self.store
                .save_link(&NewLink {
                    provider,
                    kind,
                    object,
                    remote_id,
                    written,
                })
                .await?;
            let link = self
                .store
                .link(provider, kind, object)
                .await?
                .ok_or(LinkError::NotLinked)?;
            Ok((link, remote))
        }
        .await;
        // Given back due: the object is reconciled against its new link right away.
        self.store
            .release_work(&row)
            .await
            .map_err(RunnerError::from)?;
        result
    }

    /// Removes the link of a directory object (nothing changes in Entra).
    pub async fn unlink_by_hand(
        &self,
        provider: ProviderId,
        kind: RemoteKind,
        object: Uuid,
    ) -> Result<(), LinkError> {
        let row = self.claim_for_hand(provider, kind, object).await?;
        let result = async {
            if self.store.link(provider, kind, object).await?.is_none() {
                return Err(LinkError::NotLinked);
            }
            self.store.remove_link(provider, kind, object).await?;
            Ok(())
        }
        .await;
        // Done with: unlinking by hand must not make the next reconcile create it at once.
        self.store
            .complete_work(&row, &engine::Tally::default())
            .await
            .map_err(RunnerError::from)?;
        result
    }

    async fn claim_for_hand(
        &self,
        provider: ProviderId,
        kind: RemoteKind,
        object: Uuid,
    ) -> Result<store::WorkItem, LinkError> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(row) = self
                .store
                .claim_item_now(
                    provider,
                    Item::of(kind, object),
                    &self.owner,
                    self.options.lease,
                )
                .await
                .map_err(RunnerError::from)?
            {
                return Ok(row);
            }
            if Instant::now() > deadline {
                return Err(LinkError::Runner(RunnerError::Busy(
                    "a worker has held this object for 30 s; try again later".into(),
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// What Entra holds for this remote object now.
    pub async fn read_remote(
        &self,
        provider: ProviderId,
        kind: RemoteKind,
        remote_id: &RemoteId,
    ) -> Result<RemoteObject, LinkError> {
        let runtime = self.runtimes.get(provider).await?;
        match runtime
            .target
            .get(kind, remote_id, compare::select(kind))
            .await
        {
            Ok(remote) => Ok(remote),
            Err(TargetError::NotFound { .. }) => {
                Err(LinkError::NoSuchRemote(kind, remote_id.clone()))
            }
            Err(error) => Err(LinkError::Remote(error)),
        }
    }
}
