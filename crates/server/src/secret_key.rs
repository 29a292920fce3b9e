//! The installation's secret key (it seals provider credentials at rest): from the
//! configuration, or from its file, which is created, readable by its owner only, on first use.

use std::{io::Write, path::Path};

use secrecy::{ExposeSecret, SecretString};
use store::SecretKey;

use crate::Config;

#[derive(Debug, thiserror::Error)]
pub enum SecretKeyError {
    #[error("secret_key: {0}")]
    Configured(store::SecretError),
    #[error("the secret key file {path}: {reason}")]
    File { path: String, reason: String },
}

/// Where the key came from, for the one line `serve` prints about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    Configuration,
    File,
    /// A new key was made and written to the file: it must be backed up.
    Created,
}

/// The secret key the configuration names, creating its file when there is none.
pub fn load_or_create(config: &Config) -> Result<(SecretKey, KeySource), SecretKeyError> {
    if let Some(encoded) = &config.secret_key {
        let key = SecretKey::from_base64(encoded).map_err(SecretKeyError::Configured)?;
        return Ok((key, KeySource::Configuration));
    }
    let path = config.secret_key_file.as_path();
    let file_error = |reason: String| SecretKeyError::File {
        path: path.display().to_string(),
        reason,
    };
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let key = SecretKey::from_base64(&SecretString::from(text))
                .map_err(|err| file_error(err.to_string()))?;
            Ok((key, KeySource::File))
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            let (key, encoded) =
                SecretKey::generate().map_err(|err| file_error(err.to_string()))?;
            write_new_key_file(path, &encoded).map_err(|err| file_error(err.to_string()))?;
            Ok((key, KeySource::Created))
        }
        Err(err) => Err(file_error(err.to_string())),
    }
}

/// Creates the file (never overwriting one), readable and writable by its owner only.
fn write_new_key_file(path: &Path, encoded: &SecretString) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(encoded.expose_secret().as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_file_is_created_once_then_reused() {
        let dir = tempfile::tempdir().expect("dir");
        let config = Config {
            secret_key_file: dir.path().join("entrasync.key"),
            ..Config::default()
        };
        let (first, source) = load_or_create(&config).expect("create");
        assert_eq!(source, KeySource::Created);
        let (second, source) = load_or_create(&config).expect("read");
        assert_eq!(source, KeySource::File);
        let sealed = first.seal(b"x", b"c").expect("seal");
        assert_eq!(second.open(&sealed, b"c").expect("same key"), b"x");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&config.secret_key_file)
                .expect("metadata")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&config.secret_key_file, "garbage").expect("write");
        let err = load_or_create(&config).expect_err("bad file");
        assert!(err.to_string().contains("entrasync.key"), "{err}");
    }
}
