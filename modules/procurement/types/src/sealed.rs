//! A bid sealed to the committee: what `procurement.bid`'s `sealed` field holds when the bidder
//! gives it, so that a committee member can open the bid after the deadline if the bidder does
//! not.
//!
//! The bid's opening ([`BidOpening`]: price, proposal digest, salt) is sealed separately to the
//! encryption key each committee member registered (`identity.set_encryption_key`), with HPKE
//! ([`civitas_primitives::seal`]), `info` [`SEALED_BID_INFO`] and `aad` the tender number
//! (8 bytes, big-endian), the bidder's account (32 bytes) and the bid's commitment (32 bytes).
//! The field holds the canonical encoding of [`SealedBid`]: a version byte (1), then the copies
//! as a list of (member account, sealed bytes). The ledger does not read it; whoever opens a
//! copy checks what it finds against the commitment, so a copy that opens to anything else is
//! refused.

use crate::bid_commitment;
use civitas_primitives::codec::DecodeError;
use civitas_primitives::codec_struct;
use civitas_primitives::crypto::AccountId;
use civitas_primitives::hash::Hash32;
use civitas_primitives::limits::{COMMITTEE_MAX, SEALED_BID_MAX_BYTES};
use civitas_primitives::money::Money;
use civitas_primitives::seal::{self, DecryptionKey, EncryptionKey};
use commonware_codec::Encode;

/// What the copies are sealed for: HPKE's `info`.
pub const SEALED_BID_INFO: &[u8] = b"civitas/procurement/sealed-bid/v1";

/// The version byte [`SealedBid`] starts with.
pub const SEALED_BID_VERSION: u8 = 1;

/// What opens a bid: the secrets its commitment hides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BidOpening {
    /// The price offered.
    pub price: Money,
    /// SHA-256 of the technical proposal.
    pub proposal: Hash32,
    /// The salt.
    pub salt: Hash32,
}
codec_struct!(BidOpening {
    price: (),
    proposal: (),
    salt: (),
});

/// One committee member's copy of the opening.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedCopy {
    /// The member.
    pub member: AccountId,
    /// The opening, sealed to the member's encryption key.
    pub sealed: Vec<u8>,
}
codec_struct!(SealedCopy {
    member: (),
    sealed: (SEALED_BID_MAX_BYTES, ()),
});

/// The `sealed` field of a bid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedBid {
    /// [`SEALED_BID_VERSION`].
    pub version: u8,
    /// One copy per committee member that had an encryption key.
    pub copies: Vec<SealedCopy>,
}
codec_struct!(SealedBid {
    version: (),
    copies: (COMMITTEE_MAX, ()),
});

fn aad(tender: u64, bidder: &AccountId, commitment: &Hash32) -> Vec<u8> {
    let mut aad = Vec::with_capacity(72);
    aad.extend_from_slice(&tender.to_be_bytes());
    aad.extend_from_slice(&bidder.0);
    aad.extend_from_slice(&commitment.0);
    aad
}

/// Seals `opening` of `bidder`'s bid on `tender` to each of `members`' encryption keys.
pub fn seal_bid(
    tender: u64,
    bidder: &AccountId,
    opening: &BidOpening,
    members: &[(AccountId, EncryptionKey)],
) -> Result<Vec<u8>, seal::SealError> {
    let commitment = bid_commitment(
        tender,
        bidder,
        &opening.price,
        &opening.proposal,
        &opening.salt,
    );
    let aad = aad(tender, bidder, &commitment);
    let plaintext = opening.encode();
    let mut copies = Vec::with_capacity(members.len());
    for (member, key) in members {
        copies.push(SealedCopy {
            member: *member,
            sealed: seal::seal(key, SEALED_BID_INFO, &aad, &plaintext)?,
        });
    }
    Ok(SealedBid {
        version: SEALED_BID_VERSION,
        copies,
    }
    .encode()
    .to_vec())
}

/// Opens `member`'s copy in a bid's `sealed` field with one of `keys`, and checks it against
/// the bid's `commitment`.
pub fn open_sealed_bid(
    sealed: &[u8],
    tender: u64,
    bidder: &AccountId,
    commitment: &Hash32,
    member: &AccountId,
    keys: &[DecryptionKey],
) -> Result<BidOpening, DecodeError> {
    let invalid = |reason: String| DecodeError::Invalid {
        field: "sealed",
        reason,
    };
    if sealed.is_empty() {
        return Err(invalid(
            "the bidder sealed no copy to the committee; only the bidder can open this bid".into(),
        ));
    }
    let envelope = civitas_primitives::codec::from_slice::<SealedBid>(sealed, &())
        .map_err(|e| invalid(format!("not a sealed bid this release reads: {e}")))?;
    if envelope.version != SEALED_BID_VERSION {
        return Err(invalid(format!(
            "sealed bid version {} is not one this release reads",
            envelope.version
        )));
    }
    let copy = envelope
        .copies
        .iter()
        .find(|c| c.member == *member)
        .ok_or_else(|| {
            invalid(format!(
                "the bid holds no copy for {member}: it had no encryption key when the bid was sealed"
            ))
        })?;
    let aad = aad(tender, bidder, commitment);
    let plaintext = keys
        .iter()
        .find_map(|key| seal::open(key, SEALED_BID_INFO, &aad, &copy.sealed).ok())
        .ok_or_else(|| {
            invalid(format!(
                "none of the key file's encryption keys opens {member}'s copy"
            ))
        })?;
    let opening = civitas_primitives::codec::from_slice::<BidOpening>(&plaintext, &())
        .map_err(|e| invalid(format!("the copy opens to something that is no bid: {e}")))?;
    let found = bid_commitment(
        tender,
        bidder,
        &opening.price,
        &opening.proposal,
        &opening.salt,
    );
    if found != *commitment {
        return Err(invalid(
            "the copy opens to a bid that is not the one committed: the bidder sealed something else"
                .into(),
        ));
    }
    Ok(opening)
}

#[cfg(test)]
mod tests {
    use super::*;
    use civitas_primitives::money::Currency;

    #[test]
    fn each_member_opens_its_copy_and_nobody_else_does() {
        let bidder = AccountId([3; 32]);
        let opening = BidOpening {
            price: Money::new(12_500_000, Currency::parse("EUR").unwrap()),
            proposal: Hash32::sha256(b"proposal"),
            salt: Hash32([9; 32]),
        };
        let commitment =
            bid_commitment(4, &bidder, &opening.price, &opening.proposal, &opening.salt);
        let a = DecryptionKey::from_test_seed(1);
        let b = DecryptionKey::from_test_seed(2);
        let members = [
            (AccountId([1; 32]), a.public()),
            (AccountId([2; 32]), b.public()),
        ];
        let sealed = seal_bid(4, &bidder, &opening, &members).unwrap();
        assert!(sealed.len() <= SEALED_BID_MAX_BYTES);
        let open = |member: u8, key: &DecryptionKey, tender: u64| {
            open_sealed_bid(
                &sealed,
                tender,
                &bidder,
                &commitment,
                &AccountId([member; 32]),
                std::slice::from_ref(key),
            )
        };
        assert_eq!(open(1, &a, 4).unwrap(), opening);
        assert_eq!(open(2, &b, 4).unwrap(), opening);
        assert!(open(2, &a, 4).is_err());
        assert!(open(3, &a, 4).is_err());
        // Bound to its tender.
        assert!(open(1, &a, 5).is_err());
        assert!(
            open_sealed_bid(
                &[],
                4,
                &bidder,
                &commitment,
                &AccountId([1; 32]),
                std::slice::from_ref(&a)
            )
            .is_err()
        );
        assert!(
            open_sealed_bid(
                &[7, 0],
                4,
                &bidder,
                &commitment,
                &AccountId([1; 32]),
                std::slice::from_ref(&a)
            )
            .is_err()
        );
    }

    /// A bidder who seals a different opening than it committed to is found out by whoever
    /// opens the copy.
    #[test]
    fn a_copy_that_opens_to_another_bid_is_refused() {
        let bidder = AccountId([3; 32]);
        let euro = Currency::parse("EUR").unwrap();
        let committed = BidOpening {
            price: Money::new(100, euro),
            proposal: Hash32::sha256(b"p"),
            salt: Hash32([1; 32]),
        };
        let other = BidOpening {
            price: Money::new(200, euro),
            ..committed.clone()
        };
        let commitment = bid_commitment(
            1,
            &bidder,
            &committed.price,
            &committed.proposal,
            &committed.salt,
        );
        let key = DecryptionKey::from_test_seed(5);
        // Sealed against the other opening's commitment, then presented as this bid's.
        let sealed = seal_bid(1, &bidder, &other, &[(AccountId([1; 32]), key.public())]).unwrap();
        let error = open_sealed_bid(
            &sealed,
            1,
            &bidder,
            &commitment,
            &AccountId([1; 32]),
            &[key],
        )
        .unwrap_err();
        assert!(
            error.to_string().contains("sealed") || error.to_string().contains("open"),
            "{error}"
        );
    }
}
