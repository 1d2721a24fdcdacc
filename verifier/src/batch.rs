//! Batch verification of claim proofs under one verifying key (one circuit: a block mixing
//! primary and continuation claims is verified as one batch per circuit).
//!
//! With random 128-bit weights rᵢ, all n pairing equations hold (except with probability
//! about n/2^128) iff
//! `Π e(rᵢ·Aᵢ, Bᵢ) · e(Σ rᵢ·ICᵢ, −γ) · e(Σ rᵢ·Cᵢ, −δ) = e(α, β)^(Σ rᵢ)`:
//! n + 2 Miller loops and one final exponentiation instead of 3n loops and n exponentiations.
//! When the batch fails, each proof is checked alone to name the bad ones.

use crate::{same_circuit, verify, PreparedClaimKey, Proof, VerifyError};
use ark_bn254::{Bn254, Fr, G1Projective};
use ark_ec::{
    pairing::{MillerLoopOutput, Pairing},
    AffineRepr, CurveGroup, VariableBaseMSM,
};
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

fn batch_holds<P: PublicStatement>(
    key: &PreparedClaimKey,
    claims: &[(P, Proof)],
    weights: &[u128],
) -> bool {
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
    let sum_inputs = key.inputs.msm(input_scalars.iter().copied());
    let cs: Vec<_> = claims.iter().map(|(_, p)| p.c).collect();
    let sum_c = G1Projective::msm(&cs, &scalars).expect("equal lengths");
    let fixed = Bn254::multi_miller_loop(
        [sum_inputs.into_affine(), sum_c.into_affine()],
        [key.gamma_neg.clone(), key.delta_neg.clone()],
    );
    // e(rᵢ·Aᵢ, Bᵢ) in one multi-Miller loop per core's share of the proofs (the weights are
    // 128 bits: a double-and-add of half the length of a full scalar's).
    let share = claims.len().div_ceil(rayon::current_num_threads());
    let proofs = claims
        .par_chunks(share)
        .zip(weights.par_chunks(share))
        .map(|(claims, weights)| {
            let a: Vec<G1Projective> = claims
                .iter()
                .zip(weights)
                .map(|((_, p), &r)| p.a.mul_bigint([r as u64, (r >> 64) as u64]))
                .collect();
            let a = G1Projective::normalize_batch(&a);
            Bn254::multi_miller_loop(a, claims.iter().map(|(_, p)| p.b)).0
        })
        .product::<<Bn254 as Pairing>::TargetField>();
    let total = input_scalars[0];
    match Bn254::final_exponentiation(MillerLoopOutput(fixed.0 * proofs)) {
        Some(lhs) => lhs == key.alpha_beta * total,
        None => false,
    }
}
