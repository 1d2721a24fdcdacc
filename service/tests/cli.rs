//! The command line end to end, through the built binary and the spec's file formats.

mod common;

use common::succeeded;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Self {
        let p = std::env::temp_dir().join(format!("zkclaim-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Dir(p)
    }
    fn path(&self, f: &str) -> PathBuf {
        self.0.join(f)
    }
    fn write(&self, f: &str, text: &str) -> PathBuf {
        std::fs::write(self.path(f), text).unwrap();
        self.path(f)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn zkclaim(dir: &Dir, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zkclaim"))
        // DATA from the environment, as a shell session sets it: `--data` is an error for
        // the commands that do not read it.
        .env("ZKCLAIM_DATA", dir.path("data"))
        .args(args)
        .output()
        .unwrap()
}

fn json_field(text: &str, key: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(text).unwrap();
    v[key].as_str().unwrap().to_string()
}

fn invoice(pk: &str, issued_on: &str) -> String {
    format!(
        r#"{{"serial": "0x0000000000000000000000000000000000000000000000000000000000abcdef",
            "hospital_id": 7, "patient_pk": "{pk}", "issued_on": "{issued_on}",
            "items": [{{"detail": "0x0000000000000000000000000000000000000000000000000000000000000011", "category": 3, "amount": 9700}},
                      {{"detail": "0x0000000000000000000000000000000000000000000000000000000000000012", "category": 5, "amount": 10000}}]}}"#
    )
}

const POLICY: &str = r#"{"salt": "0x0000000000000000000000000000000000000000000000000000000000001234",
    "insurer_id": 2, "period_start": "2026-01-01", "period_end": "2026-12-31",
    "deductible": 10000, "rate_bp": 8000, "cap": 5000000, "category_mask": 65535}"#;

fn prove(dir: &Dir, invoice: &Path, out: &str) -> Output {
    zkclaim(
        dir,
        &[
            "prove",
            "--invoice",
            invoice.to_str().unwrap(),
            "--key",
            dir.path("patient.json").to_str().unwrap(),
            "--policy",
            dir.path("policy.json").to_str().unwrap(),
            "--tree",
            dir.path("tree.json").to_str().unwrap(),
            "--out",
            dir.path(out).to_str().unwrap(),
        ],
    )
}

/// Parameters, a patient key, the policy, and one invoice issued on `issued_on` registered in
/// the tree file: all a claim needs. Returns the invoice file and the patient's pk.
fn registered_invoice(dir: &Dir, issued_on: &str) -> (PathBuf, String) {
    succeeded(zkclaim(dir, &["setup"]));
    let key = dir.path("patient.json");
    succeeded(zkclaim(
        dir,
        &["patient", "keygen", "--out", key.to_str().unwrap()],
    ));
    let pk = json_field(&std::fs::read_to_string(&key).unwrap(), "pk");
    let inv = dir.write("invoice.json", &invoice(&pk, issued_on));
    dir.write("policy.json", POLICY);
    let commitment = succeeded(zkclaim(dir, &["invoice", "commit", inv.to_str().unwrap()]));
    let tree = dir.path("tree.json");
    succeeded(zkclaim(
        dir,
        &[
            "tree",
            "add",
            "--tree",
            tree.to_str().unwrap(),
            commitment.trim(),
        ],
    ));
    (inv, pk)
}

#[test]
fn patient_proves_and_insurer_verifies_through_files() {
    let dir = Dir::new("story");
    let setup = zkclaim(&dir, &["setup"]);
    assert!(setup.status.success());
    assert!(String::from_utf8_lossy(&setup.stderr).contains("can forge claim proofs"));

    let key = dir.path("patient.json");
    succeeded(zkclaim(
        &dir,
        &["patient", "keygen", "--out", key.to_str().unwrap()],
    ));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let pk = json_field(&std::fs::read_to_string(&key).unwrap(), "pk");
    let inv = dir.write("invoice.json", &invoice(&pk, "2026-11-20"));
    dir.write("policy.json", POLICY);

    let commitment = succeeded(zkclaim(&dir, &["invoice", "commit", inv.to_str().unwrap()]));
    let commitment = commitment.trim();
    assert!(commitment.starts_with("0x") && commitment.len() == 66);
    let tree = dir.path("tree.json");
    let other = "0x0000000000000000000000000000000000000000000000000000000000000777";
    assert_eq!(
        succeeded(zkclaim(
            &dir,
            &["tree", "add", "--tree", tree.to_str().unwrap(), other]
        ))
        .trim(),
        "0"
    );
    assert_eq!(
        succeeded(zkclaim(
            &dir,
            &["tree", "add", "--tree", tree.to_str().unwrap(), commitment]
        ))
        .trim(),
        "1"
    );

    succeeded(prove(&dir, &inv, "claim.json"));
    let claim = std::fs::read_to_string(dir.path("claim.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&claim).unwrap();
    assert_eq!(v["public_inputs"]["claim_amount"], 7760);
    assert_eq!(v["proof"].as_str().unwrap().len(), 2 + 256);
    let out = succeeded(zkclaim(
        &dir,
        &["verify", dir.path("claim.json").to_str().unwrap()],
    ));
    assert!(out.contains("valid"));

    // A changed amount: verified and rejected (exit 1, with the reason).
    let forged = dir.write("forged.json", &claim.replace("7760", "7761"));
    let out = zkclaim(&dir, &["verify", forged.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid proof"));

    // Verification never generates parameters: without the verifying key it fails (exit 3, bad input).
    let out = zkclaim(
        &dir,
        &[
            "verify",
            dir.path("claim.json").to_str().unwrap(),
            "--params",
            dir.path("none").to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("claim.vk"));

    // A non-canonical field element: not even decoded (exit 3).
    let nullifier = v["public_inputs"]["nullifier"].as_str().unwrap();
    let bad = dir.write(
        "bad.json",
        &claim.replace(nullifier, &format!("0x{}", "f".repeat(64))),
    );
    let out = zkclaim(&dir, &["verify", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not canonical"));
}

#[test]
fn snarkjs_verifies_an_exported_claim_and_rejects_a_tampered_signal() {
    let dir = Dir::new("snarkjs");
    let (inv, _) = registered_invoice(&dir, "2026-11-20");
    succeeded(prove(&dir, &inv, "claim.json"));

    let out = dir.path("snarkjs");
    let claim = dir.path("claim.json");
    succeeded(zkclaim(
        &dir,
        &[
            "export",
            "snarkjs",
            "--claim",
            claim.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    ));
    let public = std::fs::read_to_string(out.join("public.json")).unwrap();
    assert!(public.contains("\"7760\""), "{public}");
    let verify = |public: &str| {
        common::snarkjs(
            &out,
            &[
                "groth16",
                "verify",
                "verification_key.json",
                public,
                "proof.json",
            ],
        )
    };
    let (ok, text) = verify("public.json");
    assert!(
        ok && text.contains("OK"),
        "snarkjs refused our proof: {text}"
    );

    std::fs::write(
        out.join("tampered.json"),
        public.replace("\"7760\"", "\"7761\""),
    )
    .unwrap();
    let (_, text) = verify("tampered.json");
    assert!(
        !text.contains("OK!") && text.contains("Invalid proof"),
        "snarkjs accepted a tampered signal: {text}"
    );
}

#[test]
fn verify_refuses_a_verifying_key_that_lets_anyone_forge() {
    // Two forging keys made from a real one by editing its compressed bytes (alpha 32, beta
    // 64, gamma 64, delta 64, input count 8, then seven IC points of 32), each with a proof
    // that verifies under it without any secret. Both printed "valid" before the key checks.
    let dir = Dir::new("weak-vk");
    let params = dir.path("params");
    succeeded(zkclaim(
        &dir,
        &["setup", "--params", params.to_str().unwrap()],
    ));
    let vk = std::fs::read(params.join("claim.vk")).unwrap();
    assert_eq!(vk.len(), 456);
    let g1_identity = [&[0u8; 31][..], &[0x40]].concat();
    let package = |inputs: [&str; 4], amount: u64, proof: Vec<u8>| {
        format!(
            r#"{{"public_inputs": {{"invoice_root": "{}", "nullifier": "{}", "claimant_tag": "{}",
                "policy_hash": "{}", "claim_amount": {amount}, "insurer_id": 0}},
                "proof": "0x{}"}}"#,
            inputs[0],
            inputs[1],
            inputs[2],
            inputs[3],
            hex::encode(proof)
        )
    };

    // gamma = O: (alpha, beta, O) verifies for any public inputs, here a 50,000-yuan claim.
    let mut gamma_zero = vk.clone();
    gamma_zero[96..160].fill(0);
    gamma_zero[159] = 0x40;
    let any = "0x0000000000000000000000000000000000000000000000000000000000c0ffee";
    let forged_any = package([any; 4], 5_000_000, [&vk[..96], &g1_identity].concat());

    // delta = −gamma (gamma with its y-sign flag flipped): (alpha, beta, vk_x) verifies for
    // any inputs; with all of them zero, vk_x is IC[0].
    let mut delta_neg_gamma = vk.clone();
    delta_neg_gamma.copy_within(96..160, 160);
    delta_neg_gamma[223] ^= 0x80;
    let zero = "0x0000000000000000000000000000000000000000000000000000000000000000";
    let forged_zero = package([zero; 4], 0, [&vk[..96], &vk[232..264]].concat());

    for (key, claim, reason) in [
        (gamma_zero, forged_any, "gamma is the point at infinity"),
        (
            delta_neg_gamma,
            forged_zero,
            "gamma and delta are equal or opposite",
        ),
    ] {
        std::fs::write(params.join("claim.vk"), key).unwrap();
        let claim = dir.write("forged.json", &claim);
        let out = zkclaim(
            &dir,
            &[
                "verify",
                claim.to_str().unwrap(),
                "--params",
                params.to_str().unwrap(),
            ],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{reason}: {stderr}");
        assert!(!String::from_utf8_lossy(&out.stdout).contains("valid"));
        assert!(
            stderr.contains(&format!("unsafe verifying key: {reason}")),
            "{stderr}"
        );
    }
}

#[test]
fn refuses_to_prove_a_claim_that_breaks_a_rule() {
    let dir = Dir::new("refuse");
    let (inv, pk) = registered_invoice(&dir, "2027-01-02");

    let out = prove(&dir, &inv, "claim.json");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("issued_on outside policy period"));
    assert!(!dir.path("claim.json").exists());

    // An invoice that is not in the tree.
    let stray = dir.write("stray.json", &invoice(&pk, "2026-03-03"));
    let out = prove(&dir, &stray, "claim.json");
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a leaf of the tree"));
}

#[test]
fn demo_runs_the_whole_story_and_the_audit_passes() {
    let dir = Dir::new("demo");
    let out = succeeded(zkclaim(&dir, &["demo", "--invoices", "40"]));
    for expected in [
        "| every party | today ",
        "refused (invalid_proof): invalid proof",
        "refused (stale_root): the claim's invoice root is not one of the ledger's roots",
        "refused (unknown_policy): the claim's policy is not one insurer 10 issued",
        "| the patient's claim at insurer A | settled in block",
        "refused (duplicate_claim): this invoice was already claimed (block",
        "1 settled, 3 refused (duplicate_claim, unknown_policy, stale_root)",
        "| A's basic policy again, as a continuation | refused (unsatisfiable_witness): the \
         policy already paid on this invoice, at rank 0 |",
        "| the continuation (rank 1) at insurer B, the supplementary plan | settled in block",
        "| a third payment (rank 2, the employer's plan at insurer A) | refused \
         (fully_reimbursed)",
        "2 claims (1 continuation)",
        "| audit (regulator) |",
        "registrations by the other hospital) |",
        "claims proved against an earlier root settle for 600 s more",
        "| a path for the voided invoice | refused: the invoice at this leaf was voided (block",
        "| the voided invoice registered again | refused: this invoice commitment was voided",
        "| its correction (same serial, every amount halved) claimed at insurer A | refused \
         (duplicate_claim): this invoice was already claimed (block",
        "End to end",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
    // The chain the demo left behind audits on its own, with the shared parameters.
    let params = dir.path("data/params");
    let audit = Command::new(env!("CARGO_BIN_EXE_zkclaim"))
        .args([
            "--data",
            dir.path("data/demo").to_str().unwrap(),
            "audit",
            "--params",
            params.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(succeeded(audit).contains("audit passed: "));
}

#[test]
fn consortium_init_refuses_to_overwrite_and_audit_reports_an_empty_chain() {
    let dir = Dir::new("consortium");
    let out = succeeded(zkclaim(&dir, &["consortium", "init"]));
    assert!(out.contains("with 5 members"));
    let key = dir.path("data/consortium/keys/member-10.json");
    assert!(key.exists());
    let again = zkclaim(&dir, &["consortium", "init"]);
    assert_eq!(again.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    let audit = succeeded(zkclaim(&dir, &["audit"]));
    assert!(audit.contains("audit passed: 0 blocks"), "{audit}");
    // Development parameters are named as such.
    assert!(
        audit.contains("DEVELOPMENT parameters: the genesis records no ceremony"),
        "{audit}"
    );
    assert!(audit.contains("proving key: the pinned one"), "{audit}");
    // A proving key other than the pinned one fails the audit.
    let pk = dir.path("data/params/claim.pk");
    let mut bytes = std::fs::read(&pk).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&pk, bytes).unwrap();
    let audit = zkclaim(&dir, &["audit"]);
    let stderr = String::from_utf8_lossy(&audit.stderr);
    assert_eq!(audit.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("claim.pk"), "{stderr}");
}
