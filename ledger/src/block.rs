//! Blocks: signed, hash-chained headers over a list of signed transactions.
//!
//! Block 1's `prev_hash` is the genesis digest; there is no stored block 0.
//!
//! The header hash is SHA-256 of `"zkclaim/block/v2" ‖ height u64 ‖ prev_hash ‖ tx_root ‖
//! invoice_root ‖ settled_root ‖ time_ms u64 ‖ proposer u32`; the proposer signs those 32
//! bytes. A stored block is `0x02 (format) ‖ the same header fields ‖ signature ‖ tx count
//! u32`, then per transaction `len u32 ‖ SignedTransaction::to_bytes`. Format 1
//! (`"zkclaim/block/v1"`, no `settled_root`) is refused by name
//! ([`DecodeError::BlockFormat`]).

use crate::{
    encoding::{put_bytes, put_fr, put_u32, put_u64, DecodeError, Reader},
    genesis::MemberKey,
    transaction::SignedTransaction,
};
use ark_bn254::Fr;
use sha2::{Digest, Sha256};

const HEADER_DOMAIN: &[u8] = b"zkclaim/block/v2";
const BLOCK_FORMAT: u8 = 2;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockHeader {
    pub height: u64,
    pub prev_hash: [u8; 32],
    pub tx_root: [u8; 32],
    /// The invoice-tree root after this block's transactions.
    pub invoice_root: Fr,
    /// The settled-tree root after this block's claims (statement v2).
    pub settled_root: Fr,
    pub time_ms: u64,
    pub proposer: u32,
    pub signature: [u8; 64],
}

impl BlockHeader {
    fn put_signed_fields(&self, out: &mut Vec<u8>) {
        put_u64(out, self.height);
        out.extend_from_slice(&self.prev_hash);
        out.extend_from_slice(&self.tx_root);
        put_fr(out, &self.invoice_root);
        put_fr(out, &self.settled_root);
        put_u64(out, self.time_ms);
        put_u32(out, self.proposer);
    }

    /// SHA-256 of the header without its signature.
    pub fn hash(&self) -> [u8; 32] {
        let mut out = HEADER_DOMAIN.to_vec();
        self.put_signed_fields(&mut out);
        Sha256::digest(out).into()
    }

    /// Sets `proposer` and signs the hash with `key`.
    pub fn sign(&mut self, key: &MemberKey) {
        self.proposer = key.member_id();
        self.signature = key.sign(&self.hash());
    }

    fn decode(r: &mut Reader) -> Result<Self, DecodeError> {
        Ok(Self {
            height: r.u64()?,
            prev_hash: r.array()?,
            tx_root: r.array()?,
            invoice_root: r.fr()?,
            settled_root: r.fr()?,
            time_ms: r.u64()?,
            proposer: r.u32()?,
            signature: r.array()?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub header: BlockHeader,
    pub transactions: Vec<SignedTransaction>,
}

impl Block {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![BLOCK_FORMAT];
        self.header.put_signed_fields(&mut out);
        out.extend_from_slice(&self.header.signature);
        put_u32(
            &mut out,
            u32::try_from(self.transactions.len()).expect("fewer than 2^32 transactions"),
        );
        for tx in &self.transactions {
            put_bytes(&mut out, &tx.to_bytes());
        }
        out
    }

    /// Decodes a stored block, refusing unknown formats, truncation, trailing bytes,
    /// non-canonical field elements and malformed proofs.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        match r.u8()? {
            BLOCK_FORMAT => {}
            found @ 1..BLOCK_FORMAT => {
                return Err(DecodeError::BlockFormat {
                    found,
                    supported: BLOCK_FORMAT,
                })
            }
            other => return Err(DecodeError::UnknownFormat(other)),
        }
        let header = BlockHeader::decode(&mut r)?;
        let count = r.u32()?;
        let mut transactions = Vec::new();
        for _ in 0..count {
            transactions.push(SignedTransaction::from_bytes(r.bytes()?)?);
        }
        r.finish()?;
        Ok(Self {
            header,
            transactions,
        })
    }
}

/// The SHA-256 Merkle root of transaction ids: leaves `H(0x00 ‖ id)`, nodes
/// `H(0x01 ‖ left ‖ right)` (the prefixes keep a leaf from passing for a node), a node
/// without a right sibling paired with 32 zero bytes (never duplicated, which would let two
/// transaction lists share a root), and 32 zero bytes for no transactions.
pub fn tx_root(ids: &[[u8; 32]]) -> [u8; 32] {
    let mut layer: Vec<[u8; 32]> = ids
        .iter()
        .map(|id| {
            Sha256::new()
                .chain_update([0u8])
                .chain_update(id)
                .finalize()
                .into()
        })
        .collect();
    if layer.is_empty() {
        return [0; 32];
    }
    while layer.len() > 1 {
        layer = layer
            .chunks(2)
            .map(|pair| {
                Sha256::new()
                    .chain_update([1u8])
                    .chain_update(pair[0])
                    .chain_update(pair.get(1).unwrap_or(&[0; 32]))
                    .finalize()
                    .into()
            })
            .collect();
    }
    layer[0]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transaction::{
        tests::{claim, continuation, key},
        Transaction,
    };

    fn block() -> Block {
        let k = key(3);
        let mut header = BlockHeader {
            height: 7,
            prev_hash: [1; 32],
            tx_root: [2; 32],
            invoice_root: Fr::from(3u64),
            settled_root: Fr::from(4u64),
            time_ms: 1_700_000_000_000,
            proposer: 0,
            signature: [0; 64],
        };
        header.sign(&k);
        Block {
            header,
            transactions: vec![
                Transaction::RegisterInvoice {
                    commitment: Fr::from(9u64),
                }
                .sign("c", &k),
                Transaction::SettleClaim { claim: claim(20) }.sign("c", &k),
                Transaction::SettleContinuation {
                    claim: continuation(30),
                }
                .sign("c", &k),
            ],
        }
    }

    #[test]
    fn blocks_round_trip() {
        let b = block();
        let bytes = b.to_bytes();
        assert_eq!(Block::from_bytes(&bytes), Ok(b.clone()));
        let empty = Block {
            header: b.header,
            transactions: vec![],
        };
        assert_eq!(Block::from_bytes(&empty.to_bytes()), Ok(empty));
    }

    #[test]
    fn decoding_refuses_trailing_truncated_and_unknown_formats() {
        let bytes = block().to_bytes();
        let mut long = bytes.clone();
        long.extend_from_slice(&[0, 0]);
        assert_eq!(Block::from_bytes(&long), Err(DecodeError::TrailingBytes(2)));
        for cut in [0, 1, 100, 213, 217, bytes.len() - 1] {
            assert_eq!(
                Block::from_bytes(&bytes[..cut]),
                Err(DecodeError::Truncated),
                "cut at {cut}"
            );
        }
        let mut format = bytes.clone();
        format[0] = 3;
        assert_eq!(
            Block::from_bytes(&format),
            Err(DecodeError::UnknownFormat(3))
        );
        // Format 1, before the settled tree, is refused by name.
        format[0] = 1;
        let old = Block::from_bytes(&format).unwrap_err();
        assert_eq!(
            old,
            DecodeError::BlockFormat {
                found: 1,
                supported: 2
            }
        );
        assert!(old.to_string().contains("block format 1"), "{old}");
        // A transaction count larger than what follows.
        let mut count = bytes.clone();
        count[213..217].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(Block::from_bytes(&count), Err(DecodeError::Truncated));
        // A transaction length one too long swallows a byte of the next transaction.
        let mut len = bytes.clone();
        len[220] += 1;
        assert!(Block::from_bytes(&len).is_err());
    }

    #[test]
    fn the_header_hash_covers_every_field_but_the_signature() {
        let h = block().header;
        let edits: [fn(&mut BlockHeader); 7] = [
            |h| h.height += 1,
            |h| h.prev_hash[31] ^= 1,
            |h| h.tx_root[0] ^= 1,
            |h| h.invoice_root += Fr::from(1u64),
            |h| h.settled_root += Fr::from(1u64),
            |h| h.time_ms += 1,
            |h| h.proposer += 1,
        ];
        for (i, edit) in edits.iter().enumerate() {
            let mut e = h.clone();
            edit(&mut e);
            assert_ne!(e.hash(), h.hash(), "edit {i}");
        }
        let mut e = h.clone();
        e.signature[0] ^= 1;
        assert_eq!(e.hash(), h.hash());
    }

    #[test]
    fn tx_root_pairs_an_odd_node_with_zeros() {
        let ids: Vec<[u8; 32]> = (0..3u8).map(|i| [i; 32]).collect();
        assert_eq!(tx_root(&[]), [0; 32]);
        let leaf = |id: &[u8; 32]| -> [u8; 32] {
            Sha256::new()
                .chain_update([0u8])
                .chain_update(id)
                .finalize()
                .into()
        };
        let node = |l: &[u8; 32], r: &[u8; 32]| -> [u8; 32] {
            Sha256::new()
                .chain_update([1u8])
                .chain_update(l)
                .chain_update(r)
                .finalize()
                .into()
        };
        assert_eq!(tx_root(&ids[..1]), leaf(&ids[0]));
        let expected = node(
            &node(&leaf(&ids[0]), &leaf(&ids[1])),
            &node(&leaf(&ids[2]), &[0; 32]),
        );
        assert_eq!(tx_root(&ids), expected);
        // Duplicating the last id (the Bitcoin mutation) changes the root.
        let mut dup = ids.clone();
        dup.push(ids[2]);
        assert_ne!(tx_root(&dup), expected);
        let mut swapped = ids.clone();
        swapped.swap(0, 1);
        assert_ne!(tx_root(&swapped), expected);
    }
}
