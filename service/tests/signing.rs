//! Member requests signed as docs/protocol.md specifies: an honest retry, signed again within
//! the same second, goes through; a captured request replayed byte for byte is refused, by
//! the node that took it, after that node restarts, and by a second node sharing the ledger.
//! The JavaScript SDK's member client (sdk/js/src/member.js) enrols, registers, proves, settles and hands in
//! against a real node.

mod common;

use common::*;

/// A registration and the path it is posted to.
fn registration(c: &Consortium) -> (&'static str, String, MemberKey) {
    let body = c.register(&Patient::new().invoice);
    ("/v1/invoices", body, c.key(HOSPITAL))
}

fn assert_replayed(r: &Reply) {
    assert_refused(r, 401, "replayed_signature", "already used");
}

#[test]
fn an_honest_retry_in_the_same_second_goes_through_and_a_replay_does_not() {
    let c = Consortium::init();
    let server = c.serve(&[], None);
    let mut patient = Patient::new();
    c.enroll(&server, &mut patient, INSURER_A);
    let register = c.register(&patient.invoice);
    let hospital = c.key(HOSPITAL);
    let r = server.post_signed("/v1/invoices", &register, &hospital);
    assert_eq!(r.status, 200, "{}", r.body);
    let proved = server.post("/v1/proofs", &patient.request());
    assert_eq!(proved.status, 200, "{}", proved.body);
    let claim: ClaimPackage = serde_json::from_value(proved.body).unwrap();
    let settle = c.settle(&claim, INSURER_A);
    let insurer = c.key(INSURER_A);

    for (path, body, key) in [
        (
            "/v1/invoices",
            c.register(&Patient::new().invoice),
            &hospital,
        ),
        ("/v1/claims", settle, &insurer),
    ] {
        // The same transaction signed twice at the same second: two requests, one effect.
        let t = now();
        let (first, retry) = (
            signature(key, path, &body, t),
            signature(key, path, &body, t),
        );
        let height = server.height();
        let answer = server.post_as(path, &body, &first);
        assert_eq!(answer.status, 200, "{path}: {}", answer.body);
        assert_eq!(server.height(), height + 1);
        let again = server.post_as(path, &body, &retry);
        assert_eq!(again.status, 200, "{path}: {}", again.body);
        assert_eq!(
            again.body, answer.body,
            "{path}: the retry gets the first receipt"
        );
        // Either request captured and sent again is a replay, and changes nothing.
        assert_replayed(&server.post_as(path, &body, &first));
        assert_replayed(&server.post_as(path, &body, &retry));
        assert_eq!(server.height(), height + 1);
    }
}

#[test]
fn a_replayed_request_is_refused_after_the_node_restarts() {
    let c = Consortium::init();
    let (path, body, key) = registration(&c);
    let auth = signature(&key, path, &body, now());
    let receipt = {
        let server = c.serve(&[], None);
        let r = server.post_as(path, &body, &auth);
        assert_eq!(r.status, 200, "{}", r.body);
        r.body
        // Dropped: SIGKILL, a crash. What the node recorded was durable before it acted.
    };
    let server = c.serve(&[], None);
    assert_replayed(&server.post_as(path, &body, &auth));
    let retry = server.post_signed(path, &body, &key);
    assert_eq!(retry.status, 200, "{}", retry.body);
    assert_eq!(retry.body, receipt);
}

#[test]
fn a_replayed_request_is_refused_at_a_second_node_sharing_the_ledger() {
    let Some((etcd, c)) = cluster(1) else {
        return;
    };
    let (a, b) = (node(&c, &etcd, 20), node(&c, &etcd, INSURER_A));
    let (path, body, key) = registration(&c);
    let auth = signature(&key, path, &body, now());
    let r = a.post_as(path, &body, &auth);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_replayed(&b.post_as(path, &body, &auth));
    assert_replayed(&a.post_as(path, &body, &auth));
    // Sent to b first, a request is refused at a.
    let retry = signature(&key, path, &body, now());
    let at_b = b.post_as(path, &body, &retry);
    assert_eq!(at_b.status, 200, "{}", at_b.body);
    assert_eq!(at_b.body["tx_id"], r.body["tx_id"]);
    assert_replayed(&a.post_as(path, &body, &retry));
}

/// `zkclaim --server URL invoice register` twice within one second: the second run signs
/// its request again and gets the first receipt.
#[test]
fn the_command_line_retries_within_the_same_second() {
    let c = Consortium::init();
    let server = c.serve(&[], None);
    let dir = tempfile::tempdir().unwrap();
    let register = |invoice: &Path| {
        let out = c.zkclaim(&[
            OsStr::new("--server"),
            OsStr::new(&server.base),
            OsStr::new("invoice"),
            OsStr::new("register"),
            invoice.as_os_str(),
            OsStr::new("--member"),
            OsStr::new("1"),
        ]);
        serde_json::from_str::<Value>(&succeeded(out)).unwrap()
    };
    // Until both runs fall within one second, which they do unless the machine stalls.
    for attempt in 0.. {
        assert!(attempt < 5, "no two runs within one second");
        let [invoice, ..] = Patient::new().write(dir.path());
        let start = now();
        let (first, second) = (register(&invoice), register(&invoice));
        if now() == start {
            assert_eq!(first["tx_id"], second["tx_id"]);
            assert_eq!(first["height"], second["height"]);
            break;
        }
    }
}

#[test]
fn the_javascript_client_registers_proves_and_settles_against_a_real_node() {
    if !installed("node", "nodejs") {
        return;
    }
    let c = Consortium::init();
    let server = c.serve(&["--insurer", "10"], None);
    let patient_dir = tempfile::tempdir().unwrap();
    let patient = Patient::new();
    patient.write(patient_dir.path());
    let application = patient.application(INSURER_A, None).to_string();
    std::fs::write(patient_dir.path().join("application.json"), application).unwrap();
    let commitment = field::format(&patient.invoice.commitment(8).unwrap());
    std::fs::write(patient_dir.path().join("commitment.txt"), &commitment).unwrap();
    let out_path = patient_dir.path().join("out.json");

    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let out = Command::new("node")
        .args([
            "--test",
            "--test-reporter=tap",
            "sdk/js/test/member.test.mjs",
        ])
        .current_dir(root)
        .env("ZKCLAIM_URL", &server.base)
        .env("ZKCLAIM_DATA", c.data.path())
        .env("ZKCLAIM_PATIENT", patient_dir.path())
        .env("ZKCLAIM_JS_OUT", &out_path)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Every test ran: none was skipped.
    assert!(report.contains("# pass 3"), "{report}");
    assert!(report.contains("# skipped 0"), "{report}");

    // What the client says it settled is on the node, settled by insurer A.
    let out: Value = serde_json::from_str(&std::fs::read_to_string(out_path).unwrap()).unwrap();
    let nullifier = out["claim"]["public_inputs"]["nullifier"].as_str().unwrap();
    let record = server.get(&format!("/v1/claims/{nullifier}"));
    assert_eq!(record.status, 200, "{}", record.body);
    assert_eq!(record.body["insurer"], INSURER_A);
    assert_eq!(record.body["height"], out["settled"]["height"]);
    assert_eq!(server.height(), 2);
}
