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
    pub part_code: String,
    pub qty: i64,
    pub unit_cost: Money,
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
    "lines": [{"line_no": 1, "part_code": "RF-CMP-00130B", "qty": 1, "unit_cost": "365.20",
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

fn view(conn: &mut DbConn, rows: Vec<LoanRow>, now: chrono::NaiveDateTime) -> Result<Vec<LoanOut>, AppError> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let lines = store::lines(conn, &ids)?;
    let mut locs: Vec<i64> = rows.iter().flat_map(|r| [r.station_id, r.custody_id]).collect();
    locs.sort_unstable();
    locs.dedup();
    let codes = network::codes_of(conn, &locs)?;
    let techs: Vec<i64> = rows.iter().map(|r| r.technician_id).collect();
    let names = service::usernames(conn, &techs)?;
    let part_ids: Vec<i64> = lines.iter().map(|l| l.part_id).collect();
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
                    part_code: parts.get(&l.part_id).cloned().unwrap_or_default(),
                    qty: l.qty,
                    unit_cost: Money(l.unit_cost_minor),
                    serials: l
                        .serials
                        .as_deref()
                        .and_then(|s| serde_json::from_str(s).ok())
                        .unwrap_or_default(),
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
    Ok(view(conn, vec![row], now)?.remove(0))
}
