//! Token endpoint (token-client-credentials.txt, graph-contract.md §0) and the 401s of Graph.

mod common;

use graph_emulator::{Emulator, EmulatorConfig};
use reqwest::StatusCode;
use serde_json::Value;

async fn token_call(
    http: &reqwest::Client,
    url: &str,
    form: &[(&str, &str)],
) -> (StatusCode, Value) {
    let resp = http.post(url).form(form).send().await.expect("send");
    let status = resp.status();
    (status, resp.json().await.expect("json"))
}

fn assert_aad(body: &Value, error: &str, code: u64, prefix: &str) {
    assert_eq!(
        common::keys(body),
        vec![
            "correlation_id",
            "error",
            "error_codes",
            "error_description",
            "timestamp",
            "trace_id"
        ]
    );
    assert_eq!(body["error"], error);
    assert_eq!(body["error_codes"], serde_json::json!([code]));
    let d = body["error_description"].as_str().expect("description");
    assert!(d.starts_with(&format!("AADSTS{code}: {prefix}")), "{d}");
    assert!(
        d.contains("\r\nTrace ID: ") && d.contains("\r\nCorrelation ID: "),
        "{d}"
    );
}

#[tokio::test]
async fn client_secret_grant_and_errors() {
    let emu = Emulator::start(EmulatorConfig::default())
        .await
        .expect("start");
    let http = reqwest::Client::new();
    let url = emu.token_url();
    let scope = "https://graph.microsoft.com/.default";
    let good = [
        ("client_id", emu.client_id()),
        ("scope", scope),
        ("client_secret", "emulator-secret~0123456789abcdefABCDEF"),
        ("grant_type", "client_credentials"),
    ];
    let (s, body) = token_call(&http, &url, &good).await;
    assert_eq!(s, 200);
    assert_eq!(
        common::keys(&body),
        vec!["access_token", "expires_in", "token_type"]
    );
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3599);

    // The verified domain works as the tenant segment; Basic auth works instead of the form field.
    let by_domain = format!(
        "{}/contoso.onmicrosoft.com/oauth2/v2.0/token",
        emu.login_url()
    );
    let resp = http
        .post(&by_domain)
        .basic_auth(emu.client_id(), emu.client_secret())
        .form(&[("scope", scope), ("grant_type", "client_credentials")])
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 200);

    let mut bad_scope = good;
    bad_scope[1].1 = "https://foo.microsoft.com/.default";
    let (s, body) = token_call(&http, &url, &bad_scope).await;
    assert_eq!(s, 400);
    assert_aad(
        &body,
        "invalid_scope",
        70011,
        "The provided value for the input parameter 'scope' is not valid. The scope https://foo.microsoft.com/.default is not valid.",
    );

    let mut bad_secret = good;
    bad_secret[2].1 = "wrong";
    let (s, body) = token_call(&http, &url, &bad_secret).await;
    assert_eq!(s, 401);
    assert_aad(
        &body,
        "invalid_client",
        7000215,
        "Invalid client secret provided.",
    );

    let mut unknown_app = good;
    unknown_app[0].1 = "11111111-1111-1111-1111-111111111111";
    let (s, body) = token_call(&http, &url, &unknown_app).await;
    assert_eq!(s, 400);
    assert_aad(
        &body,
        "unauthorized_client",
        700016,
        "Application with identifier '11111111-1111-1111-1111-111111111111' was not found",
    );

    let other_tenant = format!("{}/fabrikam.com/oauth2/v2.0/token", emu.login_url());
    let (s, body) = token_call(&http, &other_tenant, &good).await;
    assert_eq!(s, 400);
    assert_aad(
        &body,
        "invalid_request",
        90002,
        "Tenant 'fabrikam.com' not found.",
    );

    let (s, body) = token_call(&http, &url, &good[..2]).await;
    assert_eq!(s, 400, "{body}");
    let no_credential = [good[0], good[1], good[3]];
    let (s, body) = token_call(&http, &url, &no_credential).await;
    assert_eq!(s, 401);
    assert_aad(
        &body,
        "invalid_client",
        7000218,
        "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
    );
}

#[tokio::test]
async fn graph_rejects_missing_forged_and_expired_tokens() {
    let c = common::start_default().await;
    let users = format!("{}/users", c.emu.base_url());
    let call = |token: Option<String>| {
        let mut req = c.http.get(&users);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        async move {
            let resp = req.send().await.expect("send");
            let status = resp.status();
            let www = resp.headers().get("www-authenticate").is_some();
            let body: Value = resp.json().await.expect("json");
            (status, www, body)
        }
    };
    let check = |(status, www, body): (StatusCode, bool, Value), message: &str| {
        assert_eq!(status, 401);
        assert!(www, "WWW-Authenticate header");
        common::assert_error_body(&body, "InvalidAuthenticationToken", message);
    };
    check(call(None).await, "Access token is empty.");
    check(
        call(Some("not-a-jwt".into())).await,
        "CompactToken parsing failed with error code: 80049217",
    );

    // A token signed by another emulator instance is a forgery here.
    let other = common::start_default().await;
    check(
        call(Some(other.token.clone())).await,
        "Access token validation failure.",
    );

    assert_eq!(call(Some(c.token.clone())).await.0, 200);
    c.emu.advance_clock(std::time::Duration::from_secs(3600));
    check(
        call(Some(c.token.clone())).await,
        "Access token has expired or is not yet valid.",
    );
}
