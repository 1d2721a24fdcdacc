//! Audit: every stored byte is covered, and member-signed blocks that break a rule are named.

use crate::fixture::*;
use ark_bn254::Fr;
use rand::{rngs::StdRng, SeedableRng};
use std::sync::Arc;
use zkclaim_ledger::{
    audit, blocks, Block, BlockHeader, BlockStore, ClaimStatement, Ledger, LedgerError, MemberKey,
    MemoryStore, SignedTransaction, Transaction,
};

/// Stored blocks as raw bytes, to be corrupted at will.
pub(crate) struct RawStore(pub(crate) Vec<Vec<u8>>);

impl BlockStore for RawStore {
    fn append(&self, _: &Block) -> Result<(), LedgerError> {
        unreachable!("audits only read")
    }

    fn block(&self, height: u64) -> Result<Option<Block>, LedgerError> {
        let Some(bytes) = self.0.get(height as usize - 1) else {
            return Ok(None);
        };
        Block::from_bytes(bytes)
            .map(Some)
            .map_err(|e| LedgerError::Corrupt {
                height,
                reason: e.to_string(),
            })
    }

    fn last_height(&self) -> Result<u64, LedgerError> {
        Ok(self.0.len() as u64)
    }
}

/// Two registrations, a claim with a registration, a registration: three blocks when each
/// pair lands within the batching window, as it does unless the machine stalls.
fn chain() -> (Arc<MemoryStore>, Ledger, Patient) {
    let mut rng = StdRng::seed_from_u64(40);
    let (ledger, store) = memory_ledger(128, 50);
    let patient = Patient::new(&mut rng);
    std::thread::scope(|s| {
        let a = s.spawn(|| ledger.submit(register(patient.commitment(), HOSPITAL)));
        let b = s.spawn(|| ledger.submit(register(Fr::from(7u64), HOSPITAL_2)));
        a.join().unwrap().unwrap();
        b.join().unwrap().unwrap();
    });
    let claim = settle(patient.claim(&ledger, INSURER, &mut rng), INSURER);
    std::thread::scope(|s| {
        let a = s.spawn(|| ledger.submit(claim));
        let b = s.spawn(|| ledger.submit(register(Fr::from(8u64), HOSPITAL)));
        a.join().unwrap().unwrap();
        b.join().unwrap().unwrap();
    });
    ledger.submit(register(Fr::from(9u64), HOSPITAL)).unwrap();
    (store, ledger, patient)
}

#[test]
fn audit_counts_a_sound_chain() {
    let (store, ledger, _) = chain();
    let report = audit(&*store, ledger.genesis(), &keys(ledger.genesis())).unwrap();
    assert_eq!(
        (report.blocks, report.invoices, report.claims),
        (ledger.height(), 4, 1)
    );
    let stored: usize = blocks(&*store).map(|b| b.unwrap().transactions.len()).sum();
    assert_eq!(stored, 5);
    // The node's own audit finds the same, and audits again once the chain has grown.
    assert_eq!(ledger.audit(), (ledger.height(), Ok(report)));
    ledger.submit(register(Fr::from(10u64), HOSPITAL)).unwrap();
    let (height, grown) = ledger.audit();
    assert_eq!((height, grown.unwrap().invoices), (ledger.height(), 5));
}

#[test]
fn every_single_bit_flip_in_every_block_fails_audit_at_that_block() {
    let (store, ledger, _) = chain();
    let raw: Vec<Vec<u8>> = blocks(&*store).map(|b| b.unwrap().to_bytes()).collect();
    let mut flips = 0;
    for (i, block) in raw.iter().enumerate() {
        for at in 0..block.len() {
            let mut corrupted = raw.clone();
            corrupted[i][at] ^= 1 << (at % 8);
            let err = audit(
                &RawStore(corrupted),
                ledger.genesis(),
                &keys(ledger.genesis()),
            )
            .expect_err("a flipped bit must be caught");
            assert_eq!(err.height, i as u64 + 1, "block {} byte {at}: {err}", i + 1);
            flips += 1;
        }
    }
    assert!(flips > 1000, "{flips}");
}

/// Appends a block signed by `proposer` after the head (see [`forged`]).
fn forge(
    store: &MemoryStore,
    proposer: &MemberKey,
    transactions: Vec<SignedTransaction>,
    when: Edit,
    edit: impl FnOnce(&mut BlockHeader),
) -> u64 {
    let head = store.block(store.last_height().unwrap()).unwrap().unwrap();
    let block = forged(
        &head.header,
        head.header.height + 1,
        proposer,
        transactions,
        when,
        edit,
    );
    store.append(&block).unwrap();
    block.header.height
}

#[test]
fn audit_names_a_member_signed_block_that_breaks_a_rule() {
    let regulator = key(REGULATOR);
    let mut rng = StdRng::seed_from_u64(41);
    let stranger = MemberKey::generate(99, &mut rng);
    type Case = Box<dyn Fn(&MemoryStore, &Ledger, &Patient) -> u64>;
    let cases: Vec<(&str, bool, Case)> = vec![
        (
            "invalid proof",
            false,
            Box::new(|s, l, p| {
                let claim = l.claim(p.nullifier()).unwrap();
                let ClaimStatement::Primary(mut public_inputs) = claim.statement else {
                    unreachable!("a primary claim")
                };
                public_inputs.nullifier += Fr::from(1u64);
                let claim = zkclaim_verifier::ClaimPackage {
                    public_inputs,
                    proof: claim.proof,
                };
                forge(
                    s,
                    &key(REGULATOR),
                    vec![settle(claim, INSURER)],
                    Edit::BeforeSigning,
                    |_| {},
                )
            }),
        ),
        (
            "already claimed",
            true,
            Box::new(|s, _, _| {
                let spent = blocks(s)
                    .flat_map(|b| b.unwrap().transactions)
                    .find(|t| matches!(t.tx, Transaction::SettleClaim { .. }))
                    .unwrap();
                forge(s, &key(REGULATOR), vec![spent], Edit::BeforeSigning, |_| {})
            }),
        ),
        (
            "invoice_root",
            true,
            Box::new(|s, _, _| {
                forge(
                    s,
                    &key(REGULATOR),
                    vec![register(Fr::from(50u64), HOSPITAL)],
                    Edit::BeforeSigning,
                    |_| {},
                )
            }),
        ),
        (
            "prev_hash",
            true,
            Box::new(|s, _, _| {
                forge(
                    s,
                    &key(REGULATOR),
                    vec![register(Fr::from(9u64), HOSPITAL)],
                    Edit::BeforeSigning,
                    |h| {
                        h.prev_hash[0] ^= 1;
                    },
                )
            }),
        ),
        (
            "tx_root",
            true,
            Box::new(|s, _, _| {
                forge(
                    s,
                    &key(REGULATOR),
                    vec![register(Fr::from(9u64), HOSPITAL)],
                    Edit::BeforeSigning,
                    |h| {
                        h.tx_root = [0; 32];
                    },
                )
            }),
        ),
        (
            "member 99",
            true,
            Box::new(move |s, _, _| forge(s, &stranger, vec![], Edit::BeforeSigning, |_| {})),
        ),
        (
            "proposer signature: bad signature",
            true,
            Box::new(|s, _, _| {
                forge(s, &key(REGULATOR), vec![], Edit::AfterSigning, |h| {
                    h.time_ms += 1
                })
            }),
        ),
        (
            "no transactions",
            true,
            Box::new(|s, _, _| forge(s, &key(REGULATOR), vec![], Edit::BeforeSigning, |_| {})),
        ),
        (
            "time goes backwards",
            true,
            Box::new(|s, _, _| {
                forge(
                    s,
                    &key(REGULATOR),
                    vec![register(Fr::from(9u64), HOSPITAL)],
                    Edit::BeforeSigning,
                    |h| {
                        h.time_ms = 0;
                    },
                )
            }),
        ),
        (
            "member 1 has the hospital role",
            true,
            Box::new(|s, l, p| {
                let claim = l.claim(p.nullifier()).unwrap();
                let ClaimStatement::Primary(public_inputs) = claim.statement else {
                    unreachable!("a primary claim")
                };
                let claim = zkclaim_verifier::ClaimPackage {
                    public_inputs,
                    proof: claim.proof,
                };
                forge(
                    s,
                    &key(REGULATOR),
                    vec![settle(claim, HOSPITAL)],
                    Edit::BeforeSigning,
                    |_| {},
                )
            }),
        ),
    ];
    for (expected, open_too, case) in &cases {
        let (store, ledger, patient) = chain();
        ledger.close();
        let height = case(&store, &ledger, &patient);
        assert_eq!(height, ledger.height() + 1);
        let err = audit(&*store, ledger.genesis(), &keys(ledger.genesis())).unwrap_err();
        assert_eq!(err.height, height, "{expected}: {err}");
        assert!(err.reason.contains(expected), "{expected}: {err}");
        if *open_too {
            // Opening checks everything but the proofs, which the signatures cover.
            let reopened = Ledger::open(
                store.clone(),
                ledger.genesis().clone(),
                keys(ledger.genesis()),
                regulator.clone(),
            );
            assert!(
                matches!(reopened, Err(LedgerError::Corrupt { height: h, .. }) if h == height),
                "{expected}: {reopened:?}"
            );
        }
    }
}
