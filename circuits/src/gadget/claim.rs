//! The claim circuit: the whole statement of `docs/protocol.md` in R1CS.

use super::{
    invoice::InvoiceVar, keys, nullifier, policy, policy::PolicyVar, tree, tree::MerklePathVar,
};
use crate::claim::{ClaimWitness, PublicInputs, RuleViolation, Shape};
use crate::invoice::{Invoice, Item};
use crate::keys::SecretKey;
use crate::policy::{Payout, Policy};
use crate::tree::MerklePath;
use ark_bn254::Fr;
use ark_r1cs_std::{alloc::AllocationMode, fields::fp::FpVar, prelude::*};
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, Namespace, SynthesisError};
use core::borrow::Borrow;

/// The public inputs as circuit variables, allocated in the order of
/// [`PublicInputs::to_field_elements`] (the one serializer of that order).
pub struct PublicInputsVar {
    pub invoice_root: FpVar<Fr>,
    pub nullifier: FpVar<Fr>,
    pub claimant_tag: FpVar<Fr>,
    pub policy_hash: FpVar<Fr>,
    pub claim_amount: FpVar<Fr>,
}

impl AllocVar<PublicInputs, Fr> for PublicInputsVar {
    fn new_variable<T: Borrow<PublicInputs>>(
        cs: impl Into<Namespace<Fr>>,
        f: impl FnOnce() -> Result<T, SynthesisError>,
        mode: AllocationMode,
    ) -> Result<Self, SynthesisError> {
        let ns = cs.into();
        let v = f()?;
        let [invoice_root, nullifier, claimant_tag, policy_hash, claim_amount] = v
            .borrow()
            .to_field_elements()
            .map(|x| FpVar::new_variable(ns.cs(), || Ok(x), mode));
        Ok(Self {
            invoice_root: invoice_root?,
            nullifier: nullifier?,
            claimant_tag: claimant_tag?,
            policy_hash: policy_hash?,
            claim_amount: claim_amount?,
        })
    }
}

/// A claim circuit instance: the statement for `shape` with one assignment.
///
/// Fields are public so that soundness tests can break one rule at a time; the prover builds
/// it only through [`ClaimCircuit::new`], which derives the public inputs and advice.
#[derive(Clone)]
pub struct ClaimCircuit {
    pub shape: Shape,
    pub witness: ClaimWitness,
    pub public: PublicInputs,
    /// Division advice (`quotient`, `remainder`) for the payout; the rest is recomputed.
    pub advice: Payout,
}

impl core::fmt::Debug for ClaimCircuit {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ClaimCircuit")
            .field("shape", &self.shape)
            .finish_non_exhaustive()
    }
}

impl ClaimCircuit {
    /// The circuit for an honest witness, refusing (with the broken rule) one that cannot
    /// satisfy the statement.
    pub fn new(shape: Shape, witness: ClaimWitness) -> Result<Self, RuleViolation> {
        let (public, advice) = witness.evaluate(shape)?;
        let mut witness = witness;
        witness.invoice.pad_items(shape.items)?;
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
        let zero = Fr::from(0u64);
        let witness = ClaimWitness {
            sk: SecretKey::from_field(zero),
            invoice: Invoice {
                serial: zero,
                hospital_id: 0,
                patient_pk: zero,
                issued_on: 0,
                items: vec![Item::default(); shape.items],
            },
            path: MerklePath {
                index: 0,
                siblings: vec![zero; shape.depth],
            },
            policy: Policy::default(),
        };
        let public = PublicInputs {
            invoice_root: zero,
            nullifier: zero,
            claimant_tag: zero,
            policy_hash: zero,
            claim_amount: 0,
        };
        let advice = Payout {
            eligible: 0,
            over: 0,
            quotient: 0,
            remainder: 0,
            amount: 0,
        };
        Self {
            shape,
            witness,
            public,
            advice,
        }
    }
}

impl ConstraintSynthesizer<Fr> for ClaimCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let w = &self.witness;
        if w.invoice.items.len() != self.shape.items || w.path.siblings.len() != self.shape.depth {
            return Err(SynthesisError::Unsatisfiable);
        }
        let public = PublicInputsVar::new_input(cs.clone(), || Ok(self.public))?;
        let sk = FpVar::new_witness(cs.clone(), || Ok(*w.sk.expose()))?;
        let invoice = InvoiceVar::new_witness(cs.clone(), || Ok(&w.invoice))?;
        let path = MerklePathVar::new_witness(cs.clone(), || Ok(&w.path))?;
        let pol = PolicyVar::new_witness(cs.clone(), || Ok(&w.policy))?;
        let quotient = FpVar::new_witness(cs.clone(), || Ok(Fr::from(self.advice.quotient)))?;
        let remainder = FpVar::new_witness(cs.clone(), || Ok(Fr::from(self.advice.remainder)))?;

        // 1. The invoice is issued to this patient's key.
        invoice.patient_pk.enforce_equal(&keys::public_key(&sk)?)?;
        // 2. Its commitment is a leaf of the tree with the public root.
        let leaf = super::invoice::commitment(
            &invoice.serial,
            &invoice.hospital_id,
            &invoice.patient_pk,
            &invoice.issued_on,
            &invoice.items,
        )?;
        tree::root_from_path(&leaf, &path)?.enforce_equal(&public.invoice_root)?;
        // 3. Nullifier, pseudonym and policy hash come from the same witness.
        nullifier::nullifier(&sk, &invoice.serial)?.enforce_equal(&public.nullifier)?;
        keys::claimant_tag(&sk, &pol.insurer_id)?.enforce_equal(&public.claimant_tag)?;
        policy::policy_hash(&pol)?.enforce_equal(&public.policy_hash)?;
        // 4. Issued inside the policy period.
        policy::in_period(&pol, &invoice.issued_on)?;
        // 5-6. Range checks and the payout rule, exactly.
        let pay = policy::payout(&pol, &invoice.items, &quotient, &remainder)?;
        pay.amount.enforce_equal(&public.claim_amount)
    }
}
