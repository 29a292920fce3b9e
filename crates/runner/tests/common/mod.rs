//! A provider over a real store (SQLite in a temporary directory) and a real Graph emulator on
//! loopback, with the runner working in this process.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use graph_emulator::{Emulator, EmulatorConfig, RunningEmulator};
use model::{
    NewPropertyMapping, Provider, ProviderId, ProviderSettings, Run, Schedule, User, UserId,
};
use runner::{GraphOverride, Quiet, Runner, RunnerOptions};
use serde_json::Value;
use store::{ProviderCredential, SecretKey, Store};

pub struct Harness {
    pub emulator: RunningEmulator,
    pub store: Store,
    pub runner: Arc<Runner>,
    pub provider: Provider,
    pub domain: String,
    pub key: Arc<SecretKey>,
    _dir: tempfile::TempDir,
}

pub fn default_mappings() -> Vec<NewPropertyMapping> {
    mapping::default_mappings()
        .into_iter()
        .map(|m| NewPropertyMapping {
            name: m.name,
            kind: m.kind,
            expression: m.expression,
        })
        .collect()
}

pub async fn mapping_id(store: &Store, name: &str) -> model::MappingId {
    store
        .find_mapping_by_name(name)
        .await
        .expect("read mappings")
        .expect("mapping exists")
        .id
}

/// A directory with the default mappings and a provider not created yet.
pub struct Setup {
    pub emulator: RunningEmulator,
    pub store: Store,
    pub domain: String,
    dir: tempfile::TempDir,
}

impl Setup {
    pub async fn new() -> Self {
        Self::with_emulator(EmulatorConfig::default()).await
    }

    pub async fn with_emulator(config: EmulatorConfig) -> Self {
        let emulator = Emulator::start(config).await.expect("start the emulator");
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("test.db").display());
        let store = Store::connect(&url).await.expect("open the store");
        store
            .ensure_mappings(&default_mappings())
            .await
            .expect("default mappings");
        let domain = emulator.verified_domains()[0].clone();
        Self {
            emulator,
            store,
            domain,
            dir,
        }
    }

    pub async fn settings(&self) -> ProviderSettings {
        let mut settings = ProviderSettings::new(
            self.emulator.tenant_id(),
            self.emulator.client_id(),
            vec![mapping_id(&self.store, mapping::DEFAULT_USER_MAPPING_NAME).await],
            vec![mapping_id(&self.store, mapping::DEFAULT_GROUP_MAPPING_NAME).await],
        );
        settings.schedule = Schedule {
            cron: "0 */4 * * *".into(),
            paused: false,
        };
        settings
    }

    pub async fn user(&self, username: &str) -> User {
        let mut new = model::NewUser::new(model::Username::parse(username).expect("username"));
        new.name = Some(format!("{username} name"));
        new.email =
            Some(model::Email::parse(format!("{username}@{}", self.domain)).expect("email"));
        self.store.create_user(new).await.expect("create user")
    }

    pub async fn group(&self, name: &str, members: &[&User]) -> model::Group {
        let group = self
            .store
            .create_group(model::NewGroup::new(
                model::GroupName::parse(name).expect("group name"),
            ))
            .await
            .expect("create group");
        let ids: Vec<UserId> = members.iter().map(|u| u.id).collect();
        if !ids.is_empty() {
            self.store
                .add_members(group.id, &ids)
                .await
                .expect("add members");
        }
        group
    }

    /// Creates the provider (which queues its first full sync) and its runner.
    pub async fn provider(self, settings: ProviderSettings) -> Harness {
        let secret = self.emulator.client_secret().expect("secret").to_owned();
        self.provider_with_secret(settings, secret).await
    }

    /// The same, with this client secret.
    pub async fn provider_with_secret(self, settings: ProviderSettings, secret: String) -> Harness {
        let (key, _) = SecretKey::generate().expect("key");
        let credential = ProviderCredential::ClientSecret(secret.into());
        let provider = self
            .store
            .create_provider("entra", settings, &credential, &key, ProviderId::new())
            .await
            .expect("create provider");
        let graph = GraphOverride {
            login_url: self.emulator.login_url().to_owned(),
            graph_url: self.emulator.base_url().to_owned(),
            time_scale: 1000.0,
        };
        let options = RunnerOptions {
            idle_poll: Duration::from_millis(10),
            // The emulator has no lag unless a test asks for it: a 404 is a deletion at once.
            replication_grace: Duration::ZERO,
            ..RunnerOptions::default()
        };
        let key = Arc::new(key);
        let runner = Arc::new(Runner::new(
            self.store.clone(),
            key.clone(),
            Some(graph),
            options,
            "test-node",
        ));
        Harness {
            emulator: self.emulator,
            store: self.store,
            runner,
            key,
            provider,
            domain: self.domain,
            _dir: self.dir,
        }
    }
}

impl Harness {
    /// Another runner on the same store and emulator (a second worker, or a restarted one).
    pub fn another_runner(&self, name: &str) -> Arc<Runner> {
        self.runner_with(
            name,
            RunnerOptions {
                idle_poll: Duration::from_millis(10),
                replication_grace: Duration::ZERO,
                ..RunnerOptions::default()
            },
        )
    }

    /// A runner with these options on the same store and emulator.
    pub fn runner_with(&self, name: &str, options: RunnerOptions) -> Arc<Runner> {
        Arc::new(Runner::new(
            self.store.clone(),
            self.key.clone(),
            Some(GraphOverride {
                login_url: self.emulator.login_url().to_owned(),
                graph_url: self.emulator.base_url().to_owned(),
                time_scale: 1000.0,
            }),
            options,
            name,
        ))
    }

    /// Creates a user with an email in the tenant's domain (directly in the store).
    pub async fn user_in_directory(&self, username: &str) -> User {
        let mut new = model::NewUser::new(model::Username::parse(username).expect("username"));
        new.email =
            Some(model::Email::parse(format!("{username}@{}", self.domain)).expect("email"));
        self.store.create_user(new).await.expect("create user")
    }

    /// Runs the queued full sync (there must be one).
    pub async fn full_sync(&self) -> Run {
        self.runner
            .full_sync_once(&Quiet)
            .await
            .expect("full sync runs")
            .expect("a full sync was queued")
    }

    /// Asks for a full sync and runs it.
    pub async fn sync_again(&self) -> Run {
        self.store
            .request_full_sync(self.provider.id, model::Trigger::Manual)
            .await
            .expect("queue a full sync");
        self.full_sync().await
    }

    /// Works until the provider's queue is empty (direct syncs).
    pub async fn drain(&self) {
        let left = self
            .runner
            .work_until_idle(self.provider.id, Duration::from_secs(30))
            .await
            .expect("work");
        assert_eq!(left, 0, "the queue did not drain: {left} rows left");
    }

    pub fn remote_users(&self) -> Vec<Value> {
        self.emulator.dump()["users"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    pub fn remote_groups(&self) -> Vec<Value> {
        self.emulator.dump()["groups"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    pub fn remote_user(&self, username: &str) -> Option<Value> {
        let upn = format!("{username}@{}", self.domain);
        self.remote_users()
            .into_iter()
            .find(|u| u["userPrincipalName"].as_str() == Some(upn.as_str()))
    }

    pub fn remote_group(&self, name: &str) -> Option<Value> {
        self.remote_groups()
            .into_iter()
            .find(|g| g["displayName"].as_str() == Some(name))
    }

    /// Write requests the emulator has answered so far.
    pub fn writes(&self) -> u64 {
        self.emulator.counters().writes
    }

    /// A number from the run's report, by the name a run used to count it under.
    pub fn count(run: &Run, name: &str) -> u64 {
        let report = &run.report;
        match name {
            "members_added" => report.members.added,
            "members_removed" => report.members.removed,
            "members_failed" => report.members.failed,
            "held_for_approval" => report.held.map_or(0, |held| held.count),
            "remote_users" => report.discovery.as_ref().map_or(0, |d| d.remote_users),
            "remote_groups" => report.discovery.as_ref().map_or(0, |d| d.remote_groups),
            other => other
                .parse::<model::OutcomeKind>()
                .map(|kind| report.count(kind))
                .unwrap_or_else(|e| panic!("{e}")),
        }
    }
}

pub fn member_ids(group: &Value) -> Vec<String> {
    let mut ids: Vec<String> = group["members"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    ids.sort();
    ids
}
