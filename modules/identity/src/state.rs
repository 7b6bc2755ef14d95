//! Identity state: agencies, accounts and the key index.

use civitas_core::bundle::StateKey;
use civitas_core::crypto::{AccountId, PublicKey};
pub use civitas_core::identity::{Account, Agency, Recovery};
use civitas_core::seal::EncryptionKey;
use civitas_kit::Overlay;
use civitas_kit::{StateError, StateView};

/// The module's key spaces, as `spaces::NAME` (see [`SPACES`]).
pub mod spaces {
    /// An agency, by agency id.
    pub const AGENCY: &str = "identity/agency";
    /// An account, by account id.
    pub const ACCOUNT: &str = "identity/account";
    /// Which account a key currently signs for, by public key.
    pub const KEY: &str = "identity/key";
    /// The encryption key an account registered (protocol 3), by account id.
    pub const ENCRYPTION_KEY: &str = "identity/encryption_key";
    /// A key recovery under way (protocol 3), by account id.
    pub const RECOVERY: &str = "identity/recovery";
    /// The account a key is promised to by a recovery under way (protocol 3), by public key:
    /// no other account may take the key meanwhile.
    pub const RESERVED_KEY: &str = "identity/reserved_key";

    use super::*;
    use civitas_kit::space::{Id, Space, view};

    /// Where the module's records are, how a client names one, and how a value is shown.
    pub const SPACES: &[Space] = &[
        Space {
            name: AGENCY,
            id: Id::Text,
            about: "agency id, such as finance",
            describe: None,
            view: view::<Agency>,
        },
        Space {
            name: ACCOUNT,
            id: Id::Hex32("an account id"),
            about: "account id, hex",
            describe: None,
            view: view::<Account>,
        },
        Space {
            name: KEY,
            id: Id::PublicKey,
            about: "public key, hex",
            describe: None,
            view: view::<AccountId>,
        },
        Space {
            name: ENCRYPTION_KEY,
            id: Id::Hex32("an account id"),
            about: "account id, hex",
            describe: None,
            view: view::<EncryptionKey>,
        },
        Space {
            name: RESERVED_KEY,
            id: Id::PublicKey,
            about: "public key, hex",
            describe: None,
            view: view::<AccountId>,
        },
        Space {
            name: RECOVERY,
            id: Id::Hex32("an account id"),
            about: "account id, hex",
            describe: None,
            view: view::<Recovery>,
        },
    ];
}

/// Loads an agency.
pub async fn load_agency<S: StateView>(
    state: &mut Overlay<'_, S>,
    id: &str,
) -> Result<Option<Agency>, StateError> {
    state.get_typed(&agency_key(id)).await
}

/// Key of an agency record.
pub fn agency_key(id: &str) -> StateKey {
    StateKey::new(spaces::AGENCY, id.as_bytes().to_vec())
}

/// Key of an account record.
pub fn account_key(id: &AccountId) -> StateKey {
    StateKey::new(spaces::ACCOUNT, id.0.to_vec())
}

/// Key of the index from a public key to the account it signs for.
pub fn key_index_key(key: &PublicKey) -> StateKey {
    StateKey::new(spaces::KEY, key.to_bytes().to_vec())
}

/// Loads an account.
pub async fn load_account<S: StateView>(
    state: &mut Overlay<'_, S>,
    id: &AccountId,
) -> Result<Option<Account>, StateError> {
    state.get_typed(&account_key(id)).await
}

/// Stores an account.
pub fn store_account<S: StateView>(state: &mut Overlay<'_, S>, account: &Account) {
    state.put_typed(&account_key(&account.id), account);
}

/// Key of an account's encryption key.
pub fn encryption_key_key(id: &AccountId) -> StateKey {
    StateKey::new(spaces::ENCRYPTION_KEY, id.0.to_vec())
}

/// Key of an account's recovery under way.
pub fn recovery_key(id: &AccountId) -> StateKey {
    StateKey::new(spaces::RECOVERY, id.0.to_vec())
}

/// The encryption key `id` registered, if any.
pub async fn load_encryption_key<S: StateView>(
    state: &mut Overlay<'_, S>,
    id: &AccountId,
) -> Result<Option<EncryptionKey>, StateError> {
    state.get_typed(&encryption_key_key(id)).await
}

/// Key of the reservation of `key` for a recovery.
pub fn reserved_key_key(key: &PublicKey) -> StateKey {
    StateKey::new(spaces::RESERVED_KEY, key.to_bytes().to_vec())
}
