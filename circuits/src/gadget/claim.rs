//! The claim circuit: the whole statement of `docs/protocol.md` in R1CS.

use super::{
    invoice::InvoiceVar,
    keys, nullifier, policy,
    policy::{PayoutVar, PolicyVar},
    tree,
    tree::MerklePathVar,
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
    pub insurer_id: FpVar<Fr>,
}

impl AllocVar<PublicInputs, Fr> for PublicInputsVar {
    fn new_variable<T: Borrow<PublicInputs>>(
        cs: impl Into<Namespace<Fr>>,
        f: impl FnOnce() -> Result<T, SynthesisError>,
        mode: AllocationMode,
    ) -> Result<Self, SynthesisError> {
        let ns = cs.into();
        let v = f()?;
        let [invoice_root, nullifier, claimant_tag, policy_hash, claim_amount, insurer_id] = v
            .borrow()
            .to_field_elements()
            .map(|x| FpVar::new_variable(ns.cs(), || Ok(x), mode));
        Ok(Self {
            invoice_root: invoice_root?,
            nullifier: nullifier?,
            claimant_tag: claimant_tag?,
            policy_hash: policy_hash?,
            claim_amount: claim_amount?,
            insurer_id: insurer_id?,
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
            insurer_id: 0,
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

/// The primary statement's witness in the circuit: the key, the invoice opening and its path,
/// the policy opening and the payout's division advice, allocated in this order. The
/// continuation circuit opens the same values and enforces the same rules through it.
pub struct ClaimWitnessVar {
    pub sk: FpVar<Fr>,
    pub invoice: InvoiceVar,
    pub path: MerklePathVar,
    pub policy: PolicyVar,
    pub quotient: FpVar<Fr>,
    pub remainder: FpVar<Fr>,
}

impl ClaimWitnessVar {
    /// Allocates `w` (whose invoice the caller padded to the circuit's items) and `advice` as
    /// witnesses.
    pub fn new_witness(
        cs: ConstraintSystemRef<Fr>,
        w: &ClaimWitness,
        advice: &Payout,
    ) -> Result<Self, SynthesisError> {
        Ok(Self {
            sk: FpVar::new_witness(cs.clone(), || Ok(*w.sk.expose()))?,
            invoice: InvoiceVar::new_witness(cs.clone(), || Ok(&w.invoice))?,
            path: MerklePathVar::new_witness(cs.clone(), || Ok(&w.path))?,
            policy: PolicyVar::new_witness(cs.clone(), || Ok(&w.policy))?,
            quotient: FpVar::new_witness(cs.clone(), || Ok(Fr::from(advice.quotient)))?,
            remainder: FpVar::new_witness(cs, || Ok(Fr::from(advice.remainder)))?,
        })
    }

    /// Rules 1 and 2: the invoice is issued to this key, and its commitment is a leaf of the
    /// tree with root `invoice_root`.
    pub fn enforce_invoice(&self, invoice_root: &FpVar<Fr>) -> Result<(), SynthesisError> {
        let invoice = &self.invoice;
        invoice
            .patient_pk
            .enforce_equal(&keys::public_key(&self.sk)?)?;
        let leaf = super::invoice::commitment(
            &invoice.serial,
            &invoice.hospital_id,
            &invoice.patient_pk,
            &invoice.issued_on,
            &invoice.items,
        )?;
        tree::root_from_path(&leaf, &self.path)?.enforce_equal(invoice_root)
    }

    /// Rule 3 but the nullifier (`insurer_id` is the policy's, `claimant_tag` and
    /// `policy_hash` of this key and policy), rule 4 (the period) and rules 5-6 (ranges and
    /// the payout formula): returns the payout under this policy.
    pub fn enforce_policy(
        &self,
        claimant_tag: &FpVar<Fr>,
        policy_hash: &FpVar<Fr>,
        insurer_id: &FpVar<Fr>,
    ) -> Result<PayoutVar, SynthesisError> {
        let pol = &self.policy;
        pol.insurer_id.enforce_equal(insurer_id)?;
        keys::claimant_tag(&self.sk, &pol.insurer_id)?.enforce_equal(claimant_tag)?;
        policy::policy_hash(pol)?.enforce_equal(policy_hash)?;
        policy::in_period(pol, &self.invoice.issued_on)?;
        policy::payout(pol, &self.invoice.items, &self.quotient, &self.remainder)
    }
}

impl ConstraintSynthesizer<Fr> for ClaimCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let w = &self.witness;
        if w.invoice.items.len() != self.shape.items || w.path.siblings.len() != self.shape.depth {
            return Err(SynthesisError::Unsatisfiable);
        }
        let public = PublicInputsVar::new_input(cs.clone(), || Ok(self.public))?;
        let claim = ClaimWitnessVar::new_witness(cs, w, &self.advice)?;
        // 1-2. The invoice is issued to this patient's key and is a leaf of the public root.
        claim.enforce_invoice(&public.invoice_root)?;
        // 3. The nullifier of this key and invoice, then (below) its pseudonym and policy hash.
        nullifier::nullifier(&claim.sk, &claim.invoice.serial)?.enforce_equal(&public.nullifier)?;
        // 3-6. The insurer, pseudonym and policy hash, the period, the range checks and the
        // payout, exactly.
        let pay = claim.enforce_policy(
            &public.claimant_tag,
            &public.policy_hash,
            &public.insurer_id,
        )?;
        pay.amount.enforce_equal(&public.claim_amount)
    }
}
