//! Identity: agencies (from genesis), officials with roles, citizens' accounts, key rotation.
//!
//! An account is identified by the key it was created with; its current key can be rotated,
//! and from then on only the new key signs for it. A key belongs to at most one account.

pub mod handler;
pub mod state;
