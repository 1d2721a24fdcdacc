//! A consortium's files in a data folder: genesis, member keys, the ledger store, and the
//! circuit parameters, checked against the genesis.
//!
//! ```text
//! DATA/params/                      claim circuit parameters (claim.vk alone: verify only)
//! DATA/params/continuation/         the continuation circuit's, alike (statement v2)
//! DATA/consortium/genesis.json      members, roles, keys, verifying-key digest, K
//! DATA/consortium/keys/member-N.json  this organization's Ed25519 key (mode 0600)
//! DATA/ledger.redb                  the blocks (or an etcd cluster: `--ledger etcd://…`)
//! DATA/ledger.redb.node.json        while `zkclaim serve` holds the store: its pid and URL
//! ```

use crate::error::Error;
use rand::rngs::OsRng;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use zkclaim_circuits::Circuit;
use zkclaim_ledger::{
    BlockStore, CircuitPin, EtcdStore, Genesis, Ledger, LedgerError, Member, MemberKey, RedbStore,
    Role, VerifyingKeys, DEFAULT_ROOT_MAX_AGE_MS, DEFAULT_ROOT_WINDOW,
};
use zkclaim_prover::ClaimParams;
use zkclaim_verifier::{ClaimVerifyingKey, PreparedClaimKey};

pub const HOSPITALS: [u32; 2] = [1, 2];
pub const INSURERS: [u32; 2] = [10, 11];
pub const REGULATOR: u32 = 20;

pub struct DataDir(pub PathBuf);

impl DataDir {
    pub fn params(&self) -> PathBuf {
        self.0.join("params")
    }
    pub fn genesis(&self) -> PathBuf {
        self.0.join("consortium/genesis.json")
    }
    /// Where this organization keeps member N's key: `--member N` and `serve --proposer N`
    /// read it from here.
    pub fn key(&self, member: u32) -> PathBuf {
        self.0.join(format!("consortium/keys/member-{member}.json"))
    }
    /// The insurer's enrolment registry and claim outcomes: never on the ledger.
    pub fn registry(&self) -> PathBuf {
        self.0.join("insurer/registry.redb")
    }
    pub fn open_registry(&self) -> Result<zkclaim_insurer::Registry, Error> {
        Ok(zkclaim_insurer::Registry::open(&self.registry())?)
    }
    fn store(&self) -> PathBuf {
        self.0.join("ledger.redb")
    }
    fn holder(&self) -> PathBuf {
        self.0.join("ledger.redb.node.json")
    }

    pub fn load_genesis(&self) -> Result<Genesis, Error> {
        Ok(Genesis::load(&self.genesis())?)
    }

    pub fn load_key(&self, member: u32) -> Result<MemberKey, Error> {
        Ok(MemberKey::load(&self.key(member))?)
    }

    /// The genesis's verifying-key digest of `circuit`, when DATA holds a genesis; refused
    /// for the continuation circuit when the genesis pins none.
    pub fn pin(&self, circuit: Circuit) -> Result<Option<Pin>, Error> {
        let path = self.genesis();
        if !path.exists() {
            return Ok(None);
        }
        let genesis = self.load_genesis()?;
        let digest = match circuit {
            Circuit::Primary => genesis.verifying_key_digest,
            Circuit::Continuation => {
                let pin = genesis.continuation.ok_or(LedgerError::NoContinuationKey)?;
                pin.verifying_key_digest
            }
        };
        Ok(Some(Pin {
            digest,
            by: path.display().to_string(),
        }))
    }

    /// The verifying key in `dir`, refused unless it is the one DATA's genesis pins (when
    /// there is a genesis).
    pub fn verifying_key(&self, dir: &Path) -> Result<ClaimVerifyingKey, Error> {
        load_verifying_key(dir, Circuit::Primary, self.pin(Circuit::Primary)?.as_ref())
    }

    /// The parameters of both circuits in `dir`, checked against DATA's genesis as
    /// [`DataDir::verifying_key`] does; a circuit's proving key only when `dir` holds one,
    /// and then the one the genesis pins when it pins one. The continuation circuit's
    /// (statement v2) when the genesis pins it, or without a genesis when `dir` holds its
    /// verifying key.
    pub fn load_params(&self, dir: &Path) -> Result<Params, Error> {
        let genesis = self.genesis_if_any()?;
        let primary = self.load_circuit(dir, Circuit::Primary, genesis.as_ref())?;
        let continuation = match self.load_circuit(dir, Circuit::Continuation, genesis.as_ref()) {
            Ok(params) => Some(params),
            Err(Error::Ledger(LedgerError::NoContinuationKey)) => None,
            Err(e) => return Err(e),
        };
        Ok(Params {
            primary,
            continuation,
        })
    }

    /// `circuit`'s proving parameters alone, checked as [`DataDir::load_params`] checks
    /// them: what a process making one proof needs, without reading the other circuit's key.
    pub fn load_prover(&self, dir: &Path, circuit: Circuit) -> Result<ClaimParams, Error> {
        let genesis = self.genesis_if_any()?;
        let params = self.load_circuit(dir, circuit, genesis.as_ref())?;
        params
            .prover
            .ok_or(Error::NoProvingKey(params.proving_key_file))
    }

    fn genesis_if_any(&self) -> Result<Option<Genesis>, Error> {
        match self.genesis().exists() {
            true => Ok(Some(self.load_genesis()?)),
            false => Ok(None),
        }
    }

    /// `circuit`'s parameters in `dir` under `genesis`'s pins. The continuation circuit's
    /// are `NoContinuationKey` when the genesis does not pin it, or without a genesis when
    /// `dir` holds no verifying key of it.
    fn load_circuit(
        &self,
        dir: &Path,
        circuit: Circuit,
        genesis: Option<&Genesis>,
    ) -> Result<CircuitParams, Error> {
        let proving_pin = match (circuit, genesis) {
            (Circuit::Primary, genesis) => genesis.and_then(|g| g.proving_key_digest),
            (Circuit::Continuation, Some(genesis)) => {
                genesis
                    .continuation
                    .as_ref()
                    .ok_or(LedgerError::NoContinuationKey)?
                    .proving_key_digest
            }
            (Circuit::Continuation, None) => {
                if !ClaimParams::files(dir, circuit)[1].exists() {
                    return Err(LedgerError::NoContinuationKey.into());
                }
                None
            }
        };
        CircuitParams::load(dir, circuit, self.pin(circuit)?, proving_pin)
    }

    /// Writes a development consortium: two hospitals, two insurers and a regulator, each
    /// with a fresh key in this one folder, pinned to these circuit parameters (and
    /// recording the ceremony they came from, if they did). A real
    /// consortium's members make their own keys (`member keygen`) and the genesis is
    /// assembled from their public parts (`consortium genesis`).
    /// The continuation circuit (statement v2) is pinned too when given.
    pub fn init(
        &self,
        params: &ClaimParams,
        continuation: Option<CircuitPin>,
        ceremony: Option<zkclaim_ledger::Ceremony>,
    ) -> Result<Genesis, Error> {
        let genesis_path = self.genesis();
        if genesis_path.exists() {
            return Err(Error::Exists(genesis_path));
        }
        let keys_dir = self.0.join("consortium/keys");
        std::fs::create_dir_all(&keys_dir).map_err(|source| Error::Io {
            path: keys_dir,
            source,
        })?;
        let names = [
            (HOSPITALS[0], "Renji Hospital", Role::Hospital),
            (HOSPITALS[1], "Huashan Hospital", Role::Hospital),
            (INSURERS[0], "Insurer A", Role::Insurer),
            (INSURERS[1], "Insurer B", Role::Insurer),
            (REGULATOR, "Health Insurance Regulator", Role::Regulator),
        ];
        let mut members = Vec::new();
        for (id, name, role) in names {
            let key = MemberKey::generate(id, &mut OsRng);
            key.save(&self.key(id))?;
            members.push(Member {
                id,
                name: name.into(),
                role,
                public_key: key.public_key(),
            });
        }
        let genesis = Genesis {
            chain_id: "zkclaim-dev".into(),
            members,
            verifying_key_digest: params.verifying_key.digest(),
            proving_key_digest: Some(params.proving_key.digest()),
            ceremony,
            continuation,
            shape: params.shape,
            root_window: DEFAULT_ROOT_WINDOW,
            root_max_age_ms: DEFAULT_ROOT_MAX_AGE_MS,
            hospital_root_quota: None,
            block_window_ms: 0,
        };
        genesis.save(&genesis_path)?;
        Ok(genesis)
    }

    /// The blocks: on the etcd cluster `ledger` names (`etcd://…`), else in DATA/ledger.redb.
    pub fn open_store(
        &self,
        genesis: &Genesis,
        ledger: Option<&str>,
    ) -> Result<Arc<dyn BlockStore>, Error> {
        Ok(match ledger {
            Some(url) => Arc::new(EtcdStore::connect(url, &genesis.chain_id)?),
            None => Arc::new(RedbStore::open(&self.store()).map_err(|e| self.in_use(e))?),
        })
    }

    /// Opens the node's ledger (see [`DataDir::open_store`]), `proposer` signing its blocks,
    /// with the verifying keys of both circuits (the continuation's when the genesis pins
    /// it).
    pub fn open_ledger(
        &self,
        keys: Keys<'_>,
        ledger: Option<&str>,
        proposer: u32,
    ) -> Result<Ledger, Error> {
        let genesis = self.load_genesis()?;
        let keys = verifying_keys(&genesis, keys)?;
        Ok(Ledger::open(
            self.open_store(&genesis, ledger)?,
            genesis,
            keys,
            self.load_key(proposer)?,
        )?)
    }

    /// Records, next to DATA's store, that this process serves it at `url`, until the
    /// returned guard is dropped: a command that then finds the store locked names the node.
    pub fn serving(&self, url: &str) -> Result<Serving, Error> {
        let path = self.holder();
        let holder = Holder {
            pid: std::process::id(),
            url: url.to_owned(),
        };
        let json = serde_json::to_string(&holder).expect("holder serializes");
        std::fs::write(&path, json).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        Ok(Serving(path))
    }

    /// Why the store would not open: held by the node that recorded itself, when one did.
    fn in_use(&self, e: LedgerError) -> Error {
        let holder = std::fs::read(self.holder())
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Holder>(&bytes).ok());
        match holder {
            Some(Holder { pid, url }) if pid != std::process::id() => Error::StoreInUse {
                store: self.store(),
                pid,
                url,
                reason: e.to_string(),
            },
            _ => e.into(),
        }
    }
}

/// Who serves DATA's store: `DATA/ledger.redb.node.json`.
#[derive(Serialize, Deserialize)]
struct Holder {
    pid: u32,
    url: String,
}

/// While alive, tells other commands which node holds DATA's store; the record goes with it.
pub struct Serving(PathBuf);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A verifying-key digest that parameters must have, and who pins it (a genesis file, or a
/// flag).
pub struct Pin {
    pub digest: [u8; 32],
    pub by: String,
}

impl Pin {
    /// `--vk-digest HEX`.
    pub fn flag(digest: [u8; 32]) -> Self {
        Self {
            digest,
            by: "--vk-digest".into(),
        }
    }
}

/// `--vk-digest`'s parser: 64 hex digits, `0x` allowed.
pub fn parse_digest(text: &str) -> Result<[u8; 32], String> {
    let mut digest = [0u8; 32];
    hex::decode_to_slice(text.trim_start_matches("0x"), &mut digest)
        .map_err(|_| "expected 64 hex digits (a SHA-256 digest)".to_owned())?;
    Ok(digest)
}

/// `circuit`'s verifying key in the parameters folder `dir`, refused unless its digest is
/// `pin`'s.
pub fn load_verifying_key(
    dir: &Path,
    circuit: Circuit,
    pin: Option<&Pin>,
) -> Result<ClaimVerifyingKey, Error> {
    let [_, path, ..] = ClaimParams::files(dir, circuit);
    if !path.exists() {
        return Err(Error::NoVerifyingKey {
            path,
            pin: pin.map_or_else(String::new, |pin| {
                format!(" ({} pins its digest {})", pin.by, hex::encode(pin.digest))
            }),
        });
    }
    let key = ClaimParams::load_verifying_key(dir, circuit)?;
    match pin {
        Some(pin) if pin.digest != key.digest() => Err(Error::ForeignParams {
            dir: ClaimParams::folder(dir, circuit),
            found: hex::encode(key.digest()),
            expected: hex::encode(pin.digest),
            pinned_by: pin.by.clone(),
        }),
        _ => Ok(key),
    }
}

/// The prepared verifying keys of the primary circuit and, when pinned, the continuation
/// circuit: what a ledger checks claims with.
pub type Keys<'a> = (&'a PreparedClaimKey, Option<&'a PreparedClaimKey>);

/// `keys` as the ledger takes them, each checked against `genesis`.
fn verifying_keys(
    genesis: &Genesis,
    (primary, continuation): Keys<'_>,
) -> Result<VerifyingKeys, Error> {
    Ok(VerifyingKeys::new(
        genesis,
        primary.clone(),
        continuation.cloned(),
    )?)
}

/// Parameters as a node or a proving command finds them, for both circuits.
pub struct Params {
    pub primary: CircuitParams,
    /// The continuation circuit's (statement v2); none where the genesis pins none.
    pub continuation: Option<CircuitParams>,
}

/// One circuit's parameters: the (checked) verifying key, and the proving parameters when
/// the folder holds a proving key.
pub struct CircuitParams {
    proving_key_file: PathBuf,
    pub verifying_key: ClaimVerifyingKey,
    pub prover: Option<ClaimParams>,
}

impl CircuitParams {
    /// `circuit`'s parameters in the folder `dir`, its verifying key `pin`'s (and its
    /// proving key, when the folder holds one, `proving_pin`'s if given).
    fn load(
        dir: &Path,
        circuit: Circuit,
        pin: Option<Pin>,
        proving_pin: Option<[u8; 32]>,
    ) -> Result<Self, Error> {
        let verifying_key = load_verifying_key(dir, circuit, pin.as_ref())?;
        let [proving_key_file, ..] = ClaimParams::files(dir, circuit);
        // `load` reads the verifying key again and requires the proving key to embed it.
        let prover = match proving_key_file.exists() {
            true => Some(ClaimParams::load_pinned(dir, circuit, proving_pin)?),
            false => None,
        };
        Ok(Self {
            proving_key_file,
            verifying_key,
            prover,
        })
    }

    /// The proving parameters, or why there are none (naming the missing file).
    pub fn prover(&self) -> Result<&ClaimParams, Error> {
        self.prover
            .as_ref()
            .ok_or_else(|| Error::NoProvingKey(self.proving_key_file.clone()))
    }
}

impl Params {
    /// The primary circuit's proving parameters, or why there are none.
    pub fn prover(&self) -> Result<&ClaimParams, Error> {
        self.primary.prover()
    }

    /// The continuation circuit's proving parameters, or why there are none: no proving
    /// key, or a genesis that pins no continuation circuit.
    pub fn continuation_prover(&self) -> Result<&ClaimParams, Error> {
        self.continuation
            .as_ref()
            .ok_or(Error::Ledger(LedgerError::NoContinuationKey))?
            .prover()
    }

    /// Both circuits' verifying keys, prepared.
    pub fn prepared(&self) -> (PreparedClaimKey, Option<PreparedClaimKey>) {
        (
            self.primary.verifying_key.prepare(),
            self.continuation
                .as_ref()
                .map(|c| c.verifying_key.prepare()),
        )
    }
}

/// Where the genesis's parameters came from, in a line for operators: for each circuit, the
/// ceremony and who contributed, or a plain warning that they are a single-party development
/// setup; or that the genesis pins no continuation circuit.
pub fn parameters_origin(genesis: &Genesis) -> String {
    let primary = match &genesis.ceremony {
        Some(ceremony) => format!("parameters from {}", ceremony_origin(ceremony)),
        None => "DEVELOPMENT parameters: the genesis records no ceremony; whoever made them \
                 (a single-party setup) can forge claims, so they are not for production"
            .into(),
    };
    let continuation = match &genesis.continuation {
        Some(CircuitPin {
            ceremony: Some(ceremony),
            ..
        }) => format!(
            "continuation circuit's parameters from {}",
            ceremony_origin(ceremony)
        ),
        Some(_) => "continuation circuit's: DEVELOPMENT parameters, its pin records no ceremony \
                    (whoever made them can forge continuation claims)"
            .into(),
        None => "the genesis pins no continuation circuit".into(),
    };
    format!("{primary}; {continuation}")
}

/// A ceremony's contributions, in words.
fn ceremony_origin(ceremony: &zkclaim_ledger::Ceremony) -> String {
    let names: Vec<&str> = ceremony
        .contributions
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    format!(
        "a phase-2 ceremony of {} contributions ({}), transcript hash {}",
        names.len(),
        names.join(", "),
        hex::encode(ceremony.transcript_hash)
    )
}

/// What a genesis pins of `params` (of either circuit) and of the ceremony they came from.
pub fn circuit_pin(params: &ClaimParams, ceremony: Option<zkclaim_ledger::Ceremony>) -> CircuitPin {
    CircuitPin {
        verifying_key_digest: params.verifying_key.digest(),
        proving_key_digest: Some(params.proving_key.digest()),
        ceremony,
    }
}

/// Replays the chain (see [`DataDir::open_store`]) and re-verifies everything.
pub fn audit(
    data: &DataDir,
    keys: Keys<'_>,
    ledger: Option<&str>,
) -> Result<zkclaim_ledger::AuditReport, Error> {
    let genesis = data.load_genesis()?;
    let store = data.open_store(&genesis, ledger)?;
    let keys = verifying_keys(&genesis, keys)?;
    zkclaim_ledger::audit(&*store, &genesis, &keys).map_err(Error::AuditFailed)
}
