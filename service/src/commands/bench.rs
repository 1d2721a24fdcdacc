//! `zkclaim bench`: the researchers' report, of both circuits; with `--peers`, zkclaim
//! against snarkjs and rapidsnark on the same statement, key and witness; with `--browser`,
//! proving in Chromium against native.

use crate::{bench, commands::ShapeArgs, error::Error};
use std::path::PathBuf;
use zkclaim_circuits::claim::Shape;

#[derive(clap::Args)]
pub struct Args {
    /// A small matrix: depths 16 and 32, 4, 8 and 16 items, 3 proofs each, for both circuits
    /// (the full one: four depths, 5 proofs). With --peers: 3 runs after 1 warm-up (else 9
    /// after 2).
    #[arg(long)]
    quick: bool,
    /// Where the report goes: bench.csv and bench.svg; with --peers peers.md, peers.csv and
    /// peers.svg.
    #[arg(long, default_value = "zkclaim-data/bench", value_parser = crate::files::not_stdio)]
    out: PathBuf,
    /// zkclaim against snarkjs (installed from npm into --work; needs Node.js) and, when a
    /// `rapidsnark` binary is on PATH, rapidsnark: the primary circuit's prove, cold (whole
    /// processes, alternated) and warm (in a running process), same key and witness.
    #[arg(long)]
    peers: bool,
    /// Proving in Chromium with the SDK's WebAssembly build (`sdk/js/build.sh`; Debian's
    /// `chromium`, puppeteer-core from npm into --work) against the native prover with 1 and
    /// 2 threads, alternated, same parameters and witness; and what a browser downloads.
    /// Writes browser.md and browser.csv.
    #[arg(long, conflicts_with = "peers")]
    browser: bool,
    /// With --browser: the checkout or release whose `sdk/js` and `web/` are measured.
    #[arg(long, default_value = ".", requires = "browser")]
    web_root: PathBuf,
    /// With --peers: the folder for snarkjs, the phase-1 file (made once: minutes) and each
    /// run's keys, parameters and proofs; with --browser, for puppeteer-core, the parameters
    /// and the witness.
    #[arg(long, default_value = "zkclaim-data/bench/work", value_parser = crate::files::not_stdio)]
    work: PathBuf,
    /// With --peers: a phase-1 file (prepared for phase 2) to use instead of making one.
    #[arg(long, requires = "peers", value_parser = crate::files::not_stdio)]
    ptau: Option<PathBuf>,
    /// With --peers: the circuit's shape [default: the default shape].
    #[command(flatten)]
    shape: ShapeArgs,
}

pub fn exec(args: Args) -> Result<(), Error> {
    if args.peers {
        return bench::peers::run(&bench::peers::Options {
            quick: args.quick,
            out: args.out,
            work: args.work,
            shape: args.shape.over(Shape::default()),
            ptau: args.ptau,
        });
    }
    if args.browser {
        return bench::browser::run(&bench::browser::Options {
            quick: args.quick,
            out: args.out,
            work: args.work,
            web_root: args.web_root,
        });
    }
    if args.shape.given() {
        return Err(Error::Usage(
            "--items and --depth choose the shape of --peers; the matrix covers its own".into(),
        ));
    }
    bench::run(&bench::Options {
        quick: args.quick,
        out: args.out,
    })
}
