//! `civitas keys`.

use crate::output::read_key;
use anyhow::{Context, Result, bail};
use civitas_core::crypto::PrivateKey;
use civitas_core::keyfile::KeyFile;
use clap::Subcommand;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum Command {
    /// Generate a new Ed25519 key file.
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
    /// Show a key file's public key and account.
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
    let file = KeyFile::new(&key, label);
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

pub fn run(command: Command) -> Result<()> {
    match command {
        Command::New { out, label } => {
            let file = write_new_key(&out, &label)?;
            println!("wrote {}", out.display());
            println!("public key: {}", file.public_key);
            println!("account:    {}", file.account());
            Ok(())
        }
        Command::Show { file, json } => {
            let key = read_key(&file)?;
            if json {
                crate::output::print_json(&serde_json::json!({
                    "public_key": key.public_key,
                    "account": key.account(),
                    "label": key.label,
                }));
            } else {
                println!("public key: {}", key.public_key);
                println!("account:    {}", key.account());
                if !key.label.is_empty() {
                    println!("label:      {}", key.label);
                }
            }
            Ok(())
        }
    }
}
