//! `zkclaim serve`: the consortium ledger over HTTP.

use crate::{
    commands::{setup::load_or_setup, Context},
    error::Error,
    serve,
};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// JSON file with any of the settings below; flags and environment override it.
    #[arg(long, env = "ZKCLAIM_CONFIG")]
    config: Option<PathBuf>,
    #[command(flatten)]
    settings: serve::Settings,
}

pub fn exec(args: Args, ctx: &Context) -> Result<(), Error> {
    let config = serve::Config::resolve(args.config.as_deref(), args.settings)?;
    let params = load_or_setup(&ctx.params_dir(None))?;
    let ledger = ctx
        .data
        .open_ledger(&params, config.ledger.as_deref(), config.proposer)?;
    serve::run(config, params, ledger)
}
