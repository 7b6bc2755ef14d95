//! Governance: proposals that a threshold of agencies approve, changing the validator set (from
//! the next epoch) or the threshold itself; and the epoch records that let anyone follow the
//! validator set from genesis.

pub mod handler;
pub mod state;
