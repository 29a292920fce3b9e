//! `entrasync emulator`: starts with no flags' worth of configuration, prints what a client
//! needs, and a Graph client can use exactly that.

use std::{
    collections::HashMap,
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    time::Duration,
};

const BIN: &str = env!("CARGO_BIN_EXE_entrasync");

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the emulator and collects its "  label   value" lines until "Press Ctrl-C".
fn start(args: &[&str]) -> (Running, HashMap<String, String>) {
    let mut child = Command::new(BIN)
        .arg("emulator")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the emulator");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut printed = HashMap::new();
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(30)) {
        if line.starts_with("Press Ctrl-C") {
            break;
        }
        if let Some((label, value)) = line.trim().split_once("   ") {
            printed.insert(label.trim().to_owned(), value.trim().to_owned());
        }
    }
    (Running(child), printed)
}

#[tokio::test]
async fn prints_its_credentials_and_answers_a_graph_client() {
    let (_running, printed) = start(&[
        "--port",
        "0",
        "--domain",
        "example.org",
        "--domain",
        "contoso.com",
    ]);
    for label in [
        "Graph base URL",
        "token endpoint",
        "tenant id",
        "client id",
        "client secret",
    ] {
        assert!(
            printed.contains_key(label),
            "{label} missing from {printed:?}"
        );
    }
    let client = reqwest::Client::new();
    let token: serde_json::Value = client
        .post(&printed["token endpoint"])
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", printed["client id"].as_str()),
            ("client_secret", printed["client secret"].as_str()),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .await
        .expect("token request")
        .json()
        .await
        .expect("token JSON");
    let access_token = token["access_token"].as_str().expect("access token");
    let organization: serde_json::Value = client
        .get(format!("{}/organization", printed["Graph base URL"]))
        .bearer_auth(access_token)
        .send()
        .await
        .expect("organization")
        .json()
        .await
        .expect("JSON");
    let domains: Vec<&str> = organization["value"][0]["verifiedDomains"]
        .as_array()
        .expect("verified domains")
        .iter()
        .filter_map(|domain| domain["name"].as_str())
        .collect();
    assert_eq!(domains, ["example.org", "contoso.com"]);
}

#[test]
fn bad_flags_are_refused_clearly() {
    let output = Command::new(BIN)
        .args(["emulator", "--port", "0", "--throttle", "huge"])
        .output()
        .expect("run");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("huge"));
    let output = Command::new(BIN)
        .args(["emulator", "--port", "0", "--error-rate", "2"])
        .output()
        .expect("run");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--error-rate"));
}
