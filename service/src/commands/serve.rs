//! `zkclaim serve`: the consortium ledger over HTTP.
//!
//! A node never generates parameters: it needs the consortium's verifying key
//! (DATA/params/claim.vk, checked against the genesis) and refuses to start without it; with
//! no proving key beside it, it runs verify-only and the proof route says so. With
//! `--insurer N` it takes patients' claims for insurer N, signing them with N's key.

use crate::{commands::Context, error::Error, serve};
use std::path::PathBuf;
use zkclaim_ledger::{Genesis, Role};

#[derive(clap::Args)]
pub struct Args {
    /// JSON file with any of the settings below; flags and environment override it.
    #[arg(long, env = "ZKCLAIM_CONFIG")]
    config: Option<PathBuf>,
    // Boxed: the settings are most of the command line's size.
    #[command(flatten)]
    settings: Box<serve::Settings>,
}

pub fn exec(args: Args, ctx: &Context) -> Result<(), Error> {
    let config = serve::Config::resolve(args.config.as_deref(), *args.settings)?;
    let params_dir = ctx.params_dir(None);
    let params = ctx.data.load_params(&params_dir)?;
    let (primary, continuation) = params.prepared();
    let ledger = ctx.data.open_ledger(
        (&primary, continuation.as_ref()),
        config.ledger.as_deref(),
        config.proposer,
    )?;
    let insurer = match config.insurer {
        Some(n) => {
            insurer_of(ledger.genesis(), n)?;
            Some(ctx.data.load_key(n)?)
        }
        None => None,
    };
    let registry = ctx.data.open_registry()?;
    // On the embedded store, other commands learn who holds it.
    let embedded = config.ledger.is_none();
    let mut serving = None;
    serve::run(
        config,
        (params, &params_dir),
        (ledger, registry, insurer),
        |url| {
            if embedded {
                match ctx.data.serving(url) {
                    Ok(guard) => serving = Some(guard),
                    Err(e) => eprintln!("zkclaim: warning: {e}"),
                }
            }
        },
    )
}

/// Refuses `--insurer N` unless N is an insurer in the genesis.
fn insurer_of(genesis: &Genesis, n: u32) -> Result<(), Error> {
    match genesis.members.iter().find(|m| m.id == n) {
        Some(m) if m.role == Role::Insurer => Ok(()),
        Some(m) => Err(Error::Usage(format!(
            "--insurer {n}: member {n} has the {} role in the genesis, not the insurer role",
            m.role
        ))),
        None => Err(Error::Usage(format!(
            "--insurer {n}: member {n} is not in the genesis"
        ))),
    }
}
