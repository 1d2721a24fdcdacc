//! Proving one claim, of either circuit.

use crate::{groth16::create_proof, ClaimParams};
use ark_bn254::Fr;
use ark_ff::UniformRand;
use ark_relations::gr1cs::{ConstraintSynthesizer, SynthesisError};
use ark_std::rand::{CryptoRng, RngCore};
use zeroize::Zeroizing;
use zkclaim_circuits::{
    claim::{ClaimWitness, RuleViolation},
    continuation::{ContinuationViolation, ContinuationWitness},
    gadget::{claim::ClaimCircuit, continuation::ContinuationCircuit},
    invoice, Circuit, PublicStatement,
};
use zkclaim_verifier::{verify, ClaimPackage, ContinuationPackage, Proof};

#[derive(Debug, thiserror::Error)]
pub enum ProveError {
    /// The witness breaks a rule of the statement (caught natively, before any proving).
    #[error("the claim does not satisfy the statement: {0}")]
    Rule(#[from] RuleViolation),
    /// The witness breaks a rule of the continuation statement (caught natively).
    #[error("the continuation claim does not satisfy the statement: {0}")]
    Continuation(#[from] ContinuationViolation),
    /// The earlier payers already reimbursed the whole invoice: a continuation would pay 0.
    /// The statement allows it (it is sound: it pays nothing), but it would only spend the
    /// rank's nullifier, so the prover refuses to make it.
    #[error("the invoice is fully reimbursed ({total} fen paid): nothing is left to claim")]
    FullyReimbursed { total: u64 },
    /// Parameters of the other circuit than the witness's.
    #[error("a {witness} claim cannot be proven with the {params} circuit's parameters")]
    WrongCircuit { params: Circuit, witness: Circuit },
    /// The native checks passed but a constraint did not: a bug, reported rather than
    /// turned into a proof that cannot verify.
    #[error("the witness does not satisfy the claim circuit (constraint {0})")]
    Unsatisfied(String),
    #[error("constraint synthesis failed: {0}")]
    Synthesis(#[from] SynthesisError),
    /// The proof does not verify under the parameters' verifying key: the proving key is not
    /// that key's (tampered, or from another setup). The proof is withheld: a bad key's
    /// proof may not hide the witness.
    #[error(
        "the proof made does not verify: the proving key is not consistent with the verifying \
         key, and no proof was returned"
    )]
    Unverified,
}

/// Proves a primary claim: checks every rule natively, synthesizes only the witness (the
/// matrices are cached in the parameters), checks every constraint against it, runs Groth16,
/// and verifies the proof before returning it (about a millisecond).
/// The witness, its full assignment and the prover's scalars derived from it are wiped
/// before this returns (see "What is wiped" in `docs/protocol.md` for what is not).
pub fn prove<R: RngCore + CryptoRng>(
    params: &ClaimParams,
    witness: ClaimWitness,
    rng: &mut R,
) -> Result<ClaimPackage, ProveError> {
    same_circuit(params, Circuit::Primary)?;
    let circuit = ClaimCircuit::new(params.shape, witness)?;
    let public_inputs = circuit.public;
    Ok(ClaimPackage {
        public_inputs,
        proof: groth16(params, circuit, &public_inputs, rng)?,
    })
}

/// Proves a continuation claim (statement v2: a later payer on an invoice whose previous
/// rank settled), as [`prove`] does a primary one, with the continuation circuit's
/// parameters.
pub fn prove_continuation<R: RngCore + CryptoRng>(
    params: &ClaimParams,
    witness: ContinuationWitness,
    rng: &mut R,
) -> Result<ContinuationPackage, ProveError> {
    same_circuit(params, Circuit::Continuation)?;
    let total = invoice::total(&witness.claim.invoice.items);
    if witness.paid_before == total {
        return Err(ProveError::FullyReimbursed { total });
    }
    let circuit = ContinuationCircuit::new(params.shape, witness)?;
    let public_inputs = circuit.public;
    Ok(ContinuationPackage {
        public_inputs,
        proof: groth16(params, circuit, &public_inputs, rng)?,
    })
}

fn same_circuit(params: &ClaimParams, witness: Circuit) -> Result<(), ProveError> {
    match params.circuit == witness {
        true => Ok(()),
        false => Err(ProveError::WrongCircuit {
            params: params.circuit,
            witness,
        }),
    }
}

/// The Groth16 proof of `circuit` (already checked natively, with public inputs `public`)
/// under `params`: its assignment, every constraint checked against it, the proof, and the
/// proof verified before it is returned.
fn groth16<R: RngCore + CryptoRng>(
    params: &ClaimParams,
    circuit: impl ConstraintSynthesizer<Fr>,
    public: &impl PublicStatement,
    rng: &mut R,
) -> Result<Proof, ProveError> {
    let m = &params.matrices;
    let z = m.assignment(circuit)?;
    let products = m.products(&z);
    if let Some(row) = m.first_unsatisfied_of(&z, &products) {
        return Err(ProveError::Unsatisfied(format!("#{row}")));
    }
    // The blinding scalars: with them and the proof, a guess at the witness could be checked.
    let (r, s) = (Zeroizing::new(Fr::rand(rng)), Zeroizing::new(Fr::rand(rng)));
    let pk = &params.proving_key;
    let proof = create_proof(
        &pk.key,
        params.qap,
        &pk.sparse,
        &m.abc,
        &products,
        m.num_instance,
        m.num_constraints,
        &z,
        *r,
        *s,
    )?;
    let proof = Proof {
        a: proof.a,
        b: proof.b,
        c: proof.c,
    };
    verify(&params.prepared, public, &proof).map_err(|_| ProveError::Unverified)?;
    Ok(proof)
}
