//! Shared helpers for reading files and printing results.

use anyhow::{Context, Result, bail};
use civitas_core::genesis::Genesis;
use civitas_core::hash::Hash32;
use civitas_core::keyfile::KeyFile;
use std::path::Path;

/// Reads a key file, with a hint on how to create one.
pub fn read_key(path: &Path) -> Result<KeyFile> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "key file {} not found; create one with `civitas keys new --out {}`",
            path.display(),
            path.display()
        )
    })?;
    KeyFile::from_json(&text).with_context(|| format!("{} is not a valid key file", path.display()))
}

/// Reads and validates a genesis document.
pub fn read_genesis(path: &Path) -> Result<Genesis> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "genesis file {} not found; it comes with the network (for a devnet, devnet/genesis.json)",
            path.display()
        )
    })?;
    Genesis::from_json(&text)
        .with_context(|| format!("{} is not a valid genesis document", path.display()))
}

/// Like [`read_genesis`], also checking the authorization schema and policies with Cedar (for
/// commands that run or inspect a chain; verifying a bundle needs only the genesis hash).
pub fn read_genesis_checked(path: &Path) -> Result<Genesis> {
    let genesis = read_genesis(path)?;
    civitas_modules::authz::check_genesis(&genesis).with_context(|| {
        format!(
            "{}: the authorization schema or policies do not check",
            path.display()
        )
    })?;
    Ok(genesis)
}

/// A document argument: a 64-character hex SHA-256, or a path to a file to hash.
pub fn document_hash(arg: &str) -> Result<Hash32> {
    civitas_core::kit::args::document(arg).map_err(anyhow::Error::msg)
}

/// Prints JSON prettily.
pub fn print_json(value: &serde_json::Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}

/// Asks a person at the terminal to confirm; `yes` answers for scripts. Without a terminal
/// and without `yes`, refuses rather than guess.
pub fn confirm(question: &str, yes: bool) -> Result<()> {
    use std::io::{BufRead as _, IsTerminal as _, Write as _};
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        bail!("{question} Pass --yes to answer yes without a terminal (in scripts)");
    }
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if matches!(answer.trim(), "y" | "Y" | "yes" | "Yes") {
        Ok(())
    } else {
        bail!("not approved; nothing was signed")
    }
}
