//! `civitas tx`: sign instructions with a key file, submit them, and wait for finality.

use crate::output::{print_json, read_key};
use anyhow::{Context, Result, bail};
use civitas_client::{Client, build_cosigned_tx};
use civitas_core::crypto::AccountId;
use civitas_core::instruction::Instruction;
use civitas_core::keyfile::KeyFile;
use civitas_core::kit::cli::{Console, ReadError, SendFailed, Sender};
use civitas_core::tx::SignedTx;
use clap::{Args as ClapArgs, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

/// How many times a transaction is signed again when its nonce turns out to be stale.
const NONCE_ATTEMPTS: u32 = 4;

/// Options every transaction command takes.
#[derive(ClapArgs, Clone)]
pub struct Common {
    /// Key file of the signing account.
    #[arg(long)]
    pub key: PathBuf,
    /// Another key file to sign with: a further key of a k-of-n account, or a co-signer a
    /// policy asks for. Repeat for several.
    #[arg(long = "cosign")]
    pub cosign: Vec<PathBuf>,
    /// A node's API URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub node: String,
    /// Use this nonce instead of asking the node for the account's next one.
    #[arg(long)]
    pub nonce: Option<u64>,
    /// Free text recorded with the transaction.
    #[arg(long, default_value = "")]
    pub memo: String,
    /// Return as soon as the node accepts it, without waiting for finality.
    #[arg(long)]
    pub no_wait: bool,
    /// Seconds to wait for finality.
    #[arg(long, default_value_t = 60)]
    pub timeout: u64,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Sign only: write the signed transaction to this file instead of submitting it, for
    /// others to co-sign (`civitas tx cosign`) and anyone to submit (`civitas tx submit`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Minutes until the transaction expires (1 to 1440); give co-signers time with --out.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=1440))]
    pub expires_in: u64,
}

#[derive(Subcommand)]
pub enum Command {
    /// A module's instruction, with its fields as options (`civitas tx notary anchor ...`).
    #[command(flatten)]
    Module(Box<civitas_modules::cli::ModuleCommands<Common>>),
    /// Any instruction, written as JSON (the `Instruction` schema of /v1/openapi.json), for
    /// scripts; every instruction also has a command of its module.
    ///
    /// Example: civitas tx send --key treasurer.json --instruction
    ///   '{"module":"treasury","op":"pay","commitment":3,
    ///     "amount":{"amount":125000,"currency":"EUR"},"reference":"INV-7"}'
    Send {
        /// The instruction as JSON, or @file to read it from a file.
        #[arg(long)]
        instruction: String,
        #[command(flatten)]
        common: Common,
    },
    /// Add your signature to a transaction written with --out (a further key of a k-of-n
    /// account, or a co-signer a policy asks for). Shows what you are signing first.
    ///
    /// Example: civitas tx cosign transfer.tx.json --key registrar.json
    Cosign {
        /// The transaction file.
        file: PathBuf,
        /// Your key file.
        #[arg(long)]
        key: PathBuf,
    },
    /// Submit a transaction written with --out (and co-signed), and wait for finality.
    ///
    /// Example: civitas tx submit transfer.tx.json --node http://127.0.0.1:8080
    Submit {
        /// The transaction file.
        file: PathBuf,
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        node: String,
        /// Return as soon as the node accepts it.
        #[arg(long)]
        no_wait: bool,
        /// Seconds to wait for finality.
        #[arg(long, default_value_t = 60)]
        timeout: u64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

fn instruction_arg(text: &str) -> Result<Instruction> {
    let json = match text.strip_prefix('@') {
        Some(path) => {
            std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?
        }
        None => text.to_string(),
    };
    serde_json::from_str(&json).context(
        "the instruction is not valid JSON for any module: see the Instruction schema in /v1/openapi.json",
    )
}

/// What a module's command reads and asks through: the node of `--node`, the key of `--key`,
/// the terminal.
pub struct NodeConsole {
    client: Client,
    key: Option<PathBuf>,
}

impl NodeConsole {
    fn new(common: &Common) -> Self {
        Self {
            client: Client::new(&common.node),
            key: Some(common.key.clone()),
        }
    }

    /// A console that only reads from `node` (for queries).
    pub fn reader(node: &str) -> Self {
        Self {
            client: Client::new(node),
            key: None,
        }
    }
}

impl Console for NodeConsole {
    fn node(&self) -> &str {
        self.client.base()
    }

    fn get(&self, path: &str) -> std::result::Result<serde_json::Value, ReadError> {
        self.client.get_json(path).map_err(|e| ReadError {
            status: match &e {
                civitas_client::ClientError::Api { status, .. } => Some(*status),
                _ => None,
            },
            message: e.to_string(),
        })
    }

    fn signer(&self) -> std::result::Result<AccountId, String> {
        let path = self.key.as_ref().ok_or("this command signs nothing")?;
        read_key(path)
            .map(|key| key.account())
            .map_err(|e| format!("{e:#}"))
    }

    fn confirm(&self, question: &str, yes: bool) -> std::result::Result<(), String> {
        crate::output::confirm(question, yes).map_err(|e| e.to_string())
    }

    fn decryption_keys(
        &self,
    ) -> std::result::Result<Vec<civitas_core::seal::DecryptionKey>, String> {
        let path = self.key.as_ref().ok_or("this command signs nothing")?;
        let file = read_key(path).map_err(|e| format!("{e:#}"))?;
        let keys = file.decryption_keys().map_err(|e| e.to_string())?;
        if keys.is_empty() {
            return Err(format!(
                "{} holds no encryption key; add one with `civitas keys new-encryption-key {}` \
                 and register it with `civitas tx identity set-encryption-key`",
                path.display(),
                path.display()
            ));
        }
        Ok(keys)
    }

    fn note(&self, line: &str) {
        // Standard error is not the JSON stream: what a person is about to confirm, or a
        // warning, is shown whatever the output format.
        eprintln!("{line}");
    }
}

/// Refuses, before anything is signed or sent, public text that has the shape of personal
/// data (what the ledger refuses from protocol 3: the text never leaves this machine), and
/// reminds that the rest is public and permanent.
pub(crate) fn check_public_text(instruction: &Instruction, memo: &str) -> Result<()> {
    let instructions = std::slice::from_ref(instruction);
    // Refused from protocol 3; refused here whatever the chain's version.
    if let Some(message) = civitas_core::tx::personal_data_refusal(
        civitas_core::tx::PUBLIC_TEXT_GUARD_SINCE,
        memo,
        instructions,
    ) {
        anyhow::bail!("{message}; nothing was signed or sent");
    }
    let texts = civitas_core::tx::public_texts(memo, instructions);
    for text in &texts {
        if let Some(found) = civitas_core::personal::warn(text.text, text.kind) {
            eprintln!(
                "warning: the {} holds {}; it is published as written (if it identifies a \
                 person, it belongs in a vault record, with a reference here)",
                text.field,
                found.describe()
            );
        }
    }
    let mut fields: Vec<&str> = texts
        .iter()
        .filter(|t| !t.text.is_empty())
        .map(|t| t.field)
        .collect();
    fields.dedup();
    if !fields.is_empty() {
        eprintln!(
            "note: the {} will be public and permanent on the ledger; never a person's name",
            fields.join(", ")
        );
    }
    Ok(())
}

/// What became of a transaction [`send_with`] signed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sent {
    /// Written to the `--out` file, not submitted.
    Written,
    /// Submitted; not waited for (`--no-wait`).
    Pending,
    /// Final and successful.
    Final,
}

/// Signs, submits and (unless `--no-wait`) waits; prints the outcome.
pub fn send(common: &Common, instruction: Instruction) -> Result<Sent> {
    let key = read_key(&common.key)?;
    send_with(common, &key, instruction)
}

/// Like [`send`] with an already loaded key.
pub fn send_with(common: &Common, key: &KeyFile, instruction: Instruction) -> Result<Sent> {
    match submit(common, key, instruction)? {
        Submitted::Written => Ok(Sent::Written),
        Submitted::Pending(hash) => {
            print_pending(&hash, common.json)?;
            Ok(Sent::Pending)
        }
        Submitted::Ended(finality) => {
            outcome(&finality.hash, &finality, common.json)?;
            Ok(Sent::Final)
        }
    }
}

/// Where [`submit`] left a transaction.
pub(crate) enum Submitted {
    /// Written to the `--out` file.
    Written,
    /// Submitted, not waited for (`--no-wait`).
    Pending(civitas_core::tx::TxHash),
    /// Final, failed or dropped: where it ended.
    Ended(civitas_client::Finality),
}

/// Checks `instruction` (its stateless rules and its public text), signs it as `key`'s account
/// with `common`'s co-signers, nonce, memo and expiry, and writes it to `--out`, or submits it
/// and (unless `--no-wait`) waits until it ends, signing again with the account's next nonce
/// when the node's was stale. Prints its progress on standard error, unless `--json`; prints
/// nothing of its outcome.
pub(crate) fn submit(
    common: &Common,
    key: &KeyFile,
    instruction: Instruction,
) -> Result<Submitted> {
    instruction.validate()?;
    check_public_text(&instruction, &common.memo)?;
    let cosigners = common
        .cosign
        .iter()
        .map(|path| read_key(path))
        .collect::<Result<Vec<_>>>()?;
    let client = Client::new(&common.node);
    let status = client.status()?;
    let chain_id = status["chain_id"]
        .as_str()
        .context("the node did not report its chain id")?;
    // Signs with the given nonce, or the account's next one as the node sees it.
    let sign = |nonce: Option<u64>| -> Result<SignedTx> {
        let nonce = match nonce {
            Some(n) => n,
            None => client.next_nonce(&key.account())?,
        };
        Ok(build_cosigned_tx(
            chain_id,
            key,
            &cosigners,
            nonce,
            vec![instruction.clone()],
            &common.memo,
            common.expires_in * 60_000,
        )?)
    };
    if let Some(out) = &common.out {
        let tx = sign(common.nonce)?;
        write_tx_file(out, &tx)?;
        println!(
            "signed transaction {} written to {}; co-sign with `civitas tx cosign {}` and submit \
             with `civitas tx submit {}` (it expires in {} minutes)",
            tx.hash(),
            out.display(),
            out.display(),
            out.display(),
            common.expires_in
        );
        return Ok(Submitted::Written);
    }
    let mut attempt = 0;
    let hash = loop {
        attempt += 1;
        let tx = sign(common.nonce)?;
        match client.submit(&tx) {
            Ok(hash) => break hash,
            // The node's view of the account lags another node's by a block: ask again.
            Err(e)
                if common.nonce.is_none()
                    && attempt < NONCE_ATTEMPTS
                    && matches!(e.code(), Some("bad_nonce" | "nonce_taken")) =>
            {
                std::thread::sleep(Duration::from_millis(300));
            }
            Err(e) => return Err(e.into()),
        }
    };
    if common.no_wait {
        return Ok(Submitted::Pending(hash));
    }
    if !common.json {
        eprintln!("submitted {hash}; waiting for finality...");
    }
    let mut finality = client.wait(&hash, Duration::from_secs(common.timeout))?;
    // A transaction signed with a nonce that a lagging node still thought free is dropped
    // without effect ("rejected"); signing again with the account's real next nonce is safe.
    let mut retries = 0;
    while finality.status == "rejected"
        && common.nonce.is_none()
        && retries + 1 < NONCE_ATTEMPTS
        && finality.document["code"].as_str() == Some("bad_nonce")
    {
        retries += 1;
        std::thread::sleep(Duration::from_millis(300));
        let tx = sign(None)?;
        let hash = client.submit(&tx)?;
        if !common.json {
            eprintln!("nonce was stale; resubmitted as {hash}");
        }
        finality = client.wait(&hash, Duration::from_secs(common.timeout))?;
    }
    Ok(Submitted::Ended(finality))
}

fn print_pending(hash: &civitas_core::tx::TxHash, json: bool) -> Result<()> {
    if json {
        print_json(&serde_json::json!({ "hash": hash, "status": "pending" }));
    } else {
        println!("submitted {hash} (pending)");
    }
    Ok(())
}

/// Prints a transaction's final status; an error unless it was finalized successfully.
fn outcome(
    hash: &civitas_core::tx::TxHash,
    finality: &civitas_client::Finality,
    json: bool,
) -> Result<()> {
    if json {
        print_json(&finality.document);
    } else {
        describe(&finality.document);
    }
    match finality.status.as_str() {
        "finalized" => Ok(()),
        "failed" => {
            let outcome = &finality.document["receipt"]["outcome"];
            Err(Failed {
                hash: *hash,
                code: outcome["code"].as_str().map(str::to_string),
                message: outcome["message"]
                    .as_str()
                    .unwrap_or("no reason given")
                    .to_string(),
            }
            .into())
        }
        other => bail!(
            "transaction {hash} was {other}: {}",
            finality.document["message"]
                .as_str()
                .unwrap_or("no reason given")
        ),
    }
}

/// Sends a module's instructions for its own commands ([`run_main`]), one transaction each,
/// with the options given; the key is read when the first is sent.
struct NodeSender {
    common: Option<Common>,
    key: Option<KeyFile>,
}

impl Sender<Instruction> for NodeSender {
    fn send(&mut self, instruction: Instruction) -> std::result::Result<(), SendFailed> {
        let failed = |e: anyhow::Error| SendFailed {
            code: e
                .downcast_ref::<Failed>()
                .and_then(|failed| failed.code.clone()),
            message: format!("{e:#}"),
        };
        let Some(common) = &self.common else {
            return Err(SendFailed {
                code: None,
                message: "this command signs nothing".into(),
            });
        };
        let key = match &self.key {
            Some(key) => key,
            None => self.key.insert(read_key(&common.key).map_err(failed)?),
        };
        send_with(common, key, instruction)
            .map(|_| ())
            .map_err(failed)
    }
}

/// Runs a module's own top-level command (`civitas ocds ...`).
pub fn run_main(command: civitas_modules::cli::ModuleMains<Common>) -> Result<()> {
    let common = command.common().cloned();
    let console = match &common {
        Some(common) => NodeConsole::new(common),
        None => NodeConsole::reader(""),
    };
    let mut sender = NodeSender { common, key: None };
    match command.run(&console, &mut sender) {
        Ok(printed) => {
            crate::query::show(printed);
            Ok(())
        }
        Err(failed) => {
            if let Some(printed) = failed.printed {
                crate::query::show(printed);
            }
            bail!("{}", failed.message)
        }
    }
}

/// A transaction recorded in a block whose instruction failed: its failure code (protocol,
/// for callers to act on) and message (for people).
#[derive(Debug)]
pub struct Failed {
    /// The transaction.
    pub hash: civitas_core::tx::TxHash,
    /// The failure code, such as `release_exists`, if the receipt names one.
    pub code: Option<String>,
    /// The failure in words.
    pub message: String,
}

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "transaction {} was recorded but failed: {}",
            self.hash, self.message
        )
    }
}

impl std::error::Error for Failed {}

/// One event in words, with the details a reader needs next (such as a proposal's number).
fn event_line(event: &serde_json::Value) -> String {
    let kind = event["type"].as_str().unwrap_or("?");
    match kind {
        "proposal_opened" => format!(
            "proposal_opened #{} ({} approval so far)",
            event["proposal"],
            event["agency"].as_str().unwrap_or("?")
        ),
        "proposal_approved" => format!(
            "proposal_approved #{} by {} ({} of {} agencies)",
            event["proposal"],
            event["agency"].as_str().unwrap_or("?"),
            event["approvals"],
            event["threshold"]
        ),
        "proposal_executed" if event["effective_epoch"].as_u64().unwrap_or(0) > 0 => format!(
            "proposal_executed #{}; the validator set changes at epoch {}",
            event["proposal"], event["effective_epoch"]
        ),
        "proposal_executed" => format!("proposal_executed #{}", event["proposal"]),
        "policies_scheduled" => format!(
            "policies_scheduled: policy set version {} is in force from height {}",
            event["version"], event["effective_height"]
        ),
        "treasury_entry" => format!(
            "treasury_entry #{}: {} {}{} (appropriation {}{}{})",
            event["entry"],
            event["kind"].as_str().unwrap_or("?"),
            if event["decrease"] == true { "-" } else { "" },
            money_text(&event["amount"]),
            event["appropriation"],
            event["commitment"]
                .as_u64()
                .map(|c| format!(", commitment {c}"))
                .unwrap_or_default(),
            event["payment"]
                .as_u64()
                .map(|p| format!(", payment {p}"))
                .unwrap_or_default(),
        ),
        "tender_planned" => format!("tender_planned #{}", event["tender"]),
        "tender_awarded" => format!(
            "tender_awarded #{} for {}; standstill until {}",
            event["tender"],
            money_text(&event["value"]),
            event["standstill_until"]
                .as_u64()
                .map(|t| civitas_core::time::TimestampMs(t).rfc3339())
                .unwrap_or_default()
        ),
        "integrity_signal" => format!(
            "integrity_signal {}: {}",
            event["signal"].as_str().unwrap_or("?"),
            event["detail"].as_str().unwrap_or("")
        ),
        "contract_signed" => format!(
            "contract_signed #{} for {}",
            event["contract"],
            money_text(&event["value"])
        ),
        other => other.to_string(),
    }
}

/// `{"amount": 125000, "currency": "EUR"}` as `1250.00 EUR`.
fn money_text(value: &serde_json::Value) -> String {
    serde_json::from_value::<civitas_core::money::Money>(value.clone())
        .map(|m| m.to_string())
        .unwrap_or_else(|_| value.to_string())
}

fn write_tx_file(path: &std::path::Path, tx: &SignedTx) -> Result<()> {
    let text = serde_json::to_string_pretty(tx).context("cannot encode the transaction")?;
    std::fs::write(path, text + "\n").with_context(|| format!("cannot write {}", path.display()))
}

fn read_tx_file(path: &std::path::Path) -> Result<SignedTx> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    if text.len() > 4 * civitas_core::limits::TX_ENCODED_MAX_BYTES {
        bail!("{} is too large to be a transaction", path.display());
    }
    let tx: SignedTx = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a transaction file", path.display()))?;
    tx.verify_stateless().with_context(|| {
        format!(
            "{} does not hold a valid signed transaction",
            path.display()
        )
    })?;
    Ok(tx)
}

/// Adds `key`'s signature to the transaction in `file`, after showing what it does.
fn cosign(file: &std::path::Path, key: &std::path::Path) -> Result<()> {
    let mut tx = read_tx_file(file)?;
    let key = read_key(key)?;
    let private = key.private_key()?;
    if tx.signed_by(&private.public_key()) {
        bail!("{} has already signed this transaction", key.public_key);
    }
    if tx.signatures.len() >= civitas_core::limits::TX_SIGNATURES_MAX {
        bail!(
            "the transaction already carries {} signatures, the most allowed",
            tx.signatures.len()
        );
    }
    println!("transaction {} on chain {}", tx.hash(), tx.body.chain_id);
    println!(
        "  signer:  account {} (nonce {})",
        tx.body.signer, tx.body.nonce
    );
    println!("  expires: {} ms since the Unix epoch", tx.body.expiry.0);
    for instruction in &tx.body.instructions {
        println!(
            "  does:    {}",
            serde_json::to_string(instruction).unwrap_or_default()
        );
    }
    let signature = tx.body.sign(&private);
    tx.signatures.push(signature);
    write_tx_file(file, &tx)?;
    println!(
        "signed by {}; it now carries {} signatures",
        key.public_key,
        tx.signatures.len()
    );
    Ok(())
}

/// Submits a signed transaction file and waits for its outcome.
fn submit_file(
    file: &std::path::Path,
    node: &str,
    no_wait: bool,
    timeout: u64,
    json: bool,
) -> Result<()> {
    let tx = read_tx_file(file)?;
    let client = Client::new(node);
    let hash = client.submit(&tx)?;
    if no_wait {
        return print_pending(&hash, json);
    }
    if !json {
        eprintln!("submitted {hash}; waiting for finality...");
    }
    let finality = client.wait(&hash, Duration::from_secs(timeout))?;
    outcome(&hash, &finality, json)
}

fn describe(document: &serde_json::Value) {
    let hash = document["hash"].as_str().unwrap_or("?");
    match document["status"].as_str() {
        Some("finalized") => {
            println!("finalized {hash} at height {}", document["height"]);
            if let Some(events) = document["receipt"]["events"].as_array() {
                for event in events {
                    println!("  event: {}", event_line(event));
                }
            }
        }
        Some("failed") => println!(
            "failed {hash} at height {}: {} ({})",
            document["height"],
            document["receipt"]["outcome"]["message"]
                .as_str()
                .unwrap_or(""),
            document["receipt"]["outcome"]["code"]
                .as_str()
                .unwrap_or("")
        ),
        Some(other) => println!(
            "{other} {hash}: {}",
            document["message"].as_str().unwrap_or("")
        ),
        None => println!("{document}"),
    }
}

pub fn run(command: Command) -> Result<()> {
    match command {
        Command::Cosign { file, key } => cosign(&file, &key),
        Command::Submit {
            file,
            node,
            no_wait,
            timeout,
            json,
        } => submit_file(&file, &node, no_wait, timeout, json),
        Command::Send {
            instruction,
            common,
        } => send(&common, instruction_arg(&instruction)?).map(|_| ()),
        Command::Module(command) => {
            let console = NodeConsole::new(command.common());
            let (prepared, common) = (*command).prepare(&console).map_err(anyhow::Error::msg)?;
            let key = read_key(&common.key)?;
            let sent = send_with(&common, &key, prepared.instruction)?;
            // Run whenever the transaction was signed (final, submitted, or written for
            // co-signers): a rotated key file must name its account for the signatures that
            // follow, as the k-of-n flow with --out needs.
            if let Some(after) = prepared.after {
                println!("{}", after(key.account()).map_err(anyhow::Error::msg)?);
                if sent != Sent::Final {
                    println!("(this takes effect once the transaction is final)");
                }
            }
            Ok(())
        }
    }
}
