//! `zkclaim verify`: is a claim package valid?

use crate::{client, commands::Context, error::Error, files};
use std::path::PathBuf;
use zkclaim_prover::ClaimParams;
use zkclaim_verifier::ClaimPackage;

#[derive(clap::Args)]
pub struct Args {
    /// The claim package file (`-`: standard input).
    claim: PathBuf,
    /// Parameters folder holding claim.vk [default: DATA/params]; not used with --server.
    #[arg(long)]
    params: Option<PathBuf>,
}

pub fn exec(args: Args, ctx: &Context) -> Result<(), Error> {
    // A fresh key could verify nothing: verification never generates parameters.
    let key = match ctx.server.as_deref() {
        Some(server) => {
            let pinned = if ctx.data.genesis().exists() {
                Some(ctx.data.load_genesis()?.verifying_key_digest)
            } else {
                eprintln!(
                    "no genesis in {}: trusting the node's verifying key",
                    ctx.data.0.display()
                );
                None
            };
            client::Client::new(server, ctx.ca_cert.as_deref())?.verifying_key(pinned)?
        }
        None => ClaimParams::load_verifying_key(&ctx.params_dir(args.params))?,
    }
    .prepare();
    let package: ClaimPackage = files::read(&args.claim)?;
    package.verify(&key).map_err(Error::Rejected)?;
    ctx.output.result(
        serde_json::json!({"valid": true, "public_inputs": package.public_inputs}),
        format_args!("valid: claim of {} fen", package.public_inputs.claim_amount),
    );
    Ok(())
}
