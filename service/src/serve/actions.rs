//! The node's actions on the ledger, without HTTP. The handlers call them, and so does the
//! command line without `--server` on the embedded ledger, so both modes answer alike:
//! the same JSON, the same refusals.

use super::error::ServiceError;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use zeroize::Zeroize;
use zkclaim_circuits::{
    claim::{ClaimWitness, Shape},
    field,
    invoice::Invoice,
    keys::KeyFile,
    policy::Policy,
};
use zkclaim_ledger::{Ledger, Receipt, SignedTransaction, Transaction};
use zkclaim_verifier::ClaimPackage;

/// `{"invoice": …, "key": {"sk": …}, "policy": …}`: the patient's secrets. Its `Debug`
/// prints nothing; on drop the secret fields are wiped (the key by `KeyFile` itself). The
/// prover's own working copies are not under our control.
#[derive(Serialize, Deserialize)]
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

fn receipt_json(r: &Receipt) -> Value {
    json!({
        "height": r.height,
        "block_hash": hex::encode(r.block_hash),
        "tx_index": r.tx_index,
        "tx_id": hex::encode(r.tx_id),
    })
}

fn wrong_transaction(expected: &str) -> ServiceError {
    ServiceError::BadRequest(
        "invalid_request",
        format!("this endpoint takes a {expected} transaction"),
    )
}

/// Registers an invoice commitment; blocks until its block is durable. Answers the receipt
/// and the invoice's leaf index.
pub fn register_invoice(ledger: &Ledger, stx: SignedTransaction) -> Result<Value, ServiceError> {
    let Transaction::RegisterInvoice { commitment } = stx.tx else {
        return Err(wrong_transaction("register_invoice"));
    };
    let receipt = ledger.submit(stx)?;
    let mut answer = receipt_json(&receipt);
    answer["leaf_index"] = json!(ledger.leaf_index(commitment));
    Ok(answer)
}

/// Verifies and settles a claim; blocks until its block is durable. Answers the receipt,
/// the nullifier and the amount.
pub fn settle_claim(ledger: &Ledger, stx: SignedTransaction) -> Result<Value, ServiceError> {
    let Transaction::SettleClaim { claim } = &stx.tx else {
        return Err(wrong_transaction("settle_claim"));
    };
    let public = claim.public_inputs;
    let receipt = ledger.submit(stx)?;
    let mut answer = receipt_json(&receipt);
    answer["nullifier"] = json!(field::format(&public.nullifier));
    answer["claim_amount"] = json!(public.claim_amount);
    Ok(answer)
}

/// The settled claim with this nullifier (`0x…`), where and by whom it was settled.
pub fn claim(ledger: &Ledger, nullifier: &str) -> Result<Value, ServiceError> {
    let n = field::parse(nullifier)
        .map_err(|e| ServiceError::BadRequest("invalid_request", format!("nullifier: {e}")))?;
    let record = ledger
        .claim(n)
        .ok_or_else(|| ServiceError::NotFound("no settled claim has this nullifier".into()))?;
    let claim = ClaimPackage {
        public_inputs: record.public_inputs,
        proof: record.proof,
    };
    Ok(json!({
        "height": record.height,
        "tx_index": record.tx_index,
        "insurer": record.insurer,
        "claim": claim,
    }))
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
