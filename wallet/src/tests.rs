//! The wallet's functions against the native crates they wrap, on the same values: what
//! JavaScript gets is what the CLI computes. (The WebAssembly build itself is tested in
//! Chromium, `service/tests/web.rs`, and on Node.js, `service/tests/sdk.rs`.)

use super::*;
use rand::Rng;
use rand::{rngs::StdRng, SeedableRng};
use std::sync::OnceLock;
use zkclaim_circuits::{nullifier, sample};

const SHAPE: Shape = Shape { items: 4, depth: 8 };

/// A claim's files as JSON: key file, invoice, policy, Merkle path, and the witness.
fn files(seed: u64) -> ([String; 4], ClaimWitness) {
    let w = sample::claim(&mut StdRng::seed_from_u64(seed), SHAPE, 3);
    let json = [
        to_json(&KeyFile::new(&w.sk)),
        to_json(&w.invoice),
        to_json(&w.policy),
        to_json(&w.path),
    ];
    (json, w)
}

/// The parameter files' bytes (shape.json, claim.pk, claim.prover) of one small setup, and
/// the pin.
fn parameters() -> &'static ([Vec<u8>; 3], String, ClaimParams) {
    static P: OnceLock<([Vec<u8>; 3], String, ClaimParams)> = OnceLock::new();
    P.get_or_init(|| {
        let params =
            ClaimParams::setup(Circuit::Primary, SHAPE, &mut StdRng::seed_from_u64(7)).unwrap();
        let dir = std::env::temp_dir().join(format!("zkclaim-wallet-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        params.save(&dir).unwrap();
        let [key, _, shape, prover] = ClaimParams::files(&dir, Circuit::Primary);
        let bytes = [shape, key, prover].map(|f| std::fs::read(f).unwrap());
        std::fs::remove_dir_all(&dir).unwrap();
        let pin = hex::encode(params.proving_key.digest());
        (bytes, pin, params)
    })
}

#[test]
fn keys_and_hashes_are_the_native_ones() {
    let ([key, invoice, policy, _], w) = files(1);
    let sk = *w.sk.expose();
    assert_eq!(
        public_key(&key).unwrap(),
        field::format(&keys::public_key(&sk))
    );
    for insurer in [0, 2, u32::MAX] {
        assert_eq!(
            claimant_tag(&key, insurer).unwrap(),
            field::format(&keys::claimant_tag(&sk, insurer))
        );
    }
    assert_eq!(
        invoice_commitment(&invoice, SHAPE.items).unwrap(),
        field::format(&w.invoice.commitment(SHAPE.items).unwrap())
    );
    assert_eq!(
        policy_hash(&policy).unwrap(),
        field::format(&policy::policy_hash(&w.policy))
    );
    // A new key is a key file whose public key is its secret's.
    let fresh: KeyFile = serde_json::from_str(&new_key()).unwrap();
    assert_eq!(
        public_key(&new_key()).unwrap().len(),
        field::format(&fresh.secret_key().public_key()).len()
    );
    assert_ne!(new_key(), new_key());
}

#[test]
fn the_preview_is_the_statements_evaluation_and_refuses_with_the_rule() {
    let ([key, invoice, policy, _], w) = files(2);
    let shape = to_json(&SHAPE);
    let preview: Preview =
        serde_json::from_str(&preview(&key, &invoice, &policy, &shape).unwrap()).unwrap();
    let (public, payout) = w.evaluate(SHAPE).unwrap();
    assert_eq!(
        preview,
        Preview {
            commitment: field::format(&w.invoice.commitment(SHAPE.items).unwrap()),
            nullifier: field::format(&nullifier::nullifier(w.sk.expose(), &w.invoice.serial)),
            claimant_tag: field::format(&public.claimant_tag),
            policy_hash: field::format(&public.policy_hash),
            insurer_id: public.insurer_id,
            claim_amount: public.claim_amount,
            eligible: payout.eligible,
        }
    );

    // Outside the policy's period: the day after it ends.
    let mut late = w.invoice.clone();
    late.issued_on = w.policy.period_end + 1;
    let refused = super::preview(&key, &to_json(&late), &policy, &shape).unwrap_err();
    assert_eq!(refused.code(), "outside_period", "{refused}");
    // Another patient's key.
    let ([other_key, ..], _) = files(3);
    let refused = super::preview(&other_key, &invoice, &policy, &shape).unwrap_err();
    assert_eq!(refused.code(), "not_patients_invoice", "{refused}");
    // Not an invoice: named, and its values never quoted back (a wrong type, a number out
    // of range, not JSON), a missing or unknown field named.
    let mut bad: serde_json::Value = serde_json::from_str(&invoice).unwrap();
    bad["hospital_id"] = serde_json::json!("hospital-secret-name");
    let renamed = invoice.replace("\"hospital_id\"", "\"hospital\"");
    let mut negative = bad.clone();
    negative["hospital_id"] = serde_json::json!(1);
    negative["items"][0]["amount"] = serde_json::json!(-987_654_321);
    for (text, quoted) in [
        (bad.to_string(), Some("hospital-secret-name")),
        (negative.to_string(), Some("987654321")),
        ("not json".to_string(), Some("json")),
        (renamed, None),
    ] {
        let refused = super::preview(&key, &text, &policy, &shape).unwrap_err();
        assert_eq!(refused.code(), "invalid_file");
        let message = refused.to_string();
        assert!(
            message.starts_with("the invoice is not valid: "),
            "{message}"
        );
        match quoted {
            Some(value) => assert!(!message.contains(value), "{message}"),
            // The schema's field names are named: the unknown one first.
            None => assert!(message.contains("field `hospital"), "{message}"),
        }
    }
}

#[test]
fn the_tree_gives_the_native_trees_root_and_paths() {
    let mut rng = StdRng::seed_from_u64(4);
    let leaves: Vec<Fr> = (0..5).map(|_| Fr::from(rng.gen::<u64>())).collect();
    let native = IncrementalTree::from_leaves(SHAPE.depth, &leaves).unwrap();
    let mut tree = Tree::new(SHAPE.depth);
    tree.extend(leaves[..2].iter().map(field::format).collect())
        .unwrap();
    tree.extend(leaves[2..].iter().map(field::format).collect())
        .unwrap();
    assert_eq!(tree.length(), 5.0);
    assert_eq!(tree.root(), field::format(&native.root()));
    assert_eq!(
        tree.position(&field::format(&leaves[3])).unwrap(),
        Some(3.0)
    );
    assert_eq!(
        tree.position(&field::format(&Fr::from(9u64))).unwrap(),
        None
    );
    assert_eq!(tree.path(3.0).unwrap(), to_json(&native.path(3).unwrap()));
    // A leaf that is not a canonical field element: refused, nothing appended.
    let r = "0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001";
    let refused = tree
        .extend(vec![field::format(&leaves[0]), r.into()])
        .unwrap_err();
    assert_eq!(refused.code(), "invalid_file");
    assert_eq!(tree.length(), 5.0);
    assert!(matches!(tree.path(5.0), Err(WalletError::Tree(_))));
}

#[test]
fn the_prover_proves_what_the_native_prover_proves_and_verify_checks_it() {
    let ([shape, key_file, prover_file], pin, params) = parameters();
    let prover = Prover::new(shape, key_file, prover_file, pin).unwrap();
    assert_eq!(prover.shape(), to_json(&SHAPE));
    let ([key, invoice, policy, path], w) = files(5);
    let package: ClaimPackage =
        serde_json::from_str(&prover.prove(&key, &invoice, &policy, &path).unwrap()).unwrap();
    assert_eq!(package.public_inputs, w.public_inputs(SHAPE).unwrap());
    package.verify(&params.prepared).unwrap();

    let vk = hex::encode(params.verifying_key.to_bytes());
    super::verify(&vk, &to_json(&package)).unwrap();
    let mut tampered = package.clone();
    tampered.public_inputs.claim_amount += 1;
    let refused = super::verify(&vk, &to_json(&tampered)).unwrap_err();
    assert_eq!(refused.code(), "invalid_proof", "{refused}");

    // A witness that breaks a rule is refused with it, before any proof.
    let ([other_key, ..], _) = files(6);
    let refused = prover
        .prove(&other_key, &invoice, &policy, &path)
        .unwrap_err();
    assert_eq!(refused.code(), "not_patients_invoice", "{refused}");

    // Parameters: only with the pinned key.
    let other_pin = "00".repeat(32);
    let refused = Prover::new(shape, key_file, prover_file, &other_pin).unwrap_err();
    assert!(
        matches!(refused, WalletError::Params(ParamsError::NotPinned { .. })),
        "{refused}"
    );
    let refused = Prover::new(shape, key_file, prover_file, "f00").unwrap_err();
    assert_eq!(refused.code(), "invalid_file");
}
