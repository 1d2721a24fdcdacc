//! circomlib-compatible Poseidon over the BN254 scalar field.
//!
//! `hash(inputs)` equals circomlib's `Poseidon(n)` template (and circomlibjs' `poseidon`) for
//! 1..=16 inputs: width `t = n + 1`, state `[0, inputs..]`, x^5 S-box, 8 full rounds and
//! circomlib's partial-round count for that width, output `state[0]`. arkworks' sponge differs
//! (other output element and absorption), so only its Grain LFSR constant generator is reused,
//! at build time (`build.rs`).

use ark_bn254::Fr;
use ark_ff::{Field, PrimeField};
use std::sync::OnceLock;

mod constants {
    include!(concat!(env!("OUT_DIR"), "/poseidon_constants.rs"));
}

/// Full rounds, half before and half after the partial rounds.
pub const FULL_ROUNDS: usize = 8;
/// The widest hash the statement uses (the 16-input items hash).
pub const MAX_INPUTS: usize = 16;

/// Domain tags: the first input of every tagged construction, so that hashes of the same
/// arity built for different purposes can never collide.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
pub enum Tag {
    Pk = 1,
    Nullifier = 2,
    Claimant = 3,
    Invoice = 4,
    Policy = 6,
    /// Settled-tree leaves (continuation claims, statement v2).
    Settled = 7,
    /// The blinding `rho_k` of a settled leaf.
    Rho = 8,
    /// The running commitment to the policies that paid on an invoice.
    Payers = 9,
}

impl Tag {
    pub fn to_field(self) -> Fr {
        Fr::from(self as u64)
    }
}

/// Round constants and MDS matrix for one state width.
pub struct Params {
    /// `ark[round][i]`, added before the S-box of each round.
    pub ark: Vec<Vec<Fr>>,
    /// `mds[i][j]`: new `state[i] = sum_j mds[i][j] * state[j]`.
    pub mds: Vec<Vec<Fr>>,
    pub partial_rounds: usize,
}

impl Params {
    pub fn width(&self) -> usize {
        self.mds.len()
    }

    pub fn rounds(&self) -> usize {
        FULL_ROUNDS + self.partial_rounds
    }

    /// Whether `round` applies the S-box to every element (else only to `state[0]`).
    pub fn is_full_round(&self, round: usize) -> bool {
        round < FULL_ROUNDS / 2 || round >= FULL_ROUNDS / 2 + self.partial_rounds
    }
}

/// The parameters for `n_inputs` inputs (width `n_inputs + 1`), as circomlib generated them
/// with the Grain LFSR; decoded once.
pub fn params(n_inputs: usize) -> &'static Params {
    static CACHE: [OnceLock<Params>; MAX_INPUTS] = [const { OnceLock::new() }; MAX_INPUTS];
    assert!(
        (1..=MAX_INPUTS).contains(&n_inputs),
        "Poseidon takes 1..={MAX_INPUTS} inputs, got {n_inputs}"
    );
    CACHE[n_inputs - 1].get_or_init(|| {
        let (ark, mds) = constants::CONSTANTS[n_inputs - 1];
        let decode = |rows: &[&[[u8; 32]]]| -> Vec<Vec<Fr>> {
            rows.iter()
                .map(|row| row.iter().map(|b| Fr::from_le_bytes_mod_order(b)).collect())
                .collect()
        };
        Params {
            ark: decode(ark),
            mds: decode(mds),
            partial_rounds: constants::PARTIAL_ROUNDS[n_inputs - 1],
        }
    })
}

/// Poseidon of 1..=16 field elements, as circomlib computes it.
pub fn hash(inputs: &[Fr]) -> Fr {
    let p = params(inputs.len());
    let mut state = Vec::with_capacity(p.width());
    state.push(Fr::from(0u64));
    state.extend_from_slice(inputs);
    for round in 0..p.rounds() {
        for (s, c) in state.iter_mut().zip(&p.ark[round]) {
            *s += c;
        }
        if p.is_full_round(round) {
            state.iter_mut().for_each(sbox);
        } else {
            sbox(&mut state[0]);
        }
        state = p
            .mds
            .iter()
            .map(|row| row.iter().zip(&state).map(|(m, s)| *m * s).sum())
            .collect();
    }
    state[0]
}

fn sbox(x: &mut Fr) {
    let x2 = x.square();
    *x *= x2.square();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field;

    #[derive(serde::Deserialize)]
    struct Vectors {
        cases: Vec<Case>,
        empty_tree_zero_hashes: ZeroHashes,
    }
    #[derive(serde::Deserialize)]
    struct Case {
        inputs: Vec<String>,
        output: String,
    }
    #[derive(serde::Deserialize)]
    struct ZeroHashes {
        z: Vec<String>,
    }

    fn vectors() -> Vectors {
        let text = include_str!("../tests/vectors/poseidon.json");
        serde_json::from_str(text).expect("vector file parses")
    }

    #[test]
    fn known_answer_from_the_spec() {
        let h = hash(&[Fr::from(1u64), Fr::from(2u64)]);
        assert_eq!(
            field::format(&h),
            "0x115cc0f5e7d690413df64c6b9662e9cf2a3617f2743245519e19607a4417189a"
        );
    }

    #[test]
    fn matches_every_circomlibjs_vector() {
        let v = vectors();
        assert_eq!(v.cases.len(), 146);
        for case in &v.cases {
            let inputs: Vec<Fr> = case
                .inputs
                .iter()
                .map(|s| field::parse(s).unwrap())
                .collect();
            assert_eq!(
                field::format(&hash(&inputs)),
                case.output,
                "inputs {:?}",
                case.inputs
            );
        }
    }

    #[test]
    fn matches_empty_tree_zero_hashes() {
        let z = vectors().empty_tree_zero_hashes.z;
        assert_eq!(z.len(), 33);
        let mut cur = Fr::from(0u64);
        for expected in &z {
            assert_eq!(&field::format(&cur), expected);
            cur = hash(&[cur, cur]);
        }
    }

    #[test]
    fn pins_generated_constants() {
        // circomlib's poseidon_constants.js, C[t=3][0] and M[t=3][0][0]: a change in the LFSR
        // or its parameters shows up here before it shows up as a wrong hash.
        let p = params(2);
        assert_eq!(
            field::format(&p.ark[0][0]),
            "0x0ee9a592ba9a9518d05986d656f40c2114c4993c11bb29938d21d47304cd8e6e"
        );
        assert_eq!(p.ark.len(), 65);
        assert_eq!(params(16).ark.len(), 8 + 68);
        for n in 1..=MAX_INPUTS {
            let p = params(n);
            assert_eq!(p.width(), n + 1);
            assert!(p.ark.iter().all(|row| row.len() == n + 1));
        }
    }

    #[test]
    #[should_panic(expected = "Poseidon takes 1..=16 inputs")]
    fn rejects_too_many_inputs() {
        hash(&[Fr::from(0u64); 17]);
    }
}
