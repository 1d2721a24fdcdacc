//! The consortium genesis (members, roles, the pinned circuit) and members' signing keys.

use crate::{
    encoding::{hex_bytes, optional_hex_bytes, put_bytes, put_u32, put_u64},
    LedgerError,
};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use rand::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::{collections::HashMap, fmt, path::Path};
use zeroize::{Zeroize, Zeroizing};
use zkclaim_circuits::{claim::Shape, tree, Circuit};

/// Domain separator of [`Genesis::digest`].
const GENESIS_DOMAIN: &[u8] = b"zkclaim/genesis/v1";

/// What a member may sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Hospital,
    Insurer,
    Regulator,
}

impl Role {
    fn tag(self) -> u8 {
        match self {
            Role::Hospital => 1,
            Role::Insurer => 2,
            Role::Regulator => 3,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Hospital => "hospital",
            Role::Insurer => "insurer",
            Role::Regulator => "regulator",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Member {
    #[cfg_attr(feature = "openapi", schema(maximum = 4294967295_u64))]
    pub id: u32,
    pub name: String,
    pub role: Role,
    /// Ed25519 public key.
    #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^[0-9a-fA-F]{64}$"))]
    #[serde(with = "hex_bytes")]
    pub public_key: [u8; 32],
}

/// The consortium's founding document, a JSON file every node holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Genesis {
    pub chain_id: String,
    pub members: Vec<Member>,
    /// SHA-256 of the claim circuit's compressed verifying key ([`zkclaim_verifier::ClaimVerifyingKey::digest`]).
    #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^[0-9a-fA-F]{64}$"))]
    #[serde(with = "hex_bytes")]
    pub verifying_key_digest: [u8; 32],
    /// SHA-256 of the claim circuit's proving key file (`claim.pk`), when the consortium pins
    /// it: a node or patient then proves only with that key. Checks against the verifying
    /// key cannot see an edited A, L or H query point; this digest does.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, pattern = "^[0-9a-fA-F]{64}$"))]
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "optional_hex_bytes"
    )]
    pub proving_key_digest: Option<[u8; 32]>,
    /// The phase-2 ceremony the parameters came from, as `zkclaim ceremony verify` found
    /// it; absent for single-party development parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ceremony: Option<Ceremony>,
    /// Statement v2: the continuation circuit's keys (coordination of benefits). Absent,
    /// continuation claims are refused; a genesis without it keeps its digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continuation: Option<CircuitPin>,
    pub shape: Shape,
    /// K: how many distinct invoice roots (one per block that registered or voided
    /// invoices) the ledger keeps. Statement v2 accepts a root by age
    /// (`root_max_age_ms`); K only bounds memory, and must hold every root that can be
    /// replaced within `root_max_age_ms`: K >= hospitals x `hospital_root_quota` + 1,
    /// checked at load. Absent from a file: 128, the v1 default (so that older genesis
    /// files keep their digests); `consortium init` writes 65,536.
    #[serde(default = "default_root_window")]
    pub root_window: u32,
    /// Statement v2: a claim's invoice root is accepted while it is the current root and for
    /// this many milliseconds of block time after a later root replaced it. A void replaces
    /// the root, so a voided invoice is unclaimable at most this long after its void.
    #[serde(default = "default_root_max_age_ms")]
    pub root_max_age_ms: u64,
    /// Statement v2: how many blocks that change the invoice tree (registrations or voids)
    /// one hospital may have within any `root_max_age_ms` of block time; a block carries any
    /// number of a hospital's registrations. Absent: (K - 1) / hospitals, the most that
    /// keeps every root replaced within `root_max_age_ms` among the K kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hospital_root_quota: Option<u32>,
    /// How long the committer waits for more transactions after the first of a block. 0 is
    /// group commit: a block takes whatever arrived while the previous one was being written,
    /// which batches under load without delaying a lone transaction.
    #[serde(default = "default_block_window_ms")]
    pub block_window_ms: u64,
}

/// What the genesis pins of a circuit other than the primary one: its verifying key's digest,
/// and, as for the primary circuit, its proving key's digest and the ceremony it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CircuitPin {
    /// SHA-256 of the circuit's compressed verifying key.
    #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^[0-9a-fA-F]{64}$"))]
    #[serde(with = "hex_bytes")]
    pub verifying_key_digest: [u8; 32],
    /// SHA-256 of the circuit's proving key file, when pinned.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, pattern = "^[0-9a-fA-F]{64}$"))]
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "optional_hex_bytes"
    )]
    pub proving_key_digest: Option<[u8; 32]>,
    /// The phase-2 ceremony of the circuit's parameters; absent for development ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ceremony: Option<Ceremony>,
}

/// A verified phase-2 ceremony's transcript, in snarkjs's terms, so that anyone holding the
/// ceremony's final `.zkey` (and the phase-1 file) can check that the pinned keys came from
/// it and who contributed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Ceremony {
    /// snarkjs's circuit hash: BLAKE2b-512 of the initial key, which the circuit and the
    /// phase-1 file determine.
    #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^[0-9a-fA-F]{128}$"))]
    #[serde(with = "hex_bytes")]
    pub circuit_hash: [u8; 64],
    /// BLAKE2b-512 of the circuit hash then each contribution's public key and transcript
    /// in order: what a next contribution would build on.
    #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^[0-9a-fA-F]{128}$"))]
    #[serde(with = "hex_bytes")]
    pub transcript_hash: [u8; 64],
    /// In order; the last one is normally the random beacon.
    pub contributions: Vec<Contribution>,
}

/// One phase-2 contribution: the name its contributor gave and the hash it published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Contribution {
    pub name: String,
    /// BLAKE2b-512 of the contribution's public key and transcript (snarkjs's
    /// "contribution hash").
    #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^[0-9a-fA-F]{128}$"))]
    #[serde(with = "hex_bytes")]
    pub hash: [u8; 64],
    /// When the contribution is a random beacon: its public input, so that anyone can
    /// recompute its key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beacon: Option<Beacon>,
}

/// A beacon contribution's public input: its key is derived from `hash` by 2^iterations_exp
/// rounds of SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Beacon {
    #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^([0-9a-fA-F]{2})+$"))]
    #[serde(with = "hex::serde")]
    pub hash: Vec<u8>,
    pub iterations_exp: u8,
}

/// A circuit's optional pins, in [`Genesis::digest`]: when pinned the byte 1 and the
/// proving-key digest, and when recorded the byte 2 and the ceremony.
fn put_keys(out: &mut Vec<u8>, proving_key_digest: &Option<[u8; 32]>, ceremony: &Option<Ceremony>) {
    if let Some(digest) = proving_key_digest {
        out.push(1);
        out.extend_from_slice(digest);
    }
    if let Some(ceremony) = ceremony {
        out.push(2);
        out.extend_from_slice(&ceremony.circuit_hash);
        out.extend_from_slice(&ceremony.transcript_hash);
        put_u32(out, ceremony.contributions.len() as u32);
        for c in &ceremony.contributions {
            put_bytes(out, c.name.as_bytes());
            out.extend_from_slice(&c.hash);
            match &c.beacon {
                None => out.push(0),
                Some(beacon) => {
                    out.push(1);
                    out.push(beacon.iterations_exp);
                    put_bytes(out, &beacon.hash);
                }
            }
        }
    }
}

/// A recorded ceremony must have a contribution and a pinned proving key.
fn check_ceremony(
    circuit: Circuit,
    proving_key_digest: &Option<[u8; 32]>,
    ceremony: &Option<Ceremony>,
) -> Result<(), LedgerError> {
    let Some(ceremony) = ceremony else {
        return Ok(());
    };
    if ceremony.contributions.is_empty() {
        return Err(LedgerError::InvalidGenesis(format!(
            "the {circuit} circuit's ceremony has no contribution: its key is the circuit's \
             initial key, which anyone can forge proofs with"
        )));
    }
    if proving_key_digest.is_none() {
        return Err(LedgerError::InvalidGenesis(format!(
            "a ceremony is recorded for the {circuit} circuit but no proving_key_digest pins \
             its key"
        )));
    }
    Ok(())
}

fn default_root_window() -> u32 {
    128
}

/// Statement v2's default `root_max_age`: 10 minutes.
pub const DEFAULT_ROOT_MAX_AGE_MS: u64 = 600_000;

/// The K `consortium init` writes: roots only bound memory in statement v2.
pub const DEFAULT_ROOT_WINDOW: u32 = 65_536;

fn default_root_max_age_ms() -> u64 {
    DEFAULT_ROOT_MAX_AGE_MS
}

fn default_block_window_ms() -> u64 {
    0
}

impl Genesis {
    /// SHA-256 of the canonical encoding: `"zkclaim/genesis/v1"`, chain_id (length-prefixed),
    /// member count (u32), each member in listed order (id u32, name length-prefixed, role
    /// byte 1/2/3, public key), the verifying-key digest, shape (items u64, depth u64),
    /// root_window (u32), when pinned the byte 1 and the proving-key digest, and when
    /// recorded the byte 2 and the ceremony (circuit hash, transcript hash, contribution
    /// count u32, each contribution's name (length-prefixed) and hash, then 0, or 1 for a
    /// beacon with its iteration exponent and hash (length-prefixed)), when
    /// `root_max_age_ms` is not the default 600,000 the byte 3 and it (u64), and when set the
    /// byte 4 and `hospital_root_quota` (u32), and when pinned the byte 5 and the
    /// continuation circuit's verifying-key digest, then its proving-key digest and ceremony
    /// as the primary circuit's (bytes 1 and 2). What is absent or default adds nothing, so
    /// older genesis files keep their digests (and get statement v2's rules with its
    /// defaults). It is the parent hash of block 1.
    /// `block_window_ms` is left out: it is each node's batching knob and does not change
    /// which chains are valid.
    pub fn digest(&self) -> [u8; 32] {
        let mut out = GENESIS_DOMAIN.to_vec();
        put_bytes(&mut out, self.chain_id.as_bytes());
        put_u32(
            &mut out,
            u32::try_from(self.members.len()).expect("fewer than 2^32 members"),
        );
        for m in &self.members {
            put_u32(&mut out, m.id);
            put_bytes(&mut out, m.name.as_bytes());
            out.push(m.role.tag());
            out.extend_from_slice(&m.public_key);
        }
        out.extend_from_slice(&self.verifying_key_digest);
        put_u64(&mut out, self.shape.items as u64);
        put_u64(&mut out, self.shape.depth as u64);
        put_u32(&mut out, self.root_window);
        put_keys(&mut out, &self.proving_key_digest, &self.ceremony);
        if self.root_max_age_ms != DEFAULT_ROOT_MAX_AGE_MS {
            out.push(3);
            put_u64(&mut out, self.root_max_age_ms);
        }
        if let Some(quota) = self.hospital_root_quota {
            out.push(4);
            put_u32(&mut out, quota);
        }
        if let Some(pin) = &self.continuation {
            out.push(5);
            out.extend_from_slice(&pin.verifying_key_digest);
            put_keys(&mut out, &pin.proving_key_digest, &pin.ceremony);
        }
        Sha256::digest(out).into()
    }

    /// How many blocks changing the invoice tree a hospital may have within any
    /// `root_max_age_ms` of block time: `hospital_root_quota`, or (K - 1) / hospitals.
    pub fn root_quota(&self) -> u32 {
        self.hospital_root_quota
            .unwrap_or_else(|| (self.root_window - 1) / self.hospitals().max(1))
    }

    fn hospitals(&self) -> u32 {
        self.members
            .iter()
            .filter(|m| m.role == Role::Hospital)
            .count() as u32
    }

    pub fn load(path: &Path) -> Result<Self, LedgerError> {
        let text = std::fs::read_to_string(path).map_err(|e| file_error(path, e))?;
        let genesis: Self = serde_json::from_str(&text).map_err(|e| file_error(path, e))?;
        genesis.check()?;
        Ok(genesis)
    }

    /// Checks what [`Genesis::load`] checks of a genesis assembled in memory: ids and keys
    /// unique, keys valid points, a usable tree depth, K >= 1.
    pub fn check(&self) -> Result<(), LedgerError> {
        self.consortium().map(drop)
    }

    /// Writes the genesis as pretty JSON to a new file; never replaces one, since a node's
    /// chain is bound to its genesis.
    pub fn save(&self, path: &Path) -> Result<(), LedgerError> {
        use std::io::Write;
        let mut json = serde_json::to_string_pretty(self).expect("genesis serializes");
        json.push('\n');
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .and_then(|mut file| file.write_all(json.as_bytes()))
            .map_err(|e| file_error(path, e))
    }

    /// Checks the genesis and indexes its members: ids and keys unique, keys valid points,
    /// a usable tree depth, K >= 1.
    pub(crate) fn consortium(&self) -> Result<Consortium, LedgerError> {
        let bad = |reason: String| Err(LedgerError::InvalidGenesis(reason));
        if self.chain_id.is_empty() {
            return bad("chain_id is empty".into());
        }
        if self.members.is_empty() {
            return bad("no members".into());
        }
        if !(1..=tree::MAX_DEPTH).contains(&self.shape.depth) || self.shape.items == 0 {
            return bad(format!("unsupported shape {:?}", self.shape));
        }
        if self.root_window == 0 {
            return bad("root_window must be at least 1".into());
        }
        let (hospitals, quota) = (self.hospitals(), self.root_quota());
        if hospitals > 0 && quota == 0 {
            return bad(format!(
                "root_window {} leaves no block within root_max_age_ms for {hospitals} \
                 hospitals: it must be at least hospitals + 1 = {}",
                self.root_window,
                hospitals + 1
            ));
        }
        let needed = u64::from(hospitals) * u64::from(quota) + 1;
        if needed > u64::from(self.root_window) {
            return bad(format!(
                "root_window {} cannot hold every root replaced within root_max_age_ms: \
                 {hospitals} hospitals x hospital_root_quota {quota} + the current root = \
                 {needed}; raise root_window to {needed} or lower hospital_root_quota",
                self.root_window
            ));
        }
        check_ceremony(Circuit::Primary, &self.proving_key_digest, &self.ceremony)?;
        if let Some(pin) = &self.continuation {
            check_ceremony(
                Circuit::Continuation,
                &pin.proving_key_digest,
                &pin.ceremony,
            )?;
        }
        let mut members = HashMap::new();
        for m in &self.members {
            let key = VerifyingKey::from_bytes(&m.public_key).map_err(|_| {
                LedgerError::InvalidGenesis(format!("member {}: invalid public key", m.id))
            })?;
            if key.is_weak() {
                return bad(format!("member {}: weak public key", m.id));
            }
            if members.values().any(|(_, k)| *k == key) {
                return bad(format!("member {}: public key used twice", m.id));
            }
            if members.insert(m.id, (m.role, key)).is_some() {
                return bad(format!("member id {} listed twice", m.id));
            }
        }
        Ok(Consortium {
            chain_id: self.chain_id.clone(),
            members,
        })
    }
}

/// The validated member list: who may sign what.
pub(crate) struct Consortium {
    pub(crate) chain_id: String,
    members: HashMap<u32, (Role, VerifyingKey)>,
}

impl Consortium {
    /// Checks that `member` exists and signed `message`; returns its role.
    pub(crate) fn verify(
        &self,
        member: u32,
        message: &[u8],
        signature: &[u8; 64],
    ) -> Result<Role, LedgerError> {
        let (role, key) = self
            .members
            .get(&member)
            .ok_or(LedgerError::UnknownMember(member))?;
        // Strict: no malleable signatures, no small-order keys.
        key.verify_strict(message, &Signature::from_bytes(signature))
            .map_err(|_| LedgerError::BadSignature)?;
        Ok(*role)
    }

    pub(crate) fn public_key(&self, member: u32) -> Option<[u8; 32]> {
        self.members.get(&member).map(|(_, k)| k.to_bytes())
    }
}

/// A member's Ed25519 signing key. `Debug` prints only the member id; the key is wiped
/// from memory on drop.
#[derive(Clone)]
pub struct MemberKey {
    member_id: u32,
    key: SigningKey,
}

/// The key file, `{"member_id": 7, "secret_key": "<64 hex digits>"}`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    member_id: u32,
    secret_key: String,
}

impl Drop for KeyFile {
    fn drop(&mut self) {
        self.secret_key.zeroize();
    }
}

impl MemberKey {
    pub fn generate<R: RngCore + CryptoRng>(member_id: u32, rng: &mut R) -> Self {
        Self {
            member_id,
            key: SigningKey::generate(rng),
        }
    }

    pub fn member_id(&self) -> u32 {
        self.member_id
    }

    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    pub(crate) fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }

    /// Signs arbitrary bytes, for off-ledger authentication (the HTTP service's request
    /// signatures). Callers must domain-separate their messages from the ledger's
    /// `"zkclaim/tx/v1"` and block encodings.
    pub fn sign_bytes(&self, message: &[u8]) -> [u8; 64] {
        self.sign(message)
    }

    /// The key file's JSON, wiped from memory when dropped.
    pub fn to_json(&self) -> Zeroizing<String> {
        let file = KeyFile {
            member_id: self.member_id,
            secret_key: hex::encode(self.key.as_bytes()),
        };
        Zeroizing::new(serde_json::to_string_pretty(&file).expect("key file serializes"))
    }

    pub fn from_json(json: &str) -> Result<Self, LedgerError> {
        let file: KeyFile =
            serde_json::from_str(json).map_err(|e| LedgerError::InvalidKey(e.to_string()))?;
        let mut secret = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(&file.secret_key, secret.as_mut())
            .map_err(|_| LedgerError::InvalidKey("secret_key must be 64 hex digits".into()))?;
        Ok(Self {
            member_id: file.member_id,
            key: SigningKey::from_bytes(&secret),
        })
    }

    pub fn load(path: &Path) -> Result<Self, LedgerError> {
        let json = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| file_error(path, e))?);
        Self::from_json(&json).map_err(|e| file_error(path, e))
    }

    /// Writes a new key file, readable by its owner only; never overwrites an existing one,
    /// since a lost member key cannot be recovered.
    pub fn save(&self, path: &Path) -> Result<(), LedgerError> {
        use std::io::Write;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(|e| file_error(path, e))?;
        file.write_all(self.to_json().as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| file_error(path, e))
    }
}

impl fmt::Debug for MemberKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MemberKey(member {}, <redacted>)", self.member_id)
    }
}

fn file_error(path: &Path, e: impl fmt::Display) -> LedgerError {
    LedgerError::File {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{rngs::StdRng, SeedableRng};

    fn genesis() -> Genesis {
        let mut rng = StdRng::seed_from_u64(1);
        Genesis {
            chain_id: "test".into(),
            members: (1..=3)
                .map(|id| Member {
                    id,
                    name: format!("m{id}"),
                    role: Role::Hospital,
                    public_key: MemberKey::generate(id, &mut rng).public_key(),
                })
                .collect(),
            verifying_key_digest: [7; 32],
            proving_key_digest: Some([8; 32]),
            ceremony: Some(Ceremony {
                circuit_hash: [9; 64],
                transcript_hash: [10; 64],
                contributions: vec![
                    Contribution {
                        name: "Renji Hospital".into(),
                        hash: [11; 64],
                        beacon: None,
                    },
                    Contribution {
                        name: "beacon".into(),
                        hash: [12; 64],
                        beacon: Some(Beacon {
                            hash: vec![13; 32],
                            iterations_exp: 10,
                        }),
                    },
                ],
            }),
            continuation: None,
            shape: Shape { items: 2, depth: 8 },
            root_window: 128,
            root_max_age_ms: 60_000,
            hospital_root_quota: Some(40),
            block_window_ms: 5,
        }
    }

    #[test]
    fn json_round_trips_and_defaults_apply() {
        let g = genesis();
        let json = serde_json::to_string(&g).unwrap();
        assert!(json.contains(r#""role":"hospital""#), "{json}");
        assert_eq!(serde_json::from_str::<Genesis>(&json).unwrap(), g);
        let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
        let obj = v.as_object_mut().unwrap();
        obj.remove("root_window");
        obj.remove("block_window_ms");
        obj.remove("proving_key_digest");
        obj.remove("ceremony");
        obj.remove("root_max_age_ms");
        obj.remove("hospital_root_quota");
        let back: Genesis = serde_json::from_value(v).unwrap();
        assert_eq!((back.root_window, back.block_window_ms), (128, 0));
        assert_eq!(
            (back.root_max_age_ms, back.hospital_root_quota),
            (600_000, None)
        );
        // Three hospitals share the 127 roots besides the current one.
        assert_eq!(back.root_quota(), 42);
        assert_eq!((back.proving_key_digest, &back.ceremony), (None, &None));
        // Unpinned, the fields are not written at all: older genesis files keep their bytes.
        let json = serde_json::to_string(&back).unwrap();
        assert!(
            !json.contains("proving_key_digest") && !json.contains("ceremony"),
            "{json}"
        );
        let beacon = &g.ceremony.as_ref().unwrap().contributions[1];
        assert_eq!(
            serde_json::to_value(beacon).unwrap()["beacon"],
            serde_json::json!({"hash": "0d".repeat(32), "iterations_exp": 10})
        );
    }

    #[test]
    fn digest_covers_every_consensus_field_but_not_the_batching_window() {
        let g = genesis();
        fn ceremony(g: &mut Genesis) -> &mut Ceremony {
            g.ceremony.as_mut().unwrap()
        }
        fn beacon(g: &mut Genesis) -> &mut Beacon {
            ceremony(g).contributions[1].beacon.as_mut().unwrap()
        }
        let edits: [&dyn Fn(&mut Genesis); 22] = [
            &|g| g.root_max_age_ms += 1,
            &|g| g.hospital_root_quota = Some(41),
            &|g| g.hospital_root_quota = None,
            &|g| g.chain_id.push('x'),
            &|g| g.members[0].id = 9,
            &|g| g.members[1].name.push('x'),
            &|g| g.members[2].role = Role::Insurer,
            &|g| g.members[0].public_key = g.members[1].public_key,
            &|g| g.verifying_key_digest[0] ^= 1,
            &|g| g.shape.depth += 1,
            &|g| g.root_window += 1,
            &|g| g.proving_key_digest.as_mut().unwrap()[0] ^= 1,
            &|g| g.proving_key_digest = None,
            &|g| ceremony(g).circuit_hash[0] ^= 1,
            &|g| ceremony(g).transcript_hash[63] ^= 1,
            &|g| ceremony(g).contributions[0].name.push('x'),
            &|g| ceremony(g).contributions[0].hash[0] ^= 1,
            &|g| ceremony(g).contributions.swap(0, 1),
            &|g| drop(ceremony(g).contributions.pop()),
            &|g| beacon(g).iterations_exp += 1,
            &|g| beacon(g).hash.push(0),
            &|g| g.ceremony = None,
        ];
        for (i, edit) in edits.iter().enumerate() {
            let mut changed = g.clone();
            edit(&mut changed);
            assert_ne!(changed.digest(), g.digest(), "edit {i}");
        }
        let mut batching = g.clone();
        batching.block_window_ms = 1;
        assert_eq!(batching.digest(), g.digest());
    }

    /// [`genesis`]'s digest without the v2 fields, computed by the code before statement v2.
    const V1_DIGEST: &str = "c605c25af42da9f03d5bf0fc1058df36766a2adbe900ace604fdaa0699867396";

    #[test]
    fn v2_defaults_leave_an_older_genesis_digest_as_it_was() {
        let mut g = genesis();
        g.root_max_age_ms = DEFAULT_ROOT_MAX_AGE_MS;
        g.hospital_root_quota = None;
        // The v1 digest: everything up to the ceremony, nothing after.
        let mut v1 = g.clone();
        v1.root_max_age_ms = 1;
        assert_ne!(v1.digest(), g.digest());
        let json = serde_json::to_value(&g).unwrap();
        let mut older = json.clone();
        older.as_object_mut().unwrap().remove("root_max_age_ms");
        let back: Genesis = serde_json::from_value(older).unwrap();
        assert_eq!(back.digest(), g.digest());
        // A known digest, computed before statement v2: no field of v2 changes it.
        assert_eq!(
            hex::encode(back.digest()),
            V1_DIGEST,
            "the digest of a genesis without v2 fields changed"
        );
    }

    #[test]
    fn a_continuation_pin_is_covered_by_the_digest_and_its_ceremony_checked() {
        let g = genesis();
        let mut pinned = g.clone();
        pinned.continuation = Some(CircuitPin {
            verifying_key_digest: [14; 32],
            proving_key_digest: Some([15; 32]),
            ceremony: g.ceremony.clone(),
        });
        assert!(pinned.check().is_ok());
        assert_ne!(pinned.digest(), g.digest());
        let json = serde_json::to_string(&pinned).unwrap();
        assert_eq!(serde_json::from_str::<Genesis>(&json).unwrap(), pinned);
        // Unpinned, it is not written: older files keep their bytes and their digests.
        assert!(!serde_json::to_string(&g).unwrap().contains("continuation"));
        fn pin(g: &mut Genesis) -> &mut CircuitPin {
            g.continuation.as_mut().unwrap()
        }
        let edits: [&dyn Fn(&mut Genesis); 5] = [
            &|g| pin(g).verifying_key_digest[0] ^= 1,
            &|g| pin(g).proving_key_digest.as_mut().unwrap()[0] ^= 1,
            &|g| pin(g).ceremony.as_mut().unwrap().transcript_hash[0] ^= 1,
            &|g| pin(g).ceremony = None,
            &|g| g.continuation = None,
        ];
        for (i, edit) in edits.iter().enumerate() {
            let mut changed = pinned.clone();
            edit(&mut changed);
            assert_ne!(changed.digest(), pinned.digest(), "edit {i}");
        }
        // The pin's ceremony is checked as the primary circuit's is.
        let mut unpinned_key = pinned.clone();
        pin(&mut unpinned_key).proving_key_digest = None;
        let mut no_contribution = pinned.clone();
        pin(&mut no_contribution)
            .ceremony
            .as_mut()
            .unwrap()
            .contributions
            .clear();
        for g in [unpinned_key, no_contribution] {
            assert!(
                matches!(g.check(), Err(LedgerError::InvalidGenesis(reason)) if reason.contains("continuation")),
                "{:?}",
                g.check()
            );
        }
    }

    #[test]
    fn save_writes_what_load_reads_and_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("genesis.json");
        let g = genesis();
        g.save(&path).unwrap();
        assert_eq!(Genesis::load(&path).unwrap(), g);
        let mut other = genesis();
        other.chain_id = "other".into();
        assert!(matches!(other.save(&path), Err(LedgerError::File { .. })));
        assert_eq!(Genesis::load(&path).unwrap(), g);
    }

    #[test]
    fn consortium_refuses_duplicate_ids_keys_and_bad_shapes() {
        assert!(genesis().check().is_ok());
        let edits: [fn(&mut Genesis); 10] = [
            |g| g.members[1].id = g.members[0].id,
            |g| g.members[1].public_key = g.members[0].public_key,
            |g| g.shape.depth = 0,
            |g| g.root_window = 0,
            |g| g.chain_id.clear(),
            |g| g.ceremony.as_mut().unwrap().contributions.clear(),
            |g| g.proving_key_digest = None,
            // 3 hospitals x 43 + 1 > 128.
            |g| g.hospital_root_quota = Some(43),
            |g| g.hospital_root_quota = Some(0),
            // Derived: 3 / 3 hospitals = 1 each, but 3 x 1 + 1 > 3.
            |g| (g.root_window, g.hospital_root_quota) = (3, None),
        ];
        for (i, edit) in edits.iter().enumerate() {
            let mut g = genesis();
            edit(&mut g);
            assert!(
                matches!(g.check(), Err(LedgerError::InvalidGenesis(_))),
                "edit {i}"
            );
        }
    }

    #[test]
    fn key_file_round_trips_and_debug_hides_the_secret() {
        let key = MemberKey::generate(7, &mut StdRng::seed_from_u64(2));
        let json = key.to_json();
        assert!(json.contains(r#""member_id": 7"#), "{}", *json);
        let back = MemberKey::from_json(&json).unwrap();
        assert_eq!((back.member_id(), back.public_key()), (7, key.public_key()));
        let secret = hex::encode(key.key.as_bytes());
        assert!(json.contains(&secret));
        let debug = format!("{key:?}");
        assert_eq!(debug, "MemberKey(member 7, <redacted>)");
        assert!(MemberKey::from_json(r#"{"member_id": 7, "secret_key": "00"}"#).is_err());
    }

    #[test]
    fn sign_bytes_verifies_only_for_its_member_and_message() {
        let mut rng = StdRng::seed_from_u64(1);
        let key = MemberKey::generate(1, &mut rng);
        let consortium = genesis().consortium().unwrap();
        let signature = key.sign_bytes(b"POST\n/v1/invoices");
        assert_eq!(
            consortium.verify(1, b"POST\n/v1/invoices", &signature),
            Ok(Role::Hospital)
        );
        assert_eq!(
            consortium.verify(1, b"POST\n/v1/claims", &signature),
            Err(LedgerError::BadSignature)
        );
        assert_eq!(
            consortium.verify(2, b"POST\n/v1/invoices", &signature),
            Err(LedgerError::BadSignature)
        );
        assert_eq!(
            consortium.verify(9, b"POST\n/v1/invoices", &signature),
            Err(LedgerError::UnknownMember(9))
        );
    }

    #[test]
    fn saving_never_overwrites_a_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("member.json");
        let key = MemberKey::generate(3, &mut StdRng::seed_from_u64(3));
        key.save(&path).unwrap();
        assert_eq!(
            MemberKey::load(&path).unwrap().public_key(),
            key.public_key()
        );
        let other = MemberKey::generate(3, &mut StdRng::seed_from_u64(4));
        assert!(matches!(other.save(&path), Err(LedgerError::File { .. })));
        assert_eq!(
            MemberKey::load(&path).unwrap().public_key(),
            key.public_key()
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
