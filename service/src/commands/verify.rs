//! `zkclaim verify`: is a claim package valid?

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
    Fr,
};
use zkclaim_verifier::ClaimPackage;

#[derive(clap::Args)]
pub struct Args {
    /// The claim package file (`-`: standard input).
    claim: PathBuf,
    /// The parameters holding the verifying key (claim.vk) [default: DATA/params]. Not used
    /// with --server.
    #[arg(long, conflicts_with = "server")]
    params: Option<PathBuf>,
    /// The digest (64 hex digits) the verifying key must have, instead of DATA's genesis's:
    /// with --server, one of the two is required.
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
    // A fresh key could verify nothing: verification never generates parameters.
    let pin = match args.vk_digest {
        Some(digest) => Some(Pin::flag(digest)),
        None => ctx.data.pin()?,
    };
    let key = match ctx.server.as_deref() {
        Some(server) => {
            let pin = pin.ok_or(Error::Unpinned)?;
            client::Client::new(server, ctx.ca_cert.as_deref())?.verifying_key(&pin)?
        }
        None => consortium::load_verifying_key(&ctx.params_dir(args.params), pin.as_ref())?,
    }
    .prepare();
    let package: ClaimPackage = files::read(&args.claim)?;
    let expected = match (&args.policy, args.policy_hash) {
        (Some(path), _) => Some((policy_hash(&files::read::<Policy>(path)?), "--policy")),
        (None, hash) => hash.map(|hash| (hash, "--policy-hash")),
    };
    package.verify(&key).map_err(Error::Rejected)?;
    let public = &package.public_inputs;
    if let Some((expected, by)) = expected {
        if public.policy_hash != expected {
            return Err(Error::PolicyMismatch {
                found: field::format(&public.policy_hash),
                expected: field::format(&expected),
                by,
            });
        }
    }
    let (tag, hash) = (
        field::format(&public.claimant_tag),
        field::format(&public.policy_hash),
    );
    let checked = expected.map_or(String::new(), |(_, by)| format!(" (as {by} requires)"));
    ctx.output.result(
        json!({
            "valid": true,
            "claimant_tag": tag,
            "policy_hash": hash,
            "policy_checked": expected.is_some(),
            "public_inputs": public,
        }),
        format_args!(
            "valid: claim of {} fen\nclaimant tag {tag}\npolicy hash {hash}{checked}",
            public.claim_amount
        ),
    );
    Ok(())
}
