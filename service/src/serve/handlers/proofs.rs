//! The patients' proof routes: a proof answered at once, or a job to poll.

use super::*;

/// What both proof routes check before queueing: a prover here (503 `no_proving_key` on a
/// verify-only node), the client's admission (limits, token, proof of work; the slot is
/// held until the route answers), and a body that makes a claim (the invoice registered
/// and not yet claimed, every rule of the statement).
fn admitted<'a>(
    state: &'a Shared,
    peer: &Peer,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<(&'a ProverPool, ClaimWitness, Slot), ServiceError> {
    // The body holds `sk` in clear: wiped when this goes. Best effort: a `Bytes` that is the
    // only view of its buffer converts in place, but one that shares hyper's read buffer is
    // copied, and that buffer is not ours to wipe (docs/protocol.md, "What is wiped").
    let body = Zeroizing::new(Vec::from(body));
    let pool = state.pool.as_ref().ok_or(ServiceError::NoProvingKey)?;
    let slot = state.admission.admit(peer, headers, &body)?;
    let request: ProofRequest = parse(&body)?;
    drop(body);
    let witness = actions::witness(&state.ledger, state.ledger.genesis().shape, request)?;
    Ok((pool, witness, slot))
}

/// Prove a claim (patient)
///
/// The body holds the patient's invoice, key and policy; the node takes the invoice's
/// Merkle path from the ledger and answers the claim package once proved (a few seconds,
/// queueing included). A claim that breaks a rule of the statement is refused before any
/// proving. For long waits, see `submitProofJob`.
#[utoipa::path(
    post,
    path = "/v1/proofs",
    operation_id = "proveClaim",
    tag = "proofs",
    request_body = ProofRequest,
    responses(
        (status = 200, description = "The claim package", body = ClaimPackage),
        BadRequest, Unauthorized, Forbidden, Conflict, PayloadTooLarge, Unprocessable,
        TooManyRequests, InternalError, Unavailable,
    ),
)]
pub async fn prove_claim(
    State(state): State<Shared>,
    peer: Peer,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Answer<ClaimPackage> {
    let (pool, witness, _slot) = admitted(&state, &peer, &headers, body)?;
    // Dropping the ticket (the client hung up) withdraws the job if no worker started it.
    let package = pool.submit(witness)?.await?;
    Ok(Json(package))
}

/// Prove a claim asynchronously (patient)
///
/// The body and its checks are those of `proveClaim`; the proof is queued as a job, answered
/// at once with the job's id and location, to poll with `getProofJob`.
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
    let (pool, witness, slot) = admitted(&state, &peer, &headers, body)?;
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
