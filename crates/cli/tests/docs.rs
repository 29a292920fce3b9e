//! The administrators' documentation runs: every `sh` block of `docs/*.md` is executed with
//! bash, in order, against a real `entrasync serve` and the Graph emulator (whose tenant, app
//! and secret are the ones the docs show). A documented command that stops working fails here.

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
};

use graph_emulator::{Emulator, EmulatorConfig, RunningEmulator};
use secrecy::ExposeSecret;

const BIN: &str = env!("CARGO_BIN_EXE_entrasync");
const TOKEN: &str = "es_docs_token_0123456789abcdefghijklmnop";
/// The secret the docs export.
const DOCS_SECRET: &str = "the secret value";

/// The `sh` code blocks of a Markdown file, in order.
fn sh_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match &mut current {
            None if line.trim() == "```sh" => current = Some(String::new()),
            Some(block) if line.trim() == "```" => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
            None => {}
        }
    }
    blocks
}

struct Environment {
    _emulator: RunningEmulator,
    dir: tempfile::TempDir,
    vars: Vec<(&'static str, String)>,
    server: Child,
}

impl Drop for Environment {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

async fn environment() -> Environment {
    let dir = tempfile::tempdir().expect("temp dir");
    // The certificate the docs switch to: its files where the docs expect them, and registered
    // with the emulated app.
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).expect("rsa key");
    let cert = rcgen::CertificateParams::new(vec!["entrasync-docs".to_owned()])
        .expect("params")
        .self_signed(&key)
        .expect("self-signed");
    std::fs::write(dir.path().join("app.pem"), cert.pem()).expect("write app.pem");
    std::fs::write(dir.path().join("app.key"), key.serialize_pem()).expect("write app.key");
    let emulator = Emulator::start(
        EmulatorConfig {
            client_secret: Some(DOCS_SECRET.to_owned()),
            ..EmulatorConfig::default()
        }
        .with_certificate_pem(cert.pem()),
    )
    .await
    .expect("emulator");
    let (_, secret_key) = store::SecretKey::generate().expect("key");
    let vars = vec![
        ("ENTRASYNC_DATABASE_URL", "sqlite://entrasync.db".to_owned()),
        ("ENTRASYNC_ADMIN_TOKEN", TOKEN.to_owned()),
        ("ENTRASYNC_TOKEN", TOKEN.to_owned()),
        (
            "ENTRASYNC_SECRET_KEY",
            secret_key.expose_secret().to_owned(),
        ),
        ("ENTRASYNC_GRAPH_URL", emulator.base_url().to_owned()),
        ("ENTRASYNC_LOGIN_URL", emulator.login_url().to_owned()),
        ("ENTRASYNC_GRAPH_TIME_SCALE", "100".to_owned()),
    ];
    let mut command = Command::new(BIN);
    command
        .arg("serve")
        .current_dir(dir.path())
        .env("ENTRASYNC_LISTEN", "127.0.0.1:0")
        .env_remove("ENTRASYNC_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (key, value) in &vars {
        command.env(key, value);
    }
    let mut server = command.spawn().expect("start serve");
    let mut lines = BufReader::new(server.stdout.take().expect("stdout")).lines();
    let url = loop {
        let line = lines
            .next()
            .expect("serve printed its address")
            .expect("line");
        if let Some(rest) = line.strip_prefix("entrasync is listening on ") {
            break rest.split_whitespace().next().expect("url").to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    let mut vars = vars;
    vars.push(("ENTRASYNC_SERVER_URL", url));
    Environment {
        _emulator: emulator,
        dir,
        vars,
        server,
    }
}

fn docs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs")
}

/// Runs every `sh` block of `file`, in order; each must succeed.
fn run_doc(environment: &Environment, file: &str) {
    let markdown = std::fs::read_to_string(docs_dir().join(file)).expect("read the doc");
    let blocks = sh_blocks(&markdown);
    assert!(!blocks.is_empty(), "{file} shows no command");
    let bin_dir = Path::new(BIN).parent().expect("the binary's directory");
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for block in blocks {
        let mut command = Command::new("bash");
        command
            .args(["-euo", "pipefail", "-c", &block])
            .current_dir(environment.dir.path())
            .env("PATH", &path)
            .env_remove("ENTRASYNC_CONFIG");
        for (key, value) in &environment.vars {
            command.env(key, value);
        }
        let output = command.output().expect("run bash");
        assert!(
            output.status.success(),
            "{file}: this block failed ({}):\n{block}\n--- stdout\n{}\n--- stderr\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configure_entra_id_runs_as_written() {
    let environment = environment().await;
    run_doc(&environment, "configure-entra-id.md");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_a_provider_then_mappings_then_operating_run_as_written() {
    let environment = environment().await;
    for file in [
        "create-a-provider.md",
        "property-mappings.md",
        "operating.md",
    ] {
        run_doc(&environment, file);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feed_the_directory_with_scim_runs_as_written() {
    let environment = environment().await;
    run_doc(&environment, "scim.md");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_page_runs_as_written() {
    let environment = environment().await;
    run_doc(&environment, "console.md");
}

#[test]
fn every_doc_is_exercised_here() {
    let mut docs: Vec<String> = std::fs::read_dir(docs_dir())
        .expect("docs/")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".md"))
        .collect();
    docs.sort();
    assert_eq!(
        docs,
        [
            "configure-entra-id.md",
            "console.md",
            "create-a-provider.md",
            "operating.md",
            "property-mappings.md",
            "scim.md"
        ],
        "a new doc must be run by a test in this file"
    );
}
