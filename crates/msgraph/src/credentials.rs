//! App credentials for the client-credentials flow: a client secret, or a certificate whose
//! key signs a `client_assertion` JWT (graph-contract.md §0.1: PS256, `x5t#S256`, audience =
//! the token endpoint, 10-minute lifetime).

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::GraphError;

/// How long an assertion is valid: Entra wants 5–10 minutes.
const ASSERTION_LIFETIME_SECS: i64 = 600;

/// An app credential. `Debug` never shows the secret or the key.
#[derive(Clone)]
pub enum Credential {
    Secret(SecretString),
    Certificate(CertificateCredential),
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::Secret(_) => f.write_str("Credential::Secret([REDACTED])"),
            Credential::Certificate(c) => write!(
                f,
                "Credential::Certificate {{ x5t#S256: {}, key: [REDACTED] }}",
                c.thumbprint
            ),
        }
    }
}

impl Credential {
    pub fn secret(secret: impl Into<String>) -> Self {
        Credential::Secret(SecretString::from(secret.into()))
    }

    /// A certificate credential from a PEM RSA private key and the PEM certificate registered
    /// on the app.
    pub fn certificate(private_key_pem: &str, certificate_pem: &str) -> Result<Self, GraphError> {
        Ok(Credential::Certificate(CertificateCredential::from_pem(
            private_key_pem,
            certificate_pem,
        )?))
    }
}

/// A signing key plus the thumbprint of its certificate.
#[derive(Clone)]
pub struct CertificateCredential {
    key: EncodingKey,
    thumbprint: String,
}

#[derive(Serialize)]
struct AssertionClaims<'a> {
    aud: &'a str,
    iss: &'a str,
    sub: &'a str,
    jti: String,
    nbf: i64,
    iat: i64,
    exp: i64,
}

impl CertificateCredential {
    pub fn from_pem(private_key_pem: &str, certificate_pem: &str) -> Result<Self, GraphError> {
        let key = EncodingKey::from_rsa_pem(private_key_pem.as_bytes())
            .map_err(|e| GraphError::Credential(format!("private key is not an RSA PEM: {e}")))?;
        let der = certificate_der(certificate_pem)?;
        Ok(Self {
            key,
            thumbprint: URL_SAFE_NO_PAD.encode(Sha256::digest(&der)),
        })
    }

    /// base64url(SHA-256(certificate DER)), the `x5t#S256` header value.
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }

    /// A signed client assertion for `client_id`, addressed to `token_url`.
    pub fn assertion(&self, client_id: &str, token_url: &str) -> Result<String, GraphError> {
        let mut header = Header::new(Algorithm::PS256);
        header.typ = Some("JWT".to_owned());
        header.x5t_s256 = Some(self.thumbprint.clone());
        let now = chrono::Utc::now().timestamp();
        let claims = AssertionClaims {
            aud: token_url,
            iss: client_id,
            sub: client_id,
            jti: uuid::Uuid::new_v4().to_string(),
            nbf: now,
            iat: now,
            exp: now.saturating_add(ASSERTION_LIFETIME_SECS),
        };
        jsonwebtoken::encode(&header, &claims, &self.key)
            .map_err(|e| GraphError::Credential(format!("cannot sign client assertion: {e}")))
    }
}

/// The DER bytes of the first `CERTIFICATE` block of a PEM document.
fn certificate_der(pem: &str) -> Result<Vec<u8>, GraphError> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let start = pem
        .find(BEGIN)
        .ok_or_else(|| GraphError::Credential("no BEGIN CERTIFICATE block".into()))?
        + BEGIN.len();
    let len = pem[start..]
        .find(END)
        .ok_or_else(|| GraphError::Credential("no END CERTIFICATE line".into()))?;
    let b64: String = pem[start..start + len]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    STANDARD
        .decode(b64)
        .map_err(|e| GraphError::Credential(format!("certificate is not valid base64: {e}")))
}

/// The form fields that authenticate the app at the token endpoint.
pub(crate) fn auth_fields(
    credential: &Credential,
    client_id: &str,
    token_url: &str,
) -> Result<Vec<(&'static str, String)>, GraphError> {
    Ok(match credential {
        Credential::Secret(s) => vec![("client_secret", s.expose_secret().to_owned())],
        Credential::Certificate(c) => vec![
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".to_owned(),
            ),
            ("client_assertion", c.assertion(client_id, token_url)?),
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_the_secret() {
        let c = Credential::secret("hunter2-very-secret");
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn bad_pem_is_a_credential_error() {
        assert!(matches!(
            certificate_der("nope"),
            Err(GraphError::Credential(_))
        ));
        assert!(matches!(
            certificate_der("-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----"),
            Err(GraphError::Credential(_))
        ));
    }
}
