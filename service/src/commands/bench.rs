//! `zkclaim bench`: the researchers' report, of both circuits.

use crate::{bench, error::Error};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// A small matrix: depths 16 and 32, 4, 8 and 16 items, 3 proofs each, for both circuits
    /// (the full one: four depths, 5 proofs).
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
