//! Parameters from a snarkjs phase-2 ceremony: `zkclaim ceremony import` of the `.zkey` made
//! for `zkclaim export r1cs`'s circuit, and proofs with it that zkclaim and snarkjs accept;
//! the continuation circuit's ceremony beside the primary one's.

mod common;

use common::*;
use zkclaim_circuits::{claim::Shape, Circuit};
use zkclaim_prover::{prove_continuation, ClaimParams};

/// The shape the ceremony is run for: small, so that snarkjs is quick (3,386 constraints, a
/// domain of 2^12; the continuation circuit's 7,365, a domain of 2^13).
const SHAPE: [&str; 4] = ["--items", "2", "--depth", "4"];

/// A phase 1 of 2^`power` powers (one contribution), prepared for phase 2: made once (a
/// minute or two of snarkjs for 2^12, twice that for 2^13), then kept under the test target,
/// as the snarkjs install is. It does not depend on zkclaim.
fn phase1(power: u32) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ptau");
    let name = format!("pot{power}.ptau");
    let path = dir.join(&name);
    if !path.exists() {
        std::fs::create_dir_all(&dir).unwrap();
        let work = tempfile::tempdir_in(&dir).unwrap();
        let power = power.to_string();
        for args in [
            &["powersoftau", "new", "bn128", &power, "0.ptau"][..],
            &[
                "powersoftau",
                "contribute",
                "0.ptau",
                "1.ptau",
                "-e=phase 1",
            ],
            &["powersoftau", "prepare", "phase2", "1.ptau", &name],
        ] {
            let (ok, text) = snarkjs(work.path(), args);
            assert!(ok, "{args:?}: {text}");
        }
        // Renamed into place whole: a concurrent run never reads half a file.
        std::fs::rename(work.path().join(&name), &path).unwrap();
    }
    path
}

/// A new folder holding `zkclaim export r1cs`'s circuit of `SHAPE` (`claim.r1cs`), and the
/// phase-1 file's path.
fn with_circuit() -> (tempfile::TempDir, String) {
    let ptau = phase1(12).to_str().unwrap().to_owned();
    let dir = tempfile::tempdir().unwrap();
    succeeded(zkclaim(
        dir.path(),
        &shaped(&["export", "r1cs", "--out", "claim.r1cs"]),
    ));
    (dir, ptau)
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
    let (dir, ptau) = with_circuit();
    let (work, ptau) = (dir.path(), ptau.as_str());
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
        "not of the primary claim circuit of shape Shape { items: 2, depth: 5 }",
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

/// A 64-byte hash (hex) as snarkjs prints one: 4 lines of 4 32-bit words.
fn snarkjs_words(hash: &str) -> String {
    (0..4)
        .map(|line| {
            let words: Vec<&str> = (0..4)
                .map(|w| &hash[32 * line + 8 * w..32 * line + 8 * w + 8])
                .collect();
            format!("\t\t{}", words.join(" "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The hash snarkjs printed after `label` (its 4 lines of words), as hex.
fn snarkjs_hash(text: &str, label: &str) -> String {
    let at = text
        .find(label)
        .unwrap_or_else(|| panic!("no {label:?} in {text}"));
    let lines = text[at + label.len()..].lines().skip(1).take(4);
    let hash: String = lines.flat_map(|l| l.split_whitespace()).collect();
    assert_eq!(hash.len(), 128, "{text}");
    hash
}

/// Where each contribution of section 10 begins (`offset` being the section's), and where
/// the last ends.
fn contribution_offsets(bytes: &[u8], offset: usize) -> Vec<usize> {
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
    let mut at = offset + 68;
    let mut out = vec![at];
    for _ in 0..u32_at(offset + 64) {
        // deltaAfter, g1_s, g1_sx, g2_spx, the transcript, the type; then the parameters.
        at += 3 * 64 + 128 + 64 + 4;
        at += 4 + u32_at(at);
        out.push(at);
    }
    out
}

/// `zkclaim ceremony verify` of `zkey` against `init` refused with exit status 1, saying
/// `says`; `snarkjs zkey verify init` refused too, saying `snarkjs_says`.
fn both_refuse(work: &Path, init: &str, zkey: &str, says: &str, snarkjs_says: &str) {
    let out = zkclaim(
        work,
        &["ceremony", "verify", "--init", init, "--zkey", zkey],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{zkey}: {stderr}");
    assert!(stderr.contains(says), "{stderr:?} should say {says:?}");
    let ptau = phase1(12);
    // `zkey verify init` (zkvi): `zkey verify`'s checks without first redoing the setup.
    let (ok, text) = snarkjs(work, &["zkvi", init, ptau.to_str().unwrap(), zkey]);
    assert!(!ok, "snarkjs accepted {zkey}: {text}");
    assert!(
        text.contains(snarkjs_says),
        "{text:?} should say {snarkjs_says:?}"
    );
}

#[test]
fn zkclaim_and_snarkjs_take_turns_on_one_ceremony_and_each_verifies_the_others() {
    let (dir, ptau) = with_circuit();
    let (work, ptau) = (dir.path(), ptau.as_str());
    let (ok, text) = snarkjs(work, &["groth16", "setup", "claim.r1cs", ptau, "0.zkey"]);
    assert!(ok, "{text}");

    let contribute = |from: &str, to: &str, name: &str| -> String {
        let args = ["--json", "ceremony", "contribute", from, to, "--name", name];
        let answer: Value = serde_json::from_str(&succeeded(zkclaim(work, &args))).unwrap();
        answer["contribution_hash"].as_str().unwrap().to_owned()
    };
    let acme = contribute("0.zkey", "1.zkey", "acme");
    let (ok, text) = snarkjs(
        work,
        &[
            "zkey",
            "contribute",
            "1.zkey",
            "2.zkey",
            "--name=bob",
            "-e=bob's entropy",
        ],
    );
    assert!(ok, "{text}");
    let bob = snarkjs_hash(&text, "Contribution Hash: ");
    let carol = contribute("2.zkey", "3.zkey", "carol");
    // Never over an existing file.
    let again = zkclaim(
        work,
        &["ceremony", "contribute", "2.zkey", "3.zkey", "--name", "x"],
    );
    assert_eq!(again.status.code(), Some(3), "{again:?}");
    let beacon_hash = "0123456789abcdef0123456789abcdef";
    let answer: Value = serde_json::from_str(&succeeded(zkclaim(
        work,
        &[
            "--json",
            "ceremony",
            "beacon",
            "3.zkey",
            "final.zkey",
            "--hash",
            beacon_hash,
            "--iterations",
            "10",
            "--name",
            "beacon",
        ],
    )))
    .unwrap();
    let beacon = answer["contribution_hash"].as_str().unwrap().to_owned();
    // A beacon is deterministic: snarkjs's, of the same value, is the same file.
    let (ok, text) = snarkjs(
        work,
        &[
            "zkey",
            "beacon",
            "3.zkey",
            "snarkjs.zkey",
            beacon_hash,
            "10",
            "-n=beacon",
        ],
    );
    assert!(ok, "{text}");
    let final_bytes = std::fs::read(work.join("final.zkey")).unwrap();
    assert!(final_bytes == std::fs::read(work.join("snarkjs.zkey")).unwrap());

    // snarkjs verifies the ceremony against the circuit and phase 1, and lists the
    // contribution hashes zkclaim printed.
    let (ok, text) = snarkjs(work, &["zkey", "verify", "claim.r1cs", ptau, "final.zkey"]);
    assert!(ok && text.contains("ZKey Ok!"), "{text}");
    let hashes = [&acme, &bob, &carol, &beacon];
    for (i, (name, hash)) in ["acme", "bob", "carol", "beacon"]
        .iter()
        .zip(hashes)
        .enumerate()
    {
        let listed = format!("contribution #{} {name}:\n{}", i + 1, snarkjs_words(hash));
        assert!(text.contains(&listed), "{text} should list {listed}");
    }
    let circuit_hash = snarkjs_hash(&text, "Circuit Hash: ");

    // And zkclaim verifies it from the initial key.
    let verify = [
        "--json",
        "ceremony",
        "verify",
        "--init",
        "0.zkey",
        "--zkey",
        "final.zkey",
    ];
    let report: Value = serde_json::from_str(&succeeded(zkclaim(work, &verify))).unwrap();
    assert_eq!(report["circuit_hash"], circuit_hash);
    let listed: Vec<(&str, &str, &str)> = report["contributions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let field = |k: &str| c[k].as_str().unwrap();
            (field("name"), field("type"), field("hash"))
        })
        .collect();
    assert_eq!(
        listed,
        [
            ("acme", "contribution", acme.as_str()),
            ("bob", "contribution", &bob),
            ("carol", "contribution", &carol),
            ("beacon", "beacon", &beacon),
        ]
    );
    assert_eq!(
        report["contributions"][3]["beacon"],
        json!({"hash": beacon_hash, "iterations_exp": 10})
    );
    let transcript = report["transcript_hash"].as_str().unwrap();
    assert_eq!(transcript.len(), 128);
    // From the circuit and phase 1, as `snarkjs zkey verify` does: the same report.
    let whole = shaped(&[
        "--json",
        "ceremony",
        "verify",
        "--ptau",
        ptau,
        "--zkey",
        "final.zkey",
    ]);
    let whole: Value = serde_json::from_str(&succeeded(zkclaim(work, &whole))).unwrap();
    assert_eq!(whole, report);
    // The same key from 3.zkey's ceremony, one contribution shorter: another transcript.
    let verify = [
        "--json", "ceremony", "verify", "--init", "0.zkey", "--zkey", "3.zkey",
    ];
    let shorter: Value = serde_json::from_str(&succeeded(zkclaim(work, &verify))).unwrap();
    assert_ne!(shorter["transcript_hash"], transcript);
    assert_eq!(shorter["contributions"].as_array().unwrap().len(), 3);

    // Each of these is refused by both verifiers.
    let mpc = section_offset(&final_bytes, 10);
    let offsets = contribution_offsets(&final_bytes, mpc);
    assert_eq!(offsets.len(), 5);
    let write = |name: &str, bytes: &[u8]| std::fs::write(work.join(name), bytes).unwrap();

    // One L point (the first) replaced by another of the key's.
    let l = section_offset(&final_bytes, 8);
    let mut edited = final_bytes.clone();
    edited.copy_within(l + 64..l + 128, l);
    write("l.zkey", &edited);
    both_refuse(
        work,
        "0.zkey",
        "l.zkey",
        "its L and H queries are not the initial key's scaled by its delta",
        "L section does not match",
    );

    // Bob's g2_spx replaced by acme's: his proof of knowledge no longer holds.
    let g2_spx = 3 * 64;
    let mut edited = final_bytes.clone();
    edited.copy_within(
        offsets[0] + g2_spx..offsets[0] + g2_spx + 128,
        offsets[1] + g2_spx,
    );
    write("pok.zkey", &edited);
    both_refuse(
        work,
        "0.zkey",
        "pok.zkey",
        "contribution #2 (bob): its proof of knowledge does not hold",
        "INVALID(1): public key G1 and G2 do not have the same ration",
    );

    // Bob's contribution removed from the transcript (section 10 rewritten, shorter).
    let mut section = final_bytes[mpc..mpc + 64].to_vec();
    section.extend_from_slice(&3u32.to_le_bytes());
    section.extend_from_slice(&final_bytes[offsets[0]..offsets[1]]);
    section.extend_from_slice(&final_bytes[offsets[2]..offsets[4]]);
    let mut edited = final_bytes[..mpc - 8].to_vec();
    edited.extend_from_slice(&(section.len() as u64).to_le_bytes());
    edited.extend_from_slice(&section);
    edited.extend_from_slice(&final_bytes[offsets[4]..]);
    write("removed.zkey", &edited);
    both_refuse(
        work,
        "0.zkey",
        "removed.zkey",
        "contribution #2 (carol): its transcript is not the hash of the contributions before \
         it and of its key",
        "INVALID(1): Inconsistent transcript",
    );

    // The initial key of another shape's circuit.
    succeeded(zkclaim(
        work,
        &[
            "export",
            "r1cs",
            "--out",
            "other.r1cs",
            "--items",
            "2",
            "--depth",
            "5",
        ],
    ));
    let (ok, text) = snarkjs(
        work,
        &["groth16", "setup", "other.r1cs", ptau, "other.zkey"],
    );
    assert!(ok, "{text}");
    both_refuse(
        work,
        "other.zkey",
        "final.zkey",
        "its circuit hash is not the initial key's",
        "INVALID:  Different circuit parameters",
    );
    // And from phase 1 for another shape of the circuit.
    let other = [
        "ceremony",
        "verify",
        "--ptau",
        ptau,
        "--zkey",
        "final.zkey",
        "--items",
        "2",
        "--depth",
        "5",
    ];
    let out = zkclaim(work, &other);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("the primary claim circuit of items 2, depth 5")
            && stderr.contains("its circuit hash is not the initial key's"),
        "{stderr}"
    );

    // The consortium takes the ceremony's output: a tampered transcript is refused with
    // nothing written; the verified one is recorded in the genesis, which pins its keys
    // (imported into DATA's parameters), and the audit names the contributors.
    let init = |zkey: &str| {
        zkclaim(
            work,
            &shaped(&[
                "--json",
                "consortium",
                "init",
                "--ceremony",
                zkey,
                "--ptau",
                ptau,
            ]),
        )
    };
    let out = init("pok.zkey");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("proof of knowledge does not hold"));
    assert!(!work.join("data/consortium/genesis.json").exists());
    assert!(!work.join("data/params").exists());
    succeeded(init("final.zkey"));
    let genesis: Value =
        serde_json::from_slice(&std::fs::read(work.join("data/consortium/genesis.json")).unwrap())
            .unwrap();
    assert_eq!(genesis["ceremony"]["transcript_hash"], transcript);
    assert_eq!(genesis["ceremony"]["circuit_hash"], circuit_hash);
    let recorded: Vec<(&str, &str)> = genesis["ceremony"]["contributions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["hash"].as_str().unwrap()))
        .collect();
    assert_eq!(
        recorded,
        [
            ("acme", acme.as_str()),
            ("bob", &bob),
            ("carol", &carol),
            ("beacon", &beacon)
        ]
    );
    assert_eq!(
        genesis["ceremony"]["contributions"][3]["beacon"],
        json!({"hash": beacon_hash, "iterations_exp": 10})
    );
    let imported: Value =
        serde_json::from_str(&succeeded(zkclaim(work, &["--json", "audit"]))).unwrap();
    assert_eq!(imported["ceremony"], genesis["ceremony"]);
    let audit = succeeded(zkclaim(work, &["audit"]));
    assert!(
        audit.contains(
            "parameters from a phase-2 ceremony of 4 contributions (acme, bob, carol, beacon)"
        ) && audit.contains("proving key: the pinned one"),
        "{audit}"
    );
    // `consortium genesis` records the same ceremony from the members' public parts.
    std::fs::write(
        work.join("members.json"),
        serde_json::to_vec(&genesis["members"]).unwrap(),
    )
    .unwrap();
    let assembled: Value = serde_json::from_str(&succeeded(zkclaim(
        work,
        &shaped(&[
            "--json",
            "consortium",
            "genesis",
            "--chain-id",
            "ceremony-test",
            "--members",
            "members.json",
            "--ceremony",
            "final.zkey",
            "--ptau",
            ptau,
            "--out",
            "genesis.json",
        ]),
    )))
    .unwrap();
    assert_eq!(assembled["ceremony"], genesis["ceremony"]);
    assert_eq!(
        assembled["verifying_key_digest"],
        genesis["verifying_key_digest"]
    );
    assert_eq!(
        assembled["proving_key_digest"],
        genesis["proving_key_digest"]
    );
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
    let (dir, ptau) = with_circuit();
    let (work, ptau) = (dir.path(), ptau.as_str());
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
    assert_eq!(made["constraints"], 3386);

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

/// `snarkjs groth16 verify` of `proof` and `public` in `work` under `vk`: whether it said OK.
fn snarkjs_verifies(work: &Path, vk: &str, public: &str, proof: &str) -> (bool, String) {
    let (ok, text) = snarkjs(work, &["groth16", "verify", vk, public, proof]);
    (ok && text.contains("OK!"), text)
}

#[test]
fn a_continuation_ceremony_makes_snarkjss_keys_and_its_imported_key_proves_what_snarkjs_verifies() {
    let ptau = phase1(13);
    let ptau = ptau.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path();
    let continuation = |args: &[&str]| -> Vec<String> {
        [args, &["--circuit", "continuation"][..], &SHAPE[..]]
            .concat()
            .into_iter()
            .map(str::to_owned)
            .collect()
    };
    let json = |args: &[String]| -> Value {
        serde_json::from_str(&succeeded(zkclaim(work, &strs(args)))).unwrap()
    };
    json(&continuation(&[
        "--json",
        "export",
        "r1cs",
        "--out",
        "continuation.r1cs",
    ]));

    // The initial key: snarkjs's, byte for byte, and not the primary circuit's.
    let (ok, text) = snarkjs(
        work,
        &[
            "groth16",
            "setup",
            "continuation.r1cs",
            ptau,
            "snarkjs_0000.zkey",
        ],
    );
    assert!(ok, "{text}");
    let new = ["--json", "ceremony", "new", "--ptau", ptau, "--out"];
    let made = json(&continuation(&[&new[..], &["0.zkey"]].concat()));
    assert_eq!(
        (&made["circuit"], &made["constraints"], &made["domain_size"]),
        (&json!("continuation"), &json!(7365), &json!(8192))
    );
    let ours = std::fs::read(work.join("0.zkey")).unwrap();
    let theirs = std::fs::read(work.join("snarkjs_0000.zkey")).unwrap();
    let first_difference = ours.iter().zip(&theirs).position(|(a, b)| a != b);
    assert_eq!(
        (ours.len(), first_difference),
        (theirs.len(), None),
        "zkclaim's continuation key (length, first differing byte) is not snarkjs's"
    );
    let primary: Value = serde_json::from_str(&succeeded(zkclaim(
        work,
        &shaped(&[&new[..], &["primary.zkey"]].concat()),
    )))
    .unwrap();
    assert_eq!(primary["circuit"], "primary");
    assert_ne!(primary["circuit_hash"], made["circuit_hash"]);

    // One contribution, verified by both from the circuit and phase 1; not as the primary
    // circuit's.
    json(
        &[
            "--json",
            "ceremony",
            "contribute",
            "0.zkey",
            "1.zkey",
            "--name",
            "acme",
        ]
        .map(String::from),
    );
    let verify = [
        "--json", "ceremony", "verify", "--ptau", ptau, "--zkey", "1.zkey",
    ];
    let report = json(&continuation(&verify));
    assert_eq!(report["circuit_hash"], made["circuit_hash"]);
    assert_eq!(report["contributions"][0]["name"], "acme");
    let out = zkclaim(work, &shaped(&verify));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("the primary claim circuit of items 2, depth 4")
            && stderr.contains("its circuit hash is not the initial key's"),
        "{stderr}"
    );
    let (ok, text) = snarkjs(
        work,
        &["zkey", "verify", "continuation.r1cs", ptau, "1.zkey"],
    );
    assert!(ok && text.contains("ZKey Ok!"), "{text}");

    // Imported into the parameters folder's continuation/, beside no primary parameters;
    // refused as the primary circuit's.
    refused(
        work,
        "1.zkey",
        &SHAPE,
        "verifying key takes 8 public inputs; a primary claim has 6",
    );
    let import = continuation(&[
        "--json", "ceremony", "import", "1.zkey", "--params", "params",
    ]);
    let imported = json(&import);
    assert_eq!(imported["circuit"], "continuation");
    assert_eq!(imported["contributions"], 1);
    assert_eq!(imported["params"], "params/continuation");
    assert!(work.join("params/continuation/claim.pk").exists());
    assert!(!work.join("params/claim.pk").exists());
    let again = zkclaim(work, &strs(&import));
    assert_eq!(again.status.code(), Some(3), "{again:?}");

    // A continuation proved with the imported key, exported for snarkjs, which verifies it
    // under the zkey's own verifying key, and refuses it for another public input.
    let params = ClaimParams::load(&work.join("params"), Circuit::Continuation).unwrap();
    let shape = Shape { items: 2, depth: 4 };
    let witness = sample::continuation(&mut OsRng, shape, 1, 2);
    let package = prove_continuation(&params, witness, &mut OsRng).unwrap();
    std::fs::write(
        work.join("continuation.json"),
        serde_json::to_vec(&package).unwrap(),
    )
    .unwrap();
    let exported = json(
        &[
            "--json",
            "export",
            "snarkjs",
            "--claim",
            "continuation.json",
            "--params",
            "params",
            "--out",
            "snark",
        ]
        .map(String::from),
    );
    assert_eq!(exported["circuit"], "continuation");
    let (ok, text) = snarkjs(
        work,
        &[
            "zkey",
            "export",
            "verificationkey",
            "1.zkey",
            "zkey_vk.json",
        ],
    );
    assert!(ok, "{text}");
    let read = |name: &str| -> Value {
        serde_json::from_slice(&std::fs::read(work.join(name)).unwrap()).unwrap()
    };
    let (ours, theirs) = (read("snark/verification_key.json"), read("zkey_vk.json"));
    assert_eq!(ours["nPublic"], 8);
    for (name, value) in ours.as_object().unwrap() {
        assert_eq!(*value, theirs[name], "{name}");
    }
    let mut public: Vec<String> = serde_json::from_value(read("snark/public.json")).unwrap();
    assert_eq!(public.len(), 8);
    let (ok, text) = snarkjs_verifies(
        work,
        "zkey_vk.json",
        "snark/public.json",
        "snark/proof.json",
    );
    assert!(ok, "{text}");
    let last = public[7].pop().unwrap().to_digit(10).unwrap();
    public[7].push(char::from_digit((last + 1) % 10, 10).unwrap());
    std::fs::write(
        work.join("changed_public.json"),
        serde_json::to_vec(&public).unwrap(),
    )
    .unwrap();
    let (ok, text) = snarkjs_verifies(
        work,
        "zkey_vk.json",
        "changed_public.json",
        "snark/proof.json",
    );
    assert!(!ok, "{text}");

    // The consortium takes both circuits' ceremonies: this one beside a primary one of the
    // same shape (one contribution to its initial key above). A tampered continuation
    // transcript is refused with nothing written; the verified one is recorded in the
    // genesis beside the primary's, its key imported into DATA's parameters, and the audit
    // names both ceremonies' contributors.
    json(
        &[
            "--json",
            "ceremony",
            "contribute",
            "primary.zkey",
            "primary_1.zkey",
            "--name",
            "bob",
        ]
        .map(String::from),
    );
    let mut edited = std::fs::read(work.join("1.zkey")).unwrap();
    let l = section_offset(&edited, 8);
    edited.copy_within(l + 64..l + 128, l);
    std::fs::write(work.join("l.zkey"), &edited).unwrap();
    let consortium = |command: &[&str], continuation: &str| {
        let ceremonies = [
            "--ceremony",
            "primary_1.zkey",
            "--ptau",
            ptau,
            "--continuation-ceremony",
            continuation,
        ];
        zkclaim(
            work,
            &shaped(&[&["--json", "consortium"], command, &ceremonies[..]].concat()),
        )
    };
    let genesis_args = [
        "genesis",
        "--chain-id",
        "ceremonies-test",
        "--members",
        "members.json",
        "--out",
        "genesis.json",
    ];
    for command in [&["init"][..], &genesis_args] {
        let out = consortium(command, "l.zkey");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{command:?}: {stderr}");
        assert!(
            stderr.contains("the continuation claim circuit of items 2, depth 4")
                && stderr.contains("its L and H queries are not the initial key's"),
            "{stderr}"
        );
    }
    assert!(!work.join("data").exists());
    assert!(!work.join("genesis.json").exists());
    succeeded(consortium(&["init"], "1.zkey"));
    assert!(work.join("data/params/continuation/claim.pk").exists());
    let genesis: Value =
        serde_json::from_slice(&std::fs::read(work.join("data/consortium/genesis.json")).unwrap())
            .unwrap();
    let names = |ceremony: &Value| -> Vec<String> {
        let contributions = ceremony["contributions"].as_array().unwrap();
        contributions
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names(&genesis["ceremony"]), ["bob"]);
    assert_eq!(names(&genesis["continuation"]["ceremony"]), ["acme"]);
    assert_eq!(
        genesis["continuation"]["ceremony"]["transcript_hash"],
        report["transcript_hash"]
    );
    assert_eq!(
        genesis["continuation"]["verifying_key_digest"],
        imported["verifying_key_digest"]
    );
    let audit = succeeded(zkclaim(work, &["audit"]));
    assert!(
        audit.contains("parameters from a phase-2 ceremony of 1 contributions (bob)")
            && audit.contains(
                "continuation circuit's parameters from a phase-2 ceremony of 1 contributions \
                 (acme)"
            ),
        "{audit}"
    );
    // `consortium genesis` records the same from the members' public parts.
    std::fs::write(
        work.join("members.json"),
        serde_json::to_vec(&genesis["members"]).unwrap(),
    )
    .unwrap();
    let assembled: Value =
        serde_json::from_str(&succeeded(consortium(&genesis_args, "1.zkey"))).unwrap();
    assert_eq!(assembled["continuation"], genesis["continuation"]);
    assert_eq!(assembled["ceremony"], genesis["ceremony"]);
}
