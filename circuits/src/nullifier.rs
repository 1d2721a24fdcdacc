//! Nullifiers: one per invoice, the same at every insurer, so a second claim of an invoice is
//! seen as spent anywhere on the ledger; only the patient (holder of `sk`) can compute it.

use crate::{poseidon, poseidon::Tag};
use ark_bn254::Fr;

/// `nullifier = Poseidon(NULLIFIER, sk, serial)`.
pub fn nullifier(sk: &Fr, serial: &Fr) -> Fr {
    poseidon::hash(&[Tag::Nullifier.to_field(), *sk, *serial])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depends_on_key_and_serial() {
        let (sk, serial) = (Fr::from(3u64), Fr::from(4u64));
        let n = nullifier(&sk, &serial);
        assert_ne!(n, nullifier(&Fr::from(5u64), &serial));
        assert_ne!(n, nullifier(&sk, &Fr::from(5u64)));
        // Domain separation: not the same as the other tagged 2-input constructions.
        assert_ne!(n, crate::keys::claimant_tag(&sk, 4));
    }
}
