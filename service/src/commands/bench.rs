//! `zkclaim bench`: the researchers' report.

use crate::{bench, error::Error};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// A small matrix that finishes in about a minute.
    #[arg(long)]
    quick: bool,
    /// Where bench.csv and bench.svg go.
    #[arg(long, default_value = "zkclaim-data/bench", value_parser = crate::files::not_stdio)]
    out: PathBuf,
}

pub fn exec(args: Args) -> Result<(), Error> {
    bench::run(&bench::Options {
        quick: args.quick,
        out: args.out,
    })
}
