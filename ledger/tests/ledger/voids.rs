//! Statement v2: voided invoices, the root window by time, hospitals' quotas of blocks, and
//! how many registrations by other hospitals follow a leaf. On both backends where the test
//! runs a ledger live (`fresh_store`); block times that a test controls are forged blocks
//! replayed by a node opening its store and by the audit.

use crate::fixture::*;
use ark_bn254::Fr;
use rand::{rngs::StdRng, SeedableRng};
use std::sync::Arc;
use zkclaim_circuits::{claim::ClaimWitness, sample, tree::IncrementalTree};
use zkclaim_ledger::{
    audit, tx_root, Block, BlockHeader, BlockStore, Ledger, LedgerError, MemoryStore,
    SignedTransaction,
};
use zkclaim_prover::prove;
use zkclaim_verifier::ClaimPackage;

#[test]
fn only_the_registering_hospital_voids_once_and_a_void_is_forever() {
    let mut rng = StdRng::seed_from_u64(60);
    let (ledger, store) = test_ledger(128, 1);
    let patient = Patient::new(&mut rng);
    let c = patient.commitment();
    assert_eq!(
        ledger.submit(void(c, HOSPITAL)),
        Err(LedgerError::UnregisteredCommitment)
    );
    assert_eq!(
        ledger.submit(register(Fr::from(0u64), HOSPITAL)),
        Err(LedgerError::ZeroCommitment)
    );
    ledger.submit(register(c, HOSPITAL)).unwrap();
    let index = ledger.leaf_index(c).unwrap();
    let before = ledger.root();
    assert_eq!(
        ledger.submit(void(c, HOSPITAL_2)),
        Err(LedgerError::NotRegistrant {
            registrant: HOSPITAL
        })
    );
    assert_eq!(ledger.root(), before, "a refused void changes nothing");
    let receipt = ledger.submit(void(c, HOSPITAL)).unwrap();
    let voided_at = receipt.height;
    assert_ne!(ledger.root(), before);
    // The same signed void again is a retry: its first receipt. A void by anyone else of a
    // voided commitment is refused as such.
    assert_eq!(ledger.submit(void(c, HOSPITAL)), Ok(receipt));
    assert_eq!(
        ledger.submit(void(c, HOSPITAL_2)),
        Err(LedgerError::AlreadyVoided { height: voided_at })
    );
    // Even the registration's own signed transaction again: refused, not answered with the
    // receipt of the registration the void undid.
    for hospital in [HOSPITAL, HOSPITAL_2] {
        assert_eq!(
            ledger.submit(register(c, hospital)),
            Err(LedgerError::VoidedCommitment { height: voided_at })
        );
    }
    assert_eq!(
        ledger.leaf_path(index),
        Err(LedgerError::VoidedLeaf { height: voided_at })
    );
    // Appends go on after the voided leaf; their paths lead to the current root.
    ledger.submit(register(Fr::from(7u64), HOSPITAL_2)).unwrap();
    let other = ledger.leaf_path(index + 1).unwrap();
    assert_eq!(other.root, ledger.root());
    // The node after a restart, and the audit, rebuild the same state from the blocks.
    let reopened = open(store.clone(), ledger.genesis().clone());
    assert_eq!(reopened.root(), ledger.root());
    assert_eq!(
        reopened.submit(register(c, HOSPITAL)),
        Err(LedgerError::VoidedCommitment { height: voided_at })
    );
    let report = audit(&*store, ledger.genesis(), &keys(ledger.genesis())).unwrap();
    assert_eq!((report.invoices, report.voided), (2, 1));
}

#[test]
fn a_claim_after_the_void_is_unprovable_and_one_settled_before_stands() {
    let mut rng = StdRng::seed_from_u64(61);
    let (ledger, store) = test_ledger(128, 1);
    let (settled, pending) = (Patient::new(&mut rng), Patient::new(&mut rng));
    ledger
        .submit(register(settled.commitment(), HOSPITAL))
        .unwrap();
    ledger
        .submit(register(pending.commitment(), HOSPITAL))
        .unwrap();
    let claim = settled.claim(&ledger, INSURER, &mut rng);
    let first = ledger.submit(settle(claim, INSURER)).unwrap().height;
    // The pending invoice first: no root ever held it next to a voided first leaf.
    for p in [&pending, &settled] {
        ledger.submit(void(p.commitment(), HOSPITAL)).unwrap();
    }
    // Settled before its void: it stands.
    assert_eq!(ledger.claim(settled.nullifier()).unwrap().height, first);
    // After the void the ledger serves no path for the leaf; with the path of its position in
    // the current tree, where the leaf is 0, the invoice leads to a root that never existed.
    let index = ledger.leaf_index(pending.commitment()).unwrap();
    assert!(matches!(
        ledger.leaf_path(index),
        Err(LedgerError::VoidedLeaf { .. })
    ));
    let mut tree = IncrementalTree::new(SHAPE.depth);
    for leaf in [Fr::from(0u64), Fr::from(0u64)] {
        tree.append(leaf).unwrap();
    }
    assert_eq!(tree.root(), ledger.root());
    let claim = prove_with(&pending, tree.path(index).unwrap(), INSURER, &mut rng);
    assert_ne!(claim.public_inputs.invoice_root, ledger.root());
    assert_eq!(
        ledger.submit(settle(claim, INSURER)),
        Err(LedgerError::StaleRoot)
    );
    audit(&*store, ledger.genesis(), &keys(ledger.genesis())).unwrap();
}

#[test]
fn a_corrected_invoice_shares_the_voided_ones_nullifier() {
    let mut rng = StdRng::seed_from_u64(62);
    let (ledger, _) = test_ledger(128, 1);
    let original = Patient::new(&mut rng);
    ledger
        .submit(register(original.commitment(), HOSPITAL))
        .unwrap();
    let claim = original.claim(&ledger, INSURER, &mut rng);
    let first = ledger.submit(settle(claim, INSURER)).unwrap().height;
    // The hospital corrects the invoice: the same serial, another amount.
    ledger
        .submit(void(original.commitment(), HOSPITAL))
        .unwrap();
    let mut corrected = Patient {
        sk: original.sk.clone(),
        invoice: original.invoice.clone(),
    };
    corrected.invoice.items[0].amount -= 100;
    assert_ne!(corrected.commitment(), original.commitment());
    assert_eq!(corrected.nullifier(), original.nullifier());
    ledger
        .submit(register(corrected.commitment(), HOSPITAL))
        .unwrap();
    for insurer in [INSURER, INSURER_2] {
        let again = corrected.claim(&ledger, insurer, &mut rng);
        assert_eq!(
            ledger.submit(settle(again, insurer)),
            Err(LedgerError::DuplicateClaim {
                first_height: first
            })
        );
    }
}

#[test]
fn a_burst_of_registrations_no_longer_makes_pending_claims_stale() {
    // v1 with K = 128: 128 registration blocks by one hospital dropped every pending root.
    let mut rng = StdRng::seed_from_u64(63);
    let (ledger, _) = test_ledger(128, 0);
    let patient = Patient::new(&mut rng);
    ledger
        .submit(register(patient.commitment(), HOSPITAL))
        .unwrap();
    let claim = patient.claim(&ledger, INSURER, &mut rng);
    let quota = ledger.genesis().root_quota();
    assert_eq!(quota, 63, "(K - 1) / 2 hospitals");
    let mut limited = 0;
    for i in 0..200u64 {
        match ledger.submit(register(Fr::from(1_000 + i), HOSPITAL_2)) {
            Ok(_) => {}
            Err(LedgerError::RateLimited {
                member,
                retry_after_ms,
                ..
            }) => {
                assert_eq!(member, HOSPITAL_2);
                assert!((1..=600_001).contains(&retry_after_ms), "{retry_after_ms}");
                limited += 1;
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert!(
        limited >= 200 - quota as usize,
        "{limited} refused: one block per registration here"
    );
    // The other hospital may still register: the quota is per hospital.
    ledger.submit(register(Fr::from(99u64), HOSPITAL)).unwrap();
    ledger.submit(settle(claim, INSURER)).unwrap();
}

#[test]
fn later_registrations_by_others_count_from_the_block_after_the_leafs() {
    let (ledger, _) = test_ledger(128, 1);
    ledger.submit(register(Fr::from(1u64), HOSPITAL)).unwrap();
    let at = |i| ledger.leaf_path(i).unwrap().later_by_others;
    assert_eq!(at(0), 0);
    // The leaf's own hospital adds nobody to the crowd.
    ledger.submit(register(Fr::from(2u64), HOSPITAL)).unwrap();
    assert_eq!(at(0), 0);
    for c in 3..6u64 {
        ledger.submit(register(Fr::from(c), HOSPITAL_2)).unwrap();
    }
    // Leaf 2's later ones are its own hospital's.
    assert_eq!((at(0), at(1), at(2)), (3, 3, 0));
    ledger.submit(register(Fr::from(6u64), HOSPITAL)).unwrap();
    assert_eq!((at(0), at(4), at(5)), (3, 1, 0));
}

/// The chain of the block-time test: block 1 registers the patient's invoice and another at
/// t = 1,000 ms, block 2 voids the patient's at t = 2,000 ms.
struct Chain {
    store: Arc<MemoryStore>,
    head: BlockHeader,
    before_void: ClaimPackage,
}

fn block(
    head: Option<&BlockHeader>,
    time_ms: u64,
    invoice_root: Fr,
    transactions: Vec<SignedTransaction>,
) -> Block {
    let ids: Vec<_> = transactions.iter().map(|t| t.id(CHAIN)).collect();
    // The chains built here settle claims in their last block only.
    let mut settled = IncrementalTree::new(SHAPE.depth);
    for (statement, _) in transactions.iter().filter_map(|t| t.tx.claim()) {
        settled.append(statement.settled_leaf()).unwrap();
    }
    let mut header = BlockHeader {
        height: head.map_or(1, |h| h.height + 1),
        prev_hash: head.map_or_else(|| genesis(128, 1).digest(), BlockHeader::hash),
        tx_root: tx_root(&ids),
        invoice_root,
        settled_root: settled.root(),
        time_ms,
        proposer: 0,
        signature: [0; 64],
    };
    header.sign(&key(REGULATOR));
    Block {
        header,
        transactions,
    }
}

fn prove_with(
    patient: &Patient,
    path: zkclaim_circuits::tree::MerklePath,
    insurer: u32,
    rng: &mut StdRng,
) -> ClaimPackage {
    let witness = ClaimWitness {
        sk: patient.sk.clone(),
        invoice: patient.invoice.clone(),
        path,
        policy: sample::policy(rng, insurer),
    };
    prove(params(), witness, rng).unwrap()
}

fn voided_chain(rng: &mut StdRng) -> (Chain, Patient) {
    let patient = Patient::new(rng);
    let store = Arc::new(MemoryStore::new());
    let mut tree = IncrementalTree::new(SHAPE.depth);
    tree.append(patient.commitment()).unwrap();
    tree.append(Fr::from(5u64)).unwrap();
    let b1 = block(
        None,
        1_000,
        tree.root(),
        vec![
            register(patient.commitment(), HOSPITAL),
            register(Fr::from(5u64), HOSPITAL_2),
        ],
    );
    let before_void = prove_with(&patient, tree.path(0).unwrap(), INSURER, rng);
    tree.set(0, Fr::from(0u64)).unwrap();
    let b2 = block(
        Some(&b1.header),
        2_000,
        tree.root(),
        vec![void(patient.commitment(), HOSPITAL)],
    );
    store.append(&b1).unwrap();
    store.append(&b2).unwrap();
    let chain = Chain {
        store,
        head: b2.header,
        before_void,
    };
    (chain, patient)
}

#[test]
fn a_root_from_before_the_void_is_accepted_only_while_younger_than_root_max_age() {
    let mut rng = StdRng::seed_from_u64(64);
    let max_age = genesis(128, 1).root_max_age_ms;
    // Settled exactly root_max_age after the void replaced the root: accepted; 1 ms later:
    // refused, by a node opening the store and by the audit alike.
    for (delay, accepted) in [(max_age, true), (max_age + 1, false)] {
        let (chain, _) = voided_chain(&mut rng);
        let root = chain.head.invoice_root;
        let b3 = block(
            Some(&chain.head),
            2_000 + delay,
            root,
            vec![settle(chain.before_void.clone(), INSURER)],
        );
        chain.store.append(&b3).unwrap();
        let g = genesis(128, 1);
        let opened = Ledger::open(chain.store.clone(), g.clone(), keys(&g), key(REGULATOR));
        let audited = audit(&*chain.store, &g, &keys(&g));
        if accepted {
            let ledger = opened.unwrap();
            assert_eq!(ledger.height(), 3);
            assert!(ledger
                .claim(chain.before_void.public_inputs.nullifier)
                .is_some());
            assert_eq!(audited.unwrap().claims, 1);
        } else {
            let expected = LedgerError::ExpiredRoot {
                age_ms: max_age + 1,
                max_age_ms: max_age,
            };
            let reason = format!("transaction 0: {expected}");
            assert_eq!(
                opened.unwrap_err(),
                LedgerError::Corrupt {
                    height: 3,
                    reason: reason.clone()
                }
            );
            let err = audited.unwrap_err();
            assert_eq!((err.height, err.reason), (3, reason));
        }
    }
}

#[test]
fn a_live_node_refuses_a_pre_void_root_once_older_than_root_max_age() {
    // The chain's blocks are long past: the void replaced the root more than root_max_age
    // before any block this node cuts now.
    let mut rng = StdRng::seed_from_u64(65);
    let (chain, patient) = voided_chain(&mut rng);
    let ledger = open(chain.store.clone(), genesis(128, 1));
    assert!(matches!(
        ledger.submit(settle(chain.before_void.clone(), INSURER)),
        Err(LedgerError::ExpiredRoot {
            max_age_ms: 600_000,
            ..
        })
    ));
    assert!(matches!(
        ledger.leaf_path(0),
        Err(LedgerError::VoidedLeaf { height: 2 })
    ));
    assert_eq!(ledger.leaf_index(patient.commitment()), Some(0));
}
