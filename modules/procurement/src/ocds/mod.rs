//! OCDS 1.1: every contracting process on the ledger as releases (one per step, dated by the
//! block that recorded it) and as a record with its compiled and versioned releases; release
//! packages validated against the standard's schema for import.
//!
//! Releases are built from the ledger's records when asked for, never stored: the ledger is
//! the source, OCDS a view of it. A release's `date` is the block time of the step, so the
//! same records always give the same releases.

pub mod merge;

use crate::state::{Bid, Contract, Stage, Tender};
use civitas_core::crypto::AccountId;
use civitas_core::money::Money;
use civitas_core::time::TimestampMs;
use merge::MergeRules;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// The OCDS 1.1.4 release schema, as published.
pub const RELEASE_SCHEMA: &str = include_str!("schema/release-schema-1.1.4.json");
/// The OCDS 1.1.5 release package schema, as published.
pub const RELEASE_PACKAGE_SCHEMA: &str = include_str!("schema/release-package-schema-1.1.5.json");

const RELEASE_SCHEMA_URI: &str =
    "https://standard.open-contracting.org/schema/1__1__5/release-schema.json";

/// How the ocids of this ledger's own processes begin (`ocds-civitas-<chain id>-<tender>`).
pub const OWN_PREFIX: &str = "ocds-civitas-";

/// The extensions the releases use (bids, enquiries).
pub const EXTENSIONS: [&str; 2] = [
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_bid_extension/v1.1.5/extension.json",
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_enquiry_extension/v1.1.5/extension.json",
];

/// The release schema, parsed.
pub fn release_schema() -> Value {
    RELEASE_SCHEMA_VALUE.clone()
}

static RELEASE_SCHEMA_VALUE: LazyLock<Value> =
    LazyLock::new(|| serde_json::from_str(RELEASE_SCHEMA).expect("the bundled schema is JSON"));

/// The merge rules of the release schema.
pub fn merge_rules() -> &'static MergeRules {
    static RULES: LazyLock<MergeRules> =
        LazyLock::new(|| MergeRules::from_schema(&RELEASE_SCHEMA_VALUE));
    &RULES
}

static PACKAGE_VALIDATOR: LazyLock<Result<jsonschema::Validator, String>> = LazyLock::new(|| {
    let package: Value = serde_json::from_str(RELEASE_PACKAGE_SCHEMA).map_err(|e| e.to_string())?;
    // The package's releases are checked against the bundled 1.1.4 release schema, registered
    // under the address the package schema names; nothing is fetched.
    let registry = jsonschema::Registry::new()
        .add(RELEASE_SCHEMA_URI, RELEASE_SCHEMA_VALUE.clone())
        .map_err(|e| e.to_string())?
        .prepare()
        .map_err(|e| e.to_string())?;
    jsonschema::draft4::options()
        .should_validate_formats(true)
        .with_registry(&registry)
        .build(&package)
        .map_err(|e| e.to_string())
});

/// One way a document breaks the schema.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct SchemaIssue {
    /// Where, as a JSON pointer into the document (`/releases/0/tender/value/amount`).
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// The verdict on a document: valid, or the ways it breaks the schema.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[schema(as = OcdsValidation)]
pub struct Validation {
    /// Whether the document meets the schema.
    pub valid: bool,
    /// Every issue found, up to 100 (none when valid).
    pub issues: Vec<SchemaIssue>,
}

impl Validation {
    /// The verdict of [`validate_release_package`] on `package`.
    pub fn of_release_package(package: &serde_json::Value) -> Self {
        match validate_release_package(package) {
            Ok(()) => Self {
                valid: true,
                issues: Vec::new(),
            },
            Err(issues) => Self {
                valid: false,
                issues,
            },
        }
    }
}

/// Most schema issues reported for one document.
pub const ISSUES_MAX: usize = 100;

/// Checks a release package against the OCDS 1.1 release package schema; every issue (up to
/// [`ISSUES_MAX`]) with where it is.
pub fn validate_release_package(package: &Value) -> Result<(), Vec<SchemaIssue>> {
    let validator = match &*PACKAGE_VALIDATOR {
        Ok(v) => v,
        Err(e) => {
            return Err(vec![SchemaIssue {
                path: String::new(),
                message: format!("the bundled OCDS schema could not be loaded: {e}"),
            }]);
        }
    };
    let issues: Vec<SchemaIssue> = validator
        .iter_errors(package)
        .take(ISSUES_MAX)
        .map(|e| SchemaIssue {
            path: e.instance_path().to_string(),
            message: e.to_string(),
        })
        .collect();
    if issues.is_empty() {
        Ok(())
    } else {
        Err(issues)
    }
}

/// Everything the ledger holds about one contracting process.
pub struct Process<'a> {
    /// Prefix of the OCID (`ocds-civitas-<chain id>`).
    pub prefix: &'a str,
    /// The tender.
    pub tender: &'a Tender,
    /// Its bids, in submission order.
    pub bids: &'a [Bid],
    /// Its contract, once signed.
    pub contract: Option<&'a Contract>,
    /// The buying agency's name.
    pub buyer_name: &'a str,
    /// Vendors' names by account.
    pub vendors: &'a BTreeMap<AccountId, String>,
}

/// An OCDS amount: major units as a JSON number, and the currency.
pub fn value(money: &Money) -> Value {
    let digits = money.currency.minor_digits();
    let amount = if digits == 0 {
        json!(money.amount)
    } else {
        let scale = 10u64.pow(digits);
        let text = format!(
            "{}.{:0width$}",
            money.amount / scale,
            money.amount % scale,
            width = digits as usize
        );
        text.parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::Null, Value::Number)
    };
    json!({ "amount": amount, "currency": money.currency.as_str() })
}

fn date(time: TimestampMs) -> String {
    time.rfc3339()
}

impl Process<'_> {
    /// The process's OCID.
    pub fn ocid(&self) -> String {
        format!("{}-{}", self.prefix, self.tender.id)
    }

    fn buyer(&self) -> Value {
        json!({ "id": self.tender.agency, "name": self.buyer_name })
    }

    fn vendor(&self, account: &AccountId) -> Value {
        let name = self
            .vendors
            .get(account)
            .cloned()
            .unwrap_or_else(|| account.to_hex());
        json!({ "id": account.to_hex(), "name": name })
    }

    fn award_id(&self) -> String {
        format!("{}-award", self.ocid())
    }

    fn release(&self, suffix: &str, time: TimestampMs, tag: &str, body: Value) -> Value {
        let mut release = json!({
            "ocid": self.ocid(),
            "id": format!("{}-{suffix}", self.ocid()),
            "date": date(time),
            "tag": [tag],
            "initiationType": "tender",
            "language": "en",
            "buyer": self.buyer(),
        });
        if let (Some(target), Value::Object(fields)) = (release.as_object_mut(), body) {
            target.extend(fields);
        }
        release
    }

    fn parties(&self, with_bidders: bool, supplier: Option<&AccountId>) -> Value {
        let mut parties = vec![json!({
            "id": self.tender.agency,
            "name": self.buyer_name,
            "roles": ["buyer", "procuringEntity", "payer"],
        })];
        if with_bidders {
            for bidder in &self.tender.bidders {
                let mut party = self.vendor(bidder);
                let roles = if Some(bidder) == supplier {
                    json!(["tenderer", "supplier", "payee"])
                } else {
                    json!(["tenderer"])
                };
                party["roles"] = roles;
                parties.push(party);
            }
        }
        Value::Array(parties)
    }

    /// The releases of the process, in date order: planning, tender, award, contract, one per
    /// contract amendment, one per accepted milestone, and a cancellation if there was one.
    pub fn releases(&self) -> Vec<Value> {
        let t = self.tender;
        let mut releases = Vec::new();
        releases.push(self.release(
            "planning",
            t.planned_at,
            "planning",
            json!({
                "parties": self.parties(false, None),
                "planning": {
                    "budget": {
                        "id": t.appropriation.to_string(),
                        "description": format!("appropriation {} of fiscal year {}", t.appropriation, t.year),
                    },
                },
                "tender": {
                    "id": t.id.to_string(),
                    "title": t.title,
                    "description": t.description,
                    "status": "planned",
                    "value": value(&t.estimated),
                    "procurementMethod": t.method.ocds(),
                    "procuringEntity": self.buyer(),
                },
            }),
        ));
        if t.stage == Stage::Planned && t.cancellation.is_none() {
            return releases;
        }
        if t.published_at.0 > 0 {
            let criteria: Vec<String> = t
                .criteria
                .iter()
                .map(|c| format!("{} {}%", c.name, c.weight))
                .collect();
            let enquiries: Vec<Value> = t
                .clarifications
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    json!({
                        "id": (i + 1).to_string(),
                        "date": date(c.time),
                        "description": c.question,
                        "answer": c.answer,
                        "dateAnswered": date(c.time),
                    })
                })
                .collect();
            let documents: Vec<Value> = t
                .documents
                .iter()
                .map(|d| {
                    json!({
                        "id": d.to_hex(),
                        "documentType": "tenderNotice",
                        "title": format!("Tender document (SHA-256 {})", d.to_hex()),
                        "description": "Notarised on the ledger; verify the file against its SHA-256.",
                    })
                })
                .collect();
            let status = if t.stage == Stage::Cancelled {
                "cancelled"
            } else {
                "active"
            };
            releases.push(self.release(
                "tender",
                t.published_at,
                "tender",
                json!({
                    "tender": {
                        "id": t.id.to_string(),
                        "status": status,
                        "awardCriteria": "ratedCriteria",
                        "awardCriteriaDetails": criteria.join(", "),
                        "tenderPeriod": {
                            "startDate": date(t.published_at),
                            "endDate": date(t.deadline),
                        },
                        "documents": documents,
                        "enquiries": enquiries,
                    },
                }),
            ));
        }
        if let Some(award) = &t.award {
            let details: Vec<Value> = self
                .bids
                .iter()
                .filter_map(|bid| {
                    let opening = bid.opening.as_ref()?;
                    Some(json!({
                        "id": format!("{}-bid-{}", self.ocid(), bid.bidder.to_hex()),
                        "date": date(bid.time),
                        "status": "valid",
                        "tenderers": [self.vendor(&bid.bidder)],
                        "value": value(&opening.price),
                    }))
                })
                .collect();
            let tenderers: Vec<Value> = t.bidders.iter().map(|b| self.vendor(b)).collect();
            let signals: Vec<Value> = award
                .signals
                .iter()
                .map(|s| json!({ "id": s.code, "detail": s.detail }))
                .collect();
            releases.push(self.release(
                "award",
                award.time,
                "award",
                json!({
                    "parties": self.parties(true, Some(&award.bidder)),
                    "tender": {
                        "id": t.id.to_string(),
                        "status": "complete",
                        "numberOfTenderers": t.bidders.len(),
                        "tenderers": tenderers,
                    },
                    "bids": { "details": details },
                    "awards": [{
                        "id": self.award_id(),
                        "title": t.title,
                        "description": award.justification,
                        "status": "pending",
                        "date": date(award.time),
                        "value": value(&award.value),
                        "suppliers": [self.vendor(&award.bidder)],
                        "integritySignals": signals,
                    }],
                }),
            ));
        }
        if let Some(c) = self.contract {
            let contract_id = format!("{}-contract-{}", self.ocid(), c.id);
            let milestones: Vec<Value> = c
                .milestones
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    json!({
                        "id": format!("{contract_id}-milestone-{i}"),
                        "title": m.terms.title,
                        "type": "delivery",
                        "dueDate": date(m.terms.due),
                        "status": "scheduled",
                        "value": value(&m.terms.amount),
                    })
                })
                .collect();
            let original = c.amendments.first().map_or(c.value, |a| a.old_value);
            releases.push(self.release(
                "contract",
                c.signed_at,
                "contract",
                json!({
                    "awards": [{ "id": self.award_id(), "status": "active" }],
                    "contracts": [{
                        "id": contract_id,
                        "awardID": self.award_id(),
                        "title": t.title,
                        "status": "active",
                        "value": value(&original),
                        "dateSigned": date(c.signed_at),
                        "milestones": milestones,
                    }],
                }),
            ));
            for (i, amendment) in c.amendments.iter().enumerate() {
                releases.push(self.release(
                    &format!("amendment-{}", i + 1),
                    amendment.time,
                    "contractAmendment",
                    json!({
                        "contracts": [{
                            "id": contract_id,
                            "awardID": self.award_id(),
                            "value": value(&amendment.new_value),
                            "amendments": [{
                                "id": (i + 1).to_string(),
                                "date": date(amendment.time),
                                "rationale": amendment.reason,
                                "description": format!(
                                    "value {} -> {}; approved by {}",
                                    amendment.old_value,
                                    amendment.new_value,
                                    amendment.approvers.iter().map(|a| a.to_hex()).collect::<Vec<_>>().join(", ")
                                ),
                            }],
                        }],
                    }),
                ));
            }
            for (i, m) in c.milestones.iter().enumerate() {
                let Some(accepted) = &m.accepted else {
                    continue;
                };
                releases.push(self.release(
                    &format!("payment-{}", accepted.payment),
                    accepted.time,
                    "implementation",
                    json!({
                        "contracts": [{
                            "id": contract_id,
                            "awardID": self.award_id(),
                            "milestones": [{
                                "id": format!("{contract_id}-milestone-{i}"),
                                "status": "met",
                                "dateMet": date(accepted.time),
                            }],
                            "implementation": {
                                "transactions": [{
                                    "id": accepted.payment.to_string(),
                                    "date": date(accepted.time),
                                    "value": value(&m.terms.amount),
                                    "payer": self.buyer(),
                                    "payee": self.vendor(&c.vendor),
                                }],
                            },
                        }],
                    }),
                ));
            }
        }
        if let Some(cancellation) = &t.cancellation {
            releases.push(self.release(
                "cancellation",
                cancellation.time,
                "tenderCancellation",
                json!({
                    "tender": {
                        "id": t.id.to_string(),
                        "status": "cancelled",
                        "statusDetails": cancellation.reason,
                    },
                }),
            ));
        }
        // Steps recorded in the same block share a time; order is by date, then as built.
        releases.sort_by(|a, b| a["date"].as_str().cmp(&b["date"].as_str()));
        releases
    }
}

/// An OCDS record: a process's releases, its compiled release and its versioned release.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    /// The process's OCDS id.
    pub ocid: String,
    /// Its releases, oldest first, as OCDS 1.1 releases.
    #[schema(value_type = Vec<Object>)]
    pub releases: Vec<Value>,
    /// The releases merged into the latest state of the process.
    #[schema(value_type = Object)]
    pub compiled_release: Value,
    /// The releases merged with the history of every field.
    #[schema(value_type = Object)]
    pub versioned_release: Value,
}

/// The envelope every OCDS 1.1 package has, described in the document for its fields;
/// the OCDS 1.1 schemas (release and record package) define the rest, and the tests check
/// every package against them.
fn package_schema(
    kind: &str,
    items: &str,
    url: &str,
) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    let text = |description: &str| {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(description.to_string()))
    };
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some(format!(
            "An OCDS 1.1 {kind} package, valid against the OCDS schema at {url}."
        )))
        .property("uri", text("Where the package is served."))
        .property("version", text("The OCDS version, `1.1`."))
        .property(
            "publishedDate",
            text("The date of its latest release (so the package is reproducible)."),
        )
        .property(
            "publisher",
            ObjectBuilder::new()
                .schema_type(Type::Object)
                .property("name", text("The publisher: the ledger's chain."))
                .required("name"),
        )
        .property("license", text("The data's licence (CC0)."))
        .property(
            "extensions",
            ArrayBuilder::new().items(text("An OCDS extension's URL.")),
        )
        .property(
            items,
            ArrayBuilder::new().items(ObjectBuilder::new().schema_type(Type::Object)),
        )
        .required("uri")
        .required("version")
        .required("publishedDate")
        .required("publisher")
        .required(items)
        .into()
}

/// What `POST /v1/ocds/validate` takes: any JSON, checked against the release package schema
/// (nothing required, so that a client sends exactly what it wants diagnosed).
pub struct CandidatePackage;

impl utoipa::PartialSchema for CandidatePackage {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "A candidate OCDS 1.1 release package (https://standard.open-contracting.org/1.1/en/schema/release_package/): \
                 any JSON is taken, and every way it differs from the schema is reported.",
            ))
            .property("uri", ObjectBuilder::new().schema_type(Type::String))
            .property("version", ObjectBuilder::new().schema_type(Type::String))
            .property("releases", utoipa::openapi::schema::ArrayBuilder::new())
            .into()
    }
}

impl utoipa::ToSchema for CandidatePackage {}

/// An OCDS 1.1 release package, as the document describes it.
pub struct ReleasePackage;

impl utoipa::PartialSchema for ReleasePackage {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        package_schema(
            "release",
            "releases",
            "https://standard.open-contracting.org/1.1/en/schema/release_package/",
        )
    }
}

impl utoipa::ToSchema for ReleasePackage {}

/// An OCDS 1.1 record package, as the document describes it.
pub struct RecordPackage;

impl utoipa::PartialSchema for RecordPackage {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        package_schema(
            "record",
            "records",
            "https://standard.open-contracting.org/1.1/en/schema/record_package/",
        )
    }
}

impl utoipa::ToSchema for RecordPackage {}

/// Package metadata.
pub struct Publisher<'a> {
    /// The package's URI.
    pub uri: &'a str,
    /// Who publishes (the ledger's chain).
    pub name: &'a str,
}

fn latest_date(releases: &[Value]) -> Value {
    releases
        .iter()
        .filter_map(|r| r["date"].as_str())
        .max()
        .map_or(Value::String("1970-01-01T00:00:00Z".into()), |d| {
            Value::String(d.into())
        })
}

/// A release package of `releases` (its date is the latest release's, so it is reproducible).
pub fn release_package(publisher: &Publisher<'_>, releases: Vec<Value>) -> Value {
    json!({
        "uri": publisher.uri,
        "version": "1.1",
        "extensions": EXTENSIONS,
        "publishedDate": latest_date(&releases),
        "publisher": { "name": publisher.name },
        "license": "https://creativecommons.org/publicdomain/zero/1.0/",
        "releases": releases,
    })
}

/// A record package: per process, its releases, compiled release and versioned release.
pub fn record_package(
    publisher: &Publisher<'_>,
    processes: Vec<Vec<Value>>,
) -> Result<Value, merge::MergeError> {
    let mut records = Vec::new();
    let mut all_dates = Vec::new();
    for releases in processes {
        let compiled = merge::compile(&releases, merge_rules())?;
        let versioned = merge::versioned(&releases, merge_rules())?;
        all_dates.push(latest_date(&releases));
        records.push(json!({
            "ocid": compiled["ocid"],
            "releases": releases,
            "compiledRelease": compiled,
            "versionedRelease": versioned,
        }));
    }
    let published = all_dates
        .iter()
        .filter_map(Value::as_str)
        .max()
        .unwrap_or("1970-01-01T00:00:00Z")
        .to_string();
    Ok(json!({
        "uri": publisher.uri,
        "version": "1.1",
        "extensions": EXTENSIONS,
        "publishedDate": published,
        "publisher": { "name": publisher.name },
        "license": "https://creativecommons.org/publicdomain/zero/1.0/",
        "records": records,
    }))
}
