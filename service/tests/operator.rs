//! What an operator does to keys and parameters, through the built binary: no command
//! destroys them, members mint their own, nodes and commands check them against the
//! genesis, and secrets never travel in clear.

mod common;

use common::*;
use zkclaim_verifier::ClaimVerifyingKey;

/// `zkclaim --data DATA ARGS…`.
fn zkclaim(data: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--data")
        .arg(data)
        .args(args)
        .output()
        .unwrap()
}

/// The stderr of a command that must be refused with `exit_code` (README's table: 2 usage,
/// 3 a file missing or already there, 5 a failure) saying each of `says`.
fn refused(out: Output, exit_code: i32, says: &[&str]) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(exit_code), "{stderr}");
    for phrase in says {
        assert!(stderr.contains(phrase), "{phrase:?} missing from {stderr}");
    }
    stderr
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn digest_of(params: &Path) -> String {
    let key = ClaimVerifyingKey::from_bytes(&read(&params.join("claim.vk"))).unwrap();
    hex::encode(key.digest())
}

/// The files in `dir` whose name starts with `name` followed by `.bak-`.
fn backups(dir: &Path, name: &str) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let file = p.file_name().unwrap().to_str().unwrap();
            file.starts_with(&format!("{name}.bak-"))
        })
        .collect()
}

#[test]
fn setup_never_replaces_parameters_and_force_keeps_a_backup() {
    let data = tempfile::tempdir().unwrap();
    let params = data.path().join("params");
    succeeded(zkclaim(data.path(), &["setup"]));
    let names = ["claim.pk", "claim.vk", "shape.json"];
    let before: Vec<Vec<u8>> = names.iter().map(|n| read(&params.join(n))).collect();

    let says = [
        "already holds parameters",
        "claim.pk",
        "--force",
        "--params",
    ];
    refused(zkclaim(data.path(), &["setup"]), 3, &says);
    for (name, bytes) in names.iter().zip(&before) {
        assert_eq!(&read(&params.join(name)), bytes, "{name} changed");
        assert!(backups(&params, name).is_empty());
    }

    succeeded(zkclaim(data.path(), &["setup", "--force"]));
    assert_ne!(read(&params.join("claim.vk")), before[1], "new parameters");
    for (name, bytes) in names.iter().zip(&before) {
        let kept = backups(&params, name);
        assert_eq!(kept.len(), 1, "{name}: {kept:?}");
        assert_eq!(&read(&kept[0]), bytes, "{name}'s backup");
    }
}

#[test]
fn member_keygen_never_replaces_a_key_and_force_keeps_a_backup() {
    let data = tempfile::tempdir().unwrap();
    let keygen = ["member", "keygen", "--id", "7", "--role", "insurer"];
    let public: Value = serde_json::from_str(&succeeded(zkclaim(
        data.path(),
        &[&keygen[..], &["--name", "Insurer C"]].concat(),
    )))
    .unwrap();
    let path = data.path().join("consortium/keys/member-7.json");
    let key = read(&path);
    let public_key = hex::encode(MemberKey::load(&path).unwrap().public_key());
    assert_eq!(
        public,
        json!({"id": 7, "name": "Insurer C", "role": "insurer", "public_key": public_key})
    );

    refused(
        zkclaim(
            data.path(),
            &[&keygen[..], &["--name", "Insurer C"]].concat(),
        ),
        3,
        &["already holds member 7's key", &public_key, "--force"],
    );
    assert_eq!(read(&path), key);

    succeeded(zkclaim(
        data.path(),
        &[&keygen[..], &["--name", "Insurer C", "--force"]].concat(),
    ));
    assert_ne!(read(&path), key);
    let kept = backups(path.parent().unwrap(), "member-7.json");
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(read(&kept[0]), key);
}

#[test]
fn a_node_with_only_the_verifying_key_serves_verify_only() {
    let mut c = Consortium::init();
    c.ledger = None;
    let params = c.data.path().join("params");
    std::fs::remove_file(params.join("claim.pk")).unwrap();
    std::fs::remove_file(params.join("shape.json")).unwrap();
    let vk = read(&params.join("claim.vk"));

    let server = c.serve(&[], None);
    let patient = c.registered_patient(&server);
    let proof = server.post("/v1/proofs", &patient.request());
    assert_refused(&proof, 503, "no_proving_key", "no proving key");
    assert_eq!(
        proof.retry_after, None,
        "a verify-only node will not prove later"
    );
    let ready = server.get("/readyz");
    assert_eq!((ready.status, &ready.body["proves"]), (200, &json!(false)));
    let key = server.get("/v1/verifying-key");
    assert_eq!(key.body["digest"], digest_of(&params));
    assert!(server.terminate().success());

    // Proving here, on the ledger the node left, names the missing file.
    let work = tempfile::tempdir().unwrap();
    refused(
        c.zkclaim(&patient.prove_command(work.path())),
        3,
        &["no proving key", "claim.pk"],
    );

    assert!(!params.join("claim.pk").exists());
    assert_eq!(read(&params.join("claim.vk")), vk);
}

#[test]
fn a_node_without_its_verifying_key_refuses_to_start_naming_it() {
    let c = Consortium::init();
    let params = c.data.path().join("params");
    std::fs::remove_dir_all(&params).unwrap();
    // A node that started anyway would be stopped by `timeout` and fail the test.
    let out = Command::new("timeout")
        .args(["60", BIN, "--data"])
        .arg(c.data.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(c.ledger_args())
        .output()
        .unwrap();
    let path = params.join("claim.vk");
    refused(out, 3, &[path.to_str().unwrap()]);
    assert!(!params.exists(), "the node generated parameters");
}

#[test]
fn commands_say_when_parameters_are_not_the_consortiums() {
    let c = Consortium::init();
    let data = c.data.path();
    let ours = digest_of(&data.join("params"));
    let other = data.join("other");
    succeeded(c.zkclaim(&["setup", "--params", other.to_str().unwrap()]));
    let theirs = digest_of(&other);

    // A valid claim, proved against a tree file with the consortium's parameters.
    let work = tempfile::tempdir().unwrap();
    let patient = Patient::new();
    let tree = work.path().join("tree.json");
    let commitment = field::format(&patient.invoice.commitment(8).unwrap());
    let tree_add = Command::new(BIN)
        .args(["tree", "add", "--tree", tree.to_str().unwrap(), &commitment])
        .output()
        .unwrap();
    succeeded(tree_add);
    let mut prove = patient.prove_command(work.path());
    prove.extend(["--tree".to_owned(), tree.display().to_string()]);
    succeeded(c.zkclaim(&prove));
    let claim = work.path().join("claim.json");
    let claim = claim.to_str().unwrap();
    assert!(succeeded(c.zkclaim(&["verify", claim])).contains("valid"));

    let other = other.to_str().unwrap();
    let genesis = data.join("consortium/genesis.json");
    let genesis = genesis.to_str().unwrap();
    let snarkjs = work.path().join("snarkjs");
    let mut commands: Vec<Vec<&str>> = vec![
        vec!["verify", claim, "--params", other],
        vec!["audit", "--params", other],
        vec![
            "export", "snarkjs", "--claim", claim, "--params", other, "--out",
        ],
    ];
    commands[2].push(snarkjs.to_str().unwrap());
    prove.extend(["--params".to_owned(), other.to_owned()]);
    for args in commands
        .iter()
        .map(|a| a.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .chain([prove])
    {
        let foreign = "these parameters are not the consortium's";
        refused(c.zkclaim(&args), 3, &[foreign, &ours, &theirs, genesis]);
    }

    // A digest given outright pins the key as the genesis does.
    refused(
        c.zkclaim(&["verify", claim, "--vk-digest", &theirs]),
        3,
        &["not the consortium's", "--vk-digest pins"],
    );
}

#[test]
fn verify_against_a_node_needs_a_pinned_digest() {
    let c = Consortium::init();
    let server = c.serve(&[], None);
    let patient = c.registered_patient(&server);
    let proved = server.post("/v1/proofs", &patient.request());
    assert_eq!(proved.status, 200, "{}", proved.body);
    let elsewhere = tempfile::tempdir().unwrap();
    let claim = elsewhere.path().join("claim.json");
    std::fs::write(&claim, proved.body.to_string()).unwrap();
    let claim = claim.to_str().unwrap();

    // A folder without the consortium's genesis, and no digest: the node's word is not enough.
    let remote = ["--server", server.base.as_str(), "verify", claim];
    refused(zkclaim(elsewhere.path(), &remote), 2, &["--vk-digest"]);

    let ours = digest_of(&c.data.path().join("params"));
    let pinned = [&remote[..], &["--vk-digest", &ours]].concat();
    assert!(succeeded(zkclaim(elsewhere.path(), &pinned)).contains("valid"));
    let wrong = "0".repeat(64);
    let pinned = [&remote[..], &["--vk-digest", &wrong]].concat();
    refused(zkclaim(elsewhere.path(), &pinned), 5, &["--vk-digest pins"]);
}

#[test]
fn plain_http_prove_to_a_remote_node_is_refused_before_connecting() {
    let data = tempfile::tempdir().unwrap();
    let prove = Patient::new().prove_command(data.path());
    // TEST-NET-1: documentation only; the refusal comes before any connection.
    let server = ["--server", "http://192.0.2.1:9"];
    let args: Vec<&str> = server
        .iter()
        .copied()
        .chain(prove.iter().map(String::as_str))
        .collect();
    let says = ["in clear", "http://192.0.2.1:9", "--insecure-send-witness"];
    let stderr = refused(zkclaim(data.path(), &args), 2, &says);
    assert!(!stderr.contains("cannot reach"), "{stderr}");
    assert!(!data.path().join("claim.json").exists());
}

#[test]
fn a_locked_store_names_the_node_that_holds_it() {
    let mut c = Consortium::init();
    c.ledger = None;
    let server = c.serve(&[], None);
    let pid = format!("pid {}", server.child.id());
    let held = "held by a running `zkclaim serve`";
    refused(
        c.zkclaim(&["audit"]),
        5,
        &[held, &pid, &server.base, "--server"],
    );
    assert!(server.terminate().success());
    assert!(!c.data.path().join("ledger.redb.node.json").exists());
    assert!(succeeded(c.zkclaim(&["audit"])).contains("audit passed"));
}

/// Three organizations, each on its own DATA folder; only public parts travel between
/// them (through `public/`).
#[test]
fn three_organizations_found_a_consortium_without_sharing_a_secret() {
    // The hospital's folder is the node's; the insurer's, the regulator's and the mailbox
    // live in `world`.
    let hospital = tempfile::tempdir().unwrap();
    let world = tempfile::tempdir().unwrap();
    let public = world.path().join("public");
    std::fs::create_dir(&public).unwrap();
    let orgs: [(PathBuf, u32, &str, &str); 3] = [
        (
            hospital.path().into(),
            HOSPITAL,
            "hospital",
            "Renji Hospital",
        ),
        (
            world.path().join("insurer"),
            INSURER_A,
            "insurer",
            "Insurer A",
        ),
        (world.path().join("regulator"), 20, "regulator", "Regulator"),
    ];
    let mut members = vec![];
    for (data, id, role, name) in &orgs {
        let id = id.to_string();
        let part = succeeded(zkclaim(
            data,
            &[
                "member", "keygen", "--id", &id, "--role", role, "--name", name,
            ],
        ));
        let file = public.join(format!("{role}.json"));
        std::fs::write(&file, part).unwrap();
        members.extend(["--members".to_owned(), file.display().to_string()]);
    }

    // The regulator holds the parameters (a ceremony's output) and assembles the genesis.
    let regulator = &orgs[2].0;
    succeeded(zkclaim(regulator, &["setup"]));
    let genesis = public.join("genesis.json");
    let mut assemble = vec!["consortium", "genesis", "--chain-id", "zkclaim-test"];
    assemble.extend(members.iter().map(String::as_str));
    assemble.extend(["--out", genesis.to_str().unwrap()]);
    let said = succeeded(zkclaim(regulator, &assemble));
    assert!(said.contains("hospital 1 (Renji Hospital)"), "{said}");

    // Every organization takes the genesis; the hospital's node verifies only.
    for (data, ..) in &orgs {
        std::fs::create_dir_all(data.join("consortium")).unwrap();
        std::fs::copy(&genesis, data.join("consortium/genesis.json")).unwrap();
    }
    // Both circuits' verifying keys: the genesis pins the continuation circuit too.
    std::fs::create_dir_all(hospital.path().join("params/continuation")).unwrap();
    for key in ["params/claim.vk", "params/continuation/claim.vk"] {
        std::fs::copy(regulator.join(key), hospital.path().join(key)).unwrap();
    }

    // Each secret key lies in its owner's folder only, readable by its owner alone.
    let mut secrets = vec![];
    let mut pending = vec![hospital.path().to_owned(), world.path().to_owned()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if String::from_utf8_lossy(&read(&path)).contains("secret_key") {
                secrets.push(path);
            }
        }
    }
    assert_eq!(secrets.len(), 3, "{secrets:?}");
    for path in &secrets {
        let key = MemberKey::load(path).unwrap();
        let (owner, ..) = orgs.iter().find(|o| o.1 == key.member_id()).unwrap();
        assert!(
            path.starts_with(owner),
            "{} outside its owner's folder",
            path.display()
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{}", path.display());
        }
    }

    // The hospital's node starts on it, its blocks signed by the hospital's own key, and
    // takes a registration signed by that key.
    let c = Consortium {
        data: hospital,
        chain_id: "zkclaim-test".into(),
        ledger: None,
    };
    let server = c.serve(&["--proposer", "1"], None);
    let work = tempfile::tempdir().unwrap();
    let invoice = work.path().join("invoice.json");
    std::fs::write(
        &invoice,
        serde_json::to_string(&Patient::new().invoice).unwrap(),
    )
    .unwrap();
    let receipt: Value = serde_json::from_str(&succeeded(c.zkclaim(&[
        "--server",
        &server.base,
        "invoice",
        "register",
        invoice.to_str().unwrap(),
        "--member",
        "1",
    ])))
    .unwrap();
    assert_eq!(receipt["height"], 1, "{receipt}");
    assert_eq!(server.get("/v1/blocks/1").body["proposer"], 1);
    assert!(server.terminate().success());
}
