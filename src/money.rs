//! Money: integer minor units (fen/cents) inside, a decimal string with two places at the API
//! ("1234.50"), never floating point.

use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct Money(pub i64);

impl Money {
    pub const ZERO: Money = Money(0);

    pub fn minor(self) -> i64 {
        self.0
    }

    pub fn to_decimal(self) -> Decimal {
        Decimal::new(self.0, 2)
    }

    /// Parses "12", "12.3", "12.30" or "-12.30", exactly the form the schema's pattern states
    /// (`^-?[0-9]{1,15}(\.[0-9]{1,2})?$`): no exponent ("1e3"), no sign "+", no spaces, no
    /// more than two places.
    pub fn parse(s: &str) -> Result<Money, String> {
        let wrong = || format!("{s:?} is not a decimal amount such as \"12.50\"");
        let digits = s.strip_prefix('-').unwrap_or(s);
        let (whole, places) = match digits.split_once('.') {
            Some((w, p)) => (w, Some(p)),
            None => (digits, None),
        };
        let all_digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(whole) || whole.len() > 15 {
            return Err(wrong());
        }
        match places {
            Some(p) if !all_digits(p) => return Err(wrong()),
            Some(p) if p.len() > 2 => return Err(format!("{s} has more than two decimal places")),
            _ => {}
        }
        let d: Decimal = s.parse().map_err(|_| wrong())?;
        Money::from_decimal(d)
    }

    pub fn from_decimal(d: Decimal) -> Result<Money, String> {
        let d = d.normalize();
        if d.scale() > 2 {
            return Err(format!("{d} has more than two decimal places"));
        }
        let minor = d * Decimal::ONE_HUNDRED;
        i64::try_from(minor).map(Money).map_err(|_| format!("{d} is too large"))
    }

    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_decimal())
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Money, D::Error> {
        let s = String::deserialize(d)?;
        Money::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl PartialSchema for Money {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::String))
            .pattern(Some(r"^-?[0-9]{1,15}(\.[0-9]{1,2})?$"))
            .description(Some("An exact amount in yuan with at most two decimal places, as a string."))
            .examples([serde_json::json!("1280.00")])
            .into()
    }
}

impl ToSchema for Money {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_exact_with_two_places() {
        assert_eq!(Money::parse("12.5").unwrap(), Money(1250));
        assert_eq!(Money::parse("0.10").unwrap(), Money(10));
        assert_eq!(Money(123456).to_string(), "1234.56");
        assert_eq!(Money(100).to_string(), "1.00");
        assert_eq!(Money(-5).to_string(), "-0.05");
        assert!(Money::parse("1.005").is_err());
        assert!(Money::parse("abc").is_err());
        assert!(Money::parse("99999999999999999999999").is_err());
        // only the documented form: no exponent, no plus sign, no spaces, no bare point
        for wrong in ["1e3", "1E3", "+5.00", " 5.00", "5.00 ", "5.", ".5", "-", "", "1_000", "0x10"] {
            assert!(Money::parse(wrong).is_err(), "{wrong:?}");
        }
        assert_eq!(Money::parse("-0.05").unwrap(), Money(-5));
        assert_eq!(Money::parse("007").unwrap(), Money(700));
        assert_eq!(serde_json::to_string(&Money(1)).unwrap(), "\"0.01\"");
    }
}
