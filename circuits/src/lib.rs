//! The zkclaim claim statement (see `docs/protocol.md`).
//!
//! Native values and hashes live at the top level; the feature `r1cs` adds `gadget`, whose
//! modules mirror these paths with in-circuit twins of the same names.

pub mod claim;
pub mod continuation;
pub mod date;
pub mod field;
pub mod invoice;
pub mod keys;
pub mod nullifier;
pub mod policy;
pub mod poseidon;
pub mod sample;
#[cfg(feature = "openapi")]
pub mod schema;
pub mod settled;
pub mod tree;

#[cfg(feature = "r1cs")]
pub mod gadget;

pub use ark_bn254::Fr;

/// The two circuits of statement v2. Each has its own parameters and verifying key; a
/// `SettleClaim` names which one its proof is of.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Circuit {
    /// The first claim on an invoice (rank 0): [`claim`].
    #[default]
    Primary,
    /// A later payer's claim (rank 1 to 3): [`continuation`].
    Continuation,
}

impl Circuit {
    pub const ALL: [Circuit; 2] = [Circuit::Primary, Circuit::Continuation];

    /// How many public inputs its proofs have.
    pub const fn inputs(self) -> usize {
        match self {
            Circuit::Primary => claim::PublicInputs::COUNT,
            Circuit::Continuation => continuation::ContinuationPublicInputs::COUNT,
        }
    }

    /// The lowercase name used in files, flags and messages.
    pub const fn name(self) -> &'static str {
        match self {
            Circuit::Primary => "primary",
            Circuit::Continuation => "continuation",
        }
    }
}

impl core::fmt::Display for Circuit {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// The public inputs of one of the [`Circuit`]s, in the one order their proofs take them.
pub trait PublicStatement: Copy + core::fmt::Debug + Send + Sync {
    const CIRCUIT: Circuit;

    /// The inputs as field elements, in the statement's order.
    fn field_elements(&self) -> Vec<Fr>;
}

impl PublicStatement for claim::PublicInputs {
    const CIRCUIT: Circuit = Circuit::Primary;

    fn field_elements(&self) -> Vec<Fr> {
        self.to_field_elements().to_vec()
    }
}

impl PublicStatement for continuation::ContinuationPublicInputs {
    const CIRCUIT: Circuit = Circuit::Continuation;

    fn field_elements(&self) -> Vec<Fr> {
        self.to_field_elements().to_vec()
    }
}
