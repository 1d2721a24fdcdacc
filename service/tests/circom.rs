//! The claim circuits and a claim's witness in circom's formats, read by snarkjs itself:
//! `zkclaim export r1cs` (of either circuit), `zkclaim prove --tree … --wtns` and a
//! continuation's witness from the prover library.

mod common;

use common::*;
use zkclaim_circuits::{claim::Shape, Circuit};
use zkclaim_prover::{circom, ClaimMatrices};

/// The number snarkjs's `r1cs info` prints after `# of NAME: `.
fn count(info: &str, name: &str) -> u64 {
    let label = format!("# of {name}: ");
    let at = info
        .find(&label)
        .unwrap_or_else(|| panic!("{name} in {info}"))
        + label.len();
    info[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap()
}

/// `zkclaim export r1cs` of `circuit` (items 2, depth 4) to `out` in `dir`: its JSON answer.
fn export_small(dir: &Path, circuit: Circuit, out: &str) -> Value {
    let args = [
        "--json",
        "export",
        "r1cs",
        "--circuit",
        circuit.name(),
        "--items",
        "2",
        "--depth",
        "4",
        "--out",
        out,
    ];
    serde_json::from_str(&succeeded(zkclaim(dir, &args))).unwrap()
}

#[test]
fn snarkjs_reads_the_exported_r1cs_of_each_circuit_with_its_counts() {
    let dir = tempfile::tempdir().unwrap();
    let mut constraints = Vec::new();
    for (circuit, inputs) in [(Circuit::Primary, 6), (Circuit::Continuation, 8)] {
        let file = format!("{circuit}.r1cs");
        let written = export_small(dir.path(), circuit, &file);
        assert_eq!(written["circuit"], circuit.name());
        let (ok, info) = snarkjs(dir.path(), &["r1cs", "info", &file]);
        assert!(ok, "{info}");
        assert_eq!(
            count(&info, "Constraints"),
            written["constraints"].as_u64().unwrap()
        );
        assert_eq!(
            count(&info, "Public Inputs"),
            inputs,
            "the {circuit} statement's"
        );
        assert_eq!(count(&info, "Outputs"), 0);
        assert_eq!(
            count(&info, "Wires"),
            1 + inputs + count(&info, "Private Inputs"),
            "wire 0, the public inputs, the witness"
        );
        constraints.push(count(&info, "Constraints"));
    }
    assert_eq!(constraints, [3386, 7365], "primary, continuation");
}

#[test]
fn snarkjs_checks_a_claims_witness_against_the_r1cs_and_refuses_one_value_changed() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path();
    let patient = Patient::new();
    let prove = |wtns: &str| {
        let args = patient.prove_tree_command(work, 8, &["--wtns", wtns]);
        zkclaim(work, &strs(&args))
    };
    succeeded(prove("claim.wtns"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(work.join("claim.wtns"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "the witness holds the patient's secrets"
        );
    }
    // Never over an existing file.
    let again = prove("claim.wtns");
    assert_eq!(again.status.code(), Some(3), "{again:?}");
    succeeded(zkclaim(work, &["export", "r1cs", "--out", "claim.r1cs"]));

    let (ok, text) = snarkjs(work, &["wtns", "check", "claim.r1cs", "claim.wtns"]);
    assert!(ok && text.contains("WITNESS IS CORRECT"), "{text}");

    // The last witness value (the file's last 32 bytes), one bit changed.
    let mut bytes = std::fs::read(work.join("claim.wtns")).unwrap();
    let last = bytes.len() - 32;
    bytes[last] ^= 1;
    std::fs::write(work.join("changed.wtns"), bytes).unwrap();
    let (ok, text) = snarkjs(work, &["wtns", "check", "claim.r1cs", "changed.wtns"]);
    assert!(!ok && text.contains("WITNESS IS NOT CORRECT"), "{text}");
}

#[test]
fn snarkjs_checks_a_continuations_witness_against_the_exported_continuation_r1cs_only() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path();
    let shape = Shape { items: 2, depth: 4 };
    export_small(work, Circuit::Continuation, "continuation.r1cs");
    export_small(work, Circuit::Primary, "primary.r1cs");
    let matrices = ClaimMatrices::build(Circuit::Continuation, shape).unwrap();
    let witness = sample::continuation(&mut OsRng, shape, 2, 1);
    let wtns = circom::wtns_continuation(&matrices, shape, witness).unwrap();
    std::fs::write(work.join("continuation.wtns"), &wtns[..]).unwrap();

    let check = |r1cs: &str, wtns: &str| snarkjs(work, &["wtns", "check", r1cs, wtns]);
    let (ok, text) = check("continuation.r1cs", "continuation.wtns");
    assert!(ok && text.contains("WITNESS IS CORRECT"), "{text}");
    // Not a witness of the primary circuit.
    let (ok, text) = check("primary.r1cs", "continuation.wtns");
    assert!(!ok, "{text}");

    // The last witness value, one bit changed.
    let mut bytes = wtns.to_vec();
    let last = bytes.len() - 32;
    bytes[last] ^= 1;
    std::fs::write(work.join("changed.wtns"), bytes).unwrap();
    let (ok, text) = check("continuation.r1cs", "changed.wtns");
    assert!(!ok && text.contains("WITNESS IS NOT CORRECT"), "{text}");
}
