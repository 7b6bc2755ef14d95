//! `civitas tx governance ...`: a subcommand for each kind of proposal, and `approve`.
//!
//! Each checks what it can before signing, reading the node through the binary's [`Console`]
//! (see [`crate::view`]): a proposal or approval that cannot succeed is refused by name and
//! never costs the signer a nonce. The options every transaction takes (key, node,
//! co-signers, ...) are the binary's `C`.

use crate::view;
use civitas_core::crypto::PublicKey;
use civitas_core::governance::{GovernanceAction, GovernanceInstruction, NewValidator};
use civitas_core::keyfile::public_key_arg;
use civitas_kit::authz;
use civitas_primitives::kit::cli::{
    Console, ModuleCommand, ModuleQuery, Prepared, Printed, QueryFailed,
};
use clap::{Args, Subcommand};
use std::path::PathBuf;

/// The governance module's proposals and approvals. `C` is the options every transaction
/// takes.
#[derive(Subcommand, Debug)]
pub enum GovernanceCommand<C: Args> {
    /// Propose adding a validator from the next epoch (signed by an agency admin; the
    /// proposer's agency approves it at once).
    ///
    /// Example: civitas tx governance add-validator --key devnet/keys/finance.json
    ///   --agency health --p2p 10.0.0.9:9000
    ///   --validator-key 894f87cf5541de65ddfede4884ab075743523cb92aa5fa772c296822e36a2f9a
    ///   --reason "second validator for the health ministry"
    AddValidator {
        /// The agency that will run it.
        #[arg(long)]
        agency: String,
        /// Its consensus public key (hex or key file).
        #[arg(long, value_parser = public_key_arg)]
        validator_key: PublicKey,
        /// Where it listens for peers, host:port.
        #[arg(long, value_parser = p2p_address)]
        p2p: String,
        /// Why, for the public record.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        common: C,
    },
    /// Propose removing a validator from the next epoch.
    ///
    /// Example: civitas tx governance remove-validator --key devnet/keys/finance.json
    ///   --validator-key 894f87cf5541de65ddfede4884ab075743523cb92aa5fa772c296822e36a2f9a
    ///   --reason "the host is decommissioned"
    RemoveValidator {
        /// Its consensus public key (hex or key file).
        #[arg(long, value_parser = public_key_arg)]
        validator_key: PublicKey,
        /// Why, for the public record.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        common: C,
    },
    /// Propose a new approval threshold (number of agencies).
    ///
    /// Example: civitas tx governance set-threshold --key devnet/keys/finance.json
    ///   --threshold 3 --reason "a majority of the four agencies"
    SetThreshold {
        /// Agencies that must approve a proposal.
        #[arg(long)]
        threshold: u32,
        /// Why, for the public record.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        common: C,
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
        common: C,
    },
    /// Propose removing the policy with this @id.
    ///
    /// Example: civitas tx governance remove-policy --key devnet/keys/finance.json
    ///   --id two-notaries --reason "one notary is enough again"
    RemovePolicy {
        /// The policy's @id.
        #[arg(long)]
        id: String,
        /// Why, for the public record.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        common: C,
    },
    /// Propose that a new agency join: at once it has its admins and a vote; its validator,
    /// if it runs one, joins from the next epoch. Checks before signing that the id is new,
    /// that no admin key is in use and that the validator is not one already.
    ///
    /// Example: civitas tx governance add-agency --key devnet/keys/finance.json
    ///   --id justice --name "Ministry of Justice" --p2p justice.example.gov:9000
    ///   --admin-key 45dacc81a07f5821ba544ce5548f6b644bd83c1f410ec2b3f9ccc9b5b6fd4428
    ///   --validator-key b00d31ca818744a6614cec9510ed56497b0ba6643e11940f596d7f745385a9c8
    ///   --reason "the Ministry of Justice joins the network"
    AddAgency {
        /// Its identifier (lowercase letters, digits, - and _); never reused.
        #[arg(long)]
        id: String,
        /// Its full name.
        #[arg(long)]
        name: String,
        /// An admin's public key (hex or key file); repeat for each admin (1 to 8).
        #[arg(long = "admin-key", required = true, value_parser = public_key_arg)]
        admin_keys: Vec<PublicKey>,
        /// The consensus public key of the validator it runs (hex or key file), if any.
        #[arg(long, requires = "p2p", value_parser = public_key_arg)]
        validator_key: Option<PublicKey>,
        /// Where that validator listens for peers, host:port.
        #[arg(long, requires = "validator_key", value_parser = p2p_address)]
        p2p: Option<String>,
        /// Why, for the public record.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        common: C,
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
        common: C,
    },
    /// Propose a new full name for an agency.
    ///
    /// Example: civitas tx governance rename-agency --key devnet/keys/finance.json
    ///   --agency land --name "Land and Cadastre Agency" --reason "the agency was renamed by law"
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
        common: C,
    },
    /// Propose that protocol version PROTOCOL become active at block HEIGHT. From that block
    /// on, blocks are made under its rules; a node whose release does not know it stops there
    /// (exit status 78) and its log names RELEASE. Install RELEASE on every validator first,
    /// then schedule it: the new release keeps to the active version until HEIGHT. A later
    /// proposal replaces an upgrade that has not activated yet (to postpone it).
    ///
    /// Example: civitas tx governance schedule-upgrade --key devnet/keys/finance.json
    ///   --protocol 2 --height 250000 --release 0.2.0 --reason "the notices register"
    ScheduleUpgrade {
        /// The next protocol version: the active one plus one (`civitas query governance`
        /// shows the active one).
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
        common: C,
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
        common: C,
    },
}

/// A validator's p2p address: `ip:port` or `host:port`, with a port other than 0 (what
/// `civitas_consensus::node::is_p2p_address` accepts, checked here without the node's crates).
fn p2p_address(text: &str) -> Result<String, String> {
    let refused = || format!("{text:?} is not host:port or ip:port (for example 10.0.0.9:9000)");
    if let Ok(address) = text.parse::<std::net::SocketAddr>() {
        return if address.port() == 0 {
            Err(refused())
        } else {
            Ok(text.to_string())
        };
    }
    let (host, port) = text.rsplit_once(':').ok_or_else(refused)?;
    let port: u16 = port.parse().map_err(|_| refused())?;
    // A host name by the rules the p2p layer dials with.
    if port == 0 || commonware_utils::Hostname::new(host).is_err() {
        return Err(refused());
    }
    Ok(text.to_string())
}

impl<C: Args> ModuleCommand<C> for GovernanceCommand<C> {
    type Instruction = GovernanceInstruction;

    fn common(&self) -> &C {
        match self {
            Self::AddValidator { common, .. }
            | Self::RemoveValidator { common, .. }
            | Self::SetThreshold { common, .. }
            | Self::SetPolicy { common, .. }
            | Self::RemovePolicy { common, .. }
            | Self::AddAgency { common, .. }
            | Self::RetireAgency { common, .. }
            | Self::RenameAgency { common, .. }
            | Self::ScheduleUpgrade { common, .. }
            | Self::Approve { common, .. } => common,
        }
    }

    fn prepare(
        self,
        console: &dyn Console,
    ) -> Result<(Prepared<GovernanceInstruction>, C), String> {
        let propose =
            |action, reason| Prepared::sign(GovernanceInstruction::Propose { action, reason });
        Ok(match self {
            Self::AddValidator {
                agency,
                validator_key,
                p2p,
                reason,
                common,
            } => {
                view::check_add_validator(console, &agency, &validator_key.to_hex())?;
                let action = GovernanceAction::AddValidator {
                    agency,
                    key: validator_key,
                    p2p_address: p2p,
                };
                (propose(action, reason), common)
            }
            Self::RemoveValidator {
                validator_key,
                reason,
                common,
            } => (
                propose(
                    GovernanceAction::RemoveValidator { key: validator_key },
                    reason,
                ),
                common,
            ),
            Self::SetThreshold {
                threshold,
                reason,
                common,
            } => (
                propose(GovernanceAction::SetThreshold { threshold }, reason),
                common,
            ),
            Self::SetPolicy {
                file,
                reason,
                common,
            } => {
                let policy = std::fs::read_to_string(&file)
                    .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
                let entry = authz::parse_policy(&policy)
                    .map_err(|e| format!("{} is not a policy change: {e}", file.display()))?;
                view::check_policies(console, &[entry], None)?;
                (
                    propose(GovernanceAction::SetPolicy { policy }, reason),
                    common,
                )
            }
            Self::RemovePolicy { id, reason, common } => {
                view::check_policies(console, &[], Some(&id))?;
                (
                    propose(GovernanceAction::RemovePolicy { id }, reason),
                    common,
                )
            }
            Self::AddAgency {
                id,
                name,
                admin_keys,
                validator_key,
                p2p,
                reason,
                common,
            } => {
                let validator = match (validator_key, p2p) {
                    (Some(key), Some(p2p_address)) => Some(NewValidator { key, p2p_address }),
                    _ => None,
                };
                let validator_hex = validator.as_ref().map(|v| v.key.to_hex());
                let instruction = GovernanceInstruction::Propose {
                    action: GovernanceAction::AddAgency {
                        id: id.clone(),
                        name,
                        admin_keys: admin_keys.clone(),
                        validator,
                    },
                    reason,
                };
                // The rules that need no state first (id, name, admin keys), then the chain.
                instruction.validate().map_err(|e| e.to_string())?;
                view::check_add_agency(console, &id, &admin_keys, validator_hex.as_deref())?;
                (Prepared::sign(instruction), common)
            }
            Self::RetireAgency {
                agency,
                reason,
                common,
            } => {
                view::check_retire_agency(console, &agency)?;
                (
                    propose(GovernanceAction::RetireAgency { id: agency }, reason),
                    common,
                )
            }
            Self::RenameAgency {
                agency,
                name,
                reason,
                common,
            } => {
                view::check_agency_in_force(console, &agency)?;
                (
                    propose(GovernanceAction::RenameAgency { id: agency, name }, reason),
                    common,
                )
            }
            Self::ScheduleUpgrade {
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
                instruction.validate().map_err(|e| e.to_string())?;
                view::check_upgrade(console, protocol, height)?;
                (Prepared::sign(instruction), common)
            }
            Self::Approve {
                proposal,
                yes,
                common,
            } => {
                let record = view::proposal(console, proposal)?;
                let account = console.signer()?;
                let agency = view::agency_of(console, &account.to_hex())?;
                let (votes, _) = view::Votes::fetch(console)?;
                view::check_approval(&record, proposal, &agency, &votes)?;
                console.note(view::show(&record, &votes).trim_end());
                console.confirm(
                    &format!("Approve proposal {proposal} for agency {agency}?"),
                    yes,
                )?;
                (
                    Prepared::sign(GovernanceInstruction::Approve { proposal }),
                    common,
                )
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use civitas_primitives::kit::cli::{TestCli, TestKey, example_words_of};
    use clap::{CommandFactory, Parser};

    #[test]
    fn every_kind_of_proposal_has_a_subcommand_with_an_example_that_parses() {
        let command = TestCli::<GovernanceCommand<TestKey>>::command();
        let kinds = civitas_core::governance::GovernanceAction::KINDS;
        for name in kinds
            .iter()
            .map(|k| k.replace('_', "-"))
            .chain(["approve".to_string()])
        {
            let argv = example_words_of(&command, &name, &["civitas", "tx", "governance"]);
            TestCli::<GovernanceCommand<TestKey>>::try_parse_from(&argv)
                .unwrap_or_else(|e| panic!("the example of {name} does not parse: {e}"));
        }
        assert_eq!(p2p_address("10.0.0.9:9000"), Ok("10.0.0.9:9000".into()));
        assert_eq!(
            p2p_address("justice.example.gov:9000"),
            Ok("justice.example.gov:9000".into())
        );
        for bad in [
            "10.0.0.9",
            "10.0.0.9:0",
            "bad host:9000",
            ":9000",
            "-x.gov:1",
        ] {
            assert!(p2p_address(bad).is_err(), "{bad}");
        }
    }
}

/// Governance's reads. `C` is the options every read takes (the node).
#[derive(Subcommand, Debug)]
pub enum GovernanceQuery<C: Args> {
    /// Governance: threshold, this epoch's validators and the next epoch's; one proposal; or
    /// the open proposals, each with what it would do, who approved and what is missing.
    ///
    /// Example: civitas query governance --open
    Governance {
        /// Show this proposal.
        #[arg(long, conflicts_with = "open")]
        proposal: Option<u64>,
        /// List the open proposals (among the newest 100), as text unless --json.
        #[arg(long)]
        open: bool,
        /// With --open: print JSON.
        #[arg(long, requires = "open")]
        json: bool,
        #[command(flatten)]
        common: C,
    },
    /// The agencies in force, each with the validators it runs this epoch and next (JSON).
    /// A retired agency's record: `civitas query state identity/agency <id>`.
    ///
    /// Example: civitas query agencies
    Agencies {
        #[command(flatten)]
        common: C,
    },
    /// The validator set of an epoch.
    ///
    /// Example: civitas query epoch 0
    Epoch {
        /// The epoch.
        epoch: u64,
        #[command(flatten)]
        common: C,
    },
}

impl<C: Args> ModuleQuery<C> for GovernanceQuery<C> {
    fn common(&self) -> &C {
        match self {
            Self::Governance { common, .. }
            | Self::Agencies { common }
            | Self::Epoch { common, .. } => common,
        }
    }

    fn run(self, console: &dyn Console) -> Result<Printed, QueryFailed> {
        match self {
            Self::Governance {
                proposal,
                open,
                json,
                ..
            } => {
                if open {
                    let (votes, governance) = view::Votes::fetch(console)?;
                    let open = view::open_proposals(console, &governance)?;
                    if json {
                        return Ok(Printed::Json(serde_json::Value::from(open)));
                    }
                    if open.is_empty() {
                        return Ok(Printed::Text("no open proposals\n".into()));
                    }
                    let text: String = open
                        .iter()
                        .map(|proposal| format!("{}\n", view::show(proposal, &votes)))
                        .collect();
                    return Ok(Printed::Text(text));
                }
                match proposal {
                    Some(id) if !json => {
                        let (votes, _) = view::Votes::fetch(console)?;
                        let record = view::proposal(console, id)?;
                        Ok(Printed::Text(view::show(&record, &votes)))
                    }
                    Some(id) => Ok(Printed::Json(
                        console.get(&format!("/v1/governance/proposals/{id}"))?,
                    )),
                    None => Ok(Printed::Json(console.get("/v1/governance")?)),
                }
            }
            Self::Agencies { .. } => Ok(Printed::Json(console.get("/v1/agencies")?)),
            Self::Epoch { epoch, .. } => {
                Ok(Printed::Json(console.get(&format!("/v1/epochs/{epoch}"))?))
            }
        }
    }
}
