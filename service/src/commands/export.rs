//! `zkclaim export`: a claim and the verifying key in another verifier's formats, and the
//! circuit in circom's.

use crate::{
    commands::{CircuitArg, Context, ShapeArgs},
    error::Error,
    files,
};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use zkclaim_circuits::claim::Shape;
use zkclaim_circuits::Circuit;
use zkclaim_prover::{circom, ClaimMatrices, ClaimParams, ProveError};
use zkclaim_verifier::{snarkjs, solidity, ClaimPackage, ContinuationPackage};

#[derive(clap::Subcommand)]
pub enum Command {
    /// verification_key.json, proof.json and public.json for `snarkjs groth16 verify`, of a
    /// primary or a continuation claim (the package says which; the verifying key is then
    /// that circuit's, a continuation's from the parameters folder's continuation/).
    Snarkjs {
        /// The claim package file, of either circuit (`-`: standard input).
        #[arg(long)]
        claim: PathBuf,
        /// Parameters folder [default: DATA/params].
        #[arg(long)]
        params: Option<PathBuf>,
        /// The folder the three files are written to (created if missing).
        #[arg(long, value_parser = files::not_stdio)]
        out: PathBuf,
    },
    /// A Solidity contract, `ClaimVerifier`, that verifies claims under the consortium's
    /// verifying key on an EVM chain (BN254 precompiles; `verifyProof(uint256[8] proof,
    /// uint256[5] input)`).
    Solidity {
        /// Parameters folder [default: DATA/params].
        #[arg(long)]
        params: Option<PathBuf>,
        /// The `.sol` file to write (`-`: standard output).
        #[arg(long)]
        out: PathBuf,
    },
    /// The calldata of `ClaimVerifier.verifyProof` for a claim, as `0x` and hex.
    Calldata {
        /// The claim package file (`-`: standard input).
        #[arg(long)]
        claim: PathBuf,
    },
    /// A claim circuit as circom's `.r1cs` (wire 0 = 1, then the public inputs in
    /// statement order, then the witness), for snarkjs and other provers and ceremony tools.
    R1cs {
        /// The parameters whose shape (shape.json) to export [default: DATA/params, else
        /// the default shape]; --items and --depth choose another.
        #[arg(long)]
        params: Option<PathBuf>,
        #[command(flatten)]
        circuit: CircuitArg,
        #[command(flatten)]
        shape: ShapeArgs,
        /// The file to write.
        #[arg(long, value_parser = files::not_stdio)]
        out: PathBuf,
    },
}

pub fn exec(command: Command, ctx: &Context) -> Result<(), Error> {
    match command {
        Command::Solidity { params, out } => {
            let key = ctx.data.verifying_key(&ctx.params_dir(params))?;
            let source = solidity::contract(&key);
            if files::is_stdio(&out) {
                print!("{source}");
                return Ok(());
            }
            std::fs::write(&out, source).map_err(|source| Error::Io {
                path: out.clone(),
                source,
            })?;
            ctx.output.result(
                json!({"out": out, "verifying_key_digest": hex::encode(key.digest())}),
                format_args!("wrote {}", out.display()),
            );
            Ok(())
        }
        Command::Calldata { claim } => {
            let package: ClaimPackage = files::read(&claim)?;
            let calldata = format!("0x{}", hex::encode(solidity::calldata(&package)));
            ctx.output
                .result(json!({"calldata": calldata}), format_args!("{calldata}"));
            Ok(())
        }
        Command::R1cs {
            params,
            circuit: CircuitArg { circuit },
            shape,
            out,
        } => {
            let dir = ctx.params_dir(params);
            let [_, _, shape_file, _] = ClaimParams::files(&dir, Circuit::Primary);
            let base = if shape_file.exists() {
                ClaimParams::load_shape(&dir)?
            } else {
                Shape::default()
            };
            let shape = shape.over(base);
            let matrices = ClaimMatrices::build(circuit, shape).map_err(ProveError::from)?;
            std::fs::write(&out, circom::r1cs(&matrices)).map_err(|source| Error::Io {
                path: out.clone(),
                source,
            })?;
            ctx.output.result(
                json!({
                    "out": out,
                    "circuit": circuit,
                    "shape": shape,
                    "constraints": matrices.num_constraints(),
                }),
                format_args!(
                    "wrote {} (the {circuit} circuit: {} constraints, {} items, depth {})",
                    out.display(),
                    matrices.num_constraints(),
                    shape.items,
                    shape.depth
                ),
            );
            Ok(())
        }
        Command::Snarkjs { claim, params, out } => {
            let dir = ctx.params_dir(params);
            let (circuit, key, proof, public) = match package(&claim)? {
                Package::Primary(p) => (
                    Circuit::Primary,
                    ctx.data.verifying_key(&dir)?,
                    p.proof,
                    snarkjs::public(&p.public_inputs),
                ),
                // Not checked against DATA's genesis, which pins the primary key alone so far.
                Package::Continuation(p) => (
                    Circuit::Continuation,
                    ClaimParams::load_verifying_key(&dir, Circuit::Continuation)?,
                    p.proof,
                    snarkjs::public(&p.public_inputs),
                ),
            };
            std::fs::create_dir_all(&out).map_err(|source| Error::Io {
                path: out.clone(),
                source,
            })?;
            let written = [
                ("verification_key.json", snarkjs::verification_key(&key)),
                ("proof.json", snarkjs::proof(&proof)),
                ("public.json", public),
            ];
            for (name, value) in &written {
                files::write(Some(&out.join(name)), value)?;
            }
            ctx.output.result(
                json!({"out": out, "circuit": circuit, "files": written.map(|(name, _)| name)}),
                format_args!(
                    "wrote verification_key.json, proof.json and public.json (a {circuit} \
                     claim) to {}",
                    out.display()
                ),
            );
            Ok(())
        }
    }
}

/// A claim package of either circuit.
enum Package {
    Primary(ClaimPackage),
    Continuation(ContinuationPackage),
}

/// The claim package in `path`, of the circuit whose package it parses as: each kind refuses
/// the other's public inputs (`deny_unknown_fields`), so at most one does.
fn package(path: &Path) -> Result<Package, Error> {
    let value: Value = files::read(path)?;
    let primary = match serde_json::from_value(value.clone()) {
        Ok(package) => return Ok(Package::Primary(package)),
        Err(e) => e,
    };
    serde_json::from_value(value)
        .map(Package::Continuation)
        .map_err(|continuation| Error::BadFile {
            path: path.into(),
            reason: format!(
                "neither a primary claim package ({primary}) nor a continuation one \
                 ({continuation})"
            ),
        })
}
