//! The insurer's console (`/console/`): the enrolments and claims of the insurer this node
//! serves (`--insurer N`), for its operators. A browser holds no member key, so the console
//! logs in with an operator token from the node's settings (`console_tokens`) instead of a
//! member's request signature; it reads what the insurer's signed routes ([`super::insurers`])
//! read. Nothing medical is in it: the registry holds claims by nullifier, amount, time,
//! block and refusal.

use super::{super::admission::check_bearer, *};

/// The insurer whose console this request may read: the node's, once the request carries
/// one of the console's operator tokens. 503 `console_off` where the node has none.
fn operator(state: &Shared, headers: &HeaderMap) -> Result<u32, ServiceError> {
    let digests = &state.config.console_token_digests;
    if digests.is_empty() {
        return Err(ServiceError::ConsoleOff);
    }
    check_bearer(headers, digests, "an operator token of the console")?;
    let insurer = state.insurer.as_ref().ok_or(ServiceError::NoInsurer)?;
    Ok(insurer.member_id())
}

/// The insurer a console operates.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ConsoleInsurer {
    /// Its member id.
    pub insurer: u32,
    /// Its name in the genesis.
    pub name: String,
}

/// The console's insurer (console)
///
/// The insurer this node serves, by id and name: what the console shows once logged in,
/// and how it checks its token.
#[utoipa::path(
    get,
    path = "/v1/console/insurer",
    operation_id = "getConsoleInsurer",
    tag = "console",
    security(("consoleToken" = [])),
    responses(
        (status = 200, description = "The node's insurer", body = ConsoleInsurer),
        Unauthorized, Unavailable,
    ),
)]
pub async fn console_insurer(
    State(state): State<Shared>,
    headers: HeaderMap,
) -> Answer<ConsoleInsurer> {
    let insurer = operator(&state, &headers)?;
    let member = state
        .ledger
        .genesis()
        .members
        .iter()
        .find(|m| m.id == insurer);
    Ok(Json(ConsoleInsurer {
        insurer,
        name: member.map_or_else(String::new, |m| m.name.clone()),
    }))
}

/// The insurer's enrolments (console)
///
/// The policyholders of the insurer this node serves, oldest first, revoked ones included:
/// what `GET /v1/enrolments` answers the insurer.
#[utoipa::path(
    get,
    path = "/v1/console/enrolments",
    operation_id = "listConsoleEnrolments",
    tag = "console",
    security(("consoleToken" = [])),
    responses(
        (status = 200, description = "The insurer's enrolments", body = Enrolments),
        Unauthorized, InternalError, Unavailable,
    ),
)]
pub async fn console_enrolments(
    State(state): State<Shared>,
    headers: HeaderMap,
) -> Answer<Enrolments> {
    let insurer = operator(&state, &headers)?;
    list_enrolments(&state, insurer).await
}

/// The insurer's claims (console)
///
/// The latest settled claims (amount, time, block) and refusals (code and reason) of the
/// insurer this node serves, and its totals per day: what `GET /v1/insurer/claims` answers
/// the insurer.
#[utoipa::path(
    get,
    path = "/v1/console/claims",
    operation_id = "getConsoleClaims",
    tag = "console",
    security(("consoleToken" = [])),
    params((
        "limit" = Option<u64>, Query, maximum = 1000,
        description = "How many settled and how many refused claims to list [default: 100]"
    )),
    responses(
        (status = 200, description = "The insurer's report", body = Report),
        BadRequest, Unauthorized, InternalError, Unavailable,
    ),
)]
pub async fn console_claims(
    State(state): State<Shared>,
    uri: Uri,
    headers: HeaderMap,
) -> Answer<Report> {
    let insurer = operator(&state, &headers)?;
    let limit = report_limit(&uri)?;
    report(&state, insurer, limit).await
}
