//! `civitas tx`: sign instructions with a key file, submit them, and wait for finality.

use crate::output::{print_json, read_key};
use anyhow::{Context, Result, bail};
use civitas_client::{Client, build_cosigned_tx};
use civitas_core::crypto::{AccountId, PublicKey};
use civitas_core::governance::NewValidator;
use civitas_core::instruction::{
    GovernanceAction, GovernanceInstruction, IdentityInstruction, Instruction, NotaryInstruction,
};
use civitas_core::keyfile::KeyFile;
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
    /// Identity: officials, citizens, roles, keys.
    #[command(subcommand)]
    Identity(Identity),
    /// Notary: anchor and revoke documents.
    #[command(subcommand)]
    Notary(civitas_notary::cli::NotaryCommand<Common>),
    /// Governance: proposals approved by a threshold of agencies.
    #[command(subcommand)]
    Governance(Governance),
    /// Treasury: fiscal years, appropriations, allotments, commitments, payments.
    #[command(subcommand)]
    Treasury(civitas_treasury::cli::TreasuryCommand<Common>),
    /// Procurement: plans, tenders, sealed bids, evaluation, awards, contracts, milestones.
    #[command(subcommand)]
    Procurement(civitas_procurement::cli::ProcurementCommand<Common>),
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

#[derive(Subcommand)]
pub enum Governance {
    /// Propose adding a validator from the next epoch (signed by an agency admin; the
    /// proposer's agency approves it at once).
    ///
    /// Example: civitas tx governance add-validator --key devnet/keys/finance.json
    ///   --agency health --validator-key health-2.pub --p2p 10.0.0.9:9000
    ///   --reason "second validator for the health ministry"
    AddValidator {
        /// The agency that will run it.
        #[arg(long)]
        agency: String,
        /// Its consensus public key (hex or key file).
        #[arg(long)]
        validator_key: String,
        /// Where it listens for peers, host:port.
        #[arg(long)]
        p2p: String,
        /// Why, for the public record.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        common: Common,
    },
    /// Propose removing a validator from the next epoch.
    RemoveValidator {
        /// Its consensus public key (hex or key file).
        #[arg(long)]
        validator_key: String,
        /// Why, for the public record.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        common: Common,
    },
    /// Propose a new approval threshold (number of agencies).
    SetThreshold {
        /// Agencies that must approve a proposal.
        #[arg(long)]
        threshold: u32,
        /// Why, for the public record.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        common: Common,
    },
    /// Propose adding a Cedar policy, or replacing the policy with the same @id, from the block
    /// after the one that approves it. The policy is checked against the chain's schema first.
    ///
    /// Example: civitas tx governance set-policy --file two-notaries.cedar
    ///   --reason "revocations need two notaries" --key devnet/keys/finance.json
    SetPolicy {
        /// File holding one policy with an @id("...") annotation.
        #[arg(long)]
        file: PathBuf,
        /// Why, for the public record.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        common: Common,
    },
    /// Propose removing the policy with this @id.
    RemovePolicy {
        /// The policy's @id.
        #[arg(long)]
        id: String,
        /// Why, for the public record.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        common: Common,
    },
    /// Propose that a new agency join: at once it has its admins and a vote; its validator,
    /// if it runs one, joins from the next epoch. Checks before signing that the id is new,
    /// that no admin key is in use and that the validator is not one already.
    ///
    /// Example: civitas tx governance add-agency --key devnet/keys/finance.json
    ///   --id justice --name "Ministry of Justice" --admin-key 5f0c…
    ///   --validator-key 9a41… --p2p justice.example.gov:9000
    ///   --reason "the Ministry of Justice joins the network"
    AddAgency {
        /// Its identifier (lowercase letters, digits, - and _); never reused.
        #[arg(long)]
        id: String,
        /// Its full name.
        #[arg(long)]
        name: String,
        /// An admin's public key (hex or key file); repeat for each admin (1 to 8).
        #[arg(long = "admin-key", required = true)]
        admin_keys: Vec<String>,
        /// The consensus public key of the validator it runs (hex or key file), if any.
        #[arg(long, requires = "p2p")]
        validator_key: Option<String>,
        /// Where that validator listens for peers, host:port.
        #[arg(long, requires = "validator_key")]
        p2p: Option<String>,
        /// Why, for the public record.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        common: Common,
    },
    /// Propose that an agency retire: at once its officials can no longer sign and its vote
    /// stops counting; its validators leave at the next epoch. Its records stay.
    ///
    /// Example: civitas tx governance retire-agency --key devnet/keys/finance.json
    ///   --agency land --reason "merged into the finance ministry"
    RetireAgency {
        /// The agency.
        #[arg(long)]
        agency: String,
        /// Why, for the public record.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        common: Common,
    },
    /// Propose a new full name for an agency.
    RenameAgency {
        /// The agency.
        #[arg(long)]
        agency: String,
        /// Its new full name.
        #[arg(long)]
        name: String,
        /// Why, for the public record.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        common: Common,
    },
    /// Propose that protocol version VERSION become active at block HEIGHT. From that block
    /// on, blocks are made under its rules; a node whose release does not know it stops there
    /// (exit status 78) and its log names RELEASE. Install RELEASE on every validator before
    /// HEIGHT: the new release keeps to the active version until then. A later proposal
    /// replaces an upgrade that has not activated yet (to postpone it).
    ///
    /// Example: civitas tx governance schedule-upgrade --key devnet/keys/finance.json
    ///   --protocol 2 --height 250000 --release 0.2.0 --reason "the notices register"
    ScheduleUpgrade {
        /// The protocol version, above the active one (`civitas query governance` shows it).
        #[arg(long)]
        protocol: u16,
        /// The first block made under it: after the block that executes the proposal; leave
        /// operators time to install the release.
        #[arg(long)]
        height: u64,
        /// The first release that runs the version, as operators install it (`0.2.0`).
        #[arg(long)]
        release: String,
        /// Why, for the public record.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        common: Common,
    },
    /// Approve an open proposal for the signer's agency. Shows the proposal and asks before
    /// signing; refuses, without signing, a proposal that is closed or that the agency already
    /// approved.
    ///
    /// Example: civitas tx governance approve 3 --key devnet/keys/land.json
    Approve {
        /// The proposal's number.
        proposal: u64,
        /// Approve without asking (for scripts).
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Subcommand)]
pub enum Identity {
    /// An agency admin registers an official of the admin's agency.
    ///
    /// Example: civitas tx identity register-official --key devnet/keys/finance.json
    ///   --official-key bob.json --agency finance --name "Bob Martin" --roles notary
    RegisterOfficial {
        /// The official's public key (hex or key file).
        #[arg(long)]
        official_key: String,
        /// The agency (must be the admin's).
        #[arg(long)]
        agency: String,
        /// The official's name.
        #[arg(long)]
        name: String,
        /// Comma-separated roles, such as notary,registrar.
        #[arg(long, value_delimiter = ',', default_value = "")]
        roles: Vec<String>,
        #[command(flatten)]
        common: Common,
    },
    /// An admin or registrar registers a citizen's account (key only, no personal data).
    RegisterCitizen {
        /// The citizen's public key (hex or key file).
        #[arg(long)]
        citizen_key: String,
        #[command(flatten)]
        common: Common,
    },
    /// An agency admin replaces an official's roles.
    SetRoles {
        /// The official's account id.
        #[arg(long)]
        account: String,
        /// Comma-separated roles (empty for none).
        #[arg(long, value_delimiter = ',', default_value = "")]
        roles: Vec<String>,
        #[command(flatten)]
        common: Common,
    },
    /// Replace the signing account's key with the key in NEW_KEY_FILE; the old key stops working.
    ///
    /// Example: civitas tx identity rotate-key --key bob.json --new-key bob-2026.json
    RotateKey {
        /// Key file holding the new key (created with `civitas keys new`); it is updated to
        /// record the account it now signs for.
        #[arg(long)]
        new_key: PathBuf,
        #[command(flatten)]
        common: Common,
    },
    /// Replace the signing account's keys with several, of which THRESHOLD must sign each
    /// transaction from then on (sign this one with enough of the current keys, using --cosign).
    ///
    /// Example: civitas tx identity set-keys --key treasury.json
    ///   --keys treasury.json,treasury-2.json,treasury-3.json --threshold 2
    SetKeys {
        /// Comma-separated keys (key files or hex public keys), 1 to 8.
        #[arg(long, value_delimiter = ',', required = true)]
        keys: Vec<String>,
        /// How many of them must sign.
        #[arg(long)]
        threshold: u8,
        #[command(flatten)]
        common: Common,
    },
    /// An agency admin deactivates an official.
    Deactivate {
        /// The account id.
        #[arg(long)]
        account: String,
        /// Why.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        common: Common,
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

fn account_arg(text: &str) -> Result<AccountId> {
    civitas_core::kit::args::account(text).map_err(anyhow::Error::msg)
}

fn key_arg(text: &str) -> Result<PublicKey> {
    crate::genesis_cmd::public_key_arg(text)
}

fn clean_roles(roles: Vec<String>) -> Vec<String> {
    roles
        .into_iter()
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty())
        .collect()
}

/// Signs, submits and (unless `--no-wait`) waits; prints the outcome.
pub fn send(common: &Common, instruction: Instruction) -> Result<()> {
    let key = read_key(&common.key)?;
    send_with(common, &key, instruction)
}

/// Like [`send`] with an already loaded key.
pub fn send_with(common: &Common, key: &KeyFile, instruction: Instruction) -> Result<()> {
    instruction.validate()?;
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
        return Ok(());
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
        return print_pending(&hash, common.json);
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
    outcome(&hash, &finality, common.json)
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
        "failed" => bail!(
            "transaction {hash} was recorded but failed: {}",
            finality.document["receipt"]["outcome"]["message"]
                .as_str()
                .unwrap_or("no reason given")
        ),
        other => bail!(
            "transaction {hash} was {other}: {}",
            finality.document["message"]
                .as_str()
                .unwrap_or("no reason given")
        ),
    }
}

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
        } => send(&common, instruction_arg(&instruction)?),
        Command::Treasury(op) => {
            let (instruction, common) = op.into_instruction().map_err(anyhow::Error::msg)?;
            send(&common, Instruction::Treasury(instruction))
        }
        Command::Procurement(op) => {
            let key = read_key(&op.common().key)?;
            let (instruction, common) = op
                .into_instruction(key.account())
                .map_err(anyhow::Error::msg)?;
            send_with(&common, &key, Instruction::Procurement(instruction))
        }
        Command::Identity(op) => match op {
            Identity::RegisterOfficial {
                official_key,
                agency,
                name,
                roles,
                common,
            } => send(
                &common,
                Instruction::Identity(IdentityInstruction::RegisterOfficial {
                    key: key_arg(&official_key)?,
                    agency,
                    name,
                    roles: clean_roles(roles),
                }),
            ),
            Identity::RegisterCitizen {
                citizen_key,
                common,
            } => send(
                &common,
                Instruction::Identity(IdentityInstruction::RegisterCitizen {
                    key: key_arg(&citizen_key)?,
                }),
            ),
            Identity::SetRoles {
                account,
                roles,
                common,
            } => send(
                &common,
                Instruction::Identity(IdentityInstruction::SetRoles {
                    account: account_arg(&account)?,
                    roles: clean_roles(roles),
                }),
            ),
            Identity::RotateKey { new_key, common } => {
                let old = read_key(&common.key)?;
                let mut new = read_key(&new_key)?;
                send_with(
                    &common,
                    &old,
                    Instruction::Identity(IdentityInstruction::RotateKey {
                        new_key: new.public_key.clone(),
                    }),
                )?;
                new.account = Some(old.account());
                std::fs::write(&new_key, new.to_json() + "\n")
                    .with_context(|| format!("cannot update {}", new_key.display()))?;
                println!(
                    "{} now signs for account {}; {} no longer works",
                    new_key.display(),
                    old.account(),
                    common.key.display()
                );
                Ok(())
            }
            Identity::SetKeys {
                keys,
                threshold,
                common,
            } => {
                let keys = keys
                    .iter()
                    .map(|k| key_arg(k.trim()))
                    .collect::<Result<Vec<_>>>()?;
                send(
                    &common,
                    Instruction::Identity(IdentityInstruction::SetKeys { keys, threshold }),
                )
            }
            Identity::Deactivate {
                account,
                reason,
                common,
            } => send(
                &common,
                Instruction::Identity(IdentityInstruction::Deactivate {
                    account: account_arg(&account)?,
                    reason,
                }),
            ),
        },
        Command::Notary(op) => {
            let (instruction, common) = op.into_instruction();
            if let NotaryInstruction::Anchor { document, .. } = &instruction
                && !common.json
            {
                eprintln!("document SHA-256: {document}");
            }
            send(&common, Instruction::Notary(instruction))
        }
        Command::Governance(op) => {
            let propose = |action, reason| {
                Instruction::Governance(GovernanceInstruction::Propose { action, reason })
            };
            match op {
                Governance::AddValidator {
                    agency,
                    validator_key,
                    p2p,
                    reason,
                    common,
                } => {
                    let key = key_arg(&validator_key)?;
                    if !civitas_consensus::node::is_p2p_address(&p2p) {
                        bail!(
                            "--p2p {p2p:?} is not host:port or ip:port (for example 10.0.0.9:9000)"
                        );
                    }
                    crate::governance_view::check_add_validator(
                        &Client::new(&common.node),
                        &agency,
                        &key.to_hex(),
                    )?;
                    send(
                        &common,
                        propose(
                            GovernanceAction::AddValidator {
                                agency,
                                key,
                                p2p_address: p2p,
                            },
                            reason,
                        ),
                    )
                }
                Governance::RemoveValidator {
                    validator_key,
                    reason,
                    common,
                } => send(
                    &common,
                    propose(
                        GovernanceAction::RemoveValidator {
                            key: key_arg(&validator_key)?,
                        },
                        reason,
                    ),
                ),
                Governance::SetThreshold {
                    threshold,
                    reason,
                    common,
                } => send(
                    &common,
                    propose(GovernanceAction::SetThreshold { threshold }, reason),
                ),
                Governance::SetPolicy {
                    file,
                    reason,
                    common,
                } => {
                    let policy = std::fs::read_to_string(&file)
                        .with_context(|| format!("cannot read {}", file.display()))?;
                    let entry = civitas_modules::authz::parse_policy(&policy)
                        .with_context(|| format!("{} is not a policy change", file.display()))?;
                    crate::policy::check_change(&common.node, &[entry], None)?;
                    send(
                        &common,
                        propose(GovernanceAction::SetPolicy { policy }, reason),
                    )
                }
                Governance::RemovePolicy { id, reason, common } => {
                    crate::policy::check_change(&common.node, &[], Some(&id))?;
                    send(
                        &common,
                        propose(GovernanceAction::RemovePolicy { id }, reason),
                    )
                }
                Governance::AddAgency {
                    id,
                    name,
                    admin_keys,
                    validator_key,
                    p2p,
                    reason,
                    common,
                } => {
                    let admin_keys = admin_keys
                        .iter()
                        .map(|k| key_arg(k))
                        .collect::<Result<Vec<_>>>()?;
                    let validator = match (validator_key, p2p) {
                        (Some(key), Some(p2p_address)) => {
                            if !civitas_consensus::node::is_p2p_address(&p2p_address) {
                                bail!(
                                    "--p2p {p2p_address:?} is not host:port or ip:port (for example 10.0.0.9:9000)"
                                );
                            }
                            Some(NewValidator {
                                key: key_arg(&key)?,
                                p2p_address,
                            })
                        }
                        _ => None,
                    };
                    let validator_hex = validator.as_ref().map(|v| v.key.to_hex());
                    let checked = (id.clone(), admin_keys.clone());
                    let instruction = GovernanceInstruction::Propose {
                        action: GovernanceAction::AddAgency {
                            id,
                            name,
                            admin_keys,
                            validator,
                        },
                        reason,
                    };
                    // The rules that need no state first (id, name, admin keys), then the chain.
                    instruction.validate()?;
                    crate::governance_view::check_add_agency(
                        &Client::new(&common.node),
                        &checked.0,
                        &checked.1,
                        validator_hex.as_deref(),
                    )?;
                    send(&common, Instruction::Governance(instruction))
                }
                Governance::RetireAgency {
                    agency,
                    reason,
                    common,
                } => {
                    crate::governance_view::check_retire_agency(
                        &Client::new(&common.node),
                        &agency,
                    )?;
                    send(
                        &common,
                        propose(GovernanceAction::RetireAgency { id: agency }, reason),
                    )
                }
                Governance::RenameAgency {
                    agency,
                    name,
                    reason,
                    common,
                } => {
                    crate::governance_view::check_agency_in_force(
                        &Client::new(&common.node),
                        &agency,
                    )?;
                    send(
                        &common,
                        propose(GovernanceAction::RenameAgency { id: agency, name }, reason),
                    )
                }
                Governance::ScheduleUpgrade {
                    protocol,
                    height,
                    release,
                    reason,
                    common,
                } => {
                    let instruction = GovernanceInstruction::Propose {
                        action: GovernanceAction::ScheduleUpgrade {
                            version: protocol,
                            height,
                            release,
                        },
                        reason,
                    };
                    instruction.validate()?;
                    crate::governance_view::check_upgrade(
                        &Client::new(&common.node),
                        protocol,
                        height,
                    )?;
                    send(&common, Instruction::Governance(instruction))
                }
                Governance::Approve {
                    proposal,
                    yes,
                    common,
                } => {
                    use crate::governance_view as view;
                    let key = read_key(&common.key)?;
                    let client = Client::new(&common.node);
                    let record = view::proposal(&client, proposal)?;
                    let agency = view::agency_of(&client, &key.account().to_hex())?;
                    let (votes, _) = view::Votes::fetch(&client)?;
                    view::check_approval(&record, proposal, &agency, &votes)?;
                    eprint!("{}", view::show(&record, &votes));
                    view::confirm(
                        &format!("Approve proposal {proposal} for agency {agency}?"),
                        yes,
                    )?;
                    send_with(
                        &common,
                        &key,
                        Instruction::Governance(GovernanceInstruction::Approve { proposal }),
                    )
                }
            }
        }
    }
}
