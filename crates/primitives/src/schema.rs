//! OpenAPI schemas of the primitives, as their JSON is written: keys, signatures, account ids
//! and digests as hex (written in lowercase, read in either case), currencies as ISO 4217
//! codes, time as milliseconds.
//!
//! Every type of a module's vocabulary derives [`utoipa::ToSchema`]; these are the leaves it
//! is built from.

use crate::crypto::{AccountId, PublicKey, Signature};
use crate::hash::Hash32;
use crate::money::Currency;
use crate::time::TimestampMs;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::{PartialSchema, ToSchema};

/// A string of `bytes` bytes in hex (the node writes lowercase and reads either case).
fn hex(bytes: usize, description: &str, example: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(format!("^[0-9a-fA-F]{{{}}}$", bytes * 2)))
        .description(Some(description))
        .examples([serde_json::Value::String(example.to_string())])
        .into()
}

macro_rules! hex_schema {
    ($ty:ty, $name:literal, $bytes:expr, $description:expr, $example:expr) => {
        impl PartialSchema for $ty {
            fn schema() -> RefOr<Schema> {
                hex($bytes, $description, $example)
            }
        }
        impl ToSchema for $ty {
            fn name() -> std::borrow::Cow<'static, str> {
                $name.into()
            }
        }
    };
}

hex_schema!(
    Hash32,
    "Hash",
    32,
    "A SHA-256 digest, 64 hex digits.",
    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
);
hex_schema!(
    PublicKey,
    "PublicKey",
    32,
    "An Ed25519 public key, 64 hex digits.",
    "3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29"
);
hex_schema!(
    AccountId,
    "AccountId",
    32,
    "An account: the Ed25519 public key it was created with, 64 hex digits. It stays the \
     same when the account's key is rotated.",
    "3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29"
);
hex_schema!(
    crate::seal::EncryptionKey,
    "EncryptionKey",
    32,
    "An X25519 public key that personal data and sealed bids are encrypted to (HPKE, RFC \
     9180), 64 hex digits.",
    "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
);
hex_schema!(
    Signature,
    "Signature",
    64,
    "An Ed25519 signature, 128 hex digits.",
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
);

impl PartialSchema for Currency {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some("^[A-Z]{3}$"))
            .description(Some("An ISO 4217 currency code."))
            .examples([serde_json::Value::String("EUR".into())])
            .into()
    }
}
impl ToSchema for Currency {}

impl PartialSchema for TimestampMs {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
            .minimum(Some(0))
            .description(Some(
                "A point in time: milliseconds since 1970-01-01T00:00:00Z (ledger time is the \
                 timestamp of the block).",
            ))
            .examples([serde_json::Value::from(1_790_000_000_000u64)])
            .into()
    }
}
impl ToSchema for TimestampMs {}

/// Adds `T`'s schema to `schemas` under its name, with every schema it refers to: how a type
/// assembled from the modules' (the ledger's `Instruction` and `Event`) lists their parts.
pub fn register<T: ToSchema>(schemas: &mut Vec<(String, RefOr<Schema>)>) {
    schemas.push((T::name().into(), T::schema()));
    T::schemas(schemas);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The examples of the hex schemas are what the types print, and parse back.
    #[test]
    fn hex_examples_parse() {
        let example = |schema: RefOr<Schema>| -> String {
            let json = serde_json::to_value(schema).expect("schema to JSON");
            json["examples"][0]
                .as_str()
                .expect("an example")
                .to_string()
        };
        let hash: Hash32 = example(Hash32::schema()).parse().expect("hash");
        assert_eq!(hash.to_hex(), example(Hash32::schema()));
        example(PublicKey::schema())
            .parse::<PublicKey>()
            .expect("key");
        example(crate::seal::EncryptionKey::schema())
            .parse::<crate::seal::EncryptionKey>()
            .expect("encryption key");
        example(AccountId::schema())
            .parse::<AccountId>()
            .expect("account");
        example(Signature::schema())
            .parse::<Signature>()
            .expect("signature");
        Currency::parse(&example(Currency::schema())).expect("currency");
    }
}
