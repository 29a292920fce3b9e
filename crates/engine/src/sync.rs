//! One provider's sync: its settings and the ports it works through, and the reconcile of one
//! item (decide, then apply; a write that finds the object gone asks Entra again first).

use std::time::Duration;

use mapping::{Context, GroupInput, Mapped, Mapper, MappingError, ProviderContext, UserInput};
use model::{Group, Provider, User};
use serde_json::Value;

use crate::apply::{Applied, Executor};
use crate::local::{Item, Snapshot};
use crate::outcome::{Outcome, SyncError};
use crate::plan::Step;
use crate::planner::Planner;
use crate::ports::{Directory, Evaluator, Fence, Links, Protection, Snapshots, Target};

/// A provider's mappings, compiled once per provider version.
pub struct ProviderMappings {
    pub users: mapping::UserMappings,
    pub groups: mapping::GroupMappings,
    /// What expressions see as `provider`.
    pub context: ProviderContext,
}

/// Evaluates mappings right here, on the caller's thread: for tests and one-off tools (the
/// runner evaluates off the async workers).
pub struct InlineEvaluator<'a> {
    pub mapper: &'a Mapper,
    pub mappings: &'a ProviderMappings,
}

impl Evaluator for InlineEvaluator<'_> {
    async fn map_user(
        &self,
        user: &User,
        group_names: Vec<String>,
        link: Option<Value>,
    ) -> Result<Mapped, MappingError> {
        let input = UserInput {
            user,
            group_names: &group_names,
        };
        let context = Context {
            provider: &self.mappings.context,
            link: link.as_ref(),
        };
        self.mapper.map_user(&self.mappings.users, &input, &context)
    }

    async fn map_group(
        &self,
        group: &Group,
        member_count: u64,
        link: Option<Value>,
    ) -> Result<Mapped, MappingError> {
        let input = GroupInput {
            group,
            member_count,
        };
        let context = Context {
            provider: &self.mappings.context,
            link: link.as_ref(),
        };
        self.mapper
            .map_group(&self.mappings.groups, &input, &context)
    }
}

/// Everything reconciling needs for one provider. Cheap to build: it only borrows.
pub struct ProviderSync<'a, S, T, E, F> {
    pub provider: &'a Provider,
    /// The directory, links, snapshots and protection (the store).
    pub store: &'a S,
    pub target: &'a T,
    pub evaluator: &'a E,
    /// Whether the work is still ours; checked before every remote write.
    pub fence: &'a F,
    /// How long after our last write a 404 is taken for replication lag (normally
    /// [`crate::REPLICATION_GRACE`]).
    pub grace: Duration,
}

impl<S, T, E, F> ProviderSync<'_, S, T, E, F> {
    /// The planner over `snapshot` (it only reads).
    pub fn planner(&self, snapshot: Option<Snapshot>) -> Planner<'_, S, T, E> {
        Planner {
            provider: self.provider,
            store: self.store,
            target: self.target,
            evaluator: self.evaluator,
            snapshot,
            grace: self.grace,
        }
    }

    pub fn executor(&self) -> Executor<'_, S, T, F> {
        Executor {
            provider: self.provider,
            store: self.store,
            target: self.target,
            fence: self.fence,
        }
    }
}

impl<S, T, E, F> ProviderSync<'_, S, T, E, F>
where
    S: Directory + Links + Snapshots + Protection,
    T: Target,
    E: Evaluator,
    F: Fence,
{
    /// Brings one item in line now, compared with the provider's current snapshot.
    pub async fn reconcile(&self, item: Item) -> Result<Outcome, SyncError> {
        let snapshot = self.store.current_snapshot(self.provider.id).await?;
        let planner = self.planner(snapshot);
        let plan = planner.plan(item).await?;
        match self.executor().apply(&plan).await? {
            Applied::Done(outcome) => Ok(outcome),
            Applied::Vanished => {
                let plan = planner.replan_vanished(&plan).await?;
                match self.executor().apply(&plan).await? {
                    Applied::Done(outcome) => Ok(outcome),
                    Applied::Vanished => Err(SyncError::transient(
                        "vanished",
                        format!("{item}: the object Entra made again is gone at once"),
                        Duration::from_secs(60),
                    )),
                }
            }
        }
    }

    /// What reconciling one item would do now, done nothing of: `Planned` with its
    /// operations, or the outcome that needs none.
    pub async fn plan_item(&self, item: Item) -> Result<Outcome, SyncError> {
        let snapshot = self.store.current_snapshot(self.provider.id).await?;
        let plan = self.planner(snapshot).plan(item).await?;
        Ok(match plan.step {
            Step::Nothing(outcome) => outcome,
            Step::Apply(operations) => Outcome::Planned { operations },
        })
    }
}
