//! The route handlers, each with its operation in `/openapi.json` (`#[utoipa::path]`: its
//! id, parameters, body and every answer). Member actions carry the member-signed ledger
//! transaction as their body (`SignedTransaction` JSON): the ledger only accepts
//! transactions signed by the member itself, so the node never holds member keys. The HTTP
//! request signature ([`super::auth`]) authenticates the request, and its signer must be the
//! transaction's; [`super::routes`] declares it on the signed routes.

use super::{
    actions::{self, ProofRequest, Registered, Settled, SettledClaim},
    admission::{Peer, Slot},
    auth,
    error::ServiceError,
    insurer,
    insurer::Enrolled,
    jobs::{Accepted, JobStatus},
    pool::ProverPool,
    schemas::{
        BadRequest, Conflict, Digest, Forbidden, Hex, InternalError, NotFound, PayloadTooLarge,
        SignedRegisterInvoice, SignedSettleClaim, TooManyRequests, Unauthorized, Unavailable,
        Unprocessable,
    },
    Shared,
};
use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Path, Request, State},
    http::{header, request::Parts, HeaderMap, Method, StatusCode, Uri},
    response::IntoResponse,
    Json,
};
use serde::{de::DeserializeOwned, Serialize};
use serde_json::Value;
use serde_path_to_error::Segment;
use std::sync::atomic::Ordering;
use zeroize::Zeroizing;
use zkclaim_circuits::{claim::ClaimWitness, claim::Shape, field, schema::Field, tree::MerklePath};
use zkclaim_insurer::{Application, Enrolment, Outcome, Report};
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

/// Parses a JSON body. A refusal names the offending field by its path and says what is
/// wrong with it, never the value it holds.
fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ServiceError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path: Vec<Segment> = e.path().iter().cloned().collect();
        refusal(&path, e.into_inner())
    })?;
    de.end().map_err(|e| refusal(&[], e))?;
    Ok(value)
}

fn refusal(path: &[Segment], e: serde_json::Error) -> ServiceError {
    let position = format!(" at line {} column {}", e.line(), e.column());
    let full = e.to_string();
    let message = full.strip_suffix(&position).unwrap_or(&full);
    if e.is_syntax() || e.is_eof() {
        // serde_json's syntax messages are fixed texts ("expected value", "trailing comma").
        ServiceError::BadRequest(
            "malformed_json",
            format!("malformed JSON{position}: {message}"),
        )
    } else {
        let kind = kind(message);
        // An unknown field's path ends with the field's name, which is the client's.
        let path = match path.split_last() {
            Some((Segment::Map { .. }, parent)) if kind.starts_with("unknown field") => parent,
            _ => path,
        };
        let path = path
            .iter()
            .enumerate()
            .fold(String::new(), |mut out, (i, s)| {
                match s {
                    Segment::Seq { index } => out.push_str(&format!("[{index}]")),
                    Segment::Map { key } | Segment::Enum { variant: key } => {
                        out.push_str(if i == 0 { "" } else { "." });
                        out.push_str(key);
                    }
                    Segment::Unknown => out.push_str(if i == 0 { "?" } else { ".?" }),
                }
                out
            });
        let path = if path.is_empty() { "." } else { &path };
        ServiceError::BadRequest(
            "invalid_request",
            format!("invalid request at `{path}`: {kind}"),
        )
    }
}

/// What a deserializer's message says is wrong, without the value it quotes.
///
/// serde writes `invalid type: <the value met>, expected <what the schema wants>`, and so
/// invalid value, invalid length, unknown variant and unknown field: what stands before the
/// last `, expected ` is the client's, what follows it the schema's. `missing field` and
/// `duplicate field` name a field of the schema. Of the other (custom) messages, those of
/// the wire formats' own decoders (field elements, dates, hex, proofs) are recognized and
/// replaced by a fixed text; any other is only `invalid value`.
fn kind(message: &str) -> String {
    const QUOTING: [&str; 5] = [
        "invalid type",
        "invalid value",
        "invalid length",
        "unknown variant",
        "unknown field",
    ];
    const NAMING: [&str; 2] = ["missing field", "duplicate field"];
    // (starts with, ends with, what the refusal says)
    const DECODERS: [(&str, &str, &str); 8] = [
        (
            "field element must start with",
            "",
            "field element must start with \"0x\"",
        ),
        (
            "field element must have exactly 64 hex digits",
            "",
            "field element must have exactly 64 hex digits",
        ),
        (
            "field element has a non-hex character",
            "",
            "field element has a non-hex character",
        ),
        (
            "field element is not canonical",
            "",
            "field element is not canonical (not below r)",
        ),
        ("date must be YYYY-MM-DD", "", "date must be YYYY-MM-DD"),
        ("date ", "is before 1970-01-01", "date is before 1970-01-01"),
        ("expected ", " hex digits", "wrong number of hex digits"),
        (
            "malformed proof",
            "",
            "malformed proof: not 128 bytes of compressed points",
        ),
    ];
    const EXPECTED: &str = ", expected ";
    if let Some(kind) = QUOTING.iter().find(|k| message.starts_with(*k)) {
        return match message.rfind(EXPECTED) {
            Some(at) => format!("{kind}, expected {}", &message[at + EXPECTED.len()..]),
            None => (*kind).to_owned(),
        };
    }
    if let Some(kind) = NAMING.iter().find(|k| message.starts_with(*k)) {
        let name = message[kind.len()..].trim_matches([' ', '`']);
        let schema_name = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        return if schema_name {
            format!("{kind} `{name}`")
        } else {
            (*kind).to_owned()
        };
    }
    DECODERS
        .iter()
        .find(|(head, tail, _)| message.starts_with(head) && message.ends_with(tail))
        .map_or("invalid value", |(_, _, text)| text)
        .to_owned()
}

/// A path parameter (`{nullifier}`, `{height}`, …), refused without repeating it when it is
/// not UTF-8 once percent-decoded.
pub struct Param(String);

impl FromRequestParts<Shared> for Param {
    type Rejection = ServiceError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, ServiceError> {
        Path::<String>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| Param(value))
            .map_err(|_| {
                ServiceError::BadRequest(
                    "invalid_request",
                    "a path parameter is not UTF-8 text".into(),
                )
            })
    }
}

/// The parts of a request its member signature covers.
type Signed<'a> = (&'a Method, &'a Uri, &'a HeaderMap);

/// Authenticates a member request of the `needed` role and reads what it asks with `read`
/// (given the signing member); the request is recorded as used only once it is one the node
/// will act on. Answers the member and what `read` made.
async fn member_request<T>(
    state: &Shared,
    (method, uri, headers): Signed<'_>,
    body: &[u8],
    needed: Role,
    read: impl FnOnce(u32) -> Result<T, ServiceError>,
) -> Result<(u32, T), ServiceError> {
    let window = state.config.replay_window_s;
    let request = auth::authenticate(
        &state.ledger,
        window,
        (method.as_str(), uri.path(), headers, body),
        needed,
    )?;
    let asked = read(request.member)?;
    let member = request.member;
    blocking(state, move |ledger| {
        auth::first_use(ledger, &request, window)
    })
    .await?;
    Ok((member, asked))
}

/// Authenticates a member action and returns its transaction, signed by the same member.
async fn member_transaction(
    state: &Shared,
    signed: Signed<'_>,
    body: &[u8],
    needed: Role,
) -> Result<SignedTransaction, ServiceError> {
    let read = |member| {
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
    };
    let (_, stx) = member_request(state, signed, body, needed, read).await?;
    Ok(stx)
}

/// Authenticates an insurer's request on its registry: the insurer, and the body's `T`.
async fn insurer_request<T: DeserializeOwned>(
    state: &Shared,
    signed: Signed<'_>,
    body: &[u8],
) -> Result<(u32, T), ServiceError> {
    member_request(state, signed, body, Role::Insurer, |_| parse(body)).await
}

/// Authenticates an insurer's signed GET (an empty body): the insurer.
async fn insurer_read(state: &Shared, signed: Signed<'_>) -> Result<u32, ServiceError> {
    let (member, ()) = member_request(state, signed, b"", Role::Insurer, |_| Ok(())).await?;
    Ok(member)
}

/// Runs a registry action off the async workers (each change is committed with fsync).
async fn registry<T: Send + 'static>(
    state: &Shared,
    action: impl FnOnce(&zkclaim_insurer::Registry) -> Result<T, ServiceError> + Send + 'static,
) -> Result<T, ServiceError> {
    let registry = state.registry.clone();
    blocking(state, move |_| action(&registry)).await
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
    let stx = member_transaction(&state, (&method, &uri, &headers), &body, Role::Hospital).await?;
    let answer = blocking(&state, |ledger| actions::register_invoice(ledger, stx)).await?;
    state.metrics.invoices.inc();
    Ok(Json(answer))
}

/// Settle a claim (insurer)
///
/// The body is the insurer's member-signed `settle_claim` transaction. The proof must verify,
/// and the insurer rule hold: the claim's claimant tag and policy hash are enrolled at the
/// signing insurer in this node's registry, not revoked and not past the policy's last claim
/// day (403 with the reason otherwise). The ledger then checks the invoice root is recent
/// and spends the nullifier; the answer comes once the block is durable.
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
    let stx = member_transaction(&state, (&method, &uri, &headers), &body, Role::Insurer).await?;
    let registry = state.registry.clone();
    let answer = blocking(&state, move |ledger| {
        insurer::settle(ledger, &registry, stx)
    })
    .await?;
    state.metrics.settlements.inc();
    Ok(Json(answer))
}

/// Enrol a policyholder (insurer)
///
/// The body is the application: the patient's claimant tag at this insurer, the policy's
/// terms (`terms.insurer_id` must be the signing insurer), the last claim day and the payout
/// reference. The registry draws the policy's salt and records the enrolment durably; the
/// answer holds the policy file to hand to the patient, who proves claims under it.
#[utoipa::path(
    post,
    path = "/v1/enrolments",
    operation_id = "enrol",
    tag = "insurer",
    request_body = Application,
    responses(
        (status = 200, description = "Enrolled, with the patient's policy file", body = Enrolled),
        BadRequest, Unauthorized, Forbidden, PayloadTooLarge, InternalError, Unavailable,
    ),
)]
pub async fn enroll(
    State(state): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Answer<Enrolled> {
    let (member, application): (u32, Application) =
        insurer_request(&state, (&method, &uri, &headers), &body).await?;
    registry(&state, move |r| insurer::enroll(r, member, application))
        .await
        .map(Json)
}

/// An insurer's policyholders.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Enrolments {
    /// Oldest first, revoked ones included.
    pub enrolments: Vec<Enrolment>,
}

/// The signing insurer's enrolments (insurer)
///
/// Only its own. The request is signed over an empty body.
#[utoipa::path(
    get,
    path = "/v1/enrolments",
    operation_id = "listEnrolments",
    tag = "insurer",
    responses(
        (status = 200, description = "The insurer's enrolments", body = Enrolments),
        Unauthorized, Forbidden, InternalError, Unavailable,
    ),
)]
pub async fn enrolments(
    State(state): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Answer<Enrolments> {
    let member = insurer_read(&state, (&method, &uri, &headers)).await?;
    let enrolments = registry(&state, move |r| insurer::enrolments(r, member)).await?;
    Ok(Json(Enrolments { enrolments }))
}

/// Which enrolments to revoke: a claimant tag's, or only the one of a policy hash.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Revocation {
    #[schema(value_type = Field)]
    #[serde(with = "field::serde_fr")]
    pub claimant_tag: zkclaim_circuits::Fr,
    /// Only the enrolment of this policy [default: every active one of the tag].
    #[schema(value_type = Option<Field>)]
    #[serde(default, deserialize_with = "optional_field")]
    pub policy_hash: Option<zkclaim_circuits::Fr>,
}

fn optional_field<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<zkclaim_circuits::Fr>, D::Error> {
    #[derive(serde::Deserialize)]
    struct Wrapped(#[serde(with = "field::serde_fr")] zkclaim_circuits::Fr);
    Ok(<Option<Wrapped> as serde::Deserialize>::deserialize(d)?.map(|Wrapped(f)| f))
}

/// The enrolments a revocation revoked.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Revoked {
    pub revoked: Vec<Enrolment>,
}

/// Revoke enrolments (insurer)
///
/// The signing insurer's active enrolments of the claimant tag (only the one of
/// `policy_hash` when given) are revoked: claims under them are refused from then on
/// (`enrolment_revoked`). 404 when none matches.
#[utoipa::path(
    post,
    path = "/v1/enrolments/revoke",
    operation_id = "revokeEnrolments",
    tag = "insurer",
    request_body = Revocation,
    responses(
        (status = 200, description = "The enrolments revoked", body = Revoked),
        BadRequest, Unauthorized, Forbidden, NotFound, PayloadTooLarge, InternalError,
        Unavailable,
    ),
)]
pub async fn revoke(
    State(state): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Answer<Revoked> {
    let (member, asked): (u32, Revocation) =
        insurer_request(&state, (&method, &uri, &headers), &body).await?;
    let revoked = registry(&state, move |r| {
        insurer::revoke(r, member, asked.claimant_tag, asked.policy_hash)
    })
    .await?;
    Ok(Json(Revoked { revoked }))
}

/// The most claims of each kind `GET /v1/insurer/claims` lists.
const REPORT_MAX: u64 = 1000;

/// The signing insurer's claims (insurer)
///
/// Its latest settled and refused claims (with the refusals' codes and reasons), and its
/// totals per day. The request is signed over an empty body and the path without its query.
#[utoipa::path(
    get,
    path = "/v1/insurer/claims",
    operation_id = "getInsurerClaims",
    tag = "insurer",
    params((
        "limit" = Option<u64>, Query, maximum = 1000,
        description = "How many settled and how many refused claims to list [default: 100]"
    )),
    responses(
        (status = 200, description = "The insurer's report", body = Report),
        BadRequest, Unauthorized, Forbidden, InternalError, Unavailable,
    ),
)]
pub async fn insurer_claims(
    State(state): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Answer<Report> {
    let mut limit = 100;
    for (name, value) in url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()) {
        if name != "limit" {
            return Err(ServiceError::BadRequest(
                "invalid_request",
                "the only query parameter is limit".into(),
            ));
        }
        limit = number("limit", &value)?;
        if limit > REPORT_MAX {
            return Err(ServiceError::BadRequest(
                "invalid_request",
                format!("limit must be at most {REPORT_MAX}"),
            ));
        }
    }
    let member = insurer_read(&state, (&method, &uri, &headers)).await?;
    registry(&state, move |r| insurer::report(r, member, limit as usize))
        .await
        .map(Json)
}

/// Hand in a claim (patient)
///
/// The body is the claim package the patient proved. Only on a node serving an insurer
/// (`--insurer N`, else 503 `no_insurer`): the node settles it as that insurer, under the
/// insurer rule, and answers the receipt once the block is durable. Not signed; limited per
/// client and node-wide. A package handed in again answers the same receipt.
#[utoipa::path(
    post,
    path = "/v1/intake",
    operation_id = "handInClaim",
    tag = "intake",
    request_body = ClaimPackage,
    responses(
        (status = 200, description = "Settled", body = Settled),
        BadRequest, Forbidden, Conflict, PayloadTooLarge, Unprocessable, TooManyRequests,
        InternalError, Unavailable,
    ),
)]
pub async fn intake(
    State(state): State<Shared>,
    peer: Peer,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Answer<Settled> {
    let key = state.insurer.clone().ok_or(ServiceError::NoInsurer)?;
    let slot = state.admission.admit_intake(&peer, &headers)?;
    let package: ClaimPackage = parse(&body)?;
    let registry = state.registry.clone();
    let answer = blocking(&state, move |ledger| {
        // In flight until settled, even if the client hangs up.
        let _slot = slot;
        insurer::intake(ledger, &registry, &key, package)
    })
    .await?;
    state.metrics.settlements.inc();
    Ok(Json(answer))
}

/// A handed-in claim's status (patient)
///
/// What this node's insurer did with the claim of this nullifier: settled (with where on the
/// ledger) or refused (with the refusal's code and reason). Not signed: the nullifier is the
/// patient's own handle.
#[utoipa::path(
    get,
    path = "/v1/intake/{nullifier}",
    operation_id = "getIntakeStatus",
    tag = "intake",
    params(("nullifier" = Field, Path, description = "The claim's nullifier")),
    responses(
        (status = 200, description = "The claim's outcome at this insurer", body = Outcome),
        BadRequest, NotFound, InternalError, Unavailable,
    ),
)]
pub async fn intake_status(
    State(state): State<Shared>,
    Param(nullifier): Param,
) -> Answer<Outcome> {
    let insurer = state.insurer.as_ref().ok_or(ServiceError::NoInsurer)?;
    let insurer = insurer.member_id();
    registry(&state, move |r| insurer::status(r, insurer, &nullifier))
        .await
        .map(Json)
}

/// The witness of a proof request body, its Merkle path from the ledger; refused before any
/// proving if the claim breaks a rule.
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
    Param(nullifier): Param,
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
pub async fn path(State(state): State<Shared>, Param(index): Param) -> Answer<PathAnswer> {
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
pub async fn block(State(state): State<Shared>, Param(height): Param) -> Answer<BlockAnswer> {
    let height = number("height", &height)?;
    let block = blocking(&state, move |ledger| Ok(ledger.block(height)?))
        .await?
        .ok_or_else(|| ServiceError::NotFound("no block at this height".into()))?;
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
    let key = &state.verifying_key;
    Json(VerifyingKeyAnswer {
        key: hex::encode(key.to_bytes()),
        digest: hex::encode(key.digest()),
        shape: state.ledger.genesis().shape,
    })
}

/// `{"status": "ok"}`, or for readiness `{"status": "ready", "height": …}`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    pub status: &'static str,
    /// Readiness only: the ledger's height.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<u64>,
    /// Readiness only: whether this node proves (false on a verify-only node, which has no
    /// proving key and answers the proof routes 503 `no_proving_key`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proves: Option<bool>,
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
        proves: None,
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
        proves: Some(state.pool.is_some()),
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

pub async fn not_found() -> ServiceError {
    ServiceError::NotFound("no such route".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use zkclaim_circuits::date;
    use zkclaim_verifier::Proof;

    /// What the refusal of `body` as a `T` says.
    fn refusal_of<T: DeserializeOwned>(body: &str) -> String {
        match parse::<T>(body.as_bytes()) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("{body} was accepted"),
        }
    }

    #[test]
    fn serde_messages_keep_their_kind_and_lose_the_value() {
        for (message, said) in [
            (
                "invalid type: string \"SECRET, expected x\", expected u32",
                "invalid type, expected u32",
            ),
            (
                "invalid value: integer `4242`, expected u8",
                "invalid value, expected u8",
            ),
            (
                "invalid length 4242, expected 2 elements",
                "invalid length, expected 2 elements",
            ),
            (
                "unknown variant `SECRET`, expected one of `a`, `b`",
                "unknown variant, expected one of `a`, `b`",
            ),
            (
                "unknown field `SECRET`, there are no fields",
                "unknown field",
            ),
            ("missing field `sk`", "missing field `sk`"),
            ("duplicate field `SECRET x`", "duplicate field"),
            ("a message of no known form: SECRET", "invalid value"),
        ] {
            assert_eq!(kind(message), said, "{message}");
        }
    }

    #[test]
    fn the_wire_decoders_messages_are_recognized_without_their_value() {
        let secret = "SECRET-4242";
        let messages = [
            field::parse(secret).unwrap_err().to_string(),
            field::parse(&format!("0x{secret}"))
                .unwrap_err()
                .to_string(),
            field::parse(&format!("0x{}", "g".repeat(64)))
                .unwrap_err()
                .to_string(),
            field::parse(&format!("0x{}", "f".repeat(64)))
                .unwrap_err()
                .to_string(),
            date::parse(&format!("2099-13-45{secret}"))
                .unwrap_err()
                .to_string(),
            date::parse("1969-12-31").unwrap_err().to_string(),
            Proof::from_hex(&format!("0x{secret}"))
                .unwrap_err()
                .to_string(),
            Proof::from_hex("0x4242").unwrap_err().to_string(),
        ];
        for message in messages {
            let said = kind(&message);
            assert_ne!(said, "invalid value", "{message} is not recognized");
            assert!(
                !said.contains("SECRET") && !said.contains("4242") && !said.contains("1969"),
                "{said}"
            );
        }
    }

    #[test]
    fn a_refused_body_names_the_path_never_the_value() {
        let wrong_type = refusal_of::<actions::ProofRequest>(r#"{"invoice": {"serial": 4242}}"#);
        assert_eq!(
            wrong_type,
            "invalid request at `invoice.serial`: invalid type, expected a string"
        );
        let unknown = refusal_of::<actions::ProofRequest>(r#"{"SECRET": 1}"#);
        assert_eq!(
            unknown,
            "invalid request at `.`: unknown field, expected one of `invoice`, `key`, `policy`"
        );
        let signature = refusal_of::<SignedTransaction>(
            r#"{"tx": {"register_invoice": {"commitment": "0x0000000000000000000000000000000000000000000000000000000000000001"}}, "signer": 1, "signature": "4242"}"#,
        );
        assert_eq!(
            signature,
            "invalid request at `signature`: wrong number of hex digits"
        );
        let variant = refusal_of::<SignedTransaction>(r#"{"tx": {"SECRET": {}}}"#);
        assert!(variant.starts_with("invalid request at `tx`: unknown variant, expected"));
        let trailing = refusal_of::<Value>("{} SECRET");
        assert_eq!(
            trailing,
            "malformed JSON at line 1 column 4: trailing characters"
        );
    }
}
