//! `civitas verify`: check a proof bundle offline against a genesis document.

use crate::output::{document_hash, print_json, read_genesis};
use civitas_core::bundle::{Claim, ProofBundle, spaces};
use civitas_core::hash::Hash32;
use civitas_core::receipt::TxOutcome;
use civitas_modules::queries::value_json;
use clap::Args as ClapArgs;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(ClapArgs)]
pub struct Args {
    /// The bundle file.
    bundle: PathBuf,
    /// The genesis document you trust (obtained independently of the bundle).
    #[arg(long)]
    genesis: PathBuf,
    /// Also check that this file is the document the bundle is about.
    #[arg(long)]
    file: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

fn fail(json: bool, reason: &str) -> ExitCode {
    if json {
        print_json(&serde_json::json!({ "valid": false, "reason": reason }));
    } else {
        eprintln!("INVALID: {reason}");
    }
    ExitCode::from(2)
}

/// A plain-language statement of what a verified bundle proves.
fn statement(bundle: &ProofBundle, genesis_chain: &str) -> String {
    let height = bundle.header.height;
    let at = format!("at height {height} of chain {genesis_chain}");
    let claim = match &bundle.claim {
        Claim::State(claim) => claim,
        Claim::Transaction(claim) => {
            let receipt = &claim.receipt;
            let outcome = match &receipt.outcome {
                TxOutcome::Success => "it succeeded".to_string(),
                TxOutcome::Failed { code, message, .. } => {
                    format!("it FAILED ({code}: {message})")
                }
            };
            return format!(
                "transaction {} signed by account {} (nonce {}) is number {} of block {height} of chain {genesis_chain}; {outcome}, with {} event(s)",
                receipt.tx,
                hex::encode(receipt.signer.0),
                receipt.nonce,
                receipt.index,
                receipt.events.len()
            );
        }
    };
    let key = &claim.key;
    let value = claim
        .value
        .as_deref()
        .and_then(|v| value_json(&key.space, v));
    match (key.space.as_str(), &value) {
        (spaces::DOCUMENT, Some(doc)) => {
            let hash = hex::encode(&key.id);
            let revoked = match doc["revocation"].as_object() {
                Some(r) => format!(
                    "; it was REVOKED at height {}: {}",
                    r["height"],
                    r["reason"].as_str().unwrap_or("")
                ),
                None => "; it has not been revoked".to_string(),
            };
            format!(
                "document {hash} titled {:?} was notarised by {} (official {}) at height {}{revoked} ({at})",
                doc["title"].as_str().unwrap_or(""),
                doc["agency"].as_str().unwrap_or(""),
                doc["issuer"].as_str().unwrap_or(""),
                doc["height"],
            )
        }
        (spaces::DOCUMENT, None) => format!(
            "no document with SHA-256 {} has been notarised ({at})",
            hex::encode(&key.id)
        ),
        (spaces::TOTAL, Some(total)) => {
            let currency = total["currency"].as_str().unwrap_or("");
            let money = |figure: &str| {
                let amount = total["figures"][figure].as_u64().unwrap_or(0);
                match civitas_core::money::Currency::parse(currency) {
                    Ok(c) => civitas_core::money::format_amount(amount, c),
                    Err(_) => format!("{amount} (minor units)"),
                }
            };
            let scope = match total["dimension"].as_str() {
                Some("all") | None => "the whole fiscal year".to_string(),
                Some(dimension) => format!("{dimension} {}", total["value"].as_str().unwrap_or("")),
            };
            format!(
                "fiscal year {} totals for {scope}: appropriated {}, allotted {}, committed {}, \
                 paid {}, over {} entries (the latest is entry {}; each is provable) ({at})",
                total["year"],
                money("appropriated"),
                money("allotted"),
                money("committed"),
                money("paid"),
                total["entries"],
                total["last_entry"],
            )
        }
        (_, Some(value)) => format!("{} holds {value} ({at})", key.display()),
        (_, None) => format!("{} is absent ({at})", key.display()),
    }
}

pub fn run(args: Args) -> ExitCode {
    // Unreadable inputs are an error (exit 1), not a verdict on the bundle (exit 2).
    let genesis = match read_genesis(&args.genesis) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let bytes = match std::fs::read(&args.bundle) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", args.bundle.display());
            return ExitCode::FAILURE;
        }
    };
    let started = Instant::now();
    let bundle = match ProofBundle::from_bytes(&bytes) {
        Ok(b) => b,
        Err(e) => return fail(args.json, &e.to_string()),
    };
    if let Err(e) = civitas_state::proof::verify_bundle(&bundle, &genesis) {
        return fail(args.json, &e.to_string());
    }
    let elapsed = started.elapsed();
    if let Some(file) = &args.file {
        let hash = match document_hash(file) {
            Ok(h) => h,
            Err(e) => return fail(args.json, &format!("{e:#}")),
        };
        let about = match &bundle.claim {
            Claim::State(claim) if claim.key.space == spaces::DOCUMENT => {
                Hash32::from_hex(&hex::encode(&claim.key.id)).ok()
            }
            _ => None,
        };
        if about != Some(hash) {
            return fail(
                args.json,
                &format!("the bundle is not about {file} (SHA-256 {hash})"),
            );
        }
    }
    let statement = statement(&bundle, &genesis.chain_id);
    if args.json {
        print_json(&serde_json::json!({
            "valid": true,
            "statement": statement,
            "height": bundle.header.height,
            "block": bundle.header.digest(),
            "state_root": bundle.header.state_root,
            "signers": bundle.finalization.signatures.len(),
            "validators": bundle.validators.len(),
            "epoch": bundle.header.epoch,
            "handovers": bundle.handovers.len(),
            "verify_micros": elapsed.as_micros() as u64,
        }));
    } else {
        println!("VALID: {statement}.");
        let whose = match bundle.handovers.len() {
            0 => "genesis validators".to_string(),
            1 => format!(
                "validators of epoch {} (reached from genesis through 1 validator-set change)",
                bundle.header.epoch
            ),
            n => format!(
                "validators of epoch {} (reached from genesis through {n} validator-set changes)",
                bundle.header.epoch
            ),
        };
        let roots = match bundle.claim {
            Claim::State(_) => "state root proves",
            Claim::Transaction(_) => "transaction and receipt roots prove",
        };
        println!(
            "Checked offline: {} of {} {whose} signed block {} whose {roots} this.",
            bundle.finalization.signatures.len(),
            bundle.validators.len(),
            bundle.header.digest()
        );
    }
    ExitCode::SUCCESS
}
