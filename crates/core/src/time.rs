//! Ledger time: milliseconds since the Unix epoch, as carried by block headers.
//!
//! Execution reads time only from the header of the block being executed.

use serde::{Deserialize, Serialize};

/// A point in time, in milliseconds since 1970-01-01T00:00:00Z.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct TimestampMs(pub u64);

impl TimestampMs {
    /// Milliseconds since the Unix epoch.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// This time plus `millis`, saturating at the far future.
    pub const fn saturating_add_ms(self, millis: u64) -> Self {
        Self(self.0.saturating_add(millis))
    }
}
