//! A claim circuit's R1CS matrices (primary or continuation), computed once per parameter
//! set.
//!
//! Synthesizing the circuit with matrices costs a third of a stock proof (mostly inlining the
//! wide linear combinations of Poseidon's MDS mix). The matrices never change for a shape, so
//! the prover builds them once and afterwards synthesizes only the witness.

use ark_bn254::Fr;
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystem, ConstraintSystemRef, Matrix, OptimizationGoal,
    SynthesisError, SynthesisMode, R1CS_PREDICATE_LABEL,
};
use rayon::prelude::*;
use zeroize::Zeroizing;
use zkclaim_circuits::{
    claim::Shape,
    gadget::{claim::ClaimCircuit, continuation::ContinuationCircuit},
    Circuit,
};

/// `A`, `B`, `C` of one of the claim circuits and its dimensions.
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
    pub fn build(circuit: Circuit, shape: Shape) -> Result<Self, SynthesisError> {
        let cs = ConstraintSystem::<Fr>::new_ref();
        // Must match key generation (ark_groth16 uses the same goal), or the matrices differ.
        cs.set_optimization_goal(OptimizationGoal::Constraints);
        cs.set_mode(SynthesisMode::Setup);
        match circuit {
            Circuit::Primary => ClaimCircuit::blank(shape).generate_constraints(cs.clone())?,
            Circuit::Continuation => {
                ContinuationCircuit::blank(shape).generate_constraints(cs.clone())?
            }
        }
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
    /// building constraints or linear combinations. The constraint system's copy of the
    /// witness is moved out and wiped, and the circuit (with its witness) is wiped on drop.
    pub fn assignment(
        &self,
        circuit: impl ConstraintSynthesizer<Fr>,
    ) -> Result<Zeroizing<Vec<Fr>>, SynthesisError> {
        let cs = ConstraintSystem::<Fr>::new_ref();
        cs.set_optimization_goal(OptimizationGoal::Constraints);
        cs.set_mode(SynthesisMode::Prove {
            construct_matrices: false,
            generate_lc_assignments: false,
        });
        // Its final size up front: a growing vector would leave partial copies of the
        // witness behind in the buffers it frees.
        cs.borrow_mut()
            .ok_or(SynthesisError::MissingCS)?
            .assignments
            .witness_assignment
            .reserve_exact(self.num_witness);
        let synthesized = circuit.generate_constraints(cs.clone());
        // Taken (and so wiped) even when synthesis failed half-way.
        let z = take_assignment(&cs)?;
        synthesized?;
        if z.len() != self.num_instance + self.num_witness {
            return Err(SynthesisError::Unsatisfiable);
        }
        Ok(z)
    }

    /// The first constraint `⟨A_i, z⟩·⟨B_i, z⟩ ≠ ⟨C_i, z⟩`, if any.
    pub fn first_unsatisfied(&self, z: &[Fr]) -> Option<usize> {
        self.first_unsatisfied_of(z, &self.products(z))
    }

    /// `⟨A_i, z⟩` and `⟨B_i, z⟩` of every constraint `i` (which circom's witness map starts
    /// from too), wiped when dropped.
    pub(crate) fn products(&self, z: &[Fr]) -> [Zeroizing<Vec<Fr>>; 2] {
        let products = |matrix: &[Vec<(Fr, usize)>]| {
            Zeroizing::new(matrix.par_iter().map(|row| dot(row, z)).collect())
        };
        let (a, b) = rayon::join(|| products(&self.abc[0]), || products(&self.abc[1]));
        [a, b]
    }

    /// [`Self::first_unsatisfied`], given [`Self::products`]`(z)`.
    pub(crate) fn first_unsatisfied_of(
        &self,
        z: &[Fr],
        [a, b]: &[Zeroizing<Vec<Fr>>; 2],
    ) -> Option<usize> {
        (0..self.num_constraints)
            .into_par_iter()
            .find_first(|&i| a[i] * b[i] != dot(&self.abc[2][i], z))
    }
}

/// `⟨row, z⟩`.
fn dot(row: &[(Fr, usize)], z: &[Fr]) -> Fr {
    row.iter().map(|(c, i)| *c * z[*i]).sum()
}

/// `(instance…, witness…)` of a synthesized constraint system, leaving it none of the
/// witness: its vector is moved out, copied once into the result and wiped.
fn take_assignment(cs: &ConstraintSystemRef<Fr>) -> Result<Zeroizing<Vec<Fr>>, SynthesisError> {
    let mut inner = cs.borrow_mut().ok_or(SynthesisError::MissingCS)?;
    let assignments = &mut inner.assignments;
    let witness = Zeroizing::new(core::mem::take(&mut assignments.witness_assignment));
    let instance = &assignments.instance_assignment;
    let mut z = Zeroizing::new(Vec::with_capacity(instance.len() + witness.len()));
    z.extend_from_slice(instance);
    z.extend_from_slice(&witness);
    Ok(z)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{rngs::StdRng, SeedableRng};
    use zkclaim_circuits::sample;

    #[test]
    fn taking_the_assignment_leaves_the_constraint_system_no_witness() {
        let shape = Shape::default();
        let witness = sample::claim(&mut StdRng::seed_from_u64(1), shape, 1);
        let circuit = ClaimCircuit::new(shape, witness).unwrap();
        let cs = ConstraintSystem::<Fr>::new_ref();
        circuit.generate_constraints(cs.clone()).unwrap();
        let (instance, witness) = (
            cs.instance_assignment().unwrap(),
            cs.witness_assignment().unwrap(),
        );
        assert!(witness.len() > 10_000);
        let z = take_assignment(&cs).unwrap();
        assert_eq!(*z, [instance, witness].concat());
        assert_eq!(cs.witness_assignment().unwrap(), Vec::<Fr>::new());
    }
}
