//! `zkclaim ceremony`: production parameters from a multi-party ceremony's key.

use crate::{
    commands::{Context, ShapeArgs},
    error::Error,
    files,
};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use zkclaim_circuits::claim::Shape;
use zkclaim_prover::{
    ceremony::mpc::{self, Contributed, MpcError, TranscriptReport},
    zkey::Zkey,
    ClaimParams,
};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Parameters (claim.pk, claim.vk, shape.json) from a snarkjs phase-2 ceremony's Groth16
    /// key, made from `zkclaim export r1cs`'s circuit of the same shape; never over existing
    /// parameters. Proofs and the verifying key are then the ceremony's.
    Import {
        /// The `.zkey` file, after the last contribution (or beacon).
        #[arg(value_parser = files::not_stdio)]
        zkey: PathBuf,
        /// Where the parameters go [default: DATA/params].
        #[arg(long)]
        params: Option<PathBuf>,
        /// The circuit's shape [default: the default shape].
        #[command(flatten)]
        shape: ShapeArgs,
    },
    /// Adds your contribution to a phase-2 key (as `snarkjs zkey contribute` does), its
    /// secret drawn from the OS and forgotten; prints the contribution hash to publish.
    /// Never over an existing file.
    Contribute {
        /// The key so far (`.zkey`).
        #[arg(value_parser = files::not_stdio)]
        zkey: PathBuf,
        /// The new key.
        #[arg(value_parser = files::not_stdio)]
        out: PathBuf,
        /// Your organisation's name, recorded in the transcript (64 characters at most).
        #[arg(long)]
        name: String,
    },
    /// Closes the ceremony with a public random beacon (as `snarkjs zkey beacon` does):
    /// the last contribution's secret derived from the beacon's value, so anyone can
    /// recompute it. Never over an existing file.
    Beacon {
        /// The key after the last member's contribution.
        #[arg(value_parser = files::not_stdio)]
        zkey: PathBuf,
        /// The final key.
        #[arg(value_parser = files::not_stdio)]
        out: PathBuf,
        /// The beacon's value, in hex (1 to 255 bytes): one announced in advance.
        #[arg(long)]
        hash: String,
        /// SHA-256 is applied 2^N times to the value (10 to 63).
        #[arg(long)]
        iterations: u32,
        /// A name for the beacon in the transcript.
        #[arg(long, default_value = "")]
        name: String,
    },
    /// Checks a ceremony's key against its initial key (as `snarkjs zkey verify` does,
    /// without the phase-1 file): every contribution's proof and the key that results.
    /// Lists the contributions with their hashes, the circuit hash and the transcript
    /// hash that the genesis pins; exit status 1 if the ceremony does not hold.
    Verify {
        /// The key after the last contribution.
        #[arg(long, value_parser = files::not_stdio)]
        zkey: PathBuf,
        /// The ceremony's initial key (`snarkjs groth16 setup`'s).
        #[arg(long, value_parser = files::not_stdio)]
        init: PathBuf,
    },
}

pub fn exec(command: Command, ctx: &Context) -> Result<(), Error> {
    match command {
        Command::Import {
            zkey,
            params,
            shape,
        } => {
            let dir = ctx.params_dir(params);
            super::setup::existing(&dir, false)?;
            let shape = shape.over(Shape::default());
            let bytes = std::fs::read(&zkey).map_err(|source| Error::Io {
                path: zkey.clone(),
                source,
            })?;
            let key = Zkey::read(&bytes).map_err(|e| Error::BadFile {
                path: zkey.clone(),
                reason: e.to_string(),
            })?;
            let (circuit_hash, contributions) =
                (hex::encode(key.circuit_hash()), key.contribution_count());
            let imported = ClaimParams::from_zkey(shape, key)?;
            imported.save(&dir)?;
            ctx.output.result(
                json!({
                    "params": dir,
                    "shape": shape,
                    "circuit_hash": circuit_hash,
                    "contributions": contributions,
                    "verifying_key_digest": hex::encode(imported.verifying_key.digest()),
                }),
                format_args!(
                    "imported {} ({contributions} contributions; items {}, depth {}) into {}",
                    zkey.display(),
                    shape.items,
                    shape.depth,
                    dir.display()
                ),
            );
            Ok(())
        }
        Command::Contribute { zkey, out, name } => contribute(ctx, &zkey, &out, &name),
        Command::Beacon {
            zkey,
            out,
            hash,
            iterations,
            name,
        } => beacon(ctx, &zkey, &out, &hash, iterations, &name),
        Command::Verify { zkey, init } => verify(ctx, &zkey, &init),
    }
}

fn contribute(ctx: &Context, zkey: &Path, out: &Path, name: &str) -> Result<(), Error> {
    let bytes = read_new(zkey, out)?;
    let contributed = mpc::contribute(&bytes, name, &mut rand::rngs::OsRng)
        .map_err(|source| ceremony_error(zkey.display(), source))?;
    written(ctx, zkey, out, contributed)
}

fn beacon(
    ctx: &Context,
    zkey: &Path,
    out: &Path,
    hash: &str,
    iterations: u32,
    name: &str,
) -> Result<(), Error> {
    let value = hex::decode(hash.strip_prefix("0x").unwrap_or(hash))
        .map_err(|e| Error::Usage(format!("--hash is not hex: {e}")))?;
    let bytes = read_new(zkey, out)?;
    let contributed = mpc::beacon(&bytes, name, &value, iterations)
        .map_err(|source| ceremony_error(zkey.display(), source))?;
    written(ctx, zkey, out, contributed)
}

fn verify(ctx: &Context, zkey: &Path, init: &Path) -> Result<(), Error> {
    let [bytes, initial] = [zkey, init].map(|path| {
        std::fs::read(path).map_err(|source| Error::Io {
            path: path.into(),
            source,
        })
    });
    let report = mpc::verify_from_init(&initial?, &bytes?).map_err(|source| {
        ceremony_error(
            format_args!("{} (initial key {})", zkey.display(), init.display()),
            source,
        )
    })?;
    ctx.output.result(
        report_json(&report),
        format_args!("{}\n{} holds", report_text(&report), zkey.display()),
    );
    Ok(())
}

/// The key `zkey`, once sure that `out` does not exist.
fn read_new(zkey: &Path, out: &Path) -> Result<Vec<u8>, Error> {
    if out.exists() {
        return Err(Error::Io {
            path: out.into(),
            source: std::io::ErrorKind::AlreadyExists.into(),
        });
    }
    std::fs::read(zkey).map_err(|source| Error::Io {
        path: zkey.into(),
        source,
    })
}

fn ceremony_error(context: impl std::fmt::Display, source: MpcError) -> Error {
    Error::Ceremony {
        context: context.to_string(),
        source,
    }
}

/// Writes the new key to `out` (a new file) and prints its contribution hash.
fn written(ctx: &Context, zkey: &Path, out: &Path, contributed: Contributed) -> Result<(), Error> {
    use std::io::Write;
    let io = |source| Error::Io {
        path: out.into(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(out)
        .map_err(io)?;
    file.write_all(&contributed.zkey).map_err(io)?;
    ctx.output.result(
        json!({
            "zkey": out,
            "contribution_hash": hex::encode(contributed.hash),
        }),
        format_args!(
            "{} → {}\ncontribution hash (publish it; snarkjs prints it so):\n{}",
            zkey.display(),
            out.display(),
            words(&contributed.hash)
        ),
    );
    Ok(())
}

/// A 64-byte hash as snarkjs prints one: 4 lines of 4 big-endian 32-bit words in hex.
fn words(hash: &[u8; 64]) -> String {
    hash.chunks(16)
        .map(|line| {
            let line: Vec<String> = line.chunks(4).map(hex::encode).collect();
            format!("\t\t{}", line.join(" "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn report_json(report: &TranscriptReport) -> Value {
    let contributions: Vec<Value> = report
        .contributions
        .iter()
        .map(|c| {
            json!({
                "index": c.index,
                "name": c.name,
                "type": if c.beacon.is_some() { "beacon" } else { "contribution" },
                "beacon": c.beacon.as_ref().map(|b| json!({
                    "hash": hex::encode(&b.hash),
                    "iterations_exp": b.iterations_exp,
                })),
                "hash": hex::encode(c.hash),
            })
        })
        .collect();
    json!({
        "circuit_hash": hex::encode(report.circuit_hash),
        "transcript_hash": hex::encode(report.transcript_hash),
        "contributions": contributions,
    })
}

fn report_text(report: &TranscriptReport) -> String {
    let mut text = format!("circuit hash:\n{}\n", words(&report.circuit_hash));
    for c in &report.contributions {
        let name = c.name.as_deref().unwrap_or("");
        text += &format!("contribution #{} {name}:\n{}\n", c.index, words(&c.hash));
        if let Some(b) = &c.beacon {
            text += &format!(
                "\tbeacon {} iterated 2^{}\n",
                hex::encode(&b.hash),
                b.iterations_exp
            );
        }
    }
    text + &format!(
        "transcript hash (the genesis pins it):\n{}",
        words(&report.transcript_hash)
    )
}
