//! Realistic generated data for the demo, benchmarks and tests: invoices drawn from a small
//! catalogue of line items, a typical policy, and a valid claim among other invoices.

use crate::{
    claim::{ClaimWitness, Shape},
    continuation::ContinuationWitness,
    date::Day,
    invoice::{detail_digest, Invoice, Item},
    keys::SecretKey,
    policy::Policy,
    settled,
    tree::IncrementalTree,
};
use ark_bn254::Fr;
use ark_ff::UniformRand;
use ark_std::rand::{CryptoRng, Rng, RngCore};

/// 2026-01-01 and 2026-12-31 as day numbers; the sample claims fall inside.
pub const PERIOD: (Day, Day) = (20_454, 20_818);

/// Line items a hospital might bill: (category, coded description, typical fen).
const CATALOGUE: [(u8, &str, u64); 8] = [
    (0, "registration; outpatient", 2_500),
    (1, "consultation; internal medicine", 5_000),
    (3, "ATC J01CA04; amoxicillin 500mg x 24", 9_700),
    (4, "LOINC 58410-2; complete blood count", 4_500),
    (5, "chest CT scan", 48_000),
    (6, "inpatient bed; 3 days", 90_000),
    (9, "ICD-10 K35.8; appendectomy", 780_000),
    (12, "physiotherapy session", 12_000),
];

/// An invoice of 1..=n_items catalogue items (amounts ±20%) issued to `patient_pk`.
pub fn invoice<R: Rng>(rng: &mut R, patient_pk: Fr, issued_on: Day, n_items: usize) -> Invoice {
    let items = (0..rng.gen_range(1..=n_items))
        .map(|_| {
            let (category, description, typical) = CATALOGUE[rng.gen_range(0..CATALOGUE.len())];
            let amount = typical * rng.gen_range(80..=120) / 100;
            Item {
                detail: detail_digest(description),
                category,
                amount,
            }
        })
        .collect();
    Invoice {
        serial: Fr::rand(rng),
        hospital_id: rng.gen_range(1..=2),
        patient_pk,
        issued_on,
        items,
    }
}

/// The spec's example invoice: 97.00 yuan of category 3 and 100.00 yuan of category 5, issued
/// on 2026-11-20. Under [`policy`] it pays 7,760 fen (80% of what exceeds the deductible).
pub fn spec_invoice<R: Rng>(rng: &mut R, patient_pk: Fr, hospital_id: u32) -> Invoice {
    Invoice {
        serial: Fr::rand(rng),
        hospital_id,
        patient_pk,
        issued_on: 20_777,
        items: vec![
            Item {
                detail: detail_digest("ATC J01CA04; amoxicillin 500mg x 24"),
                category: 3,
                amount: 9_700,
            },
            Item {
                detail: detail_digest("chest CT scan, partial"),
                category: 5,
                amount: 10_000,
            },
        ],
    }
}

/// A typical policy of `insurer_id`: 100 yuan deductible, 80%, 50,000 yuan cap, all but
/// cosmetic categories (13..15) covered.
pub fn policy<R: Rng>(rng: &mut R, insurer_id: u32) -> Policy {
    Policy {
        salt: Fr::rand(rng),
        insurer_id,
        period_start: PERIOD.0,
        period_end: PERIOD.1,
        deductible: 10_000,
        rate_bp: 8_000,
        cap: 5_000_000,
        category_mask: 0x1fff,
    }
}

/// A valid claim: the patient's invoice among `others` other patients' invoices.
pub fn claim<R: RngCore + CryptoRng>(rng: &mut R, shape: Shape, others: usize) -> ClaimWitness {
    let sk = SecretKey::random(rng);
    let ours = invoice(rng, sk.public_key(), PERIOD.0 + 300, shape.items);
    let position = rng.gen_range(0..=others);
    let mut tree = IncrementalTree::new(shape.depth);
    for i in 0..=others {
        let leaf = if i == position {
            ours.commitment(shape.items)
        } else {
            let other_patient = Fr::rand(rng);
            invoice(rng, other_patient, PERIOD.0 + 100, shape.items).commitment(shape.items)
        };
        tree.append(leaf.expect("catalogue invoices are valid"))
            .expect("the tree has room");
    }
    let path = tree.path(position as u64).expect("the leaf was appended");
    ClaimWitness {
        sk,
        invoice: ours,
        path,
        policy: policy(rng, 2),
    }
}

/// A valid continuation claim of `rank` (1..=3): [`claim`]'s invoice, claimed first under
/// [`policy`] at insurer 2 and then at insurers 3, 4, … in turn, each claim's settled leaf
/// appended to a settled tree of `shape.depth` after `others` other claims' leaves; the next
/// payer (insurer `2 + rank`) holds the same typical policy.
pub fn continuation<R: RngCore + CryptoRng>(
    rng: &mut R,
    shape: Shape,
    rank: u8,
    others: usize,
) -> ContinuationWitness {
    let primary = claim(rng, shape, others);
    let public = primary
        .public_inputs(shape)
        .expect("sample claims are valid");
    let mut settled = IncrementalTree::new(shape.depth);
    for _ in 0..others {
        settled.append(Fr::rand(rng)).expect("the tree has room");
    }
    let mut settle = |leaf: Fr| {
        let index = settled.append(leaf).expect("the tree has room");
        settled.path(index).expect("the leaf was appended")
    };
    let path = settle(settled::primary_leaf(&public));
    let mut w = ContinuationWitness::after_primary(&primary, &public, policy(rng, 3), path);
    for next_insurer in (4..).take(usize::from(rank.saturating_sub(1))) {
        let public = w
            .public_inputs(shape)
            .expect("sample continuations are valid");
        let path = settle(public.settled_leaf);
        w = w.next(&public, policy(rng, next_insurer), path);
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{rngs::StdRng, SeedableRng};

    #[test]
    fn the_spec_invoice_pays_7760_fen() {
        let mut rng = StdRng::seed_from_u64(4);
        let inv = spec_invoice(&mut rng, Fr::from(1u64), 7);
        let pay = crate::policy::payout(&policy(&mut rng, 2), &inv.padded_items(8).unwrap());
        assert_eq!(pay.amount, 7_760);
    }

    #[test]
    fn sample_claims_satisfy_the_statement() {
        let mut rng = StdRng::seed_from_u64(3);
        for shape in [
            Shape::default(),
            Shape {
                items: 4,
                depth: 16,
            },
        ] {
            let w = claim(&mut rng, shape, 5);
            let public = w.public_inputs(shape).expect("a valid claim");
            assert_eq!(w.check(shape, &public), Ok(()));
        }
    }

    #[test]
    fn sample_continuations_satisfy_the_statement() {
        let mut rng = StdRng::seed_from_u64(5);
        let shape = Shape { items: 4, depth: 8 };
        for rank in 1..=crate::continuation::MAX_RANK {
            let w = continuation(&mut rng, shape, rank, 3);
            assert_eq!((w.rank, w.earlier.len()), (rank, usize::from(rank)));
            let public = w.public_inputs(shape).expect("a valid continuation");
            assert_eq!(w.check(shape, &public), Ok(()));
            assert_eq!(public.insurer_id, 2 + u32::from(rank));
            let total = crate::invoice::total(&w.claim.invoice.items);
            assert!(w.paid_before + public.claim_amount <= total);
        }
    }
}
