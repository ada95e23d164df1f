//! One way to hold a body or a query to its documented limits.
//!
//! A body or query struct derives [`Validate`] (from `echelon-macros`) beside utoipa's
//! `ToSchema`/`IntoParams`. The derive reads the very attributes the OpenAPI schema is made
//! from (`#[schema(max_length = 500)]`, `#[param(minimum = 1)]`), so a limit is written once
//! and the document and the check cannot disagree. Lengths are counted in characters, as JSON
//! Schema counts them. Every string, documented limit or not, is refused when it holds a NUL
//! character, which PostgreSQL cannot store.
//!
//! `http::Json` and `http::MaybeJson` check every body they parse (422 naming each field at
//! fault); `http::Query` checks a query (400 outside its schema, 422 for a NUL). Rules of a
//! body that are not limits (a code's form, a reason that is only spaces, a date after another)
//! go in the one function the struct names, `#[validate(rules = path)]`, run in the same pass;
//! rules that need the database or the clock stay in the domain's service.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use rust_decimal::Decimal;

use crate::error::{AppError, FieldError, Problem};

pub use echelon_macros::Validate;

/// A field's documented limits; the derive builds one per field from its attributes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Limits {
    /// Characters of a string.
    pub min_length: Option<usize>,
    pub max_length: Option<usize>,
    /// Items of a list.
    pub min_items: Option<usize>,
    pub max_items: Option<usize>,
    /// Bounds of a number.
    pub minimum: Option<f64>,
    pub maximum: Option<f64>,
}

impl Limits {
    pub const NONE: Limits = Limits {
        min_length: None,
        max_length: None,
        min_items: None,
        max_items: None,
        minimum: None,
        maximum: None,
    };
}

/// A value held to its limits. `at` is the field's path in the body (`lines[2].qty`), in the
/// form serde's own errors name fields.
pub trait Validate {
    fn check(&self, at: &str, limits: &Limits, errors: &mut Vec<FieldError>);

    /// Every field error of the whole value, the first of each field (a code too long is not
    /// also told that it is not a code).
    fn errors(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        self.check("", &Limits::NONE, &mut errors);
        let mut seen = std::collections::HashSet::new();
        errors.retain(|e| seen.insert(e.field.clone()));
        errors
    }
}

/// The days a report reads: a date outside them is a mistake (a year 0 would print as
/// `-0001-12-03`, a week of year 9999 end in year 10000, and a stored timestamp of year 10000
/// sort before every other as text), said naming the field.
pub fn date_out_of_range(d: NaiveDate) -> Option<String> {
    use chrono::Datelike;
    (!(1970..=2999).contains(&d.year())).then(|| "must be a date in the years 1970-2999".to_string())
}

/// The earliest day a report reads.
pub fn first_report_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("a valid date")
}

/// A report's `from` and `to` as given: each a day a report reads, `from` not after `to`; a
/// 422 naming the field otherwise.
pub fn date_range(from: Option<NaiveDate>, to: Option<NaiveDate>) -> Result<(), AppError> {
    for (field, date) in [("from", from), ("to", to)] {
        if let Some(fault) = date.and_then(date_out_of_range) {
            return Err(AppError::invalid_fields(vec![FieldError::new(field, fault)]));
        }
    }
    if let (Some(f), Some(t)) = (from, to) {
        if f > t {
            return Err(AppError::invalid_fields(vec![FieldError::new("from", "must not be after `to`")]));
        }
    }
    Ok(())
}

/// The path of a field inside `at`.
pub fn join(at: &str, field: &str) -> String {
    if at.is_empty() {
        field.to_string()
    } else {
        format!("{at}.{field}")
    }
}

/// A rule beside the limits: a text that is sent must say something (not only spaces).
pub fn not_blank(errors: &mut Vec<FieldError>, field: &str, value: Option<&str>) {
    if value.is_some_and(|v| v.chars().all(invisible)) {
        errors.push(FieldError::new(field, "must not be blank"));
    }
}

/// A character that shows nothing: white space, a control character, or an invisible format
/// character (zero-width spaces and joiners, direction marks and overrides, the byte-order
/// mark). A text made of these alone reads as empty wherever it is shown.
pub fn invisible(c: char) -> bool {
    c.is_whitespace()
        || c.is_control()
        || matches!(c, '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206F}' | '\u{FEFF}')
}

/// A character with no place in a one-line text (a name, a city, an address, a URL): a control
/// character (a tab, a line break, a bell) or an invisible format character (a zero-width space,
/// a direction override), which would break the lists that show it or hide what it says.
pub fn hidden(c: char) -> bool {
    c.is_control() || (invisible(c) && !c.is_whitespace())
}

/// A rule beside the limits: a one-line text that is sent holds no [`hidden`] character.
pub fn one_line(errors: &mut Vec<FieldError>, field: &str, value: Option<&str>) {
    if value.is_some_and(|v| v.chars().any(hidden)) {
        errors.push(FieldError::new(
            field,
            "must be one line of visible text: no control characters (tabs, line breaks) or invisible ones (zero-width, direction marks)",
        ));
    }
}

/// 422 naming every field at fault, if any.
pub fn fail_if_any(errors: Vec<FieldError>) -> Result<(), AppError> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::invalid_fields(errors))
    }
}

/// A body held to its limits: 422 naming every field at fault.
pub fn body<T: Validate>(value: &T) -> Result<(), AppError> {
    fail_if_any(value.errors())
}

/// A query held to its limits, naming every parameter at fault. A query outside what its
/// documented schema allows is malformed, 400, as is one that does not parse at all (a word
/// where a number belongs, an unknown parameter); a query the schema allows that holds a NUL
/// breaks a rule, 422 (as a NUL in a body does).
pub fn query<T: Validate>(value: &T) -> Result<(), AppError> {
    let errors = value.errors();
    if errors.iter().all(|e| e.message == NUL) {
        return fail_if_any(errors);
    }
    Err(AppError::field_problems(Problem::InvalidQuery, "invalid query parameters: ", errors))
}

/// The message of a string that holds a NUL character.
const NUL: &str = "must not contain NUL characters";

impl Validate for String {
    fn check(&self, at: &str, limits: &Limits, errors: &mut Vec<FieldError>) {
        self.as_str().check(at, limits, errors)
    }
}

impl Validate for str {
    fn check(&self, at: &str, limits: &Limits, errors: &mut Vec<FieldError>) {
        if self.contains('\0') {
            errors.push(FieldError::new(at, NUL));
            return;
        }
        let n = self.chars().count();
        match (limits.min_length, limits.max_length) {
            (Some(min), _) if n < min => errors.push(FieldError::new(at, too_short(min, limits.max_length))),
            (_, Some(max)) if n > max => {
                errors.push(FieldError::new(at, format!("at most {max} characters")))
            }
            _ => {}
        }
    }
}

fn too_short(min: usize, max: Option<usize>) -> String {
    match (min, max) {
        (1, _) => "must not be empty".to_string(),
        (min, Some(max)) => format!("{min} to {max} characters"),
        (min, None) => format!("at least {min} characters"),
    }
}

impl<T: Validate> Validate for Option<T> {
    fn check(&self, at: &str, limits: &Limits, errors: &mut Vec<FieldError>) {
        if let Some(v) = self {
            v.check(at, limits, errors)
        }
    }
}

impl<T: Validate> Validate for Box<T> {
    fn check(&self, at: &str, limits: &Limits, errors: &mut Vec<FieldError>) {
        (**self).check(at, limits, errors)
    }
}

impl<T: Validate> Validate for Vec<T> {
    fn check(&self, at: &str, limits: &Limits, errors: &mut Vec<FieldError>) {
        let n = self.len();
        let out_of_range =
            limits.min_items.is_some_and(|min| n < min) || limits.max_items.is_some_and(|max| n > max);
        if out_of_range {
            let message = match (limits.min_items, limits.max_items) {
                (Some(min), Some(max)) => format!("give {min} to {max} items"),
                (Some(min), None) => format!("give at least {min} items"),
                (None, Some(max)) => format!("give at most {max} items"),
                (None, None) => unreachable!("a count out of range has a bound"),
            };
            errors.push(FieldError::new(at, message));
            return;
        }
        // an item's own limits are the field's string and number limits
        let item = Limits { min_items: None, max_items: None, ..*limits };
        for (i, v) in self.iter().enumerate() {
            v.check(&format!("{at}[{i}]"), &item, errors);
        }
    }
}

/// Numbers: `minimum` and `maximum`, inclusive.
macro_rules! numbers {
    ($($t:ty),+) => {$(
        impl Validate for $t {
            fn check(&self, at: &str, limits: &Limits, errors: &mut Vec<FieldError>) {
                in_range(*self as f64, at, limits, errors)
            }
        }
    )+};
}
numbers!(i16, i32, i64, u8, u16, u32, u64, usize, f64);

fn in_range(v: f64, at: &str, limits: &Limits, errors: &mut Vec<FieldError>) {
    let below = limits.minimum.is_some_and(|min| v < min);
    let above = limits.maximum.is_some_and(|max| v > max);
    if !(below || above) {
        return;
    }
    let message = match (limits.minimum, limits.maximum) {
        (Some(min), Some(max)) => format!("between {min} and {max}"),
        (Some(min), None) => format!("at least {min}"),
        (None, Some(max)) => format!("at most {max}"),
        (None, None) => unreachable!("a number out of range has a bound"),
    };
    errors.push(FieldError::new(at, message));
}

impl Validate for Decimal {
    fn check(&self, at: &str, limits: &Limits, errors: &mut Vec<FieldError>) {
        use rust_decimal::prelude::ToPrimitive;
        if limits.minimum.is_some() || limits.maximum.is_some() {
            in_range(self.to_f64().unwrap_or(f64::NAN), at, limits, errors)
        }
    }
}

/// Values whose parse is their whole check.
macro_rules! parsed {
    ($($t:ty),+) => {$(
        impl Validate for $t {
            fn check(&self, _: &str, _: &Limits, _: &mut Vec<FieldError>) {}
        }
    )+};
}
parsed!(bool, NaiveDate, NaiveDateTime, DateTime<Utc>);

/// Money is checked by its own parse (two decimal places, in range).
impl Validate for crate::money::Money {
    fn check(&self, _: &str, _: &Limits, _: &mut Vec<FieldError>) {}
}

/// A map from names (a part code to a count): every key held to NUL, every value to the limits.
impl<V: Validate> Validate for std::collections::BTreeMap<String, V> {
    fn check(&self, at: &str, limits: &Limits, errors: &mut Vec<FieldError>) {
        for (k, v) in self {
            if k.contains('\0') {
                errors.push(FieldError::new(at, "a key must not contain NUL characters"));
            }
            v.check(&join(at, k), limits, errors)
        }
    }
}

/// Free JSON (a proposal's edits, a claim's details): every string in it is held to NUL.
impl Validate for serde_json::Value {
    fn check(&self, at: &str, _: &Limits, errors: &mut Vec<FieldError>) {
        match self {
            serde_json::Value::String(s) => s.as_str().check(at, &Limits::NONE, errors),
            serde_json::Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    v.check(&format!("{at}[{i}]"), &Limits::NONE, errors)
                }
            }
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    if k.contains('\0') {
                        errors.push(FieldError::new(at, "a key must not contain NUL characters"));
                    }
                    v.check(&join(at, k), &Limits::NONE, errors)
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_of_invisible_characters_alone_is_blank_and_one_visible_character_is_not() {
        let blank = |v: &str| {
            let mut errors = Vec::new();
            not_blank(&mut errors, "name", Some(v));
            !errors.is_empty()
        };
        for v in ["", "   ", "\u{200B}", "\u{1B}", "\u{202E}\u{200D}", " \u{FEFF}\t", "\u{2060}\u{00AD}"] {
            assert!(blank(v), "{v:?}");
        }
        for v in ["a", " Wang Fang ", "\u{200B}x", "王芳", "\u{202E}abc"] {
            assert!(!blank(v), "{v:?}");
        }
    }

    #[derive(serde::Deserialize, utoipa::ToSchema, Validate)]
    #[allow(dead_code)]
    struct Line {
        #[schema(min_length = 1, max_length = 4)]
        code: String,
        #[schema(minimum = 1, maximum = 1000)]
        qty: i64,
    }

    #[derive(serde::Deserialize, utoipa::ToSchema, Validate)]
    #[allow(dead_code)]
    struct Body {
        #[schema(min_items = 1, max_items = 2)]
        lines: Vec<Line>,
        #[serde(rename = "memo")]
        #[schema(max_length = 3, example = json!("ab, c"), value_type = Option<std::collections::HashMap<String, i64>>)]
        note: Option<String>,
        free: Option<serde_json::Value>,
    }

    fn fields(b: &Body) -> Vec<(String, String)> {
        b.errors().into_iter().map(|e| (e.field, e.message)).collect()
    }

    fn body(json: serde_json::Value) -> Body {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn limits_come_from_the_schema_attributes_and_count_characters() {
        let ok = body(serde_json::json!({"lines": [{"code": "竹竹竹竹", "qty": 1000}], "memo": "一二三"}));
        assert!(fields(&ok).is_empty());
        let bad = body(serde_json::json!({
            "lines": [{"code": "", "qty": 0}, {"code": "abcde", "qty": 1001}],
            "memo": "四五六七",
            "free": {"a": ["x\u{0}"]}
        }));
        assert_eq!(
            fields(&bad),
            vec![
                ("lines[0].code".into(), "must not be empty".into()),
                ("lines[0].qty".into(), "between 1 and 1000".into()),
                ("lines[1].code".into(), "at most 4 characters".into()),
                ("lines[1].qty".into(), "between 1 and 1000".into()),
                ("memo".into(), "at most 3 characters".into()),
                ("free.a[0]".into(), "must not contain NUL characters".into()),
            ]
        );
        let none = body(serde_json::json!({"lines": []}));
        assert_eq!(fields(&none), vec![("lines".into(), "give 1 to 2 items".into())]);
    }

    #[test]
    fn a_nul_is_refused_in_any_string() {
        let b = body(serde_json::json!({"lines": [{"code": "a\u{0}", "qty": 1}]}));
        assert_eq!(fields(&b), vec![("lines[0].code".into(), "must not contain NUL characters".into())]);
    }
}
