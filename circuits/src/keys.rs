//! The patient's key pair and pseudonyms.

use crate::{field, poseidon, poseidon::Tag};
use ark_bn254::Fr;
use ark_ff::UniformRand;
use ark_std::rand::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// The patient's secret: proves ownership of invoices and derives nullifiers and tags.
/// Its `Debug` never prints the value, and it is wiped from memory on drop.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct SecretKey(Fr);

impl SecretKey {
    pub fn random<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        Self(Fr::rand(rng))
    }

    pub fn from_field(sk: Fr) -> Self {
        Self(sk)
    }

    /// The raw secret, for witnesses and key files only.
    pub fn expose(&self) -> &Fr {
        &self.0
    }

    pub fn public_key(&self) -> Fr {
        public_key(&self.0)
    }
}

impl core::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

/// `pk = Poseidon(PK, sk)`: what the hospital writes into the invoice.
pub fn public_key(sk: &Fr) -> Fr {
    poseidon::hash(&[Tag::Pk.to_field(), *sk])
}

/// `claimant_tag = Poseidon(CLAIMANT, sk, insurer_id)`: the patient's pseudonym at one
/// insurer, registered at enrolment; tags at two insurers cannot be linked without `sk`.
pub fn claimant_tag(sk: &Fr, insurer_id: u32) -> Fr {
    poseidon::hash(&[Tag::Claimant.to_field(), *sk, Fr::from(insurer_id)])
}

/// The patient key file, `{"sk": "0x…", "pk": "0x…"}`. `pk` is written for convenience and
/// ignored on input: it is always derived again from `sk`. Wiped from memory on drop, and the
/// `sk` string it is parsed from is wiped once parsed.
#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct KeyFile {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Field))]
    #[serde(with = "field::serde_fr")]
    sk: Fr,
    /// Derived from `sk`; ignored on input.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Field))]
    #[serde(
        default,
        serialize_with = "field::serde_fr::serialize",
        deserialize_with = "ignore"
    )]
    pk: Fr,
}

/// A supplied `pk` is read and dropped: trusting it would let a file pair `sk` with a wrong key.
fn ignore<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Fr, D::Error> {
    serde::de::IgnoredAny::deserialize(d).map(|_| Fr::from(0u64))
}

impl KeyFile {
    pub fn new(sk: &SecretKey) -> Self {
        Self {
            sk: *sk.expose(),
            pk: sk.public_key(),
        }
    }

    pub fn secret_key(&self) -> SecretKey {
        SecretKey::from_field(self.sk)
    }
}

impl core::fmt::Debug for KeyFile {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("KeyFile(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{rngs::StdRng, SeedableRng};

    #[test]
    fn debug_hides_the_secret() {
        let sk = SecretKey::from_field(Fr::from(123456789u64));
        assert_eq!(format!("{sk:?}"), "SecretKey(<redacted>)");
        assert!(!format!("{:?}", KeyFile::new(&sk)).contains("75bcd15"));
    }

    #[test]
    fn key_files_and_keys_wipe_their_secret() {
        fn wiped_on_drop<T: ZeroizeOnDrop>(_: &T) {}
        let sk = SecretKey::from_field(Fr::from(123456789u64));
        let mut file = KeyFile::new(&sk);
        wiped_on_drop(&file);
        file.zeroize();
        assert_eq!(file.secret_key(), SecretKey::from_field(Fr::from(0u64)));
        let mut sk = sk;
        wiped_on_drop(&sk);
        sk.zeroize();
        assert_eq!(*sk.expose(), Fr::from(0u64));
    }

    #[test]
    fn key_file_derives_pk_and_ignores_a_supplied_one() {
        let sk = SecretKey::random(&mut StdRng::seed_from_u64(1));
        let json = serde_json::to_string(&KeyFile::new(&sk)).unwrap();
        assert!(json.contains(&field::format(&sk.public_key())));
        let forged = format!(r#"{{"sk":"{}"}}"#, field::format(sk.expose()));
        let back: KeyFile = serde_json::from_str(&forged).unwrap();
        assert_eq!(back.secret_key(), sk);
        let with_pk: Result<KeyFile, _> = serde_json::from_str(&json);
        assert_eq!(with_pk.unwrap().secret_key().public_key(), sk.public_key());
    }

    #[test]
    fn tags_differ_per_insurer_and_from_pk() {
        let sk = Fr::from(7u64);
        assert_ne!(claimant_tag(&sk, 1), claimant_tag(&sk, 2));
        assert_ne!(public_key(&sk), claimant_tag(&sk, 1));
    }
}
