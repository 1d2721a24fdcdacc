//! Where the ledger commands act: a node over HTTP (`--server URL`), or without it the
//! node's ledger opened here as `serve` opens it (DATA's store or `--ledger etcd://…`).
//! Both answer alike, since the embedded mode runs the node's own [`actions`].

use crate::{
    client::Client,
    consortium::{DataDir, Params, REGULATOR},
    error::Error,
    serve::{actions, insurer},
};
use rand::rngs::OsRng;
use serde_json::Value;
use std::{
    cell::OnceCell,
    path::{Path, PathBuf},
};
use zkclaim_insurer::Registry;
use zkclaim_ledger::{Ledger, MemberKey, SignedTransaction};
use zkclaim_verifier::ClaimPackage;

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
                let ledger =
                    data.open_ledger(&params.verifying_key.prepare(), ledger, REGULATOR)?;
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

    pub fn claim(&self, nullifier: &str) -> Result<Value, Error> {
        match self {
            Node::Remote(client) => client.get(&format!("/v1/claims/{nullifier}")),
            Node::Embedded { ledger, .. } => Ok(value(actions::claim(ledger, nullifier)?)),
        }
    }

    /// Proves a claim against the ledger's current tree: on the node (over plain HTTP to a
    /// non-loopback node only when `in_clear` allows it), or here.
    pub fn prove(
        &self,
        request: actions::ProofRequest,
        in_clear: bool,
    ) -> Result<ClaimPackage, Error> {
        match self {
            Node::Remote(client) => client.prove(&request, in_clear),
            Node::Embedded { ledger, params, .. } => {
                let params = params.prover()?;
                let witness = actions::witness(ledger, params.shape, request)?;
                Ok(zkclaim_prover::prove(params, witness, &mut OsRng)?)
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
