//! A bid sealed to the committee: what `procurement.bid`'s `sealed` field holds when the bidder
//! gives it, so that a majority of the committee can open the bid after the deadline if the
//! bidder does not, and no smaller part of it can open it at all.
//!
//! The bid's opening ([`BidOpening`]: price, proposal digest, salt, in their canonical
//! encoding) is split with Shamir's scheme ([`civitas_primitives::seal::split_secret`]) into
//! one share per committee member that registered an encryption key, any [`SealedBid::threshold`]
//! of which rebuild it: a majority of those members (`m / 2 + 1` of `m`). Each share is sealed
//! to its member's key with HPKE ([`civitas_primitives::seal`]), `info` [`SEALED_BID_INFO`] and
//! `aad` the tender number (8 bytes, big-endian), the bidder's account (32 bytes) and the bid's
//! commitment (32 bytes). With fewer than two such members nothing is sealed (one member alone
//! could read the bid at once) and the field is empty.
//!
//! The field holds the canonical encoding of [`SealedBid`]: a version byte (1), the threshold
//! (1 byte), then the copies as a list (varint count) of (member account, sealed share as
//! varint length and bytes). The ledger does not read it; whoever rebuilds the opening checks it
//! against the commitment, so shares of anything else are found out.

use crate::bid_commitment;
use civitas_primitives::codec::DecodeError;
use civitas_primitives::codec_struct;
use civitas_primitives::crypto::AccountId;
use civitas_primitives::hash::Hash32;
use civitas_primitives::limits::{COMMITTEE_MAX, SEALED_BID_MAX_BYTES};
use civitas_primitives::money::Money;
use civitas_primitives::seal::{self, DecryptionKey, EncryptionKey};
use commonware_codec::Encode;

/// What the shares are sealed for: HPKE's `info`.
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

/// One committee member's share of the opening, sealed to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedCopy {
    /// The member.
    pub member: AccountId,
    /// Its share, sealed to the member's encryption key.
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
    /// How many shares rebuild the opening.
    pub threshold: u8,
    /// One share per committee member that had an encryption key.
    pub copies: Vec<SealedCopy>,
}
codec_struct!(SealedBid {
    version: (),
    threshold: (),
    copies: (COMMITTEE_MAX, ()),
});

fn aad(tender: u64, bidder: &AccountId, commitment: &Hash32) -> Vec<u8> {
    let mut aad = Vec::with_capacity(72);
    aad.extend_from_slice(&tender.to_be_bytes());
    aad.extend_from_slice(&bidder.0);
    aad.extend_from_slice(&commitment.0);
    aad
}

fn invalid(reason: String) -> DecodeError {
    DecodeError::Invalid {
        field: "sealed",
        reason,
    }
}

/// The threshold for `members` shares: a majority.
pub fn majority(members: usize) -> usize {
    members / 2 + 1
}

/// Seals `opening` of `bidder`'s bid on `tender` in shares to `members`' encryption keys (a
/// majority of them rebuild it); empty when fewer than two members are given.
pub fn seal_bid(
    tender: u64,
    bidder: &AccountId,
    opening: &BidOpening,
    members: &[(AccountId, EncryptionKey)],
) -> Result<Vec<u8>, seal::SealError> {
    if members.len() < 2 {
        return Ok(Vec::new());
    }
    let commitment = bid_commitment(
        tender,
        bidder,
        &opening.price,
        &opening.proposal,
        &opening.salt,
    );
    let aad = aad(tender, bidder, &commitment);
    let threshold = majority(members.len());
    let shares = seal::split_secret(&opening.encode(), threshold, members.len())?;
    let mut copies = Vec::with_capacity(members.len());
    for ((member, key), share) in members.iter().zip(&shares) {
        copies.push(SealedCopy {
            member: *member,
            sealed: seal::seal(key, SEALED_BID_INFO, &aad, share)?,
        });
    }
    Ok(SealedBid {
        version: SEALED_BID_VERSION,
        threshold: threshold as u8,
        copies,
    }
    .encode()
    .to_vec())
}

/// Reads a bid's `sealed` field.
pub fn read_sealed(sealed: &[u8]) -> Result<SealedBid, DecodeError> {
    if sealed.is_empty() {
        return Err(invalid(
            "the bidder sealed no shares to the committee; only the bidder's secret opens this bid"
                .into(),
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
    Ok(envelope)
}

/// Opens `member`'s share in a bid's `sealed` field with one of `keys` (the member's decryption
/// keys): what the member hands to whoever opens the bid, after the deadline.
pub fn open_share(
    sealed: &[u8],
    tender: u64,
    bidder: &AccountId,
    commitment: &Hash32,
    member: &AccountId,
    keys: &[DecryptionKey],
) -> Result<Vec<u8>, DecodeError> {
    let envelope = read_sealed(sealed)?;
    let copy = envelope
        .copies
        .iter()
        .find(|c| c.member == *member)
        .ok_or_else(|| {
            invalid(format!(
                "the bid holds no share for {member}: it had no encryption key when the bid was sealed"
            ))
        })?;
    let aad = aad(tender, bidder, commitment);
    keys.iter()
        .find_map(|key| seal::open(key, SEALED_BID_INFO, &aad, &copy.sealed).ok())
        .ok_or_else(|| {
            invalid(format!(
                "none of the key file's encryption keys opens {member}'s share"
            ))
        })
}

/// Rebuilds the opening from members' shares (at least the bid's threshold of them) and checks
/// it against the bid's `commitment`.
pub fn combine_opening(
    sealed: &[u8],
    tender: u64,
    bidder: &AccountId,
    commitment: &Hash32,
    shares: &[Vec<u8>],
) -> Result<BidOpening, DecodeError> {
    let envelope = read_sealed(sealed)?;
    let threshold = usize::from(envelope.threshold);
    if shares.len() < threshold {
        return Err(invalid(format!(
            "{} of the {} shares are given; {threshold} rebuild this bid",
            shares.len(),
            envelope.copies.len()
        )));
    }
    let plaintext = seal::combine_shares(shares).map_err(|e| invalid(e.to_string()))?;
    let opening =
        civitas_primitives::codec::from_slice::<BidOpening>(&plaintext, &()).map_err(|_| {
            invalid("the shares rebuild something that is no bid: a share is wrong".into())
        })?;
    let found = bid_commitment(
        tender,
        bidder,
        &opening.price,
        &opening.proposal,
        &opening.salt,
    );
    if found != *commitment {
        return Err(invalid(
            "the shares rebuild a bid that is not the one committed: a share is wrong, or the \
             bidder sealed something else"
                .into(),
        ));
    }
    Ok(opening)
}

#[cfg(test)]
mod tests {
    use super::*;
    use civitas_primitives::money::Currency;

    fn opening(amount: u64) -> BidOpening {
        BidOpening {
            price: Money::new(amount, Currency::parse("EUR").unwrap()),
            proposal: Hash32::sha256(b"proposal"),
            salt: Hash32([9; 32]),
        }
    }

    fn committee(n: u64) -> (Vec<DecryptionKey>, Vec<(AccountId, EncryptionKey)>) {
        let keys: Vec<DecryptionKey> = (1..=n).map(DecryptionKey::from_test_seed).collect();
        let members = keys
            .iter()
            .enumerate()
            .map(|(i, k)| (AccountId([i as u8 + 1; 32]), k.public()))
            .collect();
        (keys, members)
    }

    #[test]
    fn a_majority_of_the_committee_opens_a_bid_and_a_minority_cannot() {
        let bidder = AccountId([30; 32]);
        let opening = opening(12_500_000);
        let commitment =
            bid_commitment(4, &bidder, &opening.price, &opening.proposal, &opening.salt);
        let (keys, members) = committee(5);
        let sealed = seal_bid(4, &bidder, &opening, &members).unwrap();
        assert!(sealed.len() <= SEALED_BID_MAX_BYTES);
        assert_eq!(read_sealed(&sealed).unwrap().threshold, 3);
        let share = |i: usize, tender: u64| {
            open_share(
                &sealed,
                tender,
                &bidder,
                &commitment,
                &members[i].0,
                std::slice::from_ref(&keys[i]),
            )
        };
        let shares: Vec<Vec<u8>> = (0..5).map(|i| share(i, 4).unwrap()).collect();
        // Any three rebuild it.
        for chosen in [[0, 1, 2], [4, 3, 1], [0, 2, 4]] {
            let given: Vec<Vec<u8>> = chosen.iter().map(|&i| shares[i].clone()).collect();
            assert_eq!(
                combine_opening(&sealed, 4, &bidder, &commitment, &given).unwrap(),
                opening
            );
        }
        // Two do not: refused for being too few, and combined all the same they rebuild
        // something else.
        let two = vec![shares[0].clone(), shares[1].clone()];
        assert!(combine_opening(&sealed, 4, &bidder, &commitment, &two).is_err());
        let guessed = seal::combine_shares(&two).unwrap();
        assert_ne!(&guessed[..], &opening.encode()[..]);
        // No share holds the salt in the clear.
        for share in &shares {
            assert!(!share.windows(32).any(|w| w == opening.salt.0));
        }
        // A member's key opens only its own share, and only for this bid.
        assert!(
            open_share(
                &sealed,
                4,
                &bidder,
                &commitment,
                &members[1].0,
                std::slice::from_ref(&keys[0])
            )
            .is_err()
        );
        assert!(share(0, 5).is_err());
        assert!(
            open_share(
                &sealed,
                4,
                &bidder,
                &commitment,
                &AccountId([99; 32]),
                &keys
            )
            .is_err()
        );
    }

    #[test]
    fn with_fewer_than_two_members_nothing_is_sealed() {
        let (_, members) = committee(1);
        let sealed = seal_bid(4, &AccountId([30; 32]), &opening(100), &members).unwrap();
        assert!(sealed.is_empty());
        assert!(read_sealed(&sealed).is_err());
        assert!(read_sealed(&[7, 2, 0]).is_err());
    }

    /// A bidder who seals a different opening than it committed to is found out by whoever
    /// rebuilds it.
    #[test]
    fn shares_of_another_bid_are_refused() {
        let bidder = AccountId([30; 32]);
        let committed = opening(100);
        let commitment = bid_commitment(
            1,
            &bidder,
            &committed.price,
            &committed.proposal,
            &committed.salt,
        );
        let (keys, members) = committee(3);
        let sealed = seal_bid(1, &bidder, &opening(200), &members).unwrap();
        // Sealed against the other opening's commitment: the aad differs, so the shares do
        // not even open under this bid's.
        assert!(
            open_share(
                &sealed,
                1,
                &bidder,
                &commitment,
                &members[0].0,
                std::slice::from_ref(&keys[0])
            )
            .is_err()
        );
        // Shares that open but rebuild another bid are refused on the commitment.
        let other_commitment = bid_commitment(
            1,
            &bidder,
            &opening(200).price,
            &committed.proposal,
            &committed.salt,
        );
        let shares: Vec<Vec<u8>> = (0..2)
            .map(|i| {
                open_share(
                    &sealed,
                    1,
                    &bidder,
                    &other_commitment,
                    &members[i].0,
                    std::slice::from_ref(&keys[i]),
                )
                .unwrap()
            })
            .collect();
        let error = combine_opening(&sealed, 1, &bidder, &commitment, &shares).unwrap_err();
        assert!(
            error.to_string().contains("not the one committed"),
            "{error}"
        );
    }
}
