//! The node's web pages and the files a browser proves with: the patient's page (`/app/`),
//! the insurer's console (`/console/`), the ledger explorer (`/explorer/`), their shared
//! assets (`/assets/`), the JavaScript SDK with its WebAssembly build (`/sdk/`), and the
//! public proving parameters (`/params/`).
//!
//! Everything is served by the node itself, from files (a checkout or release's `web/` and
//! `sdk/js/`, under the `web_root` setting): no CDN, no third-party origin at run time. The
//! pages' Content-Security-Policy allows only the node's own origin, and WebAssembly.

use axum::{
    http::{header, HeaderValue},
    response::Redirect,
    routing::get,
    Router,
};
use std::path::{Path, PathBuf};
use tower_http::{
    compression::{CompressionLayer, CompressionLevel},
    services::{ServeDir, ServeFile},
    set_header::SetResponseHeaderLayer,
};
use zkclaim_circuits::Circuit;
use zkclaim_prover::ClaimParams;

/// The WebAssembly build the patient's page proves with, under `sdk/js/`.
pub const WASM: &str = "pkg/zkclaim_wallet_bg.wasm";

/// The command that builds it (README, "Set-up": the third command).
pub const BUILD: &str = "sdk/js/build.sh";

/// Scripts, styles, images and connections only from the node; WebAssembly may be compiled.
const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
                   style-src 'self'; img-src 'self' data:; connect-src 'self'; \
                   worker-src 'self'; object-src 'none'; base-uri 'none'; \
                   frame-ancestors 'none'; form-action 'none'";

/// What the pages need that is missing under `root`, if anything: the pages themselves, or
/// the WebAssembly build.
pub fn missing(root: &Path) -> Option<String> {
    if !root.join("web/app/index.html").is_file() {
        Some(format!(
            "no web pages under {}: start the node in a zkclaim checkout or release, or set \
             --web-root",
            root.display()
        ))
    } else if !root.join("sdk/js").join(WASM).is_file() {
        Some(format!(
            "the patient's page (/app/) needs the WebAssembly build: run `{BUILD}` (the \
             wasm32-unknown-unknown target and wasm-bindgen-cli; README, \"Set-up\")"
        ))
    } else {
        None
    }
}

/// The pages' routes, under `root` (the `web_root` setting); `params` is the parameters
/// folder, whose proving key and prover files a browser fetches (public: the ceremony's
/// output, which anyone may prove with).
pub fn routes<S: Clone + Send + Sync + 'static>(root: &Path, params: &Path) -> Router<S> {
    let web = root.join("web");
    let pages = ["app", "console", "explorer"];
    let mut router = Router::new().route("/", get(|| async { Redirect::to("/app/") }));
    for page in pages {
        let dir = web.join(page);
        router = router
            .route(
                &format!("/{page}"),
                get(move || async move { Redirect::permanent(&format!("/{page}/")) }),
            )
            .nest_service(&format!("/{page}/"), ServeDir::new(dir));
    }
    let router = router
        .nest_service("/assets/", ServeDir::new(web.join("assets")))
        .nest_service("/sdk/", ServeDir::new(root.join("sdk/js")));
    let router = parameter_files(params)
        .into_iter()
        .fold(router, |router, (route, file)| {
            router.route_service(&route, ServeFile::new(file))
        });
    router
        // gzip at its fastest level where the browser takes it: the WebAssembly module
        // (3.4 MB) and the prover file (2.6 MB) shrink to a third, the proving key's curve
        // points by a seventh.
        .layer(CompressionLayer::new().quality(CompressionLevel::Fastest))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
}

/// `/params/{circuit}/{file}` for the public files a browser proves with: each circuit's
/// proving key and prover file. The page checks the key's SHA-256 against the genesis
/// `proving_key_digest` before it proves (the prover file names that digest itself).
fn parameter_files(params: &Path) -> Vec<(String, PathBuf)> {
    [Circuit::Primary, Circuit::Continuation]
        .into_iter()
        .flat_map(|circuit| {
            let [key, _, shape, prover] = ClaimParams::files(params, circuit);
            [key, shape, prover].map(|file| {
                let name = file.file_name().expect("a file").to_string_lossy();
                (format!("/params/{circuit}/{name}"), file.clone())
            })
        })
        .collect()
}
