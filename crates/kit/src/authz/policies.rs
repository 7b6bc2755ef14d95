//! Policy sets as the ledger stores them, and their compiled (parsed and schema-checked) form.
//!
//! A policy set is a list of `(id, Cedar text)` pairs sorted by id. The ledger stores the text,
//! never a parsed form, so what is in force is exactly what anyone can read and re-check.
//! Compiling (parsing every policy and validating the set against the schema) is done once per
//! distinct set and schema and cached, so a transaction's authorization only evaluates.

use cedar_policy::{Effect, Policy, PolicyId, PolicySet, Schema, ValidationMode, Validator};
use civitas_core::codec::{read_list, read_str, str_size, write_str};
use civitas_core::hash::Hash32;
use civitas_core::limits::*;
use commonware_codec::{Buf, EncodeSize, Read, ReadExt, Write};
use serde::Serialize;
use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex, OnceLock};

/// Why a schema or policy set cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthzError {
    /// The schema is not valid Cedar schema syntax.
    #[error("the authorization schema is not valid Cedar: {0}")]
    Schema(String),
    /// A policy does not parse.
    #[error("policy {id} is not valid Cedar: {message}")]
    Parse {
        /// The policy's id, or `(unnamed)` when it has none yet.
        id: String,
        /// Cedar's explanation.
        message: String,
    },
    /// A policy lacks its `@id("...")` annotation or the id is malformed.
    #[error("{0}")]
    Id(String),
    /// Two policies share an id.
    #[error("two policies have the id {0:?}; each id must be unique")]
    DuplicateId(String),
    /// Templates (policies with `?principal` or `?resource` slots) are not accepted.
    #[error("policy templates are not accepted; write a complete policy")]
    Template,
    /// The set does not validate against the schema.
    #[error("the policies do not validate against the schema: {0}")]
    Validation(String),
    /// The set is over a bound.
    #[error("{0}")]
    TooLarge(String),
    /// A policy's expressions nest deeper than [`POLICY_DEPTH_MAX`].
    #[error(
        "policy {id} nests its expressions {depth} levels deep; at most {POLICY_DEPTH_MAX} are accepted"
    )]
    TooDeep {
        /// The policy's id.
        id: String,
        /// Its depth.
        depth: usize,
    },
}

/// Deepest nesting of a policy's expressions, counted on its JSON form. Cedar's parser recurses
/// without a limit, and its evaluator stops with an error where the thread's stack runs short;
/// a bound well inside both keeps every node's decision the same and no node can be crashed by
/// a proposed policy.
pub const POLICY_DEPTH_MAX: usize = 48;

/// Stack for parsing and validating policy text that is not yet known to be shallow.
const PARSE_STACK_BYTES: usize = 256 * 1024 * 1024;

/// Runs `f` on a thread with a stack large enough for any policy that fits the size limits.
fn on_large_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    match std::thread::Builder::new()
        .name("cedar-parse".into())
        .stack_size(PARSE_STACK_BYTES)
        .spawn(f)
    {
        Ok(handle) => handle
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
        Err(e) => panic!("cannot start a thread to parse policies: {e}"),
    }
}

/// Nesting depth of a JSON value, without recursion.
fn json_depth(value: &serde_json::Value) -> usize {
    let mut deepest = 0;
    let mut pending = vec![(value, 1usize)];
    while let Some((value, depth)) = pending.pop() {
        deepest = deepest.max(depth);
        match value {
            serde_json::Value::Array(items) => {
                pending.extend(items.iter().map(|item| (item, depth + 1)));
            }
            serde_json::Value::Object(fields) => {
                pending.extend(fields.values().map(|field| (field, depth + 1)));
            }
            _ => {}
        }
    }
    deepest
}

/// Refuses text whose brackets nest deeper than [`POLICY_DEPTH_MAX`] before Cedar's parser sees
/// it (brackets in string literals and comments do not count).
fn check_brackets(text: &str) -> Result<(), AuthzError> {
    let mut depth = 0usize;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            chars.next();
                        }
                        '"' => break,
                        _ => {}
                    }
                }
            }
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '(' | '[' | '{' => {
                depth += 1;
                if depth > POLICY_DEPTH_MAX {
                    return Err(AuthzError::TooDeep {
                        id: "(being parsed)".into(),
                        depth,
                    });
                }
            }
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

fn check_depth(id: &str, policy: &Policy) -> Result<(), AuthzError> {
    let json = policy.to_json().map_err(|e| AuthzError::Parse {
        id: id.to_string(),
        message: e.to_string(),
    })?;
    let depth = json_depth(&json);
    if depth > POLICY_DEPTH_MAX {
        return Err(AuthzError::TooDeep {
            id: id.to_string(),
            depth,
        });
    }
    Ok(())
}

impl AuthzError {
    /// A stable, version-independent summary for receipts (Cedar's own wording may change
    /// between releases, and receipts are part of the consensus state).
    /// The failure a receipt records for this error: a stable `problem` and the policy's id
    /// where there is one, never Cedar's own words.
    pub fn failure(&self) -> civitas_exec::Failure {
        use civitas_exec::failure;
        match self {
            Self::Schema(_) => failure!("invalid_policy", problem = "schema"),
            Self::Parse { id, .. } => failure!("invalid_policy", problem = "parse", policy = id),
            Self::Id(_) => failure!("invalid_policy", problem = "bad_id"),
            Self::DuplicateId(id) => {
                failure!("invalid_policy", problem = "duplicate_id", policy = id)
            }
            Self::Template => failure!("invalid_policy", problem = "template"),
            Self::TooLarge(_) => failure!("invalid_policy", problem = "too_large"),
            Self::TooDeep { id, depth } => failure!(
                "invalid_policy",
                problem = "too_deep",
                policy = id,
                depth = depth,
                depth_max = POLICY_DEPTH_MAX
            ),
            Self::Validation(_) => failure!("invalid_policy", problem = "validation"),
        }
    }

    /// A sentence for this error without Cedar's details.
    pub fn summary(&self) -> String {
        match self {
            Self::Schema(_) => "the authorization schema is not valid Cedar".into(),
            Self::Parse { id, .. } => format!(
                "policy {id} is not valid Cedar; run `civitas policy check` on it for details"
            ),
            Self::Id(_)
            | Self::DuplicateId(_)
            | Self::Template
            | Self::TooLarge(_)
            | Self::TooDeep { .. } => self.to_string(),
            Self::Validation(_) => "the policies do not validate against the chain's schema; \
                 run `civitas policy check` for details"
                .into(),
        }
    }
}

/// One policy: its id and its Cedar text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PolicyEntry {
    /// The `@id` annotation's value.
    pub id: String,
    /// The Cedar text, annotations included.
    pub text: String,
}

/// A policy set in force (or approved to be), as stored on the ledger.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PolicySetRecord {
    /// 1 for genesis, then one more per change.
    pub version: u64,
    /// The first block authorized under it.
    pub effective_height: u64,
    /// The governance proposal that made it (0 for genesis, and for the policies a protocol
    /// version's new modules brought).
    pub proposal: u64,
    /// The policies, sorted by id.
    pub policies: Vec<PolicyEntry>,
}

impl PolicySetRecord {
    /// Digest of the policies (not of the version or height): two records with the same
    /// policies compile to the same set.
    pub fn digest(&self) -> Hash32 {
        let mut encoded = Vec::new();
        self.policies.write(&mut encoded);
        Hash32::tagged(b"civitas/authz/policies", &[&encoded])
    }

    /// Replaces or adds the policy with `entry.id`, keeping the list sorted.
    pub fn upsert(&mut self, entry: PolicyEntry) {
        match self.policies.binary_search_by(|p| p.id.cmp(&entry.id)) {
            Ok(at) => self.policies[at] = entry,
            Err(at) => self.policies.insert(at, entry),
        }
    }

    /// Removes the policy `id`; false if there was none.
    pub fn remove(&mut self, id: &str) -> bool {
        match self.policies.binary_search_by(|p| p.id.as_str().cmp(id)) {
            Ok(at) => {
                self.policies.remove(at);
                true
            }
            Err(_) => false,
        }
    }
}

/// What `authz/policies` holds: which version is in force, small enough to read per
/// transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PolicyHead {
    /// The version in force (its record is under `authz/version`).
    pub version: u64,
    /// The first block authorized under it.
    pub effective_height: u64,
    /// Digest of its policies.
    pub digest: Hash32,
    /// Digest of the schema they were checked against.
    pub schema_digest: Hash32,
}

/// Digest of a schema text.
pub fn schema_digest(schema: &str) -> Hash32 {
    Hash32::tagged(b"civitas/authz/schema", &[schema.as_bytes()])
}

/// Parses a schema.
pub fn parse_schema(text: &str) -> Result<Schema, AuthzError> {
    if text.len() > AUTHZ_SCHEMA_MAX_BYTES {
        return Err(AuthzError::TooLarge(format!(
            "the schema is {} bytes; the limit is {AUTHZ_SCHEMA_MAX_BYTES}",
            text.len()
        )));
    }
    Schema::from_cedarschema_str(text)
        .map(|(schema, _warnings)| schema)
        .map_err(|e| AuthzError::Schema(e.to_string()))
}

fn check_id(id: &str) -> Result<(), AuthzError> {
    civitas_core::governance::check_policy_id(id)
        .map_err(|e| AuthzError::Id(format!("policy @id: {e}")))
}

/// Parses one policy written with an `@id("...")` annotation.
pub fn parse_policy(text: &str) -> Result<PolicyEntry, AuthzError> {
    civitas_core::governance::check_policy_text(text)
        .map_err(|e| AuthzError::TooLarge(e.to_string()))?;
    let entries = parse_policies(text)?;
    match <[PolicyEntry; 1]>::try_from(entries) {
        Ok([entry]) => Ok(entry),
        Err(entries) => Err(AuthzError::Id(format!(
            "a policy change carries exactly one policy; this text has {}",
            entries.len()
        ))),
    }
}

/// Parses a text of several policies, each with an `@id("...")` annotation, into entries
/// sorted by id.
pub fn parse_policies(text: &str) -> Result<Vec<PolicyEntry>, AuthzError> {
    if text.len() > POLICY_SET_MAX_BYTES {
        return Err(AuthzError::TooLarge(format!(
            "the policies are {} bytes; the limit is {POLICY_SET_MAX_BYTES}",
            text.len()
        )));
    }
    let text = text.to_string();
    on_large_stack(move || parse_policies_unchecked(&text))
}

fn parse_policies_unchecked(text: &str) -> Result<Vec<PolicyEntry>, AuthzError> {
    check_brackets(text)?;
    let set = PolicySet::from_str(text).map_err(|e| AuthzError::Parse {
        id: "(unnamed)".into(),
        message: e.to_string(),
    })?;
    if set.templates().next().is_some() {
        return Err(AuthzError::Template);
    }
    let mut entries = Vec::new();
    for policy in set.policies() {
        let Some(id) = policy.annotation("id") else {
            return Err(AuthzError::Id(format!(
                "every policy needs an @id(\"...\") annotation; this one has none: {}",
                first_line(&policy.to_string())
            )));
        };
        check_id(id)?;
        check_depth(id, policy)?;
        entries.push(PolicyEntry {
            id: id.to_string(),
            text: policy.to_string(),
        });
    }
    entries.sort_by(|a, b| a.id.cmp(&b.id));
    if let Some(pair) = entries.windows(2).find(|w| w[0].id == w[1].id) {
        return Err(AuthzError::DuplicateId(pair[0].id.clone()));
    }
    check_bounds(&entries)?;
    Ok(entries)
}

fn first_line(text: &str) -> String {
    let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    line.chars().take(80).collect()
}

fn check_bounds(entries: &[PolicyEntry]) -> Result<(), AuthzError> {
    if entries.len() > POLICIES_MAX {
        return Err(AuthzError::TooLarge(format!(
            "{} policies; at most {POLICIES_MAX} may be in force",
            entries.len()
        )));
    }
    let total: usize = entries.iter().map(|e| e.text.len()).sum();
    if total > POLICY_SET_MAX_BYTES {
        return Err(AuthzError::TooLarge(format!(
            "the policies total {total} bytes; the limit is {POLICY_SET_MAX_BYTES}"
        )));
    }
    Ok(())
}

/// A policy's effect and description, for people reading the set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PolicySummary {
    /// `permit` or `forbid`.
    pub effect: &'static str,
    /// Its `@description` annotation, if any.
    pub description: Option<String>,
    /// Its `@basis` annotation, if it is a legal basis (a `permit` with a non-blank `@basis`):
    /// the law or consent it stands for.
    pub basis: Option<String>,
}

/// Reads a stored policy's effect, description and legal basis.
pub fn summarize(text: &str) -> PolicySummary {
    let parsed = match check_brackets(text) {
        Ok(()) => Policy::from_str(text).ok(),
        Err(_) => None,
    };
    match parsed {
        Some(policy) => PolicySummary {
            effect: match policy.effect() {
                Effect::Permit => "permit",
                Effect::Forbid => "forbid",
            },
            description: policy.annotation("description").map(str::to_string),
            basis: basis_of(&policy).map(str::to_string),
        },
        None => PolicySummary {
            effect: "unknown",
            description: None,
            basis: None,
        },
    }
}

/// A policy set parsed and checked against its schema, ready to evaluate.
pub struct Compiled {
    /// The schema requests and entities are checked against.
    pub schema: Schema,
    /// The policies, each under its `@id`.
    pub set: PolicySet,
    /// For each action of the schema, the policies whose action scope can include it.
    pub by_action: BTreeMap<String, PolicySet>,
    /// Whether the schema groups actions (then decisions need the schema's action entities).
    pub action_groups: bool,
}

impl Compiled {
    /// The policies that can apply to `action` (all of them for an action the schema does not
    /// declare).
    pub fn for_action(&self, action: &str) -> &PolicySet {
        self.by_action.get(action).unwrap_or(&self.set)
    }

    /// A policy's `@description`.
    pub fn description(&self, id: &str) -> Option<&str> {
        self.annotation(id, "description")
    }

    /// A policy's annotation `@key(...)`, such as the `@basis` naming the law a permit
    /// applies.
    pub fn annotation(&self, id: &str, key: &str) -> Option<&str> {
        self.set.annotation(&PolicyId::new(id), key)
    }

    /// The law or consent policy `id` stands for, if it is a legal basis (see [`basis_of`]).
    pub fn legal_basis(&self, id: &str) -> Option<&str> {
        basis_of(self.set.policy(&PolicyId::new(id))?)
    }
}

/// What a policy's `@basis` says, if the policy is a legal basis: a `permit` whose `@basis`
/// is not blank. The one rule the ledger (`decide`), the sharing module and the list of bases
/// in force all apply.
pub fn basis_of(policy: &Policy) -> Option<&str> {
    if policy.effect() != Effect::Permit {
        return None;
    }
    policy
        .annotation("basis")
        .filter(|basis| !basis.trim().is_empty())
}

/// Compiles `entries` against `schema`, validating strictly.
pub fn compile(schema: &str, entries: &[PolicyEntry]) -> Result<Compiled, AuthzError> {
    let schema = schema.to_string();
    let entries = entries.to_vec();
    on_large_stack(move || compile_unchecked(&schema, &entries))
}

fn compile_unchecked(schema: &str, entries: &[PolicyEntry]) -> Result<Compiled, AuthzError> {
    let schema = parse_schema(schema)?;
    check_bounds(entries)?;
    let mut set = PolicySet::new();
    for entry in entries {
        check_id(&entry.id)?;
        check_brackets(&entry.text)?;
        let policy = Policy::parse(Some(PolicyId::new(&entry.id)), &entry.text).map_err(|e| {
            AuthzError::Parse {
                id: entry.id.clone(),
                message: e.to_string(),
            }
        })?;
        check_depth(&entry.id, &policy)?;
        if policy.annotation("id") != Some(entry.id.as_str()) {
            return Err(AuthzError::Id(format!(
                "policy {} must carry @id(\"{}\")",
                entry.id, entry.id
            )));
        }
        set.add(policy)
            .map_err(|_| AuthzError::DuplicateId(entry.id.clone()))?;
    }
    let validation = Validator::new(schema.clone()).validate(&set, ValidationMode::Strict);
    if !validation.validation_passed() {
        let mut errors: Vec<String> = validation
            .validation_errors()
            .map(|e| e.to_string())
            .collect();
        errors.sort();
        return Err(AuthzError::Validation(errors.join("; ")));
    }
    let by_action = split_by_action(&schema, &set)?;
    let action_groups = schema.action_groups().next().is_some();
    Ok(Compiled {
        by_action,
        action_groups,
        schema,
        set,
    })
}

/// Splits the set by action: a policy goes to every action its scope names, to all actions if
/// its scope is any action or names an action group.
fn split_by_action(
    schema: &Schema,
    set: &PolicySet,
) -> Result<BTreeMap<String, PolicySet>, AuthzError> {
    let groups: Vec<&cedar_policy::EntityUid> = schema.action_groups().collect();
    let mut by_action = BTreeMap::new();
    for action in schema.actions() {
        let mut subset = PolicySet::new();
        for policy in set.policies() {
            let names = |uid: &cedar_policy::EntityUid| uid == action || groups.contains(&uid);
            let applies = match policy.action_constraint() {
                cedar_policy::ActionConstraint::Any => true,
                cedar_policy::ActionConstraint::Eq(uid) => names(&uid),
                cedar_policy::ActionConstraint::In(uids) => uids.iter().any(names),
            };
            if applies {
                subset
                    .add(policy.clone())
                    .map_err(|_| AuthzError::DuplicateId(policy.id().to_string()))?;
            }
        }
        by_action.insert(action.id().unescaped().to_string(), subset);
    }
    Ok(by_action)
}

const CACHE_ENTRIES: usize = 8;

type Cache = Mutex<Vec<((Hash32, Hash32), Arc<Compiled>)>>;

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(Vec::new()))
}

/// The compiled set for `(schema digest, policies digest)` if it is cached.
pub fn cache_get(key: (Hash32, Hash32)) -> Option<Arc<Compiled>> {
    let mut entries = cache()
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let at = entries.iter().position(|(k, _)| *k == key)?;
    let entry = entries.remove(at);
    let compiled = entry.1.clone();
    entries.push(entry);
    Some(compiled)
}

/// Remembers a compiled set under `(schema digest, policies digest)`, evicting the least
/// recently used when full. The cache changes only how fast a decision is made, never the
/// decision.
pub fn cache_put(key: (Hash32, Hash32), compiled: Compiled) -> Arc<Compiled> {
    let compiled = Arc::new(compiled);
    let mut entries = cache()
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    entries.retain(|(k, _)| *k != key);
    if entries.len() >= CACHE_ENTRIES {
        entries.remove(0);
    }
    entries.push((key, compiled.clone()));
    compiled
}

/// The schema text as stored under `authz/schema`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaText(pub String);

impl Write for SchemaText {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        write_str(&self.0, buf);
    }
}

impl EncodeSize for SchemaText {
    fn encode_size(&self) -> usize {
        str_size(&self.0)
    }
}

impl Read for SchemaText {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, commonware_codec::Error> {
        Ok(Self(read_str(buf, AUTHZ_SCHEMA_MAX_BYTES)?))
    }
}

impl Write for PolicyEntry {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        write_str(&self.id, buf);
        write_str(&self.text, buf);
    }
}

impl EncodeSize for PolicyEntry {
    fn encode_size(&self) -> usize {
        str_size(&self.id) + str_size(&self.text)
    }
}

impl Read for PolicyEntry {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, commonware_codec::Error> {
        Ok(Self {
            id: read_str(buf, POLICY_ID_MAX_BYTES)?,
            text: read_str(buf, POLICY_MAX_BYTES)?,
        })
    }
}

impl Write for PolicySetRecord {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        self.version.write(buf);
        self.effective_height.write(buf);
        self.proposal.write(buf);
        self.policies.write(buf);
    }
}

impl EncodeSize for PolicySetRecord {
    fn encode_size(&self) -> usize {
        24 + self.policies.encode_size()
    }
}

impl Read for PolicySetRecord {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, commonware_codec::Error> {
        Ok(Self {
            version: u64::read(buf)?,
            effective_height: u64::read(buf)?,
            proposal: u64::read(buf)?,
            policies: read_list(buf, POLICIES_MAX, &())?,
        })
    }
}

impl Write for PolicyHead {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        self.version.write(buf);
        self.effective_height.write(buf);
        self.digest.write(buf);
        self.schema_digest.write(buf);
    }
}

impl EncodeSize for PolicyHead {
    fn encode_size(&self) -> usize {
        16 + 64
    }
}

impl Read for PolicyHead {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, commonware_codec::Error> {
        Ok(Self {
            version: u64::read(buf)?,
            effective_height: u64::read(buf)?,
            digest: Hash32::read(buf)?,
            schema_digest: Hash32::read(buf)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authz::{BASE_POLICIES, BASE_SCHEMA};
    use civitas_core::codec::{from_slice, to_vec};

    /// The base schema with one module's part, as a module adds it (the assembled defaults
    /// are tested where the modules are assembled, in `civitas-modules`).
    fn schema() -> String {
        format!(
            "{BASE_SCHEMA}\nentity Document = {{ agency: String, revoked: Bool }};\n\
             action \"notary.anchor\" appliesTo {{\n  principal: Account, resource: Document, context: Base\n}};\n"
        )
    }

    fn policies() -> String {
        format!(
            "{BASE_POLICIES}\n@id(\"notary-anchors-documents\")\n\
             @description(\"a notary anchors documents for their agency\")\n\
             permit (principal, action == Action::\"notary.anchor\", resource)\n\
             when {{ principal.roles.contains(\"notary\") && principal.agency == resource.agency }};\n"
        )
    }

    #[test]
    fn a_module_part_compiles_with_the_base() {
        let entries = parse_policies(&policies()).unwrap();
        assert!(entries.iter().any(|e| e.id == "holder-reads-own-pending"));
        let compiled = compile(&schema(), &entries).unwrap();
        let anchor: Vec<String> = compiled
            .for_action("notary.anchor")
            .policies()
            .map(|p| p.id().to_string())
            .collect();
        assert_eq!(anchor, vec!["notary-anchors-documents".to_string()]);
        assert!(compiled.description("notary-anchors-documents").is_some());
    }

    #[test]
    fn record_round_trips_and_digest_ignores_version() {
        let mut record = PolicySetRecord {
            version: 3,
            effective_height: 10,
            proposal: 2,
            policies: parse_policies(&policies()).unwrap(),
        };
        let back: PolicySetRecord = from_slice(&to_vec(&record), &()).unwrap();
        assert_eq!(back, record);
        let digest = record.digest();
        record.version = 4;
        assert_eq!(record.digest(), digest);
        assert!(record.remove("notary-anchors-documents"));
        assert!(!record.remove("notary-anchors-documents"));
        assert_ne!(record.digest(), digest);
    }

    #[test]
    fn bad_policies_are_refused_with_reasons() {
        let missing_id = "permit (principal, action, resource);";
        assert!(matches!(parse_policies(missing_id), Err(AuthzError::Id(_))));
        let twice = "@id(\"a\") permit (principal, action, resource);\n\
                     @id(\"a\") forbid (principal, action, resource);";
        assert_eq!(
            parse_policies(twice),
            Err(AuthzError::DuplicateId("a".into()))
        );
        let bad_id = "@id(\"Not Valid\") permit (principal, action, resource);";
        assert!(matches!(parse_policies(bad_id), Err(AuthzError::Id(_))));
        assert!(matches!(
            parse_policies("permit (principal"),
            Err(AuthzError::Parse { .. })
        ));
        let template = "@id(\"t\") permit (principal == ?principal, action, resource);";
        assert_eq!(parse_policies(template), Err(AuthzError::Template));
        // Parses, but names an attribute the schema does not have.
        let unknown_attr = parse_policies(
            "@id(\"x\") permit (principal, action == Action::\"notary.anchor\", resource) \
             when { principal.salary > 10 };",
        )
        .unwrap();
        assert!(matches!(
            compile(&schema(), &unknown_attr),
            Err(AuthzError::Validation(_))
        ));
        // Brackets inside strings and comments do not count as nesting.
        let quoted = format!(
            "// {}\n@id(\"q\") @description(\"{}\") permit (principal, action, resource);",
            "(".repeat(200),
            "[\\\"".repeat(100)
        );
        assert_eq!(parse_policies(&quoted).unwrap()[0].id, "q");
        assert!(matches!(
            parse_policies(&format!(
                "@id(\"p\") permit (principal, action, resource) when {{ {}true{} }};",
                "(".repeat(60),
                ")".repeat(60)
            )),
            Err(AuthzError::TooDeep { .. })
        ));
        // Two policies in one change are refused.
        let two = "@id(\"a\") permit (principal, action, resource);\n\
                   @id(\"b\") forbid (principal, action, resource);";
        assert!(matches!(parse_policy(two), Err(AuthzError::Id(_))));
    }

    /// Policies nested deeper than the bound are refused without harming the process (Cedar's
    /// parser alone would overflow a 2 MiB stack at about 1,000 levels), and policies at the
    /// bound compile and evaluate on a small stack.
    #[test]
    fn deep_policies_are_refused_and_shallow_ones_evaluate_on_small_stacks() {
        let shapes: [(&str, &str, &str); 5] = [
            ("(", "true", ")"),
            ("!", "true", ""),
            ("if true then ", "true", " else false"),
            ("[", "1", "]"),
            ("{a: ", "1", "}"),
        ];
        for (open, core, close) in shapes {
            let policy = |depth: usize| {
                format!(
                    "@id(\"deep\") permit (principal, action == Action::\"notary.anchor\", resource) when {{ {}{core}{} == {}{core}{} }};",
                    open.repeat(depth),
                    close.repeat(depth),
                    open.repeat(depth),
                    close.repeat(depth)
                )
            };
            // As deep as the size limit allows: refused before or after Cedar parses it.
            let deepest = POLICY_MAX_BYTES / (2 * (open.len() + close.len()).max(1)) - 40;
            match parse_policy(&policy(deepest)) {
                Err(AuthzError::TooDeep { .. } | AuthzError::TooLarge(_)) => {}
                Err(AuthzError::Parse { .. }) => {}
                Ok(_) => panic!("{open}: a policy {deepest} deep was accepted"),
                Err(other) => panic!("{open}: unexpected {other}"),
            }
        }
        // The deepest accepted policy still evaluates, completely, on a 256 KiB stack, so
        // Cedar's stack guard never decides for it.
        let nested = |depth: usize| {
            format!(
                "@id(\"nested\") permit (principal, action == Action::\"notary.anchor\", resource) when {{ {}true{} }};",
                "if true then ".repeat(depth),
                " else false".repeat(depth)
            )
        };
        let deepest = (1..200)
            .take_while(|d| parse_policy(&nested(*d)).is_ok())
            .last()
            .expect("a shallow policy is accepted");
        assert!(deepest >= 8, "only {deepest} levels of if are accepted");
        let entry = parse_policy(&nested(deepest)).unwrap();
        let compiled = compile(&schema(), &[entry]).unwrap();
        let uid = |t: &str, id: &str| {
            cedar_policy::EntityUid::from_type_name_and_id(
                cedar_policy::EntityTypeName::from_str(t).unwrap(),
                cedar_policy::EntityId::new(id),
            )
        };
        let request = cedar_policy::Request::new(
            uid("Account", "a"),
            uid("Action", "notary.anchor"),
            uid("Document", "d"),
            cedar_policy::Context::empty(),
            None,
        )
        .unwrap();
        let allowed = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || {
                let response = cedar_policy::Authorizer::new().is_authorized(
                    &request,
                    &compiled.set,
                    &cedar_policy::Entities::empty(),
                );
                response.diagnostics().errors().count() == 0
                    && response.decision() == cedar_policy::Decision::Allow
            })
            .unwrap()
            .join()
            .unwrap();
        assert!(
            allowed,
            "a policy {deepest} levels deep did not evaluate on a small stack"
        );
    }

    #[test]
    fn cache_returns_the_same_compilation() {
        let entries = parse_policies(&policies()).unwrap();
        let key = (
            Hash32::sha256(b"cache-test-schema"),
            Hash32::sha256(b"cache-test"),
        );
        assert!(cache_get(key).is_none());
        let first = cache_put(key, compile(&schema(), &entries).unwrap());
        let second = cache_get(key).expect("cached");
        assert!(Arc::ptr_eq(&first, &second));
    }
}
