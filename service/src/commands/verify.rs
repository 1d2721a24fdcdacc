//! `zkclaim verify`: is a claim package valid?

use crate::{
    client,
    commands::Context,
    consortium::{self, Pin},
    error::Error,
    files,
};
use std::path::PathBuf;
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
    package.verify(&key).map_err(Error::Rejected)?;
    ctx.output.result(
        serde_json::json!({"valid": true, "public_inputs": package.public_inputs}),
        format_args!("valid: claim of {} fen", package.public_inputs.claim_amount),
    );
    Ok(())
}
