//! Blocks in an etcd cluster (v3 API, Raft), shared by the nodes of several organizations.
//!
//! etcd orders and replicates; zkclaim keeps the rules. A node appends block `h` with one
//! etcd transaction: if the head is still `h - 1` and none of the block's nullifiers and
//! commitments exists yet, put the block, the head, and each nullifier and commitment;
//! otherwise change nothing. No locks and no leases: a node that loses the race for a height
//! gets [`LedgerError::HeadMoved`], catches up and tries again.
//!
//! The client speaks etcd's JSON gateway (`/v3/kv/range`, `/v3/kv/txn`, `/v3/watch`): the
//! same v3 API and semantics as gRPC, without a protobuf compiler in the build.
//!
//! Keys, under `PREFIX/CHAIN_ID/`: `head` (the height, decimal), `block/HEIGHT` (20 digits,
//! so that keys sort by height), `nullifier/0x…` and `commitment/0x…` (the height), and
//! `request/TIMESTAMP/MEMBER/NONCE` (TIMESTAMP 20 digits, NONCE hex; empty value) for each
//! recent member request, created only if absent.

use crate::{
    block::{Block, BlockHeader},
    store::{corrupt, BlockStore, RequestId},
    transaction::Transaction,
    LedgerError,
};
use base64::{engine::general_purpose::STANDARD as B64, Engine};
use serde_json::{json, Value};
use std::{
    io::{BufRead, BufReader},
    sync::{
        atomic::{AtomicUsize, Ordering},
        Mutex, PoisonError,
    },
    time::{Duration, Instant},
};
use zkclaim_circuits::field;

/// Transactions per block: each costs one compare and one put, and etcd refuses a
/// transaction with more than 128 of either (its default `--max-txn-ops`).
const MAX_BLOCK_TRANSACTIONS: usize = 100;
/// Blocks fetched per range request while catching up.
const FETCH: usize = 256;
/// How long a request keeps trying other endpoints while the cluster elects a leader or a
/// member is down, before the node reports the log unavailable.
const RETRY_FOR: Duration = Duration::from_secs(20);
/// How long [`BlockStore::wait_for`] watches before returning.
const WATCH_FOR: Duration = Duration::from_secs(1);

/// A ledger store on an etcd cluster. Blocks read once are kept: they never change.
pub struct EtcdStore {
    endpoints: Vec<String>,
    prefix: String,
    agent: ureq::Agent,
    watch_agent: ureq::Agent,
    /// The endpoint that answered last; requests start there.
    current: AtomicUsize,
    blocks: Mutex<Vec<Block>>,
}

impl EtcdStore {
    /// Connects to `etcd://HOST:PORT[,HOST:PORT…][/PREFIX]` (PREFIX defaults to `zkclaim`),
    /// keeping this chain's keys under `PREFIX/CHAIN_ID/`, and checks that the cluster
    /// answers.
    pub fn connect(url: &str, chain_id: &str) -> Result<Self, LedgerError> {
        let bad = |why: &str| LedgerError::Storage(format!("ledger URL {url:?}: {why}"));
        let rest = url
            .strip_prefix("etcd://")
            .ok_or_else(|| bad("expected etcd://HOST:PORT[,HOST:PORT…][/PREFIX]"))?;
        let (hosts, prefix) = rest.split_once('/').unwrap_or((rest, "zkclaim"));
        let endpoints: Vec<String> = hosts
            .split(',')
            .filter(|h| !h.is_empty())
            .map(|h| format!("http://{h}"))
            .collect();
        if endpoints.is_empty() {
            return Err(bad("no endpoint"));
        }
        let prefix = prefix.trim_end_matches('/');
        if prefix.is_empty() {
            return Err(bad("empty key prefix"));
        }
        let store = Self {
            endpoints,
            prefix: format!("{prefix}/{chain_id}/"),
            agent: ureq::AgentBuilder::new()
                .timeout_connect(Duration::from_millis(500))
                // A request parked on a member that lost its leader is tried elsewhere
                // after this; a healthy cluster answers in milliseconds.
                .timeout(Duration::from_secs(2))
                .build(),
            watch_agent: ureq::AgentBuilder::new()
                .timeout_connect(Duration::from_millis(500))
                .timeout(WATCH_FOR)
                .build(),
            current: AtomicUsize::new(0),
            blocks: Mutex::new(Vec::new()),
        };
        // Fail fast on a wrong URL; a cluster that is electing a leader answers within this.
        store.call_within(
            "/v3/kv/range",
            &json!({"key": b64(store.key("head")), "count_only": true}),
            Duration::from_secs(3),
        )?;
        Ok(store)
    }

    fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    fn block_key(&self, height: u64) -> String {
        format!("{}{height:020}", self.key("block/"))
    }

    /// `request/TIMESTAMP/` with the 20-digit timestamp: keys sort by time.
    fn request_key(&self, timestamp: u64) -> String {
        format!("{}{timestamp:020}/", self.key("request/"))
    }

    fn cached(&self) -> std::sync::MutexGuard<'_, Vec<Block>> {
        // Pushes are the only mutation: a panic cannot leave the Vec half-changed.
        self.blocks.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn call(&self, path: &str, body: &Value) -> Result<Value, LedgerError> {
        self.call_within(path, body, RETRY_FOR)
    }

    /// POSTs to the gateway, moving to the next endpoint on transport errors and on 5xx
    /// (no leader, leader changed, a member down) until `patience` has passed.
    fn call_within(
        &self,
        path: &str,
        body: &Value,
        patience: Duration,
    ) -> Result<Value, LedgerError> {
        let deadline = Instant::now() + patience;
        let mut pause = Duration::from_millis(25);
        let body = body.to_string();
        loop {
            let i = self.current.load(Ordering::Relaxed) % self.endpoints.len();
            let endpoint = &self.endpoints[i];
            let failure = match self
                .agent
                .post(&format!("{endpoint}{path}"))
                .send_string(&body)
            {
                Ok(response) => {
                    return response
                        .into_json()
                        .map_err(|e| LedgerError::Storage(format!("etcd {endpoint}: {e}")))
                }
                Err(ureq::Error::Status(code, response)) if code < 500 => {
                    let text = response.into_string().unwrap_or_default();
                    return Err(LedgerError::Storage(format!(
                        "etcd {endpoint} refused {path}: {code} {text}"
                    )));
                }
                Err(ureq::Error::Status(code, response)) => {
                    format!("{code} {}", response.into_string().unwrap_or_default())
                }
                Err(e) => e.to_string(),
            };
            if Instant::now() >= deadline {
                return Err(LedgerError::Unavailable(format!(
                    "etcd {endpoint}: {failure}"
                )));
            }
            let _ = self
                .current
                .compare_exchange(i, i + 1, Ordering::Relaxed, Ordering::Relaxed);
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(400));
        }
    }

    fn head_height(&self) -> Result<u64, LedgerError> {
        let reply = self.call("/v3/kv/range", &json!({"key": b64(self.key("head"))}))?;
        match kvs(&reply).first() {
            None => Ok(0),
            Some(kv) => {
                let value = value_of(kv)?;
                std::str::from_utf8(&value)
                    .ok()
                    .and_then(|v| v.parse().ok())
                    .ok_or_else(|| LedgerError::Storage("etcd: the head is not a height".into()))
            }
        }
    }

    /// Reads blocks from the first one not cached up to at least `height` (as far as the
    /// log goes) into the cache.
    fn fetch(&self, height: u64) -> Result<(), LedgerError> {
        let from = self.cached().len() as u64 + 1;
        let want = (height + 1 - from).max(FETCH as u64);
        let reply = self.call(
            "/v3/kv/range",
            &json!({
                "key": b64(self.block_key(from)),
                "range_end": b64(self.key("block0")),
                "limit": want,
            }),
        )?;
        let mut cached = self.cached();
        for kv in kvs(&reply) {
            let next = cached.len() as u64 + 1;
            match self.decode(kv, next) {
                Ok(Some(block)) => cached.push(block),
                // Another thread filled the cache meanwhile.
                Ok(None) => {}
                // A bad block after the one asked for is reported when it is asked for.
                Err(_) if cached.len() as u64 >= height => break,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// The block in `kv` if it is block `next`, `None` if it is an earlier one.
    fn decode(&self, kv: &Value, next: u64) -> Result<Option<Block>, LedgerError> {
        let key = B64
            .decode(kv["key"].as_str().unwrap_or(""))
            .unwrap_or_default();
        let height = key
            .strip_prefix(self.key("block/").as_bytes())
            .and_then(|digits| std::str::from_utf8(digits).ok()?.parse::<u64>().ok())
            .ok_or_else(|| corrupt(next, "a block key that is not a height"))?;
        if height < next {
            return Ok(None);
        }
        if height > next {
            return Err(corrupt(next, "missing from the etcd log"));
        }
        let block = Block::from_bytes(&value_of(kv)?).map_err(|e| corrupt(next, e.to_string()))?;
        if block.header.height != next {
            return Err(corrupt(
                next,
                format!("the log holds block {} at this height", block.header.height),
            ));
        }
        Ok(Some(block))
    }

    /// The nullifier and commitment keys a block spends.
    fn spent_keys(&self, block: &Block) -> Vec<String> {
        block
            .transactions
            .iter()
            .map(|stx| match &stx.tx {
                Transaction::RegisterInvoice { commitment } => {
                    self.key(&format!("commitment/{}", field::format(commitment)))
                }
                Transaction::SettleClaim { claim } => self.key(&format!(
                    "nullifier/{}",
                    field::format(&claim.public_inputs.nullifier)
                )),
            })
            .collect()
    }
}

impl BlockStore for EtcdStore {
    /// One etcd transaction: the head must still be the previous height and every nullifier
    /// and commitment of the block must be absent (`CreateRevision == 0`); then all of them
    /// are written at once.
    fn append(&self, block: &Block) -> Result<(), LedgerError> {
        let height = block.header.height;
        if block.transactions.len() > MAX_BLOCK_TRANSACTIONS {
            return Err(LedgerError::Storage(format!(
                "a block of {} transactions is more than etcd takes in one transaction",
                block.transactions.len()
            )));
        }
        let head = b64(self.key("head"));
        let mut compare = vec![if height == 1 {
            json!({"key": head, "target": "CREATE", "result": "EQUAL", "create_revision": 0})
        } else {
            json!({"key": head, "target": "VALUE", "result": "EQUAL",
                   "value": b64((height - 1).to_string())})
        }];
        let mut success = vec![
            put(&self.block_key(height), &block.to_bytes()),
            put(&self.key("head"), height.to_string().as_bytes()),
        ];
        for key in self.spent_keys(block) {
            compare.push(
                json!({"key": b64(&key), "target": "CREATE", "result": "EQUAL", "create_revision": 0}),
            );
            success.push(put(&key, height.to_string().as_bytes()));
        }
        let reply = self.call(
            "/v3/kv/txn",
            &json!({"compare": compare, "success": success}),
        )?;
        // proto3 JSON leaves `succeeded` out when it is false.
        if reply["succeeded"] != json!(true) {
            return Err(LedgerError::HeadMoved);
        }
        let mut cached = self.cached();
        if cached.len() as u64 + 1 == height {
            cached.push(block.clone());
        }
        Ok(())
    }

    fn block(&self, height: u64) -> Result<Option<Block>, LedgerError> {
        if height == 0 {
            return Ok(None);
        }
        if let Some(block) = self.cached().get(height as usize - 1) {
            return Ok(Some(block.clone()));
        }
        self.fetch(height)?;
        Ok(self.cached().get(height as usize - 1).cloned())
    }

    fn head(&self) -> Result<Option<BlockHeader>, LedgerError> {
        match self.head_height()? {
            0 => Ok(None),
            h => Ok(self.block(h)?.map(|b| b.header)),
        }
    }

    fn shared(&self) -> bool {
        true
    }

    /// Watches the key of block `height` from the revision at which it was seen absent,
    /// so that a block written in between is not missed.
    fn wait_for(&self, height: u64) -> bool {
        if self.cached().len() as u64 >= height {
            return true;
        }
        let key = b64(self.block_key(height));
        // Short patience: a closing ledger waits for this call.
        let range = json!({"key": key, "count_only": true});
        let seen = match self.call_within("/v3/kv/range", &range, WATCH_FOR) {
            Ok(reply) if count(&reply) > 0 => return true,
            Ok(reply) => revision(&reply),
            // The cluster is down (that call waited a second); the caller comes back.
            Err(_) => return false,
        };
        let i = self.current.load(Ordering::Relaxed) % self.endpoints.len();
        let watch = json!({"create_request": {"key": key, "start_revision": seen + 1}});
        let started = Instant::now();
        let mut event = false;
        if let Ok(response) = self
            .watch_agent
            .post(&format!("{}/v3/watch", self.endpoints[i]))
            .send_string(&watch.to_string())
        {
            // The first line confirms the watch; a second one is an event (or the read
            // times out, and the caller comes back).
            let mut lines = BufReader::new(response.into_reader()).lines();
            let _ = lines.next();
            event = matches!(lines.next(), Some(Ok(_)));
        }
        // A watch refused at once (a member down) must not turn into a busy loop.
        if let Some(rest) = Duration::from_millis(50).checked_sub(started.elapsed()) {
            std::thread::sleep(rest);
        }
        event
    }

    fn max_block_transactions(&self) -> usize {
        MAX_BLOCK_TRANSACTIONS
    }

    /// One etcd transaction: if the request's key does not exist, create it and delete the
    /// keys of requests made before `forget_before`.
    fn record_request(&self, id: &RequestId, forget_before: u64) -> Result<bool, LedgerError> {
        let key = format!(
            "{}{}/{}",
            self.request_key(id.timestamp),
            id.member,
            hex::encode(id.nonce)
        );
        let forget = json!({"request_delete_range": {
            "key": b64(self.key("request/")),
            "range_end": b64(self.request_key(forget_before)),
        }});
        let reply = self.call(
            "/v3/kv/txn",
            &json!({
                "compare": [{"key": b64(&key), "target": "CREATE", "result": "EQUAL",
                             "create_revision": 0}],
                "success": [put(&key, b""), forget],
            }),
        )?;
        Ok(reply["succeeded"] == json!(true))
    }
}

impl std::fmt::Debug for EtcdStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdStore")
            .field("endpoints", &self.endpoints)
            .field("prefix", &self.prefix)
            .finish()
    }
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    B64.encode(bytes)
}

fn put(key: &str, value: &[u8]) -> Value {
    json!({"request_put": {"key": b64(key), "value": b64(value)}})
}

fn kvs(reply: &Value) -> &[Value] {
    reply["kvs"].as_array().map_or(&[], Vec::as_slice)
}

fn value_of(kv: &Value) -> Result<Vec<u8>, LedgerError> {
    // An empty value is left out of the JSON.
    B64.decode(kv["value"].as_str().unwrap_or(""))
        .map_err(|e| LedgerError::Storage(format!("etcd sent a bad value: {e}")))
}

/// The gateway writes int64 fields as strings, and leaves out zeros.
fn int(v: &Value) -> u64 {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .or_else(|| v.as_u64())
        .unwrap_or(0)
}

fn count(reply: &Value) -> u64 {
    int(&reply["count"])
}

fn revision(reply: &Value) -> u64 {
    int(&reply["header"]["revision"])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_endpoints_and_a_prefix() {
        // No cluster listens on port 1: the URL parses, then the connection check fails.
        let e = EtcdStore::connect("etcd://127.0.0.1:1", "c").unwrap_err();
        assert!(matches!(e, LedgerError::Unavailable(_)), "{e}");
        for bad in ["http://127.0.0.1:2379", "etcd://", "etcd://127.0.0.1:2379/"] {
            let e = EtcdStore::connect(bad, "c").unwrap_err();
            assert!(e.to_string().contains("ledger URL"), "{bad}: {e}");
        }
    }

    #[test]
    fn gateway_integers_come_as_strings_or_not_at_all() {
        assert_eq!(int(&json!("42")), 42);
        assert_eq!(int(&json!(7)), 7);
        assert_eq!(int(&Value::Null), 0);
        assert_eq!(revision(&json!({"header": {"revision": "19"}})), 19);
        assert_eq!(count(&json!({"header": {}})), 0);
    }
}
