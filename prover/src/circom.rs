//! The claim circuit and a claim's witness in circom's binary formats, so that snarkjs,
//! rapidsnark and other provers and ceremony tools work on the same statement: `.r1cs` (the
//! constraints) and `.wtns` (a full assignment).
//!
//! Both are iden3 binary containers: a 4-byte magic, a version and a section count (u32
//! little-endian), then sections of `type: u32, size: u64, bytes`. Field elements are 32
//! bytes, little-endian, in standard (not Montgomery) form. Wires are numbered as arkworks
//! numbers variables, which is circom's order: wire 0 is the constant 1, then the public
//! inputs in statement order (`PublicInputs::to_field_elements`), then the witness.

use crate::{matrices::ClaimMatrices, ProveError};
use ark_bn254::Fr;
use ark_ff::{BigInteger, PrimeField};
use zeroize::Zeroizing;
use zkclaim_circuits::{
    claim::{ClaimWitness, Shape},
    gadget::claim::ClaimCircuit,
};

/// Bytes of a field element.
const N8: u32 = 32;

fn container(magic: &[u8; 4], version: u32, sections: &[(u32, &[u8])]) -> Vec<u8> {
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

/// The full assignment of a claim as a `.wtns` file (version 2), the secrets included: the
/// buffer is wiped when dropped. The witness must satisfy the statement and every constraint
/// (checked as when proving).
pub fn wtns(
    matrices: &ClaimMatrices,
    shape: Shape,
    witness: ClaimWitness,
) -> Result<Zeroizing<Vec<u8>>, ProveError> {
    let circuit = ClaimCircuit::new(shape, witness)?;
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
