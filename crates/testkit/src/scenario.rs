//! [`Scenario`]: one provider over in-memory ports ([`MemoryStore`], [`FakeTarget`], the
//! [`InlineQueue`]) with compiled mappings, so that whole syncs run in milliseconds.

use engine::{
    InlineEvaluator, Item, Outcome, ProviderMappings, ProviderSync, Quiet, SyncError, Unfenced,
};
use mapping::{Mapper, Mapping, MappingKind, ProviderContext};
use model::{Provider, ProviderId, ProviderSettings, RunId, RunReport};

use crate::{FakeTarget, InlineQueue, MemoryStore};

/// The tenant's domain, which the users' emails (and so UPNs) are in.
pub const DOMAIN: &str = "contoso.example";

/// See the module documentation.
pub struct Scenario {
    pub provider: Provider,
    pub store: MemoryStore,
    pub target: FakeTarget,
    mapper: Mapper,
    mappings: ProviderMappings,
}

impl Default for Scenario {
    fn default() -> Self {
        Self::new()
    }
}

impl Scenario {
    /// A provider with the default mappings.
    pub fn new() -> Self {
        Self::with_mappings(
            &[mapping::DEFAULT_USER_MAPPING],
            &[mapping::DEFAULT_GROUP_MAPPING],
        )
    }

    /// A provider with these user and group mappings (rhai sources, in order).
    pub fn with_mappings(users: &[&str], groups: &[&str]) -> Self {
        let mapper = Mapper::new();
        let compile = |kind: MappingKind, sources: &[&str]| -> Vec<Mapping> {
            sources
                .iter()
                .enumerate()
                .map(|(n, source)| Mapping::new(format!("{kind} {n}"), kind, *source))
                .collect()
        };
        let settings = ProviderSettings::new(
            "contoso.onmicrosoft.com",
            "0d7e9c4a-2b1f-4a6e-8c3d-5f6a7b8c9d0e",
            vec![],
            vec![],
        );
        let provider = Provider {
            id: ProviderId::new(),
            name: "scenario".into(),
            settings,
            credential: model::CredentialKind::ClientSecret,
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
        };
        let mappings = ProviderMappings {
            users: mapper
                .compile_users(&compile(MappingKind::User, users))
                .unwrap_or_else(|e| panic!("user mappings: {e}")),
            groups: mapper
                .compile_groups(&compile(MappingKind::Group, groups))
                .unwrap_or_else(|e| panic!("group mappings: {e}")),
            context: ProviderContext::new(&provider.name, &serde_json::json!({})),
        };
        Self {
            provider,
            store: MemoryStore::new(),
            target: FakeTarget::new(7),
            mapper,
            mappings,
        }
    }

    pub fn settings(&mut self) -> &mut ProviderSettings {
        &mut self.provider.settings
    }

    /// A user with an email in the tenant's domain.
    pub fn user(&self, username: &str) -> model::User {
        self.store
            .add_user(username, Some(&format!("{username}@{DOMAIN}")))
    }

    pub fn evaluator(&self) -> InlineEvaluator<'_> {
        InlineEvaluator {
            mapper: &self.mapper,
            mappings: &self.mappings,
        }
    }

    /// A queue over this scenario's ports (with `evaluator`).
    pub fn queue<'a>(
        &'a self,
        evaluator: &'a InlineEvaluator<'a>,
    ) -> InlineQueue<'a, MemoryStore, FakeTarget, InlineEvaluator<'a>> {
        InlineQueue::new(&self.provider, &self.store, &self.target, evaluator)
    }

    /// One full sync, as a run; its report and every item's outcome.
    pub async fn full_sync(&self) -> Result<(RunReport, Vec<(Item, Outcome)>), SyncError> {
        let evaluator = self.evaluator();
        let queue = self.queue(&evaluator);
        let report = engine::full_sync(
            &self.provider,
            &self.store,
            &self.target,
            &Unfenced,
            &queue,
            RunId::new(),
            &Quiet,
        )
        .await?;
        Ok((report, queue.outcomes()))
    }

    /// The dry run's plan (kept in the store under the returned run) and its report.
    pub async fn dry_run(&self) -> Result<(RunId, RunReport), SyncError> {
        let run = RunId::new();
        let report = engine::dry_run(
            &self.provider,
            &self.store,
            &self.target,
            &self.evaluator(),
            &self.store,
            run,
            engine::REPLICATION_GRACE,
            &Quiet,
        )
        .await?;
        Ok((run, report))
    }

    /// A direct sync of one item.
    pub async fn direct(&self, item: Item) -> Result<Outcome, SyncError> {
        let evaluator = self.evaluator();
        ProviderSync {
            provider: &self.provider,
            store: &self.store,
            target: &self.target,
            evaluator: &evaluator,
            fence: &Unfenced,
            grace: engine::REPLICATION_GRACE,
        }
        .reconcile(item)
        .await
    }
}
