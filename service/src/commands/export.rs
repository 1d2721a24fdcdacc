//! `zkclaim export`: a claim and the verifying key in another verifier's formats.

use crate::{commands::Context, error::Error, files};
use serde_json::json;
use std::path::PathBuf;
use zkclaim_verifier::{snarkjs, ClaimPackage};

#[derive(clap::Subcommand)]
pub enum Command {
    /// verification_key.json, proof.json and public.json for `snarkjs groth16 verify`.
    Snarkjs {
        /// The claim package file (`-`: standard input).
        #[arg(long)]
        claim: PathBuf,
        /// Parameters folder [default: DATA/params].
        #[arg(long)]
        params: Option<PathBuf>,
        /// The folder the three files are written to (created if missing).
        #[arg(long, value_parser = files::not_stdio)]
        out: PathBuf,
    },
}

pub fn exec(command: Command, ctx: &Context) -> Result<(), Error> {
    match command {
        Command::Snarkjs { claim, params, out } => {
            let key = ctx.data.verifying_key(&ctx.params_dir(params))?;
            let package: ClaimPackage = files::read(&claim)?;
            std::fs::create_dir_all(&out).map_err(|source| Error::Io {
                path: out.clone(),
                source,
            })?;
            let written = [
                ("verification_key.json", snarkjs::verification_key(&key)),
                ("proof.json", snarkjs::proof(&package.proof)),
                ("public.json", snarkjs::public(&package.public_inputs)),
            ];
            for (name, value) in &written {
                files::write(Some(&out.join(name)), value)?;
            }
            ctx.output.result(
                json!({"out": out, "files": written.map(|(name, _)| name)}),
                format_args!(
                    "wrote verification_key.json, proof.json and public.json to {}",
                    out.display()
                ),
            );
            Ok(())
        }
    }
}
