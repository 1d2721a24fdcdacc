//! The claim circuit and a claim's witness in circom's formats, read by snarkjs itself:
//! `zkclaim export r1cs` and `zkclaim prove --tree … --wtns`.

mod common;

use common::*;

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

#[test]
fn snarkjs_reads_the_exported_r1cs_with_its_counts() {
    let dir = tempfile::tempdir().unwrap();
    let out = zkclaim(
        dir.path(),
        &[
            "--json",
            "export",
            "r1cs",
            "--items",
            "2",
            "--depth",
            "4",
            "--out",
            "small.r1cs",
        ],
    );
    let written: Value = serde_json::from_str(&succeeded(out)).unwrap();
    let constraints = written["constraints"].as_u64().unwrap();
    let (ok, info) = snarkjs(dir.path(), &["r1cs", "info", "small.r1cs"]);
    assert!(ok, "{info}");
    assert_eq!(count(&info, "Constraints"), constraints);
    assert_eq!(count(&info, "Public Inputs"), 6, "the statement's six");
    assert_eq!(count(&info, "Outputs"), 0);
    assert_eq!(
        count(&info, "Wires"),
        1 + 6 + count(&info, "Private Inputs"),
        "wire 0, the public inputs, the witness"
    );
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
