//! The web console over HTTP: sign-in exchanges an admin token for a session cookie; every
//! protected route sends the unsigned-in to sign-in and refuses a form without its token;
//! answers forbid scripts and framing; signing out or revoking the token ends the session.

mod common;

use common::TestServer;
use reqwest::{Client, StatusCode, header};

fn client() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// The value of `name` in the answer's Set-Cookie headers.
fn set_cookie(response: &reqwest::Response, name: &str) -> Option<(String, String)> {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with(&format!("{name}=")))
        .map(|value| {
            let pair = value.split(';').next().unwrap_or_default();
            (
                pair.split_once('=')
                    .map(|(_, v)| v.to_owned())
                    .unwrap_or_default(),
                value.to_owned(),
            )
        })
}

/// The `value` of the hidden `csrf` input of a page.
fn csrf_of(html: &str) -> String {
    let at = html.find(r#"name="csrf" value=""#).expect("a csrf field");
    let rest = &html[at + r#"name="csrf" value=""#.len()..];
    rest[..rest.find('"').expect("end")].to_owned()
}

#[derive(Debug)]
struct SignedIn {
    cookie: String,
    csrf: String,
}

async fn sign_in(server: &TestServer, token: &str) -> Result<SignedIn, (StatusCode, String)> {
    let http = client();
    let page = http
        .get(format!("{}/console/sign-in", server.base))
        .send()
        .await
        .expect("sign-in page");
    let (form_cookie, _) = set_cookie(&page, "entrasync_sign_in").expect("a form cookie");
    let csrf = csrf_of(&page.text().await.expect("html"));
    let answer = http
        .post(format!("{}/console/sign-in", server.base))
        .header(header::COOKIE, format!("entrasync_sign_in={form_cookie}"))
        .form(&[("csrf", csrf.as_str()), ("token", token)])
        .send()
        .await
        .expect("sign in");
    if answer.status() != StatusCode::SEE_OTHER {
        return Err((answer.status(), answer.text().await.unwrap_or_default()));
    }
    let (cookie, attributes) = set_cookie(&answer, "entrasync_session").expect("a session");
    assert!(attributes.contains("HttpOnly"), "{attributes}");
    assert!(attributes.contains("SameSite=Strict"), "{attributes}");
    let overview = http
        .get(format!("{}/console", server.base))
        .header(header::COOKIE, format!("entrasync_session={cookie}"))
        .send()
        .await
        .expect("overview");
    assert_eq!(overview.status(), StatusCode::OK);
    let csrf = csrf_of(&overview.text().await.expect("html"));
    Ok(SignedIn { cookie, csrf })
}

/// A path of `template` with its parameters filled in.
fn concrete(template: &str) -> String {
    template
        .replace("{provider}", &uuid::Uuid::new_v4().to_string())
        .replace("{run}", &uuid::Uuid::new_v4().to_string())
        .replace("{kind}", "user")
        .replace("{export}", "export.json")
        .replace("{object}", &uuid::Uuid::new_v4().to_string())
        .replace("{mapping}", &uuid::Uuid::new_v4().to_string())
        .replace("{user}", &uuid::Uuid::new_v4().to_string())
        .replace("{group}", &uuid::Uuid::new_v4().to_string())
}

#[tokio::test]
async fn every_protected_route_needs_a_session_and_every_form_its_token() {
    let server = TestServer::start().await;
    let http = client();
    let session = sign_in(&server, &server.token).await.expect("signed in");
    let routes = server::console::protected_routes();
    assert!(routes.len() > 30, "the whole console is walked: {routes:?}");
    for (method, template) in routes {
        assert!(
            !concrete(template).contains('{'),
            "a parameter of {template} is not filled in"
        );
        let url = format!("{}{}", server.base, concrete(template));
        let method = reqwest::Method::from_bytes(method.as_str().as_bytes()).expect("method");
        let anonymous = http
            .request(method.clone(), &url)
            .send()
            .await
            .expect("send");
        assert_eq!(
            anonymous.status(),
            StatusCode::SEE_OTHER,
            "{method} {template}"
        );
        assert_eq!(
            anonymous
                .headers()
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok()),
            Some("/console/sign-in"),
            "{method} {template}"
        );
        let forged = http
            .request(method.clone(), &url)
            .header(header::COOKIE, "entrasync_session=forged")
            .send()
            .await
            .expect("send");
        assert_eq!(
            forged.status(),
            StatusCode::SEE_OTHER,
            "a forged cookie: {template}"
        );
        if method == reqwest::Method::POST {
            for fields in [vec![], vec![("csrf", "wrong")]] {
                let refused = http
                    .post(&url)
                    .header(
                        header::COOKIE,
                        format!("entrasync_session={}", session.cookie),
                    )
                    .form(&fields)
                    .send()
                    .await
                    .expect("send");
                assert_eq!(
                    refused.status(),
                    StatusCode::FORBIDDEN,
                    "{template} {fields:?}"
                );
            }
        }
    }
    let _ = session.csrf;
}

#[tokio::test]
async fn pages_forbid_scripts_and_framing() {
    let server = TestServer::start().await;
    let page = client()
        .get(format!("{}/console/sign-in", server.base))
        .send()
        .await
        .expect("page");
    let csp = page
        .headers()
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
        .expect("a CSP")
        .to_owned();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(
        page.headers()
            .get(header::X_FRAME_OPTIONS)
            .and_then(|v| v.to_str().ok()),
        Some("DENY")
    );
    let html = page.text().await.expect("html");
    assert!(!html.contains("<script"), "no script at all");
    assert!(
        html.contains(r#"<label for="token">"#),
        "every control has a label"
    );
    let root = client()
        .get(format!("{}/", server.base))
        .send()
        .await
        .expect("root");
    assert_eq!(
        root.headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok()),
        Some("/console")
    );
}

#[tokio::test]
async fn sign_in_refuses_bad_tokens_and_the_session_ends_on_sign_out_or_revocation() {
    let server = TestServer::start().await;
    let refused = sign_in(&server, "es_not_a_token_at_all_0123456789abcdef").await;
    assert!(
        matches!(&refused, Err((StatusCode::UNAUTHORIZED, html)) if html.contains("not valid")),
        "{refused:?}"
    );

    let session = sign_in(&server, &server.token).await.expect("signed in");
    let http = client();
    let signed_out = http
        .post(format!("{}/console/sign-out", server.base))
        .header(
            header::COOKIE,
            format!("entrasync_session={}", session.cookie),
        )
        .form(&[("csrf", session.csrf.as_str())])
        .send()
        .await
        .expect("sign out");
    assert_eq!(signed_out.status(), StatusCode::SEE_OTHER);
    let after = http
        .get(format!("{}/console", server.base))
        .header(
            header::COOKIE,
            format!("entrasync_session={}", session.cookie),
        )
        .send()
        .await
        .expect("send");
    assert_eq!(
        after.status(),
        StatusCode::SEE_OTHER,
        "the cookie no longer opens anything"
    );

    // A second token, signed in, then revoked: its session ends with it.
    let (_, created) = server
        .call(
            reqwest::Method::POST,
            "/api/v1/tokens",
            Some(serde_json::json!({"name": "ops"})),
        )
        .await;
    let token = created["token"].as_str().expect("token").to_owned();
    let session = sign_in(&server, &token).await.expect("signed in");
    server
        .call(reqwest::Method::DELETE, "/api/v1/tokens/ops", None)
        .await;
    let after = http
        .get(format!("{}/console", server.base))
        .header(
            header::COOKIE,
            format!("entrasync_session={}", session.cookie),
        )
        .send()
        .await
        .expect("send");
    assert_eq!(
        after.status(),
        StatusCode::SEE_OTHER,
        "revoking the token ends its sessions"
    );

    // A SCIM token does not open the console.
    let (_, scim) = server
        .call(
            reqwest::Method::POST,
            "/api/v1/tokens",
            Some(serde_json::json!({"name": "okta", "kind": "scim"})),
        )
        .await;
    let refused = sign_in(&server, scim["token"].as_str().expect("token")).await;
    assert!(matches!(refused, Err((StatusCode::UNAUTHORIZED, _))));
}

#[tokio::test]
async fn the_objects_page_finds_a_user_and_names_the_scim_client_that_made_it() {
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
    let provider = provider["id"].as_str().expect("provider id").to_owned();
    let (_, scim) = server
        .call(
            reqwest::Method::POST,
            "/api/v1/tokens",
            Some(serde_json::json!({"name": "okta", "kind": "scim"})),
        )
        .await;
    let created = client()
        .post(format!("{}/scim/v2/Users", server.base))
        .bearer_auth(scim["token"].as_str().expect("token"))
        .header(header::CONTENT_TYPE, "application/scim+json")
        .body(r#"{"userName": "grace@contoso.example"}"#)
        .send()
        .await
        .expect("SCIM create");
    assert_eq!(created.status(), StatusCode::CREATED);
    let session = sign_in(&server, &server.token).await.expect("signed in");
    let page = client()
        .get(format!(
            "{}/console/providers/{provider}/objects?q=grace",
            server.base
        ))
        .header(
            header::COOKIE,
            format!("entrasync_session={}", session.cookie),
        )
        .send()
        .await
        .expect("objects page");
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("html");
    assert!(html.contains("grace@contoso.example"), "{html}");
    assert!(html.contains("SCIM client okta"), "{html}");
    assert!(
        html.contains("never synced") && html.contains("not linked"),
        "{html}"
    );
}

#[tokio::test]
async fn a_run_exports_as_json_and_its_failures_as_csv() {
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
            false,
            "test",
            std::time::Duration::from_secs(60),
        )
        .await
        .expect("run");
    let object = uuid::Uuid::new_v4();
    server
        .store
        .record_object_state(&store::ObjectState {
            provider_id: provider,
            kind: engine::RemoteKind::User,
            object_id: object,
            status: store::ObjectStatus::Failed,
            outcome: "rejected".into(),
            run_id: Some(run.id),
            last_attempt_at: chrono::Utc::now(),
            last_synced_at: None,
            error_code: Some("Request_BadRequest".into()),
            error_message: Some("Property \"x\" has an \"invalid\" value".into()),
            request_id: Some("req-1".into()),
        })
        .await
        .expect("a failure");
    server
        .store
        .finish_run(
            run.id,
            model::RunStatus::Partial,
            &model::RunReport::default(),
            None,
        )
        .await
        .expect("finished");
    let session = sign_in(&server, &server.token).await.expect("signed in");
    let get = |suffix: &str| {
        client()
            .get(format!("{}/console/runs/{}/{suffix}", server.base, run.id))
            .header(
                header::COOKIE,
                format!("entrasync_session={}", session.cookie),
            )
            .send()
    };
    let json = get("export.json").await.expect("json");
    assert_eq!(json.status(), StatusCode::OK);
    assert!(json.headers().get(header::CONTENT_DISPOSITION).is_some());
    let detail: serde_json::Value = json.json().await.expect("JSON");
    assert_eq!(detail["status"], "partial");
    assert_eq!(detail["failures"][0]["request_id"], "req-1");
    let csv = get("export.csv")
        .await
        .expect("csv")
        .text()
        .await
        .expect("text");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "kind,object_id,error_code,error_message,request_id,at"
    );
    assert!(
        lines[1].starts_with(&format!(r#""user","{object}","Request_BadRequest","Property ""x"" has an ""invalid"" value","req-1""#)),
        "{csv}"
    );
    let unknown = get("export.xml").await.expect("xml");
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let plan = get("plan").await.expect("plan");
    assert_eq!(
        plan.status(),
        StatusCode::OK,
        "the plan page is not taken for an export"
    );
}
