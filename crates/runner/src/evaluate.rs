//! Mapping evaluation off the async workers: each evaluation runs on tokio's blocking pool,
//! at most one per core at a time, inside the sandbox's own limits. A slow (legal) mapping then
//! delays its own provider's items, never the API or another provider's I/O.

use std::sync::Arc;

use engine::Evaluator;
use mapping::{
    Context, GroupInput, Mapped, Mapper, MappingError, MappingKind, ObjectLabel, UserInput,
};
use model::{Group, User};
use serde_json::Value;
use tokio::sync::Semaphore;

use crate::ProviderRuntime;

/// See the module documentation.
pub(crate) struct BlockingEvaluator {
    pub runtime: Arc<ProviderRuntime>,
    pub mapper: Arc<Mapper>,
    pub permits: Arc<Semaphore>,
}

/// A mapping that could not be evaluated at all (the evaluation panicked or was cancelled).
fn broken(kind: MappingKind, id: String, name: String, why: String) -> MappingError {
    MappingError {
        mapping: "(evaluation)".into(),
        object: ObjectLabel { kind, id, name },
        message: why,
        position: None,
    }
}

impl BlockingEvaluator {
    async fn run(
        &self,
        label: (MappingKind, String, String),
        evaluate: impl FnOnce(&Mapper, &ProviderRuntime) -> Result<Mapped, MappingError>
        + Send
        + 'static,
    ) -> Result<Mapped, MappingError> {
        let (kind, id, name) = label;
        let Ok(_permit) = self.permits.acquire().await else {
            return Err(broken(
                kind,
                id,
                name,
                "the evaluation pool is closed".into(),
            ));
        };
        let (mapper, runtime) = (self.mapper.clone(), self.runtime.clone());
        match tokio::task::spawn_blocking(move || evaluate(&mapper, &runtime)).await {
            Ok(mapped) => mapped,
            Err(error) => Err(broken(
                kind,
                id,
                name,
                format!("evaluation failed: {error}"),
            )),
        }
    }
}

impl Evaluator for BlockingEvaluator {
    async fn map_user(
        &self,
        user: &User,
        group_names: Vec<String>,
        link: Option<Value>,
    ) -> Result<Mapped, MappingError> {
        let owned = user.clone();
        let label = (
            MappingKind::User,
            user.id.to_string(),
            user.username.as_str().to_owned(),
        );
        self.run(label, move |mapper, runtime| {
            let input = UserInput {
                user: &owned,
                group_names: &group_names,
            };
            let context = Context {
                provider: &runtime.mappings.context,
                link: link.as_ref(),
            };
            mapper.map_user(&runtime.mappings.users, &input, &context)
        })
        .await
    }

    async fn map_group(
        &self,
        group: &Group,
        member_count: u64,
        link: Option<Value>,
    ) -> Result<Mapped, MappingError> {
        let owned = group.clone();
        let label = (
            MappingKind::Group,
            group.id.to_string(),
            group.name.as_str().to_owned(),
        );
        self.run(label, move |mapper, runtime| {
            let input = GroupInput {
                group: &owned,
                member_count,
            };
            let context = Context {
                provider: &runtime.mappings.context,
                link: link.as_ref(),
            };
            mapper.map_group(&runtime.mappings.groups, &input, &context)
        })
        .await
    }
}
