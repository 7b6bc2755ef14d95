//! Integrity signals: red flags computed from the record when a tender is awarded, stored
//! with the award and published as events. A signal is not an accusation; it points an
//! auditor at a process worth reading.
//!
//! | code | raised when |
//! |---|---|
//! | `single_bidder` | only one bid was opened |
//! | `short_tender_period` | bids were open for fewer than [`SHORT_TENDER_DAYS`] days |
//! | `award_above_estimate` | the award exceeds the estimated value |
//! | `non_competitive_above_threshold` | a limited or direct award at or above the open-tender threshold |
//! | `split_below_threshold` | an award within [`SPLIT_BAND_PERCENT`]% below the threshold, with other awards to the same vendor by the same agency within [`SPLIT_WINDOW_DAYS`] days that together reach it |
//! | `repeat_winner` | the vendor won at least [`REPEAT_MIN_WINS`] and more than half of the agency's last [`REPEAT_WINDOW`] awards |

use crate::state::{AwardNote, RecentAwards, Signal, Tender};
use civitas_core::money::format_amount;
use civitas_core::procurement::Method;

/// Bid periods shorter than this many days raise `short_tender_period` (the EU's shortest
/// accelerated open procedure).
pub const SHORT_TENDER_DAYS: u64 = 15;
/// Awards this close below the threshold, in percent of it, count as "just below".
pub const SPLIT_BAND_PERCENT: u64 = 10;
/// How far back related awards count for splitting, in days.
pub const SPLIT_WINDOW_DAYS: u64 = 90;
/// How many of the agency's latest awards `repeat_winner` looks at.
pub const REPEAT_WINDOW: usize = 10;
/// Fewest wins in that window for `repeat_winner`.
pub const REPEAT_MIN_WINS: usize = 3;

const DAY_MS: u64 = 86_400_000;

fn signal(code: &str, detail: String) -> Signal {
    Signal {
        code: code.into(),
        detail,
    }
}

/// The signals an award raises. `recent` holds the agency's earlier awards (not this one);
/// `threshold` is the fiscal year's open-tender threshold in minor units.
pub fn on_award(
    tender: &Tender,
    award: &AwardNote,
    recent: &RecentAwards,
    threshold: u64,
) -> Vec<Signal> {
    let currency = tender.estimated.currency;
    let money = |amount| format_amount(amount, currency);
    let mut raised = Vec::new();
    if tender.opened == 1 {
        raised.push(signal(
            "single_bidder",
            format!(
                "only one bid was opened ({} received)",
                tender.bidders.len()
            ),
        ));
    }
    let period = tender.deadline.0.saturating_sub(tender.published_at.0);
    if period < SHORT_TENDER_DAYS * DAY_MS {
        raised.push(signal(
            "short_tender_period",
            format!(
                "bids were open for {} hours, fewer than {SHORT_TENDER_DAYS} days",
                period / 3_600_000
            ),
        ));
    }
    let estimate = tender.estimated.amount;
    if award.value > estimate {
        let above = award.value - estimate;
        raised.push(signal(
            "award_above_estimate",
            format!(
                "awarded {}, {} ({}%) above the estimate of {}",
                money(award.value),
                money(above),
                u128::from(above) * 100 / u128::from(estimate.max(1)),
                money(estimate)
            ),
        ));
    }
    if matches!(tender.method, Method::Limited | Method::Direct) && award.value >= threshold {
        raised.push(signal(
            "non_competitive_above_threshold",
            format!(
                "a {} award of {} is at or above the open-tender threshold of {}",
                tender.method.ocds(),
                money(award.value),
                money(threshold)
            ),
        ));
    }
    let band_floor = threshold - threshold * SPLIT_BAND_PERCENT / 100;
    if (band_floor..threshold).contains(&award.value) {
        let since = award.time.0.saturating_sub(SPLIT_WINDOW_DAYS * DAY_MS);
        let related: Vec<&AwardNote> = recent
            .awards
            .iter()
            .filter(|a| a.vendor == award.vendor && a.time.0 >= since && a.value < threshold)
            .collect();
        let together: u128 =
            related.iter().map(|a| u128::from(a.value)).sum::<u128>() + u128::from(award.value);
        if !related.is_empty() && together >= u128::from(threshold) {
            raised.push(signal(
                "split_below_threshold",
                format!(
                    "{} awards to this vendor by {} within {SPLIT_WINDOW_DAYS} days total {}, \
                     each below the open-tender threshold of {} (this one {})",
                    related.len() + 1,
                    tender.agency,
                    money(u64::try_from(together).unwrap_or(u64::MAX)),
                    money(threshold),
                    money(award.value)
                ),
            ));
        }
    }
    let window: Vec<&AwardNote> = recent
        .awards
        .iter()
        .rev()
        .take(REPEAT_WINDOW - 1)
        .chain(std::iter::once(award))
        .collect();
    let wins = window.iter().filter(|a| a.vendor == award.vendor).count();
    if wins >= REPEAT_MIN_WINS && wins * 2 > window.len() {
        raised.push(signal(
            "repeat_winner",
            format!(
                "this vendor won {wins} of {}'s last {} awards",
                tender.agency,
                window.len()
            ),
        ));
    }
    raised
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Stage;
    use civitas_core::crypto::AccountId;
    use civitas_core::money::{Currency, Money};
    use civitas_core::time::TimestampMs;

    fn tender(method: Method, opened: u32, period_days: u64, estimate: u64) -> Tender {
        Tender {
            id: 9,
            agency: "works".into(),
            appropriation: 1,
            year: 2026,
            title: "t".into(),
            description: "d".into(),
            estimated: Money::new(estimate, Currency::parse("EUR").unwrap()),
            method,
            stage: Stage::Tendering,
            planned_by: AccountId([0; 32]),
            planned_at: TimestampMs(0),
            published_at: TimestampMs(1_000),
            documents: vec![],
            deadline: TimestampMs(1_000 + period_days * DAY_MS),
            criteria: vec![],
            committee: vec![],
            standstill_days: 0,
            clarifications: vec![],
            bidders: vec![AccountId([1; 32]); opened as usize],
            opened,
            award: None,
            complaints: vec![],
            contract: None,
            cancellation: None,
        }
    }

    fn note(vendor: u8, value: u64, day: u64) -> AwardNote {
        AwardNote {
            tender: 1,
            vendor: AccountId([vendor; 32]),
            value,
            time: TimestampMs(day * DAY_MS),
        }
    }

    fn codes(signals: &[Signal]) -> Vec<&str> {
        signals.iter().map(|s| s.code.as_str()).collect()
    }

    #[test]
    fn a_clean_award_raises_nothing() {
        let raised = on_award(
            &tender(Method::Open, 3, 30, 1_000),
            &note(1, 900, 100),
            &RecentAwards::default(),
            100_000,
        );
        assert!(raised.is_empty(), "{raised:?}");
    }

    #[test]
    fn each_signal_fires_on_its_pattern() {
        let raised = on_award(
            &tender(Method::Direct, 1, 3, 1_000),
            &note(1, 1_200, 100),
            &RecentAwards::default(),
            1_000,
        );
        assert_eq!(
            codes(&raised),
            [
                "single_bidder",
                "short_tender_period",
                "award_above_estimate",
                "non_competitive_above_threshold"
            ]
        );
        assert!(raised[2].detail.contains("(20%)"), "{}", raised[2].detail);

        // Two awards just below a 100,000 threshold to the same vendor within 90 days.
        let recent = RecentAwards {
            awards: vec![note(1, 95_000, 50), note(2, 10, 60)],
        };
        let raised = on_award(
            &tender(Method::Open, 2, 30, 99_000),
            &note(1, 98_000, 100),
            &recent,
            100_000,
        );
        assert_eq!(codes(&raised), ["split_below_threshold"]);
        // The same pair 200 days apart is not a split.
        let old = RecentAwards {
            awards: vec![note(1, 95_000, 1)],
        };
        assert!(
            on_award(
                &tender(Method::Open, 2, 30, 99_000),
                &note(1, 98_000, 201),
                &old,
                100_000
            )
            .is_empty()
        );

        let recent = RecentAwards {
            awards: vec![note(1, 5, 1), note(2, 5, 2), note(1, 5, 3)],
        };
        let raised = on_award(
            &tender(Method::Open, 2, 30, 10),
            &note(1, 5, 4),
            &recent,
            100_000,
        );
        assert_eq!(codes(&raised), ["repeat_winner"]);
        assert!(raised[0].detail.contains("won 3 of works's last 4"));
    }
}
