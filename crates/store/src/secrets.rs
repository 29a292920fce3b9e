//! Provider credentials at rest: sealed with AES-256-GCM under the installation's secret key,
//! bound to their provider (the provider id is the additional authenticated data, so a sealed
//! credential copied onto another row does not open). The key never enters the database.

use aws_lc_rs::{
    aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey},
    rand::{SecureRandom, SystemRandom},
};
use base64::Engine as _;
use model::CredentialKind;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

/// Format of a sealed value: this version byte, the nonce, then ciphertext and tag.
const SEALED_VERSION: u8 = 1;
const KEY_LEN: usize = 32;

/// Why a secret could not be sealed or opened.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("the secret key must be 32 bytes, base64-encoded ({0})")]
    BadKey(String),
    #[error(
        "a stored credential cannot be opened: it was sealed under another secret key, or damaged"
    )]
    CannotOpen,
    #[error("the system's random source failed")]
    Random,
}

/// The installation's key for credentials at rest. Its `Debug` shows nothing.
pub struct SecretKey {
    key: LessSafeKey,
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(…)")
    }
}

impl SecretKey {
    /// A new random key, and its base64 form (to be kept by the administrator).
    pub fn generate() -> Result<(Self, SecretString), SecretError> {
        let mut bytes = [0_u8; KEY_LEN];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| SecretError::Random)?;
        let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
        Ok((Self::from_bytes(&bytes)?, SecretString::from(encoded)))
    }

    /// The key from its base64 form (as the configuration holds it).
    pub fn from_base64(encoded: &SecretString) -> Result<Self, SecretError> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded.expose_secret().trim())
            .map_err(|err| SecretError::BadKey(err.to_string()))?;
        Self::from_bytes(&bytes)
    }

    fn from_bytes(bytes: &[u8]) -> Result<Self, SecretError> {
        if bytes.len() != KEY_LEN {
            return Err(SecretError::BadKey(format!("got {} bytes", bytes.len())));
        }
        let key = UnboundKey::new(&AES_256_GCM, bytes)
            .map_err(|_| SecretError::BadKey("rejected by the cipher".into()))?;
        Ok(Self {
            key: LessSafeKey::new(key),
        })
    }

    /// Seals `plaintext`, bound to `context`.
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> Result<Vec<u8>, SecretError> {
        let mut nonce = [0_u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| SecretError::Random)?;
        let mut sealed = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context),
                &mut sealed,
            )
            .map_err(|_| SecretError::CannotOpen)?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(SEALED_VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Opens what [`SecretKey::seal`] made with the same key and context.
    pub fn open(&self, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>, SecretError> {
        let Some((&SEALED_VERSION, rest)) = sealed.split_first() else {
            return Err(SecretError::CannotOpen);
        };
        if rest.len() < NONCE_LEN {
            return Err(SecretError::CannotOpen);
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SecretError::CannotOpen)?;
        let mut buffer = ciphertext.to_vec();
        let plaintext = self
            .key
            .open_in_place(nonce, Aad::from(context), &mut buffer)
            .map_err(|_| SecretError::CannotOpen)?;
        Ok(plaintext.to_vec())
    }
}

/// A provider's credential for Entra ID. Its `Debug` never shows the secret or the key.
#[derive(Debug, Clone)]
pub enum ProviderCredential {
    ClientSecret(SecretString),
    /// A certificate (PEM) and its private key (PEM).
    Certificate {
        certificate_pem: String,
        private_key_pem: SecretString,
    },
}

impl ProviderCredential {
    pub fn kind(&self) -> CredentialKind {
        match self {
            ProviderCredential::ClientSecret(_) => CredentialKind::ClientSecret,
            ProviderCredential::Certificate { .. } => CredentialKind::Certificate,
        }
    }

    pub(crate) fn to_plaintext(&self) -> Vec<u8> {
        let value = match self {
            ProviderCredential::ClientSecret(secret) => {
                json!({"client_secret": secret.expose_secret()})
            }
            ProviderCredential::Certificate {
                certificate_pem,
                private_key_pem,
            } => json!({
                "certificate_pem": certificate_pem,
                "private_key_pem": private_key_pem.expose_secret(),
            }),
        };
        value.to_string().into_bytes()
    }

    pub(crate) fn from_plaintext(kind: CredentialKind, plaintext: &[u8]) -> Option<Self> {
        let value: serde_json::Value = serde_json::from_slice(plaintext).ok()?;
        let text = |name: &str| value[name].as_str().map(str::to_owned);
        match kind {
            CredentialKind::ClientSecret => Some(ProviderCredential::ClientSecret(
                text("client_secret")?.into(),
            )),
            CredentialKind::Certificate => Some(ProviderCredential::Certificate {
                certificate_pem: text("certificate_pem")?,
                private_key_pem: text("private_key_pem")?.into(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_key_and_context() {
        let (key, encoded) = SecretKey::generate().expect("key");
        let again = SecretKey::from_base64(&encoded).expect("same key");
        let sealed = key.seal(b"hunter2", b"provider-1").expect("seal");
        assert!(!sealed.windows(7).any(|w| w == b"hunter2"), "no plaintext");
        assert_eq!(
            again.open(&sealed, b"provider-1").expect("open"),
            b"hunter2"
        );
        assert!(matches!(
            key.open(&sealed, b"provider-2"),
            Err(SecretError::CannotOpen)
        ));
        let (other, _) = SecretKey::generate().expect("key");
        assert!(matches!(
            other.open(&sealed, b"provider-1"),
            Err(SecretError::CannotOpen)
        ));
        let mut damaged = sealed.clone();
        if let Some(last) = damaged.last_mut() {
            *last ^= 1;
        }
        assert!(key.open(&damaged, b"provider-1").is_err());
        assert_ne!(
            key.seal(b"hunter2", b"provider-1").expect("seal"),
            sealed,
            "fresh nonce"
        );
    }

    #[test]
    fn bad_keys_and_debug_output() {
        assert!(SecretKey::from_base64(&SecretString::from("c2hvcnQ=")).is_err());
        assert!(SecretKey::from_base64(&SecretString::from("not base64!")).is_err());
        let (key, _) = SecretKey::generate().expect("key");
        assert_eq!(format!("{key:?}"), "SecretKey(…)");
        let credential = ProviderCredential::ClientSecret("hunter2".to_owned().into());
        assert!(!format!("{credential:?}").contains("hunter2"));
        let round = ProviderCredential::from_plaintext(
            CredentialKind::ClientSecret,
            &credential.to_plaintext(),
        );
        assert!(
            matches!(round, Some(ProviderCredential::ClientSecret(s)) if s.expose_secret() == "hunter2")
        );
    }
}
