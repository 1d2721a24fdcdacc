//! The zkclaim consortium ledger.
//!
//! Hospitals register invoice commitments, insurers settle claims, and both are signed
//! (Ed25519) by members listed in the [`Genesis`]. Transactions are cut into SHA-256
//! hash-chained blocks signed by their proposer and written durably before anyone is told
//! they are accepted. Hospitals may also void an invoice they registered (its leaf becomes 0).
//! Insurers settle primary claims and (statement v2) continuation claims, a later payer's
//! on the same invoice; every settled claim appends a leaf to the settled tree.
//! Only blocks are stored: the invoice and settled trees, the windows of recent roots, the
//! voids, the hospitals' recent registration blocks and the spent nullifiers are rebuilt by
//! replaying them, which is also what [`audit`] does.

mod audit;
mod block;
mod encoding;
mod etcd;
mod genesis;
mod keys;
mod ledger;
mod state;
mod store;
mod transaction;

pub use audit::{audit, AuditError, AuditReport};
pub use block::{tx_root, Block, BlockHeader};
pub use encoding::DecodeError;
pub use etcd::{trusting, EtcdStore};
pub use genesis::{
    Beacon, Ceremony, CircuitPin, Contribution, Genesis, Member, MemberKey, Role,
    DEFAULT_ROOT_MAX_AGE_MS, DEFAULT_ROOT_WINDOW,
};
pub use keys::VerifyingKeys;
pub use ledger::{LeafPath, Leaves, Ledger, Receipt, SettledPath};
pub use state::{ClaimRecord, Leaf, Rejection};
pub use store::{blocks, BlockStore, MemoryStore, RedbStore, RequestId};
pub use transaction::{ClaimStatement, SignedTransaction, Transaction};
use zkclaim_circuits::Circuit;

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
    #[error(
        "the claim is made under insurer {insurer_id}'s policy: only that insurer may settle \
         it (submit the claim there), not member {signer}"
    )]
    WrongInsurer { signer: u32, insurer_id: u32 },
    #[error(
        "the claim's invoice root is not one of the ledger's roots (unknown, or older than the \
         last root_window roots it keeps)"
    )]
    StaleRoot,
    /// Statement v2: a root is accepted for `root_max_age_ms` of block time after a later
    /// root replaced it.
    #[error(
        "the claim's invoice root was replaced {age_ms} ms before this block, more than the \
         {max_age_ms} ms (root_max_age_ms, statement v2) a root is accepted for: prove again \
         against the current root"
    )]
    ExpiredRoot { age_ms: u64, max_age_ms: u64 },
    #[error(
        "the continuation's settled root is not one of the ledger's settled roots (the \
         previous rank's claim is not settled, or the root is older than the last \
         root_window settled roots it keeps)"
    )]
    StaleSettledRoot,
    /// Settled roots are accepted by age as invoice roots are.
    #[error(
        "the continuation's settled root was replaced {age_ms} ms before this block, more \
         than the {max_age_ms} ms (root_max_age_ms) a root is accepted for: prove again \
         against the current settled root"
    )]
    ExpiredSettledRoot { age_ms: u64, max_age_ms: u64 },
    #[error(
        "the genesis pins no continuation circuit key: this consortium does not accept \
         continuation claims"
    )]
    NoContinuationKey,
    #[error("this settled leaf is already in the settled tree")]
    DuplicateSettledLeaf,
    #[error("this invoice was already claimed (block {first_height})")]
    DuplicateClaim { first_height: u64 },
    #[error("invalid proof")]
    InvalidProof,
    #[error("this invoice commitment is already registered")]
    DuplicateCommitment,
    #[error("0 is the invoice tree's empty leaf, not a commitment")]
    ZeroCommitment,
    #[error(
        "this invoice commitment was voided (block {height}) and can never be registered again"
    )]
    VoidedCommitment { height: u64 },
    #[error("this invoice commitment is not registered (in a block before this one)")]
    UnregisteredCommitment,
    #[error("only the hospital that registered this invoice (member {registrant}) may void it")]
    NotRegistrant { registrant: u32 },
    #[error("this invoice was already voided (block {height})")]
    AlreadyVoided { height: u64 },
    #[error(
        "the invoice at this leaf was voided (block {height}): it has no path and cannot be \
         claimed"
    )]
    VoidedLeaf { height: u64 },
    /// A hospital changed the invoice tree in as many blocks within `root_max_age_ms` as the
    /// genesis `hospital_root_quota` allows.
    #[error(
        "member {member} changed the invoice tree in {quota} blocks within the last \
         root_max_age_ms of block time, its hospital_root_quota: retry in {retry_after_ms} ms \
         (send registrations together and they share one block)"
    )]
    RateLimited {
        member: u32,
        quota: u32,
        retry_after_ms: u64,
    },
    #[error("the invoice tree is full")]
    TreeFull,
    #[error("the settled tree is full")]
    SettledTreeFull,
    #[error("no invoice at leaf index {0}")]
    UnknownLeaf(u64),
    #[error("no settled claim at settled-tree index {0}")]
    UnknownSettledLeaf(u64),
    #[error("invalid genesis: {0}")]
    InvalidGenesis(String),
    #[error(
        "the {0} circuit's verifying key is not the one the genesis pins (its digest differs, \
         or it is another circuit's key)"
    )]
    WrongVerifyingKey(Circuit),
    #[error("the genesis pins a {0} circuit verifying key, but none was given")]
    MissingVerifyingKey(Circuit),
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
