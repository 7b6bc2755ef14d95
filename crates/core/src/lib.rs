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
pub mod codec;
pub mod crypto;
pub mod event;
pub mod fields;
pub mod genesis;
pub mod governance;
pub mod hash;
pub mod instruction;
pub mod keyfile;
pub mod limits;
pub mod merkle;
pub mod messages;
pub mod mmr;
pub mod money;
pub mod procurement;
pub mod read;
pub mod receipt;
pub mod time;
pub mod treasury;
pub mod tx;

pub use block::{Block, Header};
pub use crypto::{AccountId, PrivateKey, PublicKey, Signature};
pub use event::Event;
pub use genesis::Genesis;
pub use hash::Hash32;
pub use instruction::Instruction;
pub use receipt::{Receipt, TxOutcome};
pub use tx::{SignedTx, TxBody, TxHash};
