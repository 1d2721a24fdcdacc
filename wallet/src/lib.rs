//! zkclaim on the patient's device: the native crates' keys, hashes, Merkle trees, prover and
//! verifier, exported to JavaScript by wasm-bindgen (`sdk/js/build.sh` builds the
//! WebAssembly module; `sdk/js` wraps it). Nothing here is a second implementation: every
//! value is computed by `zkclaim-circuits`, every proof by `zkclaim-prover`, every check by
//! `zkclaim-verifier`, so a proof made in a browser is the one the CLI makes.
//!
//! Values cross the boundary in the files' own JSON (a key file, an invoice, a policy, a
//! Merkle path, a claim package) and field elements as `"0x"` + 64 hex digits. Errors are
//! [`WalletError`]s, thrown to JavaScript as `Error`s with the message: they name the file
//! or rule, never a value of it.

use rand::rngs::OsRng;
use serde::{de::DeserializeOwned, Serialize};
use wasm_bindgen::prelude::*;
use zkclaim_circuits::{
    claim::{ClaimWitness, RuleViolation, Shape},
    field,
    invoice::{Invoice, InvoiceError},
    keys::{self, KeyFile, SecretKey},
    policy::{self, Policy},
    tree::{IncrementalTree, MerklePath, TreeError},
    Circuit, Fr,
};
use zkclaim_prover::{ClaimParams, ParamsError, ProveError};
use zkclaim_verifier::{ClaimPackage, ClaimVerifyingKey, VerifyError};

/// Why a wallet call failed.
#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    /// A file or value that does not parse (its kind named, not its content).
    #[error("the {what} is not valid: {reason}")]
    Invalid { what: &'static str, reason: String },
    #[error("{0}")]
    Rule(#[from] RuleViolation),
    #[error("invoice: {0}")]
    Invoice(#[from] InvoiceError),
    #[error("tree: {0}")]
    Tree(#[from] TreeError),
    #[error("parameters: {0}")]
    Params(#[from] ParamsError),
    #[error("{0}")]
    Prove(#[from] ProveError),
    #[error("{0}")]
    Verify(#[from] VerifyError),
}

impl WalletError {
    /// A stable name for programs, set as the thrown `Error`'s `code`.
    pub fn code(&self) -> &'static str {
        match self {
            WalletError::Invalid { .. } => "invalid_file",
            WalletError::Rule(rule) | WalletError::Prove(ProveError::Rule(rule)) => match rule {
                RuleViolation::NotPatientsInvoice => "not_patients_invoice",
                RuleViolation::OutsidePeriod => "outside_period",
                RuleViolation::Policy(_) => "invalid_policy",
                RuleViolation::Invoice(_) => "invalid_invoice",
                _ => "rule",
            },
            WalletError::Invoice(_) => "invalid_invoice",
            WalletError::Tree(_) => "tree",
            WalletError::Params(_) => "parameters",
            WalletError::Prove(_) => "prover",
            WalletError::Verify(_) => "invalid_proof",
        }
    }
}

impl From<WalletError> for JsValue {
    fn from(e: WalletError) -> Self {
        let error = js_sys::Error::new(&e.to_string());
        // Setting a property on a fresh Error cannot fail.
        let _ = js_sys::Reflect::set(&error, &"code".into(), &e.code().into());
        error.into()
    }
}

type Result<T> = core::result::Result<T, WalletError>;

/// `json` read as the `what` file. The reason says where, and names a missing or unknown
/// field, but never quotes a value (serde's "invalid type: string \"…\"" would): an app
/// may send its errors to a crash report.
fn parse<T: DeserializeOwned>(what: &'static str, json: &str) -> Result<T> {
    serde_json::from_str(json).map_err(|e| {
        let at = format!("line {} column {}", e.line(), e.column());
        let message = e.to_string();
        let reason = if e.is_syntax() || e.is_eof() {
            format!("not JSON at {at}")
        } else if message.starts_with("missing field") || message.starts_with("unknown field") {
            // Only the schema's field names, in backticks; the rest is serde's position.
            message
        } else {
            format!("a value of the wrong type or out of range at {at}")
        };
        WalletError::Invalid { what, reason }
    })
}

fn to_json(value: &impl Serialize) -> String {
    serde_json::to_string(value).expect("the crates' types serialize")
}

fn secret_key(key: &str) -> Result<SecretKey> {
    Ok(parse::<KeyFile>("key file", key)?.secret_key())
}

fn field_element(what: &'static str, text: &str) -> Result<Fr> {
    field::parse(text).map_err(|e| WalletError::Invalid {
        what,
        reason: e.to_string(),
    })
}

/// A new patient key file, `{"sk": …, "pk": …}` (the CLI's `zkclaim keygen` format), from the
/// platform's cryptographic randomness.
#[wasm_bindgen(js_name = newKey)]
pub fn new_key() -> String {
    let sk = SecretKey::random(&mut OsRng);
    let file = KeyFile::new(&sk);
    to_json(&file)
}

/// The public key of a key file: what a hospital writes into the invoice (`patient_pk`).
#[wasm_bindgen(js_name = publicKey)]
pub fn public_key(key: &str) -> Result<String> {
    Ok(field::format(&secret_key(key)?.public_key()))
}

/// The claimant tag of a key file at insurer `insurer_id`: what the patient enrols with.
#[wasm_bindgen(js_name = claimantTag)]
pub fn claimant_tag(key: &str, insurer_id: u32) -> Result<String> {
    let sk = secret_key(key)?;
    Ok(field::format(&keys::claimant_tag(sk.expose(), insurer_id)))
}

/// An invoice's commitment (its leaf on the ledger) for circuits of `items` line items.
#[wasm_bindgen(js_name = invoiceCommitment)]
pub fn invoice_commitment(invoice: &str, items: usize) -> Result<String> {
    let invoice: Invoice = parse("invoice", invoice)?;
    Ok(field::format(&invoice.commitment(items)?))
}

/// A policy's hash, as the claim's public `policy_hash` and the insurer's enrolment hold it.
#[wasm_bindgen(js_name = policyHash)]
pub fn policy_hash(policy: &str) -> Result<String> {
    let policy: Policy = parse("policy", policy)?;
    Ok(field::format(&policy::policy_hash(&policy)))
}

/// What a claim will make public, and what the policy pays, before any path or proof: the
/// JSON of [`Preview`]. Refuses, with the statement's rule, a claim it could not prove (an
/// invoice issued to another key, outside the policy's period, an invalid policy).
#[wasm_bindgen]
pub fn preview(key: &str, invoice: &str, policy: &str, shape: &str) -> Result<String> {
    let shape: Shape = parse("shape", shape)?;
    let witness = ClaimWitness {
        sk: secret_key(key)?,
        invoice: parse("invoice", invoice)?,
        // Any path of the right depth: the root is the only value it changes, and it is not
        // shown.
        path: MerklePath {
            index: 0,
            siblings: vec![Default::default(); shape.depth],
        },
        policy: parse("policy", policy)?,
    };
    let (public, payout) = witness.evaluate(shape)?;
    Ok(to_json(&Preview {
        commitment: field::format(&witness.invoice.commitment(shape.items)?),
        nullifier: field::format(&public.nullifier),
        claimant_tag: field::format(&public.claimant_tag),
        policy_hash: field::format(&public.policy_hash),
        insurer_id: public.insurer_id,
        claim_amount: public.claim_amount,
        eligible: payout.eligible,
    }))
}

/// What [`preview`] answers: the claim's public inputs but the root, the invoice's leaf, and
/// the total the policy covers.
#[derive(Debug, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Preview {
    pub commitment: String,
    pub nullifier: String,
    pub claimant_tag: String,
    pub policy_hash: String,
    pub insurer_id: u32,
    pub claim_amount: u64,
    /// Fen the policy covers before its deductible, rate and cap.
    pub eligible: u64,
}

/// The ledger's invoice tree, rebuilt on the device from every leaf (`GET /v1/leaves`), so
/// that the node never learns which invoice's path the patient needs.
#[wasm_bindgen]
pub struct Tree(IncrementalTree);

#[wasm_bindgen]
impl Tree {
    /// An empty tree of `depth` (the genesis shape's).
    #[wasm_bindgen(constructor)]
    pub fn new(depth: usize) -> Tree {
        Tree(IncrementalTree::new(depth))
    }

    /// Appends leaves (`"0x…"` each), in the ledger's order.
    pub fn extend(&mut self, leaves: Vec<String>) -> Result<()> {
        let leaves = leaves
            .iter()
            .map(|leaf| field_element("leaf", leaf))
            .collect::<Result<Vec<_>>>()?;
        self.0.extend(&leaves)?;
        Ok(())
    }

    /// The root of the leaves so far.
    pub fn root(&self) -> String {
        field::format(&self.0.root())
    }

    /// Leaves so far.
    #[wasm_bindgen(getter)]
    pub fn length(&self) -> f64 {
        self.0.len() as f64
    }

    /// The index of `leaf`, if the tree holds it.
    pub fn position(&self, leaf: &str) -> Result<Option<f64>> {
        let leaf = field_element("leaf", leaf)?;
        Ok(self.0.position(&leaf).map(|i| i as f64))
    }

    /// The Merkle path of the leaf at `index`, as JSON.
    pub fn path(&self, index: f64) -> Result<String> {
        Ok(to_json(&self.0.path(index as u64)?))
    }
}

/// A claim circuit's proving parameters, loaded from its files' bytes as a node serves them
/// (`/params/primary/shape.json`, `claim.pk`, `claim.prover`). Loading takes the proving
/// key only when its SHA-256 is the genesis `proving_key_digest`.
#[wasm_bindgen]
pub struct Prover(ClaimParams);

impl core::fmt::Debug for Prover {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Prover({:?})", self.0.shape)
    }
}

#[wasm_bindgen]
impl Prover {
    /// The primary claim circuit's parameters; `pin` is the genesis `proving_key_digest`
    /// (64 hex digits).
    #[wasm_bindgen(constructor)]
    pub fn new(shape: &[u8], key: &[u8], prover: &[u8], pin: &str) -> Result<Prover> {
        let pin = hex::decode(pin)
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or(WalletError::Invalid {
                what: "proving key digest",
                reason: "expected 64 hex digits".into(),
            })?;
        Ok(Prover(ClaimParams::from_bytes(
            Circuit::Primary,
            [shape, key, prover],
            pin,
        )?))
    }

    /// The circuit's shape, as JSON (`{"items": …, "depth": …}`).
    #[wasm_bindgen(getter)]
    pub fn shape(&self) -> String {
        to_json(&self.0.shape)
    }

    /// A claim package (JSON) for the invoice at `path` (JSON of [`Tree::path`]), under the
    /// policy, with the key file's key. Every rule is checked natively first and the proof is
    /// verified before it is returned; the witness is wiped either way.
    pub fn prove(&self, key: &str, invoice: &str, policy: &str, path: &str) -> Result<String> {
        let witness = ClaimWitness {
            sk: secret_key(key)?,
            invoice: parse("invoice", invoice)?,
            path: parse("Merkle path", path)?,
            policy: parse("policy", policy)?,
        };
        let package = zkclaim_prover::prove(&self.0, witness, &mut OsRng)?;
        Ok(to_json(&package))
    }
}

/// Verifies a claim package (JSON) under a primary verifying key (hex, as
/// `GET /v1/verifying-key` answers it): what an insurer's JavaScript checks before it pays.
#[wasm_bindgen]
pub fn verify(verifying_key: &str, package: &str) -> Result<()> {
    let bytes = hex::decode(verifying_key).map_err(|e| WalletError::Invalid {
        what: "verifying key",
        reason: e.to_string(),
    })?;
    let key = ClaimVerifyingKey::from_bytes_for(Circuit::Primary, &bytes)?;
    let package: ClaimPackage = parse("claim package", package)?;
    Ok(package.verify(&key.prepare())?)
}

#[cfg(test)]
mod tests;
