//! The claim statement, natively: its shape, public inputs, witness and rules.
//!
//! `ClaimWitness::public_inputs` is the native twin of the claim circuit: it checks every rule
//! of the statement and names the first one broken, so a prover can refuse with a clear
//! reason instead of producing a proof that will not verify.

use crate::{
    field,
    invoice::{self, Invoice, InvoiceError},
    keys, nullifier,
    policy::{self, Payout, Policy, PolicyError},
    tree::{self, MerklePath},
};
use ark_bn254::Fr;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// The parameters a claim circuit is built for: items per invoice and tree depth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Shape {
    pub items: usize,
    pub depth: usize,
}

impl Default for Shape {
    fn default() -> Self {
        Self {
            items: invoice::DEFAULT_ITEMS,
            depth: tree::DEFAULT_DEPTH,
        }
    }
}

/// The public inputs of a claim proof. [`PublicInputs::to_field_elements`] is the one place
/// that fixes their order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PublicInputs {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Field))]
    #[serde(with = "field::serde_fr")]
    pub invoice_root: Fr,
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
    /// The policy's insurer, whose member id in the genesis this is: the only member that
    /// may settle the claim (statement v2; a v1 claim has no such input).
    #[cfg_attr(feature = "openapi", schema(maximum = 4294967295_u64))]
    pub insurer_id: u32,
}

impl PublicInputs {
    pub const COUNT: usize = 6;

    /// `invoice_root, nullifier, claimant_tag, policy_hash, claim_amount, insurer_id`.
    pub fn to_field_elements(&self) -> [Fr; Self::COUNT] {
        [
            self.invoice_root,
            self.nullifier,
            self.claimant_tag,
            self.policy_hash,
            Fr::from(self.claim_amount),
            Fr::from(self.insurer_id),
        ]
    }
}

/// Everything the patient knows. `Debug` prints none of it, and it is wiped from memory on
/// drop: the key, invoice and policy wipe themselves, and the path (which locates the invoice
/// among its hospital's registrations) is wiped here.
#[derive(Clone)]
pub struct ClaimWitness {
    pub sk: keys::SecretKey,
    pub invoice: Invoice,
    pub path: MerklePath,
    pub policy: Policy,
}

impl Zeroize for ClaimWitness {
    fn zeroize(&mut self) {
        self.sk.zeroize();
        self.invoice.zeroize();
        self.path.index.zeroize();
        self.path.siblings.zeroize();
        self.policy.zeroize();
    }
}

impl Drop for ClaimWitness {
    fn drop(&mut self) {
        self.zeroize();
    }
}

impl ZeroizeOnDrop for ClaimWitness {}

impl core::fmt::Debug for ClaimWitness {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("ClaimWitness(<redacted>)")
    }
}

/// A rule of the statement that the witness breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleViolation {
    #[error("invoice is not issued to this patient's key")]
    NotPatientsInvoice,
    #[error("invoice: {0}")]
    Invoice(#[from] InvoiceError),
    #[error("policy: {0}")]
    Policy(#[from] PolicyError),
    #[error("Merkle path has {found} siblings; the circuit takes depth {depth}")]
    WrongDepth { found: usize, depth: usize },
    #[error("invoice commitment is not in the tree with this root")]
    NotInTree,
    #[error("issued_on outside policy period")]
    OutsidePeriod,
    #[error("nullifier is not the one of this key and invoice")]
    WrongNullifier,
    #[error("claimant_tag is not the one of this key at this insurer")]
    WrongClaimantTag,
    #[error("policy_hash is not the hash of this policy")]
    WrongPolicyHash,
    #[error("claim_amount {claimed} differs from the payout {payout} the policy gives")]
    WrongAmount { claimed: u64, payout: u64 },
    #[error("insurer_id {claimed} is not the policy's insurer {policy}")]
    WrongInsurer { claimed: u32, policy: u32 },
}

impl ClaimWitness {
    /// Checks every rule and returns the public inputs the statement gives for this witness.
    pub fn public_inputs(&self, shape: Shape) -> Result<PublicInputs, RuleViolation> {
        Ok(self.evaluate(shape)?.0)
    }

    /// The public inputs and the payout intermediates (advice for the circuit).
    pub fn evaluate(&self, shape: Shape) -> Result<(PublicInputs, Payout), RuleViolation> {
        let sk = self.sk.expose();
        let inv = &self.invoice;
        if inv.patient_pk != keys::public_key(sk) {
            return Err(RuleViolation::NotPatientsInvoice);
        }
        let leaf = inv.commitment(shape.items)?;
        self.policy.validate()?;
        if self.path.siblings.len() != shape.depth {
            return Err(RuleViolation::WrongDepth {
                found: self.path.siblings.len(),
                depth: shape.depth,
            });
        }
        if !policy::in_period(&self.policy, inv.issued_on) {
            return Err(RuleViolation::OutsidePeriod);
        }
        let pay = policy::payout(&self.policy, &inv.padded_items(shape.items)?);
        let public = PublicInputs {
            invoice_root: tree::root_from_path(&leaf, &self.path),
            nullifier: nullifier::nullifier(sk, &inv.serial),
            claimant_tag: keys::claimant_tag(sk, self.policy.insurer_id),
            policy_hash: policy::policy_hash(&self.policy),
            claim_amount: pay.amount,
            insurer_id: self.policy.insurer_id,
        };
        Ok((public, pay))
    }

    /// Checks the witness against given public inputs, rule by rule.
    pub fn check(&self, shape: Shape, public: &PublicInputs) -> Result<(), RuleViolation> {
        let expected = self.public_inputs(shape)?;
        if expected.invoice_root != public.invoice_root {
            return Err(RuleViolation::NotInTree);
        }
        if expected.claim_amount != public.claim_amount {
            return Err(RuleViolation::WrongAmount {
                claimed: public.claim_amount,
                payout: expected.claim_amount,
            });
        }
        if expected.nullifier != public.nullifier {
            return Err(RuleViolation::WrongNullifier);
        }
        if expected.claimant_tag != public.claimant_tag {
            return Err(RuleViolation::WrongClaimantTag);
        }
        if expected.policy_hash != public.policy_hash {
            return Err(RuleViolation::WrongPolicyHash);
        }
        if expected.insurer_id != public.insurer_id {
            return Err(RuleViolation::WrongInsurer {
                claimed: public.insurer_id,
                policy: expected.insurer_id,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample;
    use rand::{rngs::StdRng, SeedableRng};

    #[test]
    fn a_witness_wipes_every_part_and_prints_none() {
        fn wiped_on_drop<T: ZeroizeOnDrop>(_: &T) {}
        let mut w = sample::claim(&mut StdRng::seed_from_u64(1), Shape::default(), 2);
        let serial = field::format(&w.invoice.serial);
        assert!(!format!("{w:?}").contains(&serial[2..10]));
        assert_eq!(format!("{w:?}"), "ClaimWitness(<redacted>)");
        w.path.index = 2;
        assert!(!w.path.siblings.is_empty());
        wiped_on_drop(&w);
        w.zeroize();
        let zero = Fr::from(0u64);
        assert_eq!(*w.sk.expose(), zero);
        assert_eq!((w.invoice.serial, w.invoice.patient_pk), (zero, zero));
        assert!(w.invoice.items.is_empty());
        assert_eq!((w.path.index, w.path.siblings.len()), (0, 0));
        assert_eq!((w.policy.salt, w.policy.cap), (zero, 0));
    }
}
