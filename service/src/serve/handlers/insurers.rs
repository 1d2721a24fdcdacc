//! An insurer's routes: its enrolments and its claims' report (member-signed), and the
//! patients' intake on a node that serves the insurer (`--insurer N`).

use super::*;

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
    list_enrolments(&state, member).await
}

/// `member`'s enrolments.
pub(super) async fn list_enrolments(state: &Shared, member: u32) -> Answer<Enrolments> {
    let enrolments = registry(state, move |r| insurer::enrolments(r, member)).await?;
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
    let limit = report_limit(&uri)?;
    let member = insurer_read(&state, (&method, &uri, &headers)).await?;
    report(&state, member, limit).await
}

/// The report's `limit` query parameter [default: 100].
pub(super) fn report_limit(uri: &Uri) -> Result<usize, ServiceError> {
    match query(uri, &["limit"])?.get("limit") {
        Some(limit) => Ok(number_at_most("limit", limit, REPORT_MAX)? as usize),
        None => Ok(100),
    }
}

/// `member`'s report of its `limit` latest settled and refused claims.
pub(super) async fn report(state: &Shared, member: u32, limit: usize) -> Answer<Report> {
    registry(state, move |r| insurer::report(r, member, limit))
        .await
        .map(Json)
}

/// Hand in a claim (patient)
///
/// The body is the claim package the patient proved, of either circuit (a continuation's:
/// statement v2). Only on a node serving an insurer
/// (`--insurer N`, else 503 `no_insurer`): the node settles it as that insurer, under the
/// insurer rule, and answers the receipt once the block is durable. Not signed; limited per
/// client and node-wide. A package handed in again answers the same receipt.
#[utoipa::path(
    post,
    path = "/v1/intake",
    operation_id = "handInClaim",
    tag = "intake",
    request_body = Package,
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
    let package = parse_package(&body)?;
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
