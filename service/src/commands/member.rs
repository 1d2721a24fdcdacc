//! `zkclaim member`: an organization's own member key.

use crate::{commands::Context, error::Error, files};
use rand::rngs::OsRng;
use std::path::PathBuf;
use zkclaim_ledger::{Member, MemberKey, Role};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Make this organization's member key, at the organization: the secret key is written
    /// mode 0600 and never leaves it. Prints the public part (id, name, role, public key)
    /// for `consortium genesis`.
    Keygen {
        /// The member id the consortium gives this organization.
        #[arg(long)]
        id: u32,
        /// What the member may sign.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// The organization's name, as the genesis lists it.
        #[arg(long)]
        name: String,
        /// Where the secret key goes [default: DATA/consortium/keys/member-ID.json, where
        /// `--member ID` and `serve --proposer ID` read it].
        #[arg(long, value_parser = files::not_stdio)]
        out: Option<PathBuf>,
        /// Replace an existing key, keeping it as FILE.bak-TIME.
        #[arg(long)]
        force: bool,
    },
}

fn parse_role(text: &str) -> Result<Role, String> {
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .map_err(|_| "expected hospital, insurer or regulator".to_owned())
}

pub fn exec(command: Command, ctx: &Context) -> Result<(), Error> {
    match command {
        Command::Keygen {
            id,
            role,
            name,
            out,
            force,
        } => {
            let path = out.unwrap_or_else(|| ctx.data.key(id));
            if path.exists() {
                if !force {
                    let existing = MemberKey::load(&path)?;
                    return Err(Error::KeyExists {
                        path,
                        member: existing.member_id(),
                        public_key: hex::encode(existing.public_key()),
                    });
                }
                let backup = files::keep_backup(&path)?;
                eprintln!("kept {} as {}", path.display(), backup.display());
            }
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|source| Error::Io {
                    path: dir.into(),
                    source,
                })?;
            }
            let key = MemberKey::generate(id, &mut OsRng);
            key.save(&path)?;
            eprintln!(
                "member {id}'s secret key written to {} (mode 0600): it stays at this \
                 organization. Send the public part below to whoever assembles the genesis.",
                path.display()
            );
            files::write(
                None,
                &Member {
                    id,
                    name,
                    role,
                    public_key: key.public_key(),
                },
            )
        }
    }
}
