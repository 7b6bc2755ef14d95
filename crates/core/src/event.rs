//! Events: what a successful transaction changed, in words a reader can follow.
//!
//! Events are recorded in the transaction's receipt (and so are provable) and streamed to
//! subscribers of the node's event feed. Each module declares its own; [`Event`] is assembled
//! from them by the registration list in [`crate::modules`].

pub use crate::governance::GovernanceEvent;
pub use crate::identity::{AccountKind, IdentityEvent};
pub use crate::modules::Event;
pub use crate::notary::NotaryEvent;
pub use crate::procurement::ProcurementEvent;
pub use crate::treasury::TreasuryEvent;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{from_slice, to_vec};
    use crate::crypto::AccountId;
    use crate::hash::Hash32;
    use crate::money::{Currency, Money};
    use crate::notary::NotaryEvent;
    use crate::procurement::ProcurementEvent;
    use crate::treasury::TreasuryEvent;
    use commonware_codec::EncodeSize;

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
            Event::Notary(NotaryEvent::DocumentRevoked {
                document: Hash32::sha256(b"d"),
                by: AccountId([1; 32]),
                reason: "error".into(),
            }),
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
