//! The governance module: proposals that a threshold of agencies approve, changing the
//! agencies, the validator set (from the next epoch), the threshold itself and the
//! authorization policies; and the epoch records that let anyone follow the validator set from
//! genesis. Its vocabulary is the package in `types/`; see `docs/MODULES.md`.

pub mod authz;
pub mod cli;
pub mod handler;
pub mod index;
pub mod routes;
pub mod state;
pub mod view;

use civitas_core::event::Event;
use civitas_core::genesis::Genesis;
use civitas_core::governance::GovernanceInstruction;
use civitas_core::identity::Account;
use civitas_kit::authz::Question;
use civitas_kit::{BlockEnv, BlockError, Module, Outcome, Overlay, StateView, TxContext};

/// The governance module, as the registration list names it.
pub struct Governance;

impl civitas_primitives::kit::cli::ModuleCli for Governance {
    type Command<C: clap::Args> = cli::GovernanceCommand<C>;
    type Query<C: clap::Args> = cli::GovernanceQuery<C>;
    type Proof<C: clap::Args> = civitas_primitives::kit::cli::NoCommands<C>;
    type Main<C: clap::Args> = civitas_primitives::kit::cli::NoCommands<C>;
}

impl Module for Governance {
    type Instruction = GovernanceInstruction;
    const SCHEMA: &'static str = include_str!("authz.cedarschema");
    const POLICIES: &'static str = include_str!("policies.cedar");

    fn routes() -> utoipa_axum::router::OpenApiRouter<civitas_kit::ledger::Ledger> {
        routes::routes()
    }
    const SPACES: &'static [civitas_kit::space::Space] = state::spaces::SPACES;

    const INDEX_TABLES: &'static [&'static str] = index::TABLES;
    const INDEX_MIGRATIONS: &'static [&'static str] = index::MIGRATIONS;

    fn project(
        ctx: &civitas_kit::index::Context<'_>,
        event: &Event,
        rows: &mut civitas_kit::index::Rows,
    ) {
        index::project(ctx, event, rows)
    }

    async fn question<'a, S: StateView>(
        _ctx: &TxContext<'_>,
        signer: &'a Account,
        cosigners: &'a [Account],
        op: &GovernanceInstruction,
        state: &mut Overlay<'_, S>,
    ) -> Outcome<Question<'a>> {
        authz::question(signer, cosigners, op, state).await
    }

    async fn apply<S: StateView>(
        ctx: &TxContext<'_>,
        signer: &Account,
        _cosigners: &[Account],
        op: &GovernanceInstruction,
        state: &mut Overlay<'_, S>,
    ) -> Outcome<Vec<Event>> {
        handler::apply(ctx, signer, op, state).await
    }

    async fn genesis<S: StateView>(
        genesis: &Genesis,
        state: &mut Overlay<'_, S>,
    ) -> Result<(), BlockError> {
        handler::genesis(genesis, state).await
    }

    async fn end_block<S: StateView>(
        env: &BlockEnv,
        state: &mut Overlay<'_, S>,
        _budget: usize,
    ) -> Result<Vec<Event>, BlockError> {
        handler::end_block(env, state).await?;
        Ok(Vec::new())
    }
}
