//! The insurer's side through the built binary: enrolments (`zkclaim insurer …`), the insurer
//! rule where `claim settle` settles, `verify --policy`, and a patient's `claim submit` to a
//! node's intake.

mod common;

use common::*;
use zkclaim_circuits::{date, keys};

/// A folder for the patients' and insurers' files.
struct Work(tempfile::TempDir);

impl Work {
    fn new() -> Self {
        Work(tempfile::tempdir().unwrap())
    }

    fn path(&self, name: &str) -> String {
        self.0.path().join(name).display().to_string()
    }

    fn write(&self, name: &str, value: &impl serde::Serialize) -> String {
        std::fs::write(self.path(name), serde_json::to_string(value).unwrap()).unwrap();
        self.path(name)
    }

    fn read(&self, name: &str) -> Value {
        serde_json::from_str(&std::fs::read_to_string(self.path(name)).unwrap()).unwrap()
    }
}

/// A command that reads no DATA (`patient`, `insurer policy-hash`).
fn plain(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

/// A command's `--json` result.
fn answer(out: Output) -> Value {
    serde_json::from_str(&succeeded(out)).unwrap()
}

/// A new patient: the key file `NAME-key.json` and the claimant tag at `insurer`, as
/// `patient tag` prints it.
fn patient(work: &Work, name: &str, insurer: u32) -> (String, SecretKey, String) {
    let path = work.path(&format!("{name}-key.json"));
    succeeded(plain(&["patient", "keygen", "--out", &path]));
    let key: KeyFile = serde_json::from_value(work.read(&format!("{name}-key.json"))).unwrap();
    let tag = succeeded(plain(&[
        "patient",
        "tag",
        "--key",
        &path,
        "--insurer",
        &insurer.to_string(),
    ]));
    let sk = key.secret_key();
    let tag = tag.trim().to_owned();
    assert_eq!(
        tag,
        field::format(&keys::claimant_tag(sk.expose(), insurer))
    );
    (path, sk, tag)
}

/// `insurer enroll` of `tag` at `insurer` over `period` (YYYY-MM-DD), the policy file going
/// to `out`; the enrolment it prints.
fn enroll(
    c: &Consortium,
    work: &Work,
    (insurer, tag): (u32, &str),
    period: (&str, &str),
    extra: &[&str],
    out: &str,
) -> Value {
    let member = insurer.to_string();
    let out = work.path(out);
    let mut args = vec![
        "--json",
        "insurer",
        "enroll",
        "--member",
        &member,
        "--tag",
        tag,
        "--period-start",
        period.0,
        "--period-end",
        period.1,
        "--deductible",
        "10000",
        "--rate-bp",
        "8000",
        "--cap",
        "5000000",
        "--category-mask",
        "0x1fff",
        "--payout-ref",
        "IBAN CN00 0000 0001",
        "--out",
        &out,
    ];
    // The 2026 periods here would otherwise stop settling in April 2027.
    if !extra.contains(&"--claims-until") {
        args.extend(["--claims-until", CLAIMS_UNTIL]);
    }
    args.extend(extra);
    let enrolled = answer(c.zkclaim(&args));
    assert_eq!(enrolled["out"], out);
    enrolled["enrolment"].clone()
}

/// Registers (hospital 1, embedded) a new invoice of the patient's issued on `issued_on`;
/// its file.
fn invoice(c: &Consortium, work: &Work, sk: &SecretKey, issued_on: &str, name: &str) -> String {
    let mut invoice = sample::spec_invoice(&mut OsRng, sk.public_key(), HOSPITAL);
    invoice.issued_on = date::parse(issued_on).unwrap();
    let path = work.write(name, &invoice);
    succeeded(c.zkclaim(&["invoice", "register", "--member", "1", &path]));
    path
}

/// Proves (embedded, against the ledger) the claim of `invoice` under `policy`; the claim
/// file and its nullifier.
fn prove(
    c: &Consortium,
    work: &Work,
    (key, invoice, policy): (&str, &str, &str),
    out: &str,
) -> (String, String) {
    let out = work.path(out);
    succeeded(c.zkclaim(&[
        "prove",
        "--key",
        key,
        "--invoice",
        invoice,
        "--policy",
        policy,
        "--out",
        &out,
    ]));
    let claim: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let nullifier = claim["public_inputs"]["nullifier"]
        .as_str()
        .unwrap()
        .to_owned();
    (out, nullifier)
}

/// `claim settle` (embedded) of `claim` by insurer `member`.
fn settle(c: &Consortium, claim: &str, member: u32) -> Output {
    c.zkclaim(&[
        "--json",
        "claim",
        "settle",
        "--member",
        &member.to_string(),
        claim,
    ])
}

/// Nothing on the ledger settled the claim with this nullifier.
fn not_on_ledger(c: &Consortium, nullifier: &str) {
    refused(
        c.zkclaim(&["--json", "claim", "show", nullifier]),
        "not_found",
        "",
    );
}

#[test]
fn claim_settle_refuses_what_the_insurer_did_not_issue() {
    let c = Consortium::init();
    let work = Work::new();
    let (key, sk, tag) = patient(&work, "p", INSURER_A);
    let period = ("2026-01-01", "2026-12-31");
    let enrolment = enroll(&c, &work, (INSURER_A, &tag), period, &[], "policy.json");
    assert_eq!(enrolment["claimant_tag"], tag);
    assert_eq!(enrolment["claims_until"], CLAIMS_UNTIL);
    let policy = work.path("policy.json");
    let hash = succeeded(plain(&["insurer", "policy-hash", &policy]));
    assert_eq!(enrolment["policy_hash"], hash.trim());
    let inv = invoice(&c, &work, &sk, "2026-11-20", "invoice.json");

    // The patient's own policy: the insurer's file, rewritten to 100% and no deductible.
    let mut own = work.read("policy.json");
    own["rate_bp"] = 10_000.into();
    own["deductible"] = 0.into();
    let own = work.write("own-policy.json", &own);
    let (forged, nullifier) = prove(&c, &work, (&key, &inv, &own), "forged.json");
    // It verifies: only the insurer's records tell it from the policy issued.
    assert!(succeeded(c.zkclaim(&["verify", &forged])).contains("valid"));
    refused(
        settle(&c, &forged, INSURER_A),
        "unknown_policy",
        "not one insurer 10 issued",
    );
    not_on_ledger(&c, &nullifier);

    // verify --policy / --policy-hash: the expected policy or a rejection naming both hashes.
    let own_hash = succeeded(plain(&["insurer", "policy-hash", &own]));
    let stderr = refused(
        c.zkclaim(&["--json", "verify", &forged, "--policy", &policy]),
        "policy_mismatch",
        "policy_hash",
    );
    assert!(stderr.contains(own_hash.trim()) && stderr.contains(hash.trim()));
    assert!(
        !stderr.contains("rate_bp"),
        "the terms are not for the error: {stderr}"
    );
    refused(
        c.zkclaim(&["--json", "verify", &forged, "--policy-hash", hash.trim()]),
        "policy_mismatch",
        "--policy-hash",
    );

    // The same invoice under the policy the insurer issued: valid, and settled.
    let (claim, nullifier) = prove(&c, &work, (&key, &inv, &policy), "claim.json");
    let verified = succeeded(c.zkclaim(&["verify", &claim, "--policy", &policy]));
    assert!(
        verified.contains(&format!("claimant tag {tag}")),
        "{verified}"
    );
    assert!(
        verified.contains(&format!("policy hash {}", hash.trim())),
        "{verified}"
    );
    let verified = answer(c.zkclaim(&["--json", "verify", &claim, "--policy-hash", hash.trim()]));
    assert_eq!(verified["claimant_tag"], tag);
    assert_eq!(verified["policy_hash"], hash.trim());
    assert_eq!(verified["policy_checked"], true);
    let settled = answer(settle(&c, &claim, INSURER_A));
    assert_eq!(settled["claim_amount"], 7760);
    let shown = answer(c.zkclaim(&["claim", "show", &nullifier]));
    assert_eq!(shown["insurer"], INSURER_A);

    // Another patient, enrolled at insurer B only: refused at A, then revoked at B.
    let (key_q, sk_q, tag_q) = patient(&work, "q", INSURER_B);
    enroll(&c, &work, (INSURER_B, &tag_q), period, &[], "policy-q.json");
    let inv_q = invoice(&c, &work, &sk_q, "2026-10-02", "invoice-q.json");
    let (claim_q, nullifier_q) = prove(
        &c,
        &work,
        (&key_q, &inv_q, &work.path("policy-q.json")),
        "claim-q.json",
    );
    // Statement v2: the claim names insurer 11, and the ledger's rule refuses it at A
    // before A's records are consulted.
    refused(
        settle(&c, &claim_q, INSURER_A),
        "wrong_insurer",
        "only that insurer may settle it (submit the claim there)",
    );
    let revoked = answer(c.zkclaim(&[
        "--json", "insurer", "revoke", "--member", "11", "--tag", &tag_q,
    ]));
    assert_eq!(revoked["revoked"].as_array().unwrap().len(), 1);
    refused(
        settle(&c, &claim_q, INSURER_B),
        "enrolment_revoked",
        "revoked on",
    );
    not_on_ledger(&c, &nullifier_q);

    // Last year's policy, whose claims window closed on 2026-03-31.
    enroll(
        &c,
        &work,
        (INSURER_A, &tag),
        ("2025-01-01", "2025-12-31"),
        &["--claims-until", "2026-03-31"],
        "policy-2025.json",
    );
    let inv_old = invoice(&c, &work, &sk, "2025-06-01", "invoice-2025.json");
    let (claim_old, nullifier_old) = prove(
        &c,
        &work,
        (&key, &inv_old, &work.path("policy-2025.json")),
        "claim-2025.json",
    );
    refused(
        settle(&c, &claim_old, INSURER_A),
        "policy_expired",
        "2026-03-31",
    );
    not_on_ledger(&c, &nullifier_old);

    // Three invoices and one claim on the ledger; the refusals are insurer A's report.
    let audit = answer(c.zkclaim(&["--json", "audit"]));
    assert_eq!(
        (audit["invoices"].as_u64(), audit["claims"].as_u64()),
        (Some(3), Some(1))
    );
    let report = answer(c.zkclaim(&["--json", "insurer", "claims", "--member", "10"]));
    assert_eq!(report["settled"].as_array().unwrap().len(), 1);
    let codes: Vec<&str> = report["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["policy_expired", "unknown_policy"]);
    // A claim's status in DATA's registry, at the insurer it was submitted to.
    let status = |nullifier: &str| c.zkclaim(&["claim", "status", nullifier, "--insurer", "10"]);
    let settled = succeeded(status(&nullifier));
    assert!(
        settled.starts_with("settled: 7760 fen, block "),
        "{settled}"
    );
    let expired = succeeded(status(&nullifier_old));
    assert!(
        expired.starts_with("refused (policy_expired): "),
        "{expired}"
    );
    let out = c.zkclaim(&["claim", "status", &nullifier_old]);
    assert_eq!(out.status.code(), Some(2), "neither --server nor --insurer");
    let text = succeeded(c.zkclaim(&["insurer", "claims", "--member", "10"]));
    assert!(text.contains("7760 fen, block"), "{text}");
    assert!(
        text.contains("policy_expired: the policy accepted claims until 2026-03-31"),
        "{text}"
    );
    assert!(text.contains("1 settled (7760 fen), 2 refused"), "{text}");
}

#[test]
fn insurer_enrolments_round_trip_in_datas_registry() {
    let c = Consortium::init();
    let work = Work::new();
    let (_, _, tag) = patient(&work, "p", INSURER_A);
    let period = ("2026-01-01", "2026-12-31");
    let first = enroll(&c, &work, (INSURER_A, &tag), period, &[], "policy.json");
    // A renewal: a second policy of the same tag.
    let terms = work.write(
        "terms.json",
        &json!({"insurer_id": INSURER_A, "period_start": "2027-01-01",
                "period_end": "2027-12-31", "deductible": 0, "rate_bp": 5000, "cap": 100000,
                "category_mask": 8}),
    );
    let out = work.path("renewal.json");
    let renew = || {
        c.zkclaim(&[
            "insurer",
            "enroll",
            "--member",
            "10",
            "--tag",
            &tag,
            "--terms",
            &terms,
            "--payout-ref",
            "account 7",
            "--out",
            &out,
        ])
    };
    let text = succeeded(renew());
    assert!(text.contains("policy file written to"), "{text}");
    assert!(
        !text.contains("account 7"),
        "the payout reference is not printed: {text}"
    );
    let renewal_hash = succeeded(plain(&["insurer", "policy-hash", &out]));
    assert_ne!(first["policy_hash"], renewal_hash.trim());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // Never over an existing policy file, and nothing enrolled then.
    let again = renew();
    assert_eq!(again.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&again.stderr).contains("never replaced"));
    // Under its own id only, by an insurer only.
    let other = work.path("other.json");
    let mut args = vec![
        "--json",
        "insurer",
        "enroll",
        "--member",
        "11",
        "--tag",
        &tag,
        "--terms",
        &terms,
        "--payout-ref",
        "x",
        "--out",
        &other,
    ];
    refused(c.zkclaim(&args), "wrong_insurer", "terms.insurer_id");
    args[4] = "1";
    refused(c.zkclaim(&args), "wrong_role", "insurer role");
    assert!(!Path::new(&other).exists());

    let listed = answer(c.zkclaim(&["--json", "insurer", "list", "--member", "10"]));
    let listed = listed["enrolments"].as_array().unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["policy_hash"], first["policy_hash"]);
    assert_eq!(listed[1]["policy_hash"], renewal_hash.trim());
    assert_eq!(listed[1]["claims_until"], "2028-03-30");
    let empty = answer(c.zkclaim(&["--json", "insurer", "list", "--member", "11"]));
    assert_eq!(empty["enrolments"], json!([]));

    // Revoke the renewal only; the first stays active.
    let revoked = succeeded(c.zkclaim(&[
        "insurer",
        "revoke",
        "--member",
        "10",
        "--tag",
        &tag,
        "--policy-hash",
        renewal_hash.trim(),
    ]));
    assert!(
        revoked.contains(renewal_hash.trim()) && revoked.contains("revoked 20"),
        "{revoked}"
    );
    let text = succeeded(c.zkclaim(&["insurer", "list", "--member", "10"]));
    let lines: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].ends_with("(active)") && lines[0].contains("period 2026-01-01..2026-12-31"));
    assert!(lines[1].contains("(revoked 20"), "{text}");
    refused(
        c.zkclaim(&[
            "--json",
            "insurer",
            "revoke",
            "--member",
            "10",
            "--tag",
            &tag,
            "--policy-hash",
            renewal_hash.trim(),
        ]),
        "not_found",
        "no active enrolment",
    );

    // `--out -`: the policy file on standard output, the enrolment on standard error.
    let out = c.zkclaim(&[
        "insurer",
        "enroll",
        "--member",
        "10",
        "--tag",
        &tag,
        "--terms",
        &terms,
        "--payout-ref",
        "account 7",
        "--out",
        "-",
    ]);
    let printed: Policy = serde_json::from_str(&succeeded(out.clone())).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let hash = field::format(&zkclaim_circuits::policy::policy_hash(&printed));
    assert!(
        stderr.starts_with("enrolled: ") && stderr.contains(&hash),
        "{stderr}"
    );
    let revoked = answer(c.zkclaim(&[
        "--json",
        "insurer",
        "revoke",
        "--member",
        "10",
        "--tag",
        &tag,
        "--policy-hash",
        &hash,
    ]));
    assert_eq!(revoked["revoked"][0]["policy_hash"], hash);
}

#[test]
fn claim_submit_settles_at_the_insurers_intake() {
    let c = Consortium::init();
    let work = Work::new();
    let server = c.serve(&["--insurer", "10"], None);
    let remote = |args: &[&str]| c.zkclaim(&[&["--server", server.base.as_str()], args].concat());

    // Without --server there is no intake to submit to.
    let out = c.zkclaim(&["claim", "submit", &work.path("claim.json")]);
    assert_eq!(out.status.code(), Some(2));

    // The insurer enrols the patient through the node's signed routes.
    let (key, sk, tag) = patient(&work, "p", INSURER_A);
    let policy = work.path("policy.json");
    let enrolled = answer(remote(&[
        "--json",
        "insurer",
        "enroll",
        "--member",
        "10",
        "--tag",
        &tag,
        "--period-start",
        "2026-01-01",
        "--period-end",
        "2026-12-31",
        "--deductible",
        "10000",
        "--rate-bp",
        "8000",
        "--cap",
        "5000000",
        "--category-mask",
        "8191",
        "--payout-ref",
        "account 1",
        "--claims-until",
        CLAIMS_UNTIL,
        "--out",
        &policy,
    ]));
    assert_eq!(enrolled["enrolment"]["claimant_tag"], tag);
    let listed = answer(remote(&["--json", "insurer", "list", "--member", "10"]));
    assert_eq!(listed["enrolments"].as_array().unwrap().len(), 1);

    // The hospital registers, the node proves, the patient submits.
    let mut inv = sample::spec_invoice(&mut OsRng, sk.public_key(), HOSPITAL);
    inv.issued_on = date::parse("2026-11-20").unwrap();
    let inv = work.write("invoice.json", &inv);
    succeeded(remote(&["invoice", "register", "--member", "1", &inv]));
    let claim = work.path("claim.json");
    succeeded(remote(&[
        "prove",
        "--key",
        &key,
        "--invoice",
        &inv,
        "--policy",
        &policy,
        "--out",
        &claim,
    ]));
    let submitted = succeeded(remote(&["claim", "submit", &claim]));
    assert!(
        submitted.starts_with("settled: 7760 fen, block "),
        "{submitted}"
    );
    // Again: the same receipt, not a second payout.
    let again = answer(remote(&["--json", "claim", "submit", &claim]));
    assert_eq!(again["claim_amount"], 7760);
    let nullifier = again["nullifier"].as_str().unwrap();
    let status = succeeded(remote(&["claim", "status", nullifier]));
    assert!(status.starts_with("settled: 7760 fen, block "), "{status}");
    let report = answer(remote(&[
        "--json", "insurer", "claims", "--member", "10", "--limit", "5",
    ]));
    assert_eq!(report["settled"].as_array().unwrap().len(), 1);

    // A self-made policy: refused with the insurer rule's code and reason.
    let mut own: Value = serde_json::from_str(&std::fs::read_to_string(&policy).unwrap()).unwrap();
    own["rate_bp"] = 10_000.into();
    let own = work.write("own.json", &own);
    let inv2 = sample::spec_invoice(&mut OsRng, sk.public_key(), HOSPITAL);
    let inv2 = work.write("invoice-2.json", &inv2);
    succeeded(remote(&["invoice", "register", "--member", "1", &inv2]));
    let forged = work.path("forged.json");
    succeeded(remote(&[
        "prove",
        "--key",
        &key,
        "--invoice",
        &inv2,
        "--policy",
        &own,
        "--out",
        &forged,
    ]));
    refused(
        remote(&["--json", "claim", "submit", &forged]),
        "unknown_policy",
        "policy file",
    );
    let forged: Value = serde_json::from_str(&std::fs::read_to_string(&forged).unwrap()).unwrap();
    let status = succeeded(remote(&[
        "claim",
        "status",
        forged["public_inputs"]["nullifier"].as_str().unwrap(),
    ]));
    assert!(status.starts_with("refused (unknown_policy): "), "{status}");
}
