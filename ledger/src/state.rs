//! The deterministic state machine that blocks drive: the invoice tree, the window of recent
//! roots and the spent nullifiers. It is never stored; [`replay`] rebuilds it from blocks.
//!
//! A store is a sequence of slots, heights from 1. On a store this node alone writes, every
//! block was checked before it was written, so a block that breaks a rule is corruption and
//! stops the replay. On a shared log (etcd) each slot is one member's proposal: a slot whose
//! block breaks a rule, checked against the state after the last valid block, is recorded as
//! a [`Rejection`] by every node alike, and the chain goes on from the last valid block.

use crate::{
    block::{tx_root, Block, BlockHeader},
    genesis::{Consortium, Genesis},
    store::BlockStore,
    transaction::{SignedTransaction, Transaction},
    LedgerError,
};
use ark_bn254::Fr;
use rand::rngs::OsRng;
use std::collections::{HashMap, HashSet, VecDeque};
use zkclaim_circuits::{
    claim::PublicInputs,
    tree::{IncrementalTree, MerklePath},
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

/// A settled claim, keyed by its nullifier (never by proof bytes, which can be
/// re-randomized).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimRecord {
    pub height: u64,
    pub tx_index: u32,
    pub insurer: u32,
    pub public_inputs: PublicInputs,
    pub proof: Proof,
}

pub(crate) struct State {
    tree: IncrementalTree,
    leaf_index: HashMap<Fr, u64>,
    /// The last K distinct invoice roots, oldest first (the genesis empty root while it is
    /// one of them): the roots after the last K blocks that registered invoices.
    roots: VecDeque<Fr>,
    window: usize,
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
    count: u32,
    commitments: Vec<Fr>,
    new_commitments: HashSet<Fr>,
    claims: HashMap<Fr, ClaimRecord>,
    ids: Vec<[u8; 32]>,
}

/// What [`State::apply`] changed, so that [`State::rollback`] can undo a block that was
/// built but lost its slot in a shared log to another node's block.
pub(crate) struct Undo {
    invoices: u64,
    roots: VecDeque<Fr>,
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
        Self {
            roots: VecDeque::from([tree.root()]),
            tree,
            leaf_index: HashMap::new(),
            window: genesis.root_window as usize,
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

    pub(crate) fn roots(&self) -> Vec<Fr> {
        self.roots.iter().copied().collect()
    }

    pub(crate) fn invoice_count(&self) -> u64 {
        self.tree.len()
    }

    pub(crate) fn claim_count(&self) -> u64 {
        self.claims.len() as u64
    }

    pub(crate) fn leaf_index(&self, commitment: &Fr) -> Option<u64> {
        self.leaf_index.get(commitment).copied()
    }

    pub(crate) fn merkle_path(&self, leaf_index: u64) -> Result<MerklePath, LedgerError> {
        self.tree
            .path(leaf_index)
            .map_err(|_| LedgerError::UnknownLeaf(leaf_index))
    }

    pub(crate) fn claim(&self, nullifier: &Fr) -> Option<ClaimRecord> {
        self.claims.get(nullifier).cloned()
    }

    /// Where transaction `id` landed, with its block's hash, if it is on the chain.
    pub(crate) fn placement(&self, id: &[u8; 32]) -> Option<(u64, u32, [u8; 32])> {
        let &(height, index) = self.placed.get(id)?;
        Some((height, index, self.block_hash(height)?))
    }

    /// An empty block for the next slot.
    pub(crate) fn pending(&self) -> Pending {
        Pending {
            height: self.slot + 1,
            count: 0,
            commitments: Vec::new(),
            new_commitments: HashSet::new(),
            claims: HashMap::new(),
            ids: Vec::new(),
        }
    }

    /// The state's rules for one (already authorized) transaction: a fresh commitment and
    /// room in the tree; a root in the window and an unspent nullifier.
    pub(crate) fn check(&self, tx: &Transaction, pending: &Pending) -> Result<(), LedgerError> {
        match tx {
            Transaction::RegisterInvoice { commitment } => {
                if self.leaf_index.contains_key(commitment)
                    || pending.new_commitments.contains(commitment)
                {
                    return Err(LedgerError::DuplicateCommitment);
                }
                let len = self.tree.len() + pending.commitments.len() as u64;
                if len >> self.tree.depth() != 0 {
                    return Err(LedgerError::TreeFull);
                }
            }
            Transaction::SettleClaim { claim } => {
                let public = &claim.public_inputs;
                if !self.roots.contains(&public.invoice_root) {
                    return Err(LedgerError::StaleRoot);
                }
                if let Some(first) = self
                    .claims
                    .get(&public.nullifier)
                    .or_else(|| pending.claims.get(&public.nullifier))
                {
                    return Err(LedgerError::DuplicateClaim {
                        first_height: first.height,
                    });
                }
            }
        }
        Ok(())
    }

    /// Checks `stx` (whose id is `id`) against the state and the pending block, then adds
    /// it to the block.
    pub(crate) fn admit(
        &self,
        stx: &SignedTransaction,
        id: [u8; 32],
        pending: &mut Pending,
    ) -> Result<(), LedgerError> {
        self.check(&stx.tx, pending)?;
        match &stx.tx {
            Transaction::RegisterInvoice { commitment } => {
                pending.commitments.push(*commitment);
                pending.new_commitments.insert(*commitment);
            }
            Transaction::SettleClaim { claim } => {
                let record = ClaimRecord {
                    height: pending.height,
                    tx_index: pending.count,
                    insurer: stx.signer,
                    public_inputs: claim.public_inputs,
                    proof: claim.proof,
                };
                pending.claims.insert(claim.public_inputs.nullifier, record);
            }
        }
        pending.ids.push(id);
        pending.count += 1;
        Ok(())
    }

    /// Applies an admitted block's effects and returns the invoice root after it; the
    /// caller then [`State::seal`]s it with the block's header, or rolls it back.
    pub(crate) fn apply(&mut self, pending: Pending) -> (Fr, Undo) {
        let undo = Undo {
            invoices: self.tree.len(),
            roots: self.roots.clone(),
            slot: self.slot,
            height: self.height,
            nullifiers: pending.claims.keys().copied().collect(),
            ids: pending.ids.clone(),
        };
        for (index, id) in pending.ids.into_iter().enumerate() {
            self.placed.insert(id, (pending.height, index as u32));
        }
        for commitment in pending.commitments {
            let index = self
                .tree
                .append(commitment)
                .expect("admission checked the tree has room");
            self.leaf_index.insert(commitment, index);
        }
        self.claims.extend(pending.claims);
        self.slot = pending.height;
        self.height = pending.height;
        let root = self.tree.root();
        // Only blocks that register invoices move the root; blocks of claims alone must not
        // push a patient's root out of the window.
        if self.roots.back() != Some(&root) {
            self.roots.push_back(root);
            if self.roots.len() > self.window {
                self.roots.pop_front();
            }
        }
        (root, undo)
    }

    /// Undoes an [`State::apply`] that was not sealed.
    pub(crate) fn rollback(&mut self, undo: Undo) {
        for leaf in &self.tree.leaves()[undo.invoices as usize..] {
            self.leaf_index.remove(leaf);
        }
        self.tree.truncate(undo.invoices);
        for nullifier in &undo.nullifiers {
            self.claims.remove(nullifier);
        }
        for id in &undo.ids {
            self.placed.remove(id);
        }
        self.roots = undo.roots;
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
        proofs: Option<&PreparedClaimKey>,
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
        proofs: Option<&PreparedClaimKey>,
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
        let mut pending = self.pending();
        for (i, (stx, id)) in block.transactions.iter().zip(ids).enumerate() {
            stx.authorize(consortium)
                .and_then(|()| self.admit(stx, id, &mut pending))
                .map_err(|e| refuse(format!("transaction {i}: {e}")))?;
        }
        let (root, undo) = self.apply(pending);
        if root != h.invoice_root {
            self.rollback(undo);
            return Err(refuse(
                "invoice_root is not the root after the block".into(),
            ));
        }
        self.seal(h);
        Ok(())
    }
}

/// Verifies every claim proof of a block in one batch (one final exponentiation for the
/// block); when the batch fails, names the first bad transaction.
fn verify_block_claims(key: &PreparedClaimKey, block: &Block) -> Result<(), String> {
    let (positions, claims): (Vec<usize>, Vec<(PublicInputs, Proof)>) = block
        .transactions
        .iter()
        .enumerate()
        .filter_map(|(i, stx)| match &stx.tx {
            Transaction::SettleClaim { claim } => Some((i, (claim.public_inputs, claim.proof))),
            Transaction::RegisterInvoice { .. } => None,
        })
        .unzip();
    verify_batch(key, &claims, &mut OsRng).map_err(|e| {
        let first = e.failures[0].0;
        format!(
            "transaction {}: {}",
            positions[first],
            LedgerError::InvalidProof
        )
    })
}

/// Verifies a claim's proof; other transactions carry none.
pub(crate) fn verify_claim(key: &PreparedClaimKey, tx: &Transaction) -> Result<(), LedgerError> {
    match tx {
        Transaction::SettleClaim { claim } => {
            claim.verify(key).map_err(|_| LedgerError::InvalidProof)
        }
        Transaction::RegisterInvoice { .. } => Ok(()),
    }
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

/// Rebuilds the state from every stored slot, checking each (see [`State::step`]); on
/// failure, the height of the first bad block and why. Height 0 stands for the genesis or the
/// verifying key.
pub(crate) fn replay(
    store: &dyn BlockStore,
    genesis: &Genesis,
    key: &PreparedClaimKey,
    mode: Replay,
) -> Result<State, (u64, String)> {
    let consortium = genesis.consortium().map_err(|e| (0, e.to_string()))?;
    if key.key().digest() != genesis.verifying_key_digest {
        return Err((0, LedgerError::WrongVerifyingKey.to_string()));
    }
    let shared = store.shared();
    let proofs = (shared || mode == Replay::Audit).then_some(key);
    let mut state = State::new(genesis);
    let mut gap_at = None;
    loop {
        loop {
            match state.step(store, &consortium, proofs) {
                Ok(true) => {}
                Ok(false) => break,
                Err(LedgerError::Corrupt { height, reason }) => return Err((height, reason)),
                Err(e) => return Err((state.slot + 1, e.to_string())),
            }
        }
        if shared && mode == Replay::Open {
            return Ok(state);
        }
        let next = state.slot + 1;
        let last = store.last_height().map_err(|e| (next, e.to_string()))?;
        if last < next {
            return Ok(state);
        }
        // A shared log may have grown since the empty slot was read: read on, and count the
        // slot missing only when it still is.
        if !shared || gap_at == Some(next) {
            return Err((next, format!("missing, while the store holds block {last}")));
        }
        gap_at = Some(next);
    }
}
