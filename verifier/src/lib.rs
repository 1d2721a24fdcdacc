//! Verification of zkclaim claim proofs.
//!
//! This crate is what an insurer or auditor links: it depends on the curve and the native
//! statement types only, never on the constraint system. Groth16 verification is the
//! pairing check `e(A, B) = e(α, β) · e(Σ xᵢ·ICᵢ, γ) · e(C, δ)`; the key and proof types
//! serialize byte-for-byte like arkworks' `ark_groth16` ones, so keys and proofs made by the
//! prover load here unchanged.

mod batch;
mod key;
mod miller;
mod package;
mod proof;
pub mod snarkjs;
pub mod solidity;
mod table;

pub use batch::{verify_batch, BatchError};
pub use key::{ClaimVerifyingKey, KeyPoint, KeyWeakness, PreparedClaimKey};
pub use package::{ClaimPackage, ContinuationPackage};
pub use proof::Proof;

use ark_bn254::{Bn254, Fr, G1Projective};
use ark_ec::{
    pairing::{MillerLoopOutput, Pairing},
    CurveGroup,
};
use ark_ff::One;
use zkclaim_circuits::{Circuit, PublicStatement};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The proof does not verify for these public inputs under this key.
    #[error("invalid proof: it does not verify for these public inputs")]
    InvalidProof,
    #[error("malformed proof: {0}")]
    MalformedProof(String),
    #[error("malformed verifying key: {0}")]
    MalformedKey(String),
    /// A key that would let anyone forge proofs, or that no setup makes (see
    /// [`ClaimVerifyingKey`]'s module documentation).
    #[error("unsafe verifying key: {0}")]
    WeakKey(KeyWeakness),
    #[error("verifying key takes {found} public inputs; a {circuit} claim has {expected}")]
    WrongInputCount {
        circuit: Circuit,
        found: usize,
        expected: usize,
    },
    /// A proof of one circuit given to the other's key.
    #[error("a {proof} claim cannot be verified with the {key} circuit's key")]
    WrongCircuit { key: Circuit, proof: Circuit },
}

/// Verifies one claim proof of either circuit (the key must be of the same circuit). A proof
/// that does not verify is an error, never `Ok(false)`.
///
/// The proof's Miller loop and the key's two (after the inputs are prepared) are
/// independent: with a second rayon thread free they run side by side, which saves about a
/// quarter of the wall time for more total work (the loops' squarings twice, the handoff).
/// Throughput is [`verify_batch`]'s business.
pub fn verify<P: PublicStatement>(
    key: &PreparedClaimKey,
    public: &P,
    proof: &Proof,
) -> Result<(), VerifyError> {
    same_circuit::<P>(key)?;
    let (proof_pair, key_pairs) = rayon::join(
        || miller::multi_miller_loop(&[(proof.a, &proof.b.into())]),
        || {
            let inputs = prepare_inputs(key, public).into_affine();
            miller::multi_miller_loop(&[(inputs, &key.gamma_neg), (proof.c, &key.delta_neg)])
        },
    );
    let pairing = MillerLoopOutput(proof_pair * key_pairs);
    let result = Bn254::final_exponentiation(pairing).ok_or(VerifyError::InvalidProof)?;
    if result == key.alpha_beta {
        Ok(())
    } else {
        Err(VerifyError::InvalidProof)
    }
}

/// Refuses a key of another circuit than `P`'s.
fn same_circuit<P: PublicStatement>(key: &PreparedClaimKey) -> Result<(), VerifyError> {
    match key.key().circuit() {
        circuit if circuit == P::CIRCUIT => Ok(()),
        circuit => Err(VerifyError::WrongCircuit {
            key: circuit,
            proof: P::CIRCUIT,
        }),
    }
}

/// `IC₀ + Σ xᵢ·ICᵢ₊₁` over the inputs in the one serialized order, from the key's tables.
fn prepare_inputs<P: PublicStatement>(key: &PreparedClaimKey, public: &P) -> G1Projective {
    key.inputs
        .msm(core::iter::once(Fr::one()).chain(public.field_elements()))
}
