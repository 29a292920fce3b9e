//! The console's forms over HTTP: a provider created and edited with the API's validation
//! shown beside the input at fault; a mapping refused with its line and column, tried before
//! saving; users, groups and members added, edited and removed; a file imported with its
//! per-line errors; a plan filtered and its updates shown as a diff.

mod common;

use common::TestServer;
use reqwest::{Client, StatusCode, header};

/// A signed-in console client.
struct Console {
    http: Client,
    base: String,
    cookie: String,
    csrf: String,
}

struct Answer {
    status: StatusCode,
    location: Option<String>,
    html: String,
}

fn csrf_of(html: &str) -> String {
    let at = html.find(r#"name="csrf" value=""#).expect("a csrf field");
    let rest = &html[at + r#"name="csrf" value=""#.len()..];
    rest[..rest.find('"').expect("end")].to_owned()
}

fn cookie_of(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|value| value.strip_prefix(&format!("{name}=")))
        .and_then(|rest| rest.split(';').next())
        .expect("the cookie")
        .to_owned()
}

impl Console {
    async fn sign_in(server: &TestServer) -> Self {
        let http = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let page = http
            .get(format!("{}/console/sign-in", server.base))
            .send()
            .await
            .expect("sign-in page");
        let form_cookie = cookie_of(&page, "entrasync_sign_in");
        let csrf = csrf_of(&page.text().await.expect("html"));
        let answer = http
            .post(format!("{}/console/sign-in", server.base))
            .header(header::COOKIE, format!("entrasync_sign_in={form_cookie}"))
            .form(&[("csrf", csrf.as_str()), ("token", server.token.as_str())])
            .send()
            .await
            .expect("sign in");
        assert_eq!(answer.status(), StatusCode::SEE_OTHER);
        let cookie = cookie_of(&answer, "entrasync_session");
        let mut console = Self {
            http,
            base: server.base.clone(),
            cookie,
            csrf: String::new(),
        };
        let overview = console.get("/console").await;
        console.csrf = csrf_of(&overview.html);
        console
    }

    async fn answer(response: reqwest::Response) -> Answer {
        Answer {
            status: response.status(),
            location: response
                .headers()
                .get(header::LOCATION)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned),
            html: response.text().await.expect("body"),
        }
    }

    async fn get(&self, path: &str) -> Answer {
        Self::answer(
            self.http
                .get(format!("{}{path}", self.base))
                .header(header::COOKIE, format!("entrasync_session={}", self.cookie))
                .send()
                .await
                .expect("get"),
        )
        .await
    }

    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let mut form: Vec<(&str, &str)> = vec![("csrf", &self.csrf)];
        form.extend_from_slice(fields);
        Self::answer(
            self.http
                .post(format!("{}{path}", self.base))
                .header(header::COOKIE, format!("entrasync_session={}", self.cookie))
                .form(&form)
                .send()
                .await
                .expect("post"),
        )
        .await
    }

    /// A multipart upload of `file` as the import form sends it (the token first).
    async fn upload(&self, csrf: &str, file: &str) -> Answer {
        let boundary = "entrasync-test-boundary";
        let body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"people.jsonl\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n{file}\r\n--{boundary}--\r\n"
        );
        Self::answer(
            self.http
                .post(format!("{}/console/import", self.base))
                .header(header::COOKIE, format!("entrasync_session={}", self.cookie))
                .header(
                    header::CONTENT_TYPE,
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .body(body)
                .send()
                .await
                .expect("upload"),
        )
        .await
    }
}

/// A new provider's form as a browser sends it (ticked boxes only).
fn provider_form<'a>(overrides: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut fields = vec![
        ("form", "provider-settings"),
        ("name", "Contoso"),
        ("tenant_id", "contoso.onmicrosoft.com"),
        ("client_id", "0d7e9c4a-2b1f-4a6e-8c3d-5f6a7b8c9d0e"),
        ("cloud", "global"),
        ("client_secret", "hunter2-secret"),
        ("user_mappings", "entrasync default: user"),
        ("group_mappings", "entrasync default: group"),
        ("group_scope", "all"),
        ("user_delete_action", "delete"),
        ("group_delete_action", "delete"),
        ("delete_threshold", "500"),
        ("delete_window_minutes", "60"),
        ("schedule.cron", ""),
        ("discovery", "on"),
        ("enabled", "on"),
    ];
    for (name, value) in overrides {
        fields.retain(|(field, _)| field != name);
        fields.push((name, value));
    }
    fields
}

#[tokio::test]
async fn a_provider_is_created_and_edited_with_the_apis_messages_beside_their_inputs() {
    let server = TestServer::start().await;
    let console = Console::sign_in(&server).await;
    let new = console.get("/console/providers/new").await;
    assert_eq!(new.status, StatusCode::OK);
    assert!(
        new.html.contains("entrasync default: user"),
        "the defaults are filled in: {}",
        new.html
    );

    // A bad schedule is named at its input, and what was typed stays.
    let refused = console
        .post(
            "/console/providers",
            &provider_form(&[("schedule.cron", "every four hours")]),
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused.html.contains(r##"href="#schedule-cron""##),
        "{}",
        refused.html
    );
    assert!(
        refused
            .html
            .contains(r#"id="schedule-cron" name="schedule.cron" value="every four hours""#)
            && refused
                .html
                .contains(r#"aria-invalid="true" aria-errormessage="schedule-cron-error""#),
        "{}",
        refused.html
    );
    assert!(
        !refused.html.contains("hunter2"),
        "a secret is never shown again: {}",
        refused.html
    );
    // A mapping that does not exist, on the second line of the list.
    let refused = console
        .post(
            "/console/providers",
            &provider_form(&[("user_mappings", "entrasync default: user\nno such mapping")]),
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused.html.contains(r##"href="#user_mappings""##),
        "{}",
        refused.html
    );
    assert!(refused.html.contains("no such mapping"), "{}", refused.html);
    // Not a number.
    let refused = console
        .post(
            "/console/providers",
            &provider_form(&[("delete_threshold", "lots")]),
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused.html.contains(r#"id="delete_threshold-error""#),
        "{}",
        refused.html
    );

    // "Only these groups" with none named would take every group out of scope.
    let refused = console
        .post(
            "/console/providers",
            &provider_form(&[("group_scope", "selected"), ("group_scope.groups", " \n")]),
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused.html.contains(r##"href="#group_scope-groups""##),
        "{}",
        refused.html
    );
    // A post that is not the form (no marker) cannot turn settings off by leaving them out.
    let mut not_the_form = provider_form(&[]);
    not_the_form.retain(|(name, _)| *name != "form");
    let refused = console.post("/console/providers", &not_the_form).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused.html.contains("not the provider form"),
        "{}",
        refused.html
    );
    assert!(
        server
            .store
            .find_provider_by_name("Contoso")
            .await
            .expect("store")
            .is_none(),
        "nothing refused was saved"
    );

    let created = console
        .post(
            "/console/providers",
            &provider_form(&[("delete_threshold", "7"), ("dry_run", "on")]),
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.html);
    let location = created.location.expect("to the provider");
    assert!(location.ends_with("?notice=created"), "{location}");
    let provider = server
        .store
        .find_provider_by_name("Contoso")
        .await
        .expect("store")
        .expect("created");
    assert_eq!(provider.settings.delete_threshold, 7);
    assert!(provider.settings.dry_run && provider.settings.enabled);
    assert!(
        provider.settings.schedule.cron.ends_with(" */4 * * *"),
        "the default schedule: {}",
        provider.settings.schedule.cron
    );

    let page = console.get(&location).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.html.contains("Created."), "{}", page.html);
    assert!(
        page.html.contains("Write-only") && !page.html.contains("hunter2"),
        "{}",
        page.html
    );
    assert!(page.html.contains(r#"value="7""#), "{}", page.html);

    // Saved with the secret left blank: the stored credential stays.
    let path = format!("/console/providers/{}", provider.id);
    let saved = console
        .post(
            &path,
            &provider_form(&[("client_secret", ""), ("delete_threshold", "9")]),
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.html);
    let provider = server
        .store
        .get_provider(provider.id)
        .await
        .expect("provider");
    assert_eq!(provider.settings.delete_threshold, 9);
    assert!(
        !provider.settings.dry_run,
        "an unticked box is false: {:?}",
        provider.settings
    );

    // Pause and resume are the API's `enabled`.
    let paused = console.post(&format!("{path}/pause"), &[]).await;
    assert_eq!(paused.status, StatusCode::SEE_OTHER);
    let shown = console.get(&format!("{path}?notice=paused")).await;
    assert!(shown.html.contains("Resume") && shown.html.contains("paused"));
    assert!(
        !server
            .store
            .get_provider(provider.id)
            .await
            .expect("provider")
            .settings
            .enabled
    );
    console.post(&format!("{path}/resume"), &[]).await;
    assert!(
        server
            .store
            .get_provider(provider.id)
            .await
            .expect("provider")
            .settings
            .enabled
    );
    // Sync now queues a full sync; a dry run needs a node with workers, and says so.
    let synced = console.post(&format!("{path}/sync"), &[]).await;
    assert_eq!(synced.status, StatusCode::SEE_OTHER);
    let planned = console.post(&format!("{path}/plan"), &[]).await;
    assert_eq!(planned.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(planned.html.contains("no sync workers"), "{}", planned.html);
}

#[tokio::test]
async fn a_mapping_that_does_not_compile_is_refused_at_its_line_and_can_be_tried_first() {
    let server = TestServer::start().await;
    server
        .call(
            reqwest::Method::POST,
            "/api/v1/users",
            Some(serde_json::json!({"username": "ann", "name": "Ann Lee", "email": "ann@contoso.example"})),
        )
        .await;
    let console = Console::sign_in(&server).await;
    let broken = "let name = user.name;\nlet mail = user.email;\nreturn #{ displayName: name ";
    let refused = console
        .post(
            "/console/mappings",
            &[
                ("kind", "user"),
                ("name", "Display"),
                ("expression", broken),
                ("intent", "save"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.html);
    assert!(refused.html.contains("line 3"), "{}", refused.html);
    assert!(
        refused
            .html
            .contains(r#"<li value="3" class="marked" aria-current="true">"#),
        "the line at fault is marked: {}",
        refused.html
    );
    assert!(
        server
            .store
            .find_mapping_by_name("Display")
            .await
            .expect("store")
            .is_none(),
        "nothing saved"
    );

    // Tried, unsaved: the document for Ann.
    let good = "#{ displayName: user.name + \" (tried)\" }";
    let tried = console
        .post(
            "/console/mappings",
            &[
                ("kind", "user"),
                ("name", "Display"),
                ("expression", good),
                ("subject", "ann"),
                ("intent", "try"),
            ],
        )
        .await;
    assert_eq!(tried.status, StatusCode::OK, "{}", tried.html);
    assert!(tried.html.contains("Ann Lee (tried)"), "{}", tried.html);
    assert!(
        server
            .store
            .find_mapping_by_name("Display")
            .await
            .expect("store")
            .is_none()
    );
    // A subject that does not exist is named at its input.
    let missing = console
        .post(
            "/console/mappings",
            &[
                ("kind", "user"),
                ("name", "Display"),
                ("expression", good),
                ("subject", "nobody"),
                ("intent", "try"),
            ],
        )
        .await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert!(
        missing.html.contains(r##"href="#subject""##),
        "{}",
        missing.html
    );
    // An error while evaluating names its position too.
    let failing = console
        .post(
            "/console/mappings",
            &[
                ("kind", "user"),
                ("name", "Display"),
                ("expression", "let x = 1;\nlet y = x / 0;\n#{}"),
                ("subject", "ann"),
                ("intent", "try"),
            ],
        )
        .await;
    assert!(failing.html.contains("failed for"), "{}", failing.html);

    let saved = console
        .post(
            "/console/mappings",
            &[
                ("kind", "user"),
                ("name", "Display"),
                ("expression", good),
                ("intent", "save"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.html);
    let edit = console.get(&saved.location.expect("to the mapping")).await;
    assert!(edit.html.contains("Saved.") && edit.html.contains("(tried)"));
    let list = console.get("/console/mappings").await;
    assert!(list.html.contains("Display"), "{}", list.html);
}

#[tokio::test]
async fn users_groups_and_members_are_managed_with_errors_at_their_fields() {
    let server = TestServer::start().await;
    let console = Console::sign_in(&server).await;
    let refused = console
        .post(
            "/console/users",
            &[
                ("username", "ann"),
                ("email", "not an email"),
                ("kind", "internal"),
                ("is_active", "on"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused.html.contains(r##"href="#email""##),
        "{}",
        refused.html
    );
    assert!(refused.html.contains(r#"value="not an email""#));
    let bad_attributes = console
        .post(
            "/console/users",
            &[
                ("username", "ann"),
                ("kind", "internal"),
                ("attributes", "[1]"),
            ],
        )
        .await;
    assert!(bad_attributes.html.contains(r##"href="#attributes""##));

    let created = console
        .post(
            "/console/users",
            &[
                ("username", "ann"),
                ("name", "Ann Lee"),
                ("email", "ann@contoso.example"),
                ("kind", "internal"),
                ("is_active", "on"),
                ("attributes", r#"{"department": "Sales"}"#),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.html);
    let user_page = created.location.expect("to the user");
    let again = console
        .post(
            "/console/users",
            &[("username", "ANN"), ("kind", "internal")],
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.html);
    assert!(
        again.html.contains(r##"href="#username""##),
        "{}",
        again.html
    );

    let found = console.get("/console/users?q=an&by=username").await;
    assert!(found.html.contains("Ann Lee"), "{}", found.html);
    let by_email = console
        .get("/console/users?q=contoso.example&by=email")
        .await;
    assert!(by_email.html.contains("ann"), "{}", by_email.html);
    let none = console.get("/console/users?q=zed").await;
    assert!(none.html.contains("No user matches zed"), "{}", none.html);

    let user_path = user_page.split('?').next().expect("path").to_owned();
    let edited = console
        .post(
            &user_path,
            &[
                ("username", "ann"),
                ("name", "Ann Smith"),
                ("email", ""),
                ("kind", "internal"),
            ],
        )
        .await;
    assert_eq!(edited.status, StatusCode::SEE_OTHER, "{}", edited.html);
    let ann = server
        .store
        .list_users(&store::UserFilter::default(), store::Page::first(10))
        .await
        .expect("users")
        .remove(0);
    assert_eq!(ann.name, "Ann Smith");
    assert!(ann.email.is_none() && !ann.is_active, "{ann:?}");

    let group = console.post("/console/groups", &[("name", "Sales")]).await;
    assert_eq!(group.status, StatusCode::SEE_OTHER, "{}", group.html);
    let group_path = group
        .location
        .expect("to the group")
        .split('?')
        .next()
        .expect("path")
        .to_owned();
    let unknown = console
        .post(&format!("{group_path}/members"), &[("username", "nobody")])
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert!(unknown.html.contains("nobody"), "{}", unknown.html);
    let added = console
        .post(&format!("{group_path}/members"), &[("username", "ann")])
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER);
    let shown = console.get(&group_path).await;
    assert!(shown.html.contains("Members (1)") && shown.html.contains("Ann Smith"));
    let user_shows_group = console.get(&user_path).await;
    assert!(user_shows_group.html.contains("Sales"));
    let removed = console
        .post(&format!("{group_path}/members/{}/remove", ann.id), &[])
        .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    assert!(console.get(&group_path).await.html.contains("Members (0)"));
    let groups = console.get("/console/groups?q=sal").await;
    assert!(groups.html.contains("Sales"));

    let unconfirmed = console.post(&format!("{user_path}/delete"), &[]).await;
    assert_eq!(unconfirmed.status, StatusCode::BAD_REQUEST);
    assert!(
        unconfirmed.html.contains("nothing was deleted"),
        "{}",
        unconfirmed.html
    );
    assert_eq!(console.get(&user_path).await.status, StatusCode::OK);
    let deleted = console
        .post(&format!("{user_path}/delete"), &[("confirm", "on")])
        .await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    assert_eq!(console.get(&user_path).await.status, StatusCode::NOT_FOUND);
    console
        .post(&format!("{group_path}/delete"), &[("confirm", "on")])
        .await;
    assert_eq!(console.get(&group_path).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_imported_file_names_each_line_that_failed() {
    let server = TestServer::start().await;
    let console = Console::sign_in(&server).await;
    let form = console.get("/console/import").await;
    let csrf = csrf_of(&form.html);
    let file = [
        r#"{"type": "user", "username": "ann", "email": "ann@contoso.example"}"#,
        "",
        r#"{"type": "user", "username": "bob""#,
        r#"{"type": "user", "username": "cy", "email": "nope"}"#,
        r#"{"type": "group", "name": "Sales"}"#,
        r#"{"type": "membership", "group": "Sales", "user": "ann"}"#,
        r#"{"type": "printer", "name": "x"}"#,
    ]
    .join("\r\n");
    let imported = console.upload(&csrf, &file).await;
    assert_eq!(imported.status, StatusCode::OK, "{}", imported.html);
    assert!(
        imported
            .html
            .contains("3 created, 0 updated, 0 unchanged, 3 failed"),
        "{}",
        imported.html
    );
    for line in ["<td>3</td>", "<td>4</td>", "<td>7</td>"] {
        assert!(
            imported.html.contains(line),
            "line {line}: {}",
            imported.html
        );
    }
    assert!(
        imported.html.contains("<code>email</code>"),
        "{}",
        imported.html
    );
    assert!(
        imported.html.contains("<code>type</code>"),
        "{}",
        imported.html
    );
    assert!(
        server
            .store
            .count_members(
                server
                    .store
                    .find_group_by_name(&model::GroupName::parse("Sales").expect("a name"))
                    .await
                    .expect("store")
                    .expect("imported")
                    .id
            )
            .await
            .expect("count")
            == 1
    );
    let forged = console.upload("wrong", &file).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_plan_is_filtered_by_kind_operation_and_name_and_shows_updates_as_a_diff() {
    let server = TestServer::start().await;
    let (_, provider) = server
        .call(
            reqwest::Method::POST,
            "/api/v1/providers",
            Some(
                serde_json::json!({"name": "Contoso", "tenant_id": "contoso.onmicrosoft.com",
                "client_id": "0d7e9c4a-2b1f-4a6e-8c3d-5f6a7b8c9d0e", "client_secret": "x"}),
            ),
        )
        .await;
    let provider =
        model::ProviderId::from_uuid(provider["id"].as_str().expect("id").parse().expect("uuid"));
    let run = server
        .store
        .start_run(
            provider,
            model::Trigger::Manual,
            true,
            "test",
            std::time::Duration::from_secs(60),
        )
        .await
        .expect("run");
    let document = |name: &str| {
        engine::Document::new(
            serde_json::json!({"displayName": name, "passwordProfile": {"password": "s3cret!"}})
                .as_object()
                .expect("object")
                .clone(),
        )
    };
    let item = |seq: i64, subject, name: &str, operations| engine::PlanItem {
        seq,
        subject,
        object_id: uuid::Uuid::new_v4(),
        object_name: name.to_owned(),
        operations,
    };
    let items = vec![
        item(
            1,
            engine::PlanSubject::User,
            "ann",
            vec![engine::Operation::Create {
                kind: engine::RemoteKind::User,
                document: document("Ann"),
            }],
        ),
        item(
            2,
            engine::PlanSubject::User,
            "bob",
            vec![engine::Operation::Update {
                kind: engine::RemoteKind::User,
                remote_id: engine::RemoteId::new("remote-bob"),
                changes: vec![engine::FieldChange {
                    property: "displayName".into(),
                    before: Some(serde_json::json!("Bob Old")),
                    after: serde_json::json!("Bob New"),
                }],
            }],
        ),
        item(
            3,
            engine::PlanSubject::Group,
            "Sales",
            vec![engine::Operation::Delete {
                kind: engine::RemoteKind::Group,
                remote_id: engine::RemoteId::new("remote-sales"),
            }],
        ),
    ];
    server
        .store
        .add_plan_items(run.id, &items)
        .await
        .expect("plan");
    let console = Console::sign_in(&server).await;
    let base = format!("/console/runs/{}/plan", run.id);
    let plan = |query: &'static str| {
        let path = format!("{base}?{query}");
        let console = &console;
        async move { console.get(&path).await }
    };
    let all = plan("").await;
    assert_eq!(all.status, StatusCode::OK);
    assert!(all.html.contains("user ann") && all.html.contains("group Sales"));
    assert!(
        !all.html.contains("s3cret"),
        "passwords are hidden: {}",
        all.html
    );
    assert!(
        all.html.contains("<del>Bob Old</del>") && all.html.contains("<ins>Bob New</ins>"),
        "{}",
        all.html
    );
    let updates = plan("operation=update").await;
    assert!(updates.html.contains("user bob") && !updates.html.contains("user ann"));
    let groups = plan("kind=group").await;
    assert!(groups.html.contains("group Sales") && !groups.html.contains("user bob"));
    let named = plan("q=AN").await;
    assert!(named.html.contains("user ann") && !named.html.contains("user bob"));
    let nothing = plan("kind=members").await;
    assert!(nothing.html.contains("Nothing in the plan matches"));
}

#[tokio::test]
async fn an_import_that_stops_midway_says_where_and_what_landed_before() {
    let server = TestServer::start().await;
    let console = Console::sign_in(&server).await;
    let csrf = csrf_of(&console.get("/console/import").await.html);
    // The second line never ends within the longest line the console takes.
    let long = "x".repeat(1024 * 1024 + 10);
    let file = format!(
        "{}\n{{\"type\": \"user\", \"username\": \"{long}",
        r#"{"type": "user", "username": "ann"}"#
    );
    let answer = console.upload(&csrf, &file).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.html);
    assert!(answer.html.contains("Stopped at line 2"), "{}", answer.html);
    assert!(answer.html.contains("1 created"), "{}", answer.html);
    assert!(
        answer.html.len() < 100_000,
        "the page does not repeat the line"
    );
}
