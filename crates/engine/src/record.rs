//! A [`Target`] that writes down every call it passes on and its answer: what an on-demand
//! sync of one object shows the administrator ("exactly what was sent and answered").

use std::sync::Mutex;

use crate::plan::Document;
use crate::ports::{Target, TargetRead};
use crate::remote::{
    Anchor, CreateKey, MemberChange, Properties, RemoteId, RemoteKind, RemoteObject, RemotePage,
    TargetError,
};
use serde::Serialize;
use serde_json::{Value, json};

/// One call to the remote and its answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Exchange {
    /// What was asked, in words: `create user`, `update user 1f…`, `add members to group 9a…`.
    pub request: String,
    /// What was sent with it (properties, member ids), if anything.
    pub sent: Option<Value>,
    /// What came back: the object, `ok`, or the error with Graph's code, message and request id.
    pub answer: Value,
}

/// Records every exchange with the inner target.
pub struct Recorder<'a, T> {
    inner: &'a T,
    exchanges: Mutex<Vec<Exchange>>,
}

impl<'a, T> Recorder<'a, T> {
    pub fn new(inner: &'a T) -> Self {
        Self {
            inner,
            exchanges: Mutex::new(Vec::new()),
        }
    }

    /// What was exchanged, in order.
    pub fn into_exchanges(self) -> Vec<Exchange> {
        self.exchanges
            .into_inner()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn record<R: Serialize>(
        &self,
        request: String,
        sent: Option<Value>,
        answer: &Result<R, TargetError>,
    ) {
        let answer = match answer {
            Ok(value) => serde_json::to_value(value).unwrap_or(Value::Null),
            Err(error) => json!({"error": error.to_string(), "code": error.failure().code,
                "message": error.failure().message, "request_id": error.failure().request_id}),
        };
        self.exchanges
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(Exchange {
                request,
                sent,
                answer,
            });
    }
}

/// The answer of a call that returns nothing.
#[derive(Serialize)]
struct Done {
    ok: bool,
}

#[derive(Serialize)]
struct Changed<'a> {
    changed: &'a [RemoteId],
    unchanged: &'a [RemoteId],
}

fn changed(result: &Result<MemberChange, TargetError>) -> Result<Value, TargetError> {
    match result {
        Ok(change) => Ok(json!(Changed {
            changed: &change.changed,
            unchanged: &change.unchanged
        })),
        Err(error) => Err(error.clone()),
    }
}

fn done(result: &Result<(), TargetError>) -> Result<Done, TargetError> {
    result.clone().map(|()| Done { ok: true })
}

fn page(result: &Result<RemotePage, TargetError>) -> Result<Value, TargetError> {
    match result {
        Ok(page) => Ok(json!({"objects": page.objects.len(), "more": page.next.is_some()})),
        Err(error) => Err(error.clone()),
    }
}

impl<T: TargetRead> TargetRead for Recorder<'_, T> {
    async fn list(
        &self,
        kind: RemoteKind,
        select: &[&str],
        next: Option<&str>,
    ) -> Result<RemotePage, TargetError> {
        let result = self.inner.list(kind, select, next).await;
        self.record(format!("list {kind}s"), None, &page(&result));
        result
    }

    async fn get(
        &self,
        kind: RemoteKind,
        id: &RemoteId,
        select: &[&str],
    ) -> Result<RemoteObject, TargetError> {
        let result = self.inner.get(kind, id, select).await;
        self.record(format!("get {kind} {id}"), None, &result);
        result
    }

    async fn find(
        &self,
        kind: RemoteKind,
        anchor: &Anchor,
        select: &[&str],
    ) -> Result<Vec<RemoteObject>, TargetError> {
        let result = self.inner.find(kind, anchor, select).await;
        self.record(format!("find {kind} by {anchor:?}"), None, &result);
        result
    }

    async fn list_members(
        &self,
        group: &RemoteId,
        next: Option<&str>,
    ) -> Result<RemotePage, TargetError> {
        let result = self.inner.list_members(group, next).await;
        self.record(
            format!("list members of group {group}"),
            None,
            &page(&result),
        );
        result
    }
}

impl<T: Target> Target for Recorder<'_, T> {
    async fn create(
        &self,
        kind: RemoteKind,
        properties: &Properties,
        key: &CreateKey,
    ) -> Result<RemoteObject, TargetError> {
        let result = self.inner.create(kind, properties, key).await;
        let sent = Value::Object(Document::new(properties.clone()).redacted());
        self.record(format!("create {kind} (key {key})"), Some(sent), &result);
        result
    }

    async fn update(
        &self,
        kind: RemoteKind,
        id: &RemoteId,
        properties: &Properties,
    ) -> Result<(), TargetError> {
        let result = self.inner.update(kind, id, properties).await;
        self.record(
            format!("update {kind} {id}"),
            Some(Value::Object(properties.clone())),
            &done(&result),
        );
        result
    }

    async fn delete(&self, kind: RemoteKind, id: &RemoteId) -> Result<(), TargetError> {
        let result = self.inner.delete(kind, id).await;
        self.record(format!("delete {kind} {id}"), None, &done(&result));
        result
    }

    async fn add_members(
        &self,
        group: &RemoteId,
        members: &[RemoteId],
    ) -> Result<MemberChange, TargetError> {
        let result = self.inner.add_members(group, members).await;
        self.record(
            format!("add members to group {group}"),
            Some(json!(members)),
            &changed(&result),
        );
        result
    }

    async fn remove_member(
        &self,
        group: &RemoteId,
        member: &RemoteId,
    ) -> Result<MemberChange, TargetError> {
        let result = self.inner.remove_member(group, member).await;
        self.record(
            format!("remove member {member} from group {group}"),
            None,
            &changed(&result),
        );
        result
    }
}
