//! Statement v2's continuation claims through the binary: after an invoice's primary claim
//! settled at insurer A, the patient claims what is left at insurer B with the continuation
//! circuit, proving the primary claim's leaf is in the ledger's settled tree
//! (docs/protocol.md, "Continuation claims"): on DATA's ledger with the command line, on a
//! node over HTTP, and raced through two nodes over one etcd cluster.
//! The HTTP test runs on etcd too when `ZKCLAIM_TEST_ETCD` names a cluster (`.ci/run`).

mod common;

use common::*;
use zkclaim_circuits::{settled, Circuit};
use zkclaim_verifier::{ClaimVerifyingKey, ContinuationPackage};

/// The sample invoice's total, in fen: two items of 9,700 and 10,000.
const TOTAL: u64 = 19_700;
/// What the sample policy pays of it: 80% above a deductible of 10,000.
const PRIMARY_PAYS: u64 = 7_760;

/// Makes `patient`'s policy terms insurer B's for the rest of the invoice: no deductible,
/// 100%, so that the continuation pays all that is left and the invoice is then fully
/// reimbursed.
fn full_cover(patient: &mut Patient) {
    patient.policy.deductible = 0;
    patient.policy.rate_bp = 10_000;
}

/// A proof request for the next rank after `previous` (the packages' JSON, rank order).
fn continuation_request(patient: &Patient, previous: &[Value]) -> String {
    let mut request: Value = serde_json::from_str(&patient.request()).unwrap();
    request["previous"] = json!(previous);
    request.to_string()
}

fn json_of(out: Output) -> Value {
    serde_json::from_str(&succeeded(out)).unwrap()
}

fn read(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn a_continuation_on_the_embedded_ledger_pays_what_is_left_once_and_only_at_its_insurer() {
    let c = Consortium::init();
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| c.zkclaim(&[&["--json"][..], args, &c.ledger_args()[..]].concat());
    let path = |name: &str| dir.path().join(name).display().to_string();

    let mut patient = Patient::new();
    c.enroll_offline(&mut patient, INSURER_A);
    let prove = patient.prove_command(dir.path());
    let [invoice, ..] = patient.write(dir.path());
    succeeded(run(&[
        "invoice",
        "register",
        "--member",
        "1",
        &invoice.display().to_string(),
    ]));
    let primary = path("claim.json");
    succeeded(run(&strs(&prove)));
    // Insurer B's policy, in a file of its own.
    full_cover(&mut patient);
    c.enroll_offline(&mut patient, INSURER_B);
    let policy_b = path("policy-b.json");
    std::fs::write(&policy_b, serde_json::to_string(&patient.policy).unwrap()).unwrap();
    let policy_at = prove.iter().position(|a| a == "--policy").unwrap() + 1;
    let policy_a = prove[policy_at].clone();
    let out_at = prove.iter().position(|a| a == "--out").unwrap() + 1;
    // `prove --policy POLICY --out OUT --continue PREVIOUS…`
    let continue_as = |out: &str, policy: &str, previous: &[&str]| {
        let mut args = prove.clone();
        args[policy_at] = policy.to_owned();
        args[out_at] = path(out);
        for p in previous {
            args.extend(["--continue".to_owned(), p.to_string()]);
        }
        run(&strs(&args))
    };

    // Before the primary claim settles, there is nothing to continue.
    refused(
        continue_as("early.json", &policy_b, &[&primary]),
        "previous_not_settled",
        "is not settled on the ledger",
    );
    let settled = json_of(run(&["claim", "settle", &primary, "--member", "10"]));
    assert_eq!(settled["claim_amount"], PRIMARY_PAYS, "{settled}");

    // Two proofs of rank 1 (each with its own randomness), made before either settles.
    succeeded(continue_as("rank1.json", &policy_b, &[&primary]));
    succeeded(continue_as("rank1-again.json", &policy_b, &[&primary]));
    let rank1 = read(&dir.path().join("rank1.json"));
    let public = &rank1["public_inputs"];
    assert_eq!(public["insurer_id"], INSURER_B, "{rank1}");
    let valid = json_of(c.zkclaim(&["--json", "verify", &path("rank1.json")]));
    assert_eq!(valid["circuit"], "continuation", "{valid}");
    assert_eq!(valid["valid"], true, "{valid}");

    // Only its insurer settles it: not A, whose claim the previous rank was.
    refused(
        run(&["claim", "settle", &path("rank1.json"), "--member", "10"]),
        "wrong_insurer",
        "only that insurer may settle",
    );
    let settled = json_of(run(&[
        "claim",
        "settle",
        &path("rank1.json"),
        "--member",
        "11",
    ]));
    // B pays what is left, and no more: the two payments add up to the invoice's total.
    let paid_by_b = settled["claim_amount"].as_u64().unwrap();
    assert_eq!(paid_by_b, TOTAL - PRIMARY_PAYS, "{settled}");
    assert!(PRIMARY_PAYS + paid_by_b <= TOTAL);
    let nullifier = public["nullifier"].as_str().unwrap();
    let status = json_of(run(&["claim", "status", nullifier, "--insurer", "11"]));
    assert_eq!(status["status"], "settled", "{status}");
    // The same rank again, in another proof: its nullifier is spent.
    refused(
        run(&[
            "claim",
            "settle",
            &path("rank1-again.json"),
            "--member",
            "11",
        ]),
        "duplicate_claim",
        "already claimed",
    );
    // A third payment: nothing is left, and no proof is made.
    refused(
        continue_as("rank2.json", &policy_a, &[&primary, &path("rank1.json")]),
        "fully_reimbursed",
        "fully reimbursed",
    );
    assert!(!dir.path().join("rank2.json").exists());

    // The ledger serves the continuation as it settled it.
    let shown = json_of(run(&["claim", "show", nullifier]));
    assert_eq!(shown["insurer"], INSURER_B, "{shown}");
    assert_eq!(shown["claim"], rank1, "{shown}");
    let audit = json_of(run(&["audit"]));
    assert_eq!(audit["claims"], 2, "{audit}");
}

#[test]
fn a_node_proves_a_continuation_serves_its_settled_path_and_its_insurer_takes_it() {
    let c = Consortium::init();
    let server = c.serve(&["--insurer", "11"], None);
    let mut patient = c.enrolled_patient(&server);
    let primary = server.prove(&patient);
    let primary_json = serde_json::to_value(&primary).unwrap();
    full_cover(&mut patient);
    c.enroll(&server, &mut patient, INSURER_B);
    let request = continuation_request(&patient, std::slice::from_ref(&primary_json));

    let leaf = field::format(&settled::primary_leaf(&primary.public_inputs));
    let path_of = |leaf: &str| server.get(&format!("/v1/settled/{leaf}/path"));
    assert_refused(&path_of(&leaf), 404, "not_found", "no settled claim");
    assert_refused(
        &server.post("/v1/proofs", &request),
        409,
        "previous_not_settled",
        "not settled",
    );
    let settled = server.post_signed(
        "/v1/claims",
        &c.settle(&primary, INSURER_A),
        &c.key(INSURER_A),
    );
    assert_eq!(settled.status, 200, "{}", settled.body);

    // The settled path leads to the ledger's settled root, which the continuation proves
    // against.
    let at = path_of(&leaf);
    assert_eq!(at.status, 200, "{}", at.body);
    assert_eq!(at.body["index"], 0, "{}", at.body);
    let roots = server.get("/v1/roots").body;
    assert_eq!(at.body["root"], roots["settled_root"], "{roots}");
    let proved = server.post("/v1/proofs", &request);
    assert_eq!(proved.status, 200, "{}", proved.body);
    let package: ContinuationPackage = serde_json::from_value(proved.body).unwrap();
    assert_eq!(
        field::format(&package.public_inputs.settled_root),
        at.body["root"].as_str().unwrap()
    );
    let key = server.get("/v1/verifying-key?circuit=continuation").body;
    let genesis = Genesis::load(&c.data.path().join("consortium/genesis.json")).unwrap();
    let pinned = genesis
        .continuation
        .expect("consortium init pins the continuation circuit");
    assert_eq!(key["digest"], hex::encode(pinned.verifying_key_digest));
    let key = hex::decode(key["key"].as_str().unwrap()).unwrap();
    let key = ClaimVerifyingKey::from_bytes_for(Circuit::Continuation, &key).unwrap();
    package.verify(&key.prepare()).unwrap();

    // The command line verifies it with the node's continuation key, pinned by DATA's
    // genesis.
    let files = tempfile::tempdir().unwrap();
    let file = files.path().join("rank1.json");
    std::fs::write(&file, serde_json::to_string(&package).unwrap()).unwrap();
    let file = file.display().to_string();
    let remote =
        |args: &[&str]| c.zkclaim(&[&["--json", "--server", &server.base][..], args].concat());
    let valid = json_of(remote(&["verify", &file]));
    assert_eq!(valid["circuit"], "continuation", "{valid}");

    // Insurer B's intake settles it, once: handed in again, by the command line, the same
    // receipt.
    let body = serde_json::to_string(&package).unwrap();
    let taken = server.post("/v1/intake", &body);
    assert_eq!(taken.status, 200, "{}", taken.body);
    assert_eq!(taken.body["claim_amount"], TOTAL - PRIMARY_PAYS);
    assert_eq!(json_of(remote(&["claim", "submit", &file])), taken.body);
    let nullifier = field::format(&package.public_inputs.nullifier);
    let on_ledger = server.get(&format!("/v1/claims/{nullifier}"));
    assert_eq!(on_ledger.status, 200, "{}", on_ledger.body);
    assert_eq!(on_ledger.body["insurer"], INSURER_B);
    assert_eq!(
        on_ledger.body["claim"],
        serde_json::to_value(&package).unwrap()
    );
    let status = server.get(&format!("/v1/intake/{nullifier}"));
    assert_eq!(status.body["status"], "settled", "{}", status.body);
    // Its own leaf is in the settled tree now, after the primary claim's.
    let own = field::format(&package.public_inputs.settled_leaf);
    assert_eq!(path_of(&own).body["index"], 1);

    // The invoice is fully reimbursed: a next rank is refused before it is queued.
    let previous = [primary_json, serde_json::to_value(&package).unwrap()];
    let job = server.post(
        "/v1/proofs/jobs",
        &continuation_request(&patient, &previous),
    );
    assert_refused(&job, 422, "fully_reimbursed", "fully reimbursed");
    // So does `prove --continue` through the node.
    let dir = tempfile::tempdir().unwrap();
    let mut prove = patient.prove_command(dir.path());
    for (i, package) in previous.iter().enumerate() {
        let file = dir.path().join(format!("rank{i}.json"));
        std::fs::write(&file, package.to_string()).unwrap();
        prove.extend(["--continue".to_owned(), file.display().to_string()]);
    }
    let remote = [&["--json", "--server", &server.base][..], &strs(&prove)].concat();
    refused(c.zkclaim(&remote), "fully_reimbursed", "fully reimbursed");
    // The continuation rank proved again is a spent nullifier.
    assert_refused(
        &server.post("/v1/proofs", &request),
        409,
        "already_claimed",
        "already claimed",
    );
}

#[test]
fn one_continuation_raced_through_two_nodes_on_etcd_settles_once() {
    let Some((etcd, c)) = cluster(1) else {
        return;
    };
    let mut patient = Patient::new();
    c.enroll_offline(&mut patient, INSURER_A);
    let policy_a = patient.policy.clone();
    full_cover(&mut patient);
    c.enroll_offline(&mut patient, INSURER_B);
    let policy_b = std::mem::replace(&mut patient.policy, policy_a);
    let (a, b) = (node(&c, &etcd, 20), node(&c, &etcd, INSURER_B));
    let registered = a.post_signed(
        "/v1/invoices",
        &c.register(&patient.invoice),
        &c.key(HOSPITAL),
    );
    assert_eq!(registered.status, 200, "{}", registered.body);
    let primary = a.prove(&patient);
    let settled = a.post_signed(
        "/v1/claims",
        &c.settle(&primary, INSURER_A),
        &c.key(INSURER_A),
    );
    assert_eq!(settled.status, 200, "{}", settled.body);
    let height = a.height();
    let deadline = Instant::now() + Duration::from_secs(30);
    while b.height() < height {
        assert!(Instant::now() < deadline, "node b stayed behind");
        std::thread::sleep(Duration::from_millis(20));
    }

    // Two proofs of rank 1, one from each node; each settlement posted to both nodes at
    // once, twice over (each a request of its own, signed with its own nonce).
    patient.policy = policy_b;
    let request = continuation_request(&patient, &[serde_json::to_value(&primary).unwrap()]);
    let insurer = c.key(INSURER_B);
    let bodies: Vec<String> = [&a, &b]
        .iter()
        .map(|server| {
            let r = server.post("/v1/proofs", &request);
            assert_eq!(r.status, 200, "{}", r.body);
            let package: ContinuationPackage = serde_json::from_value(r.body).unwrap();
            let stx =
                Transaction::SettleContinuation { claim: package }.sign(&c.chain_id, &insurer);
            serde_json::to_string(&stx).unwrap()
        })
        .collect();
    let replies: Vec<Reply> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .flat_map(|_| [&a, &b])
            .flat_map(|server| bodies.iter().map(move |body| (server, body)))
            .map(|(server, body)| {
                let insurer = &insurer;
                s.spawn(move || server.post_signed("/v1/claims", body, insurer))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut receipts = std::collections::HashSet::new();
    for r in &replies {
        match r.status {
            200 => {
                assert_eq!(r.body["claim_amount"], TOTAL - PRIMARY_PAYS);
                receipts.insert(format!("{}/{}", r.body["height"], r.body["tx_index"]));
            }
            409 => assert_eq!(r.body["error"]["code"], "duplicate_claim", "{}", r.body),
            _ => panic!("unexpected answer {} {}", r.status, r.body),
        }
    }
    assert_eq!(receipts.len(), 1, "{receipts:?}");

    // The log's audit replays it: two claims, the continuation's nullifier spent once.
    let out = Command::new(BIN)
        .arg("--data")
        .arg(c.data.path())
        .args(["--json", "audit", "--ledger", &etcd.url()])
        .output()
        .unwrap();
    let audit: Value = serde_json::from_str(&succeeded(out)).unwrap();
    assert_eq!(audit["claims"], 2, "{audit}");
}

#[test]
fn by_default_a_continuations_settled_root_follows_the_previous_rank_by_min_root_lag_settlements() {
    let c = Consortium::init();
    let server = c.serve(&["--min-root-lag", "1"], None);
    let mut patient = c.enrolled_patient(&server);
    let other = c.enrolled_patient(&server);
    // A registration by the other hospital hides both invoices' block.
    let hiding = server.post_signed(
        "/v1/invoices",
        &c.register_by(&Patient::new().invoice, HOSPITAL_B),
        &c.key(HOSPITAL_B),
    );
    assert_eq!(hiding.status, 200, "{}", hiding.body);
    let primary = server.prove(&patient);
    let settle = |claim: &ClaimPackage| {
        let r = server.post_signed("/v1/claims", &c.settle(claim, INSURER_A), &c.key(INSURER_A));
        assert_eq!(r.status, 200, "{}", r.body);
    };
    settle(&primary);
    let primary_root = server.get("/v1/roots").body["settled_root"].clone();
    full_cover(&mut patient);
    c.enroll(&server, &mut patient, INSURER_B);
    let request = continuation_request(&patient, &[serde_json::to_value(&primary).unwrap()]);

    // No claim settled after the primary's block: its settled root would point at that
    // block. A proof job does not wait: refused at once, saying why.
    let job = server.post("/v1/proofs/jobs", &request);
    assert_refused(&job, 503, "root_too_fresh", "followed by 0 settlements");
    // Claiming now proves against that very root.
    let mut now: Value = serde_json::from_str(&request).unwrap();
    now["claim_now"] = true.into();
    let hurried = server.post("/v1/proofs", &now.to_string());
    assert_eq!(hurried.status, 200, "{}", hurried.body);
    assert_eq!(hurried.body["public_inputs"]["settled_root"], primary_root);

    // Once another claim settled in a later block, the default choice proves, against a
    // settled root that is not the primary's block's.
    settle(&server.prove(&other));
    let proved = server.post("/v1/proofs", &request);
    assert_eq!(proved.status, 200, "{}", proved.body);
    let root = &proved.body["public_inputs"]["settled_root"];
    assert_ne!(*root, primary_root);
    assert_eq!(*root, server.get("/v1/roots").body["settled_root"]);
}

#[test]
fn a_genesis_assembled_from_digests_pins_the_continuation_circuit() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| zkclaim(dir.path(), args);
    let keygen = [
        "member",
        "keygen",
        "--id",
        "10",
        "--role",
        "insurer",
        "--name",
        "Insurer A",
    ];
    let members = dir.path().join("insurer.json");
    std::fs::write(&members, succeeded(run(&keygen))).unwrap();
    let members = members.display().to_string();
    let (vk, continuation_vk, continuation_pk) =
        ("11".repeat(32), "22".repeat(32), "33".repeat(32));
    let genesis = |out: &str, extra: &[&str]| {
        let out = dir.path().join(out).display().to_string();
        let base = [
            "consortium",
            "genesis",
            "--chain-id",
            "zkclaim-test",
            "--members",
            &members,
            "--out",
            &out,
        ];
        (run(&[&base[..], extra].concat()), out)
    };
    let (written, out) = genesis(
        "genesis.json",
        &[
            "--vk-digest",
            &vk,
            "--continuation-vk-digest",
            &continuation_vk,
            "--continuation-pk-digest",
            &continuation_pk,
        ],
    );
    succeeded(written);
    let pin = Genesis::load(Path::new(&out))
        .unwrap()
        .continuation
        .unwrap();
    assert_eq!(hex::encode(pin.verifying_key_digest), continuation_vk);
    assert_eq!(
        pin.proving_key_digest.map(hex::encode),
        Some(continuation_pk)
    );
    // Without it, the consortium takes no continuations; the flag goes with --vk-digest.
    let (written, out) = genesis("primary-only.json", &["--vk-digest", &vk]);
    succeeded(written);
    assert_eq!(Genesis::load(Path::new(&out)).unwrap().continuation, None);
    let (refused, _) = genesis(
        "refused.json",
        &["--continuation-vk-digest", &continuation_vk],
    );
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
}
