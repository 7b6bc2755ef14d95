//! `civitas verify`: check a proof bundle offline against a genesis document.

use crate::output::{document_hash, print_json, read_genesis};
use civitas_core::bundle::{Claim, ProofBundle};
use civitas_core::hash::Hash32;
use civitas_kit::space::Id;
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
    /// Also check that this file is the one the bundle is about: a notarised document, or an
    /// imported OCDS release's text exactly as the ledger stores it (a record whose id is the
    /// SHA-256 of a file).
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
        // Only a record whose id is a file's fingerprint is about a file.
        let about = match &bundle.claim {
            Claim::State(claim) => civitas_modules::queries::space(&claim.key.space)
                .filter(|space| matches!(space.id, Id::Fingerprint(_)))
                .and_then(|_| <[u8; 32]>::try_from(claim.key.id.as_slice()).ok())
                .map(Hash32),
            _ => None,
        };
        if about != Some(hash) {
            return fail(
                args.json,
                &format!("the bundle is not about {file} (SHA-256 {hash})"),
            );
        }
    }
    let statement = civitas_modules::queries::describe_bundle(&bundle, &genesis.chain_id);
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
            Claim::EarlierTransaction(_) => {
                "history root proves an earlier block whose transaction and receipt roots prove"
            }
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
