//! The permits module's vocabulary: permit types an agency defines, applications citizens and
//! businesses file against them, the decisions at each step, and the licences they issue.
//!
//! An agency's admin publishes a **permit type** (and new versions of it): its steps, the role
//! that acts at each, each step's statutory deadline and what follows when it passes, the form
//! an applicant fills in, the documents and vault records required, the fee, the licence's
//! validity and renewal, and whether licences of the type are on the public register. An
//! application is filed under the type's version in force, and later versions never change it.
//!
//! What an applicant writes stays in the agency's vault: the ledger holds the salted
//! commitment the vault computed, the fingerprints of notarised documents, and the ids of
//! vault records. Decisions, requests for information and reasons are public text, guarded
//! against personal data like every public text.

use civitas_primitives::codec::{DecodeError, check_ident, check_text};
use civitas_primitives::kit::{EventTags, Events, Operations};
use civitas_primitives::limits::{
    AGENCY_ID_MAX_BYTES, DESCRIPTION_MAX_BYTES, NAME_MAX_BYTES, REASON_MAX_BYTES,
    REFERENCE_MAX_BYTES, ROLE_MAX_BYTES,
};
use civitas_primitives::money::Money;
use civitas_primitives::personal::PublicText;
use civitas_primitives::time::TimestampMs;
use civitas_primitives::{codec_enum, codec_struct, crypto::AccountId, hash::Hash32};
use serde::{Deserialize, Serialize};

/// Longest permit type id (`business-licence`), in bytes.
pub const TYPE_ID_MAX_BYTES: usize = 32;
/// Longest step or field name, in bytes.
pub const NAME_ID_MAX_BYTES: usize = 32;
/// Most steps of a permit type.
pub const STEPS_MAX: usize = 12;
/// Most fields of a permit type's application form.
pub const FIELDS_MAX: usize = 24;
/// Most choices of a choice field.
pub const CHOICES_MAX: usize = 16;
/// Longest choice, in bytes.
pub const CHOICE_MAX_BYTES: usize = 64;
/// Most documents a permit type requires (and an application carries).
pub const DOCUMENTS_MAX: usize = 12;
/// Most vault records a permit type requires (and an application names).
pub const RECORDS_MAX: usize = 6;
/// Longest vault record schema name (`civil.birth-certificate`), in bytes.
pub const SCHEMA_MAX_BYTES: usize = 64;
/// Longest text a text field may be given, in bytes (the vault holds it).
pub const TEXT_FIELD_MAX_BYTES: usize = 4_096;
/// Longest duration a permit type names (a step's deadline, a validity, a renewal window, the
/// time to appeal): twenty years, in seconds.
pub const DURATION_MAX_SECS: u64 = 20 * 366 * 24 * 3_600;
/// Shortest statutory deadline of a step, in seconds (a minute: deadlines are acted on by the
/// minute).
pub const DEADLINE_MIN_SECS: u64 = 60;

/// What follows when a step's statutory deadline passes with no decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnOverdue {
    /// The application is marked overdue and the supervisors are told; nothing else.
    Notify,
    /// Silence is consent (as in the EU services directive, art. 13(4)): the licence is issued
    /// as applied for.
    Approve,
    /// The step passes to the type's supervisor role, which then acts in its place.
    Escalate,
}
codec_enum!(OnOverdue { 0 => Notify {}, 1 => Approve {}, 2 => Escalate {} });

impl OnOverdue {
    /// The name used in JSON and the read model.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Notify => "notify",
            Self::Approve => "approve",
            Self::Escalate => "escalate",
        }
    }
}

/// One step of a permit type: who acts, and within what time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StepDef {
    /// Its name (`completeness-check`, `inspection`, `decision`).
    pub name: String,
    /// What the step is, for the applicant.
    pub title: String,
    /// The role of the agency's officials who act at this step.
    pub role: String,
    /// The statutory deadline from the step's start, in seconds (`0`: none). The clock stops
    /// while the applicant is asked for information and starts again in full when they answer.
    pub deadline_secs: u64,
    /// What follows when the deadline passes with no decision.
    pub on_overdue: OnOverdue,
}
codec_struct!(StepDef {
    name: NAME_ID_MAX_BYTES,
    title: NAME_MAX_BYTES,
    role: ROLE_MAX_BYTES,
    deadline_secs: (),
    on_overdue: ()
});

/// What an application form's field holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FieldKind {
    /// Text of at most `max_bytes` bytes.
    Text {
        /// The most bytes.
        max_bytes: u16,
    },
    /// A whole number from `min` to `max`.
    Number {
        /// The least.
        min: u64,
        /// The most.
        max: u64,
    },
    /// A calendar date (`YYYY-MM-DD`).
    Date {},
    /// One of `choices`.
    Choice {
        /// The choices, as shown.
        choices: Vec<String>,
    },
    /// Yes or no.
    YesNo {},
}
codec_enum!(FieldKind {
    0 => Text { max_bytes: () },
    1 => Number { min: (), max: () },
    2 => Date {},
    3 => Choice { choices: (CHOICES_MAX, CHOICE_MAX_BYTES) },
    4 => YesNo {},
});

/// One field of a permit type's application form. What the applicant writes in it goes to the
/// agency's vault, never to the ledger.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FieldDef {
    /// Its name in the application's content (`business_name`).
    pub name: String,
    /// Its label on the form.
    pub label: String,
    /// What it holds.
    pub kind: FieldKind,
    /// Whether the form may be sent without it.
    pub required: bool,
}
codec_struct!(FieldDef {
    name: NAME_ID_MAX_BYTES,
    label: NAME_MAX_BYTES,
    kind: (),
    required: ()
});

/// A document a permit type requires: the applicant notarises it and names its fingerprint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DocumentDef {
    /// Its name (`site-plan`).
    pub name: String,
    /// What it is, for the applicant.
    pub title: String,
}
codec_struct!(DocumentDef {
    name: NAME_ID_MAX_BYTES,
    title: NAME_MAX_BYTES
});

/// Whether licences of a type are on the public register.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Register {
    /// On the public register (a business licence): listed, searchable.
    Public,
    /// Not on the public register (a personal permit): not listed there. Its record, like
    /// every record on the ledger, is read by its number, and the events of its issue name its
    /// holder: its scope is public text, as the decision's is.
    Private,
}
codec_enum!(Register { 0 => Public {}, 1 => Private {} });

/// A permit type as an agency defines it: one version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PermitTypeDef {
    /// Its name, as the public sees it.
    pub title: String,
    /// What it permits, and who needs it.
    pub description: String,
    /// Its steps, in order; the last one decides.
    pub steps: Vec<StepDef>,
    /// The application form.
    pub fields: Vec<FieldDef>,
    /// The documents an application carries, in this order.
    pub documents: Vec<DocumentDef>,
    /// The schemas of the vault records an application names, in this order
    /// (`civil.birth-certificate`).
    pub records: Vec<String>,
    /// The fee, if any: paid to the agency before any step is decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee: Option<Money>,
    /// How long a licence is valid, in seconds (`0`: until revoked).
    pub validity_secs: u64,
    /// How long before its expiry a licence may be renewed, in seconds (`0`: it cannot be
    /// renewed; a new application is needed).
    pub renewal_window_secs: u64,
    /// Whether licences are on the public register.
    pub register: Register,
    /// Who hears an appeal against a refusal, and how (shown with every refusal).
    pub appeal_route: String,
    /// How long after a refusal the applicant may appeal, in seconds.
    pub appeal_secs: u64,
    /// The role told of overdue applications, to which escalated steps pass, and which
    /// decides appeals.
    pub supervisor_role: String,
}
codec_struct!(PermitTypeDef {
    title: NAME_MAX_BYTES,
    description: DESCRIPTION_MAX_BYTES,
    steps: (STEPS_MAX, ()),
    fields: (FIELDS_MAX, ()),
    documents: (DOCUMENTS_MAX, ()),
    records: (RECORDS_MAX, SCHEMA_MAX_BYTES),
    fee: (),
    validity_secs: (),
    renewal_window_secs: (),
    register: (),
    appeal_route: REASON_MAX_BYTES,
    appeal_secs: (),
    supervisor_role: ROLE_MAX_BYTES
});

fn invalid(field: &'static str, reason: impl Into<String>) -> DecodeError {
    DecodeError::Invalid {
        field,
        reason: reason.into(),
    }
}

fn check_duration(field: &'static str, secs: u64) -> Result<(), DecodeError> {
    if secs > DURATION_MAX_SECS {
        return Err(invalid(
            field,
            format!("{secs} seconds is longer than twenty years"),
        ));
    }
    Ok(())
}

/// Checks a vault record schema name: lowercase letters, digits, `-`, `_` and `.`.
fn check_schema(field: &'static str, value: &str) -> Result<(), DecodeError> {
    let valid = !value.is_empty()
        && value.len() <= SCHEMA_MAX_BYTES
        && value.chars().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_' || c == '.'
        });
    if !valid {
        return Err(invalid(
            field,
            format!(
                "{value:?} must be 1 to {SCHEMA_MAX_BYTES} lowercase letters, digits, '-', '_' or '.'"
            ),
        ));
    }
    Ok(())
}

impl PermitTypeDef {
    /// The rules a definition keeps: at least one step, names unique and well formed,
    /// durations within bounds, a positive fee, choices for a choice field.
    pub fn validate(&self) -> Result<(), DecodeError> {
        check_text("title", &self.title, NAME_MAX_BYTES)?;
        check_text("description", &self.description, DESCRIPTION_MAX_BYTES)?;
        if self.steps.is_empty() {
            return Err(invalid("steps", "a permit type has at least one step"));
        }
        let mut names = std::collections::BTreeSet::new();
        let last = self.steps.len() - 1;
        for (position, step) in self.steps.iter().enumerate() {
            check_ident("steps.name", &step.name, NAME_ID_MAX_BYTES)?;
            check_text("steps.title", &step.title, NAME_MAX_BYTES)?;
            check_ident("steps.role", &step.role, ROLE_MAX_BYTES)?;
            check_duration("steps.deadline_secs", step.deadline_secs)?;
            if step.deadline_secs != 0 && step.deadline_secs < DEADLINE_MIN_SECS {
                return Err(invalid(
                    "steps.deadline_secs",
                    format!("a deadline is at least {DEADLINE_MIN_SECS} seconds, or 0 for none"),
                ));
            }
            if step.deadline_secs == 0 && step.on_overdue != OnOverdue::Notify {
                return Err(invalid(
                    "steps.on_overdue",
                    format!(
                        "step {:?} has no deadline, so nothing can follow one",
                        step.name
                    ),
                ));
            }
            if step.on_overdue == OnOverdue::Approve && position != last {
                return Err(invalid(
                    "steps.on_overdue",
                    format!(
                        "silence is consent only at the last step, the decision: step {:?} \
                         would grant a licence before the steps after it",
                        step.name
                    ),
                ));
            }
            if !names.insert(step.name.as_str()) {
                return Err(invalid("steps.name", format!("{:?} twice", step.name)));
            }
        }
        let mut names = std::collections::BTreeSet::new();
        for field in &self.fields {
            check_ident("fields.name", &field.name, NAME_ID_MAX_BYTES)?;
            check_text("fields.label", &field.label, NAME_MAX_BYTES)?;
            match &field.kind {
                FieldKind::Text { max_bytes } => {
                    if *max_bytes == 0 || usize::from(*max_bytes) > TEXT_FIELD_MAX_BYTES {
                        return Err(invalid(
                            "fields.kind.max_bytes",
                            format!("from 1 to {TEXT_FIELD_MAX_BYTES}"),
                        ));
                    }
                }
                FieldKind::Number { min, max } => {
                    if min > max {
                        return Err(invalid("fields.kind.min", "more than max"));
                    }
                }
                FieldKind::Choice { choices } => {
                    if choices.is_empty() {
                        return Err(invalid(
                            "fields.kind.choices",
                            "a choice field needs choices",
                        ));
                    }
                    let mut seen = std::collections::BTreeSet::new();
                    for choice in choices {
                        check_text("fields.kind.choices", choice, CHOICE_MAX_BYTES)?;
                        if !seen.insert(choice.as_str()) {
                            return Err(invalid(
                                "fields.kind.choices",
                                format!("{choice:?} twice"),
                            ));
                        }
                    }
                }
                FieldKind::Date {} | FieldKind::YesNo {} => {}
            }
            if !names.insert(field.name.as_str()) {
                return Err(invalid("fields.name", format!("{:?} twice", field.name)));
            }
        }
        let mut names = std::collections::BTreeSet::new();
        for document in &self.documents {
            check_ident("documents.name", &document.name, NAME_ID_MAX_BYTES)?;
            check_text("documents.title", &document.title, NAME_MAX_BYTES)?;
            if !names.insert(document.name.as_str()) {
                return Err(invalid(
                    "documents.name",
                    format!("{:?} twice", document.name),
                ));
            }
        }
        for schema in &self.records {
            check_schema("records", schema)?;
        }
        if let Some(fee) = &self.fee {
            if fee.amount == 0 {
                return Err(invalid(
                    "fee",
                    "a fee is more than zero (leave it out for none)",
                ));
            }
            fee.check("fee", false)?;
        }
        check_duration("validity_secs", self.validity_secs)?;
        check_duration("renewal_window_secs", self.renewal_window_secs)?;
        if self.renewal_window_secs > 0
            && (self.validity_secs == 0 || self.renewal_window_secs > self.validity_secs)
        {
            return Err(invalid(
                "renewal_window_secs",
                "a licence that expires may be renewed at most over its whole validity",
            ));
        }
        check_text("appeal_route", &self.appeal_route, REASON_MAX_BYTES)?;
        check_duration("appeal_secs", self.appeal_secs)?;
        if self.appeal_secs == 0 {
            return Err(invalid(
                "appeal_secs",
                "a refusal can always be appealed for a time",
            ));
        }
        check_ident("supervisor_role", &self.supervisor_role, ROLE_MAX_BYTES)
    }

    /// The public texts a definition holds (checked for personal data).
    pub fn public_text(&self) -> Vec<PublicText<'_>> {
        let mut texts = vec![
            PublicText::prose("title", &self.title),
            PublicText::prose("description", &self.description),
            PublicText::prose("appeal_route", &self.appeal_route),
            PublicText::code("supervisor_role", &self.supervisor_role),
        ];
        for step in &self.steps {
            texts.push(PublicText::code("steps.name", &step.name));
            texts.push(PublicText::code("steps.role", &step.role));
        }
        texts.extend(
            self.fields
                .iter()
                .map(|f| PublicText::code("fields.name", &f.name)),
        );
        texts.extend(
            self.documents
                .iter()
                .map(|d| PublicText::code("documents.name", &d.name)),
        );
        texts.extend(self.records.iter().map(|r| PublicText::code("records", r)));
        texts.extend(
            self.steps
                .iter()
                .map(|s| PublicText::prose("steps.title", &s.title)),
        );
        texts.extend(
            self.fields
                .iter()
                .map(|f| PublicText::prose("fields.label", &f.label)),
        );
        for field in &self.fields {
            if let FieldKind::Choice { choices } = &field.kind {
                texts.extend(
                    choices
                        .iter()
                        .map(|c| PublicText::prose("fields.kind.choices", c)),
                );
            }
        }
        texts.extend(
            self.documents
                .iter()
                .map(|d| PublicText::prose("documents.title", &d.title)),
        );
        texts
    }
}

/// The schema of the vault record that holds an application's form.
pub const FORM_SCHEMA: &str = "permit.application";

/// The legal basis (a policy id of the permits module) under which an agency's vault keeps
/// the forms applicants send it.
pub const FORM_BASIS: &str = "applications-kept-in-the-agency-vault";

/// The vault record holding an application's form, as the agency's vault sealed it: the
/// application registers it on the ledger, so that every read of it is in its access log.
///
/// The record's id is bound to the applicant: it is the sharing record id of the agency and
/// the nonce [`form_nonce`]`(applicant, seed)`, which the ledger derives again from the signer
/// of the application. So nobody but the applicant the vault sealed it for can register it,
/// even knowing the seed (a failed application shows it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FormRecord {
    /// The 32 random bytes the vault chose the record's id from.
    pub seed: Hash32,
    /// The vault's salted commitment to the form's answers.
    pub commitment: Hash32,
    /// The record's subject tag (the applicant, provable only with their subject salt).
    pub subject: Hash32,
}
codec_struct!(FormRecord {
    seed: (),
    commitment: (),
    subject: ()
});

/// The nonce a form record's id is derived from: `H("civitas/permit-form", applicant, seed)`.
pub fn form_nonce(applicant: &AccountId, seed: &Hash32) -> Hash32 {
    Hash32::tagged(b"civitas/permit-form", &[&applicant.0, &seed.0])
}

/// A change to a licence an agency makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LicenceAction {
    /// Suspended until reinstated.
    Suspend,
    /// A suspension lifted.
    Reinstate,
    /// Revoked for good.
    Revoke,
}
codec_enum!(LicenceAction { 0 => Suspend {}, 1 => Reinstate {}, 2 => Revoke {} });

impl LicenceAction {
    /// The name used in JSON and the read model.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Suspend => "suspend",
            Self::Reinstate => "reinstate",
            Self::Revoke => "revoke",
        }
    }
}

/// Operations of the permits module.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum PermitsInstruction {
    /// An agency's admin publishes a permit type of the agency, or its next version (which
    /// applies to applications filed from then on).
    DefineType {
        /// The type's id (`business-licence`), unique on the ledger.
        permit_type: String,
        /// The definition.
        definition: PermitTypeDef,
    },
    /// An agency's admin stops new applications of a type (those filed go on).
    RetireType {
        /// The type's id.
        permit_type: String,
    },
    /// A citizen or business applies, signing for itself.
    Apply {
        /// The type's id (its version in force applies).
        permit_type: String,
        /// The form's answers, sealed in the agency's vault (which keeps them): the record
        /// this registers.
        form: FormRecord,
        /// The SHA-256 of each required document, notarised, in the type's order.
        documents: Vec<Hash32>,
        /// The id of each required vault record, in the type's order.
        records: Vec<Hash32>,
        /// The licence this renews (its holder applying within the renewal window).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        renews: Option<u64>,
    },
    /// An official of the agency records the fee paid (to the agency's account; the
    /// reference is the payment's).
    RecordFee {
        /// The application.
        application: u64,
        /// The payment's reference (a bank or payment provider's; never a person's name).
        reference: String,
    },
    /// An official with the current step's role completes it; the next step starts.
    CompleteStep {
        /// The application.
        application: u64,
        /// The step completed, by name (so a decision meant for another step cannot land on
        /// this one).
        step: String,
        /// The reason (public).
        reason: String,
    },
    /// An official with the current step's role asks the applicant for more; the step's
    /// clock stops until they answer.
    RequestInformation {
        /// The application.
        application: u64,
        /// The step asking.
        step: String,
        /// What is needed (public: name documents, never a person's details).
        request: String,
    },
    /// The applicant answers a request: the form's next version in the vault (if the answers
    /// changed), and documents.
    ProvideInformation {
        /// The application.
        application: u64,
        /// The vault's commitment to the form's next version (the record's version plus one),
        /// if the answers changed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        form: Option<Hash32>,
        /// Further notarised documents.
        documents: Vec<Hash32>,
    },
    /// An official with the last step's role decides: a licence, or a refusal with its
    /// reason (the appeal route is the type's).
    Decide {
        /// The application.
        application: u64,
        /// The last step, by name.
        step: String,
        /// Whether the licence is granted.
        approve: bool,
        /// The licence's scope when granted (public: what it permits, where).
        #[serde(default)]
        scope: String,
        /// The reason (public).
        reason: String,
    },
    /// The applicant withdraws an application not yet decided.
    Withdraw {
        /// The application.
        application: u64,
    },
    /// The applicant appeals a refusal within the type's time.
    Appeal {
        /// The application.
        application: u64,
        /// SHA-256 of the written grounds (notarised or kept in the vault).
        grounds: Hash32,
    },
    /// An official with the type's supervisor role decides an appeal: upheld (the licence is
    /// issued) or dismissed.
    DecideAppeal {
        /// The application.
        application: u64,
        /// Whether the appeal succeeds.
        upheld: bool,
        /// The scope of the licence, when upheld.
        #[serde(default)]
        scope: String,
        /// The reason (public).
        reason: String,
    },
    /// An official of the issuing agency amends a licence's scope.
    Amend {
        /// The licence's number.
        licence: u64,
        /// The new scope.
        scope: String,
        /// The reason (public).
        reason: String,
    },
    /// An official of the issuing agency suspends, reinstates or revokes a licence.
    ChangeLicence {
        /// The licence's number.
        licence: u64,
        /// What to do.
        action: LicenceAction,
        /// The reason (public).
        reason: String,
    },
}

codec_enum!(PermitsInstruction {
    0 => DefineType { permit_type: TYPE_ID_MAX_BYTES, definition: () },
    1 => RetireType { permit_type: TYPE_ID_MAX_BYTES },
    2 => Apply {
        permit_type: TYPE_ID_MAX_BYTES,
        form: (),
        documents: (DOCUMENTS_MAX, ()),
        records: (RECORDS_MAX, ()),
        renews: (),
    },
    3 => RecordFee { application: (), reference: REFERENCE_MAX_BYTES },
    4 => CompleteStep { application: (), step: NAME_ID_MAX_BYTES, reason: REASON_MAX_BYTES },
    5 => RequestInformation { application: (), step: NAME_ID_MAX_BYTES, request: REASON_MAX_BYTES },
    6 => ProvideInformation { application: (), form: (), documents: (DOCUMENTS_MAX, ()) },
    7 => Decide {
        application: (),
        step: NAME_ID_MAX_BYTES,
        approve: (),
        scope: NAME_MAX_BYTES,
        reason: REASON_MAX_BYTES,
    },
    8 => Withdraw { application: () },
    9 => Appeal { application: (), grounds: () },
    10 => DecideAppeal { application: (), upheld: (), scope: NAME_MAX_BYTES, reason: REASON_MAX_BYTES },
    11 => Amend { licence: (), scope: NAME_MAX_BYTES, reason: REASON_MAX_BYTES },
    12 => ChangeLicence { licence: (), action: (), reason: REASON_MAX_BYTES },
});

impl Operations for PermitsInstruction {
    const MESSAGES: &'static [(&'static str, &'static str)] = MESSAGES;

    fn public_text(&self) -> Vec<PublicText<'_>> {
        match self {
            Self::DefineType {
                permit_type,
                definition,
            } => {
                let mut texts = definition.public_text();
                texts.push(PublicText::code("permit_type", permit_type));
                texts
            }
            Self::RecordFee { reference, .. } => vec![PublicText::code("reference", reference)],
            Self::CompleteStep { reason, .. } => vec![PublicText::prose("reason", reason)],
            Self::RequestInformation { request, .. } => vec![PublicText::prose("request", request)],
            Self::Decide { scope, reason, .. }
            | Self::DecideAppeal { scope, reason, .. }
            | Self::Amend { scope, reason, .. } => vec![
                PublicText::prose("scope", scope),
                PublicText::prose("reason", reason),
            ],
            Self::ChangeLicence { reason, .. } => vec![PublicText::prose("reason", reason)],
            Self::RetireType { .. }
            | Self::Apply { .. }
            | Self::ProvideInformation { .. }
            | Self::Withdraw { .. }
            | Self::Appeal { .. } => Vec::new(),
        }
    }

    fn accounts(&self) -> Vec<AccountId> {
        Vec::new()
    }

    fn name(&self) -> &'static str {
        match self {
            Self::DefineType { .. } => "permits.define_type",
            Self::RetireType { .. } => "permits.retire_type",
            Self::Apply { .. } => "permits.apply",
            Self::RecordFee { .. } => "permits.record_fee",
            Self::CompleteStep { .. } => "permits.complete_step",
            Self::RequestInformation { .. } => "permits.request_information",
            Self::ProvideInformation { .. } => "permits.provide_information",
            Self::Decide { .. } => "permits.decide",
            Self::Withdraw { .. } => "permits.withdraw",
            Self::Appeal { .. } => "permits.appeal",
            Self::DecideAppeal { .. } => "permits.decide_appeal",
            Self::Amend { .. } => "permits.amend",
            Self::ChangeLicence { .. } => "permits.change_licence",
        }
    }

    fn validate(&self) -> Result<(), DecodeError> {
        match self {
            Self::DefineType {
                permit_type,
                definition,
            } => {
                check_ident("permit_type", permit_type, TYPE_ID_MAX_BYTES)?;
                definition.validate()
            }
            Self::RetireType { permit_type } | Self::Apply { permit_type, .. } => {
                check_ident("permit_type", permit_type, TYPE_ID_MAX_BYTES)
            }
            Self::RecordFee { reference, .. } => {
                check_text("reference", reference, REFERENCE_MAX_BYTES)
            }
            Self::CompleteStep { step, reason, .. } => {
                check_ident("step", step, NAME_ID_MAX_BYTES)?;
                check_text("reason", reason, REASON_MAX_BYTES)
            }
            Self::RequestInformation { step, request, .. } => {
                check_ident("step", step, NAME_ID_MAX_BYTES)?;
                check_text("request", request, REASON_MAX_BYTES)
            }
            Self::ProvideInformation { .. } | Self::Withdraw { .. } | Self::Appeal { .. } => Ok(()),
            Self::Decide {
                step,
                approve,
                scope,
                reason,
                ..
            } => {
                check_ident("step", step, NAME_ID_MAX_BYTES)?;
                check_scope(*approve, scope)?;
                check_text("reason", reason, REASON_MAX_BYTES)
            }
            Self::DecideAppeal {
                upheld,
                scope,
                reason,
                ..
            } => {
                check_scope(*upheld, scope)?;
                check_text("reason", reason, REASON_MAX_BYTES)
            }
            Self::Amend { scope, reason, .. } => {
                check_text("scope", scope, NAME_MAX_BYTES)?;
                check_text("reason", reason, REASON_MAX_BYTES)
            }
            Self::ChangeLicence { reason, .. } => check_text("reason", reason, REASON_MAX_BYTES),
        }
    }
}

/// A licence granted has a scope; a refusal has none.
fn check_scope(granted: bool, scope: &str) -> Result<(), DecodeError> {
    if granted {
        check_text("scope", scope, NAME_MAX_BYTES)
    } else if !scope.is_empty() {
        Err(invalid(
            "scope",
            "a refusal grants nothing, so it has no scope",
        ))
    } else {
        Ok(())
    }
}

/// How an application was decided, or where it stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Granted by an official.
    Approved,
    /// Granted because a deadline passed (silence is consent).
    ApprovedTacitly,
    /// Refused.
    Refused,
    /// Withdrawn by the applicant.
    Withdrawn,
    /// Granted on appeal.
    ApprovedOnAppeal,
    /// Refused, and the appeal dismissed.
    AppealDismissed,
}
codec_enum!(Outcome {
    0 => Approved {},
    1 => ApprovedTacitly {},
    2 => Refused {},
    3 => Withdrawn {},
    4 => ApprovedOnAppeal {},
    5 => AppealDismissed {},
});

impl Outcome {
    /// The name used in JSON and the read model.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Approved => "approved",
            Self::ApprovedTacitly => "approved_tacitly",
            Self::Refused => "refused",
            Self::Withdrawn => "withdrawn",
            Self::ApprovedOnAppeal => "approved_on_appeal",
            Self::AppealDismissed => "appeal_dismissed",
        }
    }

    /// Whether a licence follows.
    pub fn grants(&self) -> bool {
        matches!(
            self,
            Self::Approved | Self::ApprovedTacitly | Self::ApprovedOnAppeal
        )
    }
}

/// What became of a licence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LicenceChange {
    /// Its scope changed.
    Amended,
    /// Suspended.
    Suspended,
    /// A suspension lifted.
    Reinstated,
    /// Revoked.
    Revoked,
    /// Renewed: valid for longer.
    Renewed,
    /// Its validity ran out.
    Expired,
}
codec_enum!(LicenceChange {
    0 => Amended {},
    1 => Suspended {},
    2 => Reinstated {},
    3 => Revoked {},
    4 => Renewed {},
    5 => Expired {},
});

/// What the permits module records in receipts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PermitsEvent {
    /// A permit type (or its next version) was published.
    PermitTypeDefined {
        /// The type.
        permit_type: String,
        /// The version, from 1.
        version: u32,
        /// Its agency.
        agency: String,
    },
    /// A permit type takes no more applications.
    PermitTypeRetired {
        /// The type.
        permit_type: String,
        /// Its agency.
        agency: String,
    },
    /// An application was filed; its first step started.
    ApplicationFiled {
        /// Its number.
        application: u64,
        /// The type.
        permit_type: String,
        /// The type's version it is filed under.
        version: u32,
        /// The agency.
        agency: String,
        /// The applicant.
        applicant: AccountId,
        /// The first step.
        step: String,
        /// Its statutory deadline, if it has one (and the fee is paid, or there is none).
        deadline: Option<TimestampMs>,
        /// The fee to pay before the first step starts, if the type has one.
        fee: Option<Money>,
    },
    /// The fee was recorded as paid; the first step's clock started.
    FeePaid {
        /// The application.
        application: u64,
        /// The applicant.
        applicant: AccountId,
        /// The amount.
        amount: Money,
        /// The payment's reference.
        reference: String,
        /// The first step's statutory deadline, if it has one.
        deadline: Option<TimestampMs>,
    },
    /// A step was completed and the next started.
    StepCompleted {
        /// The application.
        application: u64,
        /// The applicant.
        applicant: AccountId,
        /// The step completed.
        step: String,
        /// The official.
        by: AccountId,
        /// The reason.
        reason: String,
        /// The next step.
        next: String,
        /// Its deadline, if it has one.
        deadline: Option<TimestampMs>,
    },
    /// The applicant was asked for more information.
    InformationRequested {
        /// The application.
        application: u64,
        /// The applicant.
        applicant: AccountId,
        /// The step asking.
        step: String,
        /// The official.
        by: AccountId,
        /// What is needed.
        request: String,
    },
    /// The applicant answered; the step's clock started again.
    InformationProvided {
        /// The application.
        application: u64,
        /// The applicant.
        applicant: AccountId,
        /// The step.
        step: String,
        /// Its new deadline, if it has one.
        deadline: Option<TimestampMs>,
    },
    /// A step's deadline passed with no decision.
    ApplicationOverdue {
        /// The application.
        application: u64,
        /// The applicant.
        applicant: AccountId,
        /// The agency.
        agency: String,
        /// The step.
        step: String,
        /// The deadline that passed.
        deadline: TimestampMs,
        /// What follows, as the type says.
        consequence: OnOverdue,
        /// The role told (and, on escalation, the one that acts now).
        supervisor_role: String,
    },
    /// An application was decided (or withdrawn).
    ApplicationDecided {
        /// The application.
        application: u64,
        /// The applicant.
        applicant: AccountId,
        /// The agency.
        agency: String,
        /// How.
        outcome: Outcome,
        /// The official (none when a deadline decided, or the applicant withdrew).
        by: Option<AccountId>,
        /// The reason.
        reason: String,
        /// The licence issued, if any.
        licence: Option<u64>,
    },
    /// The applicant appealed a refusal.
    ApplicationAppealed {
        /// The application.
        application: u64,
        /// The applicant.
        applicant: AccountId,
        /// SHA-256 of the grounds.
        grounds: Hash32,
    },
    /// A licence was issued.
    LicenceIssued {
        /// Its number.
        licence: u64,
        /// Its type.
        permit_type: String,
        /// The issuing agency.
        agency: String,
        /// Its holder.
        holder: AccountId,
        /// What it permits.
        scope: String,
        /// Until when it is valid (none: until revoked).
        valid_until: Option<TimestampMs>,
        /// Whether it is on the public register.
        public: bool,
        /// The application.
        application: u64,
    },
    /// A licence changed.
    LicenceChanged {
        /// Its number.
        licence: u64,
        /// Its holder.
        holder: AccountId,
        /// What changed.
        change: LicenceChange,
        /// The official (none when it expired on its own, or a renewal application's
        /// decision renewed it).
        by: Option<AccountId>,
        /// The reason.
        reason: String,
        /// Until when it is valid now.
        valid_until: Option<TimestampMs>,
        /// What it permits now (public, as when issued).
        scope: String,
    },
}
codec_enum!(PermitsEvent {
    0 => PermitTypeDefined { permit_type: TYPE_ID_MAX_BYTES, version: (), agency: AGENCY_ID_MAX_BYTES },
    1 => PermitTypeRetired { permit_type: TYPE_ID_MAX_BYTES, agency: AGENCY_ID_MAX_BYTES },
    2 => ApplicationFiled {
        application: (),
        permit_type: TYPE_ID_MAX_BYTES,
        version: (),
        agency: AGENCY_ID_MAX_BYTES,
        applicant: (),
        step: NAME_ID_MAX_BYTES,
        deadline: (),
        fee: (),
    },
    3 => FeePaid {
        application: (),
        applicant: (),
        amount: (),
        reference: REFERENCE_MAX_BYTES,
        deadline: (),
    },
    4 => StepCompleted {
        application: (),
        applicant: (),
        step: NAME_ID_MAX_BYTES,
        by: (),
        reason: REASON_MAX_BYTES,
        next: NAME_ID_MAX_BYTES,
        deadline: (),
    },
    5 => InformationRequested {
        application: (),
        applicant: (),
        step: NAME_ID_MAX_BYTES,
        by: (),
        request: REASON_MAX_BYTES,
    },
    6 => InformationProvided { application: (), applicant: (), step: NAME_ID_MAX_BYTES, deadline: () },
    7 => ApplicationOverdue {
        application: (),
        applicant: (),
        agency: AGENCY_ID_MAX_BYTES,
        step: NAME_ID_MAX_BYTES,
        deadline: (),
        consequence: (),
        supervisor_role: ROLE_MAX_BYTES,
    },
    8 => ApplicationDecided {
        application: (),
        applicant: (),
        agency: AGENCY_ID_MAX_BYTES,
        outcome: (),
        by: (),
        reason: REASON_MAX_BYTES,
        licence: (),
    },
    9 => ApplicationAppealed { application: (), applicant: (), grounds: () },
    10 => LicenceIssued {
        licence: (),
        permit_type: TYPE_ID_MAX_BYTES,
        agency: AGENCY_ID_MAX_BYTES,
        holder: (),
        scope: NAME_MAX_BYTES,
        valid_until: (),
        public: (),
        application: (),
    },
    11 => LicenceChanged {
        licence: (),
        holder: (),
        change: (),
        by: (),
        reason: REASON_MAX_BYTES,
        valid_until: (),
        scope: NAME_MAX_BYTES,
    },
});

impl PermitsEvent {
    /// The application the event is about, if any.
    pub fn application(&self) -> Option<u64> {
        match self {
            Self::ApplicationFiled { application, .. }
            | Self::FeePaid { application, .. }
            | Self::StepCompleted { application, .. }
            | Self::InformationRequested { application, .. }
            | Self::InformationProvided { application, .. }
            | Self::ApplicationOverdue { application, .. }
            | Self::ApplicationDecided { application, .. }
            | Self::ApplicationAppealed { application, .. }
            | Self::LicenceIssued { application, .. } => Some(*application),
            Self::PermitTypeDefined { .. }
            | Self::PermitTypeRetired { .. }
            | Self::LicenceChanged { .. } => None,
        }
    }

    /// The licence the event is about, if any.
    pub fn licence(&self) -> Option<u64> {
        match self {
            Self::LicenceIssued { licence, .. } | Self::LicenceChanged { licence, .. } => {
                Some(*licence)
            }
            Self::ApplicationDecided { licence, .. } => *licence,
            _ => None,
        }
    }
}

impl Events for PermitsEvent {
    const TAGS: EventTags = EventTags::Own(19);

    fn accounts(&self) -> Vec<AccountId> {
        match self {
            Self::PermitTypeDefined { .. } | Self::PermitTypeRetired { .. } => Vec::new(),
            Self::ApplicationFiled { applicant, .. }
            | Self::FeePaid { applicant, .. }
            | Self::InformationProvided { applicant, .. }
            | Self::ApplicationOverdue { applicant, .. }
            | Self::ApplicationAppealed { applicant, .. } => vec![*applicant],
            Self::StepCompleted { applicant, by, .. }
            | Self::InformationRequested { applicant, by, .. } => vec![*applicant, *by],
            Self::ApplicationDecided { applicant, by, .. } => {
                std::iter::once(*applicant).chain(*by).collect()
            }
            Self::LicenceIssued { holder, .. } => vec![*holder],
            Self::LicenceChanged { holder, by, .. } => {
                std::iter::once(*holder).chain(*by).collect()
            }
        }
    }
}

/// The sentences of the permits module's failure codes (see `civitas_core::messages`).
pub const MESSAGES: &[(&str, &str)] = &[
    (
        "unknown_permit_type",
        "permit type {permit_type} does not exist",
    ),
    (
        "permit_type_of_another_agency",
        "permit type {permit_type} belongs to {agency}",
    ),
    (
        "permit_type_retired",
        "permit type {permit_type} takes no more applications",
    ),
    (
        "unknown_application",
        "application {application} does not exist",
    ),
    ("unknown_licence", "licence {licence} does not exist"),
    (
        "wrong_documents",
        "permit type {permit_type} requires {expected} documents; {given} were given",
    ),
    (
        "too_many_documents",
        "application {application} holds {held} documents and {given} more were given: at most \
         {max}",
    ),
    (
        "document_not_anchored",
        "document {document} is not notarised, or its notarisation was revoked: a notary \
         anchors it first",
    ),
    (
        "wrong_records",
        "permit type {permit_type} requires {expected} vault records; {given} were named",
    ),
    (
        "record_not_usable",
        "vault record {record} does not exist, is erased, or is not a {schema}",
    ),
    (
        "not_the_applicant",
        "only the applicant may do this to application {application}",
    ),
    (
        "already_decided",
        "application {application} was already decided ({outcome})",
    ),
    (
        "wrong_step",
        "application {application} is at step {current}, not {step}",
    ),
    (
        "not_the_last_step",
        "step {step} is not the last of application {application}: complete it instead",
    ),
    (
        "last_step",
        "step {step} is the last of application {application}: decide it instead",
    ),
    (
        "fee_unpaid",
        "the fee of application {application} ({fee}) is not paid",
    ),
    ("no_fee", "application {application} has no fee to pay"),
    (
        "fee_already_paid",
        "the fee of application {application} is paid",
    ),
    (
        "awaiting_applicant",
        "application {application} waits for the applicant's answer to a request",
    ),
    (
        "nothing_requested",
        "nobody asked the applicant of application {application} for anything",
    ),
    (
        "not_refused",
        "application {application} was not refused, so there is nothing to appeal",
    ),
    (
        "appeal_too_late",
        "the time to appeal application {application} ended at {until}",
    ),
    (
        "already_appealed",
        "application {application} was already appealed",
    ),
    (
        "not_appealed",
        "application {application} has no appeal to decide",
    ),
    (
        "licence_revoked",
        "licence {licence} was revoked at height {height}",
    ),
    (
        "licence_not_suspended",
        "licence {licence} is not suspended",
    ),
    (
        "licence_suspended",
        "licence {licence} is already suspended",
    ),
    (
        "licence_expired",
        "licence {licence} expired at {valid_until}",
    ),
    (
        "not_renewable",
        "licence {licence} cannot be renewed now: {reason}",
    ),
    (
        "not_the_holder",
        "only the holder of licence {licence} may renew it",
    ),
    (
        "deadline_passed",
        "the deadline of application {application}'s step passed at {deadline}: the ledger \
         applies what follows ({consequence}) at the end of this block",
    ),
    (
        "too_many_open_applications",
        "you have {open} applications of type {permit_type} not yet decided: wait for one, or \
         withdraw one",
    ),
    (
        "renewal_pending",
        "licence {licence} is already being renewed by application {application}",
    ),
    (
        "own_application",
        "application {application} is your own: another official decides it",
    ),
    (
        "own_licence",
        "licence {licence} is your own: another official acts on it",
    ),
    (
        "too_many_requests",
        "the applicant of application {application} was asked {requests} times at step {step}: \
         decide on what is there",
    ),
];

pub mod examples;

#[cfg(test)]
mod tests;
