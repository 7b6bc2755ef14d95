//! Notary: anchor a document's SHA-256 with its issuer, title and metadata; anyone checks a
//! file against it; the issuing agency can revoke it with a reason.
//!
//! Only the fingerprint goes on the ledger, never the document.

pub mod handler;
pub mod state;
