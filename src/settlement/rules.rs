//! Settlement rules as plain values: periods, what each line contributes to the net payable,
//! the tier in force on a date, when an open loan line is charged as an overdue core, and which
//! period a late item lands in. No HTTP, no database.
//!
//! Sign: `net_payable > 0` means the company pays the station.
//! net = labour - parts sold - overdue cores + adjustments; in-warranty parts are shown (at
//! company cost) and not in the net.

use chrono::{Datelike, Duration, Months, NaiveDate, NaiveDateTime};
use serde::Serialize;
use utoipa::ToSchema;

/// A settlement period: one calendar month, `YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period {
    first: NaiveDate,
}

impl Period {
    /// Parses `YYYY-MM` (four-digit year 2000-9999, month 01-12).
    pub fn parse(s: &str) -> Option<Period> {
        let b = s.as_bytes();
        if !s.is_ascii()
            || b.len() != 7
            || b[4] != b'-'
            || !s[..4].bytes().chain(s[5..].bytes()).all(|c| c.is_ascii_digit())
        {
            return None;
        }
        let year: i32 = s[..4].parse().ok()?;
        let month: u32 = s[5..].parse().ok()?;
        if year < 2000 {
            return None;
        }
        NaiveDate::from_ymd_opt(year, month, 1).map(|first| Period { first })
    }

    pub fn of(date: NaiveDate) -> Period {
        Period { first: date.with_day(1).unwrap_or(date) }
    }

    pub fn first_day(self) -> NaiveDate {
        self.first
    }

    /// Midnight of the first day.
    pub fn start(self) -> NaiveDateTime {
        self.first.and_hms_opt(0, 0, 0).unwrap_or_default()
    }

    /// Midnight of the first day of the next month (exclusive end).
    pub fn end(self) -> NaiveDateTime {
        self.next().start()
    }

    pub fn next(self) -> Period {
        Period { first: self.first.checked_add_months(Months::new(1)).unwrap_or(self.first) }
    }

    pub fn prev(self) -> Period {
        Period { first: self.first.checked_sub_months(Months::new(1)).unwrap_or(self.first) }
    }
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.first.year(), self.first.month())
    }
}

/// What a line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    /// a completed ticket: labour (in warranty) and the parts used on it
    Ticket,
    /// an open loan line past its core-return days, charged at cost
    CoreCharge,
    /// a charged core returned later: the charge credited back
    CoreCredit,
    /// a signed amount posted by finance with a reason
    Adjustment,
}

impl LineKind {
    pub const ALL: [LineKind; 4] =
        [LineKind::Ticket, LineKind::CoreCharge, LineKind::CoreCredit, LineKind::Adjustment];

    pub fn as_str(self) -> &'static str {
        match self {
            LineKind::Ticket => "ticket",
            LineKind::CoreCharge => "core_charge",
            LineKind::CoreCredit => "core_credit",
            LineKind::Adjustment => "adjustment",
        }
    }

    pub fn parse(s: &str) -> Option<LineKind> {
        LineKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

crate::db::stored_as_text!(LineKind);

/// One detail line of a station's settlement (money in minor units).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub station_id: i64,
    pub station_code: String,
    /// the station's name (as it is now), shown beside its code in the files
    pub station_name: String,
    pub kind: LineKind,
    /// the id of the ticket, loan line or adjustment (what a close marks settled)
    pub item_id: i64,
    /// the date that put the item in a period
    pub date: NaiveDate,
    pub reference: String,
    /// the station's tier on `date` (tickets)
    pub tier: Option<String>,
    pub job_type: Option<String>,
    pub warranty: Option<String>,
    pub parts_qty: i64,
    /// the company pays the station: in-warranty labour at the tier's rate
    pub labour: i64,
    /// the station owes: out-of-warranty parts at sale price
    pub parts_sold: i64,
    /// shown, not in the net: in-warranty parts at company cost
    pub warranty_parts: i64,
    /// every part used on the ticket at cost (what the ledger's consumption reconciles to)
    pub parts_cost: i64,
    /// the station owes: overdue cores at cost (negative when credited back)
    pub overdue_cores: i64,
    /// signed: positive pays the station
    pub adjustments: i64,
    pub note: Option<String>,
    /// adjustments: the period the adjustment corrects, as finance asked (the line itself sits
    /// in the period it landed in)
    pub adjusts: Option<String>,
    /// adjustments: the day it was posted
    pub posted_on: Option<NaiveDate>,
}

impl Line {
    pub fn net(&self) -> i64 {
        self.labour
            .saturating_sub(self.parts_sold)
            .saturating_sub(self.overdue_cores)
            .saturating_add(self.adjustments)
    }
}

/// Sums of a set of lines. The sums saturate rather than wrap or panic; what is posted is
/// bounded (`MAX_UNSETTLED_ADJUSTMENTS`) so that they stay far from it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub lines: i64,
    pub tickets: i64,
    pub parts_qty: i64,
    pub labour: i64,
    pub parts_sold: i64,
    pub warranty_parts: i64,
    pub parts_cost: i64,
    pub overdue_cores: i64,
    pub adjustments: i64,
    pub net: i64,
}

impl Totals {
    pub fn add(&mut self, l: &Line) {
        self.lines = self.lines.saturating_add(1);
        self.tickets = self.tickets.saturating_add(i64::from(l.kind == LineKind::Ticket));
        // the parts fitted on tickets: a core line's quantity says which loan line it charges
        // or credits back, and is no part used (a charge and its credit would count one part
        // twice)
        if l.kind == LineKind::Ticket {
            self.parts_qty = self.parts_qty.saturating_add(l.parts_qty);
        }
        self.labour = self.labour.saturating_add(l.labour);
        self.parts_sold = self.parts_sold.saturating_add(l.parts_sold);
        self.warranty_parts = self.warranty_parts.saturating_add(l.warranty_parts);
        self.parts_cost = self.parts_cost.saturating_add(l.parts_cost);
        self.overdue_cores = self.overdue_cores.saturating_add(l.overdue_cores);
        self.adjustments = self.adjustments.saturating_add(l.adjustments);
        self.net = self.net.saturating_add(l.net());
    }

    pub fn merge(&mut self, o: &Totals) {
        self.lines = self.lines.saturating_add(o.lines);
        self.tickets = self.tickets.saturating_add(o.tickets);
        self.parts_qty = self.parts_qty.saturating_add(o.parts_qty);
        self.labour = self.labour.saturating_add(o.labour);
        self.parts_sold = self.parts_sold.saturating_add(o.parts_sold);
        self.warranty_parts = self.warranty_parts.saturating_add(o.warranty_parts);
        self.parts_cost = self.parts_cost.saturating_add(o.parts_cost);
        self.overdue_cores = self.overdue_cores.saturating_add(o.overdue_cores);
        self.adjustments = self.adjustments.saturating_add(o.adjustments);
        self.net = self.net.saturating_add(o.net);
    }
}

/// The most a station's unsettled adjustments may add up to, counted without their signs
/// (1,000,000,000,000.00): a period's totals over ten thousand stations stay within 64 bits.
pub const MAX_UNSETTLED_ADJUSTMENTS: i64 = 100_000_000_000_000;

/// One entry of a station's tier history: (effective from, id, tier).
pub type Grading = (NaiveDate, i64, String);

/// The tier in force on `date` from a station's history of (effective from, id, tier): the
/// latest entry on or before the date (the later entry wins on the same day).
pub fn tier_on(history: &[Grading], date: NaiveDate) -> Option<&str> {
    history
        .iter()
        .filter(|(from, _, _)| *from <= date)
        .max_by_key(|(from, id, _)| (*from, *id))
        .map(|(_, _, t)| t.as_str())
}

/// What a ticket contributes: in warranty the company pays labour and bears the parts (shown
/// at cost); out of warranty the station collected from the customer and owes the parts' sale
/// price (labour was the station's to charge). On an in-warranty ticket whose warranty is one
/// component's longer term, a part of another family was the customer's to pay: the station
/// owes its sale price, as out of warranty.
pub struct TicketFigures {
    pub labour: i64,
    pub parts_sold: i64,
    pub warranty_parts: i64,
}

/// The parts used on a ticket: at cost and at sale price, all of them and those outside the
/// ticket's warranty (a family its component-only warranty does not cover).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UsedParts {
    pub qty: i64,
    pub cost: i64,
    pub sale: i64,
    pub outside_cost: i64,
    pub outside_sale: i64,
}

pub fn ticket_figures(in_warranty: bool, rate: Option<i64>, parts: &UsedParts) -> TicketFigures {
    if in_warranty {
        TicketFigures {
            labour: rate.unwrap_or(0),
            parts_sold: parts.outside_sale,
            warranty_parts: parts.cost.saturating_sub(parts.outside_cost),
        }
    } else {
        TicketFigures { labour: 0, parts_sold: parts.sale, warranty_parts: 0 }
    }
}

/// A loan line's overdue-core events at `now`: the charge (dated when the line fell overdue)
/// when it was still open then, and the credit (dated at its reconciliation) when it was
/// reconciled after that. A line lent at `lent_at` is overdue once `core_return_days` have
/// passed (as `loans::rules::is_overdue`).
pub fn core_events(
    lent_at: NaiveDateTime,
    core_return_days: i32,
    reconciled_at: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> (Option<NaiveDateTime>, Option<NaiveDateTime>) {
    let due = lent_at + Duration::days(i64::from(core_return_days));
    let charged_at = match reconciled_at {
        Some(r) if r <= due => None,
        _ if now > due => Some(due),
        _ => None,
    };
    let credited_at = match (charged_at, reconciled_at) {
        (Some(_), Some(r)) if r <= now => Some(r),
        _ => None,
    };
    (charged_at, credited_at)
}

/// Where an item falls: its own period, unless that is closed (on or before the last closed
/// period), when it lands in the next open period.
pub fn landing(natural: Period, last_closed: Option<Period>) -> Period {
    match last_closed {
        Some(c) if natural <= c => c.next(),
        _ => natural,
    }
}

/// Where a period stands, the one answer the statement, its files and the close endpoint give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeriodState {
    /// computed live; not closed
    Open,
    /// closed itself: its lines are the snapshot taken then
    Closed { at: NaiveDateTime, by: String },
    /// never closed itself, but before the first closed period (`by_close`), so it can no
    /// longer be closed and holds no lines: its items landed in `landed_in`, the period after
    /// that close
    Covered { by_close: Period, at: NaiveDateTime, by: String, landed_in: Period },
}

impl PeriodState {
    /// A month before a closed period that was never closed itself is covered by the first
    /// close after it (`first_close_after`: that period, when, by whom).
    pub fn of(
        own_close: Option<(NaiveDateTime, String)>,
        first_close_after: Option<(Period, NaiveDateTime, String)>,
    ) -> PeriodState {
        match (own_close, first_close_after) {
            (Some((at, by)), _) => PeriodState::Closed { at, by },
            (None, Some((by_close, at, by))) => {
                PeriodState::Covered { by_close, at, by, landed_in: by_close.next() }
            }
            (None, None) => PeriodState::Open,
        }
    }

    /// `open` or `closed` (a covered month is closed: nothing changes in it any more).
    pub fn status(&self) -> &'static str {
        match self {
            PeriodState::Open => "open",
            _ => "closed",
        }
    }

    /// When it was closed (a covered month: when the close that covers it was made).
    pub fn closed_at(&self) -> Option<NaiveDateTime> {
        match self {
            PeriodState::Open => None,
            PeriodState::Closed { at, .. } | PeriodState::Covered { at, .. } => Some(*at),
        }
    }

    pub fn closed_by(&self) -> Option<&str> {
        match self {
            PeriodState::Open => None,
            PeriodState::Closed { by, .. } | PeriodState::Covered { by, .. } => Some(by),
        }
    }

    pub fn covered_by(&self) -> Option<Period> {
        match self {
            PeriodState::Covered { by_close, .. } => Some(*by_close),
            _ => None,
        }
    }

    pub fn landed_in(&self) -> Option<Period> {
        match self {
            PeriodState::Covered { landed_in, .. } => Some(*landed_in),
            _ => None,
        }
    }

    /// In words, as the files' `period_status` and the close's 409 say it: `open`, `closed at
    /// 2026-11-02T09:00:00Z by finance`, or `closed as part of 2026-10 (closed at
    /// 2026-11-02T09:00:00Z by finance); its items are settled in 2026-11`.
    pub fn describe(&self) -> String {
        let when = |at: &NaiveDateTime| at.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        match self {
            PeriodState::Open => "open".into(),
            PeriodState::Closed { at, by } => format!("closed at {} by {by}", when(at)),
            PeriodState::Covered { by_close, at, by, landed_in } => format!(
                "closed as part of {by_close} (closed at {} by {by}); its items are settled in {landed_in}",
                when(at)
            ),
        }
    }
}

/// Why a period cannot be closed now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseRefusal {
    AlreadyClosed,
    NotEnded,
    /// periods close in order: the one to close next
    OutOfOrder(Period),
}

/// Periods close in order, once, after they ended: the first close may be any ended month;
/// after that only the month following the last closed one.
pub fn may_close(p: Period, last_closed: Option<Period>, now: NaiveDateTime) -> Result<(), CloseRefusal> {
    match last_closed {
        Some(c) if p <= c => return Err(CloseRefusal::AlreadyClosed),
        Some(c) if p != c.next() => return Err(CloseRefusal::OutOfOrder(c.next())),
        _ => {}
    }
    if p.end() > now {
        return Err(CloseRefusal::NotEnded);
    }
    Ok(())
}

/// The window of natural dates a period's export takes: [lower, end). The next open period
/// (right after the last closed one) has no lower bound: it takes every unsettled late item.
pub fn window(p: Period, last_closed: Option<Period>) -> (Option<NaiveDateTime>, NaiveDateTime) {
    match last_closed {
        Some(c) if c.next() == p => (None, p.end()),
        _ => (Some(p.start()), p.end()),
    }
}

/// Minor units as a two-place decimal string.
pub fn money(minor: i64) -> String {
    crate::money::Money(minor).to_string()
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;
