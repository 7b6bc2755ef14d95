//! `civitas tx <module> ...`: every module's subcommands, assembled from the registration list.
//!
//! Each entry's module struct names its command type ([`ModuleCli`]); the binary flattens
//! [`ModuleCommands`] into its `tx` command and runs what [`ModuleCommands::prepare`] returns,
//! so it holds no module's options, checks or help.

use civitas_core::instruction::Instruction;
use civitas_primitives::kit::cli::{Console, ModuleCli, ModuleCommand, Prepared};

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
