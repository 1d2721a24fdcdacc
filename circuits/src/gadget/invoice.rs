//! In-circuit twins of [`crate::invoice`].

use super::{alloc, bits, poseidon::hash};
use crate::invoice::{chain, Invoice, Item, AMOUNT_BITS, CATEGORY_BITS};
use crate::poseidon::Tag;
use ark_bn254::Fr;
use ark_r1cs_std::{alloc::AllocationMode, fields::fp::FpVar, prelude::*};
use ark_relations::gr1cs::{Namespace, SynthesisError};
use core::borrow::Borrow;

#[derive(Clone)]
pub struct ItemVar {
    pub detail: FpVar<Fr>,
    pub category: FpVar<Fr>,
    pub amount: FpVar<Fr>,
}

impl ItemVar {
    /// Enforces `amount < 2^40` and `category < 16` (the twin of [`Invoice::validate`]'s
    /// item checks) and returns the category's 4 little-endian bits.
    pub fn validate(&self) -> Result<Vec<Boolean<Fr>>, SynthesisError> {
        bits(&self.amount, AMOUNT_BITS)?;
        bits(&self.category, CATEGORY_BITS)
    }
}

impl AllocVar<Item, Fr> for ItemVar {
    fn new_variable<T: Borrow<Item>>(
        cs: impl Into<Namespace<Fr>>,
        f: impl FnOnce() -> Result<T, SynthesisError>,
        mode: AllocationMode,
    ) -> Result<Self, SynthesisError> {
        let ns = cs.into();
        let v = f().map(|v| *v.borrow());
        Ok(Self {
            detail: alloc(&ns, v.map(|i| i.detail), mode)?,
            category: alloc(&ns, v.map(|i| Fr::from(i.category)), mode)?,
            amount: alloc(&ns, v.map(|i| Fr::from(i.amount)), mode)?,
        })
    }
}

/// An invoice opening with exactly as many item slots as the value it was allocated from
/// (the claim circuit allocates the padded invoice).
#[derive(Clone)]
pub struct InvoiceVar {
    pub serial: FpVar<Fr>,
    pub hospital_id: FpVar<Fr>,
    pub patient_pk: FpVar<Fr>,
    pub issued_on: FpVar<Fr>,
    pub items: Vec<ItemVar>,
}

impl AllocVar<Invoice, Fr> for InvoiceVar {
    fn new_variable<T: Borrow<Invoice>>(
        cs: impl Into<Namespace<Fr>>,
        f: impl FnOnce() -> Result<T, SynthesisError>,
        mode: AllocationMode,
    ) -> Result<Self, SynthesisError> {
        let ns = cs.into();
        let v = f()?;
        let inv = v.borrow();
        Ok(Self {
            serial: alloc(&ns, Ok(inv.serial), mode)?,
            hospital_id: alloc(&ns, Ok(Fr::from(inv.hospital_id)), mode)?,
            patient_pk: alloc(&ns, Ok(inv.patient_pk), mode)?,
            issued_on: alloc(&ns, Ok(Fr::from(inv.issued_on)), mode)?,
            items: inv
                .items
                .iter()
                .map(|it| ItemVar::new_variable(ns.cs(), || Ok(*it), mode))
                .collect::<Result<_, _>>()?,
        })
    }
}

/// `amount + 2^40 * category` (linear: no constraints).
pub fn packed(item: &ItemVar) -> FpVar<Fr> {
    &item.amount + &item.category * Fr::from(1u64 << AMOUNT_BITS)
}

/// `Σ amount_i` (linear: no constraints; the amounts' ranges are the caller's, as in
/// [`ItemVar::validate`]).
pub fn total(items: &[ItemVar]) -> FpVar<Fr> {
    items.iter().map(|it| &it.amount).sum()
}

pub fn items_hash(items: &[ItemVar]) -> Result<FpVar<Fr>, SynthesisError> {
    let values: Vec<FpVar<Fr>> = items
        .iter()
        .flat_map(|it| [it.detail.clone(), packed(it)])
        .collect();
    chain(&values, hash)
}

pub fn commitment(
    serial: &FpVar<Fr>,
    hospital_id: &FpVar<Fr>,
    patient_pk: &FpVar<Fr>,
    issued_on: &FpVar<Fr>,
    items: &[ItemVar],
) -> Result<FpVar<Fr>, SynthesisError> {
    hash(&[
        FpVar::Constant(Tag::Invoice.to_field()),
        serial.clone(),
        hospital_id.clone(),
        patient_pk.clone(),
        issued_on.clone(),
        items_hash(items)?,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gadget::test_support::*;
    use crate::invoice as native;

    fn sample(n: usize) -> Invoice {
        let mut inv = Invoice {
            serial: -Fr::from(3u64),
            hospital_id: u32::MAX,
            patient_pk: Fr::from(5u64),
            issued_on: 20_777,
            items: vec![
                Item {
                    detail: Fr::from(11u64),
                    category: 15,
                    amount: (1 << 40) - 1,
                },
                Item {
                    detail: -Fr::from(1u64),
                    category: 0,
                    amount: 0,
                },
                Item {
                    detail: Fr::from(12u64),
                    category: 3,
                    amount: 9_700,
                },
            ],
        };
        inv.pad_items(n).unwrap();
        inv
    }

    #[test]
    fn commitment_agrees_with_native() {
        for n in [4, 8, 16] {
            let inv = sample(n);
            for mode in MODES {
                let cs = cs();
                let v = InvoiceVar::new_variable(cs.clone(), || Ok(inv.clone()), mode).unwrap();
                let got = commitment(
                    &v.serial,
                    &v.hospital_id,
                    &v.patient_pk,
                    &v.issued_on,
                    &v.items,
                )
                .unwrap();
                assert_agrees(&cs, mode, &got, inv.commitment(n).unwrap());
                assert_agrees(
                    &cs,
                    mode,
                    &packed(&v.items[0]),
                    native::packed(&inv.items[0]),
                );
                assert_agrees(
                    &cs,
                    mode,
                    &total(&v.items),
                    Fr::from(native::total(&inv.items)),
                );
            }
        }
    }

    #[test]
    fn validate_accepts_edges_and_rejects_out_of_range() {
        let cases = [
            (
                Item {
                    detail: Fr::from(0u64),
                    category: 15,
                    amount: (1 << 40) - 1,
                },
                true,
            ),
            (
                Item {
                    detail: Fr::from(0u64),
                    category: 0,
                    amount: 0,
                },
                true,
            ),
            (
                Item {
                    detail: Fr::from(0u64),
                    category: 3,
                    amount: 1 << 40,
                },
                false,
            ),
            (
                Item {
                    detail: Fr::from(0u64),
                    category: 16,
                    amount: 5,
                },
                false,
            ),
        ];
        for (item, ok) in cases {
            let cs = cs();
            let v = ItemVar::new_witness(cs.clone(), || Ok(item)).unwrap();
            let cat = v.validate().unwrap();
            assert_eq!(cs.is_satisfied().unwrap(), ok);
            assert_eq!(cs.num_constraints(), 41 + 5);
            if ok {
                let c: u8 = cat
                    .iter()
                    .rev()
                    .fold(0, |a, b| a * 2 + b.value().unwrap() as u8);
                assert_eq!(c, item.category);
            }
        }
    }

    #[test]
    fn total_is_free_and_binds_every_amount() {
        let inv = sample(8);
        let cs = cs();
        let v = InvoiceVar::new_witness(cs.clone(), || Ok(inv.clone())).unwrap();
        let t = total(&v.items);
        assert_eq!(cs.num_constraints(), 0, "a linear sum");
        let one_more =
            FpVar::new_input(cs.clone(), || Ok(Fr::from(native::total(&inv.items) + 1))).unwrap();
        t.enforce_equal(&one_more).unwrap();
        assert!(!cs.is_satisfied().unwrap());
    }

    #[test]
    fn pins_commitment_constraint_count() {
        let cs = cs();
        let v = InvoiceVar::new_witness(cs.clone(), || Ok(sample(8))).unwrap();
        let _ = commitment(
            &v.serial,
            &v.hospital_id,
            &v.patient_pk,
            &v.issued_on,
            &v.items,
        )
        .unwrap();
        // Poseidon(16) for the items, Poseidon(6) for the commitment (its domain tag is a
        // constant too, so its first-round S-box is free as well).
        assert_eq!(cs.num_constraints(), 609 + 351);
    }
}
