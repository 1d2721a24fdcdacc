//! The claim circuit's verifying key, and the checks that refuse keys anyone could forge with.
//!
//! Groth16 verification accepts `(A, B, C)` when `e(A, B) = e(α, β) · e(vk_x, γ) · e(C, δ)`,
//! with `vk_x = IC₀ + Σ xᵢ·ICᵢ₊₁`. Its soundness rests on the key's points having no relation
//! that anyone knows. Some keys carry such a relation in plain sight and let anyone, with no
//! secret at all, "prove" any public inputs:
//! - `γ = O` (the point at infinity): `(α, β, O)`; `e(vk_x, γ)` is 1 whatever the inputs.
//! - `α = O` or `β = O`: `(vk_x, γ, O)`; `e(α, β)` is 1.
//! - `δ = ±γ`: `(α, β, ∓vk_x)`; the input and `C` terms cancel.
//! - `β = ±γ`: `(α ± vk_x, β, O)`; `β = ±δ`: `(vk_x, γ, ∓α)`.
//! - `ICᵢ₊₁ = O`: input i is not bound (any value verifies with the same proof);
//!   `ICᵢ = ±ICⱼ`: the two inputs are bound only through their sum or difference.
//! - `δ = O` lets no one forge by itself, but no real key has it (δ divides the proving key's
//!   queries), nor `IC₀ = O` (arkworks binds every input, the constant one included, with an
//!   extra constraint, so each ICᵢ is a non-zero polynomial at a random point).
//!
//! [`ClaimVerifyingKey::from_bytes`] refuses all of these, and is the only way to make a key:
//! the type implements no `CanonicalDeserialize` (arkworks' derive would check points only).
//!
//! These checks catch degenerate keys, not malicious ones: a key whose points have any known
//! relation (`δ = 2γ`, say) forges just as well and looks like any other key, and whoever ran
//! the setup knows every relation. Only a key from a multi-party ceremony, pinned by its digest
//! (the genesis's `verifying_key_digest`), is trustworthy.

use crate::{table::FixedBaseTables, VerifyError};
use ark_bn254::{Bn254, G1Affine, G2Affine};
use ark_ec::{
    pairing::{Pairing, PairingOutput},
    AffineRepr,
};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use sha2::{Digest, Sha256};
use zkclaim_circuits::Circuit;

/// A Groth16 verifying key for the claim circuit, laid out as `ark_groth16::VerifyingKey`.
/// Only constructed through [`ClaimVerifyingKey::from_bytes`], which validates it.
#[derive(Clone, Debug, PartialEq, Eq, CanonicalSerialize)]
pub struct ClaimVerifyingKey {
    pub(crate) alpha_g1: G1Affine,
    pub(crate) beta_g2: G2Affine,
    pub(crate) gamma_g2: G2Affine,
    pub(crate) delta_g2: G2Affine,
    pub(crate) gamma_abc_g1: Vec<G1Affine>,
}

/// A point of a verifying key, as named in a refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyPoint {
    Alpha,
    Beta,
    Gamma,
    Delta,
    /// `gamma_abc_g1[i]` (snarkjs's `IC[i]`): i = 0 is the constant term, i ≥ 1 input i − 1.
    Input(usize),
}

impl core::fmt::Display for KeyPoint {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Alpha => f.write_str("alpha"),
            Self::Beta => f.write_str("beta"),
            Self::Gamma => f.write_str("gamma"),
            Self::Delta => f.write_str("delta"),
            Self::Input(i) => write!(f, "IC[{i}]"),
        }
    }
}

/// Why a well-formed key is refused: it would let anyone forge, or no real key looks like it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyWeakness {
    #[error("{0} is the point at infinity")]
    Identity(KeyPoint),
    #[error("{0} and {1} are equal or opposite")]
    Related(KeyPoint, KeyPoint),
}

impl ClaimVerifyingKey {
    /// Decodes a compressed key of the primary claim circuit: every point on the curve and in
    /// the prime-order subgroup, exactly the claim's public inputs, the canonical encoding
    /// with nothing after it, and none of the weaknesses in the module documentation.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, VerifyError> {
        Self::from_bytes_for(Circuit::Primary, bytes)
    }

    /// [`ClaimVerifyingKey::from_bytes`] for a key of `circuit`: a key with another
    /// circuit's number of public inputs is refused.
    pub fn from_bytes_for(circuit: Circuit, bytes: &[u8]) -> Result<Self, VerifyError> {
        let key = Self::decode(circuit, bytes)?;
        key.check()?;
        Ok(key)
    }

    /// The circuit whose proofs this key verifies (by its number of public inputs, which
    /// [`ClaimVerifyingKey::from_bytes_for`] checked).
    pub fn circuit(&self) -> Circuit {
        match self.gamma_abc_g1.len() - 1 {
            n if n == Circuit::Continuation.inputs() => Circuit::Continuation,
            _ => Circuit::Primary,
        }
    }

    fn decode(circuit: Circuit, bytes: &[u8]) -> Result<Self, VerifyError> {
        let malformed =
            |e: ark_serialize::SerializationError| VerifyError::MalformedKey(e.to_string());
        let mut r = bytes;
        let alpha_g1 = G1Affine::deserialize_compressed(&mut r).map_err(malformed)?;
        let beta_g2 = G2Affine::deserialize_compressed(&mut r).map_err(malformed)?;
        let gamma_g2 = G2Affine::deserialize_compressed(&mut r).map_err(malformed)?;
        let delta_g2 = G2Affine::deserialize_compressed(&mut r).map_err(malformed)?;
        // The count first: another circuit's key is named as such, and a huge count reads
        // nothing.
        let count = u64::deserialize_compressed(&mut r).map_err(malformed)?;
        let expected = circuit.inputs();
        if count != expected as u64 + 1 {
            return Err(VerifyError::WrongInputCount {
                circuit,
                found: usize::try_from(count)
                    .unwrap_or(usize::MAX)
                    .saturating_sub(1),
                expected,
            });
        }
        let gamma_abc_g1 = (0..=expected)
            .map(|_| G1Affine::deserialize_compressed(&mut r))
            .collect::<Result<Vec<_>, _>>()
            .map_err(malformed)?;
        if !r.is_empty() {
            return Err(VerifyError::MalformedKey(format!(
                "{} bytes after the key",
                r.len()
            )));
        }
        let key = Self {
            alpha_g1,
            beta_g2,
            gamma_g2,
            delta_g2,
            gamma_abc_g1,
        };
        // The point at infinity decodes whatever its x bytes hold: one key, one encoding, so
        // that its digest names it.
        if key.to_bytes() != bytes {
            return Err(VerifyError::MalformedKey(
                "not the canonical encoding of its points".into(),
            ));
        }
        Ok(key)
    }

    /// Refuses the keys that forge without a trapdoor, and points no real key has.
    fn check(&self) -> Result<(), VerifyError> {
        use KeyPoint::*;
        let weak = |w| Err(VerifyError::WeakKey(w));
        let g2 = [
            (Beta, self.beta_g2),
            (Gamma, self.gamma_g2),
            (Delta, self.delta_g2),
        ];
        let g1 = core::iter::once((Alpha, self.alpha_g1)).chain(
            self.gamma_abc_g1
                .iter()
                .enumerate()
                .map(|(i, p)| (Input(i), *p)),
        );
        if let Some((name, _)) = g1.clone().find(|(_, p)| p.is_zero()) {
            return weak(KeyWeakness::Identity(name));
        }
        if let Some((name, _)) = g2.iter().find(|(_, p)| p.is_zero()) {
            return weak(KeyWeakness::Identity(*name));
        }
        if let Some((a, b)) = related_pair(&g2) {
            return weak(KeyWeakness::Related(a, b));
        }
        let inputs: Vec<_> = g1.skip(1).collect();
        if let Some((a, b)) = related_pair(&inputs) {
            return weak(KeyWeakness::Related(a, b));
        }
        Ok(())
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.compressed_size());
        self.serialize_compressed(&mut out)
            .expect("writing to a Vec cannot fail");
        out
    }

    /// SHA-256 of the compressed key: how the ledger's genesis pins the circuit.
    pub fn digest(&self) -> [u8; 32] {
        Sha256::digest(self.to_bytes()).into()
    }

    /// Precomputes the pairing terms that do not depend on the proof, and the input bases'
    /// tables (a few hundred KiB, a few milliseconds).
    pub fn prepare(&self) -> PreparedClaimKey {
        PreparedClaimKey {
            alpha_beta: Bn254::pairing(self.alpha_g1, self.beta_g2),
            beta: self.beta_g2.into(),
            gamma_neg: (-self.gamma_g2).into(),
            delta_neg: (-self.delta_g2).into(),
            inputs: FixedBaseTables::new(&self.gamma_abc_g1),
            key: self.clone(),
        }
    }
}

/// The first two points (in order) that are equal or opposite.
fn related_pair<P: AffineRepr>(points: &[(KeyPoint, P)]) -> Option<(KeyPoint, KeyPoint)> {
    points.iter().enumerate().find_map(|(i, (a, p))| {
        points[i + 1..]
            .iter()
            .find(|(_, q)| *p == *q || *p == -*q)
            .map(|(b, _)| (*a, *b))
    })
}

/// A verifying key with `e(α, β)`, `β`, `−γ`, `−δ` and multiples of the `ICᵢ` precomputed:
/// prepare once, verify many.
#[derive(Clone, Debug)]
pub struct PreparedClaimKey {
    pub(crate) key: ClaimVerifyingKey,
    pub(crate) alpha_beta: PairingOutput<Bn254>,
    /// `β`, which a batch pairs with `−(Σ rᵢ)·α` in its Miller loop.
    pub(crate) beta: <Bn254 as Pairing>::G2Prepared,
    pub(crate) gamma_neg: <Bn254 as Pairing>::G2Prepared,
    pub(crate) delta_neg: <Bn254 as Pairing>::G2Prepared,
    /// `gamma_abc_g1`'s tables: `IC₀ + Σ xᵢ·ICᵢ₊₁` without a doubling.
    pub(crate) inputs: FixedBaseTables,
}

impl PreparedClaimKey {
    pub fn key(&self) -> &ClaimVerifyingKey {
        &self.key
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{prepare_inputs, verify, Proof};
    use ark_bn254::{Fr, G1Projective, G2Projective};
    use ark_ec::{CurveGroup, PrimeGroup};
    use ark_ff::{Field, One, UniformRand, Zero};
    use rand::{rngs::StdRng, Rng, SeedableRng};
    use zkclaim_circuits::{claim::PublicInputs, continuation::ContinuationPublicInputs};

    /// A key by the discrete logarithms of its points (its trapdoor), so that a test can make
    /// any key, degenerate ones included, and prove honestly under it without a circuit.
    #[derive(Clone)]
    struct Trapdoor {
        alpha: Fr,
        beta: Fr,
        gamma: Fr,
        delta: Fr,
        ic: Vec<Fr>,
    }

    impl Trapdoor {
        fn random(rng: &mut StdRng, n_inputs: usize) -> Self {
            Self {
                alpha: Fr::rand(rng),
                beta: Fr::rand(rng),
                gamma: Fr::rand(rng),
                delta: Fr::rand(rng),
                ic: (0..=n_inputs).map(|_| Fr::rand(rng)).collect(),
            }
        }

        /// The key itself, unchecked: what the old decoder let through.
        fn key(&self) -> ClaimVerifyingKey {
            let g1 = |k: &Fr| (G1Projective::generator() * k).into_affine();
            let g2 = |k: &Fr| (G2Projective::generator() * k).into_affine();
            ClaimVerifyingKey {
                alpha_g1: g1(&self.alpha),
                beta_g2: g2(&self.beta),
                gamma_g2: g2(&self.gamma),
                delta_g2: g2(&self.delta),
                gamma_abc_g1: self.ic.iter().map(g1).collect(),
            }
        }

        /// A proof for `public` made with the trapdoor: `c = (ab − αβ − vₓγ) / δ`.
        fn prove<P: zkclaim_circuits::PublicStatement>(
            &self,
            public: &P,
            rng: &mut StdRng,
        ) -> Proof {
            let (a, b) = (Fr::rand(rng), Fr::rand(rng));
            let vx = self.ic[0]
                + public
                    .field_elements()
                    .iter()
                    .zip(&self.ic[1..])
                    .map(|(x, ic)| *x * ic)
                    .sum::<Fr>();
            let c =
                (a * b - self.alpha * self.beta - vx * self.gamma) * self.delta.inverse().unwrap();
            Proof {
                a: (G1Projective::generator() * a).into_affine(),
                b: (G2Projective::generator() * b).into_affine(),
                c: (G1Projective::generator() * c).into_affine(),
            }
        }
    }

    fn random_inputs(rng: &mut StdRng) -> PublicInputs {
        PublicInputs {
            invoice_root: Fr::rand(rng),
            nullifier: Fr::rand(rng),
            claimant_tag: Fr::rand(rng),
            policy_hash: Fr::rand(rng),
            claim_amount: rng.gen_range(0..1 << 44),
            insurer_id: rng.gen(),
        }
    }

    fn key(n_inputs: usize) -> ClaimVerifyingKey {
        let g1 = |k: u64| (G1Projective::generator() * Fr::from(k)).into_affine();
        let g2 = |k: u64| (G2Projective::generator() * Fr::from(k)).into_affine();
        ClaimVerifyingKey {
            alpha_g1: g1(2),
            beta_g2: g2(3),
            gamma_g2: g2(5),
            delta_g2: g2(7),
            gamma_abc_g1: (0..=n_inputs as u64).map(|i| g1(11 + i)).collect(),
        }
    }

    fn weak(w: KeyWeakness) -> Result<ClaimVerifyingKey, VerifyError> {
        Err(VerifyError::WeakKey(w))
    }

    /// A change to an honest key's trapdoor that makes it weak.
    type Weaken = fn(&mut Trapdoor);
    /// A proof forged from the key alone (no trapdoor) for inputs whose `vk_x` is given.
    type Forgery = fn(&ClaimVerifyingKey, G1Projective) -> Proof;

    #[test]
    fn keys_that_forge_without_a_trapdoor_are_refused() {
        use KeyPoint::*;
        use KeyWeakness::*;
        let cases: [(&str, Weaken, KeyWeakness, Forgery); 7] = [
            (
                "delta = -gamma",
                |t| t.delta = -t.gamma,
                Related(Gamma, Delta),
                |k, vx| Proof {
                    a: k.alpha_g1,
                    b: k.beta_g2,
                    c: vx.into_affine(),
                },
            ),
            (
                "delta = gamma",
                |t| t.delta = t.gamma,
                Related(Gamma, Delta),
                |k, vx| Proof {
                    a: k.alpha_g1,
                    b: k.beta_g2,
                    c: (-vx).into_affine(),
                },
            ),
            (
                "gamma = O",
                |t| t.gamma = Fr::zero(),
                Identity(Gamma),
                |k, _| Proof {
                    a: k.alpha_g1,
                    b: k.beta_g2,
                    c: G1Affine::zero(),
                },
            ),
            (
                "alpha = O",
                |t| t.alpha = Fr::zero(),
                Identity(Alpha),
                |k, vx| Proof {
                    a: vx.into_affine(),
                    b: k.gamma_g2,
                    c: G1Affine::zero(),
                },
            ),
            (
                "beta = O",
                |t| t.beta = Fr::zero(),
                Identity(Beta),
                |k, vx| Proof {
                    a: vx.into_affine(),
                    b: k.gamma_g2,
                    c: G1Affine::zero(),
                },
            ),
            (
                "beta = gamma",
                |t| t.beta = t.gamma,
                Related(Beta, Gamma),
                |k, vx| Proof {
                    a: (vx + k.alpha_g1).into_affine(),
                    b: k.beta_g2,
                    c: G1Affine::zero(),
                },
            ),
            (
                "beta = -delta",
                |t| t.beta = -t.delta,
                Related(Beta, Delta),
                |k, vx| Proof {
                    a: vx.into_affine(),
                    b: k.gamma_g2,
                    c: k.alpha_g1,
                },
            ),
        ];
        let mut rng = StdRng::seed_from_u64(1);
        let honest = Trapdoor::random(&mut rng, PublicInputs::COUNT);
        for (name, weaken, weakness, forge) in cases {
            let mut t = honest.clone();
            weaken(&mut t);
            let key = t.key();
            for _ in 0..3 {
                // Any public inputs at all: the forger knows nothing but the key.
                let public = random_inputs(&mut rng);
                let prepared = key.prepare();
                let proof = forge(&key, prepare_inputs(&prepared, &public));
                assert_eq!(verify(&prepared, &public, &proof), Ok(()), "{name}");
                // The same recipe fails under a sound key: the weakness is what forges.
                let sound = honest.key();
                let prepared = sound.prepare();
                let proof = forge(&sound, prepare_inputs(&prepared, &public));
                assert_eq!(
                    verify(&prepared, &public, &proof),
                    Err(VerifyError::InvalidProof),
                    "{name}"
                );
            }
            assert_eq!(
                ClaimVerifyingKey::from_bytes(&key.to_bytes()),
                weak(weakness),
                "{name}"
            );
        }
    }

    #[test]
    fn keys_that_leave_an_input_unbound_are_refused() {
        use KeyPoint::*;
        let mut rng = StdRng::seed_from_u64(2);
        let honest = Trapdoor::random(&mut rng, PublicInputs::COUNT);
        let public = random_inputs(&mut rng);

        // IC[5] = O: claim_amount (input 4) is not bound; a proof for 7760 fen pays any sum.
        let mut t = honest.clone();
        t.ic[5] = Fr::zero();
        let proof = t.prove(&public, &mut rng);
        let mut inflated = public;
        inflated.claim_amount = 5_000_000;
        assert_eq!(verify(&t.key().prepare(), &inflated, &proof), Ok(()));
        assert_eq!(
            ClaimVerifyingKey::from_bytes(&t.key().to_bytes()),
            weak(KeyWeakness::Identity(Input(5)))
        );

        // IC[1] = IC[2]: only invoice_root + nullifier is bound; shift one into the other.
        let mut t = honest.clone();
        t.ic[2] = t.ic[1];
        let proof = t.prove(&public, &mut rng);
        let mut moved = public;
        moved.invoice_root += Fr::from(1u64);
        moved.nullifier -= Fr::from(1u64);
        assert_eq!(verify(&t.key().prepare(), &moved, &proof), Ok(()));
        assert_eq!(
            ClaimVerifyingKey::from_bytes(&t.key().to_bytes()),
            weak(KeyWeakness::Related(Input(1), Input(2)))
        );
        // IC[1] = −IC[3] likewise (only the difference is bound).
        let mut t = honest.clone();
        t.ic[3] = -t.ic[1];
        assert_eq!(
            ClaimVerifyingKey::from_bytes(&t.key().to_bytes()),
            weak(KeyWeakness::Related(Input(1), Input(3)))
        );

        // Under the honest key the same changes are refused.
        let proof = honest.prove(&public, &mut rng);
        let key = honest.key().prepare();
        assert_eq!(verify(&key, &public, &proof), Ok(()));
        for changed in [inflated, moved] {
            assert_eq!(
                verify(&key, &changed, &proof),
                Err(VerifyError::InvalidProof)
            );
        }
    }

    #[test]
    fn points_no_setup_makes_are_refused() {
        use KeyPoint::*;
        let mut rng = StdRng::seed_from_u64(3);
        let honest = Trapdoor::random(&mut rng, PublicInputs::COUNT);
        let cases: [(Weaken, KeyPoint); 2] = [
            (|t| t.delta = Fr::zero(), Delta),
            (|t| t.ic[0] = Fr::zero(), Input(0)),
        ];
        for (weaken, point) in cases {
            let mut t = honest.clone();
            weaken(&mut t);
            assert_eq!(
                ClaimVerifyingKey::from_bytes(&t.key().to_bytes()),
                weak(KeyWeakness::Identity(point))
            );
        }
        let k = honest.key();
        assert_eq!(ClaimVerifyingKey::from_bytes(&k.to_bytes()), Ok(k));
    }

    #[test]
    fn accepts_a_well_formed_key() {
        let k = key(PublicInputs::COUNT);
        assert_eq!(ClaimVerifyingKey::from_bytes(&k.to_bytes()), Ok(k.clone()));
        assert_ne!(k.digest(), key(PublicInputs::COUNT + 1).digest());
    }

    #[test]
    fn each_circuits_key_verifies_its_own_proofs_and_refuses_the_others() {
        use crate::{verify_batch, BatchError};
        let mut rng = StdRng::seed_from_u64(13);
        let primary = Trapdoor::random(&mut rng, PublicInputs::COUNT);
        let continuation = Trapdoor::random(&mut rng, ContinuationPublicInputs::COUNT);
        let (pk, ck) = (primary.key().prepare(), continuation.key().prepare());
        let inputs = ContinuationPublicInputs {
            invoice_root: Fr::rand(&mut rng),
            settled_root: Fr::rand(&mut rng),
            nullifier: Fr::rand(&mut rng),
            claimant_tag: Fr::rand(&mut rng),
            policy_hash: Fr::rand(&mut rng),
            claim_amount: 1_234,
            settled_leaf: Fr::rand(&mut rng),
            insurer_id: 11,
        };
        let proof = continuation.prove(&inputs, &mut rng);
        assert_eq!(verify(&ck, &inputs, &proof), Ok(()));
        assert_eq!(
            verify_batch(&ck, &[(inputs, proof), (inputs, proof)], &mut rng),
            Ok(())
        );
        let mut changed = inputs;
        changed.settled_leaf += Fr::from(1u64);
        assert_eq!(
            verify(&ck, &changed, &proof),
            Err(VerifyError::InvalidProof)
        );
        assert_eq!(
            verify_batch(&ck, &[(inputs, proof), (changed, proof)], &mut rng),
            Err(BatchError {
                failures: vec![(1, VerifyError::InvalidProof)]
            })
        );
        let wrong = VerifyError::WrongCircuit {
            key: Circuit::Primary,
            proof: Circuit::Continuation,
        };
        assert_eq!(verify(&pk, &inputs, &proof), Err(wrong.clone()));
        assert_eq!(
            verify_batch(&pk, &[(inputs, proof)], &mut rng),
            Err(BatchError {
                failures: vec![(0, wrong)]
            })
        );
        let public = random_inputs(&mut rng);
        let proof = primary.prove(&public, &mut rng);
        assert_eq!(verify(&pk, &public, &proof), Ok(()));
        assert_eq!(
            verify(&ck, &public, &proof),
            Err(VerifyError::WrongCircuit {
                key: Circuit::Continuation,
                proof: Circuit::Primary,
            })
        );
    }

    /// A field element that is 0, 1, r − 1 or random, and an amount or id that is 0, 1, the
    /// largest the statement allows, or random.
    fn edge_field(rng: &mut StdRng) -> Fr {
        [Fr::zero(), Fr::one(), -Fr::one(), Fr::rand(rng)][rng.gen_range(0..4)]
    }
    fn edge_amount(rng: &mut StdRng) -> u64 {
        [0, 1, (1 << 44) - 1, rng.gen_range(0..1 << 44)][rng.gen_range(0..4)]
    }
    fn edge_id(rng: &mut StdRng) -> u32 {
        [0, 1, u32::MAX, rng.gen()][rng.gen_range(0..4)]
    }
    fn edge_continuation(r: &mut StdRng) -> ContinuationPublicInputs {
        ContinuationPublicInputs {
            invoice_root: edge_field(r),
            settled_root: edge_field(r),
            nullifier: edge_field(r),
            claimant_tag: edge_field(r),
            policy_hash: edge_field(r),
            claim_amount: edge_amount(r),
            settled_leaf: edge_field(r),
            insurer_id: edge_id(r),
        }
    }

    #[test]
    fn tables_prepare_every_input_of_both_circuits_like_a_plain_msm() {
        use ark_ec::VariableBaseMSM;
        fn check<P: zkclaim_circuits::PublicStatement>(key: &PreparedClaimKey, public: &P) {
            let scalars: Vec<Fr> = core::iter::once(Fr::one())
                .chain(public.field_elements())
                .collect();
            let plain = G1Projective::msm(&key.key().gamma_abc_g1, &scalars).unwrap();
            assert_eq!(prepare_inputs(key, public), plain);
        }
        let mut rng = StdRng::seed_from_u64(14);
        let primary = Trapdoor::random(&mut rng, PublicInputs::COUNT)
            .key()
            .prepare();
        let continuation = Trapdoor::random(&mut rng, ContinuationPublicInputs::COUNT)
            .key()
            .prepare();
        let r = &mut rng;
        for _ in 0..64 {
            let public = PublicInputs {
                invoice_root: edge_field(r),
                nullifier: edge_field(r),
                claimant_tag: edge_field(r),
                policy_hash: edge_field(r),
                claim_amount: edge_amount(r),
                insurer_id: edge_id(r),
            };
            check(&primary, &public);
            check(&continuation, &edge_continuation(r));
        }
    }

    #[test]
    fn a_batch_of_64_names_exactly_its_one_bad_proof() {
        use crate::{verify_batch, BatchError};
        let mut rng = StdRng::seed_from_u64(15);
        let t = Trapdoor::random(&mut rng, PublicInputs::COUNT);
        let key = t.key().prepare();
        let claims: Vec<(PublicInputs, Proof)> = (0..64)
            .map(|_| {
                let public = random_inputs(&mut rng);
                let proof = t.prove(&public, &mut rng);
                (public, proof)
            })
            .collect();
        assert_eq!(verify_batch(&key, &claims, &mut rng), Ok(()));
        type Tamper = fn(&mut (PublicInputs, Proof), &Proof);
        let tampers: [Tamper; 4] = [
            |(public, _), _| public.claim_amount += 1,
            |(public, _), _| public.nullifier += Fr::one(),
            |(_, proof), other| proof.c = other.c,
            |(_, proof), _| proof.a = -proof.a,
        ];
        for (n, tamper) in tampers.iter().enumerate() {
            for bad in [0, 37, 63] {
                let mut batch = claims.clone();
                tamper(&mut batch[bad], &claims[(bad + 1) % 64].1);
                let only = Err(BatchError {
                    failures: vec![(bad, VerifyError::InvalidProof)],
                });
                assert_eq!(verify_batch(&key, &batch, &mut rng), only, "tamper {n}");
                // Alone too, where no weighting is involved.
                assert_eq!(
                    verify_batch(&key, &batch[bad..=bad], &mut rng),
                    Err(BatchError {
                        failures: vec![(0, VerifyError::InvalidProof)]
                    }),
                    "tamper {n}"
                );
            }
        }
    }

    /// The batch's equation itself, without the proof-by-proof check that `verify_batch`
    /// falls back to (which would hide an equation that refuses good batches, at five times
    /// the cost): it holds for valid proofs of both circuits, at batch sizes around a task's,
    /// with random weights and the largest, and fails when one proof's input, C or A changes.
    #[test]
    fn the_batch_equation_holds_exactly_for_valid_batches() {
        use crate::batch::batch_holds;
        fn check<P: zkclaim_circuits::PublicStatement + Clone>(
            rng: &mut StdRng,
            public: impl Fn(&mut StdRng) -> P,
            tamper: impl Fn(&mut P),
        ) {
            let t = Trapdoor::random(rng, P::CIRCUIT.inputs());
            let key = t.key().prepare();
            for n in [2, 7, 8, 9, 17] {
                let claims: Vec<(P, Proof)> = (0..n)
                    .map(|_| {
                        let public = public(rng);
                        let proof = t.prove(&public, rng);
                        (public, proof)
                    })
                    .collect();
                let weights: Vec<u128> = (0..n).map(|_| rng.gen()).collect();
                assert!(batch_holds(&key, &claims, &weights), "{n} valid proofs");
                let edge = vec![u128::MAX; n];
                assert!(
                    batch_holds(&key, &claims, &edge),
                    "{n} proofs, weights 2^128 - 1"
                );
                let bad = rng.gen_range(0..n);
                let mut inputs = claims.clone();
                tamper(&mut inputs[bad].0);
                assert!(!batch_holds(&key, &inputs, &weights), "input of {bad}/{n}");
                let mut swapped = claims.clone();
                swapped[bad].1.c = claims[(bad + 1) % n].1.c;
                assert!(!batch_holds(&key, &swapped, &weights), "C of {bad}/{n}");
                let mut negated = claims.clone();
                negated[bad].1.a = -negated[bad].1.a;
                assert!(!batch_holds(&key, &negated, &weights), "A of {bad}/{n}");
            }
        }
        let mut rng = StdRng::seed_from_u64(16);
        check(&mut rng, random_inputs, |p| p.claim_amount += 1);
        check(&mut rng, edge_continuation, |p| p.settled_leaf += Fr::one());
    }

    fn k_primary() -> ClaimVerifyingKey {
        key(PublicInputs::COUNT)
    }

    #[test]
    fn rejects_another_circuits_input_count() {
        // Statement v1's key: five inputs, no insurer_id.
        let k = key(5);
        assert_eq!(
            ClaimVerifyingKey::from_bytes(&k.to_bytes()),
            Err(VerifyError::WrongInputCount {
                circuit: Circuit::Primary,
                found: 5,
                expected: 6
            })
        );
        // Each circuit's key is refused as the other's, and known as its own.
        let continuation = key(ContinuationPublicInputs::COUNT);
        assert_eq!(
            ClaimVerifyingKey::from_bytes(&continuation.to_bytes()),
            Err(VerifyError::WrongInputCount {
                circuit: Circuit::Primary,
                found: 8,
                expected: 6
            })
        );
        assert_eq!(
            ClaimVerifyingKey::from_bytes_for(Circuit::Continuation, &k_primary().to_bytes()),
            Err(VerifyError::WrongInputCount {
                circuit: Circuit::Continuation,
                found: 6,
                expected: 8
            })
        );
        let decoded =
            ClaimVerifyingKey::from_bytes_for(Circuit::Continuation, &continuation.to_bytes())
                .unwrap();
        assert_eq!(decoded.circuit(), Circuit::Continuation);
        assert_eq!(k_primary().circuit(), Circuit::Primary);
        // A count far beyond the bytes given is refused before any point is read.
        let mut bytes = key(PublicInputs::COUNT).to_bytes();
        bytes[224..232].copy_from_slice(&(1u64 << 40).to_le_bytes());
        assert_eq!(
            ClaimVerifyingKey::from_bytes(&bytes),
            Err(VerifyError::WrongInputCount {
                circuit: Circuit::Primary,
                found: (1 << 40) - 1,
                expected: PublicInputs::COUNT
            })
        );
    }

    #[test]
    fn rejects_truncated_corrupt_padded_or_non_canonical_bytes() {
        let bytes = key(PublicInputs::COUNT).to_bytes();
        assert!(matches!(
            ClaimVerifyingKey::from_bytes(&bytes[..bytes.len() - 1]),
            Err(VerifyError::MalformedKey(_))
        ));
        let mut flipped = bytes.clone();
        flipped[40] ^= 0x55;
        assert!(matches!(
            ClaimVerifyingKey::from_bytes(&flipped),
            Err(VerifyError::MalformedKey(_))
        ));
        let mut padded = bytes.clone();
        padded.push(0);
        assert_eq!(
            ClaimVerifyingKey::from_bytes(&padded),
            Err(VerifyError::MalformedKey("1 bytes after the key".into()))
        );
        // alpha as the point at infinity with stray x bits: one key, two encodings.
        let mut stray = bytes;
        stray[..32].fill(0);
        stray[0] = 1;
        stray[31] = 0x40;
        assert_eq!(
            ClaimVerifyingKey::from_bytes(&stray),
            Err(VerifyError::MalformedKey(
                "not the canonical encoding of its points".into()
            ))
        );
    }
}
