//! An HR load through `/Bulk`, sent as a client would: the users in requests of at most 1,000
//! operations, then the groups with their members named by the ids those requests returned
//! (a `bulkId:` reference only reaches an operation of the same request). Every operation's
//! answer is checked, and the store's counts afterwards.

use std::time::Instant;

use anyhow::{Context, bail};
use serde_json::{Value, json};
use server::AppState;
use store::Store;

use super::{Node, creates::scim_user};
use crate::commands::bench_stats::round;

const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// The most operations the server takes in one request (`maxOperations`).
const MAX_OPERATIONS: usize = 1000;
const GROUPS_PER_USER: u64 = 3;
/// Members named by one operation: a group with more is created with the first ones and
/// given the rest by `PATCH`, so that no operation outgrows a request.
const MEMBERS_PER_OPERATION: usize = 5000;
/// The issue's goal: 10,000 users (with their memberships) in under 30 s.
const GOAL_SECONDS_PER_10000_USERS: f64 = 30.0;

/// What was sent, counted while loading.
#[derive(Default)]
struct Sent {
    requests: u64,
    operations: u64,
}

pub async fn load(store: &Store, users: u64, groups: u64) -> anyhow::Result<Value> {
    let (secret_key, _) = store::SecretKey::generate()?;
    let node = Node::start(AppState::new(store.clone(), secret_key)).await?;
    let per_user = GROUPS_PER_USER.min(groups);
    let mut sent = Sent::default();
    let clock = Instant::now();

    let user_ops = (0..users).map(|u| {
        let name = format!("hr{u:06}@bench.example");
        json!({"method": "POST", "path": "/Users", "bulkId": format!("u{u}"),
            "data": scim_user(&name, &name, u)})
    });
    let user_ids = send_all(&node, user_ops, &mut sent, "users").await?;
    let users_seconds = clock.elapsed().as_secs_f64();

    // User u is in groups u, u + 1, … (mod groups): each group gets its share.
    let mut members: Vec<Vec<&str>> = vec![Vec::new(); groups as usize];
    for (u, id) in user_ids.iter().enumerate() {
        for k in 0..per_user {
            members[((u as u64 + k) % groups) as usize].push(id.as_str());
        }
    }
    let value =
        |ids: &[&str]| -> Vec<Value> { ids.iter().map(|id| json!({"value": id})).collect() };
    let group_ops = members.iter().enumerate().map(|(g, ids)| {
        let first = &ids[..ids.len().min(MEMBERS_PER_OPERATION)];
        json!({"method": "POST", "path": "/Groups", "bulkId": format!("g{g}"),
            "data": {"schemas": [GROUP], "displayName": format!("HR group {g:04}"),
                "members": value(first)}})
    });
    let group_ids = send_all(&node, group_ops, &mut sent, "groups").await?;
    let rest_ops = members.iter().zip(&group_ids).flat_map(|(ids, group)| {
        ids.chunks(MEMBERS_PER_OPERATION).skip(1).map(move |chunk| {
            json!({"method": "PATCH", "path": format!("/Groups/{group}"),
                "data": {"schemas": [PATCH], "Operations": [
                    {"op": "add", "path": "members", "value": value(chunk)}]}})
        })
    });
    send_all(&node, rest_ops, &mut sent, "more members").await?;
    let seconds = clock.elapsed().as_secs_f64();
    node.stop();

    let counts = store.counts().await?;
    store.close().await;
    let memberships = users * per_user;
    if counts.users != users as i64
        || counts.groups != groups as i64
        || counts.memberships != memberships as i64
    {
        bail!(
            "after the /Bulk load the store holds {} users, {} groups and {} memberships, \
             not {users}, {groups} and {memberships}",
            counts.users,
            counts.groups,
            counts.memberships
        );
    }
    let per_10000 = seconds * 10_000.0 / users as f64;
    Ok(json!({
        "users": users,
        "groups": groups,
        "memberships": memberships,
        "requests": sent.requests,
        "operations": sent.operations,
        "max_operations_per_request": MAX_OPERATIONS,
        "members_named_by": "the ids the users' requests returned",
        "seconds": round(seconds),
        "seconds_for_users": round(users_seconds),
        "operations_per_second": (sent.operations as f64 / seconds.max(f64::EPSILON)).round(),
        "users_per_second": (users as f64 / users_seconds.max(f64::EPSILON)).round(),
        "memberships_per_second": (memberships as f64 / (seconds - users_seconds).max(f64::EPSILON)).round(),
        "seconds_per_10000_users": round(per_10000),
        "goal_seconds_per_10000_users": GOAL_SECONDS_PER_10000_USERS,
        "goal_met": per_10000 < GOAL_SECONDS_PER_10000_USERS,
        "store": counts,
    }))
}

/// Sends `operations` in as few `/Bulk` requests as the limits allow (1,000 operations, half
/// the body limit so a request never meets it), one after another as a client would. Answers
/// what each operation created (its id), in order; fails on any operation that failed.
async fn send_all(
    node: &Node,
    operations: impl Iterator<Item = Value>,
    sent: &mut Sent,
    what: &str,
) -> anyhow::Result<Vec<String>> {
    let budget = node.max_body / 2;
    let mut created = Vec::new();
    let mut batch: Vec<String> = Vec::new();
    let (mut bytes, mut done) = (0, 0);
    let mut operations = operations.map(|op| op.to_string()).peekable();
    while let Some(op) = operations.next() {
        bytes += op.len() + 1;
        batch.push(op);
        let full = batch.len() == MAX_OPERATIONS
            || operations
                .peek()
                .is_none_or(|next| bytes + next.len() + 1 > budget);
        if full {
            created.extend(send(node, &batch).await?);
            sent.requests += 1;
            sent.operations += batch.len() as u64;
            done += batch.len();
            eprintln!("bench scim:   /Bulk {what}: {done} operations sent");
            batch.clear();
            bytes = 0;
        }
    }
    Ok(created)
}

async fn send(node: &Node, operations: &[String]) -> anyhow::Result<Vec<String>> {
    let body = format!(
        r#"{{"schemas":["{BULK_REQUEST}"],"Operations":[{}]}}"#,
        operations.join(",")
    );
    let (status, answer) = node
        .scim(reqwest::Method::POST, "/Bulk", &[], Some(body))
        .await?;
    if status != 200 {
        bail!("/Bulk answered {status}: {answer}");
    }
    let answers = answer["Operations"]
        .as_array()
        .context("a /Bulk answer without Operations")?;
    if answers.len() != operations.len() {
        bail!(
            "/Bulk answered {} of {} operations",
            answers.len(),
            operations.len()
        );
    }
    let mut created = Vec::new();
    for entry in answers {
        match entry["status"].as_str() {
            Some("201") => created.push(
                entry["location"]
                    .as_str()
                    .and_then(|location| location.rsplit('/').next())
                    .with_context(|| format!("a created resource without a location: {entry}"))?
                    .to_owned(),
            ),
            Some("200") => {}
            _ => bail!("a /Bulk operation failed: {entry}"),
        }
    }
    Ok(created)
}
