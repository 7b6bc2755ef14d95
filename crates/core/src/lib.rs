//! Civitas core: the ledger's vocabulary.
//!
//! Identifiers, keys and signatures, domain-separated hashing, transactions and their
//! instructions, blocks and headers, events and receipts, the genesis document, the Merkle
//! structures the header commits to, and the proof-bundle envelope. Every type that crosses a
//! trust boundary has a canonical binary encoding whose decoder enforces explicit bounds
//! (see [`limits`]), and a JSON view for the API.
//!
//! This crate knows nothing about storage or the network.

pub mod block;
pub mod bundle;
pub mod event;
pub mod genesis;
pub mod instruction;
pub mod keyfile;
pub mod merkle;
pub mod messages;
pub mod mmr;
pub mod modules;
pub mod protocol;
pub mod read;
pub mod receipt;
pub mod tx;
pub mod validators;

// The shared words live in `civitas-primitives`, so that a module's vocabulary can use them
// without depending on the ledger it is assembled into; they keep their paths here.
pub use civitas_primitives::{
    AccountId, Hash32, PrivateKey, PublicKey, Signature, codec, codec_enum, codec_field,
    codec_struct, crypto, fields, hash, kit, limits, money, personal, schema, seal, time,
};

// Each module's vocabulary, under its name (`civitas_core::treasury`), as the registration
// list's file names them.
pub use modules::vocabularies::*;

/// The governance module's vocabulary, and the validator sets it changes.
pub mod governance {
    pub use crate::validators::*;
    pub use civitas_governance_types::*;
}

pub use block::{Block, Header};
pub use event::Event;
pub use genesis::Genesis;
pub use instruction::Instruction;
pub use receipt::{Receipt, TxOutcome};
pub use tx::{SignedTx, TxBody, TxHash};
