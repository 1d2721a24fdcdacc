//! Criterion benchmarks: hashing, the tree (a block's leaves at once against one by one),
//! synthesis, loading saved parameters (with and without the prover file), key generation,
//! stock vs our prover, all on the default claim circuit (8 items, depth 32); the continuation circuit of
//! statement v2 (synthesis, stock vs our prover) beside it. Verification: `benches/verify.rs`.

use ark_bn254::{Bn254, Fr};
use ark_groth16::Groth16;
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystem};
use ark_snark::SNARK;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use rand::{rngs::StdRng, SeedableRng};
use zkclaim_circuits::Circuit;
use zkclaim_circuits::{
    claim::Shape,
    gadget::{claim::ClaimCircuit, continuation::ContinuationCircuit},
    poseidon, sample,
    tree::IncrementalTree,
};
use zkclaim_prover::{prove, prove_continuation, ClaimParams};

fn hashing(c: &mut Criterion) {
    let two = [Fr::from(1u64), Fr::from(2u64)];
    let sixteen = [Fr::from(3u64); 16];
    c.bench_function("poseidon/2 inputs", |b| b.iter(|| poseidon::hash(&two)));
    c.bench_function("poseidon/16 inputs", |b| {
        b.iter(|| poseidon::hash(&sixteen))
    });
    let tree =
        IncrementalTree::from_leaves(32, &(0..1024u64).map(Fr::from).collect::<Vec<_>>()).unwrap();
    c.bench_function("tree/append (depth 32)", |b| {
        b.iter_batched(
            || tree.clone(),
            |mut t| t.append(Fr::from(7u64)).unwrap(),
            BatchSize::LargeInput,
        )
    });
    c.bench_function("tree/path (depth 32)", |b| {
        b.iter(|| tree.path(517).unwrap())
    });
    // A ledger block's settled claims: one call, level by level, against one append each.
    let block: Vec<Fr> = (0..32u64).map(|i| Fr::from(1_000 + i)).collect();
    let mut group = c.benchmark_group("tree/32 leaves (depth 32)");
    group.bench_function("extend", |b| {
        b.iter_batched(
            || tree.clone(),
            |mut t| t.extend(&block).unwrap(),
            BatchSize::LargeInput,
        )
    });
    group.bench_function("append one by one", |b| {
        b.iter_batched(
            || tree.clone(),
            |mut t| {
                for leaf in &block {
                    t.append(*leaf).unwrap();
                }
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

fn proving(c: &mut Criterion) {
    let shape = Shape::default();
    let mut rng = StdRng::seed_from_u64(1);
    let params = ClaimParams::setup(Circuit::Primary, shape, &mut rng).unwrap();
    let witness = sample::claim(&mut rng, shape, 64);
    let circuit = ClaimCircuit::new(shape, witness.clone()).unwrap();

    c.bench_function("claim/witness (native statement)", |b| {
        b.iter(|| witness.evaluate(shape).unwrap())
    });
    c.bench_function("claim/synthesis", |b| {
        b.iter(|| {
            let cs = ConstraintSystem::<Fr>::new_ref();
            circuit.clone().generate_constraints(cs.clone()).unwrap();
            cs.finalize();
        })
    });

    let m = &params.matrices;
    c.bench_function("claim/witness synthesis (no matrices)", |b| {
        b.iter(|| m.assignment(circuit.clone()).unwrap())
    });
    let z = m.assignment(circuit.clone()).unwrap();
    c.bench_function("claim/satisfaction check", |b| {
        b.iter(|| m.first_unsatisfied(&z))
    });

    let mut group = c.benchmark_group("claim/prove");
    group.sample_size(20);
    group.bench_function("stock ark_groth16::Groth16::prove", |b| {
        b.iter(|| {
            Groth16::<Bn254>::prove(params.proving_key.as_ark(), circuit.clone(), &mut rng).unwrap()
        })
    });
    group.bench_function("zkclaim_prover::prove", |b| {
        b.iter(|| prove(&params, witness.clone(), &mut rng).unwrap())
    });
    let mut tabled = params.clone();
    tabled.proving_key.precompute_tables();
    group.bench_function("zkclaim_prover::prove, fixed-base tables", |b| {
        b.iter(|| prove(&tabled, witness.clone(), &mut rng).unwrap())
    });
    group.finish();

    // Loading saved parameters, as a cold `zkclaim prove` does: with the prover file, and
    // without it (the circuit's matrices built and the key checked, as before the file).
    let dir = std::env::temp_dir().join(format!("zkclaim-bench-load-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    params.save(&dir).unwrap();
    let [.., prover_file] = ClaimParams::files(&dir, Circuit::Primary);
    let mut group = c.benchmark_group("claim/load parameters");
    group.sample_size(10);
    group.bench_function("with the prover file", |b| {
        b.iter(|| ClaimParams::load(&dir, Circuit::Primary).unwrap())
    });
    group.bench_function("building the matrices", |b| {
        b.iter_batched(
            || std::fs::remove_file(&prover_file).unwrap(),
            |()| ClaimParams::load(&dir, Circuit::Primary).unwrap(),
            BatchSize::PerIteration,
        )
    });
    group.finish();
    std::fs::remove_dir_all(&dir).unwrap();

    let mut group = c.benchmark_group("claim/setup");
    group.sample_size(10);
    group.bench_function("single-party key generation", |b| {
        b.iter(|| ClaimParams::setup(Circuit::Primary, shape, &mut rng).unwrap())
    });
    group.finish();
}

/// The continuation circuit (default shape, rank 1): synthesis, the stock arkworks prover
/// and zkclaim's, verification, as for the primary circuit.
fn continuation(c: &mut Criterion) {
    let shape = Shape::default();
    let mut rng = StdRng::seed_from_u64(2);
    let witness = sample::continuation(&mut rng, shape, 1, 64);
    let circuit =
        ContinuationCircuit::new(shape, witness.clone()).expect("sample continuations are valid");
    let cs = ConstraintSystem::<Fr>::new_ref();
    circuit.clone().generate_constraints(cs.clone()).unwrap();
    assert!(cs.is_satisfied().unwrap());
    println!("continuation/constraints: {}", cs.num_constraints());

    c.bench_function("continuation/synthesis", |b| {
        b.iter(|| {
            let cs = ConstraintSystem::<Fr>::new_ref();
            circuit.clone().generate_constraints(cs.clone()).unwrap();
            cs.finalize();
        })
    });
    let params = ClaimParams::setup(Circuit::Continuation, shape, &mut rng).unwrap();
    let mut group = c.benchmark_group("continuation/prove");
    group.sample_size(10);
    group.bench_function("stock ark_groth16::Groth16::prove", |b| {
        b.iter(|| {
            Groth16::<Bn254>::prove(params.proving_key.as_ark(), circuit.clone(), &mut rng).unwrap()
        })
    });
    group.bench_function("zkclaim_prover::prove_continuation", |b| {
        b.iter(|| prove_continuation(&params, witness.clone(), &mut rng).unwrap())
    });
    group.finish();
}

criterion_group!(benches, hashing, proving, continuation);
criterion_main!(benches);
