//! The sharing module: what the ledger knows of the personal data agencies hold in their
//! vaults, and every use of it. Each record has an opaque id, a schema, a holding agency, a
//! salted commitment to its content and a salted tag of its subject; its log is every
//! registration, rectification, share with another agency, read by an official, consent and
//! erasure, each naming who, why and on what legal basis. The data itself never reaches the
//! ledger (it is in the vaults, `civitas-vault`), and nothing here names the person a record
//! is about unless that person signs a consent.
//!
//! A legal basis is a `permit` policy carrying `@basis("...")`: instructions cite one by id and
//! are allowed only if it is one of the policies that permitted them (see
//! `civitas_kit::authz::Question::basis`). See `docs/PERSONAL-DATA.md`.

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
use civitas_core::sharing::SharingInstruction;
use civitas_kit::authz::Question;
use civitas_kit::{Module, Outcome, Overlay, StateView, TxContext};

/// The sharing module, as the registration list names it.
pub struct Sharing;

impl civitas_primitives::kit::cli::ModuleCli for Sharing {
    type Command<C: clap::Args> = cli::SharingCommand<C>;
    type Query<C: clap::Args> = civitas_primitives::kit::cli::NoCommands<C>;
    type Proof<C: clap::Args> = civitas_primitives::kit::cli::NoCommands<C>;
    type Main<C: clap::Args> = civitas_primitives::kit::cli::NoCommands<C>;
}

impl Module for Sharing {
    type Instruction = SharingInstruction;
    const SINCE: u16 = 3;
    const SCHEMA: &'static str = include_str!("authz.cedarschema");
    const POLICIES: &'static str = include_str!("policies.cedar");
    const SPACES: &'static [civitas_kit::space::Space] = state::spaces::SPACES;
    const INDEX_TABLES: &'static [&'static str] = index::TABLES;
    const INDEX_MIGRATIONS: &'static [&'static str] = index::MIGRATIONS;
    const WORKLOADS: &'static [civitas_kit::samples::Workload] = samples::WORKLOADS;
    const SECTIONS: &'static [civitas_kit::portal::Section] = portal::SECTIONS;
    const ACTIONS: &'static [civitas_kit::portal::Action] = portal::ACTIONS;

    fn pages() -> axum::Router<civitas_kit::portal::Site> {
        portal::pages()
    }

    async fn console_page(site: &civitas_kit::portal::Site, agency: &str) -> String {
        portal::console_page(site, agency).await
    }

    fn project(
        ctx: &civitas_kit::index::Context<'_>,
        event: &Event,
        rows: &mut civitas_kit::index::Rows,
    ) {
        index::project(ctx, event, rows)
    }

    async fn question<'a, S: StateView>(
        ctx: &TxContext<'_>,
        signer: &'a Account,
        cosigners: &'a [Account],
        op: &SharingInstruction,
        state: &mut Overlay<'_, S>,
    ) -> Outcome<Question<'a>> {
        authz::question(ctx, signer, cosigners, op, state).await
    }

    async fn apply<S: StateView>(
        ctx: &TxContext<'_>,
        signer: &Account,
        _cosigners: &[Account],
        op: &SharingInstruction,
        state: &mut Overlay<'_, S>,
    ) -> Outcome<Vec<Event>> {
        handler::apply(ctx, signer, op, state).await
    }

    fn routes() -> utoipa_axum::router::OpenApiRouter<civitas_kit::ledger::Ledger> {
        routes::routes()
    }
}
