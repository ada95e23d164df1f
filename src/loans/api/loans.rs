//! Loans: parts lent to a technician for a ticket; list and read.

use actix_web::{get, post, web, HttpResponse};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Caller, Role, Scope};
use crate::error::AppError;
use crate::http::docs::{E400, E401, E403, E415, E422};
use crate::http::Query;
use crate::http::{IdPage, Json, Page};
use crate::loans::service::{self, LendLine};
use crate::loans::store::{self, LoanFilter};
use crate::network::store as network;
use crate::state::AppState;
use crate::validate::Validate;

use super::*;

/// Who may read loans (a station its own, a technician theirs).
const READERS: &[Role] = &[Role::Admin, Role::Finance, Role::Station, Role::Technician];

#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct LoanLineIn {
    #[schema(min_length = 1, max_length = 64)]
    pub part_code: String,
    #[schema(minimum = 1, maximum = 100000)]
    pub qty: i64,
    /// one per unit of a serialized part; default: the station's serials in order
    #[serde(default)]
    #[schema(max_items = 100000)]
    pub serials: Vec<String>,
}

/// Parts lent to a technician for a ticket.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"technician": "tech-st-tz-001", "ticket_id": 1011,
    "lines": [{"part_code": "RF-HNG-00162E", "qty": 1}]}))]
pub struct LoanIn {
    /// the technician's username (a technician of the station)
    #[schema(min_length = 1, max_length = 64)]
    pub technician: String,
    /// a ticket of the station dispatched to the technician
    #[schema(minimum = 1)]
    pub ticket_id: i64,
    #[schema(min_items = 1, max_items = 50)]
    pub lines: Vec<LoanLineIn>,
}

/// Lend parts to a technician (the station, the technician themselves, or admin)
///
/// The parts move from the station to the technician's custody (`loan_out`), a location under
/// the station created on the first loan, so the station's allowance keeps counting them.
/// The ticket is checked like a path id: unknown or out of the caller's sight 404 (a technician
/// sees their own tickets only), resolved or later, or paid work before its quote is accepted,
/// 409 `ticket_takes_no_parts`; another station's ticket 422 `ticket_of_another_station`; it
/// must be dispatched to the technician. Every line must fit the ticket unit's model: 422
/// `incompatible_part` naming the line, with the compatible alternatives and their stock at the
/// station. Not enough stock: 409. A station closed since (inactive) still lends for its
/// tickets: each is work already under way there, since no ticket is taken in or sent to an
/// inactive station.
#[utoipa::path(
    tag = "loans",
    request_body = LoanIn,
    responses((status = 201, description = "The loan made: the parts moved into the technician's custody", body = LoanOut), E400, E401, E403, E404NewLoan, E409NewLoan, E415, E422NewLoan),
    security(("bearer" = ["admin", "station", "technician"]))
)]
#[post("/loans")]
pub async fn create_loan(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<LoanIn>,
) -> Result<HttpResponse, AppError> {
    caller.require(&[Role::Station, Role::Technician, Role::Admin])?;
    let mut input = body.0;
    for l in &mut input.lines {
        crate::ledger::rules::in_capitals(&mut l.serials);
    }
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

#[derive(Debug, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LoanQuery {
    /// only loans with a line open past the core-return days
    pub overdue: Option<bool>,
    /// a station code
    #[param(max_length = 64)]
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
    responses((status = 200, description = "The page of loans in the caller's sight, newest first", body = Page<LoanOut>), E400, E401, E403, E404LoanStation, E422),
    security(("bearer" = ["admin", "station", "technician", "finance"]))
)]
#[get("/loans")]
pub async fn list_loans(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<LoanQuery>,
) -> Result<web::Json<Page<LoanOut>>, AppError> {
    caller.require(READERS)?;
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
                let row = crate::network::station::filtered_on(conn, code, &scope)?;
                filter.station_ids = Some(vec![row.id]);
            }
            let overdue = q.overdue.unwrap_or(false);
            if overdue {
                filter.overdue_at = Some(now);
            }
            let rows = store::list(conn, &filter, before, page.fetch())?;
            let page = page.page(rows, |r| r.id.to_string());
            let next = page.next_cursor;
            let mut items = view(conn, &caller, page.items, now)?;
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
    params(("id" = i64, Path, description = "loan id", example = 1)),
    responses((status = 200, description = "The loan, with its lines and how each is reconciled", body = LoanOut), E401, E403, E404Loan),
    security(("bearer" = ["admin", "station", "technician", "finance"]))
)]
#[get("/loans/{id}")]
pub async fn get_loan(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<LoanOut>, AppError> {
    caller.require(READERS)?;
    let id = id.into_inner();
    let now = state.clock.now().naive_utc();
    let out = state.db.read(move |conn| one(conn, &caller, id, now)).await?;
    Ok(web::Json(out))
}
