//! The permits module: permit types an agency defines (steps, the role acting at each,
//! statutory deadlines and what follows when one passes, the form, documents and vault records
//! required, the fee, the licence's validity, renewal and register), applications citizens
//! and businesses file and follow online, the signed decisions at each step, deadlines the
//! ledger enforces on its own at the end of each block, and licences over their life (renewed,
//! amended, suspended, reinstated, revoked, expired). The content of an application stays in
//! the agency's vault; the ledger holds its commitment. See `README.md`.

pub mod authz;
pub mod cli;
pub mod form;
pub mod handler;
pub mod index;
pub mod portal;
pub mod routes;
pub mod samples;
pub mod state;

use civitas_core::event::Event;
use civitas_core::identity::Account;
use civitas_core::permits::PermitsInstruction;
use civitas_kit::authz::Question;
use civitas_kit::{BlockEnv, BlockError, Module, Outcome, Overlay, StateView, TxContext};

/// The permits module, as the registration list names it.
pub struct Permits;

impl civitas_primitives::kit::cli::ModuleCli for Permits {
    type Command<C: clap::Args> = cli::PermitsCommand<C>;
    type Query<C: clap::Args> = civitas_primitives::kit::cli::NoCommands<C>;
    type Proof<C: clap::Args> = civitas_primitives::kit::cli::NoCommands<C>;
    type Main<C: clap::Args> = civitas_primitives::kit::cli::NoCommands<C>;
}

impl Module for Permits {
    type Instruction = PermitsInstruction;
    const SINCE: u16 = 4;
    const SCHEMA: &'static str = include_str!("authz.cedarschema");
    const POLICIES: &'static str = include_str!("policies.cedar");
    const SPACES: &'static [civitas_kit::space::Space] = state::spaces::SPACES;

    async fn question<'a, S: StateView>(
        _ctx: &TxContext<'_>,
        signer: &'a Account,
        cosigners: &'a [Account],
        op: &PermitsInstruction,
        state: &mut Overlay<'_, S>,
    ) -> Outcome<Question<'a>> {
        authz::question(signer, cosigners, op, state).await
    }

    async fn apply<S: StateView>(
        ctx: &TxContext<'_>,
        signer: &Account,
        _cosigners: &[Account],
        op: &PermitsInstruction,
        state: &mut Overlay<'_, S>,
    ) -> Outcome<Vec<Event>> {
        handler::apply(ctx, signer, op, state).await
    }

    fn routes() -> utoipa_axum::router::OpenApiRouter<civitas_kit::ledger::Ledger> {
        routes::routes()
    }

    const SECTIONS: &'static [civitas_kit::portal::Section] = portal::SECTIONS;

    fn pages() -> axum::Router<civitas_kit::portal::Site> {
        portal::pages()
    }

    const ACTIONS: &'static [civitas_kit::portal::Action] = portal::ACTIONS;

    async fn account_page(
        site: &civitas_kit::portal::Site,
        account: &civitas_core::crypto::AccountId,
    ) -> String {
        portal::account_page(site, account).await
    }

    async fn console_page(site: &civitas_kit::portal::Site, agency: &str) -> String {
        portal::console_page(site, agency).await
    }

    const WORKLOADS: &'static [civitas_kit::samples::Workload] = samples::WORKLOADS;

    fn samples(
        seeder: &mut dyn civitas_kit::samples::Seeder,
    ) -> Result<(), civitas_kit::samples::SampleError> {
        samples::seed(seeder)
    }

    const INDEX_TABLES: &'static [&'static str] = index::TABLES;
    const INDEX_MIGRATIONS: &'static [&'static str] = index::MIGRATIONS;

    fn project(
        ctx: &civitas_kit::index::Context<'_>,
        event: &Event,
        rows: &mut civitas_kit::index::Rows,
    ) {
        index::project(ctx, event, rows)
    }

    async fn end_block<S: StateView>(
        env: &BlockEnv,
        state: &mut Overlay<'_, S>,
        budget: usize,
    ) -> Result<Vec<Event>, BlockError> {
        handler::end_block(env, state, budget).await
    }
}
