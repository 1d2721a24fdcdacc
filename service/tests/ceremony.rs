//! Parameters from a snarkjs phase-2 ceremony: `zkclaim ceremony import` of the `.zkey` made
//! for `zkclaim export r1cs`'s circuit, and proofs with it that zkclaim and snarkjs accept.

mod common;

use common::*;

/// The shape the ceremony is run for: small, so that snarkjs is quick (3,385 constraints, a
/// domain of 2^12).
const SHAPE: [&str; 4] = ["--items", "2", "--depth", "4"];

/// A phase 1 of 2^12 powers (one contribution), prepared for phase 2: made once (a minute or
/// two of snarkjs), then kept under the test target, as the snarkjs install is. It does not
/// depend on zkclaim.
fn phase1() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ptau");
    let path = dir.join("pot12.ptau");
    if !path.exists() {
        std::fs::create_dir_all(&dir).unwrap();
        let work = tempfile::tempdir_in(&dir).unwrap();
        for args in [
            &["powersoftau", "new", "bn128", "12", "0.ptau"][..],
            &[
                "powersoftau",
                "contribute",
                "0.ptau",
                "1.ptau",
                "-e=phase 1",
            ],
            &["powersoftau", "prepare", "phase2", "1.ptau", "pot12.ptau"],
        ] {
            let (ok, text) = snarkjs(work.path(), args);
            assert!(ok, "{args:?}: {text}");
        }
        // Renamed into place whole: a concurrent run never reads half a file.
        std::fs::rename(work.path().join("pot12.ptau"), &path).unwrap();
    }
    path
}

/// `args`, then `SHAPE`.
fn shaped<'a>(args: &[&'a str]) -> Vec<&'a str> {
    [args, &SHAPE[..]].concat()
}

/// `zkclaim ceremony import` of `zkey` into `params` refused, with exit status 3 and a
/// message that says `says`, writing nothing.
fn refused(work: &Path, zkey: &str, shape: &[&str], says: &str) {
    let args = [
        &["ceremony", "import", zkey, "--params", "refused"][..],
        shape,
    ]
    .concat();
    let out = zkclaim(work, &args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains(says), "{stderr:?} should say {says:?}");
    assert!(!work.join("refused").exists());
}

/// The byte offset in an iden3 container of section `kind`'s contents.
fn section_offset(bytes: &[u8], kind: u32) -> usize {
    let mut at = 12;
    loop {
        let found = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
        if found == kind {
            return at + 12;
        }
        at += 12 + u64::from_le_bytes(bytes[at + 4..at + 12].try_into().unwrap()) as usize;
    }
}

#[test]
fn a_snarkjs_ceremonys_key_proves_claims_that_zkclaim_and_snarkjs_verify() {
    let ptau = phase1();
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path();
    let ptau = ptau.to_str().unwrap();
    succeeded(zkclaim(
        work,
        &shaped(&["export", "r1cs", "--out", "claim.r1cs"]),
    ));
    for args in [
        &["groth16", "setup", "claim.r1cs", ptau, "0.zkey"][..],
        &["zkey", "contribute", "0.zkey", "claim.zkey", "-e=phase 2"],
        &[
            "zkey",
            "export",
            "verificationkey",
            "claim.zkey",
            "zkey_vk.json",
        ],
    ] {
        let (ok, text) = snarkjs(work, args);
        assert!(ok, "{args:?}: {text}");
    }

    let import = shaped(&[
        "--json",
        "ceremony",
        "import",
        "claim.zkey",
        "--params",
        "params",
    ]);
    let imported: Value = serde_json::from_str(&succeeded(zkclaim(work, &import))).unwrap();
    assert_eq!(imported["contributions"], 1);
    assert_eq!(imported["shape"], json!({"items": 2, "depth": 4}));
    // Never over existing parameters.
    let again = zkclaim(work, &import);
    assert_eq!(again.status.code(), Some(3), "{again:?}");

    let patient = Patient::new();
    let prove = patient.prove_tree_command(work, 2, &["--params", "params"]);
    succeeded(zkclaim(work, &strs(&prove)));

    let digest = imported["verifying_key_digest"].as_str().unwrap();
    let verify = |claim: &str| {
        zkclaim(
            work,
            &["verify", claim, "--params", "params", "--vk-digest", digest],
        )
    };
    succeeded(verify("claim.json"));
    succeeded(zkclaim(
        work,
        &[
            "export",
            "snarkjs",
            "--claim",
            "claim.json",
            "--params",
            "params",
            "--out",
            "snark",
        ],
    ));
    // The verifying key is the zkey's, as snarkjs exports it.
    let ours: Value =
        serde_json::from_slice(&std::fs::read(work.join("snark/verification_key.json")).unwrap())
            .unwrap();
    let theirs: Value =
        serde_json::from_slice(&std::fs::read(work.join("zkey_vk.json")).unwrap()).unwrap();
    for (name, value) in ours.as_object().unwrap() {
        assert_eq!(*value, theirs[name], "{name}");
    }
    let (ok, text) = snarkjs(
        work,
        &[
            "groth16",
            "verify",
            "zkey_vk.json",
            "snark/public.json",
            "snark/proof.json",
        ],
    );
    assert!(ok && text.contains("OK!"), "{text}");

    // The same proof for another amount: refused by both.
    let mut package: ClaimPackage =
        serde_json::from_slice(&std::fs::read(work.join("claim.json")).unwrap()).unwrap();
    package.public_inputs.claim_amount += 1;
    std::fs::write(
        work.join("changed.json"),
        serde_json::to_vec(&package).unwrap(),
    )
    .unwrap();
    assert_eq!(verify("changed.json").status.code(), Some(1));
    let mut public: Vec<String> =
        serde_json::from_slice(&std::fs::read(work.join("snark/public.json")).unwrap()).unwrap();
    public[4] = (public[4].parse::<u64>().unwrap() + 1).to_string();
    std::fs::write(
        work.join("changed_public.json"),
        serde_json::to_vec(&public).unwrap(),
    )
    .unwrap();
    let (ok, text) = snarkjs(
        work,
        &[
            "groth16",
            "verify",
            "zkey_vk.json",
            "changed_public.json",
            "snark/proof.json",
        ],
    );
    assert!(!ok && text.contains("Invalid proof"), "{text}");

    // And on an EVM chain, with the contract made for the imported key: accepted, and
    // refused for the amount plus one.
    succeeded(zkclaim(
        work,
        &[
            "export",
            "solidity",
            "--params",
            "params",
            "--out",
            "ClaimVerifier.sol",
        ],
    ));
    let answer: Value = serde_json::from_str(&succeeded(zkclaim(
        work,
        &["--json", "export", "calldata", "--claim", "claim.json"],
    )))
    .unwrap();
    let run = evm_verify(
        &work.join("ClaimVerifier.sol"),
        answer["calldata"].as_str().unwrap(),
    );
    assert_eq!(run["valid"]["returned"], json!(evm_word(true)), "{run}");
    assert_eq!(
        run["tampered_amount"]["returned"],
        json!(evm_word(false)),
        "{run}"
    );

    // A zkey of another shape's circuit, or not a whole zkey, is refused.
    refused(
        work,
        "claim.zkey",
        &["--items", "2", "--depth", "5"],
        "not of the claim circuit of shape Shape { items: 2, depth: 5 }",
    );
    let bytes = std::fs::read(work.join("claim.zkey")).unwrap();
    std::fs::write(work.join("truncated.zkey"), &bytes[..bytes.len() - 1]).unwrap();
    refused(
        work,
        "truncated.zkey",
        &SHAPE,
        "the file ends inside section",
    );
    let mut magic = bytes.clone();
    magic[..4].copy_from_slice(b"r1cs");
    std::fs::write(work.join("magic.zkey"), &magic).unwrap();
    refused(work, "magic.zkey", &SHAPE, "not a zkey file");
    // alpha1's x, one bit changed: off the curve.
    let alpha = section_offset(&bytes, 2) + 84;
    let mut moved = bytes;
    moved[alpha] ^= 1;
    std::fs::write(work.join("moved.zkey"), &moved).unwrap();
    refused(work, "moved.zkey", &SHAPE, "alpha1 is not a point");
}

/// `zkclaim ceremony new` refused, with exit status 3 and a message that says `says`,
/// writing nothing.
fn new_refused(work: &Path, args: &[&str], says: &str) {
    let out = zkclaim(work, &[&["ceremony", "new"][..], args].concat());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains(says), "{stderr:?} should say {says:?}");
}

#[test]
fn zkclaim_makes_the_initial_key_that_snarkjs_groth16_setup_makes_byte_for_byte() {
    let ptau = phase1();
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path();
    let ptau = ptau.to_str().unwrap();
    succeeded(zkclaim(
        work,
        &shaped(&["export", "r1cs", "--out", "claim.r1cs"]),
    ));
    let (ok, text) = snarkjs(
        work,
        &["groth16", "setup", "claim.r1cs", ptau, "snarkjs_0000.zkey"],
    );
    assert!(ok, "{text}");
    let new = shaped(&[
        "--json",
        "ceremony",
        "new",
        "--ptau",
        ptau,
        "--out",
        "claim_0000.zkey",
    ]);
    let made: Value = serde_json::from_str(&succeeded(zkclaim(work, &new))).unwrap();

    let ours = std::fs::read(work.join("claim_0000.zkey")).unwrap();
    let theirs = std::fs::read(work.join("snarkjs_0000.zkey")).unwrap();
    let first_difference = ours.iter().zip(&theirs).position(|(a, b)| a != b);
    assert_eq!(
        (ours.len(), first_difference),
        (theirs.len(), None),
        "zkclaim's key (length, first differing byte) is not snarkjs's"
    );
    let hash = section_offset(&theirs, 10);
    assert_eq!(made["circuit_hash"], hex::encode(&theirs[hash..hash + 64]));
    assert_eq!(made["domain_size"], 4096);
    assert_eq!(made["constraints"], 3385);

    // Never over an existing file.
    new_refused(work, &new[3..], "claim_0000.zkey: already exists");
    assert_eq!(std::fs::read(work.join("claim_0000.zkey")).unwrap(), ours);
    // The default shape's domain is 2^14.
    new_refused(
        work,
        &["--ptau", ptau, "--out", "default.zkey"],
        "the phase-1 file has 2^12 powers; this circuit's domain needs 2^14: use a file of \
         power 14 or more",
    );
    assert!(!work.join("default.zkey").exists());
    // A phase 1 not prepared for phase 2.
    let (ok, text) = snarkjs(work, &["powersoftau", "new", "bn128", "8", "raw.ptau"]);
    assert!(ok, "{text}");
    new_refused(
        work,
        &shaped(&["--ptau", "raw.ptau", "--out", "raw.zkey"]),
        "raw.ptau: the ptau is not prepared for phase 2 (run `snarkjs powersoftau prepare \
         phase2`)",
    );
    assert!(!work.join("raw.zkey").exists());
}
