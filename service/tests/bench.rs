//! `zkclaim bench --peers --quick` at a small shape: zkclaim against snarkjs (from npm) on
//! the same key and witness, with rapidsnark kept off PATH, so that the report says so and
//! the run still succeeds. Under CI a missing Node.js fails the test.

mod common;

use common::*;

#[test]
fn peers_quick_compares_zkclaim_with_snarkjs_without_rapidsnark() {
    if !installed("node", "nodejs") {
        return;
    }
    // The work folder outlives the test: snarkjs and the phase-1 file are made once.
    let work = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-peers");
    let out = tempfile::tempdir().unwrap();
    // PATH without any rapidsnark (the one built for researchers may be on it).
    let path = std::env::split_paths(&std::env::var_os("PATH").unwrap())
        .filter(|dir| !dir.join("rapidsnark").exists())
        .collect::<Vec<_>>();
    let result = Command::new(BIN)
        .env("PATH", std::env::join_paths(path).unwrap())
        .args([
            "bench", "--peers", "--quick", "--items", "2", "--depth", "4", "--work",
        ])
        .arg(&work)
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    let md = succeeded(result);
    let saved = std::fs::read_to_string(out.path().join("peers.md")).unwrap();
    assert_eq!(
        md.trim_end(),
        format!(
            "{saved}\nWrote {0}/peers.md, {0}/peers.csv and {0}/peers.svg",
            out.path().display()
        )
        .trim_end()
    );
    assert!(md.contains("- rapidsnark: not on PATH"), "{md}");
    assert!(
        md.contains("items 2, depth 4") || md.contains("of 2 items, depth 4"),
        "{md}"
    );
    // Both provers, both modes (zkclaim's warm without and with its fixed-base tables), 3
    // runs each; snarkjs's rows carry a ratio.
    for row in [
        "| cold | zkclaim |",
        "| cold | snarkjs |",
        "| warm | zkclaim |",
        "| warm | zkclaim (tables) |",
        "| warm | snarkjs |",
    ] {
        assert!(md.contains(row), "{row}: {md}");
    }
    assert!(!md.contains("| cold | rapidsnark |"), "{md}");
    let csv = std::fs::read_to_string(out.path().join("peers.csv")).unwrap();
    let rows: Vec<Vec<String>> = csv::Reader::from_reader(csv.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    assert_eq!(rows.len(), 5, "{csv}");
    for row in &rows {
        let ms: f64 = row[6].parse().unwrap();
        assert!(ms > 0.0 && row[5] == "3", "{row:?}");
        let ratio = &row[13];
        assert_eq!(ratio.is_empty(), row[1].starts_with("zkclaim"), "{row:?}");
        assert!(row[17] == "true" || row[17] == "false", "{row:?}");
    }
    let svg = std::fs::read_to_string(out.path().join("peers.svg")).unwrap();
    assert!(
        svg.contains("warm snarkjs") && svg.contains("commit "),
        "{svg}"
    );
}

/// `zkclaim bench --browser --quick`: Chromium proves with the WebAssembly build, alternated
/// with the native prover on 1 and 2 threads; the report has the three rows, each with its
/// ratio to native on 2 threads (which is 1.00x), and the downloads.
#[test]
fn browser_quick_compares_chromium_with_native() {
    if browser().is_none() {
        return;
    }
    if !wasm_built() {
        return;
    }
    let work = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-browser");
    let out = tempfile::tempdir().unwrap();
    let md = succeeded(
        Command::new(BIN)
            .args(["bench", "--browser", "--quick", "--web-root"])
            .arg(web_root())
            .arg("--work")
            .arg(&work)
            .arg("--out")
            .arg(out.path())
            .output()
            .unwrap(),
    );
    assert_eq!(
        md,
        std::fs::read_to_string(out.path().join("browser.md")).unwrap()
    );
    let rows: Vec<&str> = md
        .lines()
        .filter(|l| l.contains(" ms") || l.contains("thread"))
        .collect();
    for prover in [
        "| Chromium, WebAssembly, 1 thread | ",
        "| native, 1 thread | ",
        "| native, 2 threads | ",
    ] {
        let row = rows
            .iter()
            .find(|r| r.starts_with(prover))
            .unwrap_or_else(|| panic!("{md}"));
        let ratio: f64 = row
            .split('|')
            .nth(3)
            .unwrap()
            .trim()
            .trim_end_matches('x')
            .parse()
            .unwrap();
        assert!(ratio > 0.0, "{row}");
        if prover.contains("2 threads") {
            assert_eq!(ratio, 1.0, "{row}");
        }
    }
    assert!(md.contains("| proving key (claim.pk) | "), "{md}");
    let csv = std::fs::read_to_string(out.path().join("browser.csv")).unwrap();
    assert_eq!(csv.lines().count(), 4, "{csv}");
}
