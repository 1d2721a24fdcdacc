//! Groth16 proof assembly specialised to a fixed proving key.
//!
//! Same mathematics as `ark_groth16`'s prover, with four changes that fit this circuit:
//! bases that are the point at infinity (about 30% of the B queries: variables that never
//! appear in B) are dropped from the MSMs once, when the key is loaded; the MSMs are
//! zkclaim's own ([`crate::msm`]: batch-affine buckets, signed digits), faster than
//! `ark_ec`'s at these sizes in G1 and G2; the B query in G1 serves only C, so
//! `C = s·A + r·β + Σ r·zᵢ·Bᵢ + Σ zᵢ·Lᵢ + Σ hⱼ·Hⱼ` is computed with one MSM of the three
//! queries' points instead of three (fewer additions in all: see [`crate::msm::msm_sum`]);
//! and the three MSMs and the QAP witness map run as independent rayon tasks, the G2 MSM
//! (the longest) first, so cores stay busy through the serial tails of each. The witness
//! map is arkworks' or circom's, as the key's H query needs ([`Qap`]).

use crate::{
    msm::{msm, msm_sum, BatchInvert, FixedBases},
    Qap,
};
use ark_bn254::{g1, g2, Bn254, Fr, G1Projective, G2Projective};
use ark_ec::{
    short_weierstrass::{Affine, Projective, SWCurveConfig},
    AffineRepr, CurveGroup,
};
use ark_ff::{FftField, PrimeField, Zero};
use ark_groth16::{
    r1cs_to_qap::{LibsnarkReduction, R1CSToQAP},
    Proof, ProvingKey,
};
use ark_poly::{EvaluationDomain, GeneralEvaluationDomain, Radix2EvaluationDomain};
use ark_relations::gr1cs::{Matrix, SynthesisError};
use rayon::prelude::*;
use std::sync::Arc;
use zeroize::Zeroizing;

type BigInt = <Fr as PrimeField>::BigInt;

/// The non-zero bases of a query (without its constant term) and their variable positions.
#[derive(Clone)]
pub(crate) struct SparseQuery<P: SWCurveConfig> {
    constant: Affine<P>,
    bases: Vec<Affine<P>>,
    positions: Vec<u32>,
}

impl<P> SparseQuery<P>
where
    P: SWCurveConfig<ScalarField = Fr>,
    P::BaseField: BatchInvert,
{
    pub(crate) fn new(query: &[Affine<P>]) -> Self {
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

    /// `query[0] + Σ query[i+1]·z[i]` over the non-zero bases, through their tables when
    /// given.
    fn msm(&self, z: &[BigInt], tables: Option<&FixedBases<P>>) -> Projective<P> {
        let scalars: Zeroizing<Vec<BigInt>> =
            Zeroizing::new(self.positions.iter().map(|i| z[*i as usize]).collect());
        let sum = match tables {
            Some(tables) => tables.msm(&scalars),
            None => msm(&self.bases, &scalars),
        };
        sum + self.constant
    }

    /// The scalars `r·z[i]` of [`Self::msm`]'s non-zero bases, for `r` times it.
    fn scaled_scalars(&self, z: &[Fr], r: Fr) -> Zeroizing<Vec<BigInt>> {
        Zeroizing::new(
            self.positions
                .par_iter()
                .map(|i| (z[*i as usize] * r).into_bigint())
                .collect(),
        )
    }
}

/// The B and A queries of a key, compacted once, and the tables of the proof's three MSMs
/// when a process that proves again and again made them ([`SparseQueries::precompute`]).
#[derive(Clone)]
pub(crate) struct SparseQueries {
    a: SparseQuery<g1::Config>,
    b_g1: SparseQuery<g1::Config>,
    b_g2: SparseQuery<g2::Config>,
    tables: Option<Arc<Tables>>,
}

/// The fixed-base tables of A's and B's compacted queries in G1 and G2, and of C's bases:
/// the L and H queries, then B's in G1 and its constant ([`c_scalars`]).
struct Tables {
    a: FixedBases<g1::Config>,
    b_g2: FixedBases<g2::Config>,
    c: FixedBases<g1::Config>,
}

impl SparseQueries {
    pub(crate) fn new(pk: &ProvingKey<Bn254>) -> Self {
        let (a, (b_g1, b_g2)) = rayon::join(
            || SparseQuery::new(&pk.a_query),
            || {
                rayon::join(
                    || SparseQuery::new(&pk.b_g1_query),
                    || SparseQuery::new(&pk.b_g2_query),
                )
            },
        );
        Self {
            a,
            b_g1,
            b_g2,
            tables: None,
        }
    }

    /// Makes the fixed-base tables of `pk` (whose queries these are), for MSMs over the
    /// threads of the current rayon pool; returns their size in bytes.
    pub(crate) fn precompute(&mut self, pk: &ProvingKey<Bn254>) -> usize {
        let groups = rayon::current_num_threads();
        let c_bases = [
            &pk.l_query[..],
            &pk.h_query,
            &self.b_g1.bases,
            std::slice::from_ref(&self.b_g1.constant),
        ]
        .concat();
        let tables = Tables {
            a: FixedBases::new(&self.a.bases, groups),
            b_g2: FixedBases::new(&self.b_g2.bases, groups),
            c: FixedBases::new(&c_bases, groups),
        };
        let bytes = tables.a.bytes() + tables.b_g2.bytes() + tables.c.bytes();
        self.tables = Some(Arc::new(tables));
        bytes
    }
}

/// C's scalars in the order of its table's bases: L's, H's, B's in G1 and its constant's,
/// each list fitted to its query's length (as an MSM takes the shorter of the two).
fn c_scalars(
    pk: &ProvingKey<Bn254>,
    sparse: &SparseQueries,
    [l, h, b, constant]: [&[BigInt]; 4],
) -> Zeroizing<Vec<BigInt>> {
    let lists = [
        (l, pk.l_query.len()),
        (h, pk.h_query.len()),
        (b, sparse.b_g1.bases.len()),
        (constant, 1),
    ];
    // Its final size up front: a growing vector would leave copies behind unwiped.
    let mut scalars = Zeroizing::new(Vec::with_capacity(lists.iter().map(|l| l.1).sum()));
    for (list, len) in lists {
        let zeros = std::iter::repeat(BigInt::zero());
        scalars.extend(list.iter().copied().chain(zeros).take(len));
    }
    scalars
}

/// A Groth16 proof for the full assignment `z = (1, inputs…, witness…)`, whose constraints'
/// `⟨A_i, z⟩` and `⟨B_i, z⟩` are `products` (what circom's witness map starts from).
#[allow(clippy::too_many_arguments)]
pub(crate) fn create_proof(
    pk: &ProvingKey<Bn254>,
    qap: Qap,
    sparse: &SparseQueries,
    abc: &[Matrix<Fr>],
    products: &[Zeroizing<Vec<Fr>>; 2],
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
    let tables = sparse.tables.as_deref();
    // The G2 MSM, the longest, starts first; the rest (A, and the witness map, then C) is
    // taken by the other core, and each MSM's windows are rayon tasks either core can take.
    let (b2_acc, (a_acc, c_acc)) = rayon::join(
        || sparse.b_g2.msm(&zb, tables.map(|t| &t.b_g2)),
        || {
            rayon::join(
                || sparse.a.msm(&zb, tables.map(|t| &t.a)),
                || -> Result<G1Projective, SynthesisError> {
                    let h = Zeroizing::new(match qap {
                        Qap::Libsnark => {
                            LibsnarkReduction::witness_map_from_matrices::<
                                Fr,
                                GeneralEvaluationDomain<Fr>,
                            >(abc, num_instance, num_constraints, z)?
                        }
                        Qap::Circom => {
                            circom_witness_map(products, num_instance, num_constraints, z)?
                        }
                    });
                    let hb: Zeroizing<Vec<BigInt>> =
                        Zeroizing::new(h.par_iter().map(|x| x.into_bigint()).collect());
                    // r·B in G1 without its β and s·δ (which cancel against C's −r·s·δ).
                    let b_scalars = sparse.b_g1.scaled_scalars(&z[1..], r);
                    let r_bigint = Zeroizing::new(vec![r.into_bigint()]);
                    Ok(match tables {
                        Some(tables) => {
                            tables
                                .c
                                .msm(&c_scalars(pk, sparse, [aux, &hb, &b_scalars, &r_bigint]))
                        }
                        None => msm_sum(&[
                            (&pk.l_query, aux),
                            (&pk.h_query, &hb),
                            (&sparse.b_g1.bases, &b_scalars),
                            (std::slice::from_ref(&sparse.b_g1.constant), &r_bigint),
                        ]),
                    })
                },
            )
        },
    );
    let delta_g1 = pk.delta_g1.into_group();
    let g_a = delta_g1 * r + a_acc + pk.vk.alpha_g1;
    let g2_b: G2Projective = pk.vk.delta_g2 * s + b2_acc + pk.vk.beta_g2;
    // C = s·A + r·B₁ − r·s·δ + L + H, with B₁ = β + Σ zᵢ·Bᵢ + s·δ.
    let g_c = g_a * s + pk.beta_g1 * r + c_acc?;
    Ok(Proof {
        a: g_a.into_affine(),
        b: g2_b.into_affine(),
        c: g_c.into_affine(),
    })
}

/// circom's witness map (snarkjs's `groth16 prove`, rapidsnark): over the domain of the
/// `n = 2^k ≥ m + 1 + inputs` points, `a` holds `⟨A_i, z⟩` and then, as snarkjs appends a
/// constraint `z_i · 0 = 0` for the constant and each public input, `z_i`; `b` holds
/// `⟨B_i, z⟩`; `c = a∘b` (equal to `⟨C_i, z⟩` for a satisfying `z`). Each is interpolated and
/// evaluated on the coset `g·⟨ω⟩`, `g` the primitive 2n-th root of unity (the odd powers of
/// it); the result is `a·b − c` there, the scalars of the key's `n` H points.
/// `products` are the constraints' `⟨A_i, z⟩` and `⟨B_i, z⟩`
/// ([`crate::ClaimMatrices::products`]).
pub(crate) fn circom_witness_map(
    products: &[Zeroizing<Vec<Fr>>; 2],
    num_instance: usize,
    num_constraints: usize,
    z: &[Fr],
) -> Result<Vec<Fr>, SynthesisError> {
    let domain = Radix2EvaluationDomain::<Fr>::new(num_constraints + num_instance)
        .ok_or(SynthesisError::PolynomialDegreeTooLarge)?;
    let n = domain.size();
    let coset = Fr::get_root_of_unity(2 * n as u64)
        .and_then(|g| domain.get_coset(g))
        .ok_or(SynthesisError::PolynomialDegreeTooLarge)?;
    let padded = |products: &[Fr]| -> Zeroizing<Vec<Fr>> {
        let mut values = Zeroizing::new(vec![Fr::zero(); n]);
        values[..num_constraints].copy_from_slice(&products[..num_constraints]);
        values
    };
    let (mut a, mut b) = (padded(&products[0]), padded(&products[1]));
    a[num_constraints..num_constraints + num_instance].copy_from_slice(&z[..num_instance]);
    let mut c = Zeroizing::new(
        a.par_iter()
            .zip(b.par_iter())
            .map(|(a, b)| *a * b)
            .collect(),
    );
    let to_coset = |v: &mut Vec<Fr>| {
        domain.ifft_in_place(v);
        coset.fft_in_place(v);
    };
    rayon::join(
        || to_coset(&mut a),
        || rayon::join(|| to_coset(&mut b), || to_coset(&mut c)),
    );
    Ok(a.par_iter()
        .zip(b.par_iter())
        .zip(c.par_iter())
        .map(|((a, b), c)| *a * b - c)
        .collect())
}
