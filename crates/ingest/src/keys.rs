//! Loading (or, on first start, generating) the recipient's HPKE private key.
//!
//! The key comes from a file, from an environment variable, or from `<data>/recipient-key.pem`,
//! which is created with mode 0600 if absent. Only its key id (SHA-256 of the public key) is ever
//! printed; the PEM text is held in [`Zeroizing`] buffers and the key's `Debug` is redacted.

use std::io::Write;
use std::path::{Path, PathBuf};

use veil_seal::RecipientKey;
use zeroize::Zeroizing;

use crate::ServeError;
use crate::config::{GENERATED_KEY_FILE, KeySource};

/// Where a loaded key came from, for the start-up message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyOrigin {
    /// Read from this file.
    File(PathBuf),
    /// Read from this environment variable.
    Env(String),
    /// Generated now and written to this file.
    Generated(PathBuf),
}

impl std::fmt::Display for KeyOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyOrigin::File(p) => write!(f, "file {}", p.display()),
            KeyOrigin::Env(v) => write!(f, "environment variable {v}"),
            KeyOrigin::Generated(p) => write!(f, "generated into {}", p.display()),
        }
    }
}

/// Largest key file read (a PEM P-256 key is ~250 bytes).
const MAX_KEY_FILE: u64 = 64 * 1024;

fn read_pem(path: &Path) -> Result<Zeroizing<String>, ServeError> {
    let meta = std::fs::metadata(path)?;
    if meta.len() > MAX_KEY_FILE {
        return Err(ServeError::BadRecipientKey {
            origin: path.display().to_string(),
        });
    }
    let bytes = Zeroizing::new(std::fs::read(path)?);
    let text = std::str::from_utf8(&bytes).map_err(|_| ServeError::BadRecipientKey {
        origin: path.display().to_string(),
    })?;
    Ok(Zeroizing::new(text.to_owned()))
}

fn parse(pem: &str, origin: &str) -> Result<RecipientKey, ServeError> {
    RecipientKey::from_pem(pem).map_err(|_| ServeError::BadRecipientKey {
        origin: origin.to_owned(),
    })
}

/// Load the recipient key from `source`, generating `<data_dir>/recipient-key.pem` for
/// [`KeySource::DataDir`] when it does not exist yet.
pub fn load_recipient_key(
    source: &KeySource,
    data_dir: &Path,
) -> Result<(RecipientKey, KeyOrigin), ServeError> {
    match source {
        KeySource::File(path) => {
            if !path.exists() {
                return Err(ServeError::MissingRecipientKey(path.clone()));
            }
            let pem = read_pem(path)?;
            Ok((
                parse(&pem, &path.display().to_string())?,
                KeyOrigin::File(path.clone()),
            ))
        }
        KeySource::Env(var) => {
            let pem =
                Zeroizing::new(std::env::var(var).map_err(|_| ServeError::BadRecipientKey {
                    origin: var.clone(),
                })?);
            Ok((parse(&pem, var)?, KeyOrigin::Env(var.clone())))
        }
        KeySource::DataDir => {
            let path = data_dir.join(GENERATED_KEY_FILE);
            if path.exists() {
                let pem = read_pem(&path)?;
                return Ok((
                    parse(&pem, &path.display().to_string())?,
                    KeyOrigin::File(path),
                ));
            }
            let key = RecipientKey::generate()
                .map_err(|e| ServeError::Config(format!("generating a key: {e}")))?;
            let pem = key
                .to_pkcs8_pem()
                .map_err(|e| ServeError::Config(format!("encoding a key: {e}")))?;
            write_private(&path, pem.as_bytes())?;
            Ok((key, KeyOrigin::Generated(path)))
        }
    }
}

/// Create `path` exclusively (never overwrite a key) with owner-only permissions, and sync it.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), ServeError> {
    if let Some(dir) = path.parent() {
        crate::config::create_private_dir(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use veil_core::Coded;

    fn temp(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("veil-ingest-keys-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn data_dir_key_is_generated_once_then_reused_with_owner_only_mode() {
        let dir = temp("gen");
        let (first, origin) = load_recipient_key(&KeySource::DataDir, &dir).unwrap();
        assert!(matches!(origin, KeyOrigin::Generated(_)));
        let (second, origin) = load_recipient_key(&KeySource::DataDir, &dir).unwrap();
        assert!(matches!(origin, KeyOrigin::File(_)));
        assert_eq!(first.kid(), second.kid());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join(GENERATED_KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "key readable by others: {mode:o}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn an_explicit_key_file_must_exist_and_parse() {
        let dir = temp("explicit");
        let missing = dir.join("nope.pem");
        let err = load_recipient_key(&KeySource::File(missing), &dir).unwrap_err();
        assert_eq!(err.code(), "missing-recipient-key");
        let garbage = dir.join("garbage.pem");
        std::fs::write(
            &garbage,
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        )
        .unwrap();
        let err = load_recipient_key(&KeySource::File(garbage), &dir).unwrap_err();
        assert_eq!(err.code(), "bad-recipient-key");
        // The message names the file, never key material.
        assert!(!err.to_string().contains("AAAA"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
