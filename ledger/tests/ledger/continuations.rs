//! Continuation claims (statement v2): later payers on an invoice, each proven against the
//! settled tree once the rank before it settled.

use crate::{auditing::RawStore, fixture::*, shared::converge};
use ark_bn254::Fr;
use rand::{rngs::StdRng, SeedableRng};
use std::{
    sync::{Arc, Barrier},
    time::Duration,
};
use zkclaim_circuits::{
    claim::{ClaimWitness, PublicInputs},
    continuation::ContinuationWitness,
    invoice, sample, settled,
    tree::{root_from_path, IncrementalTree},
    Circuit,
};
use zkclaim_ledger::{
    audit, BlockStore, ClaimStatement, Ledger, LedgerError, MemoryStore, Receipt,
    SignedTransaction, VerifyingKeys,
};
use zkclaim_prover::prove;

/// A new patient whose invoice is registered and whose primary claim settled at `INSURER`:
/// the patient, the claim's witness and its public inputs.
fn primary_settled(ledger: &Ledger, rng: &mut StdRng) -> (Patient, ClaimWitness, PublicInputs) {
    let patient = Patient::new(rng);
    ledger
        .submit(register(patient.commitment(), HOSPITAL))
        .unwrap();
    let witness = patient.witness(ledger, INSURER, rng);
    let claim = prove(params(), witness.clone(), rng).unwrap();
    ledger.submit(settle(claim.clone(), INSURER)).unwrap();
    (patient, witness, claim.public_inputs)
}

/// Submits both transactions at once, through `a` and `b`: exactly one settles, the other is
/// refused as a duplicate of it. Returns the winner's receipt.
fn race(a: &Ledger, b: &Ledger, first: &SignedTransaction, second: &SignedTransaction) -> Receipt {
    let barrier = Barrier::new(2);
    let results: Vec<_> = std::thread::scope(|s| {
        let barrier = &barrier;
        let handles = [(a, first), (b, second)].map(|(node, tx)| {
            s.spawn(move || {
                barrier.wait();
                node.submit(tx.clone())
            })
        });
        handles.map(|h| h.join().unwrap()).to_vec()
    });
    let won = results.iter().position(Result::is_ok).expect("one settles");
    let receipt = results[won].clone().unwrap();
    assert_eq!(
        results[1 - won],
        Err(LedgerError::DuplicateClaim {
            first_height: receipt.height
        })
    );
    receipt
}

#[test]
fn continuations_settle_rank_after_rank_and_replay() {
    let mut rng = StdRng::seed_from_u64(70);
    let (ledger, store) = test_ledger(128, 1);
    let (patient, w0, p0) = primary_settled(&ledger, &mut rng);
    let primary = ledger.claim(p0.nullifier).unwrap();
    assert_eq!(primary.statement.circuit(), Circuit::Primary);
    // The ledger appended the primary claim's leaf, computed from its public inputs.
    assert_eq!(ledger.settled_index(settled::primary_leaf(&p0)), Some(0));

    // Rank 1, at the second insurer.
    let w1 = patient.first_continuation(&ledger, &w0, &p0, INSURER_2, &mut rng);
    let c1 = prove_next(&w1, &mut rng);
    assert_eq!(c1.public_inputs.settled_root, ledger.settled_root());
    let r1 = ledger.submit(settle_next(c1.clone(), INSURER_2)).unwrap();
    let record = ledger.claim(c1.public_inputs.nullifier).unwrap();
    assert_eq!(
        record.statement,
        ClaimStatement::Continuation(c1.public_inputs)
    );
    assert_eq!(record.statement.circuit(), Circuit::Continuation);
    assert_eq!(
        (record.height, record.tx_index, record.insurer, record.proof),
        (r1.height, r1.tx_index, INSURER_2, c1.proof)
    );
    let header = ledger.block(r1.height).unwrap().unwrap().header;
    assert_eq!(header.settled_root, ledger.settled_root());
    assert_ne!(header.settled_root, c1.public_inputs.settled_root);
    assert_eq!(ledger.settled_index(c1.public_inputs.settled_leaf), Some(1));

    // Rank 2, back at the first insurer under another of the patient's policies.
    let w2 = patient.next_continuation(&ledger, &w1, &c1.public_inputs, INSURER, &mut rng);
    let c2 = prove_next(&w2, &mut rng);
    let r2 = ledger.submit(settle_next(c2.clone(), INSURER)).unwrap();
    let header = ledger.block(r2.height).unwrap().unwrap().header;
    assert_eq!(header.settled_root, ledger.settled_root());
    assert_eq!(ledger.settled_count(), 3);
    let at = ledger.settled_path(2).unwrap();
    assert_eq!(
        (at.index, at.root, at.height, at.later_settlements),
        (2, ledger.settled_root(), r2.height, 0)
    );
    assert_eq!(
        root_from_path(&c2.public_inputs.settled_leaf, &at.path),
        at.root
    );
    // The primary's block is hidden among the two later settlements.
    assert_eq!(ledger.settled_path(0).unwrap().later_settlements, 2);
    assert_eq!(
        ledger.settled_path(3),
        Err(LedgerError::UnknownSettledLeaf(3))
    );
    let paid: u64 = [
        p0.claim_amount,
        c1.public_inputs.claim_amount,
        c2.public_inputs.claim_amount,
    ]
    .iter()
    .sum();
    let total = invoice::total(&patient.invoice.padded_items(SHAPE.items).unwrap());
    assert!(paid <= total, "paid {paid} of {total}");

    // Both kinds replay: an audit, and a node reopening the store.
    ledger.close();
    let report = audit(&*store, ledger.genesis(), &keys(ledger.genesis())).unwrap();
    assert_eq!((report.claims, report.continuations), (3, 2));
    let reopened = open(store.clone(), ledger.genesis().clone());
    assert_eq!(reopened.settled_root(), ledger.settled_root());
    assert_eq!(reopened.settled_count(), 3);
    assert_eq!(
        reopened.claim(c2.public_inputs.nullifier),
        ledger.claim(c2.public_inputs.nullifier)
    );
}

#[test]
fn a_continuation_needs_the_previous_rank_settled() {
    let mut rng = StdRng::seed_from_u64(71);
    let (ledger, _) = test_ledger(128, 1);
    let patient = Patient::new(&mut rng);
    ledger
        .submit(register(patient.commitment(), HOSPITAL))
        .unwrap();
    let w0 = patient.witness(&ledger, INSURER, &mut rng);
    let p0 = w0.public_inputs(SHAPE).unwrap();
    // The primary claim proven but not settled: rank 1 against a settled tree of the
    // prover's making that holds its leaf.
    let mut made_up = IncrementalTree::new(SHAPE.depth);
    made_up.append(settled::primary_leaf(&p0)).unwrap();
    let policy = sample::policy(&mut rng, INSURER_2);
    let early = ContinuationWitness::after_primary(&w0, &p0, policy, made_up.path(0).unwrap());
    let early = prove_next(&early, &mut rng);
    assert_eq!(
        ledger.submit(settle_next(early, INSURER_2)),
        Err(LedgerError::StaleSettledRoot)
    );

    // The primary settles; rank 2 proven on rank 1's leaf before rank 1 settled is refused.
    ledger
        .submit(settle(
            prove(params(), w0.clone(), &mut rng).unwrap(),
            INSURER,
        ))
        .unwrap();
    let w1 = patient.first_continuation(&ledger, &w0, &p0, INSURER_2, &mut rng);
    let p1 = w1.public_inputs(SHAPE).unwrap();
    let mut ahead = IncrementalTree::new(SHAPE.depth);
    ahead.append(settled::primary_leaf(&p0)).unwrap();
    ahead.append(p1.settled_leaf).unwrap();
    let policy = sample::policy(&mut rng, INSURER);
    let w2 = w1.next(&p1, policy, ahead.path(1).unwrap());
    let c2 = prove_next(&w2, &mut rng);
    assert_eq!(
        ledger.submit(settle_next(c2.clone(), INSURER)),
        Err(LedgerError::StaleSettledRoot)
    );
    assert_eq!(ledger.claim(p1.nullifier), None);

    // Once rank 1 settles, that root is the ledger's, and rank 2 settles.
    ledger
        .submit(settle_next(prove_next(&w1, &mut rng), INSURER_2))
        .unwrap();
    assert_eq!(ledger.settled_root(), ahead.root());
    ledger.submit(settle_next(c2, INSURER)).unwrap();
}

#[test]
fn a_continuation_rank_settles_once_also_within_one_block() {
    let mut rng = StdRng::seed_from_u64(72);
    // Submissions within 200 ms share a block.
    let (ledger, _) = test_ledger(128, 200);
    let (patient, w0, p0) = primary_settled(&ledger, &mut rng);
    let w1 = patient.first_continuation(&ledger, &w0, &p0, INSURER_2, &mut rng);
    // Two proofs of the same rank: other bytes, the same nullifier.
    let (a, b) = (prove_next(&w1, &mut rng), prove_next(&w1, &mut rng));
    assert_ne!(a.proof, b.proof);
    let first = race(
        &ledger,
        &ledger,
        &settle_next(a, INSURER_2),
        &settle_next(b, INSURER_2),
    );
    // Later, the same rank under another payer's policy, at another insurer.
    let other = patient.first_continuation(&ledger, &w0, &p0, INSURER, &mut rng);
    assert_eq!(
        ledger.submit(settle_next(prove_next(&other, &mut rng), INSURER)),
        Err(LedgerError::DuplicateClaim {
            first_height: first.height
        })
    );
    assert_eq!(ledger.settled_count(), 2);
}

#[test]
fn the_same_rank_at_two_insurers_at_once_settles_once_on_a_shared_log() {
    let mut rng = StdRng::seed_from_u64(73);
    let genesis = genesis(128, 1);
    let [store_a, store_b] = shared_stores();
    let node = |store: Arc<dyn BlockStore>, proposer| {
        Ledger::open(store, genesis.clone(), keys(&genesis), key(proposer)).unwrap()
    };
    let (a, b) = (node(store_a.clone(), REGULATOR), node(store_b, INSURER));
    let (patient, w0, p0) = primary_settled(&a, &mut rng);
    converge(&a, &b);
    let at_a = patient.first_continuation(&a, &w0, &p0, INSURER_2, &mut rng);
    let at_b = patient.first_continuation(&b, &w0, &p0, INSURER, &mut rng);
    let first = settle_next(prove_next(&at_a, &mut rng), INSURER_2);
    let second = settle_next(prove_next(&at_b, &mut rng), INSURER);
    let receipt = race(&a, &b, &first, &second);
    converge(&a, &b);
    let nullifier = at_a.public_inputs(SHAPE).unwrap().nullifier;
    let record = a.claim(nullifier).unwrap();
    assert_eq!(b.claim(nullifier), Some(record.clone()));
    assert_eq!(record.height, receipt.height);
    assert_eq!((a.settled_count(), b.settled_count()), (2, 2));
    a.close();
    b.close();
    let report = audit(&*store_a, &genesis, &keys(&genesis)).unwrap();
    assert_eq!((report.claims, report.continuations), (2, 1));
}

#[test]
fn a_continuation_is_settled_by_its_insurer_with_a_valid_proof() {
    let mut rng = StdRng::seed_from_u64(74);
    let (ledger, _) = test_ledger(128, 1);
    let (patient, w0, p0) = primary_settled(&ledger, &mut rng);
    let w1 = patient.first_continuation(&ledger, &w0, &p0, INSURER_2, &mut rng);
    let c1 = prove_next(&w1, &mut rng);
    assert_eq!(
        ledger.submit(settle_next(c1.clone(), INSURER)),
        Err(LedgerError::WrongInsurer {
            signer: INSURER,
            insurer_id: INSURER_2
        })
    );
    let tampered: [fn(&mut zkclaim_verifier::ContinuationPackage); 3] = [
        |c| c.public_inputs.claim_amount += 1,
        |c| c.public_inputs.settled_leaf += Fr::from(1u64),
        |c| std::mem::swap(&mut c.proof.a, &mut c.proof.c),
    ];
    for (i, tamper) in tampered.iter().enumerate() {
        let mut claim = c1.clone();
        tamper(&mut claim);
        assert_eq!(
            ledger.submit(settle_next(claim, INSURER_2)),
            Err(LedgerError::InvalidProof),
            "tamper {i}"
        );
    }
    assert_eq!(ledger.claim(c1.public_inputs.nullifier), None);
    ledger.submit(settle_next(c1, INSURER_2)).unwrap();
}

#[test]
fn a_settled_root_replaced_more_than_root_max_age_ago_is_refused() {
    let mut rng = StdRng::seed_from_u64(75);
    let mut genesis = genesis(128, 1);
    genesis.root_max_age_ms = 300;
    let ledger = open(fresh_store(), genesis);
    let (patient, w0, p0) = primary_settled(&ledger, &mut rng);
    // Another claim settles: a later settled root replaces the one rank 1 proves against
    // (the invoice root stays current).
    let other = Patient::new(&mut rng);
    ledger
        .submit(register(other.commitment(), HOSPITAL))
        .unwrap();
    let w1 = patient.first_continuation(&ledger, &w0, &p0, INSURER_2, &mut rng);
    let c1 = prove_next(&w1, &mut rng);
    let root_before = ledger.settled_root();
    ledger
        .submit(settle(other.claim(&ledger, INSURER, &mut rng), INSURER))
        .unwrap();
    assert!(ledger.settled_roots().contains(&root_before));
    std::thread::sleep(Duration::from_millis(400));
    assert!(!ledger.settled_roots().contains(&root_before));
    assert!(ledger.roots().contains(&c1.public_inputs.invoice_root));
    assert!(matches!(
        ledger.submit(settle_next(c1, INSURER_2)),
        Err(LedgerError::ExpiredSettledRoot { age_ms, max_age_ms: 300 }) if age_ms > 300
    ));
    // Proven again against the current roots, it settles.
    let w1 = patient.first_continuation(&ledger, &w0, &p0, INSURER_2, &mut rng);
    ledger
        .submit(settle_next(prove_next(&w1, &mut rng), INSURER_2))
        .unwrap();
}

#[test]
fn a_genesis_without_a_continuation_key_refuses_continuations() {
    let mut rng = StdRng::seed_from_u64(76);
    let unpinned = genesis_for(params().verifying_key.digest(), 128, 1);
    let ledger = open(fresh_store(), unpinned.clone());
    let (patient, w0, p0) = primary_settled(&ledger, &mut rng);
    let w1 = patient.first_continuation(&ledger, &w0, &p0, INSURER_2, &mut rng);
    let err = ledger
        .submit(settle_next(prove_next(&w1, &mut rng), INSURER_2))
        .unwrap_err();
    assert_eq!(err, LedgerError::NoContinuationKey);
    assert!(
        err.to_string().contains("pins no continuation circuit key"),
        "{err}"
    );

    // The keys match what the genesis pins, circuit by circuit.
    let primary = || params().prepared.clone();
    let continuation = || continuation_params().prepared.clone();
    assert_eq!(
        VerifyingKeys::new(&unpinned, primary(), Some(continuation())).unwrap_err(),
        LedgerError::NoContinuationKey
    );
    let pinned = genesis(128, 1);
    let refusals = [
        (
            None,
            LedgerError::MissingVerifyingKey(Circuit::Continuation),
        ),
        (
            Some((primary(), primary())),
            LedgerError::WrongVerifyingKey(Circuit::Continuation),
        ),
        (
            Some((continuation(), continuation())),
            LedgerError::WrongVerifyingKey(Circuit::Primary),
        ),
    ];
    for (keys, expected) in refusals {
        let (first, second) = match keys {
            Some((first, second)) => (first, Some(second)),
            None => (primary(), None),
        };
        assert_eq!(
            VerifyingKeys::new(&pinned, first, second).unwrap_err(),
            expected
        );
    }
}

#[test]
fn replay_refuses_a_format_1_block_a_wrong_settled_root_and_a_bad_continuation() {
    let mut rng = StdRng::seed_from_u64(77);
    let (ledger, store) = memory_ledger(128, 1);
    let (patient, w0, p0) = primary_settled(&ledger, &mut rng);
    let w1 = patient.first_continuation(&ledger, &w0, &p0, INSURER_2, &mut rng);
    let c1 = prove_next(&w1, &mut rng);
    let genesis = ledger.genesis().clone();
    let head = ledger.block(ledger.height()).unwrap().unwrap().header;
    ledger.close();
    let height = head.height + 1;
    let replayed = |store: Arc<MemoryStore>| {
        let audited = audit(&*store, &genesis, &keys(&genesis)).unwrap_err();
        let opened = Ledger::open(store, genesis.clone(), keys(&genesis), key(REGULATOR));
        assert!(
            matches!(&opened, Err(LedgerError::Corrupt { height: h, reason }) if *h == audited.height && *reason == audited.reason),
            "{opened:?}"
        );
        audited
    };
    let copy = || {
        let copy = Arc::new(MemoryStore::new());
        for h in 1..height {
            copy.append(&store.block(h).unwrap().unwrap()).unwrap();
        }
        copy
    };

    // The continuation is valid, but the header's settled root is not the tree's after it.
    let wrong = copy();
    wrong
        .append(&forged(
            &head,
            height,
            &key(REGULATOR),
            vec![settle_next(c1.clone(), INSURER_2)],
            Edit::BeforeSigning,
            |h| h.settled_root += Fr::from(1u64),
        ))
        .unwrap();
    let err = replayed(wrong);
    assert_eq!(err.height, height);
    assert_eq!(
        err.reason,
        "settled_root is not the settled-tree root after the block"
    );

    // A tampered continuation after a valid registration: its proof fails the
    // continuation batch, named by its place in the block.
    let mut tampered = c1.clone();
    tampered.public_inputs.claim_amount += 1;
    let bad = copy();
    bad.append(&forged(
        &head,
        height,
        &key(REGULATOR),
        vec![
            register(Fr::from(5u64), HOSPITAL),
            settle_next(tampered, INSURER_2),
        ],
        Edit::BeforeSigning,
        |_| {},
    ))
    .unwrap();
    let err = audit(&*bad, &genesis, &keys(&genesis)).unwrap_err();
    assert_eq!(
        (err.height, err.reason.as_str()),
        (height, "transaction 1: invalid proof")
    );

    // A block of format 1, from before the settled tree, is refused by name.
    let mut old = store.block(1).unwrap().unwrap().to_bytes();
    old[0] = 1;
    let err = audit(&RawStore(vec![old]), &genesis, &keys(&genesis)).unwrap_err();
    assert_eq!(err.height, 1);
    assert!(err.reason.contains("block format 1"), "{err}");
    assert!(err.reason.contains("format 2"), "{err}");
}
