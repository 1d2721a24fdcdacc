//! Batch verification of claim proofs under one verifying key (one circuit: a block mixing
//! primary and continuation claims is verified as one batch per circuit).
//!
//! With random 128-bit weights rᵢ, all n pairing equations hold (except with probability
//! about n/2^128) iff
//! `Π e(rᵢ·Aᵢ, Bᵢ) · e(Σ rᵢ·ICᵢ, −γ) · e(Σ rᵢ·Cᵢ, −δ) · e(−(Σ rᵢ)·α, β) = 1`:
//! n + 3 Miller loops and one final exponentiation instead of 3n loops and n exponentiations.
//! The right side `e(α, β)^(Σ rᵢ)` moves into the Miller loop as the pair `(−(Σ rᵢ)·α, β)`:
//! a G1 multiplication and one more prepared pair, where raising `e(α, β)` to a 254-bit
//! power after the final exponentiation cost about as much as that exponentiation.
//! When the batch fails, each proof is checked alone to name the bad ones.

use crate::{miller, same_circuit, verify, PreparedClaimKey, Proof, VerifyError};
use ark_bn254::{Bn254, Config, Fr, G1Projective};
use ark_ec::{
    bn::G2Prepared,
    pairing::{MillerLoopOutput, Pairing},
    AffineRepr, CurveGroup, VariableBaseMSM,
};
use ark_ff::Zero;
use ark_std::rand::{CryptoRng, RngCore};
use rayon::prelude::*;
use zkclaim_circuits::PublicStatement;

/// Which proofs of a batch failed, by position, with each one's reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} of the batch's proofs failed verification (positions {:?})", .failures.len(), .failures.iter().map(|f| f.0).collect::<Vec<_>>())]
pub struct BatchError {
    pub failures: Vec<(usize, VerifyError)>,
}

/// Verifies all `claims` (of `key`'s circuit) at once; on failure names every bad one. The
/// work is spread over rayon's threads; a single claim is verified alone (a batch of one
/// would only add its weighting).
pub fn verify_batch<P: PublicStatement, R: RngCore + CryptoRng>(
    key: &PreparedClaimKey,
    claims: &[(P, Proof)],
    rng: &mut R,
) -> Result<(), BatchError> {
    if claims.is_empty() {
        return Ok(());
    }
    if let Err(e) = same_circuit::<P>(key) {
        return Err(BatchError {
            failures: (0..claims.len()).map(|i| (i, e.clone())).collect(),
        });
    }
    if claims.len() > 1 {
        let weights: Vec<u128> = claims
            .iter()
            .map(|_| u128::from(rng.next_u64()) << 64 | u128::from(rng.next_u64()))
            .collect();
        if batch_holds(key, claims, &weights) {
            return Ok(());
        }
    }
    let failures: Vec<(usize, VerifyError)> = claims
        .par_iter()
        .enumerate()
        .filter_map(|(i, (public, proof))| verify(key, public, proof).err().map(|e| (i, e)))
        .collect();
    // A failed combination with every proof valid alone can only be a zero weight (chance
    // 2^-128); treat it as the batch holding rather than inventing a culprit.
    if failures.is_empty() {
        return Ok(());
    }
    Err(BatchError { failures })
}

/// Proofs per task of the batch's Miller loops: each task's pairs share one accumulator
/// (its squarings) and one normalisation; tasks this small let the terms that do not depend
/// on single proofs run beside them on the other core and the cores finish together.
const PROOFS_PER_TASK: usize = 8;

/// Whether the weighted product of the batch's pairing equations is one (see the module
/// documentation). All of it but the final exponentiation runs on rayon's threads: the
/// key's terms as one task, the proofs' pairs as tasks of [`PROOFS_PER_TASK`].
pub(crate) fn batch_holds<P: PublicStatement>(
    key: &PreparedClaimKey,
    claims: &[(P, Proof)],
    weights: &[u128],
) -> bool {
    let (fixed, proofs) = rayon::join(
        || key_terms(key, claims, weights),
        || {
            claims
                .par_chunks(PROOFS_PER_TASK)
                .zip(weights.par_chunks(PROOFS_PER_TASK))
                .map(|(claims, weights)| {
                    // The weights are 128 bits: a double-and-add of half the length of a full
                    // scalar's.
                    let a: Vec<G1Projective> = claims
                        .iter()
                        .zip(weights)
                        .map(|((_, p), &r)| p.a.mul_bigint([r as u64, (r >> 64) as u64]))
                        .collect();
                    let a = G1Projective::normalize_batch(&a);
                    let b: Vec<G2Prepared<Config>> =
                        claims.iter().map(|(_, p)| p.b.into()).collect();
                    let pairs: Vec<_> = a.into_iter().zip(&b).collect();
                    miller::multi_miller_loop(&pairs)
                })
                .product::<<Bn254 as Pairing>::TargetField>()
        },
    );
    Bn254::final_exponentiation(MillerLoopOutput(fixed * proofs)).is_some_and(|v| v.is_zero())
}

/// The Miller loop of the pairs that do not depend on single proofs:
/// `(Σ rᵢ·ICᵢ, −γ)`, `(Σ rᵢ·Cᵢ, −δ)` and `(−(Σ rᵢ)·α, β)`.
fn key_terms<P: PublicStatement>(
    key: &PreparedClaimKey,
    claims: &[(P, Proof)],
    weights: &[u128],
) -> <Bn254 as Pairing>::TargetField {
    let scalars: Vec<Fr> = weights.iter().map(|&r| Fr::from(r)).collect();
    // Σ rᵢ·(IC₀ + Σⱼ xᵢⱼ·ICⱼ₊₁) = (Σ rᵢ)·IC₀ + Σⱼ (Σᵢ rᵢ·xᵢⱼ)·ICⱼ₊₁: fold the weights into
    // the scalars first, so the inputs cost one pass over the key's tables per batch.
    let mut input_scalars = vec![Fr::from(0u64); P::CIRCUIT.inputs() + 1];
    for ((public, _), r) in claims.iter().zip(&scalars) {
        input_scalars[0] += r;
        for (acc, x) in input_scalars[1..].iter_mut().zip(public.field_elements()) {
            *acc += *r * x;
        }
    }
    let total = input_scalars[0];
    let sum_inputs = key.inputs.msm(input_scalars.iter().copied());
    let cs: Vec<_> = claims.iter().map(|(_, p)| p.c).collect();
    let sum_c = G1Projective::msm(&cs, &scalars).expect("equal lengths");
    let alpha = key.key.alpha_g1 * -total;
    let [sum_inputs, sum_c, alpha] = G1Projective::normalize_batch(&[sum_inputs, sum_c, alpha])
        .try_into()
        .expect("three points");
    miller::multi_miller_loop(&[
        (sum_inputs, &key.gamma_neg),
        (sum_c, &key.delta_neg),
        (alpha, &key.beta),
    ])
}
