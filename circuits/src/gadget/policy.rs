//! In-circuit twins of [`crate::policy`]: the policy hash, the period check and the payout
//! rule, with every comparison range-checked so no value wraps modulo r.

use super::{alloc, bits, enforce_le, invoice::ItemVar, is_ge, min, poseidon::hash};
use crate::policy::{Policy, MONEY_BITS, RATE_ONE};
use crate::poseidon::Tag;
use ark_bn254::Fr;
use ark_r1cs_std::{alloc::AllocationMode, fields::fp::FpVar, prelude::*};
use ark_relations::gr1cs::{Namespace, SynthesisError};
use core::borrow::Borrow;

/// Dates are u32 day numbers.
const DAY_BITS: usize = 32;
/// `rate_bp <= 10000 < 2^14`.
const RATE_BITS: usize = 14;
/// Item mask width.
const MASK_BITS: usize = 16;

#[derive(Clone)]
pub struct PolicyVar {
    pub salt: FpVar<Fr>,
    pub insurer_id: FpVar<Fr>,
    pub period_start: FpVar<Fr>,
    pub period_end: FpVar<Fr>,
    pub deductible: FpVar<Fr>,
    pub rate_bp: FpVar<Fr>,
    pub cap: FpVar<Fr>,
    pub category_mask: FpVar<Fr>,
}

impl AllocVar<Policy, Fr> for PolicyVar {
    fn new_variable<T: Borrow<Policy>>(
        cs: impl Into<Namespace<Fr>>,
        f: impl FnOnce() -> Result<T, SynthesisError>,
        mode: AllocationMode,
    ) -> Result<Self, SynthesisError> {
        let ns = cs.into();
        let v = f()?;
        let p = v.borrow();
        let a = |x: Fr| alloc(&ns, Ok(x), mode);
        Ok(Self {
            salt: a(p.salt)?,
            insurer_id: a(Fr::from(p.insurer_id))?,
            period_start: a(Fr::from(p.period_start))?,
            period_end: a(Fr::from(p.period_end))?,
            deductible: a(Fr::from(p.deductible))?,
            rate_bp: a(Fr::from(p.rate_bp))?,
            cap: a(Fr::from(p.cap))?,
            category_mask: a(Fr::from(p.category_mask))?,
        })
    }
}

pub fn policy_hash(p: &PolicyVar) -> Result<FpVar<Fr>, SynthesisError> {
    hash(&[
        FpVar::Constant(Tag::Policy.to_field()),
        p.salt.clone(),
        p.insurer_id.clone(),
        p.period_start.clone(),
        p.period_end.clone(),
        p.deductible.clone(),
        p.rate_bp.clone(),
        p.cap.clone(),
        p.category_mask.clone(),
    ])
}

/// Enforces `period_start <= day <= period_end`, all three u32 (the twin of
/// [`crate::policy::in_period`]).
pub fn in_period(p: &PolicyVar, day: &FpVar<Fr>) -> Result<(), SynthesisError> {
    for d in [&p.period_start, &p.period_end, day] {
        bits(d, DAY_BITS)?;
    }
    enforce_le(&p.period_start, day, DAY_BITS)?;
    enforce_le(day, &p.period_end, DAY_BITS)
}

/// The payout rule's intermediates in the circuit (see [`crate::policy::Payout`]).
pub struct PayoutVar {
    pub eligible: FpVar<Fr>,
    pub over: FpVar<Fr>,
    pub quotient: FpVar<Fr>,
    pub remainder: FpVar<Fr>,
    pub amount: FpVar<Fr>,
}

/// The payout for `items` under `p`. `quotient` and `remainder` are advice (division is not
/// a field operation); the gadget checks `over · rate = 10000 · quotient + remainder` with
/// `remainder < 10000`, which pins them to the floor division.
///
/// Bounds that make every step exact over the integers (N <= 16 items):
/// amounts < 2^40, so eligible < 2^44; deductible, cap, quotient < 2^44; rate <= 10000.
pub fn payout(
    p: &PolicyVar,
    items: &[ItemVar],
    quotient: &FpVar<Fr>,
    remainder: &FpVar<Fr>,
) -> Result<PayoutVar, SynthesisError> {
    assert!(
        items.len() <= 16,
        "the payout bounds assume at most 16 items"
    );
    let mask = bits(&p.category_mask, MASK_BITS)?;
    let mask: Vec<FpVar<Fr>> = mask.into_iter().map(FpVar::from).collect();
    let mut eligible = Vec::with_capacity(items.len());
    for item in items {
        let category = item.validate()?;
        let covered = select_bit(&mask, &category)?;
        eligible.push(&item.amount * covered);
    }
    let eligible: FpVar<Fr> = eligible.iter().sum();

    bits(&p.deductible, MONEY_BITS)?;
    let over = is_ge(&eligible, &p.deductible, MONEY_BITS)?
        .select(&(&eligible - &p.deductible), &FpVar::zero())?;

    bits(&p.rate_bp, RATE_BITS)?;
    enforce_le(&p.rate_bp, &FpVar::Constant(Fr::from(RATE_ONE)), RATE_BITS)?;
    bits(quotient, MONEY_BITS)?;
    bits(remainder, RATE_BITS)?;
    enforce_le(
        remainder,
        &FpVar::Constant(Fr::from(RATE_ONE - 1)),
        RATE_BITS,
    )?;
    over.mul_equals(&p.rate_bp, &(quotient * Fr::from(RATE_ONE) + remainder))?;

    bits(&p.cap, MONEY_BITS)?;
    let amount = min(quotient, &p.cap, MONEY_BITS)?;
    Ok(PayoutVar {
        eligible,
        over,
        quotient: quotient.clone(),
        remainder: remainder.clone(),
        amount,
    })
}

/// `table[index]` for a little-endian bit index, by a binary tree of selects
/// (len − 1 constraints).
fn select_bit(table: &[FpVar<Fr>], index: &[Boolean<Fr>]) -> Result<FpVar<Fr>, SynthesisError> {
    let mut layer = table.to_vec();
    for bit in index {
        layer = layer
            .chunks(2)
            .map(|pair| bit.select(&pair[1], &pair[0]))
            .collect::<Result<_, _>>()?;
    }
    debug_assert_eq!(layer.len(), 1);
    Ok(layer.swap_remove(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gadget::test_support::*;
    use crate::invoice::Item;
    use crate::policy::{self as native, Payout};
    use ark_relations::gr1cs::ConstraintSystemRef;

    fn policy() -> Policy {
        Policy {
            salt: Fr::from(42u64),
            insurer_id: 2,
            period_start: 20_454,
            period_end: 20_818,
            deductible: 10_000,
            rate_bp: 8_000,
            cap: 5_000_000,
            category_mask: 0b1010_1010_1010_1010,
        }
    }

    fn items() -> Vec<Item> {
        let amounts = [9_700u64, (1 << 40) - 1, 0, 123_456, 77, 1, 500_000, 31];
        amounts
            .iter()
            .enumerate()
            .map(|(i, a)| Item {
                detail: Fr::from(i as u64),
                category: (i as u8 * 5) % 16,
                amount: *a,
            })
            .collect()
    }

    fn run(
        mode: AllocationMode,
        p: &Policy,
        items: &[Item],
        advice: Payout,
    ) -> (ConstraintSystemRef<Fr>, PayoutVar) {
        let cs = cs();
        let pv = PolicyVar::new_variable(cs.clone(), || Ok(p.clone()), mode).unwrap();
        let iv: Vec<ItemVar> = items
            .iter()
            .map(|it| ItemVar::new_variable(cs.clone(), || Ok(*it), mode).unwrap())
            .collect();
        let q = FpVar::new_variable(cs.clone(), || Ok(Fr::from(advice.quotient)), mode).unwrap();
        let r = FpVar::new_variable(cs.clone(), || Ok(Fr::from(advice.remainder)), mode).unwrap();
        let out = payout(&pv, &iv, &q, &r).unwrap();
        (cs, out)
    }

    fn edge_policies() -> Vec<Policy> {
        let base = policy();
        let mut v = vec![base.clone()];
        let mut p = base.clone();
        p.rate_bp = 0;
        v.push(p);
        let mut p = base.clone();
        p.rate_bp = 10_000;
        v.push(p);
        let mut p = base.clone();
        p.cap = 1_000;
        v.push(p); // cap binding
        let mut p = base.clone();
        p.cap = (1 << 44) - 1;
        v.push(p); // cap not binding, at its bound
        let mut p = base.clone();
        p.deductible = (1 << 44) - 1;
        v.push(p); // deductible above eligible
        let mut p = base.clone();
        p.deductible = 0;
        p.rate_bp = 3_333;
        p.category_mask = 0xffff;
        v.push(p); // non-zero remainder
        let mut p = base;
        p.category_mask = 0;
        v.push(p);
        v
    }

    #[test]
    fn payout_agrees_with_native_at_edges() {
        for p in edge_policies() {
            let want = native::payout(&p, &items());
            for mode in MODES {
                let (cs, got) = run(mode, &p, &items(), want);
                assert_agrees(&cs, mode, &got.eligible, Fr::from(want.eligible));
                assert_agrees(&cs, mode, &got.over, Fr::from(want.over));
                assert_agrees(&cs, mode, &got.amount, Fr::from(want.amount));
            }
        }
    }

    #[test]
    fn pins_payout_constraint_count() {
        let (cs, _) = run(
            AllocationMode::Witness,
            &policy(),
            &items(),
            native::payout(&policy(), &items()),
        );
        // 8 items x (41 + 5 range, 15 mux, 1 product) + mask 17 + deductible 45 + over 46 + 1
        // + rate 15 + 15 + quotient 45 + remainder 15 + 15 + division 1 + cap 45 + min 46 + 1
        assert_eq!(
            cs.num_constraints(),
            8 * 62 + 17 + 45 + 47 + 30 + 45 + 30 + 1 + 45 + 47
        );
    }

    #[test]
    fn remainder_of_10000_or_more_is_unsatisfiable() {
        let mut p = policy();
        p.rate_bp = 3_333;
        let honest = native::payout(&p, &items());
        assert!(honest.quotient > 0);
        let (cs, _) = run(AllocationMode::Witness, &p, &items(), honest);
        assert!(cs.is_satisfied().unwrap());
        // Same product, quotient one lower: only `remainder < 10000` can catch it.
        let shifted = Payout {
            quotient: honest.quotient - 1,
            remainder: honest.remainder + 10_000,
            ..honest
        };
        let (cs, out) = run(AllocationMode::Witness, &p, &items(), shifted);
        assert_eq!(out.quotient.value().unwrap(), Fr::from(honest.quotient - 1));
        assert!(!cs.is_satisfied().unwrap());
        // A quotient that does not divide at all.
        let off = Payout {
            quotient: honest.quotient + 1,
            ..honest
        };
        assert!(!run(AllocationMode::Witness, &p, &items(), off)
            .0
            .is_satisfied()
            .unwrap());
    }

    #[test]
    fn out_of_range_terms_are_unsatisfiable() {
        let tampers: [fn(&mut Policy); 3] = [
            |p| p.rate_bp = 10_001,
            |p| p.cap = 1 << 44,
            |p| p.deductible = 1 << 44,
        ];
        for (i, tamper) in tampers.iter().enumerate() {
            let mut p = policy();
            tamper(&mut p);
            let (cs, _) = run(
                AllocationMode::Witness,
                &p,
                &items(),
                native::payout(&p, &items()),
            );
            assert!(!cs.is_satisfied().unwrap(), "tamper {i}");
        }
    }

    #[test]
    fn hash_agrees_with_native() {
        for mode in MODES {
            let cs = cs();
            let pv = PolicyVar::new_variable(cs.clone(), || Ok(policy()), mode).unwrap();
            assert_agrees(
                &cs,
                mode,
                &policy_hash(&pv).unwrap(),
                native::policy_hash(&policy()),
            );
        }
    }

    #[test]
    fn period_bounds() {
        let p = policy();
        for (day, ok) in [
            (p.period_start, true),
            (p.period_end, true),
            (p.period_start - 1, false),
            (p.period_end + 1, false),
            (u32::MAX, false),
        ] {
            assert_eq!(native::in_period(&p, day), ok);
            let cs = cs();
            let pv = PolicyVar::new_witness(cs.clone(), || Ok(p.clone())).unwrap();
            let d = FpVar::new_witness(cs.clone(), || Ok(Fr::from(day))).unwrap();
            in_period(&pv, &d).unwrap();
            assert_eq!(cs.is_satisfied().unwrap(), ok, "day {day}");
            assert_eq!(cs.num_constraints(), 5 * 33);
        }
        // Day numbers beyond u32 (a wrapped "negative" date) are rejected outright.
        let cs = cs();
        let pv = PolicyVar::new_witness(cs.clone(), || Ok(p.clone())).unwrap();
        let d = FpVar::new_witness(cs.clone(), || {
            Ok(Fr::from(p.period_start) - Fr::from(1u64 << 32))
        })
        .unwrap();
        in_period(&pv, &d).unwrap();
        assert!(!cs.is_satisfied().unwrap());
    }
}
