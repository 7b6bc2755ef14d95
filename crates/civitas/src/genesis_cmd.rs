//! `civitas genesis`: assemble a genesis from the agencies' public keys, names and addresses.

use crate::devnet::now_ms;
use crate::output::{print_json, read_genesis_checked};
use anyhow::{Context, Result, bail};
use civitas_core::crypto::PublicKey;
use civitas_core::genesis::{Genesis, GenesisAgency, genesis_version};
use civitas_core::time::TimestampMs;
use clap::Subcommand;
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum Command {
    /// Start a genesis document with no agencies.
    ///
    /// Example: civitas genesis init --chain-id republic-mainnet --out genesis.json
    Init {
        /// Chain identifier (lowercase letters, digits, '-', '_').
        #[arg(long)]
        chain_id: String,
        /// Where to write it (never overwritten).
        #[arg(long)]
        out: PathBuf,
        /// Blocks per consensus epoch; validator-set changes take effect at the next epoch.
        #[arg(long, default_value_t = civitas_core::genesis::DEFAULT_EPOCH_LENGTH)]
        epoch_length: u64,
        /// Agencies that must approve a governance proposal. Default: more than two thirds of
        /// the agencies, recomputed as agencies are added.
        #[arg(long)]
        governance_threshold: Option<u32>,
        /// Cedar policies in force from the first block, instead of the built-in defaults
        /// (each with an @id annotation; see docs/AUTHORIZATION.md).
        #[arg(long)]
        policies: Option<PathBuf>,
        /// The protocol version of the first block. Default: the newest this release runs.
        /// Later versions activate through governance (civitas tx governance schedule-upgrade).
        #[arg(long)]
        protocol: Option<u16>,
    },
    /// Add a founding agency (its validator key, admin keys and p2p address).
    ///
    /// Example: civitas genesis add-agency --genesis genesis.json --id finance
    ///   --name "Ministry of Finance" --validator-key finance-validator.pub
    ///   --admin-key finance-admin.pub --p2p 10.0.0.1:9000
    AddAgency {
        /// The genesis document to extend.
        #[arg(long)]
        genesis: PathBuf,
        /// Short identifier, such as finance.
        #[arg(long)]
        id: String,
        /// Full name.
        #[arg(long)]
        name: String,
        /// Validator public key: hex, or a key file (only its public key is read).
        #[arg(long)]
        validator_key: String,
        /// Admin public key: hex or key file; repeat for several.
        #[arg(long = "admin-key", required = true)]
        admin_keys: Vec<String>,
        /// The validator's p2p address, host:port.
        #[arg(long)]
        p2p: String,
    },
    /// Show a genesis document's hash and validators.
    Show {
        /// The genesis document.
        file: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// A public key given as hex or as a key file.
pub fn public_key_arg(arg: &str) -> Result<PublicKey> {
    civitas_core::keyfile::public_key_arg(arg).map_err(anyhow::Error::msg)
}

fn write_genesis(path: &Path, genesis: &Genesis) -> Result<()> {
    std::fs::write(path, genesis.to_json() + "\n")
        .with_context(|| format!("cannot write {}", path.display()))
}

pub fn run(command: Command) -> Result<()> {
    match command {
        Command::Init {
            chain_id,
            out,
            epoch_length,
            governance_threshold,
            policies,
            protocol,
        } => {
            if out.exists() {
                bail!("{} already exists", out.display());
            }
            civitas_core::codec::check_ident("chain_id", &chain_id, 64)?;
            let protocols = civitas_core::protocol::Protocols::default();
            let protocol = protocol.unwrap_or_else(|| protocols.newest());
            if protocols.get(protocol).is_none() {
                bail!(
                    "this release (civitas {}) runs protocol versions {}; a network cannot start \
                     at version {protocol}",
                    env!("CARGO_PKG_VERSION"),
                    protocols.describe()
                );
            }
            // The modules the starting version has; later ones join at their version.
            let mut authorization = civitas_modules::authz::authorization_for(protocol);
            if let Some(path) = policies {
                authorization.policies = std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                let entries = civitas_modules::authz::parse_policies(&authorization.policies)
                    .with_context(|| format!("{} does not parse", path.display()))?;
                civitas_modules::authz::compile(&authorization.schema, &entries)
                    .with_context(|| format!("{} does not check", path.display()))?;
            }
            let genesis = Genesis {
                version: genesis_version(protocol),
                protocol,
                chain_id,
                genesis_time: TimestampMs(now_ms()),
                agencies: Vec::new(),
                epoch_length,
                governance_threshold: governance_threshold.unwrap_or(0),
                authorization,
            };
            write_genesis(&out, &genesis)?;
            println!(
                "wrote {}; add agencies with `civitas genesis add-agency`",
                out.display()
            );
            Ok(())
        }
        Command::AddAgency {
            genesis,
            id,
            name,
            validator_key,
            admin_keys,
            p2p,
        } => {
            if !civitas_consensus::node::is_p2p_address(&p2p) {
                bail!(
                    "--p2p {p2p:?} is not host:port or ip:port (for example 10.0.0.1:9000 or node.finance.example:9000)"
                );
            }
            let text = std::fs::read_to_string(&genesis)
                .with_context(|| format!("cannot read {}", genesis.display()))?;
            let mut document: Genesis = serde_json::from_str(&text)
                .with_context(|| format!("{} is not a genesis document", genesis.display()))?;
            // A threshold still at its default follows the number of agencies.
            let automatic = document.governance_threshold
                == Genesis::default_threshold(document.agencies.len());
            document.agencies.push(GenesisAgency {
                id,
                name,
                validator_key: public_key_arg(&validator_key)?,
                admin_keys: admin_keys
                    .iter()
                    .map(|k| public_key_arg(k))
                    .collect::<Result<_>>()?,
                p2p_address: p2p,
            });
            if automatic {
                document.governance_threshold = Genesis::default_threshold(document.agencies.len());
            }
            document.validate()?;
            write_genesis(&genesis, &document)?;
            println!(
                "{} now lists {} agencies; genesis hash {}",
                genesis.display(),
                document.agencies.len(),
                document.hash()
            );
            Ok(())
        }
        Command::Show { file, json } => {
            let genesis = read_genesis_checked(&file)?;
            if json {
                print_json(&serde_json::json!({
                    "chain_id": genesis.chain_id,
                    "hash": genesis.hash(),
                    "protocol": genesis.protocol,
                    "validators": genesis.validators(),
                    "epoch_length": genesis.epoch_length,
                    "governance_threshold": genesis.governance_threshold,
                    "agencies": genesis.agencies,
                    "policies": civitas_modules::authz::parse_policies(&genesis.authorization.policies)
                        .map(|p| p.into_iter().map(|e| e.id).collect::<Vec<_>>())
                        .unwrap_or_default(),
                }));
            } else {
                println!("chain:   {}", genesis.chain_id);
                println!("hash:    {}", genesis.hash());
                println!("starts:  at protocol version {}", genesis.protocol);
                println!(
                    "epochs:  {} blocks; governance needs {} of {} agencies",
                    genesis.epoch_length,
                    genesis.governance_threshold,
                    genesis.agencies.len()
                );
                for agency in &genesis.agencies {
                    println!(
                        "agency:  {:<12} {} (validator {}, p2p {})",
                        agency.id, agency.name, agency.validator_key, agency.p2p_address
                    );
                }
                let policies =
                    civitas_modules::authz::parse_policies(&genesis.authorization.policies)?;
                println!(
                    "policies: {}",
                    policies
                        .iter()
                        .map(|p| p.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            Ok(())
        }
    }
}
