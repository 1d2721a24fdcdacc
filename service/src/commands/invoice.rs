//! `zkclaim invoice`: hospitals' invoices.

use crate::{
    commands::{Chain, Context, Signer},
    error::Error,
    files,
};
use serde_json::json;
use std::path::PathBuf;
use zkclaim_circuits::{claim::Shape, field, invoice::Invoice};
use zkclaim_ledger::Transaction;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Print an invoice's commitment, the only thing a hospital registers.
    Commit {
        /// The invoice file (`-`: standard input).
        invoice: PathBuf,
    },
    /// Register an invoice's commitment on the ledger (hospital); prints the receipt.
    Register {
        /// The invoice file (`-`: standard input).
        invoice: PathBuf,
        #[command(flatten)]
        signer: Signer,
        #[command(flatten)]
        chain: Chain,
    },
}

pub fn exec(command: Command, ctx: &Context) -> Result<(), Error> {
    match command {
        Command::Commit { invoice } => {
            let inv: Invoice = files::read(&invoice)?;
            let commitment = field::format(&inv.commitment(Shape::default().items)?);
            ctx.output
                .result(json!({ "commitment": commitment }), &commitment);
            Ok(())
        }
        Command::Register {
            invoice,
            signer,
            chain,
        } => {
            let inv: Invoice = files::read(&invoice)?;
            let commitment = inv.commitment(ctx.data.load_genesis()?.shape.items)?;
            let (key, stx) = signer.sign(&ctx.data, Transaction::RegisterInvoice { commitment })?;
            let node = ctx.node(&ctx.params_dir(None), chain)?;
            files::write(None, &node.register_invoice(stx, &key)?)
        }
    }
}
