//! Criterion benchmarks: zkclaim's MSM (`zkclaim_prover::msm`), without and with the fixed
//! bases' tables, against `ark_ec`'s `msm_bigint` on the same bases and scalars, at the sizes of the proving-key queries
//! (G1: the primary circuit's ~11k variables, a circom key's 16,384 H points, the
//! continuation's ~22k; G2: the B queries without their points at infinity, ~8k and ~16k).

use ark_bn254::{Fr, G1Projective, G2Projective};
use ark_ec::{
    short_weierstrass::{Projective, SWCurveConfig},
    CurveGroup, VariableBaseMSM,
};
use ark_ff::{PrimeField, UniformRand};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use rand::{rngs::StdRng, SeedableRng};
use zkclaim_prover::msm::{msm, BatchInvert, FixedBases};

fn compare<P>(c: &mut Criterion, group: &str, sizes: &[usize])
where
    P: SWCurveConfig<ScalarField = Fr>,
    P::BaseField: BatchInvert,
{
    let mut rng = StdRng::seed_from_u64(1);
    let mut group = c.benchmark_group(group);
    group.sample_size(20);
    for &n in sizes {
        // Distinct points, cheaply: successive sums of a random step.
        let step = Projective::<P>::rand(&mut rng);
        let all: Vec<_> =
            core::iter::successors(Some(Projective::<P>::rand(&mut rng)), |p| Some(*p + step))
                .take(n)
                .collect();
        let bases = Projective::normalize_batch(&all);
        let scalars: Vec<_> = (0..n).map(|_| Fr::rand(&mut rng).into_bigint()).collect();
        group.bench_with_input(BenchmarkId::new("zkclaim", n), &n, |b, _| {
            b.iter(|| msm(&bases, &scalars))
        });
        let fixed = FixedBases::new(&bases, rayon::current_num_threads());
        group.bench_with_input(BenchmarkId::new("zkclaim, fixed bases", n), &n, |b, _| {
            b.iter(|| fixed.msm(&scalars))
        });
        group.bench_with_input(BenchmarkId::new("ark_ec", n), &n, |b, _| {
            b.iter(|| Projective::<P>::msm_bigint(&bases, &scalars))
        });
    }
    group.finish();
}

fn msms(c: &mut Criterion) {
    compare::<<G1Projective as CurveGroup>::Config>(c, "msm/G1", &[10_846, 16_384, 21_601]);
    compare::<<G2Projective as CurveGroup>::Config>(c, "msm/G2", &[7_919, 16_383]);
}

criterion_group!(benches, msms);
criterion_main!(benches);
