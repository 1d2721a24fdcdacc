//! `zkclaim prove`: a claim proof, here against a tree file or the ledger, or on a node; a
//! continuation claim's (statement v2) with `--continue`.

use crate::{
    commands::{setup::load_or_setup, Chain, Context},
    error::Error,
    files, serve,
};
use rand::rngs::OsRng;
use serve::actions::{Package, RootChoice};
use std::{
    path::{Path, PathBuf},
    time::Duration,
};
use zkclaim_circuits::{
    claim::{ClaimWitness, Shape},
    field,
    invoice::Invoice,
    keys::KeyFile,
    policy::Policy,
    tree::{IncrementalTree, TreeFile},
};
use zkclaim_prover::{circom, ClaimParams};

#[derive(clap::Args)]
pub struct Args {
    /// The hospital's invoice file (`-`: standard input, for one of the files).
    #[arg(long)]
    invoice: PathBuf,
    /// The patient's key file, {"sk": …} (`-`: standard input).
    #[arg(long)]
    key: PathBuf,
    /// The insurance policy file (`-`: standard input).
    #[arg(long)]
    policy: PathBuf,
    /// A stand-alone tree file (development: without parameters and a genesis in DATA,
    /// first use generates single-party parameters). Without it the node proves
    /// (`--server`), or the Merkle path comes from the ledger in DATA.
    #[arg(long, conflicts_with = "server")]
    tree: Option<PathBuf>,
    /// Parameters folder [default: DATA/params].
    #[arg(long)]
    params: Option<PathBuf>,
    /// A continuation claim (statement v2) for the next rank: the patient's earlier claim
    /// packages on this invoice, in rank order (the primary claim's first; repeat the flag
    /// for each). The last one must be settled: its leaf's path comes from the settled tree
    /// of the ledger in DATA or of the node (`--server`). --policy is then the next payer's.
    #[arg(long = "continue", value_name = "PREV.json", conflicts_with = "tree")]
    previous: Vec<PathBuf>,
    /// Where to write the claim package (stdout if omitted or `-`).
    #[arg(long)]
    out: Option<PathBuf>,
    /// With --tree: also write the claim's full assignment as circom's `.wtns` (for
    /// `snarkjs wtns check` against `zkclaim export r1cs`, or another prover). It holds
    /// the patient's secrets: written only its owner can read, never over a file.
    #[arg(long, requires = "tree", value_parser = files::not_stdio)]
    wtns: Option<PathBuf>,
    /// With --server: send the patient's secret key and invoice to a plain http:// node
    /// that is not on this machine (loopback is always allowed). Anyone on the path reads
    /// them: only for a private network path.
    #[arg(long)]
    insecure_send_witness: bool,
    /// Prove at once against the ledger's current root, even when it was produced by the
    /// block that registered the invoice or soon after. The root is public in the claim: the
    /// insurer may then match it to that block and learn which hospital registered the
    /// invoice, and when (docs/protocol.md, "Root choice").
    #[arg(long, conflicts_with = "tree")]
    claim_now: bool,
    /// Without --server: the root must follow the invoice's block by at least this many
    /// registrations by other hospitals, so that it does not point at that block; waits
    /// for them on a shared ledger (etcd). With --server the node's own setting applies.
    #[arg(long, env = "ZKCLAIM_MIN_ROOT_LAG", default_value_t = RootChoice::DEFAULT_MIN_LAG)]
    min_root_lag: u64,
    /// Without --server: how long to wait for those registrations, in seconds.
    #[arg(long, default_value_t = 60)]
    root_wait: u64,
    #[command(flatten)]
    chain: Chain,
}

pub fn exec(args: Args, ctx: &Context) -> Result<(), Error> {
    let params_dir = ctx.params_dir(args.params);
    let package = match args.tree {
        Some(tree) => {
            let files = [&*args.invoice, &args.key, &args.policy, &tree];
            // The witness is built while the parameters load, for the shape in their shape
            // file (or, before a first setup, the default one that setup makes).
            let shape = ClaimParams::load_shape(&params_dir).unwrap_or_default();
            let (params, witness) = rayon::join(
                || load_or_setup(&ctx.data, &params_dir),
                || tree_witness(shape, files),
            );
            let params = params?;
            let witness = match params.shape == shape {
                true => witness?,
                false => tree_witness(params.shape, files)?,
            };
            if let Some(path) = &args.wtns {
                let wtns = circom::wtns(&params.matrices, params.shape, witness.clone())?;
                files::write_secret_bytes(path, &wtns)?;
            }
            Package::Primary(zkclaim_prover::prove(&params, witness, &mut OsRng)?)
        }
        None => {
            let node = ctx.node(&params_dir, args.chain)?;
            let request = serve::actions::ProofRequest {
                invoice: files::read(&args.invoice)?,
                key: files::read(&args.key)?,
                policy: files::read(&args.policy)?,
                claim_now: args.claim_now,
                previous: args
                    .previous
                    .iter()
                    .map(|path| files::read(path))
                    .collect::<Result<_, _>>()?,
            };
            let choice = RootChoice {
                min_lag: args.min_root_lag,
                wait: Duration::from_secs(args.root_wait),
            };
            node.prove(request, args.insecure_send_witness, choice)?
        }
    };
    files::write(args.out.as_deref(), &package)
}

/// The claim witness from the files of `zkclaim prove --tree` ([invoice, key, policy, tree]),
/// for circuits of `shape`: the invoice's path in the stand-alone tree.
pub fn tree_witness(
    shape: Shape,
    [invoice, key, policy, tree]: [&Path; 4],
) -> Result<ClaimWitness, Error> {
    let invoice: Invoice = files::read(invoice)?;
    let key: KeyFile = files::read(key)?;
    let policy: Policy = files::read(policy)?;
    let tree_file: TreeFile = files::read(tree)?;
    let tree = IncrementalTree::from_leaves(shape.depth, &tree_file.leaves)?;
    let leaf = invoice.commitment(shape.items)?;
    let index = tree
        .position(&leaf)
        .ok_or_else(|| Error::NotInTree(field::format(&leaf)))?;
    Ok(ClaimWitness {
        sk: key.secret_key(),
        invoice,
        path: tree.path(index)?,
        policy,
    })
}
