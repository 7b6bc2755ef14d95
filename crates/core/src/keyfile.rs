//! Key files: a private key the user owns, as JSON on disk.
//!
//! ```json
//! { "kind": "civitas-key", "version": 1, "public_key": "…", "secret_key": "…", "account": "…" }
//! ```
//! `account` is present when the key acts for an account created with an earlier key (after a
//! rotation); otherwise the account is the key's own. `encryption_keys` holds the X25519
//! secrets that what is sealed to the holder opens with, the one in use last (older ones stay,
//! so that what was sealed to them still opens).

use crate::codec::DecodeError;
use crate::crypto::{AccountId, PrivateKey, PublicKey};
use crate::seal::{DecryptionKey, EncryptionKey};
use serde::{Deserialize, Serialize};

/// Reads the key file at `path`, saying how to make one if there is none.
pub fn read(path: &std::path::Path) -> Result<KeyFile, String> {
    let text = std::fs::read_to_string(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => format!(
            "key file {} not found; create one with `civitas keys new --out {}`",
            path.display(),
            path.display()
        ),
        _ => format!("cannot read key file {}: {e}", path.display()),
    })?;
    KeyFile::from_json(&text)
        .map_err(|e| format!("{} is not a valid key file: {e}", path.display()))
}

/// A public key given in hex, or as a key file (or a file holding the hex key) to read it
/// from: what a command line takes wherever a key is named.
pub fn public_key_arg(arg: &str) -> Result<PublicKey, String> {
    // `--keys a.json, b.json` names `b.json`.
    let arg = arg.trim();
    if let Ok(key) = PublicKey::from_hex(arg) {
        return Ok(key);
    }
    let text = std::fs::read_to_string(arg)
        .map_err(|_| format!("{arg} is neither a hex public key nor a readable key file"))?;
    if let Ok(file) = serde_json::from_str::<KeyFile>(&text) {
        return Ok(file.public_key);
    }
    PublicKey::from_hex(text.trim()).map_err(|_| format!("{arg} holds no public key"))
}

/// An encryption key given in hex, or as a key file to take its encryption key in use from:
/// what a command line takes wherever an encryption key is named.
pub fn encryption_key_arg(arg: &str) -> Result<EncryptionKey, String> {
    let arg = arg.trim();
    // 64 hex digits are a key, or say why they are not one.
    if arg.len() == 64 && arg.bytes().all(|b| b.is_ascii_hexdigit()) {
        return EncryptionKey::from_hex(arg).map_err(|e| format!("{arg} is not usable: {e}"));
    }
    let text = std::fs::read_to_string(arg)
        .map_err(|_| format!("{arg} is neither a hex encryption key nor a readable key file"))?;
    let file = KeyFile::from_json(&text).map_err(|e| format!("{arg}: {e}"))?;
    file.encryption_key()
        .map_err(|e| format!("{arg}: {e}"))?
        .ok_or_else(|| {
            format!("{arg} holds no encryption key; add one with `civitas keys new-encryption-key {arg}`")
        })
}

/// A key file's contents.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KeyFile {
    /// Always `civitas-key`.
    pub kind: String,
    /// Format version (1).
    pub version: u16,
    /// Optional label, such as `finance admin`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub label: String,
    /// The public key, hex.
    pub public_key: PublicKey,
    /// The 32-byte secret seed, hex.
    pub secret_key: String,
    /// The account this key signs for, when it differs from the key itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<AccountId>,
    /// X25519 secrets (hex) that sealed values open with, oldest first; the last is the one
    /// to register (`civitas tx identity set-encryption-key`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub encryption_keys: Vec<String>,
}

impl KeyFile {
    /// A key file for `key`.
    pub fn new(key: &PrivateKey, label: &str) -> Self {
        Self {
            kind: "civitas-key".into(),
            version: 1,
            label: label.into(),
            public_key: key.public_key(),
            secret_key: hex::encode(key.seed_bytes()),
            account: None,
            encryption_keys: Vec::new(),
        }
    }

    /// A key file for `key` holding encryption key `encryption` too.
    pub fn with_encryption(key: &PrivateKey, encryption: &DecryptionKey, label: &str) -> Self {
        let mut file = Self::new(key, label);
        file.encryption_keys.push(encryption.to_hex().to_string());
        file
    }

    /// Every decryption key the file holds, newest first.
    pub fn decryption_keys(&self) -> Result<Vec<DecryptionKey>, DecodeError> {
        self.encryption_keys
            .iter()
            .rev()
            .map(|hex| DecryptionKey::from_hex(hex))
            .collect()
    }

    /// The encryption key in use: the public half of the newest secret, if the file has one.
    pub fn encryption_key(&self) -> Result<Option<EncryptionKey>, DecodeError> {
        Ok(self.decryption_keys()?.first().map(DecryptionKey::public))
    }

    /// Parses and checks that the secret matches the public key.
    pub fn from_json(text: &str) -> Result<Self, DecodeError> {
        let file: Self = serde_json::from_str(text).map_err(|e| DecodeError::Invalid {
            field: "key file",
            reason: e.to_string(),
        })?;
        if file.kind != "civitas-key" || file.version != 1 {
            return Err(DecodeError::Invalid {
                field: "key file",
                reason: "not a civitas-key version 1 file".into(),
            });
        }
        file.decryption_keys()?;
        let key = file.private_key()?;
        if key.public_key() != file.public_key {
            return Err(DecodeError::Invalid {
                field: "key file",
                reason: "secret_key does not match public_key".into(),
            });
        }
        Ok(file)
    }

    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("key file always serialises")
    }

    /// The private key.
    pub fn private_key(&self) -> Result<PrivateKey, DecodeError> {
        let seed =
            hex::decode(self.secret_key.trim()).map_err(|_| DecodeError::Hex("a secret key"))?;
        PrivateKey::from_seed_bytes(&seed)
    }

    /// The account this key signs for.
    pub fn account(&self) -> AccountId {
        self.account.unwrap_or_else(|| self.public_key.account_id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_mismatch() {
        let key = PrivateKey::from_test_seed(5);
        let file = KeyFile::new(&key, "test");
        let parsed = KeyFile::from_json(&file.to_json()).unwrap();
        assert_eq!(parsed.private_key().unwrap().public_key(), key.public_key());
        assert_eq!(parsed.account(), key.public_key().account_id());
        let mut bad = file.clone();
        bad.public_key = PrivateKey::from_test_seed(6).public_key();
        assert!(KeyFile::from_json(&bad.to_json()).is_err());
    }

    #[test]
    fn encryption_keys_are_kept_newest_last_and_checked() {
        let key = PrivateKey::from_test_seed(5);
        let old = DecryptionKey::from_test_seed(1);
        let new = DecryptionKey::from_test_seed(2);
        let mut file = KeyFile::with_encryption(&key, &old, "");
        file.encryption_keys.push(new.to_hex().to_string());
        let parsed = KeyFile::from_json(&file.to_json()).unwrap();
        assert_eq!(parsed.encryption_key().unwrap(), Some(new.public()));
        let publics: Vec<_> = parsed
            .decryption_keys()
            .unwrap()
            .iter()
            .map(DecryptionKey::public)
            .collect();
        assert_eq!(publics, vec![new.public(), old.public()]);
        // A file without encryption keys (written before they existed) still reads.
        let plain = KeyFile::new(&key, "");
        assert!(!plain.to_json().contains("encryption_keys"));
        assert_eq!(
            KeyFile::from_json(&plain.to_json())
                .unwrap()
                .encryption_key()
                .unwrap(),
            None
        );
        let mut bad = file.clone();
        bad.encryption_keys.push("zz".into());
        assert!(KeyFile::from_json(&bad.to_json()).is_err());
    }
}
