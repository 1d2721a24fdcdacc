//! snarkjs's Groth16 proving key (`.zkey`), as a phase-2 ceremony makes it (`snarkjs groth16
//! setup`, then `zkey contribute` or `zkey beacon`): read into arkworks' form, with what it
//! says of its circuit kept to be checked against the claim circuit.
//!
//! An iden3 container (magic `zkey`, version 1; [`crate::circom::sections`]) of sections
//! 1 protocol (1: Groth16), 2 header (`n8q, q, n8r, r, nVars, nPublic, domainSize`, then
//! alpha1, beta1, beta2, gamma2, delta1, delta2), 3 IC, 4 the A and B coefficients, 5 A,
//! 6 B1, 7 B2, 8 C (the L query: the private signals'), 9 H (`domainSize` points), 10 the
//! contributions. Field elements are 32 bytes little-endian in Montgomery form; a point is
//! its coordinates (G2: `x.c0, x.c1, y.c0, y.c1`), all zero for the identity. The H query
//! follows circom's QAP convention ([`crate::Qap::Circom`]).

use crate::{circom, matrices::ClaimMatrices};
use ark_bn254::{Bn254, Fq, Fq2, Fr, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::{BigInt, BigInteger, One, PrimeField};
use ark_groth16::{ProvingKey, VerifyingKey};
use rayon::prelude::*;

/// Bytes of a field element, of a G1 point, of a G2 point.
pub(crate) const N8: usize = 32;
pub(crate) const G1_SIZE: usize = 2 * N8;
pub(crate) const G2_SIZE: usize = 4 * N8;

#[derive(Debug, thiserror::Error)]
pub enum ZkeyError {
    #[error(transparent)]
    Container(#[from] circom::ContainerError),
    #[error("the zkey has no section {0}")]
    Missing(u32),
    #[error("the zkey has section {0} more than once")]
    Repeated(u32),
    #[error("the zkey's protocol is {0}, not Groth16 (1)")]
    Protocol(u32),
    #[error("the zkey is not for BN254 (snarkjs's bn128): its {0} differs")]
    Curve(&'static str),
    #[error("the zkey's section {section} has {found} bytes; its header implies {expected}")]
    Size {
        section: u32,
        found: usize,
        expected: usize,
    },
    #[error("the zkey's {0} is not a field element (not below the modulus)")]
    NotCanonical(String),
    #[error("the zkey's {0} is not a point of the curve's prime-order subgroup")]
    NotOnCurve(String),
    #[error("the zkey's {0} is the identity")]
    Identity(&'static str),
    #[error("the zkey's contributions section has {0} bytes: not its circuit hash and count")]
    Contributions(usize),
    #[error("the zkey has {n_vars} variables: fewer than the constant and {n_public} inputs")]
    FewerVariables { n_vars: usize, n_public: usize },
    #[error("the zkey has {found} {what}; the circuit has {expected}")]
    Count {
        what: &'static str,
        found: usize,
        expected: usize,
    },
    #[error("the zkey's coefficient #{index} is {found}; the circuit's is {expected}")]
    Coefficient {
        index: usize,
        found: String,
        expected: String,
    },
}

/// One entry of the A or B matrix: `(matrix: 0 A, 1 B, constraint, signal, value)`.
pub type Coefficient = (u32, u32, u32, Fr);

/// A Groth16 proving key from a `.zkey`.
pub struct Zkey {
    /// The key (its H query of `domainSize` points, circom's convention).
    pub key: ProvingKey<Bn254>,
    pub circuit: ZkeyCircuit,
    /// Section 10 as read: the circuit hash (64 bytes), the contribution count, then each
    /// contribution; kept to verify the ceremony's transcript.
    pub contributions: Vec<u8>,
}

impl Zkey {
    /// Parses and checks a `.zkey`: BN254, Groth16, sections of the sizes its header implies,
    /// canonical field elements, points on the curve and in its subgroup, alpha, beta and
    /// delta not the identity.
    pub fn read(bytes: &[u8]) -> Result<Self, ZkeyError> {
        let sections = circom::sections(bytes, b"zkey")?;
        let section = |kind: u32| section(&sections, kind);
        let protocol = section(1)?;
        sized(1, protocol, 4)?;
        match u32_at(protocol, 0) {
            1 => {}
            other => return Err(ZkeyError::Protocol(other)),
        }

        let header = section(2)?;
        // n8q, q, n8r, r, three counts, three G1 and three G2 points.
        sized(2, header, 4 + N8 + 4 + N8 + 12 + 3 * G1_SIZE + 3 * G2_SIZE)?;
        if u32_at(header, 0) as usize != N8 || limbs(&header[4..36]) != Fq::MODULUS {
            return Err(ZkeyError::Curve("base field modulus q"));
        }
        if u32_at(header, 36) as usize != N8 || limbs(&header[40..72]) != Fr::MODULUS {
            return Err(ZkeyError::Curve("scalar field modulus r"));
        }
        let [n_vars, n_public, domain_size] = [72, 76, 80].map(|at| u32_at(header, at) as usize);
        let points = &header[84..];
        let alpha_g1 = g1(&points[..G1_SIZE], "alpha1")?;
        let beta_g1 = g1(&points[G1_SIZE..2 * G1_SIZE], "beta1")?;
        let at = 2 * G1_SIZE;
        let beta_g2 = g2(&points[at..at + G2_SIZE], "beta2")?;
        let gamma_g2 = g2(&points[at + G2_SIZE..at + 2 * G2_SIZE], "gamma2")?;
        let at = at + 2 * G2_SIZE;
        let delta_g1 = g1(&points[at..at + G1_SIZE], "delta1")?;
        let delta_g2 = g2(&points[at + G1_SIZE..], "delta2")?;
        for (zero, name) in [
            (alpha_g1.is_zero(), "alpha1"),
            (beta_g1.is_zero() || beta_g2.is_zero(), "beta"),
            (delta_g1.is_zero() || delta_g2.is_zero(), "delta"),
        ] {
            if zero {
                return Err(ZkeyError::Identity(name));
            }
        }
        let n_private = n_vars
            .checked_sub(n_public + 1)
            .ok_or(ZkeyError::FewerVariables { n_vars, n_public })?;

        let coefficients = coefficients(section(4)?)?;
        let [ic, a, b1, c, h] = [
            (3, n_public + 1, "IC"),
            (5, n_vars, "A"),
            (6, n_vars, "B1"),
            (8, n_private, "C"),
            (9, domain_size, "H"),
        ]
        .map(|(kind, count, name)| {
            let bytes = section(kind)?;
            sized(kind, bytes, count * G1_SIZE)?;
            bytes
                .par_chunks(G1_SIZE)
                .enumerate()
                .map(|(i, p)| g1(p, &format!("{name}[{i}]")))
                .collect::<Result<Vec<_>, _>>()
        });
        let b2_bytes = section(7)?;
        sized(7, b2_bytes, n_vars * G2_SIZE)?;
        let b2 = b2_bytes
            .par_chunks(G2_SIZE)
            .enumerate()
            .map(|(i, p)| g2(p, &format!("B2[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        let contributions = section(10)?.to_vec();
        if contributions.len() < 68 {
            return Err(ZkeyError::Contributions(contributions.len()));
        }
        Ok(Self {
            key: ProvingKey {
                vk: VerifyingKey {
                    alpha_g1,
                    beta_g2,
                    gamma_g2,
                    delta_g2,
                    gamma_abc_g1: ic?,
                },
                beta_g1,
                delta_g1,
                a_query: a?,
                b_g1_query: b1?,
                b_g2_query: b2,
                h_query: h?,
                l_query: c?,
            },
            circuit: ZkeyCircuit {
                n_vars,
                n_public,
                domain_size,
                coefficients,
            },
            contributions,
        })
    }

    /// The hash of the circuit's key before any contribution, as snarkjs prints it.
    pub fn circuit_hash(&self) -> &[u8] {
        &self.contributions[..64]
    }

    /// The number of phase-2 contributions (and beacons) made to the key.
    pub fn contribution_count(&self) -> u32 {
        u32_at(&self.contributions, 64)
    }
}

/// What a zkey says of its circuit.
pub struct ZkeyCircuit {
    pub n_vars: usize,
    /// Public inputs, the constant 1 not counted.
    pub n_public: usize,
    pub domain_size: usize,
    pub coefficients: Vec<Coefficient>,
}

impl ZkeyCircuit {
    /// That the key is of the circuit of `m`: its counts, its domain (snarkjs's: the
    /// smallest power of two above the constraints and the public inputs' extra ones) and
    /// every coefficient, in the order `snarkjs groth16 setup` writes them from the `.r1cs`
    /// that [`circom::r1cs`] makes: constraint by constraint the A then the B terms, then
    /// `A[m + i] = z_i` for the constant and each public input `i`.
    pub fn check(&self, m: &ClaimMatrices) -> Result<(), ZkeyError> {
        let count = |what, found, expected| match found == expected {
            true => Ok(()),
            false => Err(ZkeyError::Count {
                what,
                found,
                expected,
            }),
        };
        let vars = m.num_instance + m.num_witness;
        count("variables", self.n_vars, vars)?;
        count("public inputs", self.n_public, m.num_instance - 1)?;
        let domain = (m.num_constraints + m.num_instance).next_power_of_two();
        count("evaluation domain points", self.domain_size, domain)?;
        let expected = (0..m.num_constraints)
            .flat_map(|row| {
                (0..2u32).flat_map(move |matrix| {
                    m.abc[matrix as usize][row]
                        .iter()
                        .map(move |(value, wire)| (matrix, row as u32, *wire as u32, *value))
                })
            })
            .chain(
                (0..m.num_instance)
                    .map(|i| (0, (m.num_constraints + i) as u32, i as u32, Fr::one())),
            );
        let mut found = self.coefficients.iter();
        let mut total = 0;
        for (index, expected) in expected.enumerate() {
            match found.next() {
                Some(found) if *found == expected => total += 1,
                found => {
                    return Err(ZkeyError::Coefficient {
                        index,
                        found: found.map_or("missing".into(), show),
                        expected: show(&expected),
                    })
                }
            }
        }
        count("coefficients", self.coefficients.len(), total)
    }
}

fn show((matrix, constraint, signal, value): &Coefficient) -> String {
    let name = ["A", "B"].get(*matrix as usize).unwrap_or(&"?");
    format!("{name}[{constraint}][{signal}] = {value}")
}

/// The one section of type `kind` of a zkey's `sections` ([`circom::sections`]).
pub(crate) fn section<'a>(sections: &[(u32, &'a [u8])], kind: u32) -> Result<&'a [u8], ZkeyError> {
    let mut found = sections.iter().filter(|(k, _)| *k == kind);
    let (_, bytes) = found.next().ok_or(ZkeyError::Missing(kind))?;
    match found.next() {
        Some(_) => Err(ZkeyError::Repeated(kind)),
        None => Ok(bytes),
    }
}

fn sized(section: u32, bytes: &[u8], expected: usize) -> Result<(), ZkeyError> {
    match bytes.len() == expected {
        true => Ok(()),
        false => Err(ZkeyError::Size {
            section,
            found: bytes.len(),
            expected,
        }),
    }
}

pub(crate) fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

/// 32 little-endian bytes as an integer.
pub(crate) fn limbs(bytes: &[u8]) -> BigInt<4> {
    BigInt(core::array::from_fn(|i| {
        u64::from_le_bytes(bytes[8 * i..8 * i + 8].try_into().expect("8 bytes"))
    }))
}

/// A base field element in Montgomery form (`x·R`, R = 2²⁵⁶), below the modulus.
fn fq(bytes: &[u8], what: &str) -> Result<Fq, ZkeyError> {
    let repr = limbs(bytes);
    match repr < Fq::MODULUS {
        true => Ok(Fq::new_unchecked(repr)),
        false => Err(ZkeyError::NotCanonical(what.to_owned())),
    }
}

/// A G1 point: `x, y`; all zero is the identity. (G1 has cofactor 1: on the curve is in
/// the subgroup.)
pub(crate) fn g1(bytes: &[u8], what: &str) -> Result<G1Affine, ZkeyError> {
    if bytes.iter().all(|b| *b == 0) {
        return Ok(G1Affine::zero());
    }
    let p = G1Affine::new_unchecked(fq(&bytes[..N8], what)?, fq(&bytes[N8..], what)?);
    match p.is_on_curve() {
        true => Ok(p),
        false => Err(ZkeyError::NotOnCurve(what.to_owned())),
    }
}

/// A G2 point: `x.c0, x.c1, y.c0, y.c1`; all zero is the identity.
pub(crate) fn g2(bytes: &[u8], what: &str) -> Result<G2Affine, ZkeyError> {
    if bytes.iter().all(|b| *b == 0) {
        return Ok(G2Affine::zero());
    }
    let [x0, x1, y0, y1] = core::array::from_fn(|i| fq(&bytes[i * N8..(i + 1) * N8], what));
    let p = G2Affine::new_unchecked(Fq2::new(x0?, x1?), Fq2::new(y0?, y1?));
    match p.is_on_curve() && p.is_in_correct_subgroup_assuming_on_curve() {
        true => Ok(p),
        false => Err(ZkeyError::NotOnCurve(what.to_owned())),
    }
}

/// A G1 point as [`g1`] reads it: `x, y` little-endian in Montgomery form; the identity
/// all zero.
pub(crate) fn g1_lem(p: &G1Affine) -> [u8; G1_SIZE] {
    let mut out = [0; G1_SIZE];
    if let Some((x, y)) = p.xy() {
        out[..N8].copy_from_slice(&x.0.to_bytes_le());
        out[N8..].copy_from_slice(&y.0.to_bytes_le());
    }
    out
}

/// A G2 point as [`g2`] reads it: `x.c0, x.c1, y.c0, y.c1`; the identity all zero.
pub(crate) fn g2_lem(p: &G2Affine) -> [u8; G2_SIZE] {
    let mut out = [0; G2_SIZE];
    if let Some((x, y)) = p.xy() {
        for (i, c) in [x.c0, x.c1, y.c0, y.c1].iter().enumerate() {
            out[i * N8..(i + 1) * N8].copy_from_slice(&c.0.to_bytes_le());
        }
    }
    out
}

/// A G1 point in snarkjs's "uncompressed" form, which its hashes (the circuit hash, the
/// contributions' transcripts) take: `x, y` big-endian in standard form; the identity all
/// zero.
pub(crate) fn g1_uncompressed(p: &G1Affine) -> [u8; G1_SIZE] {
    let mut out = [0; G1_SIZE];
    if let Some((x, y)) = p.xy() {
        out[..N8].copy_from_slice(&x.into_bigint().to_bytes_be());
        out[N8..].copy_from_slice(&y.into_bigint().to_bytes_be());
    }
    out
}

/// A G2 point in snarkjs's uncompressed form: each coordinate's 64 bytes reversed as one
/// number, so `x.c1, x.c0, y.c1, y.c0`, each big-endian in standard form; the identity all
/// zero.
pub(crate) fn g2_uncompressed(p: &G2Affine) -> [u8; G2_SIZE] {
    let mut out = [0; G2_SIZE];
    if let Some((x, y)) = p.xy() {
        for (i, c) in [x.c1, x.c0, y.c1, y.c0].iter().enumerate() {
            out[i * N8..(i + 1) * N8].copy_from_slice(&c.into_bigint().to_bytes_be());
        }
    }
    out
}

/// Section 4: a count, then `(matrix, constraint, signal: u32, value)`. snarkjs stores each
/// value `c` as `c·R²`: read as Montgomery form twice.
fn coefficients(bytes: &[u8]) -> Result<Vec<Coefficient>, ZkeyError> {
    const ENTRY: usize = 12 + N8;
    let head = bytes.get(..4).ok_or(ZkeyError::Size {
        section: 4,
        found: bytes.len(),
        expected: 4,
    })?;
    let count = u32_at(head, 0) as usize;
    sized(4, bytes, 4 + count * ENTRY)?;
    bytes[4..]
        .par_chunks(ENTRY)
        .enumerate()
        .map(|(i, e)| {
            let repr = limbs(&e[12..]);
            if repr >= Fr::MODULUS {
                return Err(ZkeyError::NotCanonical(format!("coefficient #{i}")));
            }
            let value = Fr::new_unchecked(Fr::new_unchecked(repr).into_bigint());
            Ok((u32_at(e, 0), u32_at(e, 4), u32_at(e, 8), value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::{BigInteger, Field};

    #[test]
    fn a_coefficient_is_read_from_snarkjss_doubled_montgomery_form() {
        let value = Fr::from(7_760u64);
        let r = Fr::from(2u64).pow([256]);
        let mut entry = [0u32, 3, 9].map(u32::to_le_bytes).concat();
        entry.extend_from_slice(&(value * r * r).into_bigint().to_bytes_le());
        let section = [1u32.to_le_bytes().as_slice(), &entry].concat();
        assert_eq!(coefficients(&section).unwrap(), [(0, 3, 9, value)]);
        // Not a field element; a count the bytes do not hold.
        let mut high = section.clone();
        high[4 + 12..].copy_from_slice(&Fr::MODULUS.to_bytes_le());
        assert!(
            matches!(coefficients(&high), Err(ZkeyError::NotCanonical(what)) if what == "coefficient #0")
        );
        let mut two = section;
        two[0] = 2;
        assert!(matches!(
            coefficients(&two),
            Err(ZkeyError::Size {
                section: 4,
                found: 48,
                expected: 92
            })
        ));
    }

    #[test]
    fn points_must_be_canonical_and_on_the_curve() {
        let g = G1Affine::generator();
        let bytes = [g.x, g.y].map(|c| c.0.to_bytes_le()).concat();
        assert_eq!(g1(&bytes, "P").unwrap(), g);
        assert!(g1(&[0; G1_SIZE], "P").unwrap().is_zero());
        let mut off = bytes.clone();
        off[0] ^= 1;
        assert!(matches!(g1(&off, "P"), Err(ZkeyError::NotOnCurve(p)) if p == "P"));
        let mut high = bytes;
        high[N8..].copy_from_slice(&Fq::MODULUS.to_bytes_le());
        assert!(matches!(g1(&high, "P"), Err(ZkeyError::NotCanonical(_))));
        let h = G2Affine::generator();
        let bytes = [h.x.c0, h.x.c1, h.y.c0, h.y.c1]
            .map(|c| c.0.to_bytes_le())
            .concat();
        assert_eq!(g2(&bytes, "Q").unwrap(), h);
    }

    /// The coefficients `snarkjs groth16 setup` writes for an `.r1cs` (its `processConstraints`):
    /// constraint by constraint the A then the B terms, then `A[m + s][s] = 1` for the
    /// constant and each public input.
    fn snarkjs_coefficients(r1cs: &[u8]) -> ZkeyCircuit {
        let sections = circom::sections(r1cs, b"r1cs").unwrap();
        let (header, constraints) = (sections[0].1, sections[1].1);
        let [n_vars, _, n_public, _] = [36, 40, 44, 48].map(|at| u32_at(header, at));
        let m = u32_at(header, 60);
        let (mut at, mut coefficients) = (0, vec![]);
        for row in 0..m {
            for matrix in 0..3 {
                let terms = u32_at(constraints, at);
                at += 4;
                for _ in 0..terms {
                    let value = Fr::from_le_bytes_mod_order(&constraints[at + 4..at + 4 + N8]);
                    if matrix < 2 {
                        coefficients.push((matrix, row, u32_at(constraints, at), value));
                    }
                    at += 4 + N8;
                }
            }
        }
        coefficients.extend((0..=n_public).map(|s| (0, m + s, s, Fr::one())));
        ZkeyCircuit {
            n_vars: n_vars as usize,
            n_public: n_public as usize,
            domain_size: ((m + n_public + 1) as usize).next_power_of_two(),
            coefficients,
        }
    }

    #[test]
    fn the_circuit_check_takes_snarkjss_coefficients_of_the_exported_r1cs_and_no_others() {
        use zkclaim_circuits::{claim::Shape, Circuit};
        let m = ClaimMatrices::build(Circuit::Primary, Shape { items: 2, depth: 4 }).unwrap();
        let mut circuit = snarkjs_coefficients(&circom::r1cs(&m));
        circuit.check(&m).unwrap();
        circuit.coefficients[100].3 += Fr::one();
        let changed = circuit.check(&m).unwrap_err().to_string();
        assert!(
            changed.starts_with("the zkey's coefficient #100 is "),
            "{changed}"
        );
        circuit.coefficients[100].3 -= Fr::one();
        let last = circuit.coefficients.pop().unwrap();
        assert!(matches!(
            circuit.check(&m),
            Err(ZkeyError::Coefficient { found, .. }) if found == "missing"
        ));
        circuit.coefficients.extend([last, last]);
        assert!(matches!(
            circuit.check(&m),
            Err(ZkeyError::Count {
                what: "coefficients",
                ..
            })
        ));
        let other = ClaimMatrices::build(Circuit::Primary, Shape { items: 2, depth: 5 }).unwrap();
        assert!(matches!(
            snarkjs_coefficients(&circom::r1cs(&m)).check(&other),
            Err(ZkeyError::Count {
                what: "variables",
                ..
            })
        ));
    }

    #[test]
    fn a_container_that_is_not_a_whole_zkey_is_refused() {
        let zkey = circom::container(b"zkey", 1, &[(1, &1u32.to_le_bytes())]);
        assert!(matches!(Zkey::read(&zkey), Err(ZkeyError::Missing(2))));
        let twice = circom::container(b"zkey", 1, &[(1, &[1, 0, 0, 0]), (1, &[1, 0, 0, 0])]);
        assert!(matches!(Zkey::read(&twice), Err(ZkeyError::Repeated(1))));
        let plonk = circom::container(b"zkey", 1, &[(1, &2u32.to_le_bytes())]);
        assert!(matches!(Zkey::read(&plonk), Err(ZkeyError::Protocol(2))));
        let message = |bytes: &[u8]| Zkey::read(bytes).err().unwrap().to_string();
        assert_eq!(
            message(&zkey[..zkey.len() - 1]),
            "the file ends inside section #0"
        );
        assert_eq!(message(&zkey[..11]), "the file ends inside the header");
        assert_eq!(
            message(&[&zkey[..], &[0]].concat()),
            "1 bytes follow the last section"
        );
        assert_eq!(
            message(&circom::container(b"wtns", 2, &[])),
            "not a zkey file: it begins with \"wtns\""
        );
    }
}
