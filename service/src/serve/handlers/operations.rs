//! Liveness, readiness, metrics and this API's document.

use super::*;

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
