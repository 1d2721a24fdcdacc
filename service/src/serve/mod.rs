//! `zkclaim serve`: the consortium node's HTTP service (axum on tokio).
//!
//! Routes live in one table, [`routes`], from which both the router and `/openapi.json` are
//! built. Proofs run on [`pool::ProverPool`]'s threads, ledger submissions on tokio's
//! blocking pool, so the async workers only parse, route and answer.

pub mod actions;
mod admission;
pub mod auth;
mod config;
mod error;
mod handlers;
mod metrics;
mod pool;
mod schemas;

pub use config::{Config, Settings};

use crate::{consortium::Params, error::Error};
use axum::{
    extract::{DefaultBodyLimit, MatchedPath, Request, State},
    handler::Handler,
    http::StatusCode,
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{self, MethodRouter},
    Router,
};
use axum_server::tls_rustls::RustlsConfig;
use error::ServiceError;
use serde_json::{json, Value};
use std::{
    net::SocketAddr,
    sync::{atomic::AtomicBool, Arc},
    time::Instant,
};
use tower_http::timeout::TimeoutLayer;
use tracing::Instrument;
use zkclaim_ledger::Ledger;
use zkclaim_verifier::ClaimVerifyingKey;

pub struct AppState {
    ledger: Arc<Ledger>,
    verifying_key: ClaimVerifyingKey,
    /// None on a verify-only node (no proving key): the proof route answers 503.
    pool: Option<pool::ProverPool>,
    admission: admission::Admission,
    metrics: Arc<metrics::Metrics>,
    config: Config,
    openapi: Value,
    /// Set on SIGTERM/SIGINT: `/readyz` answers 503 while in-flight requests finish.
    draining: AtomicBool,
}

type Shared = Arc<AppState>;

/// Serves (HTTPS when the config names a certificate) until SIGTERM or SIGINT, then stops
/// accepting, lets in-flight requests (proofs included) finish, stops the provers and closes
/// the ledger. Proves only when `params` hold a proving key. `listening` gets the node's URL
/// once it listens.
pub fn run(
    config: Config,
    params: Params,
    ledger: Ledger,
    listening: impl FnOnce(&str),
) -> Result<(), Error> {
    init_tracing();
    let serve_error = |what: &str, e: std::io::Error| Error::Serve(format!("{what}: {e}"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| serve_error("cannot start the runtime", e))?;
    let metrics = Arc::new(metrics::Metrics::new());
    let pool = match params.prover {
        Some(prover) => Some(
            pool::ProverPool::start(
                Arc::new(prover),
                config.workers,
                config.queue_depth,
                config.queue_wait,
                metrics.clone(),
            )
            .map_err(|e| serve_error("cannot start the provers", e))?,
        ),
        None => {
            tracing::warn!("verify-only node (no proving key): POST /v1/proofs answers 503");
            None
        }
    };
    let table = routes();
    let state = Arc::new(AppState {
        ledger: Arc::new(ledger),
        verifying_key: params.verifying_key,
        pool,
        admission: admission::Admission::new(config.limits.clone(), config.replay_window_s),
        metrics,
        openapi: openapi(&table),
        config,
        draining: AtomicBool::new(false),
    });
    let served = runtime.block_on(serve(state.clone(), table, listening));
    if let Some(pool) = &state.pool {
        pool.close();
    }
    state.ledger.close();
    tracing::info!("stopped");
    served
}

/// Logs to stderr at `RUST_LOG` (default info), except arkworks' constraint-system spans
/// (target `gr1cs`): they format the whole witness, the patient's secrets included, and
/// turn a 0.3 s proof into minutes.
///
/// A line that cannot be written (stderr is a pipe whose reader went away) is dropped.
/// tracing-subscriber would otherwise report the failed write with `eprintln!`, which panics
/// when stderr fails: in the task answering a request, and in the one waiting for SIGTERM,
/// so that the node stopped answering and could no longer be stopped.
fn init_tracing() {
    let mut filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    for target in [
        "gr1cs",
        "ark_relations",
        "ark_r1cs_std",
        "ark_crypto_primitives",
    ] {
        filter = filter.add_directive(format!("{target}=off").parse().expect("valid directive"));
    }
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .log_internal_errors(false)
        .init();
}

async fn serve(
    state: Shared,
    table: Vec<Route>,
    listening: impl FnOnce(&str),
) -> Result<(), Error> {
    let io = |what: &str, e: std::io::Error| Error::Serve(format!("{what}: {e}"));
    // Read before binding, so a bad certificate never leaves a port answering.
    let tls = match &state.config.tls {
        Some(tls) => Some(
            RustlsConfig::from_pem_file(&tls.cert, &tls.key)
                .await
                .map_err(|e| {
                    let (cert, key) = (tls.cert.display(), tls.key.display());
                    io(&format!("TLS certificate {cert} with key {key}"), e)
                })?,
        ),
        None => None,
    };
    let listen = state.config.listen;
    let listener = std::net::TcpListener::bind(listen)
        .map_err(|e| io(&format!("cannot listen on {listen}"), e))?;
    let addr = listener.local_addr().map_err(|e| io("local address", e))?;
    let shutdown = shutdown(state.clone()).map_err(|e| io("signal handlers", e))?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    // On stdout, one line: scripts and tests that bind port 0 read the address from it.
    println!("listening on {scheme}://{addr}");
    listening(&format!("{scheme}://{addr}"));
    tracing::info!(%addr, tls = tls.is_some(), "listening");
    let handle = axum_server::Handle::new();
    tokio::spawn({
        let handle = handle.clone();
        async move {
            shutdown.await;
            handle.graceful_shutdown(None);
        }
    });
    // The peer's address tells clients apart for the per-client proof limits.
    let app = router(state, table).into_make_service_with_connect_info::<SocketAddr>();
    let served = match tls {
        Some(tls) => {
            axum_server::from_tcp_rustls(listener, tls)
                .map_err(|e| io("listener", e))?
                .handle(handle)
                .serve(app)
                .await
        }
        None => {
            axum_server::from_tcp(listener)
                .map_err(|e| io("listener", e))?
                .handle(handle)
                .serve(app)
                .await
        }
    };
    served.map_err(|e| io("serving", e))
}

/// Resolves on SIGTERM or SIGINT, marking the node as draining. The handlers are installed
/// by this call, not on the future's first poll: once the node has said it listens, a
/// signal means a graceful shutdown, never the default sudden exit.
fn shutdown(state: Shared) -> std::io::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    let signal = {
        use tokio::signal::unix::{signal, SignalKind};
        let mut terminate = signal(SignalKind::terminate())?;
        let mut interrupt = signal(SignalKind::interrupt())?;
        async move {
            tokio::select! {
                _ = terminate.recv() => {}
                _ = interrupt.recv() => {}
            }
        }
    };
    #[cfg(not(unix))]
    let signal = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    Ok(async move {
        signal.await;
        state
            .draining
            .store(true, std::sync::atomic::Ordering::SeqCst);
        tracing::info!("shutting down: finishing in-flight requests");
    })
}

/// One route: what the router serves and what `/openapi.json` documents.
struct Route {
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    /// Needs the member request signature of [`auth`].
    signed: bool,
    /// Gets the proof timeout instead of the request timeout.
    proving: bool,
    /// The request body's schema in [`schemas::schemas`].
    body: Option<&'static str>,
    handler: MethodRouter<Shared>,
}

impl Route {
    fn get<H: Handler<T, Shared>, T: 'static>(
        path: &'static str,
        summary: &'static str,
        h: H,
    ) -> Self {
        Self::new("get", path, summary, routing::get(h))
    }
    fn post<H: Handler<T, Shared>, T: 'static>(
        path: &'static str,
        summary: &'static str,
        h: H,
    ) -> Self {
        Self::new("post", path, summary, routing::post(h))
    }
    fn new(
        method: &'static str,
        path: &'static str,
        summary: &'static str,
        handler: MethodRouter<Shared>,
    ) -> Self {
        Self {
            method,
            path,
            summary,
            signed: false,
            proving: false,
            body: None,
            handler,
        }
    }
    fn body(self, schema: &'static str) -> Self {
        Self {
            body: Some(schema),
            ..self
        }
    }
    fn signed(self) -> Self {
        Self {
            signed: true,
            ..self
        }
    }
    fn proving(self) -> Self {
        Self {
            proving: true,
            ..self
        }
    }
}

/// The service's routes: the one list.
fn routes() -> Vec<Route> {
    use handlers::*;
    vec![
        Route::post(
            "/v1/invoices",
            "Hospital: register an invoice commitment. Body: a member-signed register_invoice SignedTransaction.",
            register_invoice,
        )
        .signed()
        .body("SignedRegisterInvoice"),
        Route::post(
            "/v1/proofs",
            "Patient: prove a claim. Body: {invoice, key: {sk}, policy}; the Merkle path comes from the ledger. A verify-only node (no proving key) answers 503 no_proving_key.",
            prove_claim,
        )
        .proving()
        .body("ProofRequest"),
        Route::post(
            "/v1/claims",
            "Insurer: settle a claim. Body: a member-signed settle_claim SignedTransaction.",
            settle_claim,
        )
        .signed()
        .body("SignedSettleClaim"),
        Route::get("/v1/claims/{nullifier}", "A settled claim by its nullifier.", get_claim),
        Route::get("/v1/roots", "The invoice roots a claim may prove against, oldest first.", roots),
        Route::get("/v1/paths/{leaf_index}", "An invoice's Merkle path in the current tree.", path),
        Route::get("/v1/blocks/{height}", "A block's header.", block),
        Route::get("/v1/verifying-key", "The claim circuit's compressed verifying key and its digest.", verifying_key),
        Route::get("/healthz", "Liveness: the process answers.", healthz),
        Route::get("/readyz", "Readiness: 503 while shutting down; `proves` says whether this node has a proving key.", readyz),
        Route::get("/metrics", "Prometheus metrics.", metrics_text),
        Route::get("/openapi.json", "This document.", openapi_json),
    ]
}

fn router(state: Shared, table: Vec<Route>) -> Router {
    let config = &state.config;
    let mut router = Router::new();
    for route in table {
        let timeout = if route.proving {
            config.proof_timeout
        } else {
            config.request_timeout
        };
        router = router.route(
            route.path,
            route.handler.layer(TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                timeout,
            )),
        );
    }
    router
        .fallback(handlers::not_found)
        .layer(DefaultBodyLimit::max(config.body_limit))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

/// Logs method, route, status and latency of every request, and counts refusals by code.
/// Nothing the client chose is logged: not the body nor headers, and the route as declared
/// (`/v1/claims/{nullifier}`), not the path asked for.
async fn observe(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let method = match request.method().as_str() {
        m @ ("GET" | "HEAD" | "POST" | "PUT" | "DELETE" | "PATCH" | "OPTIONS") => m,
        _ => "other",
    };
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let span = tracing::info_span!("request", %method, %route);
    let start = Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    // axum's method router and tower-http's timeout answer in plain text: give them the
    // service's JSON error form like every other refusal.
    if response
        .extensions()
        .get::<error::RejectionCode>()
        .is_none()
    {
        match response.status() {
            StatusCode::METHOD_NOT_ALLOWED => {
                response = ServiceError::MethodNotAllowed.into_response()
            }
            StatusCode::REQUEST_TIMEOUT => response = ServiceError::Timeout.into_response(),
            _ => {}
        }
    }
    if let Some(code) = response.extensions().get::<error::RejectionCode>() {
        state.metrics.rejections.with_label_values(&[code.0]).inc();
    }
    span.in_scope(|| {
        tracing::info!(
            status = response.status().as_u16(),
            latency_ms = start.elapsed().as_secs_f64() * 1e3,
            "answered"
        )
    });
    response
}

fn openapi(table: &[Route]) -> Value {
    let mut paths = serde_json::Map::new();
    for route in table {
        let parameters: Vec<Value> = route
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        let mut operation = json!({
            "summary": route.summary,
            "parameters": parameters,
            "responses": {
                "200": {"description": "success"},
                "default": {
                    "description": "refused",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
                }
            }
        });
        if route.signed {
            operation["security"] = json!([{"memberSignature": []}]);
        }
        if route.proving {
            operation["responses"]["503"] = json!({
                "description": "no_proving_key: this node verifies only; unavailable: it is shutting down",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
            });
        }
        if let Some(schema) = route.body {
            operation["requestBody"] = json!({
                "required": true,
                "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}
            });
        }
        paths.entry(route.path).or_insert_with(|| json!({}))[route.method] = operation;
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "zkclaim", "version": env!("CARGO_PKG_VERSION")},
        "paths": paths,
        "components": {
            "securitySchemes": {"memberSignature": {
                "type": "apiKey", "in": "header", "name": auth::SIGNATURE,
                "description": "Ed25519 member signature (hex) of METHOD\\nPATH\\nhex(sha256(body))\\nTIMESTAMP, with x-zkclaim-member and x-zkclaim-timestamp (unix seconds)"
            }},
            "schemas": schemas::schemas(),
        }
    })
}
