//! `civitas policy`: read the authorization policies in force and check a policy before
//! proposing it.

use crate::output::print_json;
use anyhow::{Context, Result};
use civitas_client::Client;
use civitas_modules::authz::{self, PolicyEntry};
use clap::Subcommand;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum Command {
    /// The policies in force (or an earlier version): id, effect, description.
    ///
    /// Example: civitas policy show --node http://127.0.0.1:8080 --text
    Show {
        /// Show this version instead of the one in force.
        #[arg(long)]
        version: Option<u64>,
        /// Print each policy's Cedar text too.
        #[arg(long)]
        text: bool,
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        node: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// The Cedar schema policies are checked against.
    Schema {
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        node: String,
    },
    /// Check a file of policies (each with an @id) against a chain's schema, offline with
    /// --schema or the built-in schema, or against a node's with --node. With --node, the
    /// policies are checked together with those in force, as a proposal would be.
    ///
    /// Example: civitas policy check two-notaries.cedar --node http://127.0.0.1:8080
    Check {
        /// The policy file.
        file: PathBuf,
        /// A Cedar schema file (default: the schema built into this release).
        #[arg(long, conflicts_with = "node")]
        schema: Option<PathBuf>,
        /// Check against this node's schema and policies in force.
        #[arg(long)]
        node: Option<String>,
    },
}

/// Checks what a proposal would leave in force at `node`: the policies in force with `add`
/// added (or replacing those with the same id) and `remove` removed, against the node's schema
/// (the check `civitas tx governance set-policy` makes before signing). Returns Cedar's full
/// explanation when they do not check.
pub fn check_change(node: &str, add: &[PolicyEntry], remove: Option<&str>) -> Result<()> {
    let console = crate::tx::NodeConsole::reader(node);
    civitas_modules::governance::view::check_policies(&console, add, remove)
        .map_err(anyhow::Error::msg)
}

pub fn run(command: Command) -> Result<()> {
    match command {
        Command::Show {
            version,
            text,
            node,
            json,
        } => {
            let client = Client::new(&node);
            let document = match version {
                Some(v) => client.get_json(&format!("/v1/policies/{v}"))?,
                None => client.get_json("/v1/policies")?,
            };
            if json {
                print_json(&document);
                return Ok(());
            }
            println!(
                "policy set version {} in force from height {} (proposal {})",
                document["version"], document["effective_height"], document["proposal"]
            );
            for policy in document["policies"].as_array().into_iter().flatten() {
                println!(
                    "  {:<7} {:<40} {}",
                    policy["effect"].as_str().unwrap_or("?"),
                    policy["id"].as_str().unwrap_or("?"),
                    policy["description"].as_str().unwrap_or("")
                );
                if text {
                    for line in policy["text"].as_str().unwrap_or("").lines() {
                        println!("            {line}");
                    }
                }
            }
            if let Some(pending) = document.get("pending").filter(|p| !p.is_null()) {
                println!(
                    "approved: version {} takes effect at height {}",
                    pending["version"], pending["effective_height"]
                );
            }
            Ok(())
        }
        Command::Schema { node } => {
            let document = Client::new(&node).get_json("/v1/policies")?;
            print!("{}", document["schema"].as_str().unwrap_or(""));
            Ok(())
        }
        Command::Check { file, schema, node } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let entries = authz::parse_policies(&text)
                .with_context(|| format!("{} does not parse", file.display()))?;
            if let Some(node) = node {
                check_change(&node, &entries, None)
                    .with_context(|| format!("{} does not check", file.display()))?;
            } else {
                let schema_text = match &schema {
                    Some(path) => std::fs::read_to_string(path)
                        .with_context(|| format!("cannot read {}", path.display()))?,
                    None => authz::default_schema(),
                };
                authz::compile(&schema_text, &entries)
                    .with_context(|| format!("{} does not check", file.display()))?;
            }
            println!(
                "{}: {} {} check: {}",
                file.display(),
                entries.len(),
                if entries.len() == 1 {
                    "policy"
                } else {
                    "policies"
                },
                entries
                    .iter()
                    .map(|e| e.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            Ok(())
        }
    }
}
