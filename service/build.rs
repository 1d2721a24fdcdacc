//! Embeds the commit the binary is built from (`ZKCLAIM_COMMIT`, for the bench reports):
//! `git rev-parse HEAD` at build time, "unknown" outside a git checkout (a source archive).

use std::path::Path;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn main() {
    let commit = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=ZKCLAIM_COMMIT={commit}");
    // Again when HEAD moves: a checkout (HEAD), a commit (the branch's ref, loose or packed).
    let head = git(&["symbolic-ref", "-q", "HEAD"]);
    for name in ["HEAD", "packed-refs"].into_iter().chain(head.as_deref()) {
        if let Some(path) = git(&["rev-parse", "--git-path", name]) {
            // A path that is not there would make every build run this again.
            if Path::new(&path).exists() {
                println!("cargo:rerun-if-changed={path}");
            }
        }
    }
}
