//! Ledger transactions and their signed, canonical byte encoding.
//!
//! What a member signs is never JSON: it is
//! `"zkclaim/tx/v1" ‖ len(chain_id) u32 ‖ chain_id ‖ signer u32 ‖ body`, where `body` is
//! - `0x01 ‖ commitment` for [`Transaction::RegisterInvoice`],
//! - `0x04 ‖ invoice_root ‖ nullifier ‖ claimant_tag ‖ policy_hash ‖ claim_amount u64 ‖
//!   insurer_id u32 ‖ proof` for [`Transaction::SettleClaim`] (field elements 32 bytes
//!   big-endian, proof 128 bytes compressed). Tag `0x02` was statement v1's claim, without
//!   `insurer_id`: it is refused by name ([`DecodeError::StatementV1Claim`]), never read as
//!   another layout.
//! - `0x03 ‖ commitment` for [`Transaction::VoidInvoice`] (statement v2: only the hospital
//!   that registered the commitment may sign it; its leaf becomes the empty value 0).
//! - `0x05 ‖ invoice_root ‖ settled_root ‖ nullifier ‖ claimant_tag ‖ policy_hash ‖
//!   claim_amount u64 ‖ settled_leaf ‖ insurer_id u32 ‖ proof` for
//!   [`Transaction::SettleContinuation`] (statement v2: a later payer's claim on an invoice,
//!   proven with the continuation circuit; the public inputs in the statement's order).
//!
//! The chain id keeps a signature from being replayed on another consortium's chain.

use crate::{
    encoding::{hex_bytes, put_bytes, put_fr, put_u32, put_u64, DecodeError, Reader},
    genesis::{Consortium, MemberKey, Role},
    LedgerError,
};
use ark_bn254::Fr;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zkclaim_circuits::{
    claim::PublicInputs, continuation::ContinuationPublicInputs, field, settled, Circuit,
};
use zkclaim_verifier::{ClaimPackage, ContinuationPackage, Proof};

const TX_DOMAIN: &[u8] = b"zkclaim/tx/v1";
const REGISTER_INVOICE: u8 = 1;
/// Statement v1's claim (no `insurer_id`); no longer written or read.
const SETTLE_CLAIM_V1: u8 = 2;
const VOID_INVOICE: u8 = 3;
const SETTLE_CLAIM: u8 = 4;
const SETTLE_CONTINUATION: u8 = 5;

// Claims are the larger variant and a common one: boxing them would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Transaction {
    /// A hospital registers an invoice commitment in the invoice tree.
    RegisterInvoice {
        #[cfg_attr(feature = "openapi", schema(value_type = zkclaim_circuits::schema::Field))]
        #[serde(with = "field::serde_fr")]
        commitment: Fr,
    },
    /// An insurer settles a claim: its proof, root and nullifier are checked, the nullifier
    /// spent.
    SettleClaim { claim: ClaimPackage },
    /// Statement v2: an insurer settles a continuation claim, a later payer's on an invoice
    /// whose previous rank settled: checked as a claim, and its settled root too.
    SettleContinuation { claim: ContinuationPackage },
    /// The hospital that registered an invoice commitment voids it (a refund or a
    /// correction): its leaf is set to 0, so no later root holds it, and it can never be
    /// registered again.
    VoidInvoice {
        #[cfg_attr(feature = "openapi", schema(value_type = zkclaim_circuits::schema::Field))]
        #[serde(with = "field::serde_fr")]
        commitment: Fr,
    },
}

impl Transaction {
    /// The role allowed to sign this transaction.
    pub fn role(&self) -> Role {
        match self {
            Transaction::RegisterInvoice { .. } | Transaction::VoidInvoice { .. } => Role::Hospital,
            Transaction::SettleClaim { .. } | Transaction::SettleContinuation { .. } => {
                Role::Insurer
            }
        }
    }

    /// Its kind, as its JSON form names it (`register_invoice`, `settle_claim`,
    /// `settle_continuation`, `void_invoice`): what a ledger explorer lists.
    pub fn kind(&self) -> &'static str {
        match self {
            Transaction::RegisterInvoice { .. } => "register_invoice",
            Transaction::SettleClaim { .. } => "settle_claim",
            Transaction::SettleContinuation { .. } => "settle_continuation",
            Transaction::VoidInvoice { .. } => "void_invoice",
        }
    }

    /// A claim's public statement and proof, of either circuit; `None` for the hospitals'
    /// transactions.
    pub fn claim(&self) -> Option<(ClaimStatement, &Proof)> {
        match self {
            Transaction::SettleClaim { claim } => {
                Some((ClaimStatement::Primary(claim.public_inputs), &claim.proof))
            }
            Transaction::SettleContinuation { claim } => Some((
                ClaimStatement::Continuation(claim.public_inputs),
                &claim.proof,
            )),
            Transaction::RegisterInvoice { .. } | Transaction::VoidInvoice { .. } => None,
        }
    }

    fn encode_body(&self, out: &mut Vec<u8>) {
        match self {
            Transaction::RegisterInvoice { commitment } => {
                out.push(REGISTER_INVOICE);
                put_fr(out, commitment);
            }
            Transaction::SettleClaim { claim } => {
                out.push(SETTLE_CLAIM);
                let p = &claim.public_inputs;
                for x in [
                    &p.invoice_root,
                    &p.nullifier,
                    &p.claimant_tag,
                    &p.policy_hash,
                ] {
                    put_fr(out, x);
                }
                put_u64(out, p.claim_amount);
                put_u32(out, p.insurer_id);
                out.extend_from_slice(&claim.proof.to_bytes());
            }
            Transaction::SettleContinuation { claim } => {
                out.push(SETTLE_CONTINUATION);
                let p = &claim.public_inputs;
                for x in [
                    &p.invoice_root,
                    &p.settled_root,
                    &p.nullifier,
                    &p.claimant_tag,
                    &p.policy_hash,
                ] {
                    put_fr(out, x);
                }
                put_u64(out, p.claim_amount);
                put_fr(out, &p.settled_leaf);
                put_u32(out, p.insurer_id);
                out.extend_from_slice(&claim.proof.to_bytes());
            }
            Transaction::VoidInvoice { commitment } => {
                out.push(VOID_INVOICE);
                put_fr(out, commitment);
            }
        }
    }

    fn decode_body(r: &mut Reader) -> Result<Self, DecodeError> {
        match r.u8()? {
            REGISTER_INVOICE => Ok(Transaction::RegisterInvoice {
                commitment: r.fr()?,
            }),
            SETTLE_CLAIM => {
                let public_inputs = PublicInputs {
                    invoice_root: r.fr()?,
                    nullifier: r.fr()?,
                    claimant_tag: r.fr()?,
                    policy_hash: r.fr()?,
                    claim_amount: r.u64()?,
                    insurer_id: r.u32()?,
                };
                let proof = r.proof()?;
                Ok(Transaction::SettleClaim {
                    claim: ClaimPackage {
                        public_inputs,
                        proof,
                    },
                })
            }
            SETTLE_CONTINUATION => {
                let public_inputs = ContinuationPublicInputs {
                    invoice_root: r.fr()?,
                    settled_root: r.fr()?,
                    nullifier: r.fr()?,
                    claimant_tag: r.fr()?,
                    policy_hash: r.fr()?,
                    claim_amount: r.u64()?,
                    settled_leaf: r.fr()?,
                    insurer_id: r.u32()?,
                };
                let proof = r.proof()?;
                Ok(Transaction::SettleContinuation {
                    claim: ContinuationPackage {
                        public_inputs,
                        proof,
                    },
                })
            }
            VOID_INVOICE => Ok(Transaction::VoidInvoice {
                commitment: r.fr()?,
            }),
            SETTLE_CLAIM_V1 => Err(DecodeError::StatementV1Claim),
            tag => Err(DecodeError::UnknownTag(tag)),
        }
    }

    /// The exact bytes `signer` signs on chain `chain_id`.
    pub fn signing_bytes(&self, chain_id: &str, signer: u32) -> Vec<u8> {
        let mut out = TX_DOMAIN.to_vec();
        put_bytes(&mut out, chain_id.as_bytes());
        put_u32(&mut out, signer);
        self.encode_body(&mut out);
        out
    }

    pub fn sign(self, chain_id: &str, key: &MemberKey) -> SignedTransaction {
        let signature = key.sign(&self.signing_bytes(chain_id, key.member_id()));
        SignedTransaction {
            tx: self,
            signer: key.member_id(),
            signature,
        }
    }
}

/// The public inputs of a claim of either circuit, as a claim transaction carries them and
/// a [`crate::ClaimRecord`] keeps them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimStatement {
    Primary(PublicInputs),
    Continuation(ContinuationPublicInputs),
}

impl ClaimStatement {
    /// The circuit whose proof the claim carries.
    pub fn circuit(&self) -> Circuit {
        match self {
            ClaimStatement::Primary(_) => Circuit::Primary,
            ClaimStatement::Continuation(_) => Circuit::Continuation,
        }
    }

    pub fn invoice_root(&self) -> Fr {
        match self {
            ClaimStatement::Primary(p) => p.invoice_root,
            ClaimStatement::Continuation(p) => p.invoice_root,
        }
    }

    pub fn nullifier(&self) -> Fr {
        match self {
            ClaimStatement::Primary(p) => p.nullifier,
            ClaimStatement::Continuation(p) => p.nullifier,
        }
    }

    pub fn insurer_id(&self) -> u32 {
        match self {
            ClaimStatement::Primary(p) => p.insurer_id,
            ClaimStatement::Continuation(p) => p.insurer_id,
        }
    }

    /// The leaf the claim adds to the settled tree: computed from a primary claim's public
    /// inputs ([`settled::primary_leaf`]), given by a continuation.
    pub fn settled_leaf(&self) -> Fr {
        match self {
            ClaimStatement::Primary(p) => settled::primary_leaf(p),
            ClaimStatement::Continuation(p) => p.settled_leaf,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SignedTransaction {
    pub tx: Transaction,
    /// The signing member's id.
    #[cfg_attr(feature = "openapi", schema(maximum = 4294967295_u64))]
    pub signer: u32,
    /// Ed25519 signature of the transaction's signing bytes, hex.
    #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^[0-9a-fA-F]{128}$"))]
    #[serde(with = "hex_bytes")]
    pub signature: [u8; 64],
}

impl SignedTransaction {
    /// Signer known, signature valid, role allowed, and a claim settled by its own insurer:
    /// in that order.
    pub(crate) fn authorize(&self, consortium: &Consortium) -> Result<(), LedgerError> {
        let message = self.tx.signing_bytes(&consortium.chain_id, self.signer);
        let role = consortium.verify(self.signer, &message, &self.signature)?;
        let needed = self.tx.role();
        if role != needed {
            return Err(LedgerError::WrongRole {
                member: self.signer,
                role,
                needed,
            });
        }
        // Statement v2: the claim names its policy's insurer, and no other member may spend
        // its nullifier (which would burn the patient's claim at the insurer that owes it).
        if let Some((statement, _)) = self.tx.claim() {
            let insurer_id = statement.insurer_id();
            if insurer_id != self.signer {
                return Err(LedgerError::WrongInsurer {
                    signer: self.signer,
                    insurer_id,
                });
            }
        }
        Ok(())
    }

    /// SHA-256 of the signed bytes followed by the signature: it names the transaction and
    /// is a leaf of the block's `tx_root`.
    pub fn id(&self, chain_id: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.tx.signing_bytes(chain_id, self.signer));
        h.update(self.signature);
        h.finalize().into()
    }

    /// The stored form (chain id implied by the chain): `signer u32 ‖ signature ‖ body`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        put_u32(&mut out, self.signer);
        out.extend_from_slice(&self.signature);
        self.tx.encode_body(&mut out);
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let signer = r.u32()?;
        let signature = r.array()?;
        let tx = Transaction::decode_body(&mut r)?;
        r.finish()?;
        Ok(Self {
            tx,
            signer,
            signature,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use ark_ec::{CurveGroup, PrimeGroup};
    use rand::{rngs::StdRng, SeedableRng};
    use zkclaim_verifier::Proof;

    /// A well-formed (not verifying) claim: encodings do not care whether proofs verify.
    pub(crate) fn claim(seed: u64) -> ClaimPackage {
        let g1 = |k: u64| (ark_bn254::G1Projective::generator() * Fr::from(k)).into_affine();
        let g2 = (ark_bn254::G2Projective::generator() * Fr::from(seed + 5)).into_affine();
        ClaimPackage {
            public_inputs: PublicInputs {
                invoice_root: Fr::from(seed),
                nullifier: Fr::from(seed + 1),
                claimant_tag: Fr::from(seed + 2),
                policy_hash: -Fr::from(seed + 3),
                claim_amount: 7_760,
                insurer_id: 4,
            },
            proof: Proof {
                a: g1(seed + 4),
                b: g2,
                c: g1(seed + 6),
            },
        }
    }

    /// A well-formed (not verifying) continuation claim.
    pub(crate) fn continuation(seed: u64) -> ContinuationPackage {
        let primary = claim(seed);
        let p = primary.public_inputs;
        ContinuationPackage {
            public_inputs: ContinuationPublicInputs {
                invoice_root: p.invoice_root,
                settled_root: Fr::from(seed + 10),
                nullifier: p.nullifier,
                claimant_tag: p.claimant_tag,
                policy_hash: p.policy_hash,
                claim_amount: 1_000,
                settled_leaf: Fr::from(seed + 11),
                insurer_id: 4,
            },
            proof: primary.proof,
        }
    }

    pub(crate) fn key(id: u32) -> MemberKey {
        MemberKey::generate(id, &mut StdRng::seed_from_u64(id.into()))
    }

    #[test]
    fn signed_transactions_round_trip_in_bytes_and_json() {
        let k = key(4);
        for tx in [
            Transaction::RegisterInvoice {
                commitment: -Fr::from(1u64),
            },
            Transaction::SettleClaim { claim: claim(10) },
            Transaction::SettleContinuation {
                claim: continuation(20),
            },
            Transaction::VoidInvoice {
                commitment: -Fr::from(2u64),
            },
        ] {
            let stx = tx.sign("c", &k);
            assert_eq!(
                SignedTransaction::from_bytes(&stx.to_bytes()),
                Ok(stx.clone())
            );
            let json = serde_json::to_string(&stx).unwrap();
            assert_eq!(
                serde_json::from_str::<SignedTransaction>(&json).unwrap(),
                stx
            );
            let value: serde_json::Value = serde_json::from_str(&json).unwrap();
            let kinds: Vec<&String> = value["tx"].as_object().unwrap().keys().collect();
            assert_eq!(kinds, [stx.tx.kind()], "the kind is the JSON form's name");
        }
    }

    #[test]
    fn signing_bytes_are_laid_out_as_documented() {
        let tx = Transaction::RegisterInvoice {
            commitment: Fr::from(0x0102u64),
        };
        let mut expected = b"zkclaim/tx/v1".to_vec();
        expected.extend_from_slice(&[0, 0, 0, 2, b'c', b'1', 0, 0, 0, 9, 1]);
        expected.extend_from_slice(&[0; 30]);
        expected.extend_from_slice(&[1, 2]);
        assert_eq!(tx.signing_bytes("c1", 9), expected);

        let void = Transaction::VoidInvoice {
            commitment: Fr::from(0x0102u64),
        };
        let mut voided = expected.clone();
        voided[expected.len() - 33] = 3;
        assert_eq!(void.signing_bytes("c1", 9), voided);
        assert_eq!(void.role(), Role::Hospital);

        let settle = Transaction::SettleClaim { claim: claim(1) };
        assert_eq!(
            settle.signing_bytes("c1", 9).len(),
            expected.len() - 32 + 4 * 32 + 8 + 4 + 128
        );
    }

    #[test]
    fn continuation_signing_bytes_are_laid_out_as_documented_and_cover_every_field() {
        let c = continuation(1);
        let tx = Transaction::SettleContinuation { claim: c.clone() };
        assert_eq!(tx.role(), Role::Insurer);
        let bytes = tx.signing_bytes("c1", 9);
        let mut expected = b"zkclaim/tx/v1".to_vec();
        expected.extend_from_slice(&[0, 0, 0, 2, b'c', b'1', 0, 0, 0, 9, 5]);
        let p = &c.public_inputs;
        for x in [
            &p.invoice_root,
            &p.settled_root,
            &p.nullifier,
            &p.claimant_tag,
            &p.policy_hash,
        ] {
            expected.extend_from_slice(&field::to_be_bytes(x));
        }
        expected.extend_from_slice(&p.claim_amount.to_be_bytes());
        expected.extend_from_slice(&field::to_be_bytes(&p.settled_leaf));
        expected.extend_from_slice(&p.insurer_id.to_be_bytes());
        expected.extend_from_slice(&c.proof.to_bytes());
        assert_eq!(bytes, expected);
        let edits: [fn(&mut ContinuationPackage); 9] = [
            |c| c.public_inputs.invoice_root += Fr::from(1u64),
            |c| c.public_inputs.settled_root += Fr::from(1u64),
            |c| c.public_inputs.nullifier += Fr::from(1u64),
            |c| c.public_inputs.claimant_tag += Fr::from(1u64),
            |c| c.public_inputs.policy_hash += Fr::from(1u64),
            |c| c.public_inputs.claim_amount += 1,
            |c| c.public_inputs.settled_leaf += Fr::from(1u64),
            |c| c.public_inputs.insurer_id += 1,
            |c| c.proof.a = c.proof.c,
        ];
        for (i, edit) in edits.iter().enumerate() {
            let mut other = c.clone();
            edit(&mut other);
            let changed = Transaction::SettleContinuation { claim: other }.signing_bytes("c1", 9);
            assert_ne!(changed, bytes, "edit {i}");
        }
        let statement = tx.claim().unwrap().0;
        assert_eq!(statement.circuit(), Circuit::Continuation);
        assert_eq!(statement.settled_leaf(), p.settled_leaf);
    }

    #[test]
    fn the_id_depends_on_chain_signer_body_and_signature() {
        let k = key(4);
        let tx = Transaction::RegisterInvoice {
            commitment: Fr::from(5u64),
        };
        let stx = tx.clone().sign("a", &k);
        let id = stx.id("a");
        assert_ne!(stx.id("b"), id);
        let mut other = stx.clone();
        other.signer = 5;
        assert_ne!(other.id("a"), id);
        let mut other = stx.clone();
        other.signature[0] ^= 1;
        assert_ne!(other.id("a"), id);
        let other = Transaction::RegisterInvoice {
            commitment: Fr::from(6u64),
        }
        .sign("a", &k);
        assert_ne!(other.id("a"), id);
    }

    #[test]
    fn decoding_refuses_garbage() {
        let stx = Transaction::SettleClaim { claim: claim(3) }.sign("c", &key(1));
        let bytes = stx.to_bytes();
        let mut long = bytes.clone();
        long.push(0);
        assert_eq!(
            SignedTransaction::from_bytes(&long),
            Err(DecodeError::TrailingBytes(1))
        );
        assert_eq!(
            SignedTransaction::from_bytes(&bytes[..bytes.len() - 1]),
            Err(DecodeError::Truncated)
        );
        let mut tag = bytes.clone();
        tag[68] = 9;
        assert_eq!(
            SignedTransaction::from_bytes(&tag),
            Err(DecodeError::UnknownTag(9))
        );
        // Statement v1's claim tag is named, not misread.
        tag[68] = 2;
        assert_eq!(
            SignedTransaction::from_bytes(&tag),
            Err(DecodeError::StatementV1Claim)
        );
        // The invoice root replaced by r, the field modulus: a non-canonical element.
        let mut big = bytes.clone();
        big[69..101].copy_from_slice(
            &hex::decode("30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001")
                .unwrap(),
        );
        assert_eq!(
            SignedTransaction::from_bytes(&big),
            Err(DecodeError::NotCanonical)
        );
        let mut proof = bytes.clone();
        let n = proof.len();
        // A bit of `b`, the G2 point: almost no other value is a point of its subgroup.
        proof[n - 88] ^= 0x40;
        assert!(matches!(
            SignedTransaction::from_bytes(&proof),
            Err(DecodeError::Proof(_))
        ));
    }
}
