//! HTTP handlers of loans and inspections.

use actix_web::{get, post, web, HttpResponse};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::rules::{self, InspectionStatus, LineStatus, OldPart};
use super::service::{self, How, LendLine};
use super::store::{self, InspectionRow, LoanFilter, LoanRow};
use crate::auth::{Caller, Role, Scope};
use crate::db::DbConn;
use crate::error::{AppError, FieldError};
use crate::http::docs::{E400, E401, E403, E404, E409, E415, E422};
use crate::http::{IdPage, Json, MaybeJson, Page};
use crate::ledger::rules::check_qty;
use crate::money::Money;
use crate::network::store as network;
use crate::state::AppState;

pub const MAX_LINES: usize = 50;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoanLineIn {
    pub part_code: String,
    #[schema(minimum = 1, maximum = 100000)]
    pub qty: i64,
    /// one per unit of a serialized part; default: the station's serials in order
    #[serde(default)]
    pub serials: Vec<String>,
}

/// Parts lent to a technician for a ticket.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"technician": "tech-st-tz-001", "ticket_id": 1,
    "lines": [{"part_code": "RF-CMP-00130B", "qty": 1}]}))]
pub struct LoanIn {
    /// the technician's username (a technician of the station)
    pub technician: String,
    /// a ticket of the station dispatched to the technician
    pub ticket_id: i64,
    #[schema(min_items = 1, max_items = 50)]
    pub lines: Vec<LoanLineIn>,
}

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

fn validate(input: &LoanIn) -> Result<(), AppError> {
    let mut errors = Vec::new();
    if input.lines.is_empty() || input.lines.len() > MAX_LINES {
        errors.push(FieldError::new("lines", format!("give 1 to {MAX_LINES} lines")));
    }
    for (i, l) in input.lines.iter().enumerate() {
        if let Err(m) = check_qty(l.qty) {
            errors.push(FieldError::new(format!("lines[{i}].qty"), m));
        }
        if l.part_code.chars().count() > 64 {
            errors.push(FieldError::new(format!("lines[{i}].part_code"), "at most 64 characters"));
        }
    }
    if input.ticket_id <= 0 {
        errors.push(FieldError::new("ticket_id", "must be a ticket id"));
    }
    if input.technician.is_empty() || input.technician.len() > 64 {
        errors.push(FieldError::new("technician", "1-64 characters"));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::invalid_fields(errors))
    }
}

/// Lend parts to a technician (the station, or admin)
///
/// The parts move from the station to the technician's custody (`loan_out`), a location under
/// the station created on the first loan, so the station's allowance keeps counting them.
/// The ticket must be the station's and dispatched to the technician. Not enough stock: 409.
#[utoipa::path(
    tag = "loans",
    request_body = LoanIn,
    responses((status = 201, body = LoanOut), E400, E401, E403, E404, E409, E415, E422),
    security(("bearer" = []))
)]
#[post("/loans")]
pub async fn create_loan(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<LoanIn>,
) -> Result<HttpResponse, AppError> {
    caller.require(&[Role::Station, Role::Admin])?;
    let input = body.0;
    validate(&input)?;
    let now = state.clock.now();
    let out = state
        .db
        .write_retrying(move |conn| {
            let lines: Vec<LendLine> = input
                .lines
                .iter()
                .map(|l| LendLine { part_code: l.part_code.clone(), qty: l.qty, serials: l.serials.clone() })
                .collect();
            let id = service::lend(conn, &caller, &input.technician, input.ticket_id, &lines, now)?;
            one(conn, &caller, id, now.naive_utc())
        })
        .await?;
    Ok(HttpResponse::Created().json(out))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LoanQuery {
    /// only loans with a line open past the core-return days
    pub overdue: Option<bool>,
    /// a station code
    pub station: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: IdPage,
}

/// List loans, newest first
///
/// A technician sees their own, a station its own; admin and finance see all.
/// `overdue=true`: only loans with a line still open past the station tier's core-return days.
#[utoipa::path(
    tag = "loans",
    params(LoanQuery, IdPage),
    responses((status = 200, body = Page<LoanOut>), E400, E401, E403, E404),
    security(("bearer" = []))
)]
#[get("/loans")]
pub async fn list_loans(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<LoanQuery>,
) -> Result<web::Json<Page<LoanOut>>, AppError> {
    caller.require(&[Role::Admin, Role::Finance, Role::Station, Role::Technician])?;
    let q = query.into_inner();
    let page = q.page.request()?;
    let before = page.after_id()?;
    let now = state.clock.now().naive_utc();
    let out = state
        .db
        .read(move |conn| {
            let scope = Scope::of(conn, &caller)?;
            let mut filter = LoanFilter::default();
            if let Scope::Under { path } = &scope {
                filter.station_ids = Some(network::subtree_ids(conn, path)?);
            }
            if caller.role == Role::Technician {
                filter.technician_id = Some(caller.user_id);
            }
            if let Some(code) = &q.station {
                let row = network::by_code(conn, code)?
                    .filter(|r| scope.covers(&r.path))
                    .ok_or_else(|| AppError::not_found(format!("station {code} not found")))?;
                filter.station_ids = Some(vec![row.id]);
            }
            let overdue = q.overdue.unwrap_or(false);
            if overdue {
                filter.overdue_at = Some(now);
            }
            let rows = store::list(conn, &filter, before, page.fetch())?;
            let page = page.page(rows, |r| r.id.to_string());
            let next = page.next_cursor;
            let mut items = view(conn, page.items, now)?;
            if q.overdue == Some(false) {
                items.retain(|l| !l.overdue);
            }
            Ok(Page { items, next_cursor: next })
        })
        .await?;
    Ok(web::Json(out))
}

/// Read a loan
#[utoipa::path(
    tag = "loans",
    params(("id" = i64, Path, description = "loan id")),
    responses((status = 200, body = LoanOut), E401, E403, E404),
    security(("bearer" = []))
)]
#[get("/loans/{id}")]
pub async fn get_loan(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<LoanOut>, AppError> {
    caller.require(&[Role::Admin, Role::Finance, Role::Station, Role::Technician])?;
    let id = id.into_inner();
    let now = state.clock.now().naive_utc();
    let out = state.db.read(move |conn| one(conn, &caller, id, now)).await?;
    Ok(web::Json(out))
}

/// The old part brought back: its serial, or its production date when it has none.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"serial": "CMP6165341773"}))]
pub struct CoreReturnIn {
    pub serial: Option<String>,
    pub production_date: Option<NaiveDate>,
}

/// The fee collected; default: the part's price on the accepted quote, else its sale price,
/// times the quantity.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"amount": "620.50"}))]
pub struct FeeIn {
    pub amount: Option<Money>,
}

async fn reconcile(
    state: web::Data<AppState>,
    caller: Caller,
    path: (i64, i32),
    how: How,
) -> Result<web::Json<LoanOut>, AppError> {
    caller.require(&[Role::Admin, Role::Station, Role::Technician])?;
    let (id, line) = path;
    let now = state.clock.now();
    let out = state
        .db
        .write_retrying(move |conn| {
            service::reconcile(conn, &caller, id, line, how.clone(), now)?;
            one(conn, &caller, id, now.naive_utc())
        })
        .await?;
    Ok(web::Json(out))
}

/// Reconcile an in-warranty line by the old part
///
/// The old part's serial (or production date) must match the factory record of the ticket's
/// unit for the part's family; then the new part is consumed (custody -> CUSTOMER) and the old
/// one goes to DEFECTIVE (`core_return`) for defect analysis. A mismatch is refused (422 with
/// `expected` and `given`) and the line stays open. A line is reconciled once (409).
#[utoipa::path(
    tag = "loans",
    params(("id" = i64, Path, description = "loan id"), ("line" = i32, Path, description = "line number")),
    request_body = CoreReturnIn,
    responses((status = 200, body = LoanOut), E400, E401, E403, E404, E409, E415, E422),
    security(("bearer" = []))
)]
#[post("/loans/{id}/lines/{line}/core-return")]
pub async fn core_return(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(i64, i32)>,
    body: Json<CoreReturnIn>,
) -> Result<web::Json<LoanOut>, AppError> {
    let old = match (body.0.serial, body.0.production_date) {
        (Some(s), None) if !s.trim().is_empty() && s.len() <= 64 => OldPart::Serial(s),
        (None, Some(d)) => OldPart::ProductionDate(d),
        _ => {
            return Err(AppError::invalid_fields(vec![FieldError::new(
                "serial",
                "give the old part's serial (1-64 characters) or its production_date, not both",
            )]))
        }
    };
    reconcile(state, caller, path.into_inner(), How::Core(old)).await
}

/// Reconcile an out-of-warranty line by the fee
///
/// The part is consumed (custody -> CUSTOMER) and the fee recorded for settlement. A line is
/// reconciled once (409).
#[utoipa::path(
    tag = "loans",
    params(("id" = i64, Path, description = "loan id"), ("line" = i32, Path, description = "line number")),
    request_body(content = Option<FeeIn>, description = "the amount, when not the default"),
    responses((status = 200, body = LoanOut), E400, E401, E403, E404, E409, E415, E422),
    security(("bearer" = []))
)]
#[post("/loans/{id}/lines/{line}/fee")]
pub async fn fee(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(i64, i32)>,
    body: MaybeJson<FeeIn>,
) -> Result<web::Json<LoanOut>, AppError> {
    let amount = body.0.and_then(|b| b.amount).map(|m| m.0);
    if amount.is_some_and(|a| a < 0) {
        return Err(AppError::invalid_fields(vec![FieldError::new("amount", "must not be negative")]));
    }
    reconcile(state, caller, path.into_inner(), How::Fee(amount)).await
}

/// Reconcile a line by returning the part unused
///
/// The part leaves the technician's custody for QUARANTINE (`loan_return_unused`) and waits for
/// an inspection. A line is reconciled once (409).
#[utoipa::path(
    tag = "loans",
    params(("id" = i64, Path, description = "loan id"), ("line" = i32, Path, description = "line number")),
    responses((status = 200, body = LoanOut), E401, E403, E404, E409),
    security(("bearer" = []))
)]
#[post("/loans/{id}/lines/{line}/unused-return")]
pub async fn unused_return(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(i64, i32)>,
) -> Result<web::Json<LoanOut>, AppError> {
    reconcile(state, caller, path.into_inner(), How::Unused).await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InspectionOut {
    pub id: i64,
    pub station: String,
    pub loan_id: i64,
    pub line_no: i32,
    pub part_code: String,
    pub qty: i64,
    pub serials: Vec<String>,
    pub status: InspectionStatus,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub decided_by: Option<String>,
    pub decided_at: Option<chrono::DateTime<chrono::Utc>>,
}

fn inspection_view(conn: &mut DbConn, rows: Vec<InspectionRow>) -> Result<Vec<InspectionOut>, AppError> {
    use crate::db::schema::loan_lines;
    use diesel::prelude::*;
    let stations: Vec<i64> = rows.iter().map(|r| r.station_id).collect();
    let codes = network::codes_of(conn, &stations)?;
    let part_ids: Vec<i64> = rows.iter().map(|r| r.part_id).collect();
    let parts = crate::catalogue::store::parts::codes_of(conn, &part_ids)?;
    let line_ids: Vec<i64> = rows.iter().map(|r| r.loan_line_id).collect();
    let lines: std::collections::BTreeMap<i64, (i64, i32)> = loan_lines::table
        .filter(loan_lines::id.eq_any(line_ids))
        .select((loan_lines::id, loan_lines::loan_id, loan_lines::line_no))
        .load::<(i64, i64, i32)>(conn)?
        .into_iter()
        .map(|(id, loan, no)| (id, (loan, no)))
        .collect();
    Ok(rows
        .into_iter()
        .map(|r| {
            let (loan_id, line_no) = lines.get(&r.loan_line_id).copied().unwrap_or_default();
            InspectionOut {
                id: r.id,
                station: codes.get(&r.station_id).cloned().unwrap_or_default(),
                loan_id,
                line_no,
                part_code: parts.get(&r.part_id).cloned().unwrap_or_default(),
                qty: r.qty,
                serials: r.serials.as_deref().and_then(|s| serde_json::from_str(s).ok()).unwrap_or_default(),
                status: r.status,
                created_at: r.created_at.and_utc(),
                decided_by: r.decided_by,
                decided_at: r.decided_at.map(|t| t.and_utc()),
            }
        })
        .collect())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct InspectionQuery {
    pub status: Option<InspectionStatus>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: IdPage,
}

/// List inspections of unused returns, newest first
///
/// A station sees its own; admin and finance all.
#[utoipa::path(
    tag = "loans",
    params(InspectionQuery, IdPage),
    responses((status = 200, body = Page<InspectionOut>), E400, E401, E403),
    security(("bearer" = []))
)]
#[get("/inspections")]
pub async fn list_inspections(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<InspectionQuery>,
) -> Result<web::Json<Page<InspectionOut>>, AppError> {
    caller.require(&[Role::Admin, Role::Finance, Role::Station])?;
    let q = query.into_inner();
    let page = q.page.request()?;
    let before = page.after_id()?;
    let out = state
        .db
        .read(move |conn| {
            let ids = match Scope::of(conn, &caller)? {
                Scope::Under { path } => Some(network::subtree_ids(conn, &path)?),
                Scope::All => None,
            };
            let status = q.status.map(|s| s.as_str());
            let rows = store::list_inspections(conn, ids.as_deref(), status, before, page.fetch())?;
            let page = page.page(rows, |r| r.id.to_string());
            let next = page.next_cursor;
            Ok(Page { items: inspection_view(conn, page.items)?, next_cursor: next })
        })
        .await?;
    Ok(web::Json(out))
}

/// The inspection's result.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"passed": true}))]
pub struct InspectionResultIn {
    pub passed: bool,
}

/// Record an inspection's result (the station, or admin)
///
/// Passed: QUARANTINE -> the station (`inspection_pass`), back in stock. Failed:
/// QUARANTINE -> SCRAP (`inspection_scrap`). Once only (409).
#[utoipa::path(
    tag = "loans",
    params(("id" = i64, Path, description = "inspection id")),
    request_body = InspectionResultIn,
    responses((status = 200, body = InspectionOut), E400, E401, E403, E404, E409, E415, E422),
    security(("bearer" = []))
)]
#[post("/inspections/{id}/result")]
pub async fn inspection_result(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: Json<InspectionResultIn>,
) -> Result<web::Json<InspectionOut>, AppError> {
    caller.require(&[Role::Admin, Role::Station])?;
    let id = id.into_inner();
    let passed = body.0.passed;
    let now = state.clock.now();
    let out = state
        .db
        .write_retrying(move |conn| {
            let row = service::inspect(conn, &caller, id, passed, now)?;
            Ok(inspection_view(conn, vec![row])?.remove(0))
        })
        .await?;
    Ok(web::Json(out))
}
