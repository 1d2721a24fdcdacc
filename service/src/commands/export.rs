//! `zkclaim export`: a claim and the verifying key in another verifier's formats.

use crate::{commands::Context, error::Error, files};
use std::path::PathBuf;
use zkclaim_verifier::{snarkjs, ClaimPackage};

#[derive(clap::Subcommand)]
pub enum Command {
    /// verification_key.json, proof.json and public.json for `snarkjs groth16 verify`.
    Snarkjs {
        #[arg(long)]
        claim: PathBuf,
        #[arg(long)]
        params: Option<PathBuf>,
        #[arg(long)]
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
            for (name, value) in [
                ("verification_key.json", snarkjs::verification_key(&key)),
                ("proof.json", snarkjs::proof(&package.proof)),
                ("public.json", snarkjs::public(&package.public_inputs)),
            ] {
                files::write(Some(&out.join(name)), &value)?;
            }
            println!(
                "wrote verification_key.json, proof.json and public.json to {}",
                out.display()
            );
            Ok(())
        }
    }
}
