//! The identity module's vocabulary: accounts, officials, roles and keys.
//!
//! Only keys go on the ledger for citizens and businesses: no personal data.

mod records;
pub use records::{Account, Agency};

use civitas_primitives::codec::{DecodeError, check_ident, check_text};
use civitas_primitives::codec_enum;
use civitas_primitives::crypto::{AccountId, PublicKey};
use civitas_primitives::kit::{EventTags, Events, Operations};
use civitas_primitives::limits::*;
use serde::{Deserialize, Serialize};

/// Operations of the identity module.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum IdentityInstruction {
    /// An agency admin registers an official of the admin's agency.
    RegisterOfficial {
        /// The official's public key; it becomes the account id.
        key: PublicKey,
        /// The agency the official works for (must be the signer's agency).
        agency: String,
        /// Display name of the official (a public servant's name is public record).
        name: String,
        /// Roles granted, such as `notary` or `admin`.
        roles: Vec<String>,
    },
    /// An official registers a citizen's or business's account. Only the key goes on the
    /// ledger: no personal data.
    RegisterCitizen {
        /// The citizen's public key; it becomes the account id.
        key: PublicKey,
    },
    /// An agency admin replaces the roles of an official of the same agency.
    SetRoles {
        /// The official's account.
        account: AccountId,
        /// The complete new role list.
        roles: Vec<String>,
    },
    /// The signer replaces its own key. The old key stops working at once.
    RotateKey {
        /// The new key.
        new_key: PublicKey,
    },
    /// An agency admin deactivates an official of the same agency; the account can no longer
    /// sign anything.
    Deactivate {
        /// The account to deactivate.
        account: AccountId,
        /// Why, for the public record.
        reason: String,
    },
    /// The signer replaces its keys with `keys`, of which `threshold` must sign each of its
    /// transactions from then on (k-of-n). Signed under the keys and threshold in force.
    SetKeys {
        /// The new keys (1 to 8, none belonging to another account).
        keys: Vec<PublicKey>,
        /// How many of them must sign.
        threshold: u8,
    },
}

codec_enum!(IdentityInstruction {
    0 => RegisterOfficial {
        key: (),
        agency: AGENCY_ID_MAX_BYTES,
        name: NAME_MAX_BYTES,
        roles: (ROLES_MAX, ROLE_MAX_BYTES),
    },
    1 => RegisterCitizen { key: () },
    2 => SetRoles { account: (), roles: (ROLES_MAX, ROLE_MAX_BYTES) },
    3 => RotateKey { new_key: () },
    4 => Deactivate { account: (), reason: REASON_MAX_BYTES },
    5 => SetKeys { keys: (ACCOUNT_KEYS_MAX, ()), threshold: () },
});

impl Operations for IdentityInstruction {
    fn accounts(&self) -> Vec<AccountId> {
        match self {
            Self::RegisterOfficial { key, .. } | Self::RegisterCitizen { key } => {
                vec![key.account_id()]
            }
            Self::SetRoles { account, .. } | Self::Deactivate { account, .. } => vec![*account],
            Self::RotateKey { .. } | Self::SetKeys { .. } => Vec::new(),
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Self::RegisterOfficial { .. } => "identity.register_official",
            Self::RegisterCitizen { .. } => "identity.register_citizen",
            Self::SetRoles { .. } => "identity.set_roles",
            Self::RotateKey { .. } => "identity.rotate_key",
            Self::Deactivate { .. } => "identity.deactivate",
            Self::SetKeys { .. } => "identity.set_keys",
        }
    }

    fn validate(&self) -> Result<(), DecodeError> {
        match self {
            Self::RegisterOfficial {
                agency,
                name,
                roles,
                ..
            } => {
                check_ident("agency", agency, AGENCY_ID_MAX_BYTES)?;
                check_text("name", name, NAME_MAX_BYTES)?;
                check_roles(roles)
            }
            Self::RegisterCitizen { .. } => Ok(()),
            Self::SetRoles { roles, .. } => check_roles(roles),
            Self::RotateKey { .. } => Ok(()),
            Self::Deactivate { reason, .. } => check_text("reason", reason, REASON_MAX_BYTES),
            Self::SetKeys { keys, threshold } => check_keys(keys, *threshold),
        }
    }
}

/// Checks a k-of-n key list: 1 to [`ACCOUNT_KEYS_MAX`] distinct keys, threshold 1 to n.
pub fn check_keys(keys: &[PublicKey], threshold: u8) -> Result<(), DecodeError> {
    if keys.is_empty() || keys.len() > ACCOUNT_KEYS_MAX {
        return Err(DecodeError::Invalid {
            field: "keys",
            reason: format!("must list 1 to {ACCOUNT_KEYS_MAX} keys"),
        });
    }
    let mut sorted: Vec<&PublicKey> = keys.iter().collect();
    sorted.sort();
    sorted.dedup();
    if sorted.len() != keys.len() {
        return Err(DecodeError::Invalid {
            field: "keys",
            reason: "a key is listed twice".into(),
        });
    }
    if threshold == 0 || threshold as usize > keys.len() {
        return Err(DecodeError::Invalid {
            field: "threshold",
            reason: format!(
                "must be between 1 and the number of keys ({}); it is {threshold}",
                keys.len()
            ),
        });
    }
    Ok(())
}

fn check_roles(roles: &[String]) -> Result<(), DecodeError> {
    if roles.len() > ROLES_MAX {
        return Err(DecodeError::Invalid {
            field: "roles",
            reason: format!("at most {ROLES_MAX} roles"),
        });
    }
    let mut sorted: Vec<&String> = roles.iter().collect();
    sorted.sort();
    sorted.dedup();
    if sorted.len() != roles.len() {
        return Err(DecodeError::Invalid {
            field: "roles",
            reason: "a role is listed twice".into(),
        });
    }
    for role in roles {
        check_ident("role", role, ROLE_MAX_BYTES)?;
    }
    Ok(())
}

/// The kind of account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    /// Works for an agency, acts under roles.
    Official,
    /// A citizen or business.
    Citizen,
}
codec_enum!(AccountKind { 0 => Official {}, 1 => Citizen {} });

/// What the identity module records in receipts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum IdentityEvent {
    /// A new account exists.
    AccountRegistered {
        /// The new account.
        account: AccountId,
        /// Official or citizen.
        kind: AccountKind,
        /// The agency of an official; empty for a citizen.
        agency: String,
        /// The official's roles.
        roles: Vec<String>,
        /// The account that registered it.
        by: AccountId,
    },
    /// An official's roles changed.
    RolesChanged {
        /// The official.
        account: AccountId,
        /// The complete new list.
        roles: Vec<String>,
        /// The admin who changed them.
        by: AccountId,
    },
    /// An account's key was replaced; the old key no longer signs for it.
    KeyRotated {
        /// The account.
        account: AccountId,
        /// The key now in force.
        new_key: PublicKey,
    },
    /// An account was deactivated.
    AccountDeactivated {
        /// The account.
        account: AccountId,
        /// Why.
        reason: String,
        /// Who did it.
        by: AccountId,
    },
    /// An account's signing keys or threshold changed (k-of-n).
    KeysChanged {
        /// The account.
        account: AccountId,
        /// The keys now in force.
        keys: Vec<PublicKey>,
        /// How many of them must sign.
        threshold: u8,
    },
}
codec_enum!(IdentityEvent {
    0 => AccountRegistered {
        account: (),
        kind: (),
        agency: AGENCY_ID_MAX_BYTES,
        roles: (ROLES_MAX, ROLE_MAX_BYTES),
        by: (),
    },
    1 => RolesChanged { account: (), roles: (ROLES_MAX, ROLE_MAX_BYTES), by: () },
    2 => KeyRotated { account: (), new_key: () },
    3 => AccountDeactivated { account: (), reason: REASON_MAX_BYTES, by: () },
    9 => KeysChanged { account: (), keys: (ACCOUNT_KEYS_MAX, ()), threshold: () },
});

impl Events for IdentityEvent {
    const TAGS: EventTags = EventTags::Shared(&[0, 1, 2, 3, 9]);

    fn accounts(&self) -> Vec<AccountId> {
        match self {
            Self::AccountRegistered { account, by, .. }
            | Self::RolesChanged { account, by, .. }
            | Self::AccountDeactivated { account, by, .. } => vec![*account, *by],
            Self::KeyRotated { account, .. } | Self::KeysChanged { account, .. } => {
                vec![*account]
            }
        }
    }

    fn changes_signer(&self) -> Option<AccountId> {
        match self {
            Self::KeyRotated { account, .. }
            | Self::KeysChanged { account, .. }
            | Self::AccountDeactivated { account, .. } => Some(*account),
            Self::AccountRegistered { .. } | Self::RolesChanged { .. } => None,
        }
    }
}
