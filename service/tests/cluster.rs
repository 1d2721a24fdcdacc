//! A consortium ledger replicated on a 3-member etcd cluster on loopback, with two zkclaim
//! nodes (spawned binaries) in front of it: double claims race through both nodes, the etcd
//! leader is killed mid-stream, a node is stopped and catches up, a bad block written into
//! etcd costs one slot, and etcd is reached over TLS with authentication.
//!
//! These tests need the `etcd` binary (Debian's `etcd-server`, which `.ci/run` installs).
//! Without it they say so and pass, except under CI (`CI` set), where they fail.

mod common;

use common::*;
use std::{
    collections::{BTreeMap, HashSet},
    sync::atomic::{AtomicBool, Ordering},
};

/// New patients, one enrolled at each insurer of `insurers`, in DATA's registry before any
/// node starts: every node's replica of DATA holds their enrolments.
fn enrolled(c: &Consortium, insurers: &[u32]) -> Vec<Patient> {
    insurers
        .iter()
        .map(|insurer| {
            let mut patient = Patient::new();
            c.enroll_offline(&mut patient, *insurer);
            patient
        })
        .collect()
}

/// Registers each patient's invoice through `server` and proves each claim there.
fn registered_claims(c: &Consortium, server: &Server, patients: &[Patient]) -> Vec<ClaimPackage> {
    let hospital = c.key(HOSPITAL);
    for p in patients {
        let r = server.post_signed("/v1/invoices", &c.register(&p.invoice), &hospital);
        assert_eq!(r.status, 200, "{}", r.body);
    }
    patients
        .iter()
        .map(|p| {
            let r = server.post("/v1/proofs", &p.request());
            assert_eq!(r.status, 200, "{}", r.body);
            serde_json::from_value(r.body).unwrap()
        })
        .collect()
}

/// Waits until `server` has reached `height`.
fn catch_up(server: &Server, height: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.height() < height {
        assert!(Instant::now() < deadline, "the node stayed behind");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn head_hash(server: &Server) -> (u64, String) {
    let height = server.height();
    let block = server.get(&format!("/v1/blocks/{height}"));
    assert_eq!(block.status, 200, "{}", block.body);
    (height, block.body["hash"].as_str().unwrap().to_owned())
}

/// Runs the binary on the consortium's DATA to its end: whether it succeeded, and what it
/// printed (stdout, then stderr).
fn zkclaim(c: &Consortium, args: &[&str]) -> (bool, String) {
    let out = Command::new(BIN)
        .arg("--data")
        .arg(c.data.path())
        .args(args)
        .output()
        .unwrap();
    let printed =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), printed)
}

/// `zkclaim audit` replays the chain on the cluster and re-verifies every proof.
fn audit(c: &Consortium, etcd: &Etcd) -> String {
    let (passed, report) = zkclaim(c, &["audit", "--ledger", &etcd.url()]);
    assert!(passed, "{report}");
    report
}

/// Both nodes end at the same head hash, and the audit of the log, which replays every block
/// (a nullifier spent twice would fail it), counts `claims` claims.
fn assert_consistent(c: &Consortium, etcd: &Etcd, nodes: [&Server; 2], claims: usize) {
    let head = nodes[0].height().max(nodes[1].height());
    nodes.iter().for_each(|n| catch_up(n, head));
    assert_eq!(head_hash(nodes[0]), head_hash(nodes[1]));
    let report = audit(c, etcd);
    assert!(report.contains(&format!("{claims} claims")), "{report}");
}

/// Posts a signed settlement, retrying the same transaction after `Retry-After` while the
/// node answers 503 (the log is electing a leader): a retry must get the first receipt,
/// never a second settlement nor a duplicate error. (Each retry is signed again, with a new
/// nonce, so it is not a replayed request.)
fn settle_until_answered(server: &Server, body: &str, key: &MemberKey) -> Reply {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = server.post_signed("/v1/claims", body, key);
        if r.status != 503 || Instant::now() > deadline {
            return r;
        }
        assert_eq!(r.retry_after.as_deref(), Some("1"));
        std::thread::sleep(Duration::from_secs(1));
    }
}

#[test]
fn one_invoice_claimed_through_two_nodes_at_once_settles_exactly_once() {
    let Some((etcd, c)) = cluster(3) else {
        return;
    };
    let patients = enrolled(&c, &[INSURER_A; 3]);
    let (a, b) = (node(&c, &etcd, 20), node(&c, &etcd, INSURER_A));
    let claims = registered_claims(&c, &a, &patients);
    catch_up(&b, a.height());

    // Statement v2: insurer B cannot settle, and so spend, a claim made under A's policy,
    // through either node; the claim stays A's to settle.
    let nf = field::format(&claims[0].public_inputs.nullifier);
    for server in [&a, &b] {
        let r = server.post_signed(
            "/v1/claims",
            &c.settle(&claims[0], INSURER_B),
            &c.key(INSURER_B),
        );
        assert_eq!(r.status, 403, "{}", r.body);
        assert_eq!(r.body["error"]["code"], "wrong_insurer", "{}", r.body);
        assert_eq!(server.get(&format!("/v1/claims/{nf}")).status, 404);
    }

    // Per claim, 16 settlements at once: two proofs of it (so the insurer's transactions
    // differ), each posted to both nodes, four times over (each copy a request of its own,
    // signed with its own nonce: the same signed request twice would be a replay, refused at
    // either node).
    let insurer = c.key(INSURER_A);
    let mut bodies = Vec::new();
    for (claim, patient) in claims.iter().zip(&patients) {
        for proof in [claim.clone(), b.prove(patient)] {
            bodies.push((
                claim.public_inputs.nullifier,
                c.settle(&proof, INSURER_A),
                &insurer,
            ));
        }
    }
    let replies: Vec<(zkclaim_circuits::Fr, Reply)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .flat_map(|_| [&a, &b])
            .flat_map(|server| bodies.iter().map(move |b| (server, b)))
            .map(|(server, (nullifier, body, key))| {
                s.spawn(move || (*nullifier, server.post_signed("/v1/claims", body, key)))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });

    let mut receipts: BTreeMap<String, HashSet<String>> = BTreeMap::new();
    for (nullifier, r) in &replies {
        let nf = field::format(nullifier);
        match r.status {
            200 => {
                receipts
                    .entry(nf)
                    .or_default()
                    .insert(format!("{}/{}", r.body["height"], r.body["tx_index"]));
            }
            409 => assert_eq!(r.body["error"]["code"], "duplicate_claim", "{}", r.body),
            _ => panic!("unexpected answer {} {}", r.status, r.body),
        }
    }
    // Every claim settled, each in exactly one place; the winning transaction's copies all
    // got that one receipt.
    assert_eq!(receipts.len(), claims.len(), "{receipts:?}");
    assert!(receipts.values().all(|r| r.len() == 1), "{receipts:?}");

    catch_up(&a, b.height());
    catch_up(&b, a.height());
    for claim in &claims {
        let path = format!(
            "/v1/claims/{}",
            field::format(&claim.public_inputs.nullifier)
        );
        let (on_a, on_b) = (a.get(&path), b.get(&path));
        assert_eq!(on_a.status, 200);
        assert_eq!(on_a.body, on_b.body);
    }
    assert_consistent(&c, &etcd, [&a, &b], claims.len());
}

#[test]
fn killing_the_etcd_leader_loses_no_acknowledged_claim() {
    let Some((mut etcd, c)) = cluster(3) else {
        return;
    };
    // Every other patient insured by A, the others by B: each stream's claims.
    let patients = enrolled(&c, &[INSURER_A, INSURER_B].repeat(6));
    let (a, b) = (node(&c, &etcd, 20), node(&c, &etcd, INSURER_A));
    let claims = registered_claims(&c, &a, &patients);
    catch_up(&b, a.height());

    // Two insurers stream settlements, one through each node; the leader dies after the
    // first few are acknowledged.
    let killed = AtomicBool::new(false);
    let settled = std::sync::atomic::AtomicUsize::new(0);
    let (insurer_a, insurer_b) = (c.key(INSURER_A), c.key(INSURER_B));
    let leader = etcd.wait_for_leader(None);
    let (acknowledged, recovery) = std::thread::scope(|s| {
        let streams: Vec<_> = [(&a, INSURER_A, &insurer_a), (&b, INSURER_B, &insurer_b)]
            .into_iter()
            .enumerate()
            .map(|(half, (server, insurer, key))| {
                let (c, claims, settled, killed) = (&c, &claims, &settled, &killed);
                s.spawn(move || {
                    let mut acks = Vec::new();
                    for claim in claims.iter().skip(half).step_by(2) {
                        let r = settle_until_answered(server, &c.settle(claim, insurer), key);
                        assert_eq!(r.status, 200, "{}", r.body);
                        let after_kill = killed.load(Ordering::SeqCst);
                        acks.push((claim.public_inputs.nullifier, r.body, after_kill));
                        settled.fetch_add(1, Ordering::SeqCst);
                    }
                    acks
                })
            })
            .collect();
        while settled.load(Ordering::SeqCst) < 4 {
            std::thread::sleep(Duration::from_millis(5));
        }
        let killed_at = Instant::now();
        etcd.kill(leader);
        killed.store(true, Ordering::SeqCst);
        let before = settled.load(Ordering::SeqCst);
        let deadline = Instant::now() + Duration::from_secs(60);
        while settled.load(Ordering::SeqCst) == before && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        let recovery = killed_at.elapsed();
        let acks: Vec<_> = streams
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        (acks, recovery)
    });
    let new_leader = etcd.wait_for_leader(Some(leader));
    assert_ne!(new_leader, leader);
    assert_eq!(acknowledged.len(), claims.len());
    assert!(acknowledged.iter().any(|(_, _, after)| *after));
    eprintln!(
        "first settlement acknowledged {:.0} ms after the etcd leader was killed",
        recovery.as_secs_f64() * 1e3
    );

    // Every acknowledged claim is on both nodes, where its receipt said.
    let head = a.height().max(b.height());
    catch_up(&a, head);
    catch_up(&b, head);
    for (nullifier, receipt, _) in &acknowledged {
        let path = format!("/v1/claims/{}", field::format(nullifier));
        for server in [&a, &b] {
            let record = server.get(&path);
            assert_eq!(record.status, 200, "{}", record.body);
            assert_eq!(record.body["height"], receipt["height"]);
            assert_eq!(record.body["tx_index"], receipt["tx_index"]);
        }
    }
    assert_consistent(&c, &etcd, [&a, &b], claims.len());
}

#[test]
fn a_stopped_node_catches_up_when_it_returns() {
    let Some((etcd, c)) = cluster(3) else {
        return;
    };
    let patients = enrolled(&c, &[INSURER_A; 2]);
    let a = node(&c, &etcd, 20);
    let b = node(&c, &etcd, INSURER_A);
    let claims = registered_claims(&c, &a, &patients[..1]);
    catch_up(&b, a.height());
    assert!(b.terminate().success());

    // While b is down, a registers, proves and settles.
    let more = registered_claims(&c, &a, &patients[1..]);
    let insurer = c.key(INSURER_A);
    for claim in claims.iter().chain(&more) {
        let r = a.post_signed("/v1/claims", &c.settle(claim, INSURER_A), &insurer);
        assert_eq!(r.status, 200, "{}", r.body);
    }

    // Back, b replays the log (verifying every proof) and follows it again.
    let b = node(&c, &etcd, INSURER_A);
    catch_up(&b, a.height());
    assert_eq!(head_hash(&a), head_hash(&b));
    let hospital = c.key(HOSPITAL);
    let late = Patient::new();
    let r = a.post_signed("/v1/invoices", &c.register(&late.invoice), &hospital);
    assert_eq!(r.status, 200, "{}", r.body);
    catch_up(&b, r.body["height"].as_u64().unwrap());
    assert_eq!(head_hash(&a), head_hash(&b));
    // A retry of a settlement through the other node gets the first receipt.
    let again = b.post_signed("/v1/claims", &c.settle(&claims[0], INSURER_A), &insurer);
    assert_eq!(again.status, 200, "{}", again.body);
    let record = a.get(&format!(
        "/v1/claims/{}",
        field::format(&claims[0].public_inputs.nullifier)
    ));
    assert_eq!(record.body["height"], again.body["height"]);
}

/// The etcd key of slot `height` of the consortium's log.
fn slot_key(c: &Consortium, height: u64) -> String {
    use base64::{engine::general_purpose::STANDARD as B64, Engine};
    B64.encode(format!("zkclaim/{}/block/{height:020}", c.chain_id))
}

/// The bytes in slot `height`.
fn read_slot(etcd: &Etcd, c: &Consortium, height: u64) -> Vec<u8> {
    use base64::{engine::general_purpose::STANDARD as B64, Engine};
    let r = etcd.call("/v3/kv/range", json!({"key": slot_key(c, height)}));
    B64.decode(r.body["kvs"][0]["value"].as_str().unwrap())
        .unwrap()
}

/// Writes `bytes` into the empty slot `height` with the transaction a node would use, but
/// straight into etcd: what a member running other code can do.
fn write_slot(etcd: &Etcd, c: &Consortium, height: u64, bytes: &[u8]) {
    use base64::{engine::general_purpose::STANDARD as B64, Engine};
    let key = slot_key(c, height);
    let r = etcd.call(
        "/v3/kv/txn",
        json!({
            "compare": [{"key": key, "target": "CREATE", "result": "EQUAL", "create_revision": 0}],
            "success": [{"request_put": {"key": key, "value": B64.encode(bytes)}}],
        }),
    );
    assert_eq!(
        r.body["succeeded"], true,
        "slot {height} is taken: {}",
        r.body
    );
}

/// Waits until the node logging to `log` says it rejected the block in slot `height`.
fn rejected_in_log(log: &Path, height: u64) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let needle = format!("height={height} ");
        if let Some(line) = text
            .lines()
            .find(|l| l.contains("rejected the block") && l.contains(&needle))
        {
            return line.to_owned();
        }
        assert!(
            Instant::now() < deadline,
            "{} did not reject block {height}",
            log.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_bad_block_written_into_etcd_costs_one_slot_and_the_audit_names_its_proposer() {
    use zkclaim_ledger::{tx_root, Block, BlockHeader};

    let Some((etcd, c)) = cluster(1) else {
        return;
    };
    let logs = tempfile::tempdir().unwrap();
    let log = |name: &str| logs.path().join(name);
    let patients = enrolled(&c, &[INSURER_A, INSURER_B]);
    let nodes = [(20, "a.log"), (INSURER_A, "b.log")].map(|(proposer, name)| {
        let args = ["--ledger", &etcd.url(), "--proposer", &proposer.to_string()];
        c.serve_replica(&args, Some(&log(name)))
    });
    let [a, b] = &nodes;
    let claims = registered_claims(&c, a, &patients);
    catch_up(b, a.height());

    // Insurer B proposes the next block: signed, chained onto the head, every rule kept
    // but one: its claim of the first invoice pays one fen more than its proof says.
    let head = a.height();
    let last = Block::from_bytes(&read_slot(&etcd, &c, head))
        .unwrap()
        .header;
    let mut inflated = claims[0].clone();
    inflated.public_inputs.claim_amount += 1;
    let key = c.key(INSURER_B);
    let tx = Transaction::SettleClaim { claim: inflated }.sign(&c.chain_id, &key);
    let mut header = BlockHeader {
        height: head + 1,
        prev_hash: last.hash(),
        tx_root: tx_root(&[tx.id(&c.chain_id)]),
        invoice_root: last.invoice_root,
        settled_root: last.settled_root,
        time_ms: last.time_ms + 1,
        proposer: 0,
        signature: [0; 64],
    };
    header.sign(&key);
    let bad = Block {
        header,
        transactions: vec![tx],
    };
    write_slot(&etcd, &c, head + 1, &bad.to_bytes());

    // Both nodes reject it, naming insurer B, and go on: the first invoice's honest claim
    // settles through one node in the next slot, the second claim through the other.
    for name in ["a.log", "b.log"] {
        let line = rejected_in_log(&log(name), head + 1);
        assert!(
            line.contains("proposer=11") && line.contains("invalid proof"),
            "{line}"
        );
    }
    let settled = b.post_signed(
        "/v1/claims",
        &c.settle(&claims[0], INSURER_A),
        &c.key(INSURER_A),
    );
    assert_eq!(settled.status, 200, "{}", settled.body);
    assert_eq!(settled.body["height"], head + 2);
    let settled = a.post_signed("/v1/claims", &c.settle(&claims[1], INSURER_B), &key);
    assert_eq!(settled.status, 200, "{}", settled.body);

    // A write that is no member's block for its slot: block 1's bytes again. Skipped too.
    let copy = a.height().max(b.height()) + 1;
    catch_up(a, copy - 1);
    catch_up(b, copy - 1);
    write_slot(&etcd, &c, copy, &read_slot(&etcd, &c, 1));
    for name in ["a.log", "b.log"] {
        let line = rejected_in_log(&log(name), copy);
        assert!(!line.contains("proposer="), "{line}");
    }
    let late = Patient::new();
    let r = a.post_signed("/v1/invoices", &c.register(&late.invoice), &c.key(HOSPITAL));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["height"], copy + 1);

    // The nodes agree, and serve no rejected block; a node that starts now replays the log,
    // rejections included, to the same head.
    let third = node(&c, &etcd, INSURER_B);
    for server in [a, b, &third] {
        catch_up(server, copy + 1);
        assert_eq!(head_hash(server), head_hash(a));
        for rejected in [head + 1, copy] {
            assert_eq!(server.get(&format!("/v1/blocks/{rejected}")).status, 404);
        }
    }
    let report = audit(&c, &etcd);
    for expected in [
        "2 claims".to_owned(),
        "2 rejected blocks".into(),
        format!(
            "block {}: proposed by member 11 (Insurer B): transaction 0: invalid proof",
            head + 1
        ),
        format!("block {copy}: no member's signature for this slot: header says height 1"),
    ] {
        assert!(report.contains(&expected), "{expected:?} in {report}");
    }
}

#[test]
fn the_ledger_reaches_etcd_over_tls_with_authentication() {
    if !installed("etcd", "etcd-server") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name);
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    std::fs::write(path("ca.pem"), cert.cert.pem()).unwrap();
    std::fs::write(path("key.pem"), cert.key_pair.serialize_pem()).unwrap();
    let tls = Tls {
        cert: path("ca.pem"),
        key: path("key.pem"),
    };
    let mut etcd = Etcd::launch(1, Some(&tls));

    // Authentication on: etcd's root user first, then a user for the consortium's nodes
    // that may read and write under their prefix and nothing else.
    use base64::{engine::general_purpose::STANDARD as B64, Engine};
    let (prefix, after) = (B64.encode("zkclaim/"), B64.encode("zkclaim0"));
    for (route, body) in [
        ("role/add", json!({"name": "root"})),
        (
            "user/add",
            json!({"name": "root", "password": "root password"}),
        ),
        ("user/grant", json!({"user": "root", "role": "root"})),
        ("role/add", json!({"name": "zkclaim"})),
        (
            "role/grant",
            json!({"name": "zkclaim", "perm": {"permType": "READWRITE", "key": prefix, "range_end": after}}),
        ),
        (
            "user/add",
            json!({"name": "zkclaim", "password": "node password"}),
        ),
        ("user/grant", json!({"user": "zkclaim", "role": "zkclaim"})),
        ("enable", json!({})),
    ] {
        let r = etcd.call(&format!("/v3/auth/{route}"), body);
        assert_eq!(r.status, 200, "{route}: {}", r.body);
    }
    let anonymous = etcd.call("/v3/kv/range", json!({"key": prefix}));
    assert_eq!(anonymous.status, 400, "{}", anonymous.body);

    std::fs::write(path("password"), "node password\n").unwrap();
    std::fs::write(path("wrong"), "guess\n").unwrap();
    let host = &etcd.members[0].client;
    let url = |scheme: &str, query: &str| format!("{scheme}://zkclaim@{host}/zkclaim?{query}");
    let (ca, password) = (path("ca.pem"), path("password"));
    let (ca, password) = (ca.display(), password.display());
    let good = url("etcds", &format!("ca={ca}&password_file={password}"));

    // Refused: no TLS; a certificate not trusted; a wrong password.
    let c = Consortium::init();
    let wrong = path("wrong");
    for (ledger, why) in [
        (
            url("etcd", &format!("password_file={password}")),
            "unavailable",
        ),
        (
            url("etcds", &format!("password_file={password}")),
            "UnknownIssuer",
        ),
        (
            url(
                "etcds",
                &format!("ca={ca}&password_file={}", wrong.display()),
            ),
            "authentication failed",
        ),
    ] {
        let (passed, printed) = zkclaim(&c, &["audit", "--ledger", &ledger]);
        assert!(!passed && printed.contains(why), "{ledger}: {printed}");
        assert!(!printed.contains("node password"), "{printed}");
    }

    // A node on TLS and authentication registers, proves and settles.
    let patients = enrolled(&c, &[INSURER_A; 2]);
    let a = c.serve(&["--ledger", &good, "--proposer", "20"], None);
    let claims = registered_claims(&c, &a, &patients);
    let insurer = c.key(INSURER_A);
    let r = a.post_signed("/v1/claims", &c.settle(&claims[0], INSURER_A), &insurer);
    assert_eq!(r.status, 200, "{}", r.body);

    // etcd restarts, forgetting every token it issued: the node buys a new one.
    etcd.restart(0);
    let r = a.post_signed("/v1/claims", &c.settle(&claims[1], INSURER_A), &insurer);
    assert_eq!(r.status, 200, "{}", r.body);
    let (passed, report) = zkclaim(&c, &["audit", "--ledger", &good]);
    assert!(passed && report.contains("2 claims"), "{report}");
}
