//! `zkclaim serve` over real HTTP: the spawned binary on 127.0.0.1, a port of its choosing.

mod common;

use common::*;
#[test]
fn the_whole_story_over_http() {
    let c = Consortium::init();
    let server = c.serve(&[], None);
    let hospital = c.key(HOSPITAL);
    let mut patient = Patient::new();
    // Enrolled at insurer A, proving under the policy it issued: nothing on the ledger.
    c.enroll(&server, &mut patient, INSURER_A);
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
            block.body["transactions"].as_array().map(Vec::len),
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
    // Each POST route's request schema accepts the bodies the service accepted above, and
    // not a body with an unknown field, a field element that is not hex or a short signature.
    let accepts = |path: &str, body: &Value| {
        let mut schema = openapi.clone();
        schema["$ref"] = openapi["paths"][path]["post"]["requestBody"]["content"]
            ["application/json"]["schema"]["$ref"]
            .clone();
        assert!(schema["$ref"].is_string(), "{path} has no request schema");
        jsonschema::draft202012::new(&schema)
            .unwrap()
            .is_valid(body)
    };
    let json = |text: &str| -> Value { serde_json::from_str(text).unwrap() };
    let (registration, request, settlement) = (
        json(&c.register(&patient.invoice)),
        json(&patient.request()),
        json(&c.settle(&package, INSURER_A)),
    );
    assert!(accepts("/v1/invoices", &registration));
    assert!(accepts("/v1/proofs", &request));
    assert!(accepts("/v1/claims", &settlement));
    let mut extra = request.clone();
    extra["invoice"]["ward"] = json!("cardiology");
    let mut not_hex = registration.clone();
    not_hex["tx"]["register_invoice"]["commitment"] = json!(format!("0x{}", "z".repeat(64)));
    let mut short = settlement.clone();
    short["signature"] = json!("00");
    assert!(!accepts("/v1/proofs", &extra));
    assert!(!accepts("/v1/invoices", &not_hex));
    assert!(!accepts("/v1/claims", &short));
    assert!(
        !accepts("/v1/invoices", &settlement),
        "a settlement is no registration"
    );
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
    let (settled, pending) = (c.enrolled_patient(&server), c.enrolled_patient(&server));
    let prove = |p: &Patient| server.prove(p);
    // The same claim proved twice: two transactions, one nullifier.
    let (first, again) = (prove(&settled), prove(&settled));
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
            &Auth {
                member: 99,
                ..signature(&hospital, "/v1/invoices", &register, t)
            },
        ),
        401,
        "unknown_member",
        "member 99",
    ));
    let mut forged = signature(&hospital, "/v1/invoices", &register, t);
    let flipped = if forged.signature.starts_with("00") {
        "01"
    } else {
        "00"
    };
    forged.signature.replace_range(0..2, flipped);
    cases.push((
        "bad signature",
        server.post_as("/v1/invoices", &register, &forged),
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
    cases.push((
        "a claim under another insurer's policy",
        server.post_signed("/v1/claims", &c.settle(&first, INSURER_B), &insurer_b),
        403,
        "wrong_insurer",
        "made under insurer 10's policy: only that insurer may settle it",
    ));
    // The same claim proved again: another transaction, its nullifier spent.
    let first_block = format!("block {first_height}");
    let duplicate = server.post_signed("/v1/claims", &c.settle(&again, INSURER_A), &insurer_a);
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
    // The proof is verified before anything else about the claim: a made-up root fails it
    // (a genuine root past the window is refused `stale_root`: the ledger's tests).
    let mut stale = unsettled.clone();
    stale.public_inputs.invoice_root = zkclaim_circuits::Fr::from(12_345u64);
    cases.push((
        "made-up root",
        server.post_signed("/v1/claims", &c.settle(&stale, INSURER_A), &insurer_a),
        422,
        "invalid_proof",
        "invalid proof",
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
    let auth = signature(&hospital, "/v1/invoices", &register, now());
    assert_eq!(server.post_as("/v1/invoices", &register, &auth).status, 200);
    let replayed = server.post_as("/v1/invoices", &register, &auth);
    assert_refused(&replayed, 401, "replayed_signature", "already used");
    assert_eq!(server.height(), height + 1);

    let metrics = server.get("/metrics").body;
    let metrics = metrics.as_str().unwrap();
    for line in [
        "zkclaim_rejections_total{reason=\"duplicate_claim\"} 1",
        "zkclaim_rejections_total{reason=\"replayed_signature\"} 1",
        "zkclaim_rejections_total{reason=\"invalid_proof\"} 2",
        "zkclaim_rejections_total{reason=\"wrong_insurer\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} missing from\n{metrics}");
    }
}

/// Registers the patient's invoice, sends its proof request and, while the proof is in
/// flight, SIGTERM: the server must exit cleanly. Returns the proof request's reply.
fn prove_through_shutdown(c: &Consortium, server: Server, patient: &Patient) -> Reply {
    let registered = server.post_signed(
        "/v1/invoices",
        &c.register(&patient.invoice),
        &c.key(HOSPITAL),
    );
    assert_eq!(registered.status, 200, "{}", registered.body);
    let (url, request, agent) = (
        format!("{}/v1/proofs", server.base),
        patient.request(),
        server.agent.clone(),
    );
    let proof = std::thread::spawn(move || reply(agent.post(&url).send_string(&request)));
    std::thread::sleep(Duration::from_millis(150));
    assert!(server.terminate().success());
    proof.join().unwrap()
}

#[test]
fn logs_carry_no_secrets_and_shutdown_lets_a_proof_finish() {
    let c = Consortium::init();
    let log: PathBuf = c.data.path().join("serve.log");
    let server = c.serve(&[], Some(&log));
    let patient = Patient::new();
    let proved = prove_through_shutdown(&c, server, &patient);
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
    // By default the node proves with its proving key's fixed-base tables, made at start.
    assert!(
        logs.contains("made the proving key's fixed-base tables") && logs.contains("megabytes="),
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
            let (base, request, start, agent) = (
                server.base.clone(),
                patient.request(),
                start.clone(),
                server.agent.clone(),
            );
            std::thread::spawn(move || {
                start.wait();
                reply(
                    agent
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

#[test]
fn serves_https_only_and_shuts_down_gracefully_under_tls() {
    let c = Consortium::init();
    let dir = c.data.path();
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let cert_pem = cert.cert.pem();
    std::fs::write(dir.join("cert.pem"), &cert_pem).unwrap();
    std::fs::write(dir.join("key.pem"), cert.key_pair.serialize_pem()).unwrap();
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    let (cert_arg, key_arg) = (cert_path.to_str().unwrap(), key_path.to_str().unwrap());

    // A certificate without its key is refused before anything listens.
    let half = c.zkclaim(&["serve", "--listen", "127.0.0.1:0", "--tls-cert", cert_arg]);
    assert_eq!(half.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&half.stderr).contains("--tls-key"));

    let mut server = c.serve(&["--tls-cert", cert_arg, "--tls-key", key_arg], None);
    assert!(
        server.base.starts_with("https://127.0.0.1:"),
        "{}",
        server.base
    );
    // Plain HTTP on the TLS port gets no HTTP answer at all, and a client that does not
    // trust the certificate gets no connection.
    let plain = server.base.replacen("https://", "http://", 1);
    let answer = agent(None).get(&format!("{plain}/healthz")).call();
    assert!(
        matches!(answer, Err(ureq::Error::Transport(_))),
        "{answer:?}"
    );
    let untrusting = agent(None).get(&format!("{}/healthz", server.base)).call();
    assert!(
        matches!(untrusting, Err(ureq::Error::Transport(_))),
        "{untrusting:?}"
    );

    server.agent = agent(Some(&cert_pem));
    assert_eq!(server.get("/healthz").status, 200);
    // The command line's client trusts the node given its certificate, and only then.
    let show = |trust: &[&str]| {
        let mut args = vec!["--server", server.base.as_str()];
        args.extend(trust);
        args.extend(["claim", "show", R_HEX]);
        String::from_utf8(c.zkclaim(&args).stderr).unwrap()
    };
    let trusted = show(&["--ca-cert", cert_arg]);
    assert!(trusted.contains("refused (invalid_request)"), "{trusted}");
    let untrusted = show(&[]);
    assert!(untrusted.contains("cannot reach the node"), "{untrusted}");
    let proved = prove_through_shutdown(&c, server, &Patient::new());
    assert_eq!(proved.status, 200, "{}", proved.body);
    let package: ClaimPackage = serde_json::from_value(proved.body).unwrap();
    assert_eq!(package.public_inputs.claim_amount, 7_760);
    // The registration's block was flushed before the exit: the chain audits.
    let audit = c.zkclaim(&[&["audit"], &c.ledger_args()[..]].concat());
    let audit = String::from_utf8_lossy(&audit.stdout).into_owned();
    assert!(
        audit.contains("audit passed: 1 blocks, 1 invoices"),
        "{audit}"
    );
}

/// A patient's claim through the command line, with `mode` (`--server URL` or nothing: the
/// node's ledger opened by the command itself) before each command: hospital 1 registers
/// the invoice, the patient proves, insurer A settles, anyone shows the claim; insurer B's
/// settlement of the same claim is refused with the ledger's reason and writes nothing. `height` is the chain's
/// before. Returns the claim file.
fn claim_story(c: &Consortium, server: Option<&Server>, dir: &Path, height: u64) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let (mode, chain) = match server {
        Some(server) => (vec!["--server", server.base.as_str()], vec![]),
        None => (vec![], c.ledger_args()),
    };
    let run = |args: &[&str]| c.zkclaim(&[&mode, args, &chain].concat());
    let mut patient = Patient::new();
    match server {
        Some(server) => drop(c.enroll(server, &mut patient, INSURER_A)),
        None => c.enroll_offline(&mut patient, INSURER_A),
    }
    let prove = patient.prove_command(dir);
    let invoice = dir.join("invoice.json");
    let invoice = invoice.to_str().unwrap();
    let registered: Value = serde_json::from_str(&succeeded(run(&[
        "invoice", "register", invoice, "--member", "1",
    ])))
    .unwrap();
    assert_eq!(registered["height"], height + 1, "{registered}");

    succeeded(run(&prove.iter().map(String::as_str).collect::<Vec<_>>()));
    let claim = dir.join("claim.json");
    let package: ClaimPackage =
        serde_json::from_str(&std::fs::read_to_string(&claim).unwrap()).unwrap();
    assert_eq!(package.public_inputs.claim_amount, 7_760);

    let claim_arg = claim.to_str().unwrap();
    let settled: Value = serde_json::from_str(&succeeded(run(&[
        "claim", "settle", claim_arg, "--member", "10",
    ])))
    .unwrap();
    assert_eq!(settled["height"], height + 2, "{settled}");
    let nullifier = field::format(&package.public_inputs.nullifier);
    assert_eq!(settled["nullifier"], nullifier.as_str());

    // Insurer B signs with its key file named outright: the claim is made under A's policy.
    let key_b = c.data.path().join("consortium/keys/member-11.json");
    let key_b = key_b.to_str().unwrap();
    let elsewhere = run(&["claim", "settle", claim_arg, "--member-key", key_b]);
    assert_eq!(elsewhere.status.code(), Some(1));
    let says = "made under insurer 10's policy: only that insurer may settle it";
    let stderr = String::from_utf8_lossy(&elsewhere.stderr);
    assert!(stderr.contains(says), "{stderr}");

    let shown: Value =
        serde_json::from_str(&succeeded(run(&["claim", "show", &nullifier]))).unwrap();
    assert_eq!(
        (shown["height"].as_u64(), shown["insurer"].as_u64()),
        (Some(height + 2), Some(10))
    );
    assert_eq!(shown["claim"], serde_json::to_value(&package).unwrap());
    claim
}

#[test]
fn the_command_line_works_against_the_node_and_on_the_embedded_ledger() {
    let c = Consortium::init();
    let work = tempfile::tempdir().unwrap();
    let server = c.serve(&[], None);
    let claim = claim_story(&c, Some(&server), &work.path().join("remote"), 0);
    assert_eq!(server.height(), 2, "the refused settlement wrote nothing");
    // The node's verifying key, checked against the genesis's digest.
    let remote = [
        "--server",
        server.base.as_str(),
        "verify",
        claim.to_str().unwrap(),
    ];
    let verified = succeeded(c.zkclaim(&remote));
    assert!(verified.contains("valid: claim of 7760 fen"), "{verified}");
    assert!(server.terminate().success());

    // With the node stopped, the same commands act on the ledger it left in DATA.
    claim_story(&c, None, &work.path().join("embedded"), 2);
}

#[test]
fn the_load_generator_reports_what_the_node_did() {
    let c = Consortium::init();
    // One worker and one queue slot: three clients at once meet 429s and retry.
    let server = c.serve(&["--queue-depth", "1"], None);
    let csv = c.data.path().join("load.csv");
    let out = succeeded(c.zkclaim(&[
        "--server",
        &server.base,
        "loadtest",
        "--clients",
        "1,3",
        "--patients",
        "3",
        "--flood",
        "6",
        "--csv",
        csv.to_str().unwrap(),
    ]));
    assert!(
        out.contains("| clients | patients | proof p50 ms |"),
        "{out}"
    );

    let rows: Vec<std::collections::HashMap<String, f64>> = csv::Reader::from_path(&csv)
        .unwrap()
        .deserialize()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rows.len(), 2, "{out}");
    for (row, clients) in rows.iter().zip([1.0, 3.0]) {
        assert_eq!((row["clients"], row["patients"]), (clients, 3.0), "{out}");
        assert_eq!(
            row["confirmed"], 3.0,
            "every settled claim read back: {out}"
        );
        assert!(row["proof_p50_ms"] <= row["proof_p99_ms"], "{out}");
        assert!(row["settle_p50_ms"] <= row["settle_p99_ms"], "{out}");
        assert!(
            row["proof_p50_ms"] > 0.0 && row["proofs_per_s"] > 0.0,
            "{out}"
        );
        assert!(row["settlements_per_s"] > 0.0, "{out}");
    }

    let flood = out.lines().find(|l| l.starts_with("Flood:")).unwrap();
    let numbers: Vec<usize> = flood
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    let [requests, proved, busy, 429, unavailable, 503, other] = numbers[..] else {
        panic!("{flood}");
    };
    assert_eq!((requests, unavailable, other), (6, 0, 0), "{flood}");
    assert_eq!(proved + busy, 6, "{flood}");
    assert!(proved >= 1 && busy >= 1, "{flood}");

    // The node counted what the report says it did.
    let metrics = server.get("/metrics").body;
    let metrics = metrics.as_str().unwrap();
    for line in [
        // Each round's 3 patients, and the flood's own (unclaimed) invoice.
        "zkclaim_invoices_registered_total 7".to_owned(),
        "zkclaim_settlements_total 6".to_owned(),
        format!("zkclaim_proof_seconds_count {}", 6 + proved),
        format!(
            "zkclaim_rejections_total{{reason=\"busy\"}} {}",
            busy + rows[0]["busy_retries"] as usize + rows[1]["busy_retries"] as usize
        ),
    ] {
        assert!(metrics.contains(&line), "{line} missing from\n{metrics}");
    }
}

#[test]
fn settings_come_from_the_file_then_the_environment_then_the_flags() {
    let c = Consortium::init();
    let config = c.data.path().join("serve.json");
    std::fs::write(&config, r#"{"listen": "127.0.0.2:0", "workers": 0}"#).unwrap();
    let config = config.to_str().unwrap();

    // The file is read: its zero workers are refused (a node that started anyway would be
    // stopped by `timeout` and fail the test).
    let refused = Command::new("timeout")
        .args(["60", BIN, "--data"])
        .arg(c.data.path())
        .args(["serve", "--config", config])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("workers must be at least 1"), "{stderr}");

    // Each node says where it listens: the loopback address that won.
    let address = |args: &[&str], env: &[(&str, &str)]| {
        let server = c.start(args, env, None);
        let base = server.base.clone();
        assert!(server.terminate().success());
        base
    };
    let workers = ("ZKCLAIM_WORKERS", "1");
    let from_file = address(&["--config", config], &[workers]);
    assert!(from_file.starts_with("http://127.0.0.2:"), "{from_file}");
    let from_env = address(
        &["--config", config],
        &[workers, ("ZKCLAIM_LISTEN", "127.0.0.3:0")],
    );
    assert!(from_env.starts_with("http://127.0.0.3:"), "{from_env}");
    let from_flag = address(
        &["--listen", "127.0.0.4:0", "--workers", "1"],
        &[
            ("ZKCLAIM_CONFIG", config),
            ("ZKCLAIM_LISTEN", "127.0.0.3:0"),
        ],
    );
    assert!(from_flag.starts_with("http://127.0.0.4:"), "{from_flag}");
}
