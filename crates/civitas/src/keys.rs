//! `civitas keys`.

use crate::output::read_key;
use anyhow::{Context, Result, bail};
use civitas_core::crypto::PrivateKey;
use civitas_core::keyfile::KeyFile;
use civitas_core::seal::DecryptionKey;
use clap::Subcommand;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum Command {
    /// Generate a new key file: an Ed25519 signing key and an X25519 encryption key.
    ///
    /// Example: civitas keys new --out alice.json --label "Alice, land registry"
    New {
        /// Where to write the key file (never overwritten).
        #[arg(long)]
        out: PathBuf,
        /// A label to remember what the key is for.
        #[arg(long, default_value = "")]
        label: String,
    },
    /// Add a new encryption key to a key file, keeping the old ones (what was sealed to them
    /// still opens); register it with `civitas tx identity set-encryption-key`.
    ///
    /// Example: civitas keys new-encryption-key alice.json
    NewEncryptionKey {
        /// The key file.
        file: PathBuf,
    },
    /// Record in a key file the account it signs for: after a key rotation made elsewhere, or a
    /// key recovery a registrar completed for this key.
    ///
    /// Example: civitas keys set-account alice-new.json
    ///   --account 5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c
    SetAccount {
        /// The key file.
        file: PathBuf,
        /// The account.
        #[arg(long, value_parser = civitas_core::kit::args::account)]
        account: civitas_core::crypto::AccountId,
    },
    /// Show a key file's public key, account and encryption key.
    ///
    /// Example: civitas keys show alice.json
    Show {
        /// The key file.
        file: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Writes a new key file; refuses to overwrite.
pub fn write_new_key(path: &std::path::Path, label: &str) -> Result<KeyFile> {
    if path.exists() {
        bail!(
            "{} already exists; choose another path (keys are never overwritten)",
            path.display()
        );
    }
    if let Some(parent) = path.parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let key = PrivateKey::generate()?;
    let file = KeyFile::with_encryption(&key, &DecryptionKey::generate()?, label);
    write_private(path, &file.to_json())?;
    Ok(file)
}

/// Writes a file readable only by its owner.
pub fn write_private(path: &std::path::Path, text: &str) -> Result<()> {
    use std::io::Write as _;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut handle = options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    handle.write_all(text.as_bytes())?;
    handle.write_all(b"\n")?;
    Ok(())
}

/// Replaces a key file's contents, readable only by its owner: written beside it, then renamed
/// over it, so a crash leaves the old file or the new one, never half of one.
fn replace_private(path: &std::path::Path, text: &str) -> Result<()> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".new");
    let temporary = PathBuf::from(temporary);
    let _ = std::fs::remove_file(&temporary);
    write_private(&temporary, text)?;
    std::fs::File::open(&temporary)
        .and_then(|file| file.sync_all())
        .with_context(|| format!("cannot write {}", temporary.display()))?;
    std::fs::rename(&temporary, path)
        .with_context(|| format!("cannot replace {}", path.display()))?;
    // The rename itself is durable once the folder is.
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::File::open(parent)
            .and_then(|folder| folder.sync_all())
            .with_context(|| format!("cannot write {}", parent.display()))?;
    }
    Ok(())
}

pub fn run(command: Command) -> Result<()> {
    match command {
        Command::New { out, label } => {
            let file = write_new_key(&out, &label)?;
            println!("wrote {}", out.display());
            println!("public key: {}", file.public_key);
            println!("account:    {}", file.account());
            if let Some(key) = file.encryption_key()? {
                println!("encryption: {key}");
            }
            Ok(())
        }
        Command::SetAccount { file, account } => {
            let mut key = read_key(&file)?;
            key.account = (account != key.public_key.account_id()).then_some(account);
            replace_private(&file, &key.to_json())?;
            println!("{} signs for account {account}", file.display());
            Ok(())
        }
        Command::NewEncryptionKey { file } => {
            let mut key = read_key(&file)?;
            let new = DecryptionKey::generate()?;
            key.encryption_keys.push(new.to_hex().to_string());
            replace_private(&file, &key.to_json())?;
            println!(
                "added encryption key {} to {}",
                new.public(),
                file.display()
            );
            println!(
                "register it: civitas tx identity set-encryption-key --encryption-key {} --key {}",
                file.display(),
                file.display()
            );
            Ok(())
        }
        Command::Show { file, json } => {
            let key = read_key(&file)?;
            if json {
                crate::output::print_json(&serde_json::json!({
                    "public_key": key.public_key,
                    "account": key.account(),
                    "encryption_key": key.encryption_key()?,
                    "label": key.label,
                }));
            } else {
                println!("public key: {}", key.public_key);
                println!("account:    {}", key.account());
                if let Some(encryption) = key.encryption_key()? {
                    println!("encryption: {encryption}");
                }
                if !key.label.is_empty() {
                    println!("label:      {}", key.label);
                }
            }
            Ok(())
        }
    }
}
