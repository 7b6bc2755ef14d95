//! The services that run on the ledger, one folder each.
//!
//! [`CivitasModules`] routes each instruction to its module, after the one authorization step
//! in [`policy`]. Modules see only the state through the executor's overlay; they never talk to
//! the network.

pub mod governance;
pub mod identity;
pub mod notary;
pub mod policy;
pub mod queries;

use civitas_core::event::Event;
use civitas_core::genesis::Genesis;
use civitas_core::instruction::Instruction;
use civitas_core::tx::SignedTx;
use civitas_exec::{BlockEnv, BlockError, Failure, Modules, Overlay, Rejection, TxContext};
use civitas_state::StateView;

/// Roles with meaning to the built-in modules.
pub mod roles {
    /// Administers the agency's officials.
    pub const ADMIN: &str = "admin";
    /// Anchors and revokes documents.
    pub const NOTARY: &str = "notary";
    /// Registers citizens' accounts.
    pub const REGISTRAR: &str = "registrar";
}

/// All built-in modules.
#[derive(Clone, Copy, Debug, Default)]
pub struct CivitasModules;

impl Modules for CivitasModules {
    async fn genesis<S: StateView>(
        &self,
        genesis: &Genesis,
        state: &mut Overlay<'_, S>,
    ) -> Result<(), BlockError> {
        identity::handler::genesis(genesis, state).await?;
        governance::handler::genesis(genesis, state).await
    }

    async fn end_block<S: StateView>(
        &self,
        env: &BlockEnv,
        state: &mut Overlay<'_, S>,
    ) -> Result<(), BlockError> {
        governance::handler::end_block(env, state).await
    }

    async fn authenticate<S: StateView>(
        &self,
        tx: &SignedTx,
        state: &mut Overlay<'_, S>,
    ) -> Result<Result<(), Rejection>, BlockError> {
        identity::handler::authenticate(tx, state).await
    }

    async fn apply<S: StateView>(
        &self,
        ctx: &TxContext<'_>,
        instruction: &Instruction,
        state: &mut Overlay<'_, S>,
    ) -> Result<Result<Vec<Event>, Failure>, BlockError> {
        let signer = match identity::state::load_account(state, &ctx.signer).await? {
            Some(account) => account,
            None => {
                return Ok(Err(Failure::new(
                    "unknown_account",
                    "the signer has no account",
                )));
            }
        };
        if let Err(denial) = policy::authorize(ctx, &signer, instruction, state).await? {
            return Ok(Err(denial));
        }
        match instruction {
            Instruction::Identity(op) => identity::handler::apply(ctx, &signer, op, state).await,
            Instruction::Notary(op) => notary::handler::apply(ctx, &signer, op, state).await,
            Instruction::Governance(op) => {
                governance::handler::apply(ctx, &signer, op, state).await
            }
        }
    }
}
