//! The initial key of a phase 2 (contribution 0): the `.zkey` that `snarkjs groth16 setup`
//! makes from the `.r1cs` of [`circom::r1cs`] and a phase-1 file ([`Ptau`]), byte for byte,
//! so that `snarkjs zkey verify` accepts a transcript that begins with zkclaim's key.
//!
//! The key is Groth16's at the phase-1 tau, alpha and beta, with gamma = delta = 1, in
//! circom's QAP convention ([`crate::Qap::Circom`]). For the domain of the smallest power of
//! two n above the constraints and the public inputs (snarkjs's rule), the constraints are
//! rows 0..m and row `m + s` is `A[m + s][s] = 1` for the constant (s = 0) and each public
//! input: so u_s, v_s, w_s are the columns of A, B, C in the Lagrange basis, and each point
//! is a sparse sum of phase 1's Lagrange points, one per variable:
//! A: `u_s(τ)·G1`, B1: `v_s(τ)·G1`, B2: `v_s(τ)·G2`, IC (the constant and the public inputs)
//! and C (the rest, Groth16's L query): `(β·u_s(τ) + α·v_s(τ) + w_s(τ))·G1`. H is the
//! odd-indexed half of the Lagrange basis of the domain of 2n points, as the ptau holds it.
//!
//! Sections are written in snarkjs's order, 1, 2, 4, 3, 9, 8, 5, 6, 7, 10 (the numbers are
//! [`crate::zkey`]'s); section 4 lists the A and B coefficients constraint by constraint,
//! then the public inputs' rows, each value `c` stored as `c·R²` (R = 2²⁵⁶).
//!
//! Section 10 is the circuit hash, then 0 contributions. The circuit hash is BLAKE2b-512 of
//! the key in snarkjs's uncompressed encoding ([`zkey::g1_uncompressed`]) in this order:
//! alpha1, beta1, beta2, gamma2, delta1, delta2; IC; H; C; A; B1; B2, each list after its
//! point count (u32 big-endian). H is not hashed as written but as phase 1's
//! `(τ^(n+i) − τ^i)·G1`, which a contribution's verifier can recompute from tauG1 alone.

use crate::{
    circom,
    matrices::ClaimMatrices,
    ptau::{LagrangeG1, Ptau, PtauError},
    zkey::{g1_lem, g1_uncompressed, g2_lem, g2_uncompressed, N8},
};
use ark_bn254::{Fq, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::{
    scalar_mul::glv::GLVConfig,
    short_weierstrass::{Affine, Projective},
    AdditiveGroup, AffineRepr, CurveGroup,
};
use ark_ff::{BigInteger, FftField, Field, One, PrimeField, Zero};
use blake2::{Blake2b512, Digest};
use rayon::prelude::*;

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error(transparent)]
    Ptau(#[from] PtauError),
    #[error(
        "the circuit's domain of 2^{0} points is too large: snarkjs's Groth16 setup takes \
         domains below 2^{max}",
        max = Fr::TWO_ADICITY
    )]
    DomainTooLarge(u32),
    #[error(
        "for a domain of 2^{power} points, snarkjs's circuit hash reads one tauG1 point more \
         than a file of power {power} has: use a file of power {} or more",
        power + 1
    )]
    HashBeyondTauG1 { power: u32 },
}

/// The initial `.zkey` and what it says of itself.
pub struct InitialKey {
    /// The file, as `snarkjs groth16 setup` writes it.
    pub bytes: Vec<u8>,
    /// The circuit hash, which every contribution's transcript begins with.
    pub circuit_hash: [u8; 64],
    /// The evaluation domain's size.
    pub domain_size: usize,
}

/// snarkjs hashes H's points in chunks of 2^14.
const H_HASH_CHUNK: usize = 1 << 14;

/// How many `(τ^(n+i) − τ^i)·G1` snarkjs hashes for a domain of `n` points. It announces
/// n − 1, but when there is more than one chunk it hashes whole chunks (its chunk length
/// is `min(n − 1, 2^14)`, never shortened for the last), so above 2^14 it hashes n points:
/// the last one `(τ^(2n−1) − τ^(n−1))·G1`. The hash is what snarkjs computes, so the extra
/// point is hashed here too.
fn hashed_h_points(n: usize) -> usize {
    match n - 1 {
        count if count <= H_HASH_CHUNK => count,
        count => count.div_ceil(H_HASH_CHUNK) * H_HASH_CHUNK,
    }
}

/// A variable's term in one constraint's A, B or C: `(constraint, coefficient)`.
type Term = (usize, Fr);

/// The initial key of `m`'s circuit from phase 1's `ptau`: the bytes of `snarkjs groth16
/// setup` of [`circom::r1cs`]`(m)` with that file.
pub fn initial_zkey(m: &ClaimMatrices, ptau: &Ptau) -> Result<InitialKey, InitError> {
    let n_public = m.num_instance - 1;
    let n_vars = m.num_instance + m.num_witness;
    let rows = m.num_constraints;
    // snarkjs's domain: 2^(⌊log2(constraints + public inputs)⌋ + 1), at least 2.
    let domain_size = (rows + m.num_instance).next_power_of_two().max(2);
    let power = domain_size.trailing_zeros();
    if power >= Fr::TWO_ADICITY {
        return Err(InitError::DomainTooLarge(power));
    }
    ptau.require(power)?;
    let hashed = hashed_h_points(domain_size);
    if domain_size + hashed > (2 << ptau.power()) - 1 {
        return Err(InitError::HashBeyondTauG1 { power });
    }

    // Each variable's terms: in A and B, and in its IC or C point (betaTau times its A
    // terms, alphaTau times its B terms, tau times its C terms).
    let mut a: Vec<Vec<Term>> = vec![Vec::new(); n_vars];
    let mut b: Vec<Vec<Term>> = vec![Vec::new(); n_vars];
    let mut l: Vec<[Vec<Term>; 3]> = vec![Default::default(); n_vars];
    for row in 0..rows {
        for (matrix, terms) in m.abc[..3].iter().enumerate() {
            for &(value, s) in &terms[row] {
                match matrix {
                    0 => a[s].push((row, value)),
                    1 => b[s].push((row, value)),
                    _ => {}
                }
                l[s][matrix].push((row, value));
            }
        }
    }
    for s in 0..m.num_instance {
        a[s].push((rows + s, Fr::one()));
        l[s][0].push((rows + s, Fr::one()));
    }

    let [tau, alpha_tau, beta_tau] = [LagrangeG1::Tau, LagrangeG1::AlphaTau, LagrangeG1::BetaTau]
        .map(|basis| {
            ptau.lagrange_g1(basis, domain_size, 0, 1)
                .map(|p| table(&p))
        });
    let (tau, alpha_tau, beta_tau) = (tau?, alpha_tau?, beta_tau?);
    let tau_g2 = table(&ptau.lagrange_g2(domain_size)?);

    let a_points = G1Projective::normalize_batch(
        &a.par_iter()
            .map(|terms| sum(terms, &tau))
            .collect::<Vec<_>>(),
    );
    let b1_points = G1Projective::normalize_batch(
        &b.par_iter()
            .map(|terms| sum(terms, &tau))
            .collect::<Vec<_>>(),
    );
    let b2_points = G2Projective::normalize_batch(
        &b.par_iter()
            .map(|terms| sum(terms, &tau_g2))
            .collect::<Vec<_>>(),
    );
    let l_points = G1Projective::normalize_batch(
        &l.par_iter()
            .map(|[in_a, in_b, in_c]| {
                sum(in_a, &beta_tau) + sum(in_b, &alpha_tau) + sum(in_c, &tau)
            })
            .collect::<Vec<_>>(),
    );
    let (ic, c) = l_points.split_at(m.num_instance);

    let h = ptau.lagrange_g1(LagrangeG1::Tau, 2 * domain_size, 1, 2)?;
    let (low, high) = (
        ptau.tau_g1(0..hashed)?,
        ptau.tau_g1(domain_size..domain_size + hashed)?,
    );
    let h_hashed = G1Projective::normalize_batch(
        &high
            .par_iter()
            .zip(&low)
            .map(|(high, low)| *high - low)
            .collect::<Vec<_>>(),
    );

    let (alpha, beta_g1, beta_g2) = (ptau.alpha_g1()?, ptau.beta_g1()?, ptau.beta_g2()?);
    let (g1, g2) = (G1Affine::generator(), G2Affine::generator());
    let mut hasher = Blake2b512::new();
    let mut header = Vec::with_capacity(4 + N8 + 4 + N8 + 12 + 3 * 64 + 3 * 128);
    header.extend_from_slice(&(N8 as u32).to_le_bytes());
    header.extend_from_slice(&Fq::MODULUS.to_bytes_le());
    header.extend_from_slice(&(N8 as u32).to_le_bytes());
    header.extend_from_slice(&Fr::MODULUS.to_bytes_le());
    for count in [n_vars, n_public, domain_size] {
        header.extend_from_slice(&(count as u32).to_le_bytes());
    }
    // alpha1, beta1, beta2, then gamma2, delta1, delta2: the generators.
    for (lem, uncompressed) in [
        (&g1_lem(&alpha)[..], &g1_uncompressed(&alpha)[..]),
        (&g1_lem(&beta_g1), &g1_uncompressed(&beta_g1)),
        (&g2_lem(&beta_g2), &g2_uncompressed(&beta_g2)),
        (&g2_lem(&g2), &g2_uncompressed(&g2)),
        (&g1_lem(&g1), &g1_uncompressed(&g1)),
        (&g2_lem(&g2), &g2_uncompressed(&g2)),
    ] {
        header.extend_from_slice(lem);
        hasher.update(uncompressed);
    }

    let ic = write_g1(ic, Some(&mut hasher));
    // Written as the ptau has them; hashed as phase 1's powers (hashed_h_points).
    let h = write_g1(&h, None);
    hash_points(&mut hasher, domain_size - 1, &h_hashed, g1_uncompressed);
    let c = write_g1(c, Some(&mut hasher));
    let a_section = write_g1(&a_points, Some(&mut hasher));
    let b1 = write_g1(&b1_points, Some(&mut hasher));
    hash_points(&mut hasher, b2_points.len(), &b2_points, g2_uncompressed);
    let b2: Vec<u8> = b2_points.par_iter().flat_map_iter(g2_lem).collect();
    let circuit_hash: [u8; 64] = hasher.finalize().into();
    let mut contributions = circuit_hash.to_vec();
    contributions.extend_from_slice(&0u32.to_le_bytes());

    let bytes = circom::container(
        b"zkey",
        1,
        &[
            (1, &1u32.to_le_bytes()),
            (2, &header),
            (4, &coefficients(m)),
            (3, &ic),
            (9, &h),
            (8, &c),
            (5, &a_section),
            (6, &b1),
            (7, &b2),
            (10, &contributions),
        ],
    );
    Ok(InitialKey {
        bytes,
        circuit_hash,
        domain_size,
    })
}

/// The wNAF window of [`sum`]: odd digits below 2^(W−1) in magnitude.
const W: usize = 5;
/// The odd multiples a [`Table`] holds of each point: P, 3P, …, (2^(W−1) − 1)·P.
const ODD: usize = 1 << (W - 2);

/// For each Lagrange point P of a basis: P's odd multiples and their images under the GLV
/// endomorphism, affine (for mixed additions). Each point is in the terms of a few dozen
/// variables; its multiples are computed once for all of them.
type Table<P> = Vec<(Multiples<P>, Multiples<P>)>;

/// P, 3P, …, (2^(W−1) − 1)·P.
type Multiples<P> = [Affine<P>; ODD];

fn table<P: GLVConfig>(bases: &[Affine<P>]) -> Table<P> {
    let odd: Vec<Projective<P>> = bases
        .par_iter()
        .flat_map_iter(|base| {
            let base = base.into_group();
            let double = base.double();
            std::iter::successors(Some(base), move |p| Some(*p + double)).take(ODD)
        })
        .collect();
    Projective::normalize_batch(&odd)
        .par_chunks(ODD)
        .map(|multiples| {
            let odd: Multiples<P> = core::array::from_fn(|i| multiples[i]);
            (odd, odd.map(|p| P::endomorphism_affine(&p)))
        })
        .collect()
}

/// `Σ c·bases[row]` over a variable's terms, all at once (Straus): one chain of doublings,
/// each term adding its point's odd multiples along the wNAF of its coefficient. The claim
/// circuit's A and B are mostly Poseidon's wide linear combinations, dozens of full-size
/// coefficients a variable; a coefficient is split in two halves of 128 bits by the
/// curve's GLV endomorphism, which halves the doublings. Coefficients 1 are one addition;
/// those below 2^64 (the bits' powers of two) are not split.
fn sum<P: GLVConfig<ScalarField = Fr>>(terms: &[Term], table: &Table<P>) -> Projective<P> {
    let mut direct = Projective::<P>::zero();
    // (the odd multiples, whether they are added as they are, the wNAF digits from the
    // least significant)
    let mut chains: Vec<(&Multiples<P>, bool, Vec<i64>)> = Vec::new();
    let wnaf = |x: Fr| x.into_bigint().find_wnaf(W).expect("a window in 2..64");
    for &(row, value) in terms {
        let (odd, endo) = &table[row];
        if value.is_one() {
            direct += odd[0];
        } else if value.into_bigint().0[1..].iter().all(|l| *l == 0) {
            chains.push((odd, true, wnaf(value)));
        } else {
            let ((positive1, k1), (positive2, k2)) = P::scalar_decomposition(value);
            chains.push((odd, positive1, wnaf(k1)));
            chains.push((endo, positive2, wnaf(k2)));
        }
    }
    let length = chains.iter().map(|(_, _, d)| d.len()).max().unwrap_or(0);
    let mut acc = Projective::<P>::zero();
    for i in (0..length).rev() {
        acc.double_in_place();
        for (odd, positive, digits) in &chains {
            match digits.get(i) {
                Some(&d) if d != 0 => {
                    let p = odd[(d.unsigned_abs() / 2) as usize];
                    if (d > 0) == *positive {
                        acc += p;
                    } else {
                        acc -= p;
                    }
                }
                _ => {}
            }
        }
    }
    acc + direct
}

/// Points as a section holds them (LEM), after hashing them with their count.
fn write_g1(points: &[G1Affine], hasher: Option<&mut Blake2b512>) -> Vec<u8> {
    if let Some(hasher) = hasher {
        hash_points(hasher, points.len(), points, g1_uncompressed);
    }
    points.par_iter().flat_map_iter(g1_lem).collect()
}

/// `count` (u32 big-endian), then the points in snarkjs's uncompressed encoding.
fn hash_points<P: Sync, const SIZE: usize>(
    hasher: &mut Blake2b512,
    count: usize,
    points: &[P],
    encode: fn(&P) -> [u8; SIZE],
) {
    hasher.update((count as u32).to_be_bytes());
    let encoded: Vec<u8> = points.par_iter().flat_map_iter(encode).collect();
    hasher.update(&encoded);
}

/// Section 4: the count, then `(matrix: 0 A, 1 B, constraint, signal: u32, c·R²)`, as
/// [`zkey::ZkeyCircuit::check`] expects them.
fn coefficients(m: &ClaimMatrices) -> Vec<u8> {
    // R² mod r, R = 2²⁵⁶: snarkjs stores a coefficient in Montgomery form twice over.
    let r2 = Fr::from(2u64).pow([512]);
    let mut entries = Vec::new();
    let mut entry = |matrix: u32, row: usize, signal: usize, value: Fr| {
        for word in [matrix, row as u32, signal as u32] {
            entries.extend_from_slice(&word.to_le_bytes());
        }
        entries.extend_from_slice(&(value * r2).into_bigint().to_bytes_le());
    };
    for row in 0..m.num_constraints {
        for matrix in 0..2 {
            for &(value, signal) in &m.abc[matrix][row] {
                entry(matrix as u32, row, signal, value);
            }
        }
    }
    for s in 0..m.num_instance {
        entry(0, m.num_constraints + s, s, Fr::one());
    }
    let count = entries.len() / (12 + N8);
    [&(count as u32).to_le_bytes()[..], &entries].concat()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ptau::tests::phase1, zkey::Zkey};
    use ark_poly::{EvaluationDomain, Radix2EvaluationDomain};

    #[test]
    fn snarkjs_hashes_whole_chunks_of_h_above_2_to_the_14() {
        assert_eq!(hashed_h_points(4), 3);
        assert_eq!(hashed_h_points(1 << 14), (1 << 14) - 1);
        assert_eq!(hashed_h_points(1 << 15), 1 << 15);
        assert_eq!(hashed_h_points(1 << 20), 1 << 20);
    }

    /// A circuit of 3 constraints over the constant, 2 public inputs and 3 witness wires,
    /// one of which (wire 5) is in no constraint: domain 8 (3 + 2 < 8).
    fn circuit() -> ClaimMatrices {
        let f = |x: i64| match x < 0 {
            true => -Fr::from(x.unsigned_abs()),
            false => Fr::from(x as u64),
        };
        // Full-size coefficients: a power of two, and one of no pattern.
        let big = Fr::from(2u64).pow([200]);
        let dense = Fr::from(3u64).pow([171]);
        let row = |terms: &[(Fr, usize)]| terms.to_vec();
        ClaimMatrices {
            abc: vec![
                vec![
                    row(&[(f(2), 3), (f(1), 0)]),
                    row(&[(f(-1), 4), (big, 1), (dense, 3)]),
                    row(&[(f(1), 3)]),
                ],
                vec![
                    row(&[(f(1), 1), (-dense, 4)]),
                    row(&[(f(5), 3), (f(7), 0)]),
                    row(&[(-big, 2), (f(1), 4)]),
                ],
                vec![row(&[(f(1), 4)]), row(&[(f(3), 2)]), row(&[(f(-9), 3)])],
            ],
            num_instance: 3,
            num_witness: 3,
            num_constraints: 3,
        }
    }

    #[test]
    fn the_initial_key_is_groth16s_at_the_phase_1_secrets_and_its_hash_snarkjss() {
        let secrets @ [tau, alpha, beta] =
            [Fr::from(1_234_567u64), Fr::from(89u64), Fr::from(1_011u64)];
        let m = circuit();
        let file = phase1(4, secrets);
        let key = initial_zkey(&m, &Ptau::read(&file).unwrap()).unwrap();
        let n = 8;
        assert_eq!(key.domain_size, n);

        let kinds: Vec<u32> = circom::sections(&key.bytes, b"zkey")
            .unwrap()
            .iter()
            .map(|(kind, _)| *kind)
            .collect();
        assert_eq!(kinds, [1, 2, 4, 3, 9, 8, 5, 6, 7, 10]);
        let zkey = Zkey::read(&key.bytes).unwrap();
        zkey.circuit.check(&m).unwrap();
        assert_eq!(zkey.circuit_hash(), key.circuit_hash);
        assert_eq!(zkey.contribution_count(), 0);

        // u_s, v_s, w_s at tau: the columns of A (with the public inputs' rows), B, C in the
        // Lagrange basis of the domain.
        let basis = Radix2EvaluationDomain::<Fr>::new(n)
            .unwrap()
            .evaluate_all_lagrange_coefficients(tau);
        let mut uvw = vec![[Fr::from(0u64); 3]; 6];
        for (matrix, rows) in m.abc.iter().enumerate() {
            for (row, terms) in rows.iter().enumerate() {
                for (value, s) in terms {
                    uvw[*s][matrix] += *value * basis[row];
                }
            }
        }
        for s in 0..3 {
            uvw[s][0] += basis[3 + s];
        }
        let g1 = |x: Fr| (G1Affine::generator() * x).into_affine();
        let g2 = |x: Fr| (G2Affine::generator() * x).into_affine();
        let l: Vec<G1Affine> = uvw
            .iter()
            .map(|[u, v, w]| g1(beta * u + alpha * v + w))
            .collect();
        let pk = &zkey.key;
        assert_eq!(pk.vk.alpha_g1, g1(alpha));
        assert_eq!(pk.beta_g1, g1(beta));
        assert_eq!(pk.vk.beta_g2, g2(beta));
        assert_eq!(pk.vk.gamma_g2, G2Affine::generator());
        assert_eq!(pk.delta_g1, G1Affine::generator());
        assert_eq!(pk.vk.delta_g2, G2Affine::generator());
        assert_eq!(pk.a_query, uvw.iter().map(|x| g1(x[0])).collect::<Vec<_>>());
        assert_eq!(
            pk.b_g1_query,
            uvw.iter().map(|x| g1(x[1])).collect::<Vec<_>>()
        );
        assert_eq!(
            pk.b_g2_query,
            uvw.iter().map(|x| g2(x[1])).collect::<Vec<_>>()
        );
        // Wire 5 is in no constraint: the identity.
        assert!(pk.a_query[5].is_zero() && pk.b_g2_query[5].is_zero());
        assert_eq!(pk.vk.gamma_abc_g1, l[..3]);
        assert_eq!(pk.l_query, l[3..]);
        let wide = Radix2EvaluationDomain::<Fr>::new(2 * n)
            .unwrap()
            .evaluate_all_lagrange_coefficients(tau);
        let h: Vec<G1Affine> = (0..n).map(|i| g1(wide[2 * i + 1])).collect();
        assert_eq!(pk.h_query, h);

        // The circuit hash, recomputed from the points above.
        let mut hasher = Blake2b512::new();
        hasher.update(g1_uncompressed(&g1(alpha)));
        hasher.update(g1_uncompressed(&g1(beta)));
        hasher.update(g2_uncompressed(&g2(beta)));
        hasher.update(g2_uncompressed(&G2Affine::generator()));
        hasher.update(g1_uncompressed(&G1Affine::generator()));
        hasher.update(g2_uncompressed(&G2Affine::generator()));
        let mut list = |points: Vec<Vec<u8>>, count: usize| {
            hasher.update((count as u32).to_be_bytes());
            points.iter().for_each(|p| hasher.update(p));
        };
        let g1u = |ps: &[G1Affine]| ps.iter().map(|p| g1_uncompressed(p).to_vec()).collect();
        list(g1u(&l[..3]), 3);
        let tau_n = tau.pow([n as u64]);
        let tau_powers: Vec<G1Affine> = (0..n - 1)
            .map(|i| g1(tau.pow([i as u64]) * (tau_n - Fr::one())))
            .collect();
        list(g1u(&tau_powers), n - 1);
        list(g1u(&l[3..]), 3);
        list(g1u(&pk.a_query), 6);
        list(g1u(&pk.b_g1_query), 6);
        let b2 = uvw
            .iter()
            .map(|x| g2_uncompressed(&g2(x[1])).to_vec())
            .collect();
        list(b2, 6);
        assert_eq!(key.circuit_hash, <[u8; 64]>::from(hasher.finalize()));
    }

    #[test]
    fn a_phase_1_file_too_small_for_the_circuit_is_refused_with_the_power_it_needs() {
        let file = phase1(2, [Fr::from(3u64), Fr::from(5u64), Fr::from(7u64)]);
        let ptau = Ptau::read(&file).unwrap();
        let refused = initial_zkey(&circuit(), &ptau).err().unwrap();
        assert_eq!(
            refused.to_string(),
            "the phase-1 file has 2^2 powers; this circuit's domain needs 2^3: use a file of \
             power 3 or more"
        );
        // H's points, 4 of a basis of 8, are in the ptau's section 12 even at power 2.
        let h = ptau.lagrange_g1(LagrangeG1::Tau, 8, 1, 2).unwrap();
        assert_eq!(h.len(), 4);
        assert!(matches!(
            ptau.lagrange_g1(LagrangeG1::AlphaTau, 8, 0, 1),
            Err(PtauError::TooSmall { has: 2, needs: 3 })
        ));
    }
}
