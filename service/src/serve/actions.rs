//! The node's actions on the ledger, without HTTP. The handlers call them, and so does the
//! command line without `--server` on the embedded ledger, so both modes answer alike:
//! the same JSON, the same refusals.

use super::{error::ServiceError, schemas::Digest};
use serde::{Deserialize, Serialize};
use zeroize::Zeroize;
use zkclaim_circuits::{
    claim::{ClaimWitness, Shape},
    field,
    invoice::Invoice,
    keys::KeyFile,
    policy::Policy,
    schema::Field,
};
use zkclaim_ledger::{Ledger, SignedTransaction, Transaction};
use zkclaim_verifier::ClaimPackage;

/// `{"invoice": …, "key": {"sk": …}, "policy": …}`: the patient's secrets. Its `Debug`
/// prints nothing; on drop the secret fields are wiped (the key by `KeyFile` itself). The
/// prover's own working copies are not under our control.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProofRequest {
    pub invoice: Invoice,
    pub key: KeyFile,
    pub policy: Policy,
}

impl std::fmt::Debug for ProofRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProofRequest(<redacted>)")
    }
}

impl Drop for ProofRequest {
    fn drop(&mut self) {
        let invoice = &mut self.invoice;
        invoice.serial.zeroize();
        invoice.patient_pk.zeroize();
        for item in &mut invoice.items {
            item.detail.zeroize();
            item.amount.zeroize();
            item.category.zeroize();
        }
        self.policy.salt.zeroize();
    }
}

/// Where a transaction landed: its block, once durable.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Receipt {
    pub height: u64,
    #[schema(value_type = Digest)]
    pub block_hash: String,
    pub tx_index: u32,
    /// SHA-256 of the chain id and the transaction's signed encoding.
    #[schema(value_type = Digest)]
    pub tx_id: String,
}

impl From<zkclaim_ledger::Receipt> for Receipt {
    fn from(r: zkclaim_ledger::Receipt) -> Self {
        Self {
            height: r.height,
            block_hash: hex::encode(r.block_hash),
            tx_index: r.tx_index,
            tx_id: hex::encode(r.tx_id),
        }
    }
}

/// A registered invoice: the receipt and the invoice's leaf in the invoice tree.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Registered {
    #[serde(flatten)]
    pub receipt: Receipt,
    pub leaf_index: Option<u64>,
}

/// A settled claim: the receipt, the spent nullifier and the amount.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Settled {
    #[serde(flatten)]
    pub receipt: Receipt,
    #[schema(value_type = Field)]
    pub nullifier: String,
    pub claim_amount: u64,
}

/// A claim on the ledger: where and by whom it was settled, and the package.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SettledClaim {
    pub height: u64,
    pub tx_index: u32,
    pub insurer: u32,
    pub claim: ClaimPackage,
}

fn wrong_transaction(expected: &str) -> ServiceError {
    ServiceError::BadRequest(
        "invalid_request",
        format!("this endpoint takes a {expected} transaction"),
    )
}

/// Registers an invoice commitment; blocks until its block is durable. Answers the receipt
/// and the invoice's leaf index.
pub fn register_invoice(
    ledger: &Ledger,
    stx: SignedTransaction,
) -> Result<Registered, ServiceError> {
    let Transaction::RegisterInvoice { commitment } = stx.tx else {
        return Err(wrong_transaction("register_invoice"));
    };
    let receipt = ledger.submit(stx)?.into();
    Ok(Registered {
        receipt,
        leaf_index: ledger.leaf_index(commitment),
    })
}

/// The settled claim with this nullifier (`0x…`), where and by whom it was settled.
pub fn claim(ledger: &Ledger, nullifier: &str) -> Result<SettledClaim, ServiceError> {
    let n = field::parse(nullifier)
        .map_err(|e| ServiceError::BadRequest("invalid_request", format!("nullifier: {e}")))?;
    let record = ledger
        .claim(n)
        .ok_or_else(|| ServiceError::NotFound("no settled claim has this nullifier".into()))?;
    Ok(SettledClaim {
        height: record.height,
        tx_index: record.tx_index,
        insurer: record.insurer,
        claim: ClaimPackage {
            public_inputs: record.public_inputs,
            proof: record.proof,
        },
    })
}

/// The witness of a proof request, its Merkle path from the ledger. Refuses (422) an
/// unregistered invoice and a claim that breaks a rule of the statement, and (409) an
/// invoice whose nullifier the ledger has spent already: all cheap to check natively, before
/// a proof is spent on it.
pub fn witness(
    ledger: &Ledger,
    shape: Shape,
    request: ProofRequest,
) -> Result<ClaimWitness, ServiceError> {
    let commitment = request
        .invoice
        .commitment(shape.items)
        .map_err(|e| ServiceError::Unsatisfiable(format!("invoice: {e}")))?;
    let leaf = ledger.leaf_index(commitment).ok_or_else(|| {
        ServiceError::Unsatisfiable(
            "the invoice's commitment is not registered on the ledger".into(),
        )
    })?;
    let witness = ClaimWitness {
        sk: request.key.secret_key(),
        invoice: request.invoice.clone(),
        path: ledger.merkle_path(leaf)?,
        policy: request.policy.clone(),
    };
    drop(request);
    let public = witness
        .public_inputs(shape)
        .map_err(|rule| ServiceError::Unsatisfiable(rule.to_string()))?;
    if let Some(settled) = ledger.claim(public.nullifier) {
        return Err(ServiceError::AlreadyClaimed {
            first_height: settled.height,
        });
    }
    Ok(witness)
}
