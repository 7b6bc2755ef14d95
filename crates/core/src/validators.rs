//! Validator sets: who validates each epoch, and the hand-over index.
//!
//! A set is the value of `consensus/epoch/<be64 epoch>` and what a proof bundle's hand-over
//! proves. The governance module changes the next epoch's set; the rest of the ledger only
//! reads it.

use crate::codec::{DecodeError, read_list, read_str, str_size, write_str};
use crate::crypto::PublicKey;
use crate::limits::*;
use bytes::BufMut;
use commonware_codec::{Buf, EncodeSize, Read, ReadExt, Write};
use serde::{Deserialize, Serialize};

/// One validator of a set, with who runs it and where to reach it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ValidatorEntry {
    /// Its consensus key.
    pub key: PublicKey,
    /// The agency that runs it.
    pub agency: String,
    /// Where it listens for peers.
    pub p2p_address: String,
}

impl Write for ValidatorEntry {
    fn write(&self, buf: &mut impl BufMut) {
        self.key.write(buf);
        write_str(&self.agency, buf);
        write_str(&self.p2p_address, buf);
    }
}

impl EncodeSize for ValidatorEntry {
    fn encode_size(&self) -> usize {
        self.key.encode_size() + str_size(&self.agency) + str_size(&self.p2p_address)
    }
}

impl Read for ValidatorEntry {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, commonware_codec::Error> {
        Ok(Self {
            key: PublicKey::read(buf)?,
            agency: read_str(buf, AGENCY_ID_MAX_BYTES)?,
            p2p_address: read_str(buf, ADDRESS_MAX_BYTES)?,
        })
    }
}

/// The validators of one epoch, sorted by key: the value of `consensus/epoch/<be64 epoch>`.
///
/// Its encoding is what a proof bundle's hand-over proves: `be32(count)` followed by each
/// entry (`key`, `agency`, `p2p_address`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatorSet {
    /// The validators, in ascending key order.
    pub validators: Vec<ValidatorEntry>,
}

impl ValidatorSet {
    /// The keys, in ascending order (consensus signer order).
    pub fn keys(&self) -> Vec<PublicKey> {
        self.validators.iter().map(|v| v.key.clone()).collect()
    }

    /// Whether `key` is in the set.
    pub fn contains(&self, key: &PublicKey) -> bool {
        self.validators.iter().any(|v| &v.key == key)
    }

    /// Inserts keeping key order; false if the key is already present.
    pub fn insert(&mut self, entry: ValidatorEntry) -> bool {
        match self.validators.binary_search_by(|v| v.key.cmp(&entry.key)) {
            Ok(_) => false,
            Err(at) => {
                self.validators.insert(at, entry);
                true
            }
        }
    }

    /// Removes `key`; false if absent.
    pub fn remove(&mut self, key: &PublicKey) -> bool {
        let before = self.validators.len();
        self.validators.retain(|v| &v.key != key);
        self.validators.len() != before
    }

    /// Checks ordering and bounds of a decoded set.
    pub fn check(&self) -> Result<(), DecodeError> {
        if self.validators.is_empty() || self.validators.len() > VALIDATORS_MAX {
            return Err(DecodeError::Invalid {
                field: "validators",
                reason: format!("a set holds 1 to {VALIDATORS_MAX} validators"),
            });
        }
        if self.validators.windows(2).any(|w| w[0].key >= w[1].key) {
            return Err(DecodeError::Invalid {
                field: "validators",
                reason: "keys must be distinct and in ascending order".into(),
            });
        }
        Ok(())
    }
}

impl Write for ValidatorSet {
    fn write(&self, buf: &mut impl BufMut) {
        (self.validators.len() as u32).write(buf);
        for entry in &self.validators {
            entry.write(buf);
        }
    }
}

impl EncodeSize for ValidatorSet {
    fn encode_size(&self) -> usize {
        4 + self
            .validators
            .iter()
            .map(EncodeSize::encode_size)
            .sum::<usize>()
    }
}

impl Read for ValidatorSet {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, commonware_codec::Error> {
        let count = u32::read(buf)? as usize;
        if count > VALIDATORS_MAX {
            return Err(commonware_codec::Error::Invalid(
                "ValidatorSet",
                "too many validators",
            ));
        }
        let mut validators = Vec::with_capacity(count);
        for _ in 0..count {
            validators.push(ValidatorEntry::read(buf)?);
        }
        let set = Self { validators };
        set.check()
            .map_err(|_| commonware_codec::Error::Invalid("ValidatorSet", "not a valid set"))?;
        Ok(set)
    }
}

/// Reads a list of epochs (the hand-over index).
pub fn read_epochs(buf: &mut impl Buf) -> Result<Vec<u64>, commonware_codec::Error> {
    read_list(buf, HANDOVERS_MAX, &())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{from_slice, to_vec};
    use crate::crypto::PrivateKey;

    fn entry(seed: u64) -> ValidatorEntry {
        ValidatorEntry {
            key: PrivateKey::from_test_seed(seed).public_key(),
            agency: format!("agency{seed}"),
            p2p_address: format!("127.0.0.1:{}", 9000 + seed),
        }
    }

    #[test]
    fn set_stays_sorted_and_round_trips() {
        let mut set = ValidatorSet::default();
        for seed in [5, 1, 3, 2] {
            assert!(set.insert(entry(seed)));
        }
        assert!(!set.insert(entry(3)));
        assert!(set.check().is_ok());
        let bytes = to_vec(&set);
        assert_eq!(from_slice::<ValidatorSet>(&bytes, &()).unwrap(), set);
        assert!(set.remove(&entry(3).key));
        assert!(!set.remove(&entry(3).key));
        assert_eq!(set.validators.len(), 3);
    }

    #[test]
    fn unsorted_or_empty_sets_do_not_decode() {
        let mut set = ValidatorSet {
            validators: vec![entry(1), entry(2)],
        };
        set.validators.sort_by(|a, b| b.key.cmp(&a.key));
        assert!(from_slice::<ValidatorSet>(&to_vec(&set), &()).is_err());
        assert!(from_slice::<ValidatorSet>(&to_vec(&ValidatorSet::default()), &()).is_err());
    }
}
