//! Reading the modules' state: typed keys from text, and JSON views of stored values.
//!
//! Used by the API and the CLI so that a state key can be named as `notary/document/<sha256>`
//! and a stored value shown as JSON instead of bytes.

use crate::authz::policies::SchemaText;
use crate::authz::{PolicyHead, PolicySetRecord};
use crate::governance::state::{Epochs, GovernanceConfig, Proposal};
use crate::identity::state::{Account, Agency};
use crate::notary::state::Document;
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
        spaces::AGENCY => id.as_bytes().to_vec(),
        spaces::HISTORY
        | spaces::META
        | spaces::GOVERNANCE
        | spaces::NEXT_VALIDATORS
        | spaces::HANDOVERS
        | spaces::AUTHZ_SCHEMA
        | spaces::AUTHZ_POLICIES
        | spaces::AUTHZ_PENDING => Vec::new(),
        spaces::PROPOSAL | spaces::EPOCH | spaces::AUTHZ_VERSION => id
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
        _ => return None,
    })
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
            key_from_text(spaces::AGENCY, "finance").unwrap(),
            crate::identity::state::agency_key("finance")
        );
    }
}
