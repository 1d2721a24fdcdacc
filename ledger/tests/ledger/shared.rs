//! Nodes on one shared log, without etcd: what `EtcdStore` gives them, played by slots in
//! memory. They race for slots, undo the blocks that lose, catch up, and end with one
//! history; a slot whose block breaks a rule is rejected by every node alike and costs that
//! slot, not the service.

use crate::fixture::*;
use ark_bn254::Fr;
use rand::{rngs::StdRng, SeedableRng};
use std::{
    collections::BTreeMap,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};
use zkclaim_ledger::{
    audit, Block, BlockHeader, BlockStore, Ledger, LedgerError, MemberKey, Rejection,
};

/// Slots of encoded blocks, as on etcd: an append takes its block's slot only if that slot
/// is empty (the losses are counted), and [`SharedLog::put`] writes any bytes in any slot,
/// as anyone with write access to etcd can.
#[derive(Default)]
pub(crate) struct SharedLog {
    slots: Mutex<BTreeMap<u64, Vec<u8>>>,
    lost: AtomicUsize,
}

impl SharedLog {
    fn slots(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Vec<u8>>> {
        self.slots.lock().unwrap()
    }

    fn put(&self, height: u64, bytes: Vec<u8>) {
        assert!(
            self.slots().insert(height, bytes).is_none(),
            "slot {height}"
        );
    }

    /// The slot after the last one written.
    fn next(&self) -> u64 {
        self.last_height().unwrap() + 1
    }
}

impl BlockStore for SharedLog {
    fn append(&self, block: &Block) -> Result<(), LedgerError> {
        let mut slots = self.slots();
        if slots.contains_key(&block.header.height) {
            self.lost.fetch_add(1, Ordering::Relaxed);
            return Err(LedgerError::HeadMoved);
        }
        slots.insert(block.header.height, block.to_bytes());
        Ok(())
    }

    fn block(&self, height: u64) -> Result<Option<Block>, LedgerError> {
        let Some(bytes) = self.slots().get(&height).cloned() else {
            return Ok(None);
        };
        Block::from_bytes(&bytes)
            .map(Some)
            .map_err(|e| LedgerError::Corrupt {
                height,
                reason: e.to_string(),
            })
    }

    fn last_height(&self) -> Result<u64, LedgerError> {
        Ok(self.slots().keys().next_back().copied().unwrap_or(0))
    }

    fn shared(&self) -> bool {
        true
    }

    fn wait_for(&self, height: u64) -> bool {
        std::thread::sleep(Duration::from_millis(2));
        self.slots().contains_key(&height)
    }

    /// Small, as etcd's 100 is, so that a test can exceed it.
    fn max_block_transactions(&self) -> usize {
        8
    }
}

/// A node on `store` whose blocks `proposer` signs.
fn node(store: &Arc<SharedLog>, genesis: &zkclaim_ledger::Genesis, proposer: u32) -> Ledger {
    Ledger::open(store.clone(), genesis.clone(), keys(genesis), key(proposer)).unwrap()
}

pub(crate) fn converge(a: &Ledger, b: &Ledger) {
    for _ in 0..1000 {
        if a.height() == b.height() && a.rejections() == b.rejections() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(a.height(), b.height(), "the nodes did not converge");
    assert_eq!(a.rejections(), b.rejections());
    let head = |l: &Ledger| l.block(l.height()).unwrap().unwrap().header.hash();
    assert_eq!(head(a), head(b));
    assert_eq!(a.root(), b.root());
    assert_eq!(a.roots(), b.roots());
    assert_eq!(a.settled_root(), b.settled_root());
}

#[test]
fn two_nodes_racing_on_one_log_keep_one_history() {
    let store = Arc::<SharedLog>::default();
    let genesis = genesis(128, 1);
    let (a, b) = (
        node(&store, &genesis, REGULATOR),
        node(&store, &genesis, INSURER),
    );

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
    assert!(
        store.lost.load(Ordering::Relaxed) > 0,
        "no block lost a race"
    );

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
    let report = audit(&*store, &genesis, &keys(&genesis)).unwrap();
    assert_eq!((report.invoices, report.claims), (65, 1));
}

#[test]
fn voids_racing_registrations_on_one_log_keep_one_tree() {
    let store = Arc::<SharedLog>::default();
    let genesis = genesis(128, 1);
    let (a, b) = (
        node(&store, &genesis, REGULATOR),
        node(&store, &genesis, INSURER),
    );
    let voided: Vec<Fr> = (1..=16u64).map(Fr::from).collect();
    for c in &voided {
        a.submit(register(*c, HOSPITAL)).unwrap();
    }
    converge(&a, &b);
    // Voids through one node while the other hospital registers through the other: a block
    // of voids that loses its slot is undone (its leaves restored) and admitted again.
    let lost_before = store.lost.load(Ordering::Relaxed);
    std::thread::scope(|s| {
        for part in voided.chunks(4) {
            let a = &a;
            s.spawn(move || {
                for c in part {
                    a.submit(void(*c, HOSPITAL)).unwrap();
                }
            });
        }
        for t in 0..4u64 {
            let b = &b;
            s.spawn(move || {
                for i in 0..4 {
                    b.submit(register(Fr::from(1_000 + t * 10 + i), HOSPITAL_2))
                        .unwrap();
                }
            });
        }
    });
    converge(&a, &b);
    assert!(
        store.lost.load(Ordering::Relaxed) > lost_before,
        "no block lost a race"
    );
    // The tree both nodes hold: the 16 voided leaves are 0, the 16 later ones registered.
    assert_eq!((a.invoice_count(), b.invoice_count()), (32, 32));
    for node in [&a, &b] {
        for index in 0..16 {
            assert!(matches!(
                node.leaf_path(index),
                Err(LedgerError::VoidedLeaf { .. })
            ));
        }
        assert_eq!(node.leaf_path(16).unwrap().root, node.root());
    }
    a.close();
    b.close();
    let report = audit(&*store, &genesis, &keys(&genesis)).unwrap();
    assert_eq!((report.invoices, report.voided), (32, 16));
}

/// Waits until both nodes have rejected `n` slots, and checks they agree on them.
fn rejected_by_both(a: &Ledger, b: &Ledger, n: usize) -> Vec<Rejection> {
    for _ in 0..1000 {
        if a.rejections().len() >= n && b.rejections().len() >= n {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(a.rejections().len(), n, "{:?}", a.rejections());
    assert_eq!(a.rejections(), b.rejections());
    a.rejections()
}

/// The header of `node`'s last valid block.
fn head(node: &Ledger) -> BlockHeader {
    node.block(node.height()).unwrap().unwrap().header
}

#[test]
fn a_bad_block_in_the_shared_log_costs_one_slot_not_the_service() {
    let mut rng = StdRng::seed_from_u64(42);
    let store = Arc::<SharedLog>::default();
    let genesis = genesis(128, 1);
    let (a, b) = (
        node(&store, &genesis, REGULATOR),
        node(&store, &genesis, INSURER),
    );
    let patients: Vec<Patient> = (0..2).map(|_| Patient::new(&mut rng)).collect();
    for p in &patients {
        a.submit(register(p.commitment(), HOSPITAL)).unwrap();
    }
    converge(&a, &b);
    let claim = patients[0].claim(&a, INSURER, &mut rng);

    // Insurer 2 proposes a block whose one claim has a bad proof: the first patient's
    // nullifier, one fen more. Every rule holds but the proof.
    let mut inflated = claim.clone();
    inflated.public_inputs.claim_amount += 1;
    let bad = forged(
        &head(&a),
        store.next(),
        &key(INSURER_2),
        vec![settle(inflated, INSURER_2)],
        Edit::BeforeSigning,
        |_| {},
    );
    store.put(bad.header.height, bad.to_bytes());

    // Both nodes reject it and keep writing: the honest claim of that nullifier settles,
    // through the node that had not seen the bad block, in the slot after it.
    let receipt = b.submit(settle(claim.clone(), INSURER)).unwrap();
    assert_eq!(receipt.height, bad.header.height + 1);
    let rejected = rejected_by_both(&a, &b, 1);
    assert_eq!(
        (rejected[0].height, rejected[0].proposer),
        (bad.header.height, Some(INSURER_2))
    );
    assert!(rejected[0].reason.contains("invalid proof"), "{rejected:?}");
    converge(&a, &b);
    let settled = a.block(receipt.height).unwrap().unwrap();
    assert_eq!(settled.header.prev_hash, bad.header.prev_hash);
    assert_eq!(a.block(bad.header.height).unwrap(), None);

    // More bad slots, each rejected and skipped, each followed by a valid block: a block
    // chained onto the rejected one, bytes that are no block, a block signed by a key that
    // is no member's, a copy of a valid block, a second claim of a spent nullifier (with a
    // valid proof), more transactions than a block may carry. Only member-signed blocks for
    // their own slot name a proposer.
    let stranger = MemberKey::generate(99, &mut rng);
    let second = patients[0].claim(&a, INSURER_2, &mut rng);
    let others = patients[1].claim(&a, INSURER, &mut rng);
    type Bad<'a> = Box<dyn Fn(&BlockHeader, u64) -> Vec<u8> + 'a>;
    let cases: Vec<(Bad, Option<u32>, &str)> = vec![
        (
            Box::new(|head, slot| {
                let onto = bad.header.clone();
                let tx = register(Fr::from(500u64), HOSPITAL_2);
                let mut block = forged(
                    &onto,
                    slot,
                    &key(HOSPITAL_2),
                    vec![tx],
                    Edit::BeforeSigning,
                    |_| {},
                );
                block.header.time_ms = head.time_ms + 1;
                block.header.sign(&key(HOSPITAL_2));
                block.to_bytes()
            }),
            Some(HOSPITAL_2),
            "prev_hash",
        ),
        (Box::new(|_, _| b"no block".to_vec()), None, ""),
        (
            Box::new(|head, slot| {
                let tx = register(Fr::from(501u64), HOSPITAL);
                forged(head, slot, &stranger, vec![tx], Edit::BeforeSigning, |_| {}).to_bytes()
            }),
            None,
            "member 99",
        ),
        (
            Box::new(|head, _| {
                let block = store.block(head.height).unwrap().unwrap();
                block.to_bytes()
            }),
            None,
            "header says height",
        ),
        (
            Box::new(|head, slot| {
                let tx = settle(second.clone(), INSURER_2);
                forged(
                    head,
                    slot,
                    &key(INSURER_2),
                    vec![tx],
                    Edit::BeforeSigning,
                    |_| {},
                )
                .to_bytes()
            }),
            Some(INSURER_2),
            "already claimed",
        ),
        // Statement v2: a valid, unspent claim made under another insurer's policy.
        (
            Box::new(|head, slot| {
                let tx = settle(others.clone(), INSURER_2);
                forged(
                    head,
                    slot,
                    &key(INSURER_2),
                    vec![tx],
                    Edit::BeforeSigning,
                    |_| {},
                )
                .to_bytes()
            }),
            Some(INSURER_2),
            "only that insurer may settle it",
        ),
        (
            Box::new(|head, slot| {
                let txs = (0..9)
                    .map(|i| register(Fr::from(700 + i), HOSPITAL))
                    .collect();
                forged(head, slot, &key(HOSPITAL), txs, Edit::BeforeSigning, |_| {}).to_bytes()
            }),
            Some(HOSPITAL),
            "9 transactions, more than the 8",
        ),
    ];
    let mut fresh = 600u64;
    for (i, (bytes, proposer, why)) in cases.iter().enumerate() {
        converge(&a, &b);
        let slot = store.next();
        store.put(slot, bytes(&head(&a), slot));
        fresh += 1;
        let node = [&a, &b][i % 2];
        let receipt = node.submit(register(Fr::from(fresh), HOSPITAL)).unwrap();
        assert_eq!(receipt.height, slot + 1, "case {i}");
        let r = rejected_by_both(&a, &b, i + 2).pop().unwrap();
        assert_eq!((r.height, r.proposer), (slot, *proposer), "case {i}: {r:?}");
        assert!(r.reason.contains(why), "case {i}: {r:?}");
    }
    converge(&a, &b);
    assert_eq!(a.claim(patients[0].nullifier()).unwrap().insurer, INSURER);
    assert_eq!(a.claim(patients[1].nullifier()), None);

    // A node that starts now replays the log to the same state and rejections; the audit
    // passes and names them.
    let c = node(&store, &genesis, INSURER_2);
    converge(&a, &c);
    assert_eq!(
        c.claim(patients[0].nullifier()),
        a.claim(patients[0].nullifier())
    );
    for node in [&a, &b, &c] {
        node.close();
    }
    let report = audit(&*store, &genesis, &keys(&genesis)).unwrap();
    assert_eq!(report.rejected, a.rejections());
    assert_eq!((report.invoices, report.claims), (9, 1));
    assert_eq!(
        report.blocks + report.rejected.len() as u64,
        store.last_height().unwrap()
    );
}

#[test]
fn a_slot_written_past_the_end_fails_the_audit_not_the_nodes() {
    let store = Arc::<SharedLog>::default();
    let genesis = genesis(128, 1);
    let a = node(&store, &genesis, REGULATOR);
    a.submit(register(Fr::from(1u64), HOSPITAL)).unwrap();

    // Someone writes slot 3 while slot 2 is empty: no honest node does that.
    let skipping = forged(
        &head(&a),
        3,
        &key(HOSPITAL),
        vec![register(Fr::from(2u64), HOSPITAL)],
        Edit::BeforeSigning,
        |_| {},
    );
    store.put(3, skipping.to_bytes());
    let err = audit(&*store, &genesis, &keys(&genesis)).unwrap_err();
    assert_eq!(err.height, 2, "{err}");
    assert!(
        err.reason
            .contains("missing, while the store holds block 3"),
        "{err}"
    );

    // The node fills slot 2, loses slot 3 to that block (which chains onto block 1, not 2),
    // rejects it, and writes slot 4.
    assert_eq!(
        a.submit(register(Fr::from(3u64), HOSPITAL)).unwrap().height,
        2
    );
    assert_eq!(
        a.submit(register(Fr::from(4u64), HOSPITAL)).unwrap().height,
        4
    );
    assert_eq!(a.rejections().len(), 1);
    assert!(a.rejections()[0].reason.contains("prev_hash"));
    a.close();
    let report = audit(&*store, &genesis, &keys(&genesis)).unwrap();
    assert_eq!((report.blocks, report.rejected), (3, a.rejections()));
}
