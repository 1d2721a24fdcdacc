//! One module a command group, as cargo keeps `src/bin/cargo/commands/<cmd>.rs`: each holds
//! its arguments and its `exec`. `main.rs` only parses and dispatches.

pub mod audit;
pub mod bench;
pub mod ceremony;
pub mod claim;
pub mod consortium;
pub mod demo;
pub mod export;
pub mod insurer;
pub mod invoice;
pub mod loadtest;
pub mod member;
pub mod patient;
pub mod prove;
pub mod serve;
pub mod setup;
pub mod tree;
pub mod verify;

use crate::{client::Client, consortium::DataDir, error::Error, files, node::Node, output::Output};
use std::path::{Path, PathBuf};
use zkclaim_circuits::claim::Shape;
use zkclaim_circuits::{field, Circuit, Fr};
use zkclaim_ledger::{MemberKey, SignedTransaction, Transaction};

/// What every command may use: the global flags.
pub struct Context {
    pub data: DataDir,
    pub server: Option<String>,
    pub ca_cert: Option<PathBuf>,
    /// Text or, with `--json`, JSON.
    pub output: Output,
}

impl Context {
    /// `--params DIR`, or DATA/params.
    pub fn params_dir(&self, params: Option<PathBuf>) -> PathBuf {
        params.unwrap_or_else(|| self.data.params())
    }

    /// A client of the node at `--server`, which `what` needs.
    pub fn client(&self, what: &str) -> Result<Client, Error> {
        let server = self.server.as_deref().ok_or_else(|| {
            Error::Usage(format!("{what} needs --server URL: the node to send it to"))
        })?;
        Client::new(server, self.ca_cert.as_deref())
    }

    /// The node at `--server`, or the embedded ledger of DATA (or `chain`'s etcd cluster)
    /// with the parameters in `params`.
    pub fn node(&self, params: &Path, chain: Chain) -> Result<Node, Error> {
        Node::open(
            self.server.as_deref(),
            self.ca_cert.as_deref(),
            &self.data,
            (params, chain.ledger.as_deref()),
        )
    }
}

/// For a clap argument that is a field element, `0x` and 64 hex digits.
pub fn parse_field(text: &str) -> Result<Fr, String> {
    field::parse(text).map_err(|e| e.to_string())
}

/// A string of a node's answer, for text output: `?` if it is not one.
pub fn shown(value: &serde_json::Value) -> &str {
    value.as_str().unwrap_or("?")
}

/// `--items`, `--depth`: the claim circuit's shape, where a command takes one.
#[derive(clap::Args)]
pub struct ShapeArgs {
    /// Invoice line items of the circuit.
    #[arg(long)]
    items: Option<usize>,
    /// Invoice tree depth of the circuit.
    #[arg(long)]
    depth: Option<usize>,
}

impl ShapeArgs {
    /// Whether either flag was given.
    pub fn given(&self) -> bool {
        self.items.is_some() || self.depth.is_some()
    }

    /// `base` with the flags given.
    pub fn over(&self, base: Shape) -> Shape {
        Shape {
            items: self.items.unwrap_or(base.items),
            depth: self.depth.unwrap_or(base.depth),
        }
    }
}

/// `--circuit`: which of the statement's two circuits a command is about.
#[derive(clap::Args)]
pub struct CircuitArg {
    /// The circuit: `primary` (an invoice's first claim) or `continuation` (a later payer's
    /// claim on an invoice whose previous rank settled); each has its own parameters and
    /// ceremony.
    #[arg(long, value_parser = circuit_parser(), default_value = "primary")]
    pub circuit: Circuit,
}

/// `primary` or `continuation`, the names [`Circuit::name`] gives.
fn circuit_parser() -> impl clap::builder::TypedValueParser<Value = Circuit> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(Circuit::ALL.map(Circuit::name)).map(|name| {
        Circuit::ALL
            .into_iter()
            .find(|c| c.name() == name)
            .expect("one of the possible values")
    })
}

/// Where a command without `--server` finds the chain.
#[derive(clap::Args)]
pub struct Chain {
    /// The etcd cluster (`etcd://HOST:PORT,…`) holding the chain, instead of DATA's store.
    /// Not used with --server.
    #[arg(long, env = "ZKCLAIM_LEDGER")]
    pub ledger: Option<String>,
}

/// The member who signs a ledger transaction (and, with `--server`, the request).
#[derive(clap::Args)]
#[group(required = true, multiple = false)]
pub struct Signer {
    /// Member N, with its key DATA/consortium/keys/member-N.json.
    #[arg(long)]
    member: Option<u32>,
    /// The member key file to sign with (`-`: standard input).
    #[arg(long)]
    member_key: Option<PathBuf>,
}

impl Signer {
    /// The member's key: `--member-key FILE`, or member N's in DATA.
    pub fn key(&self, data: &DataDir) -> Result<MemberKey, Error> {
        match (&self.member_key, self.member) {
            (Some(path), _) => Ok(MemberKey::from_json(&files::read_text(path)?)?),
            (None, Some(member)) => data.load_key(member),
            (None, None) => unreachable!("clap requires one of the two"),
        }
    }

    /// Signs `tx` for DATA's consortium.
    pub fn sign(
        &self,
        data: &DataDir,
        tx: Transaction,
    ) -> Result<(MemberKey, SignedTransaction), Error> {
        let key = self.key(data)?;
        let stx = tx.sign(&data.load_genesis()?.chain_id, &key);
        Ok((key, stx))
    }
}
