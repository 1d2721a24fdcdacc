//! `zkclaim setup`: development parameters of both circuits, the continuation's in the
//! parameters folder's continuation/, never replaced without --force, which keeps a backup
//! of every file of both.

mod common;

use common::*;
use zkclaim_circuits::Circuit;
use zkclaim_prover::ClaimParams;

/// The backups `--force` kept of `file`.
fn backups(file: &Path) -> Vec<PathBuf> {
    let name = format!("{}.bak-", file.file_name().unwrap().to_str().unwrap());
    std::fs::read_dir(file.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_str().unwrap().starts_with(&name))
        .collect()
}

#[test]
fn setup_writes_both_circuits_parameters_and_force_keeps_a_backup_of_each_file() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path();
    let params = work.join("params");
    let out = zkclaim(work, &["--json", "setup", "--params", "params"]);
    let answer: Value = serde_json::from_str(&succeeded(out)).unwrap();
    assert_eq!(answer["continuation"], "params/continuation");
    let files: Vec<PathBuf> = Circuit::ALL
        .into_iter()
        .flat_map(|c| ClaimParams::files(&params, c))
        .collect();
    for circuit in Circuit::ALL {
        let key = ClaimParams::load_verifying_key(&params, circuit).unwrap();
        assert_eq!(key.circuit(), circuit);
    }
    let before: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();

    // Refused while the continuation's files alone are there, naming them.
    for file in ClaimParams::files(&params, Circuit::Primary) {
        std::fs::rename(&file, work.join(file.file_name().unwrap())).unwrap();
    }
    let again = zkclaim(work, &["setup", "--params", "params"]);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert_eq!(again.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("continuation/claim.pk, continuation/claim.vk, continuation/shape.json")
            && stderr.contains("--force"),
        "{stderr}"
    );
    for file in ClaimParams::files(&params, Circuit::Primary) {
        std::fs::rename(work.join(file.file_name().unwrap()), &file).unwrap();
    }

    let forced = zkclaim(work, &["setup", "--params", "params", "--force"]);
    assert!(
        String::from_utf8_lossy(&forced.stderr).contains("can forge claim proofs"),
        "{forced:?}"
    );
    succeeded(forced);
    for (file, bytes) in files.iter().zip(&before) {
        let kept = backups(file);
        assert_eq!(kept.len(), 1, "{}: {kept:?}", file.display());
        assert_eq!(
            &std::fs::read(&kept[0]).unwrap(),
            bytes,
            "{}",
            file.display()
        );
        assert!(file.exists(), "{} written again", file.display());
    }
    for circuit in Circuit::ALL {
        let [_, vk, ..] = ClaimParams::files(&params, circuit);
        assert_ne!(
            std::fs::read(&vk).unwrap(),
            std::fs::read(&backups(&vk)[0]).unwrap(),
            "new {circuit} parameters"
        );
    }
}
