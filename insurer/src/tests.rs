use super::*;
use rand::{rngs::StdRng, SeedableRng};
use zkclaim_circuits::{keys, sample};

const A: u32 = 3;
const B: u32 = 4;

fn terms(insurer_id: u32) -> Terms {
    Terms {
        insurer_id,
        period_start: sample::PERIOD.0,
        period_end: sample::PERIOD.1,
        deductible: 10_000,
        rate_bp: 8_000,
        cap: 5_000_000,
        category_mask: 0x1fff,
    }
}

fn application(tag: Fr, insurer: u32) -> Application {
    Application {
        claimant_tag: tag,
        terms: terms(insurer),
        claims_until: None,
        payout_ref: "CN12 3456 7890".into(),
    }
}

fn tag(rng: &mut StdRng, insurer: u32) -> Fr {
    keys::claimant_tag(keys::SecretKey::random(rng).expose(), insurer)
}

fn open() -> (tempfile::TempDir, Registry) {
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::open(&dir.path().join("insurer/registry.redb")).unwrap();
    (dir, registry)
}

fn refusal(result: Result<Enrolment, RegistryError>) -> Refusal {
    match result {
        Err(RegistryError::Refused(refusal)) => refusal,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

const IN_PERIOD: Day = sample::PERIOD.0 + 100;

#[test]
fn an_enrolled_policy_is_admitted_and_its_file_hashes_to_the_record() {
    let mut rng = StdRng::seed_from_u64(1);
    let (_dir, registry) = open();
    let t = tag(&mut rng, A);
    let (enrolment, policy) = registry.enroll(application(t, A), &mut rng).unwrap();
    assert_eq!(policy_hash(&policy), enrolment.policy_hash);
    assert_eq!(policy.insurer_id, A);
    assert_eq!(
        enrolment.claims_until,
        sample::PERIOD.1 + CLAIMS_WINDOW_DAYS
    );
    let found = registry
        .check(A, t, enrolment.policy_hash, IN_PERIOD)
        .unwrap();
    assert_eq!(found, enrolment);
    // A second policy for the same patient draws another salt.
    let (again, _) = registry.enroll(application(t, A), &mut rng).unwrap();
    assert_ne!(again.policy_hash, enrolment.policy_hash);
    assert_eq!(registry.list(A).unwrap(), vec![enrolment, again]);
    assert!(registry.list(B).unwrap().is_empty());
}

/// Found by CI: two enrolments made in the same millisecond were listed in key order
/// (a hash), not in the order they were made.
#[test]
fn enrolments_are_listed_in_the_order_they_were_made_even_within_a_millisecond() {
    let mut rng = StdRng::seed_from_u64(7);
    let (_dir, registry) = open();
    let t = tag(&mut rng, A);
    let made: Vec<Enrolment> = (0..24)
        .map(|_| registry.enroll(application(t, A), &mut rng).unwrap().0)
        .collect();
    assert_eq!(
        made.iter().map(|e| e.number).collect::<Vec<_>>(),
        (0..24).collect::<Vec<_>>()
    );
    assert_eq!(registry.list(A).unwrap(), made);
    // A revocation keeps the enrolment's place.
    registry.revoke(A, t, Some(made[0].policy_hash)).unwrap();
    let listed = registry.list(A).unwrap();
    assert_eq!(listed[0].policy_hash, made[0].policy_hash);
    assert!(listed[0].revoked_ms.is_some());
    assert_eq!(listed[1..], made[1..]);
}

#[test]
fn a_self_made_policy_is_refused_even_with_the_insurers_terms() {
    let mut rng = StdRng::seed_from_u64(2);
    let (_dir, registry) = open();
    let t = tag(&mut rng, A);
    registry.enroll(application(t, A), &mut rng).unwrap();
    // The patient's own policy: the largest terms, the insurer's id, their own salt.
    let forged = Terms {
        deductible: 0,
        rate_bp: 10_000,
        cap: (1 << 44) - 1,
        ..terms(A)
    }
    .policy(Fr::from(42u8));
    assert_eq!(
        refusal(registry.check(A, t, policy_hash(&forged), IN_PERIOD)),
        Refusal::UnknownPolicy { insurer: A }
    );
    let stranger = tag(&mut rng, A);
    assert_eq!(
        refusal(registry.check(A, stranger, policy_hash(&forged), IN_PERIOD)),
        Refusal::NotEnrolled { insurer: A }
    );
}

#[test]
fn a_tag_enrolled_at_another_insurer_is_refused_naming_it() {
    let mut rng = StdRng::seed_from_u64(3);
    let (_dir, registry) = open();
    let t = tag(&mut rng, B);
    let (at_b, _) = registry.enroll(application(t, B), &mut rng).unwrap();
    let refused = refusal(registry.check(A, t, at_b.policy_hash, IN_PERIOD));
    assert_eq!(
        refused,
        Refusal::EnrolledElsewhere {
            insurer: A,
            elsewhere: B
        }
    );
    assert_eq!(refused.code(), "enrolled_elsewhere");
}

#[test]
fn a_revoked_enrolment_is_refused_and_revoking_nothing_is_an_error() {
    let mut rng = StdRng::seed_from_u64(4);
    let (_dir, registry) = open();
    let t = tag(&mut rng, A);
    let (first, _) = registry.enroll(application(t, A), &mut rng).unwrap();
    let (second, _) = registry.enroll(application(t, A), &mut rng).unwrap();
    let revoked = registry.revoke(A, t, Some(first.policy_hash)).unwrap();
    assert_eq!(revoked.len(), 1);
    assert!(revoked[0].revoked_ms.is_some());
    let refused = refusal(registry.check(A, t, first.policy_hash, IN_PERIOD));
    assert!(matches!(refused, Refusal::Revoked { .. }), "{refused:?}");
    assert_eq!(refused.code(), "enrolment_revoked");
    // The other policy stands until revoked too.
    registry.check(A, t, second.policy_hash, IN_PERIOD).unwrap();
    assert_eq!(registry.revoke(A, t, None).unwrap().len(), 1);
    assert!(matches!(
        registry.revoke(A, t, None),
        Err(RegistryError::NoEnrolment { insurer: A })
    ));
    // Another insurer cannot revoke A's policyholders.
    assert!(registry.revoke(B, t, None).is_err());
}

#[test]
fn claims_are_admitted_until_the_last_claim_day_and_refused_after() {
    let mut rng = StdRng::seed_from_u64(5);
    let (_dir, registry) = open();
    let t = tag(&mut rng, A);
    let until = sample::PERIOD.1 + 30;
    let (enrolment, _) = registry
        .enroll(
            Application {
                claims_until: Some(until),
                ..application(t, A)
            },
            &mut rng,
        )
        .unwrap();
    let hash = enrolment.policy_hash;
    registry.check(A, t, hash, until).unwrap();
    let refused = refusal(registry.check(A, t, hash, until + 1));
    assert_eq!(
        refused,
        Refusal::Expired {
            until: date::format(until)
        }
    );
    assert_eq!(refused.code(), "policy_expired");
}

#[test]
fn bad_applications_are_refused_and_nothing_is_recorded() {
    let mut rng = StdRng::seed_from_u64(6);
    let (_dir, registry) = open();
    let t = tag(&mut rng, A);
    let bad = [
        Application {
            payout_ref: String::new(),
            ..application(t, A)
        },
        Application {
            payout_ref: "x".repeat(PAYOUT_REF_MAX + 1),
            ..application(t, A)
        },
        Application {
            payout_ref: "line\nbreak".into(),
            ..application(t, A)
        },
        Application {
            terms: Terms {
                rate_bp: 10_001,
                ..terms(A)
            },
            ..application(t, A)
        },
        Application {
            terms: Terms {
                period_end: sample::PERIOD.0 - 1,
                ..terms(A)
            },
            ..application(t, A)
        },
        Application {
            claims_until: Some(sample::PERIOD.1 - 1),
            ..application(t, A)
        },
    ];
    for application in bad {
        assert!(
            matches!(
                registry.enroll(application, &mut rng),
                Err(RegistryError::Invalid(_))
            ),
            "accepted"
        );
    }
    // The longest reference is accepted.
    let longest = Application {
        payout_ref: "x".repeat(PAYOUT_REF_MAX),
        ..application(t, A)
    };
    registry.enroll(longest, &mut rng).unwrap();
    assert_eq!(registry.list(A).unwrap().len(), 1);
}

#[test]
fn the_registry_is_one_process_at_a_time_and_keeps_what_it_acknowledged() {
    let mut rng = StdRng::seed_from_u64(7);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("registry.redb");
    let registry = Registry::open(&path).unwrap();
    assert!(matches!(
        Registry::open(&path),
        Err(RegistryError::InUse { .. })
    ));
    let t = tag(&mut rng, A);
    let (enrolment, _) = registry.enroll(application(t, A), &mut rng).unwrap();
    drop(registry);
    let reopened = Registry::open(&path).unwrap();
    assert_eq!(reopened.list(A).unwrap(), vec![enrolment]);
}

fn outcome(nullifier: u64, time_ms: u64, status: Status) -> Outcome {
    Outcome {
        nullifier: Fr::from(nullifier),
        claimant_tag: Fr::from(7u8),
        policy_hash: Fr::from(8u8),
        claim_amount: 100 * nullifier,
        time_ms,
        status,
    }
}

fn settled() -> Status {
    Status::Settled {
        height: 5,
        tx_index: 0,
        tx_id: "ab".repeat(32),
        block_hash: "cd".repeat(32),
    }
}

fn refused() -> Status {
    Status::Refused {
        code: "not_enrolled".into(),
        reason: "why".into(),
    }
}

#[test]
fn a_claims_status_is_its_latest_outcome_at_that_insurer() {
    let (_dir, registry) = open();
    assert_eq!(registry.outcome(A, Fr::from(1u8)).unwrap(), None);
    let first = outcome(1, 1_000, refused());
    registry.record(A, &first).unwrap();
    assert_eq!(registry.outcome(A, Fr::from(1u8)).unwrap(), Some(first));
    let then = outcome(1, 2_000, settled());
    registry.record(A, &then).unwrap();
    assert_eq!(
        registry.outcome(A, Fr::from(1u8)).unwrap(),
        Some(then.clone())
    );
    assert_eq!(registry.outcome(B, Fr::from(1u8)).unwrap(), None);
    // A refusal after the settlement (a duplicate) is reported, but the claim stays paid.
    registry.record(A, &outcome(1, 3_000, refused())).unwrap();
    assert_eq!(registry.outcome(A, Fr::from(1u8)).unwrap(), Some(then));
    let report = registry.report(A, 10).unwrap();
    assert_eq!((report.settled.len(), report.refused.len()), (1, 2));
}

#[test]
fn the_report_lists_the_latest_and_totals_every_day() {
    let (_dir, registry) = open();
    let day = 86_400_000;
    let d0 = u64::from(sample::PERIOD.0) * day;
    registry.record(A, &outcome(1, d0 + 1, settled())).unwrap();
    registry.record(A, &outcome(2, d0 + 2, settled())).unwrap();
    registry.record(A, &outcome(3, d0 + 3, refused())).unwrap();
    registry
        .record(A, &outcome(4, d0 + day, settled()))
        .unwrap();
    registry.record(B, &outcome(5, d0, settled())).unwrap();
    let report = registry.report(A, 2).unwrap();
    let nullifiers = |list: &[Outcome]| list.iter().map(|o| o.nullifier).collect::<Vec<_>>();
    assert_eq!(nullifiers(&report.settled), [Fr::from(4u8), Fr::from(2u8)]);
    assert_eq!(nullifiers(&report.refused), [Fr::from(3u8)]);
    assert_eq!(
        report.days,
        vec![
            DayTotals {
                day: date::format(sample::PERIOD.0),
                settled: 2,
                amount: 300,
                refused: 1
            },
            DayTotals {
                day: date::format(sample::PERIOD.0 + 1),
                settled: 1,
                amount: 400,
                refused: 0
            },
        ]
    );
}

#[test]
fn debug_never_prints_the_payout_reference_or_terms() {
    let mut rng = StdRng::seed_from_u64(8);
    let (_dir, registry) = open();
    let application = application(tag(&mut rng, A), A);
    let printed = format!("{application:?}");
    let (enrolment, _) = registry.enroll(application, &mut rng).unwrap();
    let printed = format!("{printed} {enrolment:?}");
    assert!(
        !printed.contains("CN12") && !printed.contains("8000"),
        "{printed}"
    );
}

#[test]
fn an_application_reads_its_wire_form() {
    let text = r#"{"claimant_tag": "0x0000000000000000000000000000000000000000000000000000000000000007",
        "terms": {"insurer_id": 3, "period_start": "2026-01-01", "period_end": "2026-12-31",
        "deductible": 10000, "rate_bp": 8000, "cap": 5000000, "category_mask": 65535},
        "claims_until": "2027-01-31", "payout_ref": "acct"}"#;
    let application: Application = serde_json::from_str(text).unwrap();
    assert_eq!(application.claims_until, date::parse("2027-01-31").ok());
    let without: Application =
        serde_json::from_str(&text.replace(r#""claims_until": "2027-01-31","#, "")).unwrap();
    assert_eq!(without.claims_until, None);
    assert!(
        serde_json::from_str::<Application>(&text.replace("acct", "acct\", \"x\": \"1")).is_err()
    );
}
