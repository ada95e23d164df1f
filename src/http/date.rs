//! Days as the API takes them, in bodies and queries alike: `YYYY-MM-DD` exactly, a day of the
//! calendar. chrono alone would also take a signed extended year (`+002026-12-07`) and spaces
//! around the date, so a date field names one of these as `deserialize_with`.

use chrono::NaiveDate;
use serde::{de::Error, Deserialize, Deserializer};

/// The day `text` names, or why it names none.
pub fn parse(text: &str) -> Result<NaiveDate, String> {
    let b = text.as_bytes();
    let shaped = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| if i == 4 || i == 7 { *c == b'-' } else { c.is_ascii_digit() });
    if !shaped {
        return Err(format!("{text:?} is not a date YYYY-MM-DD"));
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| format!("{text:?} is no day of the calendar"))
}

/// A required day.
pub fn day<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
    parse(&String::deserialize(d)?).map_err(D::Error::custom)
}

/// An optional day (with `#[serde(default)]`): absent or `null` is none.
pub fn opt_day<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
    Option::<String>::deserialize(d)?.map(|t| parse(&t).map_err(D::Error::custom)).transpose()
}

/// A day that a change may clear (with `#[serde(default)]`): absent is `None`, `null` is
/// `Some(None)`, a date `Some(Some(day))`.
pub fn double_day<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<NaiveDate>>, D::Error> {
    opt_day(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_plain_form_of_a_real_day_is_a_date() {
        assert_eq!(parse("2026-12-07"), Ok(NaiveDate::from_ymd_opt(2026, 12, 7).unwrap()));
        for bad in [
            "+002026-12-07",
            " 2026-12-07",
            "2026-12-07 ",
            "2026-12-07\n",
            "2026-2-7",
            "2026-12-07T00:00",
            "２０２６-12-07",
        ] {
            assert!(parse(bad).unwrap_err().contains("not a date"), "{bad:?}");
        }
        assert!(parse("2026-02-30").unwrap_err().contains("no day"));
    }
}
