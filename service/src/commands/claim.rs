//! `zkclaim claim`: insurers' claims on the ledger.

use crate::serve::actions::Package;
use crate::{
    commands::{parse_field, shown, Chain, Context, Signer},
    error::Error,
    files,
};
use serde_json::Value;
use std::path::PathBuf;
use zkclaim_circuits::{field, Fr};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Verify and settle a claim package (insurer); prints the receipt. Either circuit's:
    /// a primary claim, or a continuation (statement v2).
    Settle {
        /// The claim package file, of either circuit (`-`: standard input).
        claim: PathBuf,
        #[command(flatten)]
        signer: Signer,
        #[command(flatten)]
        chain: Chain,
    },
    /// Submit a claim package to the insurer's node (`--server`, a node serving with
    /// `--insurer N`): it checks the insurer rule, settles and answers the receipt and the
    /// payout amount, or refuses (exit 1, with the reason).
    Submit {
        /// The claim package file, of either circuit (`-`: standard input).
        claim: PathBuf,
    },
    /// A claim's status at an insurer, settled or refused with the reason: at the node's
    /// own insurer (`--server`, the intake's), or without it at --insurer in DATA's
    /// registry.
    Status {
        /// The claim's nullifier, `0x` and 64 hex digits.
        #[arg(value_parser = parse_field)]
        nullifier: Fr,
        /// The insurer whose registry in DATA answers; without --server only.
        #[arg(long)]
        insurer: Option<u32>,
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
            let claim: Package = files::read(&claim)?;
            let (key, stx) = signer.sign(&ctx.data, claim.settlement())?;
            files::write(None, &ctx.node(&params, chain)?.settle_claim(stx, &key)?)
        }
        Command::Submit { claim } => {
            let client = ctx.client("claim submit")?;
            let package: Package = files::read(&claim)?;
            let settled = client.post(
                "/v1/intake",
                &serde_json::to_string(&package).expect("packages serialize"),
            )?;
            let text = settled_text(&settled);
            ctx.output.result(settled, text);
            Ok(())
        }
        Command::Status {
            nullifier,
            insurer,
            chain,
        } => {
            if ctx.server.is_some() && insurer.is_some() {
                return Err(Error::Usage(
                    "--insurer is for DATA's registry: a node answers for its own insurer".into(),
                ));
            }
            let outcome = ctx
                .node(&params, chain)?
                .claim_status(&field::format(&nullifier), insurer)?;
            let text = match shown(&outcome["status"]) {
                "settled" => settled_text(&outcome),
                _ => format!(
                    "refused ({}): {}",
                    shown(&outcome["code"]),
                    shown(&outcome["reason"])
                ),
            };
            ctx.output.result(outcome, text);
            Ok(())
        }
        Command::Show { nullifier, chain } => {
            files::write(None, &ctx.node(&params, chain)?.claim(&nullifier)?)
        }
    }
}

/// A settlement (the intake's answer, or a settled claim's status), as text.
fn settled_text(answer: &Value) -> String {
    format!(
        "settled: {} fen, block {} (transaction {})",
        answer["claim_amount"],
        answer["height"],
        shown(&answer["tx_id"])
    )
}
