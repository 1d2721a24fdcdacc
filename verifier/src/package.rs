//! The claim package a patient hands to an insurer.

use crate::{verify, PreparedClaimKey, Proof, VerifyError};
use serde::{Deserialize, Serialize};
use zkclaim_circuits::claim::PublicInputs;

/// `{"public_inputs": {…}, "proof": "0x…"}`. Decoding it already rejects non-canonical field
/// elements and malformed proof points.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ClaimPackage {
    pub public_inputs: PublicInputs,
    pub proof: Proof,
}

impl ClaimPackage {
    pub fn verify(&self, key: &PreparedClaimKey) -> Result<(), VerifyError> {
        verify(key, &self.public_inputs, &self.proof)
    }
}
