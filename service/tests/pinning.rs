//! The genesis pins the whole proving key: a `claim.pk` changed after `consortium init` is
//! refused by every command that proves with DATA's parameters, before it is decoded.

mod common;

use common::*;

#[test]
fn a_proving_key_changed_after_the_genesis_pinned_it_is_refused() {
    let consortium = Consortium::init();
    let data = consortium.data.path();
    let genesis: Value = serde_json::from_str(
        &std::fs::read_to_string(data.join("consortium/genesis.json")).unwrap(),
    )
    .unwrap();
    let pk_file = data.join("params/claim.pk");
    let pinned = genesis["proving_key_digest"].as_str().unwrap().to_owned();
    assert_eq!(
        pinned,
        hex::encode(Sha256::digest(std::fs::read(&pk_file).unwrap()))
    );

    let patient = Patient::new();
    let dir = tempfile::tempdir().unwrap();
    let [invoice, ..] = patient.write(dir.path());
    succeeded(consortium.zkclaim(&[
        "invoice",
        "register",
        "--member",
        "1",
        invoice.to_str().unwrap(),
    ]));
    succeeded(consortium.zkclaim(&patient.prove_command(dir.path())));

    // The last byte of the key file (its last H query point), changed.
    let mut bytes = std::fs::read(&pk_file).unwrap();
    *bytes.last_mut().unwrap() ^= 1;
    std::fs::write(&pk_file, bytes).unwrap();
    let out = consortium.zkclaim(&patient.prove_command(dir.path()));
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the consortium pins") && stderr.contains(&pinned),
        "{stderr}"
    );
}
