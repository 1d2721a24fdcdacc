//! The invoice tree: a binary Poseidon Merkle tree of commitments, appended to, and updated
//! only to void a leaf (set it to the empty value 0).
//!
//! Empty leaves are 0, `node = Poseidon(left, right)`, and the direction bit at level `k` is
//! bit `k` of the leaf index (leaf level first), as in the spec and circomlib-style trees.

use crate::{field, poseidon};
use ark_bn254::Fr;
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

pub const DEFAULT_DEPTH: usize = 32;
/// Deepest tree supported (leaf indices are u64).
pub const MAX_DEPTH: usize = 63;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TreeError {
    #[error("the tree is full ({0} leaves)")]
    Full(u64),
    #[error("no leaf at index {0}")]
    NoLeaf(u64),
    #[error("Merkle path has {found} siblings; the tree has depth {depth}")]
    WrongDepth { found: usize, depth: usize },
}

/// `Poseidon(left, right)`.
pub fn node(left: &Fr, right: &Fr) -> Fr {
    poseidon::hash(&[*left, *right])
}

/// `zero_hashes()[k]` is the root of an empty subtree of height `k`.
pub fn zero_hashes() -> &'static [Fr] {
    static Z: OnceLock<Vec<Fr>> = OnceLock::new();
    Z.get_or_init(|| {
        let mut z = vec![Fr::from(0u64)];
        for k in 0..MAX_DEPTH {
            z.push(node(&z[k], &z[k]));
        }
        z
    })
}

/// A leaf's authentication path. Siblings are leaf level first.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MerklePath {
    pub index: u64,
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<crate::schema::Field>))]
    #[serde(with = "fr_vec")]
    pub siblings: Vec<Fr>,
}

impl core::fmt::Debug for MerklePath {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // The index locates the invoice among a hospital's registrations: keep it out of logs.
        write!(f, "MerklePath(depth {})", self.siblings.len())
    }
}

impl MerklePath {
    /// Bit `k` of the index: whether the running node is the right child at level `k`.
    pub fn directions(&self) -> Vec<bool> {
        (0..self.siblings.len())
            .map(|k| (self.index >> k) & 1 == 1)
            .collect()
    }
}

/// The root that `leaf` and `path` imply.
pub fn root_from_path(leaf: &Fr, path: &MerklePath) -> Fr {
    path.siblings
        .iter()
        .zip(path.directions())
        .fold(*leaf, |cur, (sib, right)| {
            if right {
                node(sib, &cur)
            } else {
                node(&cur, sib)
            }
        })
}

/// An incremental tree that keeps every non-empty node, so that paths for any leaf are
/// served without recomputation. Memory is about two field elements per leaf.
#[derive(Clone)]
pub struct IncrementalTree {
    depth: usize,
    /// `levels[k][i]`: node `i` at height `k` (level 0 = leaves), only the filled prefix.
    levels: Vec<Vec<Fr>>,
}

impl IncrementalTree {
    pub fn new(depth: usize) -> Self {
        assert!(
            (1..=MAX_DEPTH).contains(&depth),
            "tree depth must be 1..={MAX_DEPTH}"
        );
        Self {
            depth,
            levels: vec![Vec::new(); depth + 1],
        }
    }

    /// The tree holding `leaves` in order, built level by level ([`IncrementalTree::extend`]):
    /// about one hash per leaf (a cold `zkclaim prove` from a tree file builds it once).
    pub fn from_leaves(depth: usize, leaves: &[Fr]) -> Result<Self, TreeError> {
        let mut tree = Self::new(depth);
        tree.extend(leaves)?;
        Ok(tree)
    }

    /// Appends `leaves` in order and returns the index of the first; the nodes above them are
    /// recomputed level by level, each once: about `2·k + depth` hashes for `k` leaves, where
    /// appending them one by one costs `k·depth` (a ledger's block of claims settles in one
    /// call). Appends none when they do not all fit.
    pub fn extend(&mut self, leaves: &[Fr]) -> Result<u64, TreeError> {
        let start = self.len();
        let capacity = 1u64 << self.depth;
        if leaves.len() as u64 > capacity - start {
            return Err(TreeError::Full(capacity));
        }
        self.levels[0].extend_from_slice(leaves);
        // The first node of each level that changed.
        let mut from = start as usize;
        for k in 0..self.depth {
            let first = from >> 1;
            let parents: Vec<Fr> = (first..self.levels[k].len().div_ceil(2))
                .map(|p| node(&self.node_at(k, 2 * p), &self.node_at(k, 2 * p + 1)))
                .collect();
            let level = &mut self.levels[k + 1];
            level.truncate(first);
            level.extend(parents);
            from = first;
        }
        Ok(start)
    }

    pub fn depth(&self) -> usize {
        self.depth
    }

    pub fn len(&self) -> u64 {
        self.levels[0].len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.levels[0].is_empty()
    }

    pub fn leaves(&self) -> &[Fr] {
        &self.levels[0]
    }

    /// Appends a leaf and returns its index.
    pub fn append(&mut self, leaf: Fr) -> Result<u64, TreeError> {
        self.extend(&[leaf])
    }

    /// Replaces the leaf at `index` (one already appended) and returns the one it held: a
    /// ledger voids an invoice by setting its leaf to the empty value 0, and undoes that by
    /// setting it back. Costs `depth` hashes.
    pub fn set(&mut self, index: u64, leaf: Fr) -> Result<Fr, TreeError> {
        let slot = usize::try_from(index)
            .ok()
            .and_then(|i| self.levels[0].get_mut(i))
            .ok_or(TreeError::NoLeaf(index))?;
        let old = std::mem::replace(slot, leaf);
        self.rehash(index);
        Ok(old)
    }

    /// Recomputes the nodes above leaf `index`, pushing a level's node when it is new.
    fn rehash(&mut self, index: u64) {
        let mut cur = self.levels[0][index as usize];
        for k in 0..self.depth {
            let i = (index >> k) as usize;
            let sibling = self.node_at(k, i ^ 1);
            cur = if i & 1 == 1 {
                node(&sibling, &cur)
            } else {
                node(&cur, &sibling)
            };
            let parent = &mut self.levels[k + 1];
            if parent.len() == i >> 1 {
                parent.push(cur);
            } else {
                parent[i >> 1] = cur;
            }
        }
    }

    /// Drops every leaf from index `len` on, as if they had never been appended: a ledger
    /// undoes a block it built when another node's block won the slot. Costs `depth` hashes.
    pub fn truncate(&mut self, len: u64) {
        if len >= self.len() {
            return;
        }
        let len = len as usize;
        for k in 0..=self.depth {
            // Nodes at height k that still cover a kept leaf.
            self.levels[k].truncate(len.div_ceil(1 << k));
        }
        if len == 0 {
            return;
        }
        // The last node of each level lost its right-hand leaves: recompute it bottom-up.
        let last = len - 1;
        for k in 0..self.depth {
            let i = last >> k;
            let (left, right) = (self.node_at(k, i & !1), self.node_at(k, i | 1));
            self.levels[k + 1][i >> 1] = node(&left, &right);
        }
    }

    fn node_at(&self, level: usize, i: usize) -> Fr {
        self.levels[level]
            .get(i)
            .copied()
            .unwrap_or(zero_hashes()[level])
    }

    pub fn root(&self) -> Fr {
        self.node_at(self.depth, 0)
    }

    pub fn path(&self, index: u64) -> Result<MerklePath, TreeError> {
        if index >= self.len() {
            return Err(TreeError::NoLeaf(index));
        }
        let siblings = (0..self.depth)
            .map(|k| self.node_at(k, ((index >> k) as usize) ^ 1))
            .collect();
        Ok(MerklePath { index, siblings })
    }

    /// The index of the first leaf equal to `leaf`.
    pub fn position(&self, leaf: &Fr) -> Option<u64> {
        self.levels[0]
            .iter()
            .position(|l| l == leaf)
            .map(|i| i as u64)
    }
}

/// The stand-alone tree file, `{"leaves": ["0x…", …]}` in index order.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TreeFile {
    #[serde(with = "fr_vec")]
    pub leaves: Vec<Fr>,
}

mod fr_vec {
    use super::*;
    use serde::{de::Error, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[Fr], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(field::format))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Fr>, D::Error> {
        let strings = Vec::<String>::deserialize(d)?;
        strings
            .iter()
            .map(|s| field::parse(s).map_err(D::Error::custom))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tree computed the slow way: every level hashed from the full leaf layer.
    fn naive_root(depth: usize, leaves: &[Fr]) -> Fr {
        let mut layer: Vec<Fr> = leaves.to_vec();
        for k in 0..depth {
            if layer.len() % 2 == 1 {
                layer.push(zero_hashes()[k]);
            }
            layer = layer.chunks(2).map(|c| node(&c[0], &c[1])).collect();
            if layer.is_empty() {
                layer.push(zero_hashes()[k + 1]);
            }
        }
        layer[0]
    }

    #[test]
    fn empty_root_is_the_zero_hash() {
        assert_eq!(IncrementalTree::new(32).root(), zero_hashes()[32]);
        assert_eq!(
            field::format(&zero_hashes()[32]),
            "0x2f68a1c58e257e42a17a6c61dff5551ed560b9922ab119d5ac8e184c9734ead9"
        );
    }

    #[test]
    fn incremental_matches_naive_and_paths_verify() {
        let leaves: Vec<Fr> = (1..=13u64).map(Fr::from).collect();
        let mut tree = IncrementalTree::new(5);
        for (i, leaf) in leaves.iter().enumerate() {
            assert_eq!(tree.append(*leaf).unwrap(), i as u64);
            assert_eq!(tree.root(), naive_root(5, &leaves[..=i]));
        }
        for (i, leaf) in leaves.iter().enumerate() {
            let path = tree.path(i as u64).unwrap();
            assert_eq!(root_from_path(leaf, &path), tree.root());
            assert_ne!(
                root_from_path(&(*leaf + Fr::from(1u64)), &path),
                tree.root()
            );
        }
        assert_eq!(tree.position(&Fr::from(4u64)), Some(3));
        assert_eq!(tree.path(13), Err(TreeError::NoLeaf(13)));
    }

    #[test]
    fn wrong_sibling_or_index_changes_the_root() {
        let tree =
            IncrementalTree::from_leaves(8, &(1..=5u64).map(Fr::from).collect::<Vec<_>>()).unwrap();
        let mut path = tree.path(2).unwrap();
        path.siblings[3] += Fr::from(1u64);
        assert_ne!(root_from_path(&Fr::from(3u64), &path), tree.root());
        let mut path = tree.path(2).unwrap();
        path.index = 3;
        assert_ne!(root_from_path(&Fr::from(3u64), &path), tree.root());
    }

    #[test]
    fn building_level_by_level_is_appending_one_by_one() {
        let leaves: Vec<Fr> = (1..=17u64).map(|i| Fr::from(i * 7919)).collect();
        for len in 0..=16 {
            let mut appended = IncrementalTree::new(4);
            for leaf in &leaves[..len] {
                appended.append(*leaf).unwrap();
            }
            let built = IncrementalTree::from_leaves(4, &leaves[..len]).unwrap();
            assert_eq!(built.levels, appended.levels, "{len} leaves");
            assert_eq!(built.root(), naive_root(4, &leaves[..len]));
        }
        assert_eq!(
            IncrementalTree::from_leaves(4, &leaves).err(),
            Some(TreeError::Full(16))
        );
    }

    #[test]
    fn extending_in_any_two_parts_is_the_tree_of_all_the_leaves() {
        let leaves: Vec<Fr> = (1..=16u64).map(|i| Fr::from(i * 104_729)).collect();
        for len in 0..=16 {
            let whole = IncrementalTree::from_leaves(4, &leaves[..len]).unwrap();
            for split in 0..=len {
                let mut tree = IncrementalTree::from_leaves(4, &leaves[..split]).unwrap();
                assert_eq!(tree.extend(&leaves[split..len]), Ok(split as u64));
                assert_eq!(tree.levels, whole.levels, "{split} then {}", len - split);
                assert_eq!(tree.root(), naive_root(4, &leaves[..len]));
                for (i, leaf) in leaves[..len].iter().enumerate() {
                    let path = tree.path(i as u64).unwrap();
                    assert_eq!(root_from_path(leaf, &path), tree.root());
                }
            }
        }
        // Leaves that do not all fit: none is appended.
        let mut tree = IncrementalTree::from_leaves(2, &leaves[..3]).unwrap();
        let before = tree.levels.clone();
        assert_eq!(tree.extend(&leaves[3..5]), Err(TreeError::Full(4)));
        assert_eq!(tree.levels, before);
        assert_eq!(tree.extend(&[]), Ok(3));
        assert_eq!(tree.levels, before);
    }

    #[test]
    fn truncate_is_the_tree_of_the_prefix() {
        let leaves: Vec<Fr> = (1..=13u64).map(Fr::from).collect();
        let full = IncrementalTree::from_leaves(5, &leaves).unwrap();
        for len in 0..=leaves.len() {
            let mut tree = full.clone();
            tree.truncate(len as u64);
            let prefix = IncrementalTree::from_leaves(5, &leaves[..len]).unwrap();
            assert_eq!(tree.levels, prefix.levels, "prefix of {len}");
            assert_eq!(tree.root(), naive_root(5, &leaves[..len]));
            // Appending again gives the same tree as never having truncated.
            for leaf in &leaves[len..] {
                tree.append(*leaf).unwrap();
            }
            assert_eq!(tree.levels, full.levels);
        }
        let mut tree = full.clone();
        tree.truncate(99);
        assert_eq!(
            tree.levels, full.levels,
            "truncating past the end keeps all"
        );
    }

    #[test]
    fn set_matches_a_tree_built_with_the_new_leaf_and_undoes() {
        let leaves: Vec<Fr> = (1..=11u64).map(Fr::from).collect();
        let full = IncrementalTree::from_leaves(5, &leaves).unwrap();
        for index in 0..leaves.len() {
            let mut tree = full.clone();
            assert_eq!(tree.set(index as u64, Fr::from(0u64)), Ok(leaves[index]));
            let mut voided = leaves.clone();
            voided[index] = Fr::from(0u64);
            assert_eq!(tree.root(), naive_root(5, &voided), "void {index}");
            // Every other leaf's path proves against the new root; the voided one's leaf is 0.
            for (other, leaf) in voided.iter().enumerate() {
                let path = tree.path(other as u64).unwrap();
                assert_eq!(root_from_path(leaf, &path), tree.root());
            }
            assert_ne!(
                root_from_path(&leaves[index], &tree.path(index as u64).unwrap()),
                tree.root()
            );
            tree.set(index as u64, leaves[index]).unwrap();
            assert_eq!(tree.levels, full.levels, "undo {index}");
        }
        let mut tree = full.clone();
        assert_eq!(tree.set(11, Fr::from(0u64)), Err(TreeError::NoLeaf(11)));
        assert_eq!(tree.levels, full.levels);
    }

    #[test]
    fn fills_up() {
        let mut tree = IncrementalTree::new(2);
        for i in 0..4u64 {
            tree.append(Fr::from(i)).unwrap();
        }
        assert_eq!(tree.append(Fr::from(9u64)), Err(TreeError::Full(4)));
        assert_eq!(
            tree.root(),
            naive_root(2, &(0..4u64).map(Fr::from).collect::<Vec<_>>())
        );
    }
}
