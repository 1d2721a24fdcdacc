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

    let run = evm_verify(&work.join("ClaimVerifier.sol"), calldata);
    eprintln!("{run}");

    assert_eq!(
        run["selector"].as_str().unwrap(),
        &calldata[2..10],
        "the calldata's selector is solc's"
    );
    assert_eq!(run["valid"]["reverted"], json!(false));
    assert_eq!(run["valid"]["returned"], json!(evm_word(true)));
    for refused in ["tampered_amount", "nullifier_plus_r"] {
        assert_eq!(
            run[refused]["returned"],
            json!(evm_word(false)),
            "{refused}"
        );
    }
    // A verification is two hundred thousand gas or so: four pairings and six scalar
    // multiplications; report it, and catch a contract that skipped the pairing.
    let gas = run["valid"]["gas"].as_u64().unwrap();
    assert!(gas > 181_000, "{gas} is less than the pairing alone costs");
    println!(
        "a verification: {gas} gas of execution, {} for the whole transaction; deployment {}",
        run["valid"]["transaction_gas"], run["deploy_gas"]
    );
}
