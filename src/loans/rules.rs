//! Loan vocabulary and checks: no HTTP, no database.

use crate::validate::Validate;
use chrono::{Duration, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// How a loan line stands: open until reconciled exactly one way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Validate)]
#[serde(rename_all = "snake_case")]
pub enum LineStatus {
    Open,
    /// in warranty: the old part came back and matched the factory record
    CoreReturned,
    /// out of warranty: the customer pays the fee
    FeeCharged,
    /// not used: back to the station through inspection
    ReturnedUnused,
}

impl LineStatus {
    pub const ALL: [LineStatus; 4] =
        [LineStatus::Open, LineStatus::CoreReturned, LineStatus::FeeCharged, LineStatus::ReturnedUnused];

    pub fn as_str(self) -> &'static str {
        match self {
            LineStatus::Open => "open",
            LineStatus::CoreReturned => "core_returned",
            LineStatus::FeeCharged => "fee_charged",
            LineStatus::ReturnedUnused => "returned_unused",
        }
    }

    pub fn parse(s: &str) -> Option<LineStatus> {
        LineStatus::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// An inspection of an unused return.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Validate)]
#[serde(rename_all = "snake_case")]
pub enum InspectionStatus {
    Pending,
    Passed,
    Scrapped,
}

impl InspectionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            InspectionStatus::Pending => "pending",
            InspectionStatus::Passed => "passed",
            InspectionStatus::Scrapped => "scrapped",
        }
    }

    pub const ALL: [InspectionStatus; 3] =
        [InspectionStatus::Pending, InspectionStatus::Passed, InspectionStatus::Scrapped];

    pub fn parse(s: &str) -> Option<InspectionStatus> {
        InspectionStatus::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

crate::db::stored_as_text!(LineStatus, InspectionStatus);

/// A line lent at `at` is overdue at `now` once the tier's core-return days have passed.
pub fn is_overdue(at: NaiveDateTime, core_return_days: i32, now: NaiveDateTime) -> bool {
    now > at + Duration::days(i64::from(core_return_days))
}

/// When a line lent at `at` falls due.
pub fn due_at(at: NaiveDateTime, core_return_days: i32) -> NaiveDateTime {
    at + Duration::days(i64::from(core_return_days))
}

/// The custody location code of a technician: `TECH-<id>-<USERNAME>`, upper-case letters,
/// digits and single dashes, at most 32 characters (a valid location code).
pub fn custody_code(user_id: i64, username: &str) -> String {
    code_of(format!("TECH-{user_id}-"), username)
}

/// The custody code of a technician at a station other than its first one.
pub fn custody_code_at(user_id: i64, station_id: i64, username: &str) -> String {
    code_of(format!("TECH-{user_id}-S{station_id}-"), username)
}

fn code_of(mut code: String, username: &str) -> String {
    let mut last_dash = true;
    for c in username.chars() {
        let c = c.to_ascii_uppercase();
        if c.is_ascii_uppercase() || c.is_ascii_digit() {
            code.push(c);
            last_dash = false;
        } else if !last_dash {
            code.push('-');
            last_dash = true;
        }
    }
    code.truncate(32);
    while code.ends_with('-') {
        code.pop();
    }
    code
}

/// Wrong old parts a station or technician may offer for one loan line; after them only an
/// admin records its core return (a production date tried day by day would give the record
/// away).
pub const CORE_ATTEMPTS: i32 = 5;

/// What the old part brought back says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OldPart {
    Serial(String),
    ProductionDate(NaiveDate),
}

/// Checks the old part against the factory record of the unit's component: Ok when it is the
/// part the unit left the factory with, else (expected, given) in words.
pub fn check_core(
    record_serial: Option<&str>,
    record_date: Option<NaiveDate>,
    given: &OldPart,
) -> Result<(), (String, String)> {
    match given {
        OldPart::Serial(s) => match record_serial {
            Some(r) if r.eq_ignore_ascii_case(s.trim()) => Ok(()),
            Some(r) => Err((r.to_string(), s.clone())),
            None => Err((
                record_date.map(|d| format!("production date {d}")).unwrap_or_else(|| "no record".into()),
                s.clone(),
            )),
        },
        OldPart::ProductionDate(d) => match record_date {
            Some(r) if r == *d => Ok(()),
            Some(r) => Err((r.to_string(), d.to_string())),
            None => Err((
                record_serial.map(|s| format!("serial {s}")).unwrap_or_else(|| "no record".into()),
                d.to_string(),
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_inspection_states_read_back_from_their_text_and_refuse_an_unknown_one() {
        crate::db::text::assert_stored_as_text::<LineStatus>();
        crate::db::text::assert_stored_as_text::<InspectionStatus>();
    }

    #[test]
    fn custody_codes_are_location_codes() {
        assert_eq!(custody_code(7, "tech-st-tz-001"), "TECH-7-TECH-ST-TZ-001");
        let long = custody_code(123456, "a.very_long..user__name-with-many-parts");
        assert!(crate::network::rules::valid_code(&long), "{long}");
        assert!(crate::network::rules::valid_code(&custody_code(1, "x")));
        assert_eq!(custody_code_at(7, 42, "tech-st-tz-001"), "TECH-7-S42-TECH-ST-TZ-001");
        assert!(crate::network::rules::valid_code(&custody_code_at(
            123456,
            987654,
            "a.very_long..user__name"
        )));
    }

    #[test]
    fn cores_match_the_record() {
        let d = NaiveDate::from_ymd_opt(2023, 1, 2).unwrap();
        assert!(check_core(Some("CMP1"), None, &OldPart::Serial("cmp1".into())).is_ok());
        assert_eq!(
            check_core(Some("CMP1"), None, &OldPart::Serial("CMP2".into())),
            Err(("CMP1".into(), "CMP2".into()))
        );
        assert!(check_core(None, Some(d), &OldPart::ProductionDate(d)).is_ok());
        assert!(check_core(None, Some(d), &OldPart::ProductionDate(d.succ_opt().unwrap())).is_err());
        assert!(check_core(None, Some(d), &OldPart::Serial("X".into())).is_err());
    }

    #[test]
    fn overdue_after_the_core_return_days() {
        let at = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap().and_hms_opt(8, 0, 0).unwrap();
        assert!(!is_overdue(at, 15, at + Duration::days(15)));
        assert!(is_overdue(at, 15, at + Duration::days(15) + Duration::seconds(1)));
    }
}
