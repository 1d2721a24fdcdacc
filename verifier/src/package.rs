//! The claim packages a patient hands to an insurer: one per circuit.

use crate::{verify, PreparedClaimKey, Proof, VerifyError};
use serde::{Deserialize, Serialize};
use zkclaim_circuits::{claim::PublicInputs, continuation::ContinuationPublicInputs};

/// A primary claim: `{"public_inputs": {…}, "proof": "0x…"}`. Decoding it already rejects
/// non-canonical field elements and malformed proof points.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ClaimPackage {
    pub public_inputs: PublicInputs,
    pub proof: Proof,
}

impl ClaimPackage {
    /// Verifies it under the primary circuit's key.
    pub fn verify(&self, key: &PreparedClaimKey) -> Result<(), VerifyError> {
        verify(key, &self.public_inputs, &self.proof)
    }
}

/// A continuation claim (statement v2, a later payer on the same invoice): the same layout
/// with the continuation circuit's eight public inputs, which its `deny_unknown_fields` tells
/// apart from a primary package's six.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ContinuationPackage {
    pub public_inputs: ContinuationPublicInputs,
    pub proof: Proof,
}

impl ContinuationPackage {
    /// Verifies it under the continuation circuit's key.
    pub fn verify(&self, key: &PreparedClaimKey) -> Result<(), VerifyError> {
        verify(key, &self.public_inputs, &self.proof)
    }
}
