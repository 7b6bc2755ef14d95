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

    /// Reads what [`rfc3339`](Self::rfc3339) writes (`2026-11-22T03:00:00Z`), or a date alone
    /// (`2026-11-22`, midnight UTC). Only UTC (`Z`) is accepted, so that a time means the same
    /// everywhere; the calendar date must exist.
    pub fn parse_rfc3339(text: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "{text:?} is not a UTC time such as 2026-12-31T17:00:00Z, or a date such as \
                 2026-12-31"
            )
        };
        let text = text.trim();
        let (date, time) = match text.split_once('T') {
            Some((date, time)) => (date, time.strip_suffix('Z').ok_or_else(bad)?),
            None => (text, "00:00:00"),
        };
        let number = |part: &str, digits: usize| -> Result<u32, String> {
            if part.len() != digits || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            part.parse().map_err(|_| bad())
        };
        let date: Vec<&str> = date.split('-').collect();
        let time: Vec<&str> = time.split(':').collect();
        let ([y, mo, d], [h, mi, s]) = (date.as_slice(), time.as_slice()) else {
            return Err(bad());
        };
        let (year, month, day) = (number(y, 4)?, number(mo, 2)?, number(d, 2)?);
        let (hour, minute, second) = (number(h, 2)?, number(mi, 2)?, number(s, 2)?);
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
        let month_days = [
            31,
            if leap { 29 } else { 28 },
            31,
            30,
            31,
            30,
            31,
            31,
            30,
            31,
            30,
            31,
        ];
        if year < 1970
            || !(1..=12).contains(&month)
            || day == 0
            || day > month_days[month as usize - 1]
            || hour > 23
            || minute > 59
            || second > 59
        {
            return Err(bad());
        }
        // Days from 1970-01-01 to the date (the inverse of `civil`), integers only.
        let (y, m) = if month <= 2 {
            (i64::from(year) - 1, month + 9)
        } else {
            (i64::from(year), month - 3)
        };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let doy = (153 * i64::from(m) + 2) / 5 + i64::from(day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era * 146_097 + doe - 719_468;
        let seconds =
            days * 86_400 + i64::from(hour) * 3_600 + i64::from(minute) * 60 + i64::from(second);
        u64::try_from(seconds)
            .ok()
            .and_then(|s| s.checked_mul(1_000))
            .map(Self)
            .ok_or_else(bad)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_as_they_print() {
        for millis in [
            0,
            951_782_400_000,
            1_709_251_199_000,
            1_735_689_600_000,
            4_102_444_799_000,
        ] {
            let time = TimestampMs(millis);
            assert_eq!(TimestampMs::parse_rfc3339(&time.rfc3339()), Ok(time));
        }
        assert_eq!(
            TimestampMs::parse_rfc3339("2025-01-01"),
            Ok(TimestampMs(1_735_689_600_000))
        );
        for bad in [
            "2025-02-29",
            "2024-13-01",
            "2024-02-30T00:00:00Z",
            "2024-02-01T24:00:00Z",
            "2024-02-01T10:00:00+01:00",
            "2024-02-01T10:00:00",
            "24-02-01",
            "1969-12-31",
            "",
        ] {
            assert!(TimestampMs::parse_rfc3339(bad).is_err(), "{bad}");
        }
    }

    proptest::proptest! {
        /// Every second from 1970 to 9999 reads back as written.
        #[test]
        fn every_second_round_trips(seconds in 0u64..253_402_300_800) {
            let time = TimestampMs(seconds * 1_000);
            proptest::prop_assert_eq!(TimestampMs::parse_rfc3339(&time.rfc3339()), Ok(time));
        }
    }

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
