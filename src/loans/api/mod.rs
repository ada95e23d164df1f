//! HTTP handlers of loans, one file per resource: the loans (lend, list, read), the
//! reconciliation of a loan's lines (core return, fee, unused return) and the inspections of
//! returned parts. This file holds what they share: the loan as the API shows it.

mod inspections;
mod lines;
mod loans;

use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::db::DbConn;
use crate::error::AppError;
use crate::loans::rules::{self, LineStatus};
use crate::loans::service;
use crate::loans::store::{self, LoanRow};
use crate::money::Money;
use crate::network::store as network;

pub use inspections::*;
pub use lines::*;
pub use loans::*;

#[derive(Debug, Serialize, ToSchema)]
pub struct LoanLineOut {
    pub line_no: i32,
    /// the part asked for
    pub requested_code: String,
    /// the part lent: the one asked for, or its final successor when that was superseded
    pub part_code: String,
    /// true when a superseded part was lent as its successor
    pub substituted: bool,
    pub qty: i64,
    pub unit_cost: Money,
    /// the lent units' serials, shown to warehouse and admin users only (empty for the other
    /// roles): a fitted part's serial becomes its unit's record, which a later core return of
    /// that unit is checked against
    pub serials: Vec<String>,
    pub status: LineStatus,
    /// out of warranty: the fee collected from the customer
    pub fee: Option<Money>,
    /// in warranty: what the returned old part said about itself
    pub old_serial: Option<String>,
    pub old_production_date: Option<NaiveDate>,
    pub reconciled_by: Option<String>,
    pub reconciled_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// A loan with its lines.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": 1, "station": "ST-TZ-001", "technician": "tech-st-tz-001",
    "custody": "TECH-6-TECH-ST-TZ-001", "ticket_id": 1, "created_by": "station-st-tz-001",
    "created_at": "2026-11-23T08:00:00Z", "due_at": "2026-12-08T08:00:00Z", "overdue": false,
    "open_value": "365.20",
    "lines": [{"line_no": 1, "requested_code": "RF-CMP-00130B", "part_code": "RF-CMP-00130B", "substituted": false, "qty": 1, "unit_cost": "365.20",
        "serials": ["CMP0001"], "status": "open", "fee": null, "old_serial": null,
        "old_production_date": null, "reconciled_by": null, "reconciled_at": null}]}))]
pub struct LoanOut {
    pub id: i64,
    pub station: String,
    pub technician: String,
    /// the technician's custody location
    pub custody: String,
    pub ticket_id: i64,
    pub created_by: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// open lines are overdue after this (the station tier's core-return days)
    pub due_at: chrono::DateTime<chrono::Utc>,
    /// some line is still open after `due_at`
    pub overdue: bool,
    /// value at cost of the lines still open
    pub open_value: Money,
    pub lines: Vec<LoanLineOut>,
}

fn view(
    conn: &mut DbConn,
    caller: &Caller,
    rows: Vec<LoanRow>,
    now: chrono::NaiveDateTime,
) -> Result<Vec<LoanOut>, AppError> {
    let serials_shown = caller.sees_component_serials();
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let lines = store::lines(conn, &ids)?;
    let mut locs: Vec<i64> = rows.iter().flat_map(|r| [r.station_id, r.custody_id]).collect();
    locs.sort_unstable();
    locs.dedup();
    let codes = network::codes_of(conn, &locs)?;
    let techs: Vec<i64> = rows.iter().map(|r| r.technician_id).collect();
    let names = service::usernames(conn, &techs)?;
    let part_ids: Vec<i64> =
        lines.iter().flat_map(|l| std::iter::once(l.part_id).chain(l.requested_part_id)).collect();
    let parts = crate::catalogue::store::parts::codes_of(conn, &part_ids)?;
    let stations: Vec<i64> = rows.iter().map(|r| r.station_id).collect();
    let return_days = store::core_return_days_of(conn, &stations)?;
    let mut out = Vec::new();
    for r in rows {
        // a station without a tier has no return days: not found, as when read one by one
        let days = *return_days.get(&r.station_id).ok_or(diesel::result::Error::NotFound)?;
        let mine: Vec<_> = lines.iter().filter(|l| l.loan_id == r.id).collect();
        let open: Vec<_> = mine.iter().filter(|l| l.status == LineStatus::Open).collect();
        out.push(LoanOut {
            id: r.id,
            station: codes.get(&r.station_id).cloned().unwrap_or_default(),
            technician: names.get(&r.technician_id).cloned().unwrap_or_default(),
            custody: codes.get(&r.custody_id).cloned().unwrap_or_default(),
            ticket_id: r.ticket_id,
            created_by: r.created_by.clone(),
            created_at: r.created_at.and_utc(),
            due_at: rules::due_at(r.created_at, days).and_utc(),
            overdue: !open.is_empty() && rules::is_overdue(r.created_at, days, now),
            open_value: Money(open.iter().map(|l| l.qty.saturating_mul(l.unit_cost_minor)).sum()),
            lines: mine
                .iter()
                .map(|l| LoanLineOut {
                    line_no: l.line_no,
                    requested_code: parts
                        .get(&l.requested_part_id.unwrap_or(l.part_id))
                        .cloned()
                        .unwrap_or_default(),
                    part_code: parts.get(&l.part_id).cloned().unwrap_or_default(),
                    substituted: l.requested_part_id.is_some(),
                    qty: l.qty,
                    unit_cost: Money(l.unit_cost_minor),
                    serials: shown_serials(l.serials.as_deref(), serials_shown),
                    status: l.status,
                    fee: l.fee_minor.map(Money),
                    old_serial: l.old_serial.clone(),
                    old_production_date: l.old_production_date,
                    reconciled_by: l.reconciled_by.clone(),
                    reconciled_at: l.reconciled_at.map(|t| t.and_utc()),
                })
                .collect(),
        });
    }
    Ok(out)
}

fn one(conn: &mut DbConn, caller: &Caller, id: i64, now: chrono::NaiveDateTime) -> Result<LoanOut, AppError> {
    let row = service::visible(conn, caller, id)?;
    Ok(view(conn, caller, vec![row], now)?.remove(0))
}

// The refusals of the loans' operations, each with its own example (`http::docs`).

crate::problems!(E404Loan, 404, "No loan of this id in the caller's sight", [
    NotFound => "loan 3 not found",
]);
crate::problems!(E404LoanLine, 404, "No loan of this id in the caller's sight, or no such line of it", [
    NotFound "loan" => "loan 3 not found",
    NotFound "line" => "loan 3 has no line 4",
]);
crate::problems!(E404LoanStation, 404, "The station filtered on is unknown or out of the caller's sight", [
    NotFound => "station ST-LS-077 not found",
]);
crate::problems!(E404NewLoan, 404, "The ticket named is unknown or out of the caller's sight", [
    NotFound => "ticket 8 not found" {"field": "ticket_id"},
]);
crate::problems!(E409NewLoan, 409, "The ticket takes no more parts, or the station lacks the stock", [
    TicketTakesNoParts => "ticket 8: a ticket that is closed takes no more parts"
        {"current_status": "closed", "field": "ticket_id"},
    InsufficientStock => "ST-TZ-001 holds 0 available (0 on hand, 0 reserved); 1 cannot leave it"
        {"location": "ST-TZ-001", "available": 0, "requested": 1, "line": 0},
]);
crate::problems!(
    E422NewLoan,
    422,
    "A field breaks a rule (`errors`); the technician is not the station's, or the ticket is not dispatched to them or is another station's; a part is unknown (`suggestions`) or does not fit the ticket's unit (`compatible_alternatives`)",
    [
        InvalidTechnician => "there is no technician tech-zhou",
        TicketNotDispatched => "ticket 8 is not dispatched to tech-li",
        TicketOfAnotherStation => "ticket 8 is of ST-TZ-002, not of ST-TZ-001: parts go to the station that does the work"
            {"field": "ticket_id"},
        UnknownPartCode => "there is no part RF-CMP-001319; did you mean RF-CMP-00130B? (parts of model BCD-539WT)"
            {"line": 0, "field": "lines[0].part_code", "code": "RF-CMP-001319", "suggestions": ["RF-CMP-00130B"], "model": "BCD-539WT"},
        IncompatiblePart => "line 0: part RF-CMP-00417I does not fit model BCD-539WT of ticket 8; it takes RF-CMP-00130B"
            {"line": 0, "field": "lines[0].part_code", "code": "RF-CMP-00417I", "model": "BCD-539WT", "ticket_id": 8,
             "compatible_alternatives": [{"code": "RF-CMP-00130B", "name": "Compressor 1/6 HP",
                 "served_by": null, "available": 2, "source": "ST-TZ-001"}]},
    ]
);
crate::problems!(E409CoreReturn, 409, "The line is reconciled already, the ticket has had no visit yet or was settled already (its parts are final), or five wrong old parts were offered for the line (an admin records it)", [
    TicketTakesNoParts => "ticket 7 was settled in 2026-11: its parts used are final, so no part is fitted for it now; return the part unused"
        {"settled_in": "2026-11"},
    AlreadyReconciled => "loan line 1 is reconciled already (core_returned)" {"current_status": "core_returned"},
    CoreAttemptsExhausted => "5 wrong old parts were offered for loan line 1: an admin records its core return, having looked at the part"
        {"attempts_left": 0},
    NoVisitYet => "ticket 7 has had no visit yet (dispatched): a core is returned after the technician was on site"
        {"current_status": "dispatched"},
]);
crate::problems!(
    E422CoreReturn,
    422,
    "A field breaks a rule (`errors`); the ticket is out of warranty (reconcile by fee); the old part is not the one the unit's factory record holds, or the record has none to check",
    [
        ValidationFailed => "serial: give the old part's serial or its production_date, not both"
            {"errors": [{"field": "serial", "message": "give the old part's serial or its production_date, not both"}]},
        NotInWarranty => "ticket 7 is out of warranty: reconcile the line by fee",
        CoreMismatch => "the old CMP part (CMP0000000000) is not the one the unit's record holds; bring back the part taken out of the unit"
            {"given": "CMP0000000000", "attempts_left": 4},
        NoFactoryRecord => "the unit's factory record has no CMP component to check RF-CMP-00130B against",
        CoreQty => "a serialized part is core-returned one unit per loan line",
    ]
);
crate::problems!(E409Fee, 409, "The line is reconciled already, or its ticket was settled already (its parts are final)", [
    AlreadyReconciled => "loan line 2 is reconciled already (fee_charged)" {"current_status": "fee_charged"},
    TicketTakesNoParts => "ticket 7 was settled in 2026-11: its parts used are final, so no part is fitted for it now; return the part unused"
        {"settled_in": "2026-11"},
]);
crate::problems!(E422Fee, 422, "A field breaks a rule (`errors`), or the ticket is in warranty (reconcile by core return)", [
    ValidationFailed => "amount: must not be negative" {"errors": [{"field": "amount", "message": "must not be negative"}]},
    InWarranty => "ticket 7 is in warranty: reconcile the line by core return",
]);
crate::problems!(E409Unused, 409, "The line is reconciled already", [
    AlreadyReconciled => "loan line 1 is reconciled already (returned_unused)" {"current_status": "returned_unused"},
]);
crate::problems!(E404Inspection, 404, "No inspection of this id in the caller's sight", [
    NotFound => "inspection 6 not found",
]);
crate::problems!(E409Inspection, 409, "The inspection is decided already", [
    AlreadyInspected => "inspection 6 is decided already (passed)" {"current_status": "passed"},
]);

/// Serials stored with a loan line or an inspection (a JSON list), as the caller reads them:
/// to warehouse and admin users only (`Caller::sees_component_serials`), else none.
fn shown_serials(stored: Option<&str>, shown: bool) -> Vec<String> {
    stored.filter(|_| shown).and_then(|s| serde_json::from_str(s).ok()).unwrap_or_default()
}
