//! Property tests: for random invoices and policies, the native statement and the circuit
//! agree on the payout, and the circuit accepts exactly the native result; and the
//! continuation invariant (issue 13), on the native statement: for random invoices, policies
//! and sequences of up to four payers, each claiming in turn through the settled tree, the
//! payouts never add up to more than the invoice total, no policy pays twice, each rank is
//! claimed under its own nullifier, and a rank cannot be proven before the one before it
//! settled.

use ark_ff::UniformRand;
use ark_r1cs_std::{fields::fp::FpVar, prelude::*};
use ark_relations::gr1cs::ConstraintSystem;
use proptest::prelude::*;
use rand::{rngs::StdRng, SeedableRng};
use std::collections::HashSet;
use zkclaim_circuits::{
    claim::{ClaimWitness, Shape},
    continuation::{ContinuationViolation as V, ContinuationWitness},
    gadget::{invoice::ItemVar, policy as gadget},
    invoice::{self, Invoice, Item},
    keys::SecretKey,
    policy::{self, Policy},
    sample, settled,
    tree::IncrementalTree,
    Fr,
};

fn item() -> impl Strategy<Value = Item> {
    // Amounts concentrated at the edges as well as spread across the range.
    let amount = prop_oneof![
        Just(0u64),
        Just((1 << 40) - 1),
        0u64..(1 << 40),
        0u64..100_000
    ];
    (amount, 0u8..16, any::<u64>()).prop_map(|(amount, category, d)| Item {
        detail: Fr::from(d),
        category,
        amount,
    })
}

/// Terms: deductible, rate, cap, mask, concentrated at the edges as well as spread.
fn terms() -> impl Strategy<Value = (u64, u64, u64, u16)> {
    let money = prop_oneof![
        Just(0u64),
        Just((1 << 44) - 1),
        0u64..(1 << 44),
        0u64..1_000_000
    ];
    (
        money.clone(),
        prop_oneof![Just(0u64), Just(10_000u64), 0u64..=10_000],
        money,
        any::<u16>(),
    )
}

fn policy() -> impl Strategy<Value = Policy> {
    terms().prop_map(|(deductible, rate_bp, cap, category_mask)| Policy {
        salt: Fr::from(1u64),
        insurer_id: 2,
        period_start: 0,
        period_end: 1,
        deductible,
        rate_bp,
        cap,
        category_mask,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn native_payout_equals_the_circuits(items in prop::collection::vec(item(), 8), p in policy(), delta in 1u64..3) {
        let want = policy::payout(&p, &items);
        let cs = ConstraintSystem::<Fr>::new_ref();
        let pv = gadget::PolicyVar::new_witness(cs.clone(), || Ok(p.clone())).unwrap();
        let iv: Vec<ItemVar> = items.iter().map(|it| ItemVar::new_witness(cs.clone(), || Ok(*it)).unwrap()).collect();
        let q = FpVar::new_witness(cs.clone(), || Ok(Fr::from(want.quotient))).unwrap();
        let r = FpVar::new_witness(cs.clone(), || Ok(Fr::from(want.remainder))).unwrap();
        let got = gadget::payout(&pv, &iv, &q, &r).unwrap();
        prop_assert!(cs.is_satisfied().unwrap());
        prop_assert_eq!(got.amount.value().unwrap(), Fr::from(want.amount));
        prop_assert_eq!(got.eligible.value().unwrap(), Fr::from(want.eligible));

        // Any other amount is refused.
        let claimed = FpVar::new_input(cs.clone(), || Ok(Fr::from(want.amount + delta))).unwrap();
        got.amount.enforce_equal(&claimed).unwrap();
        prop_assert!(!cs.is_satisfied().unwrap());
    }
}

/// The continuation invariant's circuit shape (small: native checks only).
const SHAPE: Shape = Shape { items: 4, depth: 6 };

/// Adds `leaf` to the settled tree after another claim's, as the ledger would.
fn settle(tree: &mut IncrementalTree, rng: &mut StdRng, leaf: Fr) -> u64 {
    tree.append(Fr::rand(rng)).unwrap();
    tree.append(leaf).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn payouts_stay_within_the_total_and_no_policy_pays_twice(
        items in prop::collection::vec(item(), 1..=SHAPE.items),
        pool in prop::collection::vec(terms(), 1..=4),
        sequence in prop::collection::vec(0usize..4, 1..=4),
        seed in any::<u64>(),
    ) {
        let mut rng = StdRng::seed_from_u64(seed);
        let sk = SecretKey::random(&mut rng);
        let inv = Invoice {
            serial: Fr::rand(&mut rng),
            hospital_id: 1,
            patient_pk: sk.public_key(),
            issued_on: sample::PERIOD.0,
            items,
        };
        let total = invoice::total(&inv.items);
        let invoices = IncrementalTree::from_leaves(SHAPE.depth, &[inv.commitment(SHAPE.items).unwrap()]).unwrap();
        let policies: Vec<Policy> = pool
            .iter()
            .zip(2..)
            .map(|(&(deductible, rate_bp, cap, category_mask), insurer_id)| Policy {
                deductible,
                rate_bp,
                cap,
                category_mask,
                ..sample::policy(&mut rng, insurer_id)
            })
            .collect();
        let payer = |i: usize| policies[i % policies.len()].clone();

        // The primary claim, settled by the ledger from its public inputs.
        let primary = ClaimWitness {
            sk,
            invoice: inv,
            path: invoices.path(0).unwrap(),
            policy: payer(sequence[0]),
        };
        let first = primary.public_inputs(SHAPE).unwrap();
        let mut tree = IncrementalTree::new(SHAPE.depth);
        let mut at = settle(&mut tree, &mut rng, settled::primary_leaf(&first));
        let mut paid = first.claim_amount;
        prop_assert!(paid <= total);
        let mut payers = vec![first.policy_hash];
        let mut nullifiers = HashSet::from([first.nullifier]);
        let mut latest: Option<(ContinuationWitness, _)> = None;

        for &i in &sequence[1..] {
            let policy = payer(i);
            let w = match &latest {
                None => ContinuationWitness::after_primary(&primary, &first, policy, tree.path(at).unwrap()),
                Some((w, public)) => w.next(public, policy, tree.path(at).unwrap()),
            };
            let public = match w.public_inputs(SHAPE) {
                Err(V::PolicyAlreadyPaid { rank }) => {
                    // Refused exactly when this policy paid before, naming its rank.
                    prop_assert_eq!(payers[rank], policy::policy_hash(&w.claim.policy));
                    continue;
                }
                other => other.unwrap(),
            };
            prop_assert!(!payers.contains(&public.policy_hash), "a policy paid twice");
            prop_assert_eq!(public.settled_root, tree.root());
            prop_assert_eq!(w.paid_before, paid);
            prop_assert!(nullifiers.insert(public.nullifier), "a nullifier reused");

            // Before this claim settles, no path in the settled tree proves the next rank.
            let next = w.next(&public, sample::policy(&mut rng, 9), tree.path(at).unwrap());
            for index in 0..tree.len() {
                let mut attempt = next.clone();
                attempt.settled_path = tree.path(index).unwrap();
                match attempt.public_inputs(SHAPE) {
                    Ok(p) => prop_assert_ne!(p.settled_root, tree.root()),
                    Err(e) => prop_assert_eq!(e, V::RankOutOfRange { rank: 4 }),
                }
            }

            paid += public.claim_amount;
            prop_assert!(paid <= total, "paid {} of {}", paid, total);
            payers.push(public.policy_hash);
            at = settle(&mut tree, &mut rng, public.settled_leaf);
            latest = Some((w, public));
        }
        prop_assert!(payers.len() <= 4);
    }
}
