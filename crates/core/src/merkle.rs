//! The transaction Merkle tree committed to by each header's `tx_root`.
//!
//! Leaves are `H("civitas/tx-leaf", tx_hash)`; an inner node is `H("civitas/tx-node", left,
//! right)`; a list of `n > 1` leaves splits at the largest power of two strictly below `n`
//! (the RFC 6962 shape); the empty tree is `H("civitas/tx-empty")`.

use crate::hash::{Hash32, tag};

/// The root over `leaves` (transaction hashes, in block order).
pub fn root(leaves: &[Hash32]) -> Hash32 {
    if leaves.is_empty() {
        return Hash32::tagged(tag::TX_EMPTY, &[]);
    }
    subtree(leaves)
}

fn leaf(hash: &Hash32) -> Hash32 {
    Hash32::tagged(tag::TX_LEAF, &[hash.as_ref()])
}

fn node(left: &Hash32, right: &Hash32) -> Hash32 {
    Hash32::tagged(tag::TX_NODE, &[left.as_ref(), right.as_ref()])
}

fn split(n: usize) -> usize {
    debug_assert!(n > 1);
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

fn subtree(leaves: &[Hash32]) -> Hash32 {
    if leaves.len() == 1 {
        return leaf(&leaves[0]);
    }
    let k = split(leaves.len());
    node(&subtree(&leaves[..k]), &subtree(&leaves[k..]))
}

/// The sibling path for leaf `index`, bottom-up, or `None` if out of range.
pub fn prove(leaves: &[Hash32], index: usize) -> Option<Vec<Hash32>> {
    if index >= leaves.len() {
        return None;
    }
    let mut path = Vec::new();
    collect(leaves, index, &mut path);
    Some(path)
}

fn collect(leaves: &[Hash32], index: usize, path: &mut Vec<Hash32>) {
    if leaves.len() == 1 {
        return;
    }
    let k = split(leaves.len());
    if index < k {
        collect(&leaves[..k], index, path);
        path.push(subtree(&leaves[k..]));
    } else {
        collect(&leaves[k..], index - k, path);
        path.push(subtree(&leaves[..k]));
    }
}

/// Checks that `hash` is leaf `index` of a tree of `count` leaves with root `root`.
pub fn verify(
    root_hash: &Hash32,
    hash: &Hash32,
    index: usize,
    count: usize,
    path: &[Hash32],
) -> bool {
    if index >= count {
        return false;
    }
    // Recompute the split decisions top-down, then fold the path bottom-up.
    let mut directions = Vec::new(); // true when the leaf is in the left part
    let (mut start, mut len) = (0usize, count);
    while len > 1 {
        let k = split(len);
        if index - start < k {
            directions.push(true);
            len = k;
        } else {
            directions.push(false);
            start += k;
            len -= k;
        }
    }
    if directions.len() != path.len() {
        return false;
    }
    let mut acc = leaf(hash);
    for (sibling, is_left) in path.iter().zip(directions.iter().rev()) {
        acc = if *is_left {
            node(&acc, sibling)
        } else {
            node(sibling, &acc)
        };
    }
    &acc == root_hash
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn leaves(n: usize) -> Vec<Hash32> {
        (0..n)
            .map(|i| Hash32::sha256(&(i as u64).to_be_bytes()))
            .collect()
    }

    #[test]
    fn empty_and_single() {
        assert_eq!(root(&[]), Hash32::tagged(tag::TX_EMPTY, &[]));
        let one = leaves(1);
        assert_eq!(root(&one), leaf(&one[0]));
    }

    proptest! {
        #[test]
        fn every_leaf_proves(n in 1usize..70, seed in any::<usize>()) {
            let all = leaves(n);
            let r = root(&all);
            let index = seed % n;
            let path = prove(&all, index).unwrap();
            prop_assert!(verify(&r, &all[index], index, n, &path));
            // Wrong leaf, wrong index or a tampered path fails.
            let other = Hash32::sha256(b"other");
            prop_assert!(!verify(&r, &other, index, n, &path));
            if n > 1 {
                prop_assert!(!verify(&r, &all[index], (index + 1) % n, n, &path));
                let mut bad = path.clone();
                bad[0].0[0] ^= 1;
                prop_assert!(!verify(&r, &all[index], index, n, &bad));
            }
        }
    }
}
