//! Who may do what: one Cedar authorization step before every instruction, and for reads of
//! records that are not public.
//!
//! The principal is the signing account, the action the instruction (`module.instruction`), the
//! resource the record it touches (see [`resources`]), and the context the block's time and
//! height, the co-signers, and the instruction's parameters. The policies and their schema are
//! on the ledger: genesis writes them, and only a governance proposal changes the policies,
//! from the block after the one that approves it. A denial names the policy that forbade the
//! action, or says that none permitted it and which would have, and for whom.

pub mod policies;

use cedar_policy::{
    Authorizer, Context, Decision, Entities, Entity, EntityId, EntityTypeName, EntityUid,
    RestrictedExpression,
};
use civitas_core::bundle::{StateKey, spaces};
use civitas_core::crypto::AccountId;
use civitas_core::event::AccountKind;
use civitas_core::genesis::Genesis;
use civitas_core::identity::Account;
use civitas_exec::{BlockEnv, BlockError, Failure, Overlay, failure};
use civitas_state::{StateError, StateView};
pub use policies::{
    AuthzError, Compiled, PolicyEntry, PolicyHead, PolicySetRecord, PolicySummary, compile,
    parse_policies, parse_policy, parse_schema, schema_digest, summarize,
};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex, OnceLock};

/// The part of the schema every module's relies on: accounts, who signed, the common context,
/// and reads of the ledger's own records. Each module adds its own part (its resources and
/// actions); the assembled schema is what genesis carries.
pub const BASE_SCHEMA: &str = include_str!("base.cedarschema");
/// The policies on the ledger's own reads; each module adds its own.
pub const BASE_POLICIES: &str = include_str!("base.cedar");

/// Key of the schema text.
pub fn schema_key() -> StateKey {
    StateKey::new(spaces::AUTHZ_SCHEMA, Vec::new())
}

/// Key of the [`PolicyHead`] in force.
pub fn head_key() -> StateKey {
    StateKey::new(spaces::AUTHZ_POLICIES, Vec::new())
}

/// Key of the policy set approved for the next block, if any.
pub fn pending_key() -> StateKey {
    StateKey::new(spaces::AUTHZ_PENDING, Vec::new())
}

/// Key of policy set `version`.
pub fn version_key(version: u64) -> StateKey {
    StateKey::new(spaces::AUTHZ_VERSION, version.to_be_bytes().to_vec())
}

/// Checks that genesis's schema and policies compile, with Cedar's full explanation if not.
pub fn check_genesis(genesis: &Genesis) -> Result<(), AuthzError> {
    let entries = parse_policies(&genesis.authorization.policies)?;
    compile(&genesis.authorization.schema, &entries).map(|_| ())
}

/// Writes genesis's schema and policies (version 1, in force from block 1).
pub async fn genesis<S: StateView>(
    genesis: &Genesis,
    state: &mut Overlay<'_, S>,
) -> Result<(), BlockError> {
    let invalid =
        |e: AuthzError| BlockError::invalid("bad_genesis", format!("genesis authorization: {e}"));
    let entries = parse_policies(&genesis.authorization.policies).map_err(invalid)?;
    compile(&genesis.authorization.schema, &entries).map_err(invalid)?;
    let schema = genesis.authorization.schema.clone();
    let record = PolicySetRecord {
        version: 1,
        effective_height: 1,
        proposal: 0,
        policies: entries,
    };
    state.put_typed(&schema_key(), &policies::SchemaText(schema.clone()));
    put_in_force(state, &record, schema_digest(&schema));
    Ok(())
}

fn put_in_force<S: StateView>(
    state: &mut Overlay<'_, S>,
    record: &PolicySetRecord,
    schema_digest: civitas_core::hash::Hash32,
) {
    state.put_typed(
        &head_key(),
        &PolicyHead {
            version: record.version,
            effective_height: record.effective_height,
            digest: record.digest(),
            schema_digest,
        },
    );
    state.put_typed(&version_key(record.version), record);
}

/// Puts an approved policy set in force at the end of the block that approved it, so the
/// next block is the first authorized under it.
pub async fn end_block<S: StateView>(
    env: &BlockEnv,
    state: &mut Overlay<'_, S>,
) -> Result<(), BlockError> {
    let Some(pending) = state.get_typed::<PolicySetRecord>(&pending_key()).await? else {
        return Ok(());
    };
    if pending.effective_height != env.height + 1 {
        return Err(BlockError::State(StateError::Corrupt {
            key: "authz/pending".into(),
            reason: format!(
                "a policy set approved for height {} is still pending at height {}",
                pending.effective_height, env.height
            ),
        }));
    }
    let head = load_head(state).await?;
    put_in_force(state, &pending, head.schema_digest);
    state.delete(&pending_key());
    Ok(())
}

/// Key of the protocol version whose modules' authorization the chain holds.
pub fn protocol_key() -> StateKey {
    StateKey::new(spaces::AUTHZ_PROTOCOL, Vec::new())
}

/// At the first block of a protocol version that brings modules, adds their schema parts and
/// default policies to the chain's authorization, in force from this block; `parts` are the
/// (schema, policies) of every module introduced after the version the chain's authorization
/// holds (`authz/protocol`, absent: the genesis's) and up to the block's, in registration
/// order. Does nothing when the authorization already holds the block's version.
///
/// The new policy set is the one in force with the parts' policies appended (version + 1,
/// proposal 0); a policy whose `@id` the set already has is kept as it is. If the result does
/// not compile against the extended schema (a chain whose genesis or governance already
/// declared what the part declares), nothing changes but the recorded version: every node
/// decides the same, and governance's policies stay in force.
pub async fn install<S: StateView>(
    env: &BlockEnv,
    state: &mut Overlay<'_, S>,
    parts: impl Fn(u16, u16) -> Vec<(&'static str, &'static str)>,
) -> Result<(), BlockError> {
    let holds: u16 = state
        .get_typed(&protocol_key())
        .await?
        .unwrap_or(env.genesis.protocol);
    let version = env.protocol.version;
    if version <= holds {
        return Ok(());
    }
    state.put_typed(&protocol_key(), &version);
    let parts = parts(holds, version);
    if parts.is_empty() {
        return Ok(());
    }
    let mut schema = load_schema(state).await?;
    let head = load_head(state).await?;
    let mut record = load_in_force(state, &head).await?;
    for (part, policies) in parts {
        schema.push('\n');
        schema.push_str(part);
        let Ok(entries) = parse_policies(policies) else {
            return Ok(());
        };
        for entry in entries {
            if record.policies.iter().all(|p| p.id != entry.id) {
                record.policies.push(entry);
            }
        }
    }
    record.policies.sort_by(|a, b| a.id.cmp(&b.id));
    if compile(&schema, &record.policies).is_err() {
        return Ok(());
    }
    record.version = head.version + 1;
    record.effective_height = env.height;
    record.proposal = 0;
    state.put_typed(&schema_key(), &policies::SchemaText(schema.clone()));
    put_in_force(state, &record, schema_digest(&schema));
    Ok(())
}

/// The head of the policy set in force.
pub async fn load_head<S: StateView>(state: &mut Overlay<'_, S>) -> Result<PolicyHead, BlockError> {
    state.get_typed(&head_key()).await?.ok_or_else(|| {
        BlockError::State(StateError::Corrupt {
            key: "authz/policies".into(),
            reason: "no policy set is in force".into(),
        })
    })
}

/// The schema text.
pub async fn load_schema<S: StateView>(state: &mut Overlay<'_, S>) -> Result<String, BlockError> {
    let text: Option<policies::SchemaText> = state.get_typed(&schema_key()).await?;
    text.map(|t| t.0).ok_or_else(|| {
        BlockError::State(StateError::Corrupt {
            key: "authz/schema".into(),
            reason: "no authorization schema".into(),
        })
    })
}

/// Policy set `version`.
pub async fn load_version<S: StateView>(
    state: &mut Overlay<'_, S>,
    version: u64,
) -> Result<Option<PolicySetRecord>, BlockError> {
    Ok(state.get_typed(&version_key(version)).await?)
}

/// The policy set a change proposed now builds on: the one approved for the next block if
/// there is one, else the one in force.
pub async fn load_latest<S: StateView>(
    state: &mut Overlay<'_, S>,
) -> Result<PolicySetRecord, BlockError> {
    if let Some(pending) = state.get_typed::<PolicySetRecord>(&pending_key()).await? {
        return Ok(pending);
    }
    let head = load_head(state).await?;
    load_in_force(state, &head).await
}

/// The policy set record `head` names.
async fn load_in_force<S: StateView>(
    state: &mut Overlay<'_, S>,
    head: &PolicyHead,
) -> Result<PolicySetRecord, BlockError> {
    load_version(state, head.version).await?.ok_or_else(|| {
        BlockError::State(StateError::Corrupt {
            key: "authz/version".into(),
            reason: format!("policy set version {} is missing", head.version),
        })
    })
}

/// Stores `record` as the set in force from the next block.
pub fn put_pending<S: StateView>(state: &mut Overlay<'_, S>, record: &PolicySetRecord) {
    state.put_typed(&pending_key(), record);
}

/// The compiled policy set in force, from the cache when it was compiled before.
pub async fn load_active<S: StateView>(
    state: &mut Overlay<'_, S>,
) -> Result<Arc<Compiled>, BlockError> {
    let head = load_head(state).await?;
    let key = (head.schema_digest, head.digest);
    if let Some(compiled) = policies::cache_get(key) {
        return Ok(compiled);
    }
    let schema = load_schema(state).await?;
    let record = load_in_force(state, &head).await?;
    let compiled = compile(&schema, &record.policies).map_err(|e| {
        BlockError::State(StateError::Corrupt {
            key: "authz/policies".into(),
            reason: format!("the policy set in force does not compile: {e}"),
        })
    })?;
    Ok(policies::cache_put(key, compiled))
}

/// The record an authorization request is about.
#[derive(Clone, Debug)]
pub enum Resource {
    /// An account (existing, or as it would be registered): the schema's `Account`.
    Account(Account),
    /// A module's record (existing, or as it would be created), an entity of a type the
    /// module's part of the schema declares, with the attributes it declares.
    Entity {
        /// The Cedar entity type, such as `Document`.
        type_name: &'static str,
        /// The entity's id.
        id: String,
        /// Its attributes.
        attrs: Vec<(&'static str, Attr)>,
    },
}

/// An attribute of a [`Resource::Entity`].
#[derive(Clone, Debug)]
pub enum Attr {
    /// A string.
    String(String),
    /// A number (saturating at `i64::MAX`).
    Long(u64),
    /// A boolean.
    Bool(bool),
}

/// An instruction-specific context value.
#[derive(Clone, Debug)]
pub enum Param {
    /// A number.
    Long(i64),
    /// A set of strings.
    Strings(Vec<String>),
    /// A string.
    String(String),
    /// A boolean.
    Bool(bool),
}

/// One authorization question.
pub struct Question<'a> {
    /// The signing account.
    pub principal: &'a Account,
    /// Other accounts that signed the transaction, each meeting its own key threshold.
    pub cosigners: &'a [Account],
    /// `module.instruction`.
    pub action: &'a str,
    /// What it touches.
    pub resource: Resource,
    /// Instruction parameters the context carries besides the common ones.
    pub params: Vec<(&'static str, Param)>,
    /// The legal basis the instruction cites, if it cites one: the `@id` of a `permit` policy
    /// annotated `@basis("...")` (the law or consent it stands for). The action is then
    /// allowed only if that policy is one of those that permitted it (`basis_not_applicable`)
    /// and carries the annotation (`not_a_legal_basis`): a request cannot name a basis that
    /// does not cover it, and the basis it names is a policy governance adopted.
    pub basis: Option<String>,
}

struct TypeNames {
    account: EntityTypeName,
    signers: EntityTypeName,
    action: EntityTypeName,
}

fn type_names() -> &'static TypeNames {
    static NAMES: OnceLock<TypeNames> = OnceLock::new();
    NAMES.get_or_init(|| {
        let name = |n: &str| EntityTypeName::from_str(n).expect("a valid Cedar type name");
        TypeNames {
            account: name("Account"),
            signers: name("Signers"),
            action: name("Action"),
        }
    })
}

/// A module's entity type name, parsed once per thread: the names come from the modules'
/// code, so each thread holds a handful, and a decision takes no lock. A name Cedar refuses
/// is the module's mistake, refused like any other internal error of the decision.
fn type_name(name: &'static str) -> Result<EntityTypeName, String> {
    thread_local! {
        static PARSED: RefCell<BTreeMap<&'static str, EntityTypeName>> =
            const { RefCell::new(BTreeMap::new()) };
    }
    PARSED.with_borrow_mut(|parsed| {
        if let Some(found) = parsed.get(name) {
            return Ok(found.clone());
        }
        let parsed_name = EntityTypeName::from_str(name).map_err(|e| e.to_string())?;
        parsed.insert(name, parsed_name.clone());
        Ok(parsed_name)
    })
}

fn uid(type_name: &EntityTypeName, id: &str) -> EntityUid {
    EntityUid::from_type_name_and_id(type_name.clone(), EntityId::new(id))
}

fn account_uid(account: &Account) -> EntityUid {
    uid(&type_names().account, &account.id.to_hex())
}

fn long(value: u64) -> RestrictedExpression {
    RestrictedExpression::new_long(i64::try_from(value).unwrap_or(i64::MAX))
}

fn strings(values: &[String]) -> RestrictedExpression {
    RestrictedExpression::new_set(
        values
            .iter()
            .map(|v| RestrictedExpression::new_string(v.clone())),
    )
}

fn kind_name(kind: AccountKind) -> &'static str {
    match kind {
        AccountKind::Official => "official",
        AccountKind::Citizen => "citizen",
    }
}

/// An entity without parents or tags.
fn record_entity<const N: usize>(
    uid: EntityUid,
    attrs: [(&str, RestrictedExpression); N],
) -> Result<Entity, String> {
    let attrs = attrs.map(|(name, value)| (name.to_string(), value));
    Entity::new_with_tags(uid, attrs, [], []).map_err(|e| e.to_string())
}

/// Most account entities kept decoded for Cedar.
const ACCOUNT_ENTITIES_CACHED: usize = 4_096;

/// The Cedar entity of `account`, from a cache of recently used ones.
///
/// Building an entity evaluates its attribute expressions, which is a good part of a decision's
/// cost, and the same officials sign transaction after transaction. An entry is used only if
/// the account record it was built from equals `account` field for field, so a changed account
/// (new roles, deactivated, new keys) is always built afresh; the entity is a pure function of
/// the record, so the cache changes no decision.
fn account_entity(account: &Account) -> Result<Entity, String> {
    static CACHE: Mutex<BTreeMap<AccountId, (Account, Entity)>> = Mutex::new(BTreeMap::new());
    if let Some((record, entity)) = CACHE
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&account.id)
        && record == account
    {
        return Ok(entity.clone());
    }
    let entity = build_account_entity(account)?;
    let mut cache = CACHE.lock().unwrap_or_else(|p| p.into_inner());
    if cache.len() >= ACCOUNT_ENTITIES_CACHED {
        cache.clear();
    }
    cache.insert(account.id, (account.clone(), entity.clone()));
    Ok(entity)
}

fn build_account_entity(account: &Account) -> Result<Entity, String> {
    record_entity(
        account_uid(account),
        [
            (
                "kind",
                RestrictedExpression::new_string(kind_name(account.kind).into()),
            ),
            (
                "agency",
                RestrictedExpression::new_string(account.agency.clone()),
            ),
            ("roles", strings(&account.roles)),
            ("active", RestrictedExpression::new_bool(account.active)),
            ("threshold", long(u64::from(account.threshold))),
            ("keys", long(account.keys.len() as u64)),
        ],
    )
}

/// Counts signing officials per role: `role` for the principal's agency, `agency/role` for any.
fn signer_tags(principal: &Account, cosigners: &[Account]) -> BTreeMap<String, u64> {
    let mut tags = BTreeMap::new();
    for account in std::iter::once(principal).chain(cosigners) {
        if !account.active || account.kind != AccountKind::Official {
            continue;
        }
        for role in &account.roles {
            if account.agency == principal.agency {
                *tags.entry(role.clone()).or_insert(0) += 1;
            }
            *tags
                .entry(format!("{}/{role}", account.agency))
                .or_insert(0) += 1;
        }
    }
    tags
}

/// Decides `question` under `compiled` at the block `env`.
///
/// `Err` carries a failure with code `not_authorized` and a message naming the forbidding
/// policies, or saying no policy permitted the action and which policies could have.
///
/// A question that cites a legal basis ([`Question::basis`]) is allowed only if the cited
/// policy is among those that permitted it (`basis_not_applicable`, naming the policies that
/// did) and carries a `@basis` annotation (`not_a_legal_basis`).
pub fn decide(compiled: &Compiled, env: &BlockEnv, question: &Question<'_>) -> Result<(), Failure> {
    let permitting = permits(compiled, env, question)?;
    let Some(basis) = question.basis.as_deref() else {
        return Ok(());
    };
    if !permitting.iter().any(|id| id == basis) {
        return Err(failure!(
            "basis_not_applicable",
            action = question.action,
            basis = basis,
            permitted_by = permitting.join(",")
        ));
    }
    if compiled.legal_basis(basis).is_none() {
        return Err(failure!(
            "not_a_legal_basis",
            action = question.action,
            basis = basis
        ));
    }
    Ok(())
}

/// Decides `question` as [`decide`] does, and on `Allow` says which policies permitted it: the
/// `@id`s of every `permit` policy whose conditions held, sorted (Cedar's determining
/// policies). A handler that must know *why* an action was allowed (the legal basis a data
/// request cites must be one of the policies that allowed it) reads them here; they depend
/// only on the question and the policy set, so every validator gets the same list.
pub fn permits(
    compiled: &Compiled,
    env: &BlockEnv,
    question: &Question<'_>,
) -> Result<Vec<String>, Failure> {
    let internal = |stage: &'static str| {
        move |_: String| {
            failure!(
                "authorization_error",
                action = question.action,
                stage = stage
            )
        }
    };
    let names = type_names();
    // Each entity once (the principal may also be the resource or a co-signer).
    let mut entities: Vec<Entity> = Vec::with_capacity(3 + question.cosigners.len());
    let add_account = |entities: &mut Vec<Entity>, account: &Account| {
        let entity = account_entity(account).map_err(internal("account entity"))?;
        let id = entity.uid();
        if !entities.iter().any(|e| e.uid() == id) {
            entities.push(entity);
        }
        Ok::<EntityUid, Failure>(id)
    };
    let principal = add_account(&mut entities, question.principal)?;
    let mut cosigner_uids = Vec::new();
    for cosigner in question.cosigners {
        let id = add_account(&mut entities, cosigner)?;
        cosigner_uids.push(RestrictedExpression::new_entity_uid(id));
    }
    let signers_uid = uid(&names.signers, "tx");
    let tags = signer_tags(question.principal, question.cosigners)
        .into_iter()
        .map(|(role, count)| (role, long(count)));
    entities.push(
        Entity::new_with_tags(signers_uid.clone(), [], [], tags)
            .map_err(|e| internal("signers entity")(e.to_string()))?,
    );
    let resource = match &question.resource {
        Resource::Account(account) => add_account(&mut entities, account)?,
        Resource::Entity {
            type_name: name,
            id,
            attrs,
        } => {
            let id = uid(&type_name(name).map_err(internal("entity type"))?, id);
            let attrs = attrs.iter().map(|(name, value)| {
                let value = match value {
                    Attr::String(text) => RestrictedExpression::new_string(text.clone()),
                    Attr::Long(n) => long(*n),
                    Attr::Bool(b) => RestrictedExpression::new_bool(*b),
                };
                (name.to_string(), value)
            });
            let entity = Entity::new_with_tags(id.clone(), attrs, [], [])
                .map_err(|e| internal("record entity")(e.to_string()))?;
            entities.push(entity);
            id
        }
    };
    let mut context = vec![
        ("now".to_string(), long(env.timestamp.0)),
        ("height".to_string(), long(env.height)),
        (
            "cosigners".to_string(),
            RestrictedExpression::new_set(cosigner_uids),
        ),
        (
            "signers".to_string(),
            RestrictedExpression::new_entity_uid(signers_uid),
        ),
    ];
    for (name, param) in &question.params {
        let value = match param {
            Param::Long(n) => RestrictedExpression::new_long(*n),
            Param::Strings(values) => strings(values),
            Param::String(value) => RestrictedExpression::new_string(value.clone()),
            Param::Bool(value) => RestrictedExpression::new_bool(*value),
        };
        context.push((name.to_string(), value));
    }
    let context = Context::from_pairs(context).map_err(|e| internal("context")(e.to_string()))?;
    let action = uid(&names.action, question.action);
    // The request and its entities are always checked against the schema in force, in every
    // build: the decision path is the same on every validator whatever its build profile, and
    // a governance change of schema applies to all of them alike.
    let schema = Some(&compiled.schema);
    let request = cedar_policy::Request::new(principal, action, resource, context, schema)
        .map_err(|e| internal("request")(e.to_string()))?;
    let entities = Entities::from_entities(entities, schema)
        .map_err(|e| internal("entities")(e.to_string()))?;
    // Only the policies whose scope can match this action are evaluated (the same decision,
    // without evaluating every other action's policies).
    let response =
        Authorizer::new().is_authorized(&request, compiled.for_action(question.action), &entities);
    if response.decision() == Decision::Allow {
        let mut permitting: Vec<String> = response
            .diagnostics()
            .reason()
            .map(|id| id.to_string())
            .collect();
        permitting.sort();
        return Ok(permitting);
    }
    Err(denial(compiled, question, &response))
}

fn denial(
    compiled: &Compiled,
    question: &Question<'_>,
    response: &cedar_policy::Response,
) -> Failure {
    let principal = question.principal;
    let mut args: Vec<(&'static str, String)> = vec![
        ("action", question.action.to_string()),
        ("principal", principal.id.to_string()),
    ];
    args.push(("principal_kind", kind_name(principal.kind).into()));
    if principal.kind == AccountKind::Official {
        args.push(("agency", principal.agency.clone()));
        args.push(("roles", principal.roles.join(",")));
    }
    let mut forbidding: Vec<String> = response
        .diagnostics()
        .reason()
        .map(|id| id.to_string())
        .collect();
    forbidding.sort();
    let mention = |args: &mut Vec<(&'static str, String)>, ids: &[String]| {
        for id in ids {
            args.push(("policy", id.clone()));
            args.push((
                "description",
                compiled.description(id).unwrap_or_default().to_string(),
            ));
        }
    };
    if !forbidding.is_empty() {
        args.push(("decision", "forbidden".into()));
        mention(&mut args, &forbidding);
    } else {
        args.push(("decision", "not_permitted".into()));
        let mut candidates: Vec<String> = compiled
            .for_action(question.action)
            .policies()
            .filter(|p| p.effect() == cedar_policy::Effect::Permit)
            .map(|p| p.id().to_string())
            .collect();
        candidates.sort();
        mention(&mut args, &candidates);
        let mut failed: Vec<String> = response
            .diagnostics()
            .errors()
            .map(|e| match e {
                cedar_policy::AuthorizationError::PolicyEvaluationError(e) => {
                    e.policy_id().to_string()
                }
            })
            .collect();
        failed.sort();
        failed.dedup();
        args.extend(failed.into_iter().map(|id| ("unevaluated", id)));
    }
    Failure::new("not_authorized", args)
}
