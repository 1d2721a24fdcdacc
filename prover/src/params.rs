//! Parameters of the claim circuits (primary and continuation): generation (single-party,
//! development only), import of a snarkjs ceremony's key, files, loading.
//!
//! A deployment's parameters folder holds the primary circuit's files; the continuation
//! circuit's are in its subfolder `continuation/` ([`ClaimParams::folder`]), the same three
//! files, so that one `--params DIR` names both.

use crate::{
    groth16::SparseQueries,
    matrices::ClaimMatrices,
    prover_file::{self, ProverFile, ProverFileError, PROVER_FILE},
    zkey::{Zkey, ZkeyError},
};
use ark_bn254::{Bn254, Fq, Fq2, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::{
    pairing::Pairing,
    short_weierstrass::{Affine, SWCurveConfig},
    AffineRepr, CurveGroup, VariableBaseMSM,
};
use ark_ff::{BigInt, Field, PrimeField, UniformRand, Zero};
use ark_groth16::{Groth16, ProvingKey, VerifyingKey};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, Compress, SerializationError};
use ark_snark::SNARK;
use ark_std::rand::{CryptoRng, RngCore};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use zkclaim_circuits::{
    claim::Shape,
    gadget::{claim::ClaimCircuit, continuation::ContinuationCircuit},
    Circuit,
};
use zkclaim_verifier::{ClaimVerifyingKey, PreparedClaimKey, VerifyError};

const PROVING_KEY_FILE: &str = "claim.pk";
const VERIFYING_KEY_FILE: &str = "claim.vk";
const SHAPE_FILE: &str = "shape.json";
const CONTINUATION_FOLDER: &str = "continuation";

#[derive(Debug, thiserror::Error)]
pub enum ParamsError {
    #[error("parameter file {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("parameter file {path} is corrupt: {reason}")]
    Corrupt { path: String, reason: String },
    /// The prover's precomputed file (`claim.prover`) cannot be used; deleting it makes the
    /// next load rebuild it from the proving key.
    #[error("prover file {path}: {source}")]
    ProverFile {
        path: String,
        source: ProverFileError,
    },
    #[error("verifying key: {0}")]
    Key(#[from] VerifyError),
    #[error("the proving key does not match the verifying key in {0}")]
    Mismatch(String),
    /// The proving key file is not the one pinned (the genesis's `proving_key_digest`).
    #[error("the proving key {path} has SHA-256 {found}; the consortium pins {pinned}")]
    NotPinned {
        path: String,
        found: String,
        pinned: String,
    },
    /// The proving key is not one a setup could have made with its verifying key: proofs
    /// from it would not verify, or would not hide the witness.
    #[error("the proving key is inconsistent with its verifying key: {0}")]
    Inconsistent(&'static str),
    /// A zkey made for another circuit (or another shape of this one).
    #[error("the zkey is not of the {circuit} claim circuit of shape {shape:?}: {source}")]
    NotTheCircuit {
        circuit: Circuit,
        shape: Shape,
        source: ZkeyError,
    },
    /// A folder holding the other circuit's parameters.
    #[error("{path} holds parameters of the {found} circuit, not of the {expected} one")]
    WrongCircuit {
        path: String,
        found: Circuit,
        expected: Circuit,
    },
    #[error("key generation failed: {0}")]
    Setup(String),
    /// Saving never replaces parameters: a lost proving key cannot be recovered.
    #[error("parameter file {0} already exists")]
    Exists(String),
}

/// How a proving key's H query encodes the quotient `(A·B − C)/Z`, and so which witness map
/// a proof with it needs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Qap {
    /// arkworks' (`LibsnarkReduction`): the quotient's coefficients, `n − 1` points. The
    /// keys of `ClaimParams::setup`.
    #[default]
    Libsnark,
    /// circom's (snarkjs, rapidsnark): `A·B − C` evaluated on the coset of odd powers of the
    /// 2n-th root of unity, `n` points. The keys of a snarkjs ceremony.
    Circom,
}

impl Qap {
    fn is_libsnark(&self) -> bool {
        *self == Qap::Libsnark
    }
}

/// `shape.json`: the shape, and the key's QAP convention and circuit when they are not the
/// defaults (so development parameters' files of the primary circuit are as they were).
#[derive(Serialize, Deserialize)]
struct ShapeFile {
    #[serde(flatten)]
    shape: Shape,
    #[serde(default, skip_serializing_if = "Qap::is_libsnark")]
    qap: Qap,
    #[serde(default, skip_serializing_if = "is_primary")]
    circuit: Circuit,
}

fn is_primary(circuit: &Circuit) -> bool {
    *circuit == Circuit::Primary
}

/// The Groth16 proving key of a claim circuit, with its queries compacted for the prover.
#[derive(Clone)]
pub struct ClaimProvingKey {
    pub(crate) key: ProvingKey<Bn254>,
    pub(crate) sparse: SparseQueries,
}

impl ClaimProvingKey {
    /// The arkworks key, for comparing against stock `ark_groth16` and for re-randomizing.
    pub fn as_ark(&self) -> &ProvingKey<Bn254> {
        &self.key
    }

    /// Bytes of the key file (`claim.pk`, uncompressed).
    pub fn uncompressed_size(&self) -> usize {
        self.key.uncompressed_size()
    }

    /// Makes the fixed-base tables of the proof's three MSMs (the multiples `2^(c·j)·P` of
    /// each base: [`crate::msm::FixedBases`]), for a process that proves again and again (a
    /// prover service, a benchmark): each proof then takes about 12% less CPU, and the
    /// process holds the bases about 20 times over: 80 MB at the default shape, built in
    /// about 1.4 s on 2 cores. Their windows suit the current rayon pool's threads.
    /// Returns the tables' size in bytes.
    pub fn precompute_tables(&mut self) -> usize {
        self.sparse.precompute(&self.key)
    }

    /// SHA-256 of the key file (`claim.pk`) as [`ClaimParams::save`] writes it: what a
    /// consortium pins ([`ClaimParams::load_pinned`]).
    pub fn digest(&self) -> [u8; 32] {
        Sha256::digest(encode(&self.key, Compress::No)).into()
    }
}

impl core::fmt::Debug for ClaimProvingKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "ClaimProvingKey({} variables)", self.key.a_query.len())
    }
}

/// Everything needed to prove and verify claims of one circuit and shape. Load once, share
/// between proofs (it is read-only).
#[derive(Debug, Clone)]
pub struct ClaimParams {
    pub circuit: Circuit,
    pub shape: Shape,
    /// The proving key's QAP convention.
    pub qap: Qap,
    /// The circuit's constraint matrices, built once when the parameters are loaded.
    pub matrices: std::sync::Arc<ClaimMatrices>,
    pub proving_key: ClaimProvingKey,
    pub verifying_key: ClaimVerifyingKey,
    pub prepared: PreparedClaimKey,
}

impl ClaimParams {
    /// Single-party key generation. Whoever holds this run's randomness can forge proofs:
    /// development and tests only; production keys come from a multi-party ceremony.
    pub fn setup<R: RngCore + CryptoRng>(
        circuit: Circuit,
        shape: Shape,
        rng: &mut R,
    ) -> Result<Self, ParamsError> {
        let setup = match circuit {
            Circuit::Primary => {
                Groth16::<Bn254>::circuit_specific_setup(ClaimCircuit::blank(shape), rng)
            }
            Circuit::Continuation => {
                Groth16::<Bn254>::circuit_specific_setup(ContinuationCircuit::blank(shape), rng)
            }
        };
        let (pk, _) = setup.map_err(|e| ParamsError::Setup(e.to_string()))?;
        // Made here, just now: nothing to check it against that it could fail.
        Self::from_proving_key(
            circuit,
            shape,
            Qap::Libsnark,
            pk,
            Derive::Unchecked,
            None,
            |_| Ok(()),
        )
    }

    /// Parameters around a snarkjs ceremony's key ([`Zkey::read`]), which must be of
    /// `circuit` in `shape` ([`crate::zkey::ZkeyCircuit::check`]) and pass
    /// [`check_consistency`].
    pub fn from_zkey(circuit: Circuit, shape: Shape, zkey: Zkey) -> Result<Self, ParamsError> {
        let Zkey {
            key, circuit: r1cs, ..
        } = zkey;
        Self::from_proving_key(
            circuit,
            shape,
            Qap::Circom,
            key,
            Derive::Checked,
            None,
            |m| {
                r1cs.check(m).map_err(|source| ParamsError::NotTheCircuit {
                    circuit,
                    shape,
                    source,
                })
            },
        )
    }

    /// Where `circuit`'s files are in the parameters folder `dir`: `dir` itself for the
    /// primary circuit, `dir/continuation` for the continuation circuit.
    pub fn folder(dir: &Path, circuit: Circuit) -> PathBuf {
        match circuit {
            Circuit::Primary => dir.to_path_buf(),
            Circuit::Continuation => dir.join(CONTINUATION_FOLDER),
        }
    }

    /// Parameters around `pk`, which must embed a valid verifying key and fit the circuit
    /// (and `fits` its matrices); `derive` says whether the matrices are built (and the key
    /// checked by [`check_consistency`] against its verifying key, beside the construction
    /// of the matrices: about 80 ms of a 2-core machine for the default shape) or were read
    /// from a prover file. `prepared`, when given, is taken if it is of `pk`'s verifying key
    /// (a caller that had that key first prepares it beside its reading).
    pub(crate) fn from_proving_key(
        circuit: Circuit,
        shape: Shape,
        qap: Qap,
        pk: ProvingKey<Bn254>,
        derive: Derive,
        prepared: Option<PreparedClaimKey>,
        fits: impl FnOnce(&ClaimMatrices) -> Result<(), ParamsError> + Send,
    ) -> Result<Self, ParamsError> {
        let verifying_key =
            ClaimVerifyingKey::from_bytes_for(circuit, &encode(&pk.vk, Compress::Yes))?;
        // The compressed form keeps x and the sign of y only; the prover computes with the
        // proving key's own points, so they must be exactly the ones just validated.
        if encode(&pk.vk, Compress::No) != encode(&verifying_key, Compress::No) {
            return Err(ParamsError::Key(VerifyError::MalformedKey(
                "the proving key's copy has a point off the curve".into(),
            )));
        }
        let prepared = match prepared {
            Some(prepared) if *prepared.key() == verifying_key => prepared,
            _ => verifying_key.prepare(),
        };
        let (matrices, check_key) = match derive {
            Derive::Read(matrices) => (Ok(matrices), false),
            Derive::Checked => (ClaimMatrices::build(circuit, shape), true),
            Derive::Unchecked => (ClaimMatrices::build(circuit, shape), false),
        };
        let (matrices, consistent) = rayon::join(
            || {
                let matrices = matrices.map_err(|e| ParamsError::Setup(e.to_string()))?;
                fits(&matrices)?;
                Ok::<_, ParamsError>(matrices)
            },
            || match check_key {
                true => check_consistency(&pk),
                false => Ok(()),
            },
        );
        let matrices = matrices?;
        let variables = matrices.num_instance + matrices.num_witness;
        if variables != pk.a_query.len() {
            return Err(ParamsError::Setup(format!(
                "the proving key has {} variables; the {circuit} circuit of shape {shape:?} has \
                 {variables}",
                pk.a_query.len()
            )));
        }
        consistent?;
        if pk.l_query.len() != matrices.num_witness {
            return Err(ParamsError::Inconsistent(
                "the L query's length is not the circuit's witness count",
            ));
        }
        Ok(Self {
            circuit,
            shape,
            qap,
            matrices: std::sync::Arc::new(matrices),
            proving_key: ClaimProvingKey {
                sparse: SparseQueries::new(&pk),
                key: pk,
            },
            verifying_key,
            prepared,
        })
    }

    /// Writes `claim.pk`, `claim.vk`, `shape.json` and the prover's precomputed file
    /// `claim.prover` into this circuit's folder of the parameters folder `dir`
    /// ([`ClaimParams::folder`]); refuses when any of them is there already.
    pub fn save(&self, dir: &Path) -> Result<(), ParamsError> {
        if let Some(existing) = Self::files(dir, self.circuit)
            .into_iter()
            .find(|f| f.exists())
        {
            return Err(ParamsError::Exists(existing.display().to_string()));
        }
        let key = encode(&self.proving_key.key, Compress::No);
        let prover = self.prover_file_bytes(&Sha256::digest(&key).into());
        let dir = &Self::folder(dir, self.circuit);
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        for (name, bytes) in [
            (PROVING_KEY_FILE, key),
            (VERIFYING_KEY_FILE, self.verifying_key.to_bytes()),
            (
                SHAPE_FILE,
                serde_json::to_vec_pretty(&ShapeFile {
                    shape: self.shape,
                    qap: self.qap,
                    circuit: self.circuit,
                })
                .expect("shape serializes"),
            ),
            (PROVER_FILE, prover),
        ] {
            write_new(&dir.join(name), &bytes)?;
        }
        Ok(())
    }

    /// `claim.prover` for these parameters, made with the proving key of SHA-256 `key_digest`.
    pub(crate) fn prover_file_bytes(&self, key_digest: &[u8; 32]) -> Vec<u8> {
        prover_file::encode(
            self.circuit,
            self.shape,
            self.qap,
            key_digest,
            &self.matrices,
        )
    }

    /// Loads `circuit`'s parameters saved by [`ClaimParams::save`] in the parameters folder
    /// `dir`. The verifying key is fully validated; the (large) proving key is read without
    /// per-point checks, then must embed exactly that verifying key. The circuit's matrices
    /// come from the prover file (`claim.prover`) made with this proving key; without one,
    /// they are built, the key must pass the consistency checks against its verifying key,
    /// and the prover file is written for the next load (where the folder is writable).
    pub fn load(dir: &Path, circuit: Circuit) -> Result<Self, ParamsError> {
        Self::load_pinned(dir, circuit, None)
    }

    /// [`ClaimParams::load`], and when `pin` is given the proving key file's SHA-256 must be
    /// it: the only check that sees an edited A, L or H query point before a proof does. A
    /// pinned key is not checked again against its verifying key: the tools that pin one
    /// (`consortium init` and `genesis`) load it, and so check it, first.
    pub fn load_pinned(
        dir: &Path,
        circuit: Circuit,
        pin: Option<[u8; 32]>,
    ) -> Result<Self, ParamsError> {
        let ShapeFile { shape, qap, .. } = load_shape_file(dir, circuit)?;
        let path = Self::folder(dir, circuit).join(PROVING_KEY_FILE);
        let [.., prover_path] = Self::files(dir, circuit);
        // The two files are read, hashed and decoded at once (each hash beside its decoding),
        // and the verifying key is read and prepared meanwhile.
        let (key, (prover_file, verifying_key)) = rayon::join(
            || {
                let bytes = read(&path)?;
                let (digest, pk) = rayon::join(
                    || -> [u8; 32] { Sha256::digest(&bytes).into() },
                    || decode_proving_key(&bytes),
                );
                Ok::<_, ParamsError>((digest, pk))
            },
            || {
                rayon::join(
                    || read_prover_file(&prover_path, circuit, shape),
                    || {
                        let key = Self::load_verifying_key(dir, circuit)?;
                        let prepared = key.prepare();
                        Ok::<_, ParamsError>((key, prepared))
                    },
                )
            },
        );
        let (verifying_key, prepared) = verifying_key?;
        let (key_digest, pk) = key?;
        let key_path = path.display().to_string();
        if let Some(pinned) = pin {
            check_pin(&key_path, key_digest, pinned)?;
        }
        let pk = pk.map_err(|e| ParamsError::Corrupt {
            path: key_path,
            reason: e.to_string(),
        })?;
        // The file made with this very key (checked when it was made); one made with another
        // key is stale, and rebuilt.
        let derive = match prover_file? {
            Some(file) if file.key_digest == key_digest && file.qap == qap => {
                Derive::Read(file.matrices)
            }
            // A pinned key was checked by the tools that pinned it.
            _ if pin.is_some() => Derive::Unchecked,
            _ => Derive::Checked,
        };
        let write = !matches!(derive, Derive::Read(_));
        let params =
            Self::from_proving_key(circuit, shape, qap, pk, derive, Some(prepared), |_| Ok(()))?;
        if params.verifying_key != verifying_key {
            return Err(ParamsError::Mismatch(
                Self::folder(dir, circuit).display().to_string(),
            ));
        }
        if write {
            // For the next process; a folder this one may not write keeps the slow path.
            let tmp = prover_path.with_extension(format!("prover.{}.tmp", std::process::id()));
            let written = std::fs::write(&tmp, params.prover_file_bytes(&key_digest))
                .and_then(|()| std::fs::rename(&tmp, &prover_path));
            if written.is_err() {
                let _ = std::fs::remove_file(&tmp);
            }
        }
        Ok(params)
    }

    /// Parameters from the bytes of `circuit`'s `shape.json`, `claim.pk` and `claim.prover`
    /// as [`ClaimParams::save`] writes them, where there are no files: a browser fetches
    /// them from a node. The proving key's SHA-256 must be `pin` (the genesis
    /// `proving_key_digest`) and the prover file must be the one made with that key: nothing
    /// is built or checked at length, so that a cold start is the loading alone. Errors name
    /// the files by their names.
    pub fn from_bytes(
        circuit: Circuit,
        [shape, key, prover]: [&[u8]; 3],
        pin: [u8; 32],
    ) -> Result<Self, ParamsError> {
        let ShapeFile { shape, qap, .. } = parse_shape_file(shape, SHAPE_FILE, circuit)?;
        let key_digest: [u8; 32] = Sha256::digest(key).into();
        check_pin(PROVING_KEY_FILE, key_digest, pin)?;
        let prover_error = |source| ParamsError::ProverFile {
            path: PROVER_FILE.into(),
            source,
        };
        let file = prover_file::decode(prover, circuit, shape).map_err(prover_error)?;
        if file.key_digest != key_digest || file.qap != qap {
            return Err(prover_error(ProverFileError::OtherKey));
        }
        let pk = decode_proving_key(key).map_err(|e| ParamsError::Corrupt {
            path: PROVING_KEY_FILE.into(),
            reason: e.to_string(),
        })?;
        Self::from_proving_key(
            circuit,
            shape,
            qap,
            pk,
            Derive::Read(file.matrices),
            None,
            |_| Ok(()),
        )
    }

    /// Loads only `circuit`'s verifying key from saved parameters: all an insurer or auditor
    /// needs, without reading the proving key or building the circuit's matrices.
    pub fn load_verifying_key(
        dir: &Path,
        circuit: Circuit,
    ) -> Result<ClaimVerifyingKey, ParamsError> {
        let path = Self::folder(dir, circuit).join(VERIFYING_KEY_FILE);
        Ok(ClaimVerifyingKey::from_bytes_for(circuit, &read(&path)?)?)
    }

    /// The circuit shape of saved parameters (`shape.json` of the primary circuit).
    pub fn load_shape(dir: &Path) -> Result<Shape, ParamsError> {
        Ok(load_shape_file(dir, Circuit::Primary)?.shape)
    }

    /// The files [`ClaimParams::save`] writes for `circuit` into the parameters folder `dir`:
    /// the proving key, the verifying key, the shape and the prover file (`claim.prover`,
    /// what the prover precomputes: the circuit's matrices; also written by
    /// [`ClaimParams::load`] where it is missing or was made with another proving key), in
    /// that order. A verify-only folder holds the verifying keys alone.
    pub fn files(dir: &Path, circuit: Circuit) -> [PathBuf; 4] {
        let dir = Self::folder(dir, circuit);
        [
            PROVING_KEY_FILE,
            VERIFYING_KEY_FILE,
            SHAPE_FILE,
            PROVER_FILE,
        ]
        .map(|f| dir.join(f))
    }
}

/// What can be checked of a proving key against its own verifying key without the setup's
/// secrets or a phase-1 file, in one multi-pairing with random weights (a mismatch in any
/// term survives with probability about 1/r). A setup may take any generators `G` of G1 and
/// `H` of G2 (arkworks draws them at random), so each G1 point `x·G` is compared with its G2
/// twin `x·H` through `δ`: `e(x·G, δ·H) = e(δ·G, x·H)`.
/// - `delta_g1` and `beta_g1` are not the identity (with `delta_g1 = 0`, the blinding `r·δ`
///   vanishes from a proof's `A`, which then is a function of the witness alone);
/// - `beta_g1` is the twin of the verifying key's `beta_g2`, `delta_g1` of its `delta_g2`;
/// - every B query point in G1 is the twin of its G2 point:
///   `e(ρ·beta_g1 + Σ ρ_i·b_g1_i, delta_g2) = e(delta_g1, ρ·beta_g2 + Σ ρ_i·b_g2_i)`;
/// - the queries have the circuit's lengths (the L query's is checked by the caller).
///
/// The A, L and H queries cannot be checked this way (their G2 counterparts are not in the
/// key); a proof that fails to verify is caught by [`crate::prove`], which verifies every
/// proof before returning it.
fn check_consistency(pk: &ProvingKey<Bn254>) -> Result<(), ParamsError> {
    let n = pk.a_query.len();
    if pk.b_g1_query.len() != n || pk.b_g2_query.len() != n {
        return Err(ParamsError::Inconsistent(
            "the A and B queries differ in length",
        ));
    }
    if pk.delta_g1.is_zero() {
        return Err(ParamsError::Inconsistent("delta_g1 is the identity"));
    }
    if pk.beta_g1.is_zero() {
        return Err(ParamsError::Inconsistent("beta_g1 is the identity"));
    }
    // Variables absent from B have both points the identity: nothing to compare.
    let (g1, g2): (Vec<G1Affine>, Vec<G2Affine>) = std::iter::once((pk.beta_g1, pk.vk.beta_g2))
        .chain(
            pk.b_g1_query
                .iter()
                .copied()
                .zip(pk.b_g2_query.iter().copied()),
        )
        .filter(|(p, q)| !(p.is_zero() && q.is_zero()))
        .unzip();
    let mut rng = rand::rngs::OsRng;
    let weights: Vec<Fr> = g1.iter().map(|_| Fr::rand(&mut rng)).collect();
    let (left, right) = rayon::join(
        || G1Projective::msm_unchecked(&g1, &weights),
        || G2Projective::msm_unchecked(&g2, &weights),
    );
    // δ·H against δ·G: a `delta_g1` that is not the twin of `delta_g2` fails for the
    // genuine B query and beta too.
    let pairs = Bn254::multi_pairing(
        [left.into_affine(), -pk.delta_g1],
        [pk.vk.delta_g2, right.into_affine()],
    );
    if !pairs.is_zero() {
        return Err(ParamsError::Inconsistent(
            "its beta, delta or B query points differ between G1 and G2",
        ));
    }
    Ok(())
}

/// `circuit`'s `shape.json` in the parameters folder `dir`, which must say it is of `circuit`.
fn load_shape_file(dir: &Path, circuit: Circuit) -> Result<ShapeFile, ParamsError> {
    let path = ClaimParams::folder(dir, circuit).join(SHAPE_FILE);
    parse_shape_file(&read(&path)?, &path.display().to_string(), circuit)
}

/// `shape.json` of `circuit`'s parameters from its bytes; `path` names it in errors.
fn parse_shape_file(bytes: &[u8], path: &str, circuit: Circuit) -> Result<ShapeFile, ParamsError> {
    let file: ShapeFile = serde_json::from_slice(bytes).map_err(|e| ParamsError::Corrupt {
        path: path.into(),
        reason: e.to_string(),
    })?;
    if file.circuit != circuit {
        return Err(ParamsError::WrongCircuit {
            path: path.into(),
            found: file.circuit,
            expected: circuit,
        });
    }
    Ok(file)
}

/// Refuses a proving key file (at `path`) of SHA-256 `found` where `pinned` is pinned.
fn check_pin(path: &str, found: [u8; 32], pinned: [u8; 32]) -> Result<(), ParamsError> {
    match found == pinned {
        true => Ok(()),
        false => Err(ParamsError::NotPinned {
            path: path.into(),
            found: hex::encode(found),
            pinned: hex::encode(pinned),
        }),
    }
}

/// How [`ClaimParams::from_proving_key`] gets the circuit's matrices.
pub(crate) enum Derive {
    /// Read from a prover file made with this key (checked when the file was made).
    Read(ClaimMatrices),
    /// Built, and the key checked against its verifying key.
    Checked,
    /// Built; the key was made here, or checked before it was pinned.
    Unchecked,
}

/// The prover file at `path`, if there is one: it must be of `circuit` in `shape`.
fn read_prover_file(
    path: &Path,
    circuit: Circuit,
    shape: Shape,
) -> Result<Option<ProverFile>, ParamsError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(io(path)(source)),
    };
    prover_file::decode(&bytes, circuit, shape)
        .map(Some)
        .map_err(|source| ParamsError::ProverFile {
            path: path.display().to_string(),
            source,
        })
}

/// A proving key in arkworks' uncompressed encoding (as [`ClaimParams::save`] writes it),
/// without point checks (the file's digest is what vouches for it: see
/// [`ClaimParams::load_pinned`]). Same result as `deserialize_uncompressed_unchecked`; the
/// queries' points, fixed-size records, are decoded in parallel (arkworks reads them one by
/// one: a quarter of a cold proof's loading).
pub(crate) fn decode_proving_key(bytes: &[u8]) -> Result<ProvingKey<Bn254>, SerializationError> {
    let mut r = bytes;
    let vk = VerifyingKey::<Bn254>::deserialize_uncompressed_unchecked(&mut r)?;
    let beta_g1 = G1Affine::deserialize_uncompressed_unchecked(&mut r)?;
    let delta_g1 = G1Affine::deserialize_uncompressed_unchecked(&mut r)?;
    let a_query = points::<G1Affine>(&mut r)?;
    let b_g1_query = points::<G1Affine>(&mut r)?;
    let b_g2_query = points::<G2Affine>(&mut r)?;
    let h_query = points::<G1Affine>(&mut r)?;
    let l_query = points::<G1Affine>(&mut r)?;
    Ok(ProvingKey {
        vk,
        beta_g1,
        delta_g1,
        a_query,
        b_g1_query,
        b_g2_query,
        h_query,
        l_query,
    })
}

/// A `Vec` of points as arkworks encodes it uncompressed (its length as a `u64`, then each
/// point in a record of the same size), decoded in parallel; `r` moves past it.
fn points<A: Uncompressed>(r: &mut &[u8]) -> Result<Vec<A>, SerializationError> {
    let len = u64::deserialize_uncompressed(&mut *r)?;
    let body = usize::try_from(len)
        .ok()
        .and_then(|len| len.checked_mul(A::SIZE))
        .filter(|body| *body <= r.len())
        .ok_or(SerializationError::IoError(
            std::io::ErrorKind::UnexpectedEof.into(),
        ))?;
    let (records, rest) = r.split_at(body);
    *r = rest;
    records.par_chunks_exact(A::SIZE).map(A::decode).collect()
}

/// A point in arkworks' uncompressed encoding (`x`, then `y` with the flags in its last
/// byte's top two bits: `1 << 6` the point at infinity, `1 << 7` a negative `y`), decoded
/// as `deserialize_uncompressed_unchecked` does, without its generic reader: each
/// coordinate must be below the modulus; the point is not checked to be on the curve (a
/// key's digest covers its points).
trait Uncompressed: AffineRepr {
    /// The record's length in bytes.
    const SIZE: usize;

    fn decode(record: &[u8]) -> Result<Self, SerializationError>;
}

impl<P: SWCurveConfig> Uncompressed for Affine<P>
where
    P::BaseField: Coordinate,
{
    const SIZE: usize = 2 * P::BaseField::SIZE;

    fn decode(record: &[u8]) -> Result<Self, SerializationError> {
        let size = P::BaseField::SIZE;
        let x = P::BaseField::decode(&record[..size])?;
        let mut y = [0u8; 64];
        let y = &mut y[..size];
        y.copy_from_slice(&record[size..2 * size]);
        let flags = y[size - 1] >> 6;
        y[size - 1] &= 0x3f;
        let y = P::BaseField::decode(y)?;
        match flags {
            0b11 => Err(SerializationError::UnexpectedFlags),
            0b01 => Ok(Affine::identity()),
            _ => Ok(Affine::new_unchecked(x, y)),
        }
    }
}

/// A coordinate field's elements as arkworks encodes them: little-endian, an extension's
/// `c0` first; not below the modulus is no element.
trait Coordinate: Field {
    /// At most 64.
    const SIZE: usize;

    fn decode(bytes: &[u8]) -> Result<Self, SerializationError>;
}

impl Coordinate for Fq {
    const SIZE: usize = 32;

    fn decode(bytes: &[u8]) -> Result<Self, SerializationError> {
        let limbs = std::array::from_fn(|i| {
            u64::from_le_bytes(bytes[8 * i..8 * i + 8].try_into().expect("8 bytes"))
        });
        Fq::from_bigint(BigInt(limbs)).ok_or(SerializationError::InvalidData)
    }
}

impl Coordinate for Fq2 {
    const SIZE: usize = 64;

    fn decode(bytes: &[u8]) -> Result<Self, SerializationError> {
        Ok(Fq2::new(
            Fq::decode(&bytes[..32])?,
            Fq::decode(&bytes[32..])?,
        ))
    }
}

/// Writes a new file whole: to a temporary name, then renamed, so that a crash never leaves
/// a half-written key behind.
fn write_new(path: &Path, bytes: &[u8]) -> Result<(), ParamsError> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ParamsError {
    let path = path.display().to_string();
    move |source| ParamsError::Io { path, source }
}

fn read(path: &Path) -> Result<Vec<u8>, ParamsError> {
    std::fs::read(path).map_err(io(path))
}

fn encode(value: &impl CanonicalSerialize, compress: Compress) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.serialized_size(compress));
    value
        .serialize_with_mode(&mut out, compress)
        .expect("writing to a Vec cannot fail");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// `T`'s record as arkworks encodes it, then decoded by both: the same point, or both
    /// refuse it.
    fn same_as_arkworks<T: Uncompressed>(point: T, edits: &[(usize, u8)]) {
        let mut record = Vec::new();
        point.serialize_uncompressed(&mut record).unwrap();
        assert_eq!(record.len(), T::SIZE);
        for (at, xor) in edits {
            record[at % T::SIZE] ^= xor;
        }
        let ours = T::decode(&record).ok();
        let theirs = T::deserialize_uncompressed_unchecked(&record[..]).ok();
        assert_eq!(ours, theirs, "{record:02x?}");
    }

    fn edits() -> impl Strategy<Value = Vec<(usize, u8)>> {
        prop::collection::vec((0usize..128, any::<u8>()), 0..3)
    }

    proptest! {
        /// Random points, their negations (the other sign of y), the point at infinity,
        /// each intact or with bytes changed: flags, coordinates past the modulus.
        #[test]
        fn points_decode_as_arkworks_decodes_them(seed: u64, kind in 0..3, edits in edits()) {
            let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(seed);
            let pick = |p: G1Projective| match kind {
                0 => p.into_affine(),
                1 => (-p).into_affine(),
                _ => G1Affine::zero(),
            };
            same_as_arkworks(pick(G1Projective::rand(&mut rng)), &edits);
            let pick = |p: G2Projective| match kind {
                0 => p.into_affine(),
                1 => (-p).into_affine(),
                _ => G2Affine::zero(),
            };
            same_as_arkworks(pick(G2Projective::rand(&mut rng)), &edits);
        }
    }

    #[test]
    fn the_flag_bits_and_the_modulus_are_read_as_arkworks_reads_them() {
        let p = G1Projective::rand(&mut ark_std::test_rng()).into_affine();
        for top in [0x40, 0x80, 0xc0, 0x3f] {
            same_as_arkworks(p, &[(63, top)]);
            same_as_arkworks(G1Affine::zero(), &[(63, top)]);
        }
        // x = q exactly: not a field element.
        let mut record = [0u8; 64];
        record[..32].copy_from_slice(&ark_ff::BigInteger::to_bytes_le(&Fq::MODULUS));
        assert!(G1Affine::decode(&record).is_err());
        assert!(G1Affine::deserialize_uncompressed_unchecked(&record[..]).is_err());
    }
}
