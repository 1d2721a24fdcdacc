//! A consortium ledger replicated on a 3-member etcd cluster on loopback, with two zkclaim
//! nodes (spawned binaries) in front of it: double claims race through both nodes, the etcd
//! leader is killed mid-stream, a node is stopped and catches up.
//!
//! These tests need the `etcd` binary (Debian's `etcd-server`, which `.ci/run` installs).
//! Without it they say so and pass, except under CI (`CI` set), where they fail.

mod common;

use common::*;
use std::{
    collections::{BTreeMap, HashSet},
    sync::atomic::{AtomicBool, Ordering},
};

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
    let (a, b) = (node(&c, &etcd, 20), node(&c, &etcd, INSURER_A));
    let patients: Vec<Patient> = (0..3).map(|_| Patient::new()).collect();
    let claims = registered_claims(&c, &a, &patients);
    catch_up(&b, a.height());

    // Per claim, 16 settlements at once: two insurers' transactions (so they differ), each
    // posted to both nodes, four times over (each copy a request of its own, signed with its
    // own nonce: the same signed request twice would be a replay, refused at either node).
    let (insurer_a, insurer_b) = (c.key(INSURER_A), c.key(INSURER_B));
    let mut bodies = Vec::new();
    for claim in &claims {
        for (insurer, key) in [(INSURER_A, &insurer_a), (INSURER_B, &insurer_b)] {
            bodies.push((claim.public_inputs.nullifier, c.settle(claim, insurer), key));
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
    let (a, b) = (node(&c, &etcd, 20), node(&c, &etcd, INSURER_A));
    let patients: Vec<Patient> = (0..12).map(|_| Patient::new()).collect();
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
    let a = node(&c, &etcd, 20);
    let b = node(&c, &etcd, INSURER_A);
    let patients: Vec<Patient> = (0..2).map(|_| Patient::new()).collect();
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

/// etcd's JSON gateway, for writing behind the consortium's back.
fn etcd_call(etcd: &Etcd, path: &str, body: Value) -> Value {
    let url = format!("http://{}{path}", etcd.members[0].client);
    ureq::post(&url)
        .send_string(&body.to_string())
        .unwrap()
        .into_json()
        .unwrap()
}

#[test]
fn a_block_forged_in_etcd_stops_the_nodes_and_the_audit_names_it() {
    use base64::{engine::general_purpose::STANDARD as B64, Engine};

    let Some((etcd, c)) = cluster(1) else {
        return;
    };
    let a = node(&c, &etcd, 20);
    let patient = Patient::new();
    let claim = registered_claims(&c, &a, std::slice::from_ref(&patient)).remove(0);
    assert_eq!(a.height(), 1);

    // Someone with write access to etcd appends block 2: block 1's signed bytes again.
    let prefix = format!("zkclaim/{}/", c.chain_id);
    let key = |name: &str| B64.encode(format!("{prefix}{name}"));
    let block_1 = etcd_call(
        &etcd,
        "/v3/kv/range",
        json!({"key": key(&format!("block/{:020}", 1))}),
    );
    let bytes = block_1["kvs"][0]["value"].as_str().unwrap().to_owned();
    for (name, value) in [
        (format!("block/{:020}", 2), bytes),
        ("head".into(), B64.encode("2")),
    ] {
        etcd_call(
            &etcd,
            "/v3/kv/put",
            json!({"key": key(&name), "value": value}),
        );
    }

    // The node refuses it (its follower, or its committer losing height 2 to it): no more
    // writes, while reads keep the history it accepted.
    let insurer = c.key(INSURER_A);
    let refused = a.post_signed("/v1/claims", &c.settle(&claim, INSURER_A), &insurer);
    assert_eq!(refused.status, 500, "{}", refused.body);
    assert_eq!(a.height(), 1);
    assert_eq!(a.get("/v1/blocks/1").status, 200);

    // A node that starts now refuses to serve that history, and the audit names block 2.
    let url = etcd.url();
    for args in [
        &["serve", "--listen", "127.0.0.1:0", "--ledger", &url][..],
        &["audit", "--ledger", &url],
    ] {
        let (succeeded, printed) = zkclaim(&c, args);
        assert!(!succeeded, "{args:?}: {printed}");
        assert!(printed.contains("block 2"), "{args:?}: {printed}");
    }
}
