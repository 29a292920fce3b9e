//! What the benchmark asks of the admin API, over the CLI's own client. The address can be
//! moved to another node (when the one it talked to is killed) while tasks use it.

use std::sync::{Arc, RwLock};

use anyhow::{Context, bail};
use model::{ImportRecord, Run};
use serde_json::{Value, json};

use crate::client::{ApiClient, segment};

/// The one provider every scenario creates.
pub const PROVIDER: &str = "chaos";

/// Most records one import call may carry (the API's limit).
const IMPORT_BATCH: usize = 5000;

pub struct Api {
    token: String,
    client: RwLock<Arc<ApiClient>>,
}

/// The answer to a request for a dry run.
pub enum PlanRequest {
    Started,
    /// One was being made already (409): the full sync has its plan all the same.
    AlreadyRunning,
}

/// A directory user as the comparison needs it.
pub struct DirectoryUser {
    pub username: String,
    pub name: String,
    pub email: Option<String>,
    pub is_active: bool,
}

/// A directory group and its members' usernames.
pub struct DirectoryGroup {
    pub name: String,
    pub members: Vec<String>,
}

impl Api {
    pub fn new(url: &str, token: &str) -> anyhow::Result<Self> {
        Ok(Self {
            token: token.to_owned(),
            client: RwLock::new(Arc::new(ApiClient::new(url, token)?)),
        })
    }

    /// From now on, talk to the node at `url`.
    pub fn point_at(&self, url: &str) -> anyhow::Result<()> {
        let client = Arc::new(ApiClient::new(url, &self.token)?);
        *self.client.write().unwrap_or_else(|e| e.into_inner()) = client;
        Ok(())
    }

    pub fn client(&self) -> Arc<ApiClient> {
        self.client
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub async fn import(&self, records: Vec<ImportRecord>) -> anyhow::Result<()> {
        for chunk in records.chunks(IMPORT_BATCH) {
            let answer: Value = self
                .client()
                .post("/api/v1/import", &json!({ "records": chunk }))
                .await?;
            let failed = answer["failed"].as_u64().unwrap_or(0);
            if failed > 0 {
                let first = answer["results"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|r| r["outcome"] == "failed");
                bail!("{failed} import records failed, the first: {first:?}");
            }
        }
        Ok(())
    }

    /// Creates the provider (which queues its first full sync), schedule paused: every full
    /// sync of a scenario is one it asked for.
    pub async fn create_provider(
        &self,
        emulator: &graph_emulator::RunningEmulator,
    ) -> anyhow::Result<()> {
        let _: Value = self
            .client()
            .post(
                "/api/v1/providers",
                &json!({
                    "name": PROVIDER,
                    "tenant_id": emulator.tenant_id(),
                    "client_id": emulator.client_id(),
                    "client_secret": emulator.client_secret().context("the emulator's secret")?,
                    "schedule": {"paused": true},
                }),
            )
            .await
            .context("creating the provider")?;
        Ok(())
    }

    pub async fn request_sync(&self) -> anyhow::Result<()> {
        let _: Value = self
            .client()
            .post(&format!("/api/v1/providers/{PROVIDER}/sync"), &json!({}))
            .await?;
        Ok(())
    }

    pub async fn request_plan(&self) -> anyhow::Result<PlanRequest> {
        let asked: anyhow::Result<Value> = self
            .client()
            .post(&format!("/api/v1/providers/{PROVIDER}/plan"), &json!({}))
            .await;
        match asked {
            Ok(_) => Ok(PlanRequest::Started),
            Err(error) if error.to_string().starts_with("conflict") => {
                Ok(PlanRequest::AlreadyRunning)
            }
            Err(error) => Err(error),
        }
    }

    /// `GET /providers/{p}/status`: health, queued work.
    pub async fn status(&self) -> anyhow::Result<Value> {
        self.client()
            .get(&format!("/api/v1/providers/{PROVIDER}/status"))
            .await
    }

    /// Every run of the provider, newest first.
    pub async fn runs(&self) -> anyhow::Result<Vec<Run>> {
        let mut runs = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let query = after.map_or_else(String::new, |a| format!("&after={a}"));
            let page: Value = self
                .client()
                .get(&format!(
                    "/api/v1/providers/{PROVIDER}/runs?limit=1000{query}"
                ))
                .await?;
            runs.extend(serde_json::from_value::<Vec<Run>>(page["items"].clone())?);
            match page["next_after"].as_str() {
                Some(next) => after = Some(next.to_owned()),
                None => return Ok(runs),
            }
        }
    }

    /// The first `limit` objects run `run` could not sync: kind, Graph's code and message.
    pub async fn failures(&self, run: model::RunId, limit: usize) -> anyhow::Result<Value> {
        let detail: Value = self.client().get(&format!("/api/v1/runs/{run}")).await?;
        let failures = detail["failures"].as_array().cloned().unwrap_or_default();
        Ok(json!({
            "count": failures.len(),
            "first": failures.iter().take(limit).map(|f| json!({"kind": f["kind"],
                "object_id": f["object_id"], "error_code": f["error_code"],
                "error_message": f["error_message"]})).collect::<Vec<_>>(),
        }))
    }

    pub async fn patch_user(&self, username: &str, patch: Value) -> anyhow::Result<()> {
        let _: Value = self
            .client()
            .patch(&format!("/api/v1/users/{}", segment(username)), &patch)
            .await
            .with_context(|| format!("updating user {username}"))?;
        Ok(())
    }

    /// Every directory user.
    pub async fn users(&self) -> anyhow::Result<Vec<DirectoryUser>> {
        let items = self.all("/api/v1/users").await?;
        Ok(items
            .iter()
            .map(|user| DirectoryUser {
                username: text(&user["username"]),
                name: text(&user["name"]),
                email: user["email"].as_str().map(str::to_owned),
                is_active: user["is_active"].as_bool().unwrap_or(true),
            })
            .collect())
    }

    /// Every directory group with its members.
    pub async fn groups(&self) -> anyhow::Result<Vec<DirectoryGroup>> {
        let mut groups = Vec::new();
        for group in self.all("/api/v1/groups").await? {
            let id = text(&group["id"]);
            let members = self
                .all(&format!("/api/v1/groups/{id}/members"))
                .await?
                .iter()
                .map(|user| text(&user["username"]))
                .collect();
            groups.push(DirectoryGroup {
                name: text(&group["name"]),
                members,
            });
        }
        Ok(groups)
    }

    /// Every item of a keyset-paged listing.
    async fn all(&self, path: &str) -> anyhow::Result<Vec<Value>> {
        let mut items = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let query = after.map_or_else(String::new, |a| format!("&after={a}"));
            let page: Value = self
                .client()
                .get(&format!("{path}?limit=1000{query}"))
                .await?;
            items.extend(page["items"].as_array().cloned().unwrap_or_default());
            match page["next_after"].as_str() {
                Some(next) => after = Some(next.to_owned()),
                None => return Ok(items),
            }
        }
    }
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}
