//! Two nodes on one shared log, without etcd: what `EtcdStore`'s compare-and-swap on the
//! head gives them, played by a store in memory. They race for heights, undo the blocks
//! that lose, catch up, and end with one history.

use crate::fixture::*;
use ark_bn254::Fr;
use rand::{rngs::StdRng, SeedableRng};
use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};
use zkclaim_ledger::{audit, Block, BlockHeader, BlockStore, Ledger, LedgerError, MemoryStore};

/// An append at a height another node took loses, as on etcd; losses are counted.
struct SharedLog(MemoryStore, AtomicUsize);

impl BlockStore for SharedLog {
    fn append(&self, block: &Block) -> Result<(), LedgerError> {
        self.0.append(block).map_err(|_| {
            self.1.fetch_add(1, Ordering::Relaxed);
            LedgerError::HeadMoved
        })
    }

    fn block(&self, height: u64) -> Result<Option<Block>, LedgerError> {
        self.0.block(height)
    }

    fn head(&self) -> Result<Option<BlockHeader>, LedgerError> {
        self.0.head()
    }

    fn shared(&self) -> bool {
        true
    }

    fn wait_for(&self, height: u64) -> bool {
        std::thread::sleep(Duration::from_millis(2));
        matches!(self.0.block(height), Ok(Some(_)))
    }
}

fn converge(a: &Ledger, b: &Ledger) {
    for _ in 0..1000 {
        if a.height() == b.height() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(a.height(), b.height(), "the nodes did not converge");
    let head = |l: &Ledger| l.block(l.height()).unwrap().unwrap().header.hash();
    assert_eq!(head(a), head(b));
    assert_eq!(a.root(), b.root());
    assert_eq!(a.roots(), b.roots());
}

#[test]
fn two_nodes_racing_on_one_log_keep_one_history() {
    let store = Arc::new(SharedLog(MemoryStore::new(), AtomicUsize::new(0)));
    let genesis = genesis(128, 1);
    let a = open(store.clone(), genesis.clone());
    let b = Ledger::open(
        store.clone(),
        genesis.clone(),
        params().prepared.clone(),
        key(INSURER),
    )
    .unwrap();

    // Registrations through both nodes at once: blocks that lose a height are undone (tree
    // included) and their invoices land in a later block.
    std::thread::scope(|s| {
        for (node, hospital, base) in [(&a, HOSPITAL, 0u64), (&b, HOSPITAL_2, 1000)] {
            for t in 0..4u64 {
                s.spawn(move || {
                    for i in 0..8 {
                        let c = Fr::from(base + t * 100 + i + 1);
                        node.submit(register(c, hospital)).unwrap();
                    }
                });
            }
        }
    });
    converge(&a, &b);
    assert_eq!((a.invoice_count(), b.invoice_count()), (64, 64));
    let proposers: std::collections::HashSet<u32> = (1..=a.height())
        .map(|h| a.block(h).unwrap().unwrap().header.proposer)
        .collect();
    assert_eq!(proposers.len(), 2, "both nodes wrote blocks");
    assert!(store.1.load(Ordering::Relaxed) > 0, "no block lost a race");

    // One invoice, claimed through both nodes by two insurers at once: one settles.
    let mut rng = StdRng::seed_from_u64(40);
    let patient = Patient::new(&mut rng);
    a.submit(register(patient.commitment(), HOSPITAL)).unwrap();
    converge(&a, &b);
    let first = settle(patient.claim(&a, INSURER, &mut rng), INSURER);
    let second = settle(patient.claim(&b, INSURER_2, &mut rng), INSURER_2);
    let results: Vec<_> = std::thread::scope(|s| {
        let handles = [(&a, &first), (&b, &second)]
            .map(|(node, tx)| s.spawn(move || node.submit(tx.clone())));
        handles.map(|h| h.join().unwrap()).to_vec()
    });
    let won = results.iter().position(Result::is_ok).unwrap();
    let receipt = results[won].clone().unwrap();
    assert!(matches!(
        results[1 - won],
        Err(LedgerError::DuplicateClaim { first_height }) if first_height == receipt.height
    ));
    converge(&a, &b);

    // The winner's retry, at either node, gets its first receipt.
    let winner = [&first, &second][won];
    for node in [&a, &b] {
        assert_eq!(node.submit(winner.clone()), Ok(receipt.clone()));
    }
    assert_eq!(a.claim(patient.nullifier()), b.claim(patient.nullifier()));
    a.close();
    b.close();
    let report = audit(&*store, &genesis, &params().prepared).unwrap();
    assert_eq!((report.invoices, report.claims), (65, 1));
}
