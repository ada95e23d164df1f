//! The catalogue's rules as plain functions: lifecycle and interchangeability, which codes to
//! suggest for a wrong one, supersession chains, warranty dates, and the shapes of model codes,
//! unit serials and units of measure. No HTTP, no database.

use std::collections::HashSet;
use std::hash::Hash;

use crate::validate::Validate;
use chrono::{Datelike, Months, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Where a part is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, Validate)]
#[serde(rename_all = "snake_case")]
pub enum Lifecycle {
    Active,
    PhaseOut,
    Obsolete,
}

impl Lifecycle {
    pub const ALL: [Lifecycle; 3] = [Lifecycle::Active, Lifecycle::PhaseOut, Lifecycle::Obsolete];

    pub fn as_str(self) -> &'static str {
        match self {
            Lifecycle::Active => "active",
            Lifecycle::PhaseOut => "phase_out",
            Lifecycle::Obsolete => "obsolete",
        }
    }

    pub fn parse(s: &str) -> Option<Lifecycle> {
        Lifecycle::ALL.into_iter().find(|l| l.as_str() == s)
    }
}

/// How a successor replaces the part it supersedes: `one_way` (the successor fits wherever the
/// old part did, not the other way round) or `two_way` (either fits in place of the other).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, Validate)]
#[serde(rename_all = "snake_case")]
pub enum Interchangeability {
    OneWay,
    TwoWay,
}

impl Interchangeability {
    pub const ALL: [Interchangeability; 2] = [Interchangeability::OneWay, Interchangeability::TwoWay];

    pub fn as_str(self) -> &'static str {
        match self {
            Interchangeability::OneWay => "one_way",
            Interchangeability::TwoWay => "two_way",
        }
    }

    pub fn parse(s: &str) -> Option<Interchangeability> {
        Interchangeability::ALL.into_iter().find(|i| i.as_str() == s)
    }

    /// Along a chain, one one-way link makes the whole replacement one-way.
    pub fn weakest(self, other: Interchangeability) -> Interchangeability {
        if self == Interchangeability::TwoWay && other == Interchangeability::TwoWay {
            Interchangeability::TwoWay
        } else {
            Interchangeability::OneWay
        }
    }
}

crate::db::stored_as_text!(Lifecycle, Interchangeability);

/// Most suggestions offered for a wrong code.
pub const MAX_SUGGESTIONS: usize = 5;
/// Largest edit distance (over letters and digits) at which an existing code is suggested.
pub const MAX_SUGGESTION_DISTANCE: usize = 3;

/// A code as a typist meant it: letters and digits only, upper case (`rf cmp 00417i` and
/// `RF-CMP-00417I` are the same key).
pub fn code_key(s: &str) -> String {
    s.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_uppercase()).collect()
}

/// The existing codes nearest to `input`, best first, at most `MAX_SUGGESTIONS`.
///
/// Ranked by the optimal-string-alignment (restricted Damerau-Levenshtein) distance between
/// the letters and digits of each (one dropped, inserted, wrong or swapped character is
/// distance 1); ties go to the code nearer in the string as typed (dashes included), then to
/// parts still sold (`active` before `phase_out` before `obsolete`), then to code order.
/// Codes further than `MAX_SUGGESTION_DISTANCE` are not offered.
pub fn rank_suggestions<'a>(
    input: &str,
    candidates: impl IntoIterator<Item = (&'a str, Lifecycle)>,
) -> Vec<String> {
    let key = code_key(input);
    let typed = input.trim().to_ascii_uppercase();
    let mut scored: Vec<(usize, usize, usize, &str)> = candidates
        .into_iter()
        .filter_map(|(code, life)| {
            let d = strsim::osa_distance(&key, &code_key(code));
            let rank = Lifecycle::ALL.iter().position(|l| *l == life).unwrap_or(3);
            (d <= MAX_SUGGESTION_DISTANCE).then(|| (d, strsim::osa_distance(&typed, code), rank, code))
        })
        .collect();
    scored.sort_unstable();
    scored.dedup_by(|a, b| a.3 == b.3);
    scored.into_iter().take(MAX_SUGGESTIONS).map(|s| s.3.to_string()).collect()
}

/// Whether one dropped or one inserted character could make the two codes the same string:
/// their letters and digits are equally long and share all but one character in order (their
/// longest common subsequence). A typo of either would then be equally near both, so echelon
/// never issues a code confusable with an existing one, and the intended code of a dropped or
/// added character is always the one nearest.
pub fn confusable(a: &str, b: &str) -> bool {
    let (a, b) = (code_key(a).into_bytes(), code_key(b).into_bytes());
    if a == b || a.len() != b.len() {
        return false;
    }
    let mut row = vec![0usize; b.len() + 1];
    for x in &a {
        let mut diagonal = 0;
        for (j, y) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if x == y { diagonal + 1 } else { above.max(row[j]) };
            diagonal = above;
        }
    }
    row[b.len()] + 1 >= a.len()
}

/// Why a supersession chain cannot be followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainError<T, E> {
    /// the chain comes back to this part
    Cycle(T),
    Lookup(E),
}

/// The chain of successors from `start` (excluded) to the final successor (last), following
/// `next` until a part has none; a chain that comes back on itself is refused.
pub fn follow_chain<T: Clone + Eq + Hash, E>(
    start: T,
    mut next: impl FnMut(&T) -> Result<Option<T>, E>,
) -> Result<Vec<T>, ChainError<T, E>> {
    let mut seen = HashSet::from([start.clone()]);
    let mut chain: Vec<T> = Vec::new();
    let mut at = start;
    while let Some(n) = next(&at).map_err(ChainError::Lookup)? {
        if !seen.insert(n.clone()) {
            return Err(ChainError::Cycle(n));
        }
        chain.push(n.clone());
        at = n;
    }
    Ok(chain)
}

/// Whether making `part` superseded by `successor` would close a loop, given how parts are
/// superseded now (`next`).
pub fn would_cycle<T: Clone + Eq + Hash, E>(
    part: T,
    successor: T,
    mut next: impl FnMut(&T) -> Result<Option<T>, E>,
) -> Result<bool, E> {
    if part == successor {
        return Ok(true);
    }
    let with_change = |id: &T| if *id == part { Ok(Some(successor.clone())) } else { next(id) };
    match follow_chain(part.clone(), with_change) {
        Ok(_) => Ok(false),
        Err(ChainError::Cycle(_)) => Ok(true),
        Err(ChainError::Lookup(e)) => Err(e),
    }
}

/// The last day a warranty of `months` from `ship_date` covers: the day before the same date
/// `months` later; when that month has no such date (a term from 31 January, or from 29
/// February), the term runs to the end of that month.
pub fn warranty_until(ship_date: NaiveDate, months: i32) -> Option<NaiveDate> {
    let months = u32::try_from(months).ok()?;
    // chrono clamps a missing day to the month's last day
    let same = ship_date.checked_add_months(Months::new(months))?;
    if same.day() == ship_date.day() {
        same.pred_opt()
    } else {
        Some(same)
    }
}

/// Product model codes: free format in upper-case letters, digits, dashes and dots, 2-32
/// characters, starting with a letter or digit (`BCD-539WT`, `KFR-35GW.N1A`). No slashes: the
/// code is a path segment.
pub fn valid_model_code(s: &str) -> bool {
    (2..=32).contains(&s.len())
        && s.bytes().next().is_some_and(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        && s.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
}

/// A product model's line is one the catalogue knows (`known`: the lines of its parts and
/// models), not any two letters: a model of a line without parts could be sold, ticketed and
/// planned for with no part that fits it.
pub fn line_known(line: &str, known: &[String]) -> bool {
    known.iter().any(|l| l == line)
}

/// Unit serials and component serials: letters, digits and dashes, 4-40 characters.
pub fn valid_serial(s: &str) -> bool {
    (4..=40).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Units of measure: 1-10 lower-case letters (`pcs`, `set`, `m`, `kg`).
pub fn valid_unit_of_measure(s: &str) -> bool {
    (1..=10).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_lowercase())
}

/// What is wrong with a free-text name, if anything.
pub fn check_name(s: &str, max: usize) -> Option<String> {
    if s.trim().is_empty() {
        Some("must not be blank".into())
    } else if s.chars().count() > max {
        Some(format!("at most {max} characters"))
    } else if s.trim() != s {
        Some("must not start or end with spaces".into())
    } else {
        None
    }
}

/// Heaviest part, in grams (a compressor is ~10 kg; a whole drum unit ~60 kg).
pub const MAX_WEIGHT_GRAMS: i32 = 1_000_000;
/// Longest warranty term in months.
pub const MAX_WARRANTY_MONTHS: i32 = 360;
/// Most of one part per product unit.
pub const MAX_QTY_PER_UNIT: i32 = 999;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    use crate::catalogue::codes::PartCode;

    #[test]
    fn lifecycles_and_interchangeabilities_read_back_from_their_text_and_refuse_an_unknown_one() {
        crate::db::text::assert_stored_as_text::<Lifecycle>();
        crate::db::text::assert_stored_as_text::<Interchangeability>();
    }

    #[test]
    fn the_intended_code_comes_first_for_a_dropped_letter() {
        let codes = ["RF-CMP-00417I", "RF-CMP-00418G", "RF-LMP-00417A", "AC-CMP-00417Z"];
        let cands = || codes.iter().map(|c| (*c, Lifecycle::Active));
        assert_eq!(rank_suggestions("RF-MP-00417I", cands())[0], "RF-CMP-00417I");
        assert_eq!(rank_suggestions("rf-cmp-00417i", cands())[0], "RF-CMP-00417I");
        assert_eq!(rank_suggestions("RFCMP00471I", cands())[0], "RF-CMP-00417I");
        assert!(rank_suggestions("WM-XYZ-99999Q", cands()).is_empty());
    }

    #[test]
    fn ties_prefer_the_typed_form_then_live_parts_then_code_order() {
        let cands = [
            ("RF-CMP-00002A", Lifecycle::Obsolete),
            ("RF-CMP-00003B", Lifecycle::Active),
            ("RF-CMP-00001C", Lifecycle::Active),
        ];
        // all three are two substitutions away
        let got = rank_suggestions("RF-CMP-0000XX", cands);
        assert_eq!(got, vec!["RF-CMP-00001C", "RF-CMP-00003B", "RF-CMP-00002A"]);
        let many: Vec<String> =
            (1..=20).filter_map(|s| PartCode::issue("RF", "CMP", s)).map(|c| c.to_string()).collect();
        let got = rank_suggestions("RF-CMP-00010", many.iter().map(|c| (c.as_str(), Lifecycle::Active)));
        assert_eq!(got.len(), MAX_SUGGESTIONS);
    }

    #[test]
    fn codes_one_shifted_character_apart_are_confusable() {
        // "AC-CMP-00137" is both AC-CMP-001327 without its 2 and AC-CMP-00137Y without its Y
        assert!(confusable("AC-CMP-001327", "AC-CMP-00137Y"));
        assert!(confusable("RF-CMP-00417I", "RF-CMA-00417I"));
        assert!(!confusable("RF-CMP-00417I", "RF-CMP-00417I"));
        assert!(!confusable("RF-CMP-00417I", "RF-CMP-00418G"));
        assert!(!confusable("RF-CMP-00417I", "RF-CMP-0041"));
    }

    #[test]
    fn chains_are_followed_to_the_end_and_loops_refused() {
        let map = HashMap::from([(1, 2), (2, 3), (5, 6), (6, 5)]);
        let next = |id: &i64| Ok::<_, ()>(map.get(id).copied());
        assert_eq!(follow_chain(1, next), Ok(vec![2, 3]));
        assert_eq!(follow_chain(3, next), Ok(vec![]));
        assert_eq!(follow_chain(5, next), Err(ChainError::Cycle(5)));
        assert_eq!(would_cycle(3, 1, next), Ok(true));
        assert_eq!(would_cycle(4, 1, next), Ok(false));
        assert_eq!(would_cycle(2, 2, next), Ok(true));
        assert_eq!(would_cycle(1, 4, next), Ok(false));
    }

    #[test]
    fn interchangeability_along_a_chain_is_the_weakest_link() {
        use Interchangeability::*;
        assert_eq!(TwoWay.weakest(TwoWay), TwoWay);
        assert_eq!(TwoWay.weakest(OneWay), OneWay);
        assert_eq!(OneWay.weakest(TwoWay), OneWay);
    }

    #[test]
    fn warranty_runs_whole_months_from_the_ship_date() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(warranty_until(d(2025, 1, 15), 12), Some(d(2026, 1, 14)));
        // no 31 February: the term runs to the end of February
        assert_eq!(warranty_until(d(2024, 1, 31), 1), Some(d(2024, 2, 29)));
        assert_eq!(warranty_until(d(2023, 1, 31), 1), Some(d(2023, 2, 28)));
        assert_eq!(warranty_until(d(2024, 2, 29), 12), Some(d(2025, 2, 28)));
        assert_eq!(warranty_until(d(2025, 3, 31), 6), Some(d(2025, 9, 30)));
        assert_eq!(warranty_until(d(2024, 3, 1), 0), Some(d(2024, 2, 29)));
        assert_eq!(warranty_until(d(2024, 3, 1), -1), None);
    }

    #[test]
    fn shapes_of_model_codes_serials_and_units() {
        for ok in ["BCD-539WT", "KFR-35GW.N1A", "XQG100"] {
            assert!(valid_model_code(ok), "{ok}");
        }
        for bad in ["", "B", "bcd-539", "KFR-35GW/N1A", "-ABC", "A B"] {
            assert!(!valid_model_code(bad), "{bad}");
        }
        assert!(valid_serial("RF2409A00017") && !valid_serial("RF 1") && !valid_serial("abc"));
        assert!(valid_unit_of_measure("pcs") && !valid_unit_of_measure("PCS") && !valid_unit_of_measure(""));
        assert_eq!(check_name(" x", 10).as_deref(), Some("must not start or end with spaces"));
        assert!(check_name("Compressor", 10).is_none());
    }
}
