//! Links by hand: an administrator links a directory object to a remote object (which must
//! exist: it is read first), reads a link with what Entra holds now, or removes a link (local
//! only: nothing changes in Entra).

use chrono::Utc;
use engine::{Link, Links, RemoteId, RemoteKind, RemoteObject, Target, TargetError, compare};
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
        let link = Link {
            provider,
            kind,
            object,
            remote_id,
            written,
            synced_at: Utc::now(),
        };
        self.store.save_link(&link).await?;
        Ok((link, remote))
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
