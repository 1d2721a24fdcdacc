//! In-circuit twin of [`crate::nullifier`].

use super::poseidon::hash;
use crate::poseidon::Tag;
use ark_bn254::Fr;
use ark_r1cs_std::fields::fp::FpVar;
use ark_relations::gr1cs::SynthesisError;

/// `Poseidon(NULLIFIER, sk, serial)`.
pub fn nullifier(sk: &FpVar<Fr>, serial: &FpVar<Fr>) -> Result<FpVar<Fr>, SynthesisError> {
    hash(&[
        FpVar::Constant(Tag::Nullifier.to_field()),
        sk.clone(),
        serial.clone(),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gadget::test_support::*;
    use crate::nullifier as native;
    use ark_r1cs_std::prelude::*;

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
}
