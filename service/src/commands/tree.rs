//! `zkclaim tree`: stand-alone invoice trees (before a ledger is involved).

use crate::{commands::Context, error::Error, files};
use serde_json::json;
use std::path::PathBuf;
use zkclaim_circuits::{
    claim::Shape,
    field,
    tree::{IncrementalTree, TreeFile},
};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Append a commitment to a tree file (created if missing) and print its leaf index.
    Add {
        /// The tree file, {"leaves": […]}, rewritten in place.
        #[arg(long, value_parser = files::not_stdio)]
        tree: PathBuf,
        /// The invoice commitment to append, `0x` and 64 hex digits (`zkclaim invoice commit`).
        commitment: String,
    },
}

pub fn exec(command: Command, ctx: &Context) -> Result<(), Error> {
    match command {
        Command::Add { tree, commitment } => {
            let leaf = field::parse(&commitment).map_err(|e| Error::BadFile {
                path: "commitment argument".into(),
                reason: e.to_string(),
            })?;
            let mut file = if tree.exists() {
                files::read(&tree)?
            } else {
                TreeFile { leaves: vec![] }
            };
            let index = file.leaves.len();
            file.leaves.push(leaf);
            IncrementalTree::from_leaves(Shape::default().depth, &file.leaves)?;
            files::write(Some(&tree), &file)?;
            ctx.output
                .result(json!({"tree": tree, "index": index}), index);
            Ok(())
        }
    }
}
