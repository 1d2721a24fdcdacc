//! In-circuit twins of [`crate::settled`].

use super::poseidon::hash;
use crate::poseidon::Tag;
use ark_bn254::Fr;
use ark_r1cs_std::{fields::fp::FpVar, prelude::*};
use ark_relations::gr1cs::SynthesisError;

/// `Poseidon(SETTLED, nullifier, paid_total, rho, payers)`.
pub fn leaf(
    nullifier: &FpVar<Fr>,
    paid_total: &FpVar<Fr>,
    rho: &FpVar<Fr>,
    payers: &FpVar<Fr>,
) -> Result<FpVar<Fr>, SynthesisError> {
    hash(&[
        FpVar::Constant(Tag::Settled.to_field()),
        nullifier.clone(),
        paid_total.clone(),
        rho.clone(),
        payers.clone(),
    ])
}

/// `Poseidon(PAYERS, previous, policy_hash)`.
pub fn payers(previous: &FpVar<Fr>, policy_hash: &FpVar<Fr>) -> Result<FpVar<Fr>, SynthesisError> {
    hash(&[
        FpVar::Constant(Tag::Payers.to_field()),
        previous.clone(),
        policy_hash.clone(),
    ])
}

/// The payers commitment of `policy_hashes[..=i]` for the one `i` whose `last[i]` is set:
/// the circuit's fixed slots stand for a list of variable length. The whole chain is hashed
/// (`len − 1` steps) and one link selected (`len` products), so slots after `i` cannot change
/// the result. The caller enforces that exactly one `last[i]` is set (with none set the
/// result is 0).
pub fn payers_of(
    policy_hashes: &[FpVar<Fr>],
    last: &[Boolean<Fr>],
) -> Result<FpVar<Fr>, SynthesisError> {
    assert_eq!(policy_hashes.len(), last.len(), "one selector per slot");
    let mut link = policy_hashes[0].clone();
    let mut selected = FpVar::from(last[0].clone()) * &link;
    for (h, is_last) in policy_hashes.iter().zip(last).skip(1) {
        link = payers(&link, h)?;
        selected += FpVar::from(is_last.clone()) * &link;
    }
    Ok(selected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gadget::test_support::*;
    use crate::settled as native;

    fn hashes() -> [Fr; 3] {
        [Fr::from(0u64), -Fr::from(1u64), Fr::from(123_456u64)]
    }

    #[test]
    fn leaf_and_payers_agree_with_native() {
        let [a, b, c] = hashes();
        for (n, paid) in [(a, 0u64), (b, u64::MAX), (c, (1 << 44) - 1)] {
            for mode in MODES {
                let cs = cs();
                let [nv, pv, rv, yv] = [n, Fr::from(paid), b, c]
                    .map(|x| FpVar::new_variable(cs.clone(), || Ok(x), mode).unwrap());
                assert_agrees(
                    &cs,
                    mode,
                    &leaf(&nv, &pv, &rv, &yv).unwrap(),
                    native::leaf(&n, paid, &b, &c),
                );
                assert_agrees(
                    &cs,
                    mode,
                    &payers(&nv, &yv).unwrap(),
                    native::payers(&n, &c),
                );
            }
        }
    }

    #[test]
    fn payers_of_agrees_with_native_for_every_length() {
        let h = hashes();
        for len in 1..=h.len() {
            for mode in MODES {
                let cs = cs();
                let hv: Vec<FpVar<Fr>> = h
                    .iter()
                    .map(|x| FpVar::new_variable(cs.clone(), || Ok(*x), mode).unwrap())
                    .collect();
                let last: Vec<Boolean<Fr>> = (0..h.len())
                    .map(|i| Boolean::new_variable(cs.clone(), || Ok(i + 1 == len), mode).unwrap())
                    .collect();
                assert_agrees(
                    &cs,
                    mode,
                    &payers_of(&hv, &last).unwrap(),
                    native::payers_of(&h[..len]).unwrap(),
                );
            }
        }
    }

    #[test]
    fn pins_constraint_counts() {
        let cs = cs();
        let [a, b, c] = hashes().map(|x| FpVar::new_witness(cs.clone(), || Ok(x)).unwrap());
        let _ = leaf(&a, &b, &c, &a).unwrap();
        // Poseidon(5): (8 full rounds x 6 + 60 partial) x 3, less the two round-0 S-boxes on
        // constants (the capacity element and the tag).
        assert_eq!(cs.num_constraints(), 324 - 6);
        let cs = crate::gadget::test_support::cs();
        let hv = hashes().map(|x| FpVar::new_witness(cs.clone(), || Ok(x)).unwrap());
        let last =
            [false, true, false].map(|x| Boolean::new_witness(cs.clone(), || Ok(x)).unwrap());
        let _ = payers_of(&hv, &last).unwrap();
        // Three booleans, two Poseidon(3) steps with a constant tag, three products.
        assert_eq!(cs.num_constraints(), 3 + 2 * 258 + 3);
    }

    #[test]
    fn a_later_slot_or_another_selection_is_unsatisfiable() {
        let h = hashes();
        let want = native::payers_of(&h[..2]).unwrap();
        for (hashes, last) in [
            ([h[0], h[1], h[2]], [false, true, false]),
            ([h[0], h[1], h[2]], [false, false, true]),
            ([h[0], h[2], h[1]], [false, true, false]),
            ([h[0], h[1], h[2]], [false, false, false]),
        ] {
            let cs = cs();
            let hv = hashes.map(|x| FpVar::new_witness(cs.clone(), || Ok(x)).unwrap());
            let lv = last.map(|x| Boolean::new_witness(cs.clone(), || Ok(x)).unwrap());
            let public = FpVar::new_input(cs.clone(), || Ok(want)).unwrap();
            payers_of(&hv, &lv).unwrap().enforce_equal(&public).unwrap();
            let honest = hashes == h && last == [false, true, false];
            assert_eq!(cs.is_satisfied().unwrap(), honest, "{last:?}");
        }
    }
}
