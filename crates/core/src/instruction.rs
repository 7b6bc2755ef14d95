//! Instructions: the operations a transaction asks the ledger to perform.
//!
//! Each module declares its own instructions (`identity`, `notary`, `governance`,
//! `treasury`, `procurement`); [`Instruction`] is assembled from them by the registration list
//! in [`crate::modules`]. An instruction encodes as the module's tag byte, the operation's tag
//! byte, then its fields. The rules that apply them live in `civitas-modules`.

use crate::limits::TX_INSTRUCTIONS_MAX;
use commonware_codec::RangeCfg;

pub use crate::governance::{GovernanceAction, GovernanceInstruction};
pub use crate::identity::{IdentityInstruction, check_keys};
pub use crate::modules::Instruction;
pub use crate::notary::{MetadataEntry, NotaryInstruction};
pub use crate::procurement::ProcurementInstruction;
pub use crate::treasury::TreasuryInstruction;

/// Read configuration for a list of instructions.
pub fn instructions_cfg() -> (RangeCfg<usize>, ()) {
    (RangeCfg::new(1..=TX_INSTRUCTIONS_MAX), ())
}
