//! `zkclaim demo`: the whole story on an embedded ledger.

use crate::{commands::Context, demo, error::Error};

#[derive(clap::Args)]
pub struct Args {
    /// Invoices the hospitals register (the anonymity set).
    #[arg(long, default_value_t = 512)]
    invoices: u32,
}

pub fn exec(args: Args, ctx: &Context) -> Result<(), Error> {
    demo::run(&ctx.data.0, &ctx.params_dir(None), args.invoices)
}
