//! `zkclaim patient`: patient keys.

use crate::{error::Error, files};
use rand::rngs::OsRng;
use std::path::PathBuf;
use zkclaim_circuits::keys::{KeyFile, SecretKey};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Generate a patient key: {"sk": …, "pk": …}.
    Keygen {
        /// Written with owner-only permissions (stdout if omitted).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

pub fn exec(command: Command) -> Result<(), Error> {
    match command {
        Command::Keygen { out } => {
            let key = KeyFile::new(&SecretKey::random(&mut OsRng));
            match out {
                Some(path) => files::write_secret(&path, &key),
                None => files::write(None, &key),
            }
        }
    }
}
