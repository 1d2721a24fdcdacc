//! Where the ledger commands act: a node over HTTP (`--server URL`), or without it the
//! node's ledger opened here as `serve` opens it (DATA's store or `--ledger etcd://…`).
//! Both answer alike, since the embedded mode runs the node's own [`actions`].

use crate::{
    client::Client,
    consortium::{DataDir, Params, REGULATOR},
    error::Error,
    serve::{actions, insurer},
};
use actions::Package;
use serde_json::{json, Value};
use std::{
    cell::OnceCell,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};
use zkclaim_circuits::{field, Fr};
use zkclaim_insurer::{Application, Registry};
use zkclaim_ledger::{Ledger, LedgerError, MemberKey, Role, SignedTransaction};

pub enum Node {
    Remote(Client),
    Embedded {
        ledger: Ledger,
        params: Box<Params>,
        /// DATA's insurer registry, opened when an insurer first acts.
        registry: OnceCell<Registry>,
        data: PathBuf,
    },
}

impl Node {
    /// The node at `server`, or the ledger of `data` (in DATA's store, or on the etcd
    /// cluster `ledger` names) with the parameters in `params` (the consortium's; a proving
    /// key only to prove), closed when this is dropped.
    pub fn open(
        server: Option<&str>,
        ca: Option<&Path>,
        data: &DataDir,
        (params, ledger): (&Path, Option<&str>),
    ) -> Result<Self, Error> {
        Ok(match server {
            Some(server) => Node::Remote(Client::new(server, ca)?),
            None => {
                let params = Box::new(data.load_params(params)?);
                let (primary, continuation) = params.prepared();
                let ledger =
                    data.open_ledger((&primary, continuation.as_ref()), ledger, REGULATOR)?;
                Node::Embedded {
                    ledger,
                    params,
                    registry: OnceCell::new(),
                    data: data.0.clone(),
                }
            }
        })
    }

    /// A hospital registers an invoice commitment (`stx` is signed by `key`).
    pub fn register_invoice(
        &self,
        stx: SignedTransaction,
        key: &MemberKey,
    ) -> Result<Value, Error> {
        match self {
            Node::Remote(client) => client.post_signed("/v1/invoices", &to_json(&stx), key),
            Node::Embedded { ledger, .. } => Ok(value(actions::register_invoice(ledger, stx)?)),
        }
    }

    /// A hospital voids an invoice commitment it registered (`stx` is signed by `key`).
    pub fn void_invoice(&self, stx: SignedTransaction, key: &MemberKey) -> Result<Value, Error> {
        match self {
            Node::Remote(client) => client.post_signed("/v1/invoices/void", &to_json(&stx), key),
            Node::Embedded { ledger, .. } => Ok(value(actions::void_invoice(ledger, stx)?)),
        }
    }

    /// An insurer verifies and settles a claim (`stx` is signed by `key`).
    pub fn settle_claim(&self, stx: SignedTransaction, key: &MemberKey) -> Result<Value, Error> {
        match self {
            Node::Remote(client) => client.post_signed("/v1/claims", &to_json(&stx), key),
            Node::Embedded {
                ledger,
                registry,
                data,
                ..
            } => {
                let registry = embedded_registry(registry, data)?;
                Ok(value(insurer::settle(ledger, registry, stx)?))
            }
        }
    }

    /// An insurer enrols a policyholder under its own id: `{"enrolment", "policy"}`.
    pub fn enroll(&self, application: Application, key: &MemberKey) -> Result<Value, Error> {
        match self {
            Node::Remote(client) => {
                client.post_signed("/v1/enrolments", &to_json(&application), key)
            }
            Node::Embedded { .. } => {
                let registry = self.insurer_registry(key)?;
                Ok(value(insurer::enroll(
                    registry,
                    key.member_id(),
                    application,
                )?))
            }
        }
    }

    /// The insurer's enrolments, oldest first: `{"enrolments": […]}`.
    pub fn enrolments(&self, key: &MemberKey) -> Result<Value, Error> {
        match self {
            Node::Remote(client) => client.get_signed("/v1/enrolments", key),
            Node::Embedded { .. } => {
                let enrolments = insurer::enrolments(self.insurer_registry(key)?, key.member_id())?;
                Ok(json!({ "enrolments": enrolments }))
            }
        }
    }

    /// The insurer revokes its active enrolments of `claimant_tag` (only the one of
    /// `policy_hash` when given): `{"revoked": […]}`.
    pub fn revoke(
        &self,
        claimant_tag: Fr,
        policy_hash: Option<Fr>,
        key: &MemberKey,
    ) -> Result<Value, Error> {
        match self {
            Node::Remote(client) => {
                let mut body = json!({ "claimant_tag": field::format(&claimant_tag) });
                if let Some(hash) = policy_hash {
                    body["policy_hash"] = field::format(&hash).into();
                }
                client.post_signed("/v1/enrolments/revoke", &body.to_string(), key)
            }
            Node::Embedded { .. } => {
                let registry = self.insurer_registry(key)?;
                let revoked =
                    insurer::revoke(registry, key.member_id(), claimant_tag, policy_hash)?;
                Ok(json!({ "revoked": revoked }))
            }
        }
    }

    /// The insurer's report: its `limit` latest settled and refused claims, totals per day.
    pub fn insurer_claims(&self, limit: usize, key: &MemberKey) -> Result<Value, Error> {
        match self {
            Node::Remote(client) => {
                client.get_signed(&format!("/v1/insurer/claims?limit={limit}"), key)
            }
            Node::Embedded { .. } => {
                let registry = self.insurer_registry(key)?;
                Ok(value(insurer::report(registry, key.member_id(), limit)?))
            }
        }
    }

    /// DATA's registry, for the insurer `key` is: as a node, which authenticates a request
    /// by its signature, the key must be an insurer's of the genesis.
    fn insurer_registry(&self, key: &MemberKey) -> Result<&Registry, Error> {
        let Node::Embedded {
            ledger,
            registry,
            data,
            ..
        } = self
        else {
            unreachable!("the embedded mode only")
        };
        let id = key.member_id();
        let refused = |code: &str, message: String| Error::Refused {
            code: code.to_owned(),
            message,
        };
        match ledger.genesis().members.iter().find(|m| m.id == id) {
            None => return Err(LedgerError::UnknownMember(id).into()),
            Some(m) if m.public_key != key.public_key() => {
                let message = format!("this key is not member {id}'s in the genesis");
                return Err(refused("bad_signature", message));
            }
            Some(m) if m.role != Role::Insurer => {
                let message = format!(
                    "member {id} has the {} role; this action needs the insurer role",
                    m.role
                );
                return Err(refused("wrong_role", message));
            }
            Some(_) => {}
        }
        embedded_registry(registry, data)
    }

    /// A claim's status at an insurer, settled or refused: at the node's own insurer (its
    /// intake), or without a node at `insurer` in DATA's registry.
    pub fn claim_status(&self, nullifier: &str, insurer: Option<u32>) -> Result<Value, Error> {
        match self {
            Node::Remote(client) => client.get(&format!("/v1/intake/{nullifier}")),
            Node::Embedded { registry, data, .. } => {
                let insurer = insurer.ok_or_else(|| {
                    Error::Usage(
                        "claim status needs --server URL (the insurer's node) or --insurer N \
                         (DATA's registry)"
                            .into(),
                    )
                })?;
                let registry = embedded_registry(registry, data)?;
                Ok(value(insurer::status(registry, insurer, nullifier)?))
            }
        }
    }

    pub fn claim(&self, nullifier: &str) -> Result<Value, Error> {
        match self {
            Node::Remote(client) => client.get(&format!("/v1/claims/{nullifier}")),
            Node::Embedded { ledger, .. } => Ok(value(actions::claim(ledger, nullifier)?)),
        }
    }

    /// Proves a claim against the ledger's current tree: on the node (over plain HTTP to a
    /// non-loopback node only when `in_clear` allows it), which chooses the root by its own
    /// `min_root_lag` unless the request claims now, or here, by `choice`. Here, on a store
    /// of this process alone, no registration can arrive while it waits: a root too fresh is
    /// refused at once.
    pub fn prove(
        &self,
        request: actions::ProofRequest,
        in_clear: bool,
        choice: actions::RootChoice,
    ) -> Result<Package, Error> {
        match self {
            Node::Remote(client) => client.prove(&request, in_clear),
            Node::Embedded { ledger, params, .. } => {
                let primary = params.prover()?;
                let continuation = match request.previous.is_empty() {
                    true => None,
                    false => Some(params.continuation_prover()?),
                };
                let mut choice = choice.for_request(&request);
                if !ledger.shared() {
                    choice.wait = Duration::ZERO;
                }
                let started = Instant::now();
                while !choice.ready(ledger, primary.shape, &request, started)? {
                    std::thread::sleep(Duration::from_millis(200));
                }
                let witness = actions::witness(ledger, primary.shape, request)?;
                Ok(witness.prove(primary, continuation)?)
            }
        }
    }
}

/// DATA's registry, opened on first use.
fn embedded_registry<'a>(
    registry: &'a OnceCell<Registry>,
    data: &Path,
) -> Result<&'a Registry, Error> {
    if let Some(registry) = registry.get() {
        return Ok(registry);
    }
    let opened = DataDir(data.into()).open_registry()?;
    Ok(registry.get_or_init(|| opened))
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("our types serialize")
}

/// An embedded action's answer as the node's JSON.
fn value<T: serde::Serialize>(answer: T) -> Value {
    serde_json::to_value(answer).expect("our types serialize")
}
