//! The served OpenAPI document is complete and consistent: every route is declared (routes are
//! registered only with their declaration), every reference resolves, every path parameter is
//! declared, the ledger's types are described, and the schemas accept what the node writes
//! (checked with an independent JSON Schema validator, not with the generator).

use serde_json::{Value, json};
use std::collections::BTreeSet;
use utoipa::ToSchema;

fn document() -> Value {
    civitas_api::openapi()
}

fn refs(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                if key == "$ref" {
                    out.insert(item.as_str().expect("a $ref is a string").to_string());
                }
                refs(item, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| refs(item, out)),
        _ => {}
    }
}

#[test]
fn descriptions_carry_no_rustdoc_links() {
    let text = document().to_string();
    assert!(
        !text.contains("[`"),
        "a rustdoc link is left in a description"
    );
}

#[test]
fn every_reference_resolves() {
    let document = document();
    let schemas = document["components"]["schemas"]
        .as_object()
        .expect("components");
    let mut found = BTreeSet::new();
    refs(&document, &mut found);
    assert!(found.len() > 20, "only {} references", found.len());
    for reference in found {
        let name = reference
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("{reference} points outside the components"));
        assert!(
            schemas.contains_key(name),
            "{reference} is used but not described"
        );
    }
}

#[test]
fn every_path_parameter_is_declared() {
    let document = document();
    for (path, item) in document["paths"].as_object().expect("paths") {
        assert!(
            !path.contains("{*"),
            "{path}: a catch-all left in axum's syntax"
        );
        let named: BTreeSet<&str> = path
            .split('{')
            .skip(1)
            .map(|rest| rest.split('}').next().unwrap_or(""))
            .collect();
        for (method, operation) in item.as_object().expect("a path item") {
            let declared: BTreeSet<&str> = operation["parameters"]
                .as_array()
                .map(|parameters| {
                    parameters
                        .iter()
                        .filter(|p| p["in"] == "path")
                        .filter_map(|p| p["name"].as_str())
                        .collect()
                })
                .unwrap_or_default();
            assert_eq!(declared, named, "{method} {path}: path parameters");
            assert!(
                operation["summary"].as_str().is_some_and(|s| !s.is_empty()),
                "{method} {path} has no summary"
            );
            assert!(
                operation["operationId"].is_string(),
                "{method} {path} has no operationId"
            );
        }
    }
}

/// The Rust files of the API's own routes (`src/`, not the portal's pages in `src/portal/`)
/// and of every module package's sources (`modules/<name>/src/`, but for its portal pages,
/// `portal.rs`).
fn route_sources() -> Vec<std::path::PathBuf> {
    let api = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut dirs = vec![api.join("src")];
    let modules = api.join("../../modules");
    for entry in std::fs::read_dir(&modules).expect("the modules folder") {
        dirs.push(entry.expect("an entry").path().join("src"));
    }
    let mut files = Vec::new();
    for dir in dirs {
        for entry in std::fs::read_dir(&dir).expect("a source folder") {
            let path = entry.expect("an entry").path();
            if path.file_name().is_some_and(|name| name != "portal.rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Routes are registered only through `routes!`, which declares them in the document: no
/// `.route(` in the API's sources or the modules' (the portal's pages, in `src/portal/`, are
/// not the API), and as many registrations as operations in the document.
#[test]
fn every_route_is_in_the_document() {
    let mut registrations = 0;
    for path in route_sources() {
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("a source file");
        // Unit tests build routers of their own.
        let text = text.split("#[cfg(test)]").next().unwrap_or_default();
        assert!(
            [".route(", ".route_service(", ".nest(", ".nest_service("]
                .iter()
                .all(|call| !text.contains(call)),
            "{} registers a route without declaring it: use .routes(routes!(handler)) with \
             #[utoipa::path]",
            path.display()
        );
        registrations += text.matches("routes!(").count();
    }
    let document = document();
    let operations: usize = document["paths"]
        .as_object()
        .expect("paths")
        .values()
        .map(|item| item.as_object().map_or(0, |ops| ops.len()))
        .sum();
    assert_eq!(
        registrations, operations,
        "registrations against operations"
    );
}

/// The ledger's vocabulary, as every registered module contributes it, is in the document.
#[test]
fn the_ledger_types_are_described() {
    let document = document();
    let schemas = document["components"]["schemas"]
        .as_object()
        .expect("components");
    let mut expected = Vec::new();
    civitas_core::instruction::Instruction::schemas(&mut expected);
    civitas_core::event::Event::schemas(&mut expected);
    civitas_core::tx::SignedTx::schemas(&mut expected);
    civitas_core::receipt::Receipt::schemas(&mut expected);
    let mut names: BTreeSet<String> = expected.into_iter().map(|(name, _)| name).collect();
    names.extend(
        [
            "Instruction",
            "Event",
            "SignedTx",
            "Receipt",
            "Error",
            "Block",
            "Status",
            "TxStatus",
        ]
        .map(String::from),
    );
    for name in names {
        assert!(schemas.contains_key(&name), "{name} is not described");
    }
    let instruction = document["components"]["schemas"]["Instruction"].to_string();
    for (module, _) in civitas_core::instruction::Instruction::tags() {
        assert!(
            instruction.contains(&format!("\"enum\":[\"{module}\"]")),
            "module {module} is not in the Instruction schema"
        );
    }
}

/// A validator for the component `name`, resolving references within the document.
fn validator(document: &Value, name: &str) -> jsonschema::Validator {
    let schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": format!("#/components/schemas/{name}"),
        "components": document["components"],
    });
    jsonschema::draft202012::new(&schema).expect("a valid JSON Schema")
}

fn assert_valid(validator: &jsonschema::Validator, instance: &Value) {
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{instance}\n{}", errors.join("\n"));
}

/// The schemas accept what the node writes, and refuse what the node would refuse.
#[test]
fn the_schemas_accept_what_the_node_writes() {
    use civitas_core::crypto::PrivateKey;
    use civitas_core::hash::Hash32;
    use civitas_core::instruction::{Instruction, NotaryInstruction};
    use civitas_core::receipt::{FailureArg, Receipt, TxOutcome};
    use civitas_core::time::TimestampMs;
    use civitas_core::tx::{SignedTx, TxBody};

    let document = document();
    let key = PrivateKey::generate().expect("a key");
    let body = TxBody {
        chain_id: "civitas-test".into(),
        signer: key.public_key().account_id(),
        nonce: 3,
        expiry: TimestampMs(1_790_000_000_000),
        instructions: vec![Instruction::Notary(NotaryInstruction::Anchor {
            document: Hash32::sha256(b"a document"),
            title: "Council minutes".into(),
            metadata: vec![],
        })],
        memo: String::new(),
    };
    let tx = SignedTx {
        signatures: vec![body.sign(&key)],
        body,
    };
    let signed = validator(&document, "SignedTx");
    assert_valid(&signed, &serde_json::to_value(&tx).expect("json"));

    let mut wrong = serde_json::to_value(&tx).expect("json");
    wrong["body"]["instructions"][0]["op"] = json!("no_such_operation");
    assert!(
        !signed.is_valid(&wrong),
        "an unknown operation must not validate"
    );
    let mut wrong = serde_json::to_value(&tx).expect("json");
    wrong["body"]["instructions"][0]["module"] = json!("treasury");
    assert!(
        !signed.is_valid(&wrong),
        "an operation of another module must not validate"
    );
    let mut wrong = serde_json::to_value(&tx).expect("json");
    wrong["body"]["signer"] = json!("not hex");
    assert!(
        !signed.is_valid(&wrong),
        "a signer that is not hex must not validate"
    );

    let receipts = validator(&document, "Receipt");
    for outcome in [
        TxOutcome::Success,
        TxOutcome::Failed {
            instruction: 0,
            code: "already_anchored".into(),
            args: vec![FailureArg {
                name: "document".into(),
                value: Hash32::sha256(b"a document").to_hex(),
            }],
        },
    ] {
        let receipt = Receipt {
            tx: tx.hash(),
            height: 7,
            index: 0,
            timestamp: TimestampMs(1_790_000_000_000),
            signer: tx.body.signer,
            nonce: 3,
            events: match outcome {
                TxOutcome::Success => vec![civitas_core::event::Event::Notary(
                    civitas_core::notary::NotaryEvent::DocumentAnchored {
                        document: Hash32::sha256(b"a document"),
                        issuer: tx.body.signer,
                        agency: "finance".into(),
                        title: "Council minutes".into(),
                    },
                )],
                TxOutcome::Failed { .. } => vec![],
            },
            outcome,
        };
        assert_valid(&receipts, &serde_json::to_value(&receipt).expect("json"));
    }
}

/// The document's examples are the devnet's sample transactions: one for every operation the
/// samples sign, each valid against the schemas the document declares, each an instruction
/// the node accepts, and the signed one correctly signed.
#[test]
fn the_examples_are_the_samples_and_valid() {
    use civitas_core::instruction::Instruction;
    use civitas_core::tx::SignedTx;

    let document = document();
    let names: BTreeSet<String> = civitas_modules::examples::sample_transactions()
        .expect("the samples run without a network")
        .iter()
        .map(|r| r.instruction.name().to_string())
        .collect();
    let instruction = validator(&document, "Instruction");
    let listed = document["components"]["schemas"]["Instruction"]["examples"]
        .as_array()
        .expect("the Instruction schema has examples");
    assert_eq!(
        listed.len(),
        names.len(),
        "one example per sampled operation"
    );
    for example in listed {
        assert_valid(&instruction, example);
    }

    let prepare = &document["paths"]["/v1/transactions/prepare"]["post"]["requestBody"]["content"]
        ["application/json"]["examples"];
    let prepare = prepare.as_object().expect("prepare has examples");
    assert_eq!(
        prepare.keys().cloned().collect::<BTreeSet<_>>(),
        names,
        "an example of prepare for every sampled operation, named by it"
    );
    for (name, example) in prepare {
        let value = &example["value"];
        let parsed: Instruction = serde_json::from_value(value["instructions"][0].clone())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(parsed.name(), name.as_str());
        parsed
            .validate()
            .unwrap_or_else(|e| panic!("{name} breaks a bound: {e}"));
        assert_eq!(value["signer"].as_str().map(str::len), Some(64), "{name}");
    }

    let submit = &document["paths"]["/v1/transactions"]["post"]["requestBody"]["content"]["application/json"]
        ["examples"];
    let signed: SignedTx =
        serde_json::from_value(submit["json"]["value"].clone()).expect("a JSON transaction");
    signed.verify_stateless().expect("signed by its signer");
    assert_valid(&validator(&document, "SignedTx"), &submit["json"]["value"]);
    let hex = submit["hex"]["value"]["transaction"].as_str().expect("hex");
    let decoded = SignedTx::decode(&hex::decode(hex).expect("hex")).expect("canonical");
    assert_eq!(
        decoded, signed,
        "the hex example is the JSON one's encoding"
    );
}

/// Every answer and request body the document declares has a described shape: a reference to
/// a component, or a schema with properties, items or alternatives, never a bare `object`
/// that tells a client nothing.
#[test]
fn every_body_has_a_described_shape() {
    let document = document();
    let described = |schema: &Value| -> bool {
        schema.get("$ref").is_some()
            || schema.get("properties").is_some()
            || schema.get("items").is_some()
            || schema.get("oneOf").is_some()
            || schema.get("allOf").is_some()
            || schema.get("anyOf").is_some()
            || schema
                .get("type")
                .and_then(Value::as_str)
                .is_some_and(|t| t != "object")
    };
    let mut bare = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("a path item") {
            let mut bodies: Vec<(String, &Value)> = Vec::new();
            if let Some(content) = operation["requestBody"]["content"].as_object() {
                for (media, body) in content {
                    bodies.push((format!("request {media}"), &body["schema"]));
                }
            }
            for (status, response) in operation["responses"].as_object().expect("responses") {
                if let Some(content) = response["content"].as_object() {
                    for (media, body) in content {
                        bodies.push((format!("{status} {media}"), &body["schema"]));
                    }
                }
            }
            for (what, schema) in bodies {
                if !described(schema) {
                    bare.push(format!("{method} {path}: {what}: {schema}"));
                }
            }
        }
    }
    assert!(
        bare.is_empty(),
        "bodies without a shape:\n{}",
        bare.join("\n")
    );
}
