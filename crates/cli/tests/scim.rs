//! Inbound SCIM end to end through the real binary: a SCIM client (requests shaped as
//! Microsoft Entra's provisioning service and Okta send them) writes to `entrasync serve`,
//! and the direct sync carries each write to the emulated tenant.

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, Output, Stdio},
    time::{Duration, Instant},
};

use graph_emulator::{Emulator, EmulatorConfig, RunningEmulator};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_entrasync");
const TOKEN: &str = "es_test_token_for_scim_end_to_end_0123456789";
const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

struct Node {
    child: Child,
    url: String,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn command(dir: &Path, emulator: &RunningEmulator, key: &str) -> Command {
    let mut command = Command::new(BIN);
    command
        .current_dir(dir)
        .env_remove("ENTRASYNC_CONFIG")
        .env("ENTRASYNC_DATABASE_URL", "sqlite://entrasync.db")
        .env("ENTRASYNC_ADMIN_TOKEN", TOKEN)
        .env("ENTRASYNC_TOKEN", TOKEN)
        .env("ENTRASYNC_SECRET_KEY", key)
        .env("ENTRASYNC_GRAPH_URL", emulator.base_url())
        .env("ENTRASYNC_LOGIN_URL", emulator.login_url())
        .env(
            "ENTRASYNC_CLIENT_SECRET",
            emulator.client_secret().expect("secret"),
        );
    command
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

fn serve(dir: &Path, emulator: &RunningEmulator, key: &str) -> Node {
    let mut child = command(dir, emulator, key)
        .arg("serve")
        .env("ENTRASYNC_LISTEN", "127.0.0.1:0")
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
    std::thread::spawn(move || for _ in lines {});
    Node { child, url }
}

struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Client {
    async fn send(&self, method: reqwest::Method, path: &str, body: Value) -> (u16, Value) {
        let response = self
            .http
            .request(method, format!("{}/scim/v2{path}", self.base))
            .bearer_auth(&self.token)
            .header("content-type", "application/scim+json")
            .body(body.to_string())
            .send()
            .await
            .expect("send");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        let value = serde_json::from_str(&text).unwrap_or(Value::Null);
        (status, value)
    }
}

/// Waits until `check` holds of the emulated tenant.
async fn until(emulator: &RunningEmulator, what: &str, check: impl Fn(&Value) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let tenant = emulator.dump();
        if check(&tenant) {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: {tenant:#}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn user_named<'a>(tenant: &'a Value, upn: &str) -> Option<&'a Value> {
    tenant["users"]
        .as_array()?
        .iter()
        .find(|user| user["userPrincipalName"].as_str() == Some(upn))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scim_writes_reach_entra_through_the_direct_sync() {
    let emulator = Emulator::start(EmulatorConfig::default())
        .await
        .expect("emulator");
    let domain = emulator.verified_domains()[0].clone();
    let dir = tempfile::tempdir().expect("temp dir");
    let (_, key) = store::SecretKey::generate().expect("a key");
    let key = key.expose_secret().to_owned();
    let node = serve(dir.path(), &emulator, &key);
    let cli = |args: &[&str]| {
        ok(command(dir.path(), &emulator, &key)
            .env("ENTRASYNC_SERVER_URL", &node.url)
            .args(args)
            .output()
            .expect("run entrasync"))
    };
    // What SCIM keeps in a user's attributes, a mapping sends on.
    cli(&[
        "mapping",
        "add",
        "scim fields",
        "--kind",
        "user",
        "--expression",
        "let d = #{}; \
         if user.attributes.department != () { d.department = user.attributes.department; } \
         if user.attributes.title != () { d.jobTitle = user.attributes.title; } \
         d",
    ]);
    cli(&[
        "provider",
        "add",
        "entra",
        "--tenant-id",
        emulator.tenant_id(),
        "--client-id",
        emulator.client_id(),
        "--client-secret-from-env",
        "--user-mapping",
        "entrasync default: user",
        "--user-mapping",
        "scim fields",
    ]);
    let created: Value = serde_json::from_str(&cli(&[
        "token", "create", "okta", "--kind", "scim", "--output", "json",
    ]))
    .expect("the token as JSON");
    let client = Client {
        http: reqwest::Client::new(),
        base: node.url.clone(),
        token: created["token"].as_str().expect("token").to_owned(),
    };

    // Entra's provisioning service creates a user with the enterprise extension.
    let upn = format!("grace@{domain}");
    let (status, user) = client
        .send(
            reqwest::Method::POST,
            "/Users",
            json!({
                "schemas": [USER, ENTERPRISE],
                "externalId": "grace",
                "userName": upn,
                "active": true,
                "displayName": "Grace Hopper",
                "emails": [{"primary": true, "type": "work", "value": upn}],
                "title": "Engineer",
                ENTERPRISE: {"department": "Navy"},
            }),
        )
        .await;
    assert_eq!(status, 201, "{user}");
    let user_id = user["id"].as_str().expect("id").to_owned();
    until(&emulator, "the SCIM user in Entra", |tenant| {
        user_named(tenant, &upn).is_some_and(|u| {
            u["displayName"] == "Grace Hopper"
                && u["department"] == "Navy"
                && u["jobTitle"] == "Engineer"
                && u["accountEnabled"] == true
        })
    })
    .await;

    // An update by PATCH, the way Entra sends it.
    let (status, _) = client
        .send(
            reqwest::Method::PATCH,
            &format!("/Users/{user_id}"),
            json!({"schemas": [PATCH], "Operations": [
                {"op": "Replace", "path": "title", "value": "Rear Admiral"},
                {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "US Navy"},
            ]}),
        )
        .await;
    assert_eq!(status, 200);
    until(&emulator, "the PATCH in Entra", |tenant| {
        user_named(tenant, &upn)
            .is_some_and(|u| u["jobTitle"] == "Rear Admiral" && u["department"] == "US Navy")
    })
    .await;

    // A group pushed with its member, as Okta pushes it.
    let (status, group) = client
        .send(
            reqwest::Method::POST,
            "/Groups",
            json!({"schemas": [GROUP], "displayName": "Admirals", "members": [{"value": user_id}]}),
        )
        .await;
    assert_eq!(status, 201, "{group}");
    until(&emulator, "the group and its member in Entra", |tenant| {
        let Some(entra_user) = user_named(tenant, &upn) else {
            return false;
        };
        tenant["groups"].as_array().is_some_and(|groups| {
            groups.iter().any(|g| {
                g["displayName"] == "Admirals"
                    && g["members"]
                        .as_array()
                        .is_some_and(|members| members.len() == 1 && members[0] == entra_user["id"])
            })
        })
    })
    .await;

    // Deactivated (Okta's path-less replace), then deleted: the provider's delete action.
    let (status, _) = client
        .send(
            reqwest::Method::PATCH,
            &format!("/Users/{user_id}"),
            json!({"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": false}}]}),
        )
        .await;
    assert_eq!(status, 200);
    until(&emulator, "the user disabled in Entra", |tenant| {
        user_named(tenant, &upn).is_some_and(|u| u["accountEnabled"] == false)
    })
    .await;
    let (status, _) = client
        .send(
            reqwest::Method::DELETE,
            &format!("/Users/{user_id}"),
            Value::Null,
        )
        .await;
    assert_eq!(status, 204);
    until(&emulator, "the user deleted from Entra", |tenant| {
        user_named(tenant, &upn).is_none()
    })
    .await;
}
