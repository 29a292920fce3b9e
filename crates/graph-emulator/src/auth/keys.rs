//! Key material: the emulator's own token-signing secret and the app's registered certificates.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{DecodingKey, EncodingKey};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::config::CertificateCredential;
use crate::error::EmulatorError;

/// A certificate registered for the app.
pub struct RegisteredCert {
    /// base64url SHA-256 of the certificate DER, as carried in the `x5t#S256` header.
    pub thumbprint: String,
    pub key: DecodingKey,
}

pub struct Keys {
    /// Access tokens are HS256 with a secret drawn at start: a token from anywhere else
    /// (another emulator, a hand-made JWT) fails verification, which is what "forged" means.
    pub encoding: EncodingKey,
    pub decoding: DecodingKey,
    pub certs: Vec<RegisteredCert>,
}

impl Keys {
    pub fn new(certs: &[CertificateCredential]) -> Result<Self, EmulatorError> {
        let mut secret = [0u8; 32];
        rand::rng().fill_bytes(&mut secret);
        let certs = certs
            .iter()
            .map(|c| register(&c.pem))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            encoding: EncodingKey::from_secret(&secret),
            decoding: DecodingKey::from_secret(&secret),
            certs,
        })
    }

    pub fn cert(&self, thumbprint: &str) -> Option<&RegisteredCert> {
        self.certs.iter().find(|c| c.thumbprint == thumbprint)
    }
}

/// DER bytes of the first PEM block.
fn pem_der(pem: &str) -> Result<Vec<u8>, EmulatorError> {
    let body: String = pem
        .lines()
        .map(str::trim)
        .skip_while(|l| !l.starts_with("-----BEGIN"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    STANDARD
        .decode(body)
        .map_err(|e| EmulatorError::Certificate(format!("bad PEM base64: {e}")))
}

pub fn thumbprint_s256(der: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(der))
}

fn register(pem: &str) -> Result<RegisteredCert, EmulatorError> {
    if !pem.contains("BEGIN CERTIFICATE") {
        return Err(EmulatorError::Certificate(
            "expected a PEM certificate".into(),
        ));
    }
    let der = pem_der(pem)?;
    // jsonwebtoken reads the RSA public key out of the certificate's SubjectPublicKeyInfo.
    let key = DecodingKey::from_rsa_pem(pem.as_bytes())
        .map_err(|e| EmulatorError::Certificate(e.to_string()))?;
    Ok(RegisteredCert {
        thumbprint: thumbprint_s256(&der),
        key,
    })
}
