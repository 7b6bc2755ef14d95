//! `civitas tx permits ...`: one subcommand per permits instruction.
//!
//! A permit type's definition is a JSON file (the shape of `PermitTypeDef` in the API
//! document), checked here before anything is signed. Documents are named by their file
//! (hashed on this machine; the file is never sent) or their SHA-256 in hex. The options every
//! transaction takes (key, node, co-signers, ...) are the binary's `C`.

use civitas_core::hash::Hash32;
use civitas_core::kit::args::document;
use civitas_core::permits::{FormRecord, LicenceAction, PermitTypeDef, PermitsInstruction};
use civitas_primitives::kit::cli::{Console, ModuleCommand, Prepared};
use clap::{Args, Subcommand, ValueEnum};

/// A permit type's definition, read from a JSON file and checked.
fn definition(path: &str) -> Result<PermitTypeDef, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    // A definition travels in one transaction.
    if bytes.len() > civitas_core::limits::TX_ENCODED_MAX_BYTES {
        return Err(format!(
            "{path} is {} bytes; a definition is at most {} (one transaction)",
            bytes.len(),
            civitas_core::limits::TX_ENCODED_MAX_BYTES
        ));
    }
    let definition: PermitTypeDef = serde_json::from_slice(&bytes)
        .map_err(|e| format!("{path} is not a permit type definition: {e}"))?;
    definition.validate().map_err(|e| format!("{path}: {e}"))?;
    Ok(definition)
}

/// What the agency's vault answered when it sealed a form (a JSON file with `record`,
/// `seed`, `commitment` and `subject`).
fn sealed(path: &str) -> Result<serde_json::Value, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    if bytes.len() > 64 * 1024 {
        return Err(format!("{path} is not what a vault answers: too long"));
    }
    serde_json::from_slice(&bytes).map_err(|e| format!("{path} is not JSON: {e}"))
}

fn sealed_field(path: &str, value: &serde_json::Value, field: &str) -> Result<Hash32, String> {
    value[field]
        .as_str()
        .and_then(|text| Hash32::from_hex(text).ok())
        .ok_or_else(|| format!("{path} has no {field} (64 hexadecimal characters)"))
}

/// A form sealed in the agency's vault for a new application: the vault's answer, a JSON file.
fn form_record(path: &str) -> Result<FormRecord, String> {
    let value = sealed(path)?;
    check_sealed_form(path, &value, Some(1))?;
    Ok(FormRecord {
        seed: sealed_field(path, &value, "seed")?,
        commitment: sealed_field(path, &value, "commitment")?,
        subject: sealed_field(path, &value, "subject")?,
    })
}

/// The vault's answer is for a permit application's form (at `version`, if given).
fn check_sealed_form(
    path: &str,
    value: &serde_json::Value,
    version: Option<u64>,
) -> Result<(), String> {
    if value["schema"].as_str() != Some(civitas_core::permits::FORM_SCHEMA) {
        return Err(format!(
            "{path} is not a vault's answer for a permit application's form (its schema is not {})",
            civitas_core::permits::FORM_SCHEMA
        ));
    }
    if let Some(version) = version
        && value["version"].as_u64() != Some(version)
    {
        return Err(format!(
            "{path} is not a form's first version: it answers a revision"
        ));
    }
    Ok(())
}

/// The commitment to a form's next version: the vault's answer when it sealed it (a JSON
/// file), so that the version the ledger records is the one the vault holds.
fn form_version(path: &str) -> Result<Hash32, String> {
    if Hash32::from_hex(path).is_ok() {
        return Err(
            "give the vault's answer (the JSON file it returned when it sealed the revision), \
             not a bare commitment: the version the ledger records must be the one the vault \
             holds"
                .into(),
        );
    }
    let value = sealed(path)?;
    check_sealed_form(path, &value, None)?;
    if value["version"].as_u64().is_none_or(|v| v < 2) {
        return Err(format!("{path} is a form's first version, not a revision"));
    }
    sealed_field(path, &value, "commitment")
}

/// What to do to a licence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Action {
    /// Suspend it until reinstated.
    Suspend,
    /// Lift its suspension.
    Reinstate,
    /// Revoke it for good.
    Revoke,
}

/// The permits' instructions. `C` is the options every transaction takes.
#[derive(Subcommand, Debug)]
pub enum PermitsCommand<C: Args> {
    /// Publish a permit type of your agency, or its next version (admins). Applications
    /// already filed keep the version they were filed under.
    ///
    /// Example: civitas tx permits define-type business-licence --definition business-licence.json
    ///   --key admin.json
    DefineType {
        /// The type's id: lowercase letters, digits, '-' and '_'.
        permit_type: String,
        /// The definition, a JSON file (steps, roles, deadlines, form, documents, fee,
        /// validity, register, appeal route, supervisor role).
        #[arg(long, value_parser = definition)]
        definition: PermitTypeDef,
        #[command(flatten)]
        common: C,
    },
    /// Stop new applications of a type of your agency (admins); those filed go on.
    ///
    /// Example: civitas tx permits retire-type business-licence --key admin.json
    RetireType {
        /// The type's id.
        permit_type: String,
        #[command(flatten)]
        common: C,
    },
    /// Apply for a permit, signing for yourself. The form's answers stay in the agency's
    /// vault, which sealed them; name the vault's answer.
    ///
    /// Example: civitas tx permits apply business-licence --form sealed.json --document plan.pdf
    ///   --key ana.json
    Apply {
        /// The permit type.
        permit_type: String,
        /// What the agency's vault answered when it sealed the form (a JSON file with record,
        /// seed, commitment and subject).
        #[arg(long, value_parser = form_record)]
        form: FormRecord,
        /// Each required document, notarised, in the type's order: a file or its SHA-256.
        #[arg(long = "document", value_parser = document)]
        documents: Vec<Hash32>,
        /// Each required vault record, in the type's order: its id in hex.
        #[arg(long = "record")]
        records: Vec<Hash32>,
        /// The licence this application renews (you hold it, within its renewal window).
        #[arg(long)]
        renews: Option<u64>,
        #[command(flatten)]
        common: C,
    },
    /// Record an application's fee as paid to your agency (cashiers).
    ///
    /// Example: civitas tx permits record-fee 7 --reference PSP-2026-000123 --key cashier.json
    RecordFee {
        /// The application.
        application: u64,
        /// The payment's reference at the bank or payment provider; never a person's name.
        #[arg(long)]
        reference: String,
        #[command(flatten)]
        common: C,
    },
    /// Complete an application's current step (officials with the step's role); the next
    /// step starts.
    ///
    /// Example: civitas tx permits complete-step 7 completeness --reason "all documents present"
    ///   --key clerk.json
    CompleteStep {
        /// The application.
        application: u64,
        /// The step you complete, by name.
        step: String,
        /// Why; public and permanent: never a person's name or details.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        common: C,
    },
    /// Ask the applicant for more (officials with the step's role); the step's clock stops
    /// until they answer.
    ///
    /// Example: civitas tx permits request-information 7 inspection
    ///   --request "a floor plan at 1:100" --key inspector.json
    RequestInformation {
        /// The application.
        application: u64,
        /// The current step, by name.
        step: String,
        /// What is needed; public: name documents, never a person's details.
        #[arg(long)]
        request: String,
        #[command(flatten)]
        common: C,
    },
    /// Answer a request on your application: the form's next version, sealed in the agency's
    /// vault, and documents.
    ///
    /// Example: civitas tx permits provide-information 7 --form resealed.json --document plan.pdf
    ///   --key ana.json
    ProvideInformation {
        /// The application.
        application: u64,
        /// If your answers changed: the vault's answer when it sealed the form's next version
        /// (a JSON file).
        #[arg(long, value_parser = form_version)]
        form: Option<Hash32>,
        /// Further notarised documents: files or their SHA-256.
        #[arg(long = "document", value_parser = document)]
        documents: Vec<Hash32>,
        #[command(flatten)]
        common: C,
    },
    /// Decide an application at its last step (officials with the step's role): grant it
    /// with a scope, or refuse it.
    ///
    /// Example: civitas tx permits decide 7 decision --grant "Café, 40 m², 12 Market Street"
    ///   --reason "inspection passed" --key licensing.json
    #[command(group(clap::ArgGroup::new("verdict").required(true).args(["grant", "refuse"])))]
    Decide {
        /// The application.
        application: u64,
        /// The last step, by name.
        step: String,
        /// Grant the licence, with what it permits (public).
        #[arg(long)]
        grant: Option<String>,
        /// Refuse it (the type's appeal route is given with the refusal).
        #[arg(long)]
        refuse: bool,
        /// Why; public and permanent: never a person's name or details.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        common: C,
    },
    /// Withdraw your application before it is decided.
    ///
    /// Example: civitas tx permits withdraw 7 --key ana.json
    Withdraw {
        /// The application.
        application: u64,
        #[command(flatten)]
        common: C,
    },
    /// Appeal the refusal of your application, within the type's time.
    ///
    /// Example: civitas tx permits appeal 7 --grounds grounds.pdf --key ana.json
    Appeal {
        /// The application.
        application: u64,
        /// Your written grounds: a file (hashed here; it never leaves this machine) or its
        /// SHA-256.
        #[arg(long, value_parser = document)]
        grounds: Hash32,
        #[command(flatten)]
        common: C,
    },
    /// Decide an appeal (officials with the type's supervisor role): uphold it with the
    /// licence's scope, or dismiss it.
    ///
    /// Example: civitas tx permits decide-appeal 7 --uphold "Café, 40 m², 12 Market Street"
    ///   --reason "the fire exit was added" --key head.json
    #[command(group(clap::ArgGroup::new("verdict").required(true).args(["uphold", "dismiss"])))]
    DecideAppeal {
        /// The application.
        application: u64,
        /// Uphold the appeal and grant the licence, with what it permits (public).
        #[arg(long)]
        uphold: Option<String>,
        /// Dismiss the appeal: the refusal stands.
        #[arg(long)]
        dismiss: bool,
        /// Why; public and permanent.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        common: C,
    },
    /// Change what a licence permits (officials with the type's supervisor role).
    ///
    /// Example: civitas tx permits amend 3 --scope "Café, 60 m², 12 Market Street"
    ///   --reason "extension approved" --key head.json
    Amend {
        /// The licence's number.
        licence: u64,
        /// What it permits now (public).
        #[arg(long)]
        scope: String,
        /// Why; public and permanent.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        common: C,
    },
    /// Suspend, reinstate or revoke a licence (officials with the type's supervisor role).
    ///
    /// Example: civitas tx permits change-licence 3 --action suspend
    ///   --reason "hygiene inspection failed" --key head.json
    ChangeLicence {
        /// The licence's number.
        licence: u64,
        /// What to do.
        #[arg(long, value_enum)]
        action: Action,
        /// Why; public and permanent.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        common: C,
    },
}

impl<C: Args> PermitsCommand<C> {
    /// The instruction the command signs, and the transaction options.
    pub fn into_instruction(self) -> (PermitsInstruction, C) {
        match self {
            Self::DefineType {
                permit_type,
                definition,
                common,
            } => (
                PermitsInstruction::DefineType {
                    permit_type,
                    definition,
                },
                common,
            ),
            Self::RetireType {
                permit_type,
                common,
            } => (PermitsInstruction::RetireType { permit_type }, common),
            Self::Apply {
                permit_type,
                form,
                documents,
                records,
                renews,
                common,
            } => (
                PermitsInstruction::Apply {
                    permit_type,
                    form,
                    documents,
                    records,
                    renews,
                },
                common,
            ),
            Self::RecordFee {
                application,
                reference,
                common,
            } => (
                PermitsInstruction::RecordFee {
                    application,
                    reference,
                },
                common,
            ),
            Self::CompleteStep {
                application,
                step,
                reason,
                common,
            } => (
                PermitsInstruction::CompleteStep {
                    application,
                    step,
                    reason,
                },
                common,
            ),
            Self::RequestInformation {
                application,
                step,
                request,
                common,
            } => (
                PermitsInstruction::RequestInformation {
                    application,
                    step,
                    request,
                },
                common,
            ),
            Self::ProvideInformation {
                application,
                form,
                documents,
                common,
            } => (
                PermitsInstruction::ProvideInformation {
                    application,
                    form,
                    documents,
                },
                common,
            ),
            Self::Decide {
                application,
                step,
                grant,
                refuse: _,
                reason,
                common,
            } => (
                PermitsInstruction::Decide {
                    application,
                    step,
                    approve: grant.is_some(),
                    scope: grant.unwrap_or_default(),
                    reason,
                },
                common,
            ),
            Self::Withdraw {
                application,
                common,
            } => (PermitsInstruction::Withdraw { application }, common),
            Self::Appeal {
                application,
                grounds,
                common,
            } => (
                PermitsInstruction::Appeal {
                    application,
                    grounds,
                },
                common,
            ),
            Self::DecideAppeal {
                application,
                uphold,
                dismiss: _,
                reason,
                common,
            } => (
                PermitsInstruction::DecideAppeal {
                    application,
                    upheld: uphold.is_some(),
                    scope: uphold.unwrap_or_default(),
                    reason,
                },
                common,
            ),
            Self::Amend {
                licence,
                scope,
                reason,
                common,
            } => (
                PermitsInstruction::Amend {
                    licence,
                    scope,
                    reason,
                },
                common,
            ),
            Self::ChangeLicence {
                licence,
                action,
                reason,
                common,
            } => (
                PermitsInstruction::ChangeLicence {
                    licence,
                    action: match action {
                        Action::Suspend => LicenceAction::Suspend,
                        Action::Reinstate => LicenceAction::Reinstate,
                        Action::Revoke => LicenceAction::Revoke,
                    },
                    reason,
                },
                common,
            ),
        }
    }
}

impl<C: Args> ModuleCommand<C> for PermitsCommand<C> {
    type Instruction = PermitsInstruction;

    fn common(&self) -> &C {
        match self {
            Self::DefineType { common, .. }
            | Self::RetireType { common, .. }
            | Self::Apply { common, .. }
            | Self::RecordFee { common, .. }
            | Self::CompleteStep { common, .. }
            | Self::RequestInformation { common, .. }
            | Self::ProvideInformation { common, .. }
            | Self::Decide { common, .. }
            | Self::Withdraw { common, .. }
            | Self::Appeal { common, .. }
            | Self::DecideAppeal { common, .. }
            | Self::Amend { common, .. }
            | Self::ChangeLicence { common, .. } => common,
        }
    }

    fn prepare(self, _console: &dyn Console) -> Result<(Prepared<PermitsInstruction>, C), String> {
        let (instruction, common) = self.into_instruction();
        Ok((Prepared::sign(instruction), common))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use civitas_core::kit::Operations;
    use civitas_core::kit::cli::{TestCli, TestKey, examples, in_dir};
    use clap::{CommandFactory, Parser};

    type Cli = TestCli<PermitsCommand<TestKey>>;

    /// Every permits instruction has a subcommand named after it, whose help explains every
    /// option and gives an example; the example (its files made here) makes that
    /// instruction, valid as written.
    #[test]
    fn every_instruction_has_a_subcommand_with_a_working_example() {
        let dir = std::env::temp_dir().join(format!("civitas-permits-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("plan.pdf"), b"a floor plan").unwrap();
        std::fs::write(dir.join("grounds.pdf"), b"grounds").unwrap();
        let hex = |s: &[u8]| Hash32::sha256(s).to_hex();
        let sealed = serde_json::json!({
            "record": hex(b"record"), "seed": hex(b"seed"), "version": 1,
            "schema": "permit.application", "commitment": hex(b"answers"),
            "subject": hex(b"subject"), "status": "pending", "next": "sign",
        });
        std::fs::write(dir.join("sealed.json"), sealed.to_string()).unwrap();
        let resealed = serde_json::json!({"record": hex(b"record"), "version": 2, "schema": "permit.application", "commitment": hex(b"answers 2")});
        std::fs::write(dir.join("resealed.json"), resealed.to_string()).unwrap();
        std::fs::write(
            dir.join("business-licence.json"),
            serde_json::to_vec(&civitas_core::permits::examples::business_licence()).unwrap(),
        )
        .unwrap();
        let command = Cli::command();
        for (name, argv) in
            examples::<PermitsInstruction>(&command, &["civitas", "tx", "permits"], &[])
        {
            let argv = in_dir(
                argv,
                &dir,
                &[
                    "plan.pdf",
                    "grounds.pdf",
                    "business-licence.json",
                    "sealed.json",
                    "resealed.json",
                ],
            );
            let cli = Cli::try_parse_from(&argv)
                .unwrap_or_else(|e| panic!("the example of {name} does not parse: {e}"));
            let (instruction, key) = cli.command.into_instruction();
            assert!(!key.key.is_empty());
            assert_eq!(
                instruction.name(),
                format!("permits.{}", name.replace('-', "_"))
            );
            instruction
                .validate()
                .unwrap_or_else(|e| panic!("the example of {name} is not valid: {e}"));
            match instruction {
                PermitsInstruction::Apply {
                    documents, form, ..
                } => {
                    assert_eq!(documents, vec![Hash32::sha256(b"a floor plan")]);
                    assert_eq!(form.commitment, Hash32::sha256(b"answers"));
                    assert_eq!(form.subject, Hash32::sha256(b"subject"));
                }
                PermitsInstruction::ProvideInformation { form, .. } => {
                    assert_eq!(form, Some(Hash32::sha256(b"answers 2")));
                }
                _ => {}
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_bad_definition_is_refused_before_signing_with_what_is_wrong() {
        let dir = std::env::temp_dir().join(format!("civitas-permits-def-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut bad = civitas_core::permits::examples::business_licence();
        bad.steps.clear();
        let path = dir.join("bad.json");
        std::fs::write(&path, serde_json::to_vec(&bad).unwrap()).unwrap();
        let error = definition(path.to_str().unwrap()).unwrap_err();
        assert!(error.contains("at least one step"), "{error}");
        std::fs::write(&path, b"{\"title\": 3}").unwrap();
        let error = definition(path.to_str().unwrap()).unwrap_err();
        assert!(error.contains("not a permit type definition"), "{error}");
        let error = definition(dir.join("missing.json").to_str().unwrap()).unwrap_err();
        assert!(error.contains("cannot read"), "{error}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_decision_grants_or_refuses_but_not_both() {
        let parse = |argv: &[&str]| Cli::try_parse_from(argv);
        assert!(
            parse(&[
                "civitas", "decide", "7", "decision", "--refuse", "--grant", "x", "--reason", "r",
                "--key", "k"
            ])
            .is_err()
        );
        assert!(
            parse(&[
                "civitas", "decide", "7", "decision", "--reason", "r", "--key", "k"
            ])
            .is_err()
        );
        let cli = parse(&[
            "civitas", "decide", "7", "decision", "--refuse", "--reason", "r", "--key", "k",
        ])
        .unwrap();
        let (instruction, _) = cli.command.into_instruction();
        assert!(
            matches!(instruction, PermitsInstruction::Decide { approve: false, ref scope, .. } if scope.is_empty())
        );
    }
}
