//! Statement v2 through the binary: hospitals void invoices (HTTP and the command line, on a
//! node and on DATA's ledger), a hospital over its quota of registration blocks is told when
//! to retry, and a proof's root by default follows its invoice's block by `min_root_lag`
//! registrations by other hospitals (docs/protocol.md, "Voided invoices", "Root choice").
//! Runs on etcd too when `ZKCLAIM_TEST_ETCD` names a cluster (`.ci/run`).

mod common;

use common::*;

fn void_body(c: &Consortium, commitment: &str, member: u32) -> String {
    let commitment = field::parse(commitment).unwrap();
    let stx = Transaction::VoidInvoice { commitment }.sign(&c.chain_id, &c.key(member));
    serde_json::to_string(&stx).unwrap()
}

fn commitment(invoice: &Invoice) -> String {
    field::format(&invoice.commitment(8).unwrap())
}

#[test]
fn only_the_registering_hospital_voids_and_a_voided_invoice_is_gone_for_good() {
    let c = Consortium::init();
    let server = c.serve(&[], None);
    let patient = c.registered_patient(&server);
    let voided = commitment(&patient.invoice);
    let post_void = |member: u32| {
        server.post_signed(
            "/v1/invoices/void",
            &void_body(&c, &voided, member),
            &c.key(member),
        )
    };
    assert_refused(&post_void(HOSPITAL_B), 403, "not_registrant", "member 1");
    assert_refused(&post_void(INSURER_A), 403, "wrong_role", "hospital role");
    let answer = post_void(HOSPITAL);
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["leaf_index"], 0);
    assert_eq!(answer.body["claimable_for_ms"], 600_000);
    let height = answer.body["height"].as_u64().unwrap();
    let block = format!("block {height}");
    assert_refused(&post_void(HOSPITAL_B), 409, "already_voided", &block);
    let again = server.post_signed(
        "/v1/invoices",
        &c.register(&patient.invoice),
        &c.key(HOSPITAL),
    );
    assert_refused(&again, 409, "voided_commitment", &block);
    assert_refused(&server.get("/v1/paths/0"), 410, "voided_leaf", &block);
    assert_refused(
        &server.post("/v1/proofs", &patient.request()),
        410,
        "voided_leaf",
        &block,
    );
    let never = commitment(&Patient::new().invoice);
    let unknown = server.post_signed(
        "/v1/invoices/void",
        &void_body(&c, &never, HOSPITAL),
        &c.key(HOSPITAL),
    );
    assert_refused(&unknown, 404, "unregistered_commitment", "not registered");

    // The command line, through the node: by invoice file, or by commitment.
    let dir = tempfile::tempdir().unwrap();
    let remote = |args: &[&str]| c.zkclaim(&[&["--server", &server.base, "--json"], args].concat());
    let second = Patient::new();
    let [invoice, ..] = second.write(dir.path());
    let invoice = invoice.display().to_string();
    succeeded(remote(&["invoice", "register", "--member", "1", &invoice]));
    refused(
        remote(&["invoice", "void", "--member", "2", &invoice]),
        "not_registrant",
        "only the hospital that registered",
    );
    let out: Value = serde_json::from_str(&succeeded(remote(&[
        "invoice", "void", "--member", "1", &invoice,
    ])))
    .unwrap();
    assert_eq!(out["leaf_index"], 1, "{out}");
    refused(
        remote(&["invoice", "register", "--member", "1", &invoice]),
        "voided_commitment",
        "can never be registered again",
    );
    let metrics = server.get("/metrics").body;
    assert!(
        metrics
            .as_str()
            .unwrap()
            .contains("zkclaim_invoices_voided_total 2"),
        "{metrics}"
    );
    // A path of a leaf that is not voided leads to the current root.
    let third = c.registered_patient(&server);
    let path = server.get("/v1/paths/2");
    assert_eq!(path.status, 200, "{}", path.body);
    assert_eq!(path.body["root"], server.get("/v1/roots").body["root"]);
    drop(server);

    // The command line on DATA's ledger, without a node: the same rules, and the audit
    // replays the voids.
    let local = |args: &[&str]| c.zkclaim(&[&["--json"][..], args, &c.ledger_args()[..]].concat());
    let third_commitment = commitment(&third.invoice);
    refused(
        local(&[
            "invoice",
            "void",
            "--member",
            "2",
            "--commitment",
            &third_commitment,
        ]),
        "not_registrant",
        "member 1",
    );
    succeeded(local(&[
        "invoice",
        "void",
        "--member",
        "1",
        "--commitment",
        &third_commitment,
    ]));
    refused(
        local(&[
            "invoice",
            "void",
            "--member",
            "2",
            "--commitment",
            &third_commitment,
        ]),
        "already_voided",
        "already voided",
    );
    let audit: Value = serde_json::from_str(&succeeded(local(&["audit"]))).unwrap();
    assert_eq!(
        (&audit["invoices"], &audit["voided"]),
        (&3.into(), &3.into()),
        "{audit}"
    );
}

#[test]
fn a_hospital_over_its_quota_of_registration_blocks_is_told_when_to_retry() {
    let c = Consortium::init();
    // Two blocks per root_max_age per hospital (K = 65,536 holds far more).
    let path = c.data.path().join("consortium/genesis.json");
    let mut genesis: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    genesis["hospital_root_quota"] = 2.into();
    std::fs::write(&path, genesis.to_string()).unwrap();
    let server = c.serve(&[], None);
    for _ in 0..2 {
        c.registered_patient(&server);
    }
    let third = Patient::new();
    let refused_http = server.post_signed(
        "/v1/invoices",
        &c.register(&third.invoice),
        &c.key(HOSPITAL),
    );
    assert_refused(&refused_http, 429, "hospital_rate_limited", "retry in");
    let wait: u64 = refused_http
        .retry_after
        .as_deref()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=601).contains(&wait), "Retry-After {wait}");
    // The quota is the hospital's own: another registers at once.
    let other = server.post_signed(
        "/v1/invoices",
        &c.register_by(&third.invoice, HOSPITAL_B),
        &c.key(HOSPITAL_B),
    );
    assert_eq!(other.status, 200, "{}", other.body);
    let dir = tempfile::tempdir().unwrap();
    let [invoice, ..] = Patient::new().write(dir.path());
    refused(
        c.zkclaim(&[
            "--server",
            &server.base,
            "--json",
            "invoice",
            "register",
            "--member",
            "1",
            invoice.to_str().unwrap(),
        ]),
        "hospital_rate_limited",
        "retry in",
    );
}

/// The block whose header first carries `root`, and the registrations by members other than
/// `hospital` in blocks after `after` up to it.
fn root_block(server: &Server, root: &str, after: u64, hospital: u32) -> (u64, usize) {
    let mut others = 0;
    for height in after + 1..=server.height() {
        let block = server.get(&format!("/v1/blocks/{height}"));
        assert_eq!(block.status, 200, "{}", block.body);
        for tx in block.body["transactions"].as_array().unwrap() {
            let tx = &tx["transaction"];
            if tx["tx"]["register_invoice"].is_object() && tx["signer"] != hospital {
                others += 1;
            }
        }
        if block.body["invoice_root"] == root {
            return (height, others);
        }
    }
    panic!("no block after {after} produced the root {root}");
}

#[test]
fn by_default_a_proofs_root_follows_its_invoice_by_min_root_lag_other_registrations() {
    const LAG: usize = 3;
    let c = Consortium::init();
    let server = c.serve(&["--min-root-lag", "3", "--root-wait-ms", "60000"], None);
    let patient = c.registered_patient(&server);
    let registered_at = server.height();
    let registration_root = server.get("/v1/roots").body["root"].clone();
    // The patient's own hospital registering more hides nothing: it is the same hospital.
    c.registered_patient(&server);
    let request = patient.request();
    let url = format!("{}/v1/proofs", server.base);
    let proving = std::thread::spawn(move || {
        reply(
            agent(None)
                .post(&url)
                .set("content-type", "application/json")
                .send_string(&request),
        )
    });
    std::thread::sleep(Duration::from_millis(1_500));
    assert!(
        !proving.is_finished(),
        "proved before any other hospital registered"
    );
    for _ in 0..LAG {
        let other = Patient::new();
        let r = server.post_signed(
            "/v1/invoices",
            &c.register_by(&other.invoice, HOSPITAL_B),
            &c.key(HOSPITAL_B),
        );
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let proved = proving.join().unwrap();
    assert_eq!(proved.status, 200, "{}", proved.body);
    let root = proved.body["public_inputs"]["invoice_root"]
        .as_str()
        .unwrap();
    assert_ne!(registration_root, root);
    let (height, others) = root_block(&server, root, registered_at, HOSPITAL);
    assert!(height > registered_at);
    assert!(others >= LAG, "{others} registrations by other hospitals");

    // Claiming now: the root is the block that registered the invoice.
    let hurried = c.registered_patient(&server);
    let at = server.height();
    let mut request: Value = serde_json::from_str(&hurried.request()).unwrap();
    request["claim_now"] = true.into();
    let now = server.post("/v1/proofs", &request.to_string());
    assert_eq!(now.status, 200, "{}", now.body);
    let root = now.body["public_inputs"]["invoice_root"].as_str().unwrap();
    assert_eq!(root_block(&server, root, at - 1, HOSPITAL), (at, 0));
    // A proof job does not wait: too fresh a root is refused at once, saying why.
    let job = server.post("/v1/proofs/jobs", &hurried.request());
    assert_refused(
        &job,
        503,
        "root_too_fresh",
        "0 registrations by other hospitals",
    );
    assert!(job.retry_after.is_some());
    let path = server.get(&format!("/v1/paths/{}", 2 + LAG));
    assert_eq!(path.body["later_by_others"], 0, "{}", path.body);
    assert_eq!(server.get("/v1/paths/0").body["later_by_others"], LAG);
    drop(server);

    // `zkclaim prove` on DATA's ledger: no one else can register while it waits, so a
    // root too fresh is refused at once; --claim-now proves.
    let dir = tempfile::tempdir().unwrap();
    let mut args = hurried.prove_command(dir.path());
    // (On etcd, nodes of other members could register meanwhile: it waits, here 1 s.)
    args.extend(["--min-root-lag", "3", "--root-wait", "1", "--json"].map(String::from));
    args.extend(c.ledger_args().iter().map(|s| s.to_string()));
    refused(c.zkclaim(&args), "root_too_fresh", "claim now");
    args.push("--claim-now".into());
    succeeded(c.zkclaim(&args));
}
