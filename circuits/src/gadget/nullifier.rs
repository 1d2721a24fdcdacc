//! In-circuit twins of [`crate::nullifier`].

use super::poseidon::hash;
use crate::poseidon::Tag;
use ark_bn254::Fr;
use ark_r1cs_std::{fields::fp::FpVar, prelude::*};
use ark_relations::gr1cs::SynthesisError;

/// `Poseidon(NULLIFIER, sk, serial)`.
pub fn nullifier(sk: &FpVar<Fr>, serial: &FpVar<Fr>) -> Result<FpVar<Fr>, SynthesisError> {
    hash(&[
        FpVar::Constant(Tag::Nullifier.to_field()),
        sk.clone(),
        serial.clone(),
    ])
}

/// `Poseidon(NULLIFIER, sk, serial, k)`, or [`nullifier`] where `k = 0`. Both hashes are
/// computed and one is selected, so `k` may be a variable (the continuation circuit's rank
/// and the rank before it).
pub fn nullifier_k(
    sk: &FpVar<Fr>,
    serial: &FpVar<Fr>,
    k: &FpVar<Fr>,
) -> Result<FpVar<Fr>, SynthesisError> {
    let ranked = hash(&[
        FpVar::Constant(Tag::Nullifier.to_field()),
        sk.clone(),
        serial.clone(),
        k.clone(),
    ])?;
    k.is_zero()?.select(&nullifier(sk, serial)?, &ranked)
}

/// `Poseidon(RHO, sk, serial, k)`, or 0 where `k = 0`.
pub fn rho_k(
    sk: &FpVar<Fr>,
    serial: &FpVar<Fr>,
    k: &FpVar<Fr>,
) -> Result<FpVar<Fr>, SynthesisError> {
    let rho = hash(&[
        FpVar::Constant(Tag::Rho.to_field()),
        sk.clone(),
        serial.clone(),
        k.clone(),
    ])?;
    k.is_zero()?.select(&FpVar::zero(), &rho)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gadget::test_support::*;
    use crate::nullifier as native;

    #[test]
    fn agrees_with_native() {
        for (sk, serial) in [(0u64, 0u64), (1, u64::MAX), (12345, 678)] {
            let (sk, serial) = (Fr::from(sk), Fr::from(serial));
            for mode in MODES {
                let cs = cs();
                let a = FpVar::new_variable(cs.clone(), || Ok(sk), mode).unwrap();
                let b = FpVar::new_variable(cs.clone(), || Ok(serial), mode).unwrap();
                assert_agrees(
                    &cs,
                    mode,
                    &nullifier(&a, &b).unwrap(),
                    native::nullifier(&sk, &serial),
                );
            }
        }
    }

    #[test]
    fn ranked_agree_with_native_at_every_rank() {
        let (sk, serial) = (-Fr::from(1u64), Fr::from(678u64));
        for k in [0u8, 1, 2, 3, 4, u8::MAX] {
            for mode in MODES {
                let cs = cs();
                let a = FpVar::new_variable(cs.clone(), || Ok(sk), mode).unwrap();
                let b = FpVar::new_variable(cs.clone(), || Ok(serial), mode).unwrap();
                let kv = FpVar::new_variable(cs.clone(), || Ok(Fr::from(k)), mode).unwrap();
                assert_agrees(
                    &cs,
                    mode,
                    &nullifier_k(&a, &b, &kv).unwrap(),
                    native::nullifier_k(&sk, &serial, k),
                );
                assert_agrees(
                    &cs,
                    mode,
                    &rho_k(&a, &b, &kv).unwrap(),
                    native::rho_k(&sk, &serial, k),
                );
            }
        }
    }

    #[test]
    fn pins_ranked_constraint_counts() {
        let cs = cs();
        let [sk, serial, k] =
            [5u64, 8, 2].map(|x| FpVar::new_witness(cs.clone(), || Ok(Fr::from(x))).unwrap());
        let _ = nullifier_k(&sk, &serial, &k).unwrap();
        // Poseidon(4) with a constant tag (294), Poseidon(3) (258), k = 0 (2), the select (1).
        assert_eq!(cs.num_constraints(), 294 + 258 + 2 + 1);
        let cs = crate::gadget::test_support::cs();
        let [sk, serial, k] =
            [5u64, 8, 2].map(|x| FpVar::new_witness(cs.clone(), || Ok(Fr::from(x))).unwrap());
        let _ = rho_k(&sk, &serial, &k).unwrap();
        assert_eq!(cs.num_constraints(), 294 + 2 + 1);
    }

    #[test]
    fn another_serial_is_unsatisfiable() {
        let cs = cs();
        let sk = FpVar::new_witness(cs.clone(), || Ok(Fr::from(5u64))).unwrap();
        let serial = FpVar::new_witness(cs.clone(), || Ok(Fr::from(8u64))).unwrap();
        let public = FpVar::new_input(cs.clone(), || {
            Ok(native::nullifier(&Fr::from(5u64), &Fr::from(9u64)))
        })
        .unwrap();
        nullifier(&sk, &serial)
            .unwrap()
            .enforce_equal(&public)
            .unwrap();
        assert!(!cs.is_satisfied().unwrap());
    }

    #[test]
    fn another_rank_is_unsatisfiable() {
        // The rank-1 nullifier (and blinding) proven with rank 0 or 2 in the witness.
        let (sk, serial) = (Fr::from(5u64), Fr::from(8u64));
        for k in [0u64, 2] {
            for (gadget, want) in [
                (
                    nullifier_k as fn(&_, &_, &_) -> _,
                    native::nullifier_k(&sk, &serial, 1),
                ),
                (rho_k, native::rho_k(&sk, &serial, 1)),
            ] {
                let cs = cs();
                let [a, b, kv] = [sk, serial, Fr::from(k)]
                    .map(|x| FpVar::new_witness(cs.clone(), || Ok(x)).unwrap());
                let public = FpVar::new_input(cs.clone(), || Ok(want)).unwrap();
                gadget(&a, &b, &kv).unwrap().enforce_equal(&public).unwrap();
                assert!(!cs.is_satisfied().unwrap(), "rank {k}");
            }
        }
    }
}
