//! Groth16 proofs on the wire: arkworks' compressed encoding, 128 bytes.

use crate::VerifyError;
use ark_bn254::{G1Affine, G2Affine};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use serde::{de::Error, Deserialize, Deserializer, Serialize, Serializer};

/// A claim proof, laid out as `ark_groth16::Proof<Bn254>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, CanonicalSerialize, CanonicalDeserialize)]
pub struct Proof {
    pub a: G1Affine,
    pub b: G2Affine,
    pub c: G1Affine,
}

impl Proof {
    pub const SIZE: usize = 128;

    /// Decodes a compressed proof, rejecting wrong lengths and points off the curve or
    /// outside the prime-order subgroup.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, VerifyError> {
        if bytes.len() != Self::SIZE {
            return Err(VerifyError::MalformedProof(format!(
                "expected {} bytes, got {}",
                Self::SIZE,
                bytes.len()
            )));
        }
        Self::deserialize_compressed(bytes).map_err(|e| VerifyError::MalformedProof(e.to_string()))
    }

    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut out = [0u8; Self::SIZE];
        self.serialize_compressed(&mut out[..])
            .expect("a proof is 128 bytes compressed");
        out
    }

    /// `"0x"` + 256 hex digits.
    pub fn to_hex(&self) -> String {
        format!("0x{}", hex::encode(self.to_bytes()))
    }

    pub fn from_hex(s: &str) -> Result<Self, VerifyError> {
        let digits = s
            .strip_prefix("0x")
            .ok_or_else(|| VerifyError::MalformedProof("must start with \"0x\"".into()))?;
        let bytes =
            hex::decode(digits).map_err(|_| VerifyError::MalformedProof("not hex".into()))?;
        Self::from_bytes(&bytes)
    }
}

impl Serialize for Proof {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Proof {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::from_hex(&String::deserialize(d)?).map_err(D::Error::custom)
    }
}

/// `"0x"` + 256 hex digits (the 128 compressed bytes).
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Proof {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some(format!("^0x[0-9a-fA-F]{{{}}}$", 2 * Self::SIZE)))
            .description(Some(
                "A Groth16 proof: \"0x\" and the 128 bytes of its arkworks compressed encoding \
                 in hex",
            ))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Proof {}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::{Fq, Fq2, Fr, G1Projective, G2Projective};
    use ark_ec::{CurveGroup, PrimeGroup};
    use ark_ff::UniformRand;
    use rand::{rngs::StdRng, SeedableRng};

    fn proof() -> Proof {
        Proof {
            a: (G1Projective::generator() * Fr::from(3u64)).into_affine(),
            b: (G2Projective::generator() * Fr::from(5u64)).into_affine(),
            c: (G1Projective::generator() * Fr::from(7u64)).into_affine(),
        }
    }

    #[test]
    fn round_trips() {
        let p = proof();
        assert_eq!(Proof::from_bytes(&p.to_bytes()), Ok(p));
        assert_eq!(Proof::from_hex(&p.to_hex()), Ok(p));
        assert_eq!(p.to_hex().len(), 2 + 256);
    }

    #[test]
    fn rejects_wrong_length_and_bad_hex() {
        let p = proof().to_bytes();
        assert!(matches!(
            Proof::from_bytes(&p[..127]),
            Err(VerifyError::MalformedProof(_))
        ));
        assert!(Proof::from_hex("0xzz").is_err());
        assert!(Proof::from_hex(&hex::encode(p)).is_err(), "missing 0x");
    }

    #[test]
    fn rejects_a_point_off_the_curve() {
        // Scan x coordinates until one has no point on G1; encode it as `a`.
        let mut x = Fq::from(1u64);
        while G1Affine::get_point_from_x_unchecked(x, false).is_some() {
            x += Fq::from(1u64);
        }
        let mut bytes = proof().to_bytes();
        let mut xb = Vec::new();
        x.serialize_compressed(&mut xb).unwrap();
        bytes[..32].copy_from_slice(&xb);
        assert!(matches!(
            Proof::from_bytes(&bytes),
            Err(VerifyError::MalformedProof(_))
        ));
    }

    #[test]
    fn rejects_a_g2_point_outside_the_prime_order_subgroup() {
        // G2 on BN254 has a large cofactor: a random curve point is almost never in the group.
        let mut rng = StdRng::seed_from_u64(5);
        let bad = loop {
            let x = Fq2::rand(&mut rng);
            if let Some(p) = G2Affine::get_point_from_x_unchecked(x, false) {
                if !p.is_in_correct_subgroup_assuming_on_curve() {
                    break p;
                }
            }
        };
        assert!(bad.is_on_curve());
        let mut p = proof();
        p.b = bad;
        let mut bytes = Vec::new();
        p.serialize_compressed(&mut bytes).unwrap();
        assert!(matches!(
            Proof::from_bytes(&bytes),
            Err(VerifyError::MalformedProof(_))
        ));
    }
}
