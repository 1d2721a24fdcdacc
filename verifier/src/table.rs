//! Fixed-base tables for a verifying key's input bases `ICᵢ`: every proof multiplies the
//! same few points by its public inputs, so the key holds `d·16ʷ·ICᵢ` for each window w
//! and digit d, and a scalar multiplication becomes table lookups and at most 64 mixed
//! additions, with no doublings (a full 254-bit input cost a double-and-add of about 380
//! group operations before).

use ark_bn254::{Fr, G1Affine, G1Projective};
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{PrimeField, Zero};

/// Bits per window: 4 keeps a base's table at 60 KiB (960 points).
const WINDOW: usize = 4;
/// The non-zero digits of a window.
const DIGITS: usize = (1 << WINDOW) - 1;
/// Windows of a scalar (scalars are below r < 2²⁵⁴).
const WINDOWS: usize = 256 / WINDOW;
const PER_BASE: usize = WINDOWS * DIGITS;

/// The multiples of a fixed list of G1 bases that [`FixedBaseTables::msm`] adds up.
#[derive(Clone)]
pub(crate) struct FixedBaseTables {
    /// Base i, window w, digit d (1..=15) at `i·PER_BASE + w·DIGITS + d − 1`: `d·16ʷ·baseᵢ`.
    points: Vec<G1Affine>,
}

impl FixedBaseTables {
    pub(crate) fn new(bases: &[G1Affine]) -> Self {
        let mut points = Vec::with_capacity(bases.len() * PER_BASE);
        for base in bases {
            let mut power = base.into_group();
            for _ in 0..WINDOWS {
                let mut multiple = power;
                points.push(multiple);
                for _ in 1..DIGITS {
                    multiple += power;
                    points.push(multiple);
                }
                power += multiple;
            }
        }
        Self {
            points: G1Projective::normalize_batch(&points),
        }
    }

    /// `Σ scalarsᵢ·baseᵢ`, pairing the scalars with the bases in order (the shorter decides).
    pub(crate) fn msm(&self, scalars: impl IntoIterator<Item = Fr>) -> G1Projective {
        let mut sum = G1Projective::zero();
        for (table, scalar) in self.points.chunks_exact(PER_BASE).zip(scalars) {
            let limbs = scalar.into_bigint().0;
            for (w, multiples) in table.chunks_exact(DIGITS).enumerate() {
                let bit = w * WINDOW;
                let digit = (limbs[bit / 64] >> (bit % 64)) as usize & DIGITS;
                if digit != 0 {
                    sum += &multiples[digit - 1];
                }
            }
        }
        sum
    }
}

impl core::fmt::Debug for FixedBaseTables {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "FixedBaseTables {{ bases: {} }}",
            self.points.len() / PER_BASE
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::G1Projective;
    use ark_ec::{PrimeGroup, VariableBaseMSM};
    use ark_ff::{Field, One, UniformRand};
    use rand::{rngs::StdRng, Rng, SeedableRng};

    fn bases(rng: &mut StdRng, n: usize) -> Vec<G1Affine> {
        (0..n)
            .map(|_| (G1Projective::generator() * Fr::rand(rng)).into_affine())
            .collect()
    }

    /// The scalars whose windows are extreme: none set, the lowest only, all of r − 1's, and
    /// the small amounts and ids the statements carry.
    fn edge_scalars() -> Vec<Fr> {
        let mut edges = vec![Fr::zero(), Fr::one(), -Fr::one(), -Fr::from(2u64)];
        edges.extend(
            [
                15u64,
                16,
                17,
                255,
                7_760,
                (1 << 44) - 1,
                u64::from(u32::MAX),
            ]
            .map(Fr::from),
        );
        // Every window's top digit alone, and r − 1 − 16ʷ (borrows through the windows).
        for w in 0..63 {
            let power = Fr::from(2u64).pow([4 * w as u64]);
            edges.push(power * Fr::from(15u64));
            edges.push(-Fr::one() - power);
        }
        edges
    }

    #[test]
    fn tables_multiply_like_a_plain_msm() {
        let mut rng = StdRng::seed_from_u64(21);
        let bases = bases(&mut rng, 9);
        let tables = FixedBaseTables::new(&bases);
        let edges = edge_scalars();
        for (i, edge) in edges.iter().enumerate() {
            // Each edge scalar on every base, beside random ones.
            for base in 0..bases.len() {
                let mut scalars: Vec<Fr> = (0..bases.len()).map(|_| Fr::rand(&mut rng)).collect();
                scalars[base] = *edge;
                let plain = G1Projective::msm(&bases, &scalars).unwrap();
                assert_eq!(
                    tables.msm(scalars.iter().copied()),
                    plain,
                    "edge {i} on base {base}"
                );
            }
        }
        for _ in 0..200 {
            let scalars: Vec<Fr> = (0..bases.len())
                .map(|_| match rng.gen_range(0..3) {
                    0 => Fr::rand(&mut rng),
                    1 => Fr::from(rng.gen::<u64>()),
                    _ => edges[rng.gen_range(0..edges.len())],
                })
                .collect();
            let plain = G1Projective::msm(&bases, &scalars).unwrap();
            assert_eq!(tables.msm(scalars), plain);
        }
    }

    #[test]
    fn a_base_at_infinity_contributes_nothing() {
        let mut rng = StdRng::seed_from_u64(22);
        let mut bases = bases(&mut rng, 3);
        bases[1] = G1Affine::zero();
        let tables = FixedBaseTables::new(&bases);
        let scalars = [Fr::rand(&mut rng), Fr::rand(&mut rng), Fr::rand(&mut rng)];
        assert_eq!(
            tables.msm(scalars),
            bases[0] * scalars[0] + bases[2] * scalars[2]
        );
    }
}
