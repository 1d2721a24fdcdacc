//! The verifying keys a ledger checks claim proofs with: one per circuit the genesis pins.

use crate::{genesis::Genesis, LedgerError};
use zkclaim_circuits::Circuit;
use zkclaim_verifier::PreparedClaimKey;

/// The prepared verifying keys of the primary circuit and, when the genesis pins it
/// (statement v2), the continuation circuit, each checked against its genesis digest.
#[derive(Clone, Debug)]
pub struct VerifyingKeys {
    primary: PreparedClaimKey,
    continuation: Option<PreparedClaimKey>,
}

impl VerifyingKeys {
    /// The keys for `genesis`: each of its circuit's, with the digest the genesis pins; a
    /// continuation key exactly when the genesis pins one.
    pub fn new(
        genesis: &Genesis,
        primary: PreparedClaimKey,
        continuation: Option<PreparedClaimKey>,
    ) -> Result<Self, LedgerError> {
        let keys = Self {
            primary,
            continuation,
        };
        keys.check(genesis)?;
        Ok(keys)
    }

    /// Checks the keys against `genesis` (which [`VerifyingKeys::new`] did for its own).
    pub(crate) fn check(&self, genesis: &Genesis) -> Result<(), LedgerError> {
        pinned(
            Circuit::Primary,
            &self.primary,
            &genesis.verifying_key_digest,
        )?;
        match (&self.continuation, &genesis.continuation) {
            (Some(key), Some(pin)) => pinned(Circuit::Continuation, key, &pin.verifying_key_digest),
            (None, None) => Ok(()),
            (None, Some(_)) => Err(LedgerError::MissingVerifyingKey(Circuit::Continuation)),
            (Some(_), None) => Err(LedgerError::NoContinuationKey),
        }
    }

    pub fn primary(&self) -> &PreparedClaimKey {
        &self.primary
    }

    /// The continuation circuit's key; refused when the genesis pins none.
    pub fn continuation(&self) -> Result<&PreparedClaimKey, LedgerError> {
        self.continuation
            .as_ref()
            .ok_or(LedgerError::NoContinuationKey)
    }
}

/// `key` is a key of `circuit` with the pinned digest.
fn pinned(circuit: Circuit, key: &PreparedClaimKey, digest: &[u8; 32]) -> Result<(), LedgerError> {
    if key.key().circuit() != circuit || key.key().digest() != *digest {
        return Err(LedgerError::WrongVerifyingKey(circuit));
    }
    Ok(())
}
