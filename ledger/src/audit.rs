//! Audit: replay the whole chain from the genesis, trusting nothing that is stored.

use crate::keys::VerifyingKeys;
use crate::{
    genesis::Genesis,
    state::{replay, Rejection, Replay},
    store::BlockStore,
};

/// What an audit found on a sound chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditReport {
    /// Valid blocks.
    pub blocks: u64,
    pub invoices: u64,
    /// Invoices voided since (statement v2), among `invoices`.
    pub voided: u64,
    /// Settled claims of both circuits, each a leaf of the settled tree.
    pub claims: u64,
    /// Continuation claims (statement v2), among `claims`.
    pub continuations: u64,
    /// The slots of a shared log whose blocks every node refused, with the members who
    /// proposed them where their signatures show it. Always empty for a local store, where
    /// such a block fails the audit.
    pub rejected: Vec<Rejection>,
}

/// The first bad block. Height 0 means the genesis itself, or a verifying key that is not
/// the one it pins.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("block {height}: {reason}")]
pub struct AuditError {
    pub height: u64,
    pub reason: String,
    /// The store could not be read at `height` (a read error, not the chain's content): the
    /// chain is not shown to be bad, and `reason` may name the store's internals (a file,
    /// an etcd endpoint), which are for the operator only.
    pub unreadable: bool,
}

/// Replays every block from scratch: the prev-hash chain, tx_root, the proposer's membership
/// and signature, every transaction's signature and role, every claim proof (verified
/// again, in one batch per circuit), invoice and settled roots known and young enough,
/// unique nullifiers, commitments and settled leaves, voids by their registrants of
/// commitments never registered again, hospitals' quotas of registration blocks, and each
/// header's invoice_root and settled_root against the rebuilt trees. A block that breaks a rule fails the audit on a
/// local store and is reported as rejected on a shared log, as the nodes did; a slot missing
/// before a later one (the log edited outside the protocol) fails it on both.
pub fn audit(
    store: &dyn BlockStore,
    genesis: &Genesis,
    keys: &VerifyingKeys,
) -> Result<AuditReport, AuditError> {
    let state = replay(store, genesis, keys, Replay::Audit).map_err(|e| AuditError {
        height: e.height,
        reason: e.reason,
        unreadable: e.unreadable,
    })?;
    Ok(AuditReport {
        blocks: state.block_count(),
        invoices: state.invoice_count(),
        voided: state.voided_count(),
        claims: state.claim_count(),
        continuations: state.continuation_count(),
        rejected: state.rejected().to_vec(),
    })
}
