use super::*;
use civitas_primitives::codec::to_vec;
use civitas_primitives::kit::decode_tagged;
use civitas_primitives::money::Currency;
use proptest::prelude::*;

use crate::examples::business_licence;

fn define() -> PermitsInstruction {
    PermitsInstruction::DefineType {
        permit_type: "business-licence".into(),
        definition: business_licence(),
    }
}

fn every_operation() -> Vec<PermitsInstruction> {
    vec![
        define(),
        PermitsInstruction::RetireType {
            permit_type: "business-licence".into(),
        },
        PermitsInstruction::Apply {
            permit_type: "business-licence".into(),
            form: FormRecord {
                seed: Hash32::sha256(b"seed"),
                commitment: Hash32::sha256(b"content"),
                subject: Hash32::sha256(b"subject"),
            },
            documents: vec![Hash32::sha256(b"plan")],
            records: Vec::new(),
            renews: Some(3),
        },
        PermitsInstruction::RecordFee {
            application: 1,
            reference: "PSP-2026-000123".into(),
        },
        PermitsInstruction::CompleteStep {
            application: 1,
            step: "completeness".into(),
            reason: "all documents present".into(),
        },
        PermitsInstruction::RequestInformation {
            application: 1,
            step: "inspection".into(),
            request: "a floor plan at 1:100".into(),
        },
        PermitsInstruction::ProvideInformation {
            application: 1,
            form: Some(Hash32::sha256(b"content 2")),
            documents: vec![Hash32::sha256(b"plan 2")],
        },
        PermitsInstruction::Decide {
            application: 1,
            step: "decision".into(),
            approve: true,
            scope: "Café, 40 m², at 12 Market Street".into(),
            reason: "inspection passed".into(),
        },
        PermitsInstruction::Withdraw { application: 1 },
        PermitsInstruction::Appeal {
            application: 1,
            grounds: Hash32::sha256(b"grounds"),
        },
        PermitsInstruction::DecideAppeal {
            application: 1,
            upheld: false,
            scope: String::new(),
            reason: "the refusal stands".into(),
        },
        PermitsInstruction::Amend {
            licence: 1,
            scope: "Café, 60 m²".into(),
            reason: "extension approved".into(),
        },
        PermitsInstruction::ChangeLicence {
            licence: 1,
            action: LicenceAction::Suspend,
            reason: "hygiene inspection failed".into(),
        },
    ]
}

#[test]
fn instructions_round_trip_and_validate() {
    let operations = every_operation();
    assert_eq!(
        operations.len(),
        <PermitsInstruction as civitas_primitives::kit::Tagged>::VARIANTS.len()
    );
    for op in operations {
        op.validate().unwrap_or_else(|e| panic!("{op:?}: {e}"));
        let bytes = to_vec(&op);
        assert_eq!(bytes.len(), commonware_codec::EncodeSize::encode_size(&op));
        assert_eq!(decode_tagged::<PermitsInstruction>(&bytes), Ok(op.clone()));
        let json = serde_json::to_string(&op).unwrap();
        assert_eq!(
            serde_json::from_str::<PermitsInstruction>(&json).unwrap(),
            op
        );
    }
}

#[test]
fn bad_definitions_are_refused_with_the_field_named() {
    type Change = Box<dyn Fn(&mut PermitTypeDef)>;
    let cases: Vec<(&str, Change)> = vec![
        ("steps", Box::new(|d| d.steps.clear())),
        (
            "steps.name",
            Box::new(|d| d.steps[1].name = "completeness".into()),
        ),
        (
            "steps.role",
            Box::new(|d| d.steps[0].role = "Clerk!".into()),
        ),
        (
            "steps.deadline_secs",
            Box::new(|d| d.steps[0].deadline_secs = 5),
        ),
        (
            "steps.on_overdue",
            Box::new(|d| d.steps[0].deadline_secs = 0),
        ),
        (
            "steps.on_overdue",
            Box::new(|d| d.steps[1].on_overdue = OnOverdue::Approve),
        ),
        (
            "fields.name",
            Box::new(|d| d.fields[1].name = "trade".into()),
        ),
        (
            "fields.kind.choices",
            Box::new(|d| {
                d.fields[0].kind = FieldKind::Choice {
                    choices: Vec::new(),
                }
            }),
        ),
        (
            "fields.kind.min",
            Box::new(|d| d.fields[1].kind = FieldKind::Number { min: 5, max: 1 }),
        ),
        (
            "fields.kind.max_bytes",
            Box::new(|d| d.fields[3].kind = FieldKind::Text { max_bytes: 0 }),
        ),
        (
            "records",
            Box::new(|d| d.records = vec!["Birth Certificate".into()]),
        ),
        ("fee", Box::new(|d| d.fee.as_mut().unwrap().amount = 0)),
        (
            "validity_secs",
            Box::new(|d| d.validity_secs = DURATION_MAX_SECS + 1),
        ),
        ("renewal_window_secs", Box::new(|d| d.validity_secs = 0)),
        ("appeal_secs", Box::new(|d| d.appeal_secs = 0)),
        (
            "supervisor_role",
            Box::new(|d| d.supervisor_role = String::new()),
        ),
        ("title", Box::new(|d| d.title = " ".into())),
    ];
    for (field, change) in cases {
        let mut definition = business_licence();
        change(&mut definition);
        match definition.validate() {
            Err(DecodeError::Invalid { field: named, .. }) => assert_eq!(named, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    // A refusal has no scope; a grant has one.
    let refusal = PermitsInstruction::Decide {
        application: 1,
        step: "decision".into(),
        approve: false,
        scope: "Café".into(),
        reason: "no".into(),
    };
    assert!(refusal.validate().is_err());
    let grant = PermitsInstruction::Decide {
        application: 1,
        step: "decision".into(),
        approve: true,
        scope: String::new(),
        reason: "yes".into(),
    };
    assert!(grant.validate().is_err());
}

#[test]
fn public_text_covers_what_a_person_could_type() {
    let op = define();
    let texts: Vec<&str> = op.public_text().iter().map(|t| t.text).collect();
    for expected in [
        "Business licence",
        "Inspection of the premises",
        "Floor area in square metres",
        "food",
        "Floor plan of the premises",
        "Appeal to the city's licensing board within 30 days of the decision",
    ] {
        assert!(
            texts.contains(&expected),
            "{expected} is not checked: {texts:?}"
        );
    }
}

proptest! {
    /// No input makes the decoder panic, and what decodes encodes back to the same bytes.
    #[test]
    fn decoding_is_total_and_canonical(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        if let Ok(op) = decode_tagged::<PermitsInstruction>(&bytes) {
            prop_assert_eq!(to_vec(&op), bytes.clone());
        }
        if let Ok(event) = decode_tagged::<PermitsEvent>(&bytes) {
            prop_assert_eq!(to_vec(&event), bytes);
        }
    }

    /// A definition with its parts changed round-trips through bytes and JSON.
    #[test]
    fn definitions_round_trip(deadline in 60u64..DURATION_MAX_SECS, fee in proptest::option::of(1u64..1_000_000)) {
        let mut definition = business_licence();
        definition.steps[1].deadline_secs = deadline;
        definition.fee = fee.map(|f| Money::new(f, Currency::parse("EUR").unwrap()));
        let op = PermitsInstruction::DefineType { permit_type: "x".into(), definition };
        let bytes = to_vec(&op);
        prop_assert_eq!(decode_tagged::<PermitsInstruction>(&bytes), Ok(op.clone()));
        let json = serde_json::to_string(&op).unwrap();
        prop_assert_eq!(serde_json::from_str::<PermitsInstruction>(&json).unwrap(), op);
    }
}
