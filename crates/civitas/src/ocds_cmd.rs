//! `civitas ocds`: check OCDS release packages against the 1.1 schema, and import historical
//! contracting processes onto the ledger, one signed transaction per release.

use crate::output::{print_json, read_key};
use crate::tx::{Common, send_with};
use anyhow::{Context, Result, bail};
use civitas_core::instruction::{Instruction, ProcurementInstruction};
use civitas_core::limits::OCDS_RELEASE_MAX_BYTES;
use civitas_modules::procurement::ocds;
use clap::Subcommand;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Largest package file read, in bytes.
const PACKAGE_MAX_BYTES: u64 = 64 * 1024 * 1024;

#[derive(Subcommand)]
pub enum Command {
    /// Check a release package against the OCDS 1.1 schema; lists every problem with where it
    /// is. Nothing is sent anywhere.
    ///
    /// Example: civitas ocds validate releases-2019.json
    Validate {
        /// The release package (JSON).
        file: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Import the releases of a package as historical processes: the package is checked
    /// against the schema first (nothing is sent if it fails), then each release is signed and
    /// recorded in its own transaction. Releases already imported are reported and skipped.
    ///
    /// Example: civitas ocds import releases-2019.json --key buyer.json
    ///   --node http://127.0.0.1:8080
    Import {
        /// The release package (JSON).
        file: PathBuf,
        #[command(flatten)]
        common: Common,
    },
}

fn read_package(file: &Path) -> Result<Value> {
    let size = std::fs::metadata(file)
        .with_context(|| format!("cannot read {}", file.display()))?
        .len();
    if size > PACKAGE_MAX_BYTES {
        bail!(
            "{} is {size} bytes; packages up to {PACKAGE_MAX_BYTES} bytes are read (split it)",
            file.display()
        );
    }
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", file.display()))
}

fn report(file: &Path, package: &Value, json: bool) -> Result<()> {
    match ocds::validate_release_package(package) {
        Ok(()) => {
            if json {
                print_json(&serde_json::json!({ "valid": true, "issues": [] }));
            } else {
                let count = package["releases"].as_array().map_or(0, Vec::len);
                println!(
                    "{} is a valid OCDS 1.1 release package ({count} releases)",
                    file.display()
                );
            }
            Ok(())
        }
        Err(issues) => {
            if json {
                print_json(&serde_json::json!({ "valid": false, "issues": issues }));
            } else {
                for issue in &issues {
                    let at = if issue.path.is_empty() {
                        "/"
                    } else {
                        &issue.path
                    };
                    println!("{at}: {}", issue.message);
                }
            }
            bail!(
                "{} is not a valid OCDS 1.1 release package: {} problem(s){}",
                file.display(),
                issues.len(),
                if issues.len() >= ocds::ISSUES_MAX {
                    " (the first ones)"
                } else {
                    ""
                }
            )
        }
    }
}

/// The instruction importing `release` (the `index`-th of its package).
fn import_instruction(index: usize, release: &Value) -> Result<Instruction> {
    let field = |name: &str| {
        release[name]
            .as_str()
            .map(str::to_string)
            .with_context(|| format!("release {index} has no {name}"))
    };
    let text = serde_json::to_string(release)?;
    if text.len() > OCDS_RELEASE_MAX_BYTES {
        bail!(
            "release {index} ({}) is {} bytes of JSON; the ledger takes releases up to {OCDS_RELEASE_MAX_BYTES} bytes",
            field("id").unwrap_or_default(),
            text.len()
        );
    }
    let instruction = Instruction::Procurement(ProcurementInstruction::ImportRelease {
        ocid: field("ocid")?,
        release_id: field("id")?,
        date: field("date")?,
        release: text,
    });
    instruction
        .validate()
        .with_context(|| format!("release {index} cannot be imported"))?;
    Ok(instruction)
}

pub fn run(command: Command) -> Result<()> {
    match command {
        Command::Validate { file, json } => report(&file, &read_package(&file)?, json),
        Command::Import { file, common } => {
            let package = read_package(&file)?;
            report(&file, &package, false)?;
            let releases = package["releases"].as_array().cloned().unwrap_or_default();
            // Every release is checked before the first is sent.
            let instructions = releases
                .iter()
                .enumerate()
                .map(|(i, r)| import_instruction(i, r))
                .collect::<Result<Vec<_>>>()?;
            let key = read_key(&common.key)?;
            let mut imported = 0;
            let mut skipped = 0;
            for (i, instruction) in instructions.into_iter().enumerate() {
                match send_with(&common, &key, instruction) {
                    Ok(_) => imported += 1,
                    Err(e) if e.to_string().contains("was already imported") => {
                        eprintln!("release {i} was already imported; skipped");
                        skipped += 1;
                    }
                    Err(e) => {
                        return Err(e.context(format!(
                            "release {i} was not imported ({imported} imported before it)"
                        )));
                    }
                }
            }
            println!(
                "imported {imported} release(s) from {}{}",
                file.display(),
                if skipped > 0 {
                    format!("; {skipped} were already on the ledger")
                } else {
                    String::new()
                }
            );
            Ok(())
        }
    }
}
