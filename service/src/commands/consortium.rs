//! `zkclaim consortium`: the consortium's genesis.

use crate::{
    commands::{setup::load_or_setup, Context, ShapeArgs},
    consortium::{self, parse_digest, DataDir},
    error::Error,
    files,
};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use zkclaim_circuits::claim::Shape;
use zkclaim_circuits::Circuit;
use zkclaim_ledger::{
    Ceremony, CircuitPin, Genesis, Member, DEFAULT_ROOT_MAX_AGE_MS, DEFAULT_ROOT_WINDOW,
};
use zkclaim_prover::ClaimParams;

#[derive(clap::Subcommand)]
pub enum Command {
    /// DEVELOPMENT ONLY: write a genesis (two hospitals, two insurers, a regulator) and
    /// every member's secret key into this one DATA/consortium (parameters generated on
    /// first use). A real consortium uses `member keygen` at each organization and
    /// `consortium genesis`.
    Init {
        /// The parameters the genesis pins [default: DATA/params]. With --ceremony, the
        /// ceremony's key is imported there (or must be what is there); with
        /// --continuation-ceremony, that one's into its continuation/ folder.
        #[arg(long)]
        params: Option<PathBuf>,
        #[command(flatten)]
        ceremony: CeremonyArgs,
        /// With --ceremony: the circuit's shape [default: the default shape].
        #[command(flatten)]
        shape: ShapeArgs,
    },
    /// Assemble a consortium's genesis from its members' public parts (as `member keygen`
    /// prints them) and the verifying key it pins. No secret is read.
    // Boxed: its digests are most of the command line's size.
    Genesis(Box<GenesisArgs>),
}

/// A phase-2 ceremony's output, verified from the circuit and phase 1 before the genesis
/// records it and pins its keys.
#[derive(clap::Args)]
pub struct CeremonyArgs {
    /// The ceremony's final key (`.zkey`, after the beacon): its whole transcript is
    /// verified (as `ceremony verify --ptau` does), then the genesis pins its verifying and
    /// proving keys and records the transcript hash and every contribution.
    #[arg(long, requires = "ptau", value_parser = files::not_stdio)]
    ceremony: Option<PathBuf>,
    /// The phase-1 file the ceremony started from.
    #[arg(long, requires = "ceremony", value_parser = files::not_stdio)]
    ptau: Option<PathBuf>,
    /// The continuation circuit's ceremony's final key (statement v2), verified likewise
    /// from the continuation circuit: the genesis pins its keys and records its transcript,
    /// so that the consortium takes continuation claims.
    #[arg(long, requires = "ceremony", value_parser = files::not_stdio)]
    continuation_ceremony: Option<PathBuf>,
    /// The phase-1 file the continuation ceremony started from [default: --ptau] (the
    /// continuation circuit is about twice the primary's size: a phase 1 that fits it fits
    /// both).
    #[arg(long, requires = "continuation_ceremony", value_parser = files::not_stdio)]
    continuation_ptau: Option<PathBuf>,
}

/// What a genesis records of a verified ceremony, and the parameters whose digests it pins.
type FromCeremony = (Ceremony, ClaimParams);

#[derive(clap::Args)]
#[command(group = clap::ArgGroup::new("shape_source").args(["vk_digest", "ceremony"]))]
pub struct GenesisArgs {
    /// The chain's name; every transaction signs it.
    #[arg(long)]
    chain_id: String,
    /// A JSON file with one member's public part, or a list of them; repeat the flag for
    /// each file.
    #[arg(long = "members", required = true)]
    members: Vec<PathBuf>,
    /// The parameters whose verifying key the genesis pins (claim.vk and shape.json
    /// suffice; with claim.pk beside them, its SHA-256 is pinned too) [default: DATA/params].
    #[arg(long, conflicts_with_all = ["vk_digest", "ceremony"])]
    params: Option<PathBuf>,
    #[command(flatten)]
    ceremony: CeremonyArgs,
    /// The verifying key's digest (64 hex digits), instead of reading claim.vk.
    #[arg(long, value_parser = parse_digest, conflicts_with = "ceremony")]
    vk_digest: Option<[u8; 32]>,
    /// The proving key file's SHA-256 (64 hex digits) to pin, where --params has no claim.pk
    /// (or with --vk-digest): nodes and patients then prove only with that key.
    #[arg(long, value_parser = parse_digest, conflicts_with = "ceremony")]
    pk_digest: Option<[u8; 32]>,
    /// With --vk-digest: the continuation circuit's verifying-key digest (64 hex digits) to
    /// pin (statement v2), so that the consortium takes continuation claims. (With
    /// --params, the folder's continuation/claim.vk is pinned when it is there.)
    #[arg(long, value_parser = parse_digest, requires = "vk_digest")]
    continuation_vk_digest: Option<[u8; 32]>,
    /// With --continuation-vk-digest: the continuation proving key file's SHA-256 to pin.
    #[arg(long, value_parser = parse_digest, requires = "continuation_vk_digest")]
    continuation_pk_digest: Option<[u8; 32]>,
    /// With --vk-digest or --ceremony: the circuit's invoice items [default: 8].
    #[arg(long, requires = "shape_source")]
    items: Option<usize>,
    /// With --vk-digest or --ceremony: the invoice tree's depth [default: 32].
    #[arg(long, requires = "shape_source")]
    depth: Option<usize>,
    /// K: how many recent invoice roots the ledger keeps (memory only: roots are accepted
    /// by age); at least hospitals x the hospital root quota + 1.
    #[arg(long, default_value_t = DEFAULT_ROOT_WINDOW)]
    root_window: u32,
    /// How long, in ms of block time, a claim's root stays accepted after a later root
    /// replaced it; a voided invoice is unclaimable at most this long after its void.
    #[arg(long, default_value_t = DEFAULT_ROOT_MAX_AGE_MS)]
    root_max_age_ms: u64,
    /// Blocks changing the invoice tree one hospital may have within root_max_age_ms
    /// [default: (root_window - 1) / hospitals].
    #[arg(long)]
    hospital_root_quota: Option<u32>,
    /// Where the genesis goes; an existing file is never replaced.
    #[arg(long, value_parser = files::not_stdio)]
    out: PathBuf,
}

pub fn exec(command: Command, ctx: &Context) -> Result<(), Error> {
    match command {
        Command::Init {
            params,
            ceremony,
            shape,
        } => {
            if shape.given() && ceremony.ceremony.is_none() {
                return Err(Error::Usage(
                    "--items and --depth go with --ceremony: development parameters have the \
                     default shape"
                        .into(),
                ));
            }
            let dir = ctx.params_dir(params);
            // A ceremony's genesis pins no development continuation parameters: only the
            // development path pins them, beside the primary circuit's; with ceremonies, the
            // continuation circuit is pinned when its own ceremony is given.
            let (params, continuation, ceremony) =
                match ceremony.verified(shape.over(Shape::default()))? {
                    // Both transcripts are verified before either key is imported.
                    Some(((record, imported), continuation)) => (
                        ceremony_params(&ctx.data, &dir, Circuit::Primary, imported)?,
                        match continuation {
                            Some((record, imported)) => Some(consortium::circuit_pin(
                                &ceremony_params(&ctx.data, &dir, Circuit::Continuation, imported)?,
                                Some(record),
                            )),
                            None => None,
                        },
                        Some(record),
                    ),
                    None => (
                        load_or_setup(&ctx.data, &dir)?,
                        continuation_params(&dir)?.map(|c| consortium::circuit_pin(&c, None)),
                        None,
                    ),
                };
            let genesis = ctx.data.init(&params, continuation, ceremony)?;
            ctx.output.result(
                json!({
                    "chain_id": genesis.chain_id,
                    "members": genesis.members.len(),
                    "data": ctx.data.0,
                }),
                format_args!(
                    "development consortium {} with {} members written to {}",
                    genesis.chain_id,
                    genesis.members.len(),
                    ctx.data.0.display()
                ),
            );
            eprintln!(
                "DEVELOPMENT ONLY: every member's secret key is in {}. A real consortium's \
                 members each run `zkclaim member keygen`, and `zkclaim consortium genesis` \
                 assembles the genesis from their public keys (docs/deployment.md).",
                ctx.data.0.join("consortium/keys").display()
            );
            Ok(())
        }
        Command::Genesis(args) => genesis(*args, ctx),
    }
}

impl CeremonyArgs {
    /// With --ceremony: what the genesis records of it and its parameters (for the primary
    /// claim circuit of `shape`), and of the continuation circuit's with
    /// --continuation-ceremony, once both transcripts are verified.
    fn verified(
        &self,
        shape: Shape,
    ) -> Result<Option<(FromCeremony, Option<FromCeremony>)>, Error> {
        let (Some(zkey), Some(ptau)) = (&self.ceremony, &self.ptau) else {
            return Ok(None);
        };
        let primary = super::ceremony::parameters(zkey, ptau, Circuit::Primary, shape)?;
        let continuation = match &self.continuation_ceremony {
            Some(zkey) => {
                let ptau = self.continuation_ptau.as_deref().unwrap_or(ptau);
                Some(super::ceremony::parameters(
                    zkey,
                    ptau,
                    Circuit::Continuation,
                    shape,
                )?)
            }
            None => None,
        };
        Ok(Some((primary, continuation)))
    }
}

/// The continuation circuit's parameters in `dir` (statement v2), when it holds its proving
/// key: loading checks them before they are pinned.
fn continuation_params(dir: &Path) -> Result<Option<ClaimParams>, Error> {
    let [proving_key_file, ..] = ClaimParams::files(dir, Circuit::Continuation);
    Ok(match proving_key_file.exists() {
        true => Some(ClaimParams::load(dir, Circuit::Continuation)?),
        false => None,
    })
}

/// The ceremony's parameters of `circuit` in `dir`: imported there when it has none, else
/// `dir`'s must be exactly those (the same verifying and proving keys).
fn ceremony_params(
    data: &DataDir,
    dir: &Path,
    circuit: Circuit,
    imported: ClaimParams,
) -> Result<ClaimParams, Error> {
    if !ClaimParams::files(dir, circuit).iter().any(|f| f.exists()) {
        imported.save(dir)?;
        return Ok(imported);
    }
    let found = match circuit {
        Circuit::Primary => data.load_prover(dir, circuit)?,
        Circuit::Continuation => ClaimParams::load(dir, circuit)?,
    };
    if found.verifying_key.digest() != imported.verifying_key.digest()
        || found.proving_key.digest() != imported.proving_key.digest()
    {
        return Err(Error::BadFile {
            path: ClaimParams::folder(dir, circuit),
            reason: "holds parameters other than the ceremony's key: use an empty --params \
                     folder, where the key is imported"
                .into(),
        });
    }
    Ok(found)
}

fn genesis(args: GenesisArgs, ctx: &Context) -> Result<(), Error> {
    let default = Shape::default();
    let shape = Shape {
        items: args.items.unwrap_or(default.items),
        depth: args.depth.unwrap_or(default.depth),
    };
    let mut ceremony = None;
    let mut continuation = None;
    let (verifying_key_digest, proving_key_digest, shape) = match args.vk_digest {
        Some(digest) => {
            continuation = args.continuation_vk_digest.map(|digest| CircuitPin {
                verifying_key_digest: digest,
                proving_key_digest: args.continuation_pk_digest,
                ceremony: None,
            });
            (digest, args.pk_digest, shape)
        }
        None if args.ceremony.ceremony.is_some() => {
            let ((record, params), pinned) =
                args.ceremony.verified(shape)?.expect("--ceremony given");
            ceremony = Some(record);
            continuation =
                pinned.map(|(record, params)| consortium::circuit_pin(&params, Some(record)));
            (
                params.verifying_key.digest(),
                Some(params.proving_key.digest()),
                shape,
            )
        }
        None => {
            let dir = ctx.params_dir(args.params);
            let key = consortium::load_verifying_key(&dir, Circuit::Primary, None)?;
            // Pinned when the folder holds the proving key: loading it checks it first.
            let [proving_key_file, ..] = ClaimParams::files(&dir, Circuit::Primary);
            let proving_key = match proving_key_file.exists() {
                true => Some(
                    ClaimParams::load(&dir, Circuit::Primary)?
                        .proving_key
                        .digest(),
                ),
                false => args.pk_digest,
            };
            // The continuation circuit (statement v2) is pinned when the folder holds its
            // verifying key, its proving key's digest when it holds that too.
            let [_, continuation_key, ..] = ClaimParams::files(&dir, Circuit::Continuation);
            if continuation_key.exists() {
                let key = consortium::load_verifying_key(&dir, Circuit::Continuation, None)?;
                continuation = Some(CircuitPin {
                    verifying_key_digest: key.digest(),
                    proving_key_digest: continuation_params(&dir)?.map(|p| p.proving_key.digest()),
                    ceremony: None,
                });
            }
            (key.digest(), proving_key, ClaimParams::load_shape(&dir)?)
        }
    };
    let mut members = Vec::new();
    for path in &args.members {
        members.extend(read_members(path)?);
    }
    let genesis = Genesis {
        chain_id: args.chain_id,
        members,
        verifying_key_digest,
        proving_key_digest,
        ceremony,
        continuation,
        shape,
        root_window: args.root_window,
        root_max_age_ms: args.root_max_age_ms,
        hospital_root_quota: args.hospital_root_quota,
        block_window_ms: 0,
    };
    genesis.check()?;
    genesis.save(&args.out)?;
    let written = std::fs::read(&args.out).map_err(|source| Error::Io {
        path: args.out.clone(),
        source,
    })?;
    let roster: Vec<String> = genesis
        .members
        .iter()
        .map(|m| format!("{} {} ({})", m.role, m.id, m.name))
        .collect();
    let (vk_digest, file_sha256) = (
        hex::encode(genesis.verifying_key_digest),
        hex::encode(Sha256::digest(&written)),
    );
    ctx.output.result(
        json!({
            "chain_id": genesis.chain_id,
            "out": args.out,
            "members": genesis.members,
            "verifying_key_digest": vk_digest,
            "proving_key_digest": genesis.proving_key_digest.map(hex::encode),
            "ceremony": genesis.ceremony,
            "continuation": genesis.continuation,
            "file_sha256": file_sha256,
        }),
        format_args!(
            "genesis of {} written to {}: {}; verifying key {vk_digest}; file SHA-256 \
             {file_sha256}",
            genesis.chain_id,
            args.out.display(),
            roster.join(", "),
        ),
    );
    Ok(())
}

/// One member's public part, or a list of them.
fn read_members(path: &Path) -> Result<Vec<Member>, Error> {
    let value: serde_json::Value = files::read(path)?;
    let parsed = if value.is_array() {
        serde_json::from_value(value)
    } else {
        serde_json::from_value(value).map(|m| vec![m])
    };
    parsed.map_err(|e| Error::BadFile {
        path: path.into(),
        reason: format!("not a member's public part ({{id, name, role, public_key}}): {e}"),
    })
}
