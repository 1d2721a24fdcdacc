//! Crash safety: a writer process is killed (SIGKILL) at random moments; everything it was
//! told is accepted must be there after a reopen, and the chain must pass audit.
//!
//! The writer is this same test binary, re-executed with `WRITER_DIR` set. Cycles default to
//! 30; set `ZKCLAIM_CRASH_CYCLES` for a soak run and `ZKCLAIM_CRASH_SEED` to replay one.

use crate::fixture::*;
use ark_bn254::Fr;
use rand::{rngs::StdRng, Rng, SeedableRng};
use std::{
    io::{BufRead, BufReader, Write},
    path::Path,
    process::{Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};
use zkclaim_circuits::field;
use zkclaim_ledger::{audit, Genesis, Ledger, RedbStore, VerifyingKeys};
use zkclaim_verifier::ClaimVerifyingKey;

const TEST_NAME: &str = "crash::acknowledged_blocks_survive_sigkill";
const WRITER_DIR: &str = "ZKCLAIM_CRASH_WRITER_DIR";
const WRITER_CYCLE: &str = "ZKCLAIM_CRASH_WRITER_CYCLE";
const VERIFYING_KEY: &str = "claim.vk";
const CHAIN_FILE: &str = "chain.redb";
const ACK: &str = "ack ";

/// Registrations only, so the tree is deeper than the claim circuit's.
fn crash_genesis(vk: &ClaimVerifyingKey) -> Genesis {
    let mut genesis = genesis_for(vk.digest(), 128, 2);
    genesis.shape.depth = 20;
    genesis
}

#[test]
fn acknowledged_blocks_survive_sigkill() {
    if let Some(dir) = std::env::var_os(WRITER_DIR) {
        let cycle = std::env::var(WRITER_CYCLE).unwrap().parse().unwrap();
        return writer(Path::new(&dir), cycle);
    }
    let cycles: u64 = std::env::var("ZKCLAIM_CRASH_CYCLES").map_or(30, |c| c.parse().unwrap());
    let seed: u64 = std::env::var("ZKCLAIM_CRASH_SEED")
        .map_or_else(|_| rand::thread_rng().gen(), |s| s.parse().unwrap());
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let vk = params().verifying_key.clone();
    std::fs::write(dir.path().join(VERIFYING_KEY), vk.to_bytes()).unwrap();
    let genesis = crash_genesis(&vk);
    let mut acknowledged: Vec<Fr> = Vec::new();
    for cycle in 0..cycles {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([TEST_NAME, "--exact", "--test-threads=1", "--quiet"])
            .env(WRITER_DIR, dir.path())
            .env(WRITER_CYCLE, cycle.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut acks = Vec::new();
            let mut lines = BufReader::new(stdout);
            let mut line = String::new();
            // Only whole lines count: the kill may cut the last one short.
            while lines.read_line(&mut line).unwrap() > 0 {
                if let Some(c) = line.strip_prefix(ACK).and_then(|l| l.strip_suffix('\n')) {
                    acks.push(field::parse(c).unwrap());
                }
                line.clear();
            }
            acks
        });
        std::thread::sleep(Duration::from_millis(rng.gen_range(20..400)));
        child.kill().unwrap();
        child.wait().unwrap();
        acknowledged.extend(reader.join().unwrap());

        let store = Arc::new(RedbStore::open(&dir.path().join(CHAIN_FILE)).unwrap());
        let keys = VerifyingKeys::new(&genesis, vk.prepare(), None).unwrap();
        let ledger = Ledger::open(store.clone(), genesis.clone(), keys.clone(), key(REGULATOR))
            .unwrap_or_else(|e| panic!("seed {seed}, cycle {cycle}: {e}"));
        for c in &acknowledged {
            assert!(
                ledger.leaf_index(*c).is_some(),
                "seed {seed}, cycle {cycle}: acknowledged {} is lost",
                field::format(c)
            );
        }
        let report = audit(&*store, &genesis, &keys)
            .unwrap_or_else(|e| panic!("seed {seed}, cycle {cycle}: {e}"));
        assert!(report.invoices >= acknowledged.len() as u64);
    }
    eprintln!(
        "crash test: seed {seed}, {cycles} kills, {} acknowledged registrations",
        acknowledged.len()
    );
    assert!(
        acknowledged.len() as u64 > cycles,
        "seed {seed}: only {} acknowledged",
        acknowledged.len()
    );
}

/// The child: registers distinct invoices from several threads until killed, printing each
/// commitment once `submit` has returned `Ok` (so once its block is durable).
fn writer(dir: &Path, cycle: u64) {
    let vk =
        ClaimVerifyingKey::from_bytes(&std::fs::read(dir.join(VERIFYING_KEY)).unwrap()).unwrap();
    let store = Arc::new(RedbStore::open(&dir.join(CHAIN_FILE)).unwrap());
    let genesis = crash_genesis(&vk);
    let keys = VerifyingKeys::new(&genesis, vk.prepare(), None).unwrap();
    let ledger = Ledger::open(store, genesis, keys, key(REGULATOR)).unwrap();
    // A parent that died without killing us must not leave us running for long.
    let stop = Instant::now() + Duration::from_secs(20);
    std::thread::scope(|s| {
        for thread in 0..4u64 {
            let ledger = &ledger;
            s.spawn(move || {
                for i in 0u64.. {
                    if Instant::now() > stop {
                        return;
                    }
                    let c = Fr::from((cycle << 40) | (thread << 32) | i);
                    ledger.submit(register(c, HOSPITAL)).unwrap();
                    let line = format!("{ACK}{}\n", field::format(&c));
                    let mut out = std::io::stdout().lock();
                    out.write_all(line.as_bytes()).unwrap();
                    out.flush().unwrap();
                }
            });
        }
    });
}
