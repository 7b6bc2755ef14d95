//! Proof bundles (format v4): one self-contained file that proves a claim about the ledger to
//! anyone holding the genesis document, with no node and no network.
//!
//! A bundle carries the genesis hash it trusts, the validator set, a finalized header with its
//! finalization certificate, and a claim: either about the state after that block (a key's
//! value, or its absence, with the authenticated-state proof), or that a transaction, exactly
//! as signed, is in that block with a given receipt (two Merkle paths, to `tx_root` and
//! `receipts_root`), or the same about an earlier block, itself proven to be in the certified
//! block's history (a block made final by a descendant's certificate has none of its own). This
//! module checks everything except a state proof itself, which `civitas-state` verifies. The
//! byte layout is specified in `docs/PROOFS.md`.

use crate::block::Header;
use crate::codec::{DecodeError, read_list, read_str, str_size, write_str};
use crate::crypto::{PublicKey, Signature};
use crate::genesis::{Genesis, consensus_namespace, validator_set_digest};
use crate::governance::ValidatorSet;
use crate::hash::{Hash32, tag};
use crate::limits::*;
use crate::receipt::Receipt;
use crate::tx::{SignedTx, TxBody};
use bytes::BufMut;
use commonware_codec::Buf;
use commonware_codec::{DecodeExt, Encode, EncodeSize, RangeCfg, Read, ReadExt, Write};

/// The four bytes every bundle starts with.
pub const BUNDLE_MAGIC: [u8; 4] = *b"CVPB";
/// The bundle format this software writes (4: transactions proven with their signatures,
/// header version 3, claims of transactions in earlier blocks).
pub const BUNDLE_VERSION: u16 = 4;
/// Suffix simplex appends to the consensus namespace for finalize votes.
pub const FINALIZE_SUFFIX: &[u8] = b"_FINALIZE";
/// Longest state key space name, in bytes.
pub const KEY_SPACE_MAX_BYTES: usize = 64;
/// Longest state key id, in bytes.
pub const KEY_ID_MAX_BYTES: usize = 256;
/// Largest encoded state proof, in bytes.
pub const STATE_PROOF_MAX_BYTES: usize = 64 * 1024;

/// A typed state key: a space (such as `notary/document`) and an id within it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct StateKey {
    /// The key space.
    pub space: String,
    /// The id within the space.
    pub id: Vec<u8>,
}

impl StateKey {
    /// A key in `space` with `id`.
    pub fn new(space: &str, id: impl Into<Vec<u8>>) -> Self {
        Self {
            space: space.to_string(),
            id: id.into(),
        }
    }

    /// The 32-byte key stored in the authenticated state:
    /// `H("civitas/state-key", u8(len(space)), space, id)`.
    pub fn hashed(&self) -> Hash32 {
        Hash32::tagged(
            tag::STATE_KEY,
            &[&[self.space.len() as u8], self.space.as_bytes(), &self.id],
        )
    }

    /// `space/id` for display: the id as text when it is printable ASCII (agency ids, total
    /// ids), else in hexadecimal.
    pub fn display(&self) -> String {
        let printable = !self.id.is_empty()
            && self.id.len() != 32
            && self.id.iter().all(|b| b.is_ascii_graphic());
        if printable {
            format!("{}/{}", self.space, String::from_utf8_lossy(&self.id))
        } else {
            format!("{}/{}", self.space, hex::encode(&self.id))
        }
    }
}

/// A validator's signature inside a finalization certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertSignature {
    /// Position of the validator in the validator set (ascending key order).
    pub signer: u32,
    /// Its signature over the finalize message.
    pub signature: Signature,
}

/// A finalization certificate in Civitas's own layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finalization {
    /// Consensus epoch.
    pub epoch: u64,
    /// Consensus view.
    pub view: u64,
    /// View of the parent proposal.
    pub parent_view: u64,
    /// The finalized block digest.
    pub block: Hash32,
    /// Signatures, in ascending signer order, from at least a quorum of validators.
    pub signatures: Vec<CertSignature>,
}

/// What a bundle claims.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    /// A key's value (or absence) in the state after the header's block.
    State(StateClaim),
    /// A transaction is in the header's block, with this receipt.
    Transaction(Box<TxClaim>),
    /// A transaction is in an earlier block, with this receipt; that block is in the header's
    /// history.
    EarlierTransaction(Box<EarlierTxClaim>),
}

impl Claim {
    /// The transaction claimed, for either kind of transaction claim.
    pub fn transaction(&self) -> Option<&TxClaim> {
        match self {
            Self::State(_) => None,
            Self::Transaction(claim) => Some(claim),
            Self::EarlierTransaction(earlier) => Some(&earlier.claim),
        }
    }
}

/// A transaction in a block older than the bundle's certified header: that block's header,
/// the proof that its digest is in the certified header's history, and the transaction claim
/// against it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EarlierTxClaim {
    /// The header of the block that included the transaction.
    pub header: Header,
    /// Siblings of the block's leaf in the history MMR, bottom-up (see [`crate::mmr`]).
    pub history_path: Vec<Hash32>,
    /// Every peak of the history MMR of the certified header, oldest first.
    pub history_peaks: Vec<Hash32>,
    /// The transaction and its receipt in that block.
    pub claim: TxClaim,
}

impl EarlierTxClaim {
    /// Checks that the claimed block is in the history of `certified` (leaf `header.height` of
    /// the MMR over blocks `0..certified.height`) and that the transaction claim holds in it.
    pub fn verify(&self, genesis: &Genesis, certified: &Header) -> Result<(), BundleError> {
        let fail = |reason: String| Err(BundleError::BadTransaction(reason));
        let header = &self.header;
        if header.chain != genesis.hash() {
            return Err(BundleError::WrongChain(header.chain));
        }
        if header.height >= certified.height {
            return fail(format!(
                "the earlier block {} is not below the certified block {}",
                header.height, certified.height
            ));
        }
        let expected = genesis.epoch_of(header.height);
        if header.epoch != expected {
            return Err(BundleError::WrongEpoch {
                height: header.height,
                expected,
                found: header.epoch,
            });
        }
        let proof = crate::mmr::MmrProof {
            index: header.height,
            leaf_count: certified.height,
            path: self.history_path.clone(),
            peaks: self.history_peaks.clone(),
        };
        if !proof.verify(&certified.history_root, &header.digest()) {
            return fail(format!(
                "block {} is not proven to be in the history of the certified block {}",
                header.height, certified.height
            ));
        }
        self.claim.verify(header)
    }
}

/// A transaction, its receipt, and where both sit in their block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxClaim {
    /// The transaction, with its signatures.
    pub tx: SignedTx,
    /// Its receipt (`receipt.index` is its position in the block).
    pub receipt: Receipt,
    /// Merkle path of the transaction's signed hash to the header's `tx_root`.
    pub tx_path: Vec<Hash32>,
    /// Merkle path of the receipt hash to the header's `receipts_root`.
    pub receipt_path: Vec<Hash32>,
}

/// What the bundle claims about the state after the header's block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateClaim {
    /// The key.
    pub key: StateKey,
    /// `Some(value)`: the key holds exactly this value. `None`: the key is absent.
    pub value: Option<Vec<u8>>,
    /// The authenticated-state proof (encoding in `docs/PROOFS.md`).
    pub proof: Vec<u8>,
}

/// One change of validator set on the way from genesis to the bundle's block: the last block
/// of the epoch before the change, certified by the outgoing set, and the incoming set proven
/// against that block's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Handover {
    /// The last block of epoch `header.epoch`.
    pub header: Header,
    /// Its finalization certificate, signed by the outgoing validators.
    pub finalization: Finalization,
    /// The validator set of epoch `header.epoch + 1`.
    pub next: ValidatorSet,
    /// State proof that `consensus/epoch/<be64(header.epoch + 1)>` holds `next`.
    pub proof: Vec<u8>,
}

/// A proof bundle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProofBundle {
    /// Hash of the genesis document the bundle is anchored to.
    pub genesis: Hash32,
    /// Every change of validator set between genesis and the header's epoch, in order.
    pub handovers: Vec<Handover>,
    /// The validator set that signed the certificate (ascending key order): the genesis set,
    /// or the last hand-over's.
    pub validators: Vec<PublicKey>,
    /// A finalized header.
    pub header: Header,
    /// Its finalization certificate.
    pub finalization: Finalization,
    /// The claim, proven against the header.
    pub claim: Claim,
}

/// Why a bundle does not verify. Every variant reads as a sentence for the verdict.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum BundleError {
    /// Not a bundle, or damaged.
    #[error("the file is not a readable proof bundle: {0}")]
    Malformed(String),
    /// A newer format.
    #[error(
        "bundle format version {0} is not supported by this verifier (it reads version {BUNDLE_VERSION})"
    )]
    UnsupportedVersion(u16),
    /// Anchored to a different genesis.
    #[error(
        "the bundle is anchored to genesis {bundle}, but the genesis you supplied hashes to {supplied}"
    )]
    WrongGenesis {
        /// Genesis named by the bundle.
        bundle: Hash32,
        /// Hash of the supplied genesis.
        supplied: Hash32,
    },
    /// Header from a different chain.
    #[error("the header belongs to chain {0}, not to the supplied genesis")]
    WrongChain(Hash32),
    /// Validator set does not match genesis or the header.
    #[error("the bundle's validator set does not match {0}")]
    WrongValidators(&'static str),
    /// The hand-over chain is broken.
    #[error("validator hand-over #{index} into epoch {epoch} does not verify: {reason}")]
    BadHandover {
        /// Position in the chain (0 = first change after genesis).
        index: usize,
        /// The epoch it hands over to.
        epoch: u64,
        /// What is wrong.
        reason: String,
    },
    /// The header's epoch does not follow from its height.
    #[error("block {height} belongs to epoch {expected}, but its header says epoch {found}")]
    WrongEpoch {
        /// The header's height.
        height: u64,
        /// The epoch the genesis epoch length puts it in.
        expected: u64,
        /// The header's epoch.
        found: u64,
    },
    /// Certificate does not name this header.
    #[error("the certificate finalizes block {certificate}, but the header's digest is {header}")]
    WrongBlock {
        /// Digest named by the certificate.
        certificate: Hash32,
        /// Digest of the header.
        header: Hash32,
    },
    /// Not enough valid signatures.
    #[error("the certificate has {valid} valid validator signatures; {required} are required")]
    NoQuorum {
        /// Valid, distinct signatures found.
        valid: usize,
        /// Quorum for the validator set.
        required: usize,
    },
    /// A signature is invalid.
    #[error("signature of validator #{0} does not verify")]
    BadSignature(u32),
    /// The state proof does not verify.
    #[error("the state proof does not match the header's state root")]
    BadStateProof,
    /// The transaction claim does not verify.
    #[error("the transaction claim does not verify: {0}")]
    BadTransaction(String),
}

/// Quorum for `n` validators tolerating `f = (n-1)/3` faults: `n - f`.
pub fn quorum(n: usize) -> usize {
    n - (n.saturating_sub(1)) / 3
}

/// The exact bytes each validator signs to finalize `block`: the simplex proposal
/// `varint(epoch) || varint(view) || varint(parent_view) || block`.
pub fn finalize_message(epoch: u64, view: u64, parent_view: u64, block: &Hash32) -> Vec<u8> {
    let mut message = Vec::with_capacity(64);
    write_varint(epoch, &mut message);
    write_varint(view, &mut message);
    write_varint(parent_view, &mut message);
    message.extend_from_slice(block.as_ref());
    message
}

fn write_varint(mut value: u64, out: &mut Vec<u8>) {
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

impl Finalization {
    /// Verifies the certificate against `validators` (ascending key order) for the chain whose
    /// genesis hash is `genesis`.
    pub fn verify(&self, genesis: &Hash32, validators: &[PublicKey]) -> Result<(), BundleError> {
        let mut namespace = consensus_namespace(genesis);
        namespace.extend_from_slice(FINALIZE_SUFFIX);
        let message = finalize_message(self.epoch, self.view, self.parent_view, &self.block);
        let mut last: Option<u32> = None;
        for entry in &self.signatures {
            if last.is_some_and(|prev| entry.signer <= prev) {
                return Err(BundleError::Malformed(
                    "certificate signers must be strictly ascending".into(),
                ));
            }
            last = Some(entry.signer);
            let key = validators
                .get(entry.signer as usize)
                .ok_or(BundleError::BadSignature(entry.signer))?;
            if !key.verify(&namespace, &message, &entry.signature) {
                return Err(BundleError::BadSignature(entry.signer));
            }
        }
        let required = quorum(validators.len());
        if self.signatures.len() < required {
            return Err(BundleError::NoQuorum {
                valid: self.signatures.len(),
                required,
            });
        }
        Ok(())
    }
}

impl ProofBundle {
    /// Decodes a bundle from untrusted bytes, checking its trailing checksum.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, BundleError> {
        if bytes.len() > BUNDLE_MAX_BYTES {
            return Err(BundleError::Malformed(format!(
                "{} bytes is over the {BUNDLE_MAX_BYTES}-byte limit",
                bytes.len()
            )));
        }
        if bytes.len() < 6 + 32 || bytes[..4] != BUNDLE_MAGIC {
            return Err(BundleError::Malformed("missing the CVPB signature".into()));
        }
        let version = u16::from_be_bytes([bytes[4], bytes[5]]);
        if version != BUNDLE_VERSION {
            return Err(BundleError::UnsupportedVersion(version));
        }
        let (body, checksum) = bytes.split_at(bytes.len() - 32);
        if Hash32::tagged(tag::BUNDLE, &[body]).as_ref() != checksum {
            return Err(BundleError::Malformed(
                "its checksum does not match: the file was altered or damaged".into(),
            ));
        }
        crate::codec::from_slice::<Self>(body, &())
            .map_err(|e: DecodeError| BundleError::Malformed(e.to_string()))
    }

    /// Encodes the bundle, followed by its checksum `T("civitas/bundle", body)`.
    ///
    /// The checksum detects any accidental change of the file. It is not what makes a bundle
    /// trustworthy (anyone can recompute it); the certificate and the state proof are.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = self.encode().to_vec();
        let checksum = Hash32::tagged(tag::BUNDLE, &[&bytes]);
        bytes.extend_from_slice(checksum.as_ref());
        bytes
    }

    /// Checks everything but a state claim's proof: genesis, the hand-over chain from the
    /// genesis validators to the header's epoch, header, certificate, and a transaction claim
    /// entirely. `state_proof(root, key, value, proof)` checks an authenticated-state proof
    /// (see `civitas_state::proof::verify`); it is used for the hand-overs. For a state claim
    /// the caller then checks its proof against `header.state_root`.
    pub fn verify_anchor(
        &self,
        genesis: &Genesis,
        state_proof: impl Fn(&Hash32, &StateKey, Option<&[u8]>, &[u8]) -> bool,
    ) -> Result<(), BundleError> {
        let supplied = genesis.hash();
        if self.genesis != supplied {
            return Err(BundleError::WrongGenesis {
                bundle: self.genesis,
                supplied,
            });
        }
        // Follow the validator set from genesis through each hand-over.
        let mut validators = genesis.validators();
        let mut epoch = 0u64;
        for (index, handover) in self.handovers.iter().enumerate() {
            let header = &handover.header;
            let next_epoch = header.epoch.saturating_add(1);
            let fail = |reason: String| BundleError::BadHandover {
                index,
                epoch: next_epoch,
                reason,
            };
            if header.epoch < epoch {
                return Err(fail(format!(
                    "it leaves epoch {}, but the chain is already at epoch {epoch}",
                    header.epoch
                )));
            }
            check_block(genesis, header, &handover.finalization, &validators)
                .map_err(|e| fail(e.to_string()))?;
            if header.height != genesis.last_height_of(header.epoch) {
                return Err(fail(format!(
                    "block {} is not the last block of epoch {}",
                    header.height, header.epoch
                )));
            }
            handover
                .next
                .check()
                .map_err(|e| fail(format!("the incoming set is malformed: {e}")))?;
            let key = StateKey::new(spaces::EPOCH, next_epoch.to_be_bytes().to_vec());
            let value = handover.next.encode();
            if !state_proof(&header.state_root, &key, Some(&value), &handover.proof) {
                return Err(fail(
                    "the incoming validator set is not proven by the block's state".into(),
                ));
            }
            validators = handover.next.keys();
            epoch = next_epoch;
        }
        if self.header.epoch < epoch {
            return Err(BundleError::WrongValidators(
                "the hand-over chain (the block is older than the last hand-over)",
            ));
        }
        if self.validators != validators {
            return Err(BundleError::WrongValidators(if self.handovers.is_empty() {
                "the genesis validator set"
            } else {
                "the set of the last hand-over"
            }));
        }
        check_block(genesis, &self.header, &self.finalization, &self.validators)?;
        match &self.claim {
            Claim::State(_) => {}
            Claim::Transaction(claim) => claim.verify(&self.header)?,
            Claim::EarlierTransaction(claim) => claim.verify(genesis, &self.header)?,
        }
        Ok(())
    }
}

impl TxClaim {
    /// Checks that the transaction, exactly as signed, and its receipt are at `receipt.index`
    /// of the block whose header is `header`, and that the transaction's signatures verify.
    pub fn verify(&self, header: &Header) -> Result<(), BundleError> {
        let fail = |reason: &str| Err(BundleError::BadTransaction(reason.to_string()));
        if self.receipt.tx != self.tx.hash() {
            return fail("the receipt is for another transaction");
        }
        if self.receipt.height != header.height {
            return fail("the receipt names another block");
        }
        let (index, count) = (self.receipt.index as usize, header.tx_count as usize);
        let signed = self.tx.signed_hash();
        if !crate::merkle::verify(&header.tx_root, &signed, index, count, &self.tx_path) {
            return fail(
                "the transaction with these signatures is not at the receipt's position in the block",
            );
        }
        if !crate::merkle::verify(
            &header.receipts_root,
            &self.receipt.hash(),
            index,
            count,
            &self.receipt_path,
        ) {
            return fail("the receipt is not the block's receipt for that position");
        }
        // The block commits to these exact signatures; checking them too shows that each key
        // listed really signed. (Exactly what PROOFS.md section 10 step 7 asks: at least one
        // signature, no key twice, each valid; the rules a transaction must meet to be admitted
        // are not a verifier's concern.)
        let signatures = &self.tx.signatures;
        if signatures.is_empty() {
            return fail("the transaction carries no signature");
        }
        for (index, entry) in signatures.iter().enumerate() {
            if signatures[..index].iter().any(|e| e.key == entry.key) {
                return fail("a key signed the transaction twice");
            }
        }
        self.tx
            .verify_signatures()
            .map_err(|e| BundleError::BadTransaction(format!("its signatures: {e}")))
    }
}

/// The ledger's own state key spaces. Each module names its own in its package
/// (`modules/<name>/src/state.rs`, `spaces`).
pub mod spaces {
    /// Next nonce of an account, by account id.
    pub const NONCE: &str = "ledger/nonce";
    /// The history MMR peaks (single key, empty id).
    pub const HISTORY: &str = "ledger/history";
    /// The chain's meta record (single key, empty id).
    pub const META: &str = "ledger/meta";
    /// The validator set of an epoch, by big-endian u64 epoch; written by the last block of
    /// the epoch before.
    pub const EPOCH: &str = "consensus/epoch";
    /// The epochs whose validator set differs from the epoch before (single key, empty id).
    pub const HANDOVERS: &str = "consensus/handovers";
    /// The Cedar schema policies are checked against (single key, empty id).
    pub const AUTHZ_SCHEMA: &str = "authz/schema";
    /// The policy set in force, with its version and the height it took effect (single key).
    pub const AUTHZ_POLICIES: &str = "authz/policies";
    /// A policy set approved by governance, in force from the next block (single key).
    pub const AUTHZ_PENDING: &str = "authz/pending";
    /// Every policy set that was ever in force, by big-endian u64 version.
    pub const AUTHZ_VERSION: &str = "authz/version";
    /// The protocol version whose modules' schema parts and default policies the chain's
    /// authorization holds (single key, big-endian u16); absent: the genesis's version.
    pub const AUTHZ_PROTOCOL: &str = "authz/protocol";
}

impl Write for StateKey {
    fn write(&self, buf: &mut impl BufMut) {
        write_str(&self.space, buf);
        self.id.write(buf);
    }
}

impl EncodeSize for StateKey {
    fn encode_size(&self) -> usize {
        str_size(&self.space) + self.id.encode_size()
    }
}

impl Read for StateKey {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, commonware_codec::Error> {
        Ok(Self {
            space: read_str(buf, KEY_SPACE_MAX_BYTES)?,
            id: Vec::<u8>::read_cfg(buf, &(RangeCfg::new(..=KEY_ID_MAX_BYTES), ()))?,
        })
    }
}

impl Write for CertSignature {
    fn write(&self, buf: &mut impl BufMut) {
        self.signer.write(buf);
        self.signature.write(buf);
    }
}

impl EncodeSize for CertSignature {
    fn encode_size(&self) -> usize {
        4 + 64
    }
}

impl Read for CertSignature {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, commonware_codec::Error> {
        Ok(Self {
            signer: u32::read(buf)?,
            signature: Signature::read(buf)?,
        })
    }
}

impl Write for Finalization {
    fn write(&self, buf: &mut impl BufMut) {
        self.epoch.write(buf);
        self.view.write(buf);
        self.parent_view.write(buf);
        self.block.write(buf);
        self.signatures.write(buf);
    }
}

impl EncodeSize for Finalization {
    fn encode_size(&self) -> usize {
        24 + 32 + self.signatures.encode_size()
    }
}

impl Read for Finalization {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, commonware_codec::Error> {
        Ok(Self {
            epoch: u64::read(buf)?,
            view: u64::read(buf)?,
            parent_view: u64::read(buf)?,
            block: Hash32::read(buf)?,
            signatures: read_list(buf, VALIDATORS_MAX, &())?,
        })
    }
}

impl Write for Claim {
    fn write(&self, buf: &mut impl BufMut) {
        match self {
            Self::State(claim) => {
                0u8.write(buf);
                claim.write(buf);
            }
            Self::Transaction(claim) => {
                1u8.write(buf);
                claim.write(buf);
            }
            Self::EarlierTransaction(claim) => {
                2u8.write(buf);
                claim.header.write(buf);
                claim.history_path.write(buf);
                claim.history_peaks.write(buf);
                claim.claim.write(buf);
            }
        }
    }
}

impl EncodeSize for Claim {
    fn encode_size(&self) -> usize {
        1 + match self {
            Self::State(claim) => claim.encode_size(),
            Self::Transaction(claim) => claim.encode_size(),
            Self::EarlierTransaction(claim) => {
                claim.header.encode_size()
                    + claim.history_path.encode_size()
                    + claim.history_peaks.encode_size()
                    + claim.claim.encode_size()
            }
        }
    }
}

impl Read for Claim {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, commonware_codec::Error> {
        match u8::read(buf)? {
            0 => Ok(Self::State(StateClaim::read(buf)?)),
            1 => Ok(Self::Transaction(Box::new(TxClaim::read(buf)?))),
            2 => Ok(Self::EarlierTransaction(Box::new(EarlierTxClaim {
                header: Header::read(buf)?,
                history_path: read_list(buf, HISTORY_PATH_MAX, &())?,
                history_peaks: read_list(buf, HISTORY_PATH_MAX, &())?,
                claim: TxClaim::read(buf)?,
            }))),
            _ => Err(commonware_codec::Error::Invalid("Claim", "unknown kind")),
        }
    }
}

/// Length-prefixed bytes of at most `max` bytes that decode exactly to one `T`.
fn read_prefixed<T: Read<Cfg = ()>>(
    buf: &mut impl Buf,
    max: usize,
) -> Result<T, commonware_codec::Error> {
    let bytes = Vec::<u8>::read_cfg(buf, &(RangeCfg::new(..=max), ()))?;
    T::decode(commonware_codec::Copying(bytes.as_slice()))
}

/// The length prefix of [`read_prefixed`] bytes.
fn prefix(value: &impl EncodeSize) -> commonware_codec::varint::UInt<u32> {
    commonware_codec::varint::UInt(value.encode_size() as u32)
}

impl Write for TxClaim {
    fn write(&self, buf: &mut impl BufMut) {
        // The body and the receipt are length-prefixed, so a verifier can hash them without
        // decoding instructions or events.
        prefix(&self.tx.body).write(buf);
        self.tx.body.write(buf);
        self.tx.signatures.write(buf);
        prefix(&self.receipt).write(buf);
        self.receipt.write(buf);
        self.tx_path.write(buf);
        self.receipt_path.write(buf);
    }
}

impl EncodeSize for TxClaim {
    fn encode_size(&self) -> usize {
        prefix(&self.tx.body).encode_size()
            + self.tx.body.encode_size()
            + self.tx.signatures.encode_size()
            + prefix(&self.receipt).encode_size()
            + self.receipt.encode_size()
            + self.tx_path.encode_size()
            + self.receipt_path.encode_size()
    }
}

impl Read for TxClaim {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, commonware_codec::Error> {
        let body = read_prefixed::<TxBody>(buf, TX_ENCODED_MAX_BYTES)?;
        let signatures = read_list(buf, TX_SIGNATURES_MAX, &())?;
        Ok(Self {
            tx: SignedTx { body, signatures },
            receipt: read_prefixed::<Receipt>(buf, RECEIPT_MAX_BYTES)?,
            tx_path: read_list(buf, MERKLE_PATH_MAX, &())?,
            receipt_path: read_list(buf, MERKLE_PATH_MAX, &())?,
        })
    }
}

/// Longest Merkle path in a block's transaction or receipt tree (blocks hold at most
/// [`BLOCK_TXS_MAX`] transactions).
pub const MERKLE_PATH_MAX: usize = 32;
/// Most digests in a history MMR path, and most peaks (heights are 64-bit numbers).
pub const HISTORY_PATH_MAX: usize = 64;
/// Largest encoded receipt in a transaction claim, in bytes.
pub const RECEIPT_MAX_BYTES: usize = 64 * 1024;

impl Write for StateClaim {
    fn write(&self, buf: &mut impl BufMut) {
        self.key.write(buf);
        self.value.write(buf);
        self.proof.write(buf);
    }
}

impl EncodeSize for StateClaim {
    fn encode_size(&self) -> usize {
        self.key.encode_size() + self.value.encode_size() + self.proof.encode_size()
    }
}

impl Read for StateClaim {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, commonware_codec::Error> {
        Ok(Self {
            key: StateKey::read(buf)?,
            value: Option::<Vec<u8>>::read_cfg(
                buf,
                &(RangeCfg::new(..=STATE_VALUE_MAX_BYTES), ()),
            )?,
            proof: Vec::<u8>::read_cfg(buf, &(RangeCfg::new(..=STATE_PROOF_MAX_BYTES), ()))?,
        })
    }
}

/// Checks that `header` is from the supplied chain and epoch, and that `finalization` is a
/// quorum certificate over it by `validators`.
fn check_block(
    genesis: &Genesis,
    header: &Header,
    finalization: &Finalization,
    validators: &[PublicKey],
) -> Result<(), BundleError> {
    let chain = genesis.hash();
    if header.chain != chain {
        return Err(BundleError::WrongChain(header.chain));
    }
    let expected = genesis.epoch_of(header.height);
    if header.epoch != expected || finalization.epoch != expected {
        return Err(BundleError::WrongEpoch {
            height: header.height,
            expected,
            found: header.epoch,
        });
    }
    if validator_set_digest(validators) != header.validator_set {
        return Err(BundleError::WrongValidators(
            "the header's validator-set digest",
        ));
    }
    let digest = header.digest();
    if finalization.block != digest {
        return Err(BundleError::WrongBlock {
            certificate: finalization.block,
            header: digest,
        });
    }
    // The certificate's view may be later than the header's: the last block of an epoch is
    // re-proposed until it is finalized. Any quorum finalization of the digest in the block's
    // epoch makes it final.
    finalization.verify(&chain, validators)
}

impl Write for Handover {
    fn write(&self, buf: &mut impl BufMut) {
        self.header.write(buf);
        self.finalization.write(buf);
        self.next.write(buf);
        self.proof.write(buf);
    }
}

impl EncodeSize for Handover {
    fn encode_size(&self) -> usize {
        self.header.encode_size()
            + self.finalization.encode_size()
            + self.next.encode_size()
            + self.proof.encode_size()
    }
}

impl Read for Handover {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, commonware_codec::Error> {
        Ok(Self {
            header: Header::read(buf)?,
            finalization: Finalization::read(buf)?,
            next: ValidatorSet::read(buf)?,
            proof: Vec::<u8>::read_cfg(buf, &(RangeCfg::new(..=STATE_PROOF_MAX_BYTES), ()))?,
        })
    }
}

impl Write for ProofBundle {
    fn write(&self, buf: &mut impl BufMut) {
        buf.put_slice(&BUNDLE_MAGIC);
        BUNDLE_VERSION.write(buf);
        self.genesis.write(buf);
        self.handovers.write(buf);
        self.validators.write(buf);
        self.header.write(buf);
        self.finalization.write(buf);
        self.claim.write(buf);
    }
}

impl EncodeSize for ProofBundle {
    fn encode_size(&self) -> usize {
        4 + 2
            + 32
            + self.handovers.encode_size()
            + self.validators.encode_size()
            + self.header.encode_size()
            + self.finalization.encode_size()
            + self.claim.encode_size()
    }
}

impl Read for ProofBundle {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, commonware_codec::Error> {
        let mut magic = [0u8; 4];
        if buf.remaining() < 4 {
            return Err(commonware_codec::Error::EndOfBuffer);
        }
        buf.copy_to_slice(&mut magic);
        if magic != BUNDLE_MAGIC {
            return Err(commonware_codec::Error::Invalid("ProofBundle", "magic"));
        }
        let version = u16::read(buf)?;
        if version != BUNDLE_VERSION {
            return Err(commonware_codec::Error::Invalid("ProofBundle", "version"));
        }
        Ok(Self {
            genesis: Hash32::read(buf)?,
            handovers: read_list(buf, HANDOVERS_MAX, &())?,
            validators: read_list(buf, VALIDATORS_MAX, &())?,
            header: Header::read(buf)?,
            finalization: Finalization::read(buf)?,
            claim: Claim::read(buf)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_matches_leb128() {
        let mut out = Vec::new();
        write_varint(300, &mut out);
        assert_eq!(out, vec![0xac, 0x02]);
        let mut zero = Vec::new();
        write_varint(0, &mut zero);
        assert_eq!(zero, vec![0]);
    }

    #[test]
    fn quorum_values() {
        assert_eq!(quorum(1), 1);
        assert_eq!(quorum(4), 3);
        assert_eq!(quorum(7), 5);
        assert_eq!(quorum(10), 7);
    }

    /// A block of three anchors with their receipts (the middle one failed), and a claim for
    /// transaction `index`.
    fn block_and_claim(index: usize) -> (Header, TxClaim) {
        block_and_claim_at(index, 5)
    }

    /// [`block_and_claim`] for a block at `height`.
    fn block_and_claim_at(index: usize, height: u64) -> (Header, TxClaim) {
        use crate::instruction::{Instruction, NotaryInstruction};
        use crate::receipt::TxOutcome;
        let key = crate::crypto::PrivateKey::from_test_seed(7);
        let txs: Vec<SignedTx> = (0..3u64)
            .map(|n| {
                crate::tx::TxBody {
                    chain_id: "test".into(),
                    signer: key.public_key().account_id(),
                    nonce: n,
                    expiry: crate::time::TimestampMs(10_000),
                    instructions: vec![Instruction::Notary(NotaryInstruction::Anchor {
                        document: Hash32::sha256(&n.to_be_bytes()),
                        title: format!("Document {n}"),
                        metadata: vec![],
                    })],
                    memo: String::new(),
                }
                .into_signed(&[&key])
            })
            .collect();
        let mut header = crate::block::tests::header();
        header.height = height;
        let receipts: Vec<Receipt> = txs
            .iter()
            .enumerate()
            .map(|(i, tx)| Receipt {
                tx: tx.hash(),
                height: header.height,
                index: i as u32,
                timestamp: header.timestamp,
                signer: tx.body.signer,
                nonce: tx.body.nonce,
                outcome: if i == 1 {
                    TxOutcome::Failed {
                        instruction: 0,
                        code: "already_anchored".into(),
                        args: vec![],
                    }
                } else {
                    TxOutcome::Success
                },
                events: vec![],
            })
            .collect();
        let tx_hashes: Vec<Hash32> = txs.iter().map(SignedTx::signed_hash).collect();
        let receipt_hashes: Vec<Hash32> = receipts.iter().map(Receipt::hash).collect();
        header.tx_count = 3;
        header.tx_root = crate::block::tx_root(&txs);
        header.receipts_root = crate::block::receipts_root(&receipts);
        let claim = TxClaim {
            tx: txs[index].clone(),
            receipt: receipts[index].clone(),
            tx_path: crate::merkle::prove(&tx_hashes, index).unwrap(),
            receipt_path: crate::merkle::prove(&receipt_hashes, index).unwrap(),
        };
        (header, claim)
    }

    #[test]
    fn a_transaction_claim_verifies_and_round_trips() {
        for index in 0..3 {
            let (header, claim) = block_and_claim(index);
            claim.verify(&header).expect("the claim verifies");
            let encoded = Claim::Transaction(Box::new(claim)).encode();
            let decoded: Claim = crate::codec::from_slice(&encoded, &()).unwrap();
            let Claim::Transaction(decoded) = decoded else {
                panic!("decoded as another kind");
            };
            decoded.verify(&header).expect("the decoded claim verifies");
        }
    }

    /// The claim of transaction `index` of a block at height 4, proven through the history of a
    /// header at height 10, with the genesis both headers belong to.
    fn earlier_claim(index: usize) -> (Genesis, Header, EarlierTxClaim) {
        let genesis = crate::genesis::tests::sample(4);
        let (mut header, mut claim) = block_and_claim_at(index, 4);
        header.chain = genesis.hash();
        header.epoch = 0;
        claim.receipt.height = 4;
        let mut digests: Vec<Hash32> = (0..10u64)
            .map(|h| Hash32::sha256(&h.to_be_bytes()))
            .collect();
        digests[4] = header.digest();
        let mut peaks = crate::mmr::Peaks::default();
        for digest in &digests {
            peaks.append(digest);
        }
        let proof = crate::mmr::prove(&digests, 4).unwrap();
        let mut certified = crate::block::tests::header();
        certified.chain = genesis.hash();
        certified.height = 10;
        certified.history_root = peaks.root();
        let claim = EarlierTxClaim {
            header,
            history_path: proof.path,
            history_peaks: proof.peaks,
            claim,
        };
        (genesis, certified, claim)
    }

    #[test]
    fn a_transaction_claim_verifies_through_a_later_header_and_nothing_can_change() {
        let (genesis, certified, claim) = earlier_claim(1);
        claim
            .verify(&genesis, &certified)
            .expect("the claim verifies");
        let encoded = Claim::EarlierTransaction(Box::new(claim.clone())).encode();
        let decoded: Claim = crate::codec::from_slice(&encoded, &()).unwrap();
        assert_eq!(decoded, Claim::EarlierTransaction(Box::new(claim.clone())));

        let fails = |changed: &EarlierTxClaim, certified: &Header| {
            assert!(changed.verify(&genesis, certified).is_err());
        };
        // Any field of the earlier header, a path digest or peak, a certified header that is
        // not later or commits to another history.
        let mut changed = claim.clone();
        changed.header.timestamp = crate::time::TimestampMs(changed.header.timestamp.0 + 1);
        fails(&changed, &certified);
        let mut changed = claim.clone();
        changed.history_path[0] = Hash32::sha256(b"other");
        fails(&changed, &certified);
        for slot in 0..claim.history_peaks.len() {
            let mut changed = claim.clone();
            changed.history_peaks[slot] = Hash32::sha256(b"other");
            fails(&changed, &certified);
        }
        let mut not_later = certified.clone();
        not_later.height = 4;
        fails(&claim, &not_later);
        let mut other_root = certified.clone();
        other_root.history_root = Hash32::sha256(b"another history");
        fails(&claim, &other_root);
        // The transaction claim inside is checked against the earlier header.
        let mut changed = claim.clone();
        changed.claim.receipt.outcome = crate::receipt::TxOutcome::Success;
        fails(&changed, &certified);
        let (_, _, other) = earlier_claim(2);
        let mut changed = claim.clone();
        changed.claim.tx = other.claim.tx;
        fails(&changed, &certified);
    }

    #[test]
    fn a_transaction_claim_does_not_verify_with_anything_changed() {
        let (header, claim) = block_and_claim(1);
        let fails = |claim: &TxClaim, header: &Header| {
            assert!(matches!(
                claim.verify(header),
                Err(BundleError::BadTransaction(_))
            ));
        };
        // The failed receipt presented as a success.
        let mut changed = claim.clone();
        changed.receipt.outcome = crate::receipt::TxOutcome::Success;
        fails(&changed, &header);
        // Another position.
        let mut changed = claim.clone();
        changed.receipt.index = 2;
        fails(&changed, &header);
        // Another transaction with this receipt.
        let (_, other) = block_and_claim(0);
        let mut changed = claim.clone();
        changed.tx = other.tx;
        fails(&changed, &header);
        // Another block.
        let mut changed = claim.clone();
        changed.receipt.height += 1;
        fails(&changed, &header);
        // A path to another leaf.
        let mut changed = claim.clone();
        changed.receipt_path = other.receipt_path;
        fails(&changed, &header);
        // A valid signature added by another key: every listed signature verifies, but the
        // block committed to the signatures it holds, so the bundle shows exactly who signed.
        let mut changed = claim.clone();
        let extra = changed
            .tx
            .body
            .sign(&crate::crypto::PrivateKey::from_test_seed(8));
        changed.tx.signatures.push(extra);
        changed.tx.verify_stateless().unwrap();
        fails(&changed, &header);
        // A forged signature on the right body.
        let mut changed = claim.clone();
        let mut bytes = changed.tx.signatures[0].signature.to_bytes();
        bytes[0] ^= 1;
        changed.tx.signatures[0].signature = Signature::from_bytes(&bytes).unwrap();
        fails(&changed, &header);
        // The header of another block.
        let mut other_header = header.clone();
        other_header.receipts_root = Hash32::sha256(b"another block's receipts");
        fails(&claim, &other_header);
        // A position the block does not have.
        let mut changed = claim.clone();
        changed.receipt.index = 3;
        fails(&changed, &header);
    }

    #[test]
    fn state_keys_are_distinct_per_space() {
        let a = StateKey::new("a/b", b"c".to_vec()).hashed();
        let b = StateKey::new("a/bc", Vec::new()).hashed();
        assert_ne!(a, b);
    }
}
