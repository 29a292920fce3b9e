//! The web console as a person uses it: a real headless Chromium (Debian's `chromium` and
//! `chromium-driver`, which `.ci/run` installs) drives the real `entrasync serve` over the
//! Graph emulator. Sign in; create a provider (a mistake first, named at its input); rename a
//! user and read the dry run's diff; see deletes held beyond the threshold, with the objects
//! named, and approve them; break a mapping and see the error at its line; try a mapping;
//! import a file; find a user and sync it alone; sign out and be refused. A screenshot of
//! every page goes to `target/console-screenshots/` (and to `docs/console/` with
//! `UPDATE_SCREENSHOTS=1`).

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

    async fn clear(&self, css: &str) {
        let element = self.element(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/clear"),
            Some(json!({})),
        )
        .await;
    }

    async fn text_of(&self, css: &str) -> String {
        let element = self.element(css).await;
        self.call(
            reqwest::Method::GET,
            &format!("/element/{element}/text"),
            None,
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    async fn resize(&self, width: u32, height: u32) {
        self.call(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({"width": width, "height": height})),
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

    /// The id of the provider named `name`, read through the CLI.
    fn provider_id(&self, name: &str) -> String {
        let shown: Value =
            serde_json::from_str(&self.cli(&["provider", "show", name, "--output", "json"]))
                .expect("the provider as JSON");
        shown["id"].as_str().expect("an id").to_owned()
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
async fn an_administrator_runs_the_provider_from_the_console_alone() {
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
    browser.wait_for_text("Providers").await;

    // A provider created in the console: a mistake first, named at its input.
    browser.click("a[href='/console/providers/new']").await;
    browser.wait_for_text_here("New provider").await;
    browser.type_into("#name", "Contoso").await;
    browser.type_into("#tenant_id", emulator.tenant_id()).await;
    browser.type_into("#client_id", emulator.client_id()).await;
    browser
        .type_into("#client_secret", emulator.client_secret().expect("secret"))
        .await;
    browser.clear("#delete_threshold").await;
    browser.type_into("#delete_threshold", "two").await;
    browser.click("button.primary").await;
    let refused = browser.wait_for_text_here("Not saved").await;
    assert!(
        refused.contains("delete_threshold must be a whole number"),
        "{refused}"
    );
    browser.screenshot("provider-error").await;
    browser.clear("#delete_threshold").await;
    browser.type_into("#delete_threshold", "2").await;
    // The secret is never sent back to the page: type it again.
    browser
        .type_into("#client_secret", emulator.client_secret().expect("secret"))
        .await;
    browser.click("button.primary").await;
    browser.wait_for_text_here("Created.").await;
    browser.screenshot("provider").await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while entra_users(&emulator) < 4 {
        assert!(Instant::now() < deadline, "the first sync did not finish");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    browser.click("a.brand").await;
    let overview = browser.wait_for_text("healthy").await;
    assert!(overview.contains("Contoso"), "{overview}");
    browser.screenshot("overview").await;

    // Dry-run mode, a rename in the directory, and the dry run's diff.
    browser.click("h2 a").await;
    browser.wait_for_text_here("Schedule and mode").await;
    browser.click("#dry_run").await;
    browser.click("button.primary").await;
    browser.wait_for_text_here("Saved.").await;
    browser.click("a[href='/console/users']").await;
    browser.wait_for_text_here("Find users").await;
    browser.screenshot("users").await;
    browser
        .goto(&format!("{}/console/users?q=u1", server.url))
        .await;
    browser.click("td a").await;
    browser.wait_for_text_here("User u1").await;
    browser.clear("#name").await;
    browser.type_into("#name", "Renamed").await;
    browser.click("button.primary").await;
    browser.wait_for_text_here("Saved.").await;
    browser.screenshot("user").await;
    let provider_page = format!(
        "{}/console/providers/{}",
        server.url,
        server.provider_id("Contoso")
    );
    // Saving the provider made a dry run of its own; a second waits until it is done.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        browser.goto(&provider_page).await;
        browser.click("form[action$='/plan'] button").await;
        let text = browser.wait_for_text_here("Trigger").await;
        if !text.contains("being made already") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the dry run never started: {text}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    browser.wait_for_text("succeeded").await;
    browser.screenshot("run").await;
    browser.click("a[href$='/plan']").await;
    let plan = browser.wait_for_text_here("Plan of").await;
    assert!(
        plan.contains("user u1") && plan.contains("Renamed") && plan.contains("displayName"),
        "{plan}"
    );
    browser.screenshot("plan").await;
    browser.goto(&provider_page).await;
    browser.click("#dry_run").await;
    browser.click("button.primary").await;
    browser.wait_for_text_here("Saved.").await;

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

    // A broken mapping is refused at its line; the saved one, tried on a user, shows its
    // document.
    browser.click("a[href='/console/mappings']").await;
    browser.wait_for_text_here("Property mappings").await;
    browser.screenshot("mappings").await;
    browser.click("td a").await;
    browser.wait_for_text_here("Expression").await;
    browser.clear("#expression").await;
    browser
        .type_into("#expression", "let name = user.name;\nlet broken = ;\n#{}")
        .await;
    browser.click("button[value=save]").await;
    let refused = browser.wait_for_text_here("does not compile").await;
    assert!(refused.contains("line 2"), "{refused}");
    assert_eq!(
        browser.text_of("li.marked").await,
        "let broken = ;",
        "the line at fault is marked"
    );
    browser.screenshot("mapping-error").await;
    browser.click("a[href='/console/mappings']").await;
    browser.click("td a").await;
    browser.wait_for_text_here("Expression").await;
    browser.type_into("#subject", "u0").await;
    browser.click("button[value=try]").await;
    let tried = browser.wait_for_text_here("Tried on u0").await;
    assert!(
        tried.contains("The Graph document") && tried.contains(&format!("u0@{domain}")),
        "{tried}"
    );
    browser.screenshot("mapping-try").await;

    // A file imported, its bad line named.
    let file = server.dir.path().join("people.jsonl");
    std::fs::write(
        &file,
        format!(
            "{{\"type\": \"user\", \"username\": \"u9\", \"email\": \"u9@{domain}\"}}\n\
             {{\"type\": \"user\", \"username\": \"u10\", \"email\": \"not an email\"}}\n"
        ),
    )
    .expect("write the file");
    browser.click("a[href='/console/import']").await;
    browser
        .type_into("#file", &file.display().to_string())
        .await;
    browser.click("button.primary").await;
    let imported = browser.wait_for_text_here("Lines that failed").await;
    assert!(
        imported.contains("1 created") && imported.contains("1 failed"),
        "{imported}"
    );
    browser.screenshot("import").await;
    browser.click("a[href='/console/groups']").await;
    browser.wait_for_text_here("Find groups").await;
    browser.screenshot("groups").await;
    browser.goto(&format!("{provider_page}/runs")).await;
    browser.wait_for_text_here("Runs of").await;
    browser.screenshot("runs").await;

    // One user, found by email: its link, last sync and mapped document, then synced alone.
    browser.goto(&provider_page).await;
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

    // On a phone's screen.
    browser.resize(390, 844).await;
    browser.goto(&format!("{}/console", server.url)).await;
    browser.wait_for_text_here("Contoso").await;
    browser.screenshot("overview-phone").await;
    browser.resize(1280, 900).await;

    browser.click(".sign-out button").await;
    browser.wait_for_url("/console/sign-in").await;
    browser.goto(&format!("{}/console", server.url)).await;
    assert!(
        browser.url().await.ends_with("/console/sign-in"),
        "signed out: refused"
    );
}
