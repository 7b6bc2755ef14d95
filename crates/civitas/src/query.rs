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
    /// Governance: threshold, this epoch's validators and the next epoch's; one proposal; or
    /// the open proposals, each with what it would do, who approved and what is missing.
    ///
    /// Example: civitas query governance --open
    Governance {
        /// Show this proposal.
        #[arg(long, conflicts_with = "open")]
        proposal: Option<u64>,
        /// List the open proposals (among the newest 100), as text unless --json.
        #[arg(long)]
        open: bool,
        /// With --open: print JSON.
        #[arg(long, requires = "open")]
        json: bool,
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        node: String,
    },
    /// The agencies in force, each with the validators it runs this epoch and next (JSON).
    /// A retired agency's record: `civitas query state identity/agency <id>`.
    ///
    /// Example: civitas query agencies
    Agencies {
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
    /// Public spending of a fiscal year: appropriated, allotted, committed and paid, overall or
    /// by agency, programme, classification, vendor or month. Each figure has a proof bundle
    /// (`civitas proof state treasury/total <year>/<dimension>/<value>`).
    ///
    /// Example: civitas query spending 2026 --by agency
    Spending {
        /// The fiscal year.
        year: u32,
        /// Break the year down by agency, programme, classification, vendor or month.
        #[arg(long)]
        by: Option<String>,
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        node: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// A tender: stage, deadline, bids, award with its integrity signals, contract.
    ///
    /// Example: civitas query tender 1
    Tender {
        /// The tender's number.
        tender: u64,
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        node: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
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
        Command::Agencies { node } => {
            print_json(&Client::new(&node).get_json("/v1/agencies")?);
            Ok(())
        }
        Command::Governance {
            proposal,
            open,
            json,
            node,
        } => {
            use civitas_modules::governance::view;
            let console = crate::tx::NodeConsole::reader(&node);
            let client = Client::new(&node);
            if open {
                let (votes, governance) =
                    view::Votes::fetch(&console).map_err(anyhow::Error::msg)?;
                let open =
                    view::open_proposals(&console, &governance).map_err(anyhow::Error::msg)?;
                if json {
                    print_json(&serde_json::Value::from(open));
                } else if open.is_empty() {
                    println!("no open proposals");
                } else {
                    for proposal in &open {
                        println!("{}", view::show(proposal, &votes));
                    }
                }
                return Ok(());
            }
            match proposal {
                Some(id) if !json => {
                    let (votes, _) = view::Votes::fetch(&console).map_err(anyhow::Error::msg)?;
                    let record = view::proposal(&console, id).map_err(anyhow::Error::msg)?;
                    print!("{}", view::show(&record, &votes));
                }
                Some(id) => {
                    print_json(&client.get_json(&format!("/v1/governance/proposals/{id}"))?)
                }
                None => print_json(&client.get_json("/v1/governance")?),
            }
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
        Command::Spending {
            year,
            by,
            node,
            json,
        } => spending(&Client::new(&node), year, by.as_deref(), json),
        Command::Tender { tender, node, json } => {
            let value =
                Client::new(&node).get_json(&format!("/v1/procurement/tenders/{tender}"))?;
            if json {
                print_json(&value);
            } else {
                print_tender(&value);
            }
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

fn text(value: &serde_json::Value) -> &str {
    value["text"].as_str().unwrap_or("-")
}

/// Prints a year's totals as a table, one line per total.
fn spending(client: &Client, year: u32, by: Option<&str>, json: bool) -> Result<()> {
    let (rows, what) = match by {
        None => {
            let value = client.get_json(&format!("/v1/treasury/totals/{year}?limit=1"))?;
            (vec![value["total"].clone()], "whole year".to_string())
        }
        Some(dimension) => {
            let value = client.get_json(&format!("/v1/treasury/breakdown/{year}/{dimension}"))?;
            (
                value["totals"].as_array().cloned().unwrap_or_default(),
                format!("by {dimension}"),
            )
        }
    };
    if json {
        print_json(&serde_json::json!({ "year": year, "totals": rows }));
        return Ok(());
    }
    println!("fiscal year {year}, {what}");
    println!(
        "{:<28} {:>20} {:>20} {:>20} {:>20}",
        "", "appropriated", "allotted", "committed", "paid"
    );
    for row in &rows {
        let name = match row["value"].as_str() {
            Some("") | None => "total",
            Some(v) => v,
        };
        println!(
            "{:<28} {:>20} {:>20} {:>20} {:>20}",
            name,
            text(&row["appropriated"]),
            text(&row["allotted"]),
            text(&row["committed"]),
            text(&row["paid"])
        );
    }
    println!(
        "proofs: civitas proof state treasury/total <id> (ids: {year}/all, {year}/<dimension>/<value>)"
    );
    Ok(())
}

fn print_tender(value: &serde_json::Value) {
    let t = &value["tender"];
    println!("tender {}: {}", t["id"], t["title"].as_str().unwrap_or(""));
    println!("agency:     {}", t["agency"].as_str().unwrap_or(""));
    println!("stage:      {}", t["stage"].as_str().unwrap_or(""));
    if let Ok(estimated) =
        serde_json::from_value::<civitas_core::money::Money>(t["estimated"].clone())
    {
        println!("estimated:  {estimated}");
    }
    if let Some(deadline) = t["deadline"].as_u64().filter(|d| *d > 0) {
        println!(
            "deadline:   {}",
            civitas_core::time::TimestampMs(deadline).rfc3339()
        );
    }
    for bid in value["bids"].as_array().into_iter().flatten() {
        let opening = match serde_json::from_value::<civitas_core::money::Money>(
            bid["opening"]["price"].clone(),
        ) {
            Ok(price) => format!("opened at {price}"),
            Err(_) => format!("sealed ({})", bid["commitment"].as_str().unwrap_or("")),
        };
        let score = bid["mean_score"]
            .as_u64()
            .map(|s| format!(", score {}.{:02}", s / 100, s % 100))
            .unwrap_or_default();
        println!(
            "bid:        {} {opening}{score}",
            bid["bidder"].as_str().unwrap_or("")
        );
    }
    if let Some(award) = t["award"].as_object() {
        if let Ok(v) = serde_json::from_value::<civitas_core::money::Money>(award["value"].clone())
        {
            println!(
                "award:      {} for {v}: {}",
                award["bidder"].as_str().unwrap_or(""),
                award["justification"].as_str().unwrap_or("")
            );
        }
        for signal in award["signals"].as_array().into_iter().flatten() {
            println!(
                "signal:     {}: {}",
                signal["code"].as_str().unwrap_or(""),
                signal["detail"].as_str().unwrap_or("")
            );
        }
    }
    if let Some(contract) = value["contract"].as_object() {
        for (i, m) in contract["milestones"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            let paid = match m["accepted"]["payment"].as_u64() {
                Some(p) => format!("accepted, paid (payment {p})"),
                None => "not yet accepted".to_string(),
            };
            let amount =
                serde_json::from_value::<civitas_core::money::Money>(m["terms"]["amount"].clone())
                    .map(|a| a.to_string())
                    .unwrap_or_default();
            println!(
                "milestone {i}: {} {amount}: {paid}",
                m["terms"]["title"].as_str().unwrap_or("")
            );
        }
    }
}
