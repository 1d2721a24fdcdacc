//! `zkclaim ceremony`: a multi-party phase 2 in snarkjs's formats, from its initial key to
//! production parameters from its last; one ceremony a circuit (`--circuit`).

use crate::{
    commands::{CircuitArg, Context, ShapeArgs},
    error::Error,
    files,
};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use zkclaim_circuits::claim::Shape;
use zkclaim_circuits::Circuit;
use zkclaim_prover::{
    ceremony::{
        init::{initial_zkey, InitialKey},
        mpc::{self, Contributed, MpcError, TranscriptReport},
    },
    ptau::Ptau,
    zkey::Zkey,
    ClaimMatrices, ClaimParams, ProveError,
};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Parameters (claim.pk, claim.vk, shape.json) from a snarkjs phase-2 ceremony's Groth16
    /// key, made from `zkclaim export r1cs`'s circuit of the same circuit and shape, into
    /// the parameters folder (the continuation circuit's into its continuation/ subfolder);
    /// never over existing parameters. Proofs and the verifying key are then the ceremony's.
    Import {
        /// The `.zkey` file, after the last contribution (or beacon).
        #[arg(value_parser = files::not_stdio)]
        zkey: PathBuf,
        /// Where the parameters go [default: DATA/params].
        #[arg(long)]
        params: Option<PathBuf>,
        #[command(flatten)]
        circuit: CircuitArg,
        /// The circuit's shape [default: the default shape].
        #[command(flatten)]
        shape: ShapeArgs,
    },
    /// The ceremony's initial key (contribution 0) for a claim circuit, from a phase-1
    /// file: byte for byte the `.zkey` of `snarkjs groth16 setup` on `zkclaim export r1cs`'s
    /// circuit (of the same --circuit and shape) and that file, so that snarkjs and zkclaim contribute to and verify the same
    /// transcript. Never over an existing file. Prints the circuit hash.
    New {
        /// The phase-1 file (`.ptau`), prepared for phase 2 (`snarkjs powersoftau prepare
        /// phase2`), of a power at least the circuit's domain's.
        #[arg(long, value_parser = files::not_stdio)]
        ptau: PathBuf,
        /// The initial key to write, e.g. claim_0000.zkey.
        #[arg(long, value_parser = files::not_stdio)]
        out: PathBuf,
        #[command(flatten)]
        circuit: CircuitArg,
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
    /// Checks a ceremony's whole transcript, as `snarkjs zkey verify` does: with --ptau,
    /// that the key is of the claim circuit (--circuit) of the shape and of that phase-1 file (its
    /// initial key made again); then every contribution's proof of knowledge and hash
    /// chain, beacons recomputed, and the key that results. Lists the contributions with
    /// their hashes, the circuit hash and the transcript hash that the genesis pins; exit
    /// status 1 if the ceremony does not hold.
    Verify {
        /// The key after the last contribution.
        #[arg(long, value_parser = files::not_stdio)]
        zkey: PathBuf,
        /// The phase-1 file the ceremony started from (prepared for phase 2).
        #[arg(long, value_parser = files::not_stdio, required_unless_present = "init")]
        ptau: Option<PathBuf>,
        /// Instead of --ptau: the ceremony's initial key, as `ceremony new` or `snarkjs
        /// groth16 setup` made it, trusted to be of this circuit and phase 1.
        #[arg(long, value_parser = files::not_stdio, conflicts_with = "ptau")]
        init: Option<PathBuf>,
        /// With --ptau: the circuit (with --init, the initial key says which).
        #[command(flatten)]
        circuit: CircuitArg,
        /// The circuit's shape, with --ptau [default: the default shape].
        #[command(flatten)]
        shape: ShapeArgs,
    },
}

pub fn exec(command: Command, ctx: &Context) -> Result<(), Error> {
    match command {
        Command::Import {
            zkey,
            params,
            circuit,
            shape,
        } => import(ctx, zkey, params, circuit.circuit, shape),
        Command::New {
            ptau,
            out,
            circuit,
            shape,
        } => new(ctx, ptau, out, circuit.circuit, shape),
        Command::Contribute { zkey, out, name } => contribute(ctx, &zkey, &out, &name),
        Command::Beacon {
            zkey,
            out,
            hash,
            iterations,
            name,
        } => beacon(ctx, &zkey, &out, &hash, iterations, &name),
        Command::Verify {
            zkey,
            init,
            ptau,
            circuit,
            shape,
        } => verify(
            ctx,
            &zkey,
            init.as_deref(),
            ptau.as_deref(),
            circuit.circuit,
            shape,
        ),
    }
}

fn import(
    ctx: &Context,
    zkey: PathBuf,
    params: Option<PathBuf>,
    circuit: Circuit,
    shape: ShapeArgs,
) -> Result<(), Error> {
    let dir = ctx.params_dir(params);
    super::setup::existing(&dir, &[circuit], false)?;
    let shape = shape.over(Shape::default());
    let (imported, circuit_hash, contributions) = key_params(&zkey, &read(&zkey)?, circuit, shape)?;
    imported.save(&dir)?;
    let folder = ClaimParams::folder(&dir, circuit);
    ctx.output.result(
        json!({
            "params": folder,
            "circuit": circuit,
            "shape": shape,
            "circuit_hash": hex::encode(circuit_hash),
            "contributions": contributions,
            "verifying_key_digest": hex::encode(imported.verifying_key.digest()),
        }),
        format_args!(
            "imported {} ({contributions} contributions; the {circuit} circuit of items {}, \
             depth {}) into {}",
            zkey.display(),
            shape.items,
            shape.depth,
            folder.display()
        ),
    );
    Ok(())
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

fn verify(
    ctx: &Context,
    zkey: &Path,
    init: Option<&Path>,
    ptau: Option<&Path>,
    circuit: Circuit,
    shape: ShapeArgs,
) -> Result<(), Error> {
    let (report, _) = match (init, ptau) {
        (Some(init), _) => {
            let initial = read(init)?;
            let bytes = read(zkey)?;
            let report = mpc::verify_from_init(&initial, &bytes).map_err(|source| {
                ceremony_error(
                    format_args!("{} (initial key {})", zkey.display(), init.display()),
                    source,
                )
            })?;
            (report, bytes)
        }
        (None, Some(ptau)) => verified(zkey, ptau, circuit, shape.over(Shape::default()))?,
        (None, None) => return Err(Error::Usage("give --ptau (or --init)".into())),
    };
    ctx.output.result(
        report_json(&report),
        format_args!("{}\n{} holds", report_text(&report), zkey.display()),
    );
    Ok(())
}

/// The ceremony whose last key is `zkey`, verified from its beginning: `circuit` of `shape`
/// and the phase-1 file `ptau` make its initial key, which the transcript must follow. Its
/// report and the key's bytes.
fn verified(
    zkey: &Path,
    ptau: &Path,
    circuit: Circuit,
    shape: Shape,
) -> Result<(TranscriptReport, Vec<u8>), Error> {
    let (initial, _) = initial_key(ptau, circuit, shape)?;
    let bytes = read(zkey)?;
    let report = mpc::verify_from_init(&initial.bytes, &bytes).map_err(|source| {
        ceremony_error(
            format_args!(
                "{} (the {circuit} claim circuit of items {}, depth {}, from {})",
                zkey.display(),
                shape.items,
                shape.depth,
                ptau.display()
            ),
            source,
        )
    })?;
    Ok((report, bytes))
}

/// A consortium's parameters for `circuit` from its ceremony: the transcript ending in
/// `zkey` verified from `circuit` of `shape` and the phase-1 file `ptau` ([`verified`]),
/// then the key imported (checked as `ceremony import` checks it). What the genesis records
/// of the ceremony, and the parameters whose digests it pins.
pub fn parameters(
    zkey: &Path,
    ptau: &Path,
    circuit: Circuit,
    shape: Shape,
) -> Result<(zkclaim_ledger::Ceremony, ClaimParams), Error> {
    let (report, bytes) = verified(zkey, ptau, circuit, shape)?;
    let (params, ..) = key_params(zkey, &bytes, circuit, shape)?;
    Ok((record(&report), params))
}

/// The parameters of the key `bytes` (the file `path`) for `circuit` of `shape`, checked as
/// [`ClaimParams::from_zkey`] checks them; its circuit hash and contribution count.
fn key_params(
    path: &Path,
    bytes: &[u8],
    circuit: Circuit,
    shape: Shape,
) -> Result<(ClaimParams, [u8; 64], u32), Error> {
    let key = Zkey::read(bytes).map_err(|e| Error::BadFile {
        path: path.into(),
        reason: e.to_string(),
    })?;
    let mut circuit_hash = [0; 64];
    circuit_hash.copy_from_slice(key.circuit_hash());
    let contributions = key.contribution_count();
    Ok((
        ClaimParams::from_zkey(circuit, shape, key)?,
        circuit_hash,
        contributions,
    ))
}

/// What the genesis records of a verified transcript.
fn record(report: &TranscriptReport) -> zkclaim_ledger::Ceremony {
    zkclaim_ledger::Ceremony {
        circuit_hash: report.circuit_hash,
        transcript_hash: report.transcript_hash,
        contributions: report
            .contributions
            .iter()
            .map(|c| zkclaim_ledger::Contribution {
                name: c.name.clone().unwrap_or_default(),
                hash: c.hash,
                beacon: c.beacon.as_ref().map(|b| zkclaim_ledger::Beacon {
                    hash: b.hash.clone(),
                    iterations_exp: b.iterations_exp,
                }),
            })
            .collect(),
    }
}

/// The initial key of `circuit` of `shape` from the phase-1 file `ptau`, and the circuit's
/// constraint count.
fn initial_key(ptau: &Path, circuit: Circuit, shape: Shape) -> Result<(InitialKey, usize), Error> {
    let matrices = ClaimMatrices::build(circuit, shape).map_err(ProveError::from)?;
    let bytes = read(ptau)?;
    let bad_ptau = |reason: String| Error::BadFile {
        path: ptau.into(),
        reason,
    };
    let phase1 = Ptau::read(&bytes).map_err(|e| bad_ptau(e.to_string()))?;
    let key = initial_zkey(&matrices, &phase1).map_err(|e| bad_ptau(e.to_string()))?;
    Ok((key, matrices.num_constraints()))
}

fn read(path: &Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|source| Error::Io {
        path: path.into(),
        source,
    })
}

/// The key `zkey`, once sure that `out` does not exist.
fn read_new(zkey: &Path, out: &Path) -> Result<Vec<u8>, Error> {
    fresh(out)?;
    read(zkey)
}

/// Refuses an `out` that exists before any work; the file is then created only if it
/// still does not exist ([`files::write_new_bytes`]).
fn fresh(out: &Path) -> Result<(), Error> {
    match out.exists() {
        true => Err(Error::BadFile {
            path: out.into(),
            reason: "already exists: a ceremony's key is never replaced; choose another name"
                .into(),
        }),
        false => Ok(()),
    }
}

fn ceremony_error(context: impl std::fmt::Display, source: MpcError) -> Error {
    Error::Ceremony {
        context: context.to_string(),
        source,
    }
}

/// Writes the new key to `out` (a new file) and prints its contribution hash.
fn written(ctx: &Context, zkey: &Path, out: &Path, contributed: Contributed) -> Result<(), Error> {
    files::write_new_bytes(out, &contributed.zkey)?;
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

fn new(
    ctx: &Context,
    ptau: PathBuf,
    out: PathBuf,
    circuit: Circuit,
    shape: ShapeArgs,
) -> Result<(), Error> {
    fresh(&out)?;
    let shape = shape.over(Shape::default());
    let (key, constraints) = initial_key(&ptau, circuit, shape)?;
    files::write_new_bytes(&out, &key.bytes)?;
    let circuit_hash = hex::encode(key.circuit_hash);
    ctx.output.result(
        json!({
            "out": out,
            "circuit": circuit,
            "shape": shape,
            "circuit_hash": circuit_hash,
            "domain_size": key.domain_size,
            "constraints": constraints,
        }),
        format_args!(
            "wrote {} (the {circuit} circuit of items {}, depth {}: {} constraints, a domain of \
             2^{}), circuit hash {}",
            out.display(),
            shape.items,
            shape.depth,
            constraints,
            key.domain_size.trailing_zeros(),
            circuit_hash
        ),
    );
    Ok(())
}
