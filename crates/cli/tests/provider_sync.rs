//! The Entra ID provider through the real binary: `entrasync sync` in-process against the Graph
//! emulator, and two `entrasync serve` nodes on one PostgreSQL sharing the work when one dies.

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, Output, Stdio},
    time::{Duration, Instant},
};

use graph_emulator::{Emulator, EmulatorConfig, Knobs, RunningEmulator};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_entrasync");
const TOKEN: &str = "es_test_token_for_provider_sync_0123456789";

// The emulator runs on this test's runtime while the binary blocks a thread: multi-threaded.
/// The environment every process of one test shares: database, key, token, the emulator.
struct Env {
    vars: Vec<(&'static str, String)>,
}

impl Env {
    fn new(database_url: &str, schema: Option<&str>, emulator: &RunningEmulator) -> Self {
        let (_, key) = store::SecretKey::generate().expect("a key");
        let mut vars = vec![
            ("ENTRASYNC_DATABASE_URL", database_url.to_owned()),
            ("ENTRASYNC_ADMIN_TOKEN", TOKEN.to_owned()),
            ("ENTRASYNC_TOKEN", TOKEN.to_owned()),
            ("ENTRASYNC_SECRET_KEY", key.expose_secret().to_owned()),
            ("ENTRASYNC_GRAPH_URL", emulator.base_url().to_owned()),
            ("ENTRASYNC_LOGIN_URL", emulator.login_url().to_owned()),
            ("ENTRASYNC_WORK_LEASE_SECONDS", "2".to_owned()),
            (
                "ENTRASYNC_CLIENT_SECRET",
                emulator.client_secret().expect("secret").to_owned(),
            ),
        ];
        if let Some(schema) = schema {
            vars.push(("ENTRASYNC_DATABASE_SCHEMA", schema.to_owned()));
        }
        Self { vars }
    }

    fn command(&self, dir: &Path) -> Command {
        let mut command = Command::new(BIN);
        command.current_dir(dir).env_remove("ENTRASYNC_CONFIG");
        for (key, value) in &self.vars {
            command.env(key, value);
        }
        command
    }
}

/// A running `entrasync serve`, killed when dropped.
struct Node {
    child: Child,
    url: String,
    /// `/metrics` on its own listener, when `metrics_listen` is set.
    metrics_url: Option<String>,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(env: &Env, dir: &Path, workers: bool) -> Node {
    serve_with(env, dir, workers, &[])
}

fn serve_with(env: &Env, dir: &Path, workers: bool, extra: &[(&str, &str)]) -> Node {
    let mut command = env.command(dir);
    command.envs(extra.iter().copied());
    let mut child = command
        .arg("serve")
        .env("ENTRASYNC_LISTEN", "127.0.0.1:0")
        .env("ENTRASYNC_WORKERS", workers.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start entrasync serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let url = loop {
        let line = lines
            .next()
            .expect("serve printed its address")
            .expect("a line");
        if let Some(rest) = line.strip_prefix("entrasync is listening on ") {
            break rest.split_whitespace().next().expect("url").to_owned();
        }
    };
    let mut metrics_url = None;
    if extra
        .iter()
        .any(|(key, _)| *key == "ENTRASYNC_METRICS_LISTEN")
    {
        metrics_url = loop {
            let line = lines
                .next()
                .expect("serve printed its metrics address")
                .expect("a line");
            if let Some(rest) = line.strip_prefix("metrics are served on ") {
                break Some(rest.trim().to_owned());
            }
        };
    }
    std::thread::spawn(move || for _ in lines {});
    Node {
        child,
        url,
        metrics_url,
    }
}

fn run(env: &Env, dir: &Path, node: Option<&Node>, args: &[&str]) -> Output {
    let mut command = env.command(dir);
    if let Some(node) = node {
        command.env("ENTRASYNC_SERVER_URL", &node.url);
    }
    command.args(args).output().expect("run entrasync")
}

fn ok(output: Output) -> String {
    assert!(
        output.status.success(),
        "failed ({}): {}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8")
}

async fn import(node: &Node, records: Vec<Value>) {
    let client = reqwest::Client::new();
    for chunk in records.chunks(1000) {
        let response = client
            .post(format!("{}/api/v1/import", node.url))
            .bearer_auth(TOKEN)
            .json(&json!({ "records": chunk }))
            .send()
            .await
            .expect("import");
        assert!(response.status().is_success(), "{}", response.status());
    }
}

fn users(emulator: &RunningEmulator) -> Vec<Value> {
    emulator.dump()["users"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn add_provider(env: &Env, dir: &Path, node: &Node, emulator: &RunningEmulator) {
    ok(run(
        env,
        dir,
        Some(node),
        &[
            "provider",
            "add",
            "entra",
            "--tenant-id",
            emulator.tenant_id(),
            "--client-id",
            emulator.client_id(),
            "--client-secret-from-env",
        ],
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entrasync_sync_runs_one_full_sync_and_exits_with_a_summary() {
    let emulator = Emulator::start(EmulatorConfig::default())
        .await
        .expect("emulator");
    let domain = emulator.verified_domains()[0].clone();
    let dir = tempfile::tempdir().expect("temp dir");
    let env = Env::new("sqlite://entrasync.db", None, &emulator);
    // An API-only node: the sync happens in the `sync` process alone.
    let node = serve(&env, dir.path(), false);
    let mut records = vec![json!({"type": "group", "name": "Staff"})];
    for n in 0..25 {
        records.push(json!({"type": "user", "username": format!("u{n}"),
            "email": format!("u{n}@{domain}")}));
        records.push(json!({"type": "membership", "group": "Staff", "user": format!("u{n}")}));
    }
    import(&node, records).await;
    add_provider(&env, dir.path(), &node, &emulator);
    assert!(
        users(&emulator).is_empty(),
        "the API-only node synced nothing"
    );

    let summary: Value = serde_json::from_str(&ok(run(
        &env,
        dir.path(),
        None,
        &["sync", "--provider", "entra", "--output", "json"],
    )))
    .expect("a JSON summary");
    assert_eq!(summary["status"], json!("succeeded"), "{summary}");
    assert_eq!(
        summary["report"]["outcomes"]["created"],
        json!(26),
        "{summary}"
    );
    assert_eq!(
        summary["report"]["members"]["added"],
        json!(25),
        "{summary}"
    );
    assert_eq!(users(&emulator).len(), 25);

    let again: Value = serde_json::from_str(&ok(run(
        &env,
        dir.path(),
        None,
        &["sync", "--provider", "entra", "--output", "json"],
    )))
    .expect("a JSON summary");
    assert_eq!(
        again["report"]["outcomes"]["unchanged"],
        json!(26),
        "{again}"
    );

    // A dry run after a change: the plan names the change, and nothing is sent.
    ok(run(
        &env,
        dir.path(),
        Some(&node),
        &["user", "update", "u3", "--name", "Renamed"],
    ));
    let writes = emulator.counters().writes;
    let plan: Value = serde_json::from_str(&ok(run(
        &env,
        dir.path(),
        None,
        &[
            "sync",
            "--provider",
            "entra",
            "--dry-run",
            "--output",
            "json",
        ],
    )))
    .expect("a JSON summary");
    assert_eq!(plan["dry_run"], json!(true), "{plan}");
    assert_eq!(plan["report"]["outcomes"]["updated"], json!(1), "{plan}");
    assert_eq!(
        emulator.counters().writes,
        writes,
        "a dry run sends no write"
    );
    let exported: Value = serde_json::from_str(&ok(run(
        &env,
        dir.path(),
        Some(&node),
        &[
            "provider",
            "run",
            plan["run"].as_str().expect("run id"),
            "--plan",
            "--output",
            "json",
        ],
    )))
    .expect("the exported plan");
    let items = exported["plan"].as_array().expect("plan items");
    assert_eq!(items.len(), 1, "{exported}");
    assert_eq!(items[0]["object_name"], json!("u3"));
    assert_eq!(
        items[0]["operations"][0]["changes"][0]["after"],
        json!("Renamed")
    );

    // The one object, now: what was sent and answered.
    let shown = ok(run(
        &env,
        dir.path(),
        None,
        &["sync", "--provider", "entra", "--user", "u3"],
    ));
    assert!(shown.contains("-> update user"), "{shown}");
    assert!(shown.contains("\"displayName\":\"Renamed\""), "{shown}");
    assert!(shown.contains("<- {\"ok\":true}"), "{shown}");
    assert!(
        shown.contains("outcome: {\"outcome\":\"updated\""),
        "{shown}"
    );

    let runs: Value = serde_json::from_str(&ok(run(
        &env,
        dir.path(),
        Some(&node),
        &["provider", "runs", "entra", "--output", "json"],
    )))
    .expect("runs");
    assert_eq!(runs.as_array().map(Vec::len), Some(3), "{runs}");
    let status: Value = serde_json::from_str(&ok(run(
        &env,
        dir.path(),
        Some(&node),
        &["provider", "status", "entra", "--output", "json"],
    )))
    .expect("status");
    assert_eq!(status["health"], json!("healthy"), "{status}");
    assert_eq!(status["last_run"]["id"], plan["run"], "{status}");

    // Every object's outcome is visible: its link, its last sync, its last error.
    let state: Value = reqwest::Client::new()
        .get(format!(
            "{}/api/v1/providers/entra/objects/users/u4",
            node.url
        ))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("object state")
        .json()
        .await
        .expect("JSON");
    assert_eq!(state["status"], json!("synced"), "{state}");
    assert!(
        state["remote_id"].is_string() && state["last_synced_at"].is_string(),
        "{state}"
    );

    let missing = run(&env, dir.path(), None, &["sync", "--provider", "nope"]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no provider"));
}

fn database_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_the_work_and_a_killed_node_loses_nothing() {
    let emulator = Emulator::start(EmulatorConfig::default())
        .await
        .expect("emulator");
    // Slow enough that the sync is still going when a node is killed.
    emulator.set_knobs(Knobs {
        latency_ms: 15,
        ..Knobs::default()
    });
    let domain = emulator.verified_domains()[0].clone();
    let dir = tempfile::tempdir().expect("temp dir");
    let schema = format!("es_test_nodes_{}", uuid::Uuid::new_v4().simple());
    let env = Env::new(&database_url(), Some(&schema), &emulator);
    let first = serve(&env, dir.path(), true);
    let second = serve(&env, dir.path(), true);
    let total = 400;
    let records: Vec<Value> = (0..total)
        .map(|n| json!({"type": "user", "username": format!("n{n:03}"), "email": format!("n{n:03}@{domain}")}))
        .collect();
    import(&second, records).await;
    add_provider(&env, dir.path(), &second, &emulator);

    // Kill the first node while the sync is under way.
    let deadline = Instant::now() + Duration::from_secs(60);
    while users(&emulator).len() < total / 4 {
        assert!(Instant::now() < deadline, "the sync did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(first);
    let at_kill = users(&emulator).len();
    assert!(
        at_kill < total,
        "killed mid-sync ({at_kill} of {total} were done)"
    );

    // The survivor takes the dead node's claims over when their lease ends.
    let deadline = Instant::now() + Duration::from_secs(90);
    while users(&emulator).len() < total {
        assert!(
            Instant::now() < deadline,
            "only {} of {total} users reached Entra",
            users(&emulator).len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut upns: Vec<String> = users(&emulator)
        .iter()
        .filter_map(|u| u["userPrincipalName"].as_str().map(str::to_owned))
        .collect();
    upns.sort();
    upns.dedup();
    assert_eq!(upns.len(), total, "every user exactly once");

    // A direct sync still reaches Entra through the survivor.
    let client = reqwest::Client::new();
    let response = client
        .post(format!("{}/api/v1/users", second.url))
        .bearer_auth(TOKEN)
        .json(&json!({"username": "late", "email": format!("late@{domain}")}))
        .send()
        .await
        .expect("create a user");
    assert!(response.status().is_success());
    let deadline = Instant::now() + Duration::from_secs(30);
    while users(&emulator).len() < total + 1 {
        assert!(Instant::now() < deadline, "the direct sync did not land");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(second);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_are_listed_shown_made_by_hand_and_removed_locally() {
    let emulator = Emulator::start(EmulatorConfig::default())
        .await
        .expect("emulator");
    let domain = emulator.verified_domains()[0].clone();
    let seeded = emulator
        .seed(
            json!({"users": [{"userPrincipalName": format!("legacy.account@{domain}"),
            "displayName": "Legacy Account"}]}),
        )
        .expect("seed");
    let remote_id = seeded["users"][0]["id"].as_str().expect("id").to_owned();
    let dir = tempfile::tempdir().expect("temp dir");
    let env = Env::new("sqlite://entrasync.db", None, &emulator);
    let node = serve(&env, dir.path(), true);
    // Nothing matches it by email, so discovery leaves it alone.
    import(
        &node,
        vec![json!({"type": "user", "username": "legacy", "email": "legacy@elsewhere.example"})],
    )
    .await;
    add_provider(&env, dir.path(), &node, &emulator);

    let added: Value = serde_json::from_str(&ok(run(
        &env,
        dir.path(),
        Some(&node),
        &[
            "link",
            "add",
            "--provider",
            "entra",
            "--user",
            "legacy",
            "--remote-id",
            &remote_id,
            "--output",
            "json",
        ],
    )))
    .expect("the link");
    assert_eq!(added["remote_id"], json!(remote_id));
    assert_eq!(added["remote"]["displayName"], json!("Legacy Account"));
    let again = run(
        &env,
        dir.path(),
        Some(&node),
        &[
            "link",
            "add",
            "--provider",
            "entra",
            "--user",
            "legacy",
            "--remote-id",
            &remote_id,
        ],
    );
    assert!(!again.status.success(), "linked twice");
    assert!(String::from_utf8_lossy(&again.stderr).contains("already linked"));

    let shown: Value = serde_json::from_str(&ok(run(
        &env,
        dir.path(),
        Some(&node),
        &[
            "link",
            "show",
            "--provider",
            "entra",
            "--user",
            "legacy",
            "--output",
            "json",
        ],
    )))
    .expect("shown");
    assert_eq!(
        shown["remote"]["userPrincipalName"],
        json!(format!("legacy.account@{domain}"))
    );
    let listed: Value = serde_json::from_str(&ok(run(
        &env,
        dir.path(),
        Some(&node),
        &["link", "list", "--provider", "entra", "--output", "json"],
    )))
    .expect("listed");
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");

    let removed = ok(run(
        &env,
        dir.path(),
        Some(&node),
        &["link", "remove", "--provider", "entra", "--user", "legacy"],
    ));
    assert!(removed.contains("local only"), "{removed}");
    assert!(
        users(&emulator)
            .iter()
            .any(|u| u["id"].as_str() == Some(remote_id.as_str())),
        "the Entra user stays"
    );
    let gone = run(
        &env,
        dir.path(),
        Some(&node),
        &["link", "show", "--provider", "entra", "--user", "legacy"],
    );
    assert!(!gone.status.success());
}

/// The value of the sample whose line starts with `series` (its name and labels as rendered).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|line| line.starts_with(series))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

fn promtool_accepts(text: &str) {
    use std::io::Write;
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (install it with scripts/ensure-promtool)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write");
    let output = child.wait_with_output().expect("promtool ran");
    assert!(
        output.status.success(),
        "promtool refused the metrics:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The counters move by what a sync did: the create-triggered full sync of 12 users and a
/// group, then one direct sync; scraped on the metrics listener (no token) and on the admin
/// one (token), and accepted by promtool.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_what_a_sync_did() {
    let emulator = Emulator::start(EmulatorConfig::default())
        .await
        .expect("emulator");
    let domain = emulator.verified_domains()[0].clone();
    let dir = tempfile::tempdir().expect("temp dir");
    let env = Env::new("sqlite://entrasync.db", None, &emulator);
    let node = serve_with(
        &env,
        dir.path(),
        true,
        &[("ENTRASYNC_METRICS_LISTEN", "127.0.0.1:0")],
    );
    let mut records = vec![json!({"type": "group", "name": "Staff"})];
    for n in 0..12 {
        records.push(json!({"type": "user", "username": format!("m{n}"),
            "email": format!("m{n}@{domain}")}));
    }
    import(&node, records).await;
    add_provider(&env, dir.path(), &node, &emulator);
    let provider: Value = serde_json::from_str(&ok(run(
        &env,
        dir.path(),
        Some(&node),
        &["provider", "show", "entra", "--output", "json"],
    )))
    .expect("the provider");
    let id = provider["id"].as_str().expect("id").to_owned();
    let client = reqwest::Client::new();
    let metrics_url = node.metrics_url.clone().expect("the metrics listener");
    let scrape = || async {
        client
            .get(&metrics_url)
            .send()
            .await
            .expect("scrape")
            .text()
            .await
            .expect("text")
    };
    let runs = format!(
        r#"entrasync_runs_total{{provider="{id}",trigger="create",status="succeeded",dry_run="false"}}"#
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut text = scrape().await;
    while sample(&text, &runs) != Some(1.0) {
        assert!(
            Instant::now() < deadline,
            "no succeeded run counted:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        text = scrape().await;
    }
    assert_eq!(
        sample(
            &text,
            &format!(r#"entrasync_objects_total{{provider="{id}",kind="user",outcome="created"}}"#)
        ),
        Some(12.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            &format!(
                r#"entrasync_objects_total{{provider="{id}",kind="group",outcome="created"}}"#
            )
        ),
        Some(1.0),
        "{text}"
    );
    assert!(
        sample(
            &text,
            &format!(r#"entrasync_last_successful_sync_timestamp_seconds{{provider="{id}"}}"#)
        )
        .is_some_and(|at| at > 1.7e9),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            r#"entrasync_graph_requests_total{{provider="{id}",route="#
        )),
        "{text}"
    );

    // One direct sync: its lag is observed once.
    ok(run(
        &env,
        dir.path(),
        Some(&node),
        &["user", "update", "m3", "--name", "Renamed"],
    ));
    let lag = format!(r#"entrasync_direct_sync_lag_seconds_count{{provider="{id}"}}"#);
    let deadline = Instant::now() + Duration::from_secs(30);
    while sample(&text, &lag) != Some(1.0) {
        assert!(
            Instant::now() < deadline,
            "no direct sync lag observed:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        text = scrape().await;
    }
    assert_eq!(
        sample(
            &text,
            &format!(r#"entrasync_objects_total{{provider="{id}",kind="user",outcome="updated"}}"#)
        ),
        Some(1.0),
        "{text}"
    );
    promtool_accepts(&text);
    documented_metrics_exist(&text);

    // On the admin listener, /metrics needs the admin token.
    let admin = format!("{}/metrics", node.url);
    let refused = client.get(&admin).send().await.expect("send");
    assert_eq!(refused.status(), reqwest::StatusCode::UNAUTHORIZED);
    let allowed = client
        .get(&admin)
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("send");
    assert_eq!(allowed.status(), reqwest::StatusCode::OK);
}

/// The alert rules and the Grafana dashboard in `docs/monitoring/` name only metrics that
/// `/metrics` exposes, and promtool accepts the rules.
fn documented_metrics_exist(scraped: &str) {
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/monitoring");
    let rules = docs.join("alerts.yml");
    let checked = Command::new("promtool")
        .args(["check", "rules"])
        .arg(&rules)
        .output()
        .expect("promtool");
    assert!(
        checked.status.success(),
        "{}",
        String::from_utf8_lossy(&checked.stdout)
    );
    let exposed: Vec<&str> = scraped
        .lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    for file in ["alerts.yml", "grafana-dashboard.json"] {
        let text = std::fs::read_to_string(docs.join(file)).expect("read the doc");
        let mut rest = text.as_str();
        while let Some(at) = rest.find("entrasync_") {
            let name: String = rest[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            rest = &rest[at + name.len()..];
            let base = ["_bucket", "_count", "_sum"]
                .iter()
                .find_map(|suffix| name.strip_suffix(suffix))
                .unwrap_or(&name);
            assert!(
                exposed.contains(&base),
                "{file} names {name}, which /metrics does not expose ({exposed:?})"
            );
        }
    }
}
