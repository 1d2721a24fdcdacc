//! Claim proving: parameters, witness checking and Groth16 proofs.
//!
//! The prover refuses a witness that breaks the statement, naming the broken rule, because
//! `ark_groth16` would otherwise return an invalid proof without complaint in release builds.

pub mod ceremony;
pub mod circom;
mod groth16;
mod matrices;
pub mod msm;
mod params;
mod prove;
mod prover_file;
pub mod ptau;
pub mod zkey;

pub use matrices::ClaimMatrices;
pub use params::{ClaimParams, ClaimProvingKey, ParamsError, Qap};
pub use prove::{prove, prove_continuation, ProveError};
pub use prover_file::{ProverFileError, FORMAT_VERSION};

#[cfg(test)]
mod tests;
