//! The node's actions on the ledger, without HTTP. The handlers call them, and so does the
//! command line without `--server` on the embedded ledger, so both modes answer alike:
//! the same JSON, the same refusals.

use super::{error::ServiceError, schemas::Digest};
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};
use zeroize::Zeroize;
use zkclaim_circuits::{
    claim::{ClaimWitness, Shape},
    field,
    invoice::Invoice,
    keys::KeyFile,
    policy::Policy,
    schema::Field,
};
use zkclaim_ledger::{ClaimStatement, Ledger, SignedTransaction, Transaction};
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
    /// Prove at once against the current root, even if it was produced by the block that
    /// registered the invoice, or by one soon after: the insurer may then learn that block,
    /// and so the hospital and the time (docs/protocol.md, "Root choice"). Default: wait for
    /// the node's `min_root_lag` registrations by other hospitals.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub claim_now: bool,
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

/// A voided invoice: the receipt and the leaf now set to 0.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Voided {
    #[serde(flatten)]
    pub receipt: Receipt,
    pub leaf_index: Option<u64>,
    /// How long claims proved against a root from before the void may still settle: the
    /// genesis `root_max_age_ms`.
    pub claimable_for_ms: u64,
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

/// Voids an invoice commitment the signing hospital registered; blocks until its block is
/// durable.
pub fn void_invoice(ledger: &Ledger, stx: SignedTransaction) -> Result<Voided, ServiceError> {
    let Transaction::VoidInvoice { commitment } = stx.tx else {
        return Err(wrong_transaction("void_invoice"));
    };
    let receipt = ledger.submit(stx)?.into();
    Ok(Voided {
        receipt,
        leaf_index: ledger.leaf_index(commitment),
        claimable_for_ms: ledger.genesis().root_max_age_ms,
    })
}

/// The settled claim with this nullifier (`0x…`), where and by whom it was settled.
pub fn claim(ledger: &Ledger, nullifier: &str) -> Result<SettledClaim, ServiceError> {
    let n = field::parse(nullifier)
        .map_err(|e| ServiceError::BadRequest("invalid_request", format!("nullifier: {e}")))?;
    let record = ledger
        .claim(n)
        .ok_or_else(|| ServiceError::NotFound("no settled claim has this nullifier".into()))?;
    // The service serves primary claims only, so far.
    let ClaimStatement::Primary(public_inputs) = record.statement else {
        return Err(ServiceError::NotFound(
            "the claim with this nullifier is a continuation claim, which this service does \
             not serve yet"
                .into(),
        ));
    };
    Ok(SettledClaim {
        height: record.height,
        tx_index: record.tx_index,
        insurer: record.insurer,
        claim: ClaimPackage {
            public_inputs,
            proof: record.proof,
        },
    })
}

/// How a prover chooses the root it proves against (docs/protocol.md, "Root choice"): the
/// current root once it holds at least `min_lag` registrations by other hospitals in blocks
/// after the invoice's, waiting for them at most `wait`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RootChoice {
    pub min_lag: u64,
    pub wait: Duration,
}

impl RootChoice {
    /// The default lag: a crowd of 64 later registrations by other hospitals.
    pub const DEFAULT_MIN_LAG: u64 = 64;

    /// The choice for a request: at once when it asks to claim now.
    pub fn for_request(self, request: &ProofRequest) -> Self {
        if request.claim_now {
            Self {
                min_lag: 0,
                wait: Duration::ZERO,
            }
        } else {
            self
        }
    }

    /// Whether the current root may be proved against now: `Ok(false)` to wait on, the
    /// refusal once `started + wait` has passed. Refuses an unregistered or voided invoice.
    pub fn ready(
        &self,
        ledger: &Ledger,
        shape: Shape,
        request: &ProofRequest,
        started: Instant,
    ) -> Result<bool, ServiceError> {
        if self.min_lag == 0 {
            return Ok(true);
        }
        let leaf = leaf_of(ledger, shape, request)?;
        let later = ledger.leaf_path(leaf)?.later_by_others;
        if later >= self.min_lag {
            return Ok(true);
        }
        if started.elapsed() >= self.wait {
            return Err(ServiceError::RootTooFresh {
                later,
                needed: self.min_lag,
                waited_s: self.wait.as_secs(),
            });
        }
        Ok(false)
    }
}

/// The invoice's leaf index on the ledger; refused (422) when it is not registered.
fn leaf_of(ledger: &Ledger, shape: Shape, request: &ProofRequest) -> Result<u64, ServiceError> {
    let commitment = request
        .invoice
        .commitment(shape.items)
        .map_err(|e| ServiceError::Unsatisfiable(format!("invoice: {e}")))?;
    ledger.leaf_index(commitment).ok_or_else(|| {
        ServiceError::Unsatisfiable(
            "the invoice's commitment is not registered on the ledger".into(),
        )
    })
}

/// The witness of a proof request, its Merkle path from the ledger at the current root.
/// Refuses (422) an unregistered invoice and a claim that breaks a rule of the statement,
/// (410) a voided invoice, and (409) an invoice whose nullifier the ledger has spent
/// already: all cheap to check natively, before a proof is spent on it.
pub fn witness(
    ledger: &Ledger,
    shape: Shape,
    request: ProofRequest,
) -> Result<ClaimWitness, ServiceError> {
    let leaf = leaf_of(ledger, shape, &request)?;
    let witness = ClaimWitness {
        sk: request.key.secret_key(),
        invoice: request.invoice.clone(),
        path: ledger.leaf_path(leaf)?.path,
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
