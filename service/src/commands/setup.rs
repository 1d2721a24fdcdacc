//! `zkclaim setup`: single-party development parameters.

use crate::{commands::Context, consortium::DataDir, error::Error, files};
use rand::rngs::OsRng;
use std::path::{Path, PathBuf};
use zkclaim_circuits::claim::Shape;
use zkclaim_circuits::Circuit;
use zkclaim_prover::ClaimParams;

#[derive(clap::Args)]
pub struct Args {
    /// Where the parameters go [default: DATA/params].
    #[arg(long)]
    params: Option<PathBuf>,
    /// Replace parameters already there, keeping each old file as NAME.bak-TIME.
    #[arg(long)]
    force: bool,
}

pub fn exec(args: Args, ctx: &Context) -> Result<(), Error> {
    let dir = ctx.params_dir(args.params);
    for file in &existing(&dir, args.force)? {
        let backup = files::keep_backup(file)?;
        eprintln!("kept {} as {}", file.display(), backup.display());
    }
    if ctx.data.genesis().exists() && dir == ctx.data.params() {
        eprintln!(
            "note: DATA holds a genesis ({}): new parameters are not the consortium's, and \
             the commands that use them will say so",
            ctx.data.genesis().display()
        );
    }
    setup(&dir, Shape::default())?;
    ctx.output.result(
        serde_json::json!({ "params": dir }),
        format_args!("parameters written to {}", dir.display()),
    );
    Ok(())
}

/// The parameter files already in `dir`: an error naming them unless `force`.
pub fn existing(dir: &Path, force: bool) -> Result<Vec<PathBuf>, Error> {
    let existing: Vec<PathBuf> = [Circuit::Primary, Circuit::Continuation]
        .into_iter()
        .flat_map(|circuit| ClaimParams::files(dir, circuit))
        .filter(|f| f.exists())
        .collect();
    if !existing.is_empty() && !force {
        let names: Vec<_> = existing
            .iter()
            .filter_map(|f| f.file_name()?.to_str())
            .collect();
        return Err(Error::ParamsExist {
            dir: dir.to_owned(),
            files: names.join(", "),
        });
    }
    Ok(existing)
}

const FORGERY_WARNING: &str = "\
WARNING: these are single-party development parameters. Whoever ran this setup (and anyone
who recovers its randomness) can forge claim proofs for any amount. Production parameters
must come from a multi-party ceremony.";

/// Generates and saves parameters (never over existing ones), warning loudly about what
/// they are.
fn setup(dir: &Path, shape: Shape) -> Result<ClaimParams, Error> {
    eprintln!("{FORGERY_WARNING}");
    // Key generation is one opaque arkworks call: a spinner shows it is alive.
    let spinner = indicatif::ProgressBar::new_spinner();
    spinner.set_message(format!(
        "generating parameters (items {}, depth {})",
        shape.items, shape.depth
    ));
    spinner.enable_steady_tick(std::time::Duration::from_millis(100));
    let params = ClaimParams::setup(Circuit::Primary, shape, &mut OsRng)?;
    params.save(dir)?;
    // The continuation circuit's too (statement v2), in dir/continuation.
    ClaimParams::setup(Circuit::Continuation, shape, &mut OsRng)?.save(dir)?;
    spinner.finish_and_clear();
    Ok(params)
}

/// The development paths' parameters (the demo, `consortium init`, proving against a tree
/// file): those in `dir`, checked against DATA's genesis when there is one; generated, with
/// a loud notice, only when `dir` holds no parameter file at all and DATA no genesis (whose
/// digest fresh parameters could never match).
pub fn load_or_setup(data: &DataDir, dir: &Path) -> Result<ClaimParams, Error> {
    if ClaimParams::files(dir, Circuit::Primary)
        .iter()
        .any(|f| f.exists())
        || data.genesis().exists()
    {
        return data.load_params(dir)?.into_prover();
    }
    eprintln!(
        "no parameters in {}: generating single-party development parameters now (first \
         use; `zkclaim setup` makes them explicitly)",
        dir.display()
    );
    setup(dir, Shape::default())
}
