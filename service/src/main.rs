//! `zkclaim`: the command line for patients, hospitals, insurers and auditors.

mod bench;
mod client;
mod consortium;
mod demo;
mod error;
mod files;
mod loadtest;
mod node;
mod serve;

use clap::{Parser, Subcommand};
use consortium::DataDir;
use error::Error;
use node::Node;
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
use zkclaim_ledger::{MemberKey, SignedTransaction, Transaction};
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
    /// A node (`http://HOST:PORT` or `https://…`): invoice register, prove, claim and verify
    /// go to it instead of the embedded ledger and parameters in DATA.
    #[arg(long, global = true, env = "ZKCLAIM_SERVER")]
    server: Option<String>,
    /// PEM certificate(s) an https node's certificate must chain to, instead of the public
    /// web roots (for a node with a self-signed or private-CA certificate).
    #[arg(long, global = true, env = "ZKCLAIM_CA_CERT")]
    ca_cert: Option<PathBuf>,
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
        /// A stand-alone tree file. Without it the node proves (`--server`), or the Merkle
        /// path comes from the ledger in DATA.
        #[arg(long, conflicts_with = "server")]
        tree: Option<PathBuf>,
        #[arg(long)]
        params: Option<PathBuf>,
        /// Where to write the claim package (stdout if omitted).
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        chain: Chain,
    },
    /// Verify a claim package: exit 0 when valid, 1 with the reason when not. With
    /// `--server` the verifying key comes from the node, checked against DATA's genesis
    /// when there is one.
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
    /// Insurers' claims on the ledger.
    Claim {
        #[command(subcommand)]
        command: ClaimCommand,
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
    /// Drive concurrent patients through registration, proof and settlement against the node
    /// at --server (on this machine), with member keys from DATA; report proof latency and
    /// settlement throughput per client count as a Markdown table.
    Loadtest {
        /// Concurrent clients of each round.
        #[arg(long, value_delimiter = ',', default_value = "1,2,8",
              value_parser = clap::value_parser!(u16).range(1..=64))]
        clients: Vec<u16>,
        /// Patients (claims) in each round.
        #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=1000))]
        patients: u16,
        /// After the rounds, send this many proof requests at once (not retried) and count
        /// the answers.
        #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
        flood: Option<u16>,
        /// Also write the table's rows as CSV here.
        #[arg(long)]
        csv: Option<PathBuf>,
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
    /// Register an invoice's commitment on the ledger (hospital); prints the receipt.
    Register {
        invoice: PathBuf,
        #[command(flatten)]
        signer: Signer,
        #[command(flatten)]
        chain: Chain,
    },
}

#[derive(Subcommand)]
enum ClaimCommand {
    /// Verify and settle a claim package (insurer); prints the receipt.
    Settle {
        claim: PathBuf,
        #[command(flatten)]
        signer: Signer,
        #[command(flatten)]
        chain: Chain,
    },
    /// Print the settled claim with this nullifier.
    Show {
        nullifier: String,
        #[command(flatten)]
        chain: Chain,
    },
}

/// Where a command without `--server` finds the chain.
#[derive(clap::Args)]
struct Chain {
    /// The etcd cluster (`etcd://HOST:PORT,…`) holding the chain, instead of DATA's store.
    /// Not used with --server.
    #[arg(long, env = "ZKCLAIM_LEDGER")]
    ledger: Option<String>,
}

/// The member who signs a ledger transaction (and, with `--server`, the request).
#[derive(clap::Args)]
#[group(required = true, multiple = false)]
struct Signer {
    /// Member N, with its key DATA/consortium/keys/member-N.json.
    #[arg(long)]
    member: Option<u32>,
    /// The member key file to sign with.
    #[arg(long)]
    member_key: Option<PathBuf>,
}

impl Signer {
    fn key(&self, data: &DataDir) -> Result<MemberKey, Error> {
        match (&self.member_key, self.member) {
            (Some(path), _) => Ok(MemberKey::load(path)?),
            (None, Some(member)) => data.load_key(member),
            (None, None) => unreachable!("clap requires one of the two"),
        }
    }

    /// Signs `tx` for DATA's consortium.
    fn sign(
        &self,
        data: &DataDir,
        tx: Transaction,
    ) -> Result<(MemberKey, SignedTransaction), Error> {
        let key = self.key(data)?;
        let stx = tx.sign(&data.load_genesis()?.chain_id, &key);
        Ok((key, stx))
    }
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
    let (server, ca) = (cli.server.as_deref(), cli.ca_cert.as_deref());
    let node = |params: &Path, chain: Chain| {
        Node::open(server, ca, &data, (params, chain.ledger.as_deref()))
    };
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
        Command::Invoice {
            command:
                InvoiceCommand::Register {
                    invoice,
                    signer,
                    chain,
                },
        } => {
            let inv: Invoice = files::read(&invoice)?;
            let commitment = inv.commitment(data.load_genesis()?.shape.items)?;
            let (key, stx) = signer.sign(&data, Transaction::RegisterInvoice { commitment })?;
            files::write(
                None,
                &node(&default_params, chain)?.register_invoice(stx, &key)?,
            )?;
        }
        Command::Claim { command } => match command {
            ClaimCommand::Settle {
                claim,
                signer,
                chain,
            } => {
                let claim: ClaimPackage = files::read(&claim)?;
                let (key, stx) = signer.sign(&data, Transaction::SettleClaim { claim })?;
                files::write(
                    None,
                    &node(&default_params, chain)?.settle_claim(stx, &key)?,
                )?;
            }
            ClaimCommand::Show { nullifier, chain } => {
                files::write(None, &node(&default_params, chain)?.claim(&nullifier)?)?;
            }
        },
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
            tree: Some(tree),
            params,
            out,
            chain: _,
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
        Command::Prove {
            invoice,
            key,
            policy,
            tree: None,
            params,
            out,
            chain,
        } => {
            let request = serve::actions::ProofRequest {
                invoice: files::read(&invoice)?,
                key: files::read(&key)?,
                policy: files::read(&policy)?,
            };
            let package = node(&params_dir(params), chain)?.prove(request)?;
            files::write(out.as_deref(), &package)?;
        }
        Command::Verify { claim, params } => {
            // A fresh key could verify nothing: verification never generates parameters.
            let key = match server {
                Some(server) => {
                    let pinned = if data.genesis().exists() {
                        Some(data.load_genesis()?.verifying_key_digest)
                    } else {
                        eprintln!(
                            "no genesis in {}: trusting the node's verifying key",
                            data.0.display()
                        );
                        None
                    };
                    client::Client::new(server, ca)?.verifying_key(pinned)?
                }
                None => ClaimParams::load_verifying_key(&params_dir(params))?,
            }
            .prepare();
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
        Command::Loadtest {
            clients,
            patients,
            flood,
            csv,
        } => {
            let server = server
                .ok_or_else(|| Error::Loadtest("needs --server URL: the node to drive".into()))?;
            let options = loadtest::Options {
                clients: clients.into_iter().map(usize::from).collect(),
                patients: patients.into(),
                flood: flood.map(usize::from),
                csv,
            };
            loadtest::run(&client::Client::new(server, ca)?, &data, &options)?;
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
