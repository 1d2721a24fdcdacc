//! The zkclaim consortium ledger.
//!
//! Hospitals register invoice commitments, insurers settle claims, and both are signed
//! (Ed25519) by members listed in the [`Genesis`]. Transactions are cut into SHA-256
//! hash-chained blocks signed by their proposer and written durably before anyone is told
//! they are accepted. Only blocks are stored: the invoice tree, the window of recent roots and
//! the spent nullifiers are rebuilt by replaying them, which is also what [`audit`] does.

mod audit;
mod block;
mod encoding;
mod etcd;
mod genesis;
mod ledger;
mod state;
mod store;
mod transaction;

pub use audit::{audit, AuditError, AuditReport};
pub use block::{tx_root, Block, BlockHeader};
pub use encoding::DecodeError;
pub use etcd::{trusting, EtcdStore};
pub use genesis::{Beacon, Ceremony, Contribution, Genesis, Member, MemberKey, Role};
pub use ledger::{Ledger, Receipt};
pub use state::{ClaimRecord, Rejection};
pub use store::{blocks, BlockStore, MemoryStore, RedbStore, RequestId};
pub use transaction::{SignedTransaction, Transaction};

/// Why the ledger refused a transaction or could not serve a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error("member {0} is not in the consortium")]
    UnknownMember(u32),
    #[error("bad signature")]
    BadSignature,
    #[error("member {member} has the {role} role; this transaction needs the {needed} role")]
    WrongRole {
        member: u32,
        role: Role,
        needed: Role,
    },
    #[error("the claim's invoice root is not among the ledger's recent roots")]
    StaleRoot,
    #[error("this invoice was already claimed (block {first_height})")]
    DuplicateClaim { first_height: u64 },
    #[error("invalid proof")]
    InvalidProof,
    #[error("this invoice commitment is already registered")]
    DuplicateCommitment,
    #[error("the invoice tree is full")]
    TreeFull,
    #[error("no invoice at leaf index {0}")]
    UnknownLeaf(u64),
    #[error("invalid genesis: {0}")]
    InvalidGenesis(String),
    #[error("the verifying key's digest differs from the genesis verifying_key_digest")]
    WrongVerifyingKey,
    #[error("the proposer key is not member {0}'s key")]
    ProposerKeyMismatch(u32),
    #[error("member key file: {0}")]
    InvalidKey(String),
    #[error("{path}: {reason}")]
    File { path: String, reason: String },
    #[error("storage: {0}")]
    Storage(String),
    #[error("block {height} is corrupt: {reason}")]
    Corrupt { height: u64, reason: String },
    #[error("the ledger is closed")]
    Closed,
    /// Another node appended to the shared log first; the ledger catches up and retries, so
    /// submitters never see this.
    #[error("another node appended a block at this height first")]
    HeadMoved,
    #[error("the shared ledger log is unavailable: {0}")]
    Unavailable(String),
}
