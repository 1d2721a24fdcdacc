//! The deterministic state machine that blocks drive: the invoice tree (appended to by
//! registrations, leaves set to 0 by voids), the settled tree (one leaf per settled claim,
//! statement v2), the recent roots of each with when each was replaced, each hospital's
//! recent blocks that changed the invoice tree, and the spent nullifiers. It is
//! never stored; [`replay`] rebuilds it from blocks. Every rule that involves time reads the
//! block's time, never a clock, so that every node decides alike.
//!
//! A store is a sequence of slots, heights from 1. On a store this node alone writes, every
//! block was checked before it was written, so a block that breaks a rule is corruption and
//! stops the replay. On a shared log (etcd) each slot is one member's proposal: a slot whose
//! block breaks a rule, checked against the state after the last valid block, is recorded as
//! a [`Rejection`] by every node alike, and the chain goes on from the last valid block.

use crate::{
    block::{tx_root, Block, BlockHeader},
    genesis::{Consortium, Genesis},
    keys::VerifyingKeys,
    store::BlockStore,
    transaction::{ClaimStatement, SignedTransaction, Transaction},
    LedgerError,
};
use ark_bn254::Fr;
use rand::rngs::OsRng;
use std::collections::{HashMap, HashSet, VecDeque};
use zkclaim_circuits::{
    tree::{IncrementalTree, MerklePath},
    PublicStatement,
};
use zkclaim_verifier::{verify_batch, PreparedClaimKey, Proof};

/// A slot of a shared log whose content every node refused: the chain skips it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The slot: the height a valid block there would have had.
    pub height: u64,
    /// The member whose signature over this slot's header verifies: the proposer to hold to
    /// account. `None` when the slot does not decode, its signature does not verify, or the
    /// header was signed for another slot (a copy): then nobody in the consortium is shown
    /// to have written it.
    pub proposer: Option<u32>,
    pub reason: String,
}

/// A settled claim of either circuit, keyed by its nullifier (never by proof bytes, which
/// can be re-randomized).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimRecord {
    pub height: u64,
    pub tx_index: u32,
    pub insurer: u32,
    /// Its public inputs, which say its circuit ([`ClaimStatement::circuit`]).
    pub statement: ClaimStatement,
    pub proof: Proof,
}

/// A root a claim may prove against, and the block time at which a later root replaced it
/// (`None` for the current root).
#[derive(Clone, Copy)]
struct RootEntry {
    root: Fr,
    replaced_ms: Option<u64>,
}

/// What [`RootWindow::update`] changed: `None` when the root stayed, else the oldest entry
/// that fell out of the window, if one did.
type RootUndo = Option<Option<RootEntry>>;

/// The last K distinct roots of a tree, oldest first (its empty root while that is one of
/// them), each with when a later root replaced it: a claim may prove against a root while it
/// is current and for `max_age_ms` of block time after (statement v2, "Root window"); K only
/// bounds memory. The invoice tree and the settled tree each have one.
struct RootWindow {
    roots: VecDeque<RootEntry>,
    capacity: usize,
    max_age_ms: u64,
}

impl RootWindow {
    fn new(root: Fr, capacity: usize, max_age_ms: u64) -> Self {
        Self {
            roots: VecDeque::from([RootEntry {
                root,
                replaced_ms: None,
            }]),
            capacity,
            max_age_ms,
        }
    }

    /// How long before `time_ms` a later root replaced this one (0 for the current root).
    fn age(entry: &RootEntry, time_ms: u64) -> u64 {
        entry
            .replaced_ms
            .map_or(0, |replaced| time_ms.saturating_sub(replaced))
    }

    /// The roots a claim in a block at `time_ms` may prove against, oldest first.
    fn accepted(&self, time_ms: u64) -> Vec<Fr> {
        self.roots
            .iter()
            .filter(|e| Self::age(e, time_ms) <= self.max_age_ms)
            .map(|e| e.root)
            .collect()
    }

    /// `Err(None)` when `root` is not in the window, `Err(Some(age_ms))` when it was replaced
    /// more than `max_age_ms` before `time_ms`.
    fn accepts(&self, root: &Fr, time_ms: u64) -> Result<(), Option<u64>> {
        // The latest entry: a void can bring back an earlier root's value.
        let entry = self
            .roots
            .iter()
            .rev()
            .find(|e| e.root == *root)
            .ok_or(None)?;
        let age_ms = Self::age(entry, time_ms);
        if age_ms > self.max_age_ms {
            return Err(Some(age_ms));
        }
        Ok(())
    }

    /// Makes `root` the current root at block time `time_ms`, if it is not already: only
    /// blocks that change the tree move its root, so that others do not age a prover's root.
    fn update(&mut self, root: Fr, time_ms: u64) -> RootUndo {
        let current = self
            .roots
            .back_mut()
            .expect("the window holds the current root");
        if current.root == root {
            return None;
        }
        current.replaced_ms = Some(time_ms);
        self.roots.push_back(RootEntry {
            root,
            replaced_ms: None,
        });
        Some(
            (self.roots.len() > self.capacity)
                .then(|| self.roots.pop_front())
                .flatten(),
        )
    }

    /// Undoes an [`RootWindow::update`].
    fn rollback(&mut self, undo: RootUndo) {
        if let Some(evicted) = undo {
            self.roots.pop_back();
            if let Some(entry) = evicted {
                self.roots.push_front(entry);
            }
            if let Some(current) = self.roots.back_mut() {
                current.replaced_ms = None;
            }
        }
    }
}

/// Who registered the invoice at a leaf, and in which block.
/// A leaf of the invoice tree, and where it was registered ([`crate::Ledger::leaves`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Leaf {
    /// The commitment, or 0 once voided.
    pub value: Fr,
    /// The commitment a void set to 0 (public in its `void_invoice` transaction).
    pub voided: Option<Fr>,
    pub hospital: u32,
    pub height: u64,
}

struct Registration {
    commitment: Fr,
    hospital: u32,
    height: u64,
}

pub(crate) struct State {
    tree: IncrementalTree,
    leaf_index: HashMap<Fr, u64>,
    /// By leaf index.
    registrations: Vec<Registration>,
    /// Each hospital's leaf indices, ascending: how many registrations by other hospitals
    /// follow a leaf.
    by_hospital: HashMap<u32, Vec<u64>>,
    /// Voided commitments and the height of the block that voided each.
    voided: HashMap<Fr, u64>,
    /// The invoice roots after the last K blocks that changed the invoice tree.
    roots: RootWindow,
    /// The settled tree (statement v2): one leaf per settled claim, in block order.
    settled: IncrementalTree,
    settled_index: HashMap<Fr, u64>,
    /// By settled index, the height of the block that settled the leaf.
    settled_heights: Vec<u64>,
    /// The settled roots after the last K blocks that settled claims.
    settled_roots: RootWindow,
    /// Whether the genesis pins a continuation key: without, continuations are refused.
    continuations: bool,
    max_age_ms: u64,
    quota: u32,
    /// Per hospital, the times of its last `quota` blocks that changed the tree, oldest
    /// first.
    recent: HashMap<u32, VecDeque<u64>>,
    claims: HashMap<Fr, ClaimRecord>,
    /// Where each transaction landed, by id: a retried transaction gets its first receipt.
    placed: HashMap<[u8; 32], (u64, u32)>,
    /// Per slot, from slot 1: the header hash of a valid block, `None` for a rejected one.
    hashes: Vec<Option<[u8; 32]>>,
    rejected: Vec<Rejection>,
    /// The last slot applied or rejected.
    slot: u64,
    /// The last valid block: its height (its slot), header hash and time.
    height: u64,
    head_hash: [u8; 32],
    time_ms: u64,
}

/// What the block being built (or replayed) has admitted but not yet applied, so that
/// duplicates inside one block are caught as well as against the state.
pub(crate) struct Pending {
    height: u64,
    /// The block's time: the rules on root age and hospitals' quotas read it.
    time_ms: u64,
    count: u32,
    /// Registrations, with their hospitals, in order.
    commitments: Vec<(Fr, u32)>,
    new_commitments: HashSet<Fr>,
    voids: Vec<Fr>,
    /// The hospitals whose registrations or voids the block holds: one block each against
    /// their quotas, however many transactions.
    changers: HashSet<u32>,
    claims: HashMap<Fr, ClaimRecord>,
    /// The claims' settled leaves, in order.
    settled: Vec<Fr>,
    new_settled: HashSet<Fr>,
    ids: Vec<[u8; 32]>,
}

/// What [`State::apply`] changed, so that [`State::rollback`] can undo a block that was
/// built but lost its slot in a shared log to another node's block.
pub(crate) struct Undo {
    invoices: u64,
    /// The leaves the block voided, with what they held.
    voids: Vec<(u64, Fr)>,
    /// Whether the block pushed a new invoice root, and the oldest one that fell out of the
    /// window.
    new_root: RootUndo,
    /// The settled tree's size before the block, and its window's change.
    settled: u64,
    new_settled_root: RootUndo,
    /// The hospitals whose block times were pushed, with the oldest time each dropped.
    recent: Vec<(u32, Option<u64>)>,
    slot: u64,
    height: u64,
    nullifiers: Vec<Fr>,
    ids: Vec<[u8; 32]>,
}

impl Pending {
    pub(crate) fn is_empty(&self) -> bool {
        self.count == 0
    }
}

impl State {
    pub(crate) fn new(genesis: &Genesis) -> Self {
        let tree = IncrementalTree::new(genesis.shape.depth);
        let settled = IncrementalTree::new(genesis.shape.depth);
        let window =
            |root| RootWindow::new(root, genesis.root_window as usize, genesis.root_max_age_ms);
        Self {
            roots: window(tree.root()),
            tree,
            leaf_index: HashMap::new(),
            registrations: Vec::new(),
            by_hospital: HashMap::new(),
            voided: HashMap::new(),
            settled_roots: window(settled.root()),
            settled,
            settled_index: HashMap::new(),
            settled_heights: Vec::new(),
            continuations: genesis.continuation.is_some(),
            max_age_ms: genesis.root_max_age_ms,
            quota: genesis.root_quota(),
            recent: HashMap::new(),
            claims: HashMap::new(),
            placed: HashMap::new(),
            hashes: Vec::new(),
            rejected: Vec::new(),
            slot: 0,
            height: 0,
            head_hash: genesis.digest(),
            time_ms: 0,
        }
    }

    /// The height of the last valid block (0 before the first).
    pub(crate) fn height(&self) -> u64 {
        self.height
    }

    /// The last slot applied or rejected: the next block goes in the one after.
    pub(crate) fn slot(&self) -> u64 {
        self.slot
    }

    /// The header hash of the valid block at `height`; `None` for a rejected slot or past
    /// the last one.
    pub(crate) fn block_hash(&self, height: u64) -> Option<[u8; 32]> {
        *self
            .hashes
            .get(usize::try_from(height.checked_sub(1)?).ok()?)?
    }

    pub(crate) fn rejected(&self) -> &[Rejection] {
        &self.rejected
    }

    /// Valid blocks so far.
    pub(crate) fn block_count(&self) -> u64 {
        self.slot - self.rejected.len() as u64
    }

    pub(crate) fn head_hash(&self) -> [u8; 32] {
        self.head_hash
    }

    pub(crate) fn time_ms(&self) -> u64 {
        self.time_ms
    }

    pub(crate) fn root(&self) -> Fr {
        self.tree.root()
    }

    /// The invoice roots a claim in a block at `time_ms` may prove against, oldest first.
    pub(crate) fn roots(&self, time_ms: u64) -> Vec<Fr> {
        self.roots.accepted(time_ms)
    }

    pub(crate) fn settled_root(&self) -> Fr {
        self.settled.root()
    }

    /// The settled roots a continuation in a block at `time_ms` may prove against.
    pub(crate) fn settled_roots(&self, time_ms: u64) -> Vec<Fr> {
        self.settled_roots.accepted(time_ms)
    }

    pub(crate) fn settled_count(&self) -> u64 {
        self.settled.len()
    }

    pub(crate) fn settled_index(&self, leaf: &Fr) -> Option<u64> {
        self.settled_index.get(leaf).copied()
    }

    /// The settled leaf's path at the current settled root.
    pub(crate) fn settled_path(&self, index: u64) -> Result<MerklePath, LedgerError> {
        self.settled
            .path(index)
            .map_err(|_| LedgerError::UnknownSettledLeaf(index))
    }

    /// How many claims settled in blocks after the one that settled the leaf at `index`: the
    /// crowd the current settled root hides that block in (docs/protocol.md, "Root choice").
    pub(crate) fn later_settlements(&self, index: u64) -> Result<u64, LedgerError> {
        let height = usize::try_from(index)
            .ok()
            .and_then(|i| self.settled_heights.get(i))
            .ok_or(LedgerError::UnknownSettledLeaf(index))?;
        let end = self.settled_heights.partition_point(|h| h <= height) as u64;
        Ok(self.settled.len() - end)
    }

    pub(crate) fn continuation_count(&self) -> u64 {
        self.claims
            .values()
            .filter(|c| matches!(c.statement, ClaimStatement::Continuation(_)))
            .count() as u64
    }

    pub(crate) fn invoice_count(&self) -> u64 {
        self.tree.len()
    }

    pub(crate) fn voided_count(&self) -> u64 {
        self.voided.len() as u64
    }

    pub(crate) fn claim_count(&self) -> u64 {
        self.claims.len() as u64
    }

    pub(crate) fn leaf_index(&self, commitment: &Fr) -> Option<u64> {
        self.leaf_index.get(commitment).copied()
    }

    /// The leaf's path at the current root; refused for a voided leaf.
    pub(crate) fn merkle_path(&self, leaf_index: u64) -> Result<MerklePath, LedgerError> {
        let registration = self.registration(leaf_index)?;
        if let Some(&height) = self.voided.get(&registration.commitment) {
            return Err(LedgerError::VoidedLeaf { height });
        }
        self.tree
            .path(leaf_index)
            .map_err(|_| LedgerError::UnknownLeaf(leaf_index))
    }

    fn registration(&self, leaf_index: u64) -> Result<&Registration, LedgerError> {
        usize::try_from(leaf_index)
            .ok()
            .and_then(|i| self.registrations.get(i))
            .ok_or(LedgerError::UnknownLeaf(leaf_index))
    }

    /// Up to `limit` leaves of the invoice tree from index `from`, as the tree holds them now
    /// (a voided one is 0), each with the hospital and height that registered it.
    pub(crate) fn leaves(&self, from: u64, limit: usize) -> Vec<Leaf> {
        let from = usize::try_from(from).unwrap_or(usize::MAX);
        let leaves = self.tree.leaves().iter().skip(from);
        leaves
            .zip(self.registrations.iter().skip(from))
            .take(limit)
            .map(|(&value, r)| Leaf {
                value,
                voided: self
                    .voided
                    .contains_key(&r.commitment)
                    .then_some(r.commitment),
                hospital: r.hospital,
                height: r.height,
            })
            .collect()
    }

    /// How many invoices other hospitals registered in blocks after the one that registered
    /// the leaf: the current root hides the leaf's block among that many later
    /// registrations (docs/protocol.md, "Root choice").
    pub(crate) fn later_registrations_by_others(
        &self,
        leaf_index: u64,
    ) -> Result<u64, LedgerError> {
        let registration = self.registration(leaf_index)?;
        // Heights grow with leaf indices: the first leaf of a later block.
        let end = self
            .registrations
            .partition_point(|r| r.height <= registration.height) as u64;
        let own = &self.by_hospital[&registration.hospital];
        let own_after = own.len() - own.partition_point(|&i| i < end);
        Ok(self.tree.len() - end - own_after as u64)
    }

    pub(crate) fn claim(&self, nullifier: &Fr) -> Option<ClaimRecord> {
        self.claims.get(nullifier).cloned()
    }

    /// Where `stx` (whose id is `id`) landed, with its block's hash, if it is on the chain:
    /// a retry gets its first receipt. Not a registration whose commitment was voided
    /// since, which [`State::check`] refuses as such.
    pub(crate) fn placement(
        &self,
        stx: &SignedTransaction,
        id: &[u8; 32],
    ) -> Option<(u64, u32, [u8; 32])> {
        if let Transaction::RegisterInvoice { commitment } = &stx.tx {
            if self.voided.contains_key(commitment) {
                return None;
            }
        }
        let &(height, index) = self.placed.get(id)?;
        Some((height, index, self.block_hash(height)?))
    }

    /// An empty block for the next slot, at `time_ms`.
    pub(crate) fn pending(&self, time_ms: u64) -> Pending {
        Pending {
            height: self.slot + 1,
            time_ms,
            count: 0,
            commitments: Vec::new(),
            new_commitments: HashSet::new(),
            voids: Vec::new(),
            changers: HashSet::new(),
            claims: HashMap::new(),
            settled: Vec::new(),
            new_settled: HashSet::new(),
            ids: Vec::new(),
        }
    }

    /// The state's rules for one (already authorized) transaction: a fresh, never voided,
    /// non-zero commitment and room in the tree; a void by the commitment's registrant of a
    /// commitment registered and not voided; the signer's quota of blocks changing the tree;
    /// for a claim, a known invoice root young enough, an unspent nullifier and room in the
    /// settled tree; for a continuation also a key in the genesis, a known settled root young
    /// enough and a settled leaf not in the tree.
    pub(crate) fn check(
        &self,
        stx: &SignedTransaction,
        pending: &Pending,
    ) -> Result<(), LedgerError> {
        match &stx.tx {
            Transaction::RegisterInvoice { commitment } => {
                if *commitment == Fr::from(0u64) {
                    return Err(LedgerError::ZeroCommitment);
                }
                if let Some(height) = self.voided_at(commitment, pending) {
                    return Err(LedgerError::VoidedCommitment { height });
                }
                if self.leaf_index.contains_key(commitment)
                    || pending.new_commitments.contains(commitment)
                {
                    return Err(LedgerError::DuplicateCommitment);
                }
                let len = self.tree.len() + pending.commitments.len() as u64;
                if len >> self.tree.depth() != 0 {
                    return Err(LedgerError::TreeFull);
                }
                self.check_quota(stx.signer, pending)?;
            }
            Transaction::VoidInvoice { commitment } => {
                if let Some(height) = self.voided_at(commitment, pending) {
                    return Err(LedgerError::AlreadyVoided { height });
                }
                let index = self
                    .leaf_index
                    .get(commitment)
                    .ok_or(LedgerError::UnregisteredCommitment)?;
                let registrant = self.registrations[*index as usize].hospital;
                if registrant != stx.signer {
                    return Err(LedgerError::NotRegistrant { registrant });
                }
                self.check_quota(stx.signer, pending)?;
            }
            Transaction::SettleClaim { .. } | Transaction::SettleContinuation { .. } => {
                let (statement, _) = stx.tx.claim().expect("a claim");
                self.check_claim(&statement, pending)?;
            }
        }
        Ok(())
    }

    fn check_claim(
        &self,
        statement: &ClaimStatement,
        pending: &Pending,
    ) -> Result<(), LedgerError> {
        let time_ms = pending.time_ms;
        if let ClaimStatement::Continuation(public) = statement {
            if !self.continuations {
                return Err(LedgerError::NoContinuationKey);
            }
            self.settled_roots
                .accepts(&public.settled_root, time_ms)
                .map_err(|age| match age {
                    None => LedgerError::StaleSettledRoot,
                    Some(age_ms) => LedgerError::ExpiredSettledRoot {
                        age_ms,
                        max_age_ms: self.max_age_ms,
                    },
                })?;
        }
        self.roots
            .accepts(&statement.invoice_root(), time_ms)
            .map_err(|age| match age {
                None => LedgerError::StaleRoot,
                Some(age_ms) => LedgerError::ExpiredRoot {
                    age_ms,
                    max_age_ms: self.max_age_ms,
                },
            })?;
        let nullifier = statement.nullifier();
        if let Some(first) = self
            .claims
            .get(&nullifier)
            .or_else(|| pending.claims.get(&nullifier))
        {
            return Err(LedgerError::DuplicateClaim {
                first_height: first.height,
            });
        }
        // Leaves commit to their nullifiers, so a fresh nullifier brings a fresh leaf;
        // checked all the same, since the settled index is keyed by leaf.
        let leaf = statement.settled_leaf();
        if self.settled_index.contains_key(&leaf) || pending.new_settled.contains(&leaf) {
            return Err(LedgerError::DuplicateSettledLeaf);
        }
        let len = self.settled.len() + pending.settled.len() as u64;
        if len >> self.settled.depth() != 0 {
            return Err(LedgerError::SettledTreeFull);
        }
        Ok(())
    }

    /// The height of the block that voided `commitment`: on the chain, or this block.
    fn voided_at(&self, commitment: &Fr, pending: &Pending) -> Option<u64> {
        self.voided
            .get(commitment)
            .copied()
            .or_else(|| pending.voids.contains(commitment).then_some(pending.height))
    }

    /// A hospital already changing the tree in this block is free; otherwise its last
    /// `quota` such blocks must not all lie within `root_max_age` of this block's time.
    fn check_quota(&self, hospital: u32, pending: &Pending) -> Result<(), LedgerError> {
        if pending.changers.contains(&hospital) {
            return Ok(());
        }
        let Some(times) = self.recent.get(&hospital) else {
            return Ok(());
        };
        match times.front() {
            Some(&oldest)
                if times.len() >= self.quota as usize
                    && pending.time_ms - oldest <= self.max_age_ms =>
            {
                Err(LedgerError::RateLimited {
                    member: hospital,
                    quota: self.quota,
                    retry_after_ms: oldest + self.max_age_ms + 1 - pending.time_ms,
                })
            }
            _ => Ok(()),
        }
    }

    /// Checks `stx` (whose id is `id`) against the state and the pending block, then adds
    /// it to the block.
    pub(crate) fn admit(
        &self,
        stx: &SignedTransaction,
        id: [u8; 32],
        pending: &mut Pending,
    ) -> Result<(), LedgerError> {
        self.check(stx, pending)?;
        match &stx.tx {
            Transaction::RegisterInvoice { commitment } => {
                pending.commitments.push((*commitment, stx.signer));
                pending.new_commitments.insert(*commitment);
                pending.changers.insert(stx.signer);
            }
            Transaction::VoidInvoice { commitment } => {
                pending.voids.push(*commitment);
                pending.changers.insert(stx.signer);
            }
            Transaction::SettleClaim { .. } | Transaction::SettleContinuation { .. } => {
                let (statement, proof) = stx.tx.claim().expect("a claim");
                let leaf = statement.settled_leaf();
                pending.settled.push(leaf);
                pending.new_settled.insert(leaf);
                let record = ClaimRecord {
                    height: pending.height,
                    tx_index: pending.count,
                    insurer: stx.signer,
                    statement,
                    proof: *proof,
                };
                pending.claims.insert(statement.nullifier(), record);
            }
        }
        pending.ids.push(id);
        pending.count += 1;
        Ok(())
    }

    /// Applies an admitted block's effects and returns the invoice and settled roots after
    /// it; the caller then [`State::seal`]s it with the block's header, or rolls it back.
    pub(crate) fn apply(&mut self, pending: Pending) -> (Fr, Fr, Undo) {
        let mut undo = Undo {
            invoices: self.tree.len(),
            voids: Vec::new(),
            new_root: None,
            settled: self.settled.len(),
            new_settled_root: None,
            recent: Vec::new(),
            slot: self.slot,
            height: self.height,
            nullifiers: pending.claims.keys().copied().collect(),
            ids: pending.ids.clone(),
        };
        let (height, time_ms) = (pending.height, pending.time_ms);
        for (index, id) in pending.ids.into_iter().enumerate() {
            self.placed.insert(id, (height, index as u32));
        }
        // Each tree takes the block's leaves in one call: about two hashes a leaf, not its
        // depth.
        let first = self
            .tree
            .extend(
                &pending
                    .commitments
                    .iter()
                    .map(|(c, _)| *c)
                    .collect::<Vec<_>>(),
            )
            .expect("admission checked the tree has room");
        for (index, (commitment, hospital)) in (first..).zip(pending.commitments) {
            self.leaf_index.insert(commitment, index);
            self.registrations.push(Registration {
                commitment,
                hospital,
                height,
            });
            self.by_hospital.entry(hospital).or_default().push(index);
        }
        for commitment in pending.voids {
            let index = self.leaf_index[&commitment];
            let old = self
                .tree
                .set(index, Fr::from(0u64))
                .expect("admission checked the leaf is registered");
            self.voided.insert(commitment, height);
            undo.voids.push((index, old));
        }
        for hospital in pending.changers {
            let times = self.recent.entry(hospital).or_default();
            times.push_back(time_ms);
            let dropped = (times.len() > self.quota as usize)
                .then(|| times.pop_front())
                .flatten();
            undo.recent.push((hospital, dropped));
        }
        let first = self
            .settled
            .extend(&pending.settled)
            .expect("admission checked the settled tree has room");
        for (index, leaf) in (first..).zip(pending.settled) {
            self.settled_index.insert(leaf, index);
            self.settled_heights.push(height);
        }
        self.claims.extend(pending.claims);
        self.slot = height;
        self.height = height;
        let (root, settled_root) = (self.tree.root(), self.settled.root());
        undo.new_root = self.roots.update(root, time_ms);
        undo.new_settled_root = self.settled_roots.update(settled_root, time_ms);
        (root, settled_root, undo)
    }

    /// Undoes an [`State::apply`] that was not sealed.
    pub(crate) fn rollback(&mut self, undo: Undo) {
        for (index, commitment) in undo.voids.into_iter().rev() {
            self.tree
                .set(index, commitment)
                .expect("the block voided this leaf");
            self.voided.remove(&commitment);
        }
        for registration in self.registrations.drain(undo.invoices as usize..) {
            self.leaf_index.remove(&registration.commitment);
            if let Some(own) = self.by_hospital.get_mut(&registration.hospital) {
                own.pop();
            }
        }
        self.tree.truncate(undo.invoices);
        for (hospital, dropped) in undo.recent {
            let times = self.recent.get_mut(&hospital).expect("the block pushed it");
            times.pop_back();
            if let Some(time) = dropped {
                times.push_front(time);
            }
        }
        self.roots.rollback(undo.new_root);
        for leaf in &self.settled.leaves()[undo.settled as usize..] {
            self.settled_index.remove(leaf);
        }
        self.settled.truncate(undo.settled);
        self.settled_heights.truncate(undo.settled as usize);
        self.settled_roots.rollback(undo.new_settled_root);
        for nullifier in &undo.nullifiers {
            self.claims.remove(nullifier);
        }
        for id in &undo.ids {
            self.placed.remove(id);
        }
        self.slot = undo.slot;
        self.height = undo.height;
    }

    pub(crate) fn seal(&mut self, header: &BlockHeader) {
        self.head_hash = header.hash();
        self.hashes.push(Some(self.head_hash));
        self.time_ms = header.time_ms;
    }

    /// Skips the next slot, recording why; the chain goes on from the last valid block.
    fn reject(&mut self, rejection: Rejection) {
        debug_assert_eq!(rejection.height, self.slot + 1);
        self.slot += 1;
        self.hashes.push(None);
        self.rejected.push(rejection);
    }

    /// Reads the next slot from `store` and applies its block, checking every rule (see
    /// [`State::replay_block`]). On a shared store a slot that does not decode or breaks a
    /// rule is rejected and skipped; on a local one it is [`LedgerError::Corrupt`]. `Ok(false)`
    /// when the slot is empty; other errors (the store unreachable) change nothing.
    pub(crate) fn step(
        &mut self,
        store: &dyn BlockStore,
        consortium: &Consortium,
        proofs: Option<&VerifyingKeys>,
    ) -> Result<bool, LedgerError> {
        let height = self.slot + 1;
        let rejection = match store.block(height) {
            Ok(None) => return Ok(false),
            Ok(Some(block)) => {
                match self.replay_block(&block, consortium, proofs, store.max_block_transactions())
                {
                    Ok(()) => return Ok(true),
                    Err(rejection) => rejection,
                }
            }
            Err(LedgerError::Corrupt { reason, .. }) => Rejection {
                height,
                proposer: None,
                reason,
            },
            Err(e) => return Err(e),
        };
        if !store.shared() {
            return Err(LedgerError::Corrupt {
                height,
                reason: rejection.reason,
            });
        }
        self.reject(rejection);
        Ok(true)
    }

    /// Checks every rule of the block in the next slot against the state after the last
    /// valid block, and applies it. With `proofs`, every claim proof is verified again
    /// (audit, or other members' blocks); without, the proofs are trusted to have been
    /// verified before the block was written, while the signatures that cover them are still
    /// checked. A block may carry at most `max_transactions` (what its store takes), so that
    /// a proposer cannot make every node verify more than an honest block holds. A refused
    /// block leaves the state as it was.
    fn replay_block(
        &mut self,
        block: &Block,
        consortium: &Consortium,
        proofs: Option<&VerifyingKeys>,
        max_transactions: usize,
    ) -> Result<(), Rejection> {
        let h = &block.header;
        let height = self.slot + 1;
        let unsigned = |reason: String| Rejection {
            height,
            proposer: None,
            reason,
        };
        // The slot first: a header signed for another slot is a copy, and its signer did not
        // put it here.
        if h.height != height {
            return Err(unsigned(format!("header says height {}", h.height)));
        }
        consortium
            .verify(h.proposer, &h.hash(), &h.signature)
            .map_err(|e| unsigned(format!("proposer signature: {e}")))?;
        let refuse = |reason: String| Rejection {
            height,
            proposer: Some(h.proposer),
            reason,
        };
        if h.prev_hash != self.head_hash {
            return Err(refuse(
                "prev_hash is not the hash of the last valid block".into(),
            ));
        }
        if h.time_ms < self.time_ms {
            return Err(refuse("time goes backwards".into()));
        }
        if block.transactions.is_empty() {
            return Err(refuse("no transactions".into()));
        }
        if block.transactions.len() > max_transactions {
            return Err(refuse(format!(
                "{} transactions, more than the {max_transactions} a block may carry",
                block.transactions.len()
            )));
        }
        let ids: Vec<[u8; 32]> = block
            .transactions
            .iter()
            .map(|tx| tx.id(&consortium.chain_id))
            .collect();
        if tx_root(&ids) != h.tx_root {
            return Err(refuse("tx_root does not match the transactions".into()));
        }
        if let Some(key) = proofs {
            verify_block_claims(key, block).map_err(refuse)?;
        }
        let mut pending = self.pending(h.time_ms);
        for (i, (stx, id)) in block.transactions.iter().zip(ids).enumerate() {
            stx.authorize(consortium)
                .and_then(|()| self.admit(stx, id, &mut pending))
                .map_err(|e| refuse(format!("transaction {i}: {e}")))?;
        }
        let (root, settled_root, undo) = self.apply(pending);
        let wrong = if root != h.invoice_root {
            Some("invoice_root is not the root after the block")
        } else if settled_root != h.settled_root {
            Some("settled_root is not the settled-tree root after the block")
        } else {
            None
        };
        if let Some(reason) = wrong {
            self.rollback(undo);
            return Err(refuse(reason.into()));
        }
        self.seal(h);
        Ok(())
    }
}

/// Verifies a block's claim proofs (see [`verify_claims`]); names the block's first bad
/// transaction.
fn verify_block_claims(keys: &VerifyingKeys, block: &Block) -> Result<(), String> {
    let verdicts = verify_claims(keys, block.transactions.iter().map(|stx| &stx.tx));
    match verdicts
        .into_iter()
        .enumerate()
        .find_map(|(i, v)| v.err().map(|e| (i, e)))
    {
        Some((i, e)) => Err(format!("transaction {i}: {e}")),
        None => Ok(()),
    }
}

/// Verifies the claim proofs among `txs` in one batch per circuit (one final exponentiation
/// each, the Miller loops spread over the cores): primary claims under the primary key,
/// continuations under the continuation key. Each transaction's verdict, in order; those
/// that carry no proof pass.
pub(crate) fn verify_claims<'a>(
    keys: &VerifyingKeys,
    txs: impl IntoIterator<Item = &'a Transaction>,
) -> Vec<Result<(), LedgerError>> {
    let mut verdicts = Vec::new();
    let mut primary = Vec::new();
    let mut continuations = Vec::new();
    for (i, tx) in txs.into_iter().enumerate() {
        verdicts.push(Ok(()));
        match tx {
            Transaction::SettleClaim { claim } => {
                primary.push((i, (claim.public_inputs, claim.proof)));
            }
            Transaction::SettleContinuation { claim } => {
                continuations.push((i, (claim.public_inputs, claim.proof)));
            }
            Transaction::RegisterInvoice { .. } | Transaction::VoidInvoice { .. } => {}
        }
    }
    refuse_failures(&mut verdicts, Ok(keys.primary()), &primary);
    refuse_failures(&mut verdicts, keys.continuation(), &continuations);
    verdicts
}

/// Marks in `verdicts` the claims of `claims` (positions with statements) whose proofs fail
/// under `key`, verified in one batch, or all of them when there is no key.
fn refuse_failures<P: PublicStatement>(
    verdicts: &mut [Result<(), LedgerError>],
    key: Result<&PreparedClaimKey, LedgerError>,
    claims: &[(usize, (P, Proof))],
) {
    let failures: Vec<(usize, LedgerError)> = match key {
        Ok(key) => {
            let batch: Vec<(P, Proof)> = claims.iter().map(|&(_, claim)| claim).collect();
            match verify_batch(key, &batch, &mut OsRng) {
                Ok(()) => Vec::new(),
                Err(e) => e
                    .failures
                    .into_iter()
                    .map(|(i, _)| (i, LedgerError::InvalidProof))
                    .collect(),
            }
        }
        Err(e) => (0..claims.len()).map(|i| (i, e.clone())).collect(),
    };
    for (i, e) in failures {
        verdicts[claims[i].0] = Err(e);
    }
}

/// Verifies a claim's proof under its circuit's key; other transactions carry none.
pub(crate) fn verify_claim(keys: &VerifyingKeys, tx: &Transaction) -> Result<(), LedgerError> {
    let verified = match tx {
        Transaction::SettleClaim { claim } => claim.verify(keys.primary()),
        Transaction::SettleContinuation { claim } => claim.verify(keys.continuation()?),
        Transaction::RegisterInvoice { .. } | Transaction::VoidInvoice { .. } => return Ok(()),
    };
    verified.map_err(|_| LedgerError::InvalidProof)
}

/// Why a chain is replayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Replay {
    /// A node opening its store. Its own blocks (a local store) were verified before they
    /// were written; other members' (a shared log) are verified now, proofs included. Slots a
    /// shared log has not filled yet are the node's to follow.
    Open,
    /// An audit: every proof is verified again, and a slot missing before a later one fails.
    Audit,
}

/// Why a replay stopped: at the first bad block (height 0 stands for the genesis or the
/// verifying keys), or where the store could not be read.
#[derive(Debug)]
pub(crate) struct ReplayError {
    pub height: u64,
    pub reason: String,
    /// A read of the store failed there: the chain is not shown to be bad, and the reason
    /// may name the store's internals (a file, an etcd endpoint).
    pub unreadable: bool,
}

/// Rebuilds the state from every stored slot, checking each (see [`State::step`]); on
/// failure, where and why.
pub(crate) fn replay(
    store: &dyn BlockStore,
    genesis: &Genesis,
    keys: &VerifyingKeys,
    mode: Replay,
) -> Result<State, ReplayError> {
    let fault = |height, reason| ReplayError {
        height,
        reason,
        unreadable: false,
    };
    let unreadable = |height, e: LedgerError| ReplayError {
        height,
        reason: e.to_string(),
        unreadable: true,
    };
    let consortium = genesis.consortium().map_err(|e| fault(0, e.to_string()))?;
    keys.check(genesis).map_err(|e| fault(0, e.to_string()))?;
    let shared = store.shared();
    let proofs = (shared || mode == Replay::Audit).then_some(keys);
    let mut state = State::new(genesis);
    let mut gap_at = None;
    loop {
        loop {
            match state.step(store, &consortium, proofs) {
                Ok(true) => {}
                Ok(false) => break,
                Err(LedgerError::Corrupt { height, reason }) => return Err(fault(height, reason)),
                Err(e) => return Err(unreadable(state.slot + 1, e)),
            }
        }
        if shared && mode == Replay::Open {
            return Ok(state);
        }
        let next = state.slot + 1;
        let last = store.last_height().map_err(|e| unreadable(next, e))?;
        if last < next {
            return Ok(state);
        }
        // A shared log may have grown since the empty slot was read: read on, and count the
        // slot missing only when it still is.
        if !shared || gap_at == Some(next) {
            return Err(fault(
                next,
                format!("missing, while the store holds block {last}"),
            ));
        }
        gap_at = Some(next);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        genesis::{CircuitPin, Member, Role},
        transaction::tests::{claim, continuation, key},
    };
    use zkclaim_circuits::{claim::Shape, settled};

    const H1: u32 = 1;
    const H2: u32 = 2;

    fn genesis() -> Genesis {
        Genesis {
            chain_id: "c".into(),
            members: [H1, H2]
                .iter()
                .map(|&id| Member {
                    id,
                    name: format!("h{id}"),
                    role: Role::Hospital,
                    public_key: key(id).public_key(),
                })
                .collect(),
            verifying_key_digest: [0; 32],
            proving_key_digest: None,
            ceremony: None,
            continuation: Some(CircuitPin {
                verifying_key_digest: [0; 32],
                proving_key_digest: None,
                ceremony: None,
            }),
            shape: Shape { items: 2, depth: 4 },
            root_window: 5,
            root_max_age_ms: 1_000,
            hospital_root_quota: Some(2),
            block_window_ms: 0,
        }
    }

    fn tx(tx: Transaction, member: u32) -> SignedTransaction {
        tx.sign("c", &key(member))
    }

    fn register(c: u64, member: u32) -> SignedTransaction {
        tx(
            Transaction::RegisterInvoice {
                commitment: Fr::from(c),
            },
            member,
        )
    }

    fn void(c: u64, member: u32) -> SignedTransaction {
        tx(
            Transaction::VoidInvoice {
                commitment: Fr::from(c),
            },
            member,
        )
    }

    /// Admits the transactions into one block at `time_ms` and applies it.
    fn block(state: &mut State, time_ms: u64, txs: &[SignedTransaction]) -> Undo {
        let mut pending = state.pending(time_ms);
        for stx in txs {
            state.admit(stx, stx.id("c"), &mut pending).unwrap();
        }
        state.apply(pending).2
    }

    /// A (not verifying) primary claim against the current invoice root.
    fn primary(state: &State, seed: u64) -> SignedTransaction {
        let mut c = claim(seed);
        c.public_inputs.invoice_root = state.root();
        tx(Transaction::SettleClaim { claim: c }, 4)
    }

    /// A (not verifying) continuation against the current invoice root and `settled_root`.
    fn next(state: &State, seed: u64, settled_root: Fr) -> SignedTransaction {
        let mut c = continuation(seed);
        c.public_inputs.invoice_root = state.root();
        c.public_inputs.settled_root = settled_root;
        tx(Transaction::SettleContinuation { claim: c }, 4)
    }

    /// What a rollback must restore.
    fn snapshot(state: &State) -> impl PartialEq + std::fmt::Debug {
        (
            (
                state.settled_root(),
                state.settled_roots(u64::MAX / 2),
                state
                    .settled_roots
                    .roots
                    .iter()
                    .map(|e| e.replaced_ms)
                    .collect::<Vec<_>>(),
                state.settled.leaves().to_vec(),
                state.settled_index.clone(),
                state.settled_heights.clone(),
                state.claims.keys().copied().collect::<HashSet<_>>(),
            ),
            state.root(),
            state.roots(u64::MAX / 2),
            state
                .roots
                .roots
                .iter()
                .map(|e| e.replaced_ms)
                .collect::<Vec<_>>(),
            state.tree.leaves().to_vec(),
            state.voided.clone(),
            state.recent.clone(),
            state.by_hospital.clone(),
            state.registrations.len(),
            (state.height(), state.slot()),
        )
    }

    #[test]
    fn a_block_with_voids_rolls_back_to_the_state_before_it() {
        let mut state = State::new(&genesis());
        block(&mut state, 0, &[register(1, H1), register(2, H2)]);
        block(&mut state, 100, &[register(3, H1), register(4, H2)]);
        let before = snapshot(&state);
        block(&mut state, 1_500, &[register(8, H1)]);
        let settled = [primary(&state, 100)];
        block(&mut state, 1_600, &settled);
        let first_settled = state.settled_root();
        block(&mut state, 2_000, &[register(9, H2)]);
        let before_last = snapshot(&state);
        // Voids, registrations of both hospitals, a quota entry dropped from each (quota 2),
        // the empty root evicted from the window (K = 5), and claims of both circuits.
        let txs = [
            primary(&state, 200),
            next(&state, 300, first_settled),
            void(1, H1),
            register(5, H1),
            void(9, H2),
            register(6, H2),
        ];
        let undo = block(&mut state, 2_100, &txs);
        assert_eq!(state.tree.leaves()[0], Fr::from(0u64));
        assert_eq!(state.voided.len(), 2);
        assert_eq!(state.roots.roots.len(), 5);
        assert_eq!(state.settled_count(), 3);
        assert_eq!(state.settled_roots.roots.len(), 3);
        assert_eq!(state.later_settlements(0), Ok(2));
        assert_eq!(state.later_settlements(1), Ok(0));
        assert_ne!(state.roots.roots[0].root, IncrementalTree::new(4).root());
        assert_ne!(snapshot(&state), before_last);
        state.rollback(undo);
        assert_eq!(snapshot(&state), before_last);
        assert_ne!(snapshot(&state), before);
    }

    #[test]
    fn a_void_in_the_block_refuses_a_registration_of_the_same_commitment() {
        let mut state = State::new(&genesis());
        block(&mut state, 10, &[register(1, H1)]);
        let mut pending = state.pending(20);
        let voiding = void(1, H1);
        state
            .admit(&voiding, voiding.id("c"), &mut pending)
            .unwrap();
        assert_eq!(
            state.check(&register(1, H2), &pending),
            Err(LedgerError::VoidedCommitment { height: 2 })
        );
        assert_eq!(
            state.check(&void(1, H1), &pending),
            Err(LedgerError::AlreadyVoided { height: 2 })
        );
        // Not yet registered: a void must follow the registration's block.
        let mut fresh = state.pending(20);
        let registering = register(7, H1);
        state
            .admit(&registering, registering.id("c"), &mut fresh)
            .unwrap();
        assert_eq!(
            state.check(&void(7, H1), &fresh),
            Err(LedgerError::UnregisteredCommitment)
        );
    }

    #[test]
    fn continuations_prove_against_a_settled_root_in_its_window() {
        let mut state = State::new(&genesis());
        block(&mut state, 0, &[register(1, H1)]);
        let empty = state.settled_root();
        // A made-up settled root, or one before the previous rank settled, is not known.
        assert_eq!(
            state.check(&next(&state, 1, Fr::from(77u64)), &state.pending(10)),
            Err(LedgerError::StaleSettledRoot)
        );
        let settling = [primary(&state, 10)];
        block(&mut state, 100, &settling);
        let after_primary = state.settled_root();
        assert_ne!(after_primary, empty);
        let leaf = settled::primary_leaf(&claim(10).public_inputs);
        assert_eq!(state.settled_index(&leaf), Some(0));
        assert_eq!(
            zkclaim_circuits::tree::root_from_path(&leaf, &state.settled_path(0).unwrap()),
            after_primary
        );
        let continuing = next(&state, 20, after_primary);
        assert_eq!(state.check(&continuing, &state.pending(200)), Ok(()));
        // Twice in one block: the nullifier is spent by the first.
        let mut pending = state.pending(200);
        state
            .admit(&continuing, continuing.id("c"), &mut pending)
            .unwrap();
        assert_eq!(
            state.check(&continuing, &pending),
            Err(LedgerError::DuplicateClaim { first_height: 3 })
        );
        state.apply(pending);
        // The root it replaced stays accepted for root_max_age (1,000 ms) of block time.
        let later = next(&state, 30, after_primary);
        assert_eq!(state.check(&later, &state.pending(1_200)), Ok(()));
        assert_eq!(
            state.check(&later, &state.pending(1_201)),
            Err(LedgerError::ExpiredSettledRoot {
                age_ms: 1_001,
                max_age_ms: 1_000
            })
        );
        // A settled leaf already in the tree, under a fresh nullifier.
        let mut copy = continuation(40);
        copy.public_inputs.invoice_root = state.root();
        copy.public_inputs.settled_root = state.settled_root();
        copy.public_inputs.settled_leaf = leaf;
        assert_eq!(
            state.check(
                &tx(Transaction::SettleContinuation { claim: copy }, 4),
                &state.pending(1_300)
            ),
            Err(LedgerError::DuplicateSettledLeaf)
        );
        // Without a continuation key in the genesis, none is accepted.
        let mut unpinned = genesis();
        unpinned.continuation = None;
        let mut plain = State::new(&unpinned);
        block(&mut plain, 0, &[register(1, H1)]);
        let root = plain.settled_root();
        assert_eq!(
            plain.check(&next(&plain, 1, root), &plain.pending(10)),
            Err(LedgerError::NoContinuationKey)
        );
    }

    #[test]
    fn the_quota_counts_blocks_not_transactions_within_root_max_age() {
        let mut state = State::new(&genesis());
        // Any number of registrations share one block.
        block(
            &mut state,
            0,
            &[register(1, H1), register(2, H1), register(3, H1)],
        );
        block(&mut state, 500, &[register(4, H1)]);
        // Quota 2 within 1,000 ms: the third block waits until the first is older.
        assert_eq!(
            state.check(&register(5, H1), &state.pending(1_000)),
            Err(LedgerError::RateLimited {
                member: H1,
                quota: 2,
                retry_after_ms: 1
            })
        );
        assert_eq!(state.check(&register(5, H2), &state.pending(1_000)), Ok(()));
        assert_eq!(state.check(&register(5, H1), &state.pending(1_001)), Ok(()));
        // Roots stay accepted for exactly root_max_age after they were replaced.
        let first = state.roots.roots[1].root;
        assert!(state.roots(1_500).contains(&first));
        assert!(!state.roots(1_501).contains(&first));
    }
}
