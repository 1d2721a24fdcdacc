//! `zkclaim loadtest`: concurrent patients against a node.

use crate::{commands::Context, error::Error, loadtest};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Concurrent clients of each round.
    #[arg(long, value_delimiter = ',', default_value = "1,2,8",
          value_parser = clap::value_parser!(u16).range(1..=64))]
    clients: Vec<u16>,
    /// Patients (claims) in each round.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=1000))]
    patients: u16,
    /// After the rounds, send this many proof requests at once (not retried) and count
    /// the answers.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
    flood: Option<u16>,
    /// Also write the table's rows as CSV here.
    #[arg(long)]
    csv: Option<PathBuf>,
}

pub fn exec(args: Args, ctx: &Context) -> Result<(), Error> {
    let options = loadtest::Options {
        clients: args.clients.into_iter().map(usize::from).collect(),
        patients: args.patients.into(),
        flood: args.flood.map(usize::from),
        csv: args.csv,
    };
    loadtest::run(&ctx.client("loadtest")?, &ctx.data, &options, ctx.output)
}
