//! The command line's conventions, through the built binary: global flags a command does
//! not use refused, `--json` results and errors, `-` for standard input and output, and
//! the documented exit codes.

mod common;

use common::*;
use std::io::Write;

/// Runs the binary on DATA `data` (from the environment: `--data` is an error for the
/// commands that do not read it) with `args`, feeding `stdin` when given.
fn run(data: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(BIN)
        .env("ZKCLAIM_DATA", data)
        .args(args)
        .env_remove("ZKCLAIM_SERVER")
        .env_remove("ZKCLAIM_CA_CERT")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    child.wait_with_output().unwrap()
}

/// stdout of a command that must succeed, as JSON.
fn json_of(out: Output) -> Value {
    let text = succeeded(out);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not one JSON object ({e}): {text}"))
}

/// The `--json` error on stderr of a command that must fail with `exit_code`.
fn json_error(out: Output, exit_code: i32) -> Value {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(exit_code), "stderr: {stderr}");
    let error: Value = serde_json::from_str(&stderr)
        .unwrap_or_else(|e| panic!("stderr is not one JSON object ({e}): {stderr}"));
    assert_eq!(error["error"]["exit_code"], exit_code, "{error}");
    assert!(error["error"]["message"].is_string(), "{error}");
    error
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn a_global_flag_a_command_does_not_use_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let zkclaim = |args: &[&str]| {
        Command::new(BIN)
            .current_dir(dir.path())
            .args(args)
            .env_remove("ZKCLAIM_SERVER")
            .env_remove("ZKCLAIM_CA_CERT")
            .env_remove("ZKCLAIM_DATA")
            .output()
            .unwrap()
    };
    let (tree, invoice) = (
        dir.path().join("tree.json"),
        dir.path().join("invoice.json"),
    );
    std::fs::write(&invoice, json!(Patient::new().invoice).to_string()).unwrap();
    let commitment = format!("0x{}", "0".repeat(63) + "7");
    for (args, flag, command) in [
        (
            vec!["patient", "keygen", "--server", "http://127.0.0.1:1"],
            "--server",
            "zkclaim patient keygen",
        ),
        (
            vec![
                "tree",
                "add",
                "--tree",
                path(&tree),
                commitment.as_str(),
                "--ca-cert",
                "ca.pem",
            ],
            "--ca-cert",
            "zkclaim tree add",
        ),
        (
            vec!["--data", "elsewhere", "invoice", "commit", path(&invoice)],
            "--data",
            "zkclaim invoice commit",
        ),
        (
            vec![
                "--data",
                "elsewhere",
                "insurer",
                "policy-hash",
                "policy.json",
            ],
            "--data",
            "zkclaim insurer policy-hash",
        ),
        (
            vec!["audit", "--server", "http://127.0.0.1:1"],
            "--server",
            "zkclaim audit",
        ),
        (
            vec!["bench", "--data", "elsewhere"],
            "--data",
            "zkclaim bench",
        ),
        (vec!["serve", "--json"], "--json", "zkclaim serve"),
    ] {
        let out = zkclaim(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(&format!("{flag} is not used by `{command}`")),
            "{args:?}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{args:?} did its work");
    }
    assert!(!tree.exists());

    // Set in the environment for a whole shell session, the flags break nothing.
    let out = Command::new(BIN)
        .current_dir(dir.path())
        .args(["patient", "keygen"])
        .env("ZKCLAIM_SERVER", "http://127.0.0.1:1")
        .env("ZKCLAIM_CA_CERT", "ca.pem")
        .env("ZKCLAIM_DATA", "elsewhere")
        .output()
        .unwrap();
    assert!(json_of(out)["pk"].is_string());
}

#[test]
fn results_in_json_and_files_through_standard_input_and_output() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let patient = Patient::new();
    let [invoice, key, policy] = patient.write(dir.path());
    let invoice_text = std::fs::read_to_string(&invoice).unwrap();
    let tree = dir.path().join("tree.json");

    let setup = json_of(run(&data, &["setup", "--json"], None));
    assert_eq!(setup["params"], path(&data.join("params")), "{setup}");

    // A member's public part through standard input; the genesis made of it, in JSON.
    let member_key = dir.path().join("member-1.json");
    let keygen = [
        "member", "keygen", "--id", "1", "--role", "hospital", "--name", "H",
    ];
    let member = succeeded(run(
        &data,
        &[&keygen[..], &["--out", path(&member_key)]].concat(),
        None,
    ));
    let genesis = json_of(run(
        &data,
        &[
            "consortium",
            "genesis",
            "--chain-id",
            "conventions",
            "--members",
            "-",
            "--out",
            path(&dir.path().join("genesis.json")),
            "--json",
        ],
        Some(&member),
    ));
    assert_eq!(
        (&genesis["chain_id"], &genesis["members"][0]["id"]),
        (&json!("conventions"), &json!(1)),
        "{genesis}"
    );

    // A new key written to a file: its public key, in JSON.
    let new_key = dir.path().join("new-key.json");
    let keygen = json_of(run(
        &data,
        &["patient", "keygen", "--out", path(&new_key), "--json"],
        None,
    ));
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&new_key).unwrap()).unwrap();
    assert_eq!(keygen["pk"], written["pk"], "{keygen}");
    // `--out -`: the key on stdout.
    assert!(json_of(run(&data, &["patient", "keygen", "--out", "-"], None))["sk"].is_string());

    // The invoice from standard input.
    let commit = json_of(run(
        &data,
        &["invoice", "commit", "-", "--json"],
        Some(&invoice_text),
    ));
    let commitment = commit["commitment"].as_str().unwrap();
    assert_eq!(
        commitment,
        field::format(&patient.invoice.commitment(8).unwrap())
    );
    let add = json_of(run(
        &data,
        &["tree", "add", "--tree", path(&tree), commitment, "--json"],
        None,
    ));
    assert_eq!(add["index"], 0, "{add}");

    // Two files from standard input: refused before any work.
    let prove = |invoice: &str, key: &str| {
        let args = [
            "prove",
            "--invoice",
            invoice,
            "--key",
            key,
            "--policy",
            path(&policy),
            "--tree",
            path(&tree),
            "--out",
            "-",
        ];
        run(&data, &args, Some(&invoice_text))
    };
    let two = prove("-", "-");
    assert_eq!(two.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&two.stderr).contains("standard input"));
    // The invoice from standard input, the claim package to standard output.
    let claim = succeeded(prove("-", path(&key)));
    let package: Value = serde_json::from_str(&claim).unwrap();

    let verified = json_of(run(&data, &["verify", "-", "--json"], Some(&claim)));
    assert_eq!(verified["valid"], true, "{verified}");
    assert_eq!(verified["public_inputs"], package["public_inputs"]);

    // Rejected: exit 1, the error in JSON on stderr and nothing on stdout.
    let amount = package["public_inputs"]["claim_amount"].as_u64().unwrap();
    let mut forged = package.clone();
    forged["public_inputs"]["claim_amount"] = (amount + 1).into();
    let out = run(&data, &["verify", "-", "--json"], Some(&forged.to_string()));
    assert!(out.stdout.is_empty());
    assert_eq!(json_error(out, 1)["error"]["code"], "claim_rejected");

    let exported = json_of(run(
        &data,
        &[
            "export",
            "snarkjs",
            "--claim",
            "-",
            "--out",
            path(&dir.path().join("snarkjs")),
            "--json",
        ],
        Some(&claim),
    ));
    assert_eq!(exported["files"].as_array().unwrap().len(), 3, "{exported}");
    assert!(dir.path().join("snarkjs/proof.json").exists());

    let init = json_of(run(&data, &["consortium", "init", "--json"], None));
    assert_eq!(init["members"], 5, "{init}");
    let audit = json_of(run(&data, &["audit", "--json"], None));
    assert_eq!(
        (&audit["passed"], &audit["blocks"]),
        (&json!(true), &json!(0)),
        "{audit}"
    );

    // A member key from standard input signs the registration.
    let hospital_key = std::fs::read_to_string(data.join("consortium/keys/member-1.json")).unwrap();
    let receipt = json_of(run(
        &data,
        &[
            "invoice",
            "register",
            path(&invoice),
            "--member-key",
            "-",
            "--json",
        ],
        Some(&hospital_key),
    ));
    assert_eq!(receipt["height"], 1, "{receipt}");

    // The ledger refuses: exit 1 with the ledger's own code.
    let unknown = format!("0x{}", "0".repeat(63) + "1");
    let out = run(&data, &["claim", "show", &unknown, "--json"], None);
    assert_eq!(json_error(out, 1)["error"]["code"], "not_found");
}

#[test]
fn exit_codes_are_distinct_and_documented() {
    let help = succeeded(Command::new(BIN).arg("--help").output().unwrap());
    for line in [
        "Exit codes:",
        "1  refused",
        "2  usage error",
        "3  I/O error",
        "4  node unreachable",
    ] {
        assert!(help.contains(line), "--help does not say {line:?}:\n{help}");
    }

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");

    // 2: clap's own usage errors, in JSON under --json.
    let out = run(&data, &["no-such-command", "--json"], None);
    assert_eq!(json_error(out, 2)["error"]["code"], "usage");

    // A file rewritten in place cannot be `-`.
    let out = run(
        &data,
        &[
            "tree",
            "add",
            "--tree",
            "-",
            &format!("0x{}", "0".repeat(64)),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot stand for this file"));

    // 3: a missing file, a malformed one.
    let missing = dir.path().join("missing.json");
    let out = run(
        &data,
        &["invoice", "commit", path(&missing), "--json"],
        None,
    );
    assert_eq!(json_error(out, 3)["error"]["code"], "bad_input");
    let out = run(&data, &["invoice", "commit", "-"], Some("{\"serial\": 1"));
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("standard input"));

    // 4: a loopback port with nothing listening.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = format!("http://127.0.0.1:{port}");
    let nullifier = format!("0x{}", "0".repeat(63) + "1");
    let out = run(
        &data,
        &["claim", "show", &nullifier, "--server", &server, "--json"],
        None,
    );
    assert_eq!(json_error(out, 4)["error"]["code"], "unreachable");
    let out = run(
        &data,
        &["claim", "show", &nullifier, "--server", &server],
        None,
    );
    assert_eq!(out.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot reach the node"));
}

#[test]
fn the_load_test_reports_in_json() {
    let c = Consortium::init();
    let server = c.serve(&[], None);
    let out = c.zkclaim(&[
        "--server",
        &server.base,
        "loadtest",
        "--clients",
        "1",
        "--patients",
        "1",
        "--flood",
        "1",
        "--json",
    ]);
    let report = json_of(out);
    assert_eq!(report["rounds"][0]["confirmed"], 1, "{report}");
    assert_eq!(report["flood"]["requests"], 1, "{report}");
}
