//! The JavaScript SDK (`sdk/js`) on Node.js over its WebAssembly build, against a real node:
//! its keys and hashes are the CLI's, its path (built from every leaf) is the node's, its
//! proof verifies natively and settles, and a wrong pin or a broken rule is refused
//! (`sdk/js/test/wallet.test.mjs`, run here with the node and the patient's files).

mod common;

use common::*;
use zkclaim_circuits::Circuit;
use zkclaim_prover::ClaimParams;

#[test]
fn the_sdk_proves_on_node_js_what_the_node_settles() {
    if !installed("node", "nodejs") {
        return;
    }
    if !wasm_built() {
        return;
    }
    let c = Consortium::init();
    let server = c.serve(&["--insurer", "10"], None);
    let patient = c.enrolled_patient(&server);
    let dir = tempfile::tempdir().unwrap();
    patient.write(dir.path());

    // What the CLI and the node say of the patient's files.
    let file = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let cli = |args: &[&str]| succeeded(zkclaim(dir.path(), args)).trim().to_string();
    let commitment = cli(&["invoice", "commit", &file("invoice.json")]);
    let leaves = server.get("/v1/leaves").body;
    let index = leaves["leaves"]
        .as_array()
        .unwrap()
        .iter()
        .position(|l| l["leaf"] == json!(commitment))
        .unwrap();
    let path = server.get(&format!("/v1/paths/{index}"));
    assert_eq!(path.status, 200, "{}", path.body);
    let key: Value =
        serde_json::from_str(&std::fs::read_to_string(file("key.json")).unwrap()).unwrap();
    let expected = json!({
        "public_key": key["pk"],
        "claimant_tag": cli(&["patient", "tag", "--key", &file("key.json"), "--insurer", "10"]),
        "commitment": commitment,
        "policy_hash": cli(&["insurer", "policy-hash", &file("policy.json")]),
        "path": path.body["path"],
    });
    std::fs::write(file("expected.json"), expected.to_string()).unwrap();

    let out = Command::new("node")
        .args([
            "--test",
            "--test-reporter=tap",
            "sdk/js/test/wallet.test.mjs",
        ])
        .current_dir(web_root())
        .env("ZKCLAIM_URL", &server.base)
        .env("ZKCLAIM_PATIENT", dir.path())
        .env("ZKCLAIM_EXPECTED", file("expected.json"))
        .env("ZKCLAIM_JS_OUT", file("out.json"))
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && report.contains("# pass 1"),
        "{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The SDK's proof verifies natively, and the node settled it.
    let out: Value = serde_json::from_slice(&std::fs::read(file("out.json")).unwrap()).unwrap();
    let claim: ClaimPackage = serde_json::from_value(out["claim"].clone()).unwrap();
    let vk =
        ClaimParams::load_verifying_key(&c.data.path().join("params"), Circuit::Primary).unwrap();
    claim.verify(&vk.prepare()).unwrap();
    let nullifier = field::format(&claim.public_inputs.nullifier);
    let settled = server.get(&format!("/v1/claims/{nullifier}"));
    assert_eq!(settled.status, 200, "{}", settled.body);
    assert_eq!(settled.body["height"], out["receipt"]["height"]);
}
