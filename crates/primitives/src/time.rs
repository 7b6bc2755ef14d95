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

    /// The UTC calendar date and time: (year, month, day, hour, minute, second).
    pub fn civil(self) -> (i64, u32, u32, u32, u32, u32) {
        // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm), integers only.
        let seconds = self.0 / 1_000;
        let days = (seconds / 86_400) as i64;
        let of_day = seconds % 86_400;
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        (
            year,
            month,
            day,
            (of_day / 3_600) as u32,
            (of_day % 3_600 / 60) as u32,
            (of_day % 60) as u32,
        )
    }

    /// RFC 3339 in UTC, to the second: `2026-11-22T03:00:00Z`.
    pub fn rfc3339(self) -> String {
        let (y, mo, d, h, mi, s) = self.civil();
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(TimestampMs(0).rfc3339(), "1970-01-01T00:00:00Z");
        assert_eq!(
            TimestampMs(1_709_251_199_999).rfc3339(),
            "2024-02-29T23:59:59Z"
        );
        assert_eq!(
            TimestampMs(1_735_689_600_000).rfc3339(),
            "2025-01-01T00:00:00Z"
        );
    }
}
