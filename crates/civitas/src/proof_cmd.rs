//! `civitas proof`: fetch a proof bundle to verify offline.

use crate::output::document_hash;
use anyhow::{Context, Result};
use civitas_client::Client;
use clap::Subcommand;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum Command {
    /// Bundle proving a document's notarisation (or that it was never notarised).
    ///
    /// Example: civitas proof notary deed.pdf --node http://127.0.0.1:8080 --out deed.cvpb
    Notary {
        /// The document (or its SHA-256 in hex).
        document: String,
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        node: String,
        /// Where to write the bundle.
        #[arg(long)]
        out: PathBuf,
    },
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
        Command::Notary {
            document,
            node,
            out,
        } => {
            let hash = document_hash(&document)?;
            save(&node, &format!("/v1/proofs/notary/{hash}"), &out)
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
