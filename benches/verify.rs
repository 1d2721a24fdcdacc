//! Criterion benchmarks of verification alone: one proof of each circuit with a prepared
//! key, and 64 primary proofs one by one and as one batch. Verification does not depend on
//! the circuit's size, so the keys come from a small shape (quick to set up).
//!
//! `cargo bench -p zkclaim-benches --bench verify`

use ark_bn254::Bn254;
use ark_groth16::Groth16;
use criterion::{criterion_group, criterion_main, Criterion};
use rand::{rngs::StdRng, SeedableRng};
use zkclaim_circuits::{
    claim::{PublicInputs, Shape},
    sample, Circuit,
};
use zkclaim_prover::{prove, prove_continuation, ClaimParams};
use zkclaim_verifier::{verify, verify_batch, Proof};

const SHAPE: Shape = Shape {
    items: 4,
    depth: 16,
};

fn verification(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(1);
    let params = ClaimParams::setup(Circuit::Primary, SHAPE, &mut rng).unwrap();
    let package = prove(&params, sample::claim(&mut rng, SHAPE, 16), &mut rng).unwrap();
    c.bench_function("verify/primary (prepared key)", |b| {
        b.iter(|| package.verify(&params.prepared).unwrap())
    });

    let continuation = ClaimParams::setup(Circuit::Continuation, SHAPE, &mut rng).unwrap();
    let witness = sample::continuation(&mut rng, SHAPE, 1, 16);
    let later = prove_continuation(&continuation, witness, &mut rng).unwrap();
    c.bench_function("verify/continuation (prepared key)", |b| {
        b.iter(|| later.verify(&continuation.prepared).unwrap())
    });

    // 64 distinct valid proofs of one statement (re-randomized).
    let ark = ark_groth16::Proof::<Bn254> {
        a: package.proof.a,
        b: package.proof.b,
        c: package.proof.c,
    };
    let batch: Vec<(PublicInputs, Proof)> = (0..64)
        .map(|_| {
            let p = Groth16::<Bn254>::rerandomize_proof(
                &params.proving_key.as_ark().vk,
                &ark,
                &mut rng,
            );
            let proof = Proof {
                a: p.a,
                b: p.b,
                c: p.c,
            };
            (package.public_inputs, proof)
        })
        .collect();
    let mut group = c.benchmark_group("verify/64 primary");
    group.sample_size(20);
    group.bench_function("one by one", |b| {
        b.iter(|| {
            batch
                .iter()
                .for_each(|(public, proof)| verify(&params.prepared, public, proof).unwrap())
        })
    });
    group.bench_function("batch", |b| {
        b.iter(|| verify_batch(&params.prepared, &batch, &mut rng).unwrap())
    });
    group.finish();
}

criterion_group!(benches, verification);
criterion_main!(benches);
