//! Insurance policies and the payout rule.
//!
//! The insurer keeps the policy; the patient opens it inside the proof, and the insurer checks
//! that the public `policy_hash` is the hash of the policy it holds for the claimant.

use crate::{date, date::Day, field, invoice::Item, poseidon, poseidon::Tag};
use ark_bn254::Fr;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// `deductible < 2^44` and `cap < 2^44` fen.
pub const MONEY_BITS: usize = 44;
/// `rate_bp` is in basis points: 10000 = 100%.
pub const RATE_ONE: u64 = 10_000;

/// The terms of a patient's policy at one insurer; `period_end` must not be before
/// `period_start`. Wiped from memory on drop; `Debug` prints the insurer only.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Policy {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Field))]
    #[serde(with = "field::serde_fr")]
    pub salt: Fr,
    #[cfg_attr(feature = "openapi", schema(maximum = 4294967295_u64))]
    pub insurer_id: u32,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Date))]
    #[serde(with = "date::serde_day")]
    pub period_start: Day,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Date))]
    #[serde(with = "date::serde_day")]
    pub period_end: Day,
    /// Fen, below 2^44 (`MONEY_BITS`).
    #[cfg_attr(feature = "openapi", schema(maximum = 17592186044415_u64))]
    pub deductible: u64,
    /// Basis points, 0..=10000 (`RATE_ONE`).
    #[cfg_attr(feature = "openapi", schema(maximum = 10000))]
    pub rate_bp: u64,
    /// Fen, below 2^44 (`MONEY_BITS`).
    #[cfg_attr(feature = "openapi", schema(maximum = 17592186044415_u64))]
    pub cap: u64,
    /// Bit c set: category c is covered.
    #[cfg_attr(feature = "openapi", schema(maximum = 65535))]
    pub category_mask: u16,
}

impl core::fmt::Debug for Policy {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // The terms are the insurer's business; the salt hides them. Print only the insurer.
        f.debug_struct("Policy")
            .field("insurer_id", &self.insurer_id)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("rate_bp must be at most 10000")]
    RateTooLarge,
    #[error("deductible must be below 2^44 fen")]
    DeductibleTooLarge,
    #[error("cap must be below 2^44 fen")]
    CapTooLarge,
    #[error("period_end is before period_start")]
    EmptyPeriod,
}

impl Policy {
    /// The ranges the circuit enforces, checked where the policy is written or read.
    pub fn validate(&self) -> Result<(), PolicyError> {
        if self.rate_bp > RATE_ONE {
            return Err(PolicyError::RateTooLarge);
        }
        if self.deductible >> MONEY_BITS != 0 {
            return Err(PolicyError::DeductibleTooLarge);
        }
        if self.cap >> MONEY_BITS != 0 {
            return Err(PolicyError::CapTooLarge);
        }
        if self.period_end < self.period_start {
            return Err(PolicyError::EmptyPeriod);
        }
        Ok(())
    }

    pub fn covers(&self, category: u8) -> bool {
        category < 16 && (self.category_mask >> category) & 1 == 1
    }
}

/// `period_start <= day <= period_end`.
pub fn in_period(p: &Policy, day: Day) -> bool {
    (p.period_start..=p.period_end).contains(&day)
}

/// `Poseidon(POLICY, salt, insurer_id, period_start, period_end, deductible, rate_bp, cap,
/// category_mask)`.
pub fn policy_hash(p: &Policy) -> Fr {
    poseidon::hash(&[
        Tag::Policy.to_field(),
        p.salt,
        Fr::from(p.insurer_id),
        Fr::from(p.period_start),
        Fr::from(p.period_end),
        Fr::from(p.deductible),
        Fr::from(p.rate_bp),
        Fr::from(p.cap),
        Fr::from(p.category_mask),
    ])
}

/// Every intermediate of the payout rule. The circuit recomputes `eligible`, `over` and
/// `amount`; `quotient` and `remainder` are advice it checks (`over * rate = 10000 q + rem`,
/// `rem < 10000`) because division is not a field operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Payout {
    pub eligible: u64,
    pub over: u64,
    pub quotient: u64,
    pub remainder: u64,
    pub amount: u64,
}

/// `eligible = Σ amount_i·[category_i covered]`, `over = max(eligible − deductible, 0)`,
/// `amount = min(⌊over · rate_bp / 10000⌋, cap)`. Expects validated items and policy
/// (amounts < 2^40, so the sum of 2^k items cannot overflow u64 for any sane k).
pub fn payout(p: &Policy, items: &[Item]) -> Payout {
    let eligible: u64 = items
        .iter()
        .filter(|it| p.covers(it.category))
        .map(|it| it.amount)
        .sum();
    let over = eligible.saturating_sub(p.deductible);
    let product = u128::from(over) * u128::from(p.rate_bp);
    let quotient = (product / u128::from(RATE_ONE)) as u64;
    let remainder = (product % u128::from(RATE_ONE)) as u64;
    Payout {
        eligible,
        over,
        quotient,
        remainder,
        amount: quotient.min(p.cap),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Policy {
        Policy {
            salt: Fr::from(42u64),
            insurer_id: 2,
            period_start: date::parse("2026-01-01").unwrap(),
            period_end: date::parse("2026-12-31").unwrap(),
            deductible: 10_000,
            rate_bp: 8_000,
            cap: 5_000_000,
            category_mask: 0xffff,
        }
    }

    fn item(category: u8, amount: u64) -> Item {
        Item {
            detail: Fr::from(1u64),
            category,
            amount,
        }
    }

    #[test]
    fn spec_example_pays_eighty_percent_over_the_deductible() {
        // 9700 + 10000 eligible, 10000 deductible, 80%: 7760 fen, as in the spec's package.
        let pay = payout(&sample(), &[item(3, 9_700), item(5, 10_000)]);
        assert_eq!(
            pay,
            Payout {
                eligible: 19_700,
                over: 9_700,
                quotient: 7_760,
                remainder: 0,
                amount: 7_760
            }
        );
    }

    #[test]
    fn edges() {
        let mut p = sample();
        p.category_mask = 1 << 3;
        let items = [item(3, 1_000_000), item(4, 555)];
        assert_eq!(
            payout(&p, &items).eligible,
            1_000_000,
            "uncovered category ignored"
        );
        p.deductible = 2_000_000;
        assert_eq!(payout(&p, &items).amount, 0, "deductible above eligible");
        p.deductible = 0;
        p.rate_bp = 0;
        assert_eq!(payout(&p, &items).amount, 0);
        p.rate_bp = 10_000;
        assert_eq!(payout(&p, &items).amount, 1_000_000);
        p.cap = 999_999;
        assert_eq!(payout(&p, &items).amount, 999_999, "cap binding");
        p.rate_bp = 3_333;
        let pay = payout(&p, &[item(3, 7)]);
        assert_eq!((pay.quotient, pay.remainder), (2, 3_331));
        let max = [item(3, (1 << 40) - 1); 8];
        assert_eq!(payout(&p, &max).eligible, 8 * ((1 << 40) - 1));
    }

    #[test]
    fn validates_ranges() {
        let mut p = sample();
        assert_eq!(p.validate(), Ok(()));
        p.rate_bp = 10_001;
        assert_eq!(p.validate(), Err(PolicyError::RateTooLarge));
        let mut p = sample();
        p.cap = 1 << 44;
        assert_eq!(p.validate(), Err(PolicyError::CapTooLarge));
        let mut p = sample();
        p.deductible = 1 << 44;
        assert_eq!(p.validate(), Err(PolicyError::DeductibleTooLarge));
        let mut p = sample();
        p.period_end = p.period_start - 1;
        assert_eq!(p.validate(), Err(PolicyError::EmptyPeriod));
    }

    #[test]
    fn wiping_clears_every_field() {
        fn wiped_on_drop<T: ZeroizeOnDrop>(_: &T) {}
        let mut p = sample();
        wiped_on_drop(&p);
        p.zeroize();
        assert!(p == Policy::default(), "every field zero");
    }

    #[test]
    fn hash_binds_salt_and_terms() {
        let h = policy_hash(&sample());
        let mut p = sample();
        p.salt += Fr::from(1u64);
        assert_ne!(policy_hash(&p), h);
        let mut p = sample();
        p.category_mask ^= 1;
        assert_ne!(policy_hash(&p), h);
        assert_eq!(format!("{:?}", sample()), "Policy { insurer_id: 2, .. }");
    }
}
