//! Groups addressed by `uniqueName`, an alternate key the caller chooses (graph-contract.md
//! §2.2). `PATCH /groups(uniqueName='…')` with `Prefer: create-if-missing` creates the group
//! (201 and the group) or, when a group already has that uniqueName, updates it (204). Unlike
//! `POST /groups` it can be sent twice without making two groups, so the client retries it
//! after a timeout, a cut connection or a 5xx, as it does any idempotent request.

use reqwest::Method;
use serde_json::Value;

use crate::client::{Call, GraphClient};
use crate::error::GraphError;
use crate::objects::escape_key;
use crate::odata::{self, Object};

/// Route template for metrics.
const ROUTE: &str = "/groups(uniqueName={key})";

/// What [`GraphClient::upsert_group`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum GroupUpsert {
    /// No group had the uniqueName: this one was created (Graph's 201 body, with its `id`).
    Created(Object),
    /// A group had it, and the body was applied to it (Graph's 204). This is also the answer
    /// when an earlier try of the same call created the group but its answer was lost (a
    /// timeout, a 5xx), so the id is not known here: look the group up with
    /// [`GraphClient::group_by_unique_name`].
    Existing,
}

/// `/groups(uniqueName='…')`: the key as an OData string literal (`'` doubled), then escaped
/// like every other key in a path.
fn path(unique_name: &str) -> Result<String, GraphError> {
    if unique_name.is_empty() {
        return Err(GraphError::InvalidRequest("an empty uniqueName".into()));
    }
    Ok(format!(
        "/groups(uniqueName={})",
        escape_key(&odata::quote(unique_name))
    ))
}

impl GraphClient {
    /// Creates the group whose uniqueName is `unique_name` from `body` (the same properties
    /// as a create: displayName, mailEnabled, mailNickname, securityEnabled, …), or updates it
    /// with `body` when it exists.
    pub async fn upsert_group(
        &self,
        unique_name: &str,
        body: &Object,
    ) -> Result<GroupUpsert, GraphError> {
        let call = Call::new(Method::PATCH, path(unique_name)?, ROUTE)
            // Without it, Graph treats the PATCH as a plain update of an existing group.
            .header("Prefer", "create-if-missing")
            .body(Value::Object(body.clone()))
            // Safe to repeat: a second try finds the group the first one made.
            .idempotent(true);
        let answer = self.execute(&call).await?;
        if answer.status == 201 {
            odata::object(answer.body).map(GroupUpsert::Created)
        } else {
            Ok(GroupUpsert::Existing)
        }
    }

    /// `GET /groups(uniqueName='…')`; a group that does not exist is Graph's 404
    /// (`GraphError::Api` with status 404).
    pub async fn group_by_unique_name(
        &self,
        unique_name: &str,
        select: &[&str],
    ) -> Result<Object, GraphError> {
        let mut call = Call::new(Method::GET, path(unique_name)?, ROUTE);
        if let Some(s) = odata::select(select) {
            call = call.query("$select", s);
        }
        odata::object(self.execute(&call).await?.body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_quoted_then_escaped() {
        assert_eq!(
            path("es-p1-42").expect("path"),
            "/groups(uniqueName='es-p1-42')"
        );
        assert_eq!(
            path("o'brien/#1?%").expect("path"),
            "/groups(uniqueName='o''brien%2F%231%3F%25')"
        );
        assert!(matches!(path(""), Err(GraphError::InvalidRequest(_))));
    }
}
