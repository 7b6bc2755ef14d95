//! An agency's vault of personal data.
//!
//! Personal data never goes on the ledger. An agency keeps what people tell it in its vault,
//! each record sealed under a key of its own ([`envelope`]) that is wrapped for the citizen the
//! record is about and for the agency; the ledger holds a salted commitment to each version,
//! its schema, who holds it and on what basis. The vault stores records in two SQLite files
//! ([`store`]) and erases a record by destroying every wrap of its keys and its ciphertext.
//! [`service`] runs it beside the agency's node, following the ledger.
//! `docs/PERSONAL-DATA.md` describes the whole layer.

pub mod envelope;
pub mod service;
pub mod store;

pub use envelope::{EnvelopeError, RecordId};
pub use store::{RecordRow, SharedCopy, Status, Store, SubjectCopy, VaultError};
