//! `zkclaim serve`: the consortium node's HTTP service (axum on tokio).
//!
//! Routes live in one list, [`routes`], which registers each with both the router and
//! `/openapi.json` ([`schemas`]). Proofs run on [`pool::ProverPool`]'s threads (asynchronous
//! ones tracked by [`jobs`]), ledger submissions on tokio's blocking pool, so the async
//! workers only parse, route and answer.

pub mod actions;
mod admission;
pub mod auth;
mod config;
mod error;
mod handlers;
pub mod insurer;
mod jobs;
mod metrics;
mod pool;
mod schemas;
pub mod web;

pub use config::{Config, Settings};

use crate::{consortium::Params, error::Error};
use axum::{
    extract::{DefaultBodyLimit, MatchedPath, Request, State},
    http::{header, HeaderName, HeaderValue, Method, StatusCode},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    Router,
};
use axum_server::tls_rustls::RustlsConfig;
use error::ServiceError;
use serde_json::Value;
use std::{
    net::SocketAddr,
    sync::{atomic::AtomicBool, Arc},
    time::{Duration, Instant},
};
use tower_http::{
    cors::{AllowOrigin, CorsLayer},
    timeout::TimeoutLayer,
};
use tracing::Instrument;
use utoipa::OpenApi;
use utoipa_axum::{
    router::{OpenApiRouter, UtoipaMethodRouter},
    routes,
};
use zkclaim_insurer::Registry;
use zkclaim_ledger::{Ledger, MemberKey};
use zkclaim_verifier::ClaimVerifyingKey;

pub struct AppState {
    ledger: Arc<Ledger>,
    /// The insurer registry: enrolments, and the outcomes of the claims settled here.
    registry: Arc<Registry>,
    /// The key of the insurer this node takes patients' claims for (`--insurer N`); none:
    /// the intake answers 503 `no_insurer`.
    insurer: Option<Arc<MemberKey>>,
    verifying_key: ClaimVerifyingKey,
    /// The continuation circuit's (statement v2), where the genesis pins one.
    continuation_key: Option<ClaimVerifyingKey>,
    /// None on a verify-only node (no proving key): the proof routes answer 503.
    pool: Option<pool::ProverPool>,
    jobs: jobs::Jobs,
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
/// the ledger. Proves only when `params` hold a proving key; takes patients' claims only
/// with an insurer's key. `listening` gets the node's URL once it listens.
pub fn run(
    config: Config,
    (params, params_dir): (Params, &std::path::Path),
    (ledger, registry, insurer): (Ledger, Registry, Option<MemberKey>),
    listening: impl FnOnce(&str),
) -> Result<(), Error> {
    init_tracing();
    let serve_error = |what: &str, e: std::io::Error| Error::Serve(format!("{what}: {e}"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| serve_error("cannot start the runtime", e))?;
    let metrics = Arc::new(metrics::Metrics::new());
    let Params {
        primary,
        continuation,
    } = params;
    let continuation_key = continuation.as_ref().map(|c| c.verifying_key.clone());
    let pool = match primary.prover {
        Some(mut prover) => Some({
            if config.prover_tables {
                let started = std::time::Instant::now();
                let bytes = prover.proving_key.precompute_tables();
                tracing::info!(
                    megabytes = bytes / 1_000_000,
                    ms = started.elapsed().as_millis() as u64,
                    "made the proving key's fixed-base tables (--prover-tables false: without)"
                );
            }
            pool::ProverPool::start(
                Arc::new(pool::Provers {
                    primary: prover,
                    continuation: continuation.and_then(|c| c.prover),
                }),
                config.workers,
                config.queue_depth,
                config.queue_wait,
                metrics.clone(),
            )
            .map_err(|e| serve_error("cannot start the provers", e))?
        }),
        None => {
            tracing::warn!("verify-only node (no proving key): the proof routes answer 503");
            None
        }
    };
    if let Some(missing) = web::missing(&config.web_root) {
        tracing::warn!("{missing}");
    }
    let (api, doc) = routes(&config).split_for_parts();
    let api = api.merge(web::routes(&config.web_root, params_dir));
    let shape = ledger.genesis().shape;
    let state = Arc::new(AppState {
        ledger: Arc::new(ledger),
        registry: Arc::new(registry),
        insurer: insurer.map(Arc::new),
        openapi: schemas::document(doc, shape),
        verifying_key: primary.verifying_key,
        continuation_key,
        pool,
        jobs: jobs::Jobs::new(config.max_jobs, config.job_ttl),
        admission: admission::Admission::new(
            config.limits.clone(),
            config.intake.clone(),
            config.replay_window_s,
        ),
        metrics,
        config,
        draining: AtomicBool::new(false),
    });
    let served = runtime.block_on(serve(state.clone(), api, listening));
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
    api: Router<Shared>,
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
    // Before the line below: whoever reads it may at once find the store held, and must
    // then find who holds it.
    listening(&format!("{scheme}://{addr}"));
    // On stdout, one line: scripts and tests that bind port 0 read the address from it.
    println!("listening on {scheme}://{addr}");
    tracing::info!(%addr, tls = tls.is_some(), "listening");
    let genesis = state.ledger.genesis();
    let origin = crate::consortium::parameters_origin(genesis);
    // A warning while either pinned circuit's parameters come from no ceremony.
    let ceremonies = genesis.ceremony.is_some()
        && genesis
            .continuation
            .as_ref()
            .is_none_or(|pin| pin.ceremony.is_some());
    match ceremonies {
        true => tracing::info!("{origin}"),
        false => tracing::warn!("{origin}"),
    }
    let handle = axum_server::Handle::new();
    tokio::spawn({
        let handle = handle.clone();
        async move {
            shutdown.await;
            handle.graceful_shutdown(None);
        }
    });
    // The peer's address tells clients apart for the per-client proof limits.
    let app = router(state, api).into_make_service_with_connect_info::<SocketAddr>();
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

type Routes = UtoipaMethodRouter<Shared>;

/// The service's routes, each registered with the router and `/openapi.json` at once: the
/// one list. Each handler's attribute documents its operation; [`timed`] and [`signed`]
/// add what the route's registration gives it.
fn routes(config: &Config) -> OpenApiRouter<Shared> {
    use handlers::*;
    let (request, proof) = (config.request_timeout, config.proof_timeout);
    OpenApiRouter::with_openapi(schemas::ApiDoc::openapi())
        .routes(timed(signed(routes!(register_invoice)), request))
        .routes(timed(signed(routes!(void_invoice)), request))
        .routes(timed(routes!(prove_claim), proof))
        .routes(timed(routes!(submit_proof_job), request))
        .routes(timed(routes!(proof_job), request))
        .routes(timed(signed(routes!(settle_claim)), request))
        .routes(timed(signed(routes!(enroll, enrolments)), request))
        .routes(timed(signed(routes!(revoke)), request))
        .routes(timed(signed(routes!(insurer_claims)), request))
        .routes(timed(routes!(intake), request))
        .routes(timed(routes!(intake_status), request))
        .routes(timed(routes!(console_insurer), request))
        .routes(timed(routes!(console_enrolments), request))
        .routes(timed(routes!(console_claims), request))
        .routes(timed(routes!(get_claim), request))
        .routes(timed(routes!(roots), request))
        .routes(timed(routes!(path), request))
        .routes(timed(routes!(leaves), request))
        .routes(timed(routes!(settled_path), request))
        .routes(timed(routes!(block), request))
        .routes(timed(routes!(blocks), request))
        .routes(timed(routes!(audit), request))
        .routes(timed(routes!(throughput), request))
        .routes(timed(routes!(genesis), request))
        .routes(timed(routes!(verifying_key), request))
        .routes(timed(routes!(healthz), request))
        .routes(timed(routes!(readyz), request))
        .routes(timed(routes!(metrics_text), request))
        .routes(timed(routes!(openapi_json), request))
}

/// Gives the route a time limit, answered with 408.
fn timed((schemas, mut paths, router): Routes, limit: Duration) -> Routes {
    schemas::operations(&mut paths).for_each(schemas::refuses::<schemas::RequestTimeout>);
    let limit = TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, limit);
    (schemas, paths, router.layer(limit))
}

/// Declares the member request signature of [`auth`] on the route (its handler checks it).
fn signed((schemas, mut paths, router): Routes) -> Routes {
    for operation in schemas::operations(&mut paths) {
        operation.security = Some(vec![schemas::member_signature()]);
    }
    (schemas, paths, router)
}

/// Browsers' cross-origin requests from `origins`, none if empty.
fn cors(origins: &[HeaderValue]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    // The proof routes' patient token and proof of work, besides the member signature.
    let headers = [header::CONTENT_TYPE, header::AUTHORIZATION]
        .into_iter()
        .chain([admission::POW].map(HeaderName::from_static))
        .chain(schemas::signed_header_names().map(HeaderName::from_static));
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins.iter().cloned()))
            .allow_methods([Method::GET, Method::POST])
            .allow_headers(headers.collect::<Vec<_>>())
            .expose_headers([header::LOCATION, header::RETRY_AFTER])
            .max_age(Duration::from_secs(600)),
    )
}

fn router(state: Shared, api: Router<Shared>) -> Router {
    let config = &state.config;
    let router = api
        .fallback(handlers::not_found)
        .layer(DefaultBodyLimit::max(config.body_limit))
        .layer(middleware::from_fn_with_state(state.clone(), observe));
    // Outermost, so that the JSON refusals `observe` writes carry the CORS headers too.
    let router = match cors(&config.cors_origins) {
        Some(cors) => router.layer(cors),
        None => router,
    };
    router.with_state(state)
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
