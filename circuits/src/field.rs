//! The wire encoding of field elements: `"0x"` + 64 hex digits, big-endian, canonical (< r).
//!
//! Every value that crosses a file, an HTTP body or the ledger goes through here, so a
//! non-canonical encoding (x + r, short or long strings, stray characters) is rejected once,
//! in one place. Secrets (`sk`) cross here too, so every buffer this module fills with a
//! value's digits or bytes is wiped before it is freed.

use ark_bn254::Fr;
use ark_ff::{BigInteger, PrimeField};
use zeroize::{Zeroize, Zeroizing};

/// Why a string is not a field element.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    #[error("field element must start with \"0x\"")]
    MissingPrefix,
    #[error("field element must have exactly 64 hex digits, found {0}")]
    WrongLength(usize),
    #[error("field element has a non-hex character")]
    NotHex,
    #[error("field element is not canonical: it is >= the BN254 scalar field modulus r")]
    NotCanonical,
}

/// Parses a canonical big-endian field element.
pub fn parse(s: &str) -> Result<Fr, FieldError> {
    let digits = s.strip_prefix("0x").ok_or(FieldError::MissingPrefix)?;
    if digits.len() != 64 {
        return Err(FieldError::WrongLength(digits.len()));
    }
    let mut bytes = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(digits, &mut *bytes).map_err(|_| FieldError::NotHex)?;
    from_be_bytes(&bytes)
}

/// Decodes 32 big-endian bytes, rejecting values >= r instead of reducing them.
pub fn from_be_bytes(bytes: &[u8; 32]) -> Result<Fr, FieldError> {
    let x = Fr::from_be_bytes_mod_order(bytes);
    if *Zeroizing::new(to_be_bytes(&x)) != *bytes {
        return Err(FieldError::NotCanonical);
    }
    Ok(x)
}

/// The 32 big-endian bytes of a field element.
pub fn to_be_bytes(x: &Fr) -> [u8; 32] {
    let mut be = x.into_bigint().to_bytes_be();
    let mut out = [0u8; 32];
    out.copy_from_slice(&be);
    be.zeroize();
    out
}

/// Formats a field element in the wire encoding.
pub fn format(x: &Fr) -> String {
    let bytes = Zeroizing::new(to_be_bytes(x));
    let mut digits = Zeroizing::new([0u8; 64]);
    hex::encode_to_slice(bytes.as_slice(), &mut *digits).expect("32 bytes are 64 hex digits");
    let mut out = String::with_capacity(66);
    out.push_str("0x");
    out.push_str(core::str::from_utf8(&*digits).expect("hex digits are ASCII"));
    out
}

/// `serde(with = "zkclaim_circuits::field::serde_fr")` for one field element.
pub mod serde_fr {
    use super::*;
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(x: &Fr, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&Zeroizing::new(format(x)))
    }

    /// The string read is wiped once parsed (it may be `sk`); the deserializer's own input
    /// and buffers are its caller's.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Fr, D::Error> {
        let s = Zeroizing::new(String::deserialize(d)?);
        parse(&s).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::{One, Zero};

    const R_HEX: &str = "0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001";

    #[test]
    fn round_trips_edges() {
        for x in [Fr::zero(), Fr::one(), -Fr::one(), Fr::from(u64::MAX)] {
            assert_eq!(parse(&format(&x)).unwrap(), x);
        }
        assert_eq!(
            format(&-Fr::one()),
            "0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000000"
        );
    }

    #[test]
    fn rejects_modulus_and_above() {
        assert_eq!(parse(R_HEX), Err(FieldError::NotCanonical));
        // 1 + r: the same residue as 1, encoded non-canonically.
        let one_plus_r = "0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000002";
        assert_eq!(parse(one_plus_r), Err(FieldError::NotCanonical));
        assert_eq!(
            parse(&format!("0x{}", "f".repeat(64))),
            Err(FieldError::NotCanonical)
        );
    }

    #[test]
    fn rejects_malformed() {
        assert_eq!(parse("12"), Err(FieldError::MissingPrefix));
        assert_eq!(parse("0x12"), Err(FieldError::WrongLength(2)));
        assert_eq!(
            parse(&format!("0x{}", "g".repeat(64))),
            Err(FieldError::NotHex)
        );
        assert_eq!(
            parse(&format!("0x{}", "0".repeat(65))),
            Err(FieldError::WrongLength(65))
        );
    }
}
