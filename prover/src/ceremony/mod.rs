//! A Groth16 phase-2 ceremony in snarkjs's formats, so that zkclaim and snarkjs can take
//! turns on one transcript and each verify the other's: a phase-1 file (`.ptau`,
//! [`crate::ptau`]) and the claim circuit make the initial key ([`init`]); each member's
//! contribution, and the closing random beacon, multiply delta by a secret and prove
//! knowledge of it ([`mpc`], with snarkjs's deterministic randomness in [`rng`]).

pub mod init;
pub mod mpc;
pub mod rng;
