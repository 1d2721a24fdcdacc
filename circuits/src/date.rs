//! Calendar dates on the wire (`"YYYY-MM-DD"`, UTC) and in the statement (days since
//! 1970-01-01, a u32), so that policy periods compare as plain integers in the circuit.

use chrono::NaiveDate;

/// Days since 1970-01-01.
pub type Day = u32;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    #[error("date must be YYYY-MM-DD, got {0:?}")]
    Malformed(String),
    #[error("date {0} is before 1970-01-01")]
    BeforeEpoch(String),
}

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date")
}

pub fn parse(s: &str) -> Result<Day, DateError> {
    let d = NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .filter(|_| s.len() == 10)
        .ok_or_else(|| DateError::Malformed(s.to_string()))?;
    let days = d.signed_duration_since(epoch()).num_days();
    Day::try_from(days).map_err(|_| DateError::BeforeEpoch(s.to_string()))
}

pub fn format(day: Day) -> String {
    (epoch() + chrono::Days::new(day.into()))
        .format("%Y-%m-%d")
        .to_string()
}

/// `serde(with = "zkclaim_circuits::date::serde_day")`.
pub mod serde_day {
    use super::*;
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(day: &Day, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(*day))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Day, D::Error> {
        parse(&String::deserialize(d)?).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_known_days() {
        assert_eq!(parse("1970-01-01"), Ok(0));
        assert_eq!(parse("2026-11-20"), Ok(20_777));
        assert_eq!(format(20_777), "2026-11-20");
        assert_eq!(parse("2024-02-29").map(format), Ok("2024-02-29".into()));
    }

    #[test]
    fn rejects_bad_dates() {
        assert!(matches!(parse("2026-02-30"), Err(DateError::Malformed(_))));
        assert!(matches!(parse("2026-1-5"), Err(DateError::Malformed(_))));
        assert!(matches!(parse("20261120"), Err(DateError::Malformed(_))));
        assert!(matches!(
            parse("1969-12-31"),
            Err(DateError::BeforeEpoch(_))
        ));
    }
}
