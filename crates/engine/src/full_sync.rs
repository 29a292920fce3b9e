//! A full sync, and its dry run. The run: discovery into a snapshot of its own (which becomes
//! the provider's current one), accidental-delete protection, every object through the work
//! queue (shared with direct syncs and other nodes, so no object is reconciled twice at once),
//! then every group's members, then the tally. The dry run walks the same items and keeps the
//! plan of each; it reads only (its snapshot is private), so it cannot disturb a real run.

use model::{Provider, RunId, RunReport};

use crate::discovery::{DiscoveryProgress, discover};
use crate::local::{Item, LocalError, SnapshotPurpose};
use crate::outcome::SyncError;
use crate::plan::{ItemPlan, Operation, PlanItem, PlanSubject, Planned, Step};
use crate::planner::{PlannedRemotes, Planner};
use crate::ports::{
    Directory, Evaluator, Fence, LinksRead, Plans, Protection, Snapshots, TargetRead, WorkQueue,
};
use crate::protection::protect;
use crate::remote::RemoteKind;
use crate::visit::{self, Visit};

/// What a full sync reports while it runs (a progress bar, a log).
pub trait Observer: Send + Sync {
    fn discovery(&self, _progress: DiscoveryProgress) {}
    /// `done` of `total` objects reconciled (or planned).
    fn objects(&self, _done: u64, _total: u64) {}
    /// `done` of `total` groups' members reconciled (or planned).
    fn members(&self, _done: u64, _total: u64) {}
}

/// An observer that reports nothing.
pub struct Quiet;

impl Observer for Quiet {}

/// Runs provider's full sync `run`: see the module documentation.
pub async fn full_sync<S, R, F, Q>(
    provider: &Provider,
    store: &S,
    target: &R,
    fence: &F,
    queue: &Q,
    run: RunId,
    observer: &dyn Observer,
) -> Result<RunReport, SyncError>
where
    S: Directory + LinksRead + Snapshots + Protection,
    R: TargetRead,
    F: Fence,
    Q: WorkQueue,
{
    let mut report = RunReport::default();
    if provider.settings.discovery {
        let (_, counts) = discover(
            provider,
            store,
            target,
            fence,
            SnapshotPurpose::Sync,
            &|progress| observer.discovery(progress),
        )
        .await?;
        report.discovery = Some(counts);
    }
    report.held = protect(provider, store, run).await?;
    for (step, report_progress) in [
        (
            visit::Step::Objects,
            &(|done, total| observer.objects(done, total)) as &(dyn Fn(u64, u64) + Send + Sync),
        ),
        (visit::Step::Members, &|done, total| {
            observer.members(done, total)
        }),
    ] {
        let mut total = 0_u64;
        let mut walk = Visit::new(step);
        while let Some(items) = walk.next_page(provider, store).await? {
            if !fence.holds() {
                return Err(SyncError::LeaseLost);
            }
            total += items.len() as u64;
            queue.enqueue(provider.id, Some(run), &items).await?;
        }
        report_progress(0, total);
        queue
            .drain(provider.id, run, &|left| {
                report_progress(total.saturating_sub(left), total);
            })
            .await?;
    }
    let tally = queue.tally(run).await?;
    report.outcomes = tally.outcomes;
    report.members = tally.members;
    Ok(report)
}

/// What the plan of run `run` makes ahead of its membership step.
struct PlanOverlay<'a, P> {
    plans: &'a P,
    run: RunId,
}

impl<P: Plans> PlannedRemotes for PlanOverlay<'_, P> {
    async fn planned(
        &self,
        kind: RemoteKind,
        object: uuid::Uuid,
    ) -> Result<Option<Planned>, LocalError> {
        self.plans.planned(self.run, kind, object).await
    }

    async fn planned_of(
        &self,
        kind: RemoteKind,
        objects: &[uuid::Uuid],
    ) -> Result<std::collections::HashMap<uuid::Uuid, Planned>, LocalError> {
        self.plans.planned_of(self.run, kind, objects).await
    }
}

/// Plan items buffered before they are written.
const FLUSH: usize = 200;

/// The plan being written.
struct Sink<'a, P> {
    plans: &'a P,
    run: RunId,
    seq: i64,
    items: Vec<PlanItem>,
    report: RunReport,
    destructive: u64,
}

impl<P: Plans> Sink<'_, P> {
    /// Counts the item's plan, and keeps it when it has operations.
    async fn record(&mut self, plan: &ItemPlan) -> Result<(), LocalError> {
        match &plan.step {
            Step::Nothing(outcome) => {
                if plan.item.object().is_some() {
                    self.report.add(outcome.kind(), 1);
                }
            }
            Step::Apply(operations) => {
                self.count(plan.item, operations);
                self.seq += 1;
                self.items.push(PlanItem {
                    seq: self.seq,
                    subject: PlanSubject::of(plan.item),
                    object_id: match plan.item {
                        Item::Members(group) | Item::Membership { group, .. } => group.as_uuid(),
                        other => other.object().map(|(_, id)| id).unwrap_or_default(),
                    },
                    object_name: plan.name.clone(),
                    operations: operations.clone(),
                });
                if self.items.len() >= FLUSH {
                    self.flush().await?;
                }
            }
        }
        Ok(())
    }

    /// What the run would count the item as: its first operation names it.
    fn count(&mut self, item: Item, operations: &[Operation]) {
        use model::OutcomeKind as K;
        self.destructive += operations.iter().filter(|op| op.is_destructive()).count() as u64;
        if matches!(item, Item::Members(_) | Item::Membership { .. }) {
            for operation in operations {
                match operation {
                    Operation::AddMembers { members, .. } => {
                        self.report.members.added += members.len() as u64;
                    }
                    Operation::RemoveMember { .. } => self.report.members.removed += 1,
                    _ => {}
                }
            }
            return;
        }
        let kind = match operations.first() {
            Some(Operation::Create { .. }) => K::Created,
            Some(Operation::Recreate { .. }) => K::Recreated,
            Some(Operation::Adopt { .. }) => K::Adopted,
            Some(Operation::Update { .. }) => K::Updated,
            Some(Operation::Delete { .. }) => K::Deleted,
            Some(Operation::Disable { .. }) => K::Disabled,
            Some(Operation::Unlink { .. }) => K::Unlinked,
            Some(Operation::AddMembers { .. } | Operation::RemoveMember { .. }) | None => return,
        };
        self.report.add(kind, 1);
    }

    async fn flush(&mut self) -> Result<(), LocalError> {
        if !self.items.is_empty() {
            let items = std::mem::take(&mut self.items);
            self.plans.add_plan_items(self.run, &items).await?;
        }
        Ok(())
    }
}

/// Makes the plan of a full sync as dry run `run`, stored item by item; nothing is written to
/// Entra and no link is made (it is given read-only ports).
#[allow(clippy::too_many_arguments)] // the ports, the run, and how it is observed
pub async fn dry_run<S, R, E, P>(
    provider: &Provider,
    store: &S,
    target: &R,
    evaluator: &E,
    plans: &P,
    run: RunId,
    grace: std::time::Duration,
    observer: &dyn Observer,
) -> Result<RunReport, SyncError>
where
    S: Directory + LinksRead + Snapshots,
    R: TargetRead,
    E: Evaluator,
    P: Plans,
{
    let mut report = RunReport::default();
    let snapshot = if provider.settings.discovery {
        let (snapshot, counts) = discover(
            provider,
            store,
            target,
            &crate::ports::Unfenced,
            SnapshotPurpose::Plan,
            &|progress| observer.discovery(progress),
        )
        .await?;
        report.discovery = Some(counts);
        Some(snapshot)
    } else {
        None
    };
    let planner = Planner {
        provider,
        store,
        target,
        evaluator,
        snapshot,
        grace,
    };
    let mut sink = Sink {
        plans,
        run,
        seq: 0,
        items: Vec::new(),
        report,
        destructive: 0,
    };
    let planned = plan_steps(&planner, &mut sink, observer).await;
    let flushed = sink.flush().await;
    if let Some(snapshot) = snapshot
        && let Err(error) = store.drop_snapshot(snapshot.id).await
    {
        tracing::warn!(%error, "a plan's snapshot was not dropped");
    }
    planned?;
    flushed?;
    let threshold = provider.settings.delete_threshold;
    if threshold > 0 && sink.destructive > u64::from(threshold) {
        sink.report.held = Some(model::HeldDeletes {
            count: sink.destructive,
            threshold,
        });
    }
    Ok(sink.report)
}

async fn plan_steps<S, R, E, P>(
    planner: &Planner<'_, S, R, E>,
    sink: &mut Sink<'_, P>,
    observer: &dyn Observer,
) -> Result<(), SyncError>
where
    S: Directory + LinksRead + Snapshots,
    R: TargetRead,
    E: Evaluator,
    P: Plans,
{
    for step in [visit::Step::Objects, visit::Step::Members] {
        if step == visit::Step::Members {
            // What the objects step plans to make must be findable now.
            sink.flush().await?;
        }
        let mut done = 0;
        let mut walk = Visit::new(step);
        while let Some(items) = walk.next_page(planner.provider, planner.store).await? {
            for item in items {
                let overlay = PlanOverlay {
                    plans: sink.plans,
                    run: sink.run,
                };
                match planner.plan_with(item, &overlay).await {
                    Ok(plan) => sink.record(&plan).await?,
                    Err(error) if error.stops_provider() => return Err(error),
                    Err(SyncError::Local(error)) => return Err(SyncError::Local(error)),
                    // Entra could not be asked about this one now: the run would retry it.
                    Err(error) => {
                        tracing::info!(%item, %error, "a dry run could not plan one item");
                        if item.object().is_some() {
                            sink.report.add(model::OutcomeKind::Failed, 1);
                        } else {
                            sink.report.members.failed += 1;
                        }
                    }
                }
                done += 1;
            }
            match step {
                visit::Step::Objects => observer.objects(done, 0),
                visit::Step::Members => observer.members(done, 0),
            }
        }
    }
    Ok(())
}
