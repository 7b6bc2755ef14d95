//! The history Merkle Mountain Range: every header commits to all earlier block digests.
//!
//! Block `h`'s header carries the root of the MMR over the digests of blocks `0..h`. Appending
//! needs only the peaks, so the ledger keeps `(leaf_count, peaks)` in state; a proof for an old
//! block is a sibling path to its peak plus the other peaks.
//!
//! Hashing: leaf `i` with digest `d` is `H("civitas/mmr-leaf", be64(i), d)`; an inner node is
//! `H("civitas/mmr-node", left, right)`; the root is `H("civitas/mmr-root", be64(leaf_count),
//! peaks left to right)`. Peaks are the perfect subtrees given by the binary digits of
//! `leaf_count`, largest (oldest) first.

use crate::codec::read_list;
use crate::hash::{Hash32, tag};
use crate::limits::PROOF_DIGESTS_MAX;
use bytes::BufMut;
use commonware_codec::Buf;
use commonware_codec::{EncodeSize, Read, ReadExt, Write};
use serde::{Deserialize, Serialize};

/// The append frontier of the MMR.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Peaks {
    /// How many leaves have been appended.
    pub leaf_count: u64,
    /// Roots of the perfect subtrees, oldest (tallest) first.
    pub peaks: Vec<Hash32>,
}

fn leaf(index: u64, digest: &Hash32) -> Hash32 {
    Hash32::tagged(tag::MMR_LEAF, &[&index.to_be_bytes(), digest.as_ref()])
}

fn node(left: &Hash32, right: &Hash32) -> Hash32 {
    Hash32::tagged(tag::MMR_NODE, &[left.as_ref(), right.as_ref()])
}

/// Heights of the peaks for `leaf_count` leaves, tallest first.
fn peak_heights(leaf_count: u64) -> Vec<u32> {
    (0..64u32)
        .rev()
        .filter(|bit| leaf_count & (1u64 << bit) != 0)
        .collect()
}

impl Peaks {
    /// Appends a block digest.
    pub fn append(&mut self, digest: &Hash32) {
        self.append_nodes(digest);
    }

    /// Appends a block digest and returns the nodes it adds to the MMR, in post-order: the
    /// leaf, then each inner node its merges create (see [`node_count`]).
    pub fn append_nodes(&mut self, digest: &Hash32) -> Vec<Hash32> {
        let mut current = leaf(self.leaf_count, digest);
        let mut added = vec![current];
        // Merge while the lowest set bits of the count are one: each merge consumes a peak.
        let mut count = self.leaf_count;
        while count & 1 == 1 {
            let Some(left) = self.peaks.pop() else {
                // A well-formed frontier has a peak per set bit; rebuild nothing from a bad one.
                break;
            };
            current = node(&left, &current);
            added.push(current);
            count >>= 1;
        }
        self.peaks.push(current);
        self.leaf_count += 1;
        added
    }

    /// The root committed to by headers.
    pub fn root(&self) -> Hash32 {
        let count = self.leaf_count.to_be_bytes();
        let mut parts: Vec<&[u8]> = vec![&count];
        for peak in &self.peaks {
            parts.push(peak.as_ref());
        }
        Hash32::tagged(tag::MMR_ROOT, &parts)
    }

    /// Whether the peak list matches the leaf count.
    pub fn is_well_formed(&self) -> bool {
        self.peaks.len() == self.leaf_count.count_ones() as usize
    }
}

/// How many nodes (leaves and inner nodes) an MMR of `leaf_count` leaves has. Nodes are
/// numbered in post-order from 0 (each node after its children), so appending a leaf only adds
/// nodes at the end and every node keeps its position.
pub fn node_count(leaf_count: u64) -> u64 {
    leaf_count.saturating_mul(2) - u64::from(leaf_count.count_ones())
}

/// The most leaves an MMR of at most `nodes` nodes can have (the inverse of [`node_count`]
/// where it is exact).
pub fn leaves_within(nodes: u64) -> u64 {
    // node_count is increasing and node_count(n) >= 2n - 64; search the largest n with
    // node_count(n) <= nodes.
    let (mut low, mut high) = (0u64, nodes / 2 + 64);
    while low < high {
        let mid = low + (high - low).div_ceil(2);
        if node_count(mid) <= nodes {
            low = mid;
        } else {
            high = mid - 1;
        }
    }
    low
}

/// Position of the leaf `index` among the nodes (see [`node_count`]).
pub fn leaf_position(index: u64) -> u64 {
    node_count(index)
}

/// Positions of the peaks of an MMR with `leaf_count` leaves, tallest first, with their
/// heights.
pub fn peak_positions(leaf_count: u64) -> Vec<(u64, u32)> {
    let mut offset = 0u64;
    peak_heights(leaf_count)
        .into_iter()
        .map(|height| {
            let size = (1u64 << (height + 1)) - 1;
            let position = offset + size - 1;
            offset += size;
            (position, height)
        })
        .collect()
}

/// Positions of the siblings on the path from leaf `index` to its peak in an MMR with
/// `leaf_count` leaves, bottom-up (the order of [`MmrProof::path`]); `None` if out of range.
pub fn path_positions(index: u64, leaf_count: u64) -> Option<Vec<u64>> {
    if index >= leaf_count {
        return None;
    }
    let mut start = 0u64;
    for (position, height) in peak_positions(leaf_count) {
        let size = 1u64 << height;
        if index < start + size {
            // Walk down from the peak: the children of the node at `p` with height `h` are at
            // `p - 2^h` (left) and `p - 1` (right).
            let (mut node_position, mut node_height, mut first) = (position, height, start);
            let mut siblings = Vec::with_capacity(height as usize);
            while node_height > 0 {
                let half = 1u64 << (node_height - 1);
                let left = node_position - (1u64 << node_height);
                let right = node_position - 1;
                if index < first + half {
                    siblings.push(right);
                    node_position = left;
                } else {
                    siblings.push(left);
                    node_position = right;
                    first += half;
                }
                node_height -= 1;
            }
            siblings.reverse();
            return Some(siblings);
        }
        start += size;
    }
    None
}

/// Proof that a digest is leaf `index` of the MMR with `leaf_count` leaves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MmrProof {
    /// Position of the leaf.
    pub index: u64,
    /// Total leaves when the root was taken.
    pub leaf_count: u64,
    /// Siblings from the leaf up to its peak.
    pub path: Vec<Hash32>,
    /// All peaks, oldest first (the leaf's own peak included: the verifier rebuilds it from the
    /// path and requires the same digest).
    pub peaks: Vec<Hash32>,
}

/// Builds a proof for leaf `index` over `digests` (all leaves, in order).
pub fn prove(digests: &[Hash32], index: u64) -> Option<MmrProof> {
    let leaf_count = digests.len() as u64;
    if index >= leaf_count {
        return None;
    }
    let mut peaks = Vec::new();
    let mut path = Vec::new();
    let mut start = 0u64;
    for height in peak_heights(leaf_count) {
        let size = 1u64 << height;
        let range = &digests[start as usize..(start + size) as usize];
        let hashed: Vec<Hash32> = range
            .iter()
            .enumerate()
            .map(|(i, d)| leaf(start + i as u64, d))
            .collect();
        if index >= start && index < start + size {
            path = perfect_path(&hashed, (index - start) as usize);
        }
        peaks.push(perfect_root(&hashed));
        start += size;
    }
    Some(MmrProof {
        index,
        leaf_count,
        path,
        peaks,
    })
}

fn perfect_root(level: &[Hash32]) -> Hash32 {
    let mut level = level.to_vec();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| node(&pair[0], &pair[1]))
            .collect();
    }
    level[0]
}

fn perfect_path(level: &[Hash32], mut index: usize) -> Vec<Hash32> {
    let mut level = level.to_vec();
    let mut path = Vec::new();
    while level.len() > 1 {
        path.push(level[index ^ 1]);
        level = level
            .chunks(2)
            .map(|pair| node(&pair[0], &pair[1]))
            .collect();
        index /= 2;
    }
    path
}

impl MmrProof {
    /// Checks that `digest` is the leaf at `self.index` under `root`.
    pub fn verify(&self, root: &Hash32, digest: &Hash32) -> bool {
        if self.index >= self.leaf_count {
            return false;
        }
        let heights = peak_heights(self.leaf_count);
        if heights.len() != self.peaks.len() {
            return false;
        }
        let mut start = 0u64;
        let peaks = self.peaks.clone();
        for (slot, height) in heights.iter().enumerate() {
            let size = 1u64 << height;
            if self.index < start + size {
                if self.path.len() != *height as usize {
                    return false;
                }
                let mut acc = leaf(self.index, digest);
                let mut position = self.index - start;
                for sibling in &self.path {
                    acc = if position & 1 == 0 {
                        node(&acc, sibling)
                    } else {
                        node(sibling, &acc)
                    };
                    position >>= 1;
                }
                // Every byte of a proof counts: the listed peak must be the one rebuilt.
                if peaks[slot] != acc {
                    return false;
                }
                break;
            }
            start += size;
        }
        let recomputed = Peaks {
            leaf_count: self.leaf_count,
            peaks,
        };
        &recomputed.root() == root
    }
}

impl Write for Peaks {
    fn write(&self, buf: &mut impl BufMut) {
        self.leaf_count.write(buf);
        self.peaks.write(buf);
    }
}

impl EncodeSize for Peaks {
    fn encode_size(&self) -> usize {
        8 + self.peaks.encode_size()
    }
}

impl Read for Peaks {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, commonware_codec::Error> {
        let peaks = Self {
            leaf_count: u64::read(buf)?,
            peaks: read_list(buf, 64, &())?,
        };
        if !peaks.is_well_formed() {
            return Err(commonware_codec::Error::Invalid("Peaks", "peak count"));
        }
        Ok(peaks)
    }
}

impl Write for MmrProof {
    fn write(&self, buf: &mut impl BufMut) {
        self.index.write(buf);
        self.leaf_count.write(buf);
        self.path.write(buf);
        self.peaks.write(buf);
    }
}

impl EncodeSize for MmrProof {
    fn encode_size(&self) -> usize {
        16 + self.path.encode_size() + self.peaks.encode_size()
    }
}

impl Read for MmrProof {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, commonware_codec::Error> {
        Ok(Self {
            index: u64::read(buf)?,
            leaf_count: u64::read(buf)?,
            path: read_list(buf, 64, &())?,
            peaks: read_list(buf, PROOF_DIGESTS_MAX.min(64), &())?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn digests(n: u64) -> Vec<Hash32> {
        (0..n).map(|i| Hash32::sha256(&i.to_be_bytes())).collect()
    }

    proptest! {
        #[test]
        fn append_matches_batch_and_proofs_verify(n in 1u64..80, pick in any::<u64>()) {
            let all = digests(n);
            let mut peaks = Peaks::default();
            for d in &all {
                peaks.append(d);
            }
            prop_assert!(peaks.is_well_formed());
            let index = pick % n;
            let proof = prove(&all, index).unwrap();
            prop_assert_eq!(&proof.peaks, &peaks.peaks);
            let root = peaks.root();
            prop_assert!(proof.verify(&root, &all[index as usize]));
            prop_assert!(!proof.verify(&root, &Hash32::sha256(b"x")));
            let mut moved = proof.clone();
            moved.index = (index + 1) % n;
            if n > 1 {
                prop_assert!(!moved.verify(&root, &all[index as usize]));
            }
        }
    }

    proptest! {
        #[test]
        fn node_positions_match_the_appended_nodes(n in 1u64..300, pick in any::<u64>()) {
            let all = digests(n);
            let mut peaks = Peaks::default();
            let mut nodes = Vec::new();
            for d in &all {
                nodes.extend(peaks.append_nodes(d));
            }
            prop_assert_eq!(nodes.len() as u64, node_count(n));
            prop_assert_eq!(leaves_within(node_count(n)), n);
            prop_assert_eq!(leaves_within(node_count(n) - 1), n - 1);
            let found: Vec<Hash32> =
                peak_positions(n).iter().map(|(p, _)| nodes[*p as usize]).collect();
            prop_assert_eq!(&found, &peaks.peaks);
            let index = pick % n;
            prop_assert_eq!(nodes[leaf_position(index) as usize], leaf(index, &all[index as usize]));
            let path: Vec<Hash32> = path_positions(index, n)
                .unwrap()
                .iter()
                .map(|p| nodes[*p as usize])
                .collect();
            prop_assert_eq!(path, prove(&all, index).unwrap().path);
        }
    }

    #[test]
    fn a_proof_with_any_peak_changed_fails() {
        let all = digests(13);
        let mut peaks = Peaks::default();
        for d in &all {
            peaks.append(d);
        }
        let root = peaks.root();
        let proof = prove(&all, 9).unwrap();
        assert!(proof.verify(&root, &all[9]));
        for slot in 0..proof.peaks.len() {
            let mut changed = proof.clone();
            changed.peaks[slot] = Hash32::sha256(b"another peak");
            assert!(!changed.verify(&root, &all[9]), "peak {slot}");
        }
    }

    #[test]
    fn empty_root_is_defined() {
        let empty = Peaks::default();
        assert!(empty.is_well_formed());
        assert_eq!(
            empty.root(),
            Hash32::tagged(tag::MMR_ROOT, &[&0u64.to_be_bytes()])
        );
    }
}
