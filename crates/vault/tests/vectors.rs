//! The published test vectors of `docs/PERSONAL-DATA.md` (`docs/personal-data-vectors.json`):
//! a record sealed with a given key, salt and nonce gives the published ciphertext and
//! commitment, and the published HPKE wrap opens with the published secret to the published
//! plaintext. Regenerate with `cargo test -p civitas-vault --test vectors -- --ignored` only
//! when the format changes (and say so in the document).

use civitas_core::crypto::AccountId;
use civitas_core::seal::{self, DecryptionKey};
use civitas_vault::envelope::{
    DataKey, Label, RecordId, WRAP_INFO, open_record, seal_with, subject_salt, subject_tag, unwrap,
    wrap,
};
use serde_json::{Value, json};

fn path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/personal-data-vectors.json")
}

fn bytes<const N: usize>(value: &Value) -> [u8; N] {
    hex::decode(value.as_str().expect("hex"))
        .expect("hex")
        .try_into()
        .expect("length")
}

#[test]
fn the_published_vectors_hold() {
    let text = std::fs::read_to_string(path()).expect("docs/personal-data-vectors.json");
    let vectors: Value = serde_json::from_str(&text).expect("JSON");
    let record = &vectors["record"];
    let schema = record["schema"].as_str().unwrap();
    let label = Label {
        id: RecordId(bytes::<32>(&record["id"])),
        version: record["version"].as_u64().unwrap() as u32,
        subject: AccountId(bytes::<32>(&record["subject"])),
        schema,
    };
    let key = DataKey::from_bytes(bytes::<32>(&record["data_key"]));
    let body = record["body"].as_str().unwrap().as_bytes();
    let sealed = seal_with(
        &label,
        body,
        &key,
        &bytes::<32>(&record["salt"]),
        bytes::<12>(&record["nonce"]),
    )
    .unwrap();
    assert_eq!(
        hex::encode(&sealed.ciphertext),
        record["ciphertext"].as_str().unwrap()
    );
    assert_eq!(
        sealed.commitment.to_hex(),
        record["commitment"].as_str().unwrap()
    );
    assert_eq!(
        &open_record(&label, &sealed, &key, &sealed.commitment).unwrap()[..],
        body
    );
    let salt = bytes::<32>(&record["salt"]);
    assert_eq!(
        subject_salt(&salt).to_hex(),
        record["subject_salt"].as_str().unwrap()
    );
    assert_eq!(
        subject_tag(&label, &salt).to_hex(),
        record["subject_tag"].as_str().unwrap()
    );

    let wrap = &vectors["wrap"];
    let secret = DecryptionKey::from_hex(wrap["recipient_secret"].as_str().unwrap()).unwrap();
    assert_eq!(
        secret.public().to_hex(),
        wrap["recipient_public"].as_str().unwrap()
    );
    assert_eq!(wrap["info"].as_str().unwrap().as_bytes(), WRAP_INFO);
    let aad = hex::decode(wrap["aad"].as_str().unwrap()).unwrap();
    let sealed = hex::decode(wrap["sealed"].as_str().unwrap()).unwrap();
    let opened = seal::open(&secret, WRAP_INFO, &aad, &sealed).unwrap();
    assert_eq!(hex::encode(opened), wrap["plaintext"].as_str().unwrap());
    // The record's data key, wrapped as the vault wraps it, under the record's label.
    let again = unwrap(&label, &sealed, &secret).unwrap();
    assert_eq!(again.as_bytes(), key.as_bytes());
}

#[test]
#[ignore = "writes docs/personal-data-vectors.json; run by hand when the format changes"]
fn write_the_vectors() {
    let label = Label {
        id: RecordId([0x42; 32]),
        version: 1,
        subject: AccountId([0x5a; 32]),
        schema: "birth-certificate/v1",
    };
    let key = DataKey::from_bytes([0x11; 32]);
    let salt = [0x22; 32];
    let nonce = [0x33; 12];
    let body = r#"{"name":"Ada Example","born":"1990-04-01","place":"Example City"}"#;
    let sealed = seal_with(&label, body.as_bytes(), &key, &salt, nonce).unwrap();
    let recipient = DecryptionKey::from_test_seed(2026);
    let mut aad = label.id.0.to_vec();
    aad.extend_from_slice(&label.version.to_be_bytes());
    let wrapped = wrap(&label, &key, &recipient.public()).unwrap();
    let vectors = json!({
        "about": "Test vectors of docs/PERSONAL-DATA.md. record: AES-256-GCM under data_key with nonce, plaintext = salt || body, ciphertext = GCM output with its 16-byte tag appended, aad = 'civitas/vault/record/v1' || id || version (u32 BE) || subject || len(schema) (u8) || schema; commitment = SHA-256(0x1b || 'civitas/vault/commitment/v1' || salt || id || version (u32 BE) || subject || len(schema) (u8) || schema || body). Schema and body as UTF-8 bytes. subject_salt = SHA-256(0x1d || 'civitas/vault/subject-salt/v1' || salt); subject_tag (the ledger's) = SHA-256(0x1a || 'civitas/sharing/subject/v1' || id || subject_salt || subject). wrap: HPKE base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM; sealed = encapsulated key (32 bytes) || ciphertext with tag; here the data key above wrapped with aad = id || version (u32 BE).",
        "record": {
            "data_key": hex::encode(key.as_bytes()),
            "salt": hex::encode(salt),
            "nonce": hex::encode(nonce),
            "id": label.id.to_hex(),
            "version": label.version,
            "subject": hex::encode(label.subject.0),
            "schema": label.schema,
            "body": body,
            "ciphertext": hex::encode(&sealed.ciphertext),
            "commitment": sealed.commitment.to_hex(),
            "subject_salt": subject_salt(&salt).to_hex(),
            "subject_tag": subject_tag(&label, &salt).to_hex(),
        },
        "wrap": {
            "recipient_secret": recipient.to_hex().as_str(),
            "recipient_public": recipient.public().to_hex(),
            "info": std::str::from_utf8(WRAP_INFO).unwrap(),
            "aad": hex::encode(&aad),
            "sealed": hex::encode(&wrapped),
            "plaintext": hex::encode(key.as_bytes()),
        },
    });
    std::fs::write(
        path(),
        serde_json::to_string_pretty(&vectors).unwrap() + "\n",
    )
    .unwrap();
}
