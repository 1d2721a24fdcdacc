//! `zkclaim invoice`: hospitals' invoices.

use crate::{
    commands::{parse_field, Chain, Context, Signer},
    error::Error,
    files,
};
use serde_json::json;
use std::path::PathBuf;
use zkclaim_circuits::{claim::Shape, field, invoice::Invoice, Fr};
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
    /// Void an invoice this hospital registered (a refund, or before registering its
    /// correction with the same serial): its leaf becomes 0 and the commitment can never be
    /// registered again. Claims settled before stand; claims proved against an earlier root
    /// may still settle for the genesis root_max_age_ms. Prints the receipt.
    Void {
        /// The invoice file (`-`: standard input), or with --commitment its commitment.
        #[arg(required_unless_present = "commitment", conflicts_with = "commitment")]
        invoice: Option<PathBuf>,
        /// The commitment to void, `0x…` (as `invoice commit` prints it).
        #[arg(long, value_parser = parse_field)]
        commitment: Option<Fr>,
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
        Command::Void {
            invoice,
            commitment,
            signer,
            chain,
        } => {
            let commitment = match (commitment, invoice) {
                (Some(commitment), _) => commitment,
                (None, Some(invoice)) => {
                    let inv: Invoice = files::read(&invoice)?;
                    inv.commitment(ctx.data.load_genesis()?.shape.items)?
                }
                (None, None) => unreachable!("clap requires one of the two"),
            };
            let (key, stx) = signer.sign(&ctx.data, Transaction::VoidInvoice { commitment })?;
            let node = ctx.node(&ctx.params_dir(None), chain)?;
            files::write(None, &node.void_invoice(stx, &key)?)
        }
    }
}
