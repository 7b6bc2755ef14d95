//! `civitas tx sharing ...`: one subcommand per sharing instruction.
//!
//! These sign the ledger's side of personal-data handling: what a vault holds is registered by
//! the vault's own commands (`civitas vault ...`), which compute the commitment and subject tag;
//! here they are given as hex. Purposes and legal bases are codes (see
//! `GET /v1/sharing/bases`), never free text. The options every transaction takes (key, node,
//! co-signers, ...) are the binary's `C`.

use civitas_core::crypto::AccountId;
use civitas_core::hash::Hash32;
use civitas_core::kit::args::{account, time};
use civitas_core::sharing::SharingInstruction;
use civitas_core::time::TimestampMs;
use civitas_primitives::kit::cli::{Console, ModuleCommand, Prepared};
use clap::{Args, Subcommand};

/// The sharing instructions. `C` is the options every transaction takes.
#[derive(Subcommand, Debug)]
pub enum SharingCommand<C: Args> {
    /// Record on the ledger that your agency's vault holds a record: its id, schema,
    /// commitment and subject tag, never its content (records officers and admins).
    ///
    /// Example: civitas tx sharing register
    ///   --record 4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c
    ///   --id-nonce 3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f
    ///   --schema civil.birth-certificate
    ///   --commitment 9e2a9e2a9e2a9e2a9e2a9e2a9e2a9e2a9e2a9e2a9e2a9e2a9e2a9e2a9e2a9e2a
    ///   --subject 07d107d107d107d107d107d107d107d107d107d107d107d107d107d107d107d1
    ///   --basis records-held-for-a-public-task --key registry.json
    Register {
        /// The record's id (64 hex digits, which the vault derived from your agency and the
        /// nonce).
        #[arg(long)]
        record: Hash32,
        /// The random nonce the vault derived the id from (64 hex digits).
        #[arg(long = "id-nonce", id = "id_nonce")]
        nonce: Hash32,
        /// Its schema, such as civil.birth-certificate.
        #[arg(long)]
        schema: String,
        /// The vault's commitment to version 1 (64 hex digits).
        #[arg(long)]
        commitment: Hash32,
        /// The record's subject tag (64 hex digits).
        #[arg(long)]
        subject: Hash32,
        /// The legal basis: the id of a policy with a @basis annotation.
        #[arg(long)]
        basis: String,
        #[command(flatten)]
        common: C,
    },
    /// Record a new version of a record your agency holds (a rectification).
    ///
    /// Example: civitas tx sharing rectify
    ///   --record 4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c --version 2
    ///   --commitment 5d3e5d3e5d3e5d3e5d3e5d3e5d3e5d3e5d3e5d3e5d3e5d3e5d3e5d3e5d3e5d3e
    ///   --basis records-held-for-a-public-task --key registry.json
    Rectify {
        /// The record's id.
        #[arg(long)]
        record: Hash32,
        /// The new version: the current one plus one.
        #[arg(long)]
        version: u32,
        /// The commitment to the new version.
        #[arg(long)]
        commitment: Hash32,
        /// The legal basis: a policy id.
        #[arg(long)]
        basis: String,
        #[command(flatten)]
        common: C,
    },
    /// Record that your agency erased a record (its vault destroyed every copy of its key);
    /// the agencies it was shared with erase their copies.
    ///
    /// Example: civitas tx sharing erase
    ///   --record 4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c
    ///   --basis erasure-on-request --key registry.json
    Erase {
        /// The record's id.
        #[arg(long)]
        record: Hash32,
        /// The legal basis: a policy id.
        #[arg(long)]
        basis: String,
        #[command(flatten)]
        common: C,
    },
    /// Consent, as the person a record is about, to one agency receiving it for one purpose
    /// until a date. The salt proves you are the record's subject; it links you to the record
    /// on the public ledger.
    ///
    /// Example: civitas tx sharing consent
    ///   --record 4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c
    ///   --salt 6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a
    ///   --recipient permits --purpose permit-application --expires 2027-06-30 --key ana.json
    Consent {
        /// The record's id.
        #[arg(long)]
        record: Hash32,
        /// The record's subject salt (your vault gives it to you with the record).
        #[arg(long)]
        salt: Hash32,
        /// The agency that may receive it.
        #[arg(long)]
        recipient: String,
        /// What for: a code such as permit-application.
        #[arg(long)]
        purpose: String,
        /// Until when: a UTC time or a date, at most 366 days ahead.
        #[arg(long, value_parser = time)]
        expires: TimestampMs,
        #[command(flatten)]
        common: C,
    },
    /// Withdraw a consent you gave; shares already made stay on record.
    ///
    /// Example: civitas tx sharing revoke-consent 3 --key ana.json
    RevokeConsent {
        /// The consent's number.
        consent: u64,
        #[command(flatten)]
        common: C,
    },
    /// Ask for a record another agency holds, citing a legal basis (and the person's consent,
    /// if that is the basis); the policies decide and the outcome is on the ledger.
    ///
    /// Example: civitas tx sharing request
    ///   --record 4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c
    ///   --purpose permit-application --basis data-subject-consent --consent 3 --key carla.json
    Request {
        /// The record's id.
        #[arg(long)]
        record: Hash32,
        /// What for: a code such as permit-application.
        #[arg(long)]
        purpose: String,
        /// The legal basis: a policy id.
        #[arg(long)]
        basis: String,
        /// The consent relied on, if the basis is the person's consent.
        #[arg(long)]
        consent: Option<u64>,
        #[command(flatten)]
        common: C,
    },
    /// Record that you read a record your agency holds or was given (the vault serves it only
    /// once this entry is final): the person sees who read it, why, and on what basis.
    ///
    /// Example: civitas tx sharing access
    ///   --record 4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c
    ///   --purpose permit-application --basis recipient-uses-shared-copy --key carla.json
    Access {
        /// The record's id.
        #[arg(long)]
        record: Hash32,
        /// What for: a code such as case-handling.
        #[arg(long)]
        purpose: String,
        /// The legal basis: a policy id.
        #[arg(long)]
        basis: String,
        #[command(flatten)]
        common: C,
    },
    /// Name your agency's vault: the official account whose encryption key records are
    /// wrapped to, and the address other vaults reach it at (admins).
    ///
    /// Example: civitas tx sharing set-vault
    ///   --account 5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c
    ///   --url https://vault.registry.example --key registry-admin.json
    SetVault {
        /// The vault's account id (an official of your agency with an encryption key).
        #[arg(long, value_parser = account)]
        account: AccountId,
        /// The vault's address (http:// or https://).
        #[arg(long)]
        url: String,
        #[command(flatten)]
        common: C,
    },
}

impl<C: Args> SharingCommand<C> {
    /// The instruction the command signs, and the transaction options.
    pub fn into_instruction(self) -> (SharingInstruction, C) {
        match self {
            Self::Register {
                record,
                nonce,
                schema,
                commitment,
                subject,
                basis,
                common,
            } => (
                SharingInstruction::Register {
                    record,
                    nonce,
                    schema,
                    commitment,
                    subject,
                    basis,
                },
                common,
            ),
            Self::Rectify {
                record,
                version,
                commitment,
                basis,
                common,
            } => (
                SharingInstruction::Rectify {
                    record,
                    version,
                    commitment,
                    basis,
                },
                common,
            ),
            Self::Erase {
                record,
                basis,
                common,
            } => (SharingInstruction::Erase { record, basis }, common),
            Self::Consent {
                record,
                salt,
                recipient,
                purpose,
                expires,
                common,
            } => (
                SharingInstruction::Consent {
                    record,
                    salt,
                    recipient,
                    purpose,
                    expires,
                },
                common,
            ),
            Self::RevokeConsent { consent, common } => {
                (SharingInstruction::RevokeConsent { consent }, common)
            }
            Self::Request {
                record,
                purpose,
                basis,
                consent,
                common,
            } => (
                SharingInstruction::Request {
                    record,
                    purpose,
                    basis,
                    consent,
                },
                common,
            ),
            Self::Access {
                record,
                purpose,
                basis,
                common,
            } => (
                SharingInstruction::Access {
                    record,
                    purpose,
                    basis,
                },
                common,
            ),
            Self::SetVault {
                account,
                url,
                common,
            } => (SharingInstruction::SetVault { account, url }, common),
        }
    }
}

impl<C: Args> ModuleCommand<C> for SharingCommand<C> {
    type Instruction = SharingInstruction;

    fn common(&self) -> &C {
        match self {
            Self::Register { common, .. }
            | Self::Rectify { common, .. }
            | Self::Erase { common, .. }
            | Self::Consent { common, .. }
            | Self::RevokeConsent { common, .. }
            | Self::Request { common, .. }
            | Self::Access { common, .. }
            | Self::SetVault { common, .. } => common,
        }
    }

    fn prepare(self, console: &dyn Console) -> Result<(Prepared<SharingInstruction>, C), String> {
        let (instruction, common) = self.into_instruction();
        if let SharingInstruction::Consent { record, .. } = &instruction {
            console.note(&format!(
                "consenting links your account to record {record} on the public ledger"
            ));
        }
        Ok((Prepared::sign(instruction), common))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use civitas_core::kit::Operations;
    use civitas_core::kit::cli::{TestCli, TestKey, examples};
    use clap::{CommandFactory, Parser};

    type Cli = TestCli<SharingCommand<TestKey>>;

    /// Every sharing instruction has a subcommand named after it, whose help explains every
    /// option and gives an example; the example makes that instruction, valid as written.
    #[test]
    fn every_instruction_has_a_subcommand_with_a_working_example() {
        let command = Cli::command();
        for (name, argv) in
            examples::<SharingInstruction>(&command, &["civitas", "tx", "sharing"], &[])
        {
            let cli = Cli::try_parse_from(&argv)
                .unwrap_or_else(|e| panic!("the example of {name} does not parse: {e}"));
            let (instruction, key) = cli.command.into_instruction();
            assert!(!key.key.is_empty());
            assert_eq!(
                instruction.name(),
                format!("sharing.{}", name.replace('-', "_"))
            );
            instruction
                .validate()
                .unwrap_or_else(|e| panic!("the example of {name} is not valid: {e}"));
        }
    }

    #[test]
    fn bad_values_are_refused_with_the_value_named() {
        let refused = |argv: &[&str]| Cli::try_parse_from(argv).unwrap_err().to_string();
        let error = refused(&[
            "civitas",
            "erase",
            "--record",
            "nothex",
            "--basis",
            "erasure-on-request",
            "--key",
            "k",
        ]);
        assert!(error.contains("nothex"), "{error}");
        let error = refused(&[
            "civitas",
            "set-vault",
            "--account",
            "short",
            "--url",
            "https://v",
            "--key",
            "k",
        ]);
        assert!(error.contains("short"), "{error}");
    }
}
