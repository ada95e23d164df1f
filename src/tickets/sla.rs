//! Time limits from the service standard and the follow-up sample, as plain functions: an
//! urgent complaint or a safety incident is answered within 24 hours and resolved within 48;
//! any other issue gets a handling decision within 5 days; within 7 days of completion a
//! random 5-10% of completed tickets get a follow-up call. No HTTP, no database.

use chrono::{Duration, NaiveDateTime};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::rules::{Category, Urgency};
use crate::validate::Validate;

pub fn respond_within() -> Duration {
    Duration::hours(24)
}

pub fn resolve_within() -> Duration {
    Duration::hours(48)
}

pub fn decide_within() -> Duration {
    Duration::days(5)
}

/// How long after completion a follow-up call is due.
pub fn follow_up_window() -> Duration {
    Duration::days(7)
}

/// The SLA clocks of a ticket: the 24/48-hour pair, or the 5-day decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Deadlines {
    pub respond_by: Option<NaiveDateTime>,
    pub resolve_by: Option<NaiveDateTime>,
    pub decide_by: Option<NaiveDateTime>,
}

/// An urgent complaint, or a safety incident of any urgency, runs on the 24/48-hour clocks.
pub fn is_emergency(category: Category, urgency: Urgency) -> bool {
    category == Category::SafetyIncident || (category == Category::Complaint && urgency == Urgency::Urgent)
}

/// The deadlines of a ticket taken in at `opened`.
pub fn deadlines(category: Category, urgency: Urgency, opened: NaiveDateTime) -> Deadlines {
    if is_emergency(category, urgency) {
        Deadlines {
            respond_by: Some(opened + respond_within()),
            resolve_by: Some(opened + resolve_within()),
            decide_by: None,
        }
    } else {
        Deadlines { respond_by: None, resolve_by: None, decide_by: Some(opened + decide_within()) }
    }
}

/// One SLA clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Validate)]
#[serde(rename_all = "snake_case")]
#[schema(as = SlaClock)]
pub enum Clock {
    /// first answer (a quote or a dispatch) within 24 hours
    Respond,
    /// resolved within 48 hours
    Resolve,
    /// a handling decision (a quote or a dispatch) within 5 days
    Decide,
}

/// A ticket's deadlines and when they were met. Completing (signing off or closing) a ticket
/// stops every clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Clocks {
    pub deadlines: Deadlines,
    /// the first quote or dispatch
    pub responded_at: Option<NaiveDateTime>,
    pub resolved_at: Option<NaiveDateTime>,
    pub completed_at: Option<NaiveDateTime>,
}

impl Clocks {
    /// Each clock with its deadline and the time it stopped, if it did.
    fn each(&self) -> impl Iterator<Item = (Clock, NaiveDateTime, Option<NaiveDateTime>)> + '_ {
        let d = self.deadlines;
        [
            (Clock::Respond, d.respond_by, self.responded_at),
            (Clock::Resolve, d.resolve_by, self.resolved_at),
            (Clock::Decide, d.decide_by, self.responded_at),
        ]
        .into_iter()
        .filter_map(move |(c, by, met)| by.map(|by| (c, by, met.or(self.completed_at))))
    }

    /// The clocks past their deadline and not met: the ticket is overdue when any is.
    pub fn overdue(&self, now: NaiveDateTime) -> Vec<Clock> {
        self.each().filter(|(_, by, met)| met.is_none() && now > *by).map(|(c, _, _)| c).collect()
    }

    /// Whether the ticket kept its time limits: `Some(true)` when every clock stopped in time,
    /// `Some(false)` when one stopped late or ran past its deadline, `None` while a clock is
    /// still running within its deadline.
    pub fn compliance(&self, now: NaiveDateTime) -> Option<bool> {
        let mut all_met = true;
        for (_, by, met) in self.each() {
            match met {
                Some(at) if at > by => return Some(false),
                Some(_) => {}
                None if now > by => return Some(false),
                None => all_met = false,
            }
        }
        all_met.then_some(true)
    }
}

/// The share of completed tickets to call is configuration (`config::followup_share`); the
/// parsing and its range live there, next to the variable that sets it.
pub use crate::config::followup_share::{parse_share, share_bp};

/// How many of `pool` completed tickets to call: the share rounded up, at least one when any.
pub fn sample_size(pool: usize, share_bp: u32) -> usize {
    if pool == 0 {
        return 0;
    }
    let n = (pool as u64 * u64::from(share_bp)).div_ceil(10_000);
    (n as usize).clamp(1, pool)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use rust_decimal::Decimal;

    fn t(day: u32, hour: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, day).unwrap().and_hms_opt(hour, 0, 0).unwrap()
    }

    #[test]
    fn urgent_complaints_and_every_safety_incident_get_24_and_48_hours() {
        use Category as C;
        let opened = t(10, 9);
        for (category, urgency) in [
            (C::SafetyIncident, Urgency::Normal),
            (C::SafetyIncident, Urgency::Urgent),
            (C::Complaint, Urgency::Urgent),
        ] {
            let d = deadlines(category, urgency, opened);
            assert_eq!(d.respond_by, Some(t(11, 9)));
            assert_eq!(d.resolve_by, Some(t(12, 9)));
            assert_eq!(d.decide_by, None);
        }
        for category in [C::Complaint, C::Repair, C::Consultation, C::TechnicalSupport] {
            let d = deadlines(category, Urgency::Normal, opened);
            assert_eq!(d, Deadlines { decide_by: Some(t(15, 9)), ..Deadlines::default() });
        }
        // urgency alone does not make a repair an emergency
        assert_eq!(deadlines(C::Repair, Urgency::Urgent, opened).decide_by, Some(t(15, 9)));
    }

    #[test]
    fn a_clock_is_overdue_once_past_its_deadline_unmet() {
        let d = deadlines(Category::SafetyIncident, Urgency::Normal, t(10, 9));
        let mut c = Clocks { deadlines: d, ..Clocks::default() };
        assert!(c.overdue(t(11, 9)).is_empty(), "exactly at the deadline is still in time");
        assert_eq!(c.overdue(t(11, 10)), vec![Clock::Respond]);
        assert_eq!(c.overdue(t(12, 10)), vec![Clock::Respond, Clock::Resolve]);
        c.responded_at = Some(t(10, 12));
        assert_eq!(c.overdue(t(12, 10)), vec![Clock::Resolve]);
        assert_eq!(c.compliance(t(12, 10)), Some(false));
        c.resolved_at = Some(t(11, 20));
        assert!(c.overdue(t(20, 0)).is_empty());
        assert_eq!(c.compliance(t(20, 0)), Some(true));
        // met late: not overdue any more, but not compliant
        c.resolved_at = Some(t(12, 10));
        assert!(c.overdue(t(20, 0)).is_empty());
        assert_eq!(c.compliance(t(20, 0)), Some(false));
    }

    #[test]
    fn compliance_waits_while_a_clock_runs_and_closing_stops_the_clocks() {
        let d = deadlines(Category::Repair, Urgency::Normal, t(10, 9));
        let mut c = Clocks { deadlines: d, ..Clocks::default() };
        assert_eq!(c.compliance(t(12, 0)), None);
        assert_eq!(c.compliance(t(16, 0)), Some(false));
        assert_eq!(c.overdue(t(16, 0)), vec![Clock::Decide]);
        c.completed_at = Some(t(11, 0));
        assert!(c.overdue(t(16, 0)).is_empty());
        assert_eq!(c.compliance(t(16, 0)), Some(true));
    }

    #[test]
    fn shares_parse_as_fractions_or_percentages_between_5_and_10() {
        assert_eq!(parse_share("0.05"), Ok(500));
        assert_eq!(parse_share("5%"), Ok(500));
        assert_eq!(parse_share("7.5"), Ok(750));
        assert_eq!(parse_share(" 0.1 "), Ok(1000));
        assert!(parse_share("0.04").is_err());
        assert!(parse_share("11%").is_err());
        assert!(parse_share("five").is_err());
        assert_eq!(share_bp(Decimal::new(5, 2)), Some(500));
        assert_eq!(share_bp(Decimal::MAX), None);
        assert!(parse_share("79228162514264337593543950335").is_err());
    }

    #[test]
    fn the_sample_rounds_up_and_takes_at_least_one() {
        assert_eq!(sample_size(0, 500), 0);
        assert_eq!(sample_size(1, 500), 1);
        assert_eq!(sample_size(19, 500), 1);
        assert_eq!(sample_size(20, 500), 1);
        assert_eq!(sample_size(21, 500), 2);
        assert_eq!(sample_size(200, 500), 10);
        assert_eq!(sample_size(201, 500), 11);
        assert_eq!(sample_size(200, 1000), 20);
        assert_eq!(sample_size(3, 1000), 1);
    }
}
