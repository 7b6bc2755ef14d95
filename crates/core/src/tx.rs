//! Transactions: a signer's numbered, expiring request to run a short list of instructions.
//!
//! The transaction hash is `H("civitas/tx", body)`: it names the body (a nonce is consumed by one
//! body, whoever signed it), so clients and receipts refer to a transaction by it. Blocks commit
//! to more: their `tx_root` is built over each transaction's *signed hash*
//! `H("civitas/signed-tx", body || signatures)`, so a block's digest binds the exact signatures
//! every node acts on. Signatures cover the canonical body encoding in the `civitas/tx/v1`
//! namespace. A transaction is valid for one chain only (its `chain_id`).

use crate::codec::{DecodeError, read_list, read_str, str_size, write_str};
use crate::crypto::{AccountId, PrivateKey, PublicKey, Signature, TX_NAMESPACE};
use crate::hash::{Hash32, tag};
use crate::instruction::{Instruction, instructions_cfg};
use crate::limits::*;
use crate::time::TimestampMs;
use bytes::BufMut;
use commonware_codec::Buf;
use commonware_codec::{Encode, EncodeSize, Read, ReadExt, Write};
use serde::{Deserialize, Serialize};

/// The hash that names a transaction.
pub type TxHash = Hash32;

/// What the signer asks for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TxBody {
    /// The chain this transaction is valid on.
    pub chain_id: String,
    /// The account on whose behalf it runs.
    pub signer: AccountId,
    /// The signer's next sequence number; each transaction, successful or not, consumes one.
    pub nonce: u64,
    /// Ledger time after which the transaction may no longer be included.
    pub expiry: TimestampMs,
    /// What to do, in order; all or nothing.
    #[schema(min_items = 1, max_items = 16)]
    pub instructions: Vec<Instruction>,
    /// Free text for the public record, at most 256 bytes of UTF-8.
    #[serde(default)]
    #[schema(max_length = 256)]
    pub memo: String,
}

/// One signature on a transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TxSignature {
    /// The key that signed.
    pub key: PublicKey,
    /// The signature over the body.
    pub signature: Signature,
}

/// A transaction body with its signatures.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SignedTx {
    /// The request.
    pub body: TxBody,
    /// One or more signatures over the body.
    pub signatures: Vec<TxSignature>,
}

/// Why a transaction is malformed, independent of ledger state.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum TxError {
    /// The encoding was malformed or over a bound.
    #[error("malformed transaction: {0}")]
    Decode(#[from] DecodeError),
    /// The transaction is larger than allowed.
    #[error("transaction is {size} bytes; the limit is {TX_ENCODED_MAX_BYTES}")]
    TooLarge {
        /// Encoded size in bytes.
        size: usize,
    },
    /// No signature was attached.
    #[error("transaction carries no signature")]
    Unsigned,
    /// The same key signed twice.
    #[error("key {0} signed twice")]
    DuplicateSigner(Box<PublicKey>),
    /// A signature did not verify.
    #[error("signature by {0} does not match the transaction body")]
    BadSignature(Box<PublicKey>),
    /// It has no instructions.
    #[error("transaction has no instructions")]
    Empty,
}

impl TxBody {
    /// The transaction hash.
    pub fn hash(&self) -> TxHash {
        Hash32::tagged(tag::TX, &[&self.encode()])
    }

    /// Signs the body with `key`.
    pub fn sign(&self, key: &PrivateKey) -> TxSignature {
        TxSignature {
            key: key.public_key(),
            signature: key.sign(TX_NAMESPACE, &self.encode()),
        }
    }

    /// Signs the body with each of `keys`.
    pub fn into_signed(self, keys: &[&PrivateKey]) -> SignedTx {
        let signatures = keys.iter().map(|key| self.sign(key)).collect();
        SignedTx {
            body: self,
            signatures,
        }
    }
}

/// The protocol version from which a transaction whose public text has the shape of personal
/// data is refused ([`SignedTx::personal_data`]): earlier blocks keep the rules they were made
/// under.
pub const PUBLIC_TEXT_GUARD_SINCE: u16 = 3;

/// Why a transaction is refused for personal data in `field` (never quoting it).
pub fn personal_data_message(field: &str, found: crate::personal::Found) -> String {
    format!(
        "the {field} holds {}; personal data never goes on the public ledger: keep it in the \
         agency's vault and write a reference instead (docs/PERSONAL-DATA.md)",
        found.describe()
    )
}

/// The public text of a transaction: its memo, then each instruction's public fields
/// ([`Operations::public_text`](crate::kit::Operations::public_text)), in that order.
pub fn public_texts<'a>(
    memo: &'a str,
    instructions: &'a [Instruction],
) -> Vec<crate::personal::PublicText<'a>> {
    std::iter::once(crate::personal::PublicText::prose("memo", memo))
        .chain(instructions.iter().flat_map(Instruction::public_text))
        .collect()
}

/// Why a transaction with `memo` and `instructions` is refused for personal data in a block
/// of protocol `version`, if it is (rule `personal_data`, from [`PUBLIC_TEXT_GUARD_SINCE`]):
/// the message names the first field whose text has the shape of personal data
/// ([`crate::personal::find`]). The node's admission, block execution and the preparation of
/// a transaction all ask this one function.
pub fn personal_data_refusal(
    version: u16,
    memo: &str,
    instructions: &[Instruction],
) -> Option<String> {
    if version < PUBLIC_TEXT_GUARD_SINCE {
        return None;
    }
    public_texts(memo, instructions)
        .into_iter()
        .find_map(|text| {
            crate::personal::find(text.text, text.kind)
                .map(|found| personal_data_message(text.field, found))
        })
}

impl SignedTx {
    /// The transaction hash (of the body).
    pub fn hash(&self) -> TxHash {
        self.body.hash()
    }

    /// The hash of the whole signed transaction, body and signatures, as encoded in a block:
    /// the leaf a block's `tx_root` commits to.
    pub fn signed_hash(&self) -> Hash32 {
        Hash32::tagged(tag::SIGNED_TX, &[&self.encode()])
    }

    /// Decodes a transaction from untrusted bytes, enforcing every size bound.
    pub fn decode(bytes: &[u8]) -> Result<Self, TxError> {
        if bytes.len() > TX_ENCODED_MAX_BYTES {
            return Err(TxError::TooLarge { size: bytes.len() });
        }
        crate::codec::from_slice::<Self>(bytes, &()).map_err(TxError::from)
    }

    /// Encodes transactions as one batch: their count, then each transaction's encoding.
    pub fn encode_batch(txs: &[SignedTx]) -> Vec<u8> {
        let mut out =
            Vec::with_capacity(txs.iter().map(EncodeSize::encode_size).sum::<usize>() + 4);
        txs.len().write(&mut out);
        for tx in txs {
            tx.write(&mut out);
        }
        out
    }

    /// Decodes a batch made by [`SignedTx::encode_batch`] from untrusted bytes: at most
    /// `max_txs` transactions, each within every bound of [`SignedTx::decode`].
    pub fn decode_batch(bytes: &[u8], max_txs: usize) -> Result<Vec<Self>, String> {
        use bytes::Buf as _;
        let mut buf = commonware_codec::Copying(bytes);
        let count = usize::read_cfg(&mut buf, &commonware_codec::RangeCfg::new(..))
            .map_err(|e| format!("malformed batch: {e}"))?;
        if count > max_txs {
            return Err(format!(
                "the batch holds {count} transactions; at most {max_txs} are accepted at once"
            ));
        }
        // Allocate for what the bytes can hold, not for what the count claims.
        let mut txs = Vec::with_capacity(count.min(bytes.len() / 64));
        for n in 0..count {
            let before = buf.remaining();
            let tx = Self::read_cfg(&mut buf, &())
                .map_err(|e| format!("transaction {n} is malformed: {e}"))?;
            let size = before - buf.remaining();
            if size > TX_ENCODED_MAX_BYTES {
                return Err(format!(
                    "transaction {n} is {size} bytes; the limit is {TX_ENCODED_MAX_BYTES}"
                ));
            }
            txs.push(tx);
        }
        if buf.has_remaining() {
            return Err("malformed batch: bytes left after the last transaction".into());
        }
        Ok(txs)
    }

    /// Checks everything that does not depend on ledger state: size, instruction fields, and
    /// that every signature verifies.
    pub fn verify_stateless(&self) -> Result<(), TxError> {
        self.check_shape()?;
        self.verify_signatures()
    }

    /// Why the transaction is refused for personal data under protocol `version`, if it is
    /// ([`personal_data_refusal`]).
    pub fn personal_data_refusal(&self, version: u16) -> Option<String> {
        personal_data_refusal(version, &self.body.memo, &self.body.instructions)
    }

    /// Checks size, instruction fields and signer list, but not the signatures themselves.
    pub fn check_shape(&self) -> Result<(), TxError> {
        let size = self.encode_size();
        if size > TX_ENCODED_MAX_BYTES {
            return Err(TxError::TooLarge { size });
        }
        if self.body.instructions.is_empty() {
            return Err(TxError::Empty);
        }
        if self.signatures.is_empty() {
            return Err(TxError::Unsigned);
        }
        crate::codec::check_text_optional("memo", &self.body.memo, TX_MEMO_MAX_BYTES)?;
        for instruction in &self.body.instructions {
            instruction.validate()?;
        }
        for (index, entry) in self.signatures.iter().enumerate() {
            if self.signatures[..index].iter().any(|e| e.key == entry.key) {
                return Err(TxError::DuplicateSigner(Box::new(entry.key.clone())));
            }
        }
        Ok(())
    }

    /// Checks that every signature verifies over the body.
    pub fn verify_signatures(&self) -> Result<(), TxError> {
        self.verify_with_body(&self.body.encode())
    }

    /// Verifies the signatures of many transactions at once; returns one verdict per
    /// transaction, in order.
    ///
    /// All signatures are first checked together as one randomized batch equation (about twice
    /// as fast per signature as checking each alone); only if that fails is each transaction
    /// checked alone, to say which are bad. The verdicts are exactly those of
    /// [`SignedTx::verify_signatures`]: both use the cofactored verification equation.
    /// `rng` must be unpredictable to whoever made the signatures.
    pub fn verify_signatures_batch(
        txs: &[&SignedTx],
        rng: &mut impl rand_core::CryptoRng,
    ) -> Vec<Result<(), TxError>> {
        use commonware_cryptography::{BatchEntry, BatchVerifier, ed25519};
        let bodies: Vec<bytes::Bytes> = txs.iter().map(|tx| tx.body.encode()).collect();
        let entries: Vec<(usize, &TxSignature)> = txs
            .iter()
            .enumerate()
            .flat_map(|(i, tx)| tx.signatures.iter().map(move |s| (i, s)))
            .collect();
        let all_valid = !entries.is_empty()
            && ed25519::PublicKey::verify_batch(
                rng,
                &entries,
                |_, (i, entry)| BatchEntry {
                    namespace: TX_NAMESPACE,
                    message: &bodies[*i],
                    public_key: entry.key.inner(),
                    signature: entry.signature.inner(),
                },
                &commonware_parallel::Sequential,
            );
        txs.iter()
            .zip(&bodies)
            .map(|(tx, body)| {
                if tx.signatures.is_empty() {
                    return Err(TxError::Unsigned);
                }
                if all_valid {
                    return Ok(());
                }
                tx.verify_with_body(body)
            })
            .collect()
    }

    fn verify_with_body(&self, body: &[u8]) -> Result<(), TxError> {
        for entry in &self.signatures {
            if !entry.key.verify(TX_NAMESPACE, body, &entry.signature) {
                return Err(TxError::BadSignature(Box::new(entry.key.clone())));
            }
        }
        Ok(())
    }

    /// Whether `key` is among the signers.
    pub fn signed_by(&self, key: &PublicKey) -> bool {
        self.signatures.iter().any(|entry| &entry.key == key)
    }
}

impl Write for TxBody {
    fn write(&self, buf: &mut impl BufMut) {
        write_str(&self.chain_id, buf);
        self.signer.write(buf);
        self.nonce.write(buf);
        self.expiry.0.write(buf);
        self.instructions.write(buf);
        write_str(&self.memo, buf);
    }
}

impl EncodeSize for TxBody {
    fn encode_size(&self) -> usize {
        str_size(&self.chain_id)
            + self.signer.encode_size()
            + 8
            + 8
            + self.instructions.encode_size()
            + str_size(&self.memo)
    }
}

impl Read for TxBody {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, commonware_codec::Error> {
        Ok(Self {
            chain_id: read_str(buf, CHAIN_ID_MAX_BYTES)?,
            signer: AccountId::read(buf)?,
            nonce: u64::read(buf)?,
            expiry: TimestampMs(u64::read(buf)?),
            instructions: Vec::<Instruction>::read_cfg(buf, &instructions_cfg())?,
            memo: read_str(buf, TX_MEMO_MAX_BYTES)?,
        })
    }
}

impl Write for TxSignature {
    fn write(&self, buf: &mut impl BufMut) {
        self.key.write(buf);
        self.signature.write(buf);
    }
}

impl EncodeSize for TxSignature {
    fn encode_size(&self) -> usize {
        32 + 64
    }
}

impl Read for TxSignature {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, commonware_codec::Error> {
        Ok(Self {
            key: PublicKey::read(buf)?,
            signature: Signature::read(buf)?,
        })
    }
}

impl Write for SignedTx {
    fn write(&self, buf: &mut impl BufMut) {
        self.body.write(buf);
        self.signatures.write(buf);
    }
}

impl EncodeSize for SignedTx {
    fn encode_size(&self) -> usize {
        self.body.encode_size() + self.signatures.encode_size()
    }
}

impl Read for SignedTx {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, commonware_codec::Error> {
        Ok(Self {
            body: TxBody::read(buf)?,
            signatures: read_list(buf, TX_SIGNATURES_MAX, &())?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instruction::{MetadataEntry, NotaryInstruction};
    use proptest::prelude::*;

    fn sample(nonce: u64, title: &str) -> TxBody {
        let key = PrivateKey::from_test_seed(1);
        TxBody {
            chain_id: "test".into(),
            signer: key.public_key().account_id(),
            nonce,
            expiry: TimestampMs(1_000),
            instructions: vec![Instruction::Notary(NotaryInstruction::Anchor {
                document: Hash32::sha256(b"doc"),
                title: title.into(),
                metadata: vec![MetadataEntry {
                    key: "ref".into(),
                    value: "A-1".into(),
                }],
            })],
            memo: String::new(),
        }
    }

    #[test]
    fn batches_round_trip_and_refuse_bad_input() {
        let key = PrivateKey::from_test_seed(1);
        let txs: Vec<SignedTx> = (0..5)
            .map(|n| sample(n, "Deed").into_signed(&[&key]))
            .collect();
        let bytes = SignedTx::encode_batch(&txs);
        assert_eq!(SignedTx::decode_batch(&bytes, 5).unwrap(), txs);
        assert!(
            SignedTx::decode_batch(&bytes, 4)
                .unwrap_err()
                .contains("at most 4")
        );
        assert!(SignedTx::decode_batch(&bytes[..bytes.len() - 1], 5).is_err());
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(
            SignedTx::decode_batch(&longer, 5)
                .unwrap_err()
                .contains("left")
        );
        // A count far beyond the bytes present fails on the missing bytes, not by allocating.
        let mut huge = Vec::new();
        (u32::MAX as usize).write(&mut huge);
        assert!(SignedTx::decode_batch(&huge, usize::MAX).is_err());
    }

    proptest! {
        #[test]
        fn batch_decoding_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = SignedTx::decode_batch(&bytes, 256);
        }
    }

    #[test]
    fn batch_verification_agrees_with_one_by_one() {
        use rand_chacha::rand_core::SeedableRng;
        let mut rng = rand_chacha::ChaCha20Rng::from_seed([7; 32]);
        let one = PrivateKey::from_test_seed(1);
        let two = PrivateKey::from_test_seed(2);
        let mut txs: Vec<SignedTx> = (0..20)
            .map(|n| sample(n, "Deed").into_signed(&[&one, &two][..1 + (n as usize % 2)]))
            .collect();
        let refs: Vec<&SignedTx> = txs.iter().collect();
        let verdicts = SignedTx::verify_signatures_batch(&refs, &mut rng);
        assert!(verdicts.iter().all(Result::is_ok));

        // A signature over another body, a signature moved to another key, and no signature.
        txs[3].signatures[0].signature = sample(99, "Deed").sign(&one).signature;
        txs[9].signatures[1].key = PrivateKey::from_test_seed(3).public_key();
        txs[12].signatures.clear();
        let refs: Vec<&SignedTx> = txs.iter().collect();
        let verdicts = SignedTx::verify_signatures_batch(&refs, &mut rng);
        for (n, (tx, verdict)) in txs.iter().zip(&verdicts).enumerate() {
            let expected = if n == 12 {
                Err(TxError::Unsigned)
            } else {
                tx.verify_signatures()
            };
            assert_eq!(verdict, &expected, "transaction {n}");
            assert_eq!(verdict.is_ok(), ![3, 9, 12].contains(&n), "transaction {n}");
        }
        assert!(SignedTx::verify_signatures_batch(&[], &mut rng).is_empty());
    }

    #[test]
    fn signed_round_trip_and_verify() {
        let key = PrivateKey::from_test_seed(1);
        let tx = sample(3, "Deed").into_signed(&[&key]);
        tx.verify_stateless().unwrap();
        let bytes = tx.encode();
        let decoded = SignedTx::decode(&bytes).unwrap();
        assert_eq!(decoded, tx);
        assert_eq!(decoded.hash(), tx.hash());
    }

    #[test]
    fn tampered_body_fails_signature() {
        let key = PrivateKey::from_test_seed(1);
        let mut tx = sample(3, "Deed").into_signed(&[&key]);
        tx.body.nonce = 4;
        assert_eq!(
            tx.verify_stateless(),
            Err(TxError::BadSignature(Box::new(key.public_key())))
        );
    }

    #[test]
    fn duplicate_and_missing_signers_rejected() {
        let key = PrivateKey::from_test_seed(1);
        let body = sample(0, "Deed");
        let tx = body.clone().into_signed(&[&key, &key]);
        assert!(matches!(
            tx.verify_stateless(),
            Err(TxError::DuplicateSigner(_))
        ));
        let unsigned = SignedTx {
            body,
            signatures: vec![],
        };
        assert_eq!(unsigned.verify_stateless(), Err(TxError::Unsigned));
    }

    #[test]
    fn oversized_input_rejected_before_decoding() {
        let bytes = vec![0u8; TX_ENCODED_MAX_BYTES + 1];
        assert!(matches!(
            SignedTx::decode(&bytes),
            Err(TxError::TooLarge { .. })
        ));
    }

    #[test]
    fn too_many_instructions_rejected() {
        let key = PrivateKey::from_test_seed(1);
        let mut body = sample(0, "Deed");
        let one = body.instructions[0].clone();
        body.instructions = vec![one; TX_INSTRUCTIONS_MAX + 1];
        let bytes = body.into_signed(&[&key]).encode();
        assert!(SignedTx::decode(&bytes).is_err());
    }

    proptest! {
        #[test]
        fn any_bytes_decode_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = SignedTx::decode(&bytes);
        }

        #[test]
        fn round_trip_any_title(nonce in any::<u64>(), title in "[a-zA-Z0-9 ]{1,100}") {
            let key = PrivateKey::from_test_seed(2);
            let tx = sample(nonce, &title).into_signed(&[&key]);
            let decoded = SignedTx::decode(&tx.encode()).unwrap();
            prop_assert_eq!(decoded.hash(), tx.hash());
            prop_assert_eq!(decoded, tx);
        }

        #[test]
        fn flipping_any_byte_breaks_signature_or_decoding(index in any::<prop::sample::Index>(), bit in 0u8..8) {
            let key = PrivateKey::from_test_seed(2);
            let tx = sample(9, "Deed").into_signed(&[&key]);
            let mut bytes = tx.encode().to_vec();
            let i = index.index(bytes.len());
            bytes[i] ^= 1 << bit;
            match SignedTx::decode(&bytes) {
                Err(_) => {}
                Ok(decoded) => prop_assert!(decoded.verify_stateless().is_err()),
            }
        }
    }
}
