//! Who may ask for a proof or hand in a claim, and how often. A proof costs the node a third
//! of a second of every core, a claim's verification a few milliseconds, and anyone can ask
//! for either, so before such a request is even parsed the node applies, as the operator set
//! them ([`ProofLimits`], [`IntakeLimits`]):
//! - per client (the connection's peer address, an IPv6 one by its /64; behind the
//!   operator's proxy the last X-Forwarded-For address), for each kind of request
//!   ([`Buckets`]): a token bucket of requests per minute (429 `rate_limited`, `Retry-After`
//!   until the next) and a number of requests in flight (429 `client_busy`);
//! - proofs only: a patient token, `Authorization: Bearer TOKEN` (401 `missing_token`,
//!   `bad_token`), and a proof of work in [`POW`] over the body (403 `pow_required`,
//!   `pow_replayed`);
//! - the intake only: a number of requests running at once, all clients together (429
//!   `busy`).
//!
//! docs/deployment.md describes each setting and the proof of work.

use super::{
    auth,
    config::{ClientLimits, IntakeLimits, ProofLimits},
    error::ServiceError,
};
use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::{header, request::Parts, HeaderMap},
};
use sha2::{Digest, Sha256};
use std::{
    collections::HashMap,
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::{Duration, Instant},
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The proof-of-work header: `TIME:NONCE` (unix seconds, then up to 64 characters).
pub const POW: &str = "x-zkclaim-pow";
const POW_DOMAIN: &str = "zkclaim/pow/v1";
const NONCE_MAX: usize = 64;
/// Clients remembered before those at rest (nothing in flight, bucket full) are forgotten.
const CLIENTS: usize = 1 << 16;

/// The connection's peer address; none where the router runs without connection info.
pub struct Peer(Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>();
        Ok(Peer(peer.map(|ConnectInfo(address)| address.ip())))
    }
}

struct Client {
    /// Requests the bucket holds, refilled at the rate up to the burst.
    tokens: f64,
    at: Instant,
    in_flight: usize,
}

#[derive(Default)]
struct Clients {
    by_address: HashMap<IpAddr, Client>,
    /// The size at which clients at rest are forgotten next.
    prune_at: usize,
}

type SharedClients = Arc<Mutex<Clients>>;

fn lock(clients: &SharedClients) -> MutexGuard<'_, Clients> {
    clients.lock().unwrap_or_else(PoisonError::into_inner)
}

/// An admitted request: it counts as in flight for its client (and, on the intake, among the
/// node's) until dropped.
pub struct Slot {
    client: Option<(SharedClients, IpAddr)>,
    _node: Option<OwnedSemaphorePermit>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some((clients, address)) = &self.client {
            if let Some(client) = lock(clients).by_address.get_mut(address) {
                client.in_flight -= 1;
            }
        }
    }
}

/// One kind of request's per-client limits: each client's token bucket and requests in
/// flight.
pub struct Buckets {
    limits: ClientLimits,
    clients: SharedClients,
}

impl Buckets {
    fn new(limits: ClientLimits) -> Self {
        Self {
            limits,
            clients: SharedClients::default(),
        }
    }

    /// Takes one request from `address`'s bucket and one place among its requests in flight.
    fn take(&self, address: IpAddr, now: Instant) -> Result<Slot, ServiceError> {
        let limits = &self.limits;
        let slot = |client| Slot {
            client,
            _node: None,
        };
        if limits.in_flight == 0 && limits.per_minute == 0 {
            return Ok(slot(None));
        }
        let rate = f64::from(limits.per_minute) / 60.0;
        let burst = f64::from(limits.burst);
        let refilled = |c: &Client| (c.tokens + (now - c.at).as_secs_f64() * rate).min(burst);
        let mut clients = lock(&self.clients);
        if clients.by_address.len() >= clients.prune_at {
            let at_rest = |c: &Client| c.in_flight == 0 && (rate == 0.0 || refilled(c) >= burst);
            clients.by_address.retain(|_, c| !at_rest(c));
            clients.prune_at = CLIENTS.max(2 * clients.by_address.len());
        }
        let client = clients.by_address.entry(address).or_insert(Client {
            tokens: burst,
            at: now,
            in_flight: 0,
        });
        if rate > 0.0 {
            client.tokens = refilled(client);
            client.at = now;
            if client.tokens < 1.0 {
                let wait = Duration::from_secs_f64((1.0 - client.tokens) / rate);
                return Err(ServiceError::RateLimited(wait));
            }
        }
        if limits.in_flight > 0 && client.in_flight >= limits.in_flight {
            return Err(ServiceError::ClientBusy);
        }
        // Spent only by a request admitted: a `client_busy` refusal costs no token.
        if rate > 0.0 {
            client.tokens -= 1.0;
        }
        client.in_flight += 1;
        Ok(slot(Some((self.clients.clone(), address))))
    }
}

pub struct Admission {
    limits: ProofLimits,
    /// How far a proof of work's time may be from the server's clock, in seconds; its stamp
    /// is remembered that long.
    window: u64,
    proofs: Buckets,
    intake: Buckets,
    /// The intake requests the node may run at once.
    intake_running: Arc<Semaphore>,
    stamps: Mutex<HashMap<[u8; 32], u64>>,
}

impl Admission {
    pub fn new(limits: ProofLimits, intake: IntakeLimits, window: u64) -> Self {
        Self {
            proofs: Buckets::new(limits.clients.clone()),
            intake: Buckets::new(intake.clients),
            intake_running: Arc::new(Semaphore::new(intake.concurrency)),
            limits,
            window,
            stamps: Mutex::default(),
        }
    }

    /// Admits a proof request, or says why not: client limits first, then the token, then
    /// the proof of work. The slot is the request's place among its client's in flight.
    pub fn admit(
        &self,
        peer: &Peer,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Slot, ServiceError> {
        let slot = self
            .proofs
            .take(self.client(peer, headers), Instant::now())?;
        if !self.limits.token_digests.is_empty() {
            check_bearer(headers, &self.limits.token_digests, "a patient token")?;
        }
        self.check_work(headers, body, auth::now_s())?;
        Ok(slot)
    }

    /// Admits an intake request, or says why not: the node's limit, then the client's (a
    /// `busy` refusal spends no rate token).
    pub fn admit_intake(&self, peer: &Peer, headers: &HeaderMap) -> Result<Slot, ServiceError> {
        let permit = self.intake_running.clone().try_acquire_owned();
        let permit = permit.map_err(|_| ServiceError::Busy)?;
        let mut slot = self
            .intake
            .take(self.client(peer, headers), Instant::now())?;
        slot._node = Some(permit);
        Ok(slot)
    }

    /// The client a request comes from: an IPv4 address, or an IPv6 /64 (one host's share).
    fn client(&self, Peer(peer): &Peer, headers: &HeaderMap) -> IpAddr {
        let forwarded = || {
            let last = headers.get_all("x-forwarded-for").iter().next_back()?;
            last.to_str().ok()?.rsplit(',').next()?.trim().parse().ok()
        };
        let address = self
            .limits
            .trust_forwarded_for
            .then(forwarded)
            .flatten()
            .or(*peer);
        match address {
            Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !(u128::MAX >> 64))),
            },
            Some(v4) => v4,
            None => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        }
    }

    fn check_work(&self, headers: &HeaderMap, body: &[u8], now: u64) -> Result<(), ServiceError> {
        let bits = self.limits.pow_bits;
        if bits == 0 {
            return Ok(());
        }
        let refused = |why: String| ServiceError::Forbidden("pow_required", why);
        let stamp = headers
            .get(POW)
            .ok_or_else(|| refused(format!("proof requests need a proof of work in {POW}")))?
            .to_str()
            .ok()
            .filter(|stamp| {
                stamp
                    .split_once(':')
                    .is_some_and(|(_, n)| n.len() <= NONCE_MAX)
            })
            .ok_or_else(|| refused(format!("{POW} must be TIME:NONCE")))?;
        let (time, _) = stamp.split_once(':').expect("checked above");
        let time: u64 = time
            .parse()
            .map_err(|_| refused(format!("{POW} must be TIME:NONCE, TIME in unix seconds")))?;
        let window = self.window;
        if time.abs_diff(now) > window {
            return Err(refused(format!(
                "the {POW} timestamp is more than {window} s from the server's clock"
            )));
        }
        let digest = work_digest(body, stamp);
        if leading_zero_bits(&digest) < bits {
            return Err(refused(format!(
                "the {POW} stamp does not have {bits} leading zero bits for this body"
            )));
        }
        let mut seen = self.stamps.lock().unwrap_or_else(PoisonError::into_inner);
        seen.retain(|_, t| t.abs_diff(now) <= window);
        if seen.insert(digest, time).is_some() {
            return Err(ServiceError::Forbidden(
                "pow_replayed",
                "this proof of work was already used".into(),
            ));
        }
        Ok(())
    }
}

/// Checks the request's `Authorization: Bearer TOKEN` against `digests`, the SHA-256 of
/// each token the node accepts (it keeps no token itself): 401 `missing_token` without one,
/// `bad_token` with another. `token` names what the route takes ("a patient token") for the
/// refusals, which never repeat what was sent.
pub fn check_bearer(
    headers: &HeaderMap,
    digests: &[[u8; 32]],
    token: &str,
) -> Result<(), ServiceError> {
    let sent = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| {
            let (scheme, sent) = value.to_str().ok()?.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then_some(sent)
        })
        .ok_or_else(|| {
            ServiceError::Unauthorized(
                "missing_token",
                format!("this route needs {token}: Authorization: Bearer TOKEN"),
            )
        })?;
    let digest: [u8; 32] = Sha256::digest(sent.trim().as_bytes()).into();
    if !digests.contains(&digest) {
        return Err(ServiceError::Unauthorized(
            "bad_token",
            format!("the token sent is not {token} this node accepts"),
        ));
    }
    Ok(())
}

/// SHA-256(`zkclaim/pow/v1\n` ‖ hex(SHA-256(body)) ‖ `\n` ‖ stamp).
fn work_digest(body: &[u8], stamp: &str) -> [u8; 32] {
    let body_hash = hex::encode(Sha256::digest(body));
    Sha256::digest(format!("{POW_DOMAIN}\n{body_hash}\n{stamp}")).into()
}

fn leading_zero_bits(digest: &[u8]) -> u32 {
    let zero_bytes = digest.iter().take_while(|b| **b == 0).count();
    let rest = digest.get(zero_bytes).map_or(0, |b| b.leading_zeros());
    zero_bytes as u32 * 8 + rest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> ProofLimits {
        ProofLimits {
            clients: ClientLimits {
                in_flight: 0,
                per_minute: 0,
                burst: 2,
            },
            trust_forwarded_for: false,
            token_digests: Vec::new(),
            pow_bits: 0,
        }
    }

    fn intake(concurrency: usize) -> IntakeLimits {
        IntakeLimits {
            clients: limits().clients,
            concurrency,
        }
    }

    #[test]
    fn the_bucket_refills_at_its_rate_up_to_its_burst() {
        let admission = Buckets::new(ClientLimits {
            per_minute: 6,
            ..limits().clients
        });
        let (a, b) = ("127.0.0.1".parse().unwrap(), "127.0.0.2".parse().unwrap());
        let t = Instant::now();
        assert!(admission.take(a, t).is_ok());
        assert!(admission.take(a, t).is_ok());
        let Err(ServiceError::RateLimited(wait)) = admission.take(a, t) else {
            panic!("the burst of 2 is spent");
        };
        assert_eq!(wait, Duration::from_secs(10));
        assert!(admission.take(b, t).is_ok(), "another client has its own");
        // Ten seconds give one request back, and an hour no more than the burst.
        assert!(admission.take(a, t + Duration::from_secs(10)).is_ok());
        let later = t + Duration::from_secs(3_600);
        assert!(admission.take(a, later).is_ok() && admission.take(a, later).is_ok());
        assert!(admission.take(a, later).is_err());
    }

    #[test]
    fn requests_in_flight_are_counted_until_their_slot_goes() {
        let admission = Buckets::new(ClientLimits {
            in_flight: 1,
            ..limits().clients
        });
        let a = "127.0.0.1".parse().unwrap();
        let first = admission.take(a, Instant::now()).unwrap();
        assert!(matches!(
            admission.take(a, Instant::now()),
            Err(ServiceError::ClientBusy)
        ));
        drop(first);
        assert!(admission.take(a, Instant::now()).is_ok());
    }

    #[test]
    fn clients_are_peers_ipv6_by_its_64_or_the_proxys_last_address_when_trusted() {
        let mut headers = HeaderMap::new();
        headers.append("x-forwarded-for", "127.0.0.9".parse().unwrap());
        headers.append("x-forwarded-for", "127.0.0.7, 127.0.0.8".parse().unwrap());
        let peer = |ip: &str| Peer(Some(ip.parse().unwrap()));
        let untrusting = Admission::new(limits(), intake(1), 300);
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            untrusting.client(&peer("127.0.0.1"), &headers),
            ip("127.0.0.1")
        );
        assert_eq!(
            untrusting.client(&peer("::1:2:3:4:5"), &headers),
            untrusting.client(&peer("::1:2:3:ffff:ffff"), &headers),
        );
        assert_eq!(
            untrusting.client(&peer("::ffff:127.0.0.3"), &headers),
            ip("127.0.0.3")
        );
        assert_eq!(untrusting.client(&Peer(None), &headers), ip("0.0.0.0"));
        let trusting = Admission::new(
            ProofLimits {
                trust_forwarded_for: true,
                ..limits()
            },
            intake(1),
            300,
        );
        assert_eq!(
            trusting.client(&peer("127.0.0.1"), &headers),
            ip("127.0.0.8")
        );
        assert_eq!(
            trusting.client(&peer("127.0.0.1"), &HeaderMap::new()),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn the_intake_runs_as_many_requests_at_once_as_the_node_allows() {
        let admission = Admission::new(limits(), intake(1), 300);
        let (a, b) = (
            Peer(Some([127, 0, 0, 1].into())),
            Peer(Some([127, 0, 0, 2].into())),
        );
        let first = admission.admit_intake(&a, &HeaderMap::new()).unwrap();
        assert!(matches!(
            admission.admit_intake(&b, &HeaderMap::new()),
            Err(ServiceError::Busy)
        ));
        drop(first);
        assert!(admission.admit_intake(&b, &HeaderMap::new()).is_ok());
    }

    #[test]
    fn leading_zero_bits_count_across_bytes() {
        assert_eq!(leading_zero_bits(&[0xff; 32]), 0);
        assert_eq!(leading_zero_bits(&[0, 0x10, 0xff]), 11);
        assert_eq!(leading_zero_bits(&[0; 32]), 256);
    }
}
