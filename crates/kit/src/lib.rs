//! The module kit: what a module of the ledger implements, and the authorization step that runs
//! before every instruction.
//!
//! A module is one folder under `modules/` (see `docs/MODULES.md`): its vocabulary in
//! `types/` (instructions, events, records, with their canonical codecs), and in its package a
//! unit struct implementing [`Module`]: the question each instruction asks the policies
//! ([`authz::Question`]), the handler that applies it, the module's part of the Cedar schema
//! and its default policies, and what it writes at genesis and at the end of each block. The
//! registration list (`civitas_core::modules`) names the struct; `civitas-modules` assembles
//! the ledger's dispatch, default schema and policies, and the API's routes from it.

pub mod authz;
pub mod http;
pub mod ledger;
pub mod portal;
pub mod samples;
pub mod schedule;
pub mod space;

/// The read model a module's tables are part of.
pub use civitas_index as index;

pub use civitas_exec::{
    BlockEnv, BlockError, Failure, Overlay, Rejection, TxContext, fail, failure, load_required, tri,
};
pub use civitas_state::{StateError, StateView};

use authz::Question;
use civitas_core::crypto::AccountId;
use civitas_core::event::Event;
use civitas_core::genesis::Genesis;
use civitas_core::identity::Account;
use civitas_core::kit::Operations;
use std::future::Future;

/// What the handler of an instruction returns: its events, or why it failed (the transaction
/// is included, consumes its nonce and changes nothing else), or an error that stops the
/// whole block (storage failure, corrupt state).
pub type Outcome<T> = Result<Result<T, Failure>, BlockError>;

/// What a protocol version after a module's first adds to the module's authorization: the
/// actions of the instructions it adds, and their default policies.
#[derive(Clone, Copy, Debug)]
pub struct Later {
    /// The protocol version that adds them.
    pub since: u16,
    /// The schema part: one `action "module.instruction"` per instruction added (and any
    /// entity type they need).
    pub schema: &'static str,
    /// Their default policies, each with an `@id` and a `@description`.
    pub policies: &'static str,
}

/// A module of the ledger, implemented by a unit struct in the module's package.
///
/// Execution calls [`Module::question`] and, if the policies in force allow it,
/// [`Module::apply`]; both see the state only through the [`Overlay`] and read time only from
/// the block, so every honest validator computes the same result.
pub trait Module {
    /// The module's instructions (its vocabulary's instruction enum).
    type Instruction: Operations;

    /// The module's part of the authorization schema: the entity types its resources are and
    /// one `action "module.instruction"` per instruction. Appended to
    /// [`authz::BASE_SCHEMA`] in registration order.
    const SCHEMA: &'static str;

    /// The module's key spaces: where its records are, how a client names one, and how a
    /// stored value is shown.
    const SPACES: &'static [space::Space] = &[];

    /// The protocol version that introduced the module (1 for the modules of the first
    /// release). A chain started at an earlier version gets the module's schema part and
    /// default policies at the first block of this version; both are frozen once a release
    /// that runs this version ships (change them in a later version, or by governance).
    const SINCE: u16 = 1;

    /// What later protocol versions add to the module's authorization: the schema part and
    /// default policies of the instructions each adds, oldest first. A chain started earlier
    /// gets each at the first block of its version, a chain started later from its genesis,
    /// as a module's own part (see [`Module::SINCE`]); frozen the same way.
    const LATER: &'static [Later] = &[];

    /// The module's default policies (each with an `@id` and a `@description`), appended to
    /// [`authz::BASE_POLICIES`] in registration order. Governance changes them on a running
    /// chain.
    const POLICIES: &'static str;

    /// What the instruction asks the policies: the action, the record it touches (as it would
    /// be created, for an instruction that creates one) and its parameters; or why it cannot
    /// be asked (the record it names does not exist).
    fn question<'a, S: StateView>(
        ctx: &TxContext<'_>,
        signer: &'a Account,
        cosigners: &'a [Account],
        op: &Self::Instruction,
        state: &mut Overlay<'_, S>,
    ) -> impl Future<Output = Outcome<Question<'a>>> + Send;

    /// Applies an instruction the policies allowed: checks the module's own rules, writes its
    /// records and returns its events.
    fn apply<S: StateView>(
        ctx: &TxContext<'_>,
        signer: &Account,
        cosigners: &[Account],
        op: &Self::Instruction,
        state: &mut Overlay<'_, S>,
    ) -> impl Future<Output = Outcome<Vec<Event>>> + Send;

    /// Writes what the module keeps from genesis (run once, in block 1).
    fn genesis<S: StateView>(
        _genesis: &Genesis,
        _state: &mut Overlay<'_, S>,
    ) -> impl Future<Output = Result<(), BlockError>> + Send {
        async { Ok(()) }
    }

    /// Runs after each block's transactions (from the protocol version [`Module::SINCE`]),
    /// returning the events it emitted (they make the block's end receipt): at most `budget`
    /// of them, whatever else is due is left for the next block. Deadlines the module keeps with [`schedule`] are acted on here.
    fn end_block<S: StateView>(
        _env: &BlockEnv,
        _state: &mut Overlay<'_, S>,
        _budget: usize,
    ) -> impl Future<Output = Result<Vec<Event>, BlockError>> + Send {
        async { Ok(Vec::new()) }
    }

    /// The module's HTTP routes under `/v1`, each with its OpenAPI declaration; start from
    /// [`http::router`]. They read the ledger through their state, a [`ledger::Ledger`].
    fn routes() -> utoipa_axum::router::OpenApiRouter<ledger::Ledger> {
        utoipa_axum::router::OpenApiRouter::new()
    }

    /// The module's sections of the portal, in navigation order (each with its card on the
    /// home page); its pages are under them.
    const SECTIONS: &'static [portal::Section] = &[];

    /// The module's portal pages.
    fn pages() -> axum::Router<portal::Site> {
        axum::Router::new()
    }

    /// The agency console's forms for the module's instructions, in the order work runs.
    const ACTIONS: &'static [portal::Action] = &[];

    /// What the module shows a signed-in person about `account` on their account page, as
    /// HTML (empty: nothing).
    fn account_page(
        _site: &portal::Site,
        _account: &AccountId,
    ) -> impl Future<Output = String> + Send {
        async { String::new() }
    }

    /// What the module shows an official of `agency` in the agency console, below the forms,
    /// as HTML (empty: nothing).
    fn console_page(_site: &portal::Site, _agency: &str) -> impl Future<Output = String> + Send {
        async { String::new() }
    }

    /// The module's tables in the read model (emptied when the index is rebuilt).
    const INDEX_TABLES: &'static [&'static str] = &[];

    /// The migrations that make them, in order, in the SQL SQLite and PostgreSQL share (plus
    /// `) WITHOUT ROWID`, for SQLite only); never edited once released (a change is a new
    /// migration after them).
    const INDEX_MIGRATIONS: &'static [&'static str] = &[];

    /// What one event of a successful transaction writes into the module's tables (events of
    /// every module come here: match the module's own and ignore the rest). It runs inside
    /// the block's SQL transaction, so it must not fail: anything it cannot use, it skips.
    fn project(_ctx: &index::Context<'_>, _event: &civitas_core::Event, _rows: &mut index::Rows) {}

    /// The module's benchmark workloads.
    const WORKLOADS: &'static [samples::Workload] = &[];

    /// Seeds the module's devnet sample data (once per network, in registration order).
    fn samples(_seeder: &mut dyn samples::Seeder) -> Result<(), samples::SampleError> {
        Ok(())
    }
}
