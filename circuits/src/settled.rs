//! The settled tree's leaves (statement v2, coordination of benefits).
//!
//! The ledger appends one leaf per settled claim to a second append-only tree, hashed as the
//! invoice tree ([`crate::tree`]). A leaf commits to how much has been paid on an invoice so
//! far and by which policies, so that the next payer's continuation claim can prove both
//! without revealing which claim it continues:
//! `Poseidon(SETTLED, nullifier_k, paid_total_k, rho_k, payers_k)`.

use crate::{claim, poseidon, poseidon::Tag};
use ark_bn254::Fr;

/// `Poseidon(SETTLED, nullifier, paid_total, rho, payers)`: the settled leaf of the claim of
/// rank `k` on an invoice, with `nullifier = nullifier_k`, `paid_total` the payouts of ranks
/// `0..=k` together (fen), `rho = rho_k` and `payers = payers_k`.
pub fn leaf(nullifier: &Fr, paid_total: u64, rho: &Fr, payers: &Fr) -> Fr {
    poseidon::hash(&[
        Tag::Settled.to_field(),
        *nullifier,
        Fr::from(paid_total),
        *rho,
        *payers,
    ])
}

/// The settled leaf of a primary claim, which the ledger computes from its public inputs:
/// `Poseidon(SETTLED, nullifier, claim_amount, 0, policy_hash)` (`rho_0 = 0`,
/// `payers_0 = policy_hash`).
pub fn primary_leaf(public: &claim::PublicInputs) -> Fr {
    leaf(
        &public.nullifier,
        public.claim_amount,
        &Fr::from(0u64),
        &public.policy_hash,
    )
}

/// One step of the payers commitment: `payers_k = Poseidon(PAYERS, payers_{k-1},
/// policy_hash_k)`.
pub fn payers(previous: &Fr, policy_hash: &Fr) -> Fr {
    poseidon::hash(&[Tag::Payers.to_field(), *previous, *policy_hash])
}

/// `payers_{n-1}` of the policy hashes `h_0 … h_{n-1}` of ranks `0..n`, in rank order:
/// `payers_0 = h_0`, then [`payers`] step by step. `None` for no hashes: an invoice has no
/// payers before its primary claim.
pub fn payers_of(policy_hashes: &[Fr]) -> Option<Fr> {
    let (first, rest) = policy_hashes.split_first()?;
    Some(rest.iter().fold(*first, |p, h| payers(&p, h)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nullifier;

    #[test]
    fn payers_chain_in_rank_order() {
        let h: Vec<Fr> = (10..14u64).map(Fr::from).collect();
        assert_eq!(payers_of(&[]), None);
        assert_eq!(
            payers_of(&h[..1]),
            Some(h[0]),
            "payers_0 is the primary's hash"
        );
        assert_eq!(payers_of(&h[..2]), Some(payers(&h[0], &h[1])));
        assert_eq!(
            payers_of(&h),
            Some(payers(&payers(&payers(&h[0], &h[1]), &h[2]), &h[3]))
        );
        // The order of the payers is committed to.
        assert_ne!(payers_of(&[h[1], h[0]]), payers_of(&h[..2]));
        assert_eq!(
            payers(&h[0], &h[1]),
            poseidon::hash(&[Fr::from(9u64), h[0], h[1]])
        );
    }

    #[test]
    fn the_primary_leaf_is_rank_zero() {
        let (sk, serial) = (Fr::from(3u64), Fr::from(4u64));
        let public = claim::PublicInputs {
            invoice_root: Fr::from(1u64),
            nullifier: nullifier::nullifier(&sk, &serial),
            claimant_tag: Fr::from(2u64),
            policy_hash: Fr::from(5u64),
            claim_amount: 7_760,
            insurer_id: 2,
        };
        let leaf0 = primary_leaf(&public);
        assert_eq!(
            leaf0,
            leaf(
                &nullifier::nullifier_k(&sk, &serial, 0),
                7_760,
                &nullifier::rho_k(&sk, &serial, 0),
                &payers_of(&[public.policy_hash]).unwrap(),
            )
        );
        assert_eq!(
            leaf0,
            poseidon::hash(&[
                Fr::from(7u64),
                public.nullifier,
                Fr::from(7_760u64),
                Fr::from(0u64),
                Fr::from(5u64)
            ])
        );
        // Every part is bound.
        assert_ne!(
            leaf(&public.nullifier, 7_761, &Fr::from(0u64), &Fr::from(5u64)),
            leaf0
        );
        assert_ne!(
            leaf(&public.nullifier, 7_760, &Fr::from(1u64), &Fr::from(5u64)),
            leaf0
        );
        assert_ne!(
            leaf(&public.nullifier, 7_760, &Fr::from(0u64), &Fr::from(6u64)),
            leaf0
        );
    }
}
