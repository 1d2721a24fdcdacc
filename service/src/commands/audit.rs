//! `zkclaim audit`: replay the chain from genesis and re-verify everything.

use crate::{commands::Context, consortium, error::Error};
use serde_json::json;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Parameters folder [default: DATA/params].
    #[arg(long)]
    params: Option<PathBuf>,
    /// Audit the chain on this etcd cluster (`etcd[s]://…`) instead of DATA's.
    #[arg(long, env = "ZKCLAIM_LEDGER")]
    ledger: Option<String>,
}

pub fn exec(args: Args, ctx: &Context) -> Result<(), Error> {
    // The verifying key must be the one the genesis pins, and so must the proving key when
    // the folder holds one and the genesis pins it.
    let params = ctx.data.load_params(&ctx.params_dir(args.params))?;
    let (primary, continuation) = params.prepared();
    let keys = (&primary, continuation.as_ref());
    let report = consortium::audit(&ctx.data, keys, args.ledger.as_deref())?;
    let genesis = ctx.data.load_genesis()?;
    let proving_key = match (&params.primary.prover, genesis.proving_key_digest) {
        (None, _) => "absent",
        (Some(_), None) => "not pinned",
        (Some(_), Some(_)) => "the pinned one",
    };
    let voided = match report.voided {
        0 => String::new(),
        n => format!(" ({n} voided)"),
    };
    let mut text = format!(
        "audit passed: {} blocks, {} invoices{voided}, {} claims; every hash, signature, root and proof checks\n{}\nproving key: {proving_key}",
        report.blocks,
        report.invoices,
        report.claims,
        consortium::parameters_origin(&genesis)
    );
    // Rejected slots are the proposers' failures, not the chain's: every node skipped them.
    let mut rejected = vec![];
    if !report.rejected.is_empty() {
        text += &format!(
            "\n{} rejected blocks, skipped by every node:",
            report.rejected.len()
        );
        for r in &report.rejected {
            let proposer = match r.proposer {
                Some(id) => {
                    let name = genesis.members.iter().find(|m| m.id == id);
                    format!(
                        "proposed by member {id} ({})",
                        name.map_or("?", |m| &m.name)
                    )
                }
                None => "no member's signature for this slot".into(),
            };
            text += &format!("\n  block {}: {proposer}: {}", r.height, r.reason);
            rejected.push(json!({
                "height": r.height,
                "proposer": r.proposer,
                "reason": r.reason.to_string(),
            }));
        }
    }
    let value = json!({
        "passed": true,
        "blocks": report.blocks,
        "invoices": report.invoices,
        "voided": report.voided,
        "claims": report.claims,
        "rejected": rejected,
        "ceremony": genesis.ceremony,
        "proving_key": proving_key,
    });
    ctx.output.result(value, text);
    Ok(())
}
