//! Byzantine behaviour above the vote level: a proposer that sends invalid blocks, a peer that
//! serves altered blocks over backfill, and a peer that gossips forged transactions.
//!
//! Each is the honest node with one part replaced: [`ByzantineProposer`] wraps the honest ledger
//! application and breaks one rule in each block it proposes (every other field as an honest
//! block has it, so the rule under test is the one that refuses it); [`Tampering`] wraps a p2p
//! sender and rewrites what the node sends on one channel.

use civitas_consensus::app::LedgerApp;
use civitas_consensus::block::{ChainBlock, ConsensusContext};
use civitas_consensus::mempool::Mempool;
use civitas_core::block::{Block, tx_root};
use civitas_core::crypto::PrivateKey;
use civitas_core::hash::Hash32;
use civitas_core::instruction::{Instruction, MetadataEntry, NotaryInstruction};
use civitas_core::limits::BLOCK_ENCODED_MAX_BYTES;
use civitas_core::time::TimestampMs;
use civitas_core::tx::{SignedTx, TxBody};
use civitas_state::SharedDb;
use commonware_codec::{Encode, EncodeSize, Read as _};
use commonware_consensus::marshal::ancestry::Ancestry;
use commonware_glue::stateful::db::DatabaseSet;
use commonware_glue::stateful::{Application, Finality, Input, Proposed};
use commonware_p2p::{CheckedSender, LimitedSender, Recipients};
use commonware_runtime::{IoBufs, deterministic};
use std::sync::{Arc, Mutex};

type E = deterministic::Context;
type Honest = LedgerApp<E>;

/// A rule a Byzantine proposer breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// A state root other than execution gives.
    StateRoot,
    /// A transaction root that does not match the transactions.
    TxRoot,
    /// A receipts root other than execution gives.
    ReceiptsRoot,
    /// A history root other than the chain's.
    HistoryRoot,
    /// The digest of another validator set.
    ValidatorSet,
    /// The next epoch's number.
    Epoch,
    /// A transaction whose signature does not verify.
    BadSignature,
    /// A transaction with no signature.
    MissingSignature,
    /// A transaction that expired before the block.
    Expired,
    /// A transaction for another chain.
    WrongChain,
    /// A transaction included twice.
    Duplicate,
    /// A timestamp an hour after the parent's.
    TimestampFarAhead,
    /// A timestamp ahead of every validator's clock (but within the step after the parent).
    TimestampAheadOfClock,
    /// A timestamp before the parent's.
    TimestampBehind,
    /// A body over the block size limit.
    Oversized,
    /// A protocol version other than the active one (in that version's header format).
    Protocol,
    /// Header format 4 for protocol 1, which is written in format 3 only.
    Format,
    /// An instruction the active protocol version does not admit (the simulation's version 1
    /// leaves out revocation).
    NotActive,
}

impl Fault {
    /// Every fault.
    pub const ALL: [Fault; 18] = [
        Fault::StateRoot,
        Fault::TxRoot,
        Fault::ReceiptsRoot,
        Fault::HistoryRoot,
        Fault::ValidatorSet,
        Fault::Epoch,
        Fault::BadSignature,
        Fault::MissingSignature,
        Fault::Expired,
        Fault::WrongChain,
        Fault::Duplicate,
        Fault::TimestampFarAhead,
        Fault::TimestampAheadOfClock,
        Fault::TimestampBehind,
        Fault::Oversized,
        Fault::Protocol,
        Fault::Format,
        Fault::NotActive,
    ];

    /// The rule an honest validator's application names when it refuses such a block; `None`
    /// when the block is refused before it reaches the application (it does not decode, or its
    /// consensus context does not match the round's).
    pub fn rule(self) -> Option<&'static str> {
        Some(match self {
            Fault::StateRoot => "state_root_mismatch",
            Fault::ReceiptsRoot => "receipts_root_mismatch",
            Fault::HistoryRoot => "history_root_mismatch",
            Fault::ValidatorSet => "wrong_validator_set",
            Fault::BadSignature | Fault::MissingSignature => "bad_transaction",
            Fault::Expired => "expired",
            Fault::WrongChain => "wrong_chain",
            Fault::Duplicate => "duplicate",
            Fault::TimestampFarAhead => "timestamp_too_far_after_parent",
            Fault::TimestampAheadOfClock => "timestamp_ahead_of_clock",
            Fault::TimestampBehind => "timestamp_not_after_parent",
            Fault::Protocol => "wrong_protocol",
            Fault::NotActive => "not_active",
            Fault::TxRoot | Fault::Epoch | Fault::Oversized | Fault::Format => return None,
        })
    }
}

/// Which faults a Byzantine proposer commits, in a seed's order, and what it sent.
pub struct FaultLog {
    order: Vec<Fault>,
    next: usize,
    /// Each fault sent, with the digest of the block that carried it.
    pub sent: Vec<(Fault, Hash32)>,
}

impl FaultLog {
    /// Every fault, in an order drawn from `seed`.
    pub fn new(seed: u64) -> Arc<Mutex<Self>> {
        let mut order = Fault::ALL.to_vec();
        let mut state = seed;
        for i in (1..order.len()).rev() {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            order.swap(i, (state >> 33) as usize % (i + 1));
        }
        Arc::new(Mutex::new(Self {
            order,
            next: 0,
            sent: Vec::new(),
        }))
    }

    /// A log that commits no fault: the proposer stays honest.
    pub fn none() -> Arc<Mutex<Self>> {
        Arc::new(Mutex::new(Self {
            order: Vec::new(),
            next: 0,
            sent: Vec::new(),
        }))
    }

    /// Whether every fault was sent at least once.
    pub fn done(&self) -> bool {
        Fault::ALL
            .iter()
            .all(|fault| self.sent.iter().any(|(f, _)| f == fault))
    }
}

/// The honest ledger application, except that every block it proposes breaks one rule.
#[derive(Clone)]
pub struct ByzantineProposer {
    honest: Honest,
    log: Arc<Mutex<FaultLog>>,
    chain_id: String,
}

impl ByzantineProposer {
    /// Wraps `honest`; faults are taken from `log` in turn.
    pub fn new(honest: Honest, log: Arc<Mutex<FaultLog>>, chain_id: &str) -> Self {
        Self {
            honest,
            log,
            chain_id: chain_id.to_string(),
        }
    }
}

/// An anchor signed by a throwaway key (it never reaches execution past the envelope checks).
fn stray_tx(chain_id: &str, expiry: u64, n: u64, metadata: Vec<MetadataEntry>) -> SignedTx {
    let key = PrivateKey::from_test_seed(9_000);
    TxBody {
        chain_id: chain_id.into(),
        signer: key.public_key().account_id(),
        nonce: n,
        expiry: TimestampMs(expiry),
        instructions: vec![Instruction::Notary(NotaryInstruction::Anchor {
            document: Hash32::sha256(&n.to_be_bytes()),
            title: "stray".into(),
            metadata,
        })],
        memo: String::new(),
    }
    .into_signed(&[&key])
}

/// `block` with `fault`, or `None` if this block cannot carry it (a duplicate needs a
/// transaction to repeat).
fn commit_fault(block: &Block, fault: Fault, chain_id: &str) -> Option<Block> {
    let mut block = block.clone();
    let header = &mut block.header;
    let later = header.timestamp.0 + 3_600_000;
    let forged = |what: &str| Hash32::sha256(format!("forged {what}").as_bytes());
    let append = |block: &mut Block, txs: Vec<SignedTx>| {
        block.txs.extend(txs);
        block.header.tx_count = block.txs.len() as u32;
        block.header.tx_root = tx_root(&block.txs);
    };
    match fault {
        Fault::StateRoot => header.state_root = forged("state"),
        Fault::TxRoot => header.tx_root = forged("transactions"),
        Fault::ReceiptsRoot => header.receipts_root = forged("receipts"),
        Fault::HistoryRoot => header.history_root = forged("history"),
        Fault::ValidatorSet => header.validator_set = forged("validators"),
        Fault::Epoch => header.epoch += 1,
        Fault::TimestampFarAhead => header.timestamp = TimestampMs(later),
        Fault::TimestampAheadOfClock => header.timestamp = TimestampMs(header.timestamp.0 + 5_000),
        Fault::TimestampBehind => header.timestamp = TimestampMs(0),
        Fault::Protocol => {
            header.protocol += 1;
            header.version = civitas_core::block::header_version(header.protocol);
        }
        Fault::Format => header.version = civitas_core::block::HEADER_VERSION,
        Fault::NotActive => {
            let mut tx = stray_tx(chain_id, later, 5, vec![]);
            let key = PrivateKey::from_test_seed(9_000);
            tx.body.instructions = vec![Instruction::Notary(NotaryInstruction::Revoke {
                document: Hash32::sha256(b"stray"),
                reason: "stray".into(),
            })];
            tx = tx.body.into_signed(&[&key]);
            append(&mut block, vec![tx]);
        }
        Fault::BadSignature => {
            let mut tx = stray_tx(chain_id, later, 1, vec![]);
            let mut bytes = tx.signatures[0].signature.to_bytes();
            bytes[10] ^= 1;
            tx.signatures[0].signature =
                civitas_core::crypto::Signature::from_bytes(&bytes).ok()?;
            append(&mut block, vec![tx]);
        }
        Fault::MissingSignature => {
            let mut tx = stray_tx(chain_id, later, 2, vec![]);
            tx.signatures.clear();
            append(&mut block, vec![tx]);
        }
        Fault::Expired => append(&mut block, vec![stray_tx(chain_id, 1, 3, vec![])]),
        Fault::WrongChain => append(
            &mut block,
            vec![stray_tx("another-chain", later, 4, vec![])],
        ),
        Fault::Duplicate => {
            let first = block.txs.first()?.clone();
            append(&mut block, vec![first]);
        }
        Fault::Oversized => {
            // Transactions of about 16 KiB each until the body passes the limit.
            let metadata: Vec<MetadataEntry> = (0..15)
                .map(|i| MetadataEntry {
                    key: format!("k{i}"),
                    value: "x".repeat(500),
                })
                .collect();
            let mut txs = Vec::new();
            let mut size = block.encode_size();
            let mut n = 100;
            while size <= BLOCK_ENCODED_MAX_BYTES {
                let tx = stray_tx(chain_id, later, n, metadata.clone());
                size += tx.encode_size();
                txs.push(tx);
                n += 1;
            }
            append(&mut block, txs);
        }
    }
    Some(block)
}

impl Application<E> for ByzantineProposer {
    type SigningScheme = <Honest as Application<E>>::SigningScheme;
    type Context = ConsensusContext;
    type Block = ChainBlock;
    type Databases = SharedDb<E>;
    type Captured = <Honest as Application<E>>::Captured;
    type Provider = Mempool;
    type Input = ();

    fn sync_targets(block: &ChainBlock) -> <SharedDb<E> as DatabaseSet<E>>::SyncTargets {
        Honest::sync_targets(block)
    }

    async fn genesis(&mut self) -> ChainBlock {
        self.honest.genesis().await
    }

    async fn propose(
        &mut self,
        context: (E, ConsensusContext),
        ancestry: impl Ancestry<ChainBlock>,
        batches: <SharedDb<E> as DatabaseSet<E>>::Unmerkleized,
        input: Input<(), Mempool>,
    ) -> Option<Proposed<Self, E>> {
        let honest = self
            .honest
            .propose(context, ancestry, batches, input)
            .await?;
        let mut log = self.log.lock().unwrap();
        if log.order.is_empty() {
            return Some(Proposed {
                block: honest.block,
                merkleized: honest.merkleized,
            });
        }
        let fault = log.order[log.next % log.order.len()];
        let block = match commit_fault(&honest.block.0, fault, &self.chain_id) {
            Some(block) => {
                log.next += 1;
                log.sent.push((fault, block.digest()));
                ChainBlock::new(block)
            }
            // Propose honestly until a block can carry this fault.
            None => honest.block,
        };
        Some(Proposed {
            block,
            merkleized: honest.merkleized,
        })
    }

    async fn process(
        &mut self,
        context: (E, ConsensusContext),
        ancestry: impl Ancestry<ChainBlock>,
        batches: <SharedDb<E> as DatabaseSet<E>>::Unmerkleized,
        finality: Finality,
    ) -> Option<<SharedDb<E> as DatabaseSet<E>>::Merkleized> {
        self.honest
            .process(context, ancestry, batches, finality)
            .await
    }

    async fn capture(
        &mut self,
        context: (E, ConsensusContext),
        block: &ChainBlock,
        batches: &<SharedDb<E> as DatabaseSet<E>>::Merkleized,
        readers: <SharedDb<E> as DatabaseSet<E>>::Readers,
    ) -> Self::Captured {
        self.honest.capture(context, block, batches, readers).await
    }

    async fn finalized(
        &mut self,
        context: (E, ConsensusContext),
        block: &ChainBlock,
        captured: Self::Captured,
        readers: <SharedDb<E> as DatabaseSet<E>>::Readers,
    ) {
        self.honest
            .finalized(context, block, captured, readers)
            .await
    }
}

/// Rewrites a message before it is sent; returns `None` to send it unchanged.
pub type Rewrite = Arc<dyn Fn(&[u8]) -> Option<Vec<u8>> + Send + Sync>;

/// A p2p sender that rewrites what it sends (when it has a rewrite) and counts the rewrites.
#[derive(Clone)]
pub struct Tampering<S> {
    inner: S,
    rewrite: Option<Rewrite>,
    /// How many messages were rewritten.
    pub rewritten: Arc<std::sync::atomic::AtomicU64>,
}

impl<S> Tampering<S> {
    /// Wraps `inner`; with `rewrite`, every message it sends passes through it.
    pub fn new(
        inner: S,
        rewrite: Option<Rewrite>,
        rewritten: Arc<std::sync::atomic::AtomicU64>,
    ) -> Self {
        Self {
            inner,
            rewrite,
            rewritten,
        }
    }
}

/// The checked form of [`Tampering`].
pub struct TamperingChecked<C> {
    inner: C,
    rewrite: Option<Rewrite>,
    rewritten: Arc<std::sync::atomic::AtomicU64>,
}

impl<S: LimitedSender> LimitedSender for Tampering<S> {
    type PublicKey = S::PublicKey;
    type Checked<'a>
        = TamperingChecked<S::Checked<'a>>
    where
        Self: 'a;

    fn check(
        &mut self,
        recipients: Recipients<Self::PublicKey>,
    ) -> Result<Self::Checked<'_>, std::time::SystemTime> {
        let rewrite = self.rewrite.clone();
        let rewritten = self.rewritten.clone();
        self.inner.check(recipients).map(|inner| TamperingChecked {
            inner,
            rewrite,
            rewritten,
        })
    }
}

impl<C: CheckedSender> CheckedSender for TamperingChecked<C> {
    type PublicKey = C::PublicKey;

    fn recipients(&self) -> Vec<Self::PublicKey> {
        self.inner.recipients()
    }

    fn send(
        self,
        message: impl Into<IoBufs> + Send,
        priority: bool,
    ) -> commonware_actor::Unreliable<commonware_actor::Feedback> {
        let Some(rewrite) = &self.rewrite else {
            return self.inner.send(message, priority);
        };
        let bytes = message.into().coalesce();
        match rewrite(bytes.as_ref()) {
            Some(changed) => {
                self.rewritten
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                self.inner.send(IoBufs::from(changed), priority)
            }
            None => self.inner.send(IoBufs::from(bytes), priority),
        }
    }
}

fn read_varint(bytes: &[u8]) -> Option<(usize, usize)> {
    let mut value = 0usize;
    for (i, byte) in bytes.iter().enumerate().take(5) {
        value |= usize::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

fn write_varint(mut value: usize, out: &mut Vec<u8>) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Alters a block inside a backfill response (the resolver's `id || 1 || bytes(value)`, the
/// value a block, or a certificate followed by a block): its first transaction loses a bit of
/// its signature, or, in an empty block, a transaction is added, while the header stays.
pub fn alter_served_block(message: &[u8]) -> Option<Vec<u8>> {
    if message.len() < 10 || message[8] != 1 {
        return None;
    }
    let (length, prefix) = read_varint(&message[9..])?;
    let value = message.get(9 + prefix..9 + prefix + length)?;
    // The block is what decodes to the end: find where it starts.
    let start = (0..value.len().min(4096)).find(|at| {
        let mut buf = commonware_codec::Copying(&value[*at..]);
        ChainBlock::read_cfg(&mut buf, &()).is_ok() && !bytes::Buf::has_remaining(&buf)
    })?;
    let mut buf = commonware_codec::Copying(&value[start..]);
    let block = ChainBlock::read_cfg(&mut buf, &()).ok()?;
    let mut altered: Block = (*block.0).clone();
    match altered.txs.first_mut() {
        Some(tx) => {
            let mut bytes = tx.signatures[0].signature.to_bytes();
            bytes[5] ^= 1;
            tx.signatures[0].signature =
                civitas_core::crypto::Signature::from_bytes(&bytes).ok()?;
        }
        None => {
            altered.txs.push(stray_tx("sim", u64::MAX, 7, Vec::new()));
            altered.header.tx_count = 1;
        }
    }
    let mut new_value = value[..start].to_vec();
    new_value.extend_from_slice(&altered.encode());
    let mut out = message[..9].to_vec();
    write_varint(new_value.len(), &mut out);
    out.extend_from_slice(&new_value);
    Some(out)
}

/// Alters every transaction of a gossip batch so that its signature no longer verifies.
pub fn forge_gossip(message: &[u8]) -> Option<Vec<u8>> {
    let mut buf = commonware_codec::Copying(message);
    let mut txs: Vec<SignedTx> =
        civitas_core::codec::read_list(&mut buf, civitas_consensus::gossip::GOSSIP_BATCH_MAX, &())
            .ok()?;
    for tx in &mut txs {
        let mut bytes = tx.signatures[0].signature.to_bytes();
        bytes[3] ^= 1;
        tx.signatures[0].signature = civitas_core::crypto::Signature::from_bytes(&bytes).ok()?;
    }
    Some(SignedTx::encode_batch(&txs))
}
