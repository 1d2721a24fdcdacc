//! A Groth16 phase 2 in snarkjs's `.zkey` format: a member's contribution
//! ([`contribute`]), the closing random beacon ([`beacon`]), and the checks that anyone can
//! run on the transcript ([`verify_transcript`]) and on the key against the initial one
//! ([`verify_from_init`]), so that zkclaim and snarkjs take turns on one ceremony and each
//! accepts the other's work.
//!
//! Section 10 of the zkey is the circuit hash (64 bytes), a `u32` count, then each
//! contribution: `deltaAfter`, `g1_s`, `g1_sx` (G1), `g2_spx` (G2), the transcript (64
//! bytes), its type (`u32`: 0 a contribution, 1 a beacon) and its parameters (`u32` length,
//! then by increasing tag: 1 the name (`u8` length, UTF-8), 2 the beacon's iterations
//! exponent (`u8`), 3 the beacon's hash (`u8` length, bytes)).
//!
//! A contribution of secret `x` multiplies delta (in G1 and G2) by `x` and the L and H
//! queries by `x⁻¹`. Its transcript is BLAKE2b-512 of the circuit hash, of every previous
//! contribution's public key ([`Contribution::hash_pub_key`]) and of `g1_s, g1_sx = x·g1_s`
//! (uncompressed); `g2_spx = x·hashToG2(transcript)` proves knowledge of `x`. What a member
//! publishes is BLAKE2b-512 of its public key ([`Contribution::hash`]). A beacon's `x` and
//! `g1_s` are drawn from its hash iterated by SHA-256 ([`rng::beacon_rng`]), so anyone
//! recomputes them.

use super::rng;
use crate::{
    circom,
    zkey::{
        self, g1_lem, g1_uncompressed, g2_lem, g2_uncompressed, u32_at, Zkey, ZkeyError, G1_SIZE,
        G2_SIZE,
    },
};
use ark_bn254::{Bn254, Fr, G1Affine, G1Projective, G2Affine};
use ark_ec::{pairing::Pairing, AffineRepr, CurveGroup, VariableBaseMSM};
use ark_ff::{Field, PrimeField, UniformRand, Zero};
use blake2::{Blake2b512, Digest};
use rand::{rngs::OsRng, CryptoRng, RngCore};
use rayon::prelude::*;
use zeroize::Zeroizing;

/// The longest name kept, in UTF-16 units: snarkjs keeps `name.substring(0, 64)`.
pub const NAME_MAX: usize = 64;

/// Bytes of a contribution before its parameters.
const FIXED: usize = 3 * G1_SIZE + G2_SIZE + 64 + 4 + 4;

/// The header's delta1 (then delta2): after `n8q, q, n8r, r`, three counts, alpha1, beta1,
/// beta2 and gamma2.
const DELTA_AT: usize = 84 + 2 * G1_SIZE + 2 * G2_SIZE;

#[derive(Debug, thiserror::Error)]
pub enum MpcError {
    #[error(transparent)]
    Zkey(#[from] ZkeyError),
    #[error("the zkey's contributions section ends inside contribution #{0}")]
    Truncated(usize),
    #[error("the zkey's contributions section has {0} bytes after its last contribution")]
    Trailing(usize),
    #[error(
        "the zkey's contribution #{index} is of type {found}: neither a contribution (0) nor a \
         beacon (1)"
    )]
    Type { index: usize, found: u32 },
    #[error("the zkey's contribution #{index}: its parameters {problem}")]
    Parameters { index: usize, problem: &'static str },
    #[error("a beacon's hash has 1 to 255 bytes, not {0}")]
    BeaconHash(usize),
    #[error("a beacon's iterations exponent is 10 to 63, not {0}")]
    Iterations(u32),
    #[error("this beacon's hash and iterations give the secret zero: choose another hash")]
    ZeroSecret,
    /// A contribution of the transcript does not hold.
    #[error("contribution #{index}{}: {failure}", named(.name))]
    Invalid {
        /// 1-based, as snarkjs lists contributions.
        index: usize,
        name: Option<String>,
        failure: Failure,
    },
    /// The key is not the initial key after the transcript's contributions.
    #[error("the key does not follow from the initial key: {0}")]
    NotFromInit(String),
}

impl MpcError {
    /// Whether the files were read and their ceremony does not hold (rather than a file
    /// malformed or an argument out of range).
    pub fn is_invalid_ceremony(&self) -> bool {
        matches!(self, MpcError::Invalid { .. } | MpcError::NotFromInit(_))
    }
}

fn named(name: &Option<String>) -> String {
    name.as_ref().map_or(String::new(), |n| format!(" ({n})"))
}

/// What is wrong with one contribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    #[error("its transcript is not the hash of the contributions before it and of its key")]
    Transcript,
    #[error("its proof of knowledge does not hold")]
    ProofOfKnowledge,
    #[error("its delta does not follow from the previous one by its key")]
    DeltaAfter,
    #[error("its key is not the one its beacon's hash and iterations give")]
    BeaconKey,
}

/// A beacon's public randomness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Beacon {
    pub hash: Vec<u8>,
    pub iterations_exp: u8,
}

/// One contribution (or beacon) of section 10: its public key and parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Contribution {
    pub delta_after: G1Affine,
    pub g1_s: G1Affine,
    pub g1_sx: G1Affine,
    pub g2_spx: G2Affine,
    pub transcript: [u8; 64],
    pub name: Option<String>,
    /// A beacon's (type 1); `None` for a member's contribution (type 0).
    pub beacon: Option<Beacon>,
}

impl Contribution {
    /// snarkjs's `hashPubKey`: `deltaAfter, g1_s, g1_sx, g2_spx` uncompressed, then the
    /// transcript.
    pub fn hash_pub_key(&self, hasher: &mut Blake2b512) {
        for p in [self.delta_after, self.g1_s, self.g1_sx] {
            hasher.update(g1_uncompressed(&p));
        }
        hasher.update(g2_uncompressed(&self.g2_spx));
        hasher.update(self.transcript);
    }

    /// The contribution hash its member publishes: BLAKE2b-512 of its public key.
    pub fn hash(&self) -> [u8; 64] {
        let mut hasher = Blake2b512::new();
        self.hash_pub_key(&mut hasher);
        hasher.finalize().into()
    }

    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&g1_lem(&self.delta_after));
        out.extend_from_slice(&g1_lem(&self.g1_s));
        out.extend_from_slice(&g1_lem(&self.g1_sx));
        out.extend_from_slice(&g2_lem(&self.g2_spx));
        out.extend_from_slice(&self.transcript);
        out.extend_from_slice(&u32::from(self.beacon.is_some()).to_le_bytes());
        let mut params = vec![];
        if let Some(name) = self
            .name
            .as_deref()
            .map(truncated)
            .filter(|n| !n.is_empty())
        {
            params.push(1);
            params.push(name.len() as u8);
            params.extend_from_slice(name.as_bytes());
        }
        if let Some(beacon) = &self.beacon {
            params.extend([2, beacon.iterations_exp, 3, beacon.hash.len() as u8]);
            params.extend_from_slice(&beacon.hash);
        }
        out.extend_from_slice(&(params.len() as u32).to_le_bytes());
        out.extend_from_slice(&params);
    }
}

/// `name` cut to [`NAME_MAX`] UTF-16 units, at a character's boundary (at most 192 bytes).
fn truncated(name: &str) -> &str {
    let mut units = 0;
    for (at, c) in name.char_indices() {
        units += c.len_utf16();
        if units > NAME_MAX {
            return &name[..at];
        }
    }
    name
}

/// Section 10: the circuit hash and the contributions.
#[derive(Debug, Clone, PartialEq)]
pub struct MpcParams {
    pub circuit_hash: [u8; 64],
    pub contributions: Vec<Contribution>,
}

impl MpcParams {
    /// Parses section 10, its points checked to be on the curve (and G2's in the subgroup).
    pub fn read(section: &[u8]) -> Result<Self, MpcError> {
        let head = section
            .get(..68)
            .ok_or(ZkeyError::Contributions(section.len()))?;
        let mut circuit_hash = [0; 64];
        circuit_hash.copy_from_slice(&head[..64]);
        let count = u32_at(head, 64) as usize;
        let mut rest = &section[68..];
        let mut contributions = Vec::new();
        for index in 1..=count {
            let (c, tail) = read_contribution(rest, index)?;
            contributions.push(c);
            rest = tail;
        }
        if !rest.is_empty() {
            return Err(MpcError::Trailing(rest.len()));
        }
        Ok(Self {
            circuit_hash,
            contributions,
        })
    }

    /// Section 10's bytes, as snarkjs writes them.
    pub fn write(&self) -> Vec<u8> {
        let mut out = self.circuit_hash.to_vec();
        out.extend_from_slice(&(self.contributions.len() as u32).to_le_bytes());
        for c in &self.contributions {
            c.write(&mut out);
        }
        out
    }

    /// The transcript hash: BLAKE2b-512 of the circuit hash and every contribution's public
    /// key in order. It fixes the whole ceremony (each transcript chains the ones before).
    pub fn transcript_hash(&self) -> [u8; 64] {
        let mut hasher = Blake2b512::new();
        hasher.update(self.circuit_hash);
        for c in &self.contributions {
            c.hash_pub_key(&mut hasher);
        }
        hasher.finalize().into()
    }
}

/// Contribution `index` (1-based) at the start of `bytes`, and what follows it.
fn read_contribution(bytes: &[u8], index: usize) -> Result<(Contribution, &[u8]), MpcError> {
    let (fixed, rest) = bytes
        .split_at_checked(FIXED)
        .ok_or(MpcError::Truncated(index))?;
    let point = |name: &str| format!("contribution #{index}'s {name}");
    let g1 = |at: usize, name: &str| zkey::g1(&fixed[at..at + G1_SIZE], &point(name));
    let delta_after = g1(0, "deltaAfter")?;
    let g1_s = g1(G1_SIZE, "g1_s")?;
    let g1_sx = g1(2 * G1_SIZE, "g1_sx")?;
    let at = 3 * G1_SIZE;
    let g2_spx = zkey::g2(&fixed[at..at + G2_SIZE], &point("g2_spx"))?;
    let at = at + G2_SIZE;
    let mut transcript = [0; 64];
    transcript.copy_from_slice(&fixed[at..at + 64]);
    let kind = u32_at(fixed, at + 64);
    let length = u32_at(fixed, at + 68) as usize;
    let (mut params, rest) = rest
        .split_at_checked(length)
        .ok_or(MpcError::Truncated(index))?;
    let problem = |problem| MpcError::Parameters { index, problem };
    let (mut name, mut exp, mut hash) = (None, None, None);
    let mut last = 0;
    while let Some((&tag, tail)) = params.split_first() {
        if tag <= last {
            return Err(problem("are not in increasing order"));
        }
        last = tag;
        let (value, tail) = match tag {
            1 | 3 => tail
                .split_first()
                .and_then(|(&n, tail)| tail.split_at_checked(n as usize)),
            2 => tail.split_at_checked(1),
            _ => return Err(problem("include one snarkjs does not know")),
        }
        .ok_or(problem("end inside one"))?;
        match tag {
            1 => {
                let text = std::str::from_utf8(value).map_err(|_| problem("name is not UTF-8"))?;
                name = Some(text.to_owned());
            }
            2 => exp = Some(value[0]),
            _ => hash = Some(value.to_vec()),
        }
        params = tail;
    }
    let beacon = match (kind, exp, hash) {
        (0, None, None) => None,
        (0, _, _) => return Err(problem("are a beacon's, but it is a contribution")),
        (1, Some(iterations_exp), Some(hash)) => Some(Beacon {
            hash,
            iterations_exp,
        }),
        (1, _, _) => return Err(problem("lack the beacon's hash or iterations")),
        (found, _, _) => return Err(MpcError::Type { index, found }),
    };
    let c = Contribution {
        delta_after,
        g1_s,
        g1_sx,
        g2_spx,
        transcript,
        name,
        beacon,
    };
    Ok((c, rest))
}

/// snarkjs's `sameRatio`: none of the points the identity, and `e(a, d) = e(b, c)`.
fn same_ratio(a: G1Affine, b: G1Affine, c: G2Affine, d: G2Affine) -> bool {
    if a.is_zero() || b.is_zero() || c.is_zero() || d.is_zero() {
        return false;
    }
    Bn254::multi_pairing([a, -b], [d, c]).is_zero()
}

/// The contribution hash a member publishes, and the new key.
pub struct Contributed {
    pub zkey: Vec<u8>,
    pub hash: [u8; 64],
}

/// A member's contribution to the key `zkey` (a snarkjs `.zkey`), under `name` (cut to
/// [`NAME_MAX`]; empty: none): a secret drawn from `entropy`, zeroized when done.
pub fn contribute(
    zkey: &[u8],
    name: &str,
    entropy: &mut (impl RngCore + CryptoRng),
) -> Result<Contributed, MpcError> {
    let mut x = Zeroizing::new(Fr::zero());
    while x.is_zero() {
        *x = Fr::rand(entropy);
    }
    let g1_s = G1Projective::rand(entropy).into_affine();
    apply(zkey, name, &x, g1_s, None)
}

/// The random beacon that closes a ceremony, as `snarkjs zkey beacon` makes it: its secret
/// and `g1_s` drawn from `beacon_hash` (1 to 255 bytes) hashed `2^iterations_exp` times (10
/// to 63).
pub fn beacon(
    zkey: &[u8],
    name: &str,
    beacon_hash: &[u8],
    iterations_exp: u32,
) -> Result<Contributed, MpcError> {
    if !(1..=255).contains(&beacon_hash.len()) {
        return Err(MpcError::BeaconHash(beacon_hash.len()));
    }
    let exp = match u8::try_from(iterations_exp) {
        Ok(exp @ 10..=63) => exp,
        _ => return Err(MpcError::Iterations(iterations_exp)),
    };
    let (x, g1_s) = beacon_key(beacon_hash, exp);
    let beacon = Beacon {
        hash: beacon_hash.to_vec(),
        iterations_exp: exp,
    };
    apply(zkey, name, &x, g1_s, Some(beacon))
}

/// A beacon's secret and `g1_s`.
fn beacon_key(hash: &[u8], exp: u8) -> (Fr, G1Affine) {
    let mut stream = rng::beacon_rng(hash, exp);
    let x = rng::fr_from_rng(&mut stream);
    (x, rng::g1_from_rng(&mut stream))
}

/// The key `zkey` with the contribution of secret `x` and `g1_s` appended.
fn apply(
    zkey: &[u8],
    name: &str,
    x: &Fr,
    g1_s: G1Affine,
    beacon: Option<Beacon>,
) -> Result<Contributed, MpcError> {
    let key = Zkey::read(zkey)?;
    let mut params = MpcParams::read(&key.contributions)?;
    let sections = circom::sections(zkey, b"zkey").map_err(ZkeyError::from)?;

    let mut hasher = Blake2b512::new();
    hasher.update(params.circuit_hash);
    for c in &params.contributions {
        c.hash_pub_key(&mut hasher);
    }
    let g1_sx = (g1_s * x).into_affine();
    hasher.update(g1_uncompressed(&g1_s));
    hasher.update(g1_uncompressed(&g1_sx));
    let transcript: [u8; 64] = hasher.finalize().into();
    let g2_spx = (rng::hash_to_g2(&transcript) * x).into_affine();
    let delta_g1 = (key.key.delta_g1 * x).into_affine();
    let delta_g2 = (key.key.vk.delta_g2 * x).into_affine();
    let c = Contribution {
        delta_after: delta_g1,
        g1_s,
        g1_sx,
        g2_spx,
        transcript,
        name: Some(truncated(name).to_owned()).filter(|n| !n.is_empty()),
        beacon,
    };
    let hash = c.hash();
    params.contributions.push(c);

    let mut header = zkey::section(&sections, 2)?.to_vec();
    header[DELTA_AT..DELTA_AT + G1_SIZE].copy_from_slice(&g1_lem(&delta_g1));
    header[DELTA_AT + G1_SIZE..DELTA_AT + G1_SIZE + G2_SIZE].copy_from_slice(&g2_lem(&delta_g2));
    let x_inv = Zeroizing::new(x.inverse().ok_or(MpcError::ZeroSecret)?);
    let [l, h] = [&key.key.l_query, &key.key.h_query].map(|points| scaled(points, &x_inv));
    let mpc = params.write();
    let mut out = vec![(1, zkey::section(&sections, 1)?), (2, &header[..])];
    for kind in 3..=7 {
        out.push((kind, zkey::section(&sections, kind)?));
    }
    out.extend([(8, &l[..]), (9, &h[..]), (10, &mpc[..])]);
    Ok(Contributed {
        zkey: circom::container(b"zkey", 1, &out),
        hash,
    })
}

/// `points` each multiplied by `by` (in parallel, GLV), in the file's form.
fn scaled(points: &[G1Affine], by: &Fr) -> Vec<u8> {
    let products: Vec<G1Projective> = points.par_iter().map(|p| *p * by).collect();
    G1Projective::normalize_batch(&products)
        .par_iter()
        .flat_map_iter(g1_lem)
        .collect()
}

/// One contribution as the transcript's check reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct ContributionReport {
    /// 1-based.
    pub index: usize,
    pub name: Option<String>,
    pub beacon: Option<Beacon>,
    /// What its member published ([`Contribution::hash`]).
    pub hash: [u8; 64],
}

/// A transcript that holds: what the genesis pins and members compare.
#[derive(Debug, Clone, PartialEq)]
pub struct TranscriptReport {
    pub circuit_hash: [u8; 64],
    /// [`MpcParams::transcript_hash`].
    pub transcript_hash: [u8; 64],
    pub contributions: Vec<ContributionReport>,
}

/// Checks every contribution as `snarkjs zkey verify` does: its transcript chains the
/// circuit hash and the contributions before it; its proof of knowledge
/// (`sameRatio(g1_s, g1_sx, hashToG2(transcript), g2_spx)`); its `deltaAfter` is the previous
/// one (from the generator) times its secret; a beacon's key is the one its parameters give.
/// The first failure in order is reported.
pub fn verify_transcript(params: &MpcParams) -> Result<TranscriptReport, MpcError> {
    // The hash state before each contribution, chained.
    let mut hasher = Blake2b512::new();
    hasher.update(params.circuit_hash);
    let mut before = Vec::with_capacity(params.contributions.len());
    for c in &params.contributions {
        before.push(hasher.clone());
        c.hash_pub_key(&mut hasher);
    }
    let checks: Vec<Result<(), Failure>> = params
        .contributions
        .par_iter()
        .zip(before)
        .enumerate()
        .map(|(i, (c, mut hasher))| {
            hasher.update(g1_uncompressed(&c.g1_s));
            hasher.update(g1_uncompressed(&c.g1_sx));
            if hasher.finalize().as_slice() != c.transcript {
                return Err(Failure::Transcript);
            }
            let g2_sp = rng::hash_to_g2(&c.transcript);
            if !same_ratio(c.g1_s, c.g1_sx, g2_sp, c.g2_spx) {
                return Err(Failure::ProofOfKnowledge);
            }
            let previous = match i {
                0 => G1Affine::generator(),
                _ => params.contributions[i - 1].delta_after,
            };
            if !same_ratio(previous, c.delta_after, g2_sp, c.g2_spx) {
                return Err(Failure::DeltaAfter);
            }
            if let Some(beacon) = &c.beacon {
                let (x, g1_s) = beacon_key(&beacon.hash, beacon.iterations_exp);
                if g1_s != c.g1_s || (g1_s * x).into_affine() != c.g1_sx {
                    return Err(Failure::BeaconKey);
                }
            }
            Ok(())
        })
        .collect();
    for (i, (check, c)) in checks.into_iter().zip(&params.contributions).enumerate() {
        check.map_err(|failure| MpcError::Invalid {
            index: i + 1,
            name: c.name.clone(),
            failure,
        })?;
    }
    Ok(TranscriptReport {
        circuit_hash: params.circuit_hash,
        transcript_hash: params.transcript_hash(),
        contributions: params
            .contributions
            .iter()
            .enumerate()
            .map(|(i, c)| ContributionReport {
                index: i + 1,
                name: c.name.clone(),
                beacon: c.beacon.clone(),
                hash: c.hash(),
            })
            .collect(),
    })
}

/// Checks the key `zkey` against the ceremony's initial key `init` (`snarkjs groth16 setup`'s
/// or `zkclaim ceremony new`'s), as `snarkjs zkey verify` does but without the phase-1 file:
/// its transcript ([`verify_transcript`]); the same circuit (counts, circuit hash, sections
/// 3–7 byte for byte) and alpha, beta, gamma; delta1 the last contribution's `deltaAfter`
/// and delta2 its G2 twin; and the L and H queries the initial key's scaled by the inverse of
/// the product of the secrets, which the initial and final delta2 witness: one pairing check
/// of both queries weighted by random 128-bit numbers.
pub fn verify_from_init(init: &[u8], zkey: &[u8]) -> Result<TranscriptReport, MpcError> {
    let (initial, key) = rayon::join(|| Zkey::read(init), || Zkey::read(zkey));
    let (initial, key) = (initial?, key?);
    let params = MpcParams::read(&key.contributions)?;
    let report = verify_transcript(&params)?;
    let refuse = |what: &str| Err(MpcError::NotFromInit(what.to_owned()));

    if initial.circuit_hash() != params.circuit_hash {
        return refuse("its circuit hash is not the initial key's");
    }
    let (a, b) = (&initial.circuit, &key.circuit);
    if (a.n_vars, a.n_public, a.domain_size) != (b.n_vars, b.n_public, b.domain_size) {
        return refuse("its variables, public inputs or domain differ from the initial key's");
    }
    let (a, b) = (&initial.key, &key.key);
    for (same, what) in [
        (a.vk.alpha_g1 == b.vk.alpha_g1, "alpha1"),
        (a.beta_g1 == b.beta_g1, "beta1"),
        (a.vk.beta_g2 == b.vk.beta_g2, "beta2"),
        (a.vk.gamma_g2 == b.vk.gamma_g2, "gamma2"),
    ] {
        if !same {
            return refuse(&format!("its {what} is not the initial key's"));
        }
    }
    let last = params
        .contributions
        .last()
        .map_or(G1Affine::generator(), |c| c.delta_after);
    if b.delta_g1 != last {
        return refuse("its delta1 is not the last contribution's deltaAfter");
    }
    if !same_ratio(
        G1Affine::generator(),
        b.delta_g1,
        ark_bn254::G2Affine::generator(),
        b.vk.delta_g2,
    ) {
        return refuse("its delta2 is not delta1's twin in G2");
    }
    let init_sections = circom::sections(init, b"zkey").map_err(ZkeyError::from)?;
    let sections = circom::sections(zkey, b"zkey").map_err(ZkeyError::from)?;
    for (kind, what) in [
        (3, "IC"),
        (4, "coefficients"),
        (5, "A"),
        (6, "B1"),
        (7, "B2"),
    ] {
        if zkey::section(&init_sections, kind)? != zkey::section(&sections, kind)? {
            return refuse(&format!(
                "its {what} section (#{kind}) is not the initial key's"
            ));
        }
    }

    // e(Σ rᵢ·Pᵢ(init), δ₂(init)) = e(Σ rᵢ·Pᵢ, δ₂) over the points of L and H.
    let init_points = [&a.l_query[..], &a.h_query[..]].concat();
    let points = [&b.l_query[..], &b.h_query[..]].concat();
    let weights: Vec<_> = (0..points.len())
        .map(|_| Fr::from(u128::from(OsRng.next_u64()) << 64 | u128::from(OsRng.next_u64())))
        .map(|r| r.into_bigint())
        .collect();
    let (before, after) = rayon::join(
        || G1Projective::msm_bigint(&init_points, &weights),
        || G1Projective::msm_bigint(&points, &weights),
    );
    let (before, after) = (before.into_affine(), after.into_affine());
    if !points.is_empty() && !same_ratio(before, after, b.vk.delta_g2, a.vk.delta_g2) {
        return refuse("its L and H queries are not the initial key's scaled by its delta");
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::{Fq, G2Projective};
    use ark_ff::BigInteger;
    use rand::{rngs::StdRng, SeedableRng};

    /// A small well-formed initial key: 3 variables (one public input), a domain of 4,
    /// random points, delta the generators, no contributions.
    fn toy_zkey(rng: &mut StdRng) -> Vec<u8> {
        let g1 = |rng: &mut StdRng| g1_lem(&G1Projective::rand(rng).into_affine()).to_vec();
        let g2 = |rng: &mut StdRng| g2_lem(&G2Projective::rand(rng).into_affine()).to_vec();
        let mut header = vec![];
        for modulus in [Fq::MODULUS.to_bytes_le(), Fr::MODULUS.to_bytes_le()] {
            header.extend_from_slice(&32u32.to_le_bytes());
            header.extend_from_slice(&modulus);
        }
        for count in [3u32, 1, 4] {
            header.extend_from_slice(&count.to_le_bytes());
        }
        header.extend([g1(rng), g1(rng), g2(rng), g2(rng)].concat());
        header.extend_from_slice(&g1_lem(&G1Affine::generator()));
        header.extend_from_slice(&g2_lem(&G2Affine::generator()));
        let points = |n: usize, rng: &mut StdRng| (0..n).flat_map(|_| g1(rng)).collect::<Vec<_>>();
        let (ic, a, b1, l, h) = (
            points(2, rng),
            points(3, rng),
            points(3, rng),
            points(1, rng),
            points(4, rng),
        );
        let b2: Vec<u8> = (0..3).flat_map(|_| g2(rng)).collect();
        let mut mpc = vec![7; 64];
        mpc.extend_from_slice(&0u32.to_le_bytes());
        circom::container(
            b"zkey",
            1,
            &[
                (1, &1u32.to_le_bytes()),
                (2, &header),
                (3, &ic),
                (4, &0u32.to_le_bytes()),
                (5, &a),
                (6, &b1),
                (7, &b2),
                (8, &l),
                (9, &h),
                (10, &mpc),
            ],
        )
    }

    /// The key `zkey` with section 10 replaced by `params`.
    fn with_params(zkey: &[u8], params: &MpcParams) -> Vec<u8> {
        let sections = circom::sections(zkey, b"zkey").unwrap();
        let mpc = params.write();
        let out: Vec<(u32, &[u8])> = sections
            .iter()
            .map(|&(kind, bytes)| (kind, if kind == 10 { &mpc[..] } else { bytes }))
            .collect();
        circom::container(b"zkey", 1, &out)
    }

    fn params(zkey: &[u8]) -> MpcParams {
        MpcParams::read(&Zkey::read(zkey).unwrap().contributions).unwrap()
    }

    /// Two members and a beacon on a toy key.
    fn ceremony(rng: &mut StdRng) -> (Vec<u8>, Vec<u8>, Vec<[u8; 64]>) {
        let init = toy_zkey(rng);
        let first = contribute(&init, "acme", rng).unwrap();
        let second = contribute(&first.zkey, "", rng).unwrap();
        let last = beacon(&second.zkey, "beacon", &[0xab; 8], 10).unwrap();
        (init, last.zkey, vec![first.hash, second.hash, last.hash])
    }

    #[test]
    fn contributions_and_a_beacon_verify_from_the_initial_key() {
        let mut rng = StdRng::seed_from_u64(1);
        let (init, last, hashes) = ceremony(&mut rng);
        let report = verify_from_init(&init, &last).unwrap();
        assert_eq!(report.circuit_hash, [7; 64]);
        let names: Vec<_> = report
            .contributions
            .iter()
            .map(|c| c.name.as_deref())
            .collect();
        assert_eq!(names, [Some("acme"), None, Some("beacon")]);
        let found: Vec<_> = report.contributions.iter().map(|c| c.hash).collect();
        assert_eq!(found, hashes);
        assert_eq!(
            report.contributions[2].beacon,
            Some(Beacon {
                hash: vec![0xab; 8],
                iterations_exp: 10
            })
        );
        let mut hasher = Blake2b512::new();
        hasher.update([7; 64]);
        for c in params(&last).contributions {
            c.hash_pub_key(&mut hasher);
        }
        assert_eq!(report.transcript_hash, <[u8; 64]>::from(hasher.finalize()));
        // delta and the L and H queries changed; the rest is the initial key's.
        let (a, b) = (Zkey::read(&init).unwrap(), Zkey::read(&last).unwrap());
        assert_ne!(a.key.delta_g1, b.key.delta_g1);
        assert_ne!(a.key.l_query, b.key.l_query);
        assert_ne!(a.key.h_query, b.key.h_query);
        assert_eq!(a.key.a_query, b.key.a_query);
        // The key with the beacon's transcript entry dropped: delta1 is not the last one's.
        let params = params(&last);
        let before = with_params(
            &last,
            &MpcParams {
                circuit_hash: params.circuit_hash,
                contributions: params.contributions[..2].to_vec(),
            },
        );
        assert!(verify_from_init(&init, &before).is_err());
    }

    #[test]
    fn section_10_is_written_back_as_read() {
        let mut rng = StdRng::seed_from_u64(2);
        let (_, last, _) = ceremony(&mut rng);
        let section = Zkey::read(&last).unwrap().contributions;
        let params = MpcParams::read(&section).unwrap();
        assert_eq!(params.write(), section);
        assert_eq!(params.contributions.len(), 3);
        // A truncated section, bytes after it, parameters out of order.
        assert!(matches!(
            MpcParams::read(&section[..section.len() - 1]),
            Err(MpcError::Truncated(3))
        ));
        assert!(matches!(
            MpcParams::read(&[&section[..], &[0]].concat()),
            Err(MpcError::Trailing(1))
        ));
        let mut beacon = params.clone();
        beacon.contributions[0].beacon = beacon.contributions[2].beacon.clone();
        let mut bytes = beacon.write();
        // Contribution #1's type: a beacon's parameters on a contribution.
        let at = 68 + FIXED - 8;
        assert_eq!(u32_at(&bytes, at), 1);
        bytes[at] = 0;
        assert_eq!(
            MpcParams::read(&bytes).unwrap_err().to_string(),
            "the zkey's contribution #1: its parameters are a beacon's, but it is a contribution"
        );
        bytes[at] = 2;
        assert!(matches!(
            MpcParams::read(&bytes),
            Err(MpcError::Type { index: 1, found: 2 })
        ));
    }

    #[test]
    fn names_are_cut_as_snarkjs_cuts_them() {
        let long = "a".repeat(70);
        assert_eq!(truncated(&long), &long[..64]);
        // 😀 is two UTF-16 units: 31 of them and a letter fit, a 33rd does not.
        let wide = format!("{}b{}", "😀".repeat(31), "😀".repeat(2));
        assert_eq!(truncated(&wide), format!("{}b", "😀".repeat(31)));
        let mut rng = StdRng::seed_from_u64(3);
        let next = contribute(&toy_zkey(&mut rng), &long, &mut rng).unwrap();
        assert_eq!(
            params(&next.zkey).contributions[0].name.as_deref(),
            Some(&long[..64])
        );
    }

    #[test]
    fn a_beacons_arguments_are_snarkjss() {
        let mut rng = StdRng::seed_from_u64(4);
        let zkey = toy_zkey(&mut rng);
        assert!(matches!(
            beacon(&zkey, "", &[], 10),
            Err(MpcError::BeaconHash(0))
        ));
        assert!(matches!(
            beacon(&zkey, "", &[1; 256], 10),
            Err(MpcError::BeaconHash(256))
        ));
        assert!(matches!(
            beacon(&zkey, "", &[1], 9),
            Err(MpcError::Iterations(9))
        ));
        assert!(matches!(
            beacon(&zkey, "", &[1], 64),
            Err(MpcError::Iterations(64))
        ));
        let a = beacon(&zkey, "", &[1; 255], 10).unwrap();
        assert_eq!(a.zkey, beacon(&zkey, "", &[1; 255], 10).unwrap().zkey);
    }

    fn failure(init: &[u8], zkey: &[u8]) -> String {
        verify_from_init(init, zkey).unwrap_err().to_string()
    }

    #[test]
    fn a_transcript_that_does_not_hold_is_refused_naming_the_contribution() {
        let mut rng = StdRng::seed_from_u64(5);
        let (init, last, _) = ceremony(&mut rng);
        let good = params(&last);
        let edited = |edit: &dyn Fn(&mut Vec<Contribution>)| {
            let mut p = good.clone();
            edit(&mut p.contributions);
            failure(&init, &with_params(&last, &p))
        };
        let other = G2Projective::rand(&mut rng).into_affine();
        assert_eq!(
            edited(&|c| c[0].g2_spx = other),
            "contribution #1 (acme): its proof of knowledge does not hold"
        );
        assert_eq!(
            edited(&|c| c[1].g1_sx = G1Affine::generator()),
            "contribution #2: its transcript is not the hash of the contributions before it and \
             of its key"
        );
        assert_eq!(
            edited(&|c| {
                c.remove(1);
            }),
            "contribution #2 (beacon): its transcript is not the hash of the contributions \
             before it and of its key"
        );
        assert_eq!(
            edited(&|c| c[2].beacon.as_mut().unwrap().hash[0] ^= 1),
            "contribution #3 (beacon): its key is not the one its beacon's hash and iterations \
             give"
        );
        // A deltaAfter of another secret: its own key's proof still holds.
        assert_eq!(
            edited(&|c| c[0].delta_after = (c[0].delta_after * Fr::from(2u64)).into_affine()),
            "contribution #1 (acme): its delta does not follow from the previous one by its key"
        );
    }

    #[test]
    fn a_key_that_does_not_follow_from_the_initial_key_is_refused() {
        let mut rng = StdRng::seed_from_u64(6);
        let (init, last, _) = ceremony(&mut rng);
        let sections = circom::sections(&last, b"zkey").unwrap();
        let replaced = |kind: u32, bytes: &[u8]| {
            let out: Vec<(u32, &[u8])> = sections
                .iter()
                .map(|&(k, b)| (k, if k == kind { bytes } else { b }))
                .collect();
            circom::container(b"zkey", 1, &out)
        };
        let point = g1_lem(&G1Projective::rand(&mut rng).into_affine());
        let h = zkey::section(&sections, 9).unwrap();
        let mut edited = h.to_vec();
        edited[2 * G1_SIZE..3 * G1_SIZE].copy_from_slice(&point);
        assert_eq!(
            failure(&init, &replaced(9, &edited)),
            "the key does not follow from the initial key: its L and H queries are not the \
             initial key's scaled by its delta"
        );
        let mut a = zkey::section(&sections, 5).unwrap().to_vec();
        a[..G1_SIZE].copy_from_slice(&point);
        assert_eq!(
            failure(&init, &replaced(5, &a)),
            "the key does not follow from the initial key: its A section (#5) is not the \
             initial key's"
        );
        // Another circuit's initial key: its circuit hash differs.
        let other = toy_zkey(&mut rng);
        let mut params = MpcParams::read(&Zkey::read(&other).unwrap().contributions).unwrap();
        params.circuit_hash = [8; 64];
        assert_eq!(
            failure(&with_params(&other, &params), &last),
            "the key does not follow from the initial key: its circuit hash is not the initial \
             key's"
        );
        assert_eq!(
            failure(&other, &last),
            "the key does not follow from the initial key: its alpha1 is not the initial key's"
        );
        // The last contribution's key is not the one the header's delta carries.
        let init_delta = zkey::section(&circom::sections(&init, b"zkey").unwrap(), 2).unwrap();
        let header = zkey::section(&sections, 2).unwrap();
        let mut header = header.to_vec();
        header[DELTA_AT..].copy_from_slice(&init_delta[DELTA_AT..]);
        assert_eq!(
            failure(&init, &replaced(2, &header)),
            "the key does not follow from the initial key: its delta1 is not the last \
             contribution's deltaAfter"
        );
    }
}
