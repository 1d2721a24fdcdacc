//! `zkclaim`: the command line for patients, hospitals, insurers and auditors.

mod bench;
mod consortium;
mod demo;
mod error;
mod files;
mod serve;

use clap::{Parser, Subcommand};
use consortium::DataDir;
use error::Error;
use rand::rngs::OsRng;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use zkclaim_circuits::{
    claim::{ClaimWitness, Shape},
    field,
    invoice::Invoice,
    keys::{KeyFile, SecretKey},
    policy::Policy,
    tree::{IncrementalTree, TreeFile},
};
use zkclaim_prover::ClaimParams;
use zkclaim_verifier::{snarkjs, ClaimPackage};

#[derive(Parser)]
#[command(
    name = "zkclaim",
    version,
    about = "Private, verifiable health-insurance claims"
)]
struct Cli {
    /// Data folder: parameters live in DATA/params unless --params says otherwise.
    #[arg(
        long,
        global = true,
        default_value = "zkclaim-data",
        env = "ZKCLAIM_DATA"
    )]
    data: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate single-party development parameters (whoever runs this can forge proofs).
    Setup {
        #[arg(long)]
        params: Option<PathBuf>,
    },
    /// Patient keys.
    Patient {
        #[command(subcommand)]
        command: PatientCommand,
    },
    /// Hospital invoices.
    Invoice {
        #[command(subcommand)]
        command: InvoiceCommand,
    },
    /// Stand-alone invoice trees (before a ledger is involved).
    Tree {
        #[command(subcommand)]
        command: TreeCommand,
    },
    /// Prove a claim: the invoice is in the tree and the payout follows the policy.
    Prove {
        #[arg(long)]
        invoice: PathBuf,
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        policy: PathBuf,
        #[arg(long)]
        tree: PathBuf,
        #[arg(long)]
        params: Option<PathBuf>,
        /// Where to write the claim package (stdout if omitted).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Verify a claim package: exit 0 when valid, 1 with the reason when not.
    Verify {
        claim: PathBuf,
        #[arg(long)]
        params: Option<PathBuf>,
    },
    /// Write a claim and the verifying key in another verifier's formats.
    Export {
        #[command(subcommand)]
        command: ExportCommand,
    },
    /// The researchers' report: setup, prove and verify across circuit shapes and threads.
    Bench {
        /// A small matrix that finishes in about a minute.
        #[arg(long)]
        quick: bool,
        /// Where bench.csv and bench.svg go.
        #[arg(long, default_value = "zkclaim-data/bench")]
        out: PathBuf,
    },
    /// The consortium ledger.
    Consortium {
        #[command(subcommand)]
        command: ConsortiumCommand,
    },
    /// Replay the chain in DATA from genesis and re-verify everything; exit 1 naming the
    /// first bad block.
    Audit {
        #[arg(long)]
        params: Option<PathBuf>,
        /// Audit the chain on this etcd cluster (`etcd://HOST:PORT,…`) instead of DATA's.
        #[arg(long, env = "ZKCLAIM_LEDGER")]
        ledger: Option<String>,
    },
    /// Serve the consortium ledger in DATA over HTTP (see /openapi.json) until SIGTERM/SIGINT.
    Serve {
        /// JSON file with any of the settings below; flags and environment override it.
        #[arg(long, env = "ZKCLAIM_CONFIG")]
        config: Option<PathBuf>,
        #[command(flatten)]
        settings: serve::Settings,
    },
    /// Run the whole story end to end on an embedded ledger in DATA/demo and print what each
    /// party saw.
    Demo {
        /// Invoices the hospitals register (the anonymity set).
        #[arg(long, default_value_t = 512)]
        invoices: u32,
    },
}

#[derive(Subcommand)]
enum ExportCommand {
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

#[derive(Subcommand)]
enum ConsortiumCommand {
    /// Write a development genesis (two hospitals, two insurers, a regulator) and each
    /// member's key into DATA/consortium.
    Init {
        #[arg(long)]
        params: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum PatientCommand {
    /// Generate a patient key: {"sk": …, "pk": …}.
    Keygen {
        /// Written with owner-only permissions (stdout if omitted).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum InvoiceCommand {
    /// Print an invoice's commitment, the only thing a hospital registers.
    Commit { invoice: PathBuf },
}

#[derive(Subcommand)]
enum TreeCommand {
    /// Append a commitment to a tree file (created if missing) and print its leaf index.
    Add {
        #[arg(long)]
        tree: PathBuf,
        commitment: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("zkclaim: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn run(cli: Cli) -> Result<(), Error> {
    let data = DataDir(cli.data);
    let default_params = data.params();
    let params_dir = |p: Option<PathBuf>| p.unwrap_or_else(|| default_params.clone());
    match cli.command {
        Command::Setup { params } => {
            let dir = params_dir(params);
            setup(&dir, Shape::default())?;
            println!("parameters written to {}", dir.display());
        }
        Command::Patient {
            command: PatientCommand::Keygen { out },
        } => {
            let key = KeyFile::new(&SecretKey::random(&mut OsRng));
            match out {
                Some(path) => files::write_secret(&path, &key)?,
                None => files::write(None, &key)?,
            }
        }
        Command::Invoice {
            command: InvoiceCommand::Commit { invoice },
        } => {
            let inv: Invoice = files::read(&invoice)?;
            println!(
                "{}",
                field::format(&inv.commitment(Shape::default().items)?)
            );
        }
        Command::Tree {
            command: TreeCommand::Add { tree, commitment },
        } => {
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
            println!("{index}");
        }
        Command::Prove {
            invoice,
            key,
            policy,
            tree,
            params,
            out,
        } => {
            let params = load_or_setup(&params_dir(params))?;
            let invoice: Invoice = files::read(&invoice)?;
            let key: KeyFile = files::read(&key)?;
            let policy: Policy = files::read(&policy)?;
            let tree_file: TreeFile = files::read(&tree)?;
            let tree = IncrementalTree::from_leaves(params.shape.depth, &tree_file.leaves)?;
            let leaf = invoice.commitment(params.shape.items)?;
            let index = tree
                .position(&leaf)
                .ok_or_else(|| Error::NotInTree(field::format(&leaf)))?;
            let witness = ClaimWitness {
                sk: key.secret_key(),
                invoice,
                path: tree.path(index)?,
                policy,
            };
            let package = zkclaim_prover::prove(&params, witness, &mut OsRng)?;
            files::write(out.as_deref(), &package)?;
        }
        Command::Verify { claim, params } => {
            // A fresh key could verify nothing: verification never generates parameters.
            let key = ClaimParams::load_verifying_key(&params_dir(params))?.prepare();
            let package: ClaimPackage = files::read(&claim)?;
            package.verify(&key).map_err(Error::Rejected)?;
            println!("valid: claim of {} fen", package.public_inputs.claim_amount);
        }
        Command::Export {
            command: ExportCommand::Snarkjs { claim, params, out },
        } => {
            let key = ClaimParams::load_verifying_key(&params_dir(params))?;
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
        }
        Command::Bench { quick, out } => bench::run(&bench::Options { quick, out })?,
        Command::Consortium {
            command: ConsortiumCommand::Init { params },
        } => {
            let params = load_or_setup(&params_dir(params))?;
            let genesis = data.init(&params)?;
            println!(
                "consortium {} with {} members written to {}",
                genesis.chain_id,
                genesis.members.len(),
                data.0.display()
            );
        }
        Command::Audit { params, ledger } => {
            let key = ClaimParams::load_verifying_key(&params_dir(params))?.prepare();
            let report = consortium::audit(&data, &key, ledger.as_deref())?;
            println!(
                "audit passed: {} blocks, {} invoices, {} claims; every hash, signature, root and proof checks",
                report.blocks, report.invoices, report.claims
            );
        }
        Command::Serve { config, settings } => {
            let config = serve::Config::resolve(config.as_deref(), settings)?;
            let params = load_or_setup(&default_params)?;
            let ledger = data.open_ledger(&params, config.ledger.as_deref(), config.proposer)?;
            serve::run(config, params, ledger)?;
        }
        Command::Demo { invoices } => demo::run(&data.0, &params_dir(None), invoices)?,
    }
    Ok(())
}

const FORGERY_WARNING: &str = "\
WARNING: these are single-party development parameters. Whoever ran this setup (and anyone
who recovers its randomness) can forge claim proofs for any amount. Production parameters
must come from a multi-party ceremony.";

/// Generates and saves parameters, warning loudly about what they are.
fn setup(dir: &Path, shape: Shape) -> Result<ClaimParams, Error> {
    eprintln!("{FORGERY_WARNING}");
    // Key generation is one opaque arkworks call: a spinner shows it is alive.
    let spinner = indicatif::ProgressBar::new_spinner();
    spinner.set_message(format!(
        "generating parameters (items {}, depth {})",
        shape.items, shape.depth
    ));
    spinner.enable_steady_tick(std::time::Duration::from_millis(100));
    let params = ClaimParams::setup(shape, &mut OsRng)?;
    params.save(dir)?;
    spinner.finish_and_clear();
    Ok(params)
}

/// Loads the parameters in `dir`, generating them on first use.
fn load_or_setup(dir: &Path) -> Result<ClaimParams, Error> {
    if ClaimParams::exist(dir) {
        Ok(ClaimParams::load(dir)?)
    } else {
        eprintln!(
            "no parameters in {}: generating them now (first use)",
            dir.display()
        );
        setup(dir, Shape::default())
    }
}
