//! `zkclaim serve` over real HTTP: the spawned binary on 127.0.0.1, a port of its choosing.

mod common;

use common::*;
#[test]
fn the_whole_story_over_http() {
    let c = Consortium::init();
    let server = c.serve(&[], None);
    let hospital = c.key(HOSPITAL);
    let patient = Patient::new();
    for (i, invoice) in [
        sample::spec_invoice(&mut OsRng, zkclaim_circuits::Fr::from(5u64), HOSPITAL),
        patient.invoice.clone(),
    ]
    .iter()
    .enumerate()
    {
        let r = server.post_signed("/v1/invoices", &c.register(invoice), &hospital);
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["height"], i as u64 + 1);
        assert_eq!(r.body["leaf_index"], i as u64);
        assert_eq!(r.body["block_hash"].as_str().unwrap().len(), 64);
    }

    let proved = server.post("/v1/proofs", &patient.request());
    assert_eq!(proved.status, 200, "{}", proved.body);
    let package: ClaimPackage = serde_json::from_value(proved.body).unwrap();
    assert_eq!(package.public_inputs.claim_amount, 7_760);

    let settled = server.post_signed(
        "/v1/claims",
        &c.settle(&package, INSURER_A),
        &c.key(INSURER_A),
    );
    assert_eq!(settled.status, 200, "{}", settled.body);
    assert_eq!(settled.body["height"], 3);
    assert_eq!(settled.body["claim_amount"], 7_760);
    let nullifier = field::format(&package.public_inputs.nullifier);
    assert_eq!(settled.body["nullifier"], nullifier.as_str());

    let claim = server.get(&format!("/v1/claims/{nullifier}"));
    assert_eq!(claim.status, 200);
    assert_eq!(
        (
            claim.body["height"].as_u64(),
            claim.body["insurer"].as_u64()
        ),
        (Some(3), Some(10))
    );
    assert_eq!(claim.body["claim"], serde_json::to_value(&package).unwrap());

    let roots = server.get("/v1/roots");
    assert_eq!(
        (
            roots.body["height"].as_u64(),
            roots.body["invoice_count"].as_u64()
        ),
        (Some(3), Some(2))
    );
    assert_eq!(
        roots.body["roots"].as_array().unwrap().len(),
        3,
        "{}",
        roots.body
    );
    let path = server.get("/v1/paths/1");
    assert_eq!(path.body["path"]["index"], 1);
    assert_eq!(path.body["path"]["siblings"].as_array().unwrap().len(), 32);
    assert_eq!(server.get("/v1/paths/2").status, 404);

    let block = server.get("/v1/blocks/3");
    assert_eq!(block.status, 200);
    assert_eq!(block.body["hash"], settled.body["block_hash"]);
    assert_eq!(
        (
            block.body["transactions"].as_u64(),
            block.body["proposer"].as_u64()
        ),
        (Some(1), Some(20))
    );
    assert_eq!(server.get("/v1/blocks/4").status, 404);
    assert_eq!(server.get("/v1/blocks/x").status, 400);

    let genesis = Genesis::load(&c.data.path().join("consortium/genesis.json")).unwrap();
    let vk = server.get("/v1/verifying-key");
    assert_eq!(vk.body["digest"], hex::encode(genesis.verifying_key_digest));
    let key_bytes = hex::decode(vk.body["key"].as_str().unwrap()).unwrap();
    assert_eq!(hex::encode(Sha256::digest(&key_bytes)), vk.body["digest"]);

    assert_eq!(server.get("/healthz").status, 200);
    assert_eq!(server.get("/readyz").body["status"], "ready");
    let metrics = server.get("/metrics").body;
    let metrics = metrics.as_str().unwrap();
    for line in [
        "zkclaim_settlements_total 1",
        "zkclaim_invoices_registered_total 2",
        "zkclaim_proof_seconds_count 1",
        "zkclaim_prover_queue_depth 0",
    ] {
        assert!(metrics.contains(line), "{line} missing from\n{metrics}");
    }
    let openapi = server.get("/openapi.json").body;
    for (path, method) in [
        ("/v1/invoices", "post"),
        ("/v1/proofs", "post"),
        ("/v1/claims", "post"),
        ("/v1/claims/{nullifier}", "get"),
        ("/v1/blocks/{height}", "get"),
        ("/metrics", "get"),
    ] {
        assert!(
            openapi["paths"][path][method].is_object(),
            "{path} {method}"
        );
    }
    assert_eq!(server.get("/v2/nothing").status, 404);
    // A route asked with the wrong method answers in the same JSON error form.
    let wrong_method = server.get("/v1/invoices");
    assert_eq!(wrong_method.status, 405);
    assert_eq!(wrong_method.body["error"]["code"], "method_not_allowed");
    assert!(server.terminate().success());
}

#[test]
fn refused_requests_get_their_status_and_write_nothing() {
    let c = Consortium::init();
    let server = c.serve(&[], None);
    let (hospital, insurer_a, insurer_b) = (c.key(HOSPITAL), c.key(INSURER_A), c.key(INSURER_B));
    let (settled, pending) = (Patient::new(), Patient::new());
    for p in [&settled, &pending] {
        let r = server.post_signed("/v1/invoices", &c.register(&p.invoice), &hospital);
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let prove = |p: &Patient| -> ClaimPackage {
        let r = server.post("/v1/proofs", &p.request());
        assert_eq!(r.status, 200, "{}", r.body);
        serde_json::from_value(r.body).unwrap()
    };
    let first = prove(&settled);
    let first_height = server
        .post_signed("/v1/claims", &c.settle(&first, INSURER_A), &insurer_a)
        .body["height"]
        .as_u64()
        .unwrap();
    let unsettled = prove(&pending);
    let height = server.height();
    assert_eq!(height, 3);

    let mut cases: Vec<(&str, Reply, u16, &str, &str)> = Vec::new();
    let fresh = Patient::new();
    let register = c.register(&fresh.invoice);
    cases.push((
        "malformed",
        server.post_signed("/v1/invoices", "{\"tx\": ", &hospital),
        400,
        "malformed_json",
        "malformed JSON",
    ));
    let wrong_type =
        r#"{"tx": {"register_invoice": {"commitment": 5}}, "signer": 1, "signature": "00"}"#;
    cases.push((
        "wrong type",
        server.post_signed("/v1/invoices", wrong_type, &hospital),
        400,
        "invalid_request",
        "commitment",
    ));
    let mut bad_sk: Value = serde_json::from_str(&fresh.request()).unwrap();
    bad_sk["key"]["sk"] = json!(7);
    cases.push((
        "wrong type in proof",
        server.post("/v1/proofs", &bad_sk.to_string()),
        400,
        "invalid_request",
        "key.sk",
    ));
    let mut non_canonical: Value = serde_json::from_str(&register).unwrap();
    non_canonical["tx"]["register_invoice"]["commitment"] = json!(R_HEX);
    cases.push((
        "non-canonical",
        server.post_signed("/v1/invoices", &non_canonical.to_string(), &hospital),
        400,
        "invalid_request",
        "tx.register_invoice.commitment",
    ));
    let mut non_canonical_detail: Value = serde_json::from_str(&fresh.request()).unwrap();
    non_canonical_detail["invoice"]["items"][0]["detail"] = json!(R_HEX);
    cases.push((
        "non-canonical detail",
        server.post("/v1/proofs", &non_canonical_detail.to_string()),
        400,
        "invalid_request",
        "not canonical",
    ));
    // One byte over the limit: the server must read all of it to refuse it, so it closes the
    // connection with nothing unread and the client is not reset before it sees the 413.
    let huge = format!("{{\"pad\": \"{}\"}}", "x".repeat(64 * 1024 + 1 - 11));
    assert_eq!(huge.len(), 64 * 1024 + 1);
    cases.push((
        "oversized",
        server.post_oversized("/v1/proofs", &huge),
        413,
        "body_too_large",
        "65536",
    ));
    let t = now();
    cases.push((
        "unknown member",
        server.post_as(
            "/v1/invoices",
            &register,
            99,
            t,
            &signature(&hospital, "/v1/invoices", &register, t),
        ),
        401,
        "unknown_member",
        "member 99",
    ));
    let mut forged = signature(&hospital, "/v1/invoices", &register, t);
    forged.replace_range(0..2, if forged.starts_with("00") { "01" } else { "00" });
    cases.push((
        "bad signature",
        server.post_as("/v1/invoices", &register, HOSPITAL, t, &forged),
        401,
        "bad_signature",
        "signature",
    ));
    let old = t - 3_600;
    cases.push((
        "stale timestamp",
        server.post_as(
            "/v1/invoices",
            &register,
            HOSPITAL,
            old,
            &signature(&hospital, "/v1/invoices", &register, old),
        ),
        401,
        "stale_timestamp",
        "timestamp",
    ));
    cases.push((
        "no headers",
        server.post("/v1/invoices", &register),
        401,
        "missing_auth",
        "x-zkclaim-member",
    ));
    cases.push((
        "wrong role",
        server.post_signed("/v1/claims", &c.settle(&unsettled, INSURER_A), &hospital),
        403,
        "wrong_role",
        "needs the insurer role",
    ));
    cases.push((
        "signer mismatch",
        server.post_signed("/v1/claims", &c.settle(&unsettled, INSURER_A), &insurer_b),
        403,
        "signer_mismatch",
        "member 10",
    ));
    let first_block = format!("block {first_height}");
    let duplicate = server.post_signed("/v1/claims", &c.settle(&first, INSURER_B), &insurer_b);
    assert_eq!(duplicate.body["error"]["first_height"], first_height);
    cases.push((
        "duplicate claim",
        duplicate,
        409,
        "duplicate_claim",
        &first_block,
    ));
    // Another hospital registering the same commitment (the same transaction again would
    // be a retry, answered with its first receipt).
    cases.push((
        "duplicate commitment",
        server.post_signed(
            "/v1/invoices",
            &c.register_by(&settled.invoice, HOSPITAL_B),
            &c.key(HOSPITAL_B),
        ),
        409,
        "duplicate_commitment",
        "already registered",
    ));
    let mut stale = unsettled.clone();
    stale.public_inputs.invoice_root = zkclaim_circuits::Fr::from(12_345u64);
    cases.push((
        "stale root",
        server.post_signed("/v1/claims", &c.settle(&stale, INSURER_A), &insurer_a),
        422,
        "stale_root",
        "recent roots",
    ));
    let mut tampered = unsettled.clone();
    tampered.public_inputs.claim_amount += 1;
    cases.push((
        "invalid proof",
        server.post_signed("/v1/claims", &c.settle(&tampered, INSURER_A), &insurer_a),
        422,
        "invalid_proof",
        "invalid proof",
    ));
    let mut outside: Value = serde_json::from_str(&pending.request()).unwrap();
    outside["policy"]["period_end"] = json!("2026-06-30");
    cases.push((
        "unsatisfiable",
        server.post("/v1/proofs", &outside.to_string()),
        422,
        "unsatisfiable_witness",
        "issued_on outside policy period",
    ));
    cases.push((
        "unregistered",
        server.post("/v1/proofs", &fresh.request()),
        422,
        "unsatisfiable_witness",
        "not registered",
    ));
    cases.push((
        "bad nullifier",
        server.get("/v1/claims/0x12"),
        400,
        "invalid_request",
        "nullifier",
    ));
    cases.push((
        "unknown nullifier",
        server.get(&format!(
            "/v1/claims/{}",
            field::format(&unsettled.public_inputs.nullifier)
        )),
        404,
        "not_found",
        "no settled claim",
    ));
    for (name, r, status, code, says) in &cases {
        eprintln!("case {name}");
        assert_refused(r, *status, code, says);
        assert_eq!(server.height(), height, "{name} wrote to the ledger");
    }

    // A replayed request is refused even though the first one was accepted.
    let t = now();
    let sig = signature(&hospital, "/v1/invoices", &register, t);
    assert_eq!(
        server
            .post_as("/v1/invoices", &register, HOSPITAL, t, &sig)
            .status,
        200
    );
    let replayed = server.post_as("/v1/invoices", &register, HOSPITAL, t, &sig);
    assert_refused(&replayed, 401, "replayed_signature", "already used");
    assert_eq!(server.height(), height + 1);

    let metrics = server.get("/metrics").body;
    let metrics = metrics.as_str().unwrap();
    for line in [
        "zkclaim_rejections_total{reason=\"duplicate_claim\"} 1",
        "zkclaim_rejections_total{reason=\"replayed_signature\"} 1",
        "zkclaim_rejections_total{reason=\"stale_root\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} missing from\n{metrics}");
    }
}

#[test]
fn logs_carry_no_secrets_and_shutdown_lets_a_proof_finish() {
    let c = Consortium::init();
    let log: PathBuf = c.data.path().join("serve.log");
    let server = c.serve(&[], Some(&log));
    let patient = Patient::new();
    assert_eq!(
        server
            .post_signed(
                "/v1/invoices",
                &c.register(&patient.invoice),
                &c.key(HOSPITAL)
            )
            .status,
        200
    );
    let (base, request) = (server.base.clone(), patient.request());
    let proof = std::thread::spawn(move || {
        reply(
            Server::agent()
                .post(&format!("{base}/v1/proofs"))
                .send_string(&request),
        )
    });
    std::thread::sleep(Duration::from_millis(150));
    assert!(server.terminate().success());
    let proved = proof.join().unwrap();
    assert_eq!(
        proved.status, 200,
        "the in-flight proof finishes: {}",
        proved.body
    );

    let logs = std::fs::read_to_string(&log).unwrap();
    assert!(
        logs.contains("/v1/proofs") && logs.contains("status=200"),
        "{logs}"
    );
    let request: Value = serde_json::from_str(&patient.request()).unwrap();
    let mut secrets = vec![
        request["key"]["sk"].as_str().unwrap().to_owned(),
        request["invoice"]["serial"].as_str().unwrap().to_owned(),
        request["policy"]["salt"].as_str().unwrap().to_owned(),
    ];
    for item in request["invoice"]["items"].as_array().unwrap() {
        secrets.push(item["detail"].as_str().unwrap().to_owned());
    }
    for secret in secrets {
        let digits = secret.trim_start_matches("0x");
        assert!(!logs.contains(digits), "a secret appears in the logs");
    }
}

#[test]
fn a_flood_of_proofs_gets_429_while_healthz_answers() {
    let c = Consortium::init();
    let server = c.serve(&["--workers", "1", "--queue-depth", "1"], None);
    let patient = Patient::new();
    assert_eq!(
        server
            .post_signed(
                "/v1/invoices",
                &c.register(&patient.invoice),
                &c.key(HOSPITAL)
            )
            .status,
        200
    );
    let start = Arc::new(Barrier::new(9));
    let floods: Vec<_> = (0..8)
        .map(|_| {
            let (base, request, start) = (server.base.clone(), patient.request(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                reply(
                    Server::agent()
                        .post(&format!("{base}/v1/proofs"))
                        .send_string(&request),
                )
            })
        })
        .collect();
    start.wait();
    for _ in 0..5 {
        let t = Instant::now();
        assert_eq!(server.get("/healthz").status, 200);
        assert!(
            t.elapsed() < Duration::from_secs(1),
            "healthz took {:?}",
            t.elapsed()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let replies: Vec<Reply> = floods.into_iter().map(|f| f.join().unwrap()).collect();
    let ok = replies.iter().filter(|r| r.status == 200).count();
    let busy: Vec<&Reply> = replies.iter().filter(|r| r.status == 429).collect();
    assert_eq!(ok + busy.len(), 8);
    assert!(
        ok >= 1 && !busy.is_empty(),
        "{ok} proved, {} refused",
        busy.len()
    );
    for r in busy {
        assert_eq!(r.retry_after.as_deref(), Some("1"));
        assert_eq!(r.body["error"]["code"], "busy");
    }
}
