//! Instructions: the operations a transaction asks the ledger to perform.
//!
//! The data types live here so that clients can build transactions without depending on the
//! node; the rules that apply them live in `civitas-modules`. Each instruction encodes as a
//! module tag byte, an operation tag byte, then its fields.

use crate::codec::{
    DecodeError, check_ident, check_text, read_list, read_str, read_str_list, str_list_size,
    str_size, write_str, write_str_list,
};
use crate::crypto::{AccountId, PublicKey};
pub use crate::governance::{GovernanceAction, GovernanceInstruction};
use crate::hash::Hash32;
use crate::limits::*;
pub use crate::procurement::ProcurementInstruction;
pub use crate::treasury::TreasuryInstruction;
use bytes::BufMut;
use commonware_codec::Buf;
use commonware_codec::{EncodeSize, RangeCfg, Read, ReadExt, Write};
use serde::{Deserialize, Serialize};

/// One operation in a transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "module", rename_all = "snake_case")]
pub enum Instruction {
    /// Accounts, officials, roles and keys.
    Identity(IdentityInstruction),
    /// Document anchoring and revocation.
    Notary(NotaryInstruction),
    /// Proposals approved by agencies: validator-set and threshold changes.
    Governance(GovernanceInstruction),
    /// Fiscal years, appropriations, commitments and payments.
    Treasury(TreasuryInstruction),
    /// Tenders, sealed bids, awards and contracts.
    Procurement(ProcurementInstruction),
}

/// Operations of the identity module.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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

/// Operations of the notary module.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum NotaryInstruction {
    /// Anchor a document's SHA-256 with its issuer, a title and metadata.
    Anchor {
        /// SHA-256 of the document's bytes.
        document: Hash32,
        /// Human-readable title.
        title: String,
        /// Extra public facts about the document, as ordered key/value pairs.
        metadata: Vec<MetadataEntry>,
    },
    /// The issuing agency revokes an anchor, giving a reason.
    Revoke {
        /// SHA-256 of the document.
        document: Hash32,
        /// Why, for the public record.
        reason: String,
    },
}

/// One key/value pair of document metadata.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetadataEntry {
    /// The key, such as `reference`.
    pub key: String,
    /// The value.
    pub value: String,
}

const MODULE_IDENTITY: u8 = 1;
const MODULE_NOTARY: u8 = 2;
const MODULE_GOVERNANCE: u8 = 3;
const MODULE_TREASURY: u8 = 4;
const MODULE_PROCUREMENT: u8 = 5;

impl Instruction {
    /// `module.operation`, as used in receipts, errors and policies.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Identity(op) => match op {
                IdentityInstruction::RegisterOfficial { .. } => "identity.register_official",
                IdentityInstruction::RegisterCitizen { .. } => "identity.register_citizen",
                IdentityInstruction::SetRoles { .. } => "identity.set_roles",
                IdentityInstruction::RotateKey { .. } => "identity.rotate_key",
                IdentityInstruction::Deactivate { .. } => "identity.deactivate",
                IdentityInstruction::SetKeys { .. } => "identity.set_keys",
            },
            Self::Notary(op) => match op {
                NotaryInstruction::Anchor { .. } => "notary.anchor",
                NotaryInstruction::Revoke { .. } => "notary.revoke",
            },
            Self::Governance(op) => op.name(),
            Self::Treasury(op) => op.name(),
            Self::Procurement(op) => op.name(),
        }
    }

    /// Checks the rules that need no state: lengths, identifiers, non-empty text.
    pub fn validate(&self) -> Result<(), DecodeError> {
        match self {
            Self::Identity(op) => match op {
                IdentityInstruction::RegisterOfficial {
                    agency,
                    name,
                    roles,
                    ..
                } => {
                    check_ident("agency", agency, AGENCY_ID_MAX_BYTES)?;
                    check_text("name", name, NAME_MAX_BYTES)?;
                    check_roles(roles)
                }
                IdentityInstruction::RegisterCitizen { .. } => Ok(()),
                IdentityInstruction::SetRoles { roles, .. } => check_roles(roles),
                IdentityInstruction::RotateKey { .. } => Ok(()),
                IdentityInstruction::Deactivate { reason, .. } => {
                    check_text("reason", reason, REASON_MAX_BYTES)
                }
                IdentityInstruction::SetKeys { keys, threshold } => check_keys(keys, *threshold),
            },
            Self::Notary(op) => match op {
                NotaryInstruction::Anchor {
                    title, metadata, ..
                } => {
                    check_text("title", title, NAME_MAX_BYTES)?;
                    if metadata.len() > METADATA_ENTRIES_MAX {
                        return Err(DecodeError::Invalid {
                            field: "metadata",
                            reason: format!("at most {METADATA_ENTRIES_MAX} entries"),
                        });
                    }
                    for entry in metadata {
                        check_text("metadata key", &entry.key, METADATA_KEY_MAX_BYTES)?;
                        if entry.value.len() > METADATA_VALUE_MAX_BYTES {
                            return Err(DecodeError::Invalid {
                                field: "metadata value",
                                reason: format!("at most {METADATA_VALUE_MAX_BYTES} bytes"),
                            });
                        }
                    }
                    Ok(())
                }
                NotaryInstruction::Revoke { reason, .. } => {
                    check_text("reason", reason, REASON_MAX_BYTES)
                }
            },
            Self::Governance(op) => op.validate(),
            Self::Treasury(op) => op.validate(),
            Self::Procurement(op) => op.validate(),
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

impl Write for MetadataEntry {
    fn write(&self, buf: &mut impl BufMut) {
        write_str(&self.key, buf);
        write_str(&self.value, buf);
    }
}

impl EncodeSize for MetadataEntry {
    fn encode_size(&self) -> usize {
        str_size(&self.key) + str_size(&self.value)
    }
}

impl Read for MetadataEntry {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, commonware_codec::Error> {
        Ok(Self {
            key: read_str(buf, METADATA_KEY_MAX_BYTES)?,
            value: read_str(buf, METADATA_VALUE_MAX_BYTES)?,
        })
    }
}

impl Write for Instruction {
    fn write(&self, buf: &mut impl BufMut) {
        match self {
            Self::Identity(op) => {
                MODULE_IDENTITY.write(buf);
                match op {
                    IdentityInstruction::RegisterOfficial {
                        key,
                        agency,
                        name,
                        roles,
                    } => {
                        0u8.write(buf);
                        key.write(buf);
                        write_str(agency, buf);
                        write_str(name, buf);
                        write_str_list(roles, buf);
                    }
                    IdentityInstruction::RegisterCitizen { key } => {
                        1u8.write(buf);
                        key.write(buf);
                    }
                    IdentityInstruction::SetRoles { account, roles } => {
                        2u8.write(buf);
                        account.write(buf);
                        write_str_list(roles, buf);
                    }
                    IdentityInstruction::RotateKey { new_key } => {
                        3u8.write(buf);
                        new_key.write(buf);
                    }
                    IdentityInstruction::Deactivate { account, reason } => {
                        4u8.write(buf);
                        account.write(buf);
                        write_str(reason, buf);
                    }
                    IdentityInstruction::SetKeys { keys, threshold } => {
                        5u8.write(buf);
                        keys.write(buf);
                        threshold.write(buf);
                    }
                }
            }
            Self::Notary(op) => {
                MODULE_NOTARY.write(buf);
                match op {
                    NotaryInstruction::Anchor {
                        document,
                        title,
                        metadata,
                    } => {
                        0u8.write(buf);
                        document.write(buf);
                        write_str(title, buf);
                        metadata.write(buf);
                    }
                    NotaryInstruction::Revoke { document, reason } => {
                        1u8.write(buf);
                        document.write(buf);
                        write_str(reason, buf);
                    }
                }
            }
            Self::Governance(op) => {
                MODULE_GOVERNANCE.write(buf);
                op.write(buf);
            }
            Self::Treasury(op) => {
                MODULE_TREASURY.write(buf);
                op.write(buf);
            }
            Self::Procurement(op) => {
                MODULE_PROCUREMENT.write(buf);
                op.write(buf);
            }
        }
    }
}

impl EncodeSize for Instruction {
    fn encode_size(&self) -> usize {
        2 + match self {
            Self::Identity(op) => match op {
                IdentityInstruction::RegisterOfficial {
                    key,
                    agency,
                    name,
                    roles,
                } => key.encode_size() + str_size(agency) + str_size(name) + str_list_size(roles),
                IdentityInstruction::RegisterCitizen { key } => key.encode_size(),
                IdentityInstruction::SetRoles { account, roles } => {
                    account.encode_size() + str_list_size(roles)
                }
                IdentityInstruction::RotateKey { new_key } => new_key.encode_size(),
                IdentityInstruction::Deactivate { account, reason } => {
                    account.encode_size() + str_size(reason)
                }
                IdentityInstruction::SetKeys { keys, .. } => keys.encode_size() + 1,
            },
            Self::Notary(op) => match op {
                NotaryInstruction::Anchor {
                    document,
                    title,
                    metadata,
                } => document.encode_size() + str_size(title) + metadata.encode_size(),
                NotaryInstruction::Revoke { document, reason } => {
                    document.encode_size() + str_size(reason)
                }
            },
            // The governance encoding includes its own operation byte.
            Self::Governance(op) => op.encode_size() - 1,
            Self::Treasury(op) => op.encode_size() - 1,
            Self::Procurement(op) => op.encode_size() - 1,
        }
    }
}

impl Read for Instruction {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, commonware_codec::Error> {
        let module = u8::read(buf)?;
        let op = u8::read(buf)?;
        let instruction = match (module, op) {
            (MODULE_IDENTITY, 0) => Self::Identity(IdentityInstruction::RegisterOfficial {
                key: PublicKey::read(buf)?,
                agency: read_str(buf, AGENCY_ID_MAX_BYTES)?,
                name: read_str(buf, NAME_MAX_BYTES)?,
                roles: read_str_list(buf, ROLES_MAX, ROLE_MAX_BYTES)?,
            }),
            (MODULE_IDENTITY, 1) => Self::Identity(IdentityInstruction::RegisterCitizen {
                key: PublicKey::read(buf)?,
            }),
            (MODULE_IDENTITY, 2) => Self::Identity(IdentityInstruction::SetRoles {
                account: AccountId::read(buf)?,
                roles: read_str_list(buf, ROLES_MAX, ROLE_MAX_BYTES)?,
            }),
            (MODULE_IDENTITY, 3) => Self::Identity(IdentityInstruction::RotateKey {
                new_key: PublicKey::read(buf)?,
            }),
            (MODULE_IDENTITY, 4) => Self::Identity(IdentityInstruction::Deactivate {
                account: AccountId::read(buf)?,
                reason: read_str(buf, REASON_MAX_BYTES)?,
            }),
            (MODULE_IDENTITY, 5) => Self::Identity(IdentityInstruction::SetKeys {
                keys: read_list(buf, ACCOUNT_KEYS_MAX, &())?,
                threshold: u8::read(buf)?,
            }),
            (MODULE_NOTARY, 0) => Self::Notary(NotaryInstruction::Anchor {
                document: Hash32::read(buf)?,
                title: read_str(buf, NAME_MAX_BYTES)?,
                metadata: read_list(buf, METADATA_ENTRIES_MAX, &())?,
            }),
            (MODULE_NOTARY, 1) => Self::Notary(NotaryInstruction::Revoke {
                document: Hash32::read(buf)?,
                reason: read_str(buf, REASON_MAX_BYTES)?,
            }),
            (MODULE_GOVERNANCE, op) => Self::Governance(GovernanceInstruction::read_op(op, buf)?),
            (MODULE_TREASURY, op) => Self::Treasury(TreasuryInstruction::read_variant(op, buf)?),
            (MODULE_PROCUREMENT, op) => {
                Self::Procurement(ProcurementInstruction::read_variant(op, buf)?)
            }
            (MODULE_IDENTITY | MODULE_NOTARY, other) => {
                return Err(commonware_codec::Error::InvalidEnum(other));
            }
            (other, _) => return Err(commonware_codec::Error::InvalidEnum(other)),
        };
        Ok(instruction)
    }
}

/// Read configuration for a list of instructions.
pub fn instructions_cfg() -> (RangeCfg<usize>, ()) {
    (RangeCfg::new(1..=TX_INSTRUCTIONS_MAX), ())
}
