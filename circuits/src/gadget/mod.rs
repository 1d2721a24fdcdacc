//! In-circuit twins of the native statement, module for module: `gadget::X::f` computes
//! in R1CS what `crate::X::f` computes natively, and the tests of each module check that
//! the two agree for constant, public-input and witness allocations.

pub mod claim;
pub mod continuation;
pub mod invoice;
pub mod keys;
pub mod nullifier;
pub mod policy;
pub mod poseidon;
pub mod settled;
pub mod tree;

use ark_bn254::Fr;
use ark_ff::Field;
use ark_r1cs_std::{alloc::AllocationMode, fields::fp::FpVar, prelude::*};
use ark_relations::gr1cs::{Namespace, SynthesisError};

/// Allocates one field element in `mode`, passing a missing value through (key generation
/// runs without values).
fn alloc(
    cs: &Namespace<Fr>,
    value: Result<Fr, SynthesisError>,
    mode: AllocationMode,
) -> Result<FpVar<Fr>, SynthesisError> {
    FpVar::new_variable(cs.cs(), || value, mode)
}

/// Enforces `0 <= x < 2^n` and returns the little-endian bits (n + 1 constraints). Every
/// comparison in the statement goes through here, so no value can wrap modulo r.
fn bits(x: &FpVar<Fr>, n: usize) -> Result<Vec<Boolean<Fr>>, SynthesisError> {
    Ok(x.to_bits_le_with_top_bits_zero(n)?.0)
}

/// Enforces `a <= b` for values already known to be below 2^n: `b - a` must fit in n bits.
fn enforce_le(a: &FpVar<Fr>, b: &FpVar<Fr>, n: usize) -> Result<(), SynthesisError> {
    bits(&(b - a), n).map(drop)
}

/// `a >= b` for values below 2^n (n + 2 constraints): bit n of `a - b + 2^n`.
fn is_ge(a: &FpVar<Fr>, b: &FpVar<Fr>, n: usize) -> Result<Boolean<Fr>, SynthesisError> {
    let shifted = a - b + Fr::from(2u64).pow([n as u64]);
    Ok(bits(&shifted, n + 1)?.swap_remove(n))
}

/// `min(a, b)` for values below 2^n (n + 3 constraints): `b` where `a >= b`, else `a`.
fn min(a: &FpVar<Fr>, b: &FpVar<Fr>, n: usize) -> Result<FpVar<Fr>, SynthesisError> {
    is_ge(a, b, n)?.select(b, a)
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;
    use ark_relations::gr1cs::{ConstraintSystem, ConstraintSystemRef};

    pub const MODES: [AllocationMode; 3] = [
        AllocationMode::Constant,
        AllocationMode::Input,
        AllocationMode::Witness,
    ];

    pub fn cs() -> ConstraintSystemRef<Fr> {
        ConstraintSystem::<Fr>::new_ref()
    }

    /// A twin test for one mode: the gadget's value must equal the native one, a constant
    /// allocation must cost no constraints, and the system must be satisfied.
    pub fn assert_agrees(
        cs: &ConstraintSystemRef<Fr>,
        mode: AllocationMode,
        got: &FpVar<Fr>,
        want: Fr,
    ) {
        assert_eq!(got.value().unwrap(), want, "{mode:?}");
        assert!(cs.is_satisfied().unwrap(), "{mode:?}");
        if mode == AllocationMode::Constant {
            assert_eq!(cs.num_constraints(), 0, "constants need no constraints");
            assert!(got.is_constant());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;

    #[test]
    fn bits_edges() {
        for (x, n, ok) in [
            (0u64, 40, true),
            ((1 << 40) - 1, 40, true),
            (1 << 40, 40, false),
        ] {
            let cs = cs();
            let v = FpVar::new_witness(cs.clone(), || Ok(Fr::from(x))).unwrap();
            bits(&v, n).unwrap();
            assert_eq!(cs.is_satisfied().unwrap(), ok, "{x} in {n} bits");
            assert_eq!(cs.num_constraints(), n + 1);
        }
        // A "negative" value (r - 1) is huge, not small.
        let cs = cs();
        let v = FpVar::new_witness(cs.clone(), || Ok(-Fr::from(1u64))).unwrap();
        bits(&v, 60).unwrap();
        assert!(!cs.is_satisfied().unwrap());
    }

    #[test]
    fn comparisons() {
        for (a, b) in [
            (0u64, 0u64),
            (5, 4),
            (4, 5),
            ((1 << 44) - 1, 0),
            (0, (1 << 44) - 1),
        ] {
            let cs = cs();
            let av = FpVar::new_witness(cs.clone(), || Ok(Fr::from(a))).unwrap();
            let bv = FpVar::new_witness(cs.clone(), || Ok(Fr::from(b))).unwrap();
            assert_eq!(is_ge(&av, &bv, 44).unwrap().value().unwrap(), a >= b);
            assert_eq!(
                min(&av, &bv, 44).unwrap().value().unwrap(),
                Fr::from(a.min(b))
            );
            enforce_le(&av, &bv, 44).unwrap();
            assert_eq!(cs.is_satisfied().unwrap(), a <= b, "{a} <= {b}");
        }
    }
}
