//! Verifiable credentials in the form the EU's wallets take them: SD-JWT (RFC 9901), a JWT
//! whose claims the holder can show in part, each hidden claim replaced by the digest of a
//! salted "disclosure" the holder keeps and sends only to whom it chooses, and a key-binding
//! JWT that proves the presenter holds the key the credential is bound to, for one verifier's
//! nonce and audience.
//!
//! This crate is the format alone, with no ledger: [`keys`] (ES256 on P-256, which wallets
//! require, and EdDSA on Ed25519, as JWKs), [`jws`] (compact JWS), and [`sdjwt`] (issuing,
//! presenting and verifying). Everything it reads is hostile: sizes and depths are bounded
//! ([`limits`]), every refusal is a typed [`Error`] with a stable [`Error::code`], and no
//! input makes it panic.

pub mod b64;
pub mod did;
pub mod jws;
pub mod keys;
pub mod sdjwt;
pub mod status;

/// Bounds on what is read.
pub mod limits {
    /// Longest SD-JWT or presentation read, in bytes.
    pub const SD_JWT_MAX_BYTES: usize = 64 * 1024;
    /// Most disclosures in one SD-JWT.
    pub const DISCLOSURES_MAX: usize = 256;
    /// Deepest nesting of objects and arrays processed.
    pub const DEPTH_MAX: usize = 16;
    /// Longest compact JWS read on its own (a key-binding JWT), in bytes.
    pub const JWS_MAX_BYTES: usize = 16 * 1024;
}

/// Why a credential, presentation or key is refused. [`Error::code`] is stable (clients and
/// tests match on it); the message says what to do in words.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// The input is not well formed.
    #[error("malformed: {0}")]
    Malformed(String),
    /// Over a bound of [`limits`].
    #[error("too large: {0}")]
    TooLarge(String),
    /// An algorithm, key type or curve this crate does not accept.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The issuer's signature does not verify with the key given.
    #[error("the issuer's signature does not verify with the issuer's key")]
    BadSignature,
    /// A digest appears twice in the credential.
    #[error("the digest {0} appears more than once in the credential")]
    DigestReused(String),
    /// The same disclosure was sent twice.
    #[error("a disclosure was sent twice (digest {0})")]
    DisclosureRepeated(String),
    /// A disclosure no digest in the credential refers to.
    #[error("a disclosure (digest {0}) belongs to no claim of this credential")]
    DisclosureUnused(String),
    /// A disclosure of an object's claim where an array element is, or the reverse.
    #[error("a disclosure (digest {0}) is of the wrong kind for where its digest stands")]
    DisclosureMisplaced(String),
    /// A disclosed claim whose name the object already has, or a reserved name.
    #[error("the claim {0} is disclosed where the object already has it, or is reserved")]
    ClaimCollision(String),
    /// A claim an SD-JWT VC always shows (`iss`, `exp`, `cnf`, `status`, …) made
    /// selectively disclosable.
    #[error("the claim {0} of an SD-JWT VC must not be selectively disclosable")]
    NotDisclosable(String),
    /// Past its `exp`.
    #[error("the credential expired at {0} (seconds since 1970)")]
    Expired(u64),
    /// Before its `nbf`.
    #[error("the credential is not valid before {0} (seconds since 1970)")]
    NotYetValid(u64),
    /// Key binding was required and the presentation has none.
    #[error("the presentation has no key-binding JWT, which this verifier requires")]
    KeyBindingMissing,
    /// The credential names no holder key (`cnf.jwk`) to check a key binding with.
    #[error("the credential names no holder key (cnf.jwk)")]
    NoHolderKey,
    /// The key-binding JWT is wrong: its signature, type, hash, nonce, audience or time.
    #[error("key binding: {0}")]
    KeyBinding(String),
}

impl Error {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "malformed",
            Self::TooLarge(_) => "too_large",
            Self::Unsupported(_) => "unsupported",
            Self::BadSignature => "bad_signature",
            Self::DigestReused(_) => "digest_reused",
            Self::DisclosureRepeated(_) => "disclosure_repeated",
            Self::DisclosureUnused(_) => "disclosure_unused",
            Self::DisclosureMisplaced(_) => "disclosure_misplaced",
            Self::ClaimCollision(_) => "claim_collision",
            Self::NotDisclosable(_) => "not_disclosable",
            Self::Expired(_) => "expired",
            Self::NotYetValid(_) => "not_yet_valid",
            Self::KeyBindingMissing => "key_binding_missing",
            Self::NoHolderKey => "no_holder_key",
            Self::KeyBinding(_) => "key_binding",
        }
    }
}

/// A [`Error::Malformed`] saying `what`.
pub(crate) fn malformed(what: impl Into<String>) -> Error {
    Error::Malformed(what.into())
}
