//! Reading the modules' state: typed keys from text, and JSON views of stored values.
//!
//! Used by the API and the CLI so that a state key can be named as `notary/document/<sha256>`
//! and a stored value shown as JSON instead of bytes.

use civitas_core::bundle::StateKey;
use civitas_core::codec::DecodeError;
use civitas_kit::space::Space;
use std::sync::LazyLock;

/// Every key space a client may name: the ledger's, then each module's in registration order.
pub fn spaces() -> &'static [&'static Space] {
    static ALL: LazyLock<Vec<&'static Space>> = LazyLock::new(crate::assembled_spaces);
    &ALL
}

/// The key space named `name`, if there is one.
pub fn space(name: &str) -> Option<&'static Space> {
    spaces().iter().copied().find(|space| space.name == name)
}

/// Builds a typed key from a space name and the id as text.
pub fn key_from_text(space_name: &str, id: &str) -> Result<StateKey, DecodeError> {
    civitas_kit::space::key_from_text(spaces(), space_name, id)
}

/// A JSON view of a stored value, if the space is known and the bytes decode.
pub fn value_json(space_name: &str, bytes: &[u8]) -> Option<serde_json::Value> {
    (space(space_name)?.view)(bytes)
}

/// A plain-language statement of what a verified bundle proves.
pub fn describe_bundle(bundle: &civitas_core::bundle::ProofBundle, genesis_chain: &str) -> String {
    use civitas_core::bundle::Claim;
    use civitas_core::receipt::TxOutcome;
    let height = bundle.header.height;
    let at = civitas_kit::space::At {
        words: format!("at height {height} of chain {genesis_chain}"),
        time: bundle.header.timestamp,
    };
    let transaction = match &bundle.claim {
        Claim::State(_) => None,
        Claim::Transaction(claim) => Some((&**claim, String::new())),
        Claim::EarlierTransaction(earlier) => Some((
            &earlier.claim,
            format!(" (proven through the history of certified block {height})"),
        )),
    };
    if let Some((claim, through)) = transaction {
        let receipt = &claim.receipt;
        let outcome = match &receipt.outcome {
            TxOutcome::Success => "it succeeded".to_string(),
            TxOutcome::Failed { code, .. } => format!(
                "it FAILED ({code}: {})",
                receipt.outcome.message().unwrap_or_default()
            ),
        };
        return format!(
            "transaction {} signed by account {} (nonce {}) is number {} of block {} of chain {genesis_chain}{through}; {outcome}, with {} event(s)",
            receipt.tx,
            hex::encode(receipt.signer.0),
            receipt.nonce,
            receipt.index,
            receipt.height,
            receipt.events.len()
        );
    }
    let Claim::State(claim) = &bundle.claim else {
        unreachable!("transaction claims are described above")
    };
    let key = &claim.key;
    let value = claim
        .value
        .as_deref()
        .and_then(|v| value_json(&key.space, v));
    if let Some(describe) = space(&key.space).and_then(|s| s.describe)
        && let Some(sentence) = describe(&key.id, value.as_ref(), &at)
    {
        return sentence;
    }
    match value {
        Some(value) => format!("{} holds {value} ({at})", key.display()),
        None => format!("{} is absent ({at})", key.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// A key's id written back as text (as proof addresses are) names the same key, in
        /// every space: `parse(text(parse(t))) == parse(t)`.
        #[test]
        fn every_space_writes_its_ids_as_it_reads_them(
            text in prop_oneof![
                "[0-9]{1,20}",
                "[0-9a-fA-F]{64}",
                "[0-9]{4}/(all|agency/[a-z]{1,8}|vendor/[0-9a-f]{64}|month/2026-0[1-9])",
                "[0-9]{1,5}/[0-9a-f]{64}",
                "[a-z]{1,12}",
                ".{0,24}",
            ]
        ) {
            for space in spaces() {
                let Ok(id) = space.id.parse(space.name, &text) else { continue };
                let written = space.id.text(&id);
                prop_assert!(written.is_some(), "{} cannot write {text:?}", space.name);
                let again = space.id.parse(space.name, &written.unwrap_or_default());
                prop_assert_eq!(again.ok(), Some(id), "{} after {:?}", space.name, text);
            }
        }
    }
    use crate::procurement::state as p;
    use crate::treasury::state as t;
    use civitas_core::crypto::AccountId;
    use civitas_core::hash::Hash32;

    #[test]
    fn keys_parse_and_reject() {
        let doc = Hash32::sha256(b"x");
        let key = key_from_text(crate::notary::state::spaces::DOCUMENT, &doc.to_hex()).unwrap();
        assert_eq!(key, crate::notary::state::document_key(&doc));
        assert!(key_from_text(crate::notary::state::spaces::DOCUMENT, "nothex").is_err());
        assert!(key_from_text("nope/space", "x").is_err());
        assert_eq!(
            key_from_text(crate::treasury::state::spaces::TOTAL, "2026/agency/health").unwrap(),
            t::total_key(2026, t::Dimension::Agency, "health")
        );
        assert!(key_from_text(crate::treasury::state::spaces::TOTAL, "2026/galaxy/x").is_err());
        let bidder = Hash32::sha256(b"b");
        assert_eq!(
            key_from_text(
                crate::procurement::state::spaces::BID,
                &format!("7/{}", bidder.to_hex())
            )
            .unwrap(),
            p::bid_key(7, &AccountId(bidder.0))
        );
        assert_eq!(
            key_from_text(crate::treasury::state::spaces::FISCAL_YEAR, "2026").unwrap(),
            t::year_key(2026)
        );
        assert_eq!(
            key_from_text(crate::identity::state::spaces::AGENCY, "finance").unwrap(),
            crate::identity::state::agency_key("finance")
        );
    }
}
