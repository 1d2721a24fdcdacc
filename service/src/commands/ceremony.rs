//! `zkclaim ceremony`: a multi-party phase 2 in snarkjs's formats, from its initial key to
//! production parameters from its last.

use crate::{
    commands::{Context, ShapeArgs},
    error::Error,
    files,
};
use serde_json::json;
use std::path::PathBuf;
use zkclaim_circuits::claim::Shape;
use zkclaim_prover::{
    ceremony::init::initial_zkey, ptau::Ptau, zkey::Zkey, ClaimMatrices, ClaimParams, ProveError,
};

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
    /// The ceremony's initial key (contribution 0) for the claim circuit, from a phase-1
    /// file: byte for byte the `.zkey` of `snarkjs groth16 setup` on `zkclaim export r1cs`'s
    /// circuit and that file, so that snarkjs and zkclaim contribute to and verify the same
    /// transcript. Never over an existing file. Prints the circuit hash.
    New {
        /// The phase-1 file (`.ptau`), prepared for phase 2 (`snarkjs powersoftau prepare
        /// phase2`), of a power at least the circuit's domain's.
        #[arg(long, value_parser = files::not_stdio)]
        ptau: PathBuf,
        /// The initial key to write, e.g. claim_0000.zkey.
        #[arg(long, value_parser = files::not_stdio)]
        out: PathBuf,
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
        } => import(ctx, zkey, params, shape),
        Command::New { ptau, out, shape } => new(ctx, ptau, out, shape),
    }
}

fn import(
    ctx: &Context,
    zkey: PathBuf,
    params: Option<PathBuf>,
    shape: ShapeArgs,
) -> Result<(), Error> {
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
    let (circuit_hash, contributions) = (hex::encode(key.circuit_hash()), key.contribution_count());
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

fn new(ctx: &Context, ptau: PathBuf, out: PathBuf, shape: ShapeArgs) -> Result<(), Error> {
    // Refused before the work; the file is then created only if it still does not exist.
    if out.exists() {
        return Err(Error::BadFile {
            path: out,
            reason: "already exists: a ceremony's key is never replaced; choose another --out"
                .into(),
        });
    }
    let shape = shape.over(Shape::default());
    let matrices = ClaimMatrices::build(shape).map_err(ProveError::from)?;
    let bytes = std::fs::read(&ptau).map_err(|source| Error::Io {
        path: ptau.clone(),
        source,
    })?;
    let bad_ptau = |reason: String| Error::BadFile {
        path: ptau.clone(),
        reason,
    };
    let phase1 = Ptau::read(&bytes).map_err(|e| bad_ptau(e.to_string()))?;
    let key = initial_zkey(&matrices, &phase1).map_err(|e| bad_ptau(e.to_string()))?;
    files::write_new_bytes(&out, &key.bytes)?;
    let circuit_hash = hex::encode(key.circuit_hash);
    ctx.output.result(
        json!({
            "out": out,
            "shape": shape,
            "circuit_hash": circuit_hash,
            "domain_size": key.domain_size,
            "constraints": matrices.num_constraints(),
        }),
        format_args!(
            "wrote {} (items {}, depth {}: {} constraints, a domain of 2^{}), circuit hash {}",
            out.display(),
            shape.items,
            shape.depth,
            matrices.num_constraints(),
            key.domain_size.trailing_zeros(),
            circuit_hash
        ),
    );
    Ok(())
}
