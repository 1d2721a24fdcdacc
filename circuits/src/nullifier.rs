//! Nullifiers: one per invoice and rank, the same at every insurer, so a second claim of an
//! invoice (or of one rank of its continuation claims) is seen as spent anywhere on the
//! ledger; only the patient (holder of `sk`) can compute it.
//!
//! The rank `k` is 0 for the primary claim on an invoice and 1, 2, 3 for its continuation
//! claims (statement v2, coordination of benefits); `rho_k` blinds each rank's settled leaf.

use crate::{poseidon, poseidon::Tag};
use ark_bn254::Fr;

/// `nullifier = Poseidon(NULLIFIER, sk, serial)`: the primary claim's (rank 0).
pub fn nullifier(sk: &Fr, serial: &Fr) -> Fr {
    poseidon::hash(&[Tag::Nullifier.to_field(), *sk, *serial])
}

/// `nullifier_k = Poseidon(NULLIFIER, sk, serial, k)` for a continuation rank `k >= 1`;
/// rank 0 is the primary [`nullifier`]. The two arities keep the ranks apart.
pub fn nullifier_k(sk: &Fr, serial: &Fr, k: u8) -> Fr {
    if k == 0 {
        return nullifier(sk, serial);
    }
    poseidon::hash(&[Tag::Nullifier.to_field(), *sk, *serial, Fr::from(k)])
}

/// `rho_k = Poseidon(RHO, sk, serial, k)` for `k >= 1`, and 0 for the primary claim (whose
/// settled leaf the ledger computes from public values): it hides a continuation's low-entropy
/// `paid_total` inside its settled leaf.
pub fn rho_k(sk: &Fr, serial: &Fr, k: u8) -> Fr {
    if k == 0 {
        return Fr::from(0u64);
    }
    poseidon::hash(&[Tag::Rho.to_field(), *sk, *serial, Fr::from(k)])
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

    #[test]
    fn ranks_are_distinct_and_rank_zero_is_the_primary() {
        let (sk, serial) = (Fr::from(3u64), Fr::from(4u64));
        assert_eq!(nullifier_k(&sk, &serial, 0), nullifier(&sk, &serial));
        assert_eq!(rho_k(&sk, &serial, 0), Fr::from(0u64));
        let mut seen = vec![nullifier(&sk, &serial)];
        for k in 1..=u8::MAX {
            let (n, rho) = (nullifier_k(&sk, &serial, k), rho_k(&sk, &serial, k));
            assert_eq!(
                n,
                poseidon::hash(&[Fr::from(2u64), sk, serial, Fr::from(k)])
            );
            assert!(!seen.contains(&n) && !seen.contains(&rho), "rank {k}");
            // The RHO tag keeps the blinding apart from the nullifier of the same rank.
            assert_ne!(rho, n);
            seen.extend([n, rho]);
        }
        assert_ne!(
            nullifier_k(&sk, &serial, 1),
            nullifier_k(&Fr::from(5u64), &serial, 1)
        );
        assert_ne!(rho_k(&sk, &serial, 1), rho_k(&sk, &Fr::from(5u64), 1));
    }
}
