//! Groth16 proof assembly specialised to a fixed proving key.
//!
//! Same mathematics as `ark_groth16`'s prover, with two changes that fit this circuit:
//! bases that are the point at infinity (about 30% of the B queries: variables that never
//! appear in B) are dropped from the MSMs once, when the key is loaded; and the five MSMs and
//! the QAP witness map run as independent rayon tasks, so cores stay busy through the serial
//! tails of each.

use ark_bn254::{Bn254, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::{AffineRepr, CurveGroup, VariableBaseMSM};
use ark_ff::PrimeField;
use ark_groth16::{
    r1cs_to_qap::{LibsnarkReduction, R1CSToQAP},
    Proof, ProvingKey,
};
use ark_poly::GeneralEvaluationDomain;
use ark_relations::gr1cs::{Matrix, SynthesisError};
use rayon::prelude::*;
use zeroize::Zeroizing;

type BigInt = <Fr as PrimeField>::BigInt;

/// The non-zero bases of a query (without its constant term) and their variable positions.
#[derive(Clone)]
pub(crate) struct SparseQuery<G: AffineRepr> {
    constant: G,
    bases: Vec<G>,
    positions: Vec<u32>,
}

impl<G: AffineRepr<ScalarField = Fr>> SparseQuery<G> {
    pub(crate) fn new(query: &[G]) -> Self {
        let (positions, bases) = query[1..]
            .iter()
            .enumerate()
            .filter(|(_, b)| !b.is_zero())
            .map(|(i, b)| (i as u32, *b))
            .unzip();
        Self {
            constant: query[0],
            bases,
            positions,
        }
    }

    /// `query[0] + Σ query[i+1]·z[i]` over the non-zero bases.
    fn msm(&self, z: &[BigInt]) -> G::Group
    where
        G::Group: VariableBaseMSM<MulBase = G>,
    {
        let scalars: Zeroizing<Vec<BigInt>> =
            Zeroizing::new(self.positions.iter().map(|i| z[*i as usize]).collect());
        G::Group::msm_bigint(&self.bases, &scalars) + self.constant
    }
}

/// The B and A queries of a key, compacted once.
#[derive(Clone)]
pub(crate) struct SparseQueries {
    a: SparseQuery<G1Affine>,
    b_g1: SparseQuery<G1Affine>,
    b_g2: SparseQuery<G2Affine>,
}

impl SparseQueries {
    pub(crate) fn new(pk: &ProvingKey<Bn254>) -> Self {
        Self {
            a: SparseQuery::new(&pk.a_query),
            b_g1: SparseQuery::new(&pk.b_g1_query),
            b_g2: SparseQuery::new(&pk.b_g2_query),
        }
    }
}

/// A Groth16 proof for the full assignment `z = (1, inputs…, witness…)`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn create_proof(
    pk: &ProvingKey<Bn254>,
    sparse: &SparseQueries,
    abc: &[Matrix<Fr>],
    num_instance: usize,
    num_constraints: usize,
    z: &[Fr],
    r: Fr,
    s: Fr,
) -> Result<Proof<Bn254>, SynthesisError> {
    // Every vector below is derived from the witness: each is wiped when dropped.
    let zb: Zeroizing<Vec<BigInt>> =
        Zeroizing::new(z[1..].par_iter().map(|x| x.into_bigint()).collect());
    let aux = &zb[num_instance - 1..];
    let (h_and_l, (a_acc, (b1_acc, b2_acc))) = rayon::join(
        || -> Result<_, SynthesisError> {
            let (h, l) = rayon::join(
                || -> Result<G1Projective, SynthesisError> {
                    let h = Zeroizing::new(LibsnarkReduction::witness_map_from_matrices::<
                        Fr,
                        GeneralEvaluationDomain<Fr>,
                    >(
                        abc, num_instance, num_constraints, z
                    )?);
                    let hb: Zeroizing<Vec<BigInt>> =
                        Zeroizing::new(h.par_iter().map(|x| x.into_bigint()).collect());
                    Ok(G1Projective::msm_bigint(&pk.h_query, &hb))
                },
                || G1Projective::msm_bigint(&pk.l_query, aux),
            );
            Ok((h?, l))
        },
        || {
            rayon::join(
                || sparse.a.msm(&zb),
                || rayon::join(|| sparse.b_g1.msm(&zb), || sparse.b_g2.msm(&zb)),
            )
        },
    );
    let (h_acc, l_acc) = h_and_l?;
    let delta_g1 = pk.delta_g1.into_group();
    let g_a = delta_g1 * r + a_acc + pk.vk.alpha_g1;
    let g1_b = delta_g1 * s + b1_acc + pk.beta_g1;
    let g2_b: G2Projective = pk.vk.delta_g2 * s + b2_acc + pk.vk.beta_g2;
    let g_c = g_a * s + g1_b * r - delta_g1 * (r * s) + l_acc + h_acc;
    Ok(Proof {
        a: g_a.into_affine(),
        b: g2_b.into_affine(),
        c: g_c.into_affine(),
    })
}
