//! `zkclaim ceremony`: production parameters from a multi-party ceremony's key.

use crate::{
    commands::{Context, ShapeArgs},
    error::Error,
    files,
};
use serde_json::json;
use std::path::PathBuf;
use zkclaim_circuits::claim::Shape;
use zkclaim_prover::{zkey::Zkey, ClaimParams};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Parameters (claim.pk, claim.vk, shape.json) from a snarkjs phase-2 ceremony's Groth16
    /// key, made from `zkclaim export r1cs`'s circuit of the same shape; never over existing
    /// parameters. Proofs and the verifying key are then the ceremony's.
    Import {
        /// The `.zkey` file, after the last contribution (or beacon).
        #[arg(value_parser = files::not_stdio)]
        zkey: PathBuf,
        /// Where the parameters go [default: DATA/params].
        #[arg(long)]
        params: Option<PathBuf>,
        /// The circuit's shape [default: the default shape].
        #[command(flatten)]
        shape: ShapeArgs,
    },
}

pub fn exec(command: Command, ctx: &Context) -> Result<(), Error> {
    match command {
        Command::Import {
            zkey,
            params,
            shape,
        } => {
            let dir = ctx.params_dir(params);
            super::setup::existing(&dir, false)?;
            let shape = shape.over(Shape::default());
            let bytes = std::fs::read(&zkey).map_err(|source| Error::Io {
                path: zkey.clone(),
                source,
            })?;
            let key = Zkey::read(&bytes).map_err(|e| Error::BadFile {
                path: zkey.clone(),
                reason: e.to_string(),
            })?;
            let (circuit_hash, contributions) =
                (hex::encode(key.circuit_hash()), key.contribution_count());
            let imported = ClaimParams::from_zkey(shape, key)?;
            imported.save(&dir)?;
            ctx.output.result(
                json!({
                    "params": dir,
                    "shape": shape,
                    "circuit_hash": circuit_hash,
                    "contributions": contributions,
                    "verifying_key_digest": hex::encode(imported.verifying_key.digest()),
                }),
                format_args!(
                    "imported {} ({contributions} contributions; items {}, depth {}) into {}",
                    zkey.display(),
                    shape.items,
                    shape.depth,
                    dir.display()
                ),
            );
            Ok(())
        }
    }
}
