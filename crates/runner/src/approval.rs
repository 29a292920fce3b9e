//! Accidental-delete protection, as Entra Connect has it: a full sync that would delete or
//! disable more objects than the provider's threshold does none of it; the provider waits, with
//! the list, until an administrator approves (the deletes proceed) or rejects (they are dropped:
//! the links go, the remote objects stay, and the provider resumes).

use engine::{Directory, RemoteKind};
use model::{GroupDeleteAction, GroupId, Provider, ProviderId, RunId, UserDeleteAction, UserId};
use serde_json::{Map, Value, json};
use store::{Page, PlanItem, WorkKind};
use uuid::Uuid;

use crate::{Runner, RunnerError};

/// Links read per page.
const PAGE: u32 = 500;

/// A linked object that left the directory or the scope, and what its delete action does.
struct Leaving {
    kind: RemoteKind,
    object: Uuid,
    remote_id: String,
    operation: &'static str,
}

impl Runner {
    /// Before a full sync touches anything: holds its deletes when they exceed the threshold.
    /// Returns whether deletes are held (now or by an earlier run still awaiting a decision).
    pub(crate) async fn protect_against_mass_deletes(
        &self,
        provider: &Provider,
        run: RunId,
        counts: &mut Map<String, Value>,
    ) -> Result<bool, RunnerError> {
        if self
            .store
            .provider_state(provider.id)
            .await?
            .approval_run
            .is_some()
        {
            return Ok(true);
        }
        let threshold = provider.settings.delete_threshold;
        if threshold == 0 {
            return Ok(false);
        }
        let leaving = self.leaving(provider).await?;
        if leaving.len() <= threshold as usize {
            return Ok(false);
        }
        // The list an administrator decides on, kept with the run.
        let items: Vec<PlanItem> = leaving
            .iter()
            .enumerate()
            .map(|(n, object)| PlanItem {
                seq: n as i64 + 1,
                object_kind: object.kind.as_str().to_owned(),
                object_id: object.object,
                object_name: object.remote_id.clone(),
                operations: json!([{"operation": object.operation, "remote_id": object.remote_id}]),
            })
            .collect();
        self.store.add_plan_items(run, &items).await?;
        self.store.set_approval_run(provider.id, Some(run)).await?;
        counts.insert("held_for_approval".into(), json!(leaving.len()));
        counts.insert("delete_threshold".into(), json!(threshold));
        tracing::warn!(provider = %provider.name, %run, deletes = leaving.len(), threshold,
            "deletes exceed the threshold: none is done until an administrator approves");
        Ok(true)
    }

    /// Approves the held deletes: they proceed now. Returns how many objects are queued.
    pub async fn approve_deletes(&self, provider: ProviderId) -> Result<u64, RunnerError> {
        let provider = self.pending_decision(provider).await?;
        let leaving = self.leaving(&provider).await?;
        self.store.set_approval_run(provider.id, None).await?;
        let ids = |kind: RemoteKind| -> Vec<Uuid> {
            leaving
                .iter()
                .filter(|object| object.kind == kind)
                .map(|object| object.object)
                .collect()
        };
        let users = self
            .store
            .enqueue_objects(provider.id, WorkKind::User, &ids(RemoteKind::User))
            .await?;
        let groups = self
            .store
            .enqueue_objects(provider.id, WorkKind::Group, &ids(RemoteKind::Group))
            .await?;
        Ok(users + groups)
    }

    /// Rejects the held deletes: the links go (nothing is done remotely) and the provider
    /// resumes. Returns how many links were dropped.
    pub async fn reject_deletes(&self, provider: ProviderId) -> Result<u64, RunnerError> {
        let provider = self.pending_decision(provider).await?;
        let leaving = self.leaving(&provider).await?;
        for object in &leaving {
            engine::Links::remove_link(&self.store, provider.id, object.kind, object.object)
                .await
                .map_err(|error| RunnerError::Config(error.to_string()))?;
        }
        self.store.set_approval_run(provider.id, None).await?;
        Ok(leaving.len() as u64)
    }

    async fn pending_decision(&self, provider: ProviderId) -> Result<Provider, RunnerError> {
        if self
            .store
            .provider_state(provider)
            .await?
            .approval_run
            .is_none()
        {
            return Err(RunnerError::NothingAwaitsApproval);
        }
        Ok(self.store.get_provider(provider).await?)
    }

    /// Every linked object whose directory object is gone or out of scope, and whose delete
    /// action deletes or disables it.
    async fn leaving(&self, provider: &Provider) -> Result<Vec<Leaving>, RunnerError> {
        let settings = &provider.settings;
        let local = |error: engine::LocalError| RunnerError::Config(error.to_string());
        let mut leaving = Vec::new();
        for kind in [RemoteKind::User, RemoteKind::Group] {
            let operation = match kind {
                RemoteKind::User => match settings.user_delete_action {
                    UserDeleteAction::Delete => "delete",
                    UserDeleteAction::Suspend => "disable",
                    UserDeleteAction::DoNothing => continue,
                },
                RemoteKind::Group => match settings.group_delete_action {
                    GroupDeleteAction::Delete => "delete",
                    GroupDeleteAction::DoNothing => continue,
                },
            };
            let mut after = None;
            loop {
                let links = self
                    .store
                    .list_links(provider.id, kind, Page { after, limit: PAGE })
                    .await?;
                let Some(last) = links.last() else { break };
                after = Some(last.object);
                for link in links {
                    let stays = match kind {
                        RemoteKind::User => {
                            match Directory::user(&self.store, UserId::from_uuid(link.object))
                                .await
                                .map_err(local)?
                            {
                                Some(user) => engine::user_in_scope(&self.store, settings, &user)
                                    .await
                                    .map_err(local)?,
                                None => false,
                            }
                        }
                        RemoteKind::Group => {
                            match Directory::group(&self.store, GroupId::from_uuid(link.object))
                                .await
                                .map_err(local)?
                            {
                                Some(group) => engine::group_in_scope(settings, &group),
                                None => false,
                            }
                        }
                    };
                    if !stays {
                        leaving.push(Leaving {
                            kind,
                            object: link.object,
                            remote_id: link.remote_id.as_str().to_owned(),
                            operation,
                        });
                    }
                }
            }
        }
        Ok(leaving)
    }
}
