//! Block storage: an append-only sequence of slots holding encoded blocks, heights from 1,
//! and the ids of recent member requests, so that a replayed request is refused wherever
//! the blocks are read.

use crate::{block::Block, LedgerError};
use redb::{Database, Durability, ReadableTable, TableDefinition};
use std::{
    collections::BTreeSet,
    path::Path,
    sync::{
        atomic::{AtomicU64, Ordering},
        Mutex, PoisonError,
    },
};

/// What names one signed member request: its signer, its timestamp (unix seconds) and the
/// signer's random nonce (see the service's request signature). An honest signer never uses
/// a nonce twice, so a second request with the same id is a replay. Ids order by time first,
/// so the old ones form a prefix that stores can forget at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId {
    pub timestamp: u64,
    pub member: u32,
    pub nonce: [u8; 16],
}

impl RequestId {
    /// `timestamp u64 ‖ member u32 ‖ nonce`, big-endian: sorts as the id does.
    fn to_bytes(self) -> [u8; 28] {
        let mut out = [0; 28];
        out[..8].copy_from_slice(&self.timestamp.to_be_bytes());
        out[8..12].copy_from_slice(&self.member.to_be_bytes());
        out[12..].copy_from_slice(&self.nonce);
        out
    }

    /// The first id of second `timestamp`: every id made before it sorts below.
    pub(crate) fn first_of(timestamp: u64) -> Self {
        Self {
            timestamp,
            member: 0,
            nonce: [0; 16],
        }
    }
}

/// Where blocks live: slot `h` holds the block whose header says height `h`.
pub trait BlockStore: Send + Sync {
    /// Puts the block in the slot its height names, which must be the empty one after the
    /// last. When it returns `Ok` the block is durable: it survives a crash or power loss.
    fn append(&self, block: &Block) -> Result<(), LedgerError>;
    /// The block in slot `height` (from 1), `None` for an empty slot;
    /// [`LedgerError::Corrupt`] when the slot holds bytes that are not a block.
    fn block(&self, height: u64) -> Result<Option<Block>, LedgerError>;
    /// The highest slot that holds something, 0 when none does.
    fn last_height(&self) -> Result<u64, LedgerError>;
    /// Whether other nodes append to this store too (etcd): a log of proposals, where a
    /// slot whose block breaks a rule is rejected and skipped rather than fatal. The ledger
    /// then follows it, and an append may lose the race for its slot
    /// ([`LedgerError::HeadMoved`]).
    fn shared(&self) -> bool {
        false
    }
    /// Waits for block `height`, about a second at most, and says whether it may exist now:
    /// how a ledger follows a shared store.
    fn wait_for(&self, _height: u64) -> bool {
        false
    }
    /// The most transactions one block may carry in this store.
    fn max_block_transactions(&self) -> usize {
        usize::MAX
    }
    /// Records a member request as used, durably and at once for every node that shares
    /// the store: `false` if it already was, a replay. Ids made before `forget_before` (unix
    /// seconds, at most `id.timestamp`) may be forgotten: they are refused as stale anyway.
    /// A store that keeps no request ids (one that serves audits) refuses every request.
    fn record_request(&self, _id: &RequestId, _forget_before: u64) -> Result<bool, LedgerError> {
        Err(LedgerError::Storage(
            "this store keeps no request ids".into(),
        ))
    }
}

/// Every block from height 1 up, stopping after the first error.
pub fn blocks<S: BlockStore + ?Sized>(
    store: &S,
) -> impl Iterator<Item = Result<Block, LedgerError>> + '_ {
    let mut height = 1;
    let mut failed = false;
    std::iter::from_fn(move || {
        if failed {
            return None;
        }
        let next = store.block(height).transpose();
        failed = matches!(next, Some(Err(_)));
        height += 1;
        next
    })
}

fn check_next(block: &Block, head: Option<u64>) -> Result<(), LedgerError> {
    let expected = head.map_or(1, |h| h + 1);
    if block.header.height != expected {
        return Err(LedgerError::Storage(format!(
            "refusing to append block {} where block {expected} is next",
            block.header.height
        )));
    }
    Ok(())
}

pub(crate) fn corrupt(height: u64, reason: impl ToString) -> LedgerError {
    LedgerError::Corrupt {
        height,
        reason: reason.to_string(),
    }
}

/// Blocks kept in memory, encoded as they would be on disk. For tests and tools.
#[derive(Debug, Default)]
pub struct MemoryStore {
    blocks: Mutex<Vec<Vec<u8>>>,
    requests: Mutex<BTreeSet<RequestId>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Vec<u8>>> {
        // A panic while holding the lock cannot leave the Vec half-modified.
        self.blocks.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl BlockStore for MemoryStore {
    fn append(&self, block: &Block) -> Result<(), LedgerError> {
        let mut blocks = self.lock();
        check_next(block, Some(blocks.len() as u64).filter(|&n| n > 0))?;
        blocks.push(block.to_bytes());
        Ok(())
    }

    fn block(&self, height: u64) -> Result<Option<Block>, LedgerError> {
        let blocks = self.lock();
        let Some(bytes) = height
            .checked_sub(1)
            .and_then(|i| blocks.get(usize::try_from(i).ok()?))
        else {
            return Ok(None);
        };
        Block::from_bytes(bytes)
            .map(Some)
            .map_err(|e| corrupt(height, e))
    }

    fn last_height(&self) -> Result<u64, LedgerError> {
        Ok(self.lock().len() as u64)
    }

    fn record_request(&self, id: &RequestId, forget_before: u64) -> Result<bool, LedgerError> {
        // A panic cannot leave the set half-modified.
        let mut seen = self.requests.lock().unwrap_or_else(PoisonError::into_inner);
        *seen = seen.split_off(&RequestId::first_of(forget_before));
        Ok(seen.insert(*id))
    }
}

/// Table `blocks`: height -> encoded block.
const BLOCKS: TableDefinition<u64, &[u8]> = TableDefinition::new("blocks");
/// Table `requests`: the ids of recent member requests ([`RequestId`]'s bytes).
const REQUESTS: TableDefinition<&[u8], ()> = TableDefinition::new("requests");

/// Blocks and recent request ids in a redb file. Every append is its own transaction
/// committed with `Durability::Immediate` (fsync before returning), so an acknowledged block
/// survives SIGKILL and power loss, and a torn write is rolled back on the next open. A
/// recorded request is durable too before the call returns, but requests recorded together
/// share one fsync (group commit): each is committed without one, then a durable commit,
/// which makes every earlier commit durable, covers all of them.
#[derive(Debug)]
pub struct RedbStore {
    db: Database,
    /// Request ids committed so far, durable or not.
    recorded: AtomicU64,
    /// How many of them a durable commit covers; held while making one.
    durable: Mutex<u64>,
}

fn storage(e: impl Into<redb::Error>) -> LedgerError {
    LedgerError::Storage(e.into().to_string())
}

impl RedbStore {
    /// Opens the store at `path`, creating it if absent. One process at a time.
    pub fn open(path: &Path) -> Result<Self, LedgerError> {
        let db = Database::create(path).map_err(storage)?;
        // Create the tables now so that readers never find them missing.
        let tx = db.begin_write().map_err(storage)?;
        tx.open_table(BLOCKS).map_err(storage)?;
        tx.open_table(REQUESTS).map_err(storage)?;
        tx.commit().map_err(storage)?;
        Ok(Self {
            db,
            recorded: AtomicU64::new(0),
            durable: Mutex::new(0),
        })
    }

    /// Makes the first `count` recorded requests durable: with one durable commit for every
    /// caller waiting here, or none if another caller's commit covered them already.
    fn make_durable(&self, count: u64) -> Result<(), LedgerError> {
        let mut durable = self.durable.lock().unwrap_or_else(PoisonError::into_inner);
        if *durable >= count {
            return Ok(());
        }
        // Every request counted here was committed before this commit begins.
        let covered = self.recorded.load(Ordering::SeqCst);
        let mut tx = self.db.begin_write().map_err(storage)?;
        tx.set_durability(Durability::Immediate);
        tx.commit().map_err(storage)?;
        *durable = covered;
        Ok(())
    }
}

impl BlockStore for RedbStore {
    fn append(&self, block: &Block) -> Result<(), LedgerError> {
        let bytes = block.to_bytes();
        let mut tx = self.db.begin_write().map_err(storage)?;
        tx.set_durability(Durability::Immediate);
        {
            let mut table = tx.open_table(BLOCKS).map_err(storage)?;
            let head = table.last().map_err(storage)?.map(|(k, _)| k.value());
            check_next(block, head)?;
            table
                .insert(block.header.height, bytes.as_slice())
                .map_err(storage)?;
        }
        tx.commit().map_err(storage)
    }

    fn block(&self, height: u64) -> Result<Option<Block>, LedgerError> {
        let tx = self.db.begin_read().map_err(storage)?;
        let table = tx.open_table(BLOCKS).map_err(storage)?;
        let Some(bytes) = table.get(height).map_err(storage)? else {
            return Ok(None);
        };
        Block::from_bytes(bytes.value())
            .map(Some)
            .map_err(|e| corrupt(height, e))
    }

    fn last_height(&self) -> Result<u64, LedgerError> {
        let tx = self.db.begin_read().map_err(storage)?;
        let table = tx.open_table(BLOCKS).map_err(storage)?;
        let last = table.last().map_err(storage)?.map_or(0, |(k, _)| k.value());
        Ok(last)
    }

    fn record_request(&self, id: &RequestId, forget_before: u64) -> Result<bool, LedgerError> {
        let mut tx = self.db.begin_write().map_err(storage)?;
        // Made durable below, together with the requests recorded meanwhile.
        tx.set_durability(Durability::None);
        {
            let mut table = tx.open_table(REQUESTS).map_err(storage)?;
            let key = id.to_bytes();
            if table.get(key.as_slice()).map_err(storage)?.is_some() {
                // Dropped, the transaction changes nothing.
                return Ok(false);
            }
            let old = RequestId::first_of(forget_before).to_bytes();
            table
                .retain_in(..old.as_slice(), |_, ()| false)
                .map_err(storage)?;
            table.insert(key.as_slice(), ()).map_err(storage)?;
        }
        tx.commit().map_err(storage)?;
        self.make_durable(self.recorded.fetch_add(1, Ordering::SeqCst) + 1)?;
        Ok(true)
    }
}
