//! Two permit types as an agency would define them: the devnet's samples, the examples of the
//! API document and the command line, and what the tests run.

use crate::*;
use civitas_primitives::money::Currency;

const DAY: u64 = 86_400;

fn step(name: &str, title: &str, role: &str, deadline_secs: u64, on_overdue: OnOverdue) -> StepDef {
    StepDef {
        name: name.into(),
        title: title.into(),
        role: role.into(),
        deadline_secs,
        on_overdue,
    }
}

fn field(name: &str, label: &str, kind: FieldKind, required: bool) -> FieldDef {
    FieldDef {
        name: name.into(),
        label: label.into(),
        kind,
        required,
    }
}

fn euros(cents: u64) -> Money {
    Money::new(
        cents,
        Currency::parse("EUR").unwrap_or_else(|_| unreachable!("EUR is a currency")),
    )
}

/// A business licence: a completeness check (ten days, then the step passes to the head of
/// licensing), an inspection (thirty days; late inspections are reported), a decision (twenty
/// days; silence is consent). A fee of 120.00 EUR, five years' validity, renewable in the
/// last ninety days, on the public register.
pub fn business_licence() -> PermitTypeDef {
    PermitTypeDef {
        title: "Business licence".into(),
        description: "Needed to open a shop, a café or a workshop in the city.".into(),
        steps: vec![
            step(
                "completeness",
                "Completeness check",
                "clerk",
                10 * DAY,
                OnOverdue::Escalate,
            ),
            step(
                "inspection",
                "Inspection of the premises",
                "inspector",
                30 * DAY,
                OnOverdue::Notify,
            ),
            step(
                "decision",
                "Decision",
                "licensing",
                20 * DAY,
                OnOverdue::Approve,
            ),
        ],
        fields: vec![
            field(
                "trade",
                "What the business does",
                FieldKind::Choice {
                    choices: vec!["retail".into(), "food".into(), "workshop".into()],
                },
                true,
            ),
            field(
                "floor_area",
                "Floor area in square metres",
                FieldKind::Number {
                    min: 1,
                    max: 100_000,
                },
                true,
            ),
            field("opening", "Opening date", FieldKind::Date {}, false),
            field(
                "notes",
                "Anything the inspector should know",
                FieldKind::Text { max_bytes: 2_000 },
                false,
            ),
        ],
        documents: vec![DocumentDef {
            name: "floor-plan".into(),
            title: "Floor plan of the premises".into(),
        }],
        records: Vec::new(),
        fee: Some(euros(12_000)),
        validity_secs: 5 * 365 * DAY,
        renewal_window_secs: 90 * DAY,
        register: Register::Public,
        appeal_route: "Appeal to the city's licensing board within 30 days of the decision".into(),
        appeal_secs: 30 * DAY,
        supervisor_role: "licensing-head".into(),
    }
}

/// A building permit: a completeness check (fifteen days, then escalated) and a decision
/// (sixty days; silence is consent), with a site plan and structural drawings, a fee of
/// 450.00 EUR, valid three years, not renewable, private to the holder.
pub fn building_permit() -> PermitTypeDef {
    PermitTypeDef {
        title: "Building permit".into(),
        description: "Needed to build, extend or change the structure of a building.".into(),
        steps: vec![
            step(
                "completeness",
                "Completeness check",
                "clerk",
                15 * DAY,
                OnOverdue::Escalate,
            ),
            step(
                "decision",
                "Planning decision",
                "planner",
                60 * DAY,
                OnOverdue::Approve,
            ),
        ],
        fields: vec![
            field(
                "works",
                "Kind of works",
                FieldKind::Choice {
                    choices: vec![
                        "new building".into(),
                        "extension".into(),
                        "alteration".into(),
                    ],
                },
                true,
            ),
            field(
                "storeys",
                "Storeys above ground",
                FieldKind::Number { min: 1, max: 60 },
                true,
            ),
            field("start", "Planned start of works", FieldKind::Date {}, true),
            field(
                "heritage",
                "The building is listed",
                FieldKind::YesNo {},
                true,
            ),
        ],
        documents: vec![
            DocumentDef {
                name: "site-plan".into(),
                title: "Site plan".into(),
            },
            DocumentDef {
                name: "structural-drawings".into(),
                title: "Structural drawings signed by an engineer".into(),
            },
        ],
        records: Vec::new(),
        fee: Some(euros(45_000)),
        validity_secs: 3 * 365 * DAY,
        renewal_window_secs: 0,
        register: Register::Private,
        appeal_route: "Appeal to the regional planning tribunal within 60 days of the decision"
            .into(),
        appeal_secs: 60 * DAY,
        supervisor_role: "planning-head".into(),
    }
}
