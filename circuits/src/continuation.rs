//! Continuation claims (statement v2, coordination of benefits), natively: their public
//! inputs, witness and rules.
//!
//! A patient insured by several payers is reimbursed by each in turn. The first claim on an
//! invoice is the primary claim ([`crate::claim`], rank 0); each later payer's is a
//! continuation of rank `k` in `1..=MAX_RANK`, proven with a second circuit
//! (`gadget::continuation`). It proves that the claim of rank `k − 1` on the same invoice is
//! settled (its leaf is in the settled tree, [`crate::settled`]), pays by the next payer's
//! own policy but never more than what is left of the invoice's total, and appends its own
//! leaf, so that the payouts of all ranks add up to at most the total and no policy pays twice.
//!
//! [`ContinuationWitness::public_inputs`] is the native twin of the circuit: it checks every
//! rule and names the first one broken.

use crate::{
    claim::{ClaimWitness, PublicInputs, RuleViolation, Shape},
    field, invoice,
    nullifier::{nullifier_k, rho_k},
    policy::{Payout, Policy},
    settled,
    tree::{self, MerklePath},
};
use ark_bn254::Fr;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// The highest rank: at most four payers per invoice (the primary and three continuations).
pub const MAX_RANK: u8 = 3;

/// The public inputs of a continuation proof. [`ContinuationPublicInputs::to_field_elements`]
/// is the one place that fixes their order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ContinuationPublicInputs {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Field))]
    #[serde(with = "field::serde_fr")]
    pub invoice_root: Fr,
    /// A root of the settled tree, holding the previous rank's leaf.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Field))]
    #[serde(with = "field::serde_fr")]
    pub settled_root: Fr,
    /// `nullifier_k` of this claim's rank `k`.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Field))]
    #[serde(with = "field::serde_fr")]
    pub nullifier: Fr,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Field))]
    #[serde(with = "field::serde_fr")]
    pub claimant_tag: Fr,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Field))]
    #[serde(with = "field::serde_fr")]
    pub policy_hash: Fr,
    /// Fen; at most the policy's cap, so below 2^44.
    #[cfg_attr(feature = "openapi", schema(maximum = 17592186044415_u64))]
    pub claim_amount: u64,
    /// This claim's leaf, which the ledger appends to the settled tree once it settles it.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Field))]
    #[serde(with = "field::serde_fr")]
    pub settled_leaf: Fr,
    /// The policy's insurer, which must be the settling member.
    #[cfg_attr(feature = "openapi", schema(maximum = 4294967295_u64))]
    pub insurer_id: u32,
}

impl ContinuationPublicInputs {
    pub const COUNT: usize = 8;

    /// `invoice_root, settled_root, nullifier, claimant_tag, policy_hash, claim_amount,
    /// settled_leaf, insurer_id`.
    pub fn to_field_elements(&self) -> [Fr; Self::COUNT] {
        [
            self.invoice_root,
            self.settled_root,
            self.nullifier,
            self.claimant_tag,
            self.policy_hash,
            Fr::from(self.claim_amount),
            self.settled_leaf,
            Fr::from(self.insurer_id),
        ]
    }
}

/// Everything the patient knows for the claim of rank `rank` on an invoice. `Debug` prints
/// none of it, and it is wiped from memory on drop (the primary statement's part wipes itself).
#[derive(Clone)]
pub struct ContinuationWitness {
    /// The key, the invoice opening and its path in the invoice tree, and the policy of the
    /// payer this claim is made to: the primary statement's witness.
    pub claim: ClaimWitness,
    /// `k`, in `1..=MAX_RANK`.
    pub rank: u8,
    /// What ranks `0..k` paid on the invoice together (fen).
    pub paid_before: u64,
    /// The policy hashes `h_0 … h_{k−1}` of ranks `0..k`, in rank order: exactly `k` of them.
    pub earlier: Vec<Fr>,
    /// The path of the previous rank's leaf in the settled tree.
    pub settled_path: MerklePath,
}

impl Zeroize for ContinuationWitness {
    fn zeroize(&mut self) {
        self.claim.zeroize();
        self.rank.zeroize();
        self.paid_before.zeroize();
        self.earlier.zeroize();
        self.settled_path.index.zeroize();
        self.settled_path.siblings.zeroize();
    }
}

impl Drop for ContinuationWitness {
    fn drop(&mut self) {
        self.zeroize();
    }
}

impl ZeroizeOnDrop for ContinuationWitness {}

impl core::fmt::Debug for ContinuationWitness {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("ContinuationWitness(<redacted>)")
    }
}

/// A rule of the continuation statement that the witness breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContinuationViolation {
    /// A rule shared with the primary statement (key, invoice, tree, period, ranges, tag,
    /// policy hash).
    #[error(transparent)]
    Claim(#[from] RuleViolation),
    #[error("rank {rank} is not a continuation rank (1..=3)")]
    RankOutOfRange { rank: u8 },
    #[error("{found} earlier policy hashes for rank {rank}, which takes exactly {rank}")]
    WrongEarlierCount { found: usize, rank: u8 },
    #[error("settled-tree path has {found} siblings; the circuit takes depth {depth}")]
    WrongSettledDepth { found: usize, depth: usize },
    #[error("the policy already paid on this invoice, at rank {rank}")]
    PolicyAlreadyPaid { rank: usize },
    #[error("paid_before {paid_before} exceeds the invoice total {total}")]
    PaidBeforeAboveTotal { paid_before: u64, total: u64 },
    #[error("the previous rank's settled leaf is not in the settled tree with this root")]
    NotSettled,
    #[error("nullifier is not the one of this key, invoice and rank")]
    WrongNullifier,
    #[error(
        "claim_amount {claimed} differs from the payout {payout} (the policy's own, at most \
         what is left of the invoice)"
    )]
    WrongAmount { claimed: u64, payout: u64 },
    #[error("settled_leaf is not this claim's leaf")]
    WrongSettledLeaf,
}

impl ContinuationWitness {
    /// The rank-1 witness once the primary claim `primary` (its witness and public inputs)
    /// settled with its leaf ([`settled::primary_leaf`]) at `settled_path`: the same key,
    /// invoice and path, under the next payer's `policy`.
    pub fn after_primary(
        primary: &ClaimWitness,
        public: &PublicInputs,
        policy: Policy,
        settled_path: MerklePath,
    ) -> Self {
        let mut claim = primary.clone();
        claim.policy = policy;
        Self {
            claim,
            rank: 1,
            paid_before: public.claim_amount,
            earlier: vec![public.policy_hash],
            settled_path,
        }
    }

    /// The witness of the next rank once this claim (`public`, its public inputs) settled with
    /// its leaf at `settled_path`, under the next payer's `policy`. After rank 3 the witness
    /// is of rank 4, which [`Self::public_inputs`] refuses.
    pub fn next(
        &self,
        public: &ContinuationPublicInputs,
        policy: Policy,
        settled_path: MerklePath,
    ) -> Self {
        // Allocated at its final size: growing would free an unwiped copy.
        let mut earlier = Vec::with_capacity(self.earlier.len() + 1);
        earlier.extend_from_slice(&self.earlier);
        earlier.push(public.policy_hash);
        let mut claim = self.claim.clone();
        claim.policy = policy;
        Self {
            claim,
            rank: self.rank.saturating_add(1),
            paid_before: self.paid_before.saturating_add(public.claim_amount),
            earlier,
            settled_path,
        }
    }

    /// Checks every rule and returns the public inputs the statement gives for this witness.
    pub fn public_inputs(
        &self,
        shape: Shape,
    ) -> Result<ContinuationPublicInputs, ContinuationViolation> {
        Ok(self.evaluate(shape)?.0)
    }

    /// The public inputs and the own payout's intermediates (advice for the circuit).
    pub fn evaluate(
        &self,
        shape: Shape,
    ) -> Result<(ContinuationPublicInputs, Payout), ContinuationViolation> {
        use ContinuationViolation as V;
        // 1. The primary statement's rules for this invoice, path and policy.
        let (primary, own) = self.claim.evaluate(shape)?;
        // 2. The rank, the earlier payers and the previous rank's leaf.
        let k = self.rank;
        if !(1..=MAX_RANK).contains(&k) {
            return Err(V::RankOutOfRange { rank: k });
        }
        let payers_before = settled::payers_of(&self.earlier)
            .filter(|_| self.earlier.len() == usize::from(k))
            .ok_or(V::WrongEarlierCount {
                found: self.earlier.len(),
                rank: k,
            })?;
        if self.settled_path.siblings.len() != shape.depth {
            return Err(V::WrongSettledDepth {
                found: self.settled_path.siblings.len(),
                depth: shape.depth,
            });
        }
        if let Some(rank) = self.earlier.iter().position(|h| *h == primary.policy_hash) {
            return Err(V::PolicyAlreadyPaid { rank });
        }
        // 4. What is left of the invoice's total (its items were validated above).
        let total = invoice::total(&self.claim.invoice.items);
        let remaining = total
            .checked_sub(self.paid_before)
            .ok_or(V::PaidBeforeAboveTotal {
                paid_before: self.paid_before,
                total,
            })?;
        let (sk, serial) = (self.claim.sk.expose(), &self.claim.invoice.serial);
        let previous = settled::leaf(
            &nullifier_k(sk, serial, k - 1),
            self.paid_before,
            &rho_k(sk, serial, k - 1),
            &payers_before,
        );
        // 3-5. This rank's nullifier, payout and leaf.
        let nullifier = nullifier_k(sk, serial, k);
        let claim_amount = own.amount.min(remaining);
        let public = ContinuationPublicInputs {
            invoice_root: primary.invoice_root,
            settled_root: tree::root_from_path(&previous, &self.settled_path),
            nullifier,
            claimant_tag: primary.claimant_tag,
            policy_hash: primary.policy_hash,
            claim_amount,
            settled_leaf: settled::leaf(
                &nullifier,
                self.paid_before + claim_amount,
                &rho_k(sk, serial, k),
                &settled::payers(&payers_before, &primary.policy_hash),
            ),
            insurer_id: self.claim.policy.insurer_id,
        };
        Ok((public, own))
    }

    /// Checks the witness against given public inputs, rule by rule.
    pub fn check(
        &self,
        shape: Shape,
        public: &ContinuationPublicInputs,
    ) -> Result<(), ContinuationViolation> {
        use ContinuationViolation as V;
        let expected = self.public_inputs(shape)?;
        if expected.invoice_root != public.invoice_root {
            return Err(RuleViolation::NotInTree.into());
        }
        if expected.settled_root != public.settled_root {
            return Err(V::NotSettled);
        }
        if expected.nullifier != public.nullifier {
            return Err(V::WrongNullifier);
        }
        if expected.claimant_tag != public.claimant_tag {
            return Err(RuleViolation::WrongClaimantTag.into());
        }
        if expected.policy_hash != public.policy_hash {
            return Err(RuleViolation::WrongPolicyHash.into());
        }
        if expected.claim_amount != public.claim_amount {
            return Err(V::WrongAmount {
                claimed: public.claim_amount,
                payout: expected.claim_amount,
            });
        }
        if expected.settled_leaf != public.settled_leaf {
            return Err(V::WrongSettledLeaf);
        }
        if expected.insurer_id != public.insurer_id {
            return Err(RuleViolation::WrongInsurer {
                claimed: public.insurer_id,
                policy: expected.insurer_id,
            }
            .into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample;
    use rand::{rngs::StdRng, SeedableRng};

    const SHAPE: Shape = Shape { items: 4, depth: 8 };

    #[test]
    fn a_witness_wipes_every_part_and_prints_none() {
        fn wiped_on_drop<T: ZeroizeOnDrop>(_: &T) {}
        let mut w = sample::continuation(&mut StdRng::seed_from_u64(1), SHAPE, 2, 2);
        assert_eq!(format!("{w:?}"), "ContinuationWitness(<redacted>)");
        assert!(w.paid_before > 0 && w.settled_path.index > 0);
        assert_eq!(w.earlier.capacity(), 2, "allocated once, at its final size");
        wiped_on_drop(&w);
        w.zeroize();
        let zero = Fr::from(0u64);
        assert_eq!(*w.claim.sk.expose(), zero);
        assert!(w.claim.invoice.items.is_empty());
        assert_eq!((w.rank, w.paid_before), (0, 0));
        assert!(w.earlier.is_empty());
        assert_eq!(
            (w.settled_path.index, w.settled_path.siblings.len()),
            (0, 0)
        );
    }

    #[test]
    fn public_inputs_serialize_in_statement_order() {
        let w = sample::continuation(&mut StdRng::seed_from_u64(2), SHAPE, 1, 0);
        let public = w.public_inputs(SHAPE).unwrap();
        let f = public.to_field_elements();
        assert_eq!(f.len(), ContinuationPublicInputs::COUNT);
        assert_eq!(
            f,
            [
                public.invoice_root,
                public.settled_root,
                public.nullifier,
                public.claimant_tag,
                public.policy_hash,
                Fr::from(public.claim_amount),
                public.settled_leaf,
                Fr::from(3u64),
            ]
        );
        let json = serde_json::to_value(public).unwrap();
        assert_eq!(json["insurer_id"], 3);
        assert_eq!(json["claim_amount"], public.claim_amount);
        assert_eq!(json["settled_root"], field::format(&public.settled_root));
        let back: ContinuationPublicInputs = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(back, public);
        let mut extra = json;
        extra["rank"] = 1.into();
        assert!(serde_json::from_value::<ContinuationPublicInputs>(extra).is_err());
    }

    #[test]
    fn refusals_name_the_rule() {
        let mut rng = StdRng::seed_from_u64(3);
        let w = sample::continuation(&mut rng, SHAPE, 1, 1);
        let mut bad = w.clone();
        bad.earlier.push(Fr::from(1u64));
        assert_eq!(
            bad.public_inputs(SHAPE),
            Err(ContinuationViolation::WrongEarlierCount { found: 2, rank: 1 })
        );
        let mut bad = w.clone();
        bad.settled_path.siblings.pop();
        assert_eq!(
            bad.public_inputs(SHAPE),
            Err(ContinuationViolation::WrongSettledDepth { found: 7, depth: 8 })
        );
        let mut bad = w.clone();
        bad.claim.invoice.issued_on = 0;
        assert_eq!(
            bad.public_inputs(SHAPE),
            Err(ContinuationViolation::Claim(RuleViolation::OutsidePeriod))
        );
        assert_eq!(
            ContinuationViolation::Claim(RuleViolation::OutsidePeriod).to_string(),
            "issued_on outside policy period"
        );
        let mut public = w.public_inputs(SHAPE).unwrap();
        public.insurer_id = 2;
        assert_eq!(
            w.check(SHAPE, &public),
            Err(ContinuationViolation::Claim(RuleViolation::WrongInsurer {
                claimed: 2,
                policy: 3
            }))
        );
    }
}
