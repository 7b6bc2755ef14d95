//! `civitas tx <module> ...` and `civitas query ...`: every module's subcommands, assembled
//! from the registration list.
//!
//! Each entry's module struct names its command type ([`ModuleCli`]); the binary flattens
//! [`ModuleCommands`] into its `tx` command and runs what [`ModuleCommands::prepare`] returns,
//! so it holds no module's options, checks or help.

use civitas_core::instruction::Instruction;
use civitas_primitives::kit::cli::{
    Console, ModuleCli, ModuleCommand, ModuleMain, ModuleProof, ModuleQuery, Prepared, Printed,
    QueryFailed, SendFailed, Sender,
};

macro_rules! commands {
    ($( $(#[$doc:meta])* $variant:ident = $tag:literal, $name:literal :
        $ops:ty, $events:ty => $module:path; )*) => {
        /// One subcommand per module (`civitas tx notary ...`), each with the module's own.
        #[derive(clap::Subcommand, Debug)]
        pub enum ModuleCommands<C: clap::Args> {
            $(
                $(#[$doc])*
                #[command(subcommand)]
                $variant(<$module as ModuleCli>::Command<C>),
            )*
        }

        impl<C: clap::Args> ModuleCommands<C> {
            /// The options every transaction takes, as given.
            pub fn common(&self) -> &C {
                match self {
                    $( Self::$variant(command) => command.common(), )*
                }
            }

            /// Checks what the module checks before signing (reading the node through
            /// `console`), and returns the ledger instruction to sign, with the options.
            pub fn prepare(
                self,
                console: &dyn Console,
            ) -> Result<(Prepared<Instruction>, C), String> {
                match self {
                    $(
                        Self::$variant(command) => {
                            let (prepared, common) = command.prepare(console)?;
                            Ok((
                                Prepared {
                                    instruction: Instruction::$variant(prepared.instruction),
                                    after: prepared.after,
                                },
                                common,
                            ))
                        }
                    )*
                }
            }
        }
    };
}

civitas_core::for_each_module!(commands);

macro_rules! queries {
    ($( $(#[$doc:meta])* $variant:ident = $tag:literal, $name:literal :
        $ops:ty, $events:ty => $module:path; )*) => {
        /// Every module's reads, side by side (`civitas query notary ...`,
        /// `civitas query spending ...`): each module's subcommands are flattened in.
        #[derive(clap::Subcommand, Debug)]
        pub enum ModuleQueries<C: clap::Args> {
            $(
                #[command(flatten)]
                $variant(<$module as ModuleCli>::Query<C>),
            )*
        }

        impl<C: clap::Args> ModuleQueries<C> {
            /// The options every read takes, as given.
            pub fn common(&self) -> &C {
                match self {
                    $( Self::$variant(query) => ModuleQuery::common(query), )*
                }
            }

            /// Reads the node through `console` and says what to print.
            pub fn run(self, console: &dyn Console) -> Result<Printed, QueryFailed> {
                match self {
                    $( Self::$variant(query) => ModuleQuery::run(query, console), )*
                }
            }
        }
    };
}

civitas_core::for_each_module!(queries);

macro_rules! proofs {
    ($( $(#[$doc:meta])* $variant:ident = $tag:literal, $name:literal :
        $ops:ty, $events:ty => $module:path; )*) => {
        /// Every module's proof bundles, side by side (`civitas proof notary ...`): each
        /// module's subcommands are flattened in.
        #[derive(clap::Subcommand, Debug)]
        pub enum ModuleProofs<C: clap::Args> {
            $(
                #[command(flatten)]
                $variant(<$module as ModuleCli>::Proof<C>),
            )*
        }

        impl<C: clap::Args> ModuleProofs<C> {
            /// The options every fetch takes, as given.
            pub fn common(&self) -> &C {
                match self {
                    $( Self::$variant(proof) => ModuleProof::common(proof), )*
                }
            }

            /// The API path of the bundle asked for, or why it cannot be named.
            pub fn path(&self) -> Result<String, String> {
                match self {
                    $( Self::$variant(proof) => ModuleProof::path(proof), )*
                }
            }
        }
    };
}

civitas_core::for_each_module!(proofs);

/// A sender of ledger instructions, as one of a module's own instruction type.
struct Wrap<'a>(&'a mut dyn Sender<Instruction>);

impl<I: Into<Instruction>> Sender<I> for Wrap<'_> {
    fn send(&mut self, instruction: I) -> Result<(), SendFailed> {
        self.0.send(instruction.into())
    }
}

macro_rules! mains {
    ($( $(#[$doc:meta])* $variant:ident = $tag:literal, $name:literal :
        $ops:ty, $events:ty => $module:path; )*) => {
        /// Every module's own top-level commands (`civitas ocds ...`), flattened in.
        #[derive(clap::Subcommand, Debug)]
        pub enum ModuleMains<C: clap::Args> {
            $(
                #[command(flatten)]
                $variant(<$module as ModuleCli>::Main<C>),
            )*
        }

        impl<C: clap::Args> ModuleMains<C> {
            /// The options every transaction takes, when the command sends transactions.
            pub fn common(&self) -> Option<&C> {
                match self {
                    $( Self::$variant(main) => ModuleMain::common(main), )*
                }
            }

            /// Runs the command, reading through `console` and sending through `sender`.
            pub fn run(
                self,
                console: &dyn Console,
                sender: &mut dyn Sender<Instruction>,
            ) -> Result<Printed, QueryFailed> {
                match self {
                    $( Self::$variant(main) => ModuleMain::run(main, console, &mut Wrap(sender)), )*
                }
            }
        }
    };
}

civitas_core::for_each_module!(mains);

#[cfg(test)]
mod query_tests {
    use super::*;
    use civitas_core::crypto::AccountId;
    use civitas_primitives::kit::cli::ReadError;
    use clap::Parser;
    use serde_json::{Value, json};
    use std::collections::BTreeMap;

    #[derive(clap::Args, Debug)]
    struct Node {
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        node: String,
    }

    #[derive(Parser, Debug)]
    struct Cli {
        #[command(subcommand)]
        query: ModuleQueries<Node>,
    }

    /// A node that answers the paths it was given, and 404 for the others.
    struct Answers(BTreeMap<String, Value>);

    impl Console for Answers {
        fn node(&self) -> &str {
            "http://test"
        }
        fn get(&self, path: &str) -> Result<Value, ReadError> {
            self.0.get(path).cloned().ok_or(ReadError {
                status: Some(404),
                message: format!("{path} not found"),
            })
        }
        fn signer(&self) -> Result<AccountId, String> {
            Err("reads sign nothing".into())
        }
        fn confirm(&self, _: &str, _: bool) -> Result<(), String> {
            Err("reads ask nothing".into())
        }
        fn note(&self, _: &str) {}
    }

    fn run(args: &[&str], answers: &[(&str, Value)]) -> Result<Printed, QueryFailed> {
        let cli = Cli::try_parse_from(std::iter::once("query").chain(args.iter().copied()))
            .unwrap_or_else(|e| panic!("{args:?}: {e}"));
        assert_eq!(cli.query.common().node, "http://127.0.0.1:8080");
        let answers = answers
            .iter()
            .map(|(path, value)| (path.to_string(), value.clone()))
            .collect();
        cli.query.run(&Answers(answers))
    }

    #[test]
    fn each_module_s_reads_are_subcommands_of_query() {
        let hash = "ab".repeat(32);
        // A document never anchored: a message, and its absence as JSON for scripts.
        let failed = run(&["notary", &hash, "--json"], &[]).unwrap_err();
        assert_eq!(
            failed.message,
            format!("document {hash} has not been notarised")
        );
        assert_eq!(
            failed.printed,
            Some(Printed::Json(json!({ "document": hash, "found": false })))
        );
        // An anchored one, for a person.
        let path = format!("/v1/notary/documents/{hash}");
        let answer = json!({ "value": { "title": "Deed", "agency": "land", "issuer": "aa",
            "height": 7, "time": 9, "metadata": [{ "key": "parcel", "value": "117" }] } });
        let Printed::Text(text) = run(&["notary", &hash], &[(&path, answer)]).unwrap() else {
            panic!("text expected");
        };
        assert!(text.contains("title:     Deed\n"), "{text}");
        assert!(text.contains("  parcel = 117\n"), "{text}");
        assert!(text.ends_with("status:    valid\n"), "{text}");

        // Spending by a dimension the ledger knows; another is refused before any read.
        let breakdown = json!({ "totals": [{ "value": "health",
            "appropriated": { "text": "100.00 EUR" }, "allotted": { "text": "50.00 EUR" },
            "committed": { "text": "20.00 EUR" }, "paid": { "text": "5.00 EUR" } }] });
        let Printed::Text(text) = run(
            &["spending", "2026", "--by", "agency"],
            &[("/v1/treasury/breakdown/2026/agency", breakdown)],
        )
        .unwrap() else {
            panic!("text expected");
        };
        assert!(text.starts_with("fiscal year 2026, by agency\n"), "{text}");
        assert!(
            text.contains("health") && text.contains("100.00 EUR"),
            "{text}"
        );

        // A tender, and governance's reads passed through as JSON.
        let tender = json!({ "tender": { "id": 1, "title": "Bridge", "agency": "works",
            "stage": "tendering" }, "bids": [] });
        let Printed::Text(text) =
            run(&["tender", "1"], &[("/v1/procurement/tenders/1", tender)]).unwrap()
        else {
            panic!("text expected");
        };
        assert!(text.starts_with("tender 1: Bridge\n"), "{text}");
        let agencies = json!({ "agencies": [], "height": 3 });
        assert_eq!(
            run(&["agencies"], &[("/v1/agencies", agencies.clone())]).unwrap(),
            Printed::Json(agencies)
        );
        // A module's proof bundle is fetched from the module's route.
        #[derive(Parser, Debug)]
        struct Proofs {
            #[command(subcommand)]
            proof: ModuleProofs<Node>,
        }
        let proofs = Proofs::try_parse_from(["proof", "notary", &hash]).expect("parses");
        assert_eq!(proofs.proof.path(), Ok(format!("/v1/proofs/notary/{hash}")));
        assert!(Proofs::try_parse_from(["proof", "spending", "2026"]).is_err());

        // A failed read says what the node said.
        let failed = run(&["epoch", "4"], &[]).unwrap_err();
        assert_eq!(failed.message, "/v1/epochs/4 not found");
    }
}
