//! The claim circuits and a claim's witness in circom's binary formats, so that snarkjs,
//! rapidsnark and other provers and ceremony tools work on the same statement: `.r1cs` (the
//! constraints) and `.wtns` (a full assignment).
//!
//! Both are iden3 binary containers: a 4-byte magic, a version and a section count (u32
//! little-endian), then sections of `type: u32, size: u64, bytes`. Field elements are 32
//! bytes, little-endian, in standard (not Montgomery) form. Wires are numbered as arkworks
//! numbers variables, which is circom's order: wire 0 is the constant 1, then the public
//! inputs in statement order (`PublicStatement::field_elements`), then the witness.
//! snarkjs's proving keys (`.zkey`, [`crate::zkey`]) are such containers too.

use crate::{matrices::ClaimMatrices, ProveError};
use ark_bn254::Fr;
use ark_ff::{BigInteger, PrimeField};
use ark_relations::gr1cs::ConstraintSynthesizer;
use zeroize::Zeroizing;
use zkclaim_circuits::{
    claim::{ClaimWitness, Shape},
    continuation::ContinuationWitness,
    gadget::{claim::ClaimCircuit, continuation::ContinuationCircuit},
};

/// Bytes of a field element.
const N8: u32 = 32;

pub(crate) fn container(magic: &[u8; 4], version: u32, sections: &[(u32, &[u8])]) -> Vec<u8> {
    let size: usize = sections.iter().map(|(_, s)| 12 + s.len()).sum();
    let mut out = Vec::with_capacity(12 + size);
    out.extend_from_slice(magic);
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&(sections.len() as u32).to_le_bytes());
    for (kind, bytes) in sections {
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        out.extend_from_slice(bytes);
    }
    out
}

/// A malformed iden3 binary container.
#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    #[error("not a {expected} file: it begins with \"{found}\"")]
    Magic { expected: String, found: String },
    #[error("the file ends inside {0}")]
    Truncated(String),
    #[error("{0} bytes follow the last section")]
    Trailing(usize),
}

/// The sections `(type, bytes)` of a container with this magic, in file order.
pub(crate) fn sections<'a>(
    bytes: &'a [u8],
    magic: &[u8; 4],
) -> Result<Vec<(u32, &'a [u8])>, ContainerError> {
    let truncated = |what: &str| ContainerError::Truncated(what.to_owned());
    let head = bytes.get(..12).ok_or_else(|| truncated("the header"))?;
    if &head[..4] != magic {
        return Err(ContainerError::Magic {
            expected: String::from_utf8_lossy(magic).into_owned(),
            found: head[..4].escape_ascii().to_string(),
        });
    }
    let count = u32::from_le_bytes(head[8..12].try_into().expect("4 bytes"));
    let mut rest = &bytes[12..];
    let mut out = Vec::new();
    for i in 0..count {
        let what = || truncated(&format!("section #{i}"));
        let (head, body) = rest.split_at_checked(12).ok_or_else(what)?;
        let kind = u32::from_le_bytes(head[..4].try_into().expect("4 bytes"));
        let size = u64::from_le_bytes(head[4..].try_into().expect("8 bytes"));
        let size = usize::try_from(size).map_err(|_| what())?;
        let (section, tail) = body.split_at_checked(size).ok_or_else(what)?;
        out.push((kind, section));
        rest = tail;
    }
    if !rest.is_empty() {
        return Err(ContainerError::Trailing(rest.len()));
    }
    Ok(out)
}

fn element(out: &mut Vec<u8>, x: &Fr) {
    out.extend_from_slice(&x.into_bigint().to_bytes_le());
}

/// `n8, r` as both formats' headers begin.
fn field_header() -> Vec<u8> {
    let mut header = N8.to_le_bytes().to_vec();
    header.extend_from_slice(&Fr::MODULUS.to_bytes_le());
    header
}

/// The circuit of `matrices` as an `.r1cs` file (version 1): its header (wires, 0 public
/// outputs, the public inputs, every witness wire counted as a private input, one label a
/// wire), the constraints `A·B = C` row by row, and the identity wire-to-label map.
pub fn r1cs(matrices: &ClaimMatrices) -> Vec<u8> {
    let wires = (matrices.num_instance + matrices.num_witness) as u32;
    let mut header = field_header();
    for count in [
        wires,
        0,
        matrices.num_instance as u32 - 1,
        matrices.num_witness as u32,
    ] {
        header.extend_from_slice(&count.to_le_bytes());
    }
    header.extend_from_slice(&u64::from(wires).to_le_bytes());
    header.extend_from_slice(&(matrices.num_constraints as u32).to_le_bytes());
    let mut constraints = Vec::new();
    for row in 0..matrices.num_constraints {
        for matrix in &matrices.abc[..3] {
            let terms = &matrix[row];
            constraints.extend_from_slice(&(terms.len() as u32).to_le_bytes());
            for (coefficient, wire) in terms {
                constraints.extend_from_slice(&(*wire as u32).to_le_bytes());
                element(&mut constraints, coefficient);
            }
        }
    }
    let labels: Vec<u8> = (0..u64::from(wires)).flat_map(u64::to_le_bytes).collect();
    container(b"r1cs", 1, &[(1, &header), (2, &constraints), (3, &labels)])
}

/// The full assignment of a primary claim as a `.wtns` file (version 2), the secrets
/// included: the buffer is wiped when dropped. The witness must satisfy the statement and
/// every constraint (checked as when proving).
pub fn wtns(
    matrices: &ClaimMatrices,
    shape: Shape,
    witness: ClaimWitness,
) -> Result<Zeroizing<Vec<u8>>, ProveError> {
    wtns_of(matrices, ClaimCircuit::new(shape, witness)?)
}

/// [`wtns`] for a continuation claim, with the continuation circuit's matrices.
pub fn wtns_continuation(
    matrices: &ClaimMatrices,
    shape: Shape,
    witness: ContinuationWitness,
) -> Result<Zeroizing<Vec<u8>>, ProveError> {
    wtns_of(matrices, ContinuationCircuit::new(shape, witness)?)
}

fn wtns_of(
    matrices: &ClaimMatrices,
    circuit: impl ConstraintSynthesizer<Fr>,
) -> Result<Zeroizing<Vec<u8>>, ProveError> {
    let z = matrices.assignment(circuit)?;
    if let Some(row) = matrices.first_unsatisfied(&z) {
        return Err(ProveError::Unsatisfied(format!("#{row}")));
    }
    let mut header = field_header();
    header.extend_from_slice(&(z.len() as u32).to_le_bytes());
    let mut values = Zeroizing::new(Vec::with_capacity(z.len() * N8 as usize));
    for x in z.iter() {
        // `to_bytes_le` makes a short-lived copy of each value: a stack temporary.
        values.extend_from_slice(&Zeroizing::new(x.into_bigint().to_bytes_le()));
    }
    Ok(Zeroizing::new(container(
        b"wtns",
        2,
        &[(1, &header), (2, &values)],
    )))
}
