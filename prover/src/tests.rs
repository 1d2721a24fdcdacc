//! Proofs end to end: valid claims verify; anything changed does not.

use crate::{params::Derive, prove, prove_continuation, ClaimParams, ParamsError, ProveError, Qap};
use ark_bn254::{Bn254, Fr};
use ark_ff::{BigInteger, PrimeField, UniformRand};
use ark_groth16::Groth16;
use ark_snark::SNARK;
use rand::{rngs::StdRng, SeedableRng};
use sha2::Digest;
use std::sync::OnceLock;
use zkclaim_circuits::{
    claim::{ClaimWitness, PublicInputs, RuleViolation, Shape},
    continuation::ContinuationViolation,
    field,
    keys::SecretKey,
    sample,
    tree::IncrementalTree,
    Circuit,
};
use zkclaim_verifier::{verify, ClaimPackage, ClaimVerifyingKey, Proof, VerifyError};

fn params() -> &'static ClaimParams {
    static P: OnceLock<ClaimParams> = OnceLock::new();
    P.get_or_init(|| {
        ClaimParams::setup(
            Circuit::Primary,
            Shape::default(),
            &mut StdRng::seed_from_u64(1),
        )
        .unwrap()
    })
}

fn witness(rng: &mut StdRng) -> ClaimWitness {
    let sk = SecretKey::random(rng);
    let invoice = sample::spec_invoice(rng, sk.public_key(), 7);
    let policy = sample::policy(rng, 2);
    let mut tree = IncrementalTree::new(32);
    for _ in 0..3 {
        tree.append(Fr::rand(rng)).unwrap();
    }
    let index = tree.append(invoice.commitment(8).unwrap()).unwrap();
    ClaimWitness {
        sk,
        invoice,
        path: tree.path(index).unwrap(),
        policy,
    }
}

fn proved() -> (ClaimPackage, StdRng) {
    let mut rng = StdRng::seed_from_u64(2);
    let w = witness(&mut rng);
    (prove(params(), w, &mut rng).unwrap(), rng)
}

#[test]
fn a_valid_claim_verifies_and_round_trips_as_json() {
    let (pkg, _) = proved();
    assert_eq!(pkg.public_inputs.claim_amount, 7_760);
    pkg.verify(&params().prepared).unwrap();
    let json = serde_json::to_string(&pkg).unwrap();
    let back: ClaimPackage = serde_json::from_str(&json).unwrap();
    assert_eq!(back, pkg);
    assert_eq!(pkg.proof.to_bytes().len(), 128);
}

#[test]
fn changing_any_public_input_fails_verification() {
    let (pkg, _) = proved();
    let one = Fr::from(1u64);
    let tampers: [fn(&mut PublicInputs, Fr); PublicInputs::COUNT] = [
        |p, d| p.invoice_root += d,
        |p, d| p.nullifier += d,
        |p, d| p.claimant_tag += d,
        |p, d| p.policy_hash += d,
        |p, _| p.claim_amount += 1,
        |p, _| p.insurer_id += 1,
    ];
    for (i, tamper) in tampers.iter().enumerate() {
        let mut public = pkg.public_inputs;
        tamper(&mut public, one);
        assert_eq!(
            verify(&params().prepared, &public, &pkg.proof),
            Err(VerifyError::InvalidProof),
            "input {i}"
        );
    }
    let mut lower = pkg.public_inputs;
    lower.claim_amount -= 1;
    assert_eq!(
        verify(&params().prepared, &lower, &pkg.proof),
        Err(VerifyError::InvalidProof)
    );
}

#[test]
fn a_public_input_encoded_as_x_plus_r_is_rejected() {
    let (pkg, _) = proved();
    let json = serde_json::to_string(&pkg).unwrap();
    let x = pkg.public_inputs.nullifier;
    let mut x_plus_r = x.into_bigint();
    assert!(
        !x_plus_r.add_with_carry(&Fr::MODULUS),
        "x + r < 2^256 for BN254"
    );
    let forged = json.replace(
        &field::format(&x),
        &format!("0x{}", hex_of(&x_plus_r.to_bytes_be())),
    );
    assert_ne!(forged, json);
    let err = serde_json::from_str::<ClaimPackage>(&forged)
        .unwrap_err()
        .to_string();
    assert!(err.contains("not canonical"), "{err}");
}

fn hex_of(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn a_rerandomized_proof_still_verifies() {
    // Groth16 proofs are malleable into fresh-looking proofs of the same statement: the
    // ledger must key claims by nullifier, never by proof bytes.
    let (pkg, mut rng) = proved();
    let ark = ark_groth16::Proof::<Bn254> {
        a: pkg.proof.a,
        b: pkg.proof.b,
        c: pkg.proof.c,
    };
    let re = Groth16::<Bn254>::rerandomize_proof(&params().proving_key.as_ark().vk, &ark, &mut rng);
    let re = Proof {
        a: re.a,
        b: re.b,
        c: re.c,
    };
    assert_ne!(re, pkg.proof);
    verify(&params().prepared, &pkg.public_inputs, &re).unwrap();
}

#[test]
fn proofs_and_keys_interoperate_with_ark_groth16() {
    let (pkg, _) = proved();
    let ark = ark_groth16::Proof::<Bn254> {
        a: pkg.proof.a,
        b: pkg.proof.b,
        c: pkg.proof.c,
    };
    let vk = &params().proving_key.as_ark().vk;
    let inputs = pkg.public_inputs.to_field_elements();
    assert!(Groth16::<Bn254>::verify(vk, &inputs, &ark).unwrap());
    let mut bytes = Vec::new();
    ark_serialize::CanonicalSerialize::serialize_compressed(&ark, &mut bytes).unwrap();
    assert_eq!(bytes, pkg.proof.to_bytes());
}

#[test]
fn an_unsatisfiable_claim_is_refused_with_the_rule() {
    let mut rng = StdRng::seed_from_u64(3);
    let mut w = witness(&mut rng);
    w.policy.period_end = 20_700;
    let err = prove(params(), w, &mut rng).unwrap_err();
    assert!(matches!(
        err,
        ProveError::Rule(RuleViolation::OutsidePeriod)
    ));
    assert_eq!(
        err.to_string(),
        "the claim does not satisfy the statement: issued_on outside policy period"
    );

    let mut w = witness(&mut rng);
    w.sk = SecretKey::random(&mut rng);
    let err = prove(params(), w, &mut rng).unwrap_err();
    assert!(
        matches!(err, ProveError::Rule(RuleViolation::NotPatientsInvoice)),
        "{err}"
    );
}

#[test]
fn stock_groth16_proves_an_unsatisfied_witness_silently() {
    // Why the prover checks satisfaction itself: in release builds ark_groth16 returns a
    // proof for a broken witness, which then fails verification. (The workspace profiles
    // build dependencies without debug assertions, as release does.)
    let mut rng = StdRng::seed_from_u64(4);
    let mut c =
        zkclaim_circuits::gadget::claim::ClaimCircuit::new(Shape::default(), witness(&mut rng))
            .unwrap();
    c.public.claim_amount += 1;
    let public = c.public;
    let proof = Groth16::<Bn254>::prove(params().proving_key.as_ark(), c, &mut rng).unwrap();
    let proof = Proof {
        a: proof.a,
        b: proof.b,
        c: proof.c,
    };
    assert_eq!(
        verify(&params().prepared, &public, &proof),
        Err(VerifyError::InvalidProof)
    );
}

#[test]
fn parameters_survive_save_and_load() {
    let dir = std::env::temp_dir().join(format!("zkclaim-params-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    params().save(&dir).unwrap();
    assert!(ClaimParams::files(&dir, Circuit::Primary)
        .iter()
        .all(|f| f.is_file()));
    // Saving again never replaces them.
    let pk = std::fs::read(dir.join("claim.pk")).unwrap();
    assert!(matches!(params().save(&dir), Err(ParamsError::Exists(f)) if f.ends_with("claim.pk")));
    assert_eq!(std::fs::read(dir.join("claim.pk")).unwrap(), pk);
    let loaded = ClaimParams::load(&dir, Circuit::Primary).unwrap();
    assert_eq!(loaded.verifying_key, params().verifying_key);
    assert_eq!(loaded.shape, Shape::default());
    assert_eq!(
        ClaimParams::load_verifying_key(&dir, Circuit::Primary).unwrap(),
        params().verifying_key
    );
    let (pkg, _) = proved();
    pkg.verify(&loaded.prepared).unwrap();
    // A verifying key from other parameters does not match the proving key.
    std::fs::write(dir.join("claim.vk"), {
        let other = ClaimParams::setup(
            Circuit::Primary,
            Shape { items: 2, depth: 2 },
            &mut StdRng::seed_from_u64(9),
        )
        .unwrap();
        other.verifying_key.to_bytes()
    })
    .unwrap();
    assert!(ClaimParams::load(&dir, Circuit::Primary).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn batch_verification_accepts_valid_batches_and_names_bad_proofs() {
    use zkclaim_verifier::verify_batch;
    let (first, mut rng) = proved();
    let second = prove(params(), witness(&mut rng), &mut rng).unwrap();
    let vk = &params().proving_key.as_ark().vk;
    let mut claims = Vec::new();
    for pkg in [&first, &second] {
        let ark = ark_groth16::Proof::<Bn254> {
            a: pkg.proof.a,
            b: pkg.proof.b,
            c: pkg.proof.c,
        };
        for _ in 0..4 {
            let re = Groth16::<Bn254>::rerandomize_proof(vk, &ark, &mut rng);
            claims.push((
                pkg.public_inputs,
                Proof {
                    a: re.a,
                    b: re.b,
                    c: re.c,
                },
            ));
        }
    }
    let key = &params().prepared;
    verify_batch(key, &claims, &mut rng).unwrap();
    verify_batch::<PublicInputs, _>(key, &[], &mut rng).unwrap();

    // Swap two proofs' public inputs and change one amount: exactly those are named.
    let mut bad = claims.clone();
    bad[2].0 = second.public_inputs;
    bad[6].0.claim_amount += 1;
    let err = verify_batch(key, &bad, &mut rng).unwrap_err();
    assert_eq!(
        err.failures,
        vec![
            (2, VerifyError::InvalidProof),
            (6, VerifyError::InvalidProof)
        ]
    );
}

#[test]
fn the_satisfaction_check_finds_a_broken_constraint() {
    // The backstop behind the native rule check: the cached matrices against the witness.
    let mut rng = StdRng::seed_from_u64(5);
    let m = &params().matrices;
    assert_eq!(m.num_constraints(), 10_846);
    let honest =
        zkclaim_circuits::gadget::claim::ClaimCircuit::new(Shape::default(), witness(&mut rng))
            .unwrap();
    assert_eq!(
        m.first_unsatisfied(&m.assignment(honest.clone()).unwrap()),
        None
    );
    let mut broken = honest;
    broken.public.claim_amount -= 1;
    let row = m.first_unsatisfied(&m.assignment(broken).unwrap());
    assert_eq!(
        row,
        Some(m.num_constraints() - 1),
        "the last constraint is claim_amount == payout"
    );
}

#[test]
fn every_loader_refuses_a_verifying_key_that_forges() {
    use crate::ParamsError;
    use ark_bn254::{Fq, G1Affine, G2Affine};
    use ark_ec::AffineRepr;
    use ark_ff::One;
    use ark_serialize::CanonicalSerialize;
    use zkclaim_verifier::{KeyPoint, KeyWeakness};

    let dir = std::env::temp_dir().join(format!("zkclaim-weak-vk-{}", std::process::id()));
    params().save(&dir).unwrap();
    let honest = params().proving_key.as_ark().clone();
    let write = |name: &str, value: &dyn Fn(&mut Vec<u8>)| {
        let mut bytes = Vec::new();
        value(&mut bytes);
        std::fs::write(dir.join(name), bytes).unwrap();
    };
    fn weak<T>(loaded: Result<T, ParamsError>) -> KeyWeakness {
        match loaded {
            Err(ParamsError::Key(VerifyError::WeakKey(w))) => w,
            other => panic!("{:?}", other.map(|_| ())),
        }
    }
    let gamma_delta = KeyWeakness::Related(KeyPoint::Gamma, KeyPoint::Delta);

    // claim.vk with delta = -gamma: (alpha, beta, vk_x) would verify for any inputs.
    let mut forging = honest.vk.clone();
    forging.delta_g2 = -forging.gamma_g2;
    write("claim.vk", &|b| forging.serialize_compressed(b).unwrap());
    assert_eq!(
        weak(ClaimParams::load_verifying_key(&dir, Circuit::Primary)),
        gamma_delta
    );
    assert_eq!(weak(ClaimParams::load(&dir, Circuit::Primary)), gamma_delta);
    // The same key inside claim.pk (and in claim.vk, so that the two agree).
    let mut pk = honest.clone();
    pk.vk = forging;
    write("claim.pk", &|b| pk.serialize_uncompressed(b).unwrap());
    assert_eq!(weak(ClaimParams::load(&dir, Circuit::Primary)), gamma_delta);

    // gamma = O inside claim.pk, with the honest claim.vk beside it.
    write("claim.vk", &|b| honest.vk.serialize_compressed(b).unwrap());
    let mut pk = honest.clone();
    pk.vk.gamma_g2 = G2Affine::zero();
    write("claim.pk", &|b| pk.serialize_uncompressed(b).unwrap());
    assert_eq!(
        weak(ClaimParams::load(&dir, Circuit::Primary)),
        KeyWeakness::Identity(KeyPoint::Gamma)
    );

    // alpha off the curve inside claim.pk: its compressed form (x and a sign) would pass as
    // the honest alpha while the prover computed with the bad point.
    let mut pk = honest.clone();
    pk.vk.alpha_g1 = G1Affine::new_unchecked(pk.vk.alpha_g1.x, pk.vk.alpha_g1.y + Fq::one());
    write("claim.pk", &|b| pk.serialize_uncompressed(b).unwrap());
    assert!(
        matches!(
            ClaimParams::load(&dir, Circuit::Primary),
            Err(ParamsError::Key(VerifyError::MalformedKey(_)))
        ),
        "an off-curve alpha in claim.pk"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The development key of `params()`, with `edit` applied, loaded as parameters.
fn tampered(
    edit: impl FnOnce(&mut ark_groth16::ProvingKey<Bn254>),
) -> Result<ClaimParams, ParamsError> {
    let mut pk = params().proving_key.as_ark().clone();
    edit(&mut pk);
    ClaimParams::from_proving_key(
        Circuit::Primary,
        Shape::default(),
        Qap::Libsnark,
        pk,
        Derive::Checked,
        None,
        |_| Ok(()),
    )
}

#[test]
fn a_proving_key_with_delta_g1_zero_is_refused_at_load() {
    use ark_ec::AffineRepr;
    let refused = tampered(|pk| pk.delta_g1 = ark_bn254::G1Affine::zero());
    assert!(
        matches!(refused, Err(ParamsError::Inconsistent(why)) if why.contains("delta_g1")),
        "{refused:?}"
    );
    // With delta_g1 the generator (not zero, but not the verifying key's delta) the pairing
    // check refuses it.
    let refused = tampered(|pk| pk.delta_g1 = ark_bn254::G1Affine::generator());
    assert!(
        matches!(refused, Err(ParamsError::Inconsistent(_))),
        "{refused:?}"
    );
}

#[test]
fn a_proving_key_with_one_b_point_changed_is_refused_at_load() {
    use ark_ec::{AffineRepr, CurveGroup};
    let pk = params().proving_key.as_ark();
    let i = pk.b_g1_query.iter().position(|p| !p.is_zero()).unwrap();
    let refused = tampered(|pk| {
        pk.b_g1_query[i] = (pk.b_g1_query[i] + ark_bn254::G1Affine::generator()).into_affine()
    });
    assert!(
        matches!(refused, Err(ParamsError::Inconsistent(_))),
        "{refused:?}"
    );
    let refused = tampered(|pk| pk.l_query.pop().map(drop).unwrap());
    assert!(
        matches!(refused, Err(ParamsError::Inconsistent(_))),
        "{refused:?}"
    );
    // The untouched key passes the same checks.
    tampered(|_| {}).unwrap();
}

#[test]
fn no_proof_that_fails_verification_is_returned() {
    use ark_ec::{AffineRepr, CurveGroup};
    // An L query point changed passes every check a key can be put to without its setup's
    // secrets: only the proof shows it.
    let bad = tampered(|pk| {
        pk.l_query[0] = (pk.l_query[0] + ark_bn254::G1Affine::generator()).into_affine()
    })
    .unwrap();
    let mut rng = StdRng::seed_from_u64(11);
    let w = witness(&mut rng);
    assert!(matches!(
        prove(&bad, w, &mut rng),
        Err(ProveError::Unverified)
    ));
}

/// The sections of an iden3 binary container with this magic.
fn sections<'a>(bytes: &'a [u8], magic: &[u8; 4]) -> Vec<(u32, &'a [u8])> {
    crate::circom::sections(bytes, magic).unwrap()
}

fn le_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

#[test]
fn the_exported_r1cs_and_wtns_describe_the_circuit_and_a_satisfying_witness() {
    use crate::circom;
    let m = &params().matrices;
    let r1cs = circom::r1cs(m);
    let [(1, header), (2, constraints), (3, labels)] = sections(&r1cs, b"r1cs")[..] else {
        panic!("sections");
    };
    assert_eq!(le_u32(header, 0), 32);
    assert_eq!(header[4..36], Fr::MODULUS.to_bytes_le());
    let wires = le_u32(header, 36) as usize;
    assert_eq!(wires, 1 + 6 + m.num_witness);
    assert_eq!(
        [le_u32(header, 40), le_u32(header, 44)],
        [0, 6],
        "no outputs; the six public inputs"
    );
    assert_eq!(le_u32(header, 48) as usize, m.num_witness);
    assert_eq!(le_u32(header, 60) as usize, m.num_constraints());
    assert_eq!(labels.len(), 8 * wires);

    let mut rng = StdRng::seed_from_u64(21);
    let w = witness(&mut rng);
    let public = w.public_inputs(Shape::default()).unwrap();
    let wtns = circom::wtns(m, Shape::default(), w).unwrap();
    let [(1, wheader), (2, values)] = sections(&wtns, b"wtns")[..] else {
        panic!("sections");
    };
    assert_eq!(le_u32(wheader, 36) as usize, wires);
    let mut z: Vec<Fr> = values.chunks(32).map(Fr::from_le_bytes_mod_order).collect();
    assert_eq!(z[0], Fr::from(1u8));
    assert_eq!(z[1..=PublicInputs::COUNT], public.to_field_elements());

    // Evaluate the exported constraints on the exported witness, as snarkjs wtns check does.
    let unsatisfied = |z: &[Fr]| {
        let mut at = 0;
        let mut lc = || {
            let n = le_u32(constraints, at) as usize;
            at += 4;
            let mut sum = Fr::from(0u8);
            for _ in 0..n {
                let wire = le_u32(constraints, at) as usize;
                let c = Fr::from_le_bytes_mod_order(&constraints[at + 4..at + 36]);
                sum += c * z[wire];
                at += 36;
            }
            sum
        };
        (0..m.num_constraints())
            .filter(|_| {
                let (a, b, c) = (lc(), lc(), lc());
                a * b != c
            })
            .count()
    };
    assert_eq!(unsatisfied(&z), 0);
    // One witness value changed breaks a constraint.
    let last = z.len() - 1;
    z[last] += Fr::from(1u8);
    assert!(unsatisfied(&z) > 0);
}

#[test]
fn a_witness_that_breaks_the_statement_is_not_exported() {
    let mut rng = StdRng::seed_from_u64(22);
    let mut w = witness(&mut rng);
    w.policy.period_end = w.invoice.issued_on - 1;
    w.policy.period_start = w.policy.period_end - 10;
    assert!(matches!(
        crate::circom::wtns(&params().matrices, Shape::default(), w),
        Err(ProveError::Rule(_))
    ));
}

#[test]
fn a_proving_key_with_one_query_point_changed_is_refused_against_the_pinned_digest() {
    use ark_ec::{AffineRepr, CurveGroup};
    use ark_serialize::CanonicalSerialize;
    let dir = tempfile_dir("pinned");
    params().save(&dir).unwrap();
    let pin = params().proving_key.digest();
    let pk_file = dir.join("claim.pk");
    assert_eq!(
        pin,
        <[u8; 32]>::from(sha2::Sha256::digest(std::fs::read(&pk_file).unwrap())),
        "the digest is the file's"
    );
    ClaimParams::load_pinned(&dir, Circuit::Primary, Some(pin)).unwrap();
    // One L query point moved to another point of the curve: every check against the
    // verifying key passes, the pin does not.
    let mut pk = params().proving_key.as_ark().clone();
    pk.l_query[0] = (pk.l_query[0] + ark_bn254::G1Affine::generator()).into_affine();
    let mut bytes = Vec::new();
    pk.serialize_uncompressed(&mut bytes).unwrap();
    std::fs::write(&pk_file, bytes).unwrap();
    ClaimParams::load(&dir, Circuit::Primary).unwrap();
    let refused = ClaimParams::load_pinned(&dir, Circuit::Primary, Some(pin));
    assert!(
        matches!(refused, Err(ParamsError::NotPinned { .. })),
        "{refused:?}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

fn tempfile_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("zkclaim-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// circom's witness map and arkworks' describe the same quotient `q = (A·B − C)/Z` when the
/// assignment satisfies the circuit: circom's values are `Z·q` on the coset `g·⟨ω⟩`
/// (`Z(g·ωⁱ) = gⁿ − 1 = −2`), arkworks' are `q`'s coefficients. With one witness value
/// changed there is no such quotient, and they differ.
#[test]
fn circoms_witness_map_is_the_quotient_on_the_odd_powers_of_the_2n_th_root_of_unity() {
    use ark_ff::FftField;
    use ark_groth16::r1cs_to_qap::{LibsnarkReduction, R1CSToQAP};
    use ark_poly::{EvaluationDomain, GeneralEvaluationDomain, Radix2EvaluationDomain};
    let m = &params().matrices;
    let circuit = zkclaim_circuits::gadget::claim::ClaimCircuit::new(
        Shape::default(),
        witness(&mut StdRng::seed_from_u64(3)),
    );
    let mut z = m.assignment(circuit.unwrap()).unwrap();
    let agree =
        |z: &[Fr]| {
            let circom = crate::groth16::circom_witness_map(
                &m.products(z),
                m.num_instance,
                m.num_constraints,
                z,
            )
            .unwrap();
            let mut q = LibsnarkReduction::witness_map_from_matrices::<
                Fr,
                GeneralEvaluationDomain<Fr>,
            >(&m.abc, m.num_instance, m.num_constraints, z)
            .unwrap();
            let n = circom.len();
            assert_eq!(n, (m.num_constraints + m.num_instance).next_power_of_two());
            let g = Fr::get_root_of_unity(2 * n as u64).unwrap();
            let coset = Radix2EvaluationDomain::<Fr>::new(n)
                .unwrap()
                .get_coset(g)
                .unwrap();
            coset.fft_in_place(&mut q);
            let minus_two = -Fr::from(2u64);
            circom == q.iter().map(|q| minus_two * q).collect::<Vec<_>>()
        };
    assert!(agree(&z));
    let last = z.len() - 1;
    z[last] += Fr::from(1u64);
    assert!(!agree(&z));
}

/// Continuation parameters of a small shape (setup is the slow part).
fn continuation_params() -> &'static ClaimParams {
    static P: OnceLock<ClaimParams> = OnceLock::new();
    P.get_or_init(|| {
        ClaimParams::setup(Circuit::Continuation, SMALL, &mut StdRng::seed_from_u64(3)).unwrap()
    })
}

const SMALL: Shape = Shape { items: 4, depth: 8 };

#[test]
fn continuation_claims_of_every_rank_prove_and_verify_under_their_own_key_only() {
    let mut rng = StdRng::seed_from_u64(21);
    let params = continuation_params();
    assert_eq!(params.circuit, Circuit::Continuation);
    assert_eq!(params.verifying_key.circuit(), Circuit::Continuation);
    for rank in 1..=zkclaim_circuits::continuation::MAX_RANK {
        let w = sample::continuation(&mut rng, SMALL, rank, 2);
        let total = zkclaim_circuits::invoice::total(&w.claim.invoice.items);
        // The sample payers are generous: after rank 1 the invoice is often fully paid.
        if w.paid_before == total && rank > 1 {
            assert!(matches!(
                prove_continuation(params, w, &mut rng),
                Err(ProveError::FullyReimbursed { .. })
            ));
            continue;
        }
        let expected = w.public_inputs(SMALL).unwrap();
        let pkg = prove_continuation(params, w, &mut rng).unwrap();
        assert_eq!(pkg.public_inputs, expected);
        pkg.verify(&params.prepared).unwrap();
        let mut changed = pkg.clone();
        changed.public_inputs.settled_root += Fr::from(1u64);
        assert_eq!(
            changed.verify(&params.prepared),
            Err(VerifyError::InvalidProof)
        );
        assert_eq!(
            pkg.verify(&params_small().prepared),
            Err(VerifyError::WrongCircuit {
                key: Circuit::Primary,
                proof: Circuit::Continuation
            })
        );
    }
}

fn params_small() -> &'static ClaimParams {
    static P: OnceLock<ClaimParams> = OnceLock::new();
    P.get_or_init(|| {
        ClaimParams::setup(Circuit::Primary, SMALL, &mut StdRng::seed_from_u64(4)).unwrap()
    })
}

#[test]
fn each_circuits_parameters_refuse_the_other_circuits_witness() {
    let mut rng = StdRng::seed_from_u64(22);
    let w = sample::continuation(&mut rng, SMALL, 1, 0);
    assert!(matches!(
        prove_continuation(params_small(), w, &mut rng),
        Err(ProveError::WrongCircuit {
            params: Circuit::Primary,
            witness: Circuit::Continuation
        })
    ));
    let w = sample::claim(&mut rng, SMALL, 1);
    assert!(matches!(
        prove(continuation_params(), w, &mut rng),
        Err(ProveError::WrongCircuit {
            params: Circuit::Continuation,
            witness: Circuit::Primary
        })
    ));
}

#[test]
fn a_continuation_that_breaks_the_statement_is_refused_with_its_rule() {
    let mut rng = StdRng::seed_from_u64(23);
    let mut w = sample::continuation(&mut rng, SMALL, 2, 1);
    // (A wrong `paid_before` alone proves against a settled root the ledger never had: the
    // ledger refuses that root. Above the total, no root helps.)
    let total = zkclaim_circuits::invoice::total(&w.claim.invoice.items);
    w.paid_before = total + 1;
    let refused = prove_continuation(continuation_params(), w, &mut rng).unwrap_err();
    assert!(
        matches!(
            refused,
            ProveError::Continuation(ContinuationViolation::PaidBeforeAboveTotal { .. })
        ),
        "{refused:?}"
    );
    let mut w = sample::continuation(&mut rng, SMALL, 1, 1);
    let total = zkclaim_circuits::invoice::total(&w.claim.invoice.items);
    w.paid_before = total;
    assert!(matches!(
        prove_continuation(continuation_params(), w, &mut rng),
        Err(ProveError::FullyReimbursed { total: t }) if t == total
    ));
    let mut w = sample::continuation(&mut rng, SMALL, 1, 1);
    w.rank = 0;
    assert!(matches!(
        prove_continuation(continuation_params(), w, &mut rng),
        Err(ProveError::Continuation(
            ContinuationViolation::RankOutOfRange { rank: 0 }
        ))
    ));
}

#[test]
fn both_circuits_parameters_share_one_folder_and_each_loads_as_its_own() {
    let dir = tempfile_dir("both-circuits");
    params_small().save(&dir).unwrap();
    continuation_params().save(&dir).unwrap();
    assert_eq!(
        ClaimParams::files(&dir, Circuit::Continuation)[0],
        dir.join("continuation").join("claim.pk")
    );
    let loaded = ClaimParams::load(&dir, Circuit::Continuation).unwrap();
    assert_eq!(loaded.circuit, Circuit::Continuation);
    assert_eq!(loaded.verifying_key, continuation_params().verifying_key);
    let primary = ClaimParams::load(&dir, Circuit::Primary).unwrap();
    assert_eq!(primary.verifying_key, params_small().verifying_key);
    // Saving again refuses to replace either.
    assert!(matches!(
        continuation_params().save(&dir),
        Err(ParamsError::Exists(_))
    ));
    // The continuation's files copied where the primary's belong are named as what they are.
    let other = tempfile_dir("continuation-as-primary");
    std::fs::create_dir_all(&other).unwrap();
    for (from, to) in ClaimParams::files(&dir, Circuit::Continuation)
        .iter()
        .zip(ClaimParams::files(&other, Circuit::Primary))
    {
        std::fs::copy(from, to).unwrap();
    }
    assert!(matches!(
        ClaimParams::load(&other, Circuit::Primary),
        Err(ParamsError::WrongCircuit {
            found: Circuit::Continuation,
            expected: Circuit::Primary,
            ..
        })
    ));
    // And its verifying key alone is refused as the primary circuit's.
    assert!(matches!(
        ClaimVerifyingKey::from_bytes(
            &std::fs::read(&ClaimParams::files(&other, Circuit::Primary)[1]).unwrap()
        ),
        Err(VerifyError::WrongInputCount { found: 8, .. })
    ));
}

#[test]
fn the_parallel_proving_key_decoder_reads_what_arkworks_reads() {
    use ark_ec::AffineRepr;
    use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
    let key = params().proving_key.as_ark();
    // A key with points at infinity (variables absent from B), which the record decoder must
    // read as arkworks does.
    assert!(key.b_g2_query.iter().any(|p| p.is_zero()));
    let mut bytes = Vec::new();
    key.serialize_uncompressed(&mut bytes).unwrap();
    let ours = crate::params::decode_proving_key(&bytes).unwrap();
    let theirs =
        ark_groth16::ProvingKey::<Bn254>::deserialize_uncompressed_unchecked(&bytes[..]).unwrap();
    assert!(ours == theirs && ours == *key);
    // Cut anywhere (inside a length, inside a point), it is refused, never read short.
    for cut in [
        0,
        8,
        300,
        bytes.len() / 2,
        bytes.len() - 70,
        bytes.len() - 1,
    ] {
        assert!(
            crate::params::decode_proving_key(&bytes[..cut]).is_err(),
            "{cut}"
        );
    }
    // A length beyond the bytes is refused without allocating for it.
    let a_len_at = bytes.len() - key.uncompressed_size() + {
        let mut head = Vec::new();
        (&key.vk, &key.beta_g1, &key.delta_g1)
            .serialize_uncompressed(&mut head)
            .unwrap();
        head.len()
    };
    bytes[a_len_at..a_len_at + 8].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(crate::params::decode_proving_key(&bytes).is_err());
}

/// What a browser does: the files' bytes, the pin from the genesis. The parameters are the
/// saved ones (a proof from them verifies under the saved verifying key); a key that is not
/// the pinned one, a prover file made with another key, a damaged prover file and another
/// circuit's shape file are each refused, naming the file.
#[test]
fn parameters_load_from_the_bytes_of_their_files_only_with_the_pinned_key() {
    let dir = tempfile_dir("from-bytes");
    params_small().save(&dir).unwrap();
    let other = tempfile_dir("from-bytes-other");
    ClaimParams::setup(Circuit::Primary, SMALL, &mut StdRng::seed_from_u64(5))
        .unwrap()
        .save(&other)
        .unwrap();
    let read = |dir: &std::path::Path| {
        let [key, _, shape, prover] = ClaimParams::files(dir, Circuit::Primary);
        [shape, key, prover].map(|f| std::fs::read(f).unwrap())
    };
    let [shape, key, prover] = read(&dir);
    let pin = params_small().proving_key.digest();
    let loaded = ClaimParams::from_bytes(Circuit::Primary, [&shape, &key, &prover], pin).unwrap();
    assert_eq!(loaded.verifying_key, params_small().verifying_key);
    assert_eq!(loaded.shape, SMALL);
    let mut rng = StdRng::seed_from_u64(6);
    let package = prove(&loaded, sample::claim(&mut rng, SMALL, 1), &mut rng).unwrap();
    package.verify(&params_small().prepared).unwrap();

    let from = |shape: &[u8], key: &[u8], prover: &[u8]| {
        ClaimParams::from_bytes(Circuit::Primary, [shape, key, prover], pin).unwrap_err()
    };
    let [_, other_key, other_prover] = read(&other);
    assert!(
        matches!(from(&shape, &other_key, &prover), ParamsError::NotPinned { path, .. } if path == "claim.pk")
    );
    let mut flipped = key.clone();
    flipped[1000] ^= 1;
    assert!(matches!(
        from(&shape, &flipped, &prover),
        ParamsError::NotPinned { .. }
    ));
    assert!(matches!(
        from(&shape, &key, &other_prover),
        ParamsError::ProverFile { path, source: crate::ProverFileError::OtherKey } if path == "claim.prover"
    ));
    let mut damaged = prover.clone();
    damaged[200] ^= 1;
    assert!(matches!(
        from(&shape, &key, &damaged),
        ParamsError::ProverFile {
            source: crate::ProverFileError::Damaged,
            ..
        }
    ));
    let continuation = br#"{"items": 4, "depth": 8, "circuit": "continuation"}"#;
    assert!(matches!(
        from(continuation, &key, &prover),
        ParamsError::WrongCircuit { .. }
    ));
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_dir_all(&other).unwrap();
}

#[test]
fn a_prepared_key_of_another_key_is_not_taken() {
    let own = params();
    let other = continuation_params().prepared.clone();
    let loaded = ClaimParams::from_proving_key(
        Circuit::Primary,
        Shape::default(),
        Qap::Libsnark,
        own.proving_key.as_ark().clone(),
        Derive::Unchecked,
        Some(other),
        |_| Ok(()),
    )
    .unwrap();
    assert_eq!(*loaded.prepared.key(), own.verifying_key);
    let (package, _) = proved();
    package.verify(&loaded.prepared).unwrap();
}

/// The fixed-base tables change no proof: the same witness and randomness make the same
/// proof with and without them, under keys of both QAP conventions (a circom key's H query
/// is one point longer than arkworks').
#[test]
fn the_fixed_base_tables_change_no_proof() {
    const TINY: Shape = Shape { items: 1, depth: 2 };
    let arkworks =
        ClaimParams::setup(Circuit::Primary, TINY, &mut StdRng::seed_from_u64(33)).unwrap();
    let m = &arkworks.matrices;
    let power = (m.num_constraints + m.num_instance)
        .next_power_of_two()
        .trailing_zeros();
    let secrets = [Fr::from(77u64), Fr::from(5u64), Fr::from(9u64)];
    let ptau = crate::ptau::tests::phase1(power, secrets);
    let initial =
        crate::ceremony::init::initial_zkey(m, &crate::ptau::Ptau::read(&ptau).unwrap()).unwrap();
    let contributed =
        crate::ceremony::mpc::contribute(&initial.bytes, "", &mut StdRng::seed_from_u64(32))
            .unwrap();
    let zkey = crate::zkey::Zkey::read(&contributed.zkey).unwrap();
    let circom = ClaimParams::from_zkey(Circuit::Primary, TINY, zkey).unwrap();
    assert_eq!(circom.qap, Qap::Circom);
    for params in [arkworks, circom] {
        let mut tabled = params.clone();
        let bytes = tabled.proving_key.precompute_tables();
        assert!(bytes > 10 * params.proving_key.uncompressed_size());
        let w = sample::claim(&mut StdRng::seed_from_u64(30), TINY, 1);
        let plain = prove(&params, w.clone(), &mut StdRng::seed_from_u64(31)).unwrap();
        let with_tables = prove(&tabled, w, &mut StdRng::seed_from_u64(31)).unwrap();
        assert_eq!(plain.proof, with_tables.proof, "{:?}", params.qap);
        with_tables.verify(&tabled.prepared).unwrap();
    }
}
