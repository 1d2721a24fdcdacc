//! `zkclaim audit`: replay the chain from genesis and re-verify everything.

use crate::{commands::Context, consortium, error::Error};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    params: Option<PathBuf>,
    /// Audit the chain on this etcd cluster (`etcd://HOST:PORT,…`) instead of DATA's.
    #[arg(long, env = "ZKCLAIM_LEDGER")]
    ledger: Option<String>,
}

pub fn exec(args: Args, ctx: &Context) -> Result<(), Error> {
    let key = ctx
        .data
        .verifying_key(&ctx.params_dir(args.params))?
        .prepare();
    let report = consortium::audit(&ctx.data, &key, args.ledger.as_deref())?;
    println!(
        "audit passed: {} blocks, {} invoices, {} claims; every hash, signature, root and proof checks",
        report.blocks, report.invoices, report.claims
    );
    Ok(())
}
