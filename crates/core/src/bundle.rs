//! Proof bundles (format v1): one self-contained file that proves a claim about the ledger to
//! anyone holding the genesis document, with no node and no network.
//!
//! A bundle carries the genesis hash it trusts, the validator set, a finalized header with its
//! finalization certificate, and a claim about the state after that block (a key's value, or
//! its absence) with the authenticated-state proof. This module checks everything except the
//! state proof itself, which `civitas-state` verifies. The byte layout is specified in
//! `docs/PROOFS.md`.

use crate::block::Header;
use crate::codec::{DecodeError, read_list, read_str, str_size, write_str};
use crate::crypto::{PublicKey, Signature};
use crate::genesis::{Genesis, consensus_namespace, validator_set_digest};
use crate::governance::ValidatorSet;
use crate::hash::{Hash32, tag};
use crate::limits::*;
use crate::tx::SignedTx;
use bytes::BufMut;
use commonware_codec::Buf;
use commonware_codec::{Encode, EncodeSize, RangeCfg, Read, ReadExt, Write};

/// The four bytes every bundle starts with.
pub const BUNDLE_MAGIC: [u8; 4] = *b"CVPB";
/// The bundle format this software writes.
pub const BUNDLE_VERSION: u16 = 2;
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

    /// `space/hex(id)`, for display.
    pub fn display(&self) -> String {
        format!("{}/{}", self.space, hex::encode(&self.id))
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

/// What the bundle claims about the state after the header's block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
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
    /// The claim, proven against `header.state_root`.
    pub claim: Claim,
    /// For transaction bundles: the transaction whose receipt is claimed.
    pub transaction: Option<SignedTx>,
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
    /// The attached transaction does not match the claim.
    #[error("the attached transaction does not match the claimed receipt")]
    WrongTransaction,
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

    /// Checks everything but the claim's state proof: genesis, the hand-over chain from the
    /// genesis validators to the header's epoch, header, certificate, and the attached
    /// transaction. `state_proof(root, key, value, proof)` checks an authenticated-state proof
    /// (see `civitas_state::proof::verify`); it is used for the hand-overs. The caller then
    /// checks `claim.proof` against `header.state_root`.
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
        if let Some(tx) = &self.transaction {
            let expected = StateKey::new(crate::bundle::spaces::RECEIPT, tx.hash().0.to_vec());
            if self.claim.key != expected || self.claim.value.is_none() {
                return Err(BundleError::WrongTransaction);
            }
            // The signatures are not covered by the transaction hash: check them, so the bundle
            // shows who signed and no byte of it can change unnoticed.
            tx.verify_stateless()
                .map_err(|e| BundleError::Malformed(format!("attached transaction: {e}")))?;
        }
        Ok(())
    }
}

/// Well-known state key spaces.
pub mod spaces {
    /// Receipt of a transaction, by transaction hash.
    pub const RECEIPT: &str = "ledger/receipt";
    /// Next nonce of an account, by account id.
    pub const NONCE: &str = "ledger/nonce";
    /// The history MMR peaks (single key, empty id).
    pub const HISTORY: &str = "ledger/history";
    /// The chain's meta record (single key, empty id).
    pub const META: &str = "ledger/meta";
    /// An agency, by agency id.
    pub const AGENCY: &str = "identity/agency";
    /// An account, by account id.
    pub const ACCOUNT: &str = "identity/account";
    /// Which account a key currently signs for, by public key.
    pub const KEY: &str = "identity/key";
    /// A notarised document, by SHA-256.
    pub const DOCUMENT: &str = "notary/document";
    /// Governance settings: threshold and next proposal number (single key, empty id).
    pub const GOVERNANCE: &str = "governance/config";
    /// A governance proposal, by big-endian u64 number.
    pub const PROPOSAL: &str = "governance/proposal";
    /// The validator set the next epoch will have (single key, empty id).
    pub const NEXT_VALIDATORS: &str = "governance/next-validators";
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
        self.key.write(buf);
        self.value.write(buf);
        self.proof.write(buf);
    }
}

impl EncodeSize for Claim {
    fn encode_size(&self) -> usize {
        self.key.encode_size() + self.value.encode_size() + self.proof.encode_size()
    }
}

impl Read for Claim {
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
        self.transaction.write(buf);
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
            + self.transaction.encode_size()
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
            transaction: Option::<SignedTx>::read_cfg(buf, &())?,
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

    #[test]
    fn state_keys_are_distinct_per_space() {
        let a = StateKey::new("a/b", b"c".to_vec()).hashed();
        let b = StateKey::new("a/bc", Vec::new()).hashed();
        assert_ne!(a, b);
    }
}
