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
