//! The real `entrasync` binary: `serve` with no configuration, admin commands against it, and
//! reading the result back over the API with the token `serve` printed.

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, Output, Stdio},
    time::{Duration, Instant},
};

const BIN: &str = env!("CARGO_BIN_EXE_entrasync");

/// A running `entrasync serve`, stopped when dropped.
struct Server {
    child: Child,
    url: String,
    token: Option<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `entrasync serve` in `dir` on a free port and reads what it prints.
fn serve(dir: &Path) -> Server {
    let mut child = Command::new(BIN)
        .arg("serve")
        .current_dir(dir)
        .env("ENTRASYNC_LISTEN", "127.0.0.1:0")
        // These tests manage providers but never sync them: no worker may reach for Microsoft.
        .env("ENTRASYNC_WORKERS", "false")
        .env_remove("ENTRASYNC_DATABASE_URL")
        .env_remove("ENTRASYNC_ADMIN_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start entrasync serve");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // Read to the end even when nobody listens any more: a closed pipe would be the
        // server's problem, not the test's.
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut url = None;
    let mut token = None;
    let deadline = Instant::now() + Duration::from_secs(30);
    while url.is_none() || (token.is_none() && Instant::now() < deadline) {
        let Ok(line) = rx.recv_timeout(Duration::from_millis(500)) else {
            if url.is_some() {
                break;
            }
            assert!(Instant::now() < deadline, "serve printed no address");
            continue;
        };
        if let Some(rest) = line.strip_prefix("entrasync is listening on ") {
            url = rest.split_whitespace().next().map(str::to_owned);
        }
        if let Some(found) = line.trim().strip_prefix("es_") {
            token = Some(format!("es_{found}"));
        }
    }
    Server {
        child,
        url: url.expect("address"),
        token,
    }
}

fn cli(server: &Server, token: &str, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("ENTRASYNC_SERVER_URL", &server.url)
        .env("ENTRASYNC_TOKEN", token)
        .output()
        .expect("run entrasync")
}

fn ok(output: Output) -> String {
    assert!(
        output.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8")
}

fn json(output: Output) -> serde_json::Value {
    serde_json::from_str(&ok(output)).expect("JSON output")
}

#[tokio::test]
async fn a_newcomer_serves_adds_and_reads_back() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = serve(dir.path());
    let token = server
        .token
        .clone()
        .expect("the first start prints a token");
    assert!(
        dir.path().join("entrasync.db").exists(),
        "SQLite in the working directory"
    );

    ok(cli(
        &server,
        &token,
        &[
            "user",
            "add",
            "alice",
            "--email",
            "alice@example.com",
            "--name",
            "Alice Liddell",
        ],
    ));
    ok(cli(
        &server,
        &token,
        &[
            "user",
            "add",
            "svc-backup",
            "--kind",
            "service_account",
            "--inactive",
        ],
    ));
    ok(cli(&server, &token, &["group", "add", "R&D"]));
    ok(cli(
        &server,
        &token,
        &["group", "add-member", "R&D", "alice", "svc-backup"],
    ));

    let duplicate = cli(&server, &token, &["user", "add", "ALICE"]);
    assert!(!duplicate.status.success());
    let stderr = String::from_utf8_lossy(&duplicate.stderr);
    assert!(stderr.contains("conflict (username)"), "{stderr}");

    let members = json(cli(
        &server,
        &token,
        &["group", "members", "R&D", "-o", "json"],
    ));
    assert_eq!(members.as_array().map(Vec::len), Some(2));
    let table = ok(cli(&server, &token, &["user", "list"]));
    assert!(
        table.contains("Alice Liddell") && table.contains("2 shown"),
        "{table}"
    );

    // Read back over the API with the printed token.
    let client = reqwest::Client::new();
    let alice: serde_json::Value = client
        .get(format!("{}/api/v1/users/alice", server.url))
        .bearer_auth(&token)
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("JSON");
    assert_eq!(alice["email"], "alice@example.com");
    let groups: serde_json::Value = client
        .get(format!("{}/api/v1/users/alice/groups", server.url))
        .bearer_auth(&token)
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("JSON");
    assert_eq!(groups["items"][0]["name"], "R&D");
    let denied = client
        .get(format!("{}/api/v1/users", server.url))
        .send()
        .await
        .expect("GET");
    assert_eq!(denied.status(), reqwest::StatusCode::UNAUTHORIZED);

    ok(cli(
        &server,
        &token,
        &["user", "update", "alice", "--no-email", "--active", "false"],
    ));
    let alice = json(cli(
        &server,
        &token,
        &["user", "show", "alice", "-o", "json"],
    ));
    assert_eq!(
        (alice["email"].clone(), alice["is_active"].clone()),
        (serde_json::Value::Null, serde_json::json!(false))
    );
    ok(cli(
        &server,
        &token,
        &["group", "remove-member", "R&D", "svc-backup"],
    ));
    ok(cli(&server, &token, &["user", "delete", "svc-backup"]));
    let users = json(cli(&server, &token, &["user", "list", "-o", "json"]));
    assert_eq!(users.as_array().map(Vec::len), Some(1));
}

#[test]
fn the_token_is_printed_only_on_the_first_start() {
    let dir = tempfile::tempdir().expect("temp dir");
    let first = serve(dir.path());
    assert!(first.token.is_some());
    drop(first);
    let second = serve(dir.path());
    assert!(second.token.is_none(), "a second start shows no token");
}

#[test]
fn import_reports_bad_rows_by_line_and_imports_the_rest() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = serve(dir.path());
    let token = server.token.clone().expect("token");
    let file = dir.path().join("people.csv");
    std::fs::write(
        &file,
        "type,username,name,email,is_active,group,user\n\
         user,carol,Carol,carol@example.com,true,,\n\
         group,,Ops,,,,\n\
         membership,,,,,Ops,carol\n\
         membership,,,,,Ops,nobody\n\
         user,dave,,not-an-email,,,\n\
         user,erin,Erin,erin@example.com,no,,\n",
    )
    .expect("write CSV");
    let path = file.to_string_lossy().into_owned();
    let output = cli(&server, &token, &["import", &path]);
    assert_eq!(output.status.code(), Some(2), "some rows failed");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("line 5: no user named \"nobody\""),
        "{stderr}"
    );
    assert!(stderr.contains("line 6: email:"), "{stderr}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("4 created") && stdout.contains("2 failed"),
        "{stdout}"
    );

    let again = cli(&server, &token, &["import", &path, "-o", "json"]);
    let summary: serde_json::Value = serde_json::from_slice(&again.stdout).expect("JSON summary");
    assert_eq!(
        (summary["created"].clone(), summary["unchanged"].clone()),
        (serde_json::json!(0), serde_json::json!(4))
    );

    let ops = json(cli(
        &server,
        &token,
        &["group", "members", "Ops", "-o", "json"],
    ));
    assert_eq!(ops[0]["username"], "carol");
    let erin = json(cli(
        &server,
        &token,
        &["user", "show", "erin", "-o", "json"],
    ));
    assert_eq!(erin["is_active"], false);
}

#[test]
fn a_bad_setting_names_its_key_and_source() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = Command::new(BIN)
        .arg("serve")
        .current_dir(dir.path())
        .env("ENTRASYNC_LISTEN", "nowhere")
        .output()
        .expect("run");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("listen") && stderr.contains("ENTRASYNC_LISTEN"),
        "{stderr}"
    );
}

#[test]
fn admin_commands_without_a_token_say_how_to_get_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = Command::new(BIN)
        .args(["user", "list"])
        .current_dir(dir.path())
        .env_remove("ENTRASYNC_TOKEN")
        .env_remove("ENTRASYNC_ADMIN_TOKEN")
        .output()
        .expect("run");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no API token"), "{stderr}");
}

#[test]
fn mappings_are_saved_only_when_they_compile_and_can_be_tried() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = serve(dir.path());
    let token = server.token.clone().expect("token");
    ok(cli(
        &server,
        &token,
        &[
            "user",
            "add",
            "o'brien",
            "--name",
            "Pat O'Brien",
            "--email",
            "pat.obrien@contoso.onmicrosoft.com",
        ],
    ));

    let listed = json(cli(&server, &token, &["mapping", "list", "-o", "json"]));
    assert_eq!(
        listed.as_array().map(Vec::len),
        Some(2),
        "the defaults are installed: {listed}"
    );

    let broken = cli(
        &server,
        &token,
        &[
            "mapping",
            "add",
            "broken",
            "--kind",
            "user",
            "--expression",
            "#{\n  displayName: ,\n}",
        ],
    );
    assert!(!broken.status.success());
    let stderr = String::from_utf8_lossy(&broken.stderr);
    assert!(stderr.contains("line 2"), "{stderr}");

    let file = dir.path().join("department.rhai");
    std::fs::write(
        &file,
        "#{ department: get(user.attributes, \"department\", \"none\") }",
    )
    .expect("write");
    let path = file.to_string_lossy().into_owned();
    ok(cli(
        &server,
        &token,
        &[
            "mapping",
            "add",
            "department",
            "--kind",
            "user",
            "--file",
            &path,
        ],
    ));

    let report = json(cli(
        &server,
        &token,
        &[
            "mapping",
            "test",
            "--mapping",
            "entrasync default: user",
            "--mapping",
            "department",
            "--user",
            "o'brien",
            "-o",
            "json",
        ],
    ));
    assert_eq!(report["outcome"], "document", "{report}");
    assert_eq!(report["document"]["displayName"], "Pat O'Brien");
    assert_eq!(report["document"]["department"], "none");

    let skipped = ok(cli(
        &server,
        &token,
        &[
            "mapping",
            "test",
            "--expression",
            "skip(\"not today\")",
            "--user",
            "o'brien",
        ],
    ));
    assert!(skipped.contains("not today"), "{skipped}");
    let failing = cli(
        &server,
        &token,
        &[
            "mapping",
            "test",
            "--expression",
            "#{ displayName: user.nmae }",
            "--user",
            "o'brien",
        ],
    );
    assert!(
        !failing.status.success(),
        "a mapping error fails the command"
    );
    assert!(String::from_utf8_lossy(&failing.stderr).contains("nmae"));
}

#[test]
fn providers_are_managed_without_ever_printing_their_secret() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = serve(dir.path());
    let token = server.token.clone().expect("token");
    assert!(
        dir.path().join("entrasync.key").exists(),
        "the secret key file is created"
    );
    ok(cli(&server, &token, &["group", "add", "Staff"]));

    let secret = "pr0vider-s3cret-value";
    let add = Command::new(BIN)
        .args([
            "provider",
            "add",
            "Contoso",
            "--tenant-id",
            "contoso.onmicrosoft.com",
            "--client-id",
            "0d7e9c4a-2b1f-4a6e-8c3d-5f6a7b8c9d0e",
            "--client-secret-from-env",
            "--dry-run",
            "true",
            "-o",
            "json",
        ])
        .env("ENTRASYNC_SERVER_URL", &server.url)
        .env("ENTRASYNC_TOKEN", &token)
        .env("ENTRASYNC_CLIENT_SECRET", secret)
        .output()
        .expect("run");
    let stdout = ok(add);
    assert!(!stdout.contains(secret), "{stdout}");
    let created: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(
        (created["dry_run"].clone(), created["credential"].clone()),
        (serde_json::json!(true), serde_json::json!("client_secret"))
    );

    let updated = json(cli(
        &server,
        &token,
        &[
            "provider",
            "update",
            "contoso",
            "--filter-group",
            "Staff",
            "--exclude-service-accounts",
            "true",
            "--user-delete-action",
            "suspend",
            "-o",
            "json",
        ],
    ));
    assert_eq!(updated["user_delete_action"], "suspend");
    assert_eq!(updated["user_scope"]["exclude_service_accounts"], true);
    assert!(updated["user_scope"]["filter_group"].is_string());
    let again = json(cli(
        &server,
        &token,
        &[
            "provider",
            "update",
            "contoso",
            "--dry-run",
            "false",
            "-o",
            "json",
        ],
    ));
    assert_eq!(
        again["user_scope"], updated["user_scope"],
        "flags not given leave the scope alone"
    );

    let bad = cli(
        &server,
        &token,
        &["provider", "update", "contoso", "--schedule", "hourly"],
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("schedule.cron"));

    let table = ok(cli(&server, &token, &["provider", "list"]));
    assert!(
        table.contains("Contoso") && !table.contains(secret),
        "{table}"
    );
    ok(cli(&server, &token, &["provider", "delete", "Contoso"]));
    let list = json(cli(&server, &token, &["provider", "list", "-o", "json"]));
    assert_eq!(list, serde_json::json!([]));
}
