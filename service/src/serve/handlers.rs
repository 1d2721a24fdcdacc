//! The route handlers. Member actions carry the member-signed ledger transaction as their
//! body (`SignedTransaction` JSON): the ledger only accepts transactions signed by the
//! member itself, so the node never holds member keys. The HTTP request signature
//! ([`super::auth`]) authenticates the request, and its signer must be the transaction's.

use super::{actions, auth, error::ServiceError, Shared};
use axum::{
    body::Bytes,
    extract::{FromRequest, Path, Request, State},
    http::{header, HeaderMap, Method, StatusCode, Uri},
    response::IntoResponse,
    Json,
};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use std::sync::atomic::Ordering;
use zeroize::Zeroizing;
use zkclaim_circuits::field;
use zkclaim_ledger::{Ledger, Role, SignedTransaction};
use zkclaim_verifier::ClaimPackage;

type Answer = Result<Json<Value>, ServiceError>;

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
/// The request is recorded as used only once it is one the node will act on.
async fn member_transaction(
    state: &Shared,
    (method, uri, headers): (&Method, &Uri, &HeaderMap),
    body: &[u8],
    needed: Role,
) -> Result<SignedTransaction, ServiceError> {
    let window = state.config.replay_window_s;
    let request = auth::authenticate(
        &state.ledger,
        window,
        (method.as_str(), uri.path(), headers, body),
        needed,
    )?;
    let stx: SignedTransaction = parse(body)?;
    if stx.signer != request.member {
        return Err(ServiceError::Forbidden(
            "signer_mismatch",
            format!(
                "the transaction is signed by member {}, the request by member {}",
                stx.signer, request.member
            ),
        ));
    }
    blocking(state, move |ledger| {
        auth::first_use(ledger, &request, window)
    })
    .await?;
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

pub async fn register_invoice(
    State(state): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Answer {
    let stx = member_transaction(&state, (&method, &uri, &headers), &body, Role::Hospital).await?;
    let answer = blocking(&state, |ledger| actions::register_invoice(ledger, stx)).await?;
    state.metrics.invoices.inc();
    Ok(Json(answer))
}

pub async fn settle_claim(
    State(state): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Answer {
    let stx = member_transaction(&state, (&method, &uri, &headers), &body, Role::Insurer).await?;
    let answer = blocking(&state, |ledger| actions::settle_claim(ledger, stx)).await?;
    state.metrics.settlements.inc();
    Ok(Json(answer))
}

pub async fn prove_claim(
    State(state): State<Shared>,
    RawBody(body): RawBody,
) -> Result<Json<ClaimPackage>, ServiceError> {
    // The body holds `sk` in clear: wiped when this goes (a unique `Bytes` converts in place).
    let body = Zeroizing::new(Vec::from(body));
    let pool = state.pool.as_ref().ok_or(ServiceError::NoProvingKey)?;
    let request: actions::ProofRequest = parse(&body)?;
    drop(body);
    let witness = actions::witness(&state.ledger, state.ledger.genesis().shape, request)?;
    let answer = pool.submit(witness, &state.metrics)?;
    let package = answer
        .await
        .map_err(|_| ServiceError::Unavailable("the prover stopped".into()))??;
    Ok(Json(package))
}

pub async fn get_claim(State(state): State<Shared>, Path(nullifier): Path<String>) -> Answer {
    actions::claim(&state.ledger, &nullifier).map(Json)
}

pub async fn roots(State(state): State<Shared>) -> Answer {
    let ledger = &state.ledger;
    let roots: Vec<String> = ledger.roots().iter().map(field::format).collect();
    Ok(Json(json!({
        "height": ledger.height(),
        "invoice_count": ledger.invoice_count(),
        "root": field::format(&ledger.root()),
        "roots": roots,
    })))
}

fn number(name: &str, text: &str) -> Result<u64, ServiceError> {
    text.parse().map_err(|_| {
        ServiceError::BadRequest(
            "invalid_request",
            format!("{name} must be a non-negative integer"),
        )
    })
}

pub async fn path(State(state): State<Shared>, Path(index): Path<String>) -> Answer {
    let path = state.ledger.merkle_path(number("leaf_index", &index)?)?;
    Ok(Json(json!({
        "root": field::format(&state.ledger.root()),
        "path": path,
    })))
}

pub async fn block(State(state): State<Shared>, Path(height): Path<String>) -> Answer {
    let height = number("height", &height)?;
    let block = blocking(&state, move |ledger| Ok(ledger.block(height)?))
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("no block at height {height}")))?;
    let h = &block.header;
    Ok(Json(json!({
        "height": h.height,
        "hash": hex::encode(h.hash()),
        "prev_hash": hex::encode(h.prev_hash),
        "tx_root": hex::encode(h.tx_root),
        "invoice_root": field::format(&h.invoice_root),
        "time_ms": h.time_ms,
        "proposer": h.proposer,
        "signature": hex::encode(h.signature),
        "transactions": block.transactions.len(),
    })))
}

pub async fn verifying_key(State(state): State<Shared>) -> Answer {
    let key = &state.verifying_key;
    Ok(Json(json!({
        "key": hex::encode(key.to_bytes()),
        "digest": hex::encode(key.digest()),
        "shape": state.ledger.genesis().shape,
    })))
}

pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

pub async fn readyz(State(state): State<Shared>) -> Answer {
    if state.draining.load(Ordering::SeqCst) {
        return Err(ServiceError::Unavailable("shutting down".into()));
    }
    Ok(Json(json!({
        "status": "ready",
        "height": state.ledger.height(),
        "proves": state.pool.is_some(),
    })))
}

pub async fn metrics_text(State(state): State<Shared>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}

pub async fn openapi_json(State(state): State<Shared>) -> Json<Value> {
    Json(state.openapi.clone())
}

pub async fn not_found(method: Method, uri: Uri) -> ServiceError {
    ServiceError::NotFound(format!("no route for {method} {}", uri.path()))
}
