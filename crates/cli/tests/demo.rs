//! `entrasync demo`, the README's main command, as a newcomer runs it: no configuration, no
//! tenant. Its summary must match the emulator's state to what the directory expects.

use std::process::Command;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_entrasync");

#[test]
fn the_demo_leaves_entra_exactly_as_the_directory_says() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = Command::new(BIN)
        .args(["demo", "--json"])
        .current_dir(dir.path())
        .env_remove("ENTRASYNC_CONFIG")
        .env_remove("ENTRASYNC_DATABASE_URL")
        .output()
        .expect("run the demo");
    let story = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the demo failed:\n{story}");
    let summary: Value = serde_json::from_slice(&output.stdout).expect("a JSON summary");
    assert_eq!(summary["entra"], summary["expected"], "{summary}");
    assert_eq!(summary["entra"]["groups"], 50);
    // 2,003 people less a deletion, a service account made of a user, and the 3 service accounts.
    assert_eq!(summary["entra"]["users"], 1998);
    for step in [
        "Dry run",
        "Full sync succeeded",
        "rename",
        "disable",
        "delete",
        "Engineering",
        "leaves scope",
    ] {
        assert!(
            story.contains(step),
            "the story tells of {step:?}:\n{story}"
        );
    }
    assert!(
        std::fs::read_dir(dir.path())
            .expect("list")
            .next()
            .is_none(),
        "the demo leaves nothing behind in the working directory"
    );
}

/// `demo --console` leaves its server running and prints where the console is and a token
/// that signs in.
#[test]
fn the_demo_can_end_in_the_console() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = Command::new(BIN)
        .args(["demo", "--people", "60", "--console"])
        .current_dir(dir.path())
        .env_remove("ENTRASYNC_CONFIG")
        .env_remove("ENTRASYNC_DATABASE_URL")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("run the demo");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut url = None;
    let mut token = None;
    for line in lines.by_ref() {
        let line = line.expect("a line");
        if let Some(rest) = line.strip_prefix("The console is at ") {
            url = rest.split_whitespace().next().map(str::to_owned);
        }
        if line.trim().starts_with("es_") {
            token = Some(line.trim().to_owned());
            break;
        }
    }
    let (url, token) = (url.expect("the console's address"), token.expect("a token"));
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let status = runtime.block_on(async {
        let base = url.trim_end_matches("/console");
        reqwest::Client::new()
            .get(format!("{base}/api/v1/providers"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("the demo's server answers")
            .status()
    });
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(
        status,
        reqwest::StatusCode::OK,
        "the printed token opens it"
    );
}
