//! Storage: what is acknowledged is there after a reopen, any stored byte changed is caught
//! at its block, and a block that cannot be written leaves no trace.

use crate::fixture::*;
use ark_bn254::Fr;
use rand::{rngs::StdRng, Rng, SeedableRng};
use redb::{Database, ReadableTable, TableDefinition};
use std::{
    path::Path,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
};
use zkclaim_ledger::{
    audit, Block, BlockHeader, BlockStore, ClaimRecord, Ledger, LedgerError, MemoryStore, RedbStore,
};

/// The store's table, reached around it to corrupt it.
const BLOCKS: TableDefinition<u64, &[u8]> = TableDefinition::new("blocks");

fn redb_ledger(path: &Path) -> (Ledger, Arc<RedbStore>) {
    let store = Arc::new(RedbStore::open(path).unwrap());
    (open(store.clone(), genesis(128, 1)), store)
}

/// What a reopened ledger must give back: head, height, roots, invoice count and claims.
type Snapshot = (
    Option<BlockHeader>,
    u64,
    Fr,
    Vec<Fr>,
    u64,
    Vec<Option<ClaimRecord>>,
);

fn snapshot(ledger: &Ledger, store: &RedbStore, patients: &[Patient]) -> Snapshot {
    let claims = patients
        .iter()
        .map(|p| ledger.claim(p.nullifier()))
        .collect();
    (
        store
            .block(store.last_height().unwrap())
            .unwrap()
            .map(|b| b.header),
        ledger.height(),
        ledger.root(),
        ledger.roots(),
        ledger.invoice_count(),
        claims,
    )
}

#[test]
fn a_reopened_redb_ledger_has_the_same_head_root_and_claims() {
    let mut rng = StdRng::seed_from_u64(30);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chain.redb");
    let patients: Vec<Patient> = (0..3).map(|_| Patient::new(&mut rng)).collect();
    let (before, first_claim) = {
        let (ledger, store) = redb_ledger(&path);
        for p in &patients {
            ledger.submit(register(p.commitment(), HOSPITAL)).unwrap();
        }
        let first = ledger
            .submit(settle(
                patients[0].claim(&ledger, INSURER, &mut rng),
                INSURER,
            ))
            .unwrap();
        ledger
            .submit(settle(
                patients[1].claim(&ledger, INSURER_2, &mut rng),
                INSURER_2,
            ))
            .unwrap();
        (snapshot(&ledger, &store, &patients), first)
    };

    let (ledger, store) = redb_ledger(&path);
    let after = snapshot(&ledger, &store, &patients);
    assert_eq!(after, before);
    assert_eq!(after.1, 5);
    assert!(after.5[0].is_some() && after.5[1].is_some() && after.5[2].is_none());
    // The spent nullifier is still spent; the chain goes on from the old head.
    assert_eq!(
        ledger.submit(settle(
            patients[0].claim(&ledger, INSURER, &mut rng),
            INSURER
        )),
        Err(LedgerError::DuplicateClaim {
            first_height: first_claim.height
        })
    );
    let next = ledger
        .submit(settle(
            patients[2].claim(&ledger, INSURER, &mut rng),
            INSURER,
        ))
        .unwrap();
    assert_eq!(next.height, 6);
    let head = store.block(6).unwrap().unwrap().header;
    assert_eq!(head.prev_hash, before.0.unwrap().hash());
    audit(&*store, ledger.genesis(), &keys(ledger.genesis())).unwrap();
}

fn rewrite(path: &Path, height: u64, edit: impl FnOnce(&mut Vec<u8>)) {
    let db = Database::open(path).unwrap();
    let tx = db.begin_write().unwrap();
    {
        let mut table = tx.open_table(BLOCKS).unwrap();
        let mut bytes = table.get(height).unwrap().unwrap().value().to_vec();
        edit(&mut bytes);
        table.insert(height, bytes.as_slice()).unwrap();
    }
    tx.commit().unwrap();
}

#[test]
fn a_byte_flipped_on_disk_fails_audit_and_open_at_its_block() {
    let mut rng = StdRng::seed_from_u64(31);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chain.redb");
    let sizes: Vec<usize> = {
        let (ledger, store) = redb_ledger(&path);
        let patient = Patient::new(&mut rng);
        ledger
            .submit(register(patient.commitment(), HOSPITAL))
            .unwrap();
        ledger
            .submit(settle(patient.claim(&ledger, INSURER, &mut rng), INSURER))
            .unwrap();
        ledger.submit(register(Fr::from(3u64), HOSPITAL_2)).unwrap();
        (1..=3)
            .map(|h| store.block(h).unwrap().unwrap().to_bytes().len())
            .collect()
    };
    for (i, size) in sizes.iter().enumerate() {
        let height = i as u64 + 1;
        for _ in 0..3 {
            let at = rng.gen_range(0..*size);
            let flip: u8 = rng.gen_range(1..=255);
            rewrite(&path, height, |b| b[at] ^= flip);
            {
                let store = RedbStore::open(&path).unwrap();
                let err = audit(&store, &genesis(128, 1), &keys(&genesis(128, 1))).unwrap_err();
                assert_eq!(err.height, height, "byte {at} ^ {flip}: {err}");
                let opened = Ledger::open(
                    Arc::new(store),
                    genesis(128, 1),
                    keys(&genesis(128, 1)),
                    key(REGULATOR),
                );
                assert!(
                    matches!(opened, Err(LedgerError::Corrupt { height: h, .. }) if h == height),
                    "byte {at} ^ {flip}: {opened:?}"
                );
            }
            rewrite(&path, height, |b| b[at] ^= flip);
            let store = RedbStore::open(&path).unwrap();
            audit(&store, &genesis(128, 1), &keys(&genesis(128, 1))).unwrap();
        }
    }
}

/// A store whose writes fail while `failing` is set, like a full disk.
#[derive(Default)]
struct FailingStore {
    blocks: MemoryStore,
    failing: AtomicBool,
}

impl BlockStore for FailingStore {
    fn append(&self, block: &Block) -> Result<(), LedgerError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(LedgerError::Storage("disk full".into()));
        }
        self.blocks.append(block)
    }

    fn block(&self, height: u64) -> Result<Option<Block>, LedgerError> {
        self.blocks.block(height)
    }

    fn last_height(&self) -> Result<u64, LedgerError> {
        self.blocks.last_height()
    }
}

#[test]
fn a_block_that_cannot_be_written_changes_nothing() {
    let mut rng = StdRng::seed_from_u64(32);
    let store = Arc::new(FailingStore::default());
    let ledger = open(store.clone(), genesis(128, 1));
    let patient = Patient::new(&mut rng);
    ledger
        .submit(register(patient.commitment(), HOSPITAL))
        .unwrap();
    let claim = settle(patient.claim(&ledger, INSURER, &mut rng), INSURER);
    let snapshot = |l: &Ledger| (l.height(), l.root(), l.roots(), l.invoice_count());
    let before = snapshot(&ledger);

    store.failing.store(true, Ordering::SeqCst);
    let full = Err(LedgerError::Storage("disk full".into()));
    assert_eq!(ledger.submit(claim.clone()), full);
    assert_eq!(ledger.submit(register(Fr::from(5u64), HOSPITAL)), full);
    assert_eq!(snapshot(&ledger), before);
    assert_eq!(ledger.claim(patient.nullifier()), None);
    assert_eq!(ledger.leaf_index(Fr::from(5u64)), None);

    store.failing.store(false, Ordering::SeqCst);
    assert_eq!(ledger.submit(claim).unwrap().height, 2);
    assert_eq!(
        ledger
            .submit(register(Fr::from(5u64), HOSPITAL))
            .unwrap()
            .height,
        3
    );
    audit(&*store, ledger.genesis(), &keys(ledger.genesis())).unwrap();
}
