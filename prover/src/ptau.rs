//! snarkjs's phase-1 file (`.ptau`, "powers of tau"), as far as a Groth16 phase 2 reads it:
//! the powers of a secret tau, times alpha and beta, from which `snarkjs groth16 setup` (and
//! [`crate::ceremony::init`]) makes a circuit's initial key.
//!
//! An iden3 container (magic `ptau`, version 1; [`crate::circom::sections`]) of sections
//! 1 header (`n8: u32, q: n8 bytes, power: u32, ceremonyPower: u32`), 2 tauG1
//! (`τ^i·G1` for i < 2^(power+1) − 1), 3 tauG2 (`τ^i·G2`, i < 2^power), 4 alphaTauG1
//! (`α·τ^i·G1`) and 5 betaTauG1 (`β·τ^i·G1`), 2^power each, 6 betaG2 (`β·G2`), 7 the
//! contributions. `snarkjs powersoftau prepare phase2` adds 12–15: sections 2–5 in the
//! Lagrange basis (`L_j(τ)·G` for the domain of the 2^k-th roots of unity, `L_j(ω^j) = 1`),
//! for every k ≤ power one after the other, so that the basis of a domain of size n begins
//! at point n − 1; section 12 (tauG1) also holds k = power + 1 (from 2^(power+1) − 1
//! powers: the last is taken as the identity). Points are encoded as in a `.zkey`
//! ([`crate::zkey`]). A power-20 file is over a gigabyte: the file is borrowed, and only
//! the ranges asked for are decoded, in parallel, each point checked on the curve and in
//! its subgroup.

use crate::{
    circom,
    zkey::{self, ZkeyError, G1_SIZE, G2_SIZE, N8},
};
use ark_bn254::{Fq, Fr, G1Affine, G2Affine};
use ark_ff::{FftField, PrimeField};
use rayon::prelude::*;
use std::ops::Range;

#[derive(Debug, thiserror::Error)]
pub enum PtauError {
    #[error(transparent)]
    Container(#[from] circom::ContainerError),
    #[error("the ptau's format version is {0}, not 1")]
    Version(u32),
    #[error("the ptau has no section {0} ({name})", name = section_name(*.0))]
    Missing(u32),
    #[error("the ptau has section {0} more than once")]
    Repeated(u32),
    #[error(
        "the ptau's header has {0} bytes, not the 44 of BN254's (n8, q, power, ceremonyPower)"
    )]
    Header(usize),
    #[error("the ptau is not for BN254 (snarkjs's bn128): its base field modulus q differs")]
    Curve,
    #[error(
        "the ptau's power is {0}: above {max}, the largest power-of-two domain of BN254's scalar field",
        max = Fr::TWO_ADICITY
    )]
    Power(u32),
    #[error(
        "the ptau's section {section} ({}) has {found} bytes; its power implies {expected}",
        section_name(*.section)
    )]
    Size {
        section: u32,
        found: usize,
        expected: usize,
    },
    #[error(
        "the ptau is not prepared for phase 2 (run `snarkjs powersoftau prepare phase2`): it \
         has no Lagrange-basis sections"
    )]
    NotPrepared,
    #[error(
        "the phase-1 file has 2^{has} powers; this circuit's domain needs 2^{needs}: use a \
         file of power {needs} or more"
    )]
    TooSmall { has: u32, needs: u32 },
    #[error(
        "the ptau's section {section} ({}) has {points} points: fewer than the {end} asked for",
        section_name(*.section)
    )]
    Range {
        section: u32,
        points: usize,
        end: usize,
    },
    #[error("the ptau's {0} is not a field element (not below the modulus)")]
    NotCanonical(String),
    #[error("the ptau's {0} is not a point of the curve's prime-order subgroup")]
    NotOnCurve(String),
}

/// What a section holds, as snarkjs names it.
fn section_name(section: u32) -> &'static str {
    match section {
        1 => "header",
        2 => "tauG1",
        3 => "tauG2",
        4 => "alphaTauG1",
        5 => "betaTauG1",
        6 => "betaG2",
        12 => "tauG1, Lagrange basis",
        13 => "tauG2, Lagrange basis",
        14 => "alphaTauG1, Lagrange basis",
        15 => "betaTauG1, Lagrange basis",
        _ => "unknown",
    }
}

/// A G1 section in the Lagrange basis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LagrangeG1 {
    /// `L_j(τ)·G1` (section 12).
    Tau,
    /// `α·L_j(τ)·G1` (section 14).
    AlphaTau,
    /// `β·L_j(τ)·G1` (section 15).
    BetaTau,
}

impl LagrangeG1 {
    fn section(self) -> u32 {
        match self {
            LagrangeG1::Tau => 12,
            LagrangeG1::AlphaTau => 14,
            LagrangeG1::BetaTau => 15,
        }
    }
}

/// A phase-1 file prepared for phase 2, borrowed: its sections are checked for their sizes,
/// its points decoded when asked for.
pub struct Ptau<'a> {
    power: u32,
    /// Sections 2–6 and 12–15 (index `section`), each of the size `power` implies.
    sections: [&'a [u8]; 16],
}

impl<'a> Ptau<'a> {
    /// Checks the container, the curve (BN254), the power, and that sections 2–6 and 12–15
    /// are present once each and of the sizes the power implies. Decodes no point.
    pub fn read(bytes: &'a [u8]) -> Result<Self, PtauError> {
        let all = circom::sections(bytes, b"ptau")?;
        // `sections` checked the magic and the header's 12 bytes.
        let version = zkey::u32_at(bytes, 4);
        if version != 1 {
            return Err(PtauError::Version(version));
        }
        let find = |kind: u32| -> Result<Option<&'a [u8]>, PtauError> {
            let mut found = all.iter().filter(|(k, _)| *k == kind);
            match (found.next(), found.next()) {
                (None, _) => Ok(None),
                (Some((_, bytes)), None) => Ok(Some(bytes)),
                (Some(_), Some(_)) => Err(PtauError::Repeated(kind)),
            }
        };
        let header = find(1)?.ok_or(PtauError::Missing(1))?;
        if header.len() != 4 + N8 + 8 {
            return Err(PtauError::Header(header.len()));
        }
        if zkey::u32_at(header, 0) as usize != N8 || zkey::limbs(&header[4..4 + N8]) != Fq::MODULUS
        {
            return Err(PtauError::Curve);
        }
        let power = zkey::u32_at(header, 4 + N8);
        if power > Fr::TWO_ADICITY {
            return Err(PtauError::Power(power));
        }
        // 2^k points for each k ≤ `up_to`: 2^(up_to + 1) − 1.
        let bases = |up_to: u32| (1usize << (up_to + 1)) - 1;
        let n = 1usize << power;
        let mut sections = [&[][..]; 16];
        for (kind, points, size) in [
            (2, 2 * n - 1, G1_SIZE),
            (3, n, G2_SIZE),
            (4, n, G1_SIZE),
            (5, n, G1_SIZE),
            (6, 1, G2_SIZE),
            (12, bases(power + 1), G1_SIZE),
            (13, bases(power), G2_SIZE),
            (14, bases(power), G1_SIZE),
            (15, bases(power), G1_SIZE),
        ] {
            let section = match find(kind)? {
                Some(section) => section,
                None if kind >= 12 => return Err(PtauError::NotPrepared),
                None => return Err(PtauError::Missing(kind)),
            };
            if section.len() != points * size {
                return Err(PtauError::Size {
                    section: kind,
                    found: section.len(),
                    expected: points * size,
                });
            }
            sections[kind as usize] = section;
        }
        Ok(Self { power, sections })
    }

    /// The file's power: it holds the Lagrange bases of domains up to 2^power.
    pub fn power(&self) -> u32 {
        self.power
    }

    /// That the file serves a domain of 2^`power`.
    pub fn require(&self, power: u32) -> Result<(), PtauError> {
        match power <= self.power {
            true => Ok(()),
            false => Err(PtauError::TooSmall {
                has: self.power,
                needs: power,
            }),
        }
    }

    /// alpha·G1: alphaTauG1's first point.
    pub fn alpha_g1(&self) -> Result<G1Affine, PtauError> {
        Ok(self.g1(4, 0..1, 1, "alphaTauG1")?[0])
    }

    /// beta·G1: betaTauG1's first point.
    pub fn beta_g1(&self) -> Result<G1Affine, PtauError> {
        Ok(self.g1(5, 0..1, 1, "betaTauG1")?[0])
    }

    /// beta·G2.
    pub fn beta_g2(&self) -> Result<G2Affine, PtauError> {
        Ok(self.g2(6, 0..1, "betaG2")?[0])
    }

    /// `τ^i·G1` for `i` in `range` (below 2^(power+1) − 1).
    pub fn tau_g1(&self, range: Range<usize>) -> Result<Vec<G1Affine>, PtauError> {
        self.g1(2, range, 1, "tauG1")
    }

    /// The Lagrange basis of the domain of `size` points (a power of two, at most
    /// 2^power; 2^(power+1) for [`LagrangeG1::Tau`]), every `step`-th point from `first`:
    /// `L_j(τ)` times G1 (or alpha, beta times G1) for `j = first, first + step, …`.
    pub fn lagrange_g1(
        &self,
        basis: LagrangeG1,
        size: usize,
        first: usize,
        step: usize,
    ) -> Result<Vec<G1Affine>, PtauError> {
        let extra = u32::from(basis == LagrangeG1::Tau);
        self.require(size.trailing_zeros().saturating_sub(extra))?;
        let start = size - 1 + first;
        self.g1(
            basis.section(),
            start..start + size - first,
            step,
            section_name(basis.section()),
        )
    }

    /// The Lagrange basis of the domain of `size` points (at most 2^power) times G2.
    pub fn lagrange_g2(&self, size: usize) -> Result<Vec<G2Affine>, PtauError> {
        self.require(size.trailing_zeros())?;
        self.g2(13, size - 1..2 * size - 1, "tauG2, Lagrange basis")
    }

    /// Points `range` of a G1 section, every `step`-th, decoded in parallel.
    fn g1(
        &self,
        section: u32,
        range: Range<usize>,
        step: usize,
        name: &str,
    ) -> Result<Vec<G1Affine>, PtauError> {
        let bytes = self.points(section, &range, G1_SIZE)?;
        (range.start..range.end)
            .into_par_iter()
            .step_by(step)
            .map(|i| {
                let at = (i - range.start) * G1_SIZE;
                zkey::g1(&bytes[at..at + G1_SIZE], &format!("{name}[{i}]")).map_err(point)
            })
            .collect()
    }

    /// Points `range` of a G2 section, decoded in parallel.
    fn g2(
        &self,
        section: u32,
        range: Range<usize>,
        name: &str,
    ) -> Result<Vec<G2Affine>, PtauError> {
        let first = range.start;
        self.points(section, &range, G2_SIZE)?
            .par_chunks(G2_SIZE)
            .enumerate()
            .map(|(i, p)| zkey::g2(p, &format!("{name}[{}]", first + i)).map_err(point))
            .collect()
    }

    /// The bytes of points `range` of `section`.
    fn points(&self, section: u32, range: &Range<usize>, size: usize) -> Result<&[u8], PtauError> {
        let bytes = self.sections[section as usize];
        bytes
            .get(range.start * size..range.end * size)
            .ok_or(PtauError::Range {
                section,
                points: bytes.len() / size,
                end: range.end,
            })
    }
}

/// [`zkey::g1`] and [`zkey::g2`]'s errors, which are only these two, as the ptau's.
fn point(e: ZkeyError) -> PtauError {
    match e {
        ZkeyError::NotCanonical(what) => PtauError::NotCanonical(what),
        ZkeyError::NotOnCurve(what) => PtauError::NotOnCurve(what),
        other => PtauError::NotOnCurve(other.to_string()),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::zkey::{g1_lem, g2_lem};
    use ark_ec::{AffineRepr, CurveGroup};
    use ark_ff::{BigInteger, Field, One};
    use ark_poly::{EvaluationDomain, Radix2EvaluationDomain};

    /// A prepared phase-1 file of `power` for the secrets `tau, alpha, beta`, computed as
    /// the formulas say (not as snarkjs does: by direct evaluation of the Lagrange basis).
    pub(crate) fn phase1(power: u32, [tau, alpha, beta]: [Fr; 3]) -> Vec<u8> {
        let n = 1usize << power;
        let powers = |count: usize| -> Vec<Fr> {
            std::iter::successors(Some(Fr::one()), |x| Some(*x * tau))
                .take(count)
                .collect()
        };
        let lagrange = |up_to: u32, times: Fr| -> Vec<Fr> {
            (0..=up_to)
                .flat_map(|k| {
                    let domain = Radix2EvaluationDomain::<Fr>::new(1 << k).unwrap();
                    domain.evaluate_all_lagrange_coefficients(tau)
                })
                .map(|x| x * times)
                .collect()
        };
        let g1s = |xs: Vec<Fr>| -> Vec<u8> {
            xs.iter()
                .flat_map(|x| g1_lem(&(G1Affine::generator() * x).into_affine()))
                .collect()
        };
        let g2s = |xs: Vec<Fr>| -> Vec<u8> {
            xs.iter()
                .flat_map(|x| g2_lem(&(G2Affine::generator() * x).into_affine()))
                .collect()
        };
        let times = |xs: Vec<Fr>, by: Fr| xs.into_iter().map(|x| x * by).collect();
        let mut header = (N8 as u32).to_le_bytes().to_vec();
        header.extend_from_slice(&Fq::MODULUS.to_bytes_le());
        header.extend_from_slice(&power.to_le_bytes());
        header.extend_from_slice(&power.to_le_bytes());
        let sections = [
            (1, header),
            (2, g1s(powers(2 * n - 1))),
            (3, g2s(powers(n))),
            (4, g1s(times(powers(n), alpha))),
            (5, g1s(times(powers(n), beta))),
            (6, g2s(vec![beta])),
            (7, vec![0; 4]),
            (12, g1s(lagrange(power + 1, Fr::one()))),
            (13, g2s(lagrange(power, Fr::one()))),
            (14, g1s(lagrange(power, alpha))),
            (15, g1s(lagrange(power, beta))),
        ];
        let borrowed: Vec<(u32, &[u8])> = sections.iter().map(|(k, s)| (*k, &s[..])).collect();
        circom::container(b"ptau", 1, &borrowed)
    }

    const SECRETS: [u64; 3] = [3, 5, 7];

    fn secrets() -> [Fr; 3] {
        SECRETS.map(Fr::from)
    }

    /// `file`'s sections, changed by `change`, in a new container.
    fn rebuilt(file: &[u8], change: impl FnOnce(&mut Vec<(u32, Vec<u8>)>)) -> Vec<u8> {
        let mut sections: Vec<(u32, Vec<u8>)> = circom::sections(file, b"ptau")
            .unwrap()
            .into_iter()
            .map(|(kind, bytes)| (kind, bytes.to_vec()))
            .collect();
        change(&mut sections);
        let borrowed: Vec<(u32, &[u8])> = sections.iter().map(|(k, s)| (*k, &s[..])).collect();
        circom::container(b"ptau", 1, &borrowed)
    }

    fn message(bytes: &[u8]) -> String {
        Ptau::read(bytes).err().unwrap().to_string()
    }

    #[test]
    fn a_prepared_file_gives_its_powers_and_lagrange_bases() {
        let [tau, alpha, beta] = secrets();
        let file = phase1(2, secrets());
        let ptau = Ptau::read(&file).unwrap();
        assert_eq!(ptau.power(), 2);
        let g1 = |x: Fr| (G1Affine::generator() * x).into_affine();
        let g2 = |x: Fr| (G2Affine::generator() * x).into_affine();
        assert_eq!(ptau.alpha_g1().unwrap(), g1(alpha));
        assert_eq!(ptau.beta_g1().unwrap(), g1(beta));
        assert_eq!(ptau.beta_g2().unwrap(), g2(beta));
        assert_eq!(
            ptau.tau_g1(5..7).unwrap(),
            [g1(tau.pow([5])), g1(tau.pow([6]))]
        );
        let basis = |n: usize| {
            Radix2EvaluationDomain::<Fr>::new(n)
                .unwrap()
                .evaluate_all_lagrange_coefficients(tau)
        };
        let four = basis(4);
        assert_eq!(
            ptau.lagrange_g1(LagrangeG1::BetaTau, 4, 0, 1).unwrap(),
            four.iter().map(|x| g1(beta * x)).collect::<Vec<_>>()
        );
        assert_eq!(
            ptau.lagrange_g2(4).unwrap(),
            four.iter().map(|x| g2(*x)).collect::<Vec<_>>()
        );
        // tauG1's basis goes one power further, for H.
        let eight = basis(8);
        assert_eq!(
            ptau.lagrange_g1(LagrangeG1::Tau, 8, 1, 2).unwrap(),
            [1, 3, 5, 7].map(|j| g1(eight[j]))
        );
        assert_eq!(
            ptau.lagrange_g2(8).unwrap_err().to_string(),
            "the phase-1 file has 2^2 powers; this circuit's domain needs 2^3: use a file of \
             power 3 or more"
        );
        assert!(matches!(
            ptau.tau_g1(6..8),
            Err(PtauError::Range {
                section: 2,
                points: 7,
                end: 8
            })
        ));
    }

    #[test]
    fn a_file_that_is_not_a_prepared_bn254_ptau_is_refused() {
        let file = phase1(1, secrets());
        assert_eq!(
            message(&circom::container(b"zkey", 1, &[])),
            "not a ptau file: it begins with \"zkey\""
        );
        let mut version = file.clone();
        version[4] = 2;
        assert_eq!(message(&version), "the ptau's format version is 2, not 1");
        let unprepared = rebuilt(&file, |s| s.retain(|(kind, _)| *kind < 12));
        assert_eq!(
            message(&unprepared),
            "the ptau is not prepared for phase 2 (run `snarkjs powersoftau prepare phase2`): \
             it has no Lagrange-basis sections"
        );
        let other_curve = rebuilt(&file, |s| s[0].1[4] ^= 1);
        assert_eq!(
            message(&other_curve),
            "the ptau is not for BN254 (snarkjs's bn128): its base field modulus q differs"
        );
        let bls = rebuilt(&file, |s| {
            s[0].1 = [&48u32.to_le_bytes()[..], &[0; 56]].concat()
        });
        assert!(matches!(Ptau::read(&bls), Err(PtauError::Header(60))));
        let huge = rebuilt(&file, |s| s[0].1[36] = 29);
        assert_eq!(
            message(&huge),
            "the ptau's power is 29: above 28, the largest power-of-two domain of BN254's \
             scalar field"
        );
        // Power 2 said, power 1 held.
        let bigger = rebuilt(&file, |s| s[0].1[36] = 2);
        assert_eq!(
            message(&bigger),
            "the ptau's section 2 (tauG1) has 192 bytes; its power implies 448"
        );
        let short = rebuilt(&file, |s| {
            s.iter_mut()
                .find(|(k, _)| *k == 13)
                .unwrap()
                .1
                .truncate(G2_SIZE)
        });
        assert!(matches!(
            Ptau::read(&short),
            Err(PtauError::Size {
                section: 13,
                found: G2_SIZE,
                expected: 384
            })
        ));
        let no_beta = rebuilt(&file, |s| s.retain(|(kind, _)| *kind != 6));
        assert_eq!(message(&no_beta), "the ptau has no section 6 (betaG2)");
        let twice = rebuilt(&file, |s| s.push(s[1].clone()));
        assert!(matches!(Ptau::read(&twice), Err(PtauError::Repeated(2))));
        // alpha's x, one bit changed: read, but refused once decoded.
        let moved = rebuilt(&file, |s| s[3].1[0] ^= 1);
        let ptau = Ptau::read(&moved).unwrap();
        assert_eq!(
            ptau.alpha_g1().unwrap_err().to_string(),
            "the ptau's alphaTauG1[0] is not a point of the curve's prime-order subgroup"
        );
        assert!(ptau.beta_g1().is_ok());
    }
}
