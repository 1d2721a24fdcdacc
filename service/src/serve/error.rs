//! The service's one error type and its client-safe JSON form,
//! `{"error": {"code": "...", "message": "..."}}`.

use axum::{
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::Serialize;
use std::time::Duration;
use zkclaim_insurer::RegistryError;
use zkclaim_ledger::LedgerError;
use zkclaim_prover::ProveError;

/// Why a request was refused. Messages are safe to show a client: they never echo secrets
/// from the request (a field's path, never its value) nor storage internals.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The body is not JSON (`malformed_json`), or not JSON of the right form
    /// (`invalid_request`: which field, and why).
    #[error("{1}")]
    BadRequest(&'static str, String),
    #[error("{1}")]
    Unauthorized(&'static str, String),
    #[error("{1}")]
    Forbidden(&'static str, String),
    #[error("{0}")]
    NotFound(String),
    #[error("the request body exceeds the limit of {0} bytes")]
    TooLarge(usize),
    #[error("this route does not take that method")]
    MethodNotAllowed,
    #[error("the request took longer than its time limit")]
    Timeout,
    /// The witness breaks a rule of the statement: the rule's name.
    #[error("{0}")]
    Unsatisfiable(String),
    /// The prover queue, the table of proof jobs or the intake is full.
    #[error("the node has as many of these requests as it takes at once; retry later")]
    Busy,
    /// The proof request's invoice was claimed on the ledger already: refused before proving.
    #[error("this invoice was already claimed (block {first_height}); no proof was made")]
    AlreadyClaimed { first_height: u64 },
    /// This client has as many requests of this kind (proofs, intake) in flight as it may.
    #[error(
        "this client has as many of these requests in flight as it may; retry once one is \
         answered"
    )]
    ClientBusy,
    /// This client spent its request rate of this kind; the next one is allowed after this
    /// long.
    #[error("this client's request rate for this route is spent; retry after Retry-After seconds")]
    RateLimited(Duration),
    /// The current root does not yet hide the invoice's block among enough later
    /// registrations by other hospitals, and none came within the wait.
    #[error(
        "the invoice's block is followed by {later} registrations by other hospitals so far; \
         a root after at least {needed} hides which block registered it, and they did not \
         come within {waited_s} s. Retry later, or claim now (claim_now, --claim-now) with a \
         root that may point at the invoice's block: the insurer could then learn which \
         hospital registered it, and when"
    )]
    RootTooFresh {
        later: u64,
        needed: u64,
        waited_s: u64,
    },
    /// A continuation's settled root does not yet hide the block that settled the previous
    /// rank among enough later settlements, and none came within the wait.
    #[error(
        "the previous rank's claim is followed by {later} settlements so far; a settled root \
         after at least {needed} hides which block settled it, and they did not come within \
         {waited_s} s. Retry later, or claim now (claim_now, --claim-now) with a settled root \
         that may point at that block: this insurer could then learn when the earlier \
         insurer settled"
    )]
    SettledRootTooFresh {
        later: u64,
        needed: u64,
        waited_s: u64,
    },
    /// A continuation request's previous rank is not in the ledger's settled tree.
    #[error(
        "previous: the last earlier claim is not settled on the ledger (yet): settle it at \
         its insurer first, then claim the next rank"
    )]
    PreviousNotSettled,
    /// The earlier claims on the invoice reimbursed it in full: a continuation would pay 0.
    #[error(
        "previous: the invoice is fully reimbursed by its earlier claims; nothing is left to \
         claim, and no proof was made"
    )]
    FullyReimbursed,
    /// The proof request waited in the prover queue longer than the node allows.
    #[error("the proof request waited too long for a prover; retry later")]
    QueueTimeout,
    #[error("{0}")]
    Unavailable(String),
    /// A verify-only node: it has the consortium's verifying key but no proving key.
    #[error(
        "this node has no proving key: it verifies and settles claims but does not prove them; \
         ask a node that proves, or prove on the patient's side"
    )]
    NoProvingKey,
    /// A node serving no insurer (no `--insurer`) takes no patients' claims.
    #[error(
        "this node takes no patients' claims: it serves no insurer; send the claim to the \
         insurer's own node"
    )]
    NoInsurer,
    /// The insurer's console is off: the node's settings name no console tokens.
    #[error(
        "this node's insurer console is off: its operator turns it on with console tokens \
         (console_tokens)"
    )]
    ConsoleOff,
    /// Refused or failed by the ledger; nothing was written.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Prove(#[from] ProveError),
    /// The insurer's registry: the insurer rule's refusals, enrolments not found, or its
    /// storage failing.
    #[error(transparent)]
    Registry(#[from] RegistryError),
}

/// The body of every refusal, `{"error": {...}}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// Why the request was refused: a stable code for programs, a message for people (it names
/// the offending field, never its value).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// For example `invalid_request`, `bad_signature`, `duplicate_claim`, `busy`.
    #[schema(value_type = String, examples("invalid_request"))]
    pub code: &'static str,
    pub message: String,
    /// `duplicate_claim` and `already_claimed` only: the height of the block that settled
    /// the claim first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_height: Option<u64>,
}

/// The code of a refusal, left in the response's extensions for the rejection metric.
#[derive(Debug, Clone, Copy)]
pub struct RejectionCode(pub &'static str);

impl ServiceError {
    pub(super) fn status_and_code(&self) -> (StatusCode, &'static str) {
        use LedgerError as L;
        match self {
            ServiceError::BadRequest(code, _) => (StatusCode::BAD_REQUEST, code),
            ServiceError::Unauthorized(code, _) => (StatusCode::UNAUTHORIZED, code),
            ServiceError::Forbidden(code, _) => (StatusCode::FORBIDDEN, code),
            ServiceError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ServiceError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large"),
            ServiceError::MethodNotAllowed => {
                (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
            }
            ServiceError::Timeout => (StatusCode::REQUEST_TIMEOUT, "timeout"),
            ServiceError::Unsatisfiable(_) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "unsatisfiable_witness")
            }
            ServiceError::Busy => (StatusCode::TOO_MANY_REQUESTS, "busy"),
            ServiceError::AlreadyClaimed { .. } => (StatusCode::CONFLICT, "already_claimed"),
            ServiceError::ClientBusy => (StatusCode::TOO_MANY_REQUESTS, "client_busy"),
            ServiceError::RateLimited(_) => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            ServiceError::QueueTimeout => (StatusCode::SERVICE_UNAVAILABLE, "queue_timeout"),
            ServiceError::RootTooFresh { .. } | ServiceError::SettledRootTooFresh { .. } => {
                (StatusCode::SERVICE_UNAVAILABLE, "root_too_fresh")
            }
            ServiceError::PreviousNotSettled => (StatusCode::CONFLICT, "previous_not_settled"),
            ServiceError::FullyReimbursed
            | ServiceError::Prove(ProveError::FullyReimbursed { .. }) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "fully_reimbursed")
            }
            ServiceError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ServiceError::NoProvingKey => (StatusCode::SERVICE_UNAVAILABLE, "no_proving_key"),
            ServiceError::NoInsurer => (StatusCode::SERVICE_UNAVAILABLE, "no_insurer"),
            ServiceError::ConsoleOff => (StatusCode::SERVICE_UNAVAILABLE, "console_off"),
            ServiceError::Prove(ProveError::Rule(_) | ProveError::Continuation(_)) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "unsatisfiable_witness")
            }
            ServiceError::Prove(_) => (StatusCode::INTERNAL_SERVER_ERROR, "prover"),
            ServiceError::Registry(e) => match e {
                RegistryError::Refused(refusal) => (StatusCode::FORBIDDEN, refusal.code()),
                RegistryError::Invalid(_) => (StatusCode::BAD_REQUEST, "invalid_request"),
                RegistryError::NoEnrolment { .. } => (StatusCode::NOT_FOUND, "not_found"),
                RegistryError::InUse { .. } => {
                    (StatusCode::SERVICE_UNAVAILABLE, "registry_unavailable")
                }
                RegistryError::Storage(_) | RegistryError::Corrupt(_) => {
                    (StatusCode::INTERNAL_SERVER_ERROR, "storage")
                }
            },
            ServiceError::Ledger(e) => match e {
                L::UnknownMember(_) => (StatusCode::UNAUTHORIZED, "unknown_member"),
                L::BadSignature => (StatusCode::UNAUTHORIZED, "bad_signature"),
                L::WrongRole { .. } => (StatusCode::FORBIDDEN, "wrong_role"),
                L::WrongInsurer { .. } => (StatusCode::FORBIDDEN, "wrong_insurer"),
                L::StaleRoot => (StatusCode::UNPROCESSABLE_ENTITY, "stale_root"),
                L::ExpiredRoot { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "expired_root"),
                L::StaleSettledRoot => (StatusCode::UNPROCESSABLE_ENTITY, "stale_settled_root"),
                L::ExpiredSettledRoot { .. } => {
                    (StatusCode::UNPROCESSABLE_ENTITY, "expired_settled_root")
                }
                L::NoContinuationKey => (StatusCode::UNPROCESSABLE_ENTITY, "no_continuation_key"),
                L::DuplicateSettledLeaf => (StatusCode::CONFLICT, "duplicate_settled_leaf"),
                L::UnknownSettledLeaf(_) => (StatusCode::NOT_FOUND, "unknown_settled_leaf"),
                L::SettledTreeFull => (StatusCode::SERVICE_UNAVAILABLE, "tree_full"),
                L::InvalidProof => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_proof"),
                L::DuplicateClaim { .. } => (StatusCode::CONFLICT, "duplicate_claim"),
                L::DuplicateCommitment => (StatusCode::CONFLICT, "duplicate_commitment"),
                L::ZeroCommitment => (StatusCode::UNPROCESSABLE_ENTITY, "zero_commitment"),
                L::VoidedCommitment { .. } => (StatusCode::CONFLICT, "voided_commitment"),
                L::UnregisteredCommitment => (StatusCode::NOT_FOUND, "unregistered_commitment"),
                L::NotRegistrant { .. } => (StatusCode::FORBIDDEN, "not_registrant"),
                L::AlreadyVoided { .. } => (StatusCode::CONFLICT, "already_voided"),
                L::VoidedLeaf { .. } => (StatusCode::GONE, "voided_leaf"),
                L::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "hospital_rate_limited"),
                L::UnknownLeaf(_) => (StatusCode::NOT_FOUND, "unknown_leaf"),
                L::TreeFull => (StatusCode::SERVICE_UNAVAILABLE, "tree_full"),
                L::Closed => (StatusCode::SERVICE_UNAVAILABLE, "closed"),
                L::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "ledger_unavailable"),
                _ => (StatusCode::INTERNAL_SERVER_ERROR, "storage"),
            },
        }
    }

    /// The status and the client-safe body of this refusal.
    pub fn into_parts(self) -> (StatusCode, ErrorDetail) {
        let (status, code) = self.status_and_code();
        let message = if status == StatusCode::INTERNAL_SERVER_ERROR {
            // The detail (a storage path, a constraint number) is for the operator's log.
            tracing::error!(error = %self, "internal error");
            "internal error; the request was not applied".to_owned()
        } else if code == "ledger_unavailable" {
            // So is which etcd member failed. Whether a settlement landed is unknown: the
            // same transaction again gets its receipt if it did.
            tracing::error!(error = %self, "ledger unavailable");
            "the ledger is unavailable; retry the same transaction later, in a request signed again"
                .to_owned()
        } else if let ServiceError::Ledger(LedgerError::UnknownLeaf(_)) = self {
            // The index is the client's: a refusal never repeats a value it was sent.
            "no invoice at this leaf index".to_owned()
        } else if let ServiceError::Prove(ProveError::FullyReimbursed { .. }) = self {
            // Nor the invoice's total.
            ServiceError::FullyReimbursed.to_string()
        } else {
            self.to_string()
        };
        let first_height = match self {
            ServiceError::Ledger(LedgerError::DuplicateClaim { first_height })
            | ServiceError::AlreadyClaimed { first_height } => Some(first_height),
            _ => None,
        };
        let detail = ErrorDetail {
            code,
            message,
            first_height,
        };
        (status, detail)
    }
}

impl IntoResponse for ServiceError {
    fn into_response(self) -> Response {
        let retry_after = match &self {
            // Whole seconds, rounded up: never before the client's next request is allowed.
            ServiceError::RateLimited(wait) => wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
            ServiceError::Ledger(LedgerError::RateLimited { retry_after_ms, .. }) => {
                retry_after_ms.div_ceil(1000)
            }
            _ => 1,
        };
        let (status, error) = self.into_parts();
        let code = error.code;
        let mut response = (status, Json(ErrorBody { error })).into_response();
        // A verify-only node will not prove later either, nor a node without an insurer take
        // claims, nor one without console tokens open its console: no Retry-After.
        if status == StatusCode::TOO_MANY_REQUESTS
            || (status == StatusCode::SERVICE_UNAVAILABLE
                && !matches!(code, "no_proving_key" | "no_insurer" | "console_off"))
        {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, retry_after.max(1).into());
        }
        response.extensions_mut().insert(RejectionCode(code));
        response
    }
}

/// The command line's embedded mode runs the node's actions: their refusals read as the
/// node's, with the full message (the operator is the one reading it).
impl From<ServiceError> for crate::error::Error {
    fn from(e: ServiceError) -> Self {
        crate::error::Error::Refused {
            code: e.status_and_code().1.to_owned(),
            message: e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ledger_refusals_map_to_their_statuses() {
        let cases = [
            (LedgerError::UnknownMember(9), 401),
            (LedgerError::BadSignature, 401),
            (
                LedgerError::WrongInsurer {
                    signer: 11,
                    insurer_id: 10,
                },
                403,
            ),
            (LedgerError::StaleRoot, 422),
            (LedgerError::InvalidProof, 422),
            (LedgerError::DuplicateClaim { first_height: 3 }, 409),
            (LedgerError::DuplicateCommitment, 409),
            (LedgerError::VoidedCommitment { height: 3 }, 409),
            (LedgerError::AlreadyVoided { height: 3 }, 409),
            (LedgerError::UnregisteredCommitment, 404),
            (LedgerError::NotRegistrant { registrant: 1 }, 403),
            (LedgerError::VoidedLeaf { height: 3 }, 410),
            (
                LedgerError::ExpiredRoot {
                    age_ms: 600_001,
                    max_age_ms: 600_000,
                },
                422,
            ),
            (LedgerError::UnknownLeaf(4), 404),
            (LedgerError::StaleSettledRoot, 422),
            (LedgerError::DuplicateSettledLeaf, 409),
            (LedgerError::NoContinuationKey, 422),
            (LedgerError::Closed, 503),
            (
                LedgerError::Storage("disk full at /secret/path".into()),
                500,
            ),
        ];
        for (e, status) in cases {
            let response = ServiceError::Ledger(e.clone()).into_response();
            assert_eq!(response.status().as_u16(), status, "{e}");
            assert!(response.extensions().get::<RejectionCode>().is_some());
        }
        let busy = ServiceError::Busy.into_response();
        assert_eq!(busy.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(busy.headers()[header::RETRY_AFTER], "1");
        // A client's rate tells it when its next request is allowed, rounded up.
        let limited = ServiceError::RateLimited(Duration::from_millis(12_001)).into_response();
        assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(limited.headers()[header::RETRY_AFTER], "13");
        // A hospital's quota of registration blocks says when the ledger takes the next.
        let quota = ServiceError::Ledger(LedgerError::RateLimited {
            member: 1,
            quota: 63,
            retry_after_ms: 4_200,
        })
        .into_response();
        assert_eq!(quota.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(quota.headers()[header::RETRY_AFTER], "5");
    }

    #[tokio::test]
    async fn an_unreachable_ledger_is_503_without_naming_its_members() {
        let e = LedgerError::Unavailable("etcd http://10.1.2.3:2379: connection refused".into());
        let response = ServiceError::Ledger(e).into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
        let body = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .unwrap();
        let text = String::from_utf8(body.to_vec()).unwrap();
        assert!(
            text.contains("ledger_unavailable") && text.contains("retry"),
            "{text}"
        );
        assert!(!text.contains("10.1.2.3"), "{text}");
    }
}
