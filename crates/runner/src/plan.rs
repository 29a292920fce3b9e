//! Dry runs: the complete plan of a full sync (creates with their documents, updates field by
//! field, adoptions, deletes and disables, member adds and removes), recorded as a run. Nothing
//! is written remotely and no link is made; the plan is computed here, object by object, rather
//! than through the work table, so that it cannot clear work a real run still has to do.

use engine::{Directory, DiscoveryReport, Operation, Outcome, ProviderSync, RemoteKind, SyncError};
use model::{GroupId, ProviderId, Run, RunId, RunStatus, Trigger, UserId};
use serde_json::{Map, Value, json};
use store::PlanItem;
use uuid::Uuid;

use crate::full_sync::Observer;
use crate::{Runner, RunnerError};

/// Directory objects read per page.
const PAGE: u32 = 500;

/// Plan items buffered before they are written.
const FLUSH: usize = 200;

/// Counts and the buffered items of a plan being made.
struct Planner {
    run: RunId,
    next_seq: i64,
    items: Vec<PlanItem>,
    counts: Map<String, Value>,
}

impl Planner {
    fn count(&mut self, name: &str, by: u64) {
        let entry = self.counts.entry(name.to_owned()).or_insert(json!(0));
        *entry = json!(entry.as_u64().unwrap_or(0) + by);
    }

    fn add(&mut self, kind: &str, object: Uuid, name: &str, operations: &[Operation]) {
        for operation in operations {
            match operation {
                Operation::Create { .. } => self.count("created", 1),
                Operation::Recreate { .. } => self.count("recreated", 1),
                Operation::Update { .. } => self.count("updated", 1),
                Operation::Adopt { .. } => self.count("adopted", 1),
                Operation::Delete { .. } => self.count("deleted", 1),
                Operation::Disable { .. } => self.count("disabled", 1),
                Operation::Unlink { .. } => self.count("unlinked", 1),
                Operation::AddMembers {
                    members,
                    new_members,
                    ..
                } => self.count("members_added", (members.len() + new_members.len()) as u64),
                Operation::RemoveMember { .. } => self.count("members_removed", 1),
            }
        }
        self.next_seq += 1;
        self.items.push(PlanItem {
            seq: self.next_seq,
            object_kind: kind.to_owned(),
            object_id: object,
            object_name: name.to_owned(),
            operations: json!(operations),
        });
    }
}

impl Runner {
    /// Makes the provider's plan as a dry run and records it as a run (also when the provider
    /// is not in dry-run mode: nothing is written remotely either way).
    pub async fn plan(
        &self,
        provider: ProviderId,
        trigger: Trigger,
        observer: &dyn Observer,
    ) -> Result<Run, RunnerError> {
        let run = self.store.start_run(provider, trigger, true).await?;
        self.plan_run(run, observer).await
    }

    /// Makes the plan of a dry run already recorded as running.
    pub async fn plan_run(&self, run: Run, observer: &dyn Observer) -> Result<Run, RunnerError> {
        let provider = run.provider_id;
        let mut planner = Planner {
            run: run.id,
            next_seq: 0,
            items: Vec::new(),
            counts: Map::new(),
        };
        let result = self.plan_steps(provider, &mut planner, observer).await;
        let flushed = self.flush(&mut planner, true).await;
        let (status, error) = match (result, flushed) {
            (Ok(()), Ok(())) => (RunStatus::Succeeded, None),
            (Err(error), _) => (RunStatus::Stopped, Some(error.to_string())),
            (Ok(()), Err(error)) => (RunStatus::Stopped, Some(error.to_string())),
        };
        Ok(self
            .store
            .finish_run(run.id, status, planner.counts, error.as_deref())
            .await?)
    }

    async fn flush(&self, planner: &mut Planner, all: bool) -> Result<(), RunnerError> {
        if planner.items.len() >= FLUSH || (all && !planner.items.is_empty()) {
            let items = std::mem::take(&mut planner.items);
            self.store.add_plan_items(planner.run, &items).await?;
        }
        Ok(())
    }

    async fn plan_steps(
        &self,
        provider: ProviderId,
        planner: &mut Planner,
        observer: &dyn Observer,
    ) -> Result<(), PlanError> {
        let runtime = self.runtimes.get(provider).await?;
        let mut planned = runtime.provider.clone();
        planned.settings.dry_run = true;
        let sync = ProviderSync {
            provider: &planned,
            mappings: &runtime.mappings,
            mapper: self.runtimes.mapper(),
            directory: &self.store,
            links: &self.store,
            target: &*runtime.target,
            hold_deletes: false,
        };
        if planned.settings.discovery {
            let report: DiscoveryReport = sync
                .discover(&|progress| observer.discovery(progress))
                .await?;
            planner.count("remote_users", report.remote_users);
            planner.count("remote_groups", report.remote_groups);
            planner
                .counts
                .insert("ambiguous".into(), json!(report.ambiguous));
        }

        let mut done = 0;
        let mut after: Option<UserId> = None;
        loop {
            let page = Directory::users_page(&self.store, after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            for user in &page {
                let outcome = sync.reconcile_user(user.id).await?;
                record(
                    planner,
                    "user",
                    user.id.as_uuid(),
                    user.username.as_str(),
                    &outcome,
                );
                done += 1;
            }
            observer.objects(done, 0);
            self.flush(planner, false).await?;
        }
        let mut after: Option<GroupId> = None;
        loop {
            let page = Directory::groups_page(&self.store, after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            for group in &page {
                let outcome = sync.reconcile_group(group.id).await?;
                record(
                    planner,
                    "group",
                    group.id.as_uuid(),
                    group.name.as_str(),
                    &outcome,
                );
                done += 1;
            }
            observer.objects(done, 0);
            self.flush(planner, false).await?;
        }
        // Links whose directory object is gone: their delete action.
        for kind in [RemoteKind::User, RemoteKind::Group] {
            let mut after = None;
            loop {
                let links = self
                    .store
                    .list_links(provider, kind, store::Page { after, limit: PAGE })
                    .await?;
                let Some(last) = links.last() else { break };
                after = Some(last.object);
                for link in &links {
                    let gone = match kind {
                        RemoteKind::User => {
                            Directory::user(&self.store, UserId::from_uuid(link.object))
                                .await?
                                .is_none()
                        }
                        RemoteKind::Group => {
                            Directory::group(&self.store, GroupId::from_uuid(link.object))
                                .await?
                                .is_none()
                        }
                    };
                    if !gone {
                        continue;
                    }
                    let outcome = match kind {
                        RemoteKind::User => {
                            sync.reconcile_user(UserId::from_uuid(link.object)).await?
                        }
                        RemoteKind::Group => {
                            sync.reconcile_group(GroupId::from_uuid(link.object))
                                .await?
                        }
                    };
                    let name = format!("(deleted) {}", link.remote_id);
                    record(planner, kind.as_str(), link.object, &name, &outcome);
                }
                self.flush(planner, false).await?;
            }
        }
        // Members, group by group.
        let mut after: Option<GroupId> = None;
        let mut groups = 0;
        loop {
            let page = Directory::groups_page(&self.store, after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            for group in &page {
                if let Some(report) = sync.reconcile_group_members(group).await?
                    && !report.planned.is_empty()
                {
                    planner.add(
                        "members",
                        group.id.as_uuid(),
                        group.name.as_str(),
                        &report.planned,
                    );
                }
                groups += 1;
                observer.members(groups);
            }
            self.flush(planner, false).await?;
        }
        Ok(())
    }
}

fn record(planner: &mut Planner, kind: &str, object: Uuid, name: &str, outcome: &Outcome) {
    match outcome {
        Outcome::Planned { operations } => planner.add(kind, object, name, operations),
        Outcome::Rejected { .. } => planner.count("failed", 1),
        other => planner.count(other.name(), 1),
    }
}

/// Why a plan could not be made.
#[derive(Debug, thiserror::Error)]
enum PlanError {
    #[error(transparent)]
    Runner(#[from] RunnerError),
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error(transparent)]
    Local(#[from] engine::LocalError),
    #[error(transparent)]
    Store(#[from] store::StoreError),
}
