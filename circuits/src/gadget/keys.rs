//! In-circuit twins of [`crate::keys`].

use super::poseidon::hash;
use crate::poseidon::Tag;
use ark_bn254::Fr;
use ark_r1cs_std::fields::fp::FpVar;
use ark_relations::gr1cs::SynthesisError;

/// `Poseidon(PK, sk)`.
pub fn public_key(sk: &FpVar<Fr>) -> Result<FpVar<Fr>, SynthesisError> {
    hash(&[FpVar::Constant(Tag::Pk.to_field()), sk.clone()])
}

/// `Poseidon(CLAIMANT, sk, insurer_id)`.
pub fn claimant_tag(sk: &FpVar<Fr>, insurer_id: &FpVar<Fr>) -> Result<FpVar<Fr>, SynthesisError> {
    hash(&[
        FpVar::Constant(Tag::Claimant.to_field()),
        sk.clone(),
        insurer_id.clone(),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gadget::test_support::*;
    use crate::keys as native;
    use ark_r1cs_std::prelude::*;

    #[test]
    fn agree_with_native() {
        for (sk, insurer) in [
            (Fr::from(0u64), 0u32),
            (-Fr::from(1u64), u32::MAX),
            (Fr::from(77u64), 2),
        ] {
            for mode in MODES {
                let cs = cs();
                let skv = FpVar::new_variable(cs.clone(), || Ok(sk), mode).unwrap();
                let iv = FpVar::new_variable(cs.clone(), || Ok(Fr::from(insurer)), mode).unwrap();
                assert_agrees(
                    &cs,
                    mode,
                    &public_key(&skv).unwrap(),
                    native::public_key(&sk),
                );
                assert_agrees(
                    &cs,
                    mode,
                    &claimant_tag(&skv, &iv).unwrap(),
                    native::claimant_tag(&sk, insurer),
                );
            }
        }
    }

    #[test]
    fn wrong_key_is_unsatisfiable() {
        let cs = cs();
        let sk = FpVar::new_witness(cs.clone(), || Ok(Fr::from(5u64))).unwrap();
        let pk = FpVar::new_input(cs.clone(), || Ok(native::public_key(&Fr::from(6u64)))).unwrap();
        public_key(&sk).unwrap().enforce_equal(&pk).unwrap();
        assert!(!cs.is_satisfied().unwrap());
        assert_eq!(cs.num_constraints(), 237 + 1);
    }
}
