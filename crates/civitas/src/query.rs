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
    /// Finalized transactions from the node's read model, newest first: by account (sent,
    /// co-signed or naming it), instruction and outcome.
    ///
    /// Example: civitas query transactions --account <id> --part sent --limit 10
    Transactions {
        /// Only transactions that concern this account (64 hex digits).
        #[arg(long)]
        account: Option<String>,
        /// With --account: only those it `sent`, `cosigned` or is `named` in.
        #[arg(long, value_parser = ["sent", "cosigned", "named"])]
        part: Option<String>,
        /// Only transactions with this instruction, such as notary.anchor.
        #[arg(long)]
        action: Option<String>,
        /// Only failed transactions.
        #[arg(long, conflicts_with = "succeeded")]
        failed: bool,
        /// Only successful transactions.
        #[arg(long)]
        succeeded: bool,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Finalized blocks from the node's read model, newest first.
    ///
    /// Example: civitas query blocks --with-transactions
    Blocks {
        /// Only blocks that hold transactions.
        #[arg(long)]
        with_transactions: bool,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Recorded events from the node's read model, newest first: by type, module and account.
    ///
    /// Example: civitas query events --type document_anchored --account <id>
    Events {
        /// Only events of this type, such as treasury_entry.
        #[arg(long = "type")]
        kind: Option<String>,
        /// Only events of this module, such as notary.
        #[arg(long)]
        module: Option<String>,
        /// Only events that name this account.
        #[arg(long)]
        account: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// The node's view of the chain.
    Status {
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        node: String,
    },
}

/// How a list is paged and printed.
#[derive(clap::Args, Debug)]
pub struct PageArgs {
    /// Oldest first.
    #[arg(long)]
    oldest: bool,
    /// Continue after this cursor (the `next` a page printed).
    #[arg(long)]
    cursor: Option<String>,
    /// Items on the page (1 to 100).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=100))]
    limit: u32,
    /// Print the page as JSON (as the API answers it).
    #[arg(long)]
    json: bool,
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    node: String,
}

/// Fetches a page of `path` with `filters` and prints it: JSON, or one line per item by `line`.
fn list(
    path: &str,
    filters: Vec<(&str, String)>,
    page: &PageArgs,
    line: fn(&serde_json::Value) -> String,
) -> Result<()> {
    let mut query: Vec<(&str, String)> = filters;
    if page.oldest {
        query.push(("order", "oldest".into()));
    }
    if let Some(cursor) = &page.cursor {
        query.push(("cursor", cursor.clone()));
    }
    query.push(("limit", page.limit.to_string()));
    let query: Vec<String> = query
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect();
    let answer = Client::new(&page.node).get_json(&format!("{path}?{}", query.join("&")))?;
    if page.json {
        print_json(&answer);
        return Ok(());
    }
    let items = answer["items"].as_array().cloned().unwrap_or_default();
    println!("as of block {}: {} item(s)", answer["height"], items.len());
    for item in &items {
        println!("{}", line(item));
    }
    if let Some(next) = answer["next"].as_str() {
        println!("more: --cursor {next}");
    }
    Ok(())
}

/// `text` as a URL query value: unreserved characters as they are, the rest percent-encoded.
pub(crate) fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn tx_line(tx: &serde_json::Value) -> String {
    let actions: Vec<&str> = tx["actions"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    format!(
        "{:>8}.{:<3} {}  {}  {}",
        tx["height"],
        tx["position"],
        tx["hash"].as_str().unwrap_or_default(),
        tx["outcome"].as_str().unwrap_or_default(),
        actions.join(",")
    )
}

fn block_line(block: &serde_json::Value) -> String {
    format!(
        "{:>8}  {} transaction(s)  {}",
        block["height"],
        block["tx_count"],
        block["digest"].as_str().unwrap_or_default()
    )
}

fn event_line(item: &serde_json::Value) -> String {
    format!(
        "{:>8}.{:<3} {}  {}",
        item["height"],
        item["position"],
        item["event"]["type"].as_str().unwrap_or_default(),
        item["event"]
    )
}

pub fn run(command: Command) -> Result<()> {
    match command {
        Command::Transactions {
            account,
            part,
            action,
            failed,
            succeeded,
            page,
        } => {
            let mut filters = Vec::new();
            let path = match &account {
                Some(account) => format!("/v1/accounts/{account}/transactions"),
                None => "/v1/transactions".to_string(),
            };
            if let Some(part) = part {
                filters.push(("part", part));
            }
            if let Some(action) = action {
                filters.push(("action", action));
            }
            if failed || succeeded {
                filters.push(("failed", failed.to_string()));
            }
            list(&path, filters, &page, tx_line)
        }
        Command::Blocks {
            with_transactions,
            page,
        } => {
            let filters = if with_transactions {
                vec![("with_transactions", "true".to_string())]
            } else {
                Vec::new()
            };
            list("/v1/blocks", filters, &page, block_line)
        }
        Command::Events {
            kind,
            module,
            account,
            page,
        } => {
            let mut filters = Vec::new();
            if let Some(kind) = kind {
                filters.push(("type", kind));
            }
            if let Some(module) = module {
                filters.push(("module", module));
            }
            let path = match &account {
                Some(account) => format!("/v1/accounts/{account}/events"),
                None => "/v1/index/events".to_string(),
            };
            list(&path, filters, &page, event_line)
        }
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
