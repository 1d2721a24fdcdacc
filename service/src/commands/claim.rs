//! `zkclaim claim`: insurers' claims on the ledger.

use crate::{
    commands::{Chain, Context, Signer},
    error::Error,
    files,
};
use std::path::PathBuf;
use zkclaim_ledger::Transaction;
use zkclaim_verifier::ClaimPackage;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Verify and settle a claim package (insurer); prints the receipt.
    Settle {
        /// The claim package file (`-`: standard input).
        claim: PathBuf,
        #[command(flatten)]
        signer: Signer,
        #[command(flatten)]
        chain: Chain,
    },
    /// Print the settled claim with this nullifier.
    Show {
        /// The claim's nullifier, `0x` and 64 hex digits.
        nullifier: String,
        #[command(flatten)]
        chain: Chain,
    },
}

pub fn exec(command: Command, ctx: &Context) -> Result<(), Error> {
    let params = ctx.params_dir(None);
    match command {
        Command::Settle {
            claim,
            signer,
            chain,
        } => {
            let claim: ClaimPackage = files::read(&claim)?;
            let (key, stx) = signer.sign(&ctx.data, Transaction::SettleClaim { claim })?;
            files::write(None, &ctx.node(&params, chain)?.settle_claim(stx, &key)?)
        }
        Command::Show { nullifier, chain } => {
            files::write(None, &ctx.node(&params, chain)?.claim(&nullifier)?)
        }
    }
}
