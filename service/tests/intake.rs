//! The insurer's side over HTTP: enrolments, the insurer rule on every settlement, the
//! patients' intake and the insurer's view of its claims, through the spawned binary.

mod common;

use common::*;

/// A node serving insurer A's intake, with these flags besides.
fn insurer_node(c: &Consortium, args: &[&str]) -> Server {
    c.serve(&[&["--insurer", "10"], args].concat(), None)
}

fn nullifier(package: &ClaimPackage) -> String {
    field::format(&package.public_inputs.nullifier)
}

/// The answer's exact bytes: a retried intake must answer the same ones.
fn raw_intake(server: &Server, package: &ClaimPackage) -> (u16, String) {
    let result = server
        .agent
        .post(&format!("{}/v1/intake", server.base))
        .set("content-type", "application/json")
        .send_string(&serde_json::to_string(package).unwrap());
    let response = match result {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("transport error: {e}"),
    };
    (response.status(), response.into_string().unwrap())
}

#[test]
fn only_the_policy_the_insurer_issued_settles() {
    let c = Consortium::init();
    let server = insurer_node(&c, &[]);
    let insurer_a = c.key(INSURER_A);
    let mut patient = c.registered_patient(&server);
    // The patient's own policy: every fen paid, no deductible.
    patient.policy.rate_bp = 10_000;
    patient.policy.deductible = 0;
    let own = server.prove(&patient);
    let settle_own = server.post_signed("/v1/claims", &c.settle(&own, INSURER_A), &insurer_a);
    assert_refused(
        &settle_own,
        403,
        "not_enrolled",
        "not enrolled at insurer 10",
    );
    assert_refused(
        &server.intake(&own),
        403,
        "not_enrolled",
        "enrol with the insurer",
    );

    // Enrolled under the insurer's terms, the self-made policy is still not the one issued.
    patient.policy.rate_bp = 8_000;
    patient.policy.deductible = 10_000;
    let enrolled = c.enroll(&server, &mut patient, INSURER_A);
    assert_eq!(
        enrolled["enrolment"]["claimant_tag"],
        patient.tag(INSURER_A)
    );
    assert_eq!(enrolled["enrolment"]["payout_ref"], "CN-ACCT-0001");
    assert_eq!(enrolled["enrolment"]["claims_until"], CLAIMS_UNTIL);
    let height = server.height();
    assert_refused(&server.intake(&own), 403, "unknown_policy", "policy file");
    assert_eq!(server.height(), height);
    let status = server.get(&format!("/v1/intake/{}", nullifier(&own)));
    assert_eq!(status.status, 200, "{}", status.body);
    assert_eq!(
        (&status.body["status"], &status.body["code"]),
        (&json!("refused"), &json!("unknown_policy"))
    );

    // Under the issued policy it settles, for the enrolled terms' payout, and once.
    let claim = server.prove(&patient);
    assert_eq!(nullifier(&claim), nullifier(&own), "the same invoice");
    let (status, receipt) = raw_intake(&server, &claim);
    assert_eq!(status, 200, "{receipt}");
    let settled: Value = serde_json::from_str(&receipt).unwrap();
    assert_eq!(settled["claim_amount"], 7_760);
    assert!(own.public_inputs.claim_amount > 7_760);
    assert_eq!(settled["height"], height + 1);
    assert_eq!(raw_intake(&server, &claim), (200, receipt.clone()));
    assert_eq!(server.height(), height + 1, "a retry settles nothing more");
    let on_ledger = server.get(&format!("/v1/claims/{}", nullifier(&claim)));
    assert_eq!(
        (on_ledger.status, &on_ledger.body["insurer"]),
        (200, &json!(10))
    );
    let status = server.get(&format!("/v1/intake/{}", nullifier(&claim)));
    assert_eq!(status.body["status"], "settled", "{}", status.body);
    assert_eq!(status.body["height"], settled["height"]);
    assert_eq!(status.body["tx_id"], settled["tx_id"]);
    // The claim names insurer A: B cannot settle it (statement v2).
    let at_b = server.post_signed(
        "/v1/claims",
        &c.settle(&claim, INSURER_B),
        &c.key(INSURER_B),
    );
    assert_refused(
        &at_b,
        403,
        "wrong_insurer",
        "made under insurer 10's policy: only that insurer may settle it",
    );

    // The insurer's view: its settlement and its refusals, today's totals; B sees none.
    let report = server.get_signed("/v1/insurer/claims?limit=10", &insurer_a);
    assert_eq!(report.status, 200, "{}", report.body);
    let settled_list = report.body["settled"].as_array().unwrap();
    assert_eq!(settled_list.len(), 1, "{}", report.body);
    assert_eq!(settled_list[0]["claim_amount"], 7_760);
    assert_eq!(settled_list[0]["height"], settled["height"]);
    assert_eq!(settled_list[0]["claimant_tag"], patient.tag(INSURER_A));
    let codes: Vec<&str> = report.body["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["unknown_policy", "not_enrolled", "not_enrolled"]);
    assert!(report.body["refused"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("policy file"));
    let today = report.body["days"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    let day = zkclaim_circuits::date::format((now() / 86_400) as _);
    assert_eq!(
        today,
        json!({"day": day, "settled": 1, "amount": 7_760, "refused": 3})
    );
    let one = server.get_signed("/v1/insurer/claims?limit=1", &insurer_a);
    assert_eq!(one.body["refused"].as_array().unwrap().len(), 1);
    let of_b = server.get_signed("/v1/insurer/claims", &c.key(INSURER_B));
    assert_eq!(of_b.status, 200, "{}", of_b.body);
    assert_eq!(of_b.body["settled"], json!([]));
    // A claim made under A's policy is not B's to record.
    assert_eq!(of_b.body["refused"], json!([]), "{}", of_b.body);
    assert_refused(
        &server.get("/v1/insurer/claims"),
        401,
        "missing_auth",
        "missing header",
    );
    assert_refused(
        &server.get_signed("/v1/insurer/claims?limit=1001", &insurer_a),
        400,
        "invalid_request",
        "at most 1000",
    );
    assert_refused(
        &server.get_signed("/v1/insurer/claims", &c.key(HOSPITAL)),
        403,
        "wrong_role",
        "insurer role",
    );
    assert!(server.terminate().success());
}

#[test]
fn refused_claims_write_nothing_on_the_ledger() {
    let c = Consortium::init();
    let server = insurer_node(&c, &[]);
    let (insurer_a, insurer_b) = (c.key(INSURER_A), c.key(INSURER_B));

    // Revoked.
    let revoked = c.enrolled_patient(&server);
    let tag = revoked.tag(INSURER_A);
    let revocation = json!({"claimant_tag": tag}).to_string();
    let by_b = server.post_signed("/v1/enrolments/revoke", &revocation, &insurer_b);
    assert_refused(&by_b, 404, "not_found", "no active enrolment");
    let r = server.post_signed("/v1/enrolments/revoke", &revocation, &insurer_a);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["revoked"][0]["claimant_tag"], tag.as_str());
    assert!(r.body["revoked"][0]["revoked_ms"].as_u64().is_some());
    let again = server.post_signed("/v1/enrolments/revoke", &revocation, &insurer_a);
    assert_refused(&again, 404, "not_found", "no active enrolment");

    // Enrolled at insurer B, handed to insurer A.
    let mut elsewhere = c.registered_patient(&server);
    c.enroll(&server, &mut elsewhere, INSURER_B);

    // Expired: a 2025 policy, claims until 2026-03-31, for an invoice of 2025-06-01.
    let mut expired = Patient::new();
    expired.invoice.issued_on = zkclaim_circuits::date::parse("2025-06-01").unwrap();
    expired.policy.period_start = zkclaim_circuits::date::parse("2025-01-01").unwrap();
    expired.policy.period_end = zkclaim_circuits::date::parse("2025-12-31").unwrap();
    let registered = server.post_signed(
        "/v1/invoices",
        &c.register(&expired.invoice),
        &c.key(HOSPITAL),
    );
    assert_eq!(registered.status, 200, "{}", registered.body);
    let application = expired
        .application(INSURER_A, Some("2026-03-31"))
        .to_string();
    let enrolled = server.post_signed("/v1/enrolments", &application, &insurer_a);
    assert_eq!(enrolled.status, 200, "{}", enrolled.body);
    expired.policy = serde_json::from_value(enrolled.body["policy"].clone()).unwrap();

    let cases = [
        (&revoked, "enrolment_revoked", "revoked on"),
        (
            &elsewhere,
            "wrong_insurer",
            "made under insurer 11's policy: only that insurer may settle it",
        ),
        (
            &expired,
            "policy_expired",
            "accepted claims until 2026-03-31",
        ),
    ];
    for (patient, code, says) in cases {
        let claim = server.prove(patient);
        let height = server.height();
        assert_refused(&server.intake(&claim), 403, code, says);
        let signed = server.post_signed("/v1/claims", &c.settle(&claim, INSURER_A), &insurer_a);
        assert_refused(&signed, 403, code, says);
        assert_eq!(server.height(), height, "{code}: nothing written");
        let on_ledger = server.get(&format!("/v1/claims/{}", nullifier(&claim)));
        assert_eq!(on_ledger.status, 404, "{code}: {}", on_ledger.body);
        let status = server.get(&format!("/v1/intake/{}", nullifier(&claim)));
        if code == "wrong_insurer" {
            // Another insurer's claim: refused before this insurer records anything of it.
            assert_eq!(status.status, 404, "{}", status.body);
        } else {
            assert_eq!(
                (&status.body["status"], &status.body["code"]),
                (&json!("refused"), &json!(code))
            );
        }
    }

    // A policyholder of both insurers: its claim settled at B is a duplicate at A's intake.
    let mut both = c.registered_patient(&server);
    c.enroll(&server, &mut both, INSURER_B);
    let under_b = server.prove(&both);
    c.enroll(&server, &mut both, INSURER_A);
    let under_a = server.prove(&both);
    let at_b = server.post_signed("/v1/claims", &c.settle(&under_b, INSURER_B), &insurer_b);
    assert_eq!(at_b.status, 200, "{}", at_b.body);
    let height = server.height();
    let duplicate = server.intake(&under_a);
    assert_refused(&duplicate, 409, "duplicate_claim", "already claimed");
    assert_eq!(duplicate.body["error"]["first_height"], at_b.body["height"]);
    assert_eq!(server.height(), height);
    let status = server.get(&format!("/v1/intake/{}", nullifier(&under_a)));
    assert_eq!(status.body["code"], "duplicate_claim", "{}", status.body);

    // A proof that does not verify is refused before the insurer rule, and not recorded.
    let mut tampered = server.prove(&c.enrolled_patient(&server));
    tampered.public_inputs.claim_amount += 1;
    assert_refused(
        &server.intake(&tampered),
        422,
        "invalid_proof",
        "invalid proof",
    );
    let status = server.get(&format!("/v1/intake/{}", nullifier(&tampered)));
    assert_refused(&status, 404, "not_found", "no claim with this nullifier");
    assert!(server.terminate().success());
}

#[test]
fn the_intake_is_limited_and_only_where_an_insurer_is_served() {
    let c = Consortium::init();
    let server = insurer_node(&c, &["--intake-per-minute", "1", "--intake-burst", "2"]);
    for _ in 0..2 {
        let r = server.post("/v1/intake", "{}");
        assert_refused(&r, 400, "invalid_request", "missing field");
    }
    let flooded = server.post("/v1/intake", "{}");
    assert_refused(&flooded, 429, "rate_limited", "Retry-After");
    let wait: u64 = flooded.retry_after.unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert!(server.terminate().success());

    let plain = c.serve(&[], None);
    let r = plain.post("/v1/intake", "{}");
    assert_refused(&r, 503, "no_insurer", "serves no insurer");
    assert_eq!(r.retry_after, None);
    let status = plain.get(&format!("/v1/intake/{}", field::format(&1u64.into())));
    assert_refused(&status, 503, "no_insurer", "serves no insurer");
    drop(plain);

    // An insurer the genesis does not know, or a member of another role: refused at start.
    for (n, says) in [("12", "not in the genesis"), ("1", "hospital role")] {
        let out = c.zkclaim(&["serve", "--listen", "127.0.0.1:0", "--insurer", n]);
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("--insurer {n}")) && stderr.contains(says),
            "{stderr}"
        );
    }
}

#[test]
fn acknowledged_enrolments_survive_a_crash() {
    let c = Consortium::init();
    let server = insurer_node(&c, &[]);
    let key = c.key(INSURER_A);
    let acknowledged = std::sync::Mutex::new(Vec::new());
    let pid = server.child.id().to_string();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..50 {
                    let patient = Patient::new();
                    let body = patient.application(INSURER_A, None).to_string();
                    let auth = signature(&key, "/v1/enrolments", &body, now());
                    let request = server
                        .agent
                        .post(&format!("{}/v1/enrolments", server.base))
                        .set("content-type", "application/json");
                    let result = authenticated(request, &auth).send_string(&body);
                    match result {
                        Ok(r) if r.status() == 200 => {
                            acknowledged.lock().unwrap().push(patient.tag(INSURER_A))
                        }
                        // Killed mid-way: no answer, or an error.
                        _ => return,
                    }
                }
            });
        }
        while acknowledged.lock().unwrap().len() < 20 {
            std::thread::sleep(Duration::from_millis(5));
        }
        let killed = Command::new("kill").args(["-KILL", &pid]).status().unwrap();
        assert!(killed.success());
    });
    drop(server);
    let acknowledged = acknowledged.into_inner().unwrap();
    assert!(acknowledged.len() >= 20 && acknowledged.len() < 200);

    let restarted = insurer_node(&c, &[]);
    let listed = restarted.get_signed("/v1/enrolments", &key);
    assert_eq!(listed.status, 200, "{}", listed.body);
    let tags: std::collections::HashSet<&str> = listed.body["enrolments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["claimant_tag"].as_str().unwrap())
        .collect();
    for tag in &acknowledged {
        assert!(
            tags.contains(tag.as_str()),
            "an acknowledged enrolment is lost"
        );
    }
    let of_b = restarted.get_signed("/v1/enrolments", &c.key(INSURER_B));
    assert_eq!(of_b.body, json!({"enrolments": []}));
    assert_refused(
        &restarted.get("/v1/enrolments"),
        401,
        "missing_auth",
        "missing header",
    );
    assert!(restarted.terminate().success());
}
