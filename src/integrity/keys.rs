//! The Ed25519 key that signs checkpoints, purges and export manifests.
//!
//! Keys are PKCS#8 PEM files (private) and SubjectPublicKeyInfo PEM (public), the forms
//! OpenSSL reads, so a reviewer can check a signature without trustpath. A key is named by
//! its raw 32-byte public key in hex (`key_id`), which checkpoints and manifests record.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{
    DecodePrivateKey as _, DecodePublicKey as _, EncodePrivateKey as _, EncodePublicKey as _,
};
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use rand::TryRngCore as _;

/// What went wrong with a key file. Each message says which file and what to do.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(
        "cannot read the signing key {path}: {source}; check store.signing_key, or create a \
         key with `trustpath keys generate --out {path}`"
    )]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "cannot read the public key {path}: {source}; give the PEM file `trustpath keys show` \
         printed"
    )]
    ReadPublic {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path} is not an Ed25519 private key in PKCS#8 PEM ({detail}); create one with \
         `trustpath keys generate --out {path}`"
    )]
    BadPrivate { path: PathBuf, detail: String },
    #[error(
        "{path} is not an Ed25519 public key in PEM ({detail}); print the right one with \
         `trustpath keys show`"
    )]
    BadPublic { path: PathBuf, detail: String },
    #[error("cannot write the key {path}: {source} (an existing key is never overwritten)")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the system's random source failed: {0}")]
    Random(String),
}

/// The private key: signs.
pub struct Signer {
    key: SigningKey,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signer({})", self.public().key_id())
    }
}

impl Signer {
    /// A new key from the operating system's random source.
    pub fn generate() -> Result<Signer, KeyError> {
        let mut seed = [0u8; 32];
        rand::rngs::OsRng
            .try_fill_bytes(&mut seed)
            .map_err(|e| KeyError::Random(e.to_string()))?;
        Ok(Signer {
            key: SigningKey::from_bytes(&seed),
        })
    }

    pub fn load(path: &Path) -> Result<Signer, KeyError> {
        let text = std::fs::read_to_string(path).map_err(|source| KeyError::Read {
            path: path.to_owned(),
            source,
        })?;
        let key = SigningKey::from_pkcs8_pem(&text).map_err(|e| KeyError::BadPrivate {
            path: path.to_owned(),
            detail: e.to_string(),
        })?;
        Ok(Signer { key })
    }

    /// Loads the key at `path`, creating it (readable by this user only) when missing.
    pub fn load_or_create(path: &Path) -> Result<Signer, KeyError> {
        if path.exists() {
            return Signer::load(path);
        }
        let signer = Signer::generate()?;
        signer.save(path)?;
        tracing::info!(
            path = %path.display(),
            key_id = %signer.public().key_id(),
            "created the store's signing key; keep a copy of its public key (`trustpath keys show`) where the store's host cannot change it"
        );
        Ok(signer)
    }

    /// Writes the private key as PKCS#8 PEM, mode 0600, refusing to replace a file.
    pub fn save(&self, path: &Path) -> Result<(), KeyError> {
        let write_error = |source| KeyError::Write {
            path: path.to_owned(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(write_error)?;
        }
        let pem = self
            .key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| write_error(std::io::Error::other(e.to_string())))?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(write_error)?;
        file.write_all(pem.as_bytes()).map_err(write_error)
    }

    pub fn public(&self) -> PublicKey {
        PublicKey(self.key.verifying_key())
    }

    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }
}

/// The public key: verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    pub fn load(path: &Path) -> Result<PublicKey, KeyError> {
        let text = std::fs::read_to_string(path).map_err(|source| KeyError::ReadPublic {
            path: path.to_owned(),
            source,
        })?;
        VerifyingKey::from_public_key_pem(&text)
            .map(PublicKey)
            .map_err(|e| KeyError::BadPublic {
                path: path.to_owned(),
                detail: e.to_string(),
            })
    }

    /// The raw public key in hex: how checkpoints and manifests name their key.
    pub fn key_id(&self) -> String {
        hex::encode(self.0.as_bytes())
    }

    pub fn pem(&self) -> String {
        self.0
            .to_public_key_pem(LineEnding::LF)
            .expect("an Ed25519 public key always encodes")
    }

    /// Whether `signature` (64 bytes) is this key's signature of `message`.
    pub fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        Signature::from_slice(signature).is_ok_and(|s| self.0.verify(message, &s).is_ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_pem_files_and_sign() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k/signing.pem");
        let created = Signer::load_or_create(&path).unwrap();
        let loaded = Signer::load(&path).unwrap();
        assert_eq!(created.public(), loaded.public());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(
            created.save(&path).is_err(),
            "an existing key is never replaced"
        );

        let public_path = dir.path().join("public.pem");
        std::fs::write(&public_path, loaded.public().pem()).unwrap();
        let public = PublicKey::load(&public_path).unwrap();
        let signature = created.sign(b"head");
        assert!(public.verifies(b"head", &signature));
        assert!(!public.verifies(b"heae", &signature));
        assert!(
            !Signer::generate()
                .unwrap()
                .public()
                .verifies(b"head", &signature)
        );

        let error = PublicKey::load(&path).unwrap_err().to_string();
        assert!(error.contains("not an Ed25519 public key"), "{error}");
    }
}
