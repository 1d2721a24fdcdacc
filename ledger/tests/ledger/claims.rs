//! Registering invoices and settling claims, alone and under contention.

use crate::fixture::*;
use ark_bn254::{Bn254, Fr};
use ark_groth16::Groth16;
use ark_serialize::CanonicalDeserialize;
use rand::{rngs::StdRng, SeedableRng};
use std::sync::Barrier;
use zkclaim_circuits::Circuit;
use zkclaim_ledger::{audit, ClaimStatement, LedgerError};
use zkclaim_verifier::{ClaimPackage, Proof};

/// The same claim with a fresh-looking proof: Groth16 proofs are malleable, which is why
/// the ledger keys claims by nullifier.
fn rerandomize(claim: &ClaimPackage, rng: &mut StdRng) -> ClaimPackage {
    let vk = ark_groth16::VerifyingKey::<Bn254>::deserialize_compressed(
        &params().verifying_key.to_bytes()[..],
    )
    .unwrap();
    let p = &claim.proof;
    let proof = ark_groth16::Proof::<Bn254> {
        a: p.a,
        b: p.b,
        c: p.c,
    };
    let re = Groth16::<Bn254>::rerandomize_proof(&vk, &proof, rng);
    ClaimPackage {
        public_inputs: claim.public_inputs,
        proof: Proof {
            a: re.a,
            b: re.b,
            c: re.c,
        },
    }
}

#[test]
fn a_registered_invoice_is_claimed_and_the_claim_recorded() {
    let mut rng = StdRng::seed_from_u64(10);
    let (ledger, store) = test_ledger(128, 5);
    let patient = Patient::new(&mut rng);
    ledger.submit(register(Fr::from(11u64), HOSPITAL)).unwrap();
    ledger
        .submit(register(patient.commitment(), HOSPITAL))
        .unwrap();
    ledger
        .submit(register(Fr::from(12u64), HOSPITAL_2))
        .unwrap();
    assert_eq!(ledger.invoice_count(), 3);
    assert_eq!(ledger.leaf_index(patient.commitment()), Some(1));

    let claim = patient.claim(&ledger, INSURER, &mut rng);
    assert_eq!(claim.public_inputs.claim_amount, 7_760);
    let tx = settle(claim.clone(), INSURER);
    let receipt = ledger.submit(tx.clone()).unwrap();
    assert_eq!(receipt.height, ledger.height());
    assert_eq!(receipt.tx_id, tx.id(CHAIN));

    let block = store.block(receipt.height).unwrap().unwrap();
    assert_eq!(block.header.hash(), receipt.block_hash);
    assert_eq!(block.transactions[receipt.tx_index as usize], tx);
    assert_eq!(store.last_height().unwrap(), receipt.height);

    let record = ledger.claim(patient.nullifier()).expect("claim recorded");
    assert_eq!(record.height, receipt.height);
    assert_eq!(record.tx_index, receipt.tx_index);
    assert_eq!(record.insurer, INSURER);
    assert_eq!(
        record.statement,
        ClaimStatement::Primary(claim.public_inputs)
    );
    assert_eq!(record.statement.circuit(), Circuit::Primary);
    assert_eq!(record.proof, claim.proof);
    assert_eq!(ledger.claim(Fr::from(5u64)), None);

    let report = audit(&*store, ledger.genesis(), &keys(ledger.genesis())).unwrap();
    assert_eq!(
        (report.blocks, report.invoices, report.claims),
        (ledger.height(), 3, 1)
    );
}

#[test]
fn a_second_claim_of_an_invoice_is_refused_with_the_first_height() {
    let mut rng = StdRng::seed_from_u64(11);
    let (ledger, _) = test_ledger(128, 5);
    let patient = Patient::new(&mut rng);
    ledger
        .submit(register(patient.commitment(), HOSPITAL))
        .unwrap();
    let first_tx = settle(patient.claim(&ledger, INSURER, &mut rng), INSURER);
    let first = ledger.submit(first_tx.clone()).unwrap();
    // Move the root on, so the second claims prove against a newer one.
    ledger.submit(register(Fr::from(77u64), HOSPITAL)).unwrap();

    let again = settle(patient.claim(&ledger, INSURER, &mut rng), INSURER);
    let elsewhere = settle(patient.claim(&ledger, INSURER_2, &mut rng), INSURER_2);
    assert_ne!(again, first_tx);
    for tx in [again, elsewhere] {
        assert_eq!(
            ledger.submit(tx),
            Err(LedgerError::DuplicateClaim {
                first_height: first.height
            })
        );
    }
    assert_eq!(ledger.claim(patient.nullifier()).unwrap().insurer, INSURER);
    // The very same transaction again is a retry (its acknowledgement was lost): it gets
    // the first receipt, and nothing is written.
    let height = ledger.height();
    assert_eq!(ledger.submit(first_tx), Ok(first));
    assert_eq!(ledger.height(), height);
}

#[test]
fn retries_submitted_together_share_one_slot() {
    let mut rng = StdRng::seed_from_u64(13);
    let (ledger, _) = test_ledger(128, 200);
    let patient = Patient::new(&mut rng);
    ledger
        .submit(register(patient.commitment(), HOSPITAL))
        .unwrap();
    let tx = settle(patient.claim(&ledger, INSURER, &mut rng), INSURER);
    let receipts: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let (ledger, tx) = (&ledger, tx.clone());
                s.spawn(move || ledger.submit(tx))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let first = receipts[0].clone().unwrap();
    assert!(
        receipts.iter().all(|r| r.as_ref() == Ok(&first)),
        "{receipts:?}"
    );
    assert_eq!(
        ledger.block(first.height).unwrap().unwrap().transactions,
        [tx]
    );
}

#[test]
fn of_64_concurrent_settlements_of_one_nullifier_exactly_one_is_accepted() {
    let mut rng = StdRng::seed_from_u64(12);
    let (ledger, _) = test_ledger(128, 20);
    let patient = Patient::new(&mut rng);
    ledger
        .submit(register(patient.commitment(), HOSPITAL))
        .unwrap();
    // One claim per insurer, each re-randomized into 32 distinct valid proofs.
    let claims = [INSURER, INSURER_2].map(|i| (i, patient.claim(&ledger, i, &mut rng)));
    let txs: Vec<_> = (0..64)
        .map(|i| {
            let (insurer, claim) = &claims[i % 2];
            settle(rerandomize(claim, &mut rng), *insurer)
        })
        .collect();
    let mut distinct = txs.clone();
    distinct.sort_by_key(|t| t.id(CHAIN));
    distinct.dedup();
    assert_eq!(distinct.len(), 64);
    let height = ledger.height();
    let barrier = Barrier::new(txs.len());
    let results: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = txs
            .into_iter()
            .map(|tx| {
                let (ledger, barrier) = (&ledger, &barrier);
                s.spawn(move || {
                    barrier.wait();
                    ledger.submit(tx)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let accepted: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(accepted.len(), 1, "{results:?}");
    let first_height = accepted[0].height;
    assert_eq!(first_height, height + 1);
    let duplicates = results
        .iter()
        .filter(|r| **r == Err(LedgerError::DuplicateClaim { first_height }))
        .count();
    assert_eq!(duplicates, 63, "{results:?}");
    assert_eq!(ledger.height(), height + 1, "refusals write no block");
}

#[test]
fn transactions_arriving_together_share_one_block() {
    let (ledger, store) = test_ledger(128, 1000);
    let barrier = Barrier::new(8);
    let receipts: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8u64)
            .map(|i| {
                let (ledger, barrier) = (&ledger, &barrier);
                s.spawn(move || {
                    barrier.wait();
                    ledger
                        .submit(register(Fr::from(100 + i), HOSPITAL))
                        .unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(receipts.iter().all(|r| r.height == 1), "{receipts:?}");
    let mut indices: Vec<u32> = receipts.iter().map(|r| r.tx_index).collect();
    indices.sort();
    assert_eq!(indices, (0..8).collect::<Vec<_>>());
    let block = store.block(1).unwrap().unwrap();
    assert_eq!(block.transactions.len(), 8);
    for r in &receipts {
        assert_eq!(block.transactions[r.tx_index as usize].id(CHAIN), r.tx_id);
    }
    assert_eq!(ledger.invoice_count(), 8);
}

#[test]
fn a_bad_proof_among_claims_submitted_together_refuses_only_its_claim() {
    let mut rng = StdRng::seed_from_u64(14);
    let (ledger, store) = test_ledger(128, 20);
    let patients: Vec<Patient> = (0..6).map(|_| Patient::new(&mut rng)).collect();
    for p in &patients {
        ledger.submit(register(p.commitment(), HOSPITAL)).unwrap();
    }
    const BAD: usize = 3;
    let txs: Vec<_> = patients
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut claim = p.claim(&ledger, INSURER, &mut rng);
            if i == BAD {
                claim.public_inputs.claim_amount += 1;
            }
            settle(claim, INSURER)
        })
        .collect();
    let barrier = Barrier::new(txs.len());
    let results: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = txs
            .iter()
            .map(|tx| {
                let (ledger, barrier, store) = (&ledger, &barrier, &store);
                s.spawn(move || {
                    barrier.wait();
                    let result = ledger.submit(tx.clone());
                    // Answered only once its block is in the store.
                    if let Ok(r) = &result {
                        let block = store.block(r.height).unwrap().expect("durable");
                        assert_eq!(block.transactions[r.tx_index as usize], *tx);
                    }
                    result
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (i, (result, p)) in results.iter().zip(&patients).enumerate() {
        if i == BAD {
            assert_eq!(*result, Err(LedgerError::InvalidProof));
            assert!(ledger.claim(p.nullifier()).is_none());
        } else {
            assert!(result.is_ok(), "claim {i}: {result:?}");
            assert!(ledger.claim(p.nullifier()).is_some(), "claim {i}");
        }
    }
}
