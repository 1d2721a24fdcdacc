//! Poseidon in R1CS: the twin of [`crate::poseidon::hash`], 3 constraints per S-box
//! (x², x⁴, x⁵); round constants and the MDS mix are linear and cost nothing.

use crate::poseidon::params;
use ark_bn254::Fr;
use ark_r1cs_std::{fields::fp::FpVar, prelude::*};
use ark_relations::gr1cs::SynthesisError;

pub fn hash(inputs: &[FpVar<Fr>]) -> Result<FpVar<Fr>, SynthesisError> {
    let p = params(inputs.len());
    let mut state = Vec::with_capacity(p.width());
    state.push(FpVar::zero());
    state.extend_from_slice(inputs);
    for round in 0..p.rounds() {
        for (s, c) in state.iter_mut().zip(&p.ark[round]) {
            *s += *c;
        }
        if p.is_full_round(round) {
            for s in state.iter_mut() {
                *s = sbox(s)?;
            }
        } else {
            state[0] = sbox(&state[0])?;
        }
        state = p
            .mds
            .iter()
            .map(|row| row.iter().zip(&state).map(|(m, s)| s * *m).sum())
            .collect();
    }
    Ok(state.swap_remove(0))
}

fn sbox(x: &FpVar<Fr>) -> Result<FpVar<Fr>, SynthesisError> {
    let x4 = x.square()?.square()?;
    Ok(x4 * x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gadget::test_support::*;
    use crate::poseidon as native;

    #[test]
    fn agrees_with_native_for_every_arity_and_mode() {
        for n in 1..=native::MAX_INPUTS {
            let values: Vec<Fr> = (0..n as u64).map(|i| Fr::from(i * 7 + 1)).collect();
            let want = native::hash(&values);
            for mode in MODES {
                let cs = cs();
                let vars: Vec<FpVar<Fr>> = values
                    .iter()
                    .map(|v| FpVar::new_variable(cs.clone(), || Ok(*v), mode).unwrap())
                    .collect();
                assert_agrees(&cs, mode, &hash(&vars).unwrap(), want);
            }
        }
    }

    #[test]
    fn pins_constraint_counts() {
        // 3 per S-box: (8 full rounds x width + partial rounds) x 3, less the
        // first S-box, whose input (the zero capacity element plus a constant) is constant.
        for (n, expected) in [(2, 240), (6, 354), (9, 417), (16, 609)] {
            let cs = cs();
            let vars: Vec<FpVar<Fr>> = (0..n)
                .map(|_| FpVar::new_witness(cs.clone(), || Ok(Fr::from(3u64))).unwrap())
                .collect();
            let _ = hash(&vars).unwrap();
            assert_eq!(cs.num_constraints(), expected, "{n} inputs");
        }
    }

    #[test]
    fn a_wrong_output_is_unsatisfiable() {
        let cs = cs();
        let vars: Vec<FpVar<Fr>> = [1u64, 2]
            .iter()
            .map(|v| FpVar::new_witness(cs.clone(), || Ok(Fr::from(*v))).unwrap())
            .collect();
        let out = hash(&vars).unwrap();
        let claimed = FpVar::new_input(cs.clone(), || {
            Ok(native::hash(&[Fr::from(1u64), Fr::from(3u64)]))
        })
        .unwrap();
        out.enforce_equal(&claimed).unwrap();
        assert!(!cs.is_satisfied().unwrap());
    }
}
