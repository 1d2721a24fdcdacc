//! The ledger end to end, with real claim proofs (a small circuit: 2 items, depth 8).
//!
//! One test binary, so the circuit setup runs once and the crash test can re-execute it as
//! its writer child.

mod auditing;
mod claims;
mod continuations;
mod crash;
mod fixture;
mod persistence;
mod requests;
mod rules;
mod shared;
mod voids;
