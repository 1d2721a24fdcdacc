//! `zkclaim patient`: patient keys.

use crate::{commands::Context, error::Error, files};
use rand::rngs::OsRng;
use serde_json::json;
use std::path::PathBuf;
use zkclaim_circuits::{
    field,
    keys::{KeyFile, SecretKey},
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
    }
}
