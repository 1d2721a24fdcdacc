//! The running ledger: concurrent submission, one committer cutting blocks, reads.
//!
//! `submit` does the expensive, state-free checks (signature, role, proof) in the caller's
//! thread, then queues the transaction. A single committer thread gathers what arrives within
//! the genesis `block_window_ms`, checks it against the state (root window, unspent
//! nullifier, fresh commitment) and spends it, all under the state's write lock, writes the
//! block durably, and only then answers each submitter. Readers never see a block that is not
//! yet durable: the write lock is held until the store has it.

use crate::{
    block::{tx_root, Block, BlockHeader},
    genesis::{Consortium, Genesis, MemberKey, Role},
    state::{replay, verify_claim, ClaimRecord, State},
    store::BlockStore,
    transaction::SignedTransaction,
    LedgerError,
};
use ark_bn254::Fr;
use std::{
    sync::{
        mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender},
        Arc, Mutex, PoisonError, RwLock, RwLockReadGuard,
    },
    thread::JoinHandle,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};
use zkclaim_circuits::tree::MerklePath;
use zkclaim_verifier::PreparedClaimKey;

/// Where an accepted transaction landed. It is returned only once its block is durable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub height: u64,
    pub block_hash: [u8; 32],
    pub tx_index: u32,
    pub tx_id: [u8; 32],
}

/// A ledger node: the state rebuilt from its store, and the committer that extends it.
pub struct Ledger {
    inner: Arc<Inner>,
    queue: Sender<Message>,
    committer: Mutex<Option<JoinHandle<()>>>,
}

struct Inner {
    genesis: Genesis,
    consortium: Consortium,
    key: PreparedClaimKey,
    proposer: MemberKey,
    store: Arc<dyn BlockStore>,
    live: RwLock<Live>,
}

struct Live {
    state: State,
    /// Set when a failed write left the store unreadable: nothing more is accepted.
    broken: Option<String>,
}

enum Message {
    Submit(Box<Queued>),
    Close,
}

struct Queued {
    stx: SignedTransaction,
    id: [u8; 32],
    reply: SyncSender<Result<Receipt, LedgerError>>,
}

impl Ledger {
    /// Checks the genesis, the verifying key (its digest must be the genesis one) and the
    /// proposer key, replays every stored block, and starts the committer.
    pub fn open(
        store: Arc<dyn BlockStore>,
        genesis: Genesis,
        key: PreparedClaimKey,
        proposer: MemberKey,
    ) -> Result<Self, LedgerError> {
        let consortium = genesis.consortium()?;
        if key.key().digest() != genesis.verifying_key_digest {
            return Err(LedgerError::WrongVerifyingKey);
        }
        let id = proposer.member_id();
        match consortium.public_key(id) {
            None => return Err(LedgerError::UnknownMember(id)),
            Some(pk) if pk != proposer.public_key() => {
                return Err(LedgerError::ProposerKeyMismatch(id))
            }
            Some(_) => {}
        }
        let state = replay(&*store, &genesis, &key, false)
            .map_err(|(height, reason)| LedgerError::Corrupt { height, reason })?;
        let inner = Arc::new(Inner {
            genesis,
            consortium,
            key,
            proposer,
            store,
            live: RwLock::new(Live {
                state,
                broken: None,
            }),
        });
        let (queue, inbox) = mpsc::channel();
        let committer = {
            let inner = Arc::clone(&inner);
            std::thread::Builder::new()
                .name("zkclaim-committer".into())
                .spawn(move || inner.run(inbox))
                .map_err(|e| LedgerError::Storage(format!("cannot start the committer: {e}")))?
        };
        Ok(Self {
            inner,
            queue,
            committer: Mutex::new(Some(committer)),
        })
    }

    /// Submits a transaction and waits until its block is durable. Safe to call from many
    /// threads; transactions arriving together share a block.
    pub fn submit(&self, stx: SignedTransaction) -> Result<Receipt, LedgerError> {
        let inner = &self.inner;
        inner.consortium.authorize(&stx)?;
        {
            // Refuse early what the state already rules out, before paying for the proof;
            // the committer checks again, atomically with the spend.
            let live = inner.read();
            live.state.check(&stx.tx, &live.state.pending())?;
        }
        verify_claim(&inner.key, &stx.tx)?;
        let id = stx.id(&inner.consortium.chain_id);
        let (reply, answer) = mpsc::sync_channel(1);
        self.queue
            .send(Message::Submit(Box::new(Queued { stx, id, reply })))
            .map_err(|_| LedgerError::Closed)?;
        answer.recv().map_err(|_| LedgerError::Closed)?
    }

    pub fn genesis(&self) -> &Genesis {
        &self.inner.genesis
    }

    pub fn height(&self) -> u64 {
        self.inner.read().state.height()
    }

    /// The invoice-tree root after the last block.
    pub fn root(&self) -> Fr {
        self.inner.read().state.root()
    }

    /// The roots a claim may prove against, oldest first.
    pub fn roots(&self) -> Vec<Fr> {
        self.inner.read().state.roots()
    }

    pub fn invoice_count(&self) -> u64 {
        self.inner.read().state.invoice_count()
    }

    pub fn leaf_index(&self, commitment: Fr) -> Option<u64> {
        self.inner.read().state.leaf_index(&commitment)
    }

    /// The leaf's path in the current tree (it proves against [`Ledger::root`]).
    pub fn merkle_path(&self, leaf_index: u64) -> Result<MerklePath, LedgerError> {
        self.inner.read().state.merkle_path(leaf_index)
    }

    pub fn claim(&self, nullifier: Fr) -> Option<ClaimRecord> {
        self.inner.read().state.claim(&nullifier)
    }

    /// The durable block at `height` (from 1), `None` past the head. Read through the
    /// ledger's own store handle: redb refuses a second open of a file the node holds.
    pub fn block(&self, height: u64) -> Result<Option<Block>, LedgerError> {
        self.inner.store.block(height)
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

    /// Stops the committer after it has answered everything queued before; later submits
    /// fail with [`LedgerError::Closed`]. Also done on drop.
    pub fn close(&self) {
        let handle = self
            .committer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(handle) = handle {
            // Fails only if the committer is gone already, which the join then reports.
            let _ = self.queue.send(Message::Close);
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

    /// Admits what the state allows, writes the block, then answers. If the write fails,
    /// every transaction of the batch gets the storage error and the state is rebuilt from
    /// the store, which stays the truth.
    fn commit(&self, batch: Vec<Queued>) {
        let mut live = self.live.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(reason) = &live.broken {
            for q in batch {
                let _ = q.reply.send(Err(LedgerError::Storage(reason.clone())));
            }
            return;
        }
        let mut pending = live.state.pending();
        let mut accepted = Vec::new();
        let mut rejected = Vec::new();
        for q in batch {
            match live.state.admit(&q.stx, &mut pending) {
                Ok(()) => accepted.push(q),
                Err(e) => rejected.push((q.reply, e)),
            }
        }
        if pending.is_empty() {
            drop(live);
            for (reply, e) in rejected {
                let _ = reply.send(Err(e));
            }
            return;
        }
        let ids: Vec<[u8; 32]> = accepted.iter().map(|q| q.id).collect();
        let prev_hash = live.state.head_hash();
        let time_ms = now_ms().max(live.state.time_ms());
        let invoice_root = live.state.apply(pending);
        let mut header = BlockHeader {
            height: live.state.height(),
            prev_hash,
            tx_root: tx_root(&ids),
            invoice_root,
            time_ms,
            proposer: 0,
            signature: [0; 64],
        };
        header.sign(&self.proposer);
        let (transactions, replies): (Vec<_>, Vec<_>) =
            accepted.into_iter().map(|q| (q.stx, q.reply)).unzip();
        let block = Block {
            header,
            transactions,
        };
        match self.store.append(&block) {
            Ok(()) => {
                live.state.seal(&block.header);
                drop(live);
                let block_hash = block.header.hash();
                for (i, (reply, tx_id)) in replies.into_iter().zip(ids).enumerate() {
                    let _ = reply.send(Ok(Receipt {
                        height: block.header.height,
                        block_hash,
                        tx_index: i as u32,
                        tx_id,
                    }));
                }
                for (reply, e) in rejected {
                    let _ = reply.send(Err(e));
                }
            }
            Err(e) => {
                match replay(&*self.store, &self.genesis, &self.key, false) {
                    Ok(state) => live.state = state,
                    Err((height, reason)) => {
                        live.broken = Some(format!("block {height}: {reason}"))
                    }
                }
                drop(live);
                for reply in replies
                    .into_iter()
                    .chain(rejected.into_iter().map(|(reply, _)| reply))
                {
                    let _ = reply.send(Err(e.clone()));
                }
            }
        }
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
