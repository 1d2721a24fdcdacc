//! The claim circuit's verifying key.

use crate::VerifyError;
use ark_bn254::{Bn254, G1Affine, G2Affine};
use ark_ec::pairing::{Pairing, PairingOutput};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use sha2::{Digest, Sha256};
use zkclaim_circuits::claim::PublicInputs;

/// A Groth16 verifying key for the claim circuit, laid out as `ark_groth16::VerifyingKey`.
/// Only constructed through [`ClaimVerifyingKey::from_bytes`], which validates it.
#[derive(Clone, Debug, PartialEq, Eq, CanonicalSerialize, CanonicalDeserialize)]
pub struct ClaimVerifyingKey {
    pub(crate) alpha_g1: G1Affine,
    pub(crate) beta_g2: G2Affine,
    pub(crate) gamma_g2: G2Affine,
    pub(crate) delta_g2: G2Affine,
    pub(crate) gamma_abc_g1: Vec<G1Affine>,
}

impl ClaimVerifyingKey {
    /// Decodes a compressed key, checking every point is on the curve and in the prime-order
    /// subgroup, that it takes exactly the claim's public inputs, and that gamma != delta.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, VerifyError> {
        let key = Self::deserialize_compressed(bytes)
            .map_err(|e| VerifyError::MalformedKey(e.to_string()))?;
        if key.gamma_abc_g1.len() != PublicInputs::COUNT + 1 {
            return Err(VerifyError::WrongInputCount {
                found: key.gamma_abc_g1.len().saturating_sub(1),
                expected: PublicInputs::COUNT,
            });
        }
        if key.gamma_g2 == key.delta_g2 {
            return Err(VerifyError::WeakKey);
        }
        Ok(key)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.compressed_size());
        self.serialize_compressed(&mut out)
            .expect("writing to a Vec cannot fail");
        out
    }

    /// SHA-256 of the compressed key: how the ledger's genesis pins the circuit.
    pub fn digest(&self) -> [u8; 32] {
        Sha256::digest(self.to_bytes()).into()
    }

    /// Precomputes the pairing terms that do not depend on the proof.
    pub fn prepare(&self) -> PreparedClaimKey {
        PreparedClaimKey {
            alpha_beta: Bn254::pairing(self.alpha_g1, self.beta_g2),
            gamma_neg: (-self.gamma_g2).into(),
            delta_neg: (-self.delta_g2).into(),
            key: self.clone(),
        }
    }
}

/// A verifying key with `e(α, β)`, `−γ` and `−δ` precomputed: prepare once, verify many.
#[derive(Clone, Debug)]
pub struct PreparedClaimKey {
    pub(crate) key: ClaimVerifyingKey,
    pub(crate) alpha_beta: PairingOutput<Bn254>,
    pub(crate) gamma_neg: <Bn254 as Pairing>::G2Prepared,
    pub(crate) delta_neg: <Bn254 as Pairing>::G2Prepared,
}

impl PreparedClaimKey {
    pub fn key(&self) -> &ClaimVerifyingKey {
        &self.key
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::{Fr, G1Projective, G2Projective};
    use ark_ec::{CurveGroup, PrimeGroup};

    fn key(n_inputs: usize) -> ClaimVerifyingKey {
        let g1 = |k: u64| (G1Projective::generator() * Fr::from(k)).into_affine();
        let g2 = |k: u64| (G2Projective::generator() * Fr::from(k)).into_affine();
        ClaimVerifyingKey {
            alpha_g1: g1(2),
            beta_g2: g2(3),
            gamma_g2: g2(5),
            delta_g2: g2(7),
            gamma_abc_g1: (0..=n_inputs as u64).map(|i| g1(11 + i)).collect(),
        }
    }

    fn encode(k: &ClaimVerifyingKey) -> Vec<u8> {
        let mut v = Vec::new();
        k.serialize_compressed(&mut v).unwrap();
        v
    }

    #[test]
    fn accepts_a_well_formed_key() {
        let k = key(PublicInputs::COUNT);
        assert_eq!(ClaimVerifyingKey::from_bytes(&k.to_bytes()), Ok(k.clone()));
        assert_ne!(k.digest(), key(PublicInputs::COUNT + 1).digest());
    }

    #[test]
    fn rejects_gamma_equal_to_delta() {
        let mut k = key(PublicInputs::COUNT);
        k.delta_g2 = k.gamma_g2;
        assert_eq!(
            ClaimVerifyingKey::from_bytes(&encode(&k)),
            Err(VerifyError::WeakKey)
        );
    }

    #[test]
    fn rejects_another_circuits_input_count() {
        let k = key(4);
        assert_eq!(
            ClaimVerifyingKey::from_bytes(&encode(&k)),
            Err(VerifyError::WrongInputCount {
                found: 4,
                expected: 5
            })
        );
    }

    #[test]
    fn rejects_truncated_or_corrupt_bytes() {
        let bytes = encode(&key(PublicInputs::COUNT));
        assert!(matches!(
            ClaimVerifyingKey::from_bytes(&bytes[..bytes.len() - 1]),
            Err(VerifyError::MalformedKey(_))
        ));
        let mut flipped = bytes.clone();
        flipped[40] ^= 0x55;
        assert!(matches!(
            ClaimVerifyingKey::from_bytes(&flipped),
            Err(VerifyError::MalformedKey(_))
        ));
    }
}
