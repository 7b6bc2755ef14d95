//! The sentences of failed receipts, rendered outside consensus.
//!
//! A failed transaction's receipt records a stable code (`too_many`, `not_authorized`) and
//! named arguments (`tender = 7`, `bids_max = 128`): data, hashed into the block's
//! `receipts_root` like the rest of the receipt. The sentence a person reads is made from them
//! here, by the API, the CLI, the portal and `civitas verify` alike, so rewording a message (or
//! translating it) changes no block and needs no upgrade of the network.
//!
//! Argument values are canonical text: integers in decimal, accounts, keys and hashes in
//! lowercase hexadecimal, times in milliseconds since the Unix epoch, money as
//! `<minor units> <ISO 4217 code>`, identifiers (agency ids, policy ids, stage names) as they
//! are recorded, and a few fixed words chosen by the ledger's rules (what was being done, such
//! as `bidding`). They never carry an error text from a library.
//!
//! A message is chosen by its code and the names of its arguments (and, for a few codes, the
//! value of a `problem` argument); each template's `{name}` is replaced by the argument's value,
//! `{name:money}` by the amount written with its currency. A code without a template is shown
//! with its arguments, so a newer ledger's receipts still read sensibly on an older tool.

use crate::money::{Currency, format_amount};

/// Most arguments one failure records.
pub const ARGS_MAX: usize = 24;
/// Longest argument name, in bytes.
pub const ARG_NAME_MAX_BYTES: usize = 32;
/// Longest argument value, in bytes (longer values are cut at a character boundary).
pub const ARG_VALUE_MAX_BYTES: usize = 256;

/// Something that can be a failure argument: its canonical text.
pub trait ArgValue {
    /// The canonical text (see the module documentation).
    fn arg(&self) -> String;
}

macro_rules! display_args {
    ($($t:ty),*) => {
        $(impl ArgValue for $t {
            fn arg(&self) -> String {
                self.to_string()
            }
        })*
    };
}

display_args!(
    u8,
    u16,
    u32,
    u64,
    usize,
    i64,
    str,
    String,
    crate::crypto::AccountId,
    crate::crypto::PublicKey,
    crate::hash::Hash32,
    Currency
);

impl ArgValue for crate::time::TimestampMs {
    fn arg(&self) -> String {
        self.0.to_string()
    }
}

impl ArgValue for crate::money::Money {
    fn arg(&self) -> String {
        format!("{} {}", self.amount, self.currency)
    }
}

impl<T: ArgValue + ?Sized> ArgValue for &T {
    fn arg(&self) -> String {
        (**self).arg()
    }
}

/// Cuts `value` to [`ARG_VALUE_MAX_BYTES`] at a character boundary.
pub fn bounded(mut value: String) -> String {
    if value.len() > ARG_VALUE_MAX_BYTES {
        let mut cut = ARG_VALUE_MAX_BYTES;
        while !value.is_char_boundary(cut) {
            cut -= 1;
        }
        value.truncate(cut);
    }
    value
}

/// A money argument made of an amount in minor units and its currency.
pub fn money(amount: u64, currency: Currency) -> String {
    format!("{amount} {currency}")
}

/// Templates by code. A template may start with `[problem=<value>]`: it is chosen only when
/// the `problem` argument has that value.
/// Templates of the codes every module may give (accounts, agencies, authorization,
/// execution); each module adds its own ([`Operations::MESSAGES`](crate::kit::Operations::MESSAGES)).
const CATALOGUE: &[(&str, &str)] = &[
    // Accounts and agencies.
    ("unknown_account", "the signer has no account"),
    ("unknown_account", "account {account} does not exist"),
    ("unknown_agency", "agency {agency} does not exist"),
    (
        "agency_retired",
        "agency {agency} retired at height {height}; it no longer acts and is given nothing new",
    ),
    (
        "agency_exists",
        "agency id {agency} is already taken (ids of retired agencies are never reused); choose \
         another id",
    ),
    (
        "too_many_agencies",
        "{agencies_max} agencies are already in force",
    ),
    (
        "multi_key_account",
        "account {account} has {keys} keys; replace them with identity.set_keys",
    ),
    (
        "already_inactive",
        "account {account} is already deactivated",
    ),
    (
        "account_inactive",
        "account {account} has been deactivated; its key cannot be recovered",
    ),
    (
        "recovery_pending",
        "a recovery of account {account} to key {new_key}, started by {by}, is under way; cancel it first (identity.cancel_recovery)",
    ),
    (
        "no_recovery",
        "no recovery of account {account} is under way",
    ),
    (
        "recovery_starter_inactive",
        "the recovery of account {account} was started by {by}, who could no longer start it (deactivated, of a retired agency, or without the role); cancel it and start another",
    ),
    (
        "recovery_not_due",
        "the recovery of account {account} can be completed from block time {effective} (milliseconds), not before",
    ),
    (
        "key_in_use",
        "key {key} already belongs to an account; generate a new key",
    ),
    // Authorization.
    (
        "authorization_error",
        "the authorization request for {action} could not be built ({stage}); this is a fault \
         of the ledger software: report it",
    ),
    (
        "basis_not_applicable",
        "the legal basis {basis} does not cover this {action}: the policies that allowed it are \
         {permitted_by}; cite one of them that is a legal basis",
    ),
    (
        "not_a_legal_basis",
        "policy {basis} allowed this {action} but is not a legal basis (it has no @basis \
         annotation); cite a policy that has one",
    ),
    ("unknown_document", "document {document} was never anchored"),
    ("unknown_proposal", "proposal {proposal} does not exist"),
    // Execution.
    (
        "too_many_events",
        "the transaction would emit {events} events; the limit is {events_max}",
    ),
];

/// Every template: the shared ones, then each module's in registration order.
fn all() -> impl Iterator<Item = &'static (&'static str, &'static str)> {
    CATALOGUE.iter().chain(
        crate::modules::MODULE_MESSAGES
            .iter()
            .flat_map(|m| m.iter()),
    )
}

/// The placeholders of `template`: `(name, is_money)`.
fn placeholders(template: &str) -> Vec<(&str, bool)> {
    let mut found = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        let inner = &rest[open + 1..open + close];
        match inner.strip_suffix(":money") {
            Some(name) => found.push((name, true)),
            None => found.push((inner, false)),
        }
        rest = &rest[open + close + 1..];
    }
    found
}

/// Splits a template into its `problem` condition and its text.
fn condition(template: &str) -> (Option<&str>, &str) {
    match template
        .strip_prefix("[problem=")
        .and_then(|rest| rest.split_once(']'))
    {
        Some((value, text)) => (Some(value), text),
        None => (None, template),
    }
}

/// The names a template needs, sorted and unique (with `problem` when it has a condition).
fn needed(template: &str) -> Vec<&str> {
    let (problem, text) = condition(template);
    let mut names: Vec<&str> = placeholders(text).into_iter().map(|(n, _)| n).collect();
    if problem.is_some() {
        names.push("problem");
    }
    names.sort_unstable();
    names.dedup();
    names
}

fn lookup<'a, N: AsRef<str>, V: AsRef<str>>(args: &'a [(N, V)], name: &str) -> Option<&'a str> {
    args.iter()
        .find(|(n, _)| n.as_ref() == name)
        .map(|(_, v)| v.as_ref())
}

/// `"<minor units> <code>"` written as an amount with its currency, or as given.
fn render_money(value: &str) -> String {
    let parsed = value.split_once(' ').and_then(|(amount, code)| {
        let amount = amount.parse::<u64>().ok()?;
        let currency = Currency::parse(code).ok()?;
        Some(format_amount(amount, currency))
    });
    parsed.unwrap_or_else(|| value.to_string())
}

/// The template for `code` and the names of `args`, if the catalogue has one.
pub fn template<N: AsRef<str>, V: AsRef<str>>(code: &str, args: &[(N, V)]) -> Option<&'static str> {
    let mut names: Vec<&str> = args.iter().map(|(n, _)| n.as_ref()).collect();
    names.sort_unstable();
    names.dedup();
    let problem = lookup(args, "problem");
    let matches = |wanted: &str| {
        all()
            .filter(move |(c, _)| *c == wanted)
            .map(|(_, t)| *t)
            .find(|t| {
                let (condition, _) = condition(t);
                needed(t) == names && (condition.is_none() || condition == problem)
            })
    };
    matches(code)
}

/// The sentence for a failure with `code` and `args`.
pub fn render<N: AsRef<str>, V: AsRef<str>>(code: &str, args: &[(N, V)]) -> String {
    if code == "not_authorized" {
        return render_denial(args);
    }
    let Some(template) = template(code, args) else {
        // A refusal explained in words before it reached a rule (an API read, not a receipt).
        if let [(name, detail)] = args
            && name.as_ref() == "detail"
        {
            return detail.as_ref().to_string();
        }
        if args.is_empty() {
            return code.replace('_', " ");
        }
        let listed: Vec<String> = args
            .iter()
            .map(|(n, v)| format!("{} = {}", n.as_ref(), v.as_ref()))
            .collect();
        return format!("{} ({})", code.replace('_', " "), listed.join(", "));
    };
    let (_, text) = condition(template);
    let mut out = String::with_capacity(text.len() + 32);
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        let inner = &rest[open + 1..open + close];
        let (name, is_money) = match inner.strip_suffix(":money") {
            Some(name) => (name, true),
            None => (inner, false),
        };
        let value = lookup(args, name).unwrap_or_default();
        if is_money {
            out.push_str(&render_money(value));
        } else {
            out.push_str(value);
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    out
}

/// Arguments of a `not_authorized` failure, in the order they are recorded:
/// `action`, `principal`, `principal_kind` (`official` or `citizen`), for an official `agency`
/// and `roles` (comma-separated), then `decision` (`forbidden` or `not_permitted`), then each
/// policy mentioned as `policy` followed by its `description` (empty when it has none), and
/// each policy whose evaluation failed as `unevaluated`.
fn render_denial<N: AsRef<str>, V: AsRef<str>>(args: &[(N, V)]) -> String {
    let get = |name| lookup(args, name).unwrap_or_default();
    let action = get("action");
    let who = match get("principal_kind") {
        "official" => format!(
            "account {} (an official of {} with roles [{}])",
            get("principal"),
            get("agency"),
            get("roles").split(',').collect::<Vec<_>>().join(", ")
        ),
        _ => format!("account {} (a citizen)", get("principal")),
    };
    let mut policies: Vec<String> = Vec::new();
    let mut unevaluated: Vec<&str> = Vec::new();
    let mut iter = args.iter().peekable();
    while let Some((name, value)) = iter.next() {
        match name.as_ref() {
            "policy" => {
                let description = match iter.peek() {
                    Some((next, text)) if next.as_ref() == "description" => {
                        let text = text.as_ref();
                        iter.next();
                        (!text.is_empty()).then_some(text)
                    }
                    _ => None,
                };
                policies.push(match description {
                    Some(text) => format!("\"{}\" ({text})", value.as_ref()),
                    None => format!("\"{}\"", value.as_ref()),
                });
            }
            "unevaluated" => unevaluated.push(value.as_ref()),
            _ => {}
        }
    }
    if get("decision") == "forbidden" {
        return format!(
            "policy {} forbids {action} for {who}",
            policies.join(" and policy ")
        );
    }
    let mut message = if policies.is_empty() {
        format!(
            "no policy permits {action} for {who}; no policy in force permits this action at all"
        )
    } else {
        format!(
            "no policy permits {action} for {who}; it is permitted only by {}",
            policies.join(", ")
        )
    };
    if !unevaluated.is_empty() {
        message.push_str(&format!(
            "; policies that could not be evaluated: {}",
            unevaluated.join(", ")
        ));
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_are_chosen_by_code_names_and_problem() {
        assert_eq!(
            render("too_many", &[("tender", "7"), ("bids_max", "128")]),
            "tender 7 already has 128 bids"
        );
        assert_eq!(
            render("too_many", &[("tender", "7"), ("complaints_max", "16")]),
            "tender 7 already has 16 complaints"
        );
        assert_eq!(
            render(
                "invalid_policy",
                &[("problem", "duplicate_id"), ("policy", "p1")]
            ),
            "two policies have the id \"p1\"; each id must be unique"
        );
        let eur = |minor: u64| format_amount(minor, Currency::parse("EUR").unwrap());
        assert_eq!(
            render(
                "exceeds_commitment",
                &[
                    ("commitment", "3"),
                    ("after", "1500 EUR"),
                    ("amount", "500 EUR"),
                    ("excess", "500 EUR"),
                    ("limit", "1000 EUR"),
                ]
            ),
            format!(
                "payments against commitment 3 would reach {} with {} more, {} above the {} committed",
                eur(1500),
                eur(500),
                eur(500),
                eur(1000)
            )
        );
        // Unknown to this catalogue: shown with its arguments.
        assert_eq!(
            render("new_rule", &[("tender", "7")]),
            "new rule (tender = 7)"
        );
        assert_eq!(
            render::<&str, &str>("last_validator", &[]),
            "the last validator cannot be removed: the chain would stop"
        );
    }

    #[test]
    fn no_two_templates_of_a_code_need_the_same_arguments() {
        let all: Vec<_> = all().collect();
        for (i, (code, template)) in all.iter().enumerate() {
            for (other_code, other) in &all[..i] {
                if code == other_code {
                    assert!(
                        needed(template) != needed(other)
                            || condition(template).0 != condition(other).0,
                        "{code}: {template:?} and {other:?} cannot be told apart"
                    );
                }
            }
            for (name, _) in placeholders(condition(template).1) {
                assert!(
                    !name.is_empty()
                        && name.len() <= ARG_NAME_MAX_BYTES
                        && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                    "{code}: placeholder {name:?}"
                );
            }
        }
    }

    #[test]
    fn denials_read_as_before() {
        let args = [
            ("action", "treasury.pay"),
            ("principal", "ab"),
            ("principal_kind", "official"),
            ("agency", "health"),
            ("roles", "notary,budget"),
            ("decision", "not_permitted"),
            ("policy", "treasurer-pays"),
            ("description", "treasurers of an agency pay its commitments"),
            ("policy", "bare"),
            ("description", ""),
            ("unevaluated", "broken"),
        ];
        assert_eq!(
            render("not_authorized", &args),
            "no policy permits treasury.pay for account ab (an official of health with roles \
             [notary, budget]); it is permitted only by \"treasurer-pays\" (treasurers of an \
             agency pay its commitments), \"bare\"; policies that could not be evaluated: broken"
        );
        let forbidden = [
            ("action", "notary.anchor"),
            ("principal", "cd"),
            ("principal_kind", "citizen"),
            ("decision", "forbidden"),
            ("policy", "freeze"),
            ("description", "nothing is anchored during the audit"),
        ];
        assert_eq!(
            render("not_authorized", &forbidden),
            "policy \"freeze\" (nothing is anchored during the audit) forbids notary.anchor for \
             account cd (a citizen)"
        );
    }
}
