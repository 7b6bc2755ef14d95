//! `civitas`: run a node or a local network, manage keys and genesis, send transactions, read
//! the ledger, fetch proof bundles and verify them offline.

mod attack;
mod bench;
mod devnet;
mod devnet_permits;
mod devnet_vaults;
mod disk;
mod genesis_cmd;
mod index_cmd;
mod keys;
mod node_cmd;
mod notify_cmd;
mod output;
mod policy;
mod proof_cmd;
mod query;
mod samples;
mod tx;
mod vault_cmd;
mod verify;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Civitas: a permissioned BFT ledger for public services that anyone can verify.
#[derive(Parser)]
#[command(name = "civitas", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a local network of agency validators with the HTTP API.
    ///
    /// Example: civitas devnet --validators 4 --dir ./devnet --base-port 8080
    Devnet(devnet::Args),
    /// Assemble or inspect a genesis document.
    #[command(subcommand)]
    Genesis(genesis_cmd::Command),
    /// Run one validator node.
    #[command(subcommand)]
    Node(node_cmd::Command),
    /// Create and inspect key files.
    #[command(subcommand)]
    Keys(keys::Command),
    /// Sign and submit transactions.
    #[command(subcommand)]
    Tx(tx::Command),
    /// Read the ledger through a node.
    #[command(subcommand)]
    Query(query::Command),
    /// Read the authorization policies in force; check a policy before proposing it.
    #[command(subcommand)]
    Policy(policy::Command),
    /// Fetch a proof bundle from a node.
    #[command(subcommand)]
    Proof(proof_cmd::Command),
    /// The node's read model, behind the API's lists: its status; rebuild it from the chain.
    #[command(subcommand)]
    Index(index_cmd::Command),
    /// An account's notifications: list them, mark them read (signed with --key).
    ///
    /// Example: civitas inbox --unread --key citizen.json
    Inbox(notify_cmd::InboxArgs),
    /// Webhook subscriptions: have a node post events to your systems, signed (Standard
    /// Webhooks); their delivery logs and dead letters.
    #[command(subcommand)]
    Webhooks(notify_cmd::WebhookCommand),
    /// An agency's vault of personal data: run it beside a node; seal, rectify and read
    /// records through it; download, as a person, what the vaults hold about you.
    #[command(subcommand)]
    Vault(vault_cmd::Command),
    /// Each module's own commands (procurement's `ocds`).
    #[command(flatten)]
    Module(civitas_modules::cli::ModuleMains<tx::Common>),
    /// Measure throughput, latency and costs on a fresh local network.
    ///
    /// Example: civitas bench --txs 20000 --clients 16 --json
    Bench(bench::Args),
    /// Verify a proof bundle offline, against a genesis document only.
    ///
    /// Example: civitas verify deed.cvpb --genesis devnet/genesis.json
    Verify(verify::Args),
}

/// A validator keeps every file of its stores open (a few hundred for a chain of millions of
/// transactions, more as it grows), and many systems let a process open only 1,024 by default
/// while allowing more: raise the soft limit to the hard one, as databases do.
fn raise_open_file_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed to them.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Rust ignores SIGPIPE, so printing into a closed pipe (`civitas policy show | head`)
    // panics. Short commands end quietly instead, like other command-line tools; nodes keep
    // ignoring it, so a closed log pipe never stops a validator.
    if !matches!(cli.command, Command::Node(_) | Command::Devnet(_)) {
        // SAFETY: called before this process starts any thread; it only resets one signal to
        // its default action.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    if matches!(cli.command, Command::Node(_) | Command::Devnet(_)) {
        raise_open_file_limit();
    }
    let result = match cli.command {
        Command::Devnet(args) => devnet::run(args),
        Command::Genesis(command) => genesis_cmd::run(command),
        Command::Node(command) => node_cmd::run(command),
        Command::Keys(command) => keys::run(command),
        Command::Tx(command) => tx::run(command),
        Command::Query(command) => query::run(command),
        Command::Policy(command) => policy::run(command),
        Command::Proof(command) => proof_cmd::run(command),
        Command::Index(command) => index_cmd::run(command),
        Command::Inbox(args) => notify_cmd::inbox(args),
        Command::Webhooks(command) => notify_cmd::webhooks(command),
        Command::Vault(command) => vault_cmd::run(command),
        Command::Module(command) => tx::run_main(command),
        Command::Bench(args) => bench::run(args),
        Command::Verify(args) => return verify::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// The command line assembled from the modules' subcommands is consistent: no two
    /// commands or options share a name (a module naming a command `query` would clash).
    #[test]
    fn the_assembled_command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
