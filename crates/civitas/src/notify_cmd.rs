//! `civitas inbox` and `civitas webhooks`: an account's notifications and its webhook
//! subscriptions, through a node. Every request is signed with the account's key file (a
//! signed read of the exact path and query; docs/API.md).

use crate::output::{print_json, read_key};
use anyhow::{Result, bail};
use civitas_client::Client;
use civitas_core::keyfile::KeyFile;
use clap::Subcommand;

/// The options every command takes.
#[derive(clap::Args, Debug)]
pub struct Signed {
    /// Key file of the account.
    #[arg(long)]
    key: std::path::PathBuf,
    /// A node's API URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    node: String,
    /// Print the node's JSON answer.
    #[arg(long)]
    json: bool,
}

impl Signed {
    fn open(&self) -> Result<(Client, String, KeyFile)> {
        let key = read_key(&self.key)?;
        let client = Client::new(&self.node);
        let status = client.status()?;
        let chain_id = status["chain_id"].as_str().unwrap_or_default().to_string();
        Ok((client, chain_id, key))
    }
}

/// `civitas inbox`.
#[derive(clap::Args, Debug)]
pub struct InboxArgs {
    /// Only unread notifications.
    #[arg(long)]
    unread: bool,
    /// Mark these notifications read (ids as listed, comma-separated).
    #[arg(long, conflicts_with = "read_through")]
    read: Option<String>,
    /// Mark every notification up to and including this id read.
    #[arg(long)]
    read_through: Option<String>,
    /// Whose inbox (default: the key's account; an agency admin may read an official's).
    #[arg(long)]
    account: Option<String>,
    /// Continue after this cursor.
    #[arg(long)]
    cursor: Option<String>,
    /// Items on the page (1 to 100).
    #[arg(long, default_value_t = 20)]
    limit: u32,
    #[command(flatten)]
    signed: Signed,
}

#[derive(Subcommand)]
pub enum WebhookCommand {
    /// Have the node post events to a URL, signed (Standard Webhooks); prints the secret once.
    ///
    /// Example: civitas webhooks subscribe --url https://hooks.example.org/civitas --type document_anchored --key admin.json
    Subscribe {
        /// Where to post.
        #[arg(long)]
        url: String,
        /// Only events naming this account.
        #[arg(long)]
        account: Option<String>,
        /// Only events of this module.
        #[arg(long)]
        module: Option<String>,
        /// Only events of this type.
        #[arg(long = "type")]
        kind: Option<String>,
        #[command(flatten)]
        signed: Signed,
    },
    /// The account's subscriptions, with their counts of deliveries.
    List {
        #[command(flatten)]
        signed: Signed,
    },
    /// A subscription's delivery log (`--status dead`: its dead letters).
    Deliveries {
        /// The subscription (wh_…).
        id: String,
        /// Only `pending`, `delivered` or `dead` deliveries.
        #[arg(long, value_parser = ["pending", "delivered", "dead"])]
        status: Option<String>,
        #[command(flatten)]
        signed: Signed,
    },
    /// Send a subscription's dead deliveries again, under their ids.
    Replay {
        /// The subscription (wh_…).
        id: String,
        /// Only this delivery (msg_…).
        #[arg(long)]
        delivery: Option<String>,
        #[command(flatten)]
        signed: Signed,
    },
    /// Delete a subscription and its log.
    Delete {
        /// The subscription (wh_…).
        id: String,
        #[command(flatten)]
        signed: Signed,
    },
}

/// `key=value&…` with values percent-encoded.
fn query(pairs: &[(&str, Option<String>)]) -> String {
    let parts: Vec<String> = pairs
        .iter()
        .filter_map(|(k, v)| {
            v.as_ref()
                .map(|v| format!("{k}={}", crate::query::encode(v)))
        })
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

pub fn inbox(args: InboxArgs) -> Result<()> {
    let (client, chain, key) = args.signed.open()?;
    let account = match &args.account {
        Some(id) => civitas_core::crypto::AccountId::from_hex(id)?,
        None => key.account(),
    };
    if args.read.is_some() || args.read_through.is_some() {
        let path = format!(
            "/v1/accounts/{account}/inbox/read{}",
            query(&[
                ("ids", args.read.clone()),
                ("through", args.read_through.clone())
            ])
        );
        let answer = client.signed_json("POST", &path, &chain, &key)?;
        if args.signed.json {
            print_json(&answer);
        } else {
            println!("marked read; {} unread", answer["unread"]);
        }
        return Ok(());
    }
    let path = format!(
        "/v1/accounts/{account}/inbox{}",
        query(&[
            ("unread", args.unread.then(|| "true".to_string())),
            ("cursor", args.cursor.clone()),
            ("limit", Some(args.limit.to_string())),
        ])
    );
    let answer = client.signed_json("GET", &path, &chain, &key)?;
    if args.signed.json {
        print_json(&answer);
        return Ok(());
    }
    let items = answer["items"].as_array().cloned().unwrap_or_default();
    println!(
        "as of block {}: {} unread; {} shown",
        answer["height"],
        answer["unread"],
        items.len()
    );
    for item in &items {
        println!(
            "{} {:<16} {}  {}",
            if item["read"] == true { " " } else { "*" },
            item["id"].as_str().unwrap_or_default(),
            item["event"]["type"].as_str().unwrap_or_default(),
            item["event"]
        );
    }
    if let Some(next) = answer["next"].as_str() {
        println!("more: --cursor {next}");
    }
    Ok(())
}

pub fn webhooks(command: WebhookCommand) -> Result<()> {
    match command {
        WebhookCommand::Subscribe {
            url,
            account,
            module,
            kind,
            signed,
        } => {
            let (client, chain, key) = signed.open()?;
            let path = format!(
                "/v1/webhooks/subscribe{}",
                query(&[
                    ("url", Some(url)),
                    ("account", account),
                    ("module", module),
                    ("type", kind),
                ])
            );
            let answer = client.signed_json("POST", &path, &chain, &key)?;
            if signed.json {
                print_json(&answer);
            } else {
                println!(
                    "subscription {}",
                    answer["webhook"]["id"].as_str().unwrap_or_default()
                );
                match answer["secret"].as_str() {
                    Some(secret) => println!(
                        "secret {secret} (shown once: keep it with the receiver, which checks each delivery's webhook-signature with it)"
                    ),
                    None => println!(
                        "this subscription existed already; its secret was shown when it was made (delete it and subscribe again for a new one)"
                    ),
                }
            }
            Ok(())
        }
        WebhookCommand::List { signed } => {
            let (client, chain, key) = signed.open()?;
            let answer = client.signed_json("GET", "/v1/webhooks", &chain, &key)?;
            if signed.json {
                print_json(&answer);
                return Ok(());
            }
            for webhook in answer["items"].as_array().cloned().unwrap_or_default() {
                println!(
                    "{}  {}  {} delivered, {} pending, {} dead  {}",
                    webhook["id"].as_str().unwrap_or_default(),
                    webhook["url"].as_str().unwrap_or_default(),
                    webhook["delivered"],
                    webhook["pending"],
                    webhook["dead"],
                    webhook["filter"]
                );
            }
            Ok(())
        }
        WebhookCommand::Deliveries { id, status, signed } => {
            check_id(&id, "wh_")?;
            let (client, chain, key) = signed.open()?;
            let path = format!(
                "/v1/webhooks/{id}/deliveries{}",
                query(&[("status", status)])
            );
            let answer = client.signed_json("GET", &path, &chain, &key)?;
            if signed.json {
                print_json(&answer);
                return Ok(());
            }
            for delivery in answer["items"].as_array().cloned().unwrap_or_default() {
                println!(
                    "{}  event {}  {}  {} attempt(s)  {}",
                    delivery["id"].as_str().unwrap_or_default(),
                    delivery["event"].as_str().unwrap_or_default(),
                    delivery["status"].as_str().unwrap_or_default(),
                    delivery["attempts"],
                    delivery["last_error"].as_str().unwrap_or_default()
                );
            }
            Ok(())
        }
        WebhookCommand::Replay {
            id,
            delivery,
            signed,
        } => {
            check_id(&id, "wh_")?;
            let (client, chain, key) = signed.open()?;
            let path = format!(
                "/v1/webhooks/{id}/replay{}",
                query(&[("delivery", delivery)])
            );
            let answer = client.signed_json("POST", &path, &chain, &key)?;
            if signed.json {
                print_json(&answer);
            } else {
                println!("{} deliveries will be sent again", answer["replayed"]);
            }
            Ok(())
        }
        WebhookCommand::Delete { id, signed } => {
            check_id(&id, "wh_")?;
            let (client, chain, key) = signed.open()?;
            client.signed_json("DELETE", &format!("/v1/webhooks/{id}"), &chain, &key)?;
            println!("deleted {id}");
            Ok(())
        }
    }
}

/// An id as the node hands them out, so that nothing else reaches the path.
fn check_id(id: &str, prefix: &str) -> Result<()> {
    match id.strip_prefix(prefix) {
        Some(hex) if hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()) => Ok(()),
        _ => bail!("{id:?} is not a subscription id ({prefix} and 32 hexadecimal characters)"),
    }
}
