//! The patients' proof routes: a proof answered at once, or a job to poll.

use super::*;
use std::time::{Duration, Instant};

/// How often a proof request that waits for its root looks at the ledger again.
const ROOT_POLL: Duration = Duration::from_millis(200);

/// What both proof routes check before queueing: a prover here (503 `no_proving_key` on a
/// verify-only node, or for a continuation on a node without its circuit's), the client's
/// admission (limits, token, proof of work; the slot is
/// held until the route answers), a root that hides the invoice's block (waiting for it at
/// most the node's `root_wait_ms` if `wait`, else not at all, unless the request claims now:
/// 503 `root_too_fresh`),
/// and a body that makes a claim (the invoice registered, not voided and not yet claimed,
/// every rule of the statement).
async fn admitted<'a>(
    state: &'a Shared,
    peer: &Peer,
    headers: &HeaderMap,
    body: Bytes,
    wait: bool,
) -> Result<(&'a ProverPool, Witness, Slot), ServiceError> {
    // The body holds `sk` in clear: wiped when this goes. Best effort: a `Bytes` that is the
    // only view of its buffer converts in place, but one that shares hyper's read buffer is
    // copied, and that buffer is not ours to wipe (docs/protocol.md, "What is wiped").
    let body = Zeroizing::new(Vec::from(body));
    let pool = state.pool.as_ref().ok_or(ServiceError::NoProvingKey)?;
    let slot = state.admission.admit(peer, headers, &body)?;
    let request: ProofRequest = parse(&body)?;
    drop(body);
    let shape = state.ledger.genesis().shape;
    // Root choice: wait, holding the client's slot, until the current root hides the
    // invoice's block (reads only, each a moment under the ledger's read lock).
    let mut choice = state.config.root_choice.for_request(&request);
    if !wait {
        choice.wait = Duration::ZERO;
    }
    let started = Instant::now();
    while !choice.ready(&state.ledger, shape, &request, started)? {
        tokio::time::sleep(ROOT_POLL).await;
    }
    let witness = actions::witness(&state.ledger, shape, request)?;
    Ok((pool, witness, slot))
}

/// Prove a claim (patient)
///
/// The body holds the patient's invoice, key and policy; the node takes the invoice's
/// Merkle path from the ledger and answers the claim package once proved (a few seconds,
/// queueing included). By default the node first waits (at most its `root_wait_ms`) until
/// the current root follows the invoice's block by its `min_root_lag` registrations by
/// other hospitals, so that the root does not point at that block; `claim_now` skips the
/// wait. A claim that breaks a rule of the statement is refused before any proving. For
/// long waits, see `submitProofJob`.
///
/// With `previous` (statement v2), the patient's earlier claim packages on the invoice in
/// rank order, the node proves the next rank's continuation claim under `policy`, the next
/// payer's: the last earlier claim must be settled (409 `previous_not_settled`), the invoice
/// not fully reimbursed (422 `fully_reimbursed`), and the settled root follows that claim's
/// block by `min_root_lag` settlements unless `claim_now`.
#[utoipa::path(
    post,
    path = "/v1/proofs",
    operation_id = "proveClaim",
    tag = "proofs",
    request_body = ProofRequest,
    responses(
        (status = 200, description = "The claim package: a continuation's with `previous`", body = Package),
        BadRequest, Unauthorized, Forbidden, Conflict, PayloadTooLarge, Unprocessable,
        TooManyRequests, InternalError, Unavailable,
    ),
)]
pub async fn prove_claim(
    State(state): State<Shared>,
    peer: Peer,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Answer<Package> {
    let (pool, witness, _slot) = admitted(&state, &peer, &headers, body, true).await?;
    // Dropping the ticket (the client hung up) withdraws the job if no worker started it.
    let package = pool.submit(witness)?.await?;
    Ok(Json(package))
}

/// Prove a claim asynchronously (patient)
///
/// The body and its checks are those of `proveClaim`, except that a root too fresh for the
/// node's `min_root_lag` is refused at once (503 `root_too_fresh`, with Retry-After) instead
/// of waited for; the proof is queued as a job, answered at once with the job's id and
/// location, to poll with `getProofJob`.
#[utoipa::path(
    post,
    path = "/v1/proofs/jobs",
    operation_id = "submitProofJob",
    tag = "proofs",
    request_body = ProofRequest,
    responses(
        (
            status = 202, description = "Queued", body = Accepted,
            headers(("location" = String, description = "The job's URL path"))
        ),
        BadRequest, Unauthorized, Forbidden, Conflict, PayloadTooLarge, Unprocessable,
        TooManyRequests, Unavailable,
    ),
)]
pub async fn submit_proof_job(
    State(state): State<Shared>,
    peer: Peer,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<impl IntoResponse, ServiceError> {
    // Answered at once, under the request time limit: a root too fresh is refused with
    // Retry-After rather than waited for.
    let (pool, witness, slot) = admitted(&state, &peer, &headers, body, false).await?;
    let limit = state.config.proof_timeout;
    let accepted = state.jobs.submit(pool, witness, limit, slot)?;
    let location = [(header::LOCATION, accepted.location.clone())];
    Ok((StatusCode::ACCEPTED, location, Json(accepted)))
}

/// A proof job's status
///
/// Pending, running, done (with the claim package) or failed (with the refusal). A job is
/// forgotten a while after it finishes.
#[utoipa::path(
    get,
    path = "/v1/proofs/jobs/{id}",
    operation_id = "getProofJob",
    tag = "proofs",
    params(("id" = String, Path, description = "The id `submitProofJob` answered")),
    responses((status = 200, description = "The job's status", body = JobStatus), NotFound),
)]
pub async fn proof_job(State(state): State<Shared>, Param(id): Param) -> Answer<JobStatus> {
    state.jobs.status(&id).map(Json)
}
