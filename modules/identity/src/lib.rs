//! The identity module: agencies (from genesis, and added by governance), officials with roles,
//! citizens' and businesses' accounts, their keys (rotation, k-of-n), and who signed.
//!
//! An account is identified by the key it was created with; its current keys can be replaced,
//! and from then on only they sign for it. A key belongs to at most one account. Since protocol
//! 3 an account also registers an encryption key (X25519) that its personal data and sealed
//! bids are encrypted to, and a registrar recovers the account of a holder who lost its keys,
//! after a delay in which the holder can object. Its
//! vocabulary is the package in `types/`; see `docs/MODULES.md` for how a module is built.

pub mod authz;
pub mod cli;
pub mod handler;
pub mod portal;
pub mod routes;
pub mod samples;
pub mod state;

use civitas_core::event::Event;
use civitas_core::genesis::Genesis;
use civitas_core::identity::{Account, IdentityInstruction};
use civitas_kit::authz::Question;
use civitas_kit::{BlockError, Module, Outcome, Overlay, StateView, TxContext};

/// Roles the ledger itself assigns. What any role may do is up to the policies (the modules'
/// `policies.cedar` by default: `admin`, `notary`, `registrar`, `budget`, `treasurer`,
/// `procurement`).
pub mod roles {
    /// Given to every admin key listed in genesis.
    pub const ADMIN: &str = "admin";
}

/// The identity module, as the registration list names it.
pub struct Identity;

impl civitas_primitives::kit::cli::ModuleCli for Identity {
    type Command<C: clap::Args> = cli::IdentityCommand<C>;
    type Query<C: clap::Args> = civitas_primitives::kit::cli::NoCommands<C>;
    type Proof<C: clap::Args> = civitas_primitives::kit::cli::NoCommands<C>;
    type Main<C: clap::Args> = civitas_primitives::kit::cli::NoCommands<C>;
}

impl Module for Identity {
    type Instruction = IdentityInstruction;
    const SCHEMA: &'static str = include_str!("authz.cedarschema");
    const POLICIES: &'static str = include_str!("policies.cedar");
    const LATER: &'static [civitas_kit::Later] = &[civitas_kit::Later {
        since: 3,
        schema: include_str!("authz_3.cedarschema"),
        policies: include_str!("policies_3.cedar"),
    }];

    fn routes() -> utoipa_axum::router::OpenApiRouter<civitas_kit::ledger::Ledger> {
        routes::routes()
    }

    const ACTIONS: &'static [civitas_kit::portal::Action] = portal::ACTIONS;

    const WORKLOADS: &'static [civitas_kit::samples::Workload] = samples::WORKLOADS;

    fn samples(
        seeder: &mut dyn civitas_kit::samples::Seeder,
    ) -> Result<(), civitas_kit::samples::SampleError> {
        samples::seed(seeder)
    }
    const SPACES: &'static [civitas_kit::space::Space] = state::spaces::SPACES;

    async fn question<'a, S: StateView>(
        ctx: &TxContext<'_>,
        signer: &'a Account,
        cosigners: &'a [Account],
        op: &IdentityInstruction,
        state: &mut Overlay<'_, S>,
    ) -> Outcome<Question<'a>> {
        authz::question(ctx, signer, cosigners, op, state).await
    }

    async fn apply<S: StateView>(
        ctx: &TxContext<'_>,
        signer: &Account,
        _cosigners: &[Account],
        op: &IdentityInstruction,
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
}
