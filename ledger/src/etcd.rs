//! Blocks in an etcd cluster (v3 API, Raft), shared by the nodes of several organizations.
//!
//! etcd orders and replicates; zkclaim keeps the rules. The log is a sequence of slots, one
//! key each: `PREFIX/CHAIN_ID/block/SLOT` (20 digits, so that keys sort by slot). A node
//! appends to slot `s` with one etcd transaction: if that key does not exist yet, put the
//! block; otherwise change nothing. No locks, no leases and no other keys, so that nothing a
//! member writes besides a slot can hold the others up: a node that loses the race for a slot
//! gets [`LedgerError::HeadMoved`], catches up and tries the next one. Whether a slot's block
//! is valid is the ledger's business, not the store's (see `docs/protocol.md`).
//!
//! The client speaks etcd's JSON gateway (`/v3/kv/range`, `/v3/kv/txn`, `/v3/watch`): the
//! same v3 API and semantics as gRPC, without a protobuf compiler in the build. It speaks
//! TLS (`etcds://`), and etcd's authentication: a user's password buys a token
//! (`/v3/auth/authenticate`) sent with every request and bought again when etcd no longer
//! takes it (it expires, or another member, which never issued it, answers).
//!
//! Besides the slots, `request/TIMESTAMP/MEMBER/NONCE` (TIMESTAMP 20 digits, NONCE hex;
//! the recording attempt's random mark) records each recent member request, created only
//! if absent.

use crate::{
    block::Block,
    store::{corrupt, BlockStore, RequestId},
    LedgerError,
};
use base64::{engine::general_purpose::STANDARD as B64, Engine};
use rustls::pki_types::{pem::PemObject, CertificateDer};
use serde_json::{json, Value};
use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex, MutexGuard, PoisonError,
    },
    time::{Duration, Instant},
};
use zeroize::Zeroizing;

/// Transactions per block: a block is one etcd request (about 45 KB for 100 claims, in
/// base64), well under etcd's default `--max-request-bytes` of 1.5 MiB, and one Raft entry
/// that every member writes before the block is acknowledged.
const MAX_BLOCK_TRANSACTIONS: usize = 100;
/// Slots fetched per range request while catching up.
const FETCH: usize = 256;
/// How long a request keeps trying other endpoints while the cluster elects a leader or a
/// member is down, before the node reports the log unavailable.
const RETRY_FOR: Duration = Duration::from_secs(20);
/// How long [`BlockStore::wait_for`] watches before returning.
const WATCH_FOR: Duration = Duration::from_secs(1);

/// What a slot of the log holds: a block, or why its bytes are not one.
type Slot = Result<Block, String>;

/// A ledger store on an etcd cluster. Slots read once are kept: they never change.
pub struct EtcdStore {
    endpoints: Vec<String>,
    prefix: String,
    agent: ureq::Agent,
    watch_agent: ureq::Agent,
    credentials: Option<Credentials>,
    /// The token the last authentication bought; a credential, never printed.
    token: Mutex<Option<Zeroizing<String>>>,
    /// The endpoint that answered last; requests start there.
    current: AtomicUsize,
    /// Slots 1, 2, … as far as they have been read, without a gap.
    slots: Mutex<Vec<Slot>>,
}

/// An etcd user and its password, read from a file so that it is in no command line.
struct Credentials {
    user: String,
    password: Zeroizing<String>,
}

/// A parsed ledger URL.
#[derive(Debug, PartialEq, Eq)]
struct Target {
    tls: bool,
    hosts: Vec<String>,
    prefix: String,
    user: Option<String>,
    password_file: Option<PathBuf>,
    ca: Option<PathBuf>,
}

const URL_FORM: &str =
    "expected etcd[s]://[USER@]HOST:PORT[,HOST:PORT…][/PREFIX][?ca=PATH&password_file=PATH]";

impl Target {
    fn parse(url: &str) -> Result<Self, String> {
        let (tls, rest) = if let Some(rest) = url.strip_prefix("etcds://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("etcd://") {
            (false, rest)
        } else {
            return Err(URL_FORM.into());
        };
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (authority, prefix) = rest.split_once('/').unwrap_or((rest, "zkclaim"));
        let (user, hosts) =
            match authority.rsplit_once('@') {
                Some((user, _)) if user.contains(':') => return Err(
                    "a password in the URL would show in process listings: use password_file=PATH"
                        .into(),
                ),
                Some(("", _)) => return Err("empty user name".into()),
                Some((user, hosts)) => (Some(user.to_owned()), hosts),
                None => (None, authority),
            };
        let hosts: Vec<String> = hosts
            .split(',')
            .filter(|h| !h.is_empty())
            .map(str::to_owned)
            .collect();
        if hosts.is_empty() {
            return Err("no endpoint".into());
        }
        let prefix = prefix.trim_end_matches('/');
        if prefix.is_empty() {
            return Err("empty key prefix".into());
        }
        let mut target = Self {
            tls,
            hosts,
            prefix: prefix.into(),
            user,
            password_file: None,
            ca: None,
        };
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let slot = match name {
                "ca" => &mut target.ca,
                "password_file" => &mut target.password_file,
                other => return Err(format!("unknown option {other:?}; {URL_FORM}")),
            };
            if value.is_empty() || slot.replace(value.into()).is_some() {
                return Err(format!("option {name} needs one value"));
            }
        }
        if target.ca.is_some() && !tls {
            return Err("ca= is for etcds:// (TLS)".into());
        }
        if target.user.is_some() != target.password_file.is_some() {
            return Err("a USER@ needs password_file=PATH, and password_file a USER@".into());
        }
        Ok(target)
    }
}

impl EtcdStore {
    /// Connects to `etcd://HOST:PORT[,HOST:PORT…][/PREFIX]` (PREFIX defaults to `zkclaim`),
    /// keeping this chain's keys under `PREFIX/CHAIN_ID/`, and checks that the cluster
    /// answers. `etcds://` speaks TLS, trusting the CA certificates (PEM) in `ca=PATH` or
    /// else the web's roots; `USER@` with `password_file=PATH` authenticates to etcd.
    pub fn connect(url: &str, chain_id: &str) -> Result<Self, LedgerError> {
        let target = Target::parse(url).map_err(|why| {
            LedgerError::Storage(format!("ledger URL {:?}: {why}", redacted(url)))
        })?;
        let credentials = match (target.user, &target.password_file) {
            (Some(user), Some(path)) => Some(Credentials {
                user,
                password: read_password(path)?,
            }),
            _ => None,
        };
        let scheme = if target.tls { "https" } else { "http" };
        let tls = target.ca.as_deref().map(trusting).transpose()?;
        let agent = |timeout: Duration| {
            let builder = ureq::AgentBuilder::new()
                .timeout_connect(Duration::from_millis(500))
                .timeout(timeout);
            match &tls {
                Some(config) => builder.tls_config(Arc::clone(config)),
                None => builder,
            }
            .build()
        };
        let store = Self {
            endpoints: target
                .hosts
                .iter()
                .map(|h| format!("{scheme}://{h}"))
                .collect(),
            prefix: format!("{}/{chain_id}/", target.prefix),
            // A request parked on a member that lost its leader is tried elsewhere after
            // this; a healthy cluster answers in milliseconds.
            agent: agent(Duration::from_secs(2)),
            watch_agent: agent(WATCH_FOR),
            credentials,
            token: Mutex::new(None),
            current: AtomicUsize::new(0),
            slots: Mutex::new(Vec::new()),
        };
        // Fail fast on a wrong URL or credentials; a cluster that is electing a leader
        // answers within this.
        store.call_within(
            "/v3/kv/range",
            &json!({"key": b64(store.block_key(1)), "count_only": true}),
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

    fn cached(&self) -> MutexGuard<'_, Vec<Slot>> {
        // Pushes are the only mutation: a panic cannot leave the Vec half-changed.
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn token(&self) -> MutexGuard<'_, Option<Zeroizing<String>>> {
        self.token.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn call(&self, path: &str, body: &Value) -> Result<Value, LedgerError> {
        self.call_within(path, body, RETRY_FOR)
    }

    /// POSTs with the token, buying one first when there are credentials and none, and
    /// again (once) when etcd no longer takes it.
    fn post(
        &self,
        agent: &ureq::Agent,
        endpoint: &str,
        path: &str,
        body: &str,
    ) -> Result<ureq::Response, Box<ureq::Error>> {
        let send = |token: Option<&str>| {
            let request = agent.post(&format!("{endpoint}{path}"));
            match token {
                Some(token) => request.set("Authorization", token),
                None => request,
            }
            .send_string(body)
            .map_err(Box::new)
        };
        let Some(credentials) = &self.credentials else {
            return send(None);
        };
        let held = self.token().clone();
        let token = match held {
            Some(token) => token,
            None => self.authenticate(endpoint, credentials)?,
        };
        match send(Some(&token)) {
            // Expired, or issued by another member (etcd's simple tokens are per member).
            Err(e) if matches!(*e, ureq::Error::Status(401, _)) => {
                send(Some(&self.authenticate(endpoint, credentials)?))
            }
            answer => answer,
        }
    }

    fn authenticate(
        &self,
        endpoint: &str,
        credentials: &Credentials,
    ) -> Result<Zeroizing<String>, Box<ureq::Error>> {
        let body = Zeroizing::new(
            json!({"name": credentials.user, "password": *credentials.password}).to_string(),
        );
        let reply: Value = self
            .agent
            .post(&format!("{endpoint}/v3/auth/authenticate"))
            .send_string(&body)?
            .into_json()
            .map_err(|e| Box::new(e.into()))?;
        let token = Zeroizing::new(reply["token"].as_str().unwrap_or_default().to_owned());
        *self.token() = Some(token.clone());
        Ok(token)
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
            let error = match self.post(&self.agent, endpoint, path, &body) {
                Ok(response) => {
                    return response
                        .into_json()
                        .map_err(|e| LedgerError::Storage(format!("etcd {endpoint}: {e}")))
                }
                Err(error) => *error,
            };
            let failure = match error {
                ureq::Error::Status(code, response) if code < 500 => {
                    let text = response.into_string().unwrap_or_default();
                    return Err(LedgerError::Storage(format!(
                        "etcd {endpoint} refused {path}: {code} {text}"
                    )));
                }
                ureq::Error::Status(code, response) => {
                    format!("{code} {}", response.into_string().unwrap_or_default())
                }
                e => e.to_string(),
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

    /// Reads slots from the first one not cached up to at least `height` (as far as the log
    /// goes without an empty slot) into the cache.
    fn fetch(&self, height: u64) -> Result<(), LedgerError> {
        let from = self.cached().len() as u64 + 1;
        let want = (height + 1).saturating_sub(from).max(FETCH as u64);
        let reply = self.call(
            "/v3/kv/range",
            &json!({
                "key": b64(self.block_key(from)),
                "range_end": b64(self.key("block/:")),
                "limit": want,
            }),
        )?;
        let mut cached = self.cached();
        for kv in kvs(&reply) {
            let expected = self.block_key(cached.len() as u64 + 1);
            match key_of(kv).as_slice().cmp(expected.as_bytes()) {
                // A slot another thread cached meanwhile, or a key that is not a slot.
                std::cmp::Ordering::Less => continue,
                // The expected slot is empty: the log ends there, for now.
                std::cmp::Ordering::Greater => break,
                std::cmp::Ordering::Equal => {
                    cached.push(Block::from_bytes(&value_of(kv)?).map_err(|e| e.to_string()))
                }
            }
        }
        Ok(())
    }
}

impl BlockStore for EtcdStore {
    /// One etcd transaction: if the block's slot has never been written
    /// (`CreateRevision == 0`), put the block there.
    fn append(&self, block: &Block) -> Result<(), LedgerError> {
        let height = block.header.height;
        if block.transactions.len() > MAX_BLOCK_TRANSACTIONS {
            return Err(LedgerError::Storage(format!(
                "a block of {} transactions is more than etcd takes in one transaction",
                block.transactions.len()
            )));
        }
        let key = self.block_key(height);
        let compare = json!([{"key": b64(&key), "target": "CREATE", "result": "EQUAL", "create_revision": 0}]);
        let success = json!([put(&key, &block.to_bytes())]);
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
            cached.push(Ok(block.clone()));
        }
        Ok(())
    }

    fn block(&self, height: u64) -> Result<Option<Block>, LedgerError> {
        if height == 0 {
            return Ok(None);
        }
        let index = height as usize - 1;
        if self.cached().len() <= index {
            self.fetch(height)?;
        }
        match self.cached().get(index) {
            None => Ok(None),
            Some(Ok(block)) => Ok(Some(block.clone())),
            Some(Err(reason)) => Err(corrupt(height, reason)),
        }
    }

    fn last_height(&self) -> Result<u64, LedgerError> {
        let reply = self.call(
            "/v3/kv/range",
            &json!({
                "key": b64(self.key("block/")),
                "range_end": b64(self.key("block/:")),
                "limit": 1,
                "sort_order": "DESCEND",
                "sort_target": "KEY",
                "keys_only": true,
            }),
        )?;
        let Some(kv) = kvs(&reply).first() else {
            return Ok(0);
        };
        let key = key_of(kv);
        key.strip_prefix(self.key("block/").as_bytes())
            .filter(|digits| digits.len() == 20)
            .and_then(|digits| std::str::from_utf8(digits).ok()?.parse().ok())
            .ok_or_else(|| {
                let key = String::from_utf8_lossy(&key);
                LedgerError::Storage(format!("etcd: {key:?} is in the log but is not a slot"))
            })
    }

    fn shared(&self) -> bool {
        true
    }

    /// Watches the key of slot `height` from the revision at which it was seen absent, so
    /// that a block written in between is not missed.
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
        if let Ok(response) = self.post(
            &self.watch_agent,
            &self.endpoints[i],
            "/v3/watch",
            &watch.to_string(),
        ) {
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
        // The value is this attempt's own random mark. When etcd applies the transaction but
        // its answer is lost (the leader dies), the client sends it again; the key then
        // exists, and the failure branch reads it back: our mark means the first send
        // recorded the request, and it is this request's first use, not a replay.
        let mark: [u8; 16] = rand::random();
        let reply = self.call(
            "/v3/kv/txn",
            &json!({
                "compare": [{"key": b64(&key), "target": "CREATE", "result": "EQUAL",
                             "create_revision": 0}],
                "success": [put(&key, &mark), forget],
                "failure": [{"request_range": {"key": b64(&key)}}],
            }),
        )?;
        if reply["succeeded"] == json!(true) {
            return Ok(true);
        }
        let existing = reply["responses"][0]["response_range"]
            .get("kvs")
            .and_then(|kvs| kvs.get(0))
            .map(value_of)
            .transpose()?;
        Ok(existing.as_deref() == Some(mark.as_slice()))
    }
}

impl std::fmt::Debug for EtcdStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdStore")
            .field("endpoints", &self.endpoints)
            .field("prefix", &self.prefix)
            .field("user", &self.credentials.as_ref().map(|c| &c.user))
            .finish()
    }
}

/// The URL without the password someone put in it.
fn redacted(url: &str) -> String {
    let authority_end = url.find("://").map_or(0, |i| i + 3);
    let authority = &url[authority_end..];
    let authority = &authority[..authority.find(['/', '?']).unwrap_or(authority.len())];
    match authority.rsplit_once('@') {
        Some((userinfo, _)) if userinfo.contains(':') => {
            let user = userinfo.split(':').next().unwrap_or_default();
            url.replacen(userinfo, &format!("{user}:***"), 1)
        }
        _ => url.to_owned(),
    }
}

/// The password: the file's content without its final line break.
fn read_password(path: &Path) -> Result<Zeroizing<String>, LedgerError> {
    let file = |reason: String| LedgerError::File {
        path: path.display().to_string(),
        reason,
    };
    let mut text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| file(e.to_string()))?);
    let len = text.trim_end_matches(['\n', '\r']).len();
    text.truncate(len);
    if text.is_empty() {
        return Err(file("empty password".into()));
    }
    Ok(text)
}

/// A TLS client configuration that trusts the certificates in `ca` (PEM) and nothing else:
/// for the etcd client here and the command line's `--ca-cert`.
pub fn trusting(ca: &Path) -> Result<Arc<rustls::ClientConfig>, LedgerError> {
    let bad = |reason: String| LedgerError::File {
        path: ca.display().to_string(),
        reason,
    };
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).map_err(|e| bad(e.to_string()))? {
        roots
            .add(cert.map_err(|e| bad(e.to_string()))?)
            .map_err(|e| bad(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(bad("no PEM certificate in it".into()));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
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

fn key_of(kv: &Value) -> Vec<u8> {
    B64.decode(kv["key"].as_str().unwrap_or(""))
        .unwrap_or_default()
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
    fn urls_name_endpoints_a_prefix_tls_and_credentials() {
        // No cluster listens on port 1: the URL parses, then the connection check fails.
        let e = EtcdStore::connect("etcd://127.0.0.1:1", "c").unwrap_err();
        assert!(matches!(e, LedgerError::Unavailable(_)), "{e}");
        assert_eq!(
            Target::parse("etcds://zk@a:1,b:2/p/?ca=/ca.pem&password_file=/pw"),
            Ok(Target {
                tls: true,
                hosts: vec!["a:1".into(), "b:2".into()],
                prefix: "p".into(),
                user: Some("zk".into()),
                password_file: Some("/pw".into()),
                ca: Some("/ca.pem".into()),
            })
        );
        let plain = Target::parse("etcd://a:1").unwrap();
        assert_eq!((plain.tls, plain.prefix.as_str()), (false, "zkclaim"));
        for (bad, why) in [
            ("http://127.0.0.1:2379", "expected etcd"),
            ("etcd://", "no endpoint"),
            ("etcd://127.0.0.1:2379/", "empty key prefix"),
            (
                "etcds://zk:secret@a:1?password_file=/pw",
                "password_file=PATH",
            ),
            ("etcds://zk@a:1", "needs password_file"),
            ("etcds://a:1?password_file=/pw", "needs password_file"),
            ("etcd://a:1?ca=/ca.pem", "for etcds://"),
            ("etcds://a:1?ca=", "needs one value"),
            ("etcds://a:1?ca=/x&ca=/y", "needs one value"),
            ("etcds://a:1?cert=/x", "unknown option"),
        ] {
            let e = EtcdStore::connect(bad, "c").unwrap_err().to_string();
            assert!(e.contains("ledger URL") && e.contains(why), "{bad}: {e}");
            assert!(!e.contains("secret"), "{bad}: {e}");
        }
    }

    #[test]
    fn credential_and_ca_files_are_read_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let pw = dir.path().join("pw");
        std::fs::write(&pw, "s3cret\r\n").unwrap();
        assert_eq!(read_password(&pw).unwrap().as_str(), "s3cret");
        std::fs::write(&pw, "\n").unwrap();
        assert!(read_password(&pw)
            .unwrap_err()
            .to_string()
            .contains("empty password"));
        let missing = dir.path().join("missing");
        assert!(matches!(
            read_password(&missing),
            Err(LedgerError::File { .. })
        ));
        std::fs::write(&pw, "not a certificate").unwrap();
        assert!(trusting(&pw)
            .unwrap_err()
            .to_string()
            .contains("no PEM certificate"));
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
