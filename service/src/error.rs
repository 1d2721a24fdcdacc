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
    /// The node could not be reached, or its answer was not what the service sends.
    #[error("node: {0}")]
    Node(String),
    #[error("loadtest: {0}")]
    Loadtest(String),
    /// The claim was checked and is not valid: the answer, not a failure to answer.
    #[error("claim rejected: {0}")]
    Rejected(zkclaim_verifier::VerifyError),
}

impl Error {
    /// 1: a claim was verified and rejected; 2: the command could not do its work.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Rejected(_) | Error::AuditFailed(_) => 1,
            _ => 2,
        }
    }
}
