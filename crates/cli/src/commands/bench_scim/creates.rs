//! `POST /scim/v2/Users` one at a time, beside the admin API's `POST /api/v1/users` on the
//! same store: the difference is what the SCIM layer costs (parsing the resource, its record
//! beside the user, rendering the answer).

use std::time::Instant;

use anyhow::bail;
use serde_json::{Value, json};
use server::AppState;
use store::Store;

use super::{Node, millis, progress, stat};
use crate::commands::bench_stats::{percentiles, round};

pub(super) const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// The goal for one SCIM create.
const GOAL_P99_MS: f64 = 10.0;

/// A user as Microsoft Entra's provisioning service sends one, with the enterprise extension.
pub(super) fn scim_user(user_name: &str, email: &str, n: u64) -> Value {
    json!({
        "schemas": [USER, ENTERPRISE],
        "externalId": format!("E-{n:07}"),
        "userName": user_name,
        "active": true,
        "displayName": format!("Bench User {n}"),
        "name": {"givenName": "Bench", "familyName": format!("User {n}")},
        "emails": [{"primary": true, "type": "work", "value": email}],
        "title": "Engineer",
        ENTERPRISE: {"department": format!("Dept {}", n % 40)},
    })
}

pub async fn latency(store: &Store, creates: u64) -> anyhow::Result<Value> {
    let (secret_key, _) = store::SecretKey::generate()?;
    let node = Node::start(AppState::new(store.clone(), secret_key)).await?;
    let mut scim = Vec::with_capacity(creates as usize);
    let mut admin = Vec::with_capacity(creates as usize);
    for n in 0..creates {
        // Taking turns, so that both see the same directory size and neither always follows
        // the other's write.
        if n.is_multiple_of(2) {
            scim.push(scim_create(&node, n).await?);
            admin.push(admin_create(&node, n).await?);
        } else {
            admin.push(admin_create(&node, n).await?);
            scim.push(scim_create(&node, n).await?);
        }
        progress("creates", n + 1, creates);
    }
    node.stop();
    let counts = store.counts().await?;
    store.close().await;
    if counts.users != 2 * creates as i64 {
        bail!(
            "the store holds {} users after {creates} SCIM and {creates} admin API creates",
            counts.users
        );
    }
    let scim = percentiles(&scim);
    let admin = percentiles(&admin);
    let over = |key| Some(round(stat(&scim, key)? - stat(&admin, key)?));
    Ok(json!({
        "creates": creates,
        "users_in_store": counts.users,
        "scim_post_users_ms": scim,
        "baseline_admin_post_users_ms": admin,
        "scim_cost_over_baseline_ms": {"p50": over("p50"), "p99": over("p99")},
        "goal_p99_ms": GOAL_P99_MS,
        "goal_met": stat(&scim, "p99").is_some_and(|p99| p99 < GOAL_P99_MS),
    }))
}

async fn scim_create(node: &Node, n: u64) -> anyhow::Result<f64> {
    let name = format!("scim{n:06}@bench.example");
    let body = scim_user(&name, &name, n).to_string();
    let clock = Instant::now();
    let (status, answer) = node
        .scim(reqwest::Method::POST, "/Users", &[], Some(body))
        .await?;
    let elapsed = millis(clock);
    if status != 201 {
        bail!("SCIM POST /Users answered {status}: {answer}");
    }
    Ok(elapsed)
}

async fn admin_create(node: &Node, n: u64) -> anyhow::Result<f64> {
    let name = format!("api{n:06}@bench.example");
    // The same facts the SCIM user carries, in the admin API's shape.
    let body = json!({
        "username": name,
        "name": format!("Bench User {n}"),
        "email": name,
        "attributes": {"title": "Engineer", "department": format!("Dept {}", n % 40)},
    })
    .to_string();
    let clock = Instant::now();
    let (status, answer) = node.admin_post("/users", body).await?;
    let elapsed = millis(clock);
    if status != 201 {
        bail!("POST /api/v1/users answered {status}: {answer}");
    }
    Ok(elapsed)
}
