//! The genesis document: the agencies that found the network and the trust anchor of every
//! proof.
//!
//! `genesis.json` is what operators exchange and read. Its hash is taken over a canonical binary
//! encoding (not the JSON text), so reformatting the file does not change the chain.

use crate::codec::{
    DecodeError, check_ident, check_text, read_list, read_str, str_size, write_str,
};
use crate::crypto::PublicKey;
use crate::hash::{Hash32, tag};
use crate::limits::*;
use crate::time::TimestampMs;
use bytes::BufMut;
use commonware_codec::Buf;
use commonware_codec::{Encode, EncodeSize, Read, ReadExt, Write};
use serde::{Deserialize, Serialize};

/// Version of the genesis format of a chain that starts at protocol version 1 (its encoding does
/// not name the protocol, as before protocol versions existed).
pub const GENESIS_VERSION: u16 = 3;
/// Version of the genesis format of a chain that starts at protocol version 2 or later: format 3
/// followed by `be16 protocol`. Each starting protocol has one format, so one genesis has one
/// encoding and one hash.
pub const GENESIS_VERSION_WITH_PROTOCOL: u16 = 4;

/// The genesis format for a chain that starts at protocol version `protocol`.
pub const fn genesis_version(protocol: u16) -> u16 {
    if protocol <= 1 {
        GENESIS_VERSION
    } else {
        GENESIS_VERSION_WITH_PROTOCOL
    }
}

fn first_protocol() -> u16 {
    1
}

fn is_first_protocol(protocol: &u16) -> bool {
    *protocol == 1
}
/// Blocks per consensus epoch unless genesis says otherwise.
pub const DEFAULT_EPOCH_LENGTH: u64 = 1_000;
/// Fewest blocks per epoch.
pub const EPOCH_LENGTH_MIN: u64 = 10;

/// One founding agency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GenesisAgency {
    /// Short identifier, such as `finance`.
    pub id: String,
    /// Full name, such as `Ministry of Finance`.
    pub name: String,
    /// The key its validator signs consensus messages with.
    pub validator_key: PublicKey,
    /// Keys of the agency's administrators (each becomes an official with role `admin`).
    pub admin_keys: Vec<PublicKey>,
    /// Where its validator listens for peers (`host:port`).
    pub p2p_address: String,
}

/// Who may do what from the first block: a Cedar schema and policy set.
///
/// The texts are checked by the node (`civitas-modules`), which knows Cedar; here they are only
/// bounded. Policies change later through governance; the schema is the contract between the
/// policies and the records the ledger hands them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GenesisAuthorization {
    /// The Cedar schema, in Cedar's schema syntax.
    pub schema: String,
    /// The policies, in Cedar's policy syntax; each carries an `@id("...")` annotation.
    pub policies: String,
}

/// The genesis document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Genesis {
    /// Format version.
    pub version: u16,
    /// Human-readable chain identifier; transactions name it.
    pub chain_id: String,
    /// Ledger time of the genesis block.
    pub genesis_time: TimestampMs,
    /// The founding agencies, in the order given.
    pub agencies: Vec<GenesisAgency>,
    /// Blocks per consensus epoch. Validator-set changes take effect at the first block of the
    /// next epoch: epoch `e` holds heights `e * epoch_length .. (e + 1) * epoch_length`.
    pub epoch_length: u64,
    /// How many agencies must approve a governance proposal.
    pub governance_threshold: u32,
    /// The authorization schema and the policies in force from the first block.
    pub authorization: GenesisAuthorization,
    /// The protocol version of the first block (`civitas_core::protocol`): 1 unless the
    /// document says otherwise (format 4). Later versions activate through governance.
    #[serde(default = "first_protocol", skip_serializing_if = "is_first_protocol")]
    pub protocol: u16,
}

impl Genesis {
    /// Parses and validates `genesis.json`.
    pub fn from_json(text: &str) -> Result<Self, DecodeError> {
        let genesis: Self = serde_json::from_str(text).map_err(|e| DecodeError::Invalid {
            field: "genesis.json",
            reason: e.to_string(),
        })?;
        genesis.validate()?;
        Ok(genesis)
    }

    /// Pretty JSON for writing `genesis.json`.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("genesis always serialises")
    }

    /// Checks the document's rules.
    pub fn validate(&self) -> Result<(), DecodeError> {
        let invalid = |field, reason: String| Err(DecodeError::Invalid { field, reason });
        if self.protocol == 0 {
            return invalid("protocol", "protocol versions start at 1".into());
        }
        if self.version != genesis_version(self.protocol) {
            return invalid(
                "version",
                format!(
                    "must be {GENESIS_VERSION} for a chain that starts at protocol 1, and \
                     {GENESIS_VERSION_WITH_PROTOCOL} with a starting protocol of 2 or later; \
                     this genesis has version {} and protocol {}",
                    self.version, self.protocol
                ),
            );
        }
        check_ident("chain_id", &self.chain_id, CHAIN_ID_MAX_BYTES)?;
        if self.agencies.is_empty() || self.agencies.len() > AGENCIES_MAX {
            return invalid(
                "agencies",
                format!("must list 1 to {AGENCIES_MAX} agencies"),
            );
        }
        for (i, agency) in self.agencies.iter().enumerate() {
            check_ident("agency id", &agency.id, AGENCY_ID_MAX_BYTES)?;
            check_text("agency name", &agency.name, NAME_MAX_BYTES)?;
            check_text("p2p_address", &agency.p2p_address, ADDRESS_MAX_BYTES)?;
            if agency.admin_keys.is_empty() || agency.admin_keys.len() > AGENCY_ADMIN_KEYS_MAX {
                return invalid(
                    "admin_keys",
                    format!(
                        "agency {} must list 1 to {AGENCY_ADMIN_KEYS_MAX} admin keys",
                        agency.id
                    ),
                );
            }
            for earlier in &self.agencies[..i] {
                if earlier.id == agency.id {
                    return invalid("agencies", format!("agency id {} appears twice", agency.id));
                }
                if earlier.validator_key == agency.validator_key {
                    return invalid(
                        "validator_key",
                        format!(
                            "agencies {} and {} share a validator key",
                            earlier.id, agency.id
                        ),
                    );
                }
            }
        }
        if self.epoch_length < EPOCH_LENGTH_MIN {
            return invalid(
                "epoch_length",
                format!("must be at least {EPOCH_LENGTH_MIN} blocks"),
            );
        }
        if self.governance_threshold == 0
            || self.governance_threshold as usize > self.agencies.len()
        {
            return invalid(
                "governance_threshold",
                format!(
                    "must be between 1 and the number of agencies ({})",
                    self.agencies.len()
                ),
            );
        }
        if self.authorization.schema.trim().is_empty()
            || self.authorization.schema.len() > AUTHZ_SCHEMA_MAX_BYTES
        {
            return invalid(
                "authorization.schema",
                format!("must be 1 to {AUTHZ_SCHEMA_MAX_BYTES} bytes of Cedar schema"),
            );
        }
        if self.authorization.policies.len() > POLICY_SET_MAX_BYTES {
            return invalid(
                "authorization.policies",
                format!("must be at most {POLICY_SET_MAX_BYTES} bytes of Cedar policies"),
            );
        }
        let mut admins: Vec<&PublicKey> = self
            .agencies
            .iter()
            .flat_map(|a| a.admin_keys.iter())
            .collect();
        let total = admins.len();
        admins.sort();
        admins.dedup();
        if admins.len() != total {
            return invalid("admin_keys", "an admin key is listed twice".into());
        }
        Ok(())
    }

    /// The hash every proof bundle names as its trust anchor.
    pub fn hash(&self) -> Hash32 {
        Hash32::tagged(tag::GENESIS, &[&self.encode()])
    }

    /// Validator keys sorted by their bytes: the order consensus uses for signer indices.
    pub fn validators(&self) -> Vec<PublicKey> {
        let mut keys: Vec<PublicKey> = self
            .agencies
            .iter()
            .map(|a| a.validator_key.clone())
            .collect();
        keys.sort();
        keys
    }

    /// The agency whose validator key is `key`.
    pub fn agency_of_validator(&self, key: &PublicKey) -> Option<&GenesisAgency> {
        self.agencies.iter().find(|a| &a.validator_key == key)
    }

    /// Digest of the genesis validator set.
    pub fn validator_set_digest(&self) -> Hash32 {
        validator_set_digest(&self.validators())
    }

    /// The epoch that holds `height`.
    pub fn epoch_of(&self, height: u64) -> u64 {
        height / self.epoch_length
    }

    /// The last height of `epoch`: the block whose finalization hands over to the next epoch.
    pub fn last_height_of(&self, epoch: u64) -> u64 {
        epoch
            .saturating_add(1)
            .saturating_mul(self.epoch_length)
            .saturating_sub(1)
    }

    /// The default approval threshold for `agencies` agencies: more than two thirds.
    pub fn default_threshold(agencies: usize) -> u32 {
        (agencies * 2 / 3 + 1).min(agencies) as u32
    }

    /// The namespace consensus signs under, unique to this chain.
    pub fn consensus_namespace(&self) -> Vec<u8> {
        consensus_namespace(&self.hash())
    }
}

/// The namespace consensus signs under for the chain with genesis hash `genesis`:
/// `"civitas/consensus/" || genesis` (50 bytes).
pub fn consensus_namespace(genesis: &Hash32) -> Vec<u8> {
    let mut namespace = b"civitas/consensus/".to_vec();
    namespace.extend_from_slice(genesis.as_ref());
    namespace
}

/// `H("civitas/validator-set", be32(count), keys in ascending byte order)`.
pub fn validator_set_digest(sorted_keys: &[PublicKey]) -> Hash32 {
    let count = (sorted_keys.len() as u32).to_be_bytes();
    let key_bytes: Vec<[u8; 32]> = sorted_keys.iter().map(PublicKey::to_bytes).collect();
    let mut parts: Vec<&[u8]> = vec![&count];
    for key in &key_bytes {
        parts.push(key);
    }
    Hash32::tagged(tag::VALIDATOR_SET, &parts)
}

impl Write for GenesisAgency {
    fn write(&self, buf: &mut impl BufMut) {
        write_str(&self.id, buf);
        write_str(&self.name, buf);
        self.validator_key.write(buf);
        self.admin_keys.write(buf);
        write_str(&self.p2p_address, buf);
    }
}

impl EncodeSize for GenesisAgency {
    fn encode_size(&self) -> usize {
        str_size(&self.id)
            + str_size(&self.name)
            + 32
            + self.admin_keys.encode_size()
            + str_size(&self.p2p_address)
    }
}

impl Read for GenesisAgency {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, commonware_codec::Error> {
        Ok(Self {
            id: read_str(buf, AGENCY_ID_MAX_BYTES)?,
            name: read_str(buf, NAME_MAX_BYTES)?,
            validator_key: PublicKey::read(buf)?,
            admin_keys: read_list(buf, AGENCY_ADMIN_KEYS_MAX, &())?,
            p2p_address: read_str(buf, ADDRESS_MAX_BYTES)?,
        })
    }
}

impl Write for Genesis {
    fn write(&self, buf: &mut impl BufMut) {
        self.version.write(buf);
        write_str(&self.chain_id, buf);
        self.genesis_time.0.write(buf);
        self.agencies.write(buf);
        self.epoch_length.write(buf);
        self.governance_threshold.write(buf);
        write_str(&self.authorization.schema, buf);
        write_str(&self.authorization.policies, buf);
        if self.version == GENESIS_VERSION_WITH_PROTOCOL {
            self.protocol.write(buf);
        }
    }
}

impl EncodeSize for Genesis {
    fn encode_size(&self) -> usize {
        2 + str_size(&self.chain_id)
            + 8
            + self.agencies.encode_size()
            + 8
            + 4
            + str_size(&self.authorization.schema)
            + str_size(&self.authorization.policies)
            + if self.version == GENESIS_VERSION_WITH_PROTOCOL {
                2
            } else {
                0
            }
    }
}

impl Read for Genesis {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, commonware_codec::Error> {
        let version = u16::read(buf)?;
        if version != GENESIS_VERSION && version != GENESIS_VERSION_WITH_PROTOCOL {
            return Err(commonware_codec::Error::Invalid(
                "Genesis",
                "the version is 3 or 4",
            ));
        }
        let mut genesis = Self {
            version,
            chain_id: read_str(buf, CHAIN_ID_MAX_BYTES)?,
            genesis_time: TimestampMs(u64::read(buf)?),
            agencies: read_list(buf, AGENCIES_MAX, &())?,
            epoch_length: u64::read(buf)?,
            governance_threshold: u32::read(buf)?,
            authorization: GenesisAuthorization {
                schema: read_str(buf, AUTHZ_SCHEMA_MAX_BYTES)?,
                policies: read_str(buf, POLICY_SET_MAX_BYTES)?,
            },
            protocol: 1,
        };
        if version == GENESIS_VERSION_WITH_PROTOCOL {
            genesis.protocol = u16::read(buf)?;
            // Protocol 1 has format 3 only: one encoding per genesis.
            if genesis.protocol < 2 {
                return Err(commonware_codec::Error::Invalid(
                    "Genesis",
                    "format 4 names a protocol of 2 or later",
                ));
            }
        }
        Ok(genesis)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::crypto::PrivateKey;

    pub(crate) fn sample(n: u64) -> Genesis {
        Genesis {
            version: GENESIS_VERSION,
            chain_id: "test".into(),
            genesis_time: TimestampMs(1_700_000_000_000),
            agencies: (0..n)
                .map(|i| GenesisAgency {
                    id: format!("agency{i}"),
                    name: format!("Agency {i}"),
                    validator_key: PrivateKey::from_test_seed(i).public_key(),
                    admin_keys: vec![PrivateKey::from_test_seed(100 + i).public_key()],
                    p2p_address: format!("127.0.0.1:{}", 9000 + i),
                })
                .collect(),
            epoch_length: 100,
            governance_threshold: Genesis::default_threshold(n as usize),
            authorization: GenesisAuthorization {
                schema: "entity Account;".into(),
                policies: String::new(),
            },
            protocol: 1,
        }
    }

    #[test]
    fn a_starting_protocol_has_one_format() {
        use commonware_codec::DecodeExt as _;
        // Protocol 1: format 3, which does not name it (every chain's genesis hash so far).
        let first = sample(4);
        assert!(!first.to_json().contains("\"protocol\""));
        let mut second = sample(4);
        second.protocol = 2;
        assert!(
            second.validate().is_err(),
            "format 3 cannot start at protocol 2"
        );
        second.version = genesis_version(2);
        second.validate().unwrap();
        assert_eq!(second.encode().len(), first.encode().len() + 2);
        assert_ne!(second.hash(), first.hash());
        let parsed = Genesis::from_json(&second.to_json()).unwrap();
        assert_eq!((parsed.protocol, parsed.hash()), (2, second.hash()));
        assert_eq!(Genesis::decode(second.encode()).unwrap(), second);
        // Format 4 naming protocol 1 is refused, in JSON and in bytes.
        let mut wrong = second.clone();
        wrong.protocol = 1;
        assert!(wrong.validate().is_err());
        assert!(Genesis::decode(wrong.encode()).is_err());
        let mut zero = first.clone();
        zero.protocol = 0;
        assert!(zero.validate().is_err());
        // Version 5 is no format.
        let mut five = first.encode().to_vec();
        five[..2].copy_from_slice(&5u16.to_be_bytes());
        assert!(Genesis::decode(bytes::Bytes::from(five)).is_err());
        // JSON: version 3 may say protocol 1 (the same genesis); version 4 must name one; a
        // field named twice is refused.
        let text = first.to_json();
        let explicit = text.replacen("\"version\": 3,", "\"version\": 3, \"protocol\": 1,", 1);
        assert_ne!(explicit, text);
        assert_eq!(Genesis::from_json(&explicit).unwrap().hash(), first.hash());
        let unnamed = text.replacen("\"version\": 3,", "\"version\": 4,", 1);
        assert!(Genesis::from_json(&unnamed).is_err());
        let twice = text.replacen("\"version\": 3,", "\"version\": 3, \"version\": 3,", 1);
        assert!(Genesis::from_json(&twice).is_err());
    }

    #[test]
    fn json_round_trip_keeps_hash() {
        let genesis = sample(4);
        genesis.validate().unwrap();
        let parsed = Genesis::from_json(&genesis.to_json()).unwrap();
        assert_eq!(parsed.hash(), genesis.hash());
    }

    #[test]
    fn rejects_duplicates_and_bad_ids() {
        let mut genesis = sample(2);
        genesis.agencies[1].id = genesis.agencies[0].id.clone();
        assert!(genesis.validate().is_err());
        let mut genesis = sample(2);
        genesis.agencies[1].validator_key = genesis.agencies[0].validator_key.clone();
        assert!(genesis.validate().is_err());
        let mut genesis = sample(2);
        genesis.chain_id = "Bad Chain".into();
        assert!(genesis.validate().is_err());
        assert!(Genesis::from_json("{").is_err());
    }
}
