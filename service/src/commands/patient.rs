//! `zkclaim patient`: patient keys.

use crate::{commands::Context, error::Error, files};
use rand::rngs::OsRng;
use serde_json::json;
use std::path::PathBuf;
use zkclaim_circuits::{
    field,
    keys::{self, KeyFile, SecretKey},
};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Generate a patient key: {"sk": …, "pk": …}.
    Keygen {
        /// Written with owner-only permissions (stdout if omitted or `-`). With --json and a
        /// file, the public key is printed as {"pk", "out"}.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Print the patient's claimant tag at an insurer: what the patient gives the insurer
    /// to enrol, and what its claims there show.
    Tag {
        /// The patient's key file, {"sk": …} (`-`: standard input).
        #[arg(long)]
        key: PathBuf,
        /// The insurer's member id.
        #[arg(long)]
        insurer: u32,
    },
}

pub fn exec(command: Command, ctx: &Context) -> Result<(), Error> {
    match command {
        Command::Keygen { out } => {
            let sk = SecretKey::random(&mut OsRng);
            let key = KeyFile::new(&sk);
            match out.filter(|path| !files::is_stdio(path)) {
                Some(path) => {
                    files::write_secret(&path, &key)?;
                    if ctx.output.json {
                        let pk = field::format(&sk.public_key());
                        ctx.output.result(json!({"pk": pk, "out": path}), "");
                    }
                    Ok(())
                }
                None => files::write(None, &key),
            }
        }
        Command::Tag { key, insurer } => {
            let key: KeyFile = files::read(&key)?;
            let tag = field::format(&keys::claimant_tag(key.secret_key().expose(), insurer));
            ctx.output
                .result(json!({"claimant_tag": tag, "insurer": insurer}), &tag);
            Ok(())
        }
    }
}
