//! Inbound SCIM end to end through the real binary: each real client's request sequence
//! (Microsoft Entra's provisioning service, Okta, authentik's SCIM provider) is sent to
//! `entrasync serve`, and the direct sync carries every write to the emulated tenant, where
//! each test ends by checking what Entra holds.

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
        .stderr(std::fs::File::create(dir.join("serve.log")).expect("log file"))
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
async fn until(emulator: &RunningEmulator, what: &str, check: impl Fn(&Value) -> bool, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let tenant = emulator.dump();
        if check(&tenant) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: {tenant:#}\n--- serve's log\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn user_named<'a>(tenant: &'a Value, upn: &str) -> Option<&'a Value> {
    tenant["users"]
        .as_array()?
        .iter()
        .find(|user| user["userPrincipalName"].as_str() == Some(upn))
}

/// `serve` with a provider on the emulator, a mapping that sends SCIM's department and title
/// on, and a SCIM token for `client`.
struct Harness {
    emulator: RunningEmulator,
    _node: Node,
    _dir: tempfile::TempDir,
    client: Client,
    domain: String,
}

impl Harness {
    async fn start(client_name: &str) -> Self {
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
            "#{ department: get(user.attributes, \"department\", ()), \
             jobTitle: get(user.attributes, \"title\", ()) }",
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
            "token",
            "create",
            client_name,
            "--kind",
            "scim",
            "--output",
            "json",
        ]))
        .expect("the token as JSON");
        let client = Client {
            http: reqwest::Client::new(),
            base: node.url.clone(),
            token: created["token"].as_str().expect("token").to_owned(),
        };
        Self {
            emulator,
            _node: node,
            _dir: dir,
            client,
            domain,
        }
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Value) -> (u16, Value) {
        self.client.send(method, path, body).await
    }

    async fn until(&self, what: &str, check: impl Fn(&Value) -> bool) {
        let log = self._dir.path().join("serve.log");
        until(&self.emulator, what, check, &log).await;
    }
}

/// The Entra group named `name`, with its members' user principal names.
fn group_members(tenant: &Value, name: &str) -> Option<Vec<String>> {
    let group = tenant["groups"]
        .as_array()?
        .iter()
        .find(|group| group["displayName"] == name)?;
    let users = tenant["users"].as_array()?;
    let mut members: Vec<String> = group["members"]
        .as_array()?
        .iter()
        .filter_map(|id| users.iter().find(|user| &user["id"] == id))
        .filter_map(|user| user["userPrincipalName"].as_str().map(str::to_owned))
        .collect();
    members.sort();
    Some(members)
}

/// Microsoft Entra's provisioning service: a look-up by userName, a create with the
/// enterprise extension, updates by PATCH (`Replace`, booleans as text, a URN-qualified
/// path), a group looked up without members, created, given members by `Add` and losing one
/// by `Remove` with a value list, then the user disabled and deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entra_provisioning_reaches_entra() {
    let h = Harness::start("entra-provisioning").await;
    let upn = format!("grace@{}", h.domain);
    let other = format!("alan@{}", h.domain);
    let (status, none) = h
        .send(
            reqwest::Method::GET,
            &format!("/Users?filter=userName+eq+%22{upn}%22"),
            Value::Null,
        )
        .await;
    assert_eq!((status, &none["totalResults"]), (200, &json!(0)));
    let (status, user) = h
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
    let (_, second) = h
        .send(
            reqwest::Method::POST,
            "/Users",
            json!({"schemas": [USER], "userName": other, "active": true,
                   "emails": [{"primary": true, "type": "work", "value": other}]}),
        )
        .await;
    let second_id = second["id"].as_str().expect("id").to_owned();
    h.until("the SCIM user in Entra", |tenant| {
        user_named(tenant, &upn).is_some_and(|u| {
            u["displayName"] == "Grace Hopper"
                && u["department"] == "Navy"
                && u["jobTitle"] == "Engineer"
                && u["accountEnabled"] == true
        })
    })
    .await;
    let (status, _) = h
        .send(
            reqwest::Method::PATCH,
            &format!("/Users/{user_id}"),
            json!({"schemas": [PATCH], "Operations": [
                {"op": "Replace", "path": "title", "value": "Rear Admiral"},
                {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "US Navy"},
                {"op": "Replace", "path": "active", "value": "True"},
            ]}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, none) = h
        .send(
            reqwest::Method::GET,
            "/Groups?excludedAttributes=members&filter=displayName+eq+%22Admirals%22",
            Value::Null,
        )
        .await;
    assert_eq!((status, &none["totalResults"]), (200, &json!(0)));
    let (status, group) = h
        .send(
            reqwest::Method::POST,
            "/Groups",
            json!({"schemas": [GROUP], "displayName": "Admirals", "externalId": "admirals"}),
        )
        .await;
    assert_eq!(status, 201, "{group}");
    let group_id = group["id"].as_str().expect("id").to_owned();
    let members = |ids: &[&str]| {
        json!(
            ids.iter()
                .map(|id| json!({"value": id}))
                .collect::<Vec<_>>()
        )
    };
    let (status, _) = h
        .send(
            reqwest::Method::PATCH,
            &format!("/Groups/{group_id}"),
            json!({"schemas": [PATCH], "Operations": [{"op": "Add", "path": "members", "value": members(&[&user_id, &second_id])}]}),
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = h
        .send(
            reqwest::Method::PATCH,
            &format!("/Groups/{group_id}"),
            json!({"schemas": [PATCH], "Operations": [{"op": "Remove", "path": "members", "value": members(&[&second_id])}]}),
        )
        .await;
    assert_eq!(status, 204);
    h.until("the PATCH and the group in Entra", |tenant| {
        user_named(tenant, &upn)
            .is_some_and(|u| u["jobTitle"] == "Rear Admiral" && u["department"] == "US Navy")
            && group_members(tenant, "Admirals") == Some(vec![upn.clone()])
    })
    .await;
    let (status, _) = h
        .send(
            reqwest::Method::PATCH,
            &format!("/Users/{second_id}"),
            json!({"schemas": [PATCH], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = h
        .send(
            reqwest::Method::DELETE,
            &format!("/Users/{user_id}"),
            Value::Null,
        )
        .await;
    assert_eq!(status, 204);
    h.until("one user disabled, the other deleted", |tenant| {
        user_named(tenant, &upn).is_none()
            && user_named(tenant, &other).is_some_and(|u| u["accountEnabled"] == false)
            && group_members(tenant, "Admirals") == Some(vec![])
    })
    .await;
}

/// Okta: a look-up with paging parameters, a create, a replace by PUT, a deactivation by a
/// path-less PATCH, a pushed group with members, renamed and losing a member by a
/// value-path filter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okta_provisioning_reaches_entra() {
    let h = Harness::start("okta").await;
    let dade = format!("dade.murphy@{}", h.domain);
    let kate = format!("kate.libby@{}", h.domain);
    let (status, none) = h
        .send(
            reqwest::Method::GET,
            &format!("/Users?filter=userName%20eq%20%22{dade}%22&startIndex=1&count=100"),
            Value::Null,
        )
        .await;
    assert_eq!((status, &none["totalResults"]), (200, &json!(0)));
    let mut ids = Vec::new();
    for (upn, given, family) in [(&dade, "Dade", "Murphy"), (&kate, "Kate", "Libby")] {
        let (status, created) = h
            .send(
                reqwest::Method::POST,
                "/Users",
                json!({
                    "schemas": [USER],
                    "userName": upn,
                    "name": {"givenName": given, "familyName": family},
                    "emails": [{"primary": true, "value": upn, "type": "work"}],
                    "displayName": format!("{given} {family}"),
                    "locale": "en-US",
                    "externalId": format!("00u{given}"),
                    "groups": [],
                    "password": "1mz050nq",
                    "active": true,
                }),
            )
            .await;
        assert_eq!(status, 201, "{created}");
        ids.push(created);
    }
    let dade_id = ids[0]["id"].as_str().expect("id").to_owned();
    let kate_id = ids[1]["id"].as_str().expect("id").to_owned();
    let mut replaced = ids[0].clone();
    replaced["displayName"] = json!("Zero Cool");
    replaced["title"] = json!("Hacker");
    let (status, put) = h
        .send(reqwest::Method::PUT, &format!("/Users/{dade_id}"), replaced)
        .await;
    assert_eq!(status, 200, "{put}");
    let (status, group) = h
        .send(
            reqwest::Method::POST,
            "/Groups",
            json!({"schemas": [GROUP], "displayName": "Hackers", "members": [
                {"value": dade_id, "display": dade}, {"value": kate_id, "display": kate}]}),
        )
        .await;
    assert_eq!(status, 201, "{group}");
    let group_id = group["id"].as_str().expect("id").to_owned();
    h.until("the users and the group in Entra", |tenant| {
        user_named(tenant, &dade)
            .is_some_and(|u| u["displayName"] == "Zero Cool" && u["jobTitle"] == "Hacker")
            && group_members(tenant, "Hackers").is_some_and(|m| m.len() == 2)
    })
    .await;
    let (status, _) = h
        .send(
            reqwest::Method::PATCH,
            &format!("/Groups/{group_id}"),
            json!({"schemas": [PATCH], "Operations": [
                {"op": "replace", "value": {"id": group_id, "displayName": "Hackers (1995)"}},
                {"op": "remove", "path": format!("members[value eq \"{kate_id}\"]")},
            ]}),
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = h
        .send(
            reqwest::Method::PATCH,
            &format!("/Users/{kate_id}"),
            json!({"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": false}}]}),
        )
        .await;
    assert_eq!(status, 200);
    h.until(
        "the rename, the removal and the deactivation in Entra",
        |tenant| {
            group_members(tenant, "Hackers (1995)") == Some(vec![dade.clone()])
                && user_named(tenant, &kate).is_some_and(|u| u["accountEnabled"] == false)
        },
    )
    .await;
}

/// authentik's SCIM provider: users created and replaced by PUT, a group given its members
/// by a path-less `add`, one removed by a filtered `remove` (what authentik's own SCIM server
/// ignores), and a group deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authentik_provisioning_reaches_entra() {
    let h = Harness::start("authentik").await;
    let admin = format!("akadmin@{}", h.domain);
    let jdoe = format!("jdoe@{}", h.domain);
    let mut ids = Vec::new();
    for (upn, name) in [(&admin, "authentik Default Admin"), (&jdoe, "John Doe")] {
        let (status, created) = h
            .send(
                reqwest::Method::POST,
                "/Users",
                json!({"schemas": [USER], "userName": upn, "name": {"formatted": name},
                       "displayName": name, "active": true,
                       "emails": [{"value": upn, "type": "other", "primary": true}]}),
            )
            .await;
        assert_eq!(status, 201, "{created}");
        ids.push(created["id"].as_str().expect("id").to_owned());
    }
    let (status, put) = h
        .send(
            reqwest::Method::PUT,
            &format!("/Users/{}", ids[1]),
            json!({"schemas": [USER], "userName": jdoe, "displayName": "Jane Doe", "active": true,
                   "emails": [{"value": jdoe, "type": "other", "primary": true}]}),
        )
        .await;
    assert_eq!(status, 200, "{put}");
    let (status, group) = h
        .send(
            reqwest::Method::POST,
            "/Groups",
            json!({"schemas": [GROUP], "displayName": "authentik Admins", "members": []}),
        )
        .await;
    assert_eq!(status, 201, "{group}");
    let group_id = group["id"].as_str().expect("id").to_owned();
    let (status, _) = h
        .send(
            reqwest::Method::PATCH,
            &format!("/Groups/{group_id}"),
            json!({"schemas": [PATCH], "Operations": [{"op": "add", "value": {"members": [{"value": ids[0]}, {"value": ids[1]}]}}]}),
        )
        .await;
    assert_eq!(status, 204);
    h.until("the group with both members in Entra", |tenant| {
        user_named(tenant, &jdoe).is_some_and(|u| u["displayName"] == "Jane Doe")
            && group_members(tenant, "authentik Admins").is_some_and(|m| m.len() == 2)
    })
    .await;
    let (status, _) = h
        .send(
            reqwest::Method::PATCH,
            &format!("/Groups/{group_id}"),
            json!({"schemas": [PATCH], "Operations": [{"op": "remove", "path": format!("members[value eq \"{}\"]", ids[0])}]}),
        )
        .await;
    assert_eq!(status, 204);
    h.until("the filtered removal in Entra", |tenant| {
        group_members(tenant, "authentik Admins") == Some(vec![jdoe.clone()])
    })
    .await;
    let (status, _) = h
        .send(
            reqwest::Method::DELETE,
            &format!("/Groups/{group_id}"),
            Value::Null,
        )
        .await;
    assert_eq!(status, 204);
    h.until("the group deleted from Entra", |tenant| {
        group_members(tenant, "authentik Admins").is_none()
    })
    .await;
}
