//! In-circuit twins of [`crate::tree`].

use super::{alloc, poseidon::hash};
use crate::tree::MerklePath;
use ark_bn254::Fr;
use ark_r1cs_std::{alloc::AllocationMode, fields::fp::FpVar, prelude::*};
use ark_relations::gr1cs::{Namespace, SynthesisError};
use core::borrow::Borrow;

/// A path in the circuit. Direction bits are field elements here; [`root_from_path`]
/// enforces that each is 0 or 1, so no allocation route can smuggle in another value.
#[derive(Clone)]
pub struct MerklePathVar {
    pub siblings: Vec<FpVar<Fr>>,
    pub directions: Vec<FpVar<Fr>>,
}

impl AllocVar<MerklePath, Fr> for MerklePathVar {
    fn new_variable<T: Borrow<MerklePath>>(
        cs: impl Into<Namespace<Fr>>,
        f: impl FnOnce() -> Result<T, SynthesisError>,
        mode: AllocationMode,
    ) -> Result<Self, SynthesisError> {
        let ns = cs.into();
        let v = f()?;
        let path = v.borrow();
        let fr_of = |b: bool| Fr::from(u64::from(b));
        Ok(Self {
            siblings: path
                .siblings
                .iter()
                .map(|s| alloc(&ns, Ok(*s), mode))
                .collect::<Result<_, _>>()?,
            directions: path
                .directions()
                .into_iter()
                .map(|d| alloc(&ns, Ok(fr_of(d)), mode))
                .collect::<Result<_, _>>()?,
        })
    }
}

/// `Poseidon(left, right)`.
pub fn node(left: &FpVar<Fr>, right: &FpVar<Fr>) -> Result<FpVar<Fr>, SynthesisError> {
    hash(&[left.clone(), right.clone()])
}

/// The root implied by `leaf` and `path`: per level one booleanity constraint, one for the
/// conditional swap, and the node hash.
pub fn root_from_path(leaf: &FpVar<Fr>, path: &MerklePathVar) -> Result<FpVar<Fr>, SynthesisError> {
    let mut cur = leaf.clone();
    for (sib, dir) in path.siblings.iter().zip(&path.directions) {
        // dir * (dir - 1) == 0
        dir.mul_equals(&(dir - Fr::from(1u64)), &FpVar::zero())?;
        // right child when dir = 1: (left, right) = (sib, cur), else (cur, sib).
        let swap = dir * &(sib - &cur);
        let left = &cur + &swap;
        let right = sib - &swap;
        cur = node(&left, &right)?;
    }
    Ok(cur)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gadget::test_support::*;
    use crate::tree::{self as native, IncrementalTree};

    fn tree() -> IncrementalTree {
        IncrementalTree::from_leaves(6, &(1..=11u64).map(Fr::from).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn root_agrees_with_native_at_edges() {
        let t = tree();
        for index in [0u64, 1, 10] {
            let path = t.path(index).unwrap();
            let leaf = Fr::from(index + 1);
            for mode in MODES {
                let cs = cs();
                let l = FpVar::new_variable(cs.clone(), || Ok(leaf), mode).unwrap();
                let p = MerklePathVar::new_variable(cs.clone(), || Ok(path.clone()), mode).unwrap();
                assert_agrees(
                    &cs,
                    mode,
                    &root_from_path(&l, &p).unwrap(),
                    native::root_from_path(&leaf, &path),
                );
                assert_eq!(native::root_from_path(&leaf, &path), t.root());
            }
        }
    }

    #[test]
    fn pins_constraint_count() {
        let cs = cs();
        let path = IncrementalTree::from_leaves(32, &[Fr::from(1u64)])
            .unwrap()
            .path(0)
            .unwrap();
        let l = FpVar::new_witness(cs.clone(), || Ok(Fr::from(1u64))).unwrap();
        let p = MerklePathVar::new_witness(cs.clone(), || Ok(path)).unwrap();
        let _ = root_from_path(&l, &p).unwrap();
        assert_eq!(cs.num_constraints(), 32 * (240 + 2));
    }

    /// Path soundness: the circuit with a tampered witness must not reach the real root.
    fn reaches_root(
        leaf: Fr,
        p: impl FnOnce(&ark_relations::gr1cs::ConstraintSystemRef<Fr>) -> MerklePathVar,
    ) -> bool {
        let t = tree();
        let cs = cs();
        let l = FpVar::new_witness(cs.clone(), || Ok(leaf)).unwrap();
        let p = p(&cs);
        let root = FpVar::new_input(cs.clone(), || Ok(t.root())).unwrap();
        root_from_path(&l, &p)
            .unwrap()
            .enforce_equal(&root)
            .unwrap();
        cs.is_satisfied().unwrap()
    }

    #[test]
    fn tampered_paths_are_unsatisfiable() {
        let path = tree().path(4).unwrap();
        let honest = |cs: &ark_relations::gr1cs::ConstraintSystemRef<Fr>| {
            MerklePathVar::new_witness(cs.clone(), || Ok(path.clone())).unwrap()
        };
        assert!(reaches_root(Fr::from(5u64), honest));
        assert!(!reaches_root(Fr::from(6u64), honest), "wrong leaf");
        assert!(
            !reaches_root(Fr::from(5u64), |cs| {
                let mut p = honest(cs);
                p.siblings[2] = FpVar::new_witness(cs.clone(), || Ok(Fr::from(99u64))).unwrap();
                p
            }),
            "wrong sibling"
        );
        assert!(
            !reaches_root(Fr::from(5u64), |cs| {
                let mut p = honest(cs);
                p.directions[0] = FpVar::new_witness(cs.clone(), || Ok(Fr::from(1u64))).unwrap();
                p
            }),
            "flipped direction"
        );
    }

    #[test]
    fn non_boolean_direction_is_unsatisfiable() {
        // With d = 2 the swap gives left = 2·sib − cur, right = 2·cur − sib: a prover could
        // aim at any root. Only the booleanity constraint stops it.
        let cs = cs();
        let l = FpVar::new_witness(cs.clone(), || Ok(Fr::from(5u64))).unwrap();
        let p = MerklePathVar {
            siblings: vec![FpVar::new_witness(cs.clone(), || Ok(Fr::from(9u64))).unwrap()],
            directions: vec![FpVar::new_witness(cs.clone(), || Ok(Fr::from(2u64))).unwrap()],
        };
        let got = root_from_path(&l, &p).unwrap();
        let two_sib_minus_cur = Fr::from(13u64);
        assert_eq!(
            got.value().unwrap(),
            native::node(&two_sib_minus_cur, &Fr::from(1u64))
        );
        assert!(!cs.is_satisfied().unwrap());
        assert!(cs.which_is_unsatisfied().unwrap().is_some());
    }
}
