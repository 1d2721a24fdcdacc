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
    /// The claim was checked and is not valid: the answer, not a failure to answer.
    #[error("claim rejected: {0}")]
    Rejected(zkclaim_verifier::VerifyError),
}

/// The exit codes, for `zkclaim --help` and README.md: [`Error::exit_code`] maps to them.
pub const EXIT_CODES: &str = "\
Exit codes:
  0  success: the claim is valid, the request settled, the work done
  1  refused: the claim is invalid, the ledger or node refused the request, the audit failed
  2  usage error: a bad command line (a flag the command does not use included)
  3  I/O error or bad input: a file missing, unreadable, malformed, or already there
  4  node unreachable: connection refused, DNS, TLS handshake
  5  failure: the node's answer not understood, the ledger's store or the server failing

With --json, a result is one JSON object on stdout and an error one on stderr:
  {\"error\": {\"code\": …, \"message\": …, \"exit_code\": …}}";

impl Error {
    /// The process's exit status for this error: see [`EXIT_CODES`].
    pub fn exit_code(&self) -> u8 {
        use zkclaim_ledger::LedgerError as L;
        use zkclaim_prover::{ParamsError, ProveError};
        match self {
            Error::Rejected(_)
            | Error::AuditFailed(_)
            | Error::Refused { .. }
            | Error::NotInTree(_)
            | Error::Prove(ProveError::Rule(_)) => 1,
            Error::Ledger(
                L::UnknownMember(_)
                | L::BadSignature
                | L::WrongRole { .. }
                | L::StaleRoot
                | L::DuplicateClaim { .. }
                | L::InvalidProof
                | L::DuplicateCommitment
                | L::TreeFull
                | L::UnknownLeaf(_)
                | L::WrongVerifyingKey
                | L::ProposerKeyMismatch(_),
            ) => 1,
            Error::Usage(_) => 2,
            Error::Io { .. }
            | Error::BadFile { .. }
            | Error::Invoice(_)
            | Error::Tree(_)
            | Error::Exists(_)
            | Error::Params(
                ParamsError::Io { .. }
                | ParamsError::Corrupt { .. }
                | ParamsError::Key(_)
                | ParamsError::Mismatch(_),
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
            Error::Rejected(_) => "claim_rejected",
            Error::AuditFailed(_) => "audit_failed",
            Error::NotInTree(_) => "not_in_tree",
            Error::Prove(zkclaim_prover::ProveError::Rule(_)) => "rule_violated",
            Error::Usage(_) => "usage",
            Error::Unreachable(_) => "unreachable",
            Error::Exists(_) => "exists",
            Error::Node(_) => "bad_answer",
            _ => match self.exit_code() {
                1 => "refused",
                3 => "bad_input",
                _ => "failed",
            },
        }
    }
}
