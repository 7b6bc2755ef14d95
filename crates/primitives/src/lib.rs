//! Civitas primitives: the words every part of the ledger shares.
//!
//! The canonical binary codec with its bounds ([`codec`], [`fields`], [`limits`]), keys,
//! signatures and account ids ([`crypto`]), domain-separated hashing ([`hash`]), money in
//! integer minor units ([`money`]), ledger time ([`time`]) and encryption to a key holder
//! ([`seal`]). A module's vocabulary (its
//! instructions, events and records) is written with these alone, so it depends on nothing of
//! the ledger it is assembled into; `civitas-core` re-exports every module here under the same
//! path.

pub mod codec;
pub mod crypto;
pub mod fields;
pub mod hash;
pub mod kit;
pub mod limits;
pub mod money;
pub mod personal;
pub mod schema;
pub mod seal;
pub mod time;

pub use crypto::{AccountId, PrivateKey, PublicKey, Signature};
pub use hash::Hash32;
