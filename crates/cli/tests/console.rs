//! The web console as a person uses it: a real headless Chromium (Debian's `chromium` and
//! `chromium-driver`, which `.ci/run` installs) drives the real `entrasync serve` over the
//! Graph emulator. Sign in; read the overview and a dry run's plan; see deletes held beyond
//! the threshold, with the objects named, and approve them; sign out and be refused. A
//! screenshot of every page goes to `target/console-screenshots/` (and to `docs/console/`
//! with `UPDATE_SCREENSHOTS=1`).

use std::{
    io::{BufRead, BufReader},
    net::TcpListener,
    path::Path,
    process::{Child, Command, Output, Stdio},
    time::{Duration, Instant},
};

use base64::Engine as _;
use graph_emulator::{Emulator, EmulatorConfig, RunningEmulator};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_entrasync");
const TOKEN: &str = "es_test_token_for_the_console_0123456789";

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A WebDriver session with a headless Chromium, over the W3C protocol.
struct Browser {
    http: reqwest::Client,
    session: String,
    driver: String,
    _chromedriver: Killed,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}

impl Browser {
    async fn start() -> Self {
        let port = free_port();
        let chromedriver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (apt-get install chromium chromium-driver)");
        let chromedriver = Killed(chromedriver);
        let driver = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while http.get(format!("{driver}/status")).send().await.is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Debian's /usr/bin/chromium is a wrapper script; the browser itself is here.
        let binary = ["/usr/lib/chromium/chromium", "/usr/bin/chromium"]
            .into_iter()
            .find(|path| Path::new(path).exists())
            .unwrap_or("chromium");
        let created: Value = http
            .post(format!("{driver}/session"))
            .json(&json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {"binary": binary, "args": [
                    "--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                    "--disable-gpu", "--window-size=1280,900"]}}}}))
            .send()
            .await
            .expect("new session")
            .json()
            .await
            .expect("session JSON");
        let session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {created}"))
            .to_owned();
        let browser = Self {
            http,
            session,
            driver,
            _chromedriver: chromedriver,
        };
        // Elements are waited for (a page may still be loading after a click).
        browser
            .call(
                reqwest::Method::POST,
                "/timeouts",
                Some(json!({"implicit": 10_000})),
            )
            .await;
        browser
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        match self.try_call(method, path, body).await {
            Ok(value) => value,
            Err(answer) => panic!("webdriver {path}: {answer}"),
        }
    }

    async fn try_call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, Value> {
        let url = format!("{}/session/{}{path}", self.driver, self.session);
        let mut request = self.http.request(method, url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer: Value = request
            .send()
            .await
            .expect("webdriver")
            .json()
            .await
            .expect("webdriver JSON");
        if answer["value"]["error"].is_null() {
            Ok(answer["value"].clone())
        } else {
            Err(answer)
        }
    }

    async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .await;
    }

    async fn element(&self, css: &str) -> String {
        let found = self
            .call(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        found
            .as_object()
            .and_then(|object| object.values().next())
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no element {css}"))
            .to_owned()
    }

    async fn type_into(&self, css: &str, text: &str) {
        let element = self.element(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/value"),
            Some(json!({"text": text})),
        )
        .await;
    }

    async fn click(&self, css: &str) {
        let element = self.element(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/click"),
            Some(json!({})),
        )
        .await;
    }

    /// The page's text. A page that navigates meanwhile leaves the element stale: read again.
    async fn text(&self) -> String {
        for _ in 0..50 {
            let body = self.element("body").await;
            match self
                .try_call(reqwest::Method::GET, &format!("/element/{body}/text"), None)
                .await
            {
                Ok(text) => return text.as_str().unwrap_or_default().to_owned(),
                Err(answer) if answer["value"]["error"] == "stale element reference" => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(answer) => panic!("webdriver text: {answer}"),
            }
        }
        panic!("the page never settled")
    }

    async fn url(&self) -> String {
        self.call(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Saves the page as `name`.png.
    async fn screenshot(&self, name: &str) {
        let shot = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot.as_str().unwrap_or_default())
            .expect("a PNG");
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut dirs = vec![root.join("target/console-screenshots")];
        if std::env::var_os("UPDATE_SCREENSHOTS").is_some() {
            dirs.push(root.join("docs/console"));
        }
        for dir in dirs {
            std::fs::create_dir_all(&dir).expect("screenshot dir");
            std::fs::write(dir.join(format!("{name}.png")), &png).expect("write screenshot");
        }
    }

    /// Waits until the browser is at a URL ending with `suffix` (a submitted form navigates
    /// after the click returns).
    async fn wait_for_url(&self, suffix: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let url = self.url().await;
            if url.ends_with(suffix) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "never reached {suffix}: at {url}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the page shows `wanted`, without reloading it.
    async fn wait_for_text_here(&self, wanted: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let text = self.text().await;
            if text.contains(wanted) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "{wanted:?} never showed:\n{text}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the page shows `wanted`, reloading it now and then.
    async fn wait_for_text(&self, wanted: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let text = self.text().await;
            if text.contains(wanted) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "{wanted:?} never showed:\n{text}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
            let url = self.url().await;
            self.goto(&url).await;
        }
    }
}

struct Server {
    url: String,
    dir: tempfile::TempDir,
    vars: Vec<(&'static str, String)>,
    _child: Killed,
}

impl Server {
    fn start(emulator: &RunningEmulator) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let (_, key) = store::SecretKey::generate().expect("a key");
        let vars = vec![
            ("ENTRASYNC_DATABASE_URL", "sqlite://entrasync.db".to_owned()),
            ("ENTRASYNC_ADMIN_TOKEN", TOKEN.to_owned()),
            ("ENTRASYNC_TOKEN", TOKEN.to_owned()),
            ("ENTRASYNC_SECRET_KEY", key.expose_secret().to_owned()),
            ("ENTRASYNC_GRAPH_URL", emulator.base_url().to_owned()),
            ("ENTRASYNC_LOGIN_URL", emulator.login_url().to_owned()),
            (
                "ENTRASYNC_CLIENT_SECRET",
                emulator.client_secret().expect("secret").to_owned(),
            ),
        ];
        let mut command = Command::new(BIN);
        command
            .arg("serve")
            .current_dir(dir.path())
            .env_remove("ENTRASYNC_CONFIG")
            .env("ENTRASYNC_LISTEN", "127.0.0.1:0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (key, value) in &vars {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("serve");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let url = loop {
            let line = lines.next().expect("an address").expect("a line");
            if let Some(rest) = line.strip_prefix("entrasync is listening on ") {
                break rest.split_whitespace().next().expect("url").to_owned();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Self {
            url,
            dir,
            vars,
            _child: Killed(child),
        }
    }

    fn cli(&self, args: &[&str]) -> String {
        match self.try_cli(args) {
            Ok(stdout) => stdout,
            Err(failed) => panic!("{args:?}: {failed}"),
        }
    }

    fn try_cli(&self, args: &[&str]) -> Result<String, String> {
        let mut command = Command::new(BIN);
        command
            .current_dir(self.dir.path())
            .env_remove("ENTRASYNC_CONFIG")
            .env("ENTRASYNC_SERVER_URL", &self.url)
            .args(args);
        for (key, value) in &self.vars {
            command.env(key, value);
        }
        let output: Output = command.output().expect("run entrasync");
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            Err(format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    }
}

fn entra_users(emulator: &RunningEmulator) -> usize {
    emulator.dump()["users"].as_array().map_or(0, Vec::len)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_signs_in_reads_a_plan_approves_held_deletes_and_signs_out() {
    let emulator = Emulator::start(EmulatorConfig::default())
        .await
        .expect("emulator");
    let domain = emulator.verified_domains()[0].clone();
    let server = Server::start(&emulator);
    for n in 0..4 {
        server.cli(&[
            "user",
            "add",
            &format!("u{n}"),
            "--email",
            &format!("u{n}@{domain}"),
        ]);
    }
    server.cli(&[
        "provider",
        "add",
        "Contoso",
        "--tenant-id",
        emulator.tenant_id(),
        "--client-id",
        emulator.client_id(),
        "--client-secret-from-env",
        "--delete-threshold",
        "2",
    ]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while entra_users(&emulator) < 4 {
        assert!(Instant::now() < deadline, "the first sync did not finish");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let browser = Browser::start().await;
    browser.goto(&format!("{}/console", server.url)).await;
    assert!(
        browser.url().await.ends_with("/console/sign-in"),
        "sent to sign in first"
    );
    browser.screenshot("sign-in").await;
    browser
        .type_into("#token", "es_wrong_token_0123456789abcdefghijkl")
        .await;
    browser.click("button[type=submit]").await;
    browser.wait_for_text_here("not valid").await;
    browser.type_into("#token", TOKEN).await;
    browser.click("button[type=submit]").await;
    let overview = browser.wait_for_text("Contoso").await;
    assert!(overview.contains("healthy"), "{overview}");
    browser.screenshot("overview").await;

    // In dry-run mode, a rename waits; the dry run's plan names it.
    server.cli(&["provider", "update", "Contoso", "--dry-run", "true"]);
    server.cli(&["user", "update", "u1", "--name", "Renamed"]);
    // Saving the provider made a dry run of its own; the next one waits for it to finish.
    let dry_run = [
        "sync",
        "--provider",
        "Contoso",
        "--dry-run",
        "--output",
        "json",
    ];
    let deadline = Instant::now() + Duration::from_secs(30);
    let planned = loop {
        match server.try_cli(&dry_run) {
            Ok(planned) => break planned,
            Err(busy) if busy.contains("being made already") && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(failed) => panic!("the dry run: {failed}"),
        }
    };
    let planned: Value = serde_json::from_str(&planned).expect("the dry run as JSON");
    let run = planned["run"].as_str().expect("run id");
    browser
        .goto(&format!("{}/console/runs/{run}/plan", server.url))
        .await;
    let plan = browser.text().await;
    assert!(plan.contains("u1") && plan.contains("Renamed"), "{plan}");
    browser.screenshot("plan").await;
    server.cli(&["provider", "update", "Contoso", "--dry-run", "false"]);

    // Three deletes against a threshold of two: the one beyond it is held until approved.
    for n in 1..4 {
        server.cli(&["user", "delete", &format!("u{n}")]);
    }
    browser.goto(&format!("{}/console", server.url)).await;
    let held = browser
        .wait_for_text("Deletes beyond the threshold are held")
        .await;
    assert!(held.contains("awaiting_approval"), "{held}");
    browser.click(".banner.approval a").await;
    let run_page = browser.wait_for_text("Held deletes").await;
    assert!(
        run_page.contains("u3"),
        "the held objects are named: {run_page}"
    );
    browser.screenshot("held-deletes").await;
    assert_eq!(
        entra_users(&emulator),
        2,
        "the held delete waits for approval"
    );
    browser.click("form[action$='/approve'] button").await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while entra_users(&emulator) > 1 {
        assert!(
            Instant::now() < deadline,
            "the approved deletes did not happen"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let after = browser.wait_for_text("healthy").await;
    assert!(!after.contains("held"), "{after}");

    // One user, found by email: its link and last sync, then synced alone.
    browser.click("a[href$='/objects']").await;
    browser.type_into("#q", &format!("u0@{domain}")).await;
    browser.click("form[role=search] button").await;
    let found = browser.wait_for_text_here("Entra object id").await;
    assert!(
        found.contains("user u0") && found.contains("synced"),
        "{found}"
    );
    browser.screenshot("object").await;
    browser.click("form[action$='/sync'] button").await;
    let synced = browser
        .wait_for_text_here("Every exchange with Entra")
        .await;
    assert!(synced.contains("user u0: unchanged"), "{synced}");

    browser.click(".sign-out button").await;
    browser.wait_for_url("/console/sign-in").await;
    browser.goto(&format!("{}/console", server.url)).await;
    assert!(
        browser.url().await.ends_with("/console/sign-in"),
        "signed out: refused"
    );
}
