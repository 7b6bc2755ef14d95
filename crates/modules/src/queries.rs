//! Reading the modules' state: typed keys from text, and JSON views of stored values.
//!
//! Used by the API and the CLI so that a state key can be named as `notary/document/<sha256>`
//! and a stored value shown as JSON instead of bytes.

use crate::authz::policies::SchemaText;
use crate::authz::{PolicyHead, PolicySetRecord};
use crate::governance::state::{Epochs, GovernanceConfig, Proposal};
use crate::identity::state::{Account, Agency};
use crate::notary::state::Document;
use crate::procurement::state as p;
use crate::treasury::state as t;
use civitas_core::bundle::{StateKey, spaces};
use civitas_core::codec::{DecodeError, from_slice};
use civitas_core::crypto::{AccountId, PublicKey};
use civitas_core::governance::ValidatorSet;
use civitas_core::hash::Hash32;
use civitas_core::mmr::Peaks;
use serde::Serialize;

/// The key spaces a client may name, and how their ids are written.
pub const SPACES: &[(&str, &str)] = &[
    (spaces::DOCUMENT, "SHA-256 of the document, hex"),
    (spaces::ACCOUNT, "account id, hex"),
    (spaces::AGENCY, "agency id, such as finance"),
    (spaces::KEY, "public key, hex"),
    (spaces::NONCE, "account id, hex"),
    (spaces::HISTORY, "empty"),
    (spaces::META, "empty"),
    (spaces::GOVERNANCE, "empty"),
    (spaces::PROPOSAL, "proposal number"),
    (spaces::NEXT_VALIDATORS, "empty"),
    (spaces::EPOCH, "epoch number"),
    (spaces::HANDOVERS, "empty"),
    (spaces::AUTHZ_SCHEMA, "empty"),
    (spaces::AUTHZ_POLICIES, "empty"),
    (spaces::AUTHZ_PENDING, "empty"),
    (spaces::AUTHZ_VERSION, "policy set version number"),
    (spaces::TREASURY_CONFIG, "empty"),
    (spaces::FISCAL_YEAR, "year, such as 2026"),
    (spaces::VENDOR, "account id, hex"),
    (spaces::APPROPRIATION, "appropriation number"),
    (spaces::COMMITMENT, "commitment number"),
    (spaces::PAYMENT, "payment number"),
    (spaces::ENTRY, "entry number"),
    (
        spaces::TOTAL,
        "2026/all, or 2026/<agency|programme|classification|vendor|month>/<value>",
    ),
    (spaces::PROCUREMENT_CONFIG, "empty"),
    (spaces::TENDER, "tender number"),
    (spaces::BID, "<tender number>/<bidder account id, hex>"),
    (spaces::CONTRACT, "contract number"),
    (spaces::AWARDS, "agency id, such as health"),
    (spaces::IMPORTED, "an imported process's ocid"),
    (spaces::IMPORT_INDEX, "import number"),
    (spaces::RELEASE_TEXT, "SHA-256 of the release text, hex"),
];

/// Builds a typed key from a space name and the id as text.
pub fn key_from_text(space: &str, id: &str) -> Result<StateKey, DecodeError> {
    let hex32 = |what: &'static str| {
        Hash32::from_hex(id).map_err(|_| DecodeError::Invalid {
            field: "id",
            reason: format!("{space} ids are {what}: 64 hexadecimal characters"),
        })
    };
    let bytes = match space {
        spaces::DOCUMENT => hex32("a document's SHA-256")?.0.to_vec(),
        spaces::ACCOUNT | spaces::NONCE => hex32("an account id")?.0.to_vec(),
        spaces::KEY => PublicKey::from_hex(id)?.to_bytes().to_vec(),
        spaces::AGENCY | spaces::AWARDS | spaces::IMPORTED => id.as_bytes().to_vec(),
        spaces::RELEASE_TEXT => hex32("a release text's SHA-256")?.0.to_vec(),
        spaces::VENDOR => hex32("an account id")?.0.to_vec(),
        spaces::FISCAL_YEAR => id
            .parse::<u32>()
            .map_err(|_| DecodeError::Invalid {
                field: "id",
                reason: format!("{space} ids are years, such as 2026"),
            })?
            .to_be_bytes()
            .to_vec(),
        spaces::TOTAL => {
            if crate::treasury::state::parse_total_id(id).is_none() {
                return Err(DecodeError::Invalid {
                    field: "id",
                    reason: format!(
                        "{space} ids are 2026/all or 2026/<dimension>/<value>, with dimension \
                         agency, programme, classification, vendor or month; got {id:?}"
                    ),
                });
            }
            id.as_bytes().to_vec()
        }
        spaces::BID => {
            let parsed = id.split_once('/').and_then(|(tender, bidder)| {
                Some((tender.parse::<u64>().ok()?, Hash32::from_hex(bidder).ok()?))
            });
            let Some((tender, bidder)) = parsed else {
                return Err(DecodeError::Invalid {
                    field: "id",
                    reason: format!("{space} ids are <tender number>/<bidder account id, hex>"),
                });
            };
            let mut bytes = tender.to_be_bytes().to_vec();
            bytes.extend_from_slice(&bidder.0);
            bytes
        }
        spaces::HISTORY
        | spaces::META
        | spaces::GOVERNANCE
        | spaces::NEXT_VALIDATORS
        | spaces::HANDOVERS
        | spaces::AUTHZ_SCHEMA
        | spaces::AUTHZ_POLICIES
        | spaces::AUTHZ_PENDING
        | spaces::TREASURY_CONFIG
        | spaces::PROCUREMENT_CONFIG => Vec::new(),
        spaces::PROPOSAL
        | spaces::EPOCH
        | spaces::AUTHZ_VERSION
        | spaces::APPROPRIATION
        | spaces::COMMITMENT
        | spaces::PAYMENT
        | spaces::ENTRY
        | spaces::TENDER
        | spaces::CONTRACT
        | spaces::IMPORT_INDEX => id
            .parse::<u64>()
            .map_err(|_| DecodeError::Invalid {
                field: "id",
                reason: format!("{space} ids are numbers"),
            })?
            .to_be_bytes()
            .to_vec(),
        other => {
            return Err(DecodeError::Invalid {
                field: "space",
                reason: format!(
                    "unknown key space {other:?}; known spaces: {}",
                    SPACES
                        .iter()
                        .map(|(s, _)| *s)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
    };
    Ok(StateKey::new(space, bytes))
}

fn json<T: Serialize>(value: T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

/// A JSON view of a stored value, if the space is known and the bytes decode.
pub fn value_json(space: &str, bytes: &[u8]) -> Option<serde_json::Value> {
    Some(match space {
        spaces::DOCUMENT => json(from_slice::<Document>(bytes, &()).ok()?),
        spaces::ACCOUNT => json(from_slice::<Account>(bytes, &()).ok()?),
        spaces::AGENCY => json(from_slice::<Agency>(bytes, &()).ok()?),
        spaces::KEY => json(from_slice::<AccountId>(bytes, &()).ok()?),
        spaces::NONCE => json(from_slice::<u64>(bytes, &()).ok()?),
        spaces::HISTORY => json(from_slice::<Peaks>(bytes, &()).ok()?),
        spaces::META => json(from_slice::<Hash32>(bytes, &()).ok()?),
        spaces::GOVERNANCE => json(from_slice::<GovernanceConfig>(bytes, &()).ok()?),
        spaces::PROPOSAL => json(from_slice::<Proposal>(bytes, &()).ok()?),
        spaces::NEXT_VALIDATORS | spaces::EPOCH => {
            json(from_slice::<ValidatorSet>(bytes, &()).ok()?)
        }
        spaces::HANDOVERS => json(from_slice::<Epochs>(bytes, &()).ok()?.0),
        spaces::AUTHZ_SCHEMA => json(from_slice::<SchemaText>(bytes, &()).ok()?.0),
        spaces::AUTHZ_POLICIES => json(from_slice::<PolicyHead>(bytes, &()).ok()?),
        spaces::AUTHZ_PENDING | spaces::AUTHZ_VERSION => {
            json(from_slice::<PolicySetRecord>(bytes, &()).ok()?)
        }
        spaces::TREASURY_CONFIG => json(from_slice::<t::TreasuryConfig>(bytes, &()).ok()?),
        spaces::FISCAL_YEAR => json(from_slice::<t::FiscalYear>(bytes, &()).ok()?),
        spaces::VENDOR => json(from_slice::<t::Vendor>(bytes, &()).ok()?),
        spaces::APPROPRIATION => json(from_slice::<t::Appropriation>(bytes, &()).ok()?),
        spaces::COMMITMENT => json(from_slice::<t::Commitment>(bytes, &()).ok()?),
        spaces::PAYMENT => json(from_slice::<t::Payment>(bytes, &()).ok()?),
        spaces::ENTRY => json(from_slice::<t::Entry>(bytes, &()).ok()?),
        spaces::TOTAL => json(from_slice::<t::Total>(bytes, &()).ok()?),
        spaces::PROCUREMENT_CONFIG => json(from_slice::<p::ProcurementConfig>(bytes, &()).ok()?),
        spaces::TENDER => json(from_slice::<p::Tender>(bytes, &()).ok()?),
        spaces::BID => json(from_slice::<p::Bid>(bytes, &()).ok()?),
        spaces::CONTRACT => json(from_slice::<p::Contract>(bytes, &()).ok()?),
        spaces::AWARDS => json(from_slice::<p::RecentAwards>(bytes, &()).ok()?),
        spaces::IMPORTED => json(from_slice::<p::ImportedProcess>(bytes, &()).ok()?),
        spaces::IMPORT_INDEX => json(from_slice::<p::ImportRef>(bytes, &()).ok()?),
        spaces::RELEASE_TEXT => json(from_slice::<p::ReleaseText>(bytes, &()).ok()?),
        _ => return None,
    })
}

/// A plain-language statement of what a verified bundle proves.
pub fn describe_bundle(bundle: &civitas_core::bundle::ProofBundle, genesis_chain: &str) -> String {
    use civitas_core::bundle::Claim;
    use civitas_core::receipt::TxOutcome;
    let height = bundle.header.height;
    let at = format!("at height {height} of chain {genesis_chain}");
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
    match (key.space.as_str(), &value) {
        (spaces::DOCUMENT, Some(doc)) => {
            let hash = hex::encode(&key.id);
            let revoked = match doc["revocation"].as_object() {
                Some(r) => format!(
                    "; it was REVOKED at height {}: {}",
                    r["height"],
                    r["reason"].as_str().unwrap_or("")
                ),
                None => "; it has not been revoked".to_string(),
            };
            format!(
                "document {hash} titled {:?} was notarised by {} (official {}) at height {}{revoked} ({at})",
                doc["title"].as_str().unwrap_or(""),
                doc["agency"].as_str().unwrap_or(""),
                doc["issuer"].as_str().unwrap_or(""),
                doc["height"],
            )
        }
        (spaces::DOCUMENT, None) => format!(
            "no document with SHA-256 {} has been notarised ({at})",
            hex::encode(&key.id)
        ),
        (spaces::TOTAL, Some(total)) => {
            let currency = total["currency"].as_str().unwrap_or("");
            let money = |figure: &str| {
                let amount = total["figures"][figure].as_u64().unwrap_or(0);
                match civitas_core::money::Currency::parse(currency) {
                    Ok(c) => civitas_core::money::format_amount(amount, c),
                    Err(_) => format!("{amount} (minor units)"),
                }
            };
            let scope = match total["dimension"].as_str() {
                Some("all") | None => "the whole fiscal year".to_string(),
                Some(dimension) => format!("{dimension} {}", total["value"].as_str().unwrap_or("")),
            };
            format!(
                "fiscal year {} totals for {scope}: appropriated {}, allotted {}, committed {}, \
                 paid {}, over {} entries (the latest is entry {}; each is provable) ({at})",
                total["year"],
                money("appropriated"),
                money("allotted"),
                money("committed"),
                money("paid"),
                total["entries"],
                total["last_entry"],
            )
        }
        (_, Some(value)) => format!("{} holds {value} ({at})", key.display()),
        (_, None) => format!("{} is absent ({at})", key.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_and_reject() {
        let doc = Hash32::sha256(b"x");
        let key = key_from_text(spaces::DOCUMENT, &doc.to_hex()).unwrap();
        assert_eq!(key, crate::notary::state::document_key(&doc));
        assert!(key_from_text(spaces::DOCUMENT, "nothex").is_err());
        assert!(key_from_text("nope/space", "x").is_err());
        assert_eq!(
            key_from_text(spaces::TOTAL, "2026/agency/health").unwrap(),
            t::total_key(2026, t::Dimension::Agency, "health")
        );
        assert!(key_from_text(spaces::TOTAL, "2026/galaxy/x").is_err());
        let bidder = Hash32::sha256(b"b");
        assert_eq!(
            key_from_text(spaces::BID, &format!("7/{}", bidder.to_hex())).unwrap(),
            p::bid_key(7, &AccountId(bidder.0))
        );
        assert_eq!(
            key_from_text(spaces::FISCAL_YEAR, "2026").unwrap(),
            t::year_key(2026)
        );
        assert_eq!(
            key_from_text(spaces::AGENCY, "finance").unwrap(),
            crate::identity::state::agency_key("finance")
        );
    }
}
