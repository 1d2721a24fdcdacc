//! The node's API contract over real HTTP: the generated OpenAPI document (linted by Redocly,
//! every route with its id and answers, bounds equal to the rules), the genesis, blocks with
//! their transactions, asynchronous proofs and CORS.

mod common;

use common::*;
use std::collections::BTreeSet;
use zkclaim_verifier::ClaimVerifyingKey;

/// Redocly's command line (npm package `@redocly/cli`), installed once under the test target.
/// 1.34 runs on the Node.js 18 of Debian 12, which `.ci/run` installs where Node is missing.
/// None where npm cannot install it, which fails the test under CI.
fn redocly() -> Option<PathBuf> {
    npm_install("redocly", "@redocly/cli@1.34.20", ".bin/redocly")
        .inspect_err(|e| {
            assert!(
                std::env::var_os("CI").is_none(),
                "{e}: CI lints the API document"
            );
            eprintln!("SKIPPED the OpenAPI lint: {e}");
        })
        .ok()
}

/// Redocly's problems with `doc` under its strict recommended rules (every warning an error).
fn lint(redocly: &Path, doc: &Value) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("openapi.json");
    std::fs::write(&path, doc.to_string()).unwrap();
    let out = Command::new("node")
        .arg(redocly)
        .args(["lint", "--extends=recommended-strict", "--format=json"])
        .arg(&path)
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "redocly's report is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let problems = report["problems"].as_array().unwrap().clone();
    assert_eq!(out.status.success(), problems.is_empty(), "{report}");
    problems
}

/// The document's answers for `method path`, by status.
fn responses<'a>(doc: &'a Value, method: &str, path: &str) -> &'a serde_json::Map<String, Value> {
    doc["paths"][path][method]["responses"]
        .as_object()
        .unwrap_or_else(|| panic!("{method} {path} is not in the document"))
}

fn assert_documented(doc: &Value, method: &str, path: &str, status: u16) {
    assert!(
        responses(doc, method, path).contains_key(&status.to_string()),
        "{method} {path} answered {status}, which its operation does not document"
    );
}

/// Every `format` of a schema in `value`.
fn collect_formats<'a>(value: &'a Value, formats: &mut BTreeSet<&'a str>) {
    match value {
        Value::Object(object) => {
            if let Some(Value::String(format)) = object.get("format") {
                formats.insert(format);
            }
            object.values().for_each(|v| collect_formats(v, formats));
        }
        Value::Array(values) => values.iter().for_each(|v| collect_formats(v, formats)),
        _ => {}
    }
}

/// A request with headers, answered with its headers.
fn request(
    server: &Server,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> ureq::Response {
    let mut request = server
        .agent
        .request(method, &format!("{}{path}", server.base));
    for (name, value) in headers {
        request = request.set(name, value);
    }
    let result = match body {
        Some(body) => request
            .set("content-type", "application/json")
            .send_string(body),
        None => request.call(),
    };
    match result {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("transport error: {e}"),
    }
}

#[test]
fn the_document_lints_clean_and_documents_every_route_and_answer() {
    let c = Consortium::init();
    let server = c.serve(&["--insurer", "10"], None);
    let doc = server.get("/openapi.json").body;

    // Without Redocly the lint is skipped, saying so; under CI `redocly` fails the test.
    if let Some(cli) = redocly() {
        let problems = lint(&cli, &doc);
        assert!(problems.is_empty(), "Redocly: {problems:#?}");
        // The linter does find problems: the same document with an operation without its
        // id.
        let mut broken = doc.clone();
        broken["paths"]["/v1/roots"]["get"]
            .as_object_mut()
            .unwrap()
            .remove("operationId");
        assert!(!lint(&cli, &broken).is_empty());
    }

    let expected: BTreeSet<(&str, &str)> = [
        ("post", "/v1/invoices"),
        ("post", "/v1/invoices/void"),
        ("post", "/v1/proofs"),
        ("post", "/v1/proofs/jobs"),
        ("get", "/v1/proofs/jobs/{id}"),
        ("post", "/v1/claims"),
        ("get", "/v1/claims/{nullifier}"),
        ("post", "/v1/enrolments"),
        ("get", "/v1/enrolments"),
        ("post", "/v1/enrolments/revoke"),
        ("get", "/v1/insurer/claims"),
        ("post", "/v1/intake"),
        ("get", "/v1/intake/{nullifier}"),
        ("get", "/v1/console/insurer"),
        ("get", "/v1/console/enrolments"),
        ("get", "/v1/console/claims"),
        ("get", "/v1/roots"),
        ("get", "/v1/paths/{leaf_index}"),
        ("get", "/v1/leaves"),
        ("get", "/v1/settled/{leaf}/path"),
        ("get", "/v1/blocks/{height}"),
        ("get", "/v1/blocks"),
        ("get", "/v1/audit"),
        ("get", "/v1/throughput"),
        ("get", "/v1/genesis"),
        ("get", "/v1/verifying-key"),
        ("get", "/healthz"),
        ("get", "/readyz"),
        ("get", "/metrics"),
        ("get", "/openapi.json"),
    ]
    .into();
    let mut operations = BTreeSet::new();
    let mut ids = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            operations.insert((method.as_str(), path.as_str()));
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{path}: no id"));
            assert!(ids.insert(id), "operationId {id} twice");
            assert!(op["summary"].is_string(), "{method} {path}: no summary");
            let answers = op["responses"].as_object().unwrap();
            // A success with its schema, and the refusals, each the service's error body.
            let success: Vec<_> = answers.keys().filter(|s| s.starts_with('2')).collect();
            assert_eq!(success.len(), 1, "{method} {path}: {success:?}");
            assert!(
                answers[success[0].as_str()]["content"]
                    .as_object()
                    .is_some_and(|c| c.values().all(|m| m["schema"].is_object())),
                "{method} {path}: the success has no schema"
            );
            assert!(answers.contains_key("408"), "{method} {path}: no timeout");
            for (status, answer) in answers.iter().filter(|(s, _)| !s.starts_with('2')) {
                let name = answer["$ref"].as_str().unwrap();
                let name = name.strip_prefix("#/components/responses/").unwrap();
                let refusal = &doc["components"]["responses"][name];
                assert_eq!(
                    refusal["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/ErrorBody",
                    "{method} {path} {status}"
                );
            }

            // The node serves it (no fallback 404, no 405), and what it answers is documented.
            let concrete = path
                .replace("{id}", &"0".repeat(32))
                .replace("{nullifier}", &format!("0x{}", "0".repeat(64)))
                .replace("{leaf}", &format!("0x{}", "0".repeat(64)))
                .replace("{leaf_index}", "0")
                .replace("{height}", "1");
            let reply = match method.as_str() {
                "get" => server.get(&concrete),
                _ => server.post(&concrete, "{}"),
            };
            assert_ne!(reply.status, 405, "{method} {path}");
            if reply.status == 404 {
                let message = reply.body["error"]["message"].as_str().unwrap();
                assert!(
                    !message.starts_with("no route"),
                    "{method} {path} is not served"
                );
            }
            assert_documented(&doc, method, path, reply.status);
        }
    }
    assert_eq!(operations, expected);
    let mut formats = BTreeSet::new();
    collect_formats(&doc, &mut formats);
    let registered = ["date", "int64", "uint8", "uint16", "uint32", "uint64"];
    assert!(
        formats.iter().all(|f| registered.contains(f)),
        "{formats:?}"
    );

    // Each signature header is a security scheme, and the member routes require them all;
    // the console's routes require its bearer token.
    let mut schemes = doc["components"]["securitySchemes"]
        .as_object()
        .unwrap()
        .clone();
    let console = schemes
        .remove("consoleToken")
        .expect("the console's scheme");
    assert_eq!(
        (&console["type"], &console["scheme"]),
        (&json!("http"), &json!("bearer"))
    );
    let headers: BTreeSet<&str> = schemes
        .values()
        .inspect(|s| assert_eq!((&s["type"], &s["in"]), (&json!("apiKey"), &json!("header"))))
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    let signature_headers = [
        "x-zkclaim-member",
        "x-zkclaim-signature",
        "x-zkclaim-timestamp",
    ];
    assert!(
        signature_headers.iter().all(|h| headers.contains(h)),
        "{headers:?}"
    );
    for (method, path) in expected {
        let security = doc["paths"][path][method]["security"].as_array().unwrap();
        let signed = [
            "/v1/invoices",
            "/v1/invoices/void",
            "/v1/claims",
            "/v1/enrolments",
            "/v1/enrolments/revoke",
            "/v1/insurer/claims",
        ];
        if signed.contains(&path) {
            let required: BTreeSet<&String> = security[0].as_object().unwrap().keys().collect();
            assert_eq!(required, schemes.keys().collect(), "{path}");
        } else if path.starts_with("/v1/console/") {
            assert_eq!(security, &[json!({"consoleToken": []})], "{path}");
        } else {
            assert!(security.is_empty(), "{method} {path} is open: {security:?}");
        }
    }
    assert!(server.terminate().success());
}

/// `doc`'s schema `name` as a validator.
fn validator(doc: &Value, name: &str) -> jsonschema::Validator {
    let mut schema = doc.clone();
    schema["$ref"] = json!(format!("#/components/schemas/{name}"));
    jsonschema::draft202012::new(&schema).unwrap()
}

#[test]
fn the_schemas_bounds_are_the_rules_the_node_enforces() {
    let c = Consortium::init();
    let server = c.serve(&[], None);
    let doc = server.get("/openapi.json").body;
    let proof_request = validator(&doc, "ProofRequest");
    let patient = c.registered_patient(&server);
    let request: Value = serde_json::from_str(&patient.request()).unwrap();
    assert!(proof_request.is_valid(&request));

    let r_minus_1 = "0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000000";
    // (where, the last value the rules allow, the first they refuse)
    let bounds: Vec<(&str, Value, Value)> = vec![
        ("/invoice/items/0/category", json!(15), json!(16)),
        (
            "/invoice/items/0/amount",
            json!((1u64 << 40) - 1),
            json!(1u64 << 40),
        ),
        ("/policy/rate_bp", json!(10_000), json!(10_001)),
        (
            "/policy/deductible",
            json!((1u64 << 44) - 1),
            json!(1u64 << 44),
        ),
        ("/policy/cap", json!((1u64 << 44) - 1), json!(1u64 << 44)),
        ("/policy/category_mask", json!(65_535), json!(65_536)),
        (
            "/invoice/hospital_id",
            json!(u32::MAX),
            json!(u64::from(u32::MAX) + 1),
        ),
        (
            "/policy/period_start",
            json!("1970-01-01"),
            json!("1969-12-31"),
        ),
        (
            "/invoice/issued_on",
            json!("9999-12-31"),
            json!("2026-11-5"),
        ),
        ("/invoice/serial", json!(r_minus_1), json!(R_HEX)),
        (
            "/invoice/serial",
            json!(r_minus_1.to_uppercase().replace("0X", "0x")),
            json!(R_HEX.to_uppercase().replace("0X", "0x")),
        ),
        (
            "/invoice/serial",
            json!(format!("0x{}", "2f".repeat(32))),
            json!(format!("0x{}", "31".repeat(32))),
        ),
        (
            "/invoice/items/0/detail",
            json!(format!("0x{}", "0".repeat(64))),
            json!(format!("0x{}", "0".repeat(63))),
        ),
    ];
    for (at, allowed, refused) in bounds {
        let with = |value: &Value| {
            let mut r = request.clone();
            *r.pointer_mut(at).unwrap() = value.clone();
            r
        };
        assert!(proof_request.is_valid(&with(&allowed)), "{at} = {allowed}");
        assert!(!proof_request.is_valid(&with(&refused)), "{at} = {refused}");
        // The node refuses what the schema refuses: the schema is not stricter than it.
        let reply = server.post("/v1/proofs", &with(&refused).to_string());
        assert!(
            [400, 422].contains(&reply.status),
            "{at} = {refused}: {} {}",
            reply.status,
            reply.body
        );
    }
    // At most the node's N items.
    let n = doc["components"]["schemas"]["Invoice"]["properties"]["items"]["maxItems"]
        .as_u64()
        .unwrap();
    assert_eq!(n, 8);
    let mut full = request.clone();
    let items = full["invoice"]["items"].as_array_mut().unwrap();
    let first = items[0].clone();
    items.resize(8, first.clone());
    assert!(proof_request.is_valid(&full));
    full["invoice"]["items"].as_array_mut().unwrap().push(first);
    assert!(!proof_request.is_valid(&full));
    assert_eq!(server.post("/v1/proofs", &full.to_string()).status, 422);

    // A register_invoice body is no settle_claim body, and the reverse.
    let registration: Value = serde_json::from_str(&c.register(&patient.invoice)).unwrap();
    assert!(validator(&doc, "SignedRegisterInvoice").is_valid(&registration));
    assert!(!validator(&doc, "SignedSettleClaim").is_valid(&registration));
}

#[test]
fn the_genesis_is_served_without_a_secret() {
    let c = Consortium::init();
    let server = c.serve(&[], None);
    let reply = server.get("/v1/genesis");
    assert_eq!(reply.status, 200, "{}", reply.body);
    let genesis = Genesis::load(&c.data.path().join("consortium/genesis.json")).unwrap();
    let served: Genesis = serde_json::from_value(reply.body["genesis"].clone()).unwrap();
    assert_eq!(served, genesis);
    assert_eq!(reply.body["digest"], hex::encode(genesis.digest()));
    let text = reply.body.to_string();
    for member in &genesis.members {
        assert!(text.contains(&hex::encode(member.public_key)));
        let file = format!("consortium/keys/member-{}.json", member.id);
        let secret: Value =
            serde_json::from_str(&std::fs::read_to_string(c.data.path().join(file)).unwrap())
                .unwrap();
        let secret = secret["secret_key"].as_str().unwrap();
        assert!(!text.contains(secret), "member {}'s secret key", member.id);
    }
    assert!(!text.contains("secret"), "{text}");
    assert!(server.terminate().success());
}

#[test]
fn a_block_is_served_with_its_transactions() {
    let c = Consortium::init();
    let server = c.serve(&[], None);
    let hospital = c.key(HOSPITAL);
    let body = c.register(&Patient::new().invoice);
    assert_eq!(
        server.post_signed("/v1/invoices", &body, &hospital).status,
        200
    );

    let block = server.get("/v1/blocks/1");
    assert_eq!(block.status, 200, "{}", block.body);
    let transactions = block.body["transactions"].as_array().unwrap();
    assert_eq!(transactions.len(), 1);
    let posted: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(transactions[0]["transaction"], posted);
    let stx: zkclaim_ledger::SignedTransaction = serde_json::from_str(&body).unwrap();
    let id = stx.id(&c.chain_id);
    assert_eq!(transactions[0]["id"], hex::encode(id));
    assert_eq!(
        block.body["tx_root"],
        hex::encode(zkclaim_ledger::tx_root(&[id]))
    );
    let doc = server.get("/openapi.json").body;
    assert!(
        validator(&doc, "BlockAnswer").is_valid(&block.body),
        "{}",
        block.body
    );
    assert!(server.terminate().success());
}

/// Polls a proof job until it is no longer pending or running.
fn poll(server: &Server, location: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let reply = server.get(location);
        assert_eq!(reply.status, 200, "{}", reply.body);
        match reply.body["status"].as_str().unwrap() {
            "pending" | "running" => {}
            _ => return reply.body,
        }
        assert!(Instant::now() < deadline, "the job did not finish");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn an_asynchronous_proof_is_polled_until_done_and_jobs_are_bounded() {
    let c = Consortium::init();
    let server = c.serve(&["--max-jobs", "1", "--job-ttl-s", "2"], None);
    let doc = server.get("/openapi.json").body;
    let (first, second) = (c.enrolled_patient(&server), c.registered_patient(&server));

    let accepted = request(
        &server,
        "POST",
        "/v1/proofs/jobs",
        &[],
        Some(&first.request()),
    );
    assert_eq!(accepted.status(), 202);
    let location = accepted.header("location").unwrap().to_owned();
    let body: Value = serde_json::from_str(&accepted.into_string().unwrap()).unwrap();
    let id = body["id"].as_str().unwrap();
    assert!(
        id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit()),
        "{id}"
    );
    assert_eq!(location, format!("/v1/proofs/jobs/{id}"));
    assert_eq!(body["location"], location.as_str());

    // The table holds one job: a second waits until the first expires.
    let full = server.post("/v1/proofs/jobs", &second.request());
    assert_refused(&full, 429, "busy", "");
    assert_documented(&doc, "post", "/v1/proofs/jobs", 429);

    let done = poll(&server, &location);
    assert_eq!(done["status"], "done", "{done}");
    assert!(validator(&doc, "JobStatus").is_valid(&done));
    let package: ClaimPackage = serde_json::from_value(done["package"].clone()).unwrap();
    let vk = server.get("/v1/verifying-key").body;
    let vk =
        ClaimVerifyingKey::from_bytes(&hex::decode(vk["key"].as_str().unwrap()).unwrap()).unwrap();
    package.verify(&vk.prepare()).unwrap();
    assert_eq!(package.public_inputs.claim_amount, 7_760);

    // The package settles, and its block carries the settlement.
    let settlement = c.settle(&package, INSURER_A);
    let settled = server.post_signed("/v1/claims", &settlement, &c.key(INSURER_A));
    assert_eq!(settled.status, 200, "{}", settled.body);
    let block = server.get(&format!("/v1/blocks/{}", settled.body["height"]));
    let claim = &block.body["transactions"][0]["transaction"]["tx"]["settle_claim"]["claim"];
    assert_eq!(claim, &serde_json::to_value(&package).unwrap());

    // Forgotten after its time; then the table has room again.
    std::thread::sleep(Duration::from_millis(2_500));
    assert_refused(&server.get(&location), 404, "not_found", "proof job");
    let again = server.post("/v1/proofs/jobs", &second.request());
    assert_eq!(again.status, 202, "{}", again.body);
    let unknown = server.get(&format!("/v1/proofs/jobs/{}", "ab".repeat(16)));
    assert_refused(&unknown, 404, "not_found", "proof job");
    assert_documented(&doc, "get", "/v1/proofs/jobs/{id}", 404);
    // A request that breaks a rule is refused at once, not queued.
    let mut late = serde_json::from_str::<Value>(&second.request()).unwrap();
    late["policy"]["period_end"] = json!("1970-01-02");
    let refused = server.post("/v1/proofs/jobs", &late.to_string());
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(
        poll(&server, again.body["location"].as_str().unwrap())["status"],
        "done"
    );
    assert!(server.terminate().success());
}

/// The CORS headers answering a request from `origin`.
fn cors_headers(
    server: &Server,
    method: &str,
    path: &str,
    origin: &str,
) -> (u16, Option<String>, Option<String>) {
    let headers: &[(&str, &str)] = match method {
        "OPTIONS" => &[
            ("origin", origin),
            ("access-control-request-method", "POST"),
            (
                "access-control-request-headers",
                "content-type,x-zkclaim-signature",
            ),
        ],
        _ => &[("origin", origin)],
    };
    let r = request(server, method, path, headers, None);
    let get = |name: &str| r.header(name).map(str::to_owned);
    (
        r.status(),
        get("access-control-allow-origin"),
        get("access-control-allow-headers"),
    )
}

#[test]
fn cors_answers_the_configured_origins_only() {
    let c = Consortium::init();
    let app = "https://app.example";
    let server = c.start(
        &["--listen", "127.0.0.1:0"],
        &[(
            "ZKCLAIM_CORS_ORIGINS",
            &format!("https://other.example,{app}"),
        )],
        None,
    );
    let (status, origin, headers) = cors_headers(&server, "OPTIONS", "/v1/invoices", app);
    assert_eq!((status, origin.as_deref()), (200, Some(app)));
    let headers = headers.unwrap().to_ascii_lowercase();
    for name in [
        "content-type",
        "x-zkclaim-member",
        "x-zkclaim-timestamp",
        "x-zkclaim-signature",
    ] {
        assert!(headers.contains(name), "{name} not allowed: {headers}");
    }
    // Answers (refusals included) name the allowed origin, never another.
    assert_eq!(
        cors_headers(&server, "GET", "/v1/roots", app).1.as_deref(),
        Some(app)
    );
    let refusal = cors_headers(&server, "GET", "/v2/nothing", app);
    assert_eq!((refusal.0, refusal.1.as_deref()), (404, Some(app)));
    let evil = "https://evil.example";
    assert_eq!(
        cors_headers(&server, "OPTIONS", "/v1/invoices", evil).1,
        None
    );
    assert_eq!(cors_headers(&server, "GET", "/v1/roots", evil).1, None);
    assert!(server.terminate().success());

    // By default no origin is allowed.
    let server = c.serve(&[], None);
    assert_eq!(
        cors_headers(&server, "OPTIONS", "/v1/invoices", app).1,
        None
    );
    assert_eq!(cors_headers(&server, "GET", "/v1/roots", app).1, None);
    assert!(server.terminate().success());
}
