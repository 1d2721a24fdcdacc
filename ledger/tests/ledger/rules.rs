//! Every refusal of the ledger rules, and that a refusal changes nothing.

use crate::fixture::*;
use ark_bn254::Fr;
use rand::{rngs::StdRng, SeedableRng};
use zkclaim_circuits::Circuit;
use zkclaim_ledger::{Genesis, Ledger, LedgerError, MemberKey, Role, Transaction, VerifyingKeys};

#[test]
fn only_hospitals_register_and_only_insurers_settle() {
    let mut rng = StdRng::seed_from_u64(20);
    let (ledger, _) = test_ledger(128, 1);
    let patient = Patient::new(&mut rng);
    for (member, role) in [(INSURER, Role::Insurer), (REGULATOR, Role::Regulator)] {
        assert_eq!(
            ledger.submit(register(patient.commitment(), member)),
            Err(LedgerError::WrongRole {
                member,
                role,
                needed: Role::Hospital
            })
        );
    }
    ledger
        .submit(register(patient.commitment(), HOSPITAL))
        .unwrap();
    let claim = patient.claim(&ledger, INSURER, &mut rng);
    for (member, role) in [(HOSPITAL, Role::Hospital), (REGULATOR, Role::Regulator)] {
        assert_eq!(
            ledger.submit(settle(claim.clone(), member)),
            Err(LedgerError::WrongRole {
                member,
                role,
                needed: Role::Insurer
            })
        );
    }
    ledger.submit(settle(claim, INSURER)).unwrap();
}

/// Statement v2: found in a review, member 11 settled (and so spent) a claim made under
/// member 10's policy, burning the patient's claim there. The claim names its insurer and
/// only that member may settle it; the refusal spends nothing.
#[test]
fn only_the_claims_own_insurer_settles_it() {
    let mut rng = StdRng::seed_from_u64(21);
    let (ledger, _) = test_ledger(128, 1);
    let patient = Patient::new(&mut rng);
    ledger
        .submit(register(patient.commitment(), HOSPITAL))
        .unwrap();
    let claim = patient.claim(&ledger, INSURER, &mut rng);
    assert_eq!(claim.public_inputs.insurer_id, INSURER);
    assert_eq!(
        ledger.submit(settle(claim.clone(), INSURER_2)),
        Err(LedgerError::WrongInsurer {
            signer: INSURER_2,
            insurer_id: INSURER
        })
    );
    assert_eq!(ledger.claim(patient.nullifier()), None);
    let receipt = ledger.submit(settle(claim, INSURER)).unwrap();
    assert_eq!(
        ledger.claim(patient.nullifier()).unwrap().height,
        receipt.height
    );
}

#[test]
fn an_unknown_signer_is_refused() {
    let (ledger, _) = test_ledger(128, 1);
    let stranger = MemberKey::generate(99, &mut StdRng::seed_from_u64(21));
    let tx = Transaction::RegisterInvoice {
        commitment: Fr::from(1u64),
    }
    .sign(CHAIN, &stranger);
    assert_eq!(ledger.submit(tx), Err(LedgerError::UnknownMember(99)));
}

#[test]
fn a_bad_signature_is_refused() {
    let (ledger, _) = test_ledger(128, 1);
    let tx = register(Fr::from(1u64), HOSPITAL);
    let mut flipped = tx.clone();
    flipped.signature[10] ^= 1;
    let mut other_signer = tx.clone();
    other_signer.signer = HOSPITAL_2;
    let other_chain = Transaction::RegisterInvoice {
        commitment: Fr::from(1u64),
    }
    .sign("another-chain", &key(HOSPITAL));
    let mut other_body = tx.clone();
    other_body.tx = Transaction::RegisterInvoice {
        commitment: Fr::from(2u64),
    };
    for bad in [flipped, other_signer, other_chain, other_body] {
        assert_eq!(ledger.submit(bad), Err(LedgerError::BadSignature));
    }
    ledger.submit(tx).unwrap();
}

#[test]
fn a_tampered_public_input_is_an_invalid_proof() {
    let mut rng = StdRng::seed_from_u64(22);
    let (ledger, _) = test_ledger(128, 1);
    let patient = Patient::new(&mut rng);
    ledger
        .submit(register(patient.commitment(), HOSPITAL))
        .unwrap();
    let claim = patient.claim(&ledger, INSURER, &mut rng);
    let tampers: [fn(&mut zkclaim_circuits::claim::PublicInputs); 4] = [
        |p| p.claim_amount += 1,
        |p| p.nullifier += Fr::from(1u64),
        |p| p.claimant_tag += Fr::from(1u64),
        |p| p.policy_hash += Fr::from(1u64),
    ];
    for (i, tamper) in tampers.iter().enumerate() {
        let mut forged = claim.clone();
        tamper(&mut forged.public_inputs);
        // Signed by a genuine insurer: only the proof check can refuse it.
        assert_eq!(
            ledger.submit(settle(forged, INSURER)),
            Err(LedgerError::InvalidProof),
            "input {i}"
        );
    }
    let mut swapped = claim.clone();
    swapped.proof.a = claim.proof.c;
    assert_eq!(
        ledger.submit(settle(swapped, INSURER)),
        Err(LedgerError::InvalidProof)
    );
    ledger.submit(settle(claim, INSURER)).unwrap();
}

#[test]
fn claims_must_prove_against_a_root_young_enough() {
    // Statement v2: a root is accepted for root_max_age_ms of block time after a later root
    // replaced it; the current root never expires.
    let mut rng = StdRng::seed_from_u64(23);
    let mut g = genesis(128, 1);
    g.root_max_age_ms = 400;
    let ledger = open(fresh_store(), g);
    let (a, b) = (Patient::new(&mut rng), Patient::new(&mut rng));
    ledger.submit(register(a.commitment(), HOSPITAL)).unwrap();
    ledger.submit(register(b.commitment(), HOSPITAL)).unwrap();
    let r2 = ledger.root();
    let claim_a = a.claim(&ledger, INSURER, &mut rng);
    let claim_b = b.claim(&ledger, INSURER, &mut rng);
    // Quiet for longer than root_max_age: r2 is still current, so still accepted.
    std::thread::sleep(std::time::Duration::from_millis(450));
    assert!(ledger.roots().contains(&r2));
    ledger.submit(settle(claim_a, INSURER)).unwrap();
    ledger.submit(register(Fr::from(5u64), HOSPITAL)).unwrap();
    // Replaced just now: young enough. A block of claims alone moves nothing.
    assert_eq!(ledger.roots()[..], [r2, ledger.root()][..]);
    std::thread::sleep(std::time::Duration::from_millis(450));
    assert_eq!(ledger.roots(), vec![ledger.root()]);
    match ledger.submit(settle(claim_b, INSURER)) {
        Err(LedgerError::ExpiredRoot { age_ms, max_age_ms }) => {
            assert!(age_ms > 400, "{age_ms}");
            assert_eq!(max_age_ms, 400);
        }
        other => panic!("{other:?}"),
    }
    // The refusal spent nothing: proved again against the current root, it is accepted.
    let fresh = b.claim(&ledger, INSURER, &mut rng);
    ledger.submit(settle(fresh, INSURER)).unwrap();
}

#[test]
fn k_only_bounds_memory_and_a_root_it_dropped_is_unknown() {
    // K = 3 holds the roots of two hospitals' single block each per root_max_age.
    let mut g = genesis(3, 1);
    g.root_max_age_ms = 50;
    let ledger = open(fresh_store(), g);
    let empty = ledger.root();
    assert_eq!(ledger.roots(), vec![empty]);
    ledger.submit(register(Fr::from(1u64), HOSPITAL)).unwrap();
    ledger.submit(register(Fr::from(2u64), HOSPITAL_2)).unwrap();
    // Each hospital spent its quota of one block per 50 ms.
    assert!(matches!(
        ledger.submit(register(Fr::from(3u64), HOSPITAL)),
        Err(LedgerError::RateLimited { member: HOSPITAL, quota: 1, retry_after_ms }) if retry_after_ms <= 51
    ));
    std::thread::sleep(std::time::Duration::from_millis(60));
    ledger.submit(register(Fr::from(3u64), HOSPITAL)).unwrap();
    assert!(!ledger.roots().contains(&empty));
}

#[test]
fn a_commitment_is_registered_once() {
    let (ledger, _) = test_ledger(128, 200);
    let c = Fr::from(42u64);
    // Twice in one block (from two hospitals, so the transactions differ) ...
    let results: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = [HOSPITAL, HOSPITAL_2]
            .map(|h| {
                let ledger = &ledger;
                s.spawn(move || ledger.submit(register(c, h)))
            })
            .into_iter()
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    assert!(results.contains(&Err(LedgerError::DuplicateCommitment)));
    // ... and again later, by the hospital that lost; the winner's own retry gets its
    // receipt back.
    let (winner, loser) = if results[0].is_ok() {
        (HOSPITAL, HOSPITAL_2)
    } else {
        (HOSPITAL_2, HOSPITAL)
    };
    assert_eq!(
        ledger.submit(register(c, loser)),
        Err(LedgerError::DuplicateCommitment)
    );
    let won = results.iter().find_map(|r| r.clone().ok()).unwrap();
    assert_eq!(ledger.submit(register(c, winner)), Ok(won));
    assert_eq!(ledger.invoice_count(), 1);
}

#[test]
fn a_full_tree_refuses_registrations() {
    let mut genesis = genesis(128, 1);
    genesis.shape.depth = 2;
    let ledger = open(fresh_store(), genesis);
    for i in 1..=4u64 {
        ledger.submit(register(Fr::from(i), HOSPITAL)).unwrap();
    }
    assert_eq!(
        ledger.submit(register(Fr::from(5u64), HOSPITAL)),
        Err(LedgerError::TreeFull)
    );
    assert_eq!(ledger.invoice_count(), 4);
}

#[test]
fn refused_transactions_change_nothing() {
    let mut rng = StdRng::seed_from_u64(24);
    let (ledger, store) = test_ledger(128, 1);
    let patient = Patient::new(&mut rng);
    ledger
        .submit(register(patient.commitment(), HOSPITAL))
        .unwrap();
    let claim = patient.claim(&ledger, INSURER, &mut rng);
    let before = (
        ledger.height(),
        ledger.root(),
        ledger.roots(),
        ledger.invoice_count(),
        store.last_height().unwrap(),
    );
    let mut forged = claim.clone();
    forged.public_inputs.claim_amount += 1;
    let refused = [
        register(patient.commitment(), HOSPITAL_2),
        register(Fr::from(9u64), INSURER),
        settle(claim.clone(), HOSPITAL),
        settle(forged, INSURER),
    ];
    for tx in refused {
        assert!(ledger.submit(tx).is_err());
    }
    let after = (
        ledger.height(),
        ledger.root(),
        ledger.roots(),
        ledger.invoice_count(),
        store.last_height().unwrap(),
    );
    assert_eq!(after, before);
    assert_eq!(ledger.claim(patient.nullifier()), None);
}

#[test]
fn open_checks_the_genesis_the_verifying_key_and_the_proposer() {
    let store = fresh_store;
    let vk = || keys(&genesis(128, 1));
    let mut pinned_elsewhere = genesis(128, 1);
    pinned_elsewhere.verifying_key_digest[0] ^= 1;
    assert_eq!(
        VerifyingKeys::new(&pinned_elsewhere, params().prepared.clone(), None).unwrap_err(),
        LedgerError::WrongVerifyingKey(Circuit::Primary)
    );
    assert_eq!(
        Ledger::open(store(), pinned_elsewhere, vk(), key(REGULATOR)).unwrap_err(),
        LedgerError::WrongVerifyingKey(Circuit::Primary)
    );
    let impostor = MemberKey::generate(REGULATOR, &mut StdRng::seed_from_u64(25));
    assert_eq!(
        Ledger::open(store(), genesis(128, 1), vk(), impostor).unwrap_err(),
        LedgerError::ProposerKeyMismatch(REGULATOR)
    );
    let stranger = MemberKey::generate(99, &mut StdRng::seed_from_u64(26));
    assert_eq!(
        Ledger::open(store(), genesis(128, 1), vk(), stranger).unwrap_err(),
        LedgerError::UnknownMember(99)
    );
    let mut twice: Genesis = genesis(128, 1);
    twice.members[1].id = twice.members[0].id;
    assert!(matches!(
        Ledger::open(store(), twice, vk(), key(REGULATOR)),
        Err(LedgerError::InvalidGenesis(_))
    ));
}

#[test]
fn a_closed_ledger_refuses_submissions() {
    let (ledger, _) = test_ledger(128, 1);
    ledger.submit(register(Fr::from(1u64), HOSPITAL)).unwrap();
    ledger.close();
    assert_eq!(
        ledger.submit(register(Fr::from(2u64), HOSPITAL)),
        Err(LedgerError::Closed)
    );
    ledger.close();
    assert_eq!(ledger.height(), 1);
}
