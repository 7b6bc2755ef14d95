//! The identity module's vocabulary: accounts, officials, roles and keys.
//!
//! Only keys go on the ledger for citizens and businesses: no personal data.

mod records;
pub use records::{Account, Agency, Recovery};

use civitas_primitives::codec::{DecodeError, check_ident, check_text};
use civitas_primitives::codec_enum;
use civitas_primitives::crypto::{AccountId, PublicKey};
use civitas_primitives::kit::{EventTags, Events, Operations};
use civitas_primitives::limits::*;
use civitas_primitives::seal::EncryptionKey;
use civitas_primitives::time::TimestampMs;
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
    /// The signer registers the X25519 key that personal data and sealed bids are encrypted
    /// to, replacing the one it had (protocol 3). What was sealed to the old key stays sealed
    /// to it: the holder keeps the old secret, or asks the vaults to wrap its data again.
    SetEncryptionKey {
        /// The new encryption key.
        key: EncryptionKey,
    },
    /// A registrar starts giving an account whose holder lost its keys a new key, after
    /// checking the holder's identity off the ledger (protocol 3). Nothing changes for
    /// `delay_hours` of block time, during which the account's own keys or another
    /// registrar may cancel it; then `complete_recovery` makes `new_key` the account's only
    /// key.
    RecoverKey {
        /// The account.
        account: AccountId,
        /// The key the holder now holds (unused by any account).
        new_key: PublicKey,
        /// How long the holder has to object (the policies set a minimum).
        delay_hours: u32,
    },
    /// The account's own keys, or an official the policies allow, cancel a pending recovery
    /// (protocol 3).
    CancelRecovery {
        /// The account whose recovery is cancelled.
        account: AccountId,
    },
    /// After the delay, an official the policies allow completes a recovery: its key becomes
    /// the account's only key (protocol 3).
    CompleteRecovery {
        /// The account.
        account: AccountId,
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
    6 => SetEncryptionKey { key: () },
    7 => RecoverKey { account: (), new_key: (), delay_hours: () },
    8 => CancelRecovery { account: () },
    9 => CompleteRecovery { account: () },
});

impl Operations for IdentityInstruction {
    fn public_text(&self) -> Vec<civitas_primitives::personal::PublicText<'_>> {
        match self {
            // An official's name is public by design: public servants act in the open.
            Self::Deactivate { reason, .. } => {
                vec![civitas_primitives::personal::PublicText::prose(
                    "reason", reason,
                )]
            }
            Self::RegisterOfficial { .. }
            | Self::RegisterCitizen { .. }
            | Self::SetRoles { .. }
            | Self::RotateKey { .. }
            | Self::SetKeys { .. }
            | Self::SetEncryptionKey { .. }
            | Self::RecoverKey { .. }
            | Self::CancelRecovery { .. }
            | Self::CompleteRecovery { .. } => Vec::new(),
        }
    }

    fn accounts(&self) -> Vec<AccountId> {
        match self {
            Self::RegisterOfficial { key, .. } | Self::RegisterCitizen { key } => {
                vec![key.account_id()]
            }
            Self::SetRoles { account, .. }
            | Self::Deactivate { account, .. }
            | Self::RecoverKey { account, .. }
            | Self::CancelRecovery { account }
            | Self::CompleteRecovery { account } => vec![*account],
            Self::RotateKey { .. } | Self::SetKeys { .. } | Self::SetEncryptionKey { .. } => {
                Vec::new()
            }
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
            Self::SetEncryptionKey { .. } => "identity.set_encryption_key",
            Self::RecoverKey { .. } => "identity.recover_key",
            Self::CancelRecovery { .. } => "identity.cancel_recovery",
            Self::CompleteRecovery { .. } => "identity.complete_recovery",
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
            Self::RecoverKey { delay_hours, .. } => {
                if *delay_hours > RECOVERY_DELAY_MAX_HOURS {
                    return Err(DecodeError::Invalid {
                        field: "delay_hours",
                        reason: format!(
                            "at most {RECOVERY_DELAY_MAX_HOURS} hours (a year); it is {delay_hours}"
                        ),
                    });
                }
                Ok(())
            }
            Self::SetEncryptionKey { .. }
            | Self::CancelRecovery { .. }
            | Self::CompleteRecovery { .. } => Ok(()),
        }
    }
}

/// The longest delay a recovery may wait: a year.
pub const RECOVERY_DELAY_MAX_HOURS: u32 = 366 * 24;

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
    /// An account registered an encryption key (protocol 3).
    EncryptionKeySet {
        /// The account.
        account: AccountId,
        /// The key now in force.
        key: EncryptionKey,
    },
    /// A registrar started a key recovery for an account (protocol 3).
    RecoveryStarted {
        /// The account.
        account: AccountId,
        /// The key it will have.
        new_key: PublicKey,
        /// The official who started it.
        by: AccountId,
        /// The block time from which it may be completed.
        effective: TimestampMs,
    },
    /// A pending recovery was cancelled (protocol 3).
    RecoveryCancelled {
        /// The account.
        account: AccountId,
        /// The key it would have had.
        new_key: PublicKey,
        /// Who cancelled it: the account itself or an official.
        by: AccountId,
    },
    /// A recovery completed: the account's only key is now `new_key` (protocol 3).
    KeyRecovered {
        /// The account.
        account: AccountId,
        /// The key now in force.
        new_key: PublicKey,
        /// The official who started the recovery.
        started_by: AccountId,
        /// The official who completed it.
        by: AccountId,
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
    14 => EncryptionKeySet { account: (), key: () },
    15 => RecoveryStarted { account: (), new_key: (), by: (), effective: () },
    16 => RecoveryCancelled { account: (), new_key: (), by: () },
    17 => KeyRecovered { account: (), new_key: (), started_by: (), by: () },
});

impl Events for IdentityEvent {
    const TAGS: EventTags = EventTags::Shared(&[0, 1, 2, 3, 9, 14, 15, 16, 17]);

    fn accounts(&self) -> Vec<AccountId> {
        match self {
            Self::AccountRegistered { account, by, .. }
            | Self::RolesChanged { account, by, .. }
            | Self::AccountDeactivated { account, by, .. }
            | Self::RecoveryStarted { account, by, .. }
            | Self::RecoveryCancelled { account, by, .. } => vec![*account, *by],
            Self::KeyRecovered {
                account,
                started_by,
                by,
                ..
            } => vec![*account, *started_by, *by],
            Self::KeyRotated { account, .. }
            | Self::KeysChanged { account, .. }
            | Self::EncryptionKeySet { account, .. } => vec![*account],
        }
    }

    fn changes_signer(&self) -> Option<AccountId> {
        match self {
            Self::KeyRotated { account, .. }
            | Self::KeysChanged { account, .. }
            | Self::AccountDeactivated { account, .. }
            | Self::KeyRecovered { account, .. } => Some(*account),
            Self::AccountRegistered { .. }
            | Self::RolesChanged { .. }
            | Self::EncryptionKeySet { .. }
            | Self::RecoveryStarted { .. }
            | Self::RecoveryCancelled { .. } => None,
        }
    }
}
