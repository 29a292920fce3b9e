//! Group membership: list direct members, add one (`$ref`), add up to 20 at once
//! (`members@odata.bind`), remove one (`DELETE …/$ref` — never without `$ref`, which would
//! delete the user itself).

use reqwest::Method;
use serde_json::{Value, json};

use crate::client::{Call, GraphClient};
use crate::error::GraphError;
use crate::objects::key_segment;
use crate::odata::{MAX_PAGE, Page};

/// Most references one `members@odata.bind` PATCH (or a create) may carry.
pub const MAX_BIND: usize = 20;

impl GraphClient {
    /// One page of a group's direct members (ids only, 999 per page).
    pub async fn list_members_page(
        &self,
        group: &str,
        next: Option<&str>,
    ) -> Result<Page, GraphError> {
        let call = match next {
            Some(link) => Call::new(Method::GET, link, "/groups/{id}/members"),
            None => Call::new(
                Method::GET,
                format!("/groups{}/members", key_segment(group)),
                "/groups/{id}/members",
            )
            .query("$select", "id")
            .query("$top", MAX_PAGE.to_string()),
        };
        Page::from_body(self.execute(&call).await?.body)
    }

    /// `POST /groups/{id}/members/$ref`. Safe to repeat: a repeat answers "already exist",
    /// which the caller treats as done.
    pub async fn add_member(&self, group: &str, member: &str) -> Result<(), GraphError> {
        let call = Call::new(
            Method::POST,
            format!("/groups{}/members/$ref", key_segment(group)),
            "/groups/{id}/members/$ref",
        )
        .body(json!({"@odata.id": self.directory_object_ref(member)}))
        .idempotent(true);
        self.execute(&call).await.map(drop)
    }

    /// `PATCH /groups/{id}` with `members@odata.bind` (at most [`MAX_BIND`]). Graph applies
    /// all or none: one existing member fails the whole request.
    pub async fn bind_members(&self, group: &str, members: &[&str]) -> Result<(), GraphError> {
        if members.len() > MAX_BIND {
            return Err(GraphError::InvalidRequest(format!(
                "{} members in one bind (at most {MAX_BIND})",
                members.len()
            )));
        }
        let call = Call::new(
            Method::PATCH,
            format!("/groups{}", key_segment(group)),
            "/groups/{id}",
        )
        .body(self.bind_body(members));
        self.execute(&call).await.map(drop)
    }

    pub(crate) fn bind_body(&self, members: &[&str]) -> Value {
        let refs: Vec<String> = members
            .iter()
            .map(|m| self.directory_object_ref(m))
            .collect();
        json!({ "members@odata.bind": refs })
    }

    /// `DELETE /groups/{id}/members/{member}/$ref`.
    pub async fn remove_member(&self, group: &str, member: &str) -> Result<(), GraphError> {
        let call = Call::new(
            Method::DELETE,
            format!(
                "/groups{}/members{}/$ref",
                key_segment(group),
                key_segment(member)
            ),
            "/groups/{id}/members/{id}/$ref",
        );
        self.execute(&call).await.map(drop)
    }
}
