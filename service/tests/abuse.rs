//! `zkclaim serve` under abuse: abandoned and spent proof requests, per-client limits, the
//! operator's token and proof-of-work requirements, and refusals that never echo a value.

mod common;

use common::*;
use std::io::Write;

/// A metric's value on the node's `/metrics` (0 while the series does not exist yet).
fn metric(server: &Server, series: &str) -> u64 {
    let text = server.get("/metrics").body;
    let text = text.as_str().unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0, |value| value.parse().unwrap())
}

fn proofs_computed(server: &Server) -> u64 {
    metric(server, "zkclaim_proof_seconds_count")
}

fn refusals(server: &Server, reason: &str) -> u64 {
    metric(
        server,
        &format!("zkclaim_rejections_total{{reason=\"{reason}\"}}"),
    )
}

/// Registers each patient's invoice through hospital 1.
fn register(c: &Consortium, server: &Server, patients: &[&Patient]) {
    for p in patients {
        let r = server.post_signed("/v1/invoices", &c.register(&p.invoice), &c.key(HOSPITAL));
        assert_eq!(r.status, 200, "{}", r.body);
    }
}

/// Sends a proof request on a connection of its own and hangs up after `patience` without
/// reading the answer: a client that gave up.
fn abandon(base: &str, body: &str, patience: Duration) {
    let address = base.strip_prefix("http://").unwrap();
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    write!(
        stream,
        "POST /v1/proofs HTTP/1.1\r\nhost: {address}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    std::thread::sleep(patience);
}

/// Posts a proof request to the node at `base` with extra headers.
fn prove_with(base: &str, body: &str, headers: &[(&str, &str)]) -> Reply {
    post_with(&format!("{base}/v1/proofs"), body, headers)
}

/// Posts `body` to `url` with extra headers.
fn post_with(url: &str, body: &str, headers: &[(&str, &str)]) -> Reply {
    let mut request = agent(None)
        .post(url)
        .set("content-type", "application/json");
    for (name, value) in headers {
        request = request.set(name, value);
    }
    reply(request.send_string(body))
}

#[test]
fn abandoned_proof_requests_do_not_starve_an_honest_patient() {
    let c = Consortium::init();
    // One worker and the default queue of 4: five abandoned requests fill it on old code.
    let server = c.serve(&["--workers", "1"], None);
    let (mallory, alice) = (Patient::new(), Patient::new());
    register(&c, &server, &[&mallory, &alice]);
    // One proof's time on this machine, now: the yardstick for the honest wait.
    let t = Instant::now();
    assert_eq!(server.post("/v1/proofs", &alice.request()).status, 200);
    let one_proof = t.elapsed();

    let flood = Instant::now();
    let abandoned: Vec<_> = (0..5)
        .map(|_| {
            let (base, body) = (server.base.clone(), mallory.request());
            std::thread::spawn(move || abandon(&base, &body, Duration::from_millis(50)))
        })
        .collect();
    for a in abandoned {
        a.join().unwrap();
    }
    // The five clients are gone (a moment lets the node notice); an honest patient asks once
    // and is served within about one proof time: the proof already running, which cannot be
    // stopped, then its own.
    std::thread::sleep(Duration::from_millis(200));
    let t = Instant::now();
    let honest = server.post("/v1/proofs", &alice.request());
    let waited = t.elapsed();
    assert_eq!(honest.status, 200, "{}", honest.body);
    assert!(
        waited < one_proof * 2 + Duration::from_secs(2),
        "the honest patient waited {waited:?}; one proof takes {one_proof:?}"
    );
    // Of the abandoned requests, only one a worker had started was proved.
    let computed = proofs_computed(&server);
    let skipped = metric(
        &server,
        "zkclaim_proof_jobs_skipped_total{reason=\"abandoned\"}",
    );
    assert!(
        computed <= 3 + 1 && skipped >= 3,
        "{computed} proofs computed, {skipped} abandoned jobs skipped"
    );
    assert!(flood.elapsed() < Duration::from_secs(60));
}

#[test]
fn a_spent_invoice_is_refused_before_proving() {
    let c = Consortium::init();
    let server = c.serve(&[], None);
    let patient = c.enrolled_patient(&server);
    let proved = server.post("/v1/proofs", &patient.request());
    assert_eq!(proved.status, 200, "{}", proved.body);
    let package: ClaimPackage = serde_json::from_value(proved.body).unwrap();
    let settled = server.post_signed(
        "/v1/claims",
        &c.settle(&package, INSURER_A),
        &c.key(INSURER_A),
    );
    assert_eq!(settled.status, 200, "{}", settled.body);
    assert_eq!(proofs_computed(&server), 1);

    let again = server.post("/v1/proofs", &patient.request());
    assert_refused(&again, 409, "already_claimed", "already claimed");
    assert_eq!(again.body["error"]["first_height"], settled.body["height"]);
    assert_eq!(proofs_computed(&server), 1, "no proof was computed for it");
    assert_eq!(refusals(&server, "already_claimed"), 1);
}

#[test]
fn per_client_limits_refuse_and_count() {
    let c = Consortium::init();
    // Clients are told apart by X-Forwarded-For, as behind the operator's proxy.
    let server = c.serve(
        &[
            "--trust-forwarded-for",
            "--client-proofs",
            "1",
            "--client-proofs-per-minute",
            "1",
            "--client-proof-burst",
            "3",
        ],
        None,
    );
    let (slow, unregistered) = (Patient::new(), Patient::new());
    register(&c, &server, &[&slow]);
    let from = |client: &str| vec![("x-forwarded-for", client.to_owned())];
    let send = |body: &str, client: &str| {
        let headers = from(client);
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        prove_with(&server.base, body, &headers)
    };

    // One client's proof is running: its second request at once is refused, another
    // client's is not.
    let first = {
        let (base, body) = (server.base.clone(), slow.request());
        std::thread::spawn(move || {
            prove_with(
                &base,
                &body,
                &[("x-forwarded-for", "127.0.0.99, 127.0.0.5")],
            )
        })
    };
    std::thread::sleep(Duration::from_millis(100));
    let second = send(&unregistered.request(), "127.0.0.5");
    assert_refused(&second, 429, "client_busy", "in flight");
    assert_eq!(second.retry_after.as_deref(), Some("1"));
    let other = send(&unregistered.request(), "127.0.0.6");
    assert_refused(&other, 422, "unsatisfiable_witness", "not registered");
    assert_eq!(first.join().unwrap().status, 200);

    // The burst of 3 is spent by the requests admitted (the proof and two more; the one
    // refused as busy cost nothing); the next waits for the rate of one a minute.
    for _ in 0..2 {
        let admitted = send(&unregistered.request(), "127.0.0.5");
        assert_eq!(admitted.status, 422, "{}", admitted.body);
    }
    let limited = send(&unregistered.request(), "127.0.0.5");
    assert_refused(&limited, 429, "rate_limited", "rate");
    let wait: u64 = limited.retry_after.as_deref().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "Retry-After {wait}");

    // An asynchronous job is in flight for its client until it ends, not only until the
    // 202: the same client's next job is refused while it runs.
    let jobs = format!("{}/v1/proofs/jobs", server.base);
    let job = |client: &str| post_with(&jobs, &slow.request(), &[("x-forwarded-for", client)]);
    assert_eq!(job("127.0.0.9").status, 202);
    assert_refused(&job("127.0.0.9"), 429, "client_busy", "in flight");

    assert_eq!(refusals(&server, "client_busy"), 2);
    assert_eq!(refusals(&server, "rate_limited"), 1);
    drop(server);

    // Without --trust-forwarded-for the header is the client's word: ignored.
    let server = c.serve(
        &[
            "--client-proofs-per-minute",
            "1",
            "--client-proof-burst",
            "1",
        ],
        None,
    );
    let first = send_on(&server, &unregistered.request(), "127.0.0.7");
    assert_eq!(first.status, 422, "{}", first.body);
    let spoofed = send_on(&server, &unregistered.request(), "127.0.0.8");
    assert_refused(&spoofed, 429, "rate_limited", "rate");
}

fn send_on(server: &Server, body: &str, client: &str) -> Reply {
    prove_with(&server.base, body, &[("x-forwarded-for", client)])
}

/// The leading zero bits of SHA-256(`zkclaim/pow/v1\n` ‖ hex(SHA-256(body)) ‖ `\n` ‖ stamp),
/// as docs/deployment.md describes the proof of work.
fn work(body: &str, stamp: &str) -> u32 {
    let body_hash = hex::encode(Sha256::digest(body.as_bytes()));
    let digest = Sha256::digest(format!("zkclaim/pow/v1\n{body_hash}\n{stamp}"));
    digest
        .iter()
        .position(|b| *b != 0)
        .map_or(256, |i| i as u32 * 8 + digest[i].leading_zeros())
}

/// A stamp `T:N` for `body` at unix time `time` worth `bits`, and not worth them for `not`.
fn proof_of_work(body: &str, bits: u32, time: u64, not: &str) -> String {
    (0u64..)
        .map(|nonce| format!("{time}:{nonce}"))
        .find(|stamp| work(body, stamp) >= bits && work(not, stamp) < bits)
        .unwrap()
}

#[test]
fn an_operator_can_require_a_patient_token_and_proof_of_work() {
    let c = Consortium::init();
    let tokens = c.data.path().join("tokens.txt");
    std::fs::write(&tokens, "app-one-7d3f\n\n app-two-91ac \n").unwrap();
    let server = c.serve(
        &[
            "--proof-tokens",
            tokens.to_str().unwrap(),
            "--proof-pow-bits",
            "10",
        ],
        None,
    );
    let patient = Patient::new();
    let body = patient.request();
    let bearer = |token: &str| format!("Bearer {token}");

    let none = prove_with(&server.base, &body, &[]);
    assert_refused(&none, 401, "missing_token", "Authorization");
    let wrong = prove_with(
        &server.base,
        &body,
        &[("authorization", &bearer("app-three"))],
    );
    assert_refused(&wrong, 401, "bad_token", "token");

    // The scheme's case does not matter, nor the spaces around the token.
    let token = "bearer  app-two-91ac ".to_owned();
    let no_work = prove_with(&server.base, &body, &[("authorization", &token)]);
    assert_refused(&no_work, 403, "pow_required", "x-zkclaim-pow");
    // Work done for another body, or too long ago, does not count.
    let other = proof_of_work("{}", 10, now(), &body);
    let misplaced = prove_with(
        &server.base,
        &body,
        &[("authorization", &token), ("x-zkclaim-pow", &other)],
    );
    assert_refused(&misplaced, 403, "pow_required", "10 leading zero bits");
    let old = proof_of_work(&body, 10, now() - 3_600, "");
    let stale = prove_with(
        &server.base,
        &body,
        &[("authorization", &token), ("x-zkclaim-pow", &old)],
    );
    assert_refused(&stale, 403, "pow_required", "timestamp");

    let stamp = proof_of_work(&body, 10, now(), "");
    let headers = [("authorization", token.as_str()), ("x-zkclaim-pow", &stamp)];
    // Admitted: the invoice is not registered, which the node checks next.
    let admitted = prove_with(&server.base, &body, &headers);
    assert_refused(&admitted, 422, "unsatisfiable_witness", "not registered");
    let replayed = prove_with(&server.base, &body, &headers);
    assert_refused(&replayed, 403, "pow_replayed", "already used");

    for (reason, count) in [
        ("missing_token", 1),
        ("bad_token", 1),
        ("pow_required", 3),
        ("pow_replayed", 1),
    ] {
        assert_eq!(refusals(&server, reason), count, "{reason}");
    }
}

/// Distinctive values a refusal must never repeat.
const SECRET: &str = "4f1c9";
const SECRET_NUMBER: u64 = 7_364_519_283_746_519;

/// Bodies that each get one value of `body` wrong: every field, object and element in turn
/// replaced by a string where it held anything else, by a number where it held a string,
/// a bad date where it held a date; a secret unknown field in each object. Each secret names
/// its place.
fn mutations(body: &Value) -> Vec<(String, Value)> {
    fn walk(value: &Value, path: &str, root: &Value, out: &mut Vec<(String, Value)>) {
        let mut put = |replacement: Value| {
            let mut body = root.clone();
            *body.pointer_mut(path).unwrap() = replacement;
            out.push((path.to_owned(), body));
        };
        let name = path.replace('/', "-");
        match value {
            Value::String(s) => {
                put(json!(SECRET_NUMBER));
                put(json!(format!("SECRET{name}-{SECRET}")));
                if s.len() == 10 && s.as_bytes()[4] == b'-' {
                    put(json!(format!("2099-13-45SECRET{name}-{SECRET}")));
                }
            }
            _ => {
                put(json!(format!("SECRET{name}-{SECRET}")));
                if value.is_number() {
                    put(json!(SECRET_NUMBER));
                    put(json!(-(SECRET_NUMBER as i64)));
                    put(json!(1.5e300));
                }
            }
        }
        match value {
            Value::Object(map) => {
                let mut extra = value.clone();
                extra[format!("SECRET{name}-key-{SECRET}")] = json!(format!("SECRET-{SECRET}"));
                put(extra);
                for (key, child) in map {
                    walk(child, &format!("{path}/{key}"), root, out);
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    walk(child, &format!("{path}/{i}"), root, out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(body, "", body, &mut out);
    // The enum's variant names a secret too.
    if body.get("tx").is_some() {
        let mut variant = body.clone();
        variant["tx"] = json!({ format!("SECRET-variant-{SECRET}"): {} });
        out.push(("/tx variant".into(), variant));
    }
    out
}

#[test]
fn refusals_never_echo_a_value_in_answers_or_logs() {
    let c = Consortium::init();
    let log = c.data.path().join("serve.log");
    // (Without the fixed-base tables: the proof below is made without them.)
    let server = c.serve(
        &[
            "--insurer",
            "10",
            "--intake-per-minute",
            "0",
            "--prover-tables",
            "false",
        ],
        Some(&log),
    );
    let (settled, fresh) = (Patient::new(), Patient::new());
    register(&c, &server, &[&settled]);
    let proved = server.post("/v1/proofs", &settled.request());
    assert_eq!(proved.status, 200, "{}", proved.body);
    let logs = std::fs::read_to_string(&log).unwrap();
    assert!(!logs.contains("fixed-base tables"), "{logs}");
    let package: ClaimPackage = serde_json::from_value(proved.body).unwrap();
    let json = |text: &str| -> Value { serde_json::from_str(text).unwrap() };
    let (hospital, insurer) = (c.key(HOSPITAL), c.key(INSURER_A));

    let mut answers: Vec<(String, Reply)> = Vec::new();
    // The proof route with an unregistered invoice: a body that still parses is refused
    // without a proof.
    for (path, body) in mutations(&json(&fresh.request())) {
        answers.push((
            format!("proofs {path}"),
            server.post("/v1/proofs", &body.to_string()),
        ));
    }
    for (path, body) in mutations(&json(&c.register(&fresh.invoice))) {
        let r = server.post_signed("/v1/invoices", &body.to_string(), &hospital);
        answers.push((format!("invoices {path}"), r));
    }
    for (path, body) in mutations(&json(&c.settle(&package, INSURER_A))) {
        let r = server.post_signed("/v1/claims", &body.to_string(), &insurer);
        answers.push((format!("claims {path}"), r));
    }
    // The insurer's routes: an application (any payout reference is one), a claim handed
    // in, neither enrolled.
    let application = mutations(&fresh.application(INSURER_A, None));
    for (path, body) in application.into_iter().filter(|(p, _)| p != "/payout_ref") {
        let r = server.post_signed("/v1/enrolments", &body.to_string(), &insurer);
        answers.push((format!("enrolments {path}"), r));
    }
    for (path, body) in mutations(&serde_json::to_value(&package).unwrap()) {
        answers.push((
            format!("intake {path}"),
            server.post("/v1/intake", &body.to_string()),
        ));
    }
    let unknown_nullifier = format!("0x{SECRET_NUMBER:064}");
    for path in [
        format!("/v1/claims/SECRET-nullifier-{SECRET}"),
        format!("/v1/claims/{unknown_nullifier}"),
        format!("/v1/claims/0x{SECRET}"),
        format!("/v1/intake/SECRET-nullifier-{SECRET}"),
        format!("/v1/intake/{unknown_nullifier}"),
        format!("/v1/paths/SECRET-leaf-{SECRET}"),
        format!("/v1/paths/{SECRET_NUMBER}"),
        format!("/v1/blocks/SECRET-height-{SECRET}"),
        format!("/v1/blocks/{SECRET_NUMBER}"),
        format!("/v1/blocks/%FF{SECRET}"),
        format!("/v1/SECRET-route-{SECRET}"),
    ] {
        answers.push((path.clone(), server.get(&path)));
    }
    let numeric = SECRET_NUMBER.to_string();
    let mut refused = 0;
    for (case, answer) in &answers {
        assert!(answer.status >= 400, "{case} was accepted: {}", answer.body);
        refused += 1;
        let text = answer.body.to_string();
        assert!(
            !text.contains(SECRET) && !text.contains(&numeric),
            "{case}: the answer repeats the value: {text}"
        );
        assert!(answer.body["error"]["code"].is_string(), "{case}: {text}");
    }
    assert!(refused > 100, "only {refused} cases");
    // Field paths are named, values never.
    let sk = answers
        .iter()
        .find(|(case, _)| case == "proofs /key/sk")
        .unwrap();
    assert_refused(&sk.1, 400, "invalid_request", "key.sk");
    assert!(server.terminate().success());
    let logs = std::fs::read_to_string(&log).unwrap();
    // Every request was logged, by its route.
    for route in [
        "route=/v1/claims/{nullifier}",
        "route=/v1/proofs",
        "route=/v1/intake",
        "route=/v1/enrolments",
        "route=unmatched",
    ] {
        assert!(logs.contains(route), "{route} not in\n{logs}");
    }
    for line in logs.lines() {
        assert!(
            !line.contains(SECRET) && !line.contains(&numeric),
            "a log line repeats a request value: {line}"
        );
    }
}
