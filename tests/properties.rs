//! Property tests: for random invoices and policies, the native statement and the circuit
//! agree on the payout, and the circuit accepts exactly the native result.

use ark_r1cs_std::{fields::fp::FpVar, prelude::*};
use ark_relations::gr1cs::ConstraintSystem;
use proptest::prelude::*;
use zkclaim_circuits::{
    gadget::{invoice::ItemVar, policy as gadget},
    invoice::Item,
    policy::{self, Policy},
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

fn policy() -> impl Strategy<Value = Policy> {
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
        .prop_map(|(deductible, rate_bp, cap, category_mask)| Policy {
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
