//! Events: what a successful transaction changed, in words a reader can follow.
//!
//! Events are recorded in the transaction's receipt (and so are provable) and streamed to
//! subscribers of the node's event feed.

use crate::codec::{read_str, read_str_list, str_list_size, str_size, write_str, write_str_list};
use crate::crypto::{AccountId, PublicKey};
use crate::governance::GovernanceAction;
use crate::hash::Hash32;
use crate::limits::*;
use crate::procurement::ProcurementEvent;
use crate::treasury::TreasuryEvent;
use bytes::BufMut;
use commonware_codec::Buf;
use commonware_codec::{EncodeSize, Read, ReadExt, Write};
use serde::{Deserialize, Serialize};

/// The kind of account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    /// Works for an agency, acts under roles.
    Official,
    /// A citizen or business.
    Citizen,
}

/// Something that happened on the ledger.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
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
    /// A document's fingerprint was anchored.
    DocumentAnchored {
        /// SHA-256 of the document.
        document: Hash32,
        /// The official who anchored it.
        issuer: AccountId,
        /// The issuer's agency.
        agency: String,
        /// Its title.
        title: String,
    },
    /// An anchored document was revoked.
    DocumentRevoked {
        /// SHA-256 of the document.
        document: Hash32,
        /// The official who revoked it.
        by: AccountId,
        /// Why.
        reason: String,
    },
    /// A governance proposal was opened.
    ProposalOpened {
        /// Its number.
        proposal: u64,
        /// What it does once approved.
        action: GovernanceAction,
        /// The admin who proposed it.
        by: AccountId,
        /// The proposer's agency (its first approval).
        agency: String,
    },
    /// An agency approved a proposal.
    ProposalApproved {
        /// The proposal.
        proposal: u64,
        /// The approving agency.
        agency: String,
        /// Its admin who signed.
        by: AccountId,
        /// Approvals so far.
        approvals: u32,
        /// Approvals needed.
        threshold: u32,
    },
    /// A proposal reached its threshold and took effect.
    ProposalExecuted {
        /// The proposal.
        proposal: u64,
        /// What it did.
        action: GovernanceAction,
        /// First epoch with the new validator set (validator changes), or 0.
        effective_epoch: u64,
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
    /// A new policy set was approved; it is in force from `effective_height`.
    PoliciesScheduled {
        /// The proposal that changed it.
        proposal: u64,
        /// The policy set's version.
        version: u64,
        /// First block authorized under it.
        effective_height: u64,
    },
    /// A treasury event (its JSON carries its own `type`).
    #[serde(untagged)]
    Treasury(TreasuryEvent),
    /// A procurement event (its JSON carries its own `type`).
    #[serde(untagged)]
    Procurement(ProcurementEvent),
}

impl Event {
    /// The module that emitted the event.
    pub fn module(&self) -> &'static str {
        match self {
            Self::AccountRegistered { .. }
            | Self::RolesChanged { .. }
            | Self::KeyRotated { .. }
            | Self::AccountDeactivated { .. }
            | Self::KeysChanged { .. } => "identity",
            Self::DocumentAnchored { .. } | Self::DocumentRevoked { .. } => "notary",
            Self::ProposalOpened { .. }
            | Self::ProposalApproved { .. }
            | Self::ProposalExecuted { .. }
            | Self::PoliciesScheduled { .. } => "governance",
            Self::Treasury(_) => "treasury",
            Self::Procurement(_) => "procurement",
        }
    }
}

impl Write for AccountKind {
    fn write(&self, buf: &mut impl BufMut) {
        match self {
            Self::Official => 0u8,
            Self::Citizen => 1u8,
        }
        .write(buf);
    }
}

impl EncodeSize for AccountKind {
    fn encode_size(&self) -> usize {
        1
    }
}

impl Read for AccountKind {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, commonware_codec::Error> {
        match u8::read(buf)? {
            0 => Ok(Self::Official),
            1 => Ok(Self::Citizen),
            other => Err(commonware_codec::Error::InvalidEnum(other)),
        }
    }
}

impl Write for Event {
    fn write(&self, buf: &mut impl BufMut) {
        match self {
            Self::AccountRegistered {
                account,
                kind,
                agency,
                roles,
                by,
            } => {
                0u8.write(buf);
                account.write(buf);
                kind.write(buf);
                write_str(agency, buf);
                write_str_list(roles, buf);
                by.write(buf);
            }
            Self::RolesChanged { account, roles, by } => {
                1u8.write(buf);
                account.write(buf);
                write_str_list(roles, buf);
                by.write(buf);
            }
            Self::KeyRotated { account, new_key } => {
                2u8.write(buf);
                account.write(buf);
                new_key.write(buf);
            }
            Self::AccountDeactivated {
                account,
                reason,
                by,
            } => {
                3u8.write(buf);
                account.write(buf);
                write_str(reason, buf);
                by.write(buf);
            }
            Self::DocumentAnchored {
                document,
                issuer,
                agency,
                title,
            } => {
                4u8.write(buf);
                document.write(buf);
                issuer.write(buf);
                write_str(agency, buf);
                write_str(title, buf);
            }
            Self::DocumentRevoked {
                document,
                by,
                reason,
            } => {
                5u8.write(buf);
                document.write(buf);
                by.write(buf);
                write_str(reason, buf);
            }
            Self::ProposalOpened {
                proposal,
                action,
                by,
                agency,
            } => {
                6u8.write(buf);
                proposal.write(buf);
                action.write(buf);
                by.write(buf);
                write_str(agency, buf);
            }
            Self::ProposalApproved {
                proposal,
                agency,
                by,
                approvals,
                threshold,
            } => {
                7u8.write(buf);
                proposal.write(buf);
                write_str(agency, buf);
                by.write(buf);
                approvals.write(buf);
                threshold.write(buf);
            }
            Self::ProposalExecuted {
                proposal,
                action,
                effective_epoch,
            } => {
                8u8.write(buf);
                proposal.write(buf);
                action.write(buf);
                effective_epoch.write(buf);
            }
            Self::KeysChanged {
                account,
                keys,
                threshold,
            } => {
                9u8.write(buf);
                account.write(buf);
                keys.write(buf);
                threshold.write(buf);
            }
            Self::PoliciesScheduled {
                proposal,
                version,
                effective_height,
            } => {
                10u8.write(buf);
                proposal.write(buf);
                version.write(buf);
                effective_height.write(buf);
            }
            Self::Treasury(event) => {
                11u8.write(buf);
                event.write(buf);
            }
            Self::Procurement(event) => {
                12u8.write(buf);
                event.write(buf);
            }
        }
    }
}

impl EncodeSize for Event {
    fn encode_size(&self) -> usize {
        1 + match self {
            Self::AccountRegistered { agency, roles, .. } => {
                32 + 1 + str_size(agency) + str_list_size(roles) + 32
            }
            Self::RolesChanged { roles, .. } => 32 + str_list_size(roles) + 32,
            Self::KeyRotated { .. } => 64,
            Self::AccountDeactivated { reason, .. } => 32 + str_size(reason) + 32,
            Self::DocumentAnchored { agency, title, .. } => 64 + str_size(agency) + str_size(title),
            Self::DocumentRevoked { reason, .. } => 64 + str_size(reason),
            Self::ProposalOpened { action, agency, .. } => {
                8 + action.encode_size() + 32 + str_size(agency)
            }
            Self::ProposalApproved { agency, .. } => 8 + str_size(agency) + 32 + 4 + 4,
            Self::ProposalExecuted { action, .. } => 8 + action.encode_size() + 8,
            Self::KeysChanged { keys, .. } => 32 + keys.encode_size() + 1,
            Self::PoliciesScheduled { .. } => 24,
            Self::Treasury(event) => event.encode_size(),
            Self::Procurement(event) => event.encode_size(),
        }
    }
}

impl Read for Event {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, commonware_codec::Error> {
        Ok(match u8::read(buf)? {
            0 => Self::AccountRegistered {
                account: AccountId::read(buf)?,
                kind: AccountKind::read(buf)?,
                agency: read_str(buf, AGENCY_ID_MAX_BYTES)?,
                roles: read_str_list(buf, ROLES_MAX, ROLE_MAX_BYTES)?,
                by: AccountId::read(buf)?,
            },
            1 => Self::RolesChanged {
                account: AccountId::read(buf)?,
                roles: read_str_list(buf, ROLES_MAX, ROLE_MAX_BYTES)?,
                by: AccountId::read(buf)?,
            },
            2 => Self::KeyRotated {
                account: AccountId::read(buf)?,
                new_key: PublicKey::read(buf)?,
            },
            3 => Self::AccountDeactivated {
                account: AccountId::read(buf)?,
                reason: read_str(buf, REASON_MAX_BYTES)?,
                by: AccountId::read(buf)?,
            },
            4 => Self::DocumentAnchored {
                document: Hash32::read(buf)?,
                issuer: AccountId::read(buf)?,
                agency: read_str(buf, AGENCY_ID_MAX_BYTES)?,
                title: read_str(buf, NAME_MAX_BYTES)?,
            },
            5 => Self::DocumentRevoked {
                document: Hash32::read(buf)?,
                by: AccountId::read(buf)?,
                reason: read_str(buf, REASON_MAX_BYTES)?,
            },
            6 => Self::ProposalOpened {
                proposal: u64::read(buf)?,
                action: GovernanceAction::read(buf)?,
                by: AccountId::read(buf)?,
                agency: read_str(buf, AGENCY_ID_MAX_BYTES)?,
            },
            7 => Self::ProposalApproved {
                proposal: u64::read(buf)?,
                agency: read_str(buf, AGENCY_ID_MAX_BYTES)?,
                by: AccountId::read(buf)?,
                approvals: u32::read(buf)?,
                threshold: u32::read(buf)?,
            },
            8 => Self::ProposalExecuted {
                proposal: u64::read(buf)?,
                action: GovernanceAction::read(buf)?,
                effective_epoch: u64::read(buf)?,
            },
            9 => Self::KeysChanged {
                account: AccountId::read(buf)?,
                keys: crate::codec::read_list(buf, ACCOUNT_KEYS_MAX, &())?,
                threshold: u8::read(buf)?,
            },
            10 => Self::PoliciesScheduled {
                proposal: u64::read(buf)?,
                version: u64::read(buf)?,
                effective_height: u64::read(buf)?,
            },
            11 => Self::Treasury(TreasuryEvent::read(buf)?),
            12 => Self::Procurement(ProcurementEvent::read(buf)?),
            other => return Err(commonware_codec::Error::InvalidEnum(other)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{from_slice, to_vec};
    use crate::money::{Currency, Money};

    /// Module events keep a flat JSON shape (`{"type": "treasury_entry", ...}`) and round-trip
    /// through JSON and the binary codec.
    #[test]
    fn module_events_round_trip() {
        let events = [
            Event::Treasury(TreasuryEvent::TreasuryEntry {
                entry: 7,
                kind: crate::treasury::EntryKind::Paid,
                year: 2026,
                appropriation: 1,
                commitment: Some(2),
                payment: Some(3),
                vendor: Some(AccountId([9; 32])),
                agency: "health".into(),
                amount: Money::new(125_000, Currency::parse("EUR").unwrap()),
                decrease: false,
            }),
            Event::Procurement(ProcurementEvent::TenderCancelled { tender: 4 }),
            Event::DocumentRevoked {
                document: Hash32::sha256(b"d"),
                by: AccountId([1; 32]),
                reason: "error".into(),
            },
        ];
        for event in events {
            let json = serde_json::to_value(&event).unwrap();
            assert!(json["type"].is_string(), "{json}");
            assert_eq!(serde_json::from_value::<Event>(json).unwrap(), event);
            let bytes = to_vec(&event);
            assert_eq!(bytes.len(), event.encode_size());
            assert_eq!(from_slice::<Event>(&bytes, &()).unwrap(), event);
        }
    }
}
