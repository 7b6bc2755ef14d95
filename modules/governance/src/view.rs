//! Governance as people read it: what a proposal would do, who approved it, what is missing;
//! and the checks the command line makes before it signs a governance transaction, so that a
//! proposal or approval that cannot succeed never costs the signer a nonce. Everything is read
//! from a node's API through the binary's [`Console`].

use civitas_kit::authz::{self, PolicyEntry};
use civitas_primitives::kit::cli::{Console, ReadError};
use serde_json::Value;

/// A sentence saying why a command cannot go on.
type Result<T> = std::result::Result<T, String>;

macro_rules! bail {
    ($($arg:tt)*) => {
        return Err(format!($($arg)*))
    };
}

/// `Option::context` for sentences.
trait Context<T> {
    fn context(self, why: &str) -> Result<T>;
}

impl<T> Context<T> for Option<T> {
    fn context(self, why: &str) -> Result<T> {
        self.ok_or_else(|| why.to_string())
    }
}

/// A read that must succeed.
fn get(console: &dyn Console, path: &str) -> Result<Value> {
    console.get(path).map_err(|e| e.message)
}

/// Proposals `query governance --open` looks back over, newest first.
/// (Each is one request: at most half the API's default burst of 200 per client.)
pub const OPEN_LOOKBACK: u64 = 100;

/// One line saying what `action` (a proposal's `action` object) does once approved.
pub fn describe(action: &Value) -> String {
    let text = |field: &str| action[field].as_str().unwrap_or("?").to_string();
    match action["action"].as_str().unwrap_or("") {
        "add_validator" => format!(
            "add validator {} for agency {} at {}, from the next epoch",
            text("key"),
            text("agency"),
            text("p2p_address")
        ),
        "remove_validator" => format!("remove validator {}, from the next epoch", text("key")),
        "set_threshold" => format!(
            "set the approval threshold to {} agencies, at once",
            action["threshold"]
        ),
        "set_policy" => {
            let policy = text("policy");
            let id = policy
                .split("@id(\"")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .unwrap_or("?");
            format!("add or replace authorization policy {id:?}, from the next block")
        }
        "remove_policy" => format!(
            "remove authorization policy {:?}, from the next block",
            text("id")
        ),
        "add_agency" => {
            let admins = action["admin_keys"].as_array().map_or(0, Vec::len);
            let validator = match action["validator"].as_object() {
                Some(v) => format!(
                    "; its validator {} at {} from the next epoch",
                    v.get("key").and_then(Value::as_str).unwrap_or("?"),
                    v.get("p2p_address").and_then(Value::as_str).unwrap_or("?")
                ),
                None => ", without a validator".to_string(),
            };
            format!(
                "add agency {} ({:?}) with {admins} admin key{}, voting at once{validator}",
                text("id"),
                text("name"),
                if admins == 1 { "" } else { "s" },
            )
        }
        "retire_agency" => format!(
            "retire agency {} at once: its officials can no longer sign, its vote stops \
             counting, its validators leave at the next epoch (its records stay)",
            text("id")
        ),
        "rename_agency" => format!(
            "rename agency {} to {:?}, at once",
            text("id"),
            text("name")
        ),
        "schedule_upgrade" => format!(
            "activate protocol version {} at block {} (nodes need civitas {} or later by then)",
            action["version"],
            action["height"],
            text("release")
        ),
        other => format!("{other} (see the proposal's JSON)"),
    }
}

/// Where governance stands: the threshold and the agencies that vote.
pub struct Votes {
    /// Approvals a proposal needs.
    pub threshold: u64,
    /// The agencies in force, by id (only their approvals count).
    pub agencies: Vec<String>,
}

impl Votes {
    /// Reads them from a node.
    pub fn fetch(console: &dyn Console) -> Result<(Self, Value)> {
        let governance = get(console, "/v1/governance")?;
        let agencies = governance["agencies"]
            .as_array()
            .map(|list| {
                list.iter()
                    .filter_map(|a| a.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let threshold = governance["threshold"]
            .as_u64()
            .context("the node did not report the governance threshold")?;
        Ok((
            Self {
                threshold,
                agencies,
            },
            governance,
        ))
    }

    /// A proposal's approvals, split into those that count (agencies in force) and those of
    /// agencies that retired since, which no longer count.
    pub fn counted<'a>(&self, proposal: &'a Value) -> (Vec<&'a str>, Vec<&'a str>) {
        proposal["approvals"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>())
            .unwrap_or_default()
            .into_iter()
            .partition(|a| self.agencies.iter().any(|v| v == a))
    }
}

/// A proposal (its stored record) for a person: number, action, reason, approvals and what is
/// missing.
pub fn show(proposal: &Value, votes: &Votes) -> String {
    // An approval from an agency that has since retired no longer counts.
    let (counted, retired) = votes.counted(proposal);
    let missing: Vec<&str> = votes
        .agencies
        .iter()
        .map(String::as_str)
        .filter(|a| !counted.contains(a))
        .collect();
    let mut text = format!(
        "proposal {}: {}\n  reason:   {}\n  proposed: by account {} at height {}\n",
        proposal["id"],
        describe(&proposal["action"]),
        proposal["reason"].as_str().unwrap_or(""),
        proposal["proposer"].as_str().unwrap_or("?"),
        proposal["opened_height"],
    );
    // A policy's id says little: show what an approval would put in force, word for word.
    if let Some(policy) = proposal["action"]["policy"].as_str() {
        text.push_str("  policy:\n");
        for line in policy.lines() {
            text.push_str(&format!("    | {line}\n"));
        }
    }
    match proposal["status"]["status"].as_str() {
        Some("open") => {
            let needed = votes.threshold.saturating_sub(counted.len() as u64);
            let retired = if retired.is_empty() {
                String::new()
            } else {
                format!("; not counted, retired since: {}", retired.join(", "))
            };
            text.push_str(&format!(
                "  approved: {} ({} of {} needed{retired})\n  missing:  {} more from {}\n",
                counted.join(", "),
                counted.len(),
                votes.threshold,
                needed,
                if missing.is_empty() {
                    "-".to_string()
                } else {
                    missing.join(", ")
                },
            ));
        }
        _ => text.push_str(&format!(
            "  executed at height {} (approved by {})\n",
            proposal["status"]["height"],
            [counted, retired].concat().join(", ")
        )),
    }
    text
}

/// Proposal `id`'s record, or a sentence saying it does not exist.
pub fn proposal(console: &dyn Console, id: u64) -> Result<Value> {
    match console.get(&format!("/v1/governance/proposals/{id}")) {
        Ok(found) => Ok(found["value"].clone()),
        Err(ReadError {
            status: Some(404), ..
        }) => {
            bail!(
                "proposal {id} does not exist; `civitas query governance --open` lists the open ones"
            )
        }
        Err(e) => Err(e.message),
    }
}

/// The open proposals among the newest [`OPEN_LOOKBACK`], newest first.
pub fn open_proposals(console: &dyn Console, governance: &Value) -> Result<Vec<Value>> {
    let next = governance["next_proposal"].as_u64().unwrap_or(1);
    let mut open = Vec::new();
    for id in (next.saturating_sub(OPEN_LOOKBACK).max(1)..next).rev() {
        let found = proposal(console, id)?;
        if found["status"]["status"] == "open" {
            open.push(found);
        }
    }
    Ok(open)
}

/// The agency of the account `key` signs for, as the node records it.
pub fn agency_of(console: &dyn Console, account: &str) -> Result<String> {
    match console.get(&format!("/v1/accounts/{account}")) {
        Ok(found) => Ok(found["value"]["agency"]
            .as_str()
            .unwrap_or_default()
            .to_string()),
        Err(ReadError {
            status: Some(404), ..
        }) => bail!(
            "account {account} is not registered on this chain; sign with an agency admin's key"
        ),
        Err(e) => Err(e.message),
    }
}

/// Checks an approval before it is signed: the proposal exists, is open, and the signer's
/// agency has not approved it yet.
///
/// An agency that approved a proposal which now has enough approvals from agencies in force
/// (the threshold was lowered, or an agency retired, since) may approve again: that executes it.
pub fn check_approval(proposal: &Value, id: u64, agency: &str, votes: &Votes) -> Result<()> {
    if proposal["status"]["status"] != "open" {
        bail!(
            "proposal {id} was already executed at height {}; there is nothing to approve",
            proposal["status"]["height"]
        );
    }
    let (counted, retired) = votes.counted(proposal);
    let approved = counted.contains(&agency) || retired.contains(&agency);
    if approved && (counted.len() as u64) < votes.threshold {
        bail!("agency {agency} has already approved proposal {id}; each agency approves once");
    }
    Ok(())
}

/// Checks that `agency` exists and is in force; returns where governance stands.
pub fn check_agency_in_force(console: &dyn Console, agency: &str) -> Result<(Votes, Value)> {
    let (votes, governance) = Votes::fetch(console)?;
    match console.get(&format!("/v1/agencies/{agency}")) {
        Ok(found) => {
            if let Some(height) = found["value"]["retired_height"].as_u64() {
                bail!(
                    "agency {agency:?} retired at height {height}; it no longer acts (the agencies in force are: {})",
                    votes.agencies.join(", ")
                );
            }
            Ok((votes, governance))
        }
        Err(ReadError {
            status: Some(404), ..
        }) => bail!(
            "agency {agency:?} does not exist on this chain (the agencies in force are: {}); check the id",
            votes.agencies.join(", ")
        ),
        Err(e) => Err(e.message),
    }
}

/// Checks, before signing, that an upgrade to `version` at `height` could be executed now:
/// the version is the active one plus one, the height is still ahead, and the node asked runs
/// the version.
pub fn check_upgrade(console: &dyn Console, version: u16, height: u64) -> Result<()> {
    let (_, governance) = Votes::fetch(console)?;
    let active = governance["protocol"]["active"]
        .as_u64()
        .context("the node did not report the active protocol version")?;
    if u64::from(version) != active + 1 {
        bail!(
            "protocol version {active} is active, so an upgrade names version {}, not {version}",
            active + 1
        );
    }
    let tip = governance["height"].as_u64().unwrap_or(0);
    if height <= tip + 1 {
        bail!(
            "block {height} is not ahead of the chain (it is at block {tip}); choose a height \
             that leaves every operator time to install the release"
        );
    }
    // Operators install the release first, then governance schedules it.
    let status = get(console, "/v1/status")?;
    let known = status["protocol"]["known"]
        .as_array()
        .is_some_and(|k| k.iter().any(|v| v.as_u64() == Some(u64::from(version))));
    if !known {
        bail!(
            "the node you asked runs civitas {}, which does not know protocol version {version}; \
             install the release that brings it on every validator first, then schedule it",
            status["protocol"]["release"].as_str().unwrap_or("?")
        );
    }
    if let Some(next) = governance["protocol"]["next"].as_object() {
        console.note(&format!(
            "note: this replaces the upgrade to protocol version {} at block {}, scheduled by \
             proposal {}",
            next.get("version").unwrap_or(&Value::Null),
            next.get("height").unwrap_or(&Value::Null),
            next.get("proposal").unwrap_or(&Value::Null)
        ));
    }
    Ok(())
}

/// Checks that `key` is not in the next epoch's set (the set a proposal changes; a validator
/// leaving at the next epoch may be added again).
fn check_not_validator(governance: &Value, key: &str) -> Result<()> {
    let listed = governance["next_validators"]
        .as_array()
        .is_some_and(|s| s.iter().any(|v| v["key"].as_str() == Some(key)));
    if listed {
        bail!("{key} is already a validator of the next epoch; nothing to add");
    }
    Ok(())
}

/// Checks a validator addition before it is signed: the agency exists and is in force and the
/// key is not a validator of the next epoch. (A key named by another open proposal
/// is not refused: only one of the two can execute, and the other then fails on chain.)
pub fn check_add_validator(console: &dyn Console, agency: &str, key: &str) -> Result<()> {
    let (_, governance) = check_agency_in_force(console, agency)?;
    check_not_validator(&governance, key)
}

/// Checks a new agency before it is proposed: the id was never used, no admin key already
/// signs for an account, and its validator (if any) is not one already.
pub fn check_add_agency(
    console: &dyn Console,
    id: &str,
    admin_keys: &[civitas_core::crypto::PublicKey],
    validator_key: Option<&str>,
) -> Result<()> {
    match console.get(&format!("/v1/agencies/{id}")) {
        Ok(found) => {
            let retired = match found["value"]["retired_height"].as_u64() {
                Some(height) => format!(" by an agency that retired at height {height}"),
                None => String::new(),
            };
            bail!(
                "agency id {id:?} is already taken{retired}; ids are never reused: choose another"
            );
        }
        Err(ReadError {
            status: Some(404), ..
        }) => {}
        Err(e) => return Err(e.message),
    }
    for key in admin_keys {
        let by_key = get(console, &format!("/v1/state/identity/key/{}", key.to_hex()))?;
        let account = key.account_id().to_hex();
        let by_id = get(console, &format!("/v1/state/identity/account/{account}"))?;
        if by_key["found"] == true || by_id["found"] == true {
            bail!(
                "admin key {key} already belongs to an account on this chain (or is reserved by an open add-agency proposal); each admin of the new agency needs a key of its own (civitas keys new)"
            );
        }
    }
    if let Some(key) = validator_key {
        check_not_validator(&get(console, "/v1/governance")?, key)?;
    }
    Ok(())
}

/// Checks a retirement before it is proposed: the agency is in force, the agencies left are
/// at least the threshold, and some other agency runs a validator next epoch.
pub fn check_retire_agency(console: &dyn Console, agency: &str) -> Result<()> {
    let (votes, governance) = check_agency_in_force(console, agency)?;
    let remaining = votes.agencies.len().saturating_sub(1) as u64;
    if remaining < votes.threshold {
        bail!(
            "retiring agency {agency} would leave {remaining} agencies in force, fewer than the threshold of {}; propose set-threshold first",
            votes.threshold
        );
    }
    let others = governance["next_validators"]
        .as_array()
        .is_some_and(|set| set.iter().any(|v| v["agency"] != agency));
    if !others {
        bail!(
            "agency {agency} runs every validator of the next epoch; retiring it would stop the chain: add another agency's validator first"
        );
    }
    Ok(())
}

/// The policies in force at the node with `add` added (or replacing those with the same id)
/// and `remove` removed, checked against the node's schema, as the proposal would leave them.
pub fn check_policies(
    console: &dyn Console,
    add: &[PolicyEntry],
    remove: Option<&str>,
) -> Result<()> {
    let document = get(console, "/v1/policies")?;
    let entries = document["policies"]
        .as_array()
        .ok_or("the node's answer lists no policies")?
        .iter()
        .map(|p| PolicyEntry {
            id: p["id"].as_str().unwrap_or_default().to_string(),
            text: p["text"].as_str().unwrap_or_default().to_string(),
        })
        .collect();
    let schema = document["schema"]
        .as_str()
        .ok_or("the node's answer has no schema")?;
    let mut record = authz::PolicySetRecord {
        policies: entries,
        ..Default::default()
    };
    for entry in add {
        record.upsert(entry.clone());
    }
    if let Some(id) = remove
        && !record.remove(id)
    {
        bail!(
            "no policy with id {id:?} is in force at {}; see `civitas policy show`",
            console.node()
        );
    }
    authz::compile(schema, &record.policies).map_err(|e| {
        format!(
            "the policies would not check against {}'s schema: {e}",
            console.node()
        )
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_proposal_says_what_it_does_and_what_it_still_needs() {
        let votes = Votes {
            threshold: 3,
            agencies: vec![
                "finance".into(),
                "health".into(),
                "land".into(),
                "audit".into(),
            ],
        };
        let proposal = json!({
            "id": 4,
            "action": {"action": "add_validator", "agency": "health", "key": "ab12", "p2p_address": "10.0.0.9:9000"},
            "reason": "second health validator",
            "proposer": "77ee",
            "opened_height": 120,
            "approvals": ["finance"],
            "status": {"status": "open"},
        });
        let text = show(&proposal, &votes);
        assert!(text.contains("proposal 4: add validator ab12 for agency health at 10.0.0.9:9000"));
        assert!(text.contains("approved: finance (1 of 3 needed)"));
        assert!(text.contains("missing:  2 more from health, land, audit"));
        assert!(check_approval(&proposal, 4, "land", &votes).is_ok());
        let twice = check_approval(&proposal, 4, "finance", &votes).unwrap_err();
        assert!(twice.to_string().contains("already approved"));
        // Enough approvals once the threshold is lowered: approving again executes it.
        let lowered = Votes {
            threshold: 1,
            agencies: votes.agencies.clone(),
        };
        assert!(check_approval(&proposal, 4, "finance", &lowered).is_ok());

        let executed =
            json!({"approvals": ["finance"], "status": {"status": "executed", "height": 130}});
        let closed = check_approval(&executed, 4, "land", &votes).unwrap_err();
        assert!(
            closed
                .to_string()
                .contains("already executed at height 130")
        );

        let policy = json!({"action": "set_policy", "policy": "@id(\"two-notaries\")\npermit(principal, action, resource);"});
        assert_eq!(
            describe(&policy),
            "add or replace authorization policy \"two-notaries\", from the next block"
        );
        let proposed =
            json!({"id": 5, "action": policy, "approvals": [], "status": {"status": "open"}});
        assert!(
            show(&proposed, &votes).contains("    | permit(principal, action, resource);"),
            "{}",
            show(&proposed, &votes)
        );
    }
}
