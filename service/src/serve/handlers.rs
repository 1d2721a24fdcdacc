//! The route handlers, each with its operation in `/openapi.json` (`#[utoipa::path]`: its
//! id, parameters, body and every answer). Member actions carry the member-signed ledger
//! transaction as their body (`SignedTransaction` JSON): the ledger only accepts
//! transactions signed by the member itself, so the node never holds member keys. The HTTP
//! request signature ([`super::auth`]) authenticates the request, and its signer must be the
//! transaction's; [`super::routes`] declares it on the signed routes.

use super::{
    actions::{self, ProofRequest, Registered, Settled, SettledClaim},
    auth,
    error::ServiceError,
    jobs::{Accepted, JobStatus},
    schemas::{
        BadRequest, Conflict, Digest, Forbidden, Hex, InternalError, NotFound, PayloadTooLarge,
        SignedRegisterInvoice, SignedSettleClaim, TooManyRequests, Unauthorized, Unavailable,
        Unprocessable,
    },
    Shared,
};
use axum::{
    body::Bytes,
    extract::{FromRequest, Path, Request, State},
    http::{header, HeaderMap, Method, StatusCode, Uri},
    response::IntoResponse,
    Json,
};
use serde::{de::DeserializeOwned, Serialize};
use serde_json::Value;
use std::sync::atomic::Ordering;
use zeroize::Zeroizing;
use zkclaim_circuits::{claim::ClaimWitness, claim::Shape, field, schema::Field, tree::MerklePath};
use zkclaim_ledger::{Genesis, Ledger, Role, SignedTransaction};
use zkclaim_verifier::ClaimPackage;

type Answer<T> = Result<Json<T>, ServiceError>;

/// The raw body, refused with 413 beyond the configured limit.
pub struct RawBody(Bytes);

impl FromRequest<Shared> for RawBody {
    type Rejection = ServiceError;

    async fn from_request(request: Request, state: &Shared) -> Result<Self, ServiceError> {
        Bytes::from_request(request, state)
            .await
            .map(RawBody)
            .map_err(|e| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ServiceError::TooLarge(state.config.body_limit)
                } else {
                    ServiceError::BadRequest("bad_body", "cannot read the request body".into())
                }
            })
    }
}

/// Parses a JSON body; a refusal names the offending field by its path, never its value.
fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ServiceError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            ServiceError::BadRequest("malformed_json", format!("malformed JSON: {inner}"))
        } else {
            ServiceError::BadRequest(
                "invalid_request",
                format!("invalid request at `{path}`: {inner}"),
            )
        }
    })?;
    de.end()
        .map_err(|e| ServiceError::BadRequest("malformed_json", format!("malformed JSON: {e}")))?;
    Ok(value)
}

/// Authenticates a member action and returns its transaction, signed by the same member.
fn member_transaction(
    state: &Shared,
    (method, uri, headers): (&Method, &Uri, &HeaderMap),
    body: &[u8],
    needed: Role,
) -> Result<SignedTransaction, ServiceError> {
    let member = auth::authenticate(
        &state.ledger,
        &state.replay,
        state.config.replay_window_s,
        (method.as_str(), uri.path(), headers, body),
        needed,
    )?;
    let stx: SignedTransaction = parse(body)?;
    if stx.signer != member {
        return Err(ServiceError::Forbidden(
            "signer_mismatch",
            format!(
                "the transaction is signed by member {}, the request by member {member}",
                stx.signer
            ),
        ));
    }
    Ok(stx)
}

/// Runs a ledger action that blocks (a submission waits until its block is durable, a
/// block read touches the store) off the async workers.
async fn blocking<T: Send + 'static>(
    state: &Shared,
    action: impl FnOnce(&Ledger) -> Result<T, ServiceError> + Send + 'static,
) -> Result<T, ServiceError> {
    let ledger = state.ledger.clone();
    tokio::task::spawn_blocking(move || action(&ledger))
        .await
        .map_err(|_| ServiceError::Unavailable("the ledger task did not finish".into()))?
}

/// Register an invoice commitment (hospital)
///
/// The body is the hospital's member-signed `register_invoice` transaction; the answer comes
/// once its block is durable.
#[utoipa::path(
    post,
    path = "/v1/invoices",
    operation_id = "registerInvoice",
    tag = "ledger",
    request_body = SignedRegisterInvoice,
    responses(
        (status = 200, description = "Registered", body = Registered),
        BadRequest, Unauthorized, Forbidden, Conflict, PayloadTooLarge, InternalError, Unavailable,
    ),
)]
pub async fn register_invoice(
    State(state): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Answer<Registered> {
    let stx = member_transaction(&state, (&method, &uri, &headers), &body, Role::Hospital)?;
    let answer = blocking(&state, |ledger| actions::register_invoice(ledger, stx)).await?;
    state.metrics.invoices.inc();
    Ok(Json(answer))
}

/// Settle a claim (insurer)
///
/// The body is the insurer's member-signed `settle_claim` transaction. The ledger verifies the
/// proof, checks its invoice root is recent and spends its nullifier; the answer comes once
/// the block is durable.
#[utoipa::path(
    post,
    path = "/v1/claims",
    operation_id = "settleClaim",
    tag = "ledger",
    request_body = SignedSettleClaim,
    responses(
        (status = 200, description = "Settled", body = Settled),
        BadRequest, Unauthorized, Forbidden, Conflict, PayloadTooLarge, Unprocessable,
        InternalError, Unavailable,
    ),
)]
pub async fn settle_claim(
    State(state): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Answer<Settled> {
    let stx = member_transaction(&state, (&method, &uri, &headers), &body, Role::Insurer)?;
    let answer = blocking(&state, |ledger| actions::settle_claim(ledger, stx)).await?;
    state.metrics.settlements.inc();
    Ok(Json(answer))
}

/// The witness of a proof request body, its Merkle path from the ledger; refused before any
/// proving if the claim breaks a rule.
fn witness(state: &Shared, body: Bytes) -> Result<ClaimWitness, ServiceError> {
    // The body holds `sk` in clear: wiped when this goes (a unique `Bytes` converts in place).
    let body = Zeroizing::new(Vec::from(body));
    let request: ProofRequest = parse(&body)?;
    drop(body);
    actions::witness(&state.ledger, state.params.shape, request)
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
        BadRequest, PayloadTooLarge, Unprocessable, TooManyRequests, InternalError, Unavailable,
    ),
)]
pub async fn prove_claim(
    State(state): State<Shared>,
    RawBody(body): RawBody,
) -> Answer<ClaimPackage> {
    let witness = witness(&state, body)?;
    let answer = state.pool.submit(witness, &state.metrics)?;
    let package = answer
        .await
        .map_err(|_| ServiceError::Unavailable("the prover stopped".into()))??;
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
        BadRequest, PayloadTooLarge, Unprocessable, TooManyRequests, Unavailable,
    ),
)]
pub async fn submit_proof_job(
    State(state): State<Shared>,
    RawBody(body): RawBody,
) -> Result<impl IntoResponse, ServiceError> {
    let witness = witness(&state, body)?;
    let limit = state.config.proof_timeout;
    let accepted = state
        .jobs
        .submit(&state.pool, witness, limit, &state.metrics)?;
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
pub async fn proof_job(State(state): State<Shared>, Path(id): Path<String>) -> Answer<JobStatus> {
    state.jobs.status(&id).map(Json)
}

/// A settled claim
#[utoipa::path(
    get,
    path = "/v1/claims/{nullifier}",
    operation_id = "getClaim",
    tag = "ledger",
    params(("nullifier" = Field, Path, description = "The claim's nullifier")),
    responses(
        (status = 200, description = "The claim and where it was settled", body = SettledClaim),
        BadRequest, NotFound,
    ),
)]
pub async fn get_claim(
    State(state): State<Shared>,
    Path(nullifier): Path<String>,
) -> Answer<SettledClaim> {
    actions::claim(&state.ledger, &nullifier).map(Json)
}

/// The invoice roots a claim may prove against.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Roots {
    pub height: u64,
    pub invoice_count: u64,
    /// The current root.
    #[schema(value_type = Field)]
    pub root: String,
    /// The last K distinct roots, oldest first.
    #[schema(value_type = Vec<Field>)]
    pub roots: Vec<String>,
}

/// The recent invoice roots
#[utoipa::path(
    get,
    path = "/v1/roots",
    operation_id = "getRoots",
    tag = "ledger",
    responses((status = 200, description = "The roots", body = Roots)),
)]
pub async fn roots(State(state): State<Shared>) -> Json<Roots> {
    let ledger = &state.ledger;
    Json(Roots {
        height: ledger.height(),
        invoice_count: ledger.invoice_count(),
        root: field::format(&ledger.root()),
        roots: ledger.roots().iter().map(field::format).collect(),
    })
}

fn number(name: &str, text: &str) -> Result<u64, ServiceError> {
    text.parse().map_err(|_| {
        ServiceError::BadRequest(
            "invalid_request",
            format!("{name} must be a non-negative integer"),
        )
    })
}

/// An invoice's Merkle path in the current tree.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PathAnswer {
    #[schema(value_type = Field)]
    pub root: String,
    pub path: MerklePath,
}

/// An invoice's Merkle path
#[utoipa::path(
    get,
    path = "/v1/paths/{leaf_index}",
    operation_id = "getMerklePath",
    tag = "ledger",
    params(("leaf_index" = u64, Path, description = "The invoice's leaf index")),
    responses(
        (status = 200, description = "The path and the root it leads to", body = PathAnswer),
        BadRequest, NotFound,
    ),
)]
pub async fn path(State(state): State<Shared>, Path(index): Path<String>) -> Answer<PathAnswer> {
    let path = state.ledger.merkle_path(number("leaf_index", &index)?)?;
    Ok(Json(PathAnswer {
        root: field::format(&state.ledger.root()),
        path,
    }))
}

/// A block: its header and its transactions.
#[derive(Serialize, utoipa::ToSchema)]
pub struct BlockAnswer {
    pub height: u64,
    /// The header's hash (without its signature): the next block's `prev_hash`.
    #[schema(value_type = Digest)]
    pub hash: String,
    #[schema(value_type = Digest)]
    pub prev_hash: String,
    #[schema(value_type = Digest)]
    pub tx_root: String,
    /// The invoice root after this block's transactions.
    #[schema(value_type = Field)]
    pub invoice_root: String,
    pub time_ms: u64,
    pub proposer: u32,
    /// The proposer's Ed25519 signature of the header.
    #[schema(value_type = Hex)]
    pub signature: String,
    pub transactions: Vec<BlockTransaction>,
}

/// A transaction in a block: its id and the member-signed transaction itself.
#[derive(Serialize, utoipa::ToSchema)]
pub struct BlockTransaction {
    #[schema(value_type = Digest)]
    pub id: String,
    pub transaction: SignedTransaction,
}

/// A block
#[utoipa::path(
    get,
    path = "/v1/blocks/{height}",
    operation_id = "getBlock",
    tag = "ledger",
    params(("height" = u64, Path, description = "The block's height, from 1")),
    responses(
        (status = 200, description = "The block with its transactions", body = BlockAnswer),
        BadRequest, NotFound, InternalError, Unavailable,
    ),
)]
pub async fn block(State(state): State<Shared>, Path(height): Path<String>) -> Answer<BlockAnswer> {
    let height = number("height", &height)?;
    let block = blocking(&state, move |ledger| Ok(ledger.block(height)?))
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("no block at height {height}")))?;
    let chain_id = &state.ledger.genesis().chain_id;
    let h = &block.header;
    Ok(Json(BlockAnswer {
        height: h.height,
        hash: hex::encode(h.hash()),
        prev_hash: hex::encode(h.prev_hash),
        tx_root: hex::encode(h.tx_root),
        invoice_root: field::format(&h.invoice_root),
        time_ms: h.time_ms,
        proposer: h.proposer,
        signature: hex::encode(h.signature),
        transactions: block
            .transactions
            .into_iter()
            .map(|transaction| BlockTransaction {
                id: hex::encode(transaction.id(chain_id)),
                transaction,
            })
            .collect(),
    }))
}

/// The consortium's founding document and its digest.
#[derive(Serialize, utoipa::ToSchema)]
pub struct GenesisAnswer {
    /// As every node holds it (`consortium/genesis.json`): public keys, roles, the pinned
    /// circuit.
    pub genesis: Genesis,
    /// The genesis digest, block 1's `prev_hash`.
    #[schema(value_type = Digest)]
    pub digest: String,
}

/// The consortium's genesis
///
/// Members' ids, names, roles and public keys, the chain id, the verifying key's digest, the
/// circuit's shape and K, the window of recent roots; no secret.
#[utoipa::path(
    get,
    path = "/v1/genesis",
    operation_id = "getGenesis",
    tag = "ledger",
    responses((status = 200, description = "The genesis", body = GenesisAnswer)),
)]
pub async fn genesis(State(state): State<Shared>) -> Json<GenesisAnswer> {
    let genesis = state.ledger.genesis();
    Json(GenesisAnswer {
        digest: hex::encode(genesis.digest()),
        genesis: genesis.clone(),
    })
}

/// The claim circuit's verifying key.
#[derive(Serialize, utoipa::ToSchema)]
pub struct VerifyingKeyAnswer {
    /// The compressed verifying key.
    #[schema(value_type = Hex)]
    pub key: String,
    /// SHA-256 of `key`, as pinned in the genesis.
    #[schema(value_type = Digest)]
    pub digest: String,
    pub shape: Shape,
}

/// The claim circuit's verifying key
#[utoipa::path(
    get,
    path = "/v1/verifying-key",
    operation_id = "getVerifyingKey",
    tag = "ledger",
    responses((status = 200, description = "The key, its digest and the circuit's shape", body = VerifyingKeyAnswer)),
)]
pub async fn verifying_key(State(state): State<Shared>) -> Json<VerifyingKeyAnswer> {
    let key = &state.params.verifying_key;
    Json(VerifyingKeyAnswer {
        key: hex::encode(key.to_bytes()),
        digest: hex::encode(key.digest()),
        shape: state.params.shape,
    })
}

/// `{"status": "ok"}`, or for readiness `{"status": "ready", "height": …}`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    pub status: &'static str,
    /// Readiness only: the ledger's height.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<u64>,
}

/// Liveness
///
/// The process answers.
#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "getHealth",
    tag = "operations",
    responses((status = 200, description = "Alive", body = Health)),
)]
pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok",
        height: None,
    })
}

/// Readiness
///
/// 503 while shutting down.
#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "getReadiness",
    tag = "operations",
    responses((status = 200, description = "Ready", body = Health), Unavailable),
)]
pub async fn readyz(State(state): State<Shared>) -> Answer<Health> {
    if state.draining.load(Ordering::SeqCst) {
        return Err(ServiceError::Unavailable("shutting down".into()));
    }
    Ok(Json(Health {
        status: "ready",
        height: Some(state.ledger.height()),
    }))
}

/// Prometheus metrics
#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "getMetrics",
    tag = "operations",
    responses((
        status = 200, description = "The text exposition format",
        body = String, content_type = "text/plain"
    )),
)]
pub async fn metrics_text(State(state): State<Shared>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}

/// This document
#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "getOpenApi",
    tag = "operations",
    responses((status = 200, description = "The OpenAPI 3.1 document", body = Object)),
)]
pub async fn openapi_json(State(state): State<Shared>) -> Json<Value> {
    Json(state.openapi.clone())
}

pub async fn not_found(method: Method, uri: Uri) -> ServiceError {
    ServiceError::NotFound(format!("no route for {method} {}", uri.path()))
}
