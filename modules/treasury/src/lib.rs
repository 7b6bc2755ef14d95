//! The treasury module: fiscal years, appropriations, allotments, commitments and payments.
//!
//! Commitments go to registered vendors and payments against them, with limits that
//! execution enforces and running totals that each carry a proof. Its vocabulary
//! (instructions, events, records) is the package in `types/`; this package holds the rest:
//! the question each instruction asks the policies ([`authz`]) and the module's part of the
//! schema and default policies, the handler ([`handler`]) and its records ([`state`]), and
//! the command line ([`cli`]). See `docs/MODULES.md`.

pub mod authz;
pub mod cli;
pub mod handler;
pub mod index;
pub mod portal;
pub mod revenue;
pub mod routes;
pub mod samples;
pub mod state;

use civitas_core::event::Event;
use civitas_core::identity::Account;
use civitas_core::treasury::TreasuryInstruction;
use civitas_kit::authz::Question;
use civitas_kit::{Module, Outcome, Overlay, StateView, TxContext};

/// The treasury module, as the registration list names it.
pub struct Treasury;

impl civitas_primitives::kit::cli::ModuleCli for Treasury {
    type Command<C: clap::Args> = cli::TreasuryCommand<C>;
    type Query<C: clap::Args> = cli::TreasuryQuery<C>;
    type Proof<C: clap::Args> = civitas_primitives::kit::cli::NoCommands<C>;
    type Main<C: clap::Args> = civitas_primitives::kit::cli::NoCommands<C>;
}

impl Module for Treasury {
    type Instruction = TreasuryInstruction;
    const SCHEMA: &'static str = include_str!("authz.cedarschema");
    const POLICIES: &'static str = include_str!("policies.cedar");

    fn routes() -> utoipa_axum::router::OpenApiRouter<civitas_kit::ledger::Ledger> {
        routes::routes()
    }

    const ACTIONS: &'static [civitas_kit::portal::Action] = portal::ACTIONS;

    const INDEX_TABLES: &'static [&'static str] = index::TABLES;
    const INDEX_MIGRATIONS: &'static [&'static str] = index::MIGRATIONS;

    fn project(
        ctx: &civitas_kit::index::Context<'_>,
        event: &Event,
        rows: &mut civitas_kit::index::Rows,
    ) {
        index::project(ctx, event, rows)
    }

    const WORKLOADS: &'static [civitas_kit::samples::Workload] = samples::WORKLOADS;

    fn samples(
        seeder: &mut dyn civitas_kit::samples::Seeder,
    ) -> Result<(), civitas_kit::samples::SampleError> {
        samples::seed(seeder)
    }

    const SECTIONS: &'static [civitas_kit::portal::Section] = portal::SECTIONS;

    fn pages() -> axum::Router<civitas_kit::portal::Site> {
        portal::pages()
    }

    async fn account_page(
        site: &civitas_kit::portal::Site,
        account: &civitas_core::crypto::AccountId,
    ) -> String {
        portal::account_page(site, account).await
    }
    const SPACES: &'static [civitas_kit::space::Space] = state::spaces::SPACES;

    async fn question<'a, S: StateView>(
        _ctx: &TxContext<'_>,
        signer: &'a Account,
        cosigners: &'a [Account],
        op: &TreasuryInstruction,
        state: &mut Overlay<'_, S>,
    ) -> Outcome<Question<'a>> {
        authz::question(signer, cosigners, op, state).await
    }

    async fn apply<S: StateView>(
        ctx: &TxContext<'_>,
        signer: &Account,
        cosigners: &[Account],
        op: &TreasuryInstruction,
        state: &mut Overlay<'_, S>,
    ) -> Outcome<Vec<Event>> {
        handler::apply(ctx, signer, cosigners, op, state).await
    }
}
