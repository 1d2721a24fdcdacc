//! The insurer's side of a node, without HTTP: the insurer rule on every settlement, the
//! enrolment registry, and the patients' one-click intake. The handlers call these, and so
//! do the command line's embedded mode and the demo, so all answer alike.
//!
//! A settlement goes: the signer may settle it (an insurer, and the claim's own: statement
//! v2's `insurer_id`) and the proof verifies (nothing about an unverified package, nor about
//! another insurer's claim, is recorded, so a flood of made-up packages writes nothing),
//! then the insurer rule (the claim's
//! `(claimant_tag, policy_hash)` is enrolled at the settling insurer, not revoked, not
//! expired), then the ledger. Every verified claim's outcome, settled or refused, is
//! recorded in the registry: a claim's status and the insurer's report read it.

use super::{
    actions::{Package, Receipt, Settled},
    error::ServiceError,
};
use serde::Serialize;
use zkclaim_circuits::{field, policy::Policy, Fr};
use zkclaim_insurer::{now_ms, today, Application, Enrolment, Outcome, Registry, Report, Status};
use zkclaim_ledger::{Ledger, MemberKey, SignedTransaction};

/// An enrolment made, with the policy file to hand to the patient (it holds the salt the
/// registry drew; the registry keeps only its hash).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Enrolled {
    pub enrolment: Enrolment,
    pub policy: Policy,
}

/// Enrols a policyholder of `member`'s, under `member`'s own id only.
pub fn enroll(
    registry: &Registry,
    member: u32,
    application: Application,
) -> Result<Enrolled, ServiceError> {
    if application.terms.insurer_id != member {
        return Err(ServiceError::Forbidden(
            "wrong_insurer",
            format!(
                "member {member} enrols policyholders under its own id only (terms.insurer_id)"
            ),
        ));
    }
    let (enrolment, policy) = registry.enroll(application, &mut rand::rngs::OsRng)?;
    Ok(Enrolled { enrolment, policy })
}

/// Revokes `member`'s active enrolments of `claimant_tag` (only the one of `policy_hash`
/// when given); answers those revoked.
pub fn revoke(
    registry: &Registry,
    member: u32,
    claimant_tag: Fr,
    policy_hash: Option<Fr>,
) -> Result<Vec<Enrolment>, ServiceError> {
    Ok(registry.revoke(member, claimant_tag, policy_hash)?)
}

/// `member`'s enrolments, oldest first.
pub fn enrolments(registry: &Registry, member: u32) -> Result<Vec<Enrolment>, ServiceError> {
    Ok(registry.list(member)?)
}

/// `member`'s claims: the `limit` latest settled and refused, and totals per day.
pub fn report(registry: &Registry, member: u32, limit: usize) -> Result<Report, ServiceError> {
    Ok(registry.report(member, limit)?)
}

/// Settles `stx`, a claim of either circuit (a primary claim, or a continuation: statement
/// v2) signed by the insurer that settles it, under the insurer rule; blocks until its
/// block is durable.
pub fn settle(
    ledger: &Ledger,
    registry: &Registry,
    stx: SignedTransaction,
) -> Result<Settled, ServiceError> {
    let Some(claim) = Package::settled_by(&stx.tx) else {
        return Err(ServiceError::BadRequest(
            "invalid_request",
            "this endpoint takes a settle_claim or settle_continuation transaction".into(),
        ));
    };
    // Who may settle (a member, an insurer, its signature) and a proof that verifies,
    // before anything is recorded for it. The ledger verifies the proof again (it trusts no
    // caller), a millisecond more; checking the rule first and verifying only on a refusal
    // would let a made-up package with someone's public tag and policy hash and a stale
    // root be recorded unverified, since the ledger refuses a stale root before verifying.
    ledger.precheck(&stx)?;
    let insurer = stx.signer;
    let public = claim.common();
    let outcome = |status| Outcome {
        nullifier: public.nullifier,
        claimant_tag: public.claimant_tag,
        policy_hash: public.policy_hash,
        claim_amount: public.claim_amount,
        time_ms: now_ms(),
        status,
    };
    // A refusal of the claim itself is recorded; a failure of ours (storage) is not.
    let refused = |e: ServiceError| -> Result<Settled, ServiceError> {
        let (status, code) = e.status_and_code();
        if status.is_client_error() {
            let status = Status::Refused {
                code: code.to_owned(),
                reason: e.to_string(),
            };
            registry.record(insurer, &outcome(status))?;
        }
        Err(e)
    };
    if let Err(e) = registry.check(insurer, public.claimant_tag, public.policy_hash, today()) {
        return refused(e.into());
    }
    match ledger.submit(stx) {
        Ok(receipt) => {
            let settled = Settled {
                receipt: receipt.into(),
                nullifier: field::format(&public.nullifier),
                claim_amount: public.claim_amount,
            };
            let r = &settled.receipt;
            let status = Status::Settled {
                height: r.height,
                tx_index: r.tx_index,
                tx_id: r.tx_id.clone(),
                block_hash: r.block_hash.clone(),
            };
            registry.record(insurer, &outcome(status))?;
            Ok(settled)
        }
        Err(e) => refused(e.into()),
    }
}

/// A patient's claim package (of either circuit), taken by the insurer whose `key` this
/// node holds: settled
/// under the insurer rule with that key's signature. Idempotent: a package of a claim this
/// insurer settled already (the same one retried, or its proof re-randomized) answers that
/// settlement's receipt.
pub fn intake(
    ledger: &Ledger,
    registry: &Registry,
    key: &MemberKey,
    package: Package,
) -> Result<Settled, ServiceError> {
    if let Some(settled) = settled_before(registry, key.member_id(), &package)? {
        return Ok(settled);
    }
    // Ed25519 signatures are deterministic: the same package makes the same transaction,
    // and the ledger answers a transaction it holds with its receipt.
    let stx = package
        .clone()
        .settlement()
        .sign(&ledger.genesis().chain_id, key);
    let settled = settle(ledger, registry, stx);
    if let Err(ServiceError::Ledger(zkclaim_ledger::LedgerError::DuplicateClaim { .. })) = &settled
    {
        // Settled meanwhile by a request racing this one.
        if let Some(settled) = settled_before(registry, key.member_id(), &package)? {
            return Ok(settled);
        }
    }
    settled
}

/// The settlement at `insurer` of the claim `package` makes, if there is one with the same
/// public values.
fn settled_before(
    registry: &Registry,
    insurer: u32,
    package: &Package,
) -> Result<Option<Settled>, ServiceError> {
    let public = package.common();
    let Some(outcome) = registry.outcome(insurer, public.nullifier)? else {
        return Ok(None);
    };
    let same = outcome.claimant_tag == public.claimant_tag
        && outcome.policy_hash == public.policy_hash
        && outcome.claim_amount == public.claim_amount;
    Ok(match outcome.status {
        Status::Settled {
            height,
            tx_index,
            tx_id,
            block_hash,
        } if same => Some(Settled {
            receipt: Receipt {
                height,
                block_hash,
                tx_index,
                tx_id,
            },
            nullifier: field::format(&public.nullifier),
            claim_amount: public.claim_amount,
        }),
        _ => None,
    })
}

/// The claim's status at `insurer`, by its nullifier (`0x…`).
pub fn status(registry: &Registry, insurer: u32, nullifier: &str) -> Result<Outcome, ServiceError> {
    let n = field::parse(nullifier)
        .map_err(|e| ServiceError::BadRequest("invalid_request", format!("nullifier: {e}")))?;
    registry.outcome(insurer, n)?.ok_or_else(|| {
        ServiceError::NotFound("this insurer has no claim with this nullifier".into())
    })
}
