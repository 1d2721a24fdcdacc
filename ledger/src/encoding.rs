//! The canonical binary encoding that is hashed, signed and stored: integers big-endian,
//! field elements as 32 canonical big-endian bytes, variable parts length-prefixed (u32).
//! Every decoder reads through [`Reader`], which refuses short input and values that are
//! not canonical, so one byte string decodes to at most one value.

use ark_bn254::Fr;
use zkclaim_circuits::field;
use zkclaim_verifier::Proof;

/// Why bytes are not a block or transaction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("truncated")]
    Truncated,
    #[error("{0} trailing bytes")]
    TrailingBytes(usize),
    #[error("unknown block format {0}")]
    UnknownFormat(u8),
    /// A block of an older format: format 1 had no settled-tree root in its header
    /// (statement v2's continuation claims).
    #[error(
        "block format {found} (before the settled tree of statement v2) is not supported by \
         this version, which reads format {supported}: replay it with zkclaim 0.1 from before \
         continuation claims, or start a new chain"
    )]
    BlockFormat { found: u8, supported: u8 },
    #[error("unknown transaction tag {0}")]
    UnknownTag(u8),
    #[error(
        "a statement-v1 claim (without insurer_id), written by a zkclaim from before statement \
         v2: this version does not replay it; use the version that wrote this ledger"
    )]
    StatementV1Claim,
    #[error("field element is not canonical")]
    NotCanonical,
    #[error("malformed proof: {0}")]
    Proof(String),
}

pub(crate) fn put_u32(out: &mut Vec<u8>, x: u32) {
    out.extend_from_slice(&x.to_be_bytes());
}

pub(crate) fn put_u64(out: &mut Vec<u8>, x: u64) {
    out.extend_from_slice(&x.to_be_bytes());
}

pub(crate) fn put_fr(out: &mut Vec<u8>, x: &Fr) {
    out.extend_from_slice(&field::to_be_bytes(x));
}

/// A u32 length, then the bytes.
pub(crate) fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_u32(
        out,
        u32::try_from(bytes.len()).expect("encoded parts are far below 4 GiB"),
    );
    out.extend_from_slice(bytes);
}

pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.rest.len() < n {
            return Err(DecodeError::Truncated);
        }
        let (head, rest) = self.rest.split_at(n);
        self.rest = rest;
        Ok(head)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        Ok(self.take(N)?.try_into().expect("took N bytes"))
    }

    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    pub(crate) fn fr(&mut self) -> Result<Fr, DecodeError> {
        field::from_be_bytes(&self.array()?).map_err(|_| DecodeError::NotCanonical)
    }

    pub(crate) fn proof(&mut self) -> Result<Proof, DecodeError> {
        Proof::from_bytes(self.take(Proof::SIZE)?).map_err(|e| DecodeError::Proof(e.to_string()))
    }

    /// A u32 length, then that many bytes.
    pub(crate) fn bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        let n = self.u32()? as usize;
        self.take(n)
    }

    /// Refuses anything left over: trailing bytes would give one value two encodings.
    pub(crate) fn finish(self) -> Result<(), DecodeError> {
        match self.rest.len() {
            0 => Ok(()),
            n => Err(DecodeError::TrailingBytes(n)),
        }
    }
}

/// `serde(with = "optional_hex_bytes")`: an optional byte array as plain hex digits, absent
/// when `None` (with `default` and `skip_serializing_if = "Option::is_none"`).
pub(crate) mod optional_hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer, const N: usize>(
        x: &Option<[u8; N]>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match x {
            Some(x) => super::hex_bytes::serialize(x, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        d: D,
    ) -> Result<Option<[u8; N]>, D::Error> {
        #[derive(Deserialize)]
        struct Wrapped<const N: usize>(#[serde(with = "super::hex_bytes")] [u8; N]);
        Ok(Option::<Wrapped<N>>::deserialize(d)?.map(|Wrapped(x)| x))
    }
}

/// `serde(with = "hex_bytes")`: a byte array as plain hex digits (keys, digests, signatures).
pub(crate) mod hex_bytes {
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer, const N: usize>(x: &[u8; N], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(x))
    }

    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        d: D,
    ) -> Result<[u8; N], D::Error> {
        let s = String::deserialize(d)?;
        let mut out = [0u8; N];
        hex::decode_to_slice(&s, &mut out)
            .map_err(|_| D::Error::custom(format!("expected {} hex digits", 2 * N)))?;
        Ok(out)
    }
}
