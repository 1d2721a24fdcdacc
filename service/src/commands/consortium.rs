//! `zkclaim consortium`: the consortium's genesis.

use crate::{
    commands::{setup::load_or_setup, Context},
    error::Error,
};
use serde_json::json;
use std::path::PathBuf;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Write a development genesis (two hospitals, two insurers, a regulator) and each
    /// member's key into DATA/consortium.
    Init {
        /// Parameters folder [default: DATA/params].
        #[arg(long)]
        params: Option<PathBuf>,
    },
}

pub fn exec(command: Command, ctx: &Context) -> Result<(), Error> {
    match command {
        Command::Init { params } => {
            let params = load_or_setup(&ctx.params_dir(params))?;
            let genesis = ctx.data.init(&params)?;
            ctx.output.result(
                json!({
                    "chain_id": genesis.chain_id,
                    "members": genesis.members.len(),
                    "data": ctx.data.0,
                }),
                format_args!(
                    "consortium {} with {} members written to {}",
                    genesis.chain_id,
                    genesis.members.len(),
                    ctx.data.0.display()
                ),
            );
            Ok(())
        }
    }
}
