//! BN254's multi-Miller loop with the lines of each step multiplied two at a time before
//! they meet the accumulator.
//!
//! arkworks' loop multiplies every line into the accumulator `f` on its own (13 `Fq2`
//! multiplications a line) and keeps one accumulator, with its own squarings, for every four
//! pairs. Here two lines first make one product (6 multiplications), which then meets `f` in
//! 17, so a step of two pairs costs 23 multiplications instead of 26, and all the pairs share
//! one accumulator. The lines, their order and the loop are arkworks': the result is the same
//! element of `Fq12`, which the tests check against `Bn254::multi_miller_loop`.

use ark_bn254::{Config, Fq12, Fq12Config, Fq2, Fq6, Fq6Config, G1Affine};
use ark_ec::{
    bn::{BnConfig, G2Prepared},
    AffineRepr,
};
use ark_ff::{
    fields::{Fp12Config, Fp6Config},
    CyclotomicMultSubgroup, Field, One,
};

/// `Π e'(pᵢ, qᵢ)` before the final exponentiation, pairs with a point at infinity left out
/// (their pairing is one), as `Bn254::multi_miller_loop` computes it.
pub(crate) fn multi_miller_loop(pairs: &[(G1Affine, &G2Prepared<Config>)]) -> Fq12 {
    let mut pairs: Vec<_> = pairs
        .iter()
        .filter(|(p, q)| !p.is_zero() && !q.is_zero())
        .map(|(p, q)| (p, q.ell_coeffs.iter()))
        .collect();
    let mut step = |f: &mut Fq12| {
        let mut lines = pairs.iter_mut().map(|(p, coeffs)| {
            let coeffs = coeffs
                .next()
                .expect("a prepared point has a line for every step");
            Line::at(coeffs, p)
        });
        while let Some(first) = lines.next() {
            match lines.next() {
                Some(second) => mul_by_line_pair(f, &first, &second),
                None => f.mul_by_034(&first.0, &first.1, &first.2),
            }
        }
    };
    let count = <Config as BnConfig>::ATE_LOOP_COUNT;
    let mut f = Fq12::one();
    for i in (1..count.len()).rev() {
        if i != count.len() - 1 {
            f.square_in_place();
        }
        step(&mut f);
        if count[i - 1] == 1 || count[i - 1] == -1 {
            step(&mut f);
        }
    }
    if <Config as BnConfig>::X_IS_NEGATIVE {
        f.cyclotomic_inverse_in_place();
    }
    step(&mut f);
    step(&mut f);
    f
}

/// A line evaluated at a G1 point: `d₀ + (d₃ + d₄·v)·w` in `Fq12 = Fq6[w]`,
/// `Fq6 = Fq2[v]` (BN254's twist is of type D).
struct Line(Fq2, Fq2, Fq2);

impl Line {
    fn at(coeffs: &(Fq2, Fq2, Fq2), p: &G1Affine) -> Self {
        let (mut d0, mut d3, d4) = *coeffs;
        d0.mul_assign_by_fp(&p.y);
        d3.mul_assign_by_fp(&p.x);
        Self(d0, d3, d4)
    }
}

/// `f ← f · l · m`. With `w² = v` and `v³ = ξ`:
/// `l·m = (l₀m₀ + ξ·l₄m₄ + l₃m₃·v + (l₃m₄ + l₄m₃)·v²) + (l₀m₃ + l₃m₀ + (l₀m₄ + l₄m₀)·v)·w`,
/// the sums of cross products each by one Karatsuba product.
fn mul_by_line_pair(f: &mut Fq12, l: &Line, m: &Line) {
    let (l0m0, l3m3, l4m4) = (l.0 * m.0, l.1 * m.1, l.2 * m.2);
    let cross = |a: Fq2, b: Fq2, c: Fq2, d: Fq2, ac: Fq2, bd: Fq2| (a + b) * (c + d) - ac - bd;
    let l3m4_l4m3 = cross(l.1, l.2, m.1, m.2, l3m3, l4m4);
    let l0m3_l3m0 = cross(l.0, l.1, m.0, m.1, l0m0, l3m3);
    let l0m4_l4m0 = cross(l.0, l.2, m.0, m.2, l0m0, l4m4);
    let mut xi_l4m4 = l4m4;
    Fq6Config::mul_fp2_by_nonresidue_in_place(&mut xi_l4m4);
    let c0 = Fq6::new(l0m0 + xi_l4m4, l3m3, l3m4_l4m3);
    let (c1_0, c1_1) = (l0m3_l3m0, l0m4_l4m0);
    // Karatsuba over w: (f₀ + f₁w)(c₀ + c₁w) = f₀c₀ + f₁c₁·v + ((f₀ + f₁)(c₀ + c₁) − f₀c₀ − f₁c₁)·w.
    let a = f.c0 * c0;
    let mut b = f.c1;
    b.mul_by_01(&c1_0, &c1_1);
    let sum = Fq6::new(c0.c0 + c1_0, c0.c1 + c1_1, c0.c2);
    let mut e = f.c0 + f.c1;
    e *= sum;
    f.c1 = e - a - b;
    f.c0 = b;
    Fq12Config::mul_fp6_by_nonresidue_in_place(&mut f.c0);
    f.c0 += a;
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::{Bn254, Fr, G1Projective, G2Affine, G2Projective};
    use ark_ec::{pairing::Pairing, PrimeGroup};
    use ark_ff::{UniformRand, Zero};
    use rand::{rngs::StdRng, Rng, SeedableRng};

    fn line(rng: &mut StdRng) -> Line {
        Line(Fq2::rand(rng), Fq2::rand(rng), Fq2::rand(rng))
    }

    fn as_fq12(l: &Line) -> Fq12 {
        Fq12::new(
            Fq6::new(l.0, Fq2::zero(), Fq2::zero()),
            Fq6::new(l.1, l.2, Fq2::zero()),
        )
    }

    #[test]
    fn a_pair_of_lines_multiplies_like_two_full_products() {
        let mut rng = StdRng::seed_from_u64(40);
        for _ in 0..32 {
            let (l, m) = (line(&mut rng), line(&mut rng));
            let f = Fq12::rand(&mut rng);
            let mut got = f;
            mul_by_line_pair(&mut got, &l, &m);
            assert_eq!(got, f * as_fq12(&l) * as_fq12(&m));
        }
        // Zero coefficients, and the same line twice.
        let l = Line(Fq2::zero(), Fq2::one(), -Fq2::one());
        let f = Fq12::rand(&mut rng);
        let mut got = f;
        mul_by_line_pair(&mut got, &l, &l);
        assert_eq!(got, f * as_fq12(&l) * as_fq12(&l));
    }

    #[test]
    fn equals_arkworks_multi_miller_loop_for_any_number_of_pairs() {
        let mut rng = StdRng::seed_from_u64(41);
        for n in 0..=9 {
            let mut g1: Vec<G1Affine> = (0..n)
                .map(|_| (G1Projective::generator() * Fr::rand(&mut rng)).into())
                .collect();
            let mut g2: Vec<G2Affine> = (0..n)
                .map(|_| (G2Projective::generator() * Fr::rand(&mut rng)).into())
                .collect();
            // A point at infinity on either side in some of the sets, and a repeated pair.
            if n >= 3 {
                g1[rng.gen_range(0..n)] = G1Affine::zero();
                g2[rng.gen_range(0..n)] = G2Affine::zero();
                g1[n - 1] = g1[0];
                g2[n - 1] = g2[0];
            }
            let prepared: Vec<G2Prepared<Config>> = g2.iter().map(|&q| q.into()).collect();
            let pairs: Vec<_> = g1.iter().copied().zip(&prepared).collect();
            let ours = multi_miller_loop(&pairs);
            let theirs = Bn254::multi_miller_loop(g1.clone(), g2.clone()).0;
            assert_eq!(ours, theirs, "{n} pairs");
        }
    }

    #[test]
    fn a_changed_point_changes_the_result() {
        let mut rng = StdRng::seed_from_u64(42);
        let p: G1Affine = (G1Projective::generator() * Fr::rand(&mut rng)).into();
        let q: G2Affine = (G2Projective::generator() * Fr::rand(&mut rng)).into();
        let (pq, qq): (G2Prepared<Config>, G2Prepared<Config>) = (q.into(), (-q).into());
        let base = multi_miller_loop(&[(p, &pq), (p, &pq)]);
        assert_ne!(base, multi_miller_loop(&[(p, &pq), (-p, &pq)]));
        assert_ne!(base, multi_miller_loop(&[(p, &pq), (p, &qq)]));
    }
}
