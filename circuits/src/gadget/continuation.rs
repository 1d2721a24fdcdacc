//! The continuation circuit: the continuation statement of `docs/protocol.md` in R1CS, the
//! twin of [`ContinuationWitness::public_inputs`].

use super::{
    bits,
    claim::{ClaimCircuit, ClaimWitnessVar},
    enforce_le, invoice, min,
    nullifier::{nullifier_k, rho_k},
    settled, tree,
    tree::MerklePathVar,
};
use crate::claim::{RuleViolation, Shape};
use crate::continuation::{
    ContinuationPublicInputs, ContinuationViolation, ContinuationWitness, MAX_RANK,
};
use crate::policy::{Payout, MONEY_BITS};
use crate::tree::MerklePath;
use ark_bn254::Fr;
use ark_r1cs_std::{alloc::AllocationMode, fields::fp::FpVar, prelude::*};
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, Namespace, SynthesisError};
use core::borrow::Borrow;

/// The public inputs as circuit variables, allocated in the order of
/// [`ContinuationPublicInputs::to_field_elements`] (the one serializer of that order).
pub struct ContinuationPublicInputsVar {
    pub invoice_root: FpVar<Fr>,
    pub settled_root: FpVar<Fr>,
    pub nullifier: FpVar<Fr>,
    pub claimant_tag: FpVar<Fr>,
    pub policy_hash: FpVar<Fr>,
    pub claim_amount: FpVar<Fr>,
    pub settled_leaf: FpVar<Fr>,
    pub insurer_id: FpVar<Fr>,
}

impl AllocVar<ContinuationPublicInputs, Fr> for ContinuationPublicInputsVar {
    fn new_variable<T: Borrow<ContinuationPublicInputs>>(
        cs: impl Into<Namespace<Fr>>,
        f: impl FnOnce() -> Result<T, SynthesisError>,
        mode: AllocationMode,
    ) -> Result<Self, SynthesisError> {
        let ns = cs.into();
        let v = f()?;
        let [invoice_root, settled_root, nullifier, claimant_tag, policy_hash, claim_amount, settled_leaf, insurer_id] =
            v.borrow()
                .to_field_elements()
                .map(|x| FpVar::new_variable(ns.cs(), || Ok(x), mode));
        Ok(Self {
            invoice_root: invoice_root?,
            settled_root: settled_root?,
            nullifier: nullifier?,
            claimant_tag: claimant_tag?,
            policy_hash: policy_hash?,
            claim_amount: claim_amount?,
            settled_leaf: settled_leaf?,
            insurer_id: insurer_id?,
        })
    }
}

/// A continuation circuit instance: the statement for `shape` (whose depth is both trees')
/// with one assignment.
///
/// Fields are public so that soundness tests can break one rule at a time; the prover builds
/// it only through [`ContinuationCircuit::new`], which derives the public inputs and advice.
#[derive(Clone)]
pub struct ContinuationCircuit {
    pub shape: Shape,
    pub witness: ContinuationWitness,
    pub public: ContinuationPublicInputs,
    /// Division advice for the policy's own payout; the rest is recomputed.
    pub advice: Payout,
}

impl core::fmt::Debug for ContinuationCircuit {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ContinuationCircuit")
            .field("shape", &self.shape)
            .finish_non_exhaustive()
    }
}

impl ContinuationCircuit {
    /// The circuit for an honest witness, refusing (with the broken rule) one that cannot
    /// satisfy the statement.
    pub fn new(shape: Shape, witness: ContinuationWitness) -> Result<Self, ContinuationViolation> {
        let (public, advice) = witness.evaluate(shape)?;
        let mut witness = witness;
        witness
            .claim
            .invoice
            .pad_items(shape.items)
            .map_err(RuleViolation::from)?;
        Ok(Self {
            shape,
            witness,
            public,
            advice,
        })
    }

    /// A circuit of the right shape with placeholder values, for key generation (which
    /// needs only the constraint structure).
    pub fn blank(shape: Shape) -> Self {
        let ClaimCircuit {
            witness: claim,
            advice,
            ..
        } = ClaimCircuit::blank(shape);
        let zero = Fr::from(0u64);
        let witness = ContinuationWitness {
            claim,
            rank: 1,
            paid_before: 0,
            earlier: vec![zero; usize::from(MAX_RANK)],
            settled_path: MerklePath {
                index: 0,
                siblings: vec![zero; shape.depth],
            },
        };
        let public = ContinuationPublicInputs {
            invoice_root: zero,
            settled_root: zero,
            nullifier: zero,
            claimant_tag: zero,
            policy_hash: zero,
            claim_amount: 0,
            settled_leaf: zero,
            insurer_id: 0,
        };
        Self {
            shape,
            witness,
            public,
            advice,
        }
    }
}

impl ConstraintSynthesizer<Fr> for ContinuationCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let w = &self.witness;
        let depth = self.shape.depth;
        if w.claim.invoice.items.len() != self.shape.items
            || w.claim.path.siblings.len() != depth
            || w.settled_path.siblings.len() != depth
            || w.earlier.len() > usize::from(MAX_RANK)
        {
            return Err(SynthesisError::Unsatisfiable);
        }
        let public = ContinuationPublicInputsVar::new_input(cs.clone(), || Ok(self.public))?;
        let claim = ClaimWitnessVar::new_witness(cs.clone(), &w.claim, &self.advice)?;
        let rank = FpVar::new_witness(cs.clone(), || Ok(Fr::from(w.rank)))?;
        let paid_before = FpVar::new_witness(cs.clone(), || Ok(Fr::from(w.paid_before)))?;
        // Slots past the list given hold zeros. Slots from k on are hashed into the payers
        // chain but never selected nor compared, so whatever they hold changes nothing.
        let earlier = (0..usize::from(MAX_RANK))
            .map(|i| {
                FpVar::new_witness(cs.clone(), || {
                    Ok(w.earlier.get(i).copied().unwrap_or_default())
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let settled_path = MerklePathVar::new_witness(cs.clone(), || Ok(&w.settled_path))?;

        // 1. The primary statement's rules 1, 2, 4, 5, and its rule 3 but the nullifier.
        claim.enforce_invoice(&public.invoice_root)?;
        let own = claim.enforce_policy(
            &public.claimant_tag,
            &public.policy_hash,
            &public.insurer_id,
        )?;

        // 2. 1 <= k <= MAX_RANK: exactly one `last[i]` (k = i + 1) is set.
        let last = (1..=MAX_RANK)
            .map(|r| rank.is_eq(&FpVar::Constant(Fr::from(r))))
            .collect::<Result<Vec<_>, _>>()?;
        last.iter()
            .map(|b| FpVar::from(b.clone()))
            .sum::<FpVar<Fr>>()
            .enforce_equal(&FpVar::one())?;
        // The previous rank's leaf is in the settled tree.
        let (sk, serial) = (&claim.sk, &claim.invoice.serial);
        let previous = &rank - Fr::from(1u64);
        let payers_before = settled::payers_of(&earlier, &last)?;
        let previous_leaf = settled::leaf(
            &nullifier_k(sk, serial, &previous)?,
            &paid_before,
            &rho_k(sk, serial, &previous)?,
            &payers_before,
        )?;
        tree::root_from_path(&previous_leaf, &settled_path)?.enforce_equal(&public.settled_root)?;
        // The policy differs from every earlier one: slot i is used where k > i.
        for (i, h) in earlier.iter().enumerate() {
            let used = Boolean::kary_or(&last[i..])?;
            public.policy_hash.conditional_enforce_not_equal(h, &used)?;
        }

        // 3. This rank's nullifier.
        let nullifier = nullifier_k(sk, serial, &rank)?;
        nullifier.enforce_equal(&public.nullifier)?;

        // 4. paid_before <= total (item amounts are range-checked by the payout), and the
        // payout is the policy's own capped at what is left.
        bits(&paid_before, MONEY_BITS)?;
        let total = invoice::total(&claim.invoice.items);
        enforce_le(&paid_before, &total, MONEY_BITS)?;
        let amount = min(&own.amount, &(&total - &paid_before), MONEY_BITS)?;
        amount.enforce_equal(&public.claim_amount)?;

        // 5. This claim's settled leaf.
        settled::leaf(
            &nullifier,
            &(&paid_before + &amount),
            &rho_k(sk, serial, &rank)?,
            &settled::payers(&payers_before, &public.policy_hash)?,
        )?
        .enforce_equal(&public.settled_leaf)
    }
}
