//! The real `entrasync` binary: API tokens made, listed and revoked from the command line, the
//! configured admin token rotated across restarts and refused when too short, and database
//! passwords never printed, whatever form the URL gives them.

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, Output, Stdio},
};

const BIN: &str = env!("CARGO_BIN_EXE_entrasync");

/// A running `entrasync serve`, stopped when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `entrasync serve` in `dir` on a free port with `admin_token` configured.
fn serve(dir: &Path, admin_token: &str) -> Server {
    let mut child = Command::new(BIN)
        .arg("serve")
        .current_dir(dir)
        .env("ENTRASYNC_LISTEN", "127.0.0.1:0")
        .env("ENTRASYNC_WORKERS", "false")
        .env("ENTRASYNC_ADMIN_TOKEN", admin_token)
        .env_remove("ENTRASYNC_DATABASE_URL")
        .env_remove("ENTRASYNC_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start entrasync serve");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let url = loop {
        let line = lines
            .next()
            .expect("serve printed its address")
            .expect("a line");
        if let Some(rest) = line.strip_prefix("entrasync is listening on ") {
            break rest.split_whitespace().next().expect("URL").to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Server { child, url }
}

fn cli(server: &Server, token: &str, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("ENTRASYNC_SERVER_URL", &server.url)
        .env("ENTRASYNC_TOKEN", token)
        .env_remove("ENTRASYNC_ADMIN_TOKEN")
        .env_remove("ENTRASYNC_CONFIG")
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

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

const FIRST_ADMIN_TOKEN: &str = "first-configured-admin-token-0123456789";
const SECOND_ADMIN_TOKEN: &str = "second-configured-admin-token-012345678";

#[test]
fn tokens_are_made_listed_and_revoked_from_the_command_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = serve(dir.path(), FIRST_ADMIN_TOKEN);

    let created: serde_json::Value = serde_json::from_str(&ok(cli(
        &server,
        FIRST_ADMIN_TOKEN,
        &[
            "token",
            "create",
            "ci",
            "--expires-in-days",
            "7",
            "-o",
            "json",
        ],
    )))
    .expect("JSON");
    let ci = created["token"].as_str().expect("the token").to_owned();
    assert!(created["expires_at"].is_string(), "{created}");
    ok(cli(&server, &ci, &["user", "list"]));

    let printed = ok(cli(
        &server,
        FIRST_ADMIN_TOKEN,
        &["token", "create", "backup"],
    ));
    let backup = printed
        .lines()
        .map(str::trim)
        .find(|line| line.starts_with("es_"))
        .unwrap_or_else(|| panic!("the table output shows the token once: {printed}"))
        .to_owned();
    assert!(printed.contains("does not expire"), "{printed}");

    let table = ok(cli(&server, &ci, &["token", "list"]));
    for name in ["admin (configured)", "ci", "backup", "3 shown"] {
        assert!(table.contains(name), "{name}: {table}");
    }
    let listed = ok(cli(&server, &ci, &["token", "list", "-o", "json"]));
    for secret in [FIRST_ADMIN_TOKEN, ci.as_str(), backup.as_str()] {
        assert!(
            !table.contains(secret) && !listed.contains(secret),
            "{listed}"
        );
    }
    let listed: serde_json::Value = serde_json::from_str(&listed).expect("JSON");
    assert!(
        listed
            .as_array()
            .is_some_and(|items| items.iter().all(|t| t.get("token").is_none())),
        "{listed}"
    );

    ok(cli(&server, FIRST_ADMIN_TOKEN, &["token", "revoke", "ci"]));
    let refused = cli(&server, &ci, &["user", "list"]);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("unauthorized"),
        "{}",
        stderr(&refused)
    );
    let again = cli(&server, FIRST_ADMIN_TOKEN, &["token", "revoke", "ci"]);
    assert!(!again.status.success());
    assert!(stderr(&again).contains("not_found"), "{}", stderr(&again));
    let bad = cli(
        &server,
        FIRST_ADMIN_TOKEN,
        &["token", "create", "x", "--expires-in-days", "0"],
    );
    assert!(
        stderr(&bad).contains("validation_failed (expires_in_days)"),
        "{}",
        stderr(&bad)
    );

    // A restart with another configured token: the old one is refused from then on.
    drop(server);
    let server = serve(dir.path(), SECOND_ADMIN_TOKEN);
    let old = cli(&server, FIRST_ADMIN_TOKEN, &["user", "list"]);
    assert!(
        !old.status.success(),
        "the rotated-out admin token is revoked"
    );
    ok(cli(&server, SECOND_ADMIN_TOKEN, &["user", "list"]));
    ok(cli(&server, &backup, &["user", "list"]));
    let table = ok(cli(&server, SECOND_ADMIN_TOKEN, &["token", "list"]));
    assert_eq!(
        table.matches("admin (configured)").count(),
        1,
        "one configured token, not one per value: {table}"
    );
}

#[test]
fn a_short_admin_token_is_a_start_up_error_naming_its_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = Command::new(BIN)
        .arg("serve")
        .current_dir(dir.path())
        .env("ENTRASYNC_ADMIN_TOKEN", "old-token-aaaa")
        .env("ENTRASYNC_LISTEN", "127.0.0.1:0")
        .env_remove("ENTRASYNC_CONFIG")
        .output()
        .expect("run");
    assert!(!output.status.success());
    let text = stderr(&output);
    assert!(
        text.contains("admin_token") && text.contains("ENTRASYNC_ADMIN_TOKEN"),
        "{text}"
    );
    assert!(text.contains("32 characters"), "{text}");
    assert!(!text.contains("old-token-aaaa"), "{text}");
    assert!(
        !dir.path().join("entrasync.db").exists(),
        "refused before anything is opened"
    );
}

/// Runs `entrasync ARGS` with `ENTRASYNC_DATABASE_URL=url` to its end; what it printed on
/// both streams.
fn run_against(url: &str, args: &[&str]) -> (bool, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = Command::new(BIN)
        .args(args)
        .current_dir(dir.path())
        .env("ENTRASYNC_DATABASE_URL", url)
        // Every log line too, sqlx's included.
        .env("ENTRASYNC_LOG", "trace")
        .env("ENTRASYNC_LISTEN", "127.0.0.1:0")
        .env("ENTRASYNC_WORKERS", "false")
        .env_remove("ENTRASYNC_ADMIN_TOKEN")
        .env_remove("ENTRASYNC_CONFIG")
        .output()
        .expect("run entrasync");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), printed)
}

#[test]
fn database_passwords_are_never_printed() {
    // Nothing listens on port 1: each command fails to open the database and says which.
    let cases: [(&str, &[&str], &str); 7] = [
        // The review's reproduction, as it was run.
        (
            "postgres://app@127.0.0.1:1/entrasync?password=hunter2",
            &["serve"],
            "postgres://app@127.0.0.1:1/entrasync?password=***",
        ),
        (
            "postgres://app@127.0.0.1:1/entrasync?sslmode=prefer&sslpassword=hunter2",
            &["serve"],
            "sslpassword",
        ),
        (
            "postgres://app:hunter2@127.0.0.1:1/entrasync",
            &["serve"],
            "postgres://app:***@127.0.0.1:1/entrasync",
        ),
        (
            "postgres://app:hun/ter2@127.0.0.1:1/entrasync",
            &["serve"],
            "postgres://***@127.0.0.1:1/entrasync",
        ),
        (
            "postgres://app:hunter2@x@127.0.0.1:1/entrasync",
            &["serve"],
            "postgres://app:***@127.0.0.1:1/entrasync",
        ),
        (
            "postgres://app@127.0.0.1:1/entrasync?password=hunter2",
            &["sync", "--provider", "Contoso"],
            "cannot open the database",
        ),
        (
            "postgres://app:hunter2@127.0.0.1:1/entrasync?password=hunter2",
            &["sync", "--provider", "Contoso", "--dry-run"],
            "cannot open the database",
        ),
    ];
    // Each waits for the connection pool to give up: in parallel.
    let runs: Vec<_> = cases
        .iter()
        .map(|(url, args, _)| {
            let (url, args) = (url.to_string(), args.to_vec());
            std::thread::spawn(move || run_against(&url, &args))
        })
        .collect();
    for ((url, args, expected), run) in cases.iter().zip(runs) {
        let (succeeded, printed) = run.join().expect("the run");
        assert!(!succeeded, "{args:?} with {url}: {printed}");
        assert!(
            !printed.contains("hunter2") && !printed.contains("ter2"),
            "{args:?} with {url} printed its password: {printed}"
        );
        assert!(printed.contains(expected), "{args:?} with {url}: {printed}");
    }
}

#[test]
fn the_benchmark_does_not_print_the_password_either() {
    let output = Command::new(BIN)
        .args([
            "bench",
            "import",
            "--users",
            "1",
            "--groups",
            "0",
            "--baseline-records",
            "1",
            "--database-url",
            "postgres://app:hunter2@127.0.0.1:1/entrasync",
        ])
        .output()
        .expect("run");
    assert!(!output.status.success());
    let text = stderr(&output);
    assert!(
        text.contains("postgres://app:***@127.0.0.1:1/entrasync"),
        "{text}"
    );
    assert!(!text.contains("hunter2"), "{text}");
}
