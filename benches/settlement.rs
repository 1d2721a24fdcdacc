//! Settlement latency (proof verification + durable block) for single claims and for a burst
//! of claims with proofs computed beforehand, throughput, and bytes per claim: on the embedded
//! ledger and, in the same run, on an etcd cluster when `ZKCLAIM_BENCH_ETCD=etcd://…` names
//! one (`benches/etcd-cluster.sh` starts three members on loopback). Verification cost does not depend on the circuit's size (six or eight
//! public inputs), so the claims use a small circuit to precompute 1,000 proofs quickly.
//!
//! Then, per backend, a **mixed** burst: half new primary claims, half continuation claims
//! (statement v2: rank 1 at a second insurer on invoices whose primary claim the burst
//! settled), proven against that backend's settled tree, submitted together.
//!
//! `cargo bench -p zkclaim-benches --bench settlement` (`ZKCLAIM_BURST=N` to change 1000).

use rand::{rngs::StdRng, SeedableRng};
use rayon::prelude::*;
use std::sync::Arc;
use std::time::{Duration, Instant};
use zkclaim_circuits::{
    claim::{ClaimWitness, Shape},
    continuation::ContinuationWitness,
    invoice::Invoice,
    keys::SecretKey,
    policy::Policy,
    sample, settled, Circuit,
};
use zkclaim_ledger::{
    BlockStore, CircuitPin, EtcdStore, Genesis, Ledger, Member, MemberKey, RedbStore, Role,
    SignedTransaction, Transaction, VerifyingKeys,
};
use zkclaim_prover::{prove, prove_continuation, ClaimParams, ProveError};

const SHAPE: Shape = Shape {
    items: 4,
    depth: 16,
};
const CHAIN: &str = "zkclaim-bench";
const SINGLES: usize = 50;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn report(name: &str, mut latencies: Vec<Duration>, wall: Duration) {
    latencies.sort();
    println!(
        "{name}: {} claims, latency median {:.1} ms, p99 {:.1} ms, {:.0} claims/s",
        latencies.len(),
        percentile(&latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.len() as f64 / wall.as_secs_f64()
    );
}

fn main() {
    let burst: usize = std::env::var("ZKCLAIM_BURST")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    let mut rng = StdRng::seed_from_u64(7);
    let params = ClaimParams::setup(Circuit::Primary, SHAPE, &mut rng).unwrap();
    let continuation = ClaimParams::setup(Circuit::Continuation, SHAPE, &mut rng).unwrap();
    let keys: Vec<MemberKey> = [1, 10, 20, 11]
        .iter()
        .map(|id| MemberKey::generate(*id, &mut rng))
        .collect();
    let roles = [
        Role::Hospital,
        Role::Insurer,
        Role::Regulator,
        Role::Insurer,
    ];
    let genesis = Genesis {
        chain_id: CHAIN.into(),
        members: keys
            .iter()
            .zip(roles)
            .map(|(k, role)| Member {
                id: k.member_id(),
                name: format!("{role}"),
                role,
                public_key: k.public_key(),
            })
            .collect(),
        verifying_key_digest: params.verifying_key.digest(),
        proving_key_digest: None,
        ceremony: None,
        continuation: Some(CircuitPin {
            verifying_key_digest: continuation.verifying_key.digest(),
            proving_key_digest: None,
            ceremony: None,
        }),
        shape: SHAPE,
        root_window: zkclaim_ledger::DEFAULT_ROOT_WINDOW,
        root_max_age_ms: zkclaim_ledger::DEFAULT_ROOT_MAX_AGE_MS,
        hospital_root_quota: None,
        block_window_ms: 0,
    };
    let dir = std::env::temp_dir().join(format!("zkclaim-settlement-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let store_path = dir.join("ledger.redb");
    let mut backends: Vec<(String, Arc<dyn BlockStore>)> = vec![(
        "embedded redb".into(),
        Arc::new(RedbStore::open(&store_path).unwrap()),
    )];
    if let Ok(url) = std::env::var("ZKCLAIM_BENCH_ETCD") {
        let prefix = format!("zkclaim-bench-{}", std::process::id());
        let store = EtcdStore::connect(&format!("{url}/{prefix}"), CHAIN).unwrap();
        backends.push((format!("etcd {url}"), Arc::new(store)));
    }
    let ledgers: Vec<Ledger> = backends
        .iter()
        .map(|(_, store)| {
            Ledger::open(
                store.clone(),
                genesis.clone(),
                VerifyingKeys::new(
                    &genesis,
                    params.prepared.clone(),
                    Some(continuation.prepared.clone()),
                )
                .unwrap(),
                keys[2].clone(),
            )
            .unwrap()
        })
        .collect();

    // Patients and their invoices, registered in the same order everywhere so that every
    // ledger ends with the same tree and one set of proofs serves them all.
    // The mixed burst's new primary claims are the last `mixed` patients'.
    let mixed = burst / 2;
    let n = SINGLES + burst + mixed;
    let policy = sample::policy(&mut rng, 10);
    let second_policy = sample::policy(&mut rng, 11);
    let patients: Vec<(SecretKey, Invoice)> = (0..n)
        .map(|_| {
            let sk = SecretKey::random(&mut rng);
            let inv = sample::invoice(
                &mut rng,
                sk.public_key(),
                sample::PERIOD.0 + 10,
                SHAPE.items,
            );
            (sk, inv)
        })
        .collect();
    for ledger in &ledgers {
        for (_, inv) in &patients {
            let tx = Transaction::RegisterInvoice {
                commitment: inv.commitment(SHAPE.items).unwrap(),
            };
            ledger.submit(tx.sign(CHAIN, &keys[0])).unwrap();
        }
        assert_eq!(ledger.root(), ledgers[0].root());
    }
    let ledger = &ledgers[0];

    // Proofs precomputed against the current root.
    eprintln!("proving {n} claims …");
    // One proof at a time: each already uses every core, and nesting proofs inside a rayon
    // iterator lets work-stealing stack proof upon proof on one thread's stack.
    let mut prng = StdRng::from_entropy();
    let signed: Vec<_> = patients
        .iter()
        .map(|(sk, inv)| {
            let claim = prove(&params, witness(ledger, sk, inv, &policy), &mut prng).unwrap();
            Transaction::SettleClaim { claim }.sign(CHAIN, &keys[1])
        })
        .collect();
    let (singles, rest) = signed.split_at(SINGLES);
    let (bursts, fresh) = rest.split_at(burst);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(64)
        .build()
        .unwrap();

    for ((name, store), ledger) in backends.iter().zip(&ledgers) {
        println!("## {name}");
        let height_before_claims = ledger.height();
        let start = Instant::now();
        let latencies: Vec<Duration> = singles
            .iter()
            .map(|tx| {
                let t = Instant::now();
                ledger.submit(tx.clone()).unwrap();
                t.elapsed()
            })
            .collect();
        report("single claims, one at a time", latencies, start.elapsed());

        let start = Instant::now();
        let latencies: Vec<Duration> = pool.install(|| {
            bursts
                .par_iter()
                .map(|tx| {
                    let t = Instant::now();
                    ledger.submit(tx.clone()).unwrap();
                    t.elapsed()
                })
                .collect()
        });
        report(
            &format!("burst of {burst} claims, 64 submitters"),
            latencies,
            start.elapsed(),
        );

        // Rank-1 continuations at the second insurer on the burst's invoices, proven against
        // this backend's settled tree (the burst settled in its own order), beside as many
        // new primary claims.
        eprintln!("proving {mixed} continuations …");
        let continuations: Vec<SignedTransaction> = patients[SINGLES..SINGLES + burst]
            .iter()
            .filter_map(|(sk, inv)| {
                let primary = witness(ledger, sk, inv, &policy);
                let public = primary.public_inputs(SHAPE).unwrap();
                let index = ledger
                    .settled_index(settled::primary_leaf(&public))
                    .unwrap();
                let path = ledger.settled_path(index).unwrap().path;
                let w = ContinuationWitness::after_primary(
                    &primary,
                    &public,
                    second_policy.clone(),
                    path,
                );
                match prove_continuation(&continuation, w, &mut prng) {
                    Ok(claim) => {
                        Some(Transaction::SettleContinuation { claim }.sign(CHAIN, &keys[3]))
                    }
                    // The primary paid the whole invoice: nothing for the second insurer.
                    Err(ProveError::FullyReimbursed { .. }) => None,
                    Err(e) => panic!("{e}"),
                }
            })
            .take(mixed)
            .collect();
        let both: Vec<&SignedTransaction> = fresh
            .iter()
            .zip(&continuations)
            .flat_map(|(a, b)| [a, b])
            .collect();
        let start = Instant::now();
        let latencies: Vec<Duration> = pool.install(|| {
            both.par_iter()
                .map(|tx| {
                    let t = Instant::now();
                    ledger.submit((*tx).clone()).unwrap();
                    t.elapsed()
                })
                .collect()
        });
        report(
            &format!(
                "mixed burst of {} primary and {} continuation claims, 64 submitters",
                both.len() / 2,
                both.len() / 2
            ),
            latencies,
            start.elapsed(),
        );
        ledger.close();
        // Bytes of the encoded claim blocks (what every node stores and replicates).
        let claim_bytes: usize = zkclaim_ledger::blocks(&**store)
            .map(|b| b.unwrap())
            .filter(|b| b.header.height > height_before_claims)
            .map(|b| b.to_bytes().len())
            .sum();
        println!(
            "store: {:.0} bytes per claim ({} claim blocks, {} bytes)",
            claim_bytes as f64 / (n + continuations.len()) as f64,
            ledger.height() - height_before_claims,
            claim_bytes,
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The primary claim's witness of a patient under `policy`, with the invoice's path at the
/// ledger's current root.
fn witness(ledger: &Ledger, sk: &SecretKey, invoice: &Invoice, policy: &Policy) -> ClaimWitness {
    let index = ledger
        .leaf_index(invoice.commitment(SHAPE.items).unwrap())
        .unwrap();
    ClaimWitness {
        sk: sk.clone(),
        invoice: invoice.clone(),
        path: ledger.leaf_path(index).unwrap().path,
        policy: policy.clone(),
    }
}
