//! The command line as a client of a node (`--server URL`): blocking HTTP(S) through ureq,
//! member requests signed as [`crate::serve::auth`] checks them, and the node's JSON
//! refusals turned into [`Error::Refused`].

use crate::{
    consortium::Pin,
    error::Error,
    serve::{
        actions::{Package, ProofRequest},
        auth,
    },
};
use serde::Deserialize;
use serde_json::Value;
use std::{path::Path, time::Duration};
use url::{Host, Url};
use zeroize::Zeroizing;
use zkclaim_circuits::Circuit;
use zkclaim_ledger::MemberKey;
use zkclaim_verifier::ClaimVerifyingKey;

#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    base: Url,
}

/// The service's error form, `{"error": {"code", "message"}}`.
#[derive(Deserialize)]
struct Refusal {
    error: RefusalBody,
}

#[derive(Deserialize)]
struct RefusalBody {
    code: String,
    message: String,
}

#[derive(Deserialize)]
struct VerifyingKeyAnswer {
    key: String,
}

impl Client {
    /// A client of the node at `server` (`http://` or `https://`). Over HTTPS the node's
    /// certificate must chain to `ca` (PEM) when given, else to the public web roots.
    pub fn new(server: &str, ca: Option<&Path>) -> Result<Self, Error> {
        let bad = |reason: &str| Error::Usage(format!("--server {server}: {reason}"));
        let base = Url::parse(server).map_err(|e| bad(&e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") || base.host().is_none() {
            return Err(bad("expected http://HOST:PORT or https://HOST:PORT"));
        }
        let mut builder = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(10))
            // A proof request may wait in the node's queue: the node's own limit is 120 s.
            .timeout(Duration::from_secs(180));
        if let Some(ca) = ca {
            builder = builder.tls_config(zkclaim_ledger::trusting(ca)?);
        }
        Ok(Self {
            agent: builder.build(),
            base,
        })
    }

    /// The node's URL, as given.
    pub fn base(&self) -> &Url {
        &self.base
    }

    /// Whether the node is on this machine: 127.0.0.0/8, ::1 or `localhost`.
    pub fn is_loopback(&self) -> bool {
        match self.base.host() {
            Some(Host::Ipv4(ip)) => ip.is_loopback(),
            Some(Host::Ipv6(ip)) => ip.is_loopback(),
            Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
            None => false,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base.as_str().trim_end_matches('/'))
    }

    pub fn get(&self, path: &str) -> Result<Value, Error> {
        answer(&self.url(path), self.agent.get(&self.url(path)).call())
    }

    pub fn post(&self, path: &str, body: &str) -> Result<Value, Error> {
        let url = self.url(path);
        let sent = self
            .agent
            .post(&url)
            .set("content-type", "application/json")
            .send_string(body);
        answer(&url, sent)
    }

    /// Posts a member action with the request signature of [`auth`], made now with `key`
    /// and a fresh nonce: every call, a retry included, is a request of its own.
    pub fn post_signed(&self, path: &str, body: &str, key: &MemberKey) -> Result<Value, Error> {
        let url = self.url(path);
        let mut request = self
            .agent
            .post(&url)
            .set("content-type", "application/json");
        for (name, value) in auth::sign(key, "POST", path, body.as_bytes()) {
            request = request.set(name, &value);
        }
        answer(&url, request.send_string(body))
    }

    /// Gets a member's view (`path` may hold a query), signed as [`auth`] checks it: the
    /// path without its query and an empty body.
    pub fn get_signed(&self, path: &str, key: &MemberKey) -> Result<Value, Error> {
        let url = self.url(path);
        let signed = path.split_once('?').map_or(path, |(path, _)| path);
        let mut request = self.agent.get(&url);
        for (name, value) in auth::sign(key, "GET", signed, b"") {
            request = request.set(name, &value);
        }
        answer(&url, request.call())
    }

    /// A proof from the node. The request body holds the patient's secrets: it is wiped once
    /// sent, and refused before any connection is made to a plain `http://` node that is not
    /// on this machine unless `in_clear` says the user accepts it.
    pub fn prove(&self, request: &ProofRequest, in_clear: bool) -> Result<Package, Error> {
        if self.base.scheme() == "http" && !self.is_loopback() && !in_clear {
            return Err(Error::WitnessInClear(self.base.to_string()));
        }
        let body = Zeroizing::new(serde_json::to_string(request).expect("requests serialize"));
        serde_json::from_value(self.post("/v1/proofs", &body)?)
            .map_err(|e| Error::Node(format!("the node's claim package: {e}")))
    }

    /// The node's verifying key of `circuit`; refused unless its digest is `pin`'s: a node's
    /// word alone is never trusted.
    pub fn verifying_key(&self, circuit: Circuit, pin: &Pin) -> Result<ClaimVerifyingKey, Error> {
        let path = format!("/v1/verifying-key?circuit={circuit}");
        let answer: VerifyingKeyAnswer = serde_json::from_value(self.get(&path)?)
            .map_err(|e| Error::Node(format!("the node's verifying key: {e}")))?;
        let key = hex::decode(&answer.key)
            .map_err(|e| e.to_string())
            .and_then(|bytes| {
                ClaimVerifyingKey::from_bytes_for(circuit, &bytes).map_err(|e| e.to_string())
            })
            .map_err(|e| Error::Node(format!("the node's verifying key: {e}")))?;
        if key.digest() != pin.digest {
            return Err(Error::Node(format!(
                "the node's verifying key (digest {}) is not the one {} pins ({})",
                hex::encode(key.digest()),
                pin.by,
                hex::encode(pin.digest)
            )));
        }
        Ok(key)
    }
}

/// The JSON of a 2xx answer, or the node's refusal.
fn answer(url: &str, result: Result<ureq::Response, ureq::Error>) -> Result<Value, Error> {
    let unreadable = |e: std::io::Error| Error::Node(format!("{url}: unreadable answer: {e}"));
    let (status, response) = match result {
        Ok(response) => {
            let text = response.into_string().map_err(unreadable)?;
            return serde_json::from_str(&text)
                .map_err(|e| Error::Node(format!("{url}: answer is not JSON: {e}")));
        }
        Err(ureq::Error::Status(status, response)) => (status, response),
        Err(ureq::Error::Transport(e)) => {
            // ureq's message names the URL.
            return Err(Error::Unreachable(e.to_string()));
        }
    };
    let text = response.into_string().map_err(unreadable)?;
    match serde_json::from_str::<Refusal>(&text) {
        Ok(Refusal { error }) => Err(Error::Refused {
            code: error.code,
            message: error.message,
        }),
        Err(_) => Err(Error::Node(format!("{url} answered {status}: {text}"))),
    }
}
