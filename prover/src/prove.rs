//! Proving one claim.

use crate::ClaimParams;
use ark_bn254::{Bn254, Fr};
use ark_ff::UniformRand;
use ark_groth16::Groth16;
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystem, OptimizationGoal, SynthesisError, R1CS_PREDICATE_LABEL,
};
use ark_std::rand::{CryptoRng, RngCore};
use zkclaim_circuits::{
    claim::{ClaimWitness, RuleViolation},
    gadget::claim::ClaimCircuit,
};
use zkclaim_verifier::{ClaimPackage, Proof};

#[derive(Debug, thiserror::Error)]
pub enum ProveError {
    /// The witness breaks a rule of the statement (caught natively, before any proving).
    #[error("the claim does not satisfy the statement: {0}")]
    Rule(#[from] RuleViolation),
    /// The native checks passed but a constraint did not: a bug, reported rather than
    /// turned into a proof that cannot verify.
    #[error("the witness does not satisfy the claim circuit (constraint {0})")]
    Unsatisfied(String),
    #[error("constraint synthesis failed: {0}")]
    Synthesis(#[from] SynthesisError),
}

/// Proves a claim: checks every rule natively, synthesizes the circuit once, checks that
/// the witness satisfies every constraint, then runs Groth16 on the same assignment.
pub fn prove<R: RngCore + CryptoRng>(
    params: &ClaimParams,
    witness: ClaimWitness,
    rng: &mut R,
) -> Result<ClaimPackage, ProveError> {
    let circuit = ClaimCircuit::new(params.shape, witness)?;
    let public_inputs = circuit.public;
    let cs = ConstraintSystem::<Fr>::new_ref();
    // Must match key generation, or the matrices would differ from the key's.
    cs.set_optimization_goal(OptimizationGoal::Constraints);
    circuit.generate_constraints(cs.clone())?;
    cs.finalize();
    if !cs.is_satisfied()? {
        let which = cs
            .which_is_unsatisfied()?
            .unwrap_or_else(|| "unnamed".into());
        return Err(ProveError::Unsatisfied(which));
    }
    let matrices = cs.to_matrices()?;
    let matrices = &matrices[R1CS_PREDICATE_LABEL];
    let mut assignment = cs.instance_assignment()?;
    assignment.extend(cs.witness_assignment()?);
    let (r, s) = (Fr::rand(rng), Fr::rand(rng));
    let proof = Groth16::<Bn254>::create_proof_with_reduction_and_matrices(
        &params.proving_key.0,
        r,
        s,
        matrices,
        cs.num_instance_variables(),
        cs.num_constraints(),
        &assignment,
    )?;
    Ok(ClaimPackage {
        public_inputs,
        proof: Proof {
            a: proof.a,
            b: proof.b,
            c: proof.c,
        },
    })
}
