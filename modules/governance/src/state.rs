//! Governance state: settings, proposals, the next epoch's validator set, and one validator-set
//! record per epoch.

use civitas_core::bundle::StateKey;
use civitas_core::codec::{
    read_str, read_str_list, str_list_size, str_size, write_str, write_str_list,
};
use civitas_core::crypto::AccountId;
use civitas_core::governance::{GovernanceAction, ProtocolSchedule, ValidatorSet};
use civitas_core::limits::*;
use civitas_kit::Overlay;
use civitas_kit::{StateError, StateView};
use commonware_codec::{Buf, EncodeSize, Read, ReadExt, Write};
use serde::Serialize;

/// The module's key spaces, as `spaces::NAME` (see [`SPACES`]).
pub mod spaces {
    /// Governance settings: threshold and next proposal number (single key, empty id).
    pub const GOVERNANCE: &str = "governance/config";
    /// A governance proposal, by big-endian u64 number.
    pub const PROPOSAL: &str = "governance/proposal";
    /// The validator set the next epoch will have (single key, empty id).
    pub const NEXT_VALIDATORS: &str = "governance/next-validators";
    /// The active protocol version and the upgrade scheduled next (single key, empty id).
    pub const PROTOCOL: &str = "governance/protocol";
    pub use civitas_core::bundle::spaces::{EPOCH, HANDOVERS};

    use super::*;
    use civitas_kit::space::{Id, Space, view};

    /// Where the module's records are, how a client names one, and how a value is shown.
    pub const SPACES: &[Space] = &[
        Space {
            name: GOVERNANCE,
            id: Id::Empty,
            about: "empty",
            describe: None,
            view: view::<GovernanceConfig>,
        },
        Space {
            name: PROPOSAL,
            id: Id::Number,
            about: "proposal number",
            describe: None,
            view: view::<Proposal>,
        },
        Space {
            name: PROTOCOL,
            id: Id::Empty,
            about: "empty",
            describe: None,
            view: view::<ProtocolSchedule>,
        },
        Space {
            name: NEXT_VALIDATORS,
            id: Id::Empty,
            about: "empty",
            describe: None,
            view: view::<ValidatorSet>,
        },
        Space {
            name: HANDOVERS,
            id: Id::Empty,
            about: "empty",
            describe: None,
            view: |bytes| {
                let epochs = civitas_core::codec::from_slice::<Epochs>(bytes, &()).ok()?;
                serde_json::to_value(epochs.0).ok()
            },
        },
    ];
}

/// Governance settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GovernanceConfig {
    /// Agencies that must approve a proposal.
    pub threshold: u32,
    /// Number the next proposal gets.
    pub next_proposal: u64,
    /// The agencies in force (whose approvals count), in ascending order.
    pub agencies: Vec<String>,
}

impl GovernanceConfig {
    /// Whether `agency` is in force.
    pub fn in_force(&self, agency: &str) -> bool {
        self.agencies
            .binary_search_by(|a| a.as_str().cmp(agency))
            .is_ok()
    }

    /// How many of `approvals` come from agencies in force (an approval given before its
    /// agency retired no longer counts).
    pub fn counted(&self, approvals: &[String]) -> u32 {
        approvals.iter().filter(|a| self.in_force(a)).count() as u32
    }
}

/// Where a proposal stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ProposalStatus {
    /// Collecting approvals.
    Open,
    /// Reached the threshold and took effect.
    Executed {
        /// Height of the block that executed it.
        height: u64,
    },
}

/// A governance proposal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Proposal {
    /// Its number.
    pub id: u64,
    /// What it does once approved.
    pub action: GovernanceAction,
    /// Why, as the proposer wrote it.
    pub reason: String,
    /// The admin who proposed it.
    pub proposer: AccountId,
    /// Height of the block that opened it.
    pub opened_height: u64,
    /// Agencies that approved it, in ascending order.
    pub approvals: Vec<String>,
    /// Where it stands.
    pub status: ProposalStatus,
}

/// Key of the governance settings.
pub fn config_key() -> StateKey {
    StateKey::new(spaces::GOVERNANCE, Vec::new())
}

/// Key of proposal `id`.
pub fn proposal_key(id: u64) -> StateKey {
    StateKey::new(spaces::PROPOSAL, id.to_be_bytes().to_vec())
}

/// Key of the validator set the next epoch will have.
pub fn next_validators_key() -> StateKey {
    StateKey::new(spaces::NEXT_VALIDATORS, Vec::new())
}

/// Key of epoch `epoch`'s validator set.
pub fn epoch_key(epoch: u64) -> StateKey {
    StateKey::new(spaces::EPOCH, epoch.to_be_bytes().to_vec())
}

/// Key of the list of epochs whose set changed.
pub fn handovers_key() -> StateKey {
    StateKey::new(spaces::HANDOVERS, Vec::new())
}

/// Key of the protocol schedule.
pub fn protocol_key() -> StateKey {
    StateKey::new(spaces::PROTOCOL, Vec::new())
}

/// Loads the protocol schedule as recorded; without a record, the chain runs `starting` (the
/// version its genesis starts at) since genesis.
pub async fn load_protocol<S: StateView>(
    state: &mut Overlay<'_, S>,
    starting: u16,
) -> Result<ProtocolSchedule, StateError> {
    Ok(state
        .get_typed(&protocol_key())
        .await?
        .unwrap_or_else(|| ProtocolSchedule::starting(starting)))
}

/// Loads the settings.
pub async fn load_config<S: StateView>(
    state: &mut Overlay<'_, S>,
) -> Result<GovernanceConfig, StateError> {
    state
        .get_typed(&config_key())
        .await?
        .ok_or_else(|| StateError::Corrupt {
            key: config_key().display(),
            reason: "governance settings are missing".into(),
        })
}

/// Loads the next epoch's validator set.
pub async fn load_next_validators<S: StateView>(
    state: &mut Overlay<'_, S>,
) -> Result<ValidatorSet, StateError> {
    state
        .get_typed(&next_validators_key())
        .await?
        .ok_or_else(|| StateError::Corrupt {
            key: next_validators_key().display(),
            reason: "the next validator set is missing".into(),
        })
}

/// A list of epochs (the hand-over index), stored as its own codec type.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Epochs(pub Vec<u64>);

impl Write for Epochs {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        self.0.write(buf);
    }
}

impl EncodeSize for Epochs {
    fn encode_size(&self) -> usize {
        self.0.encode_size()
    }
}

impl Read for Epochs {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, commonware_codec::Error> {
        Ok(Self(civitas_core::governance::read_epochs(buf)?))
    }
}

impl Write for GovernanceConfig {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        self.threshold.write(buf);
        self.next_proposal.write(buf);
        write_str_list(&self.agencies, buf);
    }
}

impl EncodeSize for GovernanceConfig {
    fn encode_size(&self) -> usize {
        12 + str_list_size(&self.agencies)
    }
}

impl Read for GovernanceConfig {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, commonware_codec::Error> {
        Ok(Self {
            threshold: u32::read(buf)?,
            next_proposal: u64::read(buf)?,
            agencies: read_str_list(buf, AGENCIES_MAX, AGENCY_ID_MAX_BYTES)?,
        })
    }
}

impl Write for Proposal {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        self.id.write(buf);
        self.action.write(buf);
        write_str(&self.reason, buf);
        self.proposer.write(buf);
        self.opened_height.write(buf);
        (self.approvals.len() as u32).write(buf);
        for agency in &self.approvals {
            write_str(agency, buf);
        }
        match self.status {
            ProposalStatus::Open => 0u8.write(buf),
            ProposalStatus::Executed { height } => {
                1u8.write(buf);
                height.write(buf);
            }
        }
    }
}

impl EncodeSize for Proposal {
    fn encode_size(&self) -> usize {
        8 + self.action.encode_size()
            + str_size(&self.reason)
            + 32
            + 8
            + 4
            + self.approvals.iter().map(|a| str_size(a)).sum::<usize>()
            + match self.status {
                ProposalStatus::Open => 1,
                ProposalStatus::Executed { .. } => 9,
            }
    }
}

impl Read for Proposal {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, commonware_codec::Error> {
        let id = u64::read(buf)?;
        let action = GovernanceAction::read(buf)?;
        let reason = read_str(buf, REASON_MAX_BYTES)?;
        let proposer = AccountId::read(buf)?;
        let opened_height = u64::read(buf)?;
        let count = u32::read(buf)? as usize;
        if count > APPROVALS_MAX {
            return Err(commonware_codec::Error::Invalid(
                "Proposal",
                "too many approvals",
            ));
        }
        let mut approvals = Vec::with_capacity(count);
        for _ in 0..count {
            approvals.push(read_str(buf, AGENCY_ID_MAX_BYTES)?);
        }
        let status = match u8::read(buf)? {
            0 => ProposalStatus::Open,
            1 => ProposalStatus::Executed {
                height: u64::read(buf)?,
            },
            other => return Err(commonware_codec::Error::InvalidEnum(other)),
        };
        Ok(Self {
            id,
            action,
            reason,
            proposer,
            opened_height,
            approvals,
            status,
        })
    }
}
