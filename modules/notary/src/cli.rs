//! `civitas tx notary ...`: one subcommand per notary instruction; and `civitas query notary`.
//!
//! A document is named by its file (hashed on this machine; the file is never sent) or by its
//! SHA-256 in hex. The options every transaction takes (key, node, co-signers, ...) are the
//! binary's `C`.

use civitas_core::hash::Hash32;
use civitas_core::kit::args::document;
use civitas_core::notary::{MetadataEntry, NotaryInstruction};
use civitas_primitives::kit::cli::{
    Console, ModuleCommand, ModuleProof, ModuleQuery, Prepared, Printed, QueryFailed,
};
use clap::{Args, Subcommand};

/// The notary's instructions. `C` is the options every transaction takes.
#[derive(Subcommand, Debug)]
pub enum NotaryCommand<C: Args> {
    /// Anchor a document's SHA-256 (the file never leaves this machine).
    ///
    /// Example: civitas tx notary anchor deed.pdf --title "Deed 2026/117"
    ///   --meta parcel=117 --key bob.json
    Anchor {
        /// The document (or its SHA-256 in hex).
        #[arg(value_parser = document)]
        file: Hash32,
        /// Title.
        #[arg(long)]
        title: String,
        /// Metadata as key=value; repeat for several. Public: never a person's name, address
        /// or identifier.
        #[arg(long = "meta", value_parser = metadata)]
        meta: Vec<MetadataEntry>,
        #[command(flatten)]
        common: C,
    },
    /// Revoke an anchored document, giving a reason (the issuing agency's notaries).
    ///
    /// Example: civitas tx notary revoke deed.pdf --reason "superseded by deed 2026/118"
    ///   --key bob.json
    Revoke {
        /// The document (or its SHA-256 in hex).
        #[arg(value_parser = document)]
        file: Hash32,
        /// Why; public.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        common: C,
    },
}

/// One `key=value` metadata entry.
fn metadata(entry: &str) -> Result<MetadataEntry, String> {
    let (key, value) = entry
        .split_once('=')
        .ok_or_else(|| format!("metadata {entry:?} must be key=value"))?;
    Ok(MetadataEntry {
        key: key.trim().to_string(),
        value: value.trim().to_string(),
    })
}

impl<C: Args> NotaryCommand<C> {
    /// The instruction the command signs, and the transaction options.
    pub fn into_instruction(self) -> (NotaryInstruction, C) {
        match self {
            Self::Anchor {
                file,
                title,
                meta,
                common,
            } => (
                NotaryInstruction::Anchor {
                    document: file,
                    title,
                    metadata: meta,
                },
                common,
            ),
            Self::Revoke {
                file,
                reason,
                common,
            } => (
                NotaryInstruction::Revoke {
                    document: file,
                    reason,
                },
                common,
            ),
        }
    }
}

impl<C: Args> ModuleCommand<C> for NotaryCommand<C> {
    type Instruction = NotaryInstruction;

    fn common(&self) -> &C {
        match self {
            Self::Anchor { common, .. } | Self::Revoke { common, .. } => common,
        }
    }

    fn prepare(self, console: &dyn Console) -> Result<(Prepared<NotaryInstruction>, C), String> {
        let (instruction, common) = self.into_instruction();
        if let NotaryInstruction::Anchor { document, .. } = &instruction {
            console.note(&format!("document SHA-256: {document}"));
        }
        Ok((Prepared::sign(instruction), common))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use civitas_core::kit::Operations;
    use civitas_core::kit::cli::{TestCli, TestKey, examples, in_dir};
    use clap::{CommandFactory, Parser};

    type Cli = TestCli<NotaryCommand<TestKey>>;

    /// Every notary instruction has a subcommand named after it, whose help explains every
    /// option and gives an example; the example (its file made here) makes that instruction,
    /// valid as written, with the file's SHA-256.
    #[test]
    fn every_instruction_has_a_subcommand_with_a_working_example() {
        let dir = std::env::temp_dir().join(format!("civitas-notary-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("deed.pdf");
        std::fs::write(&file, b"a deed").unwrap();
        let command = Cli::command();
        for (name, argv) in
            examples::<NotaryInstruction>(&command, &["civitas", "tx", "notary"], &[])
        {
            let argv = in_dir(argv, &dir, &["deed.pdf"]);
            let cli = Cli::try_parse_from(&argv)
                .unwrap_or_else(|e| panic!("the example of {name} does not parse: {e}"));
            let (instruction, key) = cli.command.into_instruction();
            assert!(!key.key.is_empty());
            assert_eq!(instruction.name(), format!("notary.{name}"));
            instruction
                .validate()
                .unwrap_or_else(|e| panic!("the example of {name} is not valid: {e}"));
            let (NotaryInstruction::Anchor { document, .. }
            | NotaryInstruction::Revoke { document, .. }) = instruction;
            assert_eq!(document, Hash32::sha256(b"a deed"));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn bad_values_are_refused_with_the_value_named() {
        let refused = |argv: &[&str]| Cli::try_parse_from(argv).unwrap_err().to_string();
        let hash = "ab".repeat(32);
        let error = refused(&[
            "civitas", "anchor", &hash, "--title", "t", "--meta", "parcel", "--key", "k",
        ]);
        assert!(error.contains("must be key=value"), "{error}");
        let error = refused(&[
            "civitas",
            "revoke",
            "missing.pdf",
            "--reason",
            "r",
            "--key",
            "k",
        ]);
        assert!(error.contains("missing.pdf"), "{error}");
    }
}

/// The notary's reads. `C` is the options every read takes (the node).
#[derive(Subcommand, Debug)]
pub enum NotaryQuery<C: Args> {
    /// A notarised document, by file or SHA-256: its title, issuer, anchoring and whether it
    /// was revoked.
    ///
    /// Example: civitas query notary deed.pdf --node http://127.0.0.1:8080
    Notary {
        /// The document (or its SHA-256 in hex).
        document: String,
        #[command(flatten)]
        common: C,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

impl<C: Args> ModuleQuery<C> for NotaryQuery<C> {
    fn common(&self) -> &C {
        match self {
            Self::Notary { common, .. } => common,
        }
    }

    fn run(self, console: &dyn Console) -> Result<Printed, QueryFailed> {
        let Self::Notary {
            document: file,
            json,
            ..
        } = self;
        // Read when the command runs, so a missing file is an error of the command (exit 1).
        let hash = document(&file)?;
        let value = match console.get(&format!("/v1/notary/documents/{hash}")) {
            Ok(value) => value,
            Err(e) if e.status == Some(404) => {
                return Err(QueryFailed {
                    message: format!("document {hash} has not been notarised"),
                    printed: json.then(|| {
                        Printed::Json(serde_json::json!({ "document": hash, "found": false }))
                    }),
                });
            }
            Err(e) => return Err(e.into()),
        };
        if json {
            return Ok(Printed::Json(value));
        }
        let doc = &value["value"];
        let text = |v: &serde_json::Value| v.as_str().unwrap_or("").to_string();
        let mut out = format!(
            "document:  {hash}\ntitle:     {}\nissuer:    {} ({})\nanchored:  height {} at {} ms\n",
            text(&doc["title"]),
            text(&doc["agency"]),
            text(&doc["issuer"]),
            doc["height"],
            doc["time"]
        );
        for entry in doc["metadata"].as_array().into_iter().flatten() {
            out.push_str(&format!(
                "  {} = {}\n",
                text(&entry["key"]),
                text(&entry["value"])
            ));
        }
        match doc["revocation"].as_object() {
            Some(revocation) => out.push_str(&format!(
                "status:    REVOKED at height {}: {}\n",
                revocation["height"],
                revocation["reason"].as_str().unwrap_or("")
            )),
            None => out.push_str("status:    valid\n"),
        }
        Ok(Printed::Text(out))
    }
}

/// The notary's proof bundles. `C` is the options every fetch takes (the node, `--out`).
#[derive(Subcommand, Debug)]
pub enum NotaryProof<C: Args> {
    /// Bundle proving a document's notarisation (or that it was never notarised).
    ///
    /// Example: civitas proof notary deed.pdf --node http://127.0.0.1:8080 --out deed.cvpb
    Notary {
        /// The document (or its SHA-256 in hex).
        document: String,
        #[command(flatten)]
        common: C,
    },
}

impl<C: Args> ModuleProof<C> for NotaryProof<C> {
    fn common(&self) -> &C {
        match self {
            Self::Notary { common, .. } => common,
        }
    }

    fn path(&self) -> Result<String, String> {
        match self {
            Self::Notary { document: file, .. } => {
                Ok(format!("/v1/proofs/notary/{}", document(file)?))
            }
        }
    }
}
