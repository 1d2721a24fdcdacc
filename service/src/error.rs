//! The one error type of the command line, with the exit code each kind maps to.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {reason}")]
    BadFile { path: PathBuf, reason: String },
    #[error(transparent)]
    Invoice(#[from] zkclaim_circuits::invoice::InvoiceError),
    #[error(transparent)]
    Params(#[from] zkclaim_prover::ParamsError),
    #[error(transparent)]
    Prove(#[from] zkclaim_prover::ProveError),
    #[error("the invoice's commitment {0} is not a leaf of the tree")]
    NotInTree(String),
    #[error(transparent)]
    Tree(#[from] zkclaim_circuits::tree::TreeError),
    #[error(transparent)]
    Ledger(#[from] zkclaim_ledger::LedgerError),
    /// The audit ran and found a bad block: an answer, like a rejected claim.
    #[error("audit failed at block {}: {}", .0.height, .0.reason)]
    AuditFailed(zkclaim_ledger::AuditError),
    #[error("{0} already exists: remove it or use another --data folder")]
    Exists(PathBuf),
    #[error(
        "{dir} already holds parameters ({files}): setup never replaces them, since a lost \
         proving key cannot be recovered and new keys are not the consortium's. Use another \
         --params DIR, or --force to replace them (the old files are kept as NAME.bak-TIME)"
    )]
    ParamsExist { dir: PathBuf, files: String },
    #[error(
        "{path} already holds member {member}'s key (public key {public_key}): a member key is \
         never replaced. Keep using it, choose another --out, or --force to replace it (the \
         old key is kept as {path}.bak-TIME)"
    )]
    KeyExists {
        path: PathBuf,
        member: u32,
        public_key: String,
    },
    /// The parameters' verifying key is not the one the consortium pinned.
    #[error(
        "these parameters are not the consortium's: the verifying key in {dir} has digest \
         {found}, {pinned_by} pins {expected}. Use the consortium's parameters (--params DIR)"
    )]
    ForeignParams {
        dir: PathBuf,
        found: String,
        expected: String,
        pinned_by: String,
    },
    #[error("no verifying key: {path} is missing; copy the consortium's claim.vk there{pin}")]
    NoVerifyingKey { path: PathBuf, pin: String },
    #[error(
        "no proving key: {0} is missing, so these parameters only verify. Prove on a node \
         that has one (--server URL), or copy the consortium's claim.pk and shape.json (both \
         public) next to its claim.vk"
    )]
    NoProvingKey(PathBuf),
    #[error(
        "{store} is held by a running `zkclaim serve` (pid {pid}, {url}): stop that node, or \
         send this command to it with --server {url} ({reason})"
    )]
    StoreInUse {
        store: PathBuf,
        pid: u32,
        url: String,
        reason: String,
    },
    #[error(
        "refusing to send the patient's secret key and medical data in clear to {0}: it is \
         plain http:// to an address that is not loopback. Use https://, or pass \
         --insecure-send-witness if the path to that node is private"
    )]
    WitnessInClear(String),
    #[error(
        "verify --server needs the consortium's verifying-key digest to check the node's key \
         against: use a --data folder that holds the consortium's genesis, or pass \
         --vk-digest HEX (the genesis's verifying_key_digest)"
    )]
    Unpinned,
    #[error("demo: {0}")]
    Demo(String),
    #[error("serve: {0}")]
    Serve(String),
    /// The node, or without `--server` the embedded ledger, refused the request: the
    /// service's error code and message.
    #[error("refused ({code}): {message}")]
    Refused { code: String, message: String },
    /// The node answered, but not what the service sends.
    #[error("node: {0}")]
    Node(String),
    /// The node could not be reached: connection refused, DNS, TLS handshake.
    #[error("cannot reach the node: {0}")]
    Unreachable(String),
    /// The command line asks for something the command cannot do (exit 2, as clap's own).
    #[error("{0}")]
    Usage(String),
    #[error("loadtest: {0}")]
    Loadtest(String),
    /// `zkclaim bench`: a peer prover that could not be installed or run, or failed.
    #[error("bench: {0}")]
    Bench(String),
    /// The claim was checked and is not valid: the answer, not a failure to answer.
    #[error("claim rejected: {0}")]
    Rejected(zkclaim_verifier::VerifyError),
    /// The claim is valid but proved under another policy than the one `by` names.
    #[error(
        "claim rejected: its policy_hash is {found}, not the expected policy's {expected} \
         ({by}): it was proved under another policy"
    )]
    PolicyMismatch {
        found: String,
        expected: String,
        by: &'static str,
    },
    /// A ceremony's key that is malformed, or whose transcript does not hold.
    #[error("{context}: {source}")]
    Ceremony {
        context: String,
        source: zkclaim_prover::ceremony::mpc::MpcError,
    },
    /// The insurer's enrolment registry (DATA/insurer/registry.redb).
    #[error(transparent)]
    Registry(#[from] zkclaim_insurer::RegistryError),
}

/// The exit codes, for `zkclaim --help` and README.md: [`Error::exit_code`] maps to them.
pub const EXIT_CODES: &str = "\
Exit codes:
  0  success: the claim is valid, the request settled, the work done
  1  refused: the claim is invalid, the ledger or node refused the request, the audit failed,
     a ceremony's key does not verify
  2  usage error: a bad command line (a flag the command does not use included)
  3  I/O error or bad input: a file missing, unreadable, malformed, or already there
  4  node unreachable: connection refused, DNS, TLS handshake
  5  failure: the node's answer not understood or its key not the pinned one, the
     ledger's store held by a running node or failing, the server failing

With --json, a result is one JSON object on stdout and an error one on stderr:
  {\"error\": {\"code\": …, \"message\": …, \"exit_code\": …}}";

impl Error {
    /// The process's exit status for this error: see [`EXIT_CODES`].
    pub fn exit_code(&self) -> u8 {
        use zkclaim_insurer::RegistryError as R;
        use zkclaim_ledger::LedgerError as L;
        use zkclaim_prover::{ParamsError, ProveError};
        match self {
            Error::Registry(R::Refused(_) | R::NoEnrolment { .. }) => 1,
            Error::Registry(R::Invalid(_)) => 3,
            Error::Rejected(_)
            | Error::PolicyMismatch { .. }
            | Error::AuditFailed(_)
            | Error::Refused { .. }
            | Error::NotInTree(_)
            | Error::Prove(
                ProveError::Rule(_)
                | ProveError::Continuation(_)
                | ProveError::FullyReimbursed { .. },
            ) => 1,
            Error::Ceremony { source, .. } if source.is_invalid_ceremony() => 1,
            Error::Ceremony { .. } => 3,
            Error::Ledger(
                L::UnknownMember(_)
                | L::BadSignature
                | L::WrongRole { .. }
                | L::WrongInsurer { .. }
                | L::StaleRoot
                | L::ExpiredRoot { .. }
                | L::StaleSettledRoot
                | L::ExpiredSettledRoot { .. }
                | L::NoContinuationKey
                | L::DuplicateSettledLeaf
                | L::UnknownSettledLeaf(_)
                | L::SettledTreeFull
                | L::DuplicateClaim { .. }
                | L::InvalidProof
                | L::DuplicateCommitment
                | L::ZeroCommitment
                | L::VoidedCommitment { .. }
                | L::UnregisteredCommitment
                | L::NotRegistrant { .. }
                | L::AlreadyVoided { .. }
                | L::VoidedLeaf { .. }
                | L::RateLimited { .. }
                | L::TreeFull
                | L::UnknownLeaf(_)
                | L::WrongVerifyingKey(_)
                | L::ProposerKeyMismatch(_),
            ) => 1,
            Error::Usage(_) | Error::Unpinned | Error::WitnessInClear(_) => 2,
            Error::Io { .. }
            | Error::BadFile { .. }
            | Error::Invoice(_)
            | Error::Tree(_)
            | Error::Exists(_)
            | Error::ParamsExist { .. }
            | Error::KeyExists { .. }
            | Error::ForeignParams { .. }
            | Error::NoVerifyingKey { .. }
            | Error::NoProvingKey(_)
            | Error::Params(
                ParamsError::Io { .. }
                | ParamsError::Corrupt { .. }
                | ParamsError::Key(_)
                | ParamsError::Mismatch(_)
                | ParamsError::Inconsistent(_)
                | ParamsError::NotPinned { .. }
                | ParamsError::NotTheCircuit { .. }
                | ParamsError::Exists(_),
            )
            | Error::Ledger(L::File { .. } | L::InvalidKey(_) | L::InvalidGenesis(_)) => 3,
            Error::Unreachable(_) => 4,
            _ => 5,
        }
    }

    /// A short name of the kind of error, for `--json`: the node's own code for a refusal.
    pub fn code(&self) -> &str {
        match self {
            Error::Refused { code, .. } => code,
            Error::Registry(zkclaim_insurer::RegistryError::Refused(refusal)) => refusal.code(),
            Error::Registry(zkclaim_insurer::RegistryError::InUse { .. }) => "registry_in_use",
            Error::Rejected(_) => "claim_rejected",
            Error::PolicyMismatch { .. } => "policy_mismatch",
            Error::AuditFailed(_) => "audit_failed",
            Error::NotInTree(_) => "not_in_tree",
            Error::Ceremony { source, .. } if source.is_invalid_ceremony() => "invalid_ceremony",
            Error::Prove(
                zkclaim_prover::ProveError::Rule(_) | zkclaim_prover::ProveError::Continuation(_),
            ) => "rule_violated",
            Error::Prove(zkclaim_prover::ProveError::FullyReimbursed { .. }) => "fully_reimbursed",
            Error::Usage(_) | Error::Unpinned | Error::WitnessInClear(_) => "usage",
            Error::Unreachable(_) => "unreachable",
            Error::Exists(_) | Error::ParamsExist { .. } | Error::KeyExists { .. } => "exists",
            Error::ForeignParams { .. } => "foreign_parameters",
            Error::NoVerifyingKey { .. } | Error::NoProvingKey(_) => "missing_key",
            Error::StoreInUse { .. } => "store_in_use",
            Error::Node(_) => "bad_answer",
            _ => match self.exit_code() {
                1 => "refused",
                3 => "bad_input",
                _ => "failed",
            },
        }
    }
}
