//! Hospital e-invoices and their commitments.
//!
//! A hospital registers only `commitment` on the ledger; the patient keeps the opening.

use crate::{date, date::Day, field, poseidon, poseidon::Tag};
use ark_bn254::Fr;
use ark_ff::PrimeField;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Line items per invoice in the default circuit.
pub const DEFAULT_ITEMS: usize = 8;
/// `amount_i < 2^40` fen.
pub const AMOUNT_BITS: usize = 40;
/// `category_i < 16`.
pub const CATEGORY_BITS: usize = 4;

/// One line item. `detail` is the hospital's field-element digest of the medical detail
/// (code, drug, description). It is `Copy`, so it cannot wipe itself: the [`Invoice`] that
/// holds it and every vector of items the statement makes are wiped instead.
#[derive(Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, Zeroize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Item {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Field))]
    #[serde(with = "field::serde_fr")]
    pub detail: Fr,
    /// 0..=15 (`CATEGORY_BITS`).
    #[cfg_attr(feature = "openapi", schema(maximum = 15))]
    pub category: u8,
    /// Fen, below 2^40 (`AMOUNT_BITS`).
    #[cfg_attr(feature = "openapi", schema(maximum = 1099511627775_u64))]
    pub amount: u64,
}

/// An invoice opening. `Debug` prints nothing of it: every field is medical or identifying.
/// Wiped from memory on drop.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
#[cfg_attr(
    feature = "openapi",
    derive(utoipa::ToSchema),
    schema(
        description = "An invoice opening, kept by the patient: the hospital registers only \
                          its commitment"
    )
)]
#[serde(deny_unknown_fields)]
pub struct Invoice {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Field))]
    #[serde(with = "field::serde_fr")]
    pub serial: Fr,
    #[cfg_attr(feature = "openapi", schema(maximum = 4294967295_u64))]
    pub hospital_id: u32,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Field))]
    #[serde(with = "field::serde_fr")]
    pub patient_pk: Fr,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schema::Date))]
    #[serde(with = "date::serde_day")]
    pub issued_on: Day,
    /// At most the circuit's N (8 by default) line items.
    pub items: Vec<Item>,
}

impl core::fmt::Debug for Item {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Item(<redacted>)")
    }
}

impl core::fmt::Debug for Invoice {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Invoice(<redacted>)")
    }
}

/// Why an invoice cannot be committed to or claimed under a circuit with `n` items.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvoiceError {
    #[error("invoice has {found} line items; this circuit takes at most {max}")]
    TooManyItems { found: usize, max: usize },
    #[error("line item {index}: amount must be below 2^40 fen")]
    AmountTooLarge { index: usize },
    #[error("line item {index}: category must be 0..=15")]
    CategoryTooLarge { index: usize },
}

impl Invoice {
    /// Checks the ranges the statement requires, so that a hospital tool never commits to an
    /// invoice that no claim could be proved against.
    pub fn validate(&self, n_items: usize) -> Result<(), InvoiceError> {
        if self.items.len() > n_items {
            return Err(InvoiceError::TooManyItems {
                found: self.items.len(),
                max: n_items,
            });
        }
        for (index, item) in self.items.iter().enumerate() {
            if item.amount >> AMOUNT_BITS != 0 {
                return Err(InvoiceError::AmountTooLarge { index });
            }
            if item.category >> CATEGORY_BITS != 0 {
                return Err(InvoiceError::CategoryTooLarge { index });
            }
        }
        Ok(())
    }

    /// A copy of the items padded with all-zero slots to exactly `n_items`, wiped on drop.
    pub fn padded_items(&self, n_items: usize) -> Result<Zeroizing<Vec<Item>>, InvoiceError> {
        if self.items.len() > n_items {
            return Err(InvoiceError::TooManyItems {
                found: self.items.len(),
                max: n_items,
            });
        }
        // Allocated at its final size: growing would free unwiped copies.
        let mut items = Zeroizing::new(Vec::with_capacity(n_items));
        items.extend_from_slice(&self.items);
        items.resize(n_items, Item::default());
        Ok(items)
    }

    /// Pads the items to exactly `n_items` in place, wiping the list it replaces.
    pub fn pad_items(&mut self, n_items: usize) -> Result<(), InvoiceError> {
        let mut padded = self.padded_items(n_items)?;
        core::mem::swap(&mut self.items, &mut padded);
        Ok(())
    }
}

/// The `detail` a hospital writes for a line item: SHA-256 of its coded description
/// (e.g. `"ICD-10 K35.8; appendectomy"`), reduced mod r. Equal details across invoices reveal
/// nothing: commitments are hidden by their uniform `serial`.
pub fn detail_digest(description: &str) -> Fr {
    use sha2::{Digest, Sha256};
    Fr::from_be_bytes_mod_order(&Sha256::digest(description.as_bytes()))
}

/// `packed = amount + 2^40 * category`: one field element per item's numbers.
pub fn packed(item: &Item) -> Fr {
    Fr::from(item.amount) + Fr::from(1u64 << AMOUNT_BITS) * Fr::from(item.category)
}

/// `total = Σ amount_i` over every item, covered or not (fen): what a continuation claim's
/// payers may pay together at most. Below 2^44 for validated items (N <= 16).
pub fn total(items: &[Item]) -> u64 {
    items.iter().map(|it| it.amount).sum()
}

/// The hash of all item slots `(detail_0, packed_0, …)`. Up to 8 items it is one Poseidon
/// of the 2N values (16 inputs for the default N = 8); longer lists chain:
/// `h = Poseidon(first 16)`, then `h = Poseidon(h, next up to 15)` until all are absorbed.
pub fn items_hash(items: &[Item]) -> Fr {
    let mut values = Zeroizing::new(Vec::with_capacity(2 * items.len()));
    values.extend(items.iter().flat_map(|it| [it.detail, packed(it)]));
    let Ok(h) = chain(&values, |v| {
        Ok::<_, core::convert::Infallible>(poseidon::hash(v))
    });
    h
}

/// The absorption order of [`items_hash`], shared with the gadget so both chain alike.
pub fn chain<T: Clone, E>(
    values: &[T],
    mut hash: impl FnMut(&[T]) -> Result<T, E>,
) -> Result<T, E> {
    let first = values.len().min(poseidon::MAX_INPUTS);
    let mut h = hash(&values[..first])?;
    for chunk in values[first..].chunks(poseidon::MAX_INPUTS - 1) {
        let mut inputs = Vec::with_capacity(chunk.len() + 1);
        inputs.push(h);
        inputs.extend_from_slice(chunk);
        h = hash(&inputs)?;
    }
    Ok(h)
}

/// `commitment = Poseidon(INVOICE, serial, hospital_id, patient_pk, issued_on, items_hash)`
/// over the items as given (callers pad them to the circuit's N).
pub fn commitment(
    serial: &Fr,
    hospital_id: u32,
    patient_pk: &Fr,
    issued_on: Day,
    items: &[Item],
) -> Fr {
    poseidon::hash(&[
        Tag::Invoice.to_field(),
        *serial,
        Fr::from(hospital_id),
        *patient_pk,
        Fr::from(issued_on),
        items_hash(items),
    ])
}

impl Invoice {
    /// The commitment a hospital registers, for a circuit with `n_items` slots.
    pub fn commitment(&self, n_items: usize) -> Result<Fr, InvoiceError> {
        self.validate(n_items)?;
        let items = self.padded_items(n_items)?;
        Ok(commitment(
            &self.serial,
            self.hospital_id,
            &self.patient_pk,
            self.issued_on,
            &items,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Invoice {
        Invoice {
            serial: Fr::from(99u64),
            hospital_id: 7,
            patient_pk: Fr::from(5u64),
            issued_on: 20_777,
            items: vec![Item {
                detail: Fr::from(11u64),
                category: 3,
                amount: 9_700,
            }],
        }
    }

    #[test]
    fn packs_amount_below_category() {
        let it = Item {
            detail: Fr::from(0u64),
            category: 15,
            amount: (1 << 40) - 1,
        };
        assert_eq!(packed(&it), Fr::from((16u64 << 40) - 1));
    }

    #[test]
    fn total_counts_every_item() {
        let mut v = sample();
        v.items.push(Item {
            detail: Fr::from(12u64),
            category: 15,
            amount: (1 << 40) - 1,
        });
        assert_eq!(total(&v.padded_items(8).unwrap()), 9_700 + (1 << 40) - 1);
        assert_eq!(total(&[]), 0);
    }

    #[test]
    fn eight_items_hash_as_one_poseidon_of_sixteen() {
        let items = sample().padded_items(8).unwrap();
        let mut flat = vec![];
        for it in items.iter() {
            flat.push(it.detail);
            flat.push(packed(it));
        }
        assert_eq!(items_hash(&items), poseidon::hash(&flat));
    }

    #[test]
    fn sixteen_items_chain() {
        let items: Vec<Item> = (0..16u64)
            .map(|i| Item {
                detail: Fr::from(i),
                category: (i % 16) as u8,
                amount: i * 10,
            })
            .collect();
        let flat: Vec<Fr> = items
            .iter()
            .flat_map(|it| [it.detail, packed(it)])
            .collect();
        let h1 = poseidon::hash(&flat[..16]);
        let h2 = poseidon::hash(&[&[h1][..], &flat[16..31]].concat());
        let h3 = poseidon::hash(&[h2, flat[31]]);
        assert_eq!(items_hash(&items), h3);
    }

    #[test]
    fn commitment_binds_every_field() {
        let base = sample().commitment(8).unwrap();
        let mut v = sample();
        v.hospital_id = 8;
        assert_ne!(v.commitment(8).unwrap(), base);
        let mut v = sample();
        v.issued_on += 1;
        assert_ne!(v.commitment(8).unwrap(), base);
        let mut v = sample();
        v.items[0].amount += 1;
        assert_ne!(v.commitment(8).unwrap(), base);
        // Padding is explicit zeros: the same invoice commits differently under another N.
        assert_ne!(sample().commitment(4).unwrap(), base);
    }

    #[test]
    fn validates_ranges() {
        let mut v = sample();
        v.items[0].amount = 1 << 40;
        assert_eq!(
            v.validate(8),
            Err(InvoiceError::AmountTooLarge { index: 0 })
        );
        let mut v = sample();
        v.items[0].category = 16;
        assert_eq!(
            v.commitment(8),
            Err(InvoiceError::CategoryTooLarge { index: 0 })
        );
        let mut v = sample();
        v.items = vec![Item::default(); 9];
        assert_eq!(
            v.validate(8),
            Err(InvoiceError::TooManyItems { found: 9, max: 8 })
        );
        assert_eq!(format!("{:?}", sample()), "Invoice(<redacted>)");
    }

    #[test]
    fn wiping_clears_every_field_and_padding_copies_wipe_themselves() {
        fn wiped_on_drop<T: ZeroizeOnDrop>(_: &T) {}
        let padded = sample().padded_items(8).unwrap();
        wiped_on_drop(&padded);
        assert_eq!(padded.capacity(), 8, "allocated once, at its final size");
        let mut inv = sample();
        inv.pad_items(8).unwrap();
        assert_eq!(inv.items.len(), 8);
        wiped_on_drop(&inv);
        inv.zeroize();
        assert_eq!(
            (inv.serial, inv.hospital_id, inv.patient_pk, inv.issued_on),
            (Fr::from(0u64), 0, Fr::from(0u64), 0)
        );
        assert!(inv.items.is_empty());
        let mut item = sample().items[0];
        item.zeroize();
        assert!(item == Item::default());
    }

    #[test]
    fn parses_the_spec_format() {
        let json = r#"{"serial": "0x0000000000000000000000000000000000000000000000000000000000000063",
            "hospital_id": 7,
            "patient_pk": "0x0000000000000000000000000000000000000000000000000000000000000005",
            "issued_on": "2026-11-20",
            "items": [{"detail": "0x000000000000000000000000000000000000000000000000000000000000000b", "category": 3, "amount": 9700}]}"#;
        let inv: Invoice = serde_json::from_str(json).unwrap();
        assert!(inv == sample());
        let bad = json.replace("\"hospital_id\": 7", "\"hospital_id\": 7, \"extra\": 1");
        assert!(serde_json::from_str::<Invoice>(&bad).is_err());
    }
}
