//! The EVM verifier: `zkclaim export solidity` compiled by solc (npm `solc`), deployed in an
//! in-process EVM (npm `@ethereumjs/evm`) and called with a claim's calldata
//! (`zkclaim export calldata`): a valid proof is accepted, a tampered public input and a
//! non-canonical one (≥ r) are refused. `evm/verify.mjs` drives solc and the EVM.

mod common;

use common::*;

/// stdout of `zkclaim ARGS…` in `dir`, which must succeed.
fn run(dir: &Path, args: &[&str]) -> String {
    succeeded(zkclaim(dir, args))
}

#[test]
fn the_solidity_verifier_accepts_a_claim_and_refuses_it_tampered_or_non_canonical() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path();
    let patient = Patient::new();
    run(work, &strs(&patient.prove_tree_command(work, 8, &[])));
    run(work, &["export", "solidity", "--out", "ClaimVerifier.sol"]);
    let answer: Value = serde_json::from_str(&run(
        work,
        &["--json", "export", "calldata", "--claim", "claim.json"],
    ))
    .unwrap();
    let calldata = answer["calldata"].as_str().unwrap();

    let installed: Vec<PathBuf> = [
        "solc@0.8.28",
        "@ethereumjs/evm@10.1.3",
        "@ethereumjs/util@10.1.3",
    ]
    .iter()
    .map(|package| {
        let name = package.rsplit_once('@').unwrap().0;
        npm_install("evm", package, &format!("{name}/package.json"))
            .unwrap_or_else(|e| panic!("{e}: needed to test the EVM verifier"))
    })
    .collect();
    // PREFIX/node_modules/solc/package.json: the prefix all three went to.
    let prefix = installed[0].ancestors().nth(3).unwrap();
    let harness = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/evm/verify.mjs");
    let out = Command::new("node")
        .arg(harness)
        .arg(prefix)
        .arg(work.join("ClaimVerifier.sol"))
        .arg(calldata)
        .output()
        .unwrap();
    let text = succeeded(out);
    let run: Value = serde_json::from_str(&text).unwrap();
    eprintln!("{text}");

    assert_eq!(
        run["selector"].as_str().unwrap(),
        &calldata[2..10],
        "the calldata's selector is solc's"
    );
    let word = |b: bool| format!("0x{:064x}", u8::from(b));
    let call = |name: &str| &run[name];
    assert_eq!(call("valid")["reverted"], json!(false));
    assert_eq!(call("valid")["returned"], json!(word(true)));
    for refused in ["tampered_amount", "nullifier_plus_r"] {
        assert_eq!(call(refused)["returned"], json!(word(false)), "{refused}");
    }
    // A verification is two hundred thousand gas or so: four pairings and five scalar
    // multiplications; report it, and catch a contract that skipped the pairing.
    let gas = call("valid")["gas"].as_u64().unwrap();
    assert!(gas > 181_000, "{gas} is less than the pairing alone costs");
}
