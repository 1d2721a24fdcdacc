//! `zkclaim verify`: is a claim package valid?

use crate::serve::actions::Package;
use crate::{
    client,
    commands::{parse_field, Context},
    consortium::{self, Pin},
    error::Error,
    files,
};
use serde_json::json;
use std::path::PathBuf;
use zkclaim_circuits::{
    field,
    policy::{policy_hash, Policy},
    Circuit, Fr,
};

#[derive(clap::Args)]
pub struct Args {
    /// The claim package file (`-`: standard input).
    claim: PathBuf,
    /// The parameters holding the verifying keys (claim.vk, and continuation/claim.vk for a
    /// continuation claim) [default: DATA/params]. Not used with --server.
    #[arg(long, conflicts_with = "server")]
    params: Option<PathBuf>,
    /// The digest (64 hex digits) the verifying key of the claim's circuit must have,
    /// instead of DATA's genesis's: with --server, one of the two is required.
    #[arg(long, value_parser = consortium::parse_digest)]
    vk_digest: Option<[u8; 32]>,
    /// The policy file the claim must be proved under: a claim under another policy is
    /// rejected.
    #[arg(long, conflicts_with = "policy_hash")]
    policy: Option<PathBuf>,
    /// The policy hash the claim must show (`0x` and 64 hex digits), instead of --policy.
    #[arg(long, value_parser = parse_field)]
    policy_hash: Option<Fr>,
}

pub fn exec(args: Args, ctx: &Context) -> Result<(), Error> {
    // Either circuit's package (statement v2), verified with its circuit's key.
    let package: Package = files::read(&args.claim)?;
    let circuit = package.circuit();
    // A fresh key could verify nothing: verification never generates parameters.
    let pin = match args.vk_digest {
        Some(digest) => Some(Pin::flag(digest)),
        None => ctx.data.pin(circuit)?,
    };
    let key = match ctx.server.as_deref() {
        Some(server) => {
            let pin = pin.ok_or(Error::Unpinned)?;
            client::Client::new(server, ctx.ca_cert.as_deref())?.verifying_key(circuit, &pin)?
        }
        None => {
            let dir = ctx.params_dir(args.params);
            consortium::load_verifying_key(&dir, circuit, pin.as_ref())?
        }
    }
    .prepare();
    let expected = match (&args.policy, args.policy_hash) {
        (Some(path), _) => Some((policy_hash(&files::read::<Policy>(path)?), "--policy")),
        (None, hash) => hash.map(|hash| (hash, "--policy-hash")),
    };
    package.verify(&key).map_err(Error::Rejected)?;
    let common = package.common();
    if let Some((expected, by)) = expected {
        if common.policy_hash != expected {
            return Err(Error::PolicyMismatch {
                found: field::format(&common.policy_hash),
                expected: field::format(&expected),
                by,
            });
        }
    }
    let (tag, hash) = (
        field::format(&common.claimant_tag),
        field::format(&common.policy_hash),
    );
    let public = match &package {
        Package::Primary(p) => serde_json::to_value(p.public_inputs),
        Package::Continuation(p) => serde_json::to_value(p.public_inputs),
    }
    .expect("public inputs serialize");
    let checked = expected.map_or(String::new(), |(_, by)| format!(" (as {by} requires)"));
    ctx.output.result(
        json!({
            "valid": true,
            "claimant_tag": tag,
            "policy_hash": hash,
            "policy_checked": expected.is_some(),
            "circuit": circuit,
            "public_inputs": public,
        }),
        format_args!(
            "valid: {}claim of {} fen\nclaimant tag {tag}\npolicy hash {hash}{checked}",
            match circuit {
                Circuit::Primary => "",
                Circuit::Continuation => "continuation ",
            },
            common.claim_amount
        ),
    );
    Ok(())
}
