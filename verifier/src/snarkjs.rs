//! The verifying key, proofs and public inputs in snarkjs's JSON formats, so that
//! `snarkjs groth16 verify verification_key.json public.json proof.json` checks zkclaim claims:
//! the same Groth16 equation on the same curve (snarkjs calls BN254 "bn128").
//! Coordinates are decimal strings; points are projective with z = 1, and G2 coordinates are
//! `[c0, c1]`.

use crate::{ClaimVerifyingKey, Proof};
use ark_bn254::{Fq, G1Affine, G2Affine};
use ark_ff::PrimeField;
use serde_json::{json, Value};
use zkclaim_circuits::PublicStatement;

fn fq(x: &Fq) -> String {
    x.into_bigint().to_string()
}

fn g1(p: &G1Affine) -> Value {
    json!([fq(&p.x), fq(&p.y), "1"])
}

fn g2(p: &G2Affine) -> Value {
    json!([
        [fq(&p.x.c0), fq(&p.x.c1)],
        [fq(&p.y.c0), fq(&p.y.c1)],
        ["1", "0"]
    ])
}

/// `verification_key.json`.
pub fn verification_key(key: &ClaimVerifyingKey) -> Value {
    json!({
        "protocol": "groth16",
        "curve": "bn128",
        "nPublic": key.circuit().inputs(),
        "vk_alpha_1": g1(&key.alpha_g1),
        "vk_beta_2": g2(&key.beta_g2),
        "vk_gamma_2": g2(&key.gamma_g2),
        "vk_delta_2": g2(&key.delta_g2),
        "IC": key.gamma_abc_g1.iter().map(g1).collect::<Vec<_>>(),
    })
}

/// `proof.json`.
pub fn proof(p: &Proof) -> Value {
    json!({"pi_a": g1(&p.a), "pi_b": g2(&p.b), "pi_c": g1(&p.c), "protocol": "groth16", "curve": "bn128"})
}

/// `public.json`: the public inputs (of either circuit) as decimal strings, in the
/// statement's order.
pub fn public<P: PublicStatement>(inputs: &P) -> Value {
    json!(inputs
        .field_elements()
        .iter()
        .map(|x| x.into_bigint().to_string())
        .collect::<Vec<_>>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::{Fr, G1Projective, G2Projective};
    use ark_ec::{CurveGroup, PrimeGroup};
    use zkclaim_circuits::claim::PublicInputs;

    #[test]
    fn formats_points_as_snarkjs_does() {
        // The generator of G1 is (1, 2).
        assert_eq!(
            g1(&G1Projective::generator().into_affine()),
            json!(["1", "2", "1"])
        );
        let g2p = (G2Projective::generator() * Fr::from(3u64)).into_affine();
        let v = g2(&g2p);
        assert_eq!(v[0][0], json!(fq(&g2p.x.c0)));
        assert_eq!(v[0][1], json!(fq(&g2p.x.c1)));
        assert_eq!(v[2], json!(["1", "0"]));
        let inputs = PublicInputs {
            invoice_root: Fr::from(10u64),
            nullifier: -Fr::from(1u64),
            claimant_tag: Fr::from(0u64),
            policy_hash: Fr::from(7u64),
            claim_amount: 7_760,
            insurer_id: 11,
        };
        assert_eq!(
            public(&inputs),
            json!([
                "10",
                "21888242871839275222246405745257275088548364400416034343698204186575808495616",
                "0",
                "7",
                "7760",
                "11"
            ])
        );
    }
}
