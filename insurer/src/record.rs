//! The outcomes of the claims an insurer settled or refused: a claim's status by its
//! nullifier, and the insurer's report of its claims.

use super::{decode, storage, Registry, RegistryError};
use ark_bn254::Fr;
use redb::{Durability, ReadableTable, TableDefinition, WriteTransaction};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use zkclaim_circuits::{
    date::{self, Day},
    field,
};

/// `(insurer, sequence)` → outcome JSON, in the order they happened.
const OUTCOMES: TableDefinition<(u32, u64), &[u8]> = TableDefinition::new("outcomes");
/// `insurer ‖ nullifier` (4 + 32 bytes) → the sequence of the claim's latest outcome.
const LATEST: TableDefinition<&[u8], u64> = TableDefinition::new("latest");

pub(crate) fn create_tables(tx: &WriteTransaction) -> Result<(), RegistryError> {
    tx.open_table(OUTCOMES).map_err(storage)?;
    tx.open_table(LATEST).map_err(storage)?;
    Ok(())
}

/// What happened to a claim at this insurer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Outcome {
    #[cfg_attr(feature = "openapi", schema(value_type = zkclaim_circuits::schema::Field))]
    #[serde(with = "field::serde_fr")]
    pub nullifier: Fr,
    #[cfg_attr(feature = "openapi", schema(value_type = zkclaim_circuits::schema::Field))]
    #[serde(with = "field::serde_fr")]
    pub claimant_tag: Fr,
    #[cfg_attr(feature = "openapi", schema(value_type = zkclaim_circuits::schema::Field))]
    #[serde(with = "field::serde_fr")]
    pub policy_hash: Fr,
    /// The claim's amount, in fen (paid only when settled).
    pub claim_amount: u64,
    /// When, in milliseconds since 1970-01-01 UTC.
    pub time_ms: u64,
    #[serde(flatten)]
    pub status: Status,
}

/// Settled (with where on the ledger) or refused (with why).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Status {
    Settled {
        height: u64,
        tx_index: u32,
        /// Hex, 64 digits.
        tx_id: String,
        /// Hex, 64 digits.
        block_hash: String,
    },
    Refused {
        /// The refusal's stable code, as the service answered it.
        code: String,
        reason: String,
    },
}

/// A day's claims at one insurer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DayTotals {
    /// `YYYY-MM-DD`, UTC.
    pub day: String,
    pub settled: u64,
    /// The fen paid out that day.
    pub amount: u64,
    pub refused: u64,
}

/// An insurer's claims: the latest settled and refused ones, and totals per day over all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Report {
    /// The latest settlements, newest first.
    pub settled: Vec<Outcome>,
    /// The latest refusals, newest first.
    pub refused: Vec<Outcome>,
    /// Every day with an outcome, oldest first.
    pub days: Vec<DayTotals>,
}

fn latest_key(insurer: u32, nullifier: Fr) -> [u8; 36] {
    let mut key = [0; 36];
    key[..4].copy_from_slice(&insurer.to_be_bytes());
    key[4..].copy_from_slice(&field::to_be_bytes(&nullifier));
    key
}

impl Registry {
    /// Records an outcome of `insurer`'s, durably; it becomes its claim's status, except that
    /// a refusal never replaces a settlement: a claim paid stays paid in the insurer's records
    /// when a copy of it (or a claim on the same invoice) is refused later as a duplicate.
    /// The refusal stays in the report.
    pub fn record(&self, insurer: u32, outcome: &Outcome) -> Result<(), RegistryError> {
        let json = serde_json::to_vec(outcome).expect("outcomes serialize");
        let mut tx = self.db.begin_write().map_err(storage)?;
        tx.set_durability(Durability::Immediate);
        {
            let mut outcomes = tx.open_table(OUTCOMES).map_err(storage)?;
            let last = outcomes
                .range((insurer, 0)..=(insurer, u64::MAX))
                .map_err(storage)?
                .next_back()
                .transpose()
                .map_err(storage)?
                .map_or(0, |(key, _)| key.value().1);
            let sequence = last + 1;
            outcomes
                .insert((insurer, sequence), json.as_slice())
                .map_err(storage)?;
            let mut latest = tx.open_table(LATEST).map_err(storage)?;
            let key = latest_key(insurer, outcome.nullifier);
            let current = latest
                .get(key.as_slice())
                .map_err(storage)?
                .map(|s| s.value());
            let settled = match current {
                Some(current) => {
                    let json = outcomes
                        .get((insurer, current))
                        .map_err(storage)?
                        .ok_or_else(|| {
                            RegistryError::Corrupt("a claim's status has no outcome".into())
                        })?;
                    let current: Outcome = decode(json.value())?;
                    matches!(current.status, Status::Settled { .. })
                }
                None => false,
            };
            if !(settled && matches!(outcome.status, Status::Refused { .. })) {
                latest.insert(key.as_slice(), sequence).map_err(storage)?;
            }
        }
        tx.commit().map_err(storage)
    }

    /// The latest outcome at `insurer` of the claim with this nullifier.
    pub fn outcome(&self, insurer: u32, nullifier: Fr) -> Result<Option<Outcome>, RegistryError> {
        let tx = self.db.begin_read().map_err(storage)?;
        let latest = tx.open_table(LATEST).map_err(storage)?;
        let Some(sequence) = latest
            .get(latest_key(insurer, nullifier).as_slice())
            .map_err(storage)?
        else {
            return Ok(None);
        };
        let outcomes = tx.open_table(OUTCOMES).map_err(storage)?;
        let json = outcomes
            .get((insurer, sequence.value()))
            .map_err(storage)?
            .ok_or_else(|| RegistryError::Corrupt("a claim's status has no outcome".into()))?;
        decode(json.value()).map(Some)
    }

    /// `insurer`'s report: its `limit` latest settlements and refusals, and its totals per
    /// day over every outcome.
    pub fn report(&self, insurer: u32, limit: usize) -> Result<Report, RegistryError> {
        let tx = self.db.begin_read().map_err(storage)?;
        let outcomes = tx.open_table(OUTCOMES).map_err(storage)?;
        let mut report = Report {
            settled: Vec::new(),
            refused: Vec::new(),
            days: Vec::new(),
        };
        let mut days: BTreeMap<Day, DayTotals> = BTreeMap::new();
        let range = outcomes
            .range((insurer, 0)..=(insurer, u64::MAX))
            .map_err(storage)?;
        for entry in range.rev() {
            let outcome: Outcome = decode(entry.map_err(storage)?.1.value())?;
            let day = (outcome.time_ms / 86_400_000) as Day;
            let totals = days.entry(day).or_insert_with(|| DayTotals {
                day: date::format(day),
                settled: 0,
                amount: 0,
                refused: 0,
            });
            let latest = match outcome.status {
                Status::Settled { .. } => {
                    totals.settled += 1;
                    totals.amount += outcome.claim_amount;
                    &mut report.settled
                }
                Status::Refused { .. } => {
                    totals.refused += 1;
                    &mut report.refused
                }
            };
            if latest.len() < limit {
                latest.push(outcome);
            }
        }
        report.days = days.into_values().collect();
        Ok(report)
    }
}
