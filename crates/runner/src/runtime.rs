//! A provider ready to sync: its compiled mappings and its Graph client, built once per version
//! of the provider and its mappings, and shared (the client's token cache and pacing must be
//! shared by every task that talks to the tenant).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use engine::ProviderMappings;
use entra::EntraTarget;
use mapping::{Mapper, Mapping, ProviderContext};
use model::{Cloud, MappingId, Provider, ProviderId};
use msgraph::{ClientConfig, Credential, Endpoints, GraphClient, PacingConfig};
use secrecy::ExposeSecret;
use store::{ProviderCredential, SecretKey, Store};

use crate::RunnerError;

/// Where Graph and its login live, when not at the provider's cloud: the emulator.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphOverride {
    pub login_url: String,
    pub graph_url: String,
    /// How much faster than real time the emulator's throttling clock runs: pacing speeds up
    /// by as much (1 for a real deployment's limits).
    pub time_scale: f64,
}

/// One provider, compiled and connected.
pub struct ProviderRuntime {
    pub provider: Provider,
    pub mappings: ProviderMappings,
    pub target: Arc<EntraTarget>,
    fingerprint: Fingerprint,
    /// When the store was last asked whether the provider or its mappings changed (`None`:
    /// ask before the next use).
    checked: Mutex<Option<Instant>>,
}

/// How long a runtime is used before the store is asked again whether it changed: every item
/// would otherwise read the provider and each of its mappings.
const RECHECK: Duration = Duration::from_secs(1);

/// What a runtime was built from: when any of it changes, it is built again.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Fingerprint {
    provider: DateTime<Utc>,
    mappings: Vec<(MappingId, DateTime<Utc>)>,
}

/// Builds runtimes and keeps the current one per provider.
pub struct Runtimes {
    store: Store,
    secret_key: Arc<SecretKey>,
    graph: Option<GraphOverride>,
    mapper: Arc<Mapper>,
    cache: Mutex<HashMap<ProviderId, Arc<ProviderRuntime>>>,
}

impl Runtimes {
    pub fn new(
        store: Store,
        secret_key: Arc<SecretKey>,
        graph: Option<GraphOverride>,
        mapper: Arc<Mapper>,
    ) -> Self {
        Self {
            store,
            secret_key,
            graph,
            mapper,
            cache: Mutex::new(HashMap::new()),
        }
    }

    pub fn mapper(&self) -> &Arc<Mapper> {
        &self.mapper
    }

    /// The provider's runtime, checked against the store now (a full sync right after a save).
    pub async fn get_fresh(&self, id: ProviderId) -> Result<Arc<ProviderRuntime>, RunnerError> {
        if let Some(current) = self.cached(id) {
            *current
                .checked
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()) = None;
        }
        self.get(id).await
    }

    /// The provider's current runtime (rebuilt when the provider or a mapping changed; the
    /// store is asked at most every second).
    pub async fn get(&self, id: ProviderId) -> Result<Arc<ProviderRuntime>, RunnerError> {
        if let Some(current) = self.cached(id) {
            let mut checked = current
                .checked
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if checked.is_some_and(|at| at.elapsed() < RECHECK) {
                drop(checked);
                return Ok(current);
            }
            *checked = Some(Instant::now());
        }
        let provider = self.store.get_provider(id).await?;
        let mut mappings = Vec::new();
        let ids = provider
            .settings
            .user_mappings
            .iter()
            .chain(&provider.settings.group_mappings);
        for mapping_id in ids {
            mappings.push(self.store.get_mapping(*mapping_id).await?);
        }
        let fingerprint = Fingerprint {
            provider: provider.updated_at,
            mappings: mappings.iter().map(|m| (m.id, m.updated_at)).collect(),
        };
        if let Some(current) = self.cached(id)
            && current.fingerprint == fingerprint
        {
            return Ok(current);
        }
        // Keep the Graph client when only mappings changed: its token and pacing stay valid.
        let target = match self.cached(id) {
            Some(previous) if previous.fingerprint.provider == fingerprint.provider => {
                previous.target.clone()
            }
            _ => Arc::new(EntraTarget::new(self.client(&provider).await?)),
        };
        let as_mapping = |stored: &model::PropertyMapping| {
            Mapping::new(stored.name.clone(), stored.kind, stored.expression.clone())
        };
        let users: Vec<Mapping> = mappings
            .iter()
            .filter(|m| provider.settings.user_mappings.contains(&m.id))
            .map(as_mapping)
            .collect();
        let groups: Vec<Mapping> = mappings
            .iter()
            .filter(|m| provider.settings.group_mappings.contains(&m.id))
            .map(as_mapping)
            .collect();
        let settings = serde_json::to_value(&provider.settings)
            .map_err(|err| RunnerError::Provider(err.to_string()))?;
        let compiled = ProviderMappings {
            users: self.mapper.compile_users(&users)?,
            groups: self.mapper.compile_groups(&groups)?,
            context: ProviderContext::new(&provider.name, &settings),
        };
        let runtime = Arc::new(ProviderRuntime {
            provider,
            mappings: compiled,
            target,
            fingerprint,
            checked: Mutex::new(Some(Instant::now())),
        });
        self.cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(id, runtime.clone());
        Ok(runtime)
    }

    /// The Graph usage of every provider built on this node.
    pub(crate) fn graph_usage(&self) -> Vec<crate::GraphUsage> {
        let runtimes: Vec<Arc<ProviderRuntime>> = self
            .cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .values()
            .cloned()
            .collect();
        runtimes
            .iter()
            .map(|runtime| crate::GraphUsage {
                provider: runtime.provider.id,
                metrics: runtime.target.graph().metrics(),
            })
            .collect()
    }

    fn cached(&self, id: ProviderId) -> Option<Arc<ProviderRuntime>> {
        self.cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(&id)
            .cloned()
    }

    async fn client(&self, provider: &Provider) -> Result<GraphClient, RunnerError> {
        let endpoints = match &self.graph {
            Some(graph) => Endpoints::custom(&graph.login_url, &graph.graph_url),
            None => Endpoints::for_cloud(match provider.settings.cloud {
                Cloud::Global => msgraph::Cloud::Global,
                Cloud::UsGovernment => msgraph::Cloud::UsGov,
                Cloud::UsGovernmentDod => msgraph::Cloud::UsGovDod,
                Cloud::China => msgraph::Cloud::China,
            }),
        };
        let credential = match self
            .store
            .provider_credential(provider.id, &self.secret_key)
            .await
            .map_err(node_key)?
        {
            ProviderCredential::ClientSecret(secret) => {
                Credential::secret(secret.expose_secret().to_owned())
            }
            ProviderCredential::Certificate {
                certificate_pem,
                private_key_pem,
            } => Credential::certificate(private_key_pem.expose_secret(), &certificate_pem)
                .map_err(|err| {
                    RunnerError::Provider(format!("the provider's certificate: {err}"))
                })?,
        };
        let scale = self
            .graph
            .as_ref()
            .map_or(1.0, |graph| graph.time_scale.max(1.0));
        let config = ClientConfig::new(
            endpoints,
            provider.settings.tenant_id.clone(),
            provider.settings.client_id.clone(),
            credential,
        )
        .with_pacing(PacingConfig::default().scaled(scale));
        GraphClient::new(config).map_err(|err| RunnerError::Provider(err.to_string()))
    }

    /// Opens every stored credential with this node's secret key.
    pub(crate) async fn verify_credentials(&self) -> Result<(), RunnerError> {
        let mut after = None;
        loop {
            let page = self
                .store
                .list_providers(store::Page { after, limit: 100 })
                .await?;
            let Some(last) = page.last() else {
                return Ok(());
            };
            after = Some(last.id.as_uuid());
            for provider in &page {
                self.store
                    .provider_credential(provider.id, &self.secret_key)
                    .await
                    .map_err(|error| match node_key(error) {
                        RunnerError::NodeKey(reason) => {
                            RunnerError::NodeKey(format!("provider {:?}: {reason}", provider.name))
                        }
                        other => other,
                    })?;
            }
        }
    }
}

/// A credential this node cannot open is this node's fault (its key), not the provider's.
fn node_key(error: store::StoreError) -> RunnerError {
    match error {
        store::StoreError::Config(reason) => RunnerError::NodeKey(reason),
        other => RunnerError::Store(other),
    }
}
