//! The governance module's vocabulary: proposals approved by agencies, and what they do.
//!
//! A proposal is approved by agencies (one vote each, cast by one of the agency's admins); once
//! the threshold of agencies in force has approved, its action takes effect in that same
//! transaction. Validator additions and removals change the *next* epoch's set; the current
//! epoch's validators finish their epoch, then hand over. Agencies join, are renamed and retire
//! by proposal too.

use bytes::BufMut;
use civitas_primitives::codec::{
    DecodeError, check_ident, check_text, read_list, read_str, str_size, write_str,
};
use civitas_primitives::crypto::AccountId;
use civitas_primitives::crypto::PublicKey;
use civitas_primitives::limits::*;
use commonware_codec::{Buf, EncodeSize, Read, ReadExt, Write};
use serde::{Deserialize, Serialize};

/// Operations of the governance module.
// Instructions are short-lived values decoded one transaction at a time; boxing the action
// would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum GovernanceInstruction {
    /// An agency admin proposes an action; the proposer's agency approves it at once.
    Propose {
        /// What the proposal does once approved.
        action: GovernanceAction,
        /// Why, for the public record.
        reason: String,
    },
    /// An agency admin approves an open proposal for the admin's agency.
    Approve {
        /// The proposal's number.
        proposal: u64,
    },
}

/// What an approved proposal does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum GovernanceAction {
    /// Adds a validator operated by `agency`, from the next epoch.
    AddValidator {
        /// The agency that runs it.
        agency: String,
        /// Its consensus key.
        key: PublicKey,
        /// Where it listens for peers (`host:port`).
        p2p_address: String,
    },
    /// Removes a validator, from the next epoch.
    RemoveValidator {
        /// Its consensus key.
        key: PublicKey,
    },
    /// Changes how many agencies must approve a proposal, at once.
    SetThreshold {
        /// The new number of agencies.
        threshold: u32,
    },
    /// Adds a Cedar policy, or replaces the policy with the same `@id`, from the next block.
    SetPolicy {
        /// The policy's Cedar text, with an `@id("...")` annotation.
        policy: String,
    },
    /// Removes the policy with this `@id`, from the next block.
    RemovePolicy {
        /// The policy's identifier.
        id: String,
    },
    /// A new agency joins, at once: its record, its admins' accounts, and its vote on later
    /// proposals; its validator, if it runs one, from the next epoch.
    AddAgency {
        /// Its identifier, never used before on this chain.
        id: String,
        /// Its full name.
        name: String,
        /// Its admins' public keys (each becomes an admin account).
        admin_keys: Vec<PublicKey>,
        /// The validator it runs, if any.
        validator: Option<NewValidator>,
    },
    /// An agency leaves, at once: its records stay, its officials can no longer sign, its vote
    /// no longer counts, and its validators leave at the next epoch.
    RetireAgency {
        /// The agency.
        id: String,
    },
    /// Changes an agency's full name, at once.
    RenameAgency {
        /// The agency.
        id: String,
        /// Its new full name.
        name: String,
    },
    /// Protocol `version` becomes active at block `height` (see `civitas_core::protocol`):
    /// from that block on, blocks are made under its rules, and a node whose release does not
    /// know it stops there and asks for `release`. Replaces an upgrade scheduled earlier that
    /// has not activated yet.
    ScheduleUpgrade {
        /// The protocol version, above the active one.
        version: u16,
        /// The first block made under it, after the block that executes the proposal.
        height: u64,
        /// The first release that runs it (`0.2.0`), named to operators whose node stops.
        release: String,
    },
}

/// The validator a joining agency runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NewValidator {
    /// Its consensus key.
    pub key: PublicKey,
    /// Where it listens for peers (`host:port`).
    pub p2p_address: String,
}

impl GovernanceAction {
    /// Every action's name ([`Self::kind`]), in tag order.
    pub const KINDS: &'static [&'static str] = &[
        "add_validator",
        "remove_validator",
        "set_threshold",
        "set_policy",
        "remove_policy",
        "add_agency",
        "retire_agency",
        "rename_agency",
        "schedule_upgrade",
    ];

    /// The action's name, as policies and events see it (`add_validator`, `set_policy`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::AddValidator { .. } => "add_validator",
            Self::RemoveValidator { .. } => "remove_validator",
            Self::SetThreshold { .. } => "set_threshold",
            Self::SetPolicy { .. } => "set_policy",
            Self::RemovePolicy { .. } => "remove_policy",
            Self::AddAgency { .. } => "add_agency",
            Self::RetireAgency { .. } => "retire_agency",
            Self::RenameAgency { .. } => "rename_agency",
            Self::ScheduleUpgrade { .. } => "schedule_upgrade",
        }
    }
}

/// Checks a joining agency's admin keys: 1 to [`AGENCY_ADMIN_KEYS_MAX`], no key twice.
pub fn check_admin_keys(keys: &[PublicKey]) -> Result<(), DecodeError> {
    if keys.is_empty() || keys.len() > AGENCY_ADMIN_KEYS_MAX {
        return Err(DecodeError::Invalid {
            field: "admin_keys",
            reason: format!(
                "an agency has 1 to {AGENCY_ADMIN_KEYS_MAX} admin keys; {} given",
                keys.len()
            ),
        });
    }
    let ids: std::collections::BTreeSet<AccountId> =
        keys.iter().map(PublicKey::account_id).collect();
    if ids.len() != keys.len() {
        return Err(DecodeError::Invalid {
            field: "admin_keys",
            reason: "the same key is listed twice".into(),
        });
    }
    Ok(())
}

/// Most bytes of a release name in an upgrade (`0.2.0`, `1.4.0-rc.1`).
pub const RELEASE_MAX_BYTES: usize = 32;

/// Checks a release name: 1 to [`RELEASE_MAX_BYTES`] ASCII letters, digits, `.`, `-`, `+`.
pub fn check_release(release: &str) -> Result<(), DecodeError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+');
    if release.is_empty() || release.len() > RELEASE_MAX_BYTES || !release.chars().all(allowed) {
        return Err(DecodeError::Invalid {
            field: "release",
            reason: format!(
                "a release is named by 1 to {RELEASE_MAX_BYTES} letters, digits, '.', '-' or \
                 '+', such as 0.2.0"
            ),
        });
    }
    Ok(())
}

/// Which protocol version is active, and the upgrade scheduled next, if any (see
/// `civitas_core::protocol`). A chain without this record runs the version its genesis starts
/// at ([`ProtocolSchedule::starting`]; 1 unless the genesis names another).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProtocolSchedule {
    /// The version active since `since`.
    pub active: u16,
    /// The first block made under `active` (0 for the version the chain started at).
    pub since: u64,
    /// The upgrade scheduled next, if any.
    pub next: Option<Upgrade>,
}

/// An upgrade governance scheduled.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Upgrade {
    /// The protocol version.
    pub version: u16,
    /// The first block made under it.
    pub height: u64,
    /// The first release that runs it.
    pub release: String,
    /// The proposal that scheduled it.
    pub proposal: u64,
}

civitas_primitives::codec_struct!(Upgrade {
    version: (),
    height: (),
    release: RELEASE_MAX_BYTES,
    proposal: (),
});
civitas_primitives::codec_struct!(ProtocolSchedule {
    active: (),
    since: (),
    next: (),
});

impl Default for ProtocolSchedule {
    fn default() -> Self {
        Self::starting(1)
    }
}

impl ProtocolSchedule {
    /// The schedule of a chain that starts at `version` and has scheduled no upgrade.
    pub fn starting(version: u16) -> Self {
        Self {
            active: version,
            since: 0,
            next: None,
        }
    }

    /// The version blocks at `height` are made under, with the release that first runs it
    /// (`None` for the version active before the last upgrade was scheduled).
    pub fn at(&self, height: u64) -> (u16, Option<&str>) {
        match &self.next {
            Some(next) if height >= next.height => (next.version, Some(next.release.as_str())),
            _ => (self.active, None),
        }
    }

    /// The first block made under the version active at `height` (0 for the version the
    /// chain started at).
    pub fn active_since(&self, height: u64) -> u64 {
        match &self.next {
            Some(next) if height >= next.height => next.height,
            _ => self.since,
        }
    }

    /// The schedule as it stands at `height`: an upgrade whose height has come is active.
    pub fn settled(mut self, height: u64) -> Self {
        if let Some(next) = self.next.take() {
            if height >= next.height {
                self.active = next.version;
                self.since = next.height;
            } else {
                self.next = Some(next);
            }
        }
        self
    }
}

/// Checks a policy identifier: 1 to [`POLICY_ID_MAX_BYTES`] lowercase letters, digits, `-`, `_`.
pub fn check_policy_id(id: &str) -> Result<(), DecodeError> {
    check_ident("policy id", id, POLICY_ID_MAX_BYTES)
}

/// Checks the size of one policy's text (its Cedar syntax is checked by the node).
pub fn check_policy_text(text: &str) -> Result<(), DecodeError> {
    if text.trim().is_empty() || text.len() > POLICY_MAX_BYTES {
        return Err(DecodeError::Invalid {
            field: "policy",
            reason: format!(
                "must be 1 to {POLICY_MAX_BYTES} bytes of Cedar; it is {} bytes",
                text.len()
            ),
        });
    }
    Ok(())
}

impl GovernanceInstruction {
    /// `module.operation`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Propose { .. } => "governance.propose",
            Self::Approve { .. } => "governance.approve",
        }
    }

    /// Checks the rules that need no state.
    pub fn validate(&self) -> Result<(), DecodeError> {
        match self {
            Self::Propose { action, reason } => {
                check_text("reason", reason, REASON_MAX_BYTES)?;
                match action {
                    GovernanceAction::AddValidator {
                        agency,
                        p2p_address,
                        ..
                    } => {
                        check_ident("agency", agency, AGENCY_ID_MAX_BYTES)?;
                        check_text("p2p_address", p2p_address, ADDRESS_MAX_BYTES)
                    }
                    GovernanceAction::RemoveValidator { .. } => Ok(()),
                    GovernanceAction::SetThreshold { threshold } => {
                        if *threshold == 0 || *threshold as usize > AGENCIES_MAX {
                            return Err(DecodeError::Invalid {
                                field: "threshold",
                                reason: format!("must be between 1 and {AGENCIES_MAX}"),
                            });
                        }
                        Ok(())
                    }
                    GovernanceAction::SetPolicy { policy } => check_policy_text(policy),
                    GovernanceAction::RemovePolicy { id } => check_policy_id(id),
                    GovernanceAction::AddAgency {
                        id,
                        name,
                        admin_keys,
                        validator,
                    } => {
                        check_ident("agency", id, AGENCY_ID_MAX_BYTES)?;
                        check_text("name", name, NAME_MAX_BYTES)?;
                        check_admin_keys(admin_keys)?;
                        let Some(v) = validator else {
                            return Ok(());
                        };
                        if admin_keys.contains(&v.key) {
                            return Err(DecodeError::Invalid {
                                field: "admin_keys",
                                reason: "an admin key must not be the validator's key; give \
                                         each its own key"
                                    .into(),
                            });
                        }
                        check_text("p2p_address", &v.p2p_address, ADDRESS_MAX_BYTES)
                    }
                    GovernanceAction::RetireAgency { id } => {
                        check_ident("agency", id, AGENCY_ID_MAX_BYTES)
                    }
                    GovernanceAction::RenameAgency { id, name } => {
                        check_ident("agency", id, AGENCY_ID_MAX_BYTES)?;
                        check_text("name", name, NAME_MAX_BYTES)
                    }
                    GovernanceAction::ScheduleUpgrade {
                        version, release, ..
                    } => {
                        if *version < 2 {
                            return Err(DecodeError::Invalid {
                                field: "version",
                                reason: "protocol version 1 is where every chain starts; an \
                                         upgrade names version 2 or later"
                                    .into(),
                            });
                        }
                        check_release(release)
                    }
                }
            }
            Self::Approve { .. } => Ok(()),
        }
    }
}

impl Write for GovernanceAction {
    fn write(&self, buf: &mut impl BufMut) {
        match self {
            Self::AddValidator {
                agency,
                key,
                p2p_address,
            } => {
                0u8.write(buf);
                write_str(agency, buf);
                key.write(buf);
                write_str(p2p_address, buf);
            }
            Self::RemoveValidator { key } => {
                1u8.write(buf);
                key.write(buf);
            }
            Self::SetThreshold { threshold } => {
                2u8.write(buf);
                threshold.write(buf);
            }
            Self::SetPolicy { policy } => {
                3u8.write(buf);
                write_str(policy, buf);
            }
            Self::RemovePolicy { id } => {
                4u8.write(buf);
                write_str(id, buf);
            }
            Self::AddAgency {
                id,
                name,
                admin_keys,
                validator,
            } => {
                5u8.write(buf);
                write_str(id, buf);
                write_str(name, buf);
                admin_keys.write(buf);
                validator.write(buf);
            }
            Self::RetireAgency { id } => {
                6u8.write(buf);
                write_str(id, buf);
            }
            Self::RenameAgency { id, name } => {
                7u8.write(buf);
                write_str(id, buf);
                write_str(name, buf);
            }
            Self::ScheduleUpgrade {
                version,
                height,
                release,
            } => {
                8u8.write(buf);
                version.write(buf);
                height.write(buf);
                write_str(release, buf);
            }
        }
    }
}

impl Write for NewValidator {
    fn write(&self, buf: &mut impl BufMut) {
        self.key.write(buf);
        write_str(&self.p2p_address, buf);
    }
}

impl EncodeSize for NewValidator {
    fn encode_size(&self) -> usize {
        self.key.encode_size() + str_size(&self.p2p_address)
    }
}

impl Read for NewValidator {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, commonware_codec::Error> {
        Ok(Self {
            key: PublicKey::read(buf)?,
            p2p_address: read_str(buf, ADDRESS_MAX_BYTES)?,
        })
    }
}

impl EncodeSize for GovernanceAction {
    fn encode_size(&self) -> usize {
        1 + match self {
            Self::AddValidator {
                agency,
                key,
                p2p_address,
            } => str_size(agency) + key.encode_size() + str_size(p2p_address),
            Self::RemoveValidator { key } => key.encode_size(),
            Self::SetThreshold { .. } => 4,
            Self::SetPolicy { policy } => str_size(policy),
            Self::RemovePolicy { id } => str_size(id),
            Self::AddAgency {
                id,
                name,
                admin_keys,
                validator,
            } => str_size(id) + str_size(name) + admin_keys.encode_size() + validator.encode_size(),
            Self::RetireAgency { id } => str_size(id),
            Self::RenameAgency { id, name } => str_size(id) + str_size(name),
            Self::ScheduleUpgrade { release, .. } => 2 + 8 + str_size(release),
        }
    }
}

impl Read for GovernanceAction {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, commonware_codec::Error> {
        match u8::read(buf)? {
            0 => Ok(Self::AddValidator {
                agency: read_str(buf, AGENCY_ID_MAX_BYTES)?,
                key: PublicKey::read(buf)?,
                p2p_address: read_str(buf, ADDRESS_MAX_BYTES)?,
            }),
            1 => Ok(Self::RemoveValidator {
                key: PublicKey::read(buf)?,
            }),
            2 => Ok(Self::SetThreshold {
                threshold: u32::read(buf)?,
            }),
            3 => Ok(Self::SetPolicy {
                policy: read_str(buf, POLICY_MAX_BYTES)?,
            }),
            4 => Ok(Self::RemovePolicy {
                id: read_str(buf, POLICY_ID_MAX_BYTES)?,
            }),
            5 => Ok(Self::AddAgency {
                id: read_str(buf, AGENCY_ID_MAX_BYTES)?,
                name: read_str(buf, NAME_MAX_BYTES)?,
                admin_keys: read_list(buf, AGENCY_ADMIN_KEYS_MAX, &())?,
                validator: Option::<NewValidator>::read(buf)?,
            }),
            6 => Ok(Self::RetireAgency {
                id: read_str(buf, AGENCY_ID_MAX_BYTES)?,
            }),
            7 => Ok(Self::RenameAgency {
                id: read_str(buf, AGENCY_ID_MAX_BYTES)?,
                name: read_str(buf, NAME_MAX_BYTES)?,
            }),
            8 => Ok(Self::ScheduleUpgrade {
                version: u16::read(buf)?,
                height: u64::read(buf)?,
                release: read_str(buf, RELEASE_MAX_BYTES)?,
            }),
            other => Err(commonware_codec::Error::InvalidEnum(other)),
        }
    }
}

impl Write for GovernanceInstruction {
    fn write(&self, buf: &mut impl BufMut) {
        match self {
            Self::Propose { action, reason } => {
                0u8.write(buf);
                action.write(buf);
                write_str(reason, buf);
            }
            Self::Approve { proposal } => {
                1u8.write(buf);
                proposal.write(buf);
            }
        }
    }
}

impl EncodeSize for GovernanceInstruction {
    fn encode_size(&self) -> usize {
        1 + match self {
            Self::Propose { action, reason } => action.encode_size() + str_size(reason),
            Self::Approve { .. } => 8,
        }
    }
}

impl GovernanceInstruction {
    /// Reads the operation after its module tag.
    pub fn read_op(op: u8, buf: &mut impl Buf) -> Result<Self, commonware_codec::Error> {
        match op {
            0 => Ok(Self::Propose {
                action: GovernanceAction::read(buf)?,
                reason: read_str(buf, REASON_MAX_BYTES)?,
            }),
            1 => Ok(Self::Approve {
                proposal: u64::read(buf)?,
            }),
            other => Err(commonware_codec::Error::InvalidEnum(other)),
        }
    }
}

/// What the governance module records in receipts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum GovernanceEvent {
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
    /// A new policy set was approved; it is in force from `effective_height`.
    PoliciesScheduled {
        /// The proposal that changed it.
        proposal: u64,
        /// The policy set's version.
        version: u64,
        /// First block authorized under it.
        effective_height: u64,
    },
}
civitas_primitives::codec_enum!(GovernanceEvent {
    6 => ProposalOpened { proposal: (), action: (), by: (), agency: AGENCY_ID_MAX_BYTES },
    7 => ProposalApproved {
        proposal: (),
        agency: AGENCY_ID_MAX_BYTES,
        by: (),
        approvals: (),
        threshold: (),
    },
    8 => ProposalExecuted { proposal: (), action: (), effective_epoch: () },
    10 => PoliciesScheduled { proposal: (), version: (), effective_height: () },
});

impl civitas_primitives::kit::Events for GovernanceEvent {
    const TAGS: civitas_primitives::kit::EventTags =
        civitas_primitives::kit::EventTags::Shared(&[6, 7, 8, 10]);

    fn accounts(&self) -> Vec<AccountId> {
        match self {
            Self::ProposalOpened { by, .. } | Self::ProposalApproved { by, .. } => vec![*by],
            Self::ProposalExecuted { .. } | Self::PoliciesScheduled { .. } => Vec::new(),
        }
    }
}

impl civitas_primitives::kit::Tagged for GovernanceInstruction {
    const VARIANTS: &'static [&'static str] = &["Propose", "Approve"];

    fn read_tagged(tag: u8, buf: &mut impl Buf) -> Result<Self, commonware_codec::Error> {
        Self::read_op(tag, buf)
    }
}

impl civitas_primitives::kit::Operations for GovernanceInstruction {
    const MESSAGES: &'static [(&'static str, &'static str)] = MESSAGES;

    fn public_text(&self) -> Vec<civitas_primitives::personal::PublicText<'_>> {
        match self {
            Self::Propose { action, reason } => {
                let mut texts = vec![civitas_primitives::personal::PublicText::prose(
                    "reason", reason,
                )];
                use civitas_primitives::personal::PublicText;
                match action {
                    GovernanceAction::AddAgency {
                        name, validator, ..
                    } => {
                        texts.push(PublicText::prose("name", name));
                        if let Some(validator) = validator {
                            texts.push(PublicText::code("p2p_address", &validator.p2p_address));
                        }
                    }
                    GovernanceAction::RenameAgency { name, .. } => {
                        texts.push(PublicText::prose("name", name))
                    }
                    GovernanceAction::AddValidator { p2p_address, .. } => {
                        texts.push(PublicText::code("p2p_address", p2p_address))
                    }
                    // A policy is code (its numbers are times and amounts).
                    GovernanceAction::SetPolicy { policy } => {
                        texts.push(PublicText::code("policy", policy))
                    }
                    GovernanceAction::RemoveValidator { .. }
                    | GovernanceAction::SetThreshold { .. }
                    | GovernanceAction::RemovePolicy { .. }
                    | GovernanceAction::RetireAgency { .. }
                    | GovernanceAction::ScheduleUpgrade { .. } => {}
                }
                texts
            }
            Self::Approve { .. } => Vec::new(),
        }
    }

    fn accounts(&self) -> Vec<AccountId> {
        match self {
            // A proposal names keys and agencies, not accounts.
            Self::Propose { .. } | Self::Approve { .. } => Vec::new(),
        }
    }

    fn name(&self) -> &'static str {
        GovernanceInstruction::name(self)
    }

    fn feature(&self) -> &'static str {
        match self {
            Self::Propose { action, .. } => match action {
                GovernanceAction::AddValidator { .. } => "governance.propose.add_validator",
                GovernanceAction::RemoveValidator { .. } => "governance.propose.remove_validator",
                GovernanceAction::SetThreshold { .. } => "governance.propose.set_threshold",
                GovernanceAction::SetPolicy { .. } => "governance.propose.set_policy",
                GovernanceAction::RemovePolicy { .. } => "governance.propose.remove_policy",
                GovernanceAction::AddAgency { .. } => "governance.propose.add_agency",
                GovernanceAction::RetireAgency { .. } => "governance.propose.retire_agency",
                GovernanceAction::RenameAgency { .. } => "governance.propose.rename_agency",
                GovernanceAction::ScheduleUpgrade { .. } => "governance.propose.schedule_upgrade",
            },
            Self::Approve { .. } => "governance.approve",
        }
    }

    fn validate(&self) -> Result<(), DecodeError> {
        GovernanceInstruction::validate(self)
    }
}

civitas_primitives::codec_field!(GovernanceAction);

/// The sentences of the governance module's failure codes (see `civitas_core::messages`): a
/// template per code and set of arguments; `{name}` is replaced by the argument's value,
/// `{name:money}` by the amount with its currency, and `[problem=x]` chooses a template by the
/// `problem` argument.
pub const MESSAGES: &[(&str, &str)] = &[
    (
        "proposal_closed",
        "proposal {proposal} was already executed",
    ),
    (
        "already_approved",
        "agency {agency} has already approved proposal {proposal}",
    ),
    (
        "already_validator",
        "{key} is already in the next epoch's validator set",
    ),
    (
        "too_many_validators",
        "the validator set is full ({validators_max} validators)",
    ),
    (
        "not_validator",
        "{key} is not in the next epoch's validator set",
    ),
    (
        "last_validator",
        "the last validator cannot be removed: the chain would stop",
    ),
    (
        "last_validator",
        "retiring agency {agency} would remove every validator: the chain would stop; add \
         another agency's validator first",
    ),
    (
        "bad_threshold",
        "the threshold must be between 1 and the {agencies} agencies in force",
    ),
    (
        "bad_threshold",
        "retiring agency {agency} would leave {agencies} agencies in force, fewer than the \
         threshold of {threshold}; lower the threshold first",
    ),
    (
        "bad_upgrade",
        "[problem=version]protocol version {active} is active, so an upgrade names version \
         {next}, not {version}",
    ),
    (
        "bad_upgrade",
        "[problem=height]an upgrade must activate after the block that executes it: block {at} \
         is not after block {height}; propose a later height",
    ),
    (
        "unknown_policy",
        "no policy with id \"{policy}\" is in force",
    ),
    (
        "invalid_policy",
        "[problem=schema]the authorization schema is not valid Cedar",
    ),
    (
        "invalid_policy",
        "[problem=parse]policy {policy} is not valid Cedar; run `civitas policy check` on it for \
         details",
    ),
    (
        "invalid_policy",
        "[problem=bad_id]a policy's @id(\"...\") annotation is missing or malformed, or the \
         text holds more than one policy; run `civitas policy check` for details",
    ),
    (
        "invalid_policy",
        "[problem=duplicate_id]two policies have the id \"{policy}\"; each id must be unique",
    ),
    (
        "invalid_policy",
        "[problem=template]policy templates are not accepted; write a complete policy",
    ),
    (
        "invalid_policy",
        "[problem=too_large]the policies are over a size limit; run `civitas policy check` for \
         details",
    ),
    (
        "invalid_policy",
        "[problem=too_deep]policy {policy} nests its expressions {depth} levels deep; at most \
         {depth_max} are accepted",
    ),
    (
        "invalid_policy",
        "[problem=validation]the policies do not validate against the chain's schema; run \
         `civitas policy check` for details",
    ),
    (
        "invalid_policy",
        "[problem=unchecked]the policy change was not checked",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use civitas_primitives::codec::to_vec;
    use civitas_primitives::crypto::PrivateKey;
    use civitas_primitives::kit::decode_tagged;

    fn key(seed: u64) -> PublicKey {
        PrivateKey::from_test_seed(seed).public_key()
    }

    #[test]
    fn actions_round_trip() {
        for instruction in [
            GovernanceInstruction::Propose {
                action: GovernanceAction::AddValidator {
                    agency: "health".into(),
                    key: key(7),
                    p2p_address: "10.0.0.7:9000".into(),
                },
                reason: "new agency joins".into(),
            },
            GovernanceInstruction::Propose {
                action: GovernanceAction::RemoveValidator { key: key(2) },
                reason: "decommissioned".into(),
            },
            GovernanceInstruction::Propose {
                action: GovernanceAction::SetThreshold { threshold: 3 },
                reason: "more agencies".into(),
            },
            GovernanceInstruction::Propose {
                action: GovernanceAction::SetPolicy {
                    policy: "@id(\"p\")\npermit (principal, action, resource);".into(),
                },
                reason: "open everything".into(),
            },
            GovernanceInstruction::Propose {
                action: GovernanceAction::RemovePolicy { id: "p".into() },
                reason: "close it again".into(),
            },
            GovernanceInstruction::Propose {
                action: GovernanceAction::AddAgency {
                    id: "justice".into(),
                    name: "Ministry of Justice".into(),
                    admin_keys: vec![key(8), key(9)],
                    validator: Some(NewValidator {
                        key: key(10),
                        p2p_address: "justice.example:9000".into(),
                    }),
                },
                reason: "the ministry joins".into(),
            },
            GovernanceInstruction::Propose {
                action: GovernanceAction::AddAgency {
                    id: "archive".into(),
                    name: "National Archive".into(),
                    admin_keys: vec![key(11)],
                    validator: None,
                },
                reason: "votes without a validator".into(),
            },
            GovernanceInstruction::Propose {
                action: GovernanceAction::RetireAgency { id: "land".into() },
                reason: "merged into finance".into(),
            },
            GovernanceInstruction::Propose {
                action: GovernanceAction::RenameAgency {
                    id: "health".into(),
                    name: "Ministry of Health and Care".into(),
                },
                reason: "renamed by decree".into(),
            },
            GovernanceInstruction::Approve { proposal: 9 },
        ] {
            assert_eq!(instruction.validate(), Ok(()), "{instruction:?}");
            let bytes = to_vec(&instruction);
            assert_eq!(
                bytes.len(),
                commonware_codec::EncodeSize::encode_size(&instruction)
            );
            assert_eq!(
                decode_tagged::<GovernanceInstruction>(&bytes),
                Ok(instruction)
            );
        }
    }
}

#[cfg(test)]
mod agency_rules {
    use super::*;
    use civitas_primitives::crypto::PrivateKey;

    fn add(id: &str, name: &str, admin_keys: Vec<PublicKey>) -> GovernanceInstruction {
        GovernanceInstruction::Propose {
            action: GovernanceAction::AddAgency {
                id: id.into(),
                name: name.into(),
                admin_keys,
                validator: None,
            },
            reason: "joins".into(),
        }
    }

    #[test]
    fn a_joining_agency_needs_an_id_a_name_and_distinct_admin_keys() {
        let key = |seed| PrivateKey::from_test_seed(seed).public_key();
        assert!(
            add("justice", "Ministry of Justice", vec![key(1)])
                .validate()
                .is_ok()
        );
        let field = |i: GovernanceInstruction| match i.validate() {
            Err(DecodeError::Invalid { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field(add("Justice", "Ministry", vec![key(1)])), "agency");
        assert_eq!(field(add("justice", " ", vec![key(1)])), "name");
        assert_eq!(field(add("justice", "Ministry", vec![])), "admin_keys");
        assert_eq!(
            field(add("justice", "Ministry", vec![key(1), key(1)])),
            "admin_keys"
        );
        assert_eq!(
            field(add("justice", "Ministry", (0..9).map(key).collect())),
            "admin_keys"
        );
        let shared = GovernanceInstruction::Propose {
            action: GovernanceAction::AddAgency {
                id: "justice".into(),
                name: "Ministry".into(),
                admin_keys: vec![key(1)],
                validator: Some(NewValidator {
                    key: key(1),
                    p2p_address: "10.0.0.9:9000".into(),
                }),
            },
            reason: "joins".into(),
        };
        assert_eq!(field(shared), "admin_keys");
        let rename = GovernanceInstruction::Propose {
            action: GovernanceAction::RenameAgency {
                id: "justice".into(),
                name: "x".repeat(NAME_MAX_BYTES + 1),
            },
            reason: "longer".into(),
        };
        assert_eq!(field(rename), "name");
    }
}
