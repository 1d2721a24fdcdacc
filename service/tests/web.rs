//! The patient's page (`/app/`) in a real browser against a real node: headless Chromium
//! (Debian's, driven by puppeteer-core from npm) proves a claim with the WebAssembly build
//! (`sdk/js/build.sh`) and hands it in at the node's insurer. The node's ledger then holds
//! the claim and its audit passes; the browser's proof verifies natively and has the public
//! inputs the CLI's proof of the same witness has; the same invoice again is refused; and no
//! request the browser made carried the key, the invoice or the policy.

mod common;

use common::*;
use zkclaim_circuits::Circuit;
use zkclaim_prover::ClaimParams;

/// The values of the patient's files that must never leave the device, as they would
/// appear in a request: hex without `0x`, in either case, and the JSON texts' numbers.
fn secrets(patient: &Patient) -> Vec<String> {
    let request: Value = serde_json::from_str(&patient.request()).unwrap();
    let mut secrets = vec![
        request["key"]["sk"].as_str().unwrap().to_string(),
        request["invoice"]["serial"].as_str().unwrap().to_string(),
        request["invoice"]["patient_pk"]
            .as_str()
            .unwrap()
            .to_string(),
        request["policy"]["salt"].as_str().unwrap().to_string(),
    ];
    for item in request["invoice"]["items"].as_array().unwrap() {
        secrets.push(item["detail"].as_str().unwrap().to_string());
    }
    secrets
        .into_iter()
        .map(|s| s.trim_start_matches("0x").to_lowercase())
        .collect()
}

#[test]
fn a_patient_proves_in_the_browser_and_claims_once() {
    let Some((chromium, prefix)) = browser() else {
        return;
    };
    if !wasm_built() {
        return;
    }
    let c = Consortium::init();
    let root = web_root();
    let server = c.serve(
        &["--insurer", "10", "--web-root", root.to_str().unwrap()],
        None,
    );
    let patient = c.enrolled_patient(&server);
    let dir = tempfile::tempdir().unwrap();
    let [invoice, key, policy] = patient.write(dir.path());

    // The CLI's proof of the same witness, against the same leaves.
    let leaves = server.get("/v1/leaves");
    assert_eq!(leaves.status, 200, "{}", leaves.body);
    let tree = dir.path().join("tree.json");
    let leaves: Vec<Value> = leaves.body["leaves"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["leaf"].clone())
        .collect();
    std::fs::write(&tree, json!({ "leaves": leaves }).to_string()).unwrap();
    let cli = dir.path().join("cli.json");
    let path = |p: &Path| p.to_str().unwrap().to_string();
    succeeded(c.zkclaim(&[
        "prove",
        "--invoice",
        &path(&invoice),
        "--key",
        &path(&key),
        "--policy",
        &path(&policy),
        "--tree",
        &path(&tree),
        "--out",
        &path(&cli),
    ]));
    let cli: ClaimPackage = serde_json::from_slice(&std::fs::read(&cli).unwrap()).unwrap();

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/patient.mjs");
    let mut command = Command::new("node");
    command
        .arg(script)
        .arg(&prefix)
        .arg(&server.base)
        .arg(&chromium)
        .arg(dir.path());
    // `ZKCLAIM_SCREENSHOTS=docs/screenshots` (from the checkout) keeps the page's screenshot.
    if let Some(shots) = std::env::var_os("ZKCLAIM_SCREENSHOTS") {
        command.arg(root.join(shots));
    }
    let report: Value = serde_json::from_str(&succeeded(command.output().unwrap())).unwrap();
    let summary = json!({
        "click_to_receipt_ms": report["click_to_receipt_ms"],
        "receipt": { "prove_ms": report["receipt"]["prove_ms"], "load_ms": report["receipt"]["load_ms"] },
        "resources": report["resources"],
        "status": report["status"], "again": report["again"], "problems": report["problems"],
    });
    eprintln!("{summary:#}");
    assert_eq!(report["problems"], json!([]), "{summary:#}");

    // The receipt is the ledger's: the claim is on it, at the receipt's height.
    let receipt = &report["receipt"];
    let package: ClaimPackage = serde_json::from_value(receipt["package"].clone()).unwrap();
    let nullifier = field::format(&package.public_inputs.nullifier);
    assert_eq!(receipt["nullifier"], json!(nullifier));
    let settled = server.get(&format!("/v1/claims/{nullifier}"));
    assert_eq!(settled.status, 200, "{}", settled.body);
    assert_eq!(settled.body["height"], receipt["height"]);
    assert_eq!(settled.body["insurer"], json!(INSURER_A));

    // The browser's proof verifies natively, with the CLI's public inputs.
    let vk =
        ClaimParams::load_verifying_key(&c.data.path().join("params"), Circuit::Primary).unwrap();
    package.verify(&vk.prepare()).unwrap();
    assert_eq!(package.public_inputs, cli.public_inputs);
    assert_eq!(
        report["preview_amount"],
        json!(format!(
            "¥{}.{:02}",
            cli.public_inputs.claim_amount / 100,
            cli.public_inputs.claim_amount % 100
        ))
    );

    // The same invoice again: refused as a duplicate, in the patient's words, before a proof
    // (a package handed in again would get its first receipt, as a retry does).
    let again = report["again"].as_str().unwrap();
    assert!(again.contains("already been claimed"), "{again}");

    // Nothing secret in any request: not in a URL, not in a body. The intake's body is the
    // package, which the recorder saw (so it sees bodies), and the page's worker loaded the
    // prover (so it sees the worker's requests).
    let requests = report["requests"].as_array().unwrap();
    let secrets = secrets(&patient);
    for r in requests {
        let (url, body) = (r["url"].as_str().unwrap(), r["body"].as_str().unwrap());
        assert!(url.starts_with(&server.base), "a request elsewhere: {url}");
        for secret in &secrets {
            for text in [url, body] {
                let route = url.split('?').next().unwrap();
                assert!(
                    !text.to_lowercase().contains(secret.as_str()),
                    "{} {route} carries a secret of the patient",
                    r["method"]
                );
            }
        }
    }
    let posted: Vec<&Value> = requests.iter().filter(|r| r["method"] == "POST").collect();
    assert_eq!(posted.len(), 1, "the intake and nothing else: {posted:?}");
    for r in &posted {
        assert!(r["url"].as_str().unwrap().ends_with("/v1/intake"));
        let sent: ClaimPackage = serde_json::from_str(r["body"].as_str().unwrap()).unwrap();
        assert_eq!(sent.public_inputs, package.public_inputs);
    }
    assert!(
        requests
            .iter()
            .any(|r| r["url"].as_str().unwrap().ends_with("/app/worker.js")),
        "the worker's script was not seen"
    );

    assert!(server.terminate().success());
    let audit = succeeded(c.zkclaim(&["audit"]));
    assert!(
        audit.contains("audit passed") && audit.contains("1 claims"),
        "{audit}"
    );
}

/// Without the pages, or without the WebAssembly build, the node still serves the API and
/// says at start what is missing and how to build it.
#[test]
fn a_node_says_how_to_build_what_the_pages_need() {
    let c = Consortium::init();
    let dir = tempfile::tempdir().unwrap();
    // Pages without the WebAssembly build: a copy of the checkout's web/ alone.
    let root = dir.path().join("release");
    let app = root.join("web/app");
    std::fs::create_dir_all(&app).unwrap();
    for file in ["index.html", "app.js", "worker.js"] {
        std::fs::copy(web_root().join("web/app").join(file), app.join(file)).unwrap();
    }
    for (root, says) in [
        (dir.path().join("empty"), "no web pages under"),
        (root, "needs the WebAssembly build: run `sdk/js/build.sh`"),
    ] {
        let log = dir.path().join("log");
        let server = c.serve(&["--web-root", root.to_str().unwrap()], Some(&log));
        assert_eq!(server.get("/v1/roots").status, 200);
        let page = server.agent.get(&format!("{}/app/", server.base)).call();
        let served = page.is_ok();
        assert!(server.terminate().success());
        let log = std::fs::read_to_string(&log).unwrap();
        assert!(log.contains(says), "{log}");
        assert_eq!(served, root.join("web").exists(), "{log}");
    }
}

/// The parameter files a browser proves with are served gzipped to a browser that takes
/// gzip, and as they are to one that does not; the proving key is the pinned one.
#[test]
fn the_parameter_files_are_served_compressed_and_as_pinned() {
    let c = Consortium::init();
    let server = c.serve(&[], None);
    let params = c.data.path().join("params");
    for file in ["claim.prover", "claim.pk"] {
        let url = format!("{}/params/primary/{file}", server.base);
        let bytes = std::fs::read(params.join(file)).unwrap();
        let get = |gzip: bool| {
            let request = server.agent.get(&url);
            let request = match gzip {
                true => request.set("accept-encoding", "gzip"),
                false => request,
            };
            let response = request.call().unwrap();
            let encoding = response.header("content-encoding").map(str::to_string);
            let mut body = Vec::new();
            std::io::Read::read_to_end(&mut response.into_reader(), &mut body).unwrap();
            (encoding, body)
        };
        let (encoding, plain) = get(false);
        assert_eq!((encoding, plain.len()), (None, bytes.len()));
        assert_eq!(plain, bytes);
        let (encoding, gzipped) = get(true);
        assert_eq!(encoding.as_deref(), Some("gzip"));
        assert!(gzipped.len() < bytes.len(), "{file}: {}", gzipped.len());
    }
    let genesis = Genesis::load(&c.data.path().join("consortium/genesis.json")).unwrap();
    let pinned = genesis.proving_key_digest.unwrap();
    let key = std::fs::read(params.join("claim.pk")).unwrap();
    assert_eq!(<[u8; 32]>::from(Sha256::digest(&key)), pinned);
    assert!(server.terminate().success());
}
