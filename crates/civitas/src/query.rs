//! `civitas query`: read the ledger through a node.

use crate::output::{document_hash, print_json, read_key};
use anyhow::{Result, bail};
use civitas_client::Client;
use clap::Subcommand;

#[derive(Subcommand)]
pub enum Command {
    /// A notarised document, by file or SHA-256.
    ///
    /// Example: civitas query notary deed.pdf --node http://127.0.0.1:8080
    Notary {
        /// The document (or its SHA-256 in hex).
        document: String,
        /// A node's API URL.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        node: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// A transaction's status and receipt.
    Tx {
        /// Transaction hash.
        hash: String,
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        node: String,
    },
    /// A finalized block (the latest when no height is given).
    Block {
        /// Height.
        height: Option<u64>,
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        node: String,
    },
    /// An account.
    Account {
        /// Account id.
        id: String,
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        node: String,
    },
    /// Any state key, such as `identity/agency finance`.
    State {
        /// Key space, such as notary/document.
        space: String,
        /// Id within the space.
        #[arg(default_value = "")]
        id: String,
        /// Include the proof.
        #[arg(long)]
        proof: bool,
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        node: String,
    },
    /// Governance: threshold, this epoch's validators and the next epoch's; or one proposal.
    ///
    /// Example: civitas query governance --proposal 3
    Governance {
        /// Show this proposal.
        #[arg(long)]
        proposal: Option<u64>,
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        node: String,
    },
    /// The validator set of an epoch.
    Epoch {
        /// The epoch.
        epoch: u64,
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        node: String,
    },
    /// An account's transactions not final yet (in the node's mempool). Not public: the request
    /// is signed with --key, and the policies decide (by default the account holder and the
    /// admins of an official's agency may read them).
    ///
    /// Example: civitas query pending --key bob.json
    Pending {
        /// Key file of the reading account.
        #[arg(long)]
        key: std::path::PathBuf,
        /// Another key to sign with (k-of-n accounts, co-signers); repeat for several.
        #[arg(long = "cosign")]
        cosign: Vec<std::path::PathBuf>,
        /// Whose pending transactions (default: the reading account's).
        #[arg(long)]
        account: Option<String>,
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        node: String,
    },
    /// The node's view of the chain.
    Status {
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        node: String,
    },
}

pub fn run(command: Command) -> Result<()> {
    match command {
        Command::Notary {
            document,
            node,
            json,
        } => {
            let hash = document_hash(&document)?;
            let client = Client::new(&node);
            let value = match client.get_json(&format!("/v1/notary/documents/{hash}")) {
                Ok(value) => value,
                Err(e) if e.code() == Some("not_found") => {
                    if json {
                        print_json(&serde_json::json!({ "document": hash, "found": false }));
                    }
                    bail!("document {hash} has not been notarised");
                }
                Err(e) => return Err(e.into()),
            };
            if json {
                print_json(&value);
                return Ok(());
            }
            let doc = &value["value"];
            println!("document:  {hash}");
            println!("title:     {}", doc["title"].as_str().unwrap_or(""));
            println!(
                "issuer:    {} ({})",
                doc["agency"].as_str().unwrap_or(""),
                doc["issuer"].as_str().unwrap_or("")
            );
            println!("anchored:  height {} at {} ms", doc["height"], doc["time"]);
            if let Some(meta) = doc["metadata"].as_array() {
                for entry in meta {
                    println!(
                        "  {} = {}",
                        entry["key"].as_str().unwrap_or(""),
                        entry["value"].as_str().unwrap_or("")
                    );
                }
            }
            match doc["revocation"].as_object() {
                Some(revocation) => println!(
                    "status:    REVOKED at height {}: {}",
                    revocation["height"],
                    revocation["reason"].as_str().unwrap_or("")
                ),
                None => println!("status:    valid"),
            }
            Ok(())
        }
        Command::Tx { hash, node } => {
            print_json(&Client::new(&node).get_json(&format!("/v1/transactions/{hash}"))?);
            Ok(())
        }
        Command::Block { height, node } => {
            let path = match height {
                Some(h) => format!("/v1/blocks/{h}"),
                None => "/v1/blocks/latest".to_string(),
            };
            print_json(&Client::new(&node).get_json(&path)?);
            Ok(())
        }
        Command::Account { id, node } => {
            print_json(&Client::new(&node).get_json(&format!("/v1/accounts/{id}"))?);
            Ok(())
        }
        Command::State {
            space,
            id,
            proof,
            node,
        } => {
            let path = format!("/v1/state/{space}/{id}?proof={proof}");
            print_json(&Client::new(&node).get_json(&path)?);
            Ok(())
        }
        Command::Governance { proposal, node } => {
            let path = match proposal {
                Some(id) => format!("/v1/governance/proposals/{id}"),
                None => "/v1/governance".to_string(),
            };
            print_json(&Client::new(&node).get_json(&path)?);
            Ok(())
        }
        Command::Epoch { epoch, node } => {
            print_json(&Client::new(&node).get_json(&format!("/v1/epochs/{epoch}"))?);
            Ok(())
        }
        Command::Status { node } => {
            print_json(&Client::new(&node).status()?);
            Ok(())
        }
        Command::Pending {
            key,
            cosign,
            account,
            node,
        } => {
            let key = read_key(&key)?;
            let cosigners = cosign
                .iter()
                .map(|path| read_key(path))
                .collect::<Result<Vec<_>>>()?;
            let account = match account {
                Some(id) => civitas_core::crypto::AccountId::from_hex(&id)?,
                None => key.account(),
            };
            let client = Client::new(&node);
            let status = client.status()?;
            let chain_id = status["chain_id"].as_str().unwrap_or_default();
            let path = format!("/v1/accounts/{account}/pending");
            print_json(&client.get_signed_json(&path, chain_id, &key, &cosigners)?);
            Ok(())
        }
    }
}
