//! The procurement module: tenders, sealed bids, evaluation, awards, contracts and milestones.
//!
//! Its vocabulary (instructions, events, records) is the package in `types/`; this package
//! holds the rest: the question each instruction asks the policies ([`authz`]) and the
//! module's part of the schema and default policies, the handler ([`handler`]) with its
//! records ([`state`]), integrity signals ([`signals`]) and OCDS ([`ocds`]), and the command
//! line ([`cli`]). See `docs/MODULES.md`.

pub mod authz;
pub mod cli;
pub mod handler;
pub mod index;
pub mod ocds;
pub mod portal;
pub mod routes;
pub mod samples;
pub mod signals;
pub mod state;

use civitas_core::event::Event;
use civitas_core::identity::Account;
use civitas_core::procurement::ProcurementInstruction;
use civitas_kit::authz::Question;
use civitas_kit::{Module, Outcome, Overlay, StateView, TxContext};

/// The procurement module, as the registration list names it.
pub struct Procurement;

impl civitas_primitives::kit::cli::ModuleCli for Procurement {
    type Command<C: clap::Args> = cli::ProcurementCommand<C>;
    type Query<C: clap::Args> = cli::ProcurementQuery<C>;
    type Proof<C: clap::Args> = civitas_primitives::kit::cli::NoCommands<C>;
    type Main<C: clap::Args> = cli::ProcurementMain<C>;
}

impl Module for Procurement {
    type Instruction = ProcurementInstruction;
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
        op: &ProcurementInstruction,
        state: &mut Overlay<'_, S>,
    ) -> Outcome<Question<'a>> {
        authz::question(signer, cosigners, op, state).await
    }

    async fn apply<S: StateView>(
        ctx: &TxContext<'_>,
        signer: &Account,
        cosigners: &[Account],
        op: &ProcurementInstruction,
        state: &mut Overlay<'_, S>,
    ) -> Outcome<Vec<Event>> {
        handler::apply(ctx, signer, cosigners, op, state).await
    }
}
