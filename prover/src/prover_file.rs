//! `claim.prover`: what the prover precomputes for one circuit and proving key, in a
//! versioned binary file beside the key, so that a process proves without synthesizing the
//! circuit.
//!
//! Building the R1CS matrices (synthesis, inlining Poseidon's wide linear combinations,
//! `finalize`) and checking the proving key against its verifying key took most of a cold
//! `zkclaim prove`; both are done once, when the file is written, and the file is read back
//! in milliseconds. The proving key itself stays in `claim.pk` (the file a genesis pins):
//! this file records the SHA-256 of the key it was made with and is used only with that
//! key, so a pin keeps binding every point the prover uses.
//!
//! Layout (little-endian), then the SHA-256 of everything before it:
//!
//! | bytes | field |
//! |---|---|
//! | 8 | magic `ZKCLPRV\0` |
//! | 4 | format version ([`FORMAT_VERSION`]) |
//! | 1, 1, 2 | circuit (0 primary, 1 continuation), QAP (0 arkworks, 1 circom), zero |
//! | 4, 4 | shape: items, depth |
//! | 32 | SHA-256 of the `claim.pk` it was made with |
//! | 4, 4, 4 | instance variables (with the constant 1), witness variables, constraints |
//! | 4, 32·k | `k` distinct coefficients (canonical field elements) |
//! | 8 | length of the matrices that follow |
//! | … | A, B, C: per row its entry count (4), then per entry variable (4), coefficient index (4) |
//!
//! The trailing digest catches a damaged or truncated file; the values are then trusted as
//! written (no re-synthesis). A file edited on purpose with its digest redone can only make
//! proofs that do not verify, which the prover withholds ([`crate::prove`]).

use crate::{matrices::ClaimMatrices, params::Qap};
use ark_bn254::Fr;
use ark_ff::{BigInteger, PrimeField};
use ark_relations::gr1cs::Matrix;
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use zkclaim_circuits::{claim::Shape, Circuit};

/// The file's name in a circuit's parameters folder.
pub(crate) const PROVER_FILE: &str = "claim.prover";
const MAGIC: [u8; 8] = *b"ZKCLPRV\0";
/// The version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// Bytes before the coefficient table.
const HEADER: usize = 8 + 4 + 4 + 8 + 32 + 12;
const DIGEST: usize = 32;

/// Why a prover file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProverFileError {
    #[error("not a zkclaim prover file (no `ZKCLPRV` magic)")]
    NotAProverFile,
    #[error(
        "format version {found} is newer than this zkclaim reads ({FORMAT_VERSION}): upgrade \
         zkclaim, or delete the file to rebuild it from claim.pk"
    )]
    FromTheFuture { found: u32 },
    #[error("format version {0} is not one this zkclaim reads ({FORMAT_VERSION})")]
    Unsupported(u32),
    #[error("truncated: {found} bytes where its header announces {expected}")]
    Truncated { found: usize, expected: usize },
    #[error("damaged: its SHA-256 does not match the digest it ends with")]
    Damaged,
    #[error("made for the {found_circuit} circuit of shape {found:?}, not the {circuit} circuit of shape {expected:?}")]
    OtherCircuit {
        circuit: Circuit,
        expected: Shape,
        found_circuit: Circuit,
        found: Shape,
    },
    #[error("malformed: {0}")]
    Malformed(&'static str),
    /// Where it cannot be rebuilt (a browser): made with another proving key or QAP
    /// convention than the one it comes with.
    #[error("made with another proving key than the one given")]
    OtherKey,
}

/// What a prover file holds besides its header's identity: the matrices, and the key and
/// QAP convention they were made with.
pub(crate) struct ProverFile {
    pub qap: Qap,
    pub key_digest: [u8; 32],
    pub matrices: ClaimMatrices,
}

/// The file's bytes for `matrices` of `circuit` in `shape`, made with the proving key of
/// SHA-256 `key_digest` and convention `qap`.
pub(crate) fn encode(
    circuit: Circuit,
    shape: Shape,
    qap: Qap,
    key_digest: &[u8; 32],
    matrices: &ClaimMatrices,
) -> Vec<u8> {
    let mut coefficients: Vec<Fr> = Vec::new();
    let mut index: HashMap<Fr, u32> = HashMap::new();
    let mut body = Vec::new();
    for matrix in &matrices.abc {
        for row in matrix {
            body.extend_from_slice(&u32(row.len()).to_le_bytes());
            for (coefficient, variable) in row {
                let i = *index.entry(*coefficient).or_insert_with(|| {
                    coefficients.push(*coefficient);
                    u32(coefficients.len() - 1)
                });
                body.extend_from_slice(&u32(*variable).to_le_bytes());
                body.extend_from_slice(&i.to_le_bytes());
            }
        }
    }
    let mut out = Vec::with_capacity(HEADER + 4 + 32 * coefficients.len() + 8 + body.len() + 32);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&[circuit_byte(circuit), qap_byte(qap), 0, 0]);
    out.extend_from_slice(&u32(shape.items).to_le_bytes());
    out.extend_from_slice(&u32(shape.depth).to_le_bytes());
    out.extend_from_slice(key_digest);
    for n in [
        matrices.num_instance,
        matrices.num_witness,
        matrices.num_constraints,
    ] {
        out.extend_from_slice(&u32(n).to_le_bytes());
    }
    out.extend_from_slice(&u32(coefficients.len()).to_le_bytes());
    for c in &coefficients {
        out.extend_from_slice(&c.into_bigint().to_bytes_le());
    }
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(&body);
    let digest = Sha256::digest(&out);
    out.extend_from_slice(&digest);
    out
}

/// Reads a prover file, which must be of `circuit` in `shape`.
pub(crate) fn decode(
    bytes: &[u8],
    circuit: Circuit,
    shape: Shape,
) -> Result<ProverFile, ProverFileError> {
    if bytes.len() < MAGIC.len() || bytes[..MAGIC.len()] != MAGIC {
        return Err(ProverFileError::NotAProverFile);
    }
    let mut r = Reader { bytes, at: 8 };
    let version = r.u32()?;
    if version > FORMAT_VERSION {
        return Err(ProverFileError::FromTheFuture { found: version });
    }
    if version != FORMAT_VERSION {
        return Err(ProverFileError::Unsupported(version));
    }
    let [c, q, _, _] = r.take::<4>()?;
    let found = Shape {
        items: r.u32()? as usize,
        depth: r.u32()? as usize,
    };
    let found_circuit = match c {
        0 => Circuit::Primary,
        1 => Circuit::Continuation,
        _ => return Err(ProverFileError::Malformed("unknown circuit")),
    };
    if found_circuit != circuit || found != shape {
        return Err(ProverFileError::OtherCircuit {
            circuit,
            expected: shape,
            found_circuit,
            found,
        });
    }
    let qap = match q {
        0 => Qap::Libsnark,
        1 => Qap::Circom,
        _ => return Err(ProverFileError::Malformed("unknown QAP convention")),
    };
    let key_digest = r.take::<32>()?;
    let [num_instance, num_witness, num_constraints] = [r.u32()?, r.u32()?, r.u32()?];
    let k = r.u32()? as usize;
    let table_end = r.at + 32 * k;
    // The whole length is known once the matrices' length is read: say "truncated" for a
    // short file, rather than the digest mismatch it also is.
    let body_len = match bytes.get(table_end..table_end + 8) {
        Some(b) => u64::from_le_bytes(b.try_into().expect("8 bytes")) as usize,
        None => {
            return Err(ProverFileError::Truncated {
                found: bytes.len(),
                expected: table_end + 8 + DIGEST,
            })
        }
    };
    let expected = table_end
        .checked_add(8 + DIGEST)
        .and_then(|n| n.checked_add(body_len))
        .ok_or(ProverFileError::Malformed("impossible length"))?;
    if bytes.len() < expected {
        return Err(ProverFileError::Truncated {
            found: bytes.len(),
            expected,
        });
    }
    if bytes.len() > expected {
        return Err(ProverFileError::Malformed("bytes after the digest"));
    }
    let (content, digest) = bytes.split_at(expected - DIGEST);
    // The digest is checked beside the decoding, and decides: a damaged file is "damaged"
    // whatever its decoding met.
    let (intact, matrices) = rayon::join(
        || Sha256::digest(content).as_slice() == digest,
        || {
            decode_matrices(
                &mut r,
                k,
                expected - DIGEST,
                [num_instance, num_witness, num_constraints],
            )
        },
    );
    if !intact {
        return Err(ProverFileError::Damaged);
    }
    let abc = matrices?;
    Ok(ProverFile {
        qap,
        key_digest,
        matrices: ClaimMatrices {
            abc,
            num_instance: num_instance as usize,
            num_witness: num_witness as usize,
            num_constraints: num_constraints as usize,
        },
    })
}

/// The dictionary and the three matrices, from `r` on to `end` (where the digest starts).
fn decode_matrices(
    r: &mut Reader<'_>,
    k: usize,
    end: usize,
    [num_instance, num_witness, num_constraints]: [u32; 3],
) -> Result<Vec<Matrix<Fr>>, ProverFileError> {
    let coefficients = (0..k)
        .map(|_| {
            let le = r.take::<32>()?;
            Fr::from_bigint(ark_ff::BigInt(std::array::from_fn(|i| {
                u64::from_le_bytes(le[8 * i..8 * i + 8].try_into().expect("8 bytes"))
            })))
            .ok_or(ProverFileError::Malformed(
                "a coefficient is not a field element",
            ))
        })
        .collect::<Result<Vec<Fr>, _>>()?;
    r.at += 8;
    let variables = (num_instance + num_witness) as usize;
    // Each row's entries, found in one pass over the lengths, then decoded in parallel.
    let n = num_constraints as usize;
    // (Each row takes at least 4 bytes: a damaged count cannot reserve more than the file.)
    let mut rows: Vec<&[u8]> = Vec::with_capacity((3 * n).min(end.saturating_sub(r.at) / 4));
    for _ in 0..3 * n {
        let len = r.u32()? as usize;
        rows.push(
            r.bytes(
                len.checked_mul(8)
                    .ok_or(ProverFileError::Malformed("impossible length"))?,
            )?,
        );
    }
    let decode_row = |entries: &&[u8]| -> Result<Vec<(Fr, usize)>, ProverFileError> {
        let mut row = Vec::with_capacity(entries.len() / 8);
        for entry in entries.chunks_exact(8) {
            let [variable, i] = [&entry[..4], &entry[4..]]
                .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")) as usize);
            if variable >= variables {
                return Err(ProverFileError::Malformed("a variable out of range"));
            }
            let c = coefficients
                .get(i)
                .ok_or(ProverFileError::Malformed("a coefficient out of range"))?;
            row.push((*c, variable));
        }
        Ok(row)
    };
    // Collected whole, then checked: a collect that stops at an error cannot size its
    // vector up front, and grows it by copies.
    let decoded: Vec<Vec<Result<_, _>>> = (0..3)
        .into_par_iter()
        .map(|m| {
            rows[m * n..(m + 1) * n]
                .par_iter()
                .map(decode_row)
                .collect()
        })
        .collect();
    let mut abc: Vec<Matrix<Fr>> = Vec::with_capacity(3);
    for rows in decoded {
        let mut matrix = Vec::with_capacity(n);
        for row in rows {
            matrix.push(row?);
        }
        abc.push(matrix);
    }
    if r.at != end {
        return Err(ProverFileError::Malformed(
            "the matrices' length is not the one announced",
        ));
    }
    Ok(abc)
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], ProverFileError> {
        let out = self
            .bytes
            .get(self.at..self.at + N)
            .ok_or(ProverFileError::Truncated {
                found: self.bytes.len(),
                expected: self.at + N,
            })?;
        self.at += N;
        Ok(out.try_into().expect("N bytes"))
    }

    fn u32(&mut self) -> Result<u32, ProverFileError> {
        self.take::<4>().map(u32::from_le_bytes)
    }

    /// The next `n` bytes.
    fn bytes(&mut self, n: usize) -> Result<&'a [u8], ProverFileError> {
        let out = self
            .at
            .checked_add(n)
            .and_then(|end| self.bytes.get(self.at..end))
            .ok_or(ProverFileError::Truncated {
                found: self.bytes.len(),
                expected: self.at.saturating_add(n),
            })?;
        self.at += n;
        Ok(out)
    }
}

fn u32(n: usize) -> u32 {
    u32::try_from(n).expect("the circuits' sizes fit in 32 bits")
}

fn circuit_byte(circuit: Circuit) -> u8 {
    match circuit {
        Circuit::Primary => 0,
        Circuit::Continuation => 1,
    }
}

fn qap_byte(qap: Qap) -> u8 {
    match qap {
        Qap::Libsnark => 0,
        Qap::Circom => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{prove, ClaimParams, ParamsError};
    use rand::{rngs::StdRng, SeedableRng};
    use std::path::{Path, PathBuf};
    use zkclaim_circuits::sample;

    const SMALL: Shape = Shape { items: 2, depth: 3 };

    /// A saved folder of development parameters for the small shape, removed on drop.
    struct Folder(PathBuf);

    impl Folder {
        fn new(name: &str, seed: u64) -> (Self, ClaimParams) {
            let dir = std::env::temp_dir()
                .join(format!("zkclaim-prover-file-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            let params =
                ClaimParams::setup(Circuit::Primary, SMALL, &mut StdRng::seed_from_u64(seed))
                    .unwrap();
            params.save(&dir).unwrap();
            (Self(dir), params)
        }

        fn file(&self) -> PathBuf {
            let [.., file] = ClaimParams::files(&self.0, Circuit::Primary);
            file
        }

        fn edit(&self, f: impl FnOnce(&mut Vec<u8>)) {
            let mut bytes = std::fs::read(self.file()).unwrap();
            f(&mut bytes);
            std::fs::write(self.file(), bytes).unwrap();
        }

        fn load_error(&self) -> ProverFileError {
            match ClaimParams::load(&self.0, Circuit::Primary) {
                Err(ParamsError::ProverFile { source, path }) => {
                    assert!(path.ends_with(PROVER_FILE), "{path}");
                    source
                }
                other => panic!("expected a prover file error, got {other:?}"),
            }
        }
    }

    impl Drop for Folder {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn key_digest(dir: &Path) -> [u8; 32] {
        Sha256::digest(std::fs::read(dir.join("claim.pk")).unwrap()).into()
    }

    #[test]
    fn a_saved_folder_proves_with_the_matrices_of_its_prover_file() {
        let (folder, params) = Folder::new("proves", 1);
        let built = ClaimMatrices::build(Circuit::Primary, SMALL).unwrap();
        let file = decode(
            &std::fs::read(folder.file()).unwrap(),
            Circuit::Primary,
            SMALL,
        )
        .unwrap();
        assert_eq!(file.matrices.abc, built.abc);
        assert_eq!(
            (
                file.matrices.num_instance,
                file.matrices.num_witness,
                file.matrices.num_constraints
            ),
            (built.num_instance, built.num_witness, built.num_constraints)
        );
        assert_eq!(file.key_digest, key_digest(&folder.0));
        assert_eq!(file.qap, Qap::Libsnark);
        let loaded = ClaimParams::load(&folder.0, Circuit::Primary).unwrap();
        assert_eq!(loaded.matrices.abc, built.abc);
        let mut rng = StdRng::seed_from_u64(2);
        let package = prove(&loaded, sample::claim(&mut rng, SMALL, 2), &mut rng).unwrap();
        package.verify(&params.prepared).unwrap();
    }

    #[test]
    fn a_damaged_truncated_foreign_or_future_file_is_refused_by_name() {
        let (folder, _) = Folder::new("refused", 3);
        let good = std::fs::read(folder.file()).unwrap();

        folder.edit(|b| {
            let middle = b.len() / 2;
            b[middle] ^= 1;
        });
        assert_eq!(folder.load_error(), ProverFileError::Damaged);

        std::fs::write(folder.file(), &good[..good.len() - 100]).unwrap();
        assert!(matches!(
            folder.load_error(),
            ProverFileError::Truncated { found, expected }
                if found == good.len() - 100 && expected == good.len()
        ));
        std::fs::write(folder.file(), &good[..20]).unwrap();
        assert!(matches!(
            folder.load_error(),
            ProverFileError::Truncated { .. }
        ));

        std::fs::write(folder.file(), &good).unwrap();
        folder.edit(|b| b[8..12].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes()));
        assert_eq!(
            folder.load_error(),
            ProverFileError::FromTheFuture {
                found: FORMAT_VERSION + 1
            }
        );
        assert!(folder.load_error().to_string().contains("newer than"));

        // Another shape's file, with a correct digest: refused, not rebuilt over.
        let other = ClaimParams::setup(
            Circuit::Primary,
            Shape { items: 3, depth: 3 },
            &mut StdRng::seed_from_u64(4),
        )
        .unwrap();
        let foreign = other.prover_file_bytes(&key_digest(&folder.0));
        std::fs::write(folder.file(), &foreign).unwrap();
        assert!(matches!(
            folder.load_error(),
            ProverFileError::OtherCircuit { expected, found, .. }
                if expected == SMALL && found == (Shape { items: 3, depth: 3 })
        ));
        assert_eq!(std::fs::read(folder.file()).unwrap(), foreign);

        assert_eq!(
            decode(b"PK\x03\x04 not one", Circuit::Primary, SMALL).err(),
            Some(ProverFileError::NotAProverFile)
        );
        // Intact again, it loads.
        std::fs::write(folder.file(), &good).unwrap();
        ClaimParams::load(&folder.0, Circuit::Primary).unwrap();
    }

    #[test]
    fn a_missing_or_stale_prover_file_is_rebuilt_after_the_full_checks() {
        let (folder, params) = Folder::new("rebuilt", 5);
        let good = std::fs::read(folder.file()).unwrap();
        std::fs::remove_file(folder.file()).unwrap();
        ClaimParams::load(&folder.0, Circuit::Primary).unwrap();
        assert_eq!(std::fs::read(folder.file()).unwrap(), good);

        // A file made with another key is stale: the key is checked in full and the file
        // made again for it.
        let stale = params.prover_file_bytes(&[7; 32]);
        std::fs::write(folder.file(), &stale).unwrap();
        ClaimParams::load(&folder.0, Circuit::Primary).unwrap();
        assert_eq!(std::fs::read(folder.file()).unwrap(), good);

        // So a tampered key is caught even where a prover file is present: its digest is not
        // the one the file was made with, and the consistency checks run.
        let mut pk = params.proving_key.as_ark().clone();
        pk.delta_g1 = ark_bn254::G1Affine::identity();
        let mut bytes = Vec::new();
        ark_serialize::CanonicalSerialize::serialize_uncompressed(&pk, &mut bytes).unwrap();
        std::fs::write(folder.0.join("claim.pk"), bytes).unwrap();
        assert!(matches!(
            ClaimParams::load(&folder.0, Circuit::Primary),
            Err(ParamsError::Inconsistent(_))
        ));
        assert_eq!(std::fs::read(folder.file()).unwrap(), good);
    }
}
