//! The notary module: anchor a document's SHA-256 with its issuer, title and metadata; anyone
//! checks a file against it; the issuing agency can revoke it with a reason.
//!
//! Only the fingerprint goes on the ledger, never the document. Its vocabulary is the package
//! in `types/`; see `docs/MODULES.md` for how a module is built.

pub mod authz;
pub mod cli;
pub mod handler;
pub mod index;
pub mod portal;
pub mod routes;
pub mod samples;
pub mod state;

use civitas_core::event::Event;
use civitas_core::identity::Account;
use civitas_core::notary::NotaryInstruction;
use civitas_kit::authz::Question;
use civitas_kit::{Module, Outcome, Overlay, StateView, TxContext};

/// The notary module, as the registration list names it.
pub struct Notary;

impl civitas_primitives::kit::cli::ModuleCli for Notary {
    type Command<C: clap::Args> = cli::NotaryCommand<C>;
    type Query<C: clap::Args> = cli::NotaryQuery<C>;
    type Proof<C: clap::Args> = cli::NotaryProof<C>;
    type Main<C: clap::Args> = civitas_primitives::kit::cli::NoCommands<C>;
}

impl Module for Notary {
    type Instruction = NotaryInstruction;
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
    const SPACES: &'static [civitas_kit::space::Space] = state::spaces::SPACES;

    async fn question<'a, S: StateView>(
        _ctx: &TxContext<'_>,
        signer: &'a Account,
        cosigners: &'a [Account],
        op: &NotaryInstruction,
        state: &mut Overlay<'_, S>,
    ) -> Outcome<Question<'a>> {
        authz::question(signer, cosigners, op, state).await
    }

    async fn apply<S: StateView>(
        ctx: &TxContext<'_>,
        signer: &Account,
        _cosigners: &[Account],
        op: &NotaryInstruction,
        state: &mut Overlay<'_, S>,
    ) -> Outcome<Vec<Event>> {
        handler::apply(ctx, signer, op, state).await
    }
}
