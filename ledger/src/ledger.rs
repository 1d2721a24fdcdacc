//! The running ledger: concurrent submission, one committer cutting blocks, reads.
//!
//! `submit` does the state-free checks of the transaction alone (signature, role) in the
//! caller's thread, then queues it. A verifier thread takes what is queued (up to
//! [`VERIFY_BATCH`]), verifies the claims' proofs in one batch per circuit over all cores,
//! answers the bad ones and passes the rest on in their order. A single committer thread
//! gathers what the verifier passes within the genesis `block_window_ms`, checks it against
//! the state (roots young enough, unspent nullifier, fresh commitment, a void by its
//! registrant, the hospital's quota of blocks) and applies it, all under the state's write
//! lock, writes the block durably, and only then answers each submitter. The two threads run
//! side by side: the next claims' proofs are verified while a block is being written.
//! Readers never see a block that is not yet durable: the write lock is held until the
//! store has it.
//!
//! On a shared store (etcd) other nodes append too. A follower thread applies their blocks
//! as they appear, verifying every proof; a committer that loses the race for a slot undoes
//! its block, catches up and admits its batch again. A slot whose block breaks a rule is
//! rejected by every node alike and skipped: the next block chains onto the last valid one,
//! so one bad proposal costs one slot. A transaction already on the chain, such as a
//! client's retry after a lost acknowledgement, is answered with its first receipt.

use crate::{
    audit::{audit, AuditError, AuditReport},
    block::{tx_root, Block, BlockHeader},
    genesis::{Consortium, Genesis, MemberKey, Role},
    keys::VerifyingKeys,
    state::{replay, verify_claim, verify_claims, ClaimRecord, Leaf, Rejection, Replay, State},
    store::{BlockStore, RequestId},
    transaction::SignedTransaction,
    LedgerError,
};
use ark_bn254::Fr;
use rayon::ThreadPool;
use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender, TryRecvError},
        Arc, Mutex, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard,
    },
    thread::JoinHandle,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};
use zkclaim_circuits::tree::MerklePath;

/// Where an accepted transaction landed. It is returned only once its block is durable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub height: u64,
    pub block_hash: [u8; 32],
    pub tx_index: u32,
    pub tx_id: [u8; 32],
}

/// An invoice's Merkle path at the ledger's current root ([`Ledger::leaf_path`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafPath {
    pub path: MerklePath,
    /// The root the path leads to: the current one.
    pub root: Fr,
    /// The height of the last block, which produced `root` or came after it.
    pub height: u64,
    /// Invoices registered by other hospitals in blocks after the one that registered this
    /// leaf: the crowd `root` hides the leaf's block in (docs/protocol.md, "Root choice").
    pub later_by_others: u64,
}

/// A page of the invoice tree's leaves ([`Ledger::leaves`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leaves {
    pub height: u64,
    /// Leaves in the whole tree.
    pub count: u64,
    /// The current root: of all `count` leaves.
    pub root: Fr,
    pub leaves: Vec<Leaf>,
}

/// A settled claim's leaf and its Merkle path at the ledger's current settled root
/// ([`Ledger::settled_path`]): what a continuation claim proves against (statement v2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettledPath {
    /// The leaf's index in the settled tree.
    pub index: u64,
    pub path: MerklePath,
    /// The settled root the path leads to: the current one.
    pub root: Fr,
    /// The height of the last block, which produced `root` or came after it.
    pub height: u64,
    /// Claims settled in blocks after the one that settled this leaf: the crowd `root`
    /// hides that block in, as [`LeafPath::later_by_others`] for invoice roots.
    pub later_settlements: u64,
}

/// A ledger node: the state rebuilt from its store, and the committer that extends it.
pub struct Ledger {
    inner: Arc<Inner>,
    queue: Sender<Message>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

struct Inner {
    genesis: Genesis,
    consortium: Consortium,
    keys: VerifyingKeys,
    proposer: MemberKey,
    store: Arc<dyn BlockStore>,
    live: RwLock<Live>,
    closing: AtomicBool,
    /// The last [`Ledger::audit`]: the height it ran at, and what it found.
    audited: Mutex<Option<(u64, Audited)>>,
}

type Audited = Result<AuditReport, AuditError>;

struct Live {
    state: State,
    /// Set when a failed write left the store unreadable: nothing more is accepted.
    broken: Option<String>,
}

enum Message {
    Submit(Box<Queued>),
    Close,
}

type Reply = SyncSender<Result<Receipt, LedgerError>>;

struct Queued {
    stx: SignedTransaction,
    id: [u8; 32],
    reply: Reply,
}

/// One transaction of a batch, with everyone who submitted it.
struct Entry {
    stx: SignedTransaction,
    id: [u8; 32],
    replies: Vec<Reply>,
}

/// How many times a committer catches up and rebuilds its block before giving up.
const MAX_ATTEMPTS: usize = 64;

/// The most submissions the verifier verifies together before passing them on. Batches
/// amortize the final exponentiation (a batch of 32 costs little more per proof than one of
/// 64); smaller ones let the committer start on a block while the next is verified, even
/// with few submitters.
pub const VERIFY_BATCH: usize = 32;

impl Ledger {
    /// Checks the genesis, the verifying keys (their digests must be the genesis ones) and
    /// the proposer key, replays every stored block, and starts the committer (and, on a
    /// shared store, the follower). Blocks of a shared store are other members' work: their
    /// proofs are verified too.
    pub fn open(
        store: Arc<dyn BlockStore>,
        genesis: Genesis,
        keys: VerifyingKeys,
        proposer: MemberKey,
    ) -> Result<Self, LedgerError> {
        let consortium = genesis.consortium()?;
        keys.check(&genesis)?;
        let id = proposer.member_id();
        match consortium.public_key(id) {
            None => return Err(LedgerError::UnknownMember(id)),
            Some(pk) if pk != proposer.public_key() => {
                return Err(LedgerError::ProposerKeyMismatch(id))
            }
            Some(_) => {}
        }
        let state =
            replay(&*store, &genesis, &keys, Replay::Open).map_err(|e| LedgerError::Corrupt {
                height: e.height,
                reason: e.reason,
            })?;
        let inner = Arc::new(Inner {
            genesis,
            consortium,
            keys,
            proposer,
            store,
            live: RwLock::new(Live {
                state,
                broken: None,
            }),
            closing: AtomicBool::new(false),
            audited: Mutex::new(None),
        });
        let (queue, inbox) = mpsc::channel();
        let (verified, committer_inbox) = mpsc::channel();
        let spawn = |name: &str, run: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(name.into())
                .spawn(run)
                .map_err(|e| LedgerError::Storage(format!("cannot start the {name}: {e}")))
        };
        let mut threads = Vec::new();
        let committer = Arc::clone(&inner);
        threads.push(spawn(
            "zkclaim-committer",
            Box::new(move || committer.run(committer_inbox)),
        )?);
        // The verifier's own threads: a submitter blocked in `submit` on a thread of rayon's
        // global pool cannot then hold up the verification it waits for.
        let pool = rayon::ThreadPoolBuilder::new()
            .thread_name(|i| format!("zkclaim-verifier-{i}"))
            .build()
            .map_err(|e| LedgerError::Storage(format!("cannot start the verifier: {e}")))?;
        let verifier = Arc::clone(&inner);
        threads.push(spawn(
            "zkclaim-verifier",
            Box::new(move || verifier.verify(inbox, verified, pool)),
        )?);
        let ledger = Self {
            inner,
            queue,
            threads: Mutex::new(threads),
        };
        if ledger.inner.store.shared() {
            let follower = Arc::clone(&ledger.inner);
            let handle = spawn("zkclaim-follower", Box::new(move || follower.follow()))?;
            ledger.threads().push(handle);
        }
        Ok(ledger)
    }

    fn threads(&self) -> std::sync::MutexGuard<'_, Vec<JoinHandle<()>>> {
        self.threads.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Submits a transaction and waits until its block is durable. Safe to call from many
    /// threads; transactions arriving together share a block.
    pub fn submit(&self, stx: SignedTransaction) -> Result<Receipt, LedgerError> {
        let inner = &self.inner;
        stx.authorize(&inner.consortium)?;
        let id = stx.id(&inner.consortium.chain_id);
        {
            // A retry of a transaction on the chain gets its receipt. Otherwise refuse early
            // what the state already rules out, before paying for the proof; the committer
            // checks again, atomically with the spend.
            let live = inner.read();
            if let Some(placed) = live.state.placement(&stx, &id) {
                return Ok(receipt(id, placed));
            }
            let now = now_ms().max(live.state.time_ms());
            live.state.check(&stx, &live.state.pending(now))?;
        }
        let (reply, answer) = mpsc::sync_channel(1);
        self.queue
            .send(Message::Submit(Box::new(Queued { stx, id, reply })))
            .map_err(|_| LedgerError::Closed)?;
        answer.recv().map_err(|_| LedgerError::Closed)?
    }

    /// What [`Ledger::submit`] checks of `stx` alone, without the state: its signer may
    /// submit it (a member of the right role, its signature) and a claim's proof verifies.
    /// For a caller that must know before it acts on a transaction (an insurer records the
    /// outcome of verified claims only).
    pub fn precheck(&self, stx: &SignedTransaction) -> Result<(), LedgerError> {
        stx.authorize(&self.inner.consortium)?;
        verify_claim(&self.inner.keys, &stx.tx)
    }

    pub fn genesis(&self) -> &Genesis {
        &self.inner.genesis
    }

    /// Whether other nodes append to this ledger's store (a shared log such as etcd).
    pub fn shared(&self) -> bool {
        self.inner.store.shared()
    }

    /// The height of the last valid block. On a shared log, heights are slots: a rejected
    /// slot's height is skipped.
    pub fn height(&self) -> u64 {
        self.inner.read().state.height()
    }

    /// The slots of a shared log that every node refused, in order.
    pub fn rejections(&self) -> Vec<Rejection> {
        self.inner.read().state.rejected().to_vec()
    }

    /// The invoice-tree root after the last block.
    pub fn root(&self) -> Fr {
        self.inner.read().state.root()
    }

    /// The roots a claim settled now may prove against, oldest first: the current one and
    /// those replaced less than `root_max_age_ms` ago (among the last K).
    pub fn roots(&self) -> Vec<Fr> {
        let live = self.inner.read();
        live.state.roots(now_ms().max(live.state.time_ms()))
    }

    pub fn invoice_count(&self) -> u64 {
        self.inner.read().state.invoice_count()
    }

    pub fn leaf_index(&self, commitment: Fr) -> Option<u64> {
        self.inner.read().state.leaf_index(&commitment)
    }

    /// The leaf's path in the current tree, the root it proves against, and how many
    /// registrations by other hospitals that root holds after the leaf's block, all read
    /// together. Refused for a voided leaf.
    pub fn leaf_path(&self, leaf_index: u64) -> Result<LeafPath, LedgerError> {
        let live = self.inner.read();
        let state = &live.state;
        Ok(LeafPath {
            path: state.merkle_path(leaf_index)?,
            root: state.root(),
            height: state.height(),
            later_by_others: state.later_registrations_by_others(leaf_index)?,
        })
    }

    /// Up to `limit` leaves of the invoice tree from index `from`, with the height of the
    /// last block and the root they all make (with the leaves before `from`), read together:
    /// a patient's device builds its invoice's path from every leaf, so that no node learns
    /// which invoice it claims (docs/protocol.md, "Paths without asking").
    pub fn leaves(&self, from: u64, limit: usize) -> Leaves {
        let live = self.inner.read();
        let state = &live.state;
        Leaves {
            height: state.height(),
            count: state.invoice_count(),
            root: state.root(),
            leaves: state.leaves(from, limit),
        }
    }

    /// The settled-tree root after the last block (statement v2).
    pub fn settled_root(&self) -> Fr {
        self.inner.read().state.settled_root()
    }

    /// The settled roots a continuation settled now may prove against, oldest first, by the
    /// same rules as [`Ledger::roots`].
    pub fn settled_roots(&self) -> Vec<Fr> {
        let live = self.inner.read();
        live.state.settled_roots(now_ms().max(live.state.time_ms()))
    }

    /// How many claims (of both circuits) have settled: the settled tree's size.
    pub fn settled_count(&self) -> u64 {
        self.inner.read().state.settled_count()
    }

    /// The settled-tree index of a settled claim's leaf.
    pub fn settled_index(&self, leaf: Fr) -> Option<u64> {
        self.inner.read().state.settled_index(&leaf)
    }

    /// The settled leaf's path in the current settled tree, the root it proves against, and
    /// how many claims settled in later blocks, all read together.
    pub fn settled_path(&self, index: u64) -> Result<SettledPath, LedgerError> {
        let live = self.inner.read();
        let state = &live.state;
        Ok(SettledPath {
            index,
            path: state.settled_path(index)?,
            root: state.settled_root(),
            height: state.height(),
            later_settlements: state.later_settlements(index)?,
        })
    }

    /// The settled claim of either circuit with this nullifier.
    pub fn claim(&self, nullifier: Fr) -> Option<ClaimRecord> {
        self.inner.read().state.claim(&nullifier)
    }

    /// The durable valid block at `height` (from 1), `None` for a rejected slot or past this
    /// node's head. Read through the ledger's own store handle (redb refuses a second open of
    /// a file the node holds), and only if it is the block this node applied there.
    pub fn block(&self, height: u64) -> Result<Option<Block>, LedgerError> {
        let Some(hash) = self.inner.read().state.block_hash(height) else {
            return Ok(None);
        };
        match self.inner.store.block(height)? {
            Some(block) if block.header.hash() == hash => Ok(Some(block)),
            _ => Err(LedgerError::Corrupt {
                height,
                reason: "the store no longer holds the block this node applied".into(),
            }),
        }
    }

    /// Audits this node's chain as [`crate::audit`] does: every stored block replayed from
    /// the genesis and re-verified with the pinned keys, trusting nothing this node holds
    /// in memory. A replay verifies every proof on the chain again, so its result is kept
    /// for the height it ran at: asked again before the next block, it is answered at once;
    /// one audit runs at a time. Answers that height and the result; a store that could not
    /// be read ([`AuditError::unreadable`]) is tried again next time.
    pub fn audit(&self) -> (u64, Audited) {
        let inner = &self.inner;
        let mut audited = inner.audited.lock().unwrap_or_else(PoisonError::into_inner);
        let height = self.height();
        if let Some((at, result)) = &*audited {
            if *at == height {
                return (height, result.clone());
            }
        }
        let result = audit(&*inner.store, &inner.genesis, &inner.keys);
        *audited = match &result {
            Err(e) if e.unreadable => None,
            _ => Some((height, result.clone())),
        };
        (height, result)
    }

    /// Checks that consortium member `member` signed `message` (strictly) and returns its
    /// role: authentication of off-ledger requests with the keys in the genesis.
    pub fn verify_member(
        &self,
        member: u32,
        message: &[u8],
        signature: &[u8; 64],
    ) -> Result<Role, LedgerError> {
        self.inner.consortium.verify(member, message, signature)
    }

    /// Records an authenticated member request in the store, durably, where this node after
    /// a restart and every node sharing the store will find it: `false` if it is there
    /// already (a replay), or was made before `forget_before` (unix seconds; the ids of such
    /// requests may have been forgotten).
    pub fn record_request(&self, id: &RequestId, forget_before: u64) -> Result<bool, LedgerError> {
        if id.timestamp < forget_before {
            return Ok(false);
        }
        self.inner.store.record_request(id, forget_before)
    }

    /// Stops the committer after it has answered everything queued before, and the
    /// follower; later submits fail with [`LedgerError::Closed`]. Also done on drop.
    pub fn close(&self) {
        let threads = std::mem::take(&mut *self.threads());
        if threads.is_empty() {
            return;
        }
        self.inner.closing.store(true, Ordering::Relaxed);
        // Fails only if the committer is gone already, which the join then reports.
        let _ = self.queue.send(Message::Close);
        for handle in threads {
            // A panicked committer dropped its submitters' replies: they saw `Closed`.
            let _ = handle.join();
        }
    }
}

impl Drop for Ledger {
    fn drop(&mut self) {
        self.close();
    }
}

impl Inner {
    fn read(&self) -> RwLockReadGuard<'_, Live> {
        // The state is only mutated by the committer, which never panics mid-update.
        self.live.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The verifier: verifies the proofs of up to [`VERIFY_BATCH`] queued submissions at
    /// once, answers those that fail and passes the others on to the committer in the order
    /// they came; after a close, passes the close on once everything before it is passed.
    fn verify(&self, inbox: Receiver<Message>, committer: Sender<Message>, pool: ThreadPool) {
        let mut closing = false;
        while !closing {
            let mut batch = match inbox.recv() {
                Ok(Message::Submit(q)) => vec![*q],
                Ok(Message::Close) | Err(_) => break,
            };
            while batch.len() < VERIFY_BATCH {
                match inbox.try_recv() {
                    Ok(Message::Submit(q)) => batch.push(*q),
                    Ok(Message::Close) | Err(TryRecvError::Disconnected) => {
                        closing = true;
                        break;
                    }
                    Err(TryRecvError::Empty) => break,
                }
            }
            let verdicts =
                pool.install(|| verify_claims(&self.keys, batch.iter().map(|q| &q.stx.tx)));
            for (queued, verdict) in batch.into_iter().zip(verdicts) {
                match verdict {
                    // A gone committer drops the reply: the submitter sees `Closed`.
                    Ok(()) => drop(committer.send(Message::Submit(Box::new(queued)))),
                    Err(e) => drop(queued.reply.send(Err(e))),
                }
            }
        }
        // Fails only if the committer is gone already.
        let _ = committer.send(Message::Close);
    }

    /// The committer: one block per batch of transactions arriving within the window.
    fn run(&self, inbox: Receiver<Message>) {
        let window = Duration::from_millis(self.genesis.block_window_ms);
        while let Ok(Message::Submit(first)) = inbox.recv() {
            let deadline = Instant::now() + window;
            let mut batch = vec![*first];
            let mut closing = false;
            loop {
                match inbox.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                    Ok(Message::Submit(q)) => batch.push(*q),
                    Ok(Message::Close) | Err(RecvTimeoutError::Disconnected) => {
                        closing = true;
                        break;
                    }
                    Err(RecvTimeoutError::Timeout) => break,
                }
            }
            self.commit(batch);
            if closing {
                break;
            }
        }
    }

    fn write(&self) -> RwLockWriteGuard<'_, Live> {
        self.live.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// The follower: applies other nodes' blocks as they appear in the shared store.
    fn follow(&self) {
        while !self.closing.load(Ordering::Relaxed) {
            // Wait without the lock, so that an idle round never holds up readers or the
            // committer.
            let next = self.read().state.slot() + 1;
            if !self.store.wait_for(next) {
                continue;
            }
            let mut live = self.write();
            if live.broken.is_none() {
                // An unreachable log is retried on the next round; a bad block marks the
                // node broken inside.
                let _ = self.catch_up(&mut live);
            }
        }
    }

    /// Applies every slot the store has beyond the state, checking each block fully (proofs
    /// included: they are other members' blocks), and rejecting those that break a rule.
    /// A store that no longer reads as a log (a local one with a bad block) stops the node.
    fn catch_up(&self, live: &mut Live) -> Result<(), LedgerError> {
        loop {
            let rejected = live.state.rejected().len();
            match live
                .state
                .step(&*self.store, &self.consortium, Some(&self.keys))
            {
                Ok(true) => {}
                Ok(false) => return Ok(()),
                Err(e @ LedgerError::Corrupt { .. }) => {
                    live.broken = Some(e.to_string());
                    return Err(e);
                }
                Err(e) => return Err(e),
            }
            for r in &live.state.rejected()[rejected..] {
                tracing::warn!(
                    height = r.height,
                    proposer = r.proposer,
                    reason = %r.reason,
                    "rejected the block in this slot; the chain goes on from the last valid block"
                );
            }
        }
    }

    /// Cuts the batch into blocks of the size the store takes.
    fn commit(&self, batch: Vec<Queued>) {
        // Identical transactions submitted together share one slot and one receipt.
        let mut entries: Vec<Entry> = Vec::new();
        for q in batch {
            match entries.iter_mut().find(|e| e.id == q.id) {
                Some(entry) => entry.replies.push(q.reply),
                None => entries.push(Entry {
                    stx: q.stx,
                    id: q.id,
                    replies: vec![q.reply],
                }),
            }
        }
        let size = self.store.max_block_transactions().max(1);
        while !entries.is_empty() {
            let rest = entries.split_off(entries.len().min(size));
            self.commit_block(entries);
            entries = rest;
        }
    }

    /// Admits what the state allows, writes the block, then answers. On a shared store that
    /// another node appended to first, undoes the block, catches up and tries again. If the
    /// write fails otherwise, every transaction of the batch gets the error; the state is
    /// rebuilt from a local store, which stays the truth, and rolled back for a shared one,
    /// whose follower will bring whatever did land.
    fn commit_block(&self, entries: Vec<Entry>) {
        let mut live = self.write();
        let all = |e: LedgerError| (0..entries.len()).map(|i| (i, Err(e.clone()))).collect();
        let mut answers: Vec<(usize, Result<Receipt, LedgerError>)> = all(LedgerError::Storage(
            format!("other nodes took every height in {MAX_ATTEMPTS} attempts"),
        ));
        for _ in 0..MAX_ATTEMPTS {
            if let Some(reason) = &live.broken {
                answers = all(LedgerError::Storage(reason.clone()));
                break;
            }
            answers.clear();
            let time_ms = now_ms().max(live.state.time_ms());
            let mut pending = live.state.pending(time_ms);
            let mut accepted = Vec::new();
            for (i, entry) in entries.iter().enumerate() {
                if let Some(placed) = live.state.placement(&entry.stx, &entry.id) {
                    answers.push((i, Ok(receipt(entry.id, placed))));
                    continue;
                }
                match live.state.admit(&entry.stx, entry.id, &mut pending) {
                    Ok(()) => accepted.push(i),
                    Err(e) => answers.push((i, Err(e))),
                }
            }
            if pending.is_empty() {
                break;
            }
            let ids: Vec<[u8; 32]> = accepted.iter().map(|&i| entries[i].id).collect();
            let prev_hash = live.state.head_hash();
            let (invoice_root, settled_root, undo) = live.state.apply(pending);
            let mut header = BlockHeader {
                height: live.state.height(),
                prev_hash,
                tx_root: tx_root(&ids),
                invoice_root,
                settled_root,
                time_ms,
                proposer: 0,
                signature: [0; 64],
            };
            header.sign(&self.proposer);
            let block = Block {
                header,
                transactions: accepted.iter().map(|&i| entries[i].stx.clone()).collect(),
            };
            match self.store.append(&block) {
                Ok(()) => {
                    live.state.seal(&block.header);
                    let block_hash = block.header.hash();
                    for (tx_index, &i) in accepted.iter().enumerate() {
                        answers.push((
                            i,
                            Ok(Receipt {
                                height: block.header.height,
                                block_hash,
                                tx_index: tx_index as u32,
                                tx_id: entries[i].id,
                            }),
                        ));
                    }
                    break;
                }
                Err(LedgerError::HeadMoved) => {
                    live.state.rollback(undo);
                    // The block that won may be this node's own, written by an attempt
                    // whose answer was lost: the next round finds its transactions placed.
                    if let Err(e) = self.catch_up(&mut live) {
                        answers = all(e);
                        break;
                    }
                    answers = all(LedgerError::Storage(format!(
                        "other nodes took every height in {MAX_ATTEMPTS} attempts"
                    )));
                }
                Err(e) => {
                    if self.store.shared() {
                        live.state.rollback(undo);
                    } else {
                        match replay(&*self.store, &self.genesis, &self.keys, Replay::Open) {
                            Ok(state) => live.state = state,
                            Err(e) => {
                                live.broken = Some(format!("block {}: {}", e.height, e.reason))
                            }
                        }
                    }
                    answers = all(e);
                    break;
                }
            }
        }
        drop(live);
        let mut replies: Vec<Option<Vec<Reply>>> =
            entries.into_iter().map(|e| Some(e.replies)).collect();
        for (i, answer) in answers {
            for reply in replies[i].take().into_iter().flatten() {
                // A submitter that went away no longer needs the answer.
                let _ = reply.send(answer.clone());
            }
        }
    }
}

fn receipt(tx_id: [u8; 32], (height, tx_index, block_hash): (u64, u32, [u8; 32])) -> Receipt {
    Receipt {
        height,
        block_hash,
        tx_index,
        tx_id,
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("chain_id", &self.inner.genesis.chain_id)
            .field("height", &self.height())
            .finish()
    }
}
