//! `civitas proof`: fetch a proof bundle to verify offline.

use anyhow::{Context, Result};
use civitas_client::Client;
use civitas_modules::cli::ModuleProofs;
use clap::Subcommand;
use std::path::PathBuf;

/// The options every fetch takes.
#[derive(clap::Args, Debug)]
pub struct Fetch {
    /// A node's API URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub node: String,
    /// Where to write the bundle.
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Subcommand)]
pub enum Command {
    /// Each module's proof bundles (`notary`, ...).
    #[command(flatten)]
    Module(ModuleProofs<Fetch>),
    /// Bundle proving a transaction and its receipt.
    Tx {
        /// Transaction hash.
        hash: String,
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        node: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// Bundle proving any state key's value or absence.
    State {
        /// Key space, such as identity/account.
        space: String,
        /// Id within the space.
        #[arg(default_value = "")]
        id: String,
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        node: String,
        #[arg(long)]
        out: PathBuf,
    },
}

fn save(node: &str, path: &str, out: &PathBuf) -> Result<()> {
    let bytes = Client::new(node).get_bytes(path)?;
    std::fs::write(out, &bytes).with_context(|| format!("cannot write {}", out.display()))?;
    println!("wrote {} ({} bytes)", out.display(), bytes.len());
    Ok(())
}

pub fn run(command: Command) -> Result<()> {
    match command {
        Command::Module(proof) => {
            let Fetch { node, out } = proof.common();
            save(node, &proof.path().map_err(anyhow::Error::msg)?, out)
        }
        Command::Tx { hash, node, out } => {
            save(&node, &format!("/v1/proofs/transactions/{hash}"), &out)
        }
        Command::State {
            space,
            id,
            node,
            out,
        } => save(&node, &format!("/v1/proofs/state/{space}/{id}"), &out),
    }
}
