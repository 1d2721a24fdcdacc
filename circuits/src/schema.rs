//! OpenAPI schemas (feature `openapi`) of the two wire encodings that have no Rust type of
//! their own, a field element and a date, exact to the rules of [`crate::field`] and
//! [`crate::date`]. The types that use them derive theirs with `value_type = Field` or `Date`.

use crate::Fr;
use ark_ff::{BigInteger, PrimeField};
use utoipa::openapi::{
    schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type},
    RefOr, Schema,
};

/// `"0x"` + 64 hex digits whose value is below r: [`crate::field::parse`]'s rule.
pub struct Field;

impl utoipa::PartialSchema for Field {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(field_pattern()))
            .description(Some(
                "A BN254 scalar: \"0x\" and 64 hex digits, big-endian, canonical (below the \
                 modulus r, which the pattern spells out digit by digit)",
            ))
            .examples(["0x0000000000000000000000000000000000000000000000000000000000000005"])
            .into()
    }
}

impl utoipa::ToSchema for Field {}

/// `"YYYY-MM-DD"` from 1970-01-01 on: [`crate::date::parse`]'s rule (a 4-digit year, a real
/// calendar day, not before the epoch).
pub struct Date;

impl utoipa::PartialSchema for Date {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
            .pattern(Some(
                "^(19[7-9][0-9]|[2-9][0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$",
            ))
            .description(Some(
                "A calendar date (UTC), 1970-01-01 to 9999-12-31; days since 1970-01-01 inside \
                 the statement",
            ))
            .examples(["2026-11-20"])
            .into()
    }
}

impl utoipa::ToSchema for Date {}

/// A regular expression for the 64-digit big-endian hex strings below r: one alternative per
/// digit of r but 0, for the strings that spell r up to that digit and are smaller there.
/// Case-insensitive, as the parser is; flat, as nested groups 64 deep exceed some regex
/// engines' limits.
fn field_pattern() -> String {
    let r = hex::encode(Fr::MODULUS.to_bytes_be());
    let hex = |d: u32| char::from_digit(d, 16).expect("a hex digit");
    // The digit c itself, either case.
    let same = |c: char| match c {
        c if c.is_ascii_digit() => c.to_string(),
        c => format!("[{c}{}]", c.to_ascii_uppercase()),
    };
    // The digits below d > 0, either case.
    let below = |d: u32| {
        let range = |low: char, high: char| match high {
            _ if high == low => low.to_string(),
            _ => format!("{low}-{high}"),
        };
        let mut class = range('0', hex((d - 1).min(9)));
        if d > 10 {
            let top = hex(d - 1);
            class += &range('a', top);
            class += &range('A', top.to_ascii_uppercase());
        }
        match class.len() {
            1 => class,
            _ => format!("[{class}]"),
        }
    };
    let alternatives: Vec<String> = r
        .char_indices()
        .filter_map(|(i, c)| {
            let d = c.to_digit(16).expect("hex");
            let prefix: String = r[..i].chars().map(same).collect();
            let free = r.len() - 1 - i;
            let tail = match free {
                0 => String::new(),
                n => format!("[0-9a-fA-F]{{{n}}}"),
            };
            (d > 0).then(|| format!("{prefix}{}{tail}", below(d)))
        })
        .collect();
    format!("^0x(?:{})$", alternatives.join("|"))
}

#[cfg(test)]
mod tests {
    use crate::{
        claim::PublicInputs,
        invoice::{Item, AMOUNT_BITS, CATEGORY_BITS},
        policy::{Policy, MONEY_BITS, RATE_ONE},
    };
    use utoipa::PartialSchema;

    fn maximum(schema: utoipa::openapi::RefOr<utoipa::openapi::Schema>, property: &str) -> u64 {
        let schema = serde_json::to_value(schema).unwrap();
        schema["properties"][property]["maximum"]
            .as_u64()
            .unwrap_or_else(|| panic!("{property} has no maximum: {schema}"))
    }

    #[test]
    fn the_schemas_bounds_are_the_statements() {
        let below = |bits: usize| (1u64 << bits) - 1;
        assert_eq!(maximum(Item::schema(), "category"), below(CATEGORY_BITS));
        assert_eq!(maximum(Item::schema(), "amount"), below(AMOUNT_BITS));
        assert_eq!(maximum(Policy::schema(), "rate_bp"), RATE_ONE);
        for money in ["deductible", "cap"] {
            assert_eq!(maximum(Policy::schema(), money), below(MONEY_BITS));
        }
        assert_eq!(
            maximum(Policy::schema(), "category_mask"),
            u64::from(u16::MAX)
        );
        let claim_amount = maximum(PublicInputs::schema(), "claim_amount");
        assert_eq!(claim_amount, below(MONEY_BITS));
    }
}
