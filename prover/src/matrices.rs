//! The claim circuit's R1CS matrices, computed once per parameter set.
//!
//! Synthesizing the circuit with matrices costs a third of a stock proof (mostly inlining the
//! wide linear combinations of Poseidon's MDS mix). The matrices never change for a shape, so
//! the prover builds them once and afterwards synthesizes only the witness.

use ark_bn254::Fr;
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystem, Matrix, OptimizationGoal, SynthesisError,
    SynthesisMode, R1CS_PREDICATE_LABEL,
};
use rayon::prelude::*;
use zkclaim_circuits::{claim::Shape, gadget::claim::ClaimCircuit};

/// `A`, `B`, `C` of the claim circuit and its dimensions.
pub struct ClaimMatrices {
    pub(crate) abc: Vec<Matrix<Fr>>,
    pub(crate) num_instance: usize,
    pub(crate) num_witness: usize,
    pub(crate) num_constraints: usize,
}

impl core::fmt::Debug for ClaimMatrices {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "ClaimMatrices({} constraints)", self.num_constraints)
    }
}

impl ClaimMatrices {
    pub fn build(shape: Shape) -> Result<Self, SynthesisError> {
        let cs = ConstraintSystem::<Fr>::new_ref();
        // Must match key generation (ark_groth16 uses the same goal), or the matrices differ.
        cs.set_optimization_goal(OptimizationGoal::Constraints);
        cs.set_mode(SynthesisMode::Setup);
        ClaimCircuit::blank(shape).generate_constraints(cs.clone())?;
        cs.finalize();
        let mut all = cs.to_matrices()?;
        let abc = all
            .remove(R1CS_PREDICATE_LABEL)
            .ok_or(SynthesisError::PredicateNotFound)?;
        Ok(Self {
            abc,
            num_instance: cs.num_instance_variables(),
            num_witness: cs.num_witness_variables(),
            num_constraints: cs.num_constraints(),
        })
    }

    pub fn num_constraints(&self) -> usize {
        self.num_constraints
    }

    /// The assignment `z = (1, inputs…, witness…)` of `circuit`, synthesized without
    /// building constraints or linear combinations.
    pub fn assignment(&self, circuit: ClaimCircuit) -> Result<Vec<Fr>, SynthesisError> {
        let cs = ConstraintSystem::<Fr>::new_ref();
        cs.set_optimization_goal(OptimizationGoal::Constraints);
        cs.set_mode(SynthesisMode::Prove {
            construct_matrices: false,
            generate_lc_assignments: false,
        });
        circuit.generate_constraints(cs.clone())?;
        let mut z = cs.instance_assignment()?;
        z.extend(cs.witness_assignment()?);
        if z.len() != self.num_instance + self.num_witness {
            return Err(SynthesisError::Unsatisfiable);
        }
        Ok(z)
    }

    /// The first constraint `⟨A_i, z⟩·⟨B_i, z⟩ ≠ ⟨C_i, z⟩`, if any.
    pub fn first_unsatisfied(&self, z: &[Fr]) -> Option<usize> {
        let dot = |row: &[(Fr, usize)]| row.iter().map(|(c, i)| *c * z[*i]).sum::<Fr>();
        let [a, b, c] = [&self.abc[0], &self.abc[1], &self.abc[2]];
        (0..self.num_constraints)
            .into_par_iter()
            .find_first(|&i| dot(&a[i]) * dot(&b[i]) != dot(&c[i]))
    }
}
