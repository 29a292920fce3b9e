//! Certificate credentials: a client assertion (PS256 or RS256, `x5t#S256`) signed with a key
//! whose certificate is registered for the app.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use graph_emulator::{Emulator, EmulatorConfig};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

struct TestCert {
    cert_pem: String,
    thumbprint: String,
    key: EncodingKey,
}

fn make_cert() -> TestCert {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).expect("rsa key");
    let params = rcgen::CertificateParams::new(vec!["entrasync-test".to_owned()]).expect("params");
    let cert = params.self_signed(&key).expect("self-signed");
    TestCert {
        cert_pem: cert.pem(),
        thumbprint: URL_SAFE_NO_PAD.encode(Sha256::digest(cert.der())),
        key: EncodingKey::from_rsa_pem(key.serialize_pem().as_bytes()).expect("encoding key"),
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn assertion(
    cert: &TestCert,
    alg: Algorithm,
    aud: &str,
    client_id: &str,
    nbf: i64,
    exp: i64,
) -> String {
    let mut header = Header::new(alg);
    header.typ = Some("JWT".into());
    header.x5t_s256 = Some(cert.thumbprint.clone());
    let claims = json!({
        "aud": aud, "iss": client_id, "sub": client_id,
        "jti": uuid::Uuid::new_v4().to_string(), "nbf": nbf, "exp": exp, "iat": nbf,
    });
    jsonwebtoken::encode(&header, &claims, &cert.key).expect("sign")
}

async fn exchange(
    http: &reqwest::Client,
    url: &str,
    client_id: &str,
    assertion: &str,
) -> (u16, Value) {
    let resp = http
        .post(url)
        .form(&[
            ("scope", "https://graph.microsoft.com/.default"),
            ("client_id", client_id),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", assertion),
            ("grant_type", "client_credentials"),
        ])
        .send()
        .await
        .expect("send");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("json"))
}

fn aadsts(body: &Value) -> u64 {
    body["error_codes"][0].as_u64().unwrap_or_default()
}

#[tokio::test]
async fn ps256_and_rs256_client_assertions() {
    let cert = make_cert();
    let config = EmulatorConfig {
        client_secret: None,
        ..EmulatorConfig::default()
    }
    .with_certificate_pem(cert.cert_pem.clone());
    let emu = Emulator::start(config).await.expect("start");
    let http = reqwest::Client::new();
    let (url, cid) = (emu.token_url(), emu.client_id().to_owned());
    let t = now();

    let (s, body) = exchange(
        &http,
        &url,
        &cid,
        &assertion(&cert, Algorithm::PS256, &url, &cid, t, t + 600),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let token = body["access_token"].as_str().expect("token");
    let users = http
        .get(format!("{}/users", emu.base_url()))
        .bearer_auth(token)
        .send()
        .await
        .expect("users");
    assert_eq!(users.status(), 200);

    // The real Entra audience works too, so an unchanged client configuration is accepted.
    let entra_aud = format!(
        "https://login.microsoftonline.com/{}/oauth2/v2.0/token",
        emu.tenant_id()
    );
    let (s, _) = exchange(
        &http,
        &url,
        &cid,
        &assertion(&cert, Algorithm::RS256, &entra_aud, &cid, t, t + 600),
    )
    .await;
    assert_eq!(s, 200);

    let (s, body) = exchange(
        &http,
        &url,
        &cid,
        &assertion(&cert, Algorithm::PS256, &url, &cid, t - 7200, t - 3600),
    )
    .await;
    assert_eq!((s, aadsts(&body)), (401, 700024), "expired: {body}");
    let (s, body) = exchange(
        &http,
        &url,
        &cid,
        &assertion(&cert, Algorithm::PS256, &url, &cid, t + 3600, t + 4200),
    )
    .await;
    assert_eq!((s, aadsts(&body)), (401, 700024), "not yet valid: {body}");
    let (s, body) = exchange(
        &http,
        &url,
        &cid,
        &assertion(
            &cert,
            Algorithm::PS256,
            "https://example.com/token",
            &cid,
            t,
            t + 600,
        ),
    )
    .await;
    assert_eq!((s, aadsts(&body)), (401, 50027), "audience: {body}");

    // Unregistered certificate → AADSTS700027; secret auth is off for this app.
    let stranger = make_cert();
    let (s, body) = exchange(
        &http,
        &url,
        &cid,
        &assertion(&stranger, Algorithm::PS256, &url, &cid, t, t + 600),
    )
    .await;
    assert_eq!((s, aadsts(&body)), (401, 700027), "{body}");
    // Registered thumbprint but signed with another key → signature failure, same code.
    let forged = TestCert {
        cert_pem: String::new(),
        thumbprint: cert.thumbprint.clone(),
        key: stranger.key,
    };
    let (s, body) = exchange(
        &http,
        &url,
        &cid,
        &assertion(&forged, Algorithm::PS256, &url, &cid, t, t + 600),
    )
    .await;
    assert_eq!((s, aadsts(&body)), (401, 700027), "{body}");

    let secret = http
        .post(&url)
        .form(&[
            ("client_id", cid.as_str()),
            ("scope", "https://graph.microsoft.com/.default"),
            ("client_secret", "anything"),
            ("grant_type", "client_credentials"),
        ])
        .send()
        .await
        .expect("send");
    assert_eq!(secret.status(), 401);
}
