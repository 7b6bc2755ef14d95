//! `civitas query`: read the ledger through a node.

use crate::output::{print_json, read_key};
use anyhow::{Result, bail};
use civitas_client::Client;
use civitas_core::kit::cli::Printed;
use civitas_modules::cli::ModuleQueries;
use clap::Subcommand;

/// The options every read takes.
#[derive(clap::Args, Debug)]
pub struct Node {
    /// A node's API URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub node: String,
}

#[derive(Subcommand)]
pub enum Command {
    /// Each module's reads (`notary`, `spending`, `tender`, `governance`, ...).
    #[command(flatten)]
    Module(ModuleQueries<Node>),
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
        Command::Module(query) => {
            let console = crate::tx::NodeConsole::reader(&query.common().node);
            match query.run(&console) {
                Ok(printed) => {
                    show(printed);
                    Ok(())
                }
                Err(failed) => {
                    if let Some(printed) = failed.printed {
                        show(printed);
                    }
                    bail!("{}", failed.message)
                }
            }
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

/// Prints what a module's read answered.
pub fn show(printed: Printed) {
    match printed {
        Printed::Text(text) => print!("{text}"),
        Printed::Json(value) => print_json(&value),
    }
}
