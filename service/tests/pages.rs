//! The insurer's console and the ledger explorer, through the spawned binary: the console's
//! routes refuse without the operator token and answer what the registry holds; the
//! explorer's block list, audit and throughput agree with the ledger's own reads; and both
//! pages, driven by keyboard in headless Chromium (puppeteer-core from npm,
//! `browser/pages.mjs`), show what the API answers.

mod common;

use common::*;
use zkclaim_ledger::{Block, BlockHeader, SignedTransaction};

/// The operator token the tests' console takes.
const TOKEN: &str = "console-operator-token-of-the-tests";
/// The console's routes.
const CONSOLE: [&str; 3] = [
    "/v1/console/insurer",
    "/v1/console/enrolments",
    "/v1/console/claims",
];

/// A file of console tokens in `dir` holding [`TOKEN`] (and a blank line, skipped).
fn token_file(dir: &Path) -> String {
    let path = dir.join("console-tokens");
    std::fs::write(&path, format!("\n{TOKEN}\n")).unwrap();
    path.display().to_string()
}

/// A node serving insurer A with the console on and the checkout's pages.
fn console_node(c: &Consortium, dir: &Path) -> Server {
    let root = web_root().display().to_string();
    let tokens = token_file(dir);
    c.serve(
        &[
            "--insurer",
            "10",
            "--console-tokens",
            &tokens,
            "--web-root",
            &root,
        ],
        None,
    )
}

/// A GET with `Authorization: <authorization>` when given.
fn get_with(server: &Server, path: &str, authorization: Option<&str>) -> Reply {
    let mut request = server.agent.get(&format!("{}{path}", server.base));
    if let Some(value) = authorization {
        request = request.set("authorization", value);
    }
    reply(request.call())
}

/// A console GET with the right token.
fn console_get(server: &Server, path: &str) -> Reply {
    let r = get_with(server, path, Some(&format!("Bearer {TOKEN}")));
    assert_eq!(r.status, 200, "{path}: {}", r.body);
    r
}

fn nullifier(package: &ClaimPackage) -> String {
    field::format(&package.public_inputs.nullifier)
}

/// A claim settled at insurer A's intake, and one refused there (`not_enrolled`): their
/// nullifiers.
fn settled_and_refused(c: &Consortium, server: &Server) -> (ClaimPackage, ClaimPackage) {
    let settled = server.prove(&c.enrolled_patient(server));
    let r = server.intake(&settled);
    assert_eq!(r.status, 200, "{}", r.body);
    let refused = server.prove(&c.registered_patient(server));
    assert_refused(&server.intake(&refused), 403, "not_enrolled", "enrol");
    (settled, refused)
}

#[test]
fn the_console_answers_only_its_operators_and_what_the_registry_holds() {
    let c = Consortium::init();
    let dir = tempfile::tempdir().unwrap();
    let bearer = format!("Bearer {TOKEN}");

    // Off without console tokens, with or without one sent; no Retry-After: it stays off.
    let off = c.serve(&["--insurer", "10"], None);
    for path in CONSOLE {
        let r = get_with(&off, path, Some(&bearer));
        assert_refused(&r, 503, "console_off", "console is off");
        assert_eq!(r.retry_after, None, "{path}");
    }
    assert!(off.terminate().success());

    // On a node serving no insurer: the token first, then no insurer to show.
    let tokens = token_file(dir.path());
    let no_insurer = c.serve(&["--console-tokens", &tokens], None);
    for path in CONSOLE {
        assert_refused(
            &get_with(&no_insurer, path, None),
            401,
            "missing_token",
            "Bearer",
        );
        assert_refused(
            &get_with(&no_insurer, path, Some(&bearer)),
            503,
            "no_insurer",
            "serves no insurer",
        );
    }
    assert!(no_insurer.terminate().success());

    let server = console_node(&c, dir.path());
    for path in CONSOLE {
        assert_refused(
            &get_with(&server, path, None),
            401,
            "missing_token",
            "Bearer",
        );
        let basic = get_with(&server, path, Some("Basic dXNlcjpwYXNz"));
        assert_refused(&basic, 401, "missing_token", "operator token");
        let wrong = get_with(&server, path, Some("Bearer SECRET-GUESS-4242"));
        assert_refused(&wrong, 401, "bad_token", "not an operator token");
        assert!(
            !wrong.body.to_string().contains("SECRET-GUESS"),
            "{}",
            wrong.body
        );
        // A patient's signature is no operator's login.
        let signed = server.get_signed(path, &c.key(INSURER_A));
        assert_refused(&signed, 401, "missing_token", "Bearer");
    }
    let insurer = console_get(&server, "/v1/console/insurer").body;
    let genesis = server.get("/v1/genesis").body;
    let name = genesis["genesis"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == INSURER_A)
        .unwrap()["name"]
        .clone();
    assert_eq!(insurer, json!({"insurer": INSURER_A, "name": name}));
    let empty = console_get(&server, "/v1/console/claims").body;
    assert_eq!(
        empty,
        json!({"settled": [], "refused": [], "days": []}),
        "nothing yet"
    );

    let (settled, refused) = settled_and_refused(&c, &server);
    let claims = console_get(&server, "/v1/console/claims").body;
    let on_ledger = server.get(&format!("/v1/claims/{}", nullifier(&settled)));
    assert_eq!(on_ledger.status, 200, "{}", on_ledger.body);
    let listed = &claims["settled"][0];
    assert_eq!(claims["settled"].as_array().unwrap().len(), 1, "{claims}");
    assert_eq!(listed["nullifier"], nullifier(&settled));
    assert_eq!(listed["status"], "settled");
    assert_eq!(
        listed["claim_amount"],
        on_ledger.body["claim"]["public_inputs"]["claim_amount"]
    );
    assert_eq!(listed["claim_amount"], settled.public_inputs.claim_amount);
    assert_eq!(listed["height"], on_ledger.body["height"]);
    assert_eq!(listed["tx_index"], on_ledger.body["tx_index"]);
    let block = server.get(&format!("/v1/blocks/{}", listed["height"]));
    let tx = &block.body["transactions"][listed["tx_index"].as_u64().unwrap() as usize];
    assert_eq!(listed["tx_id"], tx["id"]);
    let refusal = &claims["refused"][0];
    assert_eq!(claims["refused"].as_array().unwrap().len(), 1, "{claims}");
    assert_eq!(
        (&refusal["nullifier"], &refusal["code"]),
        (&json!(nullifier(&refused)), &json!("not_enrolled"))
    );
    assert!(refusal["reason"].as_str().unwrap().contains("enrol"));
    let day = zkclaim_circuits::date::format((now() / 86_400) as _);
    assert_eq!(
        claims["days"],
        json!([{"day": day, "settled": 1, "amount": settled.public_inputs.claim_amount, "refused": 1}])
    );

    // The same as the insurer's member-signed routes answer.
    let insurer_a = c.key(INSURER_A);
    let report = server.get_signed("/v1/insurer/claims", &insurer_a);
    assert_eq!(claims, report.body);
    let enrolments = console_get(&server, "/v1/console/enrolments").body;
    assert_eq!(
        enrolments,
        server.get_signed("/v1/enrolments", &insurer_a).body
    );
    assert_eq!(enrolments["enrolments"].as_array().unwrap().len(), 1);

    // The report's limit, as on the insurer's route.
    let one = console_get(&server, "/v1/console/claims?limit=0").body;
    assert_eq!(
        (
            one["settled"].as_array().unwrap().len(),
            one["refused"].as_array().unwrap().len()
        ),
        (0, 0)
    );
    let too_many = get_with(&server, "/v1/console/claims?limit=1001", Some(&bearer));
    assert_refused(&too_many, 400, "invalid_request", "at most 1000");
    let unknown = get_with(&server, "/v1/console/claims?SECRET=1", Some(&bearer));
    assert_refused(
        &unknown,
        400,
        "invalid_request",
        "the only query parameter is limit",
    );
    assert!(!unknown.body.to_string().contains("SECRET"));
    assert!(server.terminate().success());
}

/// The stored size of the block `GET /v1/blocks/{height}` answered, rebuilt from its JSON.
fn stored_size(block: &Value) -> u64 {
    let digest = |key: &str| -> [u8; 32] {
        hex::decode(block[key].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap()
    };
    let root = |key: &str| field::parse(block[key].as_str().unwrap()).unwrap();
    let transactions: Vec<SignedTransaction> = block["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| serde_json::from_value(t["transaction"].clone()).unwrap())
        .collect();
    let block = Block {
        header: BlockHeader {
            height: block["height"].as_u64().unwrap(),
            prev_hash: digest("prev_hash"),
            tx_root: digest("tx_root"),
            invoice_root: root("invoice_root"),
            settled_root: root("settled_root"),
            time_ms: block["time_ms"].as_u64().unwrap(),
            proposer: block["proposer"].as_u64().unwrap() as u32,
            signature: hex::decode(block["signature"].as_str().unwrap())
                .unwrap()
                .try_into()
                .unwrap(),
        },
        transactions,
    };
    block.to_bytes().len() as u64
}

#[test]
fn the_explorer_lists_blocks_the_audit_and_the_throughput_as_the_ledger_holds_them() {
    let c = Consortium::init();
    let dir = tempfile::tempdir().unwrap();
    let server = console_node(&c, dir.path());
    let (settled, _) = settled_and_refused(&c, &server);
    // Two invoices: 3 registrations and a settlement in all, each in a block of its own.
    let height = server.height();
    assert_eq!(height, 3);

    // Every block, newest first, as `GET /v1/blocks/{height}` has it.
    let list = server.get("/v1/blocks").body;
    assert_eq!(list["height"], height);
    assert_eq!(list["next_before"], Value::Null);
    let blocks = list["blocks"].as_array().unwrap();
    let heights: Vec<u64> = blocks
        .iter()
        .map(|b| b["height"].as_u64().unwrap())
        .collect();
    assert_eq!(heights, (1..=height).rev().collect::<Vec<_>>());
    let mut kinds = Vec::new();
    for summary in blocks {
        let full = server
            .get(&format!("/v1/blocks/{}", summary["height"]))
            .body;
        for key in ["height", "hash", "time_ms", "proposer"] {
            assert_eq!(summary[key], full[key], "{key}");
        }
        assert_eq!(summary["size"], stored_size(&full));
        let txs = summary["transactions"].as_array().unwrap();
        let full_txs = full["transactions"].as_array().unwrap();
        assert_eq!(txs.len(), full_txs.len());
        for (tx, full_tx) in txs.iter().zip(full_txs) {
            assert_eq!(tx["id"], full_tx["id"]);
            assert_eq!(tx["signer"], full_tx["transaction"]["signer"]);
            let kind = full_tx["transaction"]["tx"]
                .as_object()
                .unwrap()
                .keys()
                .next()
                .unwrap();
            assert_eq!(tx["kind"], kind.as_str());
            let stx: SignedTransaction =
                serde_json::from_value(full_tx["transaction"].clone()).unwrap();
            assert_eq!(tx["size"], stx.to_bytes().len());
            kinds.push(kind.clone());
        }
        // Hex ids and sizes only: no proof, no commitment.
        let text = summary.to_string();
        assert!(
            !text.contains("proof") && !text.contains("commitment"),
            "{text}"
        );
    }
    kinds.sort();
    assert_eq!(
        kinds,
        ["register_invoice", "register_invoice", "settle_claim"]
    );
    let settled_at = server
        .get(&format!("/v1/claims/{}", nullifier(&settled)))
        .body;
    assert_eq!(settled_at["height"], 2);

    // Pages: `before` and `limit`, followed to the end, list every block once.
    let mut before = None;
    let mut paged = Vec::new();
    loop {
        let path = match before {
            Some(b) => format!("/v1/blocks?limit=2&before={b}"),
            None => "/v1/blocks?limit=2".into(),
        };
        let page = server.get(&path).body;
        paged.extend(
            page["blocks"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b["height"].as_u64().unwrap()),
        );
        match page["next_before"].as_u64() {
            Some(next) => before = Some(next),
            None => break,
        }
    }
    assert_eq!(paged, heights);
    assert_eq!(server.get("/v1/blocks?before=1").body["blocks"], json!([]));
    assert_eq!(
        server.get("/v1/blocks?before=99&limit=1").body["blocks"][0]["height"],
        height
    );
    assert_refused(
        &server.get("/v1/blocks?limit=101"),
        400,
        "invalid_request",
        "at most 100",
    );
    assert_refused(
        &server.get("/v1/blocks?before=x"),
        400,
        "invalid_request",
        "before must be",
    );
    assert_refused(
        &server.get("/v1/blocks?SECRET=1"),
        400,
        "invalid_request",
        "before, limit",
    );

    // The audit passes and counts what is there; a block later, it is run again.
    let audit = server.get("/v1/audit").body;
    assert_eq!(
        (&audit["passed"], &audit["height"]),
        (&json!(true), &json!(height)),
        "{audit}"
    );
    assert_eq!(audit["failure"], Value::Null);
    let counts = &audit["report"];
    assert_eq!(
        [
            &counts["blocks"],
            &counts["invoices"],
            &counts["voided"],
            &counts["claims"]
        ],
        [&json!(height), &json!(2), &json!(0), &json!(1)]
    );
    assert!(audit["parameters"]
        .as_str()
        .unwrap()
        .contains("DEVELOPMENT"));
    assert_eq!(
        server.get("/v1/audit").body,
        audit,
        "the same at the same height"
    );
    c.registered_patient(&server);
    let again = server.get("/v1/audit").body;
    assert_eq!(
        (&again["height"], &again["report"]["invoices"]),
        (&json!(height + 1), &json!(3))
    );

    // Throughput: every block of this test is in the last hour, and in the last day.
    for (unit, count, unit_ms) in [("minute", 60, 60_000u64), ("hour", 24, 3_600_000)] {
        let t = server.get(&format!("/v1/throughput?unit={unit}")).body;
        assert_eq!(
            (&t["unit_ms"], &t["complete"]),
            (&json!(unit_ms), &json!(true))
        );
        let buckets = t["buckets"].as_array().unwrap();
        assert_eq!(buckets.len(), count);
        let starts: Vec<u64> = buckets
            .iter()
            .map(|b| b["start_ms"].as_u64().unwrap())
            .collect();
        assert!(starts.iter().all(|s| s % unit_ms == 0));
        assert!(starts.windows(2).all(|w| w[1] == w[0] + unit_ms));
        assert!(*starts.last().unwrap() <= now() * 1000);
        let sum = |key: &str| -> u64 { buckets.iter().map(|b| b[key].as_u64().unwrap()).sum() };
        assert_eq!(
            [sum("blocks"), sum("invoices"), sum("voids"), sum("claims")],
            [height + 1, 3, 0, 1],
            "{unit}"
        );
    }
    let five = server.get("/v1/throughput?count=5").body;
    assert_eq!(five["buckets"].as_array().unwrap().len(), 5);
    assert_refused(
        &server.get("/v1/throughput?unit=day"),
        400,
        "invalid_request",
        "minute or hour",
    );
    assert_refused(
        &server.get("/v1/throughput?unit=hour&count=721"),
        400,
        "invalid_request",
        "at most 720",
    );
    assert!(server.terminate().success());
}

#[test]
fn the_pages_show_in_chromium_what_the_api_answers() {
    let Some((chromium, prefix)) = browser() else {
        return;
    };
    let c = Consortium::init();
    let dir = tempfile::tempdir().unwrap();
    let server = console_node(&c, dir.path());
    let (settled, refused) = settled_and_refused(&c, &server);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/pages.mjs");
    let mut command = Command::new("node");
    command
        .arg(script)
        .arg(&prefix)
        .arg(&server.base)
        .arg(TOKEN)
        .arg(&chromium)
        .arg(nullifier(&settled));
    // `ZKCLAIM_SCREENSHOTS=docs/screenshots` (the folder, from the checkout) keeps the
    // pages' screenshots for the README.
    if let Some(shots) = std::env::var_os("ZKCLAIM_SCREENSHOTS") {
        let shots = web_root().join(shots);
        std::fs::create_dir_all(&shots).unwrap();
        command.arg(shots);
    }
    let pages: Value = serde_json::from_str(&succeeded(command.output().unwrap())).unwrap();
    eprintln!("{pages:#}");
    assert_eq!(pages["problems"], json!([]), "{pages:#}");
    assert!(
        pages["csp"]
            .as_str()
            .unwrap()
            .contains("default-src 'self'"),
        "{pages:#}"
    );

    // The console: a wrong token is refused and not kept, the right one shows the claims.
    let wrong = &pages["wrong_token"];
    assert!(
        wrong["message"].as_str().unwrap().contains("bad_token"),
        "{wrong}"
    );
    assert_eq!(
        (&wrong["dashboard_hidden"], &wrong["stored"]),
        (&json!(true), &json!(0))
    );
    let console = &pages["console"];
    let api = |path: &str| console_get(&server, path).body;
    let report = api("/v1/console/claims");
    let insurer = api("/v1/console/insurer");
    assert_eq!(
        console["insurer"],
        format!(
            "Insurer {} · {}",
            insurer["insurer"],
            insurer["name"].as_str().unwrap()
        )
    );
    assert_eq!(
        console["focused"], "insurer-title",
        "focus moves to the dashboard"
    );
    let on_ledger = server
        .get(&format!("/v1/claims/{}", nullifier(&settled)))
        .body;
    assert_eq!(
        console["settled"],
        json!([{
            "nullifier": nullifier(&settled),
            "amount": report["settled"][0]["claim_amount"].to_string(),
            "height": on_ledger["height"].to_string(),
        }])
    );
    assert_eq!(
        console["refused"],
        json!([{"nullifier": nullifier(&refused), "code": "not_enrolled"}])
    );
    assert_eq!(console["enrolments"].as_array().unwrap().len(), 1);
    let days = console["days"].as_array().unwrap();
    assert_eq!(days.len(), 1);
    assert_eq!(days[0][0], report["days"][0]["day"]);
    assert!(
        console["chart_bars"].as_u64().unwrap() >= 2,
        "a bar each for settled and refused"
    );
    assert_eq!(console["token_stored"], true);
    assert_eq!(console["kept_after_reload"], true);
    assert_eq!(
        console["logged_out"],
        json!({"stored": 0, "tables_cleared": true, "dashboard_hidden": true})
    );

    // The explorer: the blocks and their transactions, the audit, the claim by nullifier.
    let explorer = &pages["explorer"];
    let list = server.get("/v1/blocks").body;
    assert_eq!(explorer["height"], list["height"]);
    let shown: Vec<Value> = list["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            json!({
                "height": b["height"],
                "hash": b["hash"],
                "transactions": b["transactions"].as_array().unwrap().iter().map(|t| json!({
                    "id": t["id"], "kind": t["kind"], "signer": t["signer"],
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    assert_eq!(explorer["blocks"], json!(shown));
    assert_eq!(explorer["audit_passed"], true, "{}", explorer["audit"]);
    assert_eq!(explorer["throughput_blocks"], list["height"]);
    assert_eq!(explorer["throughput_bars"], 120, "two series of 60 minutes");
    assert!(explorer["unknown"].as_str().unwrap().contains("No claim"));
    assert_eq!(
        explorer["claim"],
        json!({
            "height": on_ledger["height"],
            "insurer": on_ledger["insurer"],
            "amount": settled.public_inputs.claim_amount,
        })
    );
    assert_eq!(explorer["block_link_focused"], true);

    // Both pages: a language, one main landmark, a live region, every control labelled,
    // every header cell scoped, nothing inline for the CSP to refuse.
    for page in ["console", "explorer"] {
        let a = &pages[page]["accessibility"];
        assert_eq!(
            [
                &a["lang"],
                &a["main"],
                &a["unlabelled"],
                &a["headerless"],
                &a["inlineStyles"],
                &a["inlineScripts"]
            ],
            [
                &json!("en"),
                &json!(1),
                &json!([]),
                &json!(0),
                &json!(0),
                &json!(0)
            ],
            "{page}: {a}"
        );
        assert!(a["liveRegions"].as_u64().unwrap() >= 1, "{page}: {a}");
    }
    assert!(server.terminate().success());
}
