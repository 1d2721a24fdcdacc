//! `zkclaim serve` settings: defaults, then a JSON config file, then environment variables,
//! then flags (clap reads the last two into the same [`Settings`]).

use super::actions::RootChoice;
use crate::error::Error;
use axum::http::HeaderValue;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

/// Every setting optional: the same struct is read from the config file and from the
/// flags/environment, and the flags win field by field.
#[derive(Debug, Default, Clone, PartialEq, Deserialize, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Address to listen on [default: 127.0.0.1:8080]; port 0 picks a free one.
    #[arg(long, env = "ZKCLAIM_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Proofs in progress at once [default: 2]. Each uses every core; a second fills the
    /// cores while the first runs its serial stretches.
    #[arg(long, env = "ZKCLAIM_WORKERS")]
    pub workers: Option<usize>,
    /// Make the proving key's fixed-base tables at start (80 MB more memory at the default
    /// shape, about 1.4 s of start-up on 2 cores): each proof takes about 12% less CPU
    /// [default: true].
    #[arg(long, env = "ZKCLAIM_PROVER_TABLES")]
    pub prover_tables: Option<bool>,
    /// Proof requests that may wait for a worker; beyond them the answer is 429 [default: 4].
    #[arg(long, env = "ZKCLAIM_QUEUE_DEPTH")]
    pub queue_depth: Option<usize>,
    /// Largest request body in bytes; larger ones get 413 [default: 65536].
    #[arg(long, env = "ZKCLAIM_BODY_LIMIT")]
    pub body_limit: Option<usize>,
    /// Time limit of every request except proofs, in ms [default: 10000].
    #[arg(long, env = "ZKCLAIM_REQUEST_TIMEOUT_MS")]
    pub request_timeout_ms: Option<u64>,
    /// Time limit of a proof request, queueing included, in ms [default: 120000].
    #[arg(long, env = "ZKCLAIM_PROOF_TIMEOUT_MS")]
    pub proof_timeout_ms: Option<u64>,
    /// How far a signed request's timestamp may be from the server's clock, and how long
    /// its signature is remembered against replay, in seconds [default: 300].
    #[arg(long, env = "ZKCLAIM_REPLAY_WINDOW_S")]
    pub replay_window_s: Option<u64>,
    /// Where the blocks live: `etcd://HOST:PORT[,HOST:PORT…][/PREFIX]` for a consortium
    /// ledger replicated on an etcd cluster, `etcds://[USER@]…[?ca=PATH&password_file=PATH]`
    /// over TLS with etcd's authentication [default: the embedded store DATA/ledger.redb].
    #[arg(long, env = "ZKCLAIM_LEDGER")]
    pub ledger: Option<String>,
    /// The member whose key (DATA/consortium/keys/member-N.json) signs the blocks this node
    /// proposes: each organization's node signs with its own [default: 20, the regulator].
    #[arg(long, env = "ZKCLAIM_PROPOSER")]
    pub proposer: Option<u32>,
    /// The insurer this node takes patients' claims for (`POST /v1/intake`), settling them
    /// with its key DATA/consortium/keys/member-N.json; N must be an insurer in the genesis
    /// [default: none, the intake answers 503 `no_insurer`].
    #[arg(long, env = "ZKCLAIM_INSURER")]
    pub insurer: Option<u32>,
    /// Intake requests one client may have in flight; more get 429 `client_busy`
    /// [default: 2].
    #[arg(long, env = "ZKCLAIM_INTAKE_IN_FLIGHT")]
    pub intake_in_flight: Option<usize>,
    /// Intake requests one client may make per minute, on average; more get 429
    /// `rate_limited` [default: 30].
    #[arg(long, env = "ZKCLAIM_INTAKE_PER_MINUTE")]
    pub intake_per_minute: Option<u32>,
    /// Intake requests one client may make in a row before its rate applies [default: 10].
    #[arg(long, env = "ZKCLAIM_INTAKE_BURST")]
    pub intake_burst: Option<u32>,
    /// Intake requests the node runs at once, all clients together; more get 429 `busy`
    /// [default: 16].
    #[arg(long, env = "ZKCLAIM_INTAKE_CONCURRENCY")]
    pub intake_concurrency: Option<usize>,
    /// Longest a proof request may wait in the queue for a worker, in ms; beyond it the
    /// answer is 503 `queue_timeout` [default: 30000].
    #[arg(long, env = "ZKCLAIM_QUEUE_WAIT_MS")]
    pub queue_wait_ms: Option<u64>,
    /// Proof requests one client may have in flight; more get 429 `client_busy`
    /// [default: 0, no limit].
    #[arg(long, env = "ZKCLAIM_CLIENT_PROOFS")]
    pub client_proofs: Option<usize>,
    /// Proof requests one client may make per minute, on average; more get 429
    /// `rate_limited` [default: 0, no limit].
    #[arg(long, env = "ZKCLAIM_CLIENT_PROOFS_PER_MINUTE")]
    pub client_proofs_per_minute: Option<u32>,
    /// Proof requests one client may make in a row before its rate applies [default: 5].
    #[arg(long, env = "ZKCLAIM_CLIENT_PROOF_BURST")]
    pub client_proof_burst: Option<u32>,
    /// Tells clients apart by the last address in X-Forwarded-For, which the operator's
    /// proxy in front of the node appends, instead of by the connection's peer. Only behind
    /// such a proxy: anyone else can write the header [default: false].
    #[arg(
        long,
        env = "ZKCLAIM_TRUST_FORWARDED_FOR",
        num_args = 0..=1,
        default_missing_value = "true"
    )]
    pub trust_forwarded_for: Option<bool>,
    /// A file of patient tokens, one a line: proof requests then need
    /// `Authorization: Bearer TOKEN` with one of them.
    #[arg(long, env = "ZKCLAIM_PROOF_TOKENS")]
    pub proof_tokens: Option<PathBuf>,
    /// Proof requests then need a proof of work of this many bits (1 to 32) in the
    /// x-zkclaim-pow header, as docs/deployment.md describes it [default: 0, none].
    #[arg(long, env = "ZKCLAIM_PROOF_POW_BITS")]
    pub proof_pow_bits: Option<u32>,
    /// Asynchronous proof jobs held at once, finished or not; beyond them the answer is 429
    /// [default: 64].
    #[arg(long, env = "ZKCLAIM_MAX_JOBS")]
    pub max_jobs: Option<usize>,
    /// How long a finished proof job's result stays available, in seconds [default: 600].
    #[arg(long, env = "ZKCLAIM_JOB_TTL_S")]
    pub job_ttl_s: Option<u64>,
    /// Root choice for the proofs this node makes: the root must follow the invoice's block
    /// by at least this many registrations by other hospitals, so that it does not point at
    /// that block (docs/protocol.md, "Root choice"); 0 proves against the current root at
    /// once. A request with `claim_now` skips the wait [default: 64].
    #[arg(long, env = "ZKCLAIM_MIN_ROOT_LAG")]
    pub min_root_lag: Option<u64>,
    /// How long a proof request waits for those registrations before it is refused with 503
    /// `root_too_fresh`, in ms; below proof_timeout_ms [default: 30000].
    #[arg(long, env = "ZKCLAIM_ROOT_WAIT_MS")]
    pub root_wait_ms: Option<u64>,
    /// An origin (`https://app.example`) whose web pages may call the node: repeat the flag,
    /// or separate origins by commas in the environment variable (a list in the config
    /// file) [default: none, browsers' cross-origin calls are refused].
    #[arg(
        long = "cors-origin",
        env = "ZKCLAIM_CORS_ORIGINS",
        value_delimiter = ','
    )]
    pub cors_origins: Option<Vec<String>>,
    /// The folder the web pages are served from: a zkclaim checkout or release, whose
    /// `web/` holds the pages (`/app/`, `/console/`, `/explorer/`) and `sdk/js/` the
    /// JavaScript SDK with its WebAssembly build (`sdk/js/build.sh`) [default: the current
    /// directory].
    #[arg(long, env = "ZKCLAIM_WEB_ROOT")]
    pub web_root: Option<PathBuf>,
    /// A file of operator tokens for the insurer's console (`/console/`), one a line: its
    /// routes then take `Authorization: Bearer TOKEN` with one of them [default: none, the
    /// console's routes answer 503 `console_off`].
    #[arg(long, env = "ZKCLAIM_CONSOLE_TOKENS")]
    pub console_tokens: Option<PathBuf>,
    /// PEM certificate chain: with --tls-key, the node serves HTTPS only.
    #[arg(long, env = "ZKCLAIM_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, env = "ZKCLAIM_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
}

/// The certificate chain and key files the node serves HTTPS with.
#[derive(Debug, Clone, PartialEq)]
pub struct Tls {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// How much of one kind of request one client may make: what [`super::admission`]'s
/// buckets enforce.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientLimits {
    /// Requests in flight per client; 0: no limit.
    pub in_flight: usize,
    /// Requests per client and minute; 0: no limit.
    pub per_minute: u32,
    pub burst: u32,
}

/// Who may ask for proofs, and how often: what [`super::admission`] enforces.
#[derive(Debug, Clone, PartialEq)]
pub struct ProofLimits {
    pub clients: ClientLimits,
    /// Clients are told apart by X-Forwarded-For (on the intake too).
    pub trust_forwarded_for: bool,
    /// SHA-256 of each accepted patient token; empty: no token needed.
    pub token_digests: Vec<[u8; 32]>,
    /// Leading zero bits a proof of work must have; 0: none needed.
    pub pow_bits: u32,
}

/// How much of the patients' intake the node takes.
#[derive(Debug, Clone, PartialEq)]
pub struct IntakeLimits {
    pub clients: ClientLimits,
    /// Intake requests running at once, all clients together.
    pub concurrency: usize,
}

/// The SHA-256 digests of the tokens in `path`, one a line (blank lines skipped).
fn token_digests(path: &Path) -> Result<Vec<[u8; 32]>, Error> {
    let bad = |reason: String| Error::BadFile {
        path: path.into(),
        reason,
    };
    let text =
        zeroize::Zeroizing::new(std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?);
    let digests: Vec<[u8; 32]> = text
        .lines()
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .map(|token| Sha256::digest(token.as_bytes()).into())
        .collect();
    if digests.is_empty() {
        return Err(bad("no token in the file".into()));
    }
    Ok(digests)
}

/// The resolved settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub listen: SocketAddr,
    pub workers: usize,
    pub prover_tables: bool,
    pub queue_depth: usize,
    pub body_limit: usize,
    pub request_timeout: Duration,
    pub proof_timeout: Duration,
    pub queue_wait: Duration,
    pub limits: ProofLimits,
    pub intake: IntakeLimits,
    pub replay_window_s: u64,
    pub ledger: Option<String>,
    pub proposer: u32,
    pub insurer: Option<u32>,
    pub max_jobs: usize,
    pub job_ttl: Duration,
    pub root_choice: RootChoice,
    /// Exact origins, as a browser sends them in `Origin`.
    pub cors_origins: Vec<HeaderValue>,
    pub tls: Option<Tls>,
    /// Where `web/` and `sdk/js/` are.
    pub web_root: PathBuf,
    /// SHA-256 of each console operator token; empty: the console is off.
    pub console_token_digests: Vec<[u8; 32]>,
}

impl Config {
    /// Defaults, overridden by `file` (JSON, the fields of [`Settings`]), overridden by `flags`.
    pub fn resolve(file: Option<&Path>, flags: Settings) -> Result<Self, Error> {
        let file: Settings = match file {
            Some(path) => crate::files::read(path)?,
            None => Settings::default(),
        };
        let config = Config {
            listen: flags
                .listen
                .or(file.listen)
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080))),
            workers: flags.workers.or(file.workers).unwrap_or(2),
            prover_tables: flags.prover_tables.or(file.prover_tables).unwrap_or(true),
            queue_depth: flags.queue_depth.or(file.queue_depth).unwrap_or(4),
            body_limit: flags.body_limit.or(file.body_limit).unwrap_or(64 * 1024),
            request_timeout: Duration::from_millis(
                flags
                    .request_timeout_ms
                    .or(file.request_timeout_ms)
                    .unwrap_or(10_000),
            ),
            proof_timeout: Duration::from_millis(
                flags
                    .proof_timeout_ms
                    .or(file.proof_timeout_ms)
                    .unwrap_or(120_000),
            ),
            queue_wait: Duration::from_millis(
                flags.queue_wait_ms.or(file.queue_wait_ms).unwrap_or(30_000),
            ),
            limits: ProofLimits {
                clients: ClientLimits {
                    in_flight: flags.client_proofs.or(file.client_proofs).unwrap_or(0),
                    per_minute: flags
                        .client_proofs_per_minute
                        .or(file.client_proofs_per_minute)
                        .unwrap_or(0),
                    burst: flags
                        .client_proof_burst
                        .or(file.client_proof_burst)
                        .unwrap_or(5),
                },
                trust_forwarded_for: flags
                    .trust_forwarded_for
                    .or(file.trust_forwarded_for)
                    .unwrap_or(false),
                token_digests: match flags.proof_tokens.or(file.proof_tokens) {
                    Some(path) => token_digests(&path)?,
                    None => Vec::new(),
                },
                pow_bits: flags.proof_pow_bits.or(file.proof_pow_bits).unwrap_or(0),
            },
            intake: IntakeLimits {
                clients: ClientLimits {
                    in_flight: flags
                        .intake_in_flight
                        .or(file.intake_in_flight)
                        .unwrap_or(2),
                    per_minute: flags
                        .intake_per_minute
                        .or(file.intake_per_minute)
                        .unwrap_or(30),
                    burst: flags.intake_burst.or(file.intake_burst).unwrap_or(10),
                },
                concurrency: flags
                    .intake_concurrency
                    .or(file.intake_concurrency)
                    .unwrap_or(16),
            },
            replay_window_s: flags
                .replay_window_s
                .or(file.replay_window_s)
                .unwrap_or(300),
            ledger: flags.ledger.or(file.ledger),
            proposer: flags
                .proposer
                .or(file.proposer)
                .unwrap_or(crate::consortium::REGULATOR),
            insurer: flags.insurer.or(file.insurer),
            max_jobs: flags.max_jobs.or(file.max_jobs).unwrap_or(64),
            job_ttl: Duration::from_secs(flags.job_ttl_s.or(file.job_ttl_s).unwrap_or(600)),
            root_choice: RootChoice {
                min_lag: flags
                    .min_root_lag
                    .or(file.min_root_lag)
                    .unwrap_or(RootChoice::DEFAULT_MIN_LAG),
                wait: Duration::from_millis(
                    flags.root_wait_ms.or(file.root_wait_ms).unwrap_or(30_000),
                ),
            },
            cors_origins: flags
                .cors_origins
                .or(file.cors_origins)
                .unwrap_or_default()
                .iter()
                .map(|o| origin(o))
                .collect::<Result<_, _>>()?,
            web_root: flags
                .web_root
                .or(file.web_root)
                .unwrap_or_else(|| PathBuf::from(".")),
            console_token_digests: match flags.console_tokens.or(file.console_tokens) {
                Some(path) => token_digests(&path)?,
                None => Vec::new(),
            },
            tls: match (
                flags.tls_cert.or(file.tls_cert),
                flags.tls_key.or(file.tls_key),
            ) {
                (Some(cert), Some(key)) => Some(Tls { cert, key }),
                (None, None) => None,
                _ => {
                    return Err(Error::Usage(
                        "TLS needs both --tls-cert and --tls-key (tls_cert, tls_key in the \
                         config file)"
                            .into(),
                    ))
                }
            },
        };
        if config.root_choice.wait >= config.proof_timeout {
            return Err(Error::Usage(
                "root_wait_ms must be below proof_timeout_ms: a proof request's time limit \
                 covers the wait for its root and the proving"
                    .into(),
            ));
        }
        if config.workers == 0 {
            return Err(Error::Usage("workers must be at least 1".into()));
        }
        if config.limits.pow_bits > 32 {
            return Err(Error::Usage("proof_pow_bits must be at most 32".into()));
        }
        if config.limits.clients.burst == 0 {
            return Err(Error::Usage("client_proof_burst must be at least 1".into()));
        }
        if config.intake.clients.burst == 0 || config.intake.concurrency == 0 {
            return Err(Error::Usage(
                "intake_burst and intake_concurrency must be at least 1".into(),
            ));
        }
        Ok(config)
    }
}

/// An origin exactly as browsers send it: `scheme://host[:port]`, nothing more.
fn origin(text: &str) -> Result<HeaderValue, Error> {
    let bad = || {
        Error::Serve(format!(
            "CORS origin {text:?}: expected scheme://host[:port], as a browser sends it"
        ))
    };
    let url = url::Url::parse(text).map_err(|_| bad())?;
    if url.origin().ascii_serialization() != text {
        return Err(bad());
    }
    HeaderValue::from_str(text).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_file_which_overrides_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("serve.json");
        std::fs::write(
            &path,
            r#"{"listen": "0.0.0.0:9000", "workers": 3, "replay_window_s": 60, "prover_tables": false}"#,
        )
        .unwrap();
        let flags = Settings {
            workers: Some(2),
            proposer: Some(10),
            ..Settings::default()
        };
        let c = Config::resolve(Some(&path), flags).unwrap();
        assert_eq!((c.ledger, c.proposer), (None, 10));
        assert_eq!(c.listen, "0.0.0.0:9000".parse().unwrap());
        assert_eq!((c.workers, c.replay_window_s), (2, 60));
        assert!(!c.prover_tables);
        assert!(
            Config::resolve(None, Settings::default())
                .unwrap()
                .prover_tables
        );
        assert_eq!((c.queue_depth, c.body_limit), (4, 65536));
        assert_eq!(
            Config::resolve(None, Settings::default()).unwrap().workers,
            2
        );
        assert_eq!(c.request_timeout, Duration::from_secs(10));
        assert_eq!((c.max_jobs, c.job_ttl), (64, Duration::from_secs(600)));
        assert_eq!(
            (c.root_choice.min_lag, c.root_choice.wait),
            (64, Duration::from_secs(30))
        );
    }

    #[test]
    fn the_insurer_and_intake_limits_come_from_the_file_and_flags() {
        let c = Config::resolve(None, Settings::default()).unwrap();
        assert_eq!(c.insurer, None);
        let expected = ClientLimits {
            in_flight: 2,
            per_minute: 30,
            burst: 10,
        };
        assert_eq!((&c.intake.clients, c.intake.concurrency), (&expected, 16));

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("serve.json");
        std::fs::write(&path, r#"{"insurer": 11, "intake_burst": 3}"#).unwrap();
        let flags = Settings {
            intake_per_minute: Some(6),
            intake_concurrency: Some(4),
            ..Settings::default()
        };
        let c = Config::resolve(Some(&path), flags).unwrap();
        assert_eq!(c.insurer, Some(11));
        assert_eq!(
            (c.intake.clients.per_minute, c.intake.clients.burst),
            (6, 3)
        );
        assert_eq!(c.intake.concurrency, 4);
        for zero in [
            Settings {
                intake_burst: Some(0),
                ..Settings::default()
            },
            Settings {
                intake_concurrency: Some(0),
                ..Settings::default()
            },
        ] {
            assert!(matches!(Config::resolve(None, zero), Err(Error::Usage(_))));
        }
    }

    #[test]
    fn unknown_fields_and_zero_workers_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("serve.json");
        std::fs::write(&path, r#"{"listen_addr": "0.0.0.0:9000"}"#).unwrap();
        assert!(matches!(
            Config::resolve(Some(&path), Settings::default()),
            Err(Error::BadFile { .. })
        ));
        let flags = Settings {
            workers: Some(0),
            ..Settings::default()
        };
        assert!(matches!(Config::resolve(None, flags), Err(Error::Usage(_))));
    }

    #[test]
    fn cors_origins_are_exact_origins_and_none_by_default() {
        let origins = |list: &[&str]| {
            let flags = Settings {
                cors_origins: Some(list.iter().map(|o| o.to_string()).collect()),
                ..Settings::default()
            };
            Config::resolve(None, flags).map(|c| c.cors_origins)
        };
        let good = origins(&["https://app.example", "http://127.0.0.1:3000"]).unwrap();
        assert_eq!(good, ["https://app.example", "http://127.0.0.1:3000"]);
        for bad in [
            "https://app.example/",
            "app.example",
            "*",
            "https://app.example/x",
        ] {
            let refused = origins(&[bad]);
            assert!(
                matches!(&refused, Err(Error::Serve(m)) if m.contains("CORS origin")),
                "{bad}: {refused:?}"
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("serve.json");
        std::fs::write(&path, r#"{"cors_origins": ["https://a.example"]}"#).unwrap();
        let c = Config::resolve(Some(&path), Settings::default()).unwrap();
        assert_eq!(c.cors_origins, ["https://a.example"]);
        let c = Config::resolve(None, Settings::default()).unwrap();
        assert!(c.cors_origins.is_empty());
    }

    #[test]
    fn tls_takes_a_certificate_and_its_key_from_anywhere_or_neither() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("serve.json");
        std::fs::write(&path, r#"{"tls_cert": "cert.pem"}"#).unwrap();
        let alone = Config::resolve(Some(&path), Settings::default());
        assert!(
            matches!(&alone, Err(Error::Usage(m)) if m.contains("--tls-key")),
            "{alone:?}"
        );
        let flags = Settings {
            tls_key: Some("key.pem".into()),
            ..Settings::default()
        };
        let c = Config::resolve(Some(&path), flags).unwrap();
        let expected = Tls {
            cert: "cert.pem".into(),
            key: "key.pem".into(),
        };
        assert_eq!(c.tls, Some(expected));
        assert_eq!(
            Config::resolve(None, Settings::default()).unwrap().tls,
            None
        );
    }

    #[test]
    fn proof_limits_default_off_and_read_their_token_file() {
        let c = Config::resolve(None, Settings::default()).unwrap();
        assert_eq!(c.queue_wait, Duration::from_secs(30));
        let off = &c.limits;
        assert_eq!((off.clients.in_flight, off.clients.per_minute), (0, 0));
        assert!(!off.trust_forwarded_for && off.token_digests.is_empty() && off.pow_bits == 0);

        let dir = tempfile::tempdir().unwrap();
        let tokens = dir.path().join("tokens");
        std::fs::write(&tokens, "  one \n\ntwo\n").unwrap();
        let flags = Settings {
            proof_tokens: Some(tokens.clone()),
            trust_forwarded_for: Some(true),
            ..Settings::default()
        };
        let limits = Config::resolve(None, flags).unwrap().limits;
        let digest = |t: &str| -> [u8; 32] { Sha256::digest(t).into() };
        assert_eq!(limits.token_digests, vec![digest("one"), digest("two")]);
        assert!(limits.trust_forwarded_for);

        std::fs::write(&tokens, "\n \n").unwrap();
        let empty = Settings {
            proof_tokens: Some(tokens),
            ..Settings::default()
        };
        let refused = Config::resolve(None, empty);
        assert!(
            matches!(&refused, Err(Error::BadFile { reason, .. }) if reason.contains("no token")),
            "{refused:?}"
        );
        let hard = Settings {
            proof_pow_bits: Some(33),
            ..Settings::default()
        };
        assert!(matches!(Config::resolve(None, hard), Err(Error::Usage(_))));
    }
}
