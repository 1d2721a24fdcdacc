//! `zkclaim setup`: single-party development parameters, of both circuits.

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
    for file in &existing(&dir, &Circuit::ALL, args.force)? {
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
    eprintln!("{FORGERY_WARNING}");
    for circuit in Circuit::ALL {
        setup(&dir, circuit, Shape::default())?;
    }
    let continuation = ClaimParams::folder(&dir, Circuit::Continuation);
    ctx.output.result(
        serde_json::json!({ "params": dir, "continuation": continuation }),
        format_args!(
            "parameters written to {} (the continuation circuit's to {})",
            dir.display(),
            continuation.display()
        ),
    );
    Ok(())
}

/// The parameter files of `circuits` already in the parameters folder `dir`: an error
/// naming them unless `force`.
pub fn existing(dir: &Path, circuits: &[Circuit], force: bool) -> Result<Vec<PathBuf>, Error> {
    let existing: Vec<PathBuf> = circuits
        .iter()
        .flat_map(|c| ClaimParams::files(dir, *c))
        .filter(|f| f.exists())
        .collect();
    if !existing.is_empty() && !force {
        let names: Vec<_> = existing
            .iter()
            .filter_map(|f| f.strip_prefix(dir).ok()?.to_str())
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

/// Generates and saves `circuit`'s parameters into its folder of the parameters folder `dir`
/// (never over existing ones); the caller warns about what they are ([`FORGERY_WARNING`]).
fn setup(dir: &Path, circuit: Circuit, shape: Shape) -> Result<ClaimParams, Error> {
    // Key generation is one opaque arkworks call: a spinner shows it is alive.
    let spinner = indicatif::ProgressBar::new_spinner();
    spinner.set_message(format!(
        "generating the {circuit} circuit's parameters (items {}, depth {})",
        shape.items, shape.depth
    ));
    spinner.enable_steady_tick(std::time::Duration::from_millis(100));
    let params = ClaimParams::setup(circuit, shape, &mut OsRng)?;
    params.save(dir)?;
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
        return data.load_prover(dir, Circuit::Primary);
    }
    eprintln!(
        "no parameters in {}: generating single-party development parameters now (first \
         use; `zkclaim setup` makes them explicitly)",
        dir.display()
    );
    eprintln!("{FORGERY_WARNING}");
    let params = setup(dir, Circuit::Primary, Shape::default())?;
    // The continuation circuit's too (statement v2), in dir/continuation.
    setup(dir, Circuit::Continuation, Shape::default())?;
    Ok(params)
}
