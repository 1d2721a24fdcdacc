//! `zkclaim setup`: single-party development parameters.

use crate::{commands::Context, error::Error};
use rand::rngs::OsRng;
use std::path::{Path, PathBuf};
use zkclaim_circuits::claim::Shape;
use zkclaim_prover::ClaimParams;

#[derive(clap::Args)]
pub struct Args {
    /// Folder the parameters are written to [default: DATA/params].
    #[arg(long)]
    params: Option<PathBuf>,
}

pub fn exec(args: Args, ctx: &Context) -> Result<(), Error> {
    let dir = ctx.params_dir(args.params);
    setup(&dir, Shape::default())?;
    ctx.output.result(
        serde_json::json!({ "params": dir }),
        format_args!("parameters written to {}", dir.display()),
    );
    Ok(())
}

const FORGERY_WARNING: &str = "\
WARNING: these are single-party development parameters. Whoever ran this setup (and anyone
who recovers its randomness) can forge claim proofs for any amount. Production parameters
must come from a multi-party ceremony.";

/// Generates and saves parameters, warning loudly about what they are.
fn setup(dir: &Path, shape: Shape) -> Result<ClaimParams, Error> {
    eprintln!("{FORGERY_WARNING}");
    // Key generation is one opaque arkworks call: a spinner shows it is alive.
    let spinner = indicatif::ProgressBar::new_spinner();
    spinner.set_message(format!(
        "generating parameters (items {}, depth {})",
        shape.items, shape.depth
    ));
    spinner.enable_steady_tick(std::time::Duration::from_millis(100));
    let params = ClaimParams::setup(shape, &mut OsRng)?;
    params.save(dir)?;
    spinner.finish_and_clear();
    Ok(params)
}

/// Loads the parameters in `dir`, generating them on first use.
pub fn load_or_setup(dir: &Path) -> Result<ClaimParams, Error> {
    if ClaimParams::exist(dir) {
        Ok(ClaimParams::load(dir)?)
    } else {
        eprintln!(
            "no parameters in {}: generating them now (first use)",
            dir.display()
        );
        setup(dir, Shape::default())
    }
}
