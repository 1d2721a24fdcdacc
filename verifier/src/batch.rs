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
use ark_ec::{pairing::Pairing, CurveGroup, VariableBaseMSM};
use ark_std::rand::{CryptoRng, RngCore};
use zkclaim_circuits::PublicStatement;

/// Which proofs of a batch failed, by position, with each one's reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} of the batch's proofs failed verification (positions {:?})", .failures.len(), .failures.iter().map(|f| f.0).collect::<Vec<_>>())]
pub struct BatchError {
    pub failures: Vec<(usize, VerifyError)>,
}

/// Verifies all `claims` (of `key`'s circuit) at once; on failure names every bad one.
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
    let weights: Vec<Fr> = claims
        .iter()
        .map(|_| Fr::from(u128::from(rng.next_u64()) << 64 | u128::from(rng.next_u64())))
        .collect();
    if batch_holds(key, claims, &weights) {
        return Ok(());
    }
    let failures: Vec<(usize, VerifyError)> = claims
        .iter()
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
    weights: &[Fr],
) -> bool {
    let weighted_a: Vec<G1Projective> = claims
        .iter()
        .zip(weights)
        .map(|((_, p), r)| p.a * r)
        .collect();
    let weighted_a = G1Projective::normalize_batch(&weighted_a);
    // Σ rᵢ·(IC₀ + Σⱼ xᵢⱼ·ICⱼ₊₁) = (Σ rᵢ)·IC₀ + Σⱼ (Σᵢ rᵢ·xᵢⱼ)·ICⱼ₊₁: fold the weights into
    // the scalars first, so the inputs cost one small MSM per batch, not one per proof.
    let mut input_scalars = vec![Fr::from(0u64); P::CIRCUIT.inputs() + 1];
    for ((public, _), r) in claims.iter().zip(weights) {
        input_scalars[0] += r;
        for (acc, x) in input_scalars[1..].iter_mut().zip(public.field_elements()) {
            *acc += *r * x;
        }
    }
    let sum_inputs =
        G1Projective::msm(&key.key().gamma_abc_g1, &input_scalars).expect("equal lengths");
    let cs: Vec<_> = claims.iter().map(|(_, p)| p.c).collect();
    let sum_c = G1Projective::msm(&cs, weights).expect("equal lengths");

    let mut g1: Vec<<Bn254 as Pairing>::G1Prepared> =
        weighted_a.into_iter().map(Into::into).collect();
    let mut g2: Vec<<Bn254 as Pairing>::G2Prepared> =
        claims.iter().map(|(_, p)| p.b.into()).collect();
    g1.push(sum_inputs.into_affine().into());
    g2.push(key.gamma_neg.clone());
    g1.push(sum_c.into_affine().into());
    g2.push(key.delta_neg.clone());
    let total = input_scalars[0];
    match Bn254::final_exponentiation(Bn254::multi_miller_loop(g1, g2)) {
        Some(lhs) => lhs == key.alpha_beta * total,
        None => false,
    }
}
