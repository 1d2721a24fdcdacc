//! The node's actions on the ledger, without HTTP. The handlers call them, and so does the
//! command line without `--server` on the embedded ledger, so both modes answer alike:
//! the same JSON, the same refusals.

use super::{error::ServiceError, schemas::Digest};
use rand::rngs::OsRng;
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};
use zeroize::Zeroize;
use zkclaim_circuits::{
    claim::{ClaimWitness, Shape},
    continuation::{ContinuationWitness, MAX_RANK},
    field,
    invoice::{self, Invoice},
    keys::KeyFile,
    policy::Policy,
    schema::Field,
    settled, Circuit, Fr,
};
use zkclaim_ledger::{ClaimStatement, Ledger, SignedTransaction, Transaction};
use zkclaim_prover::ClaimParams;
use zkclaim_verifier::{ClaimPackage, ContinuationPackage, PreparedClaimKey, VerifyError};

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
    /// A continuation claim (statement v2): the patient's earlier claim packages on this
    /// invoice in rank order, the primary claim's first. The node proves the next rank
    /// once the last of them is settled, against the ledger's settled tree. Packages are
    /// public (they are on the ledger): nothing here is wiped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(max_items = 3)]
    pub previous: Vec<Package>,
}

/// A claim package of either circuit: a primary claim's, or a continuation's (statement
/// v2). As JSON it is one or the other, told apart by its public inputs: a continuation's
/// hold `settled_root` (and each kind refuses the other's fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum Package {
    Primary(ClaimPackage),
    Continuation(ContinuationPackage),
}

/// Read as the kind its public inputs say, so that a refusal is that kind's own (a field
/// not canonical, a field missing), not "no variant matched".
impl<'de> Deserialize<'de> for Package {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let value = serde_json::Value::deserialize(d)?;
        let continuation = value["public_inputs"].get("settled_root").is_some();
        match continuation {
            true => serde_json::from_value(value).map(Package::Continuation),
            false => serde_json::from_value(value).map(Package::Primary),
        }
        .map_err(D::Error::custom)
    }
}

/// The public inputs both circuits' claims have: what the insurer rule checks (the claimant
/// tag and the policy hash) and its registry records.
#[derive(Debug, Clone, Copy)]
pub struct Common {
    pub nullifier: Fr,
    pub claimant_tag: Fr,
    pub policy_hash: Fr,
    pub claim_amount: u64,
}

impl Package {
    pub fn circuit(&self) -> Circuit {
        match self {
            Package::Primary(_) => Circuit::Primary,
            Package::Continuation(_) => Circuit::Continuation,
        }
    }

    /// The public inputs both circuits have.
    pub fn common(&self) -> Common {
        match self {
            Package::Primary(p) => {
                let p = &p.public_inputs;
                Common {
                    nullifier: p.nullifier,
                    claimant_tag: p.claimant_tag,
                    policy_hash: p.policy_hash,
                    claim_amount: p.claim_amount,
                }
            }
            Package::Continuation(p) => {
                let p = &p.public_inputs;
                Common {
                    nullifier: p.nullifier,
                    claimant_tag: p.claimant_tag,
                    policy_hash: p.policy_hash,
                    claim_amount: p.claim_amount,
                }
            }
        }
    }

    /// The transaction that settles it.
    pub fn settlement(self) -> Transaction {
        match self {
            Package::Primary(claim) => Transaction::SettleClaim { claim },
            Package::Continuation(claim) => Transaction::SettleContinuation { claim },
        }
    }

    /// The package a settlement transaction carries; `None` for the hospitals'.
    pub fn settled_by(tx: &Transaction) -> Option<Self> {
        match tx {
            Transaction::SettleClaim { claim } => Some(Package::Primary(claim.clone())),
            Transaction::SettleContinuation { claim } => Some(Package::Continuation(claim.clone())),
            Transaction::RegisterInvoice { .. } | Transaction::VoidInvoice { .. } => None,
        }
    }

    /// Verifies it under `key`, which must be its circuit's.
    pub fn verify(&self, key: &PreparedClaimKey) -> Result<(), VerifyError> {
        match self {
            Package::Primary(p) => p.verify(key),
            Package::Continuation(p) => p.verify(key),
        }
    }
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

impl ProofRequest {
    /// The settled leaf of the last earlier claim, the rank's `previous`, and the
    /// continuation witness of the next rank from `claim` (its policy this rank's payer's)
    /// and the settled tree's `path` to that leaf, as
    /// [`ContinuationWitness::after_primary`] and [`ContinuationWitness::next`] build them;
    /// `None` for a primary claim (no `previous`). Refused (422) when `previous` does not
    /// start with the primary claim's package, holds more than the continuation ranks, or
    /// a primary package after the first.
    fn earlier(&self) -> Result<Option<Earlier<'_>>, ServiceError> {
        let bad = |reason: &str| ServiceError::Unsatisfiable(format!("previous: {reason}"));
        let Some((first, later)) = self.previous.split_first() else {
            return Ok(None);
        };
        let Package::Primary(primary) = first else {
            return Err(bad("the first package must be the invoice's primary claim"));
        };
        if self.previous.len() > usize::from(MAX_RANK) {
            return Err(bad(
                "a continuation claim has at most 3 earlier claims (ranks 0 to 2)",
            ));
        }
        let mut continuations = Vec::with_capacity(later.len());
        for package in later {
            let Package::Continuation(c) = package else {
                return Err(bad("only the first package may be a primary claim"));
            };
            continuations.push(c);
        }
        let leaf = match continuations.last() {
            Some(c) => c.public_inputs.settled_leaf,
            None => settled::primary_leaf(&primary.public_inputs),
        };
        Ok(Some(Earlier {
            primary,
            continuations,
            leaf,
        }))
    }
}

/// What a continuation request's earlier packages give its witness: see
/// [`ProofRequest::earlier`].
struct Earlier<'a> {
    primary: &'a ClaimPackage,
    continuations: Vec<&'a ContinuationPackage>,
    /// The previous rank's leaf in the settled tree.
    leaf: Fr,
}

impl Earlier<'_> {
    /// The previous rank's leaf index in the ledger's settled tree; refused (409) while it
    /// is not settled.
    fn settled_index(&self, ledger: &Ledger) -> Result<u64, ServiceError> {
        ledger
            .settled_index(self.leaf)
            .ok_or(ServiceError::PreviousNotSettled)
    }

    /// The next rank's witness: `claim` continued after the earlier claims.
    fn witness(
        &self,
        claim: &ClaimWitness,
        path: zkclaim_circuits::tree::MerklePath,
    ) -> ContinuationWitness {
        let policy = &claim.policy;
        let mut witness = ContinuationWitness::after_primary(
            claim,
            &self.primary.public_inputs,
            policy.clone(),
            path.clone(),
        );
        for c in &self.continuations {
            witness = witness.next(&c.public_inputs, policy.clone(), path.clone());
        }
        witness
    }
}

/// A proof to make: a primary claim's witness, or a continuation's (statement v2).
pub enum Witness {
    Primary(ClaimWitness),
    Continuation(ContinuationWitness),
}

impl Witness {
    /// Proves it with its circuit's parameters: `primary`'s, or `continuation`'s (503
    /// `no_proving_key` when there are none).
    pub fn prove(
        self,
        primary: &ClaimParams,
        continuation: Option<&ClaimParams>,
    ) -> Result<Package, ServiceError> {
        Ok(match self {
            Witness::Primary(w) => Package::Primary(zkclaim_prover::prove(primary, w, &mut OsRng)?),
            Witness::Continuation(w) => {
                let params = continuation.ok_or(ServiceError::NoProvingKey)?;
                Package::Continuation(zkclaim_prover::prove_continuation(params, w, &mut OsRng)?)
            }
        })
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

/// A claim on the ledger: where and by whom it was settled, and the package (of either
/// circuit).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SettledClaim {
    pub height: u64,
    pub tx_index: u32,
    pub insurer: u32,
    pub claim: Package,
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
    let proof = record.proof;
    Ok(SettledClaim {
        height: record.height,
        tx_index: record.tx_index,
        insurer: record.insurer,
        claim: match record.statement {
            ClaimStatement::Primary(public_inputs) => Package::Primary(ClaimPackage {
                public_inputs,
                proof,
            }),
            ClaimStatement::Continuation(public_inputs) => {
                Package::Continuation(ContinuationPackage {
                    public_inputs,
                    proof,
                })
            }
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

    /// Whether the current roots may be proved against now: `Ok(false)` to wait on, the
    /// refusal once `started + wait` has passed. Refuses an unregistered or voided invoice.
    /// A continuation's settled root too must follow the block that settled the previous
    /// rank by `min_lag` settlements (docs/protocol.md, "Root choice"); one whose previous
    /// rank is not settled is refused at once.
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
        let settled_later = match request.earlier()? {
            Some(earlier) => {
                let index = earlier.settled_index(ledger)?;
                Some(ledger.settled_path(index)?.later_settlements)
            }
            None => None,
        };
        if later >= self.min_lag && settled_later.is_none_or(|n| n >= self.min_lag) {
            return Ok(true);
        }
        if started.elapsed() < self.wait {
            return Ok(false);
        }
        let waited_s = self.wait.as_secs();
        Err(match settled_later {
            Some(later) if later < self.min_lag => ServiceError::SettledRootTooFresh {
                later,
                needed: self.min_lag,
                waited_s,
            },
            _ => ServiceError::RootTooFresh {
                later,
                needed: self.min_lag,
                waited_s,
            },
        })
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

/// The witness of a proof request, its Merkle path from the ledger at the current root; with
/// `previous`, the next rank's continuation witness, its settled path from the ledger at
/// the current settled root. Refuses (422) an unregistered invoice and a claim that breaks
/// a rule of the statement, (410) a voided invoice, (409) an invoice whose nullifier (of
/// this rank) the ledger has spent already, and for a continuation (409) a previous rank
/// not settled yet and (422) an invoice its earlier claims reimbursed in full: all cheap
/// to check natively, before a proof is spent on it.
pub fn witness(
    ledger: &Ledger,
    shape: Shape,
    request: ProofRequest,
) -> Result<Witness, ServiceError> {
    let leaf = leaf_of(ledger, shape, &request)?;
    let claim = ClaimWitness {
        sk: request.key.secret_key(),
        invoice: request.invoice.clone(),
        path: ledger.leaf_path(leaf)?.path,
        policy: request.policy.clone(),
    };
    let Some(earlier) = request.earlier()? else {
        drop(request);
        let public = claim
            .public_inputs(shape)
            .map_err(|rule| ServiceError::Unsatisfiable(rule.to_string()))?;
        unspent(ledger, public.nullifier)?;
        return Ok(Witness::Primary(claim));
    };
    let at = ledger.settled_path(earlier.settled_index(ledger)?)?;
    let witness = earlier.witness(&claim, at.path);
    drop(claim);
    drop(request);
    if witness.paid_before >= invoice::total(&witness.claim.invoice.items) {
        return Err(ServiceError::FullyReimbursed);
    }
    let public = witness
        .public_inputs(shape)
        .map_err(|rule| ServiceError::Unsatisfiable(rule.to_string()))?;
    if public.settled_root != at.root {
        // The packages' leaf is settled, but it is not the one this patient's key, invoice
        // and the packages' amounts and policies make.
        return Err(ServiceError::Unsatisfiable(
            "previous: the earlier claim packages are not this key's claims on this invoice".into(),
        ));
    }
    unspent(ledger, public.nullifier)?;
    Ok(Witness::Continuation(witness))
}

/// Refuses (409) a nullifier the ledger has spent.
fn unspent(ledger: &Ledger, nullifier: Fr) -> Result<(), ServiceError> {
    match ledger.claim(nullifier) {
        Some(settled) => Err(ServiceError::AlreadyClaimed {
            first_height: settled.height,
        }),
        None => Ok(()),
    }
}
