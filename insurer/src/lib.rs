//! An insurer's own records, kept on its node and never on the ledger.
//!
//! - **Enrolments**: the insurer's policyholders. Each holds a `claimant_tag` (the patient's
//!   pseudonym at this insurer, `Poseidon(CLAIMANT, sk, insurer_id)`, which the patient gives
//!   at enrolment), the `policy_hash` of the policy the insurer issued for it (the insurer
//!   draws the salt: [`Registry::enroll`] answers the policy file to hand to the patient), the
//!   policy's terms and period, the last day a claim under it is accepted, and the payout
//!   reference: where the insurer pays, so a copied proof pays no one else.
//! - **The insurer rule** ([`Registry::check`]): a claim is settled only if its
//!   `(claimant_tag, policy_hash)` is enrolled here, not revoked and not expired. A refusal
//!   ([`Refusal`]) says what the patient can do about it.
//! - **Outcomes**: every claim this insurer settled or refused, by nullifier, for its
//!   patients (a claim's status) and its staff ([`Registry::report`]).
//!
//! One redb file; every change is its own transaction committed with fsync before the call
//! returns, so an acknowledged enrolment survives a crash of the node.

mod record;

pub use record::{DayTotals, Outcome, Report, Status};

use ark_bn254::Fr;
use ark_std::UniformRand;
use rand::{CryptoRng, RngCore};
use redb::{
    Database, DatabaseError, Durability, ReadableTable, ReadableTableMetadata, TableDefinition,
};
use serde::{Deserialize, Serialize};
use std::{
    path::{Path, PathBuf},
    time::{SystemTime, UNIX_EPOCH},
};
use zkclaim_circuits::{
    date::{self, Day},
    field,
    policy::{policy_hash, Policy},
};

/// Claims under a policy are accepted this many days after its period ends, unless the
/// enrolment says otherwise.
pub const CLAIMS_WINDOW_DAYS: Day = 90;
/// The longest payout reference, in bytes.
pub const PAYOUT_REF_MAX: usize = 128;

/// `claimant_tag ‖ insurer_id ‖ policy_hash` (32 + 4 + 32 bytes) → enrolment JSON: a tag's
/// enrolments, at every insurer of this registry, are one range.
const ENROLMENTS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("enrolments");

/// The milliseconds since 1970-01-01 UTC.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Today, in days since 1970-01-01 UTC.
pub fn today() -> Day {
    (now_ms() / 86_400_000) as Day
}

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(
        "the registry {} is open in another process (a node serving this data folder?): \
         act through that node",
        path.display()
    )]
    InUse { path: PathBuf },
    #[error("the registry's storage failed: {0}")]
    Storage(String),
    #[error("a registry record is unreadable: {0}")]
    Corrupt(String),
    /// An enrolment's terms or payout reference are not acceptable: why.
    #[error("{0}")]
    Invalid(String),
    #[error("no active enrolment of this claimant tag matches at insurer {insurer}")]
    NoEnrolment { insurer: u32 },
    /// The insurer rule refuses the claim.
    #[error(transparent)]
    Refused(#[from] Refusal),
}

fn storage(e: impl Into<redb::Error>) -> RegistryError {
    RegistryError::Storage(e.into().to_string())
}

/// Why the insurer rule refuses a claim; each says what the patient can do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error(
        "this claimant tag is not enrolled at insurer {insurer}: enrol with the insurer, then \
         prove the claim under the policy file it issues"
    )]
    NotEnrolled { insurer: u32 },
    #[error(
        "this claimant tag is enrolled at insurer {elsewhere}, not at insurer {insurer}: submit \
         the claim to insurer {elsewhere}"
    )]
    EnrolledElsewhere { insurer: u32, elsewhere: u32 },
    #[error(
        "the claim's policy is not one insurer {insurer} issued to this claimant: prove the \
         claim again under the policy file the insurer issued"
    )]
    UnknownPolicy { insurer: u32 },
    #[error("this enrolment was revoked on {on}: ask the insurer")]
    Revoked { on: String },
    #[error("the policy accepted claims until {until}: it takes no more")]
    Expired { until: String },
}

impl Refusal {
    /// The stable code a client program can act on.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::NotEnrolled { .. } => "not_enrolled",
            Refusal::EnrolledElsewhere { .. } => "enrolled_elsewhere",
            Refusal::UnknownPolicy { .. } => "unknown_policy",
            Refusal::Revoked { .. } => "enrolment_revoked",
            Refusal::Expired { .. } => "policy_expired",
        }
    }
}

/// A policy's terms: the policy file without its salt, which the registry draws.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Terms {
    #[cfg_attr(feature = "openapi", schema(maximum = 4294967295_u64))]
    pub insurer_id: u32,
    #[cfg_attr(feature = "openapi", schema(value_type = zkclaim_circuits::schema::Date))]
    #[serde(with = "date::serde_day")]
    pub period_start: Day,
    #[cfg_attr(feature = "openapi", schema(value_type = zkclaim_circuits::schema::Date))]
    #[serde(with = "date::serde_day")]
    pub period_end: Day,
    /// Fen, below 2^44.
    #[cfg_attr(feature = "openapi", schema(maximum = 17592186044415_u64))]
    pub deductible: u64,
    /// Basis points, 0..=10000.
    #[cfg_attr(feature = "openapi", schema(maximum = 10000))]
    pub rate_bp: u64,
    /// Fen, below 2^44.
    #[cfg_attr(feature = "openapi", schema(maximum = 17592186044415_u64))]
    pub cap: u64,
    /// Bit c set: category c is covered.
    #[cfg_attr(feature = "openapi", schema(maximum = 65535))]
    pub category_mask: u16,
}

impl std::fmt::Debug for Terms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // As `Policy`'s: the terms are the insurer's business.
        f.debug_struct("Terms")
            .field("insurer_id", &self.insurer_id)
            .finish_non_exhaustive()
    }
}

impl Terms {
    /// The policy with these terms and `salt`.
    pub fn policy(&self, salt: Fr) -> Policy {
        Policy {
            salt,
            insurer_id: self.insurer_id,
            period_start: self.period_start,
            period_end: self.period_end,
            deductible: self.deductible,
            rate_bp: self.rate_bp,
            cap: self.cap,
            category_mask: self.category_mask,
        }
    }
}

/// A request to enrol a policyholder: `{"claimant_tag", "terms", "claims_until"?,
/// "payout_ref"}`.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Application {
    /// The patient's tag at this insurer, from the patient.
    #[cfg_attr(feature = "openapi", schema(value_type = zkclaim_circuits::schema::Field))]
    #[serde(with = "field::serde_fr")]
    pub claimant_tag: Fr,
    pub terms: Terms,
    /// The last day a claim under the policy is accepted [default: 90 days after
    /// `period_end`]; not before `period_end`.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<zkclaim_circuits::schema::Date>))]
    #[serde(
        default,
        with = "optional_day",
        skip_serializing_if = "Option::is_none"
    )]
    pub claims_until: Option<Day>,
    /// Where the insurer pays this policyholder's claims (an account reference), 1 to 128
    /// bytes without control characters.
    pub payout_ref: String,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("terms", &self.terms)
            .finish_non_exhaustive()
    }
}

/// A policyholder on record.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Enrolment {
    #[cfg_attr(feature = "openapi", schema(value_type = zkclaim_circuits::schema::Field))]
    #[serde(with = "field::serde_fr")]
    pub claimant_tag: Fr,
    #[cfg_attr(feature = "openapi", schema(value_type = zkclaim_circuits::schema::Field))]
    #[serde(with = "field::serde_fr")]
    pub policy_hash: Fr,
    pub terms: Terms,
    #[cfg_attr(feature = "openapi", schema(value_type = zkclaim_circuits::schema::Date))]
    #[serde(with = "date::serde_day")]
    pub claims_until: Day,
    pub payout_ref: String,
    /// Its place in the registry's order of enrolments (0 for the first): assigned in
    /// the transaction that records it, so two enrolments in the same millisecond keep
    /// the order in which they were made.
    #[serde(default)]
    pub number: u64,
    /// When it was enrolled, in milliseconds since 1970-01-01 UTC.
    pub enrolled_ms: u64,
    /// When it was revoked, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_ms: Option<u64>,
}

impl std::fmt::Debug for Enrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The payout reference is the policyholder's account: not for logs.
        f.debug_struct("Enrolment")
            .field("claimant_tag", &field::format(&self.claimant_tag))
            .field("policy_hash", &field::format(&self.policy_hash))
            .field("insurer_id", &self.terms.insurer_id)
            .field("revoked", &self.revoked_ms.is_some())
            .finish_non_exhaustive()
    }
}

impl Enrolment {
    fn key(&self) -> [u8; 68] {
        key(self.claimant_tag, self.terms.insurer_id, self.policy_hash)
    }

    /// Whether the insurer rule lets a claim under this enrolment settle `today`.
    fn admits(&self, today: Day) -> Result<(), Refusal> {
        if let Some(ms) = self.revoked_ms {
            return Err(Refusal::Revoked {
                on: date::format((ms / 86_400_000) as Day),
            });
        }
        if today > self.claims_until {
            return Err(Refusal::Expired {
                until: date::format(self.claims_until),
            });
        }
        Ok(())
    }
}

fn key(tag: Fr, insurer: u32, hash: Fr) -> [u8; 68] {
    let mut key = [0; 68];
    key[..32].copy_from_slice(&field::to_be_bytes(&tag));
    key[32..36].copy_from_slice(&insurer.to_be_bytes());
    key[36..].copy_from_slice(&field::to_be_bytes(&hash));
    key
}

/// `Option<Day>` as an optional `"YYYY-MM-DD"`.
mod optional_day {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(day: &Option<Day>, s: S) -> Result<S::Ok, S::Error> {
        match day {
            Some(day) => date::serde_day::serialize(day, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Day>, D::Error> {
        #[derive(Deserialize)]
        struct Wrapped(#[serde(with = "date::serde_day")] Day);
        Ok(Option::<Wrapped>::deserialize(d)?.map(|Wrapped(day)| day))
    }
}

/// The insurer's records, in one redb file. One process at a time.
pub struct Registry {
    db: Database,
}

impl Registry {
    /// Opens the registry at `path`, creating it (and its folder) if absent.
    pub fn open(path: &Path) -> Result<Self, RegistryError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| RegistryError::Storage(format!("{}: {e}", dir.display())))?;
        }
        let db = Database::create(path).map_err(|e| match e {
            DatabaseError::DatabaseAlreadyOpen => RegistryError::InUse { path: path.into() },
            e => storage(e),
        })?;
        let tx = db.begin_write().map_err(storage)?;
        tx.open_table(ENROLMENTS).map_err(storage)?;
        record::create_tables(&tx)?;
        tx.commit().map_err(storage)?;
        Ok(Self { db })
    }

    /// Enrols a policyholder: draws the policy's salt, records the enrolment durably, and
    /// answers it with the policy file to hand to the patient.
    pub fn enroll<R: RngCore + CryptoRng>(
        &self,
        application: Application,
        rng: &mut R,
    ) -> Result<(Enrolment, Policy), RegistryError> {
        let Application {
            claimant_tag,
            terms,
            claims_until,
            payout_ref,
        } = application;
        let invalid = |why: &str| Err(RegistryError::Invalid(why.to_owned()));
        if payout_ref.is_empty() || payout_ref.len() > PAYOUT_REF_MAX {
            return invalid("payout_ref must be 1 to 128 bytes");
        }
        if payout_ref.chars().any(char::is_control) {
            return invalid("payout_ref must not hold control characters");
        }
        let policy = terms.policy(Fr::rand(rng));
        policy
            .validate()
            .map_err(|e| RegistryError::Invalid(format!("terms: {e}")))?;
        let claims_until = claims_until.unwrap_or(terms.period_end + CLAIMS_WINDOW_DAYS);
        if claims_until < terms.period_end {
            return invalid("claims_until is before period_end");
        }
        let mut enrolment = Enrolment {
            claimant_tag,
            policy_hash: policy_hash(&policy),
            terms,
            claims_until,
            payout_ref,
            number: 0,
            enrolled_ms: now_ms(),
            revoked_ms: None,
        };
        self.write(|table| {
            // Enrolments are never deleted (a revocation updates one), so the table's
            // length is the next number.
            enrolment.number = table.len().map_err(storage)?;
            insert(table, &enrolment)
        })?;
        Ok((enrolment, policy))
    }

    /// Records changed enrolments (their numbers kept).
    fn put(&self, enrolments: &[Enrolment]) -> Result<(), RegistryError> {
        self.write(|table| enrolments.iter().try_for_each(|e| insert(table, e)))
    }

    /// Runs `f` on the enrolments table in one durable write transaction.
    fn write(
        &self,
        f: impl FnOnce(&mut redb::Table<&[u8], &[u8]>) -> Result<(), RegistryError>,
    ) -> Result<(), RegistryError> {
        let mut tx = self.db.begin_write().map_err(storage)?;
        tx.set_durability(Durability::Immediate);
        f(&mut tx.open_table(ENROLMENTS).map_err(storage)?)?;
        tx.commit().map_err(storage)
    }

    /// Every enrolment of `claimant_tag`, at every insurer of this registry.
    fn of_tag(&self, claimant_tag: Fr) -> Result<Vec<Enrolment>, RegistryError> {
        let tx = self.db.begin_read().map_err(storage)?;
        let table = tx.open_table(ENROLMENTS).map_err(storage)?;
        let from = key(claimant_tag, 0, Fr::from(0u8));
        let mut to = [0xff; 68];
        to[..32].copy_from_slice(&from[..32]);
        let range = table
            .range(from.as_slice()..=to.as_slice())
            .map_err(storage)?;
        range
            .map(|entry| decode(entry.map_err(storage)?.1.value()))
            .collect()
    }

    /// The insurer's enrolments (revoked ones included), oldest first.
    pub fn list(&self, insurer: u32) -> Result<Vec<Enrolment>, RegistryError> {
        let tx = self.db.begin_read().map_err(storage)?;
        let table = tx.open_table(ENROLMENTS).map_err(storage)?;
        let mut all = Vec::new();
        for entry in table.iter().map_err(storage)? {
            let (key, value) = entry.map_err(storage)?;
            if key.value()[32..36] == insurer.to_be_bytes() {
                all.push(decode(value.value())?);
            }
        }
        all.sort_by_key(|e: &Enrolment| e.number);
        Ok(all)
    }

    /// Revokes the insurer's active enrolments of `claimant_tag` (only the one of
    /// `policy_hash` when given); answers those it revoked.
    pub fn revoke(
        &self,
        insurer: u32,
        claimant_tag: Fr,
        policy_hash: Option<Fr>,
    ) -> Result<Vec<Enrolment>, RegistryError> {
        let now = now_ms();
        let revoked: Vec<Enrolment> = self
            .of_tag(claimant_tag)?
            .into_iter()
            .filter(|e| e.terms.insurer_id == insurer && e.revoked_ms.is_none())
            .filter(|e| policy_hash.is_none_or(|h| h == e.policy_hash))
            .map(|e| Enrolment {
                revoked_ms: Some(now),
                ..e
            })
            .collect();
        if revoked.is_empty() {
            return Err(RegistryError::NoEnrolment { insurer });
        }
        self.put(&revoked)?;
        Ok(revoked)
    }

    /// The insurer rule: the enrolment under which `insurer` may settle a claim with these
    /// public values `today`, or why it may not.
    pub fn check(
        &self,
        insurer: u32,
        claimant_tag: Fr,
        policy_hash: Fr,
        today: Day,
    ) -> Result<Enrolment, RegistryError> {
        let of_tag = self.of_tag(claimant_tag)?;
        if let Some(enrolment) = of_tag
            .iter()
            .find(|e| e.terms.insurer_id == insurer && e.policy_hash == policy_hash)
        {
            enrolment.admits(today)?;
            return Ok(enrolment.clone());
        }
        let refusal = if of_tag.iter().any(|e| e.terms.insurer_id == insurer) {
            Refusal::UnknownPolicy { insurer }
        } else if let Some(elsewhere) = of_tag.first() {
            Refusal::EnrolledElsewhere {
                insurer,
                elsewhere: elsewhere.terms.insurer_id,
            }
        } else {
            Refusal::NotEnrolled { insurer }
        };
        Err(refusal.into())
    }
}

fn insert(table: &mut redb::Table<&[u8], &[u8]>, e: &Enrolment) -> Result<(), RegistryError> {
    let json = serde_json::to_vec(e).expect("enrolments serialize");
    table
        .insert(e.key().as_slice(), json.as_slice())
        .map_err(storage)?;
    Ok(())
}

fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, RegistryError> {
    serde_json::from_slice(bytes).map_err(|e| RegistryError::Corrupt(e.to_string()))
}

#[cfg(test)]
mod tests;
