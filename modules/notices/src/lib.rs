//! The notices module: the public register of official notices. An agency's publisher
//! publishes a notice (a bylaw, a decision, a public hearing, a consultation, a closure) with
//! its category, title, the SHA-256 of its text and when it applies; anyone reads the register
//! and checks a copy of a text against it; the agency withdraws a notice, giving a reason.
//!
//! Only the fingerprint of a text goes on the ledger, never the text. This module is the kit's
//! worked example: everything it is lives in this folder, and one line of the registration list
//! and a protocol version (2) add it to the ledger (see `README.md` and `docs/MODULES.md`).

pub mod authz;
pub mod cli;
pub mod handler;
pub mod portal;
pub mod routes;
pub mod samples;
pub mod state;

use civitas_core::event::Event;
use civitas_core::identity::Account;
use civitas_core::notices::NoticesInstruction;
use civitas_kit::authz::Question;
use civitas_kit::{Module, Outcome, Overlay, StateView, TxContext};

/// The notices module, as the registration list names it.
pub struct Notices;

impl civitas_primitives::kit::cli::ModuleCli for Notices {
    type Command<C: clap::Args> = cli::NoticesCommand<C>;
    type Query<C: clap::Args> = civitas_primitives::kit::cli::NoCommands<C>;
    type Proof<C: clap::Args> = civitas_primitives::kit::cli::NoCommands<C>;
    type Main<C: clap::Args> = civitas_primitives::kit::cli::NoCommands<C>;
}

impl Module for Notices {
    type Instruction = NoticesInstruction;
    const SINCE: u16 = 2;
    const SCHEMA: &'static str = include_str!("authz.cedarschema");
    const POLICIES: &'static str = include_str!("policies.cedar");
    const SPACES: &'static [civitas_kit::space::Space] = state::spaces::SPACES;
    const SECTIONS: &'static [civitas_kit::portal::Section] = portal::SECTIONS;
    const ACTIONS: &'static [civitas_kit::portal::Action] = portal::ACTIONS;

    async fn question<'a, S: StateView>(
        _ctx: &TxContext<'_>,
        signer: &'a Account,
        cosigners: &'a [Account],
        op: &NoticesInstruction,
        state: &mut Overlay<'_, S>,
    ) -> Outcome<Question<'a>> {
        authz::question(signer, cosigners, op, state).await
    }

    async fn apply<S: StateView>(
        ctx: &TxContext<'_>,
        signer: &Account,
        _cosigners: &[Account],
        op: &NoticesInstruction,
        state: &mut Overlay<'_, S>,
    ) -> Outcome<Vec<Event>> {
        handler::apply(ctx, signer, op, state).await
    }

    fn routes() -> utoipa_axum::router::OpenApiRouter<civitas_kit::ledger::Ledger> {
        routes::routes()
    }

    fn pages() -> axum::Router<civitas_kit::portal::Site> {
        portal::pages()
    }

    fn samples(
        seeder: &mut dyn civitas_kit::samples::Seeder,
    ) -> Result<(), civitas_kit::samples::SampleError> {
        samples::seed(seeder)
    }
}
