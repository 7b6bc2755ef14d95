//! Deterministic block execution.
//!
//! [`execute_block`] applies a block's transactions to a version of the state and returns the
//! writes, the receipts and the new history root. It reads time only from the block, iterates
//! only ordered maps, and never touches floats, clocks or randomness, so every honest node
//! computes the same result from the same block.
//!
//! A transaction that fails *authentication* (wrong chain, expired, unknown or inactive signer,
//! missing signature of the account's current key, wrong nonce) makes a block invalid, and a
//! proposer leaves it out. A transaction that authenticates but whose instruction fails is
//! included, consumes its nonce, changes nothing else, and gets a failed receipt.

pub mod overlay;

use civitas_core::block::Header;
use civitas_core::bundle::{StateKey, spaces};
use civitas_core::codec::{from_slice, to_vec};
use civitas_core::crypto::{AccountId, PublicKey};
use civitas_core::event::Event;
use civitas_core::genesis::Genesis;
use civitas_core::hash::Hash32;
use civitas_core::instruction::Instruction;
use civitas_core::mmr::Peaks;
use civitas_core::receipt::{Receipt, TxOutcome};
use civitas_core::time::TimestampMs;
use civitas_core::tx::{SignedTx, TxHash};
use civitas_state::{StateError, StateView};
pub use overlay::Overlay;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

/// Tells execution which transactions this node has already verified (signatures checked at
/// admission), so each signature is verified once per node.
pub trait VerifiedTxs: Send + Sync {
    /// Whether exactly this transaction (body and signatures) was verified before.
    fn is_verified(&self, tx: &SignedTx) -> bool;
}

/// No transaction is known to be verified.
pub struct NoneVerified;

impl VerifiedTxs for NoneVerified {
    fn is_verified(&self, _: &SignedTx) -> bool {
        false
    }
}

/// The block being executed, as far as execution may know it.
#[derive(Clone, Debug)]
pub struct BlockEnv {
    /// Height of the block.
    pub height: u64,
    /// The block's timestamp: the only clock execution reads.
    pub timestamp: TimestampMs,
    /// Digest of the parent block (appended to the history MMR).
    pub parent: Hash32,
    /// The chain's genesis.
    pub genesis: Arc<Genesis>,
    /// The protocol version the block is made under: which instructions it may hold.
    pub protocol: civitas_core::protocol::Protocol,
}

/// How strictly to treat the block's transactions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Building a proposal: leave out transactions that fail authentication.
    Build,
    /// Verifying a peer's proposal: any transaction that fails authentication or whose
    /// signatures do not verify makes the block invalid.
    Verify,
    /// Replaying a block the network already finalized: signatures were checked by a quorum.
    Replay,
}

/// Why a transaction cannot be included at all. Its nonce is not consumed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Rejection {
    /// Stable code, such as `bad_nonce`.
    pub code: &'static str,
    /// What happened and what to do.
    pub message: String,
}

impl Rejection {
    /// Whether the transaction can never be included, whatever block it is tried in.
    ///
    /// Other rejections (unknown signer, wrong key, nonce) depend on the branch being built on:
    /// a transaction refused on one branch may already be included, or become valid, on the
    /// branch that is finalized.
    pub fn is_final(&self) -> bool {
        matches!(
            self.code,
            // A protocol version never goes back: what it refuses for personal data stays
            // refused.
            "wrong_chain" | "expired" | "bad_transaction" | "duplicate" | "personal_data"
        )
    }

    /// A rejection with `code` and `message`.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// Why an included transaction's instruction failed: a stable code and named arguments, which
/// the receipt records; the sentence is rendered from them ([`civitas_core::messages`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// Stable code, such as `not_authorized`.
    pub code: &'static str,
    /// Named arguments in canonical text (see [`civitas_core::messages`]).
    pub args: Vec<(&'static str, String)>,
}

impl Failure {
    /// A failure with `code` and `args`.
    pub fn new(code: &'static str, args: Vec<(&'static str, String)>) -> Self {
        Self { code, args }
    }

    /// The sentence a person reads.
    pub fn message(&self) -> String {
        civitas_core::messages::render(self.code, &self.args)
    }

    /// The outcome a receipt records for this failure in instruction `instruction`: at most
    /// [`ARGS_MAX`](civitas_core::messages::ARGS_MAX) arguments, each value cut to its bound.
    pub fn outcome(&self, instruction: u32) -> TxOutcome {
        TxOutcome::Failed {
            instruction,
            code: self.code.to_string(),
            args: self
                .args
                .iter()
                .take(civitas_core::messages::ARGS_MAX)
                .map(|(name, value)| civitas_core::receipt::FailureArg {
                    name: (*name).to_string(),
                    value: civitas_core::messages::bounded(value.clone()),
                })
                .collect(),
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for Failure {}

/// A [`Failure`] with a code and named arguments:
/// `failure!("too_many", tender = id, bids_max = BIDS_MAX)`. Each value is written in its
/// canonical text ([`civitas_core::messages::ArgValue`]).
#[macro_export]
macro_rules! failure {
    ($code:literal $(, $name:ident = $value:expr)* $(,)?) => {
        $crate::Failure::new(
            $code,
            vec![$((
                stringify!($name),
                $crate::ArgValue::arg(&$value),
            )),*],
        )
    };
}

#[doc(hidden)]
pub use civitas_core::messages::ArgValue;

/// In a handler returning `Result<Result<T, Failure>, BlockError>`: returns the failed outcome
/// `Ok(Err(failure!(...)))`.
#[macro_export]
macro_rules! fail {
    ($($failure:tt)*) => {
        return Ok(Err($crate::failure!($($failure)*)))
    };
}

/// In a handler returning `Result<Result<T, Failure>, BlockError>`: unwraps a rule check's
/// `Result<T, Failure>`, returning the failed outcome on `Err`.
#[macro_export]
macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(value) => value,
            Err(failure) => return Ok(Err(failure)),
        }
    };
}

/// Loads a record that must exist: `Ok(Err(absent()))` if it does not.
pub async fn load_required<T: commonware_codec::Decode<Cfg = ()>, S: StateView>(
    state: &mut Overlay<'_, S>,
    key: &StateKey,
    absent: impl FnOnce() -> Failure,
) -> Result<Result<T, Failure>, BlockError> {
    Ok(state.get_typed::<T>(key).await?.ok_or_else(absent))
}

/// Errors that stop execution of a whole block.
#[derive(Debug, thiserror::Error)]
pub enum BlockError {
    /// The block breaks a rule: it must not be voted for.
    #[error("invalid block ({rule}): {detail}")]
    Invalid {
        /// Stable name of the rule broken, such as `expired` or `state_root_mismatch`.
        rule: &'static str,
        /// What exactly was wrong, for the log.
        detail: String,
    },
    /// Storage failed or is corrupt: the node must stop rather than diverge.
    #[error(transparent)]
    State(#[from] StateError),
}

impl BlockError {
    /// The block breaks `rule`.
    pub fn invalid(rule: &'static str, detail: impl Into<String>) -> Self {
        Self::Invalid {
            rule,
            detail: detail.into(),
        }
    }
}

/// What a transaction's instruction sees of its transaction.
#[derive(Clone, Debug)]
pub struct TxContext<'a> {
    /// The block.
    pub env: &'a BlockEnv,
    /// The transaction hash.
    pub tx_hash: TxHash,
    /// The account it runs for.
    pub signer: AccountId,
    /// The keys that signed it.
    pub signing_keys: Vec<&'a PublicKey>,
}

/// The services: the rules behind each instruction.
pub trait Modules: Clone + Send + Sync + 'static {
    /// Writes the founding state described by genesis (run once, in block 1).
    fn genesis<S: StateView>(
        &self,
        genesis: &Genesis,
        state: &mut Overlay<'_, S>,
    ) -> impl Future<Output = Result<(), BlockError>> + Send;

    /// Runs before the block's transactions (after genesis, in block 1): for example, to
    /// install what the protocol version the block is the first of brings.
    fn begin_block<S: StateView>(
        &self,
        _env: &BlockEnv,
        _state: &mut Overlay<'_, S>,
    ) -> impl Future<Output = Result<(), BlockError>> + Send {
        async { Ok(()) }
    }

    /// Runs after the block's transactions (for example, to close an epoch, or to act on
    /// deadlines that passed), returning the events it emitted: at most
    /// [`END_EVENTS_MAX`]; what it could not do within
    /// that bound it leaves for the next block. They make the block's end receipt
    /// ([`Receipt::block_end`]).
    fn end_block<S: StateView>(
        &self,
        env: &BlockEnv,
        state: &mut Overlay<'_, S>,
    ) -> impl Future<Output = Result<Vec<Event>, BlockError>> + Send;

    /// Checks that the transaction may act for its signer: the account exists, is active, and
    /// its current key signed.
    fn authenticate<S: StateView>(
        &self,
        tx: &SignedTx,
        state: &mut Overlay<'_, S>,
    ) -> impl Future<Output = Result<Result<(), Rejection>, BlockError>> + Send;

    /// Applies one instruction, returning its events.
    fn apply<S: StateView>(
        &self,
        ctx: &TxContext<'_>,
        instruction: &Instruction,
        state: &mut Overlay<'_, S>,
    ) -> impl Future<Output = Result<Result<Vec<Event>, Failure>, BlockError>> + Send;
}

/// The result of executing a block.
#[derive(Debug, Default)]
pub struct BlockResult {
    /// Every state write, in key order.
    pub writes: BTreeMap<Hash32, Option<Vec<u8>>>,
    /// One receipt per included transaction, in block order.
    pub receipts: Vec<Receipt>,
    /// The included transactions (in [`Mode::Build`], the chosen subset).
    pub included: Vec<SignedTx>,
    /// Transactions left out in [`Mode::Build`], with why.
    pub rejected: Vec<(TxHash, Rejection)>,
    /// Root of the history MMR including the parent.
    pub history_root: Hash32,
    /// Merkle root over the receipts (the header's `receipts_root`).
    pub receipts_root: Hash32,
    /// The block's end receipt, when its end-of-block step emitted events
    /// ([`Receipt::block_end`]; not a leaf of `receipts_root`).
    pub end: Option<Receipt>,
}

/// Most events a block's end-of-block step emits (the bound of a receipt's events).
pub const END_EVENTS_MAX: usize = civitas_core::limits::TX_EVENTS_MAX;

/// Key of the next nonce of `account`.
pub fn nonce_key(account: &AccountId) -> StateKey {
    StateKey::new(spaces::NONCE, account.0.to_vec())
}

/// Key of the history MMR peaks.
pub fn history_key() -> StateKey {
    StateKey::new(spaces::HISTORY, Vec::new())
}

/// Reads the next nonce of `account`.
pub async fn read_nonce<S: StateView>(
    state: &mut Overlay<'_, S>,
    account: &AccountId,
) -> Result<u64, BlockError> {
    Ok(state
        .get_typed::<u64>(&nonce_key(account))
        .await?
        .unwrap_or(0))
}

/// Checks the rules of one transaction that need the block but not the state.
fn check_envelope(
    tx: &SignedTx,
    env: &BlockEnv,
    mode: Mode,
    verified: &dyn VerifiedTxs,
) -> Result<(), Rejection> {
    if tx.body.chain_id != env.genesis.chain_id {
        return Err(Rejection::new(
            "wrong_chain",
            format!(
                "transaction is for chain {:?}, this is {:?}",
                tx.body.chain_id, env.genesis.chain_id
            ),
        ));
    }
    if tx.body.expiry < env.timestamp {
        return Err(Rejection::new(
            "expired",
            format!(
                "transaction expired at {} ms, before block time {} ms; sign it again with a later expiry",
                tx.body.expiry.0, env.timestamp.0
            ),
        ));
    }
    if let Some(instruction) = tx
        .body
        .instructions
        .iter()
        .find(|i| !env.protocol.admits(i))
    {
        return Err(Rejection::new(
            "not_active",
            format!(
                "{} is not part of protocol version {}, active at block {}; it can be used once \
                 governance has activated a protocol version that includes it",
                instruction.name(),
                env.protocol.version,
                env.height
            ),
        ));
    }
    if mode != Mode::Replay {
        tx.check_shape()
            .map_err(|e| Rejection::new("bad_transaction", e.to_string()))?;
        if let Some(message) = tx.personal_data_refusal(env.protocol.version) {
            return Err(Rejection::new("personal_data", message));
        }
        if !verified.is_verified(tx) {
            tx.verify_signatures()
                .map_err(|e| Rejection::new("bad_transaction", e.to_string()))?;
        }
    }
    Ok(())
}

/// Executes `txs` as the block described by `env` on top of `base`.
pub async fn execute_block<S: StateView, M: Modules>(
    env: &BlockEnv,
    txs: Vec<SignedTx>,
    base: &S,
    modules: &M,
    mode: Mode,
    verified: &dyn VerifiedTxs,
) -> Result<BlockResult, BlockError> {
    execute_block_until(env, txs, base, modules, mode, verified, &|| false).await
}

/// How many transactions a proposer executes between checks of its time budget.
pub const BUDGET_CHECK_EVERY: usize = 64;

/// Like [`execute_block`], but in [`Mode::Build`] stops taking transactions once `out_of_time`
/// says so (checked every [`BUDGET_CHECK_EVERY`] transactions); the rest are left out, neither
/// included nor rejected. The other modes execute every transaction.
pub async fn execute_block_until<S: StateView, M: Modules>(
    env: &BlockEnv,
    txs: Vec<SignedTx>,
    base: &S,
    modules: &M,
    mode: Mode,
    verified: &dyn VerifiedTxs,
    out_of_time: &(dyn Fn() -> bool + Sync),
) -> Result<BlockResult, BlockError> {
    let mut state = Overlay::new(base);
    if env.height == 1 {
        modules.genesis(&env.genesis, &mut state).await?;
        let meta = StateKey::new(spaces::META, Vec::new());
        state.put_raw(&meta, to_vec(&env.genesis.hash()));
    }

    // History: append the parent's digest.
    let mut peaks: Peaks = state.get_typed(&history_key()).await?.unwrap_or_default();
    if peaks.leaf_count != env.height.saturating_sub(1) {
        return Err(BlockError::State(StateError::Corrupt {
            key: "ledger/history".into(),
            reason: format!(
                "history holds {} blocks but the parent is at height {}",
                peaks.leaf_count,
                env.height.saturating_sub(1)
            ),
        }));
    }
    peaks.append(&env.parent);
    state.put_typed(&history_key(), &peaks);
    modules.begin_block(env, &mut state).await?;

    let mut result = BlockResult {
        history_root: peaks.root(),
        ..BlockResult::default()
    };
    let mut seen: std::collections::BTreeSet<TxHash> = std::collections::BTreeSet::new();
    for (position, tx) in txs.into_iter().enumerate() {
        if mode == Mode::Build
            && position > 0
            && position % BUDGET_CHECK_EVERY == 0
            && out_of_time()
        {
            break;
        }
        let hash = tx.hash();
        if !seen.insert(hash) {
            let rejection = Rejection::new("duplicate", "transaction appears twice in the block");
            match mode {
                Mode::Build => {
                    result.rejected.push((hash, rejection));
                    continue;
                }
                _ => {
                    return Err(BlockError::invalid(
                        rejection.code,
                        format!("tx {hash}: {}", rejection.message),
                    ));
                }
            }
        }
        match admit(env, &tx, &mut state, modules, mode, verified).await? {
            Ok(nonce) => {
                let index = result.included.len() as u32;
                let receipt = run_tx(env, &tx, hash, index, nonce, &mut state, modules).await?;
                result.receipts.push(receipt);
                result.included.push(tx);
            }
            Err(rejection) => match mode {
                Mode::Build => result.rejected.push((hash, rejection)),
                Mode::Verify | Mode::Replay => {
                    return Err(BlockError::invalid(
                        rejection.code,
                        format!("tx {hash}: {}", rejection.message),
                    ));
                }
            },
        }
    }
    let ended = modules.end_block(env, &mut state).await?;
    if ended.len() > END_EVENTS_MAX {
        // The modules keep within the bound; a block that could not be recorded must not be
        // made.
        return Err(BlockError::invalid(
            "too_many_end_events",
            format!(
                "the end-of-block step emitted {} events, more than {END_EVENTS_MAX}",
                ended.len()
            ),
        ));
    }
    result.writes = state.into_writes();
    result.receipts_root = civitas_core::block::receipts_root(&result.receipts);
    if !ended.is_empty() {
        result.end = Some(Receipt::block_end(
            env.height,
            result.included.len() as u32,
            env.timestamp,
            ended,
        ));
    }
    Ok(result)
}

/// Authenticates `tx` and checks its nonce; returns the nonce it consumes.
async fn admit<S: StateView, M: Modules>(
    env: &BlockEnv,
    tx: &SignedTx,
    state: &mut Overlay<'_, S>,
    modules: &M,
    mode: Mode,
    verified: &dyn VerifiedTxs,
) -> Result<Result<u64, Rejection>, BlockError> {
    if let Err(rejection) = check_envelope(tx, env, mode, verified) {
        return Ok(Err(rejection));
    }
    if let Err(rejection) = modules.authenticate(tx, state).await? {
        return Ok(Err(rejection));
    }
    let expected = read_nonce(state, &tx.body.signer).await?;
    if tx.body.nonce != expected {
        return Ok(Err(Rejection::new(
            "bad_nonce",
            format!(
                "nonce {} is not the account's next nonce {expected}",
                tx.body.nonce
            ),
        )));
    }
    Ok(Ok(expected))
}

/// Runs an admitted transaction: consumes the nonce, applies its instructions all-or-nothing.
async fn run_tx<S: StateView, M: Modules>(
    env: &BlockEnv,
    tx: &SignedTx,
    hash: TxHash,
    index: u32,
    nonce: u64,
    state: &mut Overlay<'_, S>,
    modules: &M,
) -> Result<Receipt, BlockError> {
    state.put_typed(&nonce_key(&tx.body.signer), &(nonce + 1));
    let ctx = TxContext {
        env,
        tx_hash: hash,
        signer: tx.body.signer,
        signing_keys: tx.signatures.iter().map(|s| &s.key).collect(),
    };
    state.begin_tx();
    let mut events = Vec::new();
    let mut outcome = TxOutcome::Success;
    for (position, instruction) in tx.body.instructions.iter().enumerate() {
        match modules.apply(&ctx, instruction, state).await? {
            Ok(mut emitted) => events.append(&mut emitted),
            Err(failure) => {
                outcome = failure.outcome(position as u32);
                events.clear();
                break;
            }
        }
    }
    if events.len() > civitas_core::limits::TX_EVENTS_MAX {
        outcome = failure!(
            "too_many_events",
            events = events.len(),
            events_max = civitas_core::limits::TX_EVENTS_MAX
        )
        .outcome(0);
        events.clear();
    }
    if matches!(outcome, TxOutcome::Success) {
        state.commit_tx();
    } else {
        state.rollback_tx();
    }
    Ok(Receipt {
        tx: hash,
        height: env.height,
        index,
        timestamp: env.timestamp,
        signer: tx.body.signer,
        nonce,
        outcome,
        events,
    })
}

/// Checks a header against its parent for the rules that do not need execution: the next
/// height, the parent's digest, the same chain, and a timestamp later than the parent's by at
/// most [`BLOCK_TIME_STEP_MAX_MS`](civitas_core::limits::BLOCK_TIME_STEP_MAX_MS). These rules
/// depend on the two headers only, so every node decides them alike, whenever it checks.
pub fn check_header_link(header: &Header, parent: &Header) -> Result<(), BlockError> {
    if header.height != parent.height + 1 {
        return Err(BlockError::invalid(
            "wrong_height",
            format!(
                "height {} does not follow parent height {}",
                header.height, parent.height
            ),
        ));
    }
    if header.parent != parent.digest() {
        return Err(BlockError::invalid(
            "wrong_parent",
            "parent digest does not match",
        ));
    }
    if header.chain != parent.chain {
        return Err(BlockError::invalid(
            "wrong_chain",
            "chain does not match the parent's",
        ));
    }
    if header.timestamp <= parent.timestamp {
        return Err(BlockError::invalid(
            "timestamp_not_after_parent",
            format!(
                "timestamp {} is not later than the parent's {}",
                header.timestamp.0, parent.timestamp.0
            ),
        ));
    }
    let step = civitas_core::limits::BLOCK_TIME_STEP_MAX_MS;
    if header.timestamp.0 > parent.timestamp.0.saturating_add(step) {
        return Err(BlockError::invalid(
            "timestamp_too_far_after_parent",
            format!(
                "timestamp {} is more than {step} ms after the parent's {}",
                header.timestamp.0, parent.timestamp.0
            ),
        ));
    }
    Ok(())
}

/// The timestamp an honest proposer gives a block on `parent` when its clock reads `now_ms`:
/// its clock, but later than the parent's and at most
/// [`BLOCK_TIME_STEP_MAX_MS`](civitas_core::limits::BLOCK_TIME_STEP_MAX_MS) after it (after a
/// long stall the chain's time catches up with the clock over several blocks).
pub fn next_timestamp(parent: TimestampMs, now_ms: u64) -> TimestampMs {
    let earliest = parent.0.saturating_add(1);
    let latest = parent
        .0
        .saturating_add(civitas_core::limits::BLOCK_TIME_STEP_MAX_MS);
    TimestampMs(now_ms.clamp(earliest, latest))
}

/// Decodes a typed value read from state, naming the key on corruption.
pub fn decode_value<T: commonware_codec::Decode<Cfg = ()>>(
    key: &StateKey,
    bytes: &[u8],
) -> Result<T, StateError> {
    from_slice::<T>(bytes, &()).map_err(|e| StateError::Corrupt {
        key: key.display(),
        reason: e.to_string(),
    })
}
