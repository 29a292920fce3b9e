//! The store the console is timed on: the sample directory (imported as `bench import` does),
//! a provider with the default mappings, and a finished dry run whose plan has an item per
//! user (an update with its field diff; every tenth a create with its document) and one per
//! group.

use std::time::{Duration, Instant};

use anyhow::Context;
use engine::{Document, FieldChange, Operation, PlanItem, PlanSubject, RemoteId, RemoteKind};
use model::{
    GroupId, MappingId, ProviderId, ProviderSettings, RunId, RunReport, RunStatus, Trigger, UserId,
};
use secrecy::SecretString;
use serde::Serialize;
use store::{Page as StorePage, ProviderCredential, Store, UserFilter};

use super::timing::Page;
use crate::commands::bench_directory::{DOMAIN, SampleDirectory};
use crate::commands::bench_stats::round;

/// Records per import transaction, as `bench import` sends them.
const BATCH: usize = 1000;

/// What was loaded, and the objects the pages are asked about.
#[derive(Serialize)]
pub struct Seeded {
    pub users: u64,
    pub groups: u64,
    pub memberships: u64,
    pub plan_items: u64,
    pub load_seconds: f64,
    #[serde(skip)]
    provider: ProviderId,
    #[serde(skip)]
    run: RunId,
    #[serde(skip)]
    mapping: MappingId,
    /// A user halfway through the directory: its id, username and email.
    #[serde(skip)]
    middle_user: (UserId, String, String),
    #[serde(skip)]
    some_group: GroupId,
    /// The id to page after for the users' last page.
    #[serde(skip)]
    near_the_end: UserId,
}

impl Seeded {
    /// Every page timed, with its baseline where the API answers the same question.
    pub fn pages(&self) -> Vec<Page> {
        let (provider, run) = (self.provider, self.run);
        let (user, username, email) = &self.middle_user;
        let last = SampleDirectory::username(self.users.saturating_sub(1));
        vec![
            Page::new("overview", "/console")
                .against(&format!("/api/v1/providers/{provider}/status")),
            Page::new(
                "provider settings",
                &format!("/console/providers/{provider}"),
            )
            .against(&format!("/api/v1/providers/{provider}")),
            Page::new("runs", &format!("/console/providers/{provider}/runs"))
                .against(&format!("/api/v1/providers/{provider}/runs")),
            Page::new("run", &format!("/console/runs/{run}"))
                .against(&format!("/api/v1/runs/{run}")),
            Page::new("plan, first page", &format!("/console/runs/{run}/plan"))
                .against(&format!("/api/v1/runs/{run}/plan")),
            Page::new(
                "plan, searched for the last user",
                &format!("/console/runs/{run}/plan?q={last}"),
            ),
            Page::new(
                "plan, filtered on an operation none has (reads the whole plan)",
                &format!("/console/runs/{run}/plan?operation=recreate"),
            ),
            Page::new("users, first page", "/console/users").against("/api/v1/users?limit=50"),
            Page::new(
                "users, searched by username",
                &format!("/console/users?q={username}&by=username"),
            )
            .against(&format!("/api/v1/users?username={username}&limit=50")),
            Page::new(
                "users, searched by email",
                &format!("/console/users?q={email}&by=email"),
            )
            .against(&format!("/api/v1/users?email={email}&limit=50")),
            Page::new(
                "users, last page",
                &format!("/console/users?after={}", self.near_the_end),
            )
            .against(&format!(
                "/api/v1/users?after={}&limit=50",
                self.near_the_end
            )),
            Page::new("user", &format!("/console/users/{user}"))
                .against(&format!("/api/v1/users/{user}")),
            Page::new("groups, first page", "/console/groups").against("/api/v1/groups?limit=50"),
            Page::new(
                "group with its first members",
                &format!("/console/groups/{}", self.some_group),
            )
            .against(&format!(
                "/api/v1/groups/{}/members?limit=50",
                self.some_group
            )),
            Page::new("mappings", "/console/mappings").against("/api/v1/mappings"),
            Page::new(
                "mapping editor",
                &format!("/console/mappings/{}", self.mapping),
            )
            .against(&format!("/api/v1/mappings/{}", self.mapping)),
            Page::new(
                "find a user by email (with its mapped document)",
                &format!("/console/providers/{provider}/objects?q={email}"),
            )
            .against(&format!(
                "/api/v1/providers/{provider}/objects/users/{user}"
            )),
            Page::new("import form", "/console/import"),
        ]
    }
}

pub async fn seed(store: &Store, directory: SampleDirectory) -> anyhow::Result<Seeded> {
    let clock = Instant::now();
    let mut batch = Vec::with_capacity(BATCH);
    for record in directory.records() {
        batch.push(record?);
        if batch.len() == BATCH {
            store.import(std::mem::take(&mut batch)).await?;
        }
    }
    if !batch.is_empty() {
        store.import(batch).await?;
    }
    server::install_default_mappings(store).await?;
    let mapping = |name: &'static str| async move {
        store
            .find_mapping_by_name(name)
            .await?
            .map(|mapping| mapping.id)
            .with_context(|| format!("the default mapping {name:?}"))
    };
    let user_mapping = mapping(mapping::DEFAULT_USER_MAPPING_NAME).await?;
    let group_mapping = mapping(mapping::DEFAULT_GROUP_MAPPING_NAME).await?;
    let provider = ProviderId::new();
    let (key, _) = store::SecretKey::generate()?;
    store
        .create_provider(
            "Contoso",
            ProviderSettings::new(
                format!("contoso.{DOMAIN}"),
                "0d7e9c4a-2b1f-4a6e-8c3d-5f6a7b8c9d0e",
                vec![user_mapping],
                vec![group_mapping],
            ),
            &ProviderCredential::ClientSecret(SecretString::from("bench-secret")),
            &key,
            provider,
        )
        .await?;
    let run = store
        .start_run(
            provider,
            Trigger::Manual,
            true,
            "bench",
            Duration::from_secs(3600),
        )
        .await?;

    // The plan: one item per user, then one per group, written a page at a time.
    let mut seq = 0_i64;
    let mut plan_items = 0;
    let mut ids: Vec<UserId> = Vec::new();
    let mut after = None;
    loop {
        let page = match after {
            Some(after) => StorePage::after(after, 1000),
            None => StorePage::first(1000),
        };
        let users = store.list_users(&UserFilter::default(), page).await?;
        let Some(last) = users.last() else { break };
        after = Some(last.id.as_uuid());
        let items: Vec<PlanItem> = users
            .iter()
            .map(|user| {
                seq += 1;
                let operation = if seq % 10 == 0 {
                    Operation::Create {
                        kind: RemoteKind::User,
                        document: Document::new(
                            serde_json::json!({
                                "displayName": user.name,
                                "userPrincipalName": user.email.as_ref().map(|e| e.to_string()),
                                "accountEnabled": true,
                            })
                            .as_object()
                            .cloned()
                            .unwrap_or_default(),
                        ),
                    }
                } else {
                    Operation::Update {
                        kind: RemoteKind::User,
                        remote_id: RemoteId::new(uuid::Uuid::new_v4().to_string()),
                        changes: vec![FieldChange {
                            property: "displayName".into(),
                            before: Some(serde_json::json!(format!("{} (old)", user.name))),
                            after: serde_json::json!(user.name),
                        }],
                    }
                };
                PlanItem {
                    seq,
                    subject: PlanSubject::User,
                    object_id: user.id.as_uuid(),
                    object_name: user.username.to_string(),
                    operations: vec![operation],
                }
            })
            .collect();
        plan_items += items.len() as u64;
        store.add_plan_items(run.id, &items).await?;
        ids.extend(users.iter().map(|user| user.id));
    }
    let groups = store
        .list_groups(&store::GroupFilter::default(), StorePage::first(1))
        .await?;
    let some_group = groups.first().map(|group| group.id).context("a group")?;
    store
        .finish_run(run.id, RunStatus::Succeeded, &RunReport::default(), None)
        .await?;
    let middle = store
        .get_user(ids.get(ids.len() / 2).copied().context("a user")?)
        .await?;
    let email = middle.email.map(|e| e.to_string()).unwrap_or_default();
    Ok(Seeded {
        users: directory.users,
        groups: directory.groups,
        memberships: directory.membership_count(),
        plan_items,
        load_seconds: round(clock.elapsed().as_secs_f64()),
        provider,
        run: run.id,
        mapping: user_mapping,
        middle_user: (middle.id, middle.username.to_string(), email),
        some_group,
        near_the_end: ids
            .get(ids.len().saturating_sub(51))
            .copied()
            .context("a user")?,
    })
}
