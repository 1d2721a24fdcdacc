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
mod output;
mod serve;

use clap::{
    error::ErrorKind, parser::ValueSource, ArgMatches, CommandFactory, FromArgMatches, Parser,
    Subcommand,
};
use commands::Context;
use consortium::DataDir;
use error::Error;
use output::Output;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "zkclaim",
    version,
    about = "Private, verifiable health-insurance claims",
    after_help = error::EXIT_CODES
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
    /// A node (`http://HOST:PORT` or `https://…`): invoice register, prove, claim, insurer
    /// and verify go to it instead of the embedded ledger, registry and parameters in DATA.
    #[arg(long, global = true, env = "ZKCLAIM_SERVER")]
    server: Option<String>,
    /// PEM certificate(s) an https node's certificate must chain to, instead of the public
    /// web roots (for a node with a self-signed or private-CA certificate).
    #[arg(long, global = true, env = "ZKCLAIM_CA_CERT")]
    ca_cert: Option<PathBuf>,
    /// Print the result as one JSON object on stdout, and an error as
    /// {"error": {"code", "message", "exit_code"}} on stderr.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate single-party development parameters (whoever runs this can forge proofs);
    /// never over existing ones without --force.
    Setup(commands::setup::Args),
    /// Production parameters from a multi-party ceremony.
    Ceremony {
        #[command(subcommand)]
        command: commands::ceremony::Command,
    },
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
    /// An insurer's policyholders (enrolments) and claims report.
    Insurer {
        #[command(subcommand)]
        command: commands::insurer::Command,
    },
    /// Insurers' claims on the ledger; a patient's claim submitted to its insurer.
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

/// The global flags, by clap id.
const GLOBALS: [&str; 4] = ["data", "server", "ca_cert", "json"];

impl Command {
    /// The global flags this command reads: given on the command line to a command that
    /// does not, a flag is a usage error rather than silently ignored. (Set in the
    /// environment, for a whole shell session, it is not.)
    fn globals(&self) -> &'static [&'static str] {
        // Prints a result; also reads DATA; also acts through a node.
        const PRINTS: &[&str] = &["json"];
        const LOCAL: &[&str] = &["data", "json"];
        const CLIENT: &[&str] = &["data", "server", "ca_cert", "json"];
        match self {
            Command::Patient { .. }
            | Command::Tree { .. }
            | Command::Insurer {
                command: commands::insurer::Command::PolicyHash { .. },
            }
            | Command::Invoice {
                command: commands::invoice::Command::Commit { .. },
            } => PRINTS,
            Command::Setup(_)
            | Command::Ceremony { .. }
            | Command::Export { .. }
            | Command::Consortium { .. }
            | Command::Member { .. }
            | Command::Audit(_) => LOCAL,
            Command::Invoice { .. }
            | Command::Prove(_)
            | Command::Verify(_)
            | Command::Claim { .. }
            | Command::Insurer { .. } => CLIENT,
            Command::Serve(_) | Command::Demo(_) => &["data"],
            Command::Loadtest(_) => CLIENT,
            Command::Bench(_) => &[],
        }
    }
}

/// The command line parsed, or the usage error that ends the process (exit 2).
fn parse() -> Result<Cli, ExitCode> {
    // Before parsing succeeds, `--json` anywhere asks for a JSON error.
    let json = std::env::args_os().any(|arg| arg == "--json");
    let usage = |e: clap::Error| {
        if !json || !e.use_stderr() {
            e.exit()
        }
        let message = if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
            "a subcommand is required: see --help".to_owned()
        } else {
            // clap's message, without the usage and tips that follow a blank line.
            let text = e.render().to_string();
            let first = text.split("\n\n").next().unwrap_or_default();
            let first = first.strip_prefix("error: ").unwrap_or(first);
            first.split_whitespace().collect::<Vec<_>>().join(" ")
        };
        Output { json }.error("usage", &message, 2);
        ExitCode::from(2)
    };
    let matches = Cli::command().try_get_matches().map_err(usage)?;
    let cli = Cli::from_arg_matches(&matches).map_err(usage)?;
    let globals = cli.command.globals();
    if let Some(id) = GLOBALS.into_iter().find(|id| {
        !globals.contains(id) && matches.value_source(id) == Some(ValueSource::CommandLine)
    }) {
        let message = format!(
            "--{} is not used by `{}`",
            id.replace('_', "-"),
            command_path(&matches)
        );
        return Err(usage(
            Cli::command().error(ErrorKind::ArgumentConflict, message),
        ));
    }
    Ok(cli)
}

/// `zkclaim GROUP COMMAND`, as given.
fn command_path(matches: &ArgMatches) -> String {
    let mut path = vec!["zkclaim"];
    let mut matches = matches;
    while let Some((name, sub)) = matches.subcommand() {
        path.push(name);
        matches = sub;
    }
    path.join(" ")
}

fn main() -> ExitCode {
    let cli = match parse() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    let output = Output { json: cli.json };
    let ctx = Context {
        data: DataDir(cli.data),
        server: cli.server,
        ca_cert: cli.ca_cert,
        output,
    };
    match dispatch(cli.command, &ctx) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => ExitCode::from(output.fail(&e)),
    }
}

fn dispatch(command: Command, ctx: &Context) -> Result<(), Error> {
    use commands::*;
    match command {
        Command::Setup(args) => setup::exec(args, ctx),
        Command::Ceremony { command } => ceremony::exec(command, ctx),
        Command::Patient { command } => patient::exec(command, ctx),
        Command::Invoice { command } => invoice::exec(command, ctx),
        Command::Tree { command } => tree::exec(command, ctx),
        Command::Prove(args) => prove::exec(args, ctx),
        Command::Verify(args) => verify::exec(args, ctx),
        Command::Export { command } => export::exec(command, ctx),
        Command::Bench(args) => bench::exec(args),
        Command::Claim { command } => claim::exec(command, ctx),
        Command::Insurer { command } => insurer::exec(command, ctx),
        Command::Member { command } => member::exec(command, ctx),
        Command::Consortium { command } => consortium::exec(command, ctx),
        Command::Audit(args) => audit::exec(args, ctx),
        Command::Serve(args) => serve::exec(args, ctx),
        Command::Loadtest(args) => loadtest::exec(args, ctx),
        Command::Demo(args) => demo::exec(args, ctx),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `PATH ARG` of every argument under `command` without help text.
    fn without_help(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
        for arg in command.get_arguments() {
            if arg.get_help().is_none() && arg.get_long_help().is_none() {
                missing.push(format!("{path} {}", arg.get_id()));
            }
        }
        for sub in command.get_subcommands() {
            without_help(sub, &format!("{path} {}", sub.get_name()), missing);
        }
    }

    #[test]
    fn every_argument_has_help() {
        let mut missing = vec![];
        without_help(&Cli::command(), "zkclaim", &mut missing);
        assert!(missing.is_empty(), "arguments without help: {missing:?}");
    }

    #[test]
    fn the_globals_table_names_global_flags() {
        let cli = Cli::command();
        for id in GLOBALS {
            let arg = cli.get_arguments().find(|a| a.get_id() == id);
            assert!(
                arg.is_some_and(|a| a.is_global_set()),
                "{id} is not a global flag"
            );
        }
    }
}
