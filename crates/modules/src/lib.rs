//! The services that run on the ledger, one folder each.
//!
//! [`CivitasModules`] routes each instruction to its module, after the one authorization step
//! in [`authz`] (Cedar policies kept on the ledger). Modules see only the state through the executor's overlay; they never talk to
//! the network.

/// Returns a failed outcome (`Ok(Err(Failure))`) with a code and named arguments, as
/// [`civitas_exec::failure!`] builds it.
macro_rules! fail {
    ($($failure:tt)*) => {
        return Ok(Err(civitas_exec::failure!($($failure)*)))
    };
}

/// Unwraps a rule check's `Result<T, Failure>`, returning the failed outcome on `Err`.
macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(value) => value,
            Err(failure) => return Ok(Err(failure)),
        }
    };
}

/// Loads a record that must exist: `Ok(Err(absent()))` if it does not.
pub(crate) async fn load_required<T: commonware_codec::Decode<Cfg = ()>, S: StateView>(
    state: &mut Overlay<'_, S>,
    key: &civitas_core::bundle::StateKey,
    absent: impl FnOnce() -> Failure,
) -> Result<Result<T, Failure>, BlockError> {
    Ok(state.get_typed::<T>(key).await?.ok_or_else(absent))
}

pub mod authz;
pub mod governance;
pub mod identity;
pub mod notary;
pub mod procurement;
pub mod queries;
pub mod treasury;

use civitas_core::event::Event;
use civitas_core::genesis::Genesis;
use civitas_core::instruction::Instruction;
use civitas_core::tx::SignedTx;
use civitas_exec::{BlockEnv, BlockError, Failure, Modules, Overlay, Rejection, TxContext};
use civitas_state::StateView;

/// Roles the ledger itself assigns. What any role may do is up to the policies
/// (`authz/policies.cedar` by default: `admin`, `notary`, `registrar`, `budget`, `treasurer`,
/// `procurement`).
pub mod roles {
    /// Given to every admin key listed in genesis.
    pub const ADMIN: &str = "admin";
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
        authz::genesis(genesis, state).await?;
        governance::handler::genesis(genesis, state).await
    }

    async fn end_block<S: StateView>(
        &self,
        env: &BlockEnv,
        state: &mut Overlay<'_, S>,
    ) -> Result<(), BlockError> {
        authz::end_block(env, state).await?;
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
                return Ok(Err(civitas_exec::failure!("unknown_account")));
            }
        };
        let cosigners = authz::resources::cosigners(&ctx.signing_keys, &signer, state).await?;
        let question =
            match authz::resources::question(ctx, &signer, &cosigners, instruction, state).await? {
                Ok(question) => question,
                Err(failure) => return Ok(Err(failure)),
            };
        let policies = authz::load_active(state).await?;
        if let Err(denial) = authz::decide(&policies, ctx.env, &question) {
            return Ok(Err(denial));
        }
        match instruction {
            Instruction::Identity(op) => identity::handler::apply(ctx, &signer, op, state).await,
            Instruction::Notary(op) => notary::handler::apply(ctx, &signer, op, state).await,
            Instruction::Governance(op) => {
                governance::handler::apply(ctx, &signer, op, state).await
            }
            Instruction::Treasury(op) => {
                treasury::handler::apply(ctx, &signer, &cosigners, op, state).await
            }
            Instruction::Procurement(op) => {
                procurement::handler::apply(ctx, &signer, &cosigners, op, state).await
            }
        }
    }
}
