//! `zkclaim`: the command line for patients, hospitals, insurers and auditors.
//!
//! This file parses and dispatches; each command group lives in `commands/<group>.rs`.

mod bench;
mod client;
mod commands;
mod consortium;
mod demo;
mod error;
mod files;
mod loadtest;
mod node;
mod serve;

use clap::{Parser, Subcommand};
use commands::Context;
use consortium::DataDir;
use error::Error;
use std::path::PathBuf;
use std::process::ExitCode;

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
    /// Generate single-party development parameters (whoever runs this can forge proofs);
    /// never over existing ones without --force.
    Setup(commands::setup::Args),
    /// Patient keys.
    Patient {
        #[command(subcommand)]
        command: commands::patient::Command,
    },
    /// Hospital invoices.
    Invoice {
        #[command(subcommand)]
        command: commands::invoice::Command,
    },
    /// Stand-alone invoice trees (before a ledger is involved).
    Tree {
        #[command(subcommand)]
        command: commands::tree::Command,
    },
    /// Prove a claim: the invoice is in the tree and the payout follows the policy.
    Prove(commands::prove::Args),
    /// Verify a claim package: exit 0 when valid, 1 with the reason when not. The verifying
    /// key must be the consortium's (DATA's genesis, or --vk-digest); with `--server` it
    /// comes from the node, and one of the two is required.
    Verify(commands::verify::Args),
    /// Write a claim and the verifying key in another verifier's formats.
    Export {
        #[command(subcommand)]
        command: commands::export::Command,
    },
    /// The researchers' report: setup, prove and verify across circuit shapes and threads.
    Bench(commands::bench::Args),
    /// Insurers' claims on the ledger.
    Claim {
        #[command(subcommand)]
        command: commands::claim::Command,
    },
    /// An organization's own member key.
    Member {
        #[command(subcommand)]
        command: commands::member::Command,
    },
    /// The consortium's genesis.
    Consortium {
        #[command(subcommand)]
        command: commands::consortium::Command,
    },
    /// Replay the chain in DATA from genesis and re-verify everything; exit 1 naming the
    /// first bad block.
    Audit(commands::audit::Args),
    /// Serve the consortium ledger in DATA over HTTP (see /openapi.json) until SIGTERM/SIGINT;
    /// verify-only when DATA/params holds no proving key.
    Serve(commands::serve::Args),
    /// Drive concurrent patients through registration, proof and settlement against the node
    /// at --server (on this machine), with member keys from DATA; report proof latency and
    /// settlement throughput per client count as a Markdown table.
    Loadtest(commands::loadtest::Args),
    /// Run the whole story end to end on an embedded ledger in DATA/demo and print what each
    /// party saw.
    Demo(commands::demo::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let ctx = Context {
        data: DataDir(cli.data),
        server: cli.server,
        ca_cert: cli.ca_cert,
    };
    match dispatch(cli.command, &ctx) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("zkclaim: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn dispatch(command: Command, ctx: &Context) -> Result<(), Error> {
    use commands::*;
    match command {
        Command::Setup(args) => setup::exec(args, ctx),
        Command::Patient { command } => patient::exec(command),
        Command::Invoice { command } => invoice::exec(command, ctx),
        Command::Tree { command } => tree::exec(command),
        Command::Prove(args) => prove::exec(args, ctx),
        Command::Verify(args) => verify::exec(args, ctx),
        Command::Export { command } => export::exec(command, ctx),
        Command::Bench(args) => bench::exec(args),
        Command::Claim { command } => claim::exec(command, ctx),
        Command::Member { command } => member::exec(command, ctx),
        Command::Consortium { command } => consortium::exec(command, ctx),
        Command::Audit(args) => audit::exec(args, ctx),
        Command::Serve(args) => serve::exec(args, ctx),
        Command::Loadtest(args) => loadtest::exec(args, ctx),
        Command::Demo(args) => demo::exec(args, ctx),
    }
}
