//! Inspections of parts returned unused, and their results.

use actix_web::{get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{E404Inspection, E409Inspection};
use crate::auth::{Caller, Role, Scope};
use crate::db::DbConn;
use crate::error::AppError;
use crate::http::docs::{E400, E401, E403, E415, E422};
use crate::http::Query;
use crate::http::{IdPage, Json, Page};
use crate::loans::rules::InspectionStatus;
use crate::loans::service;
use crate::loans::store::{self, InspectionRow};
use crate::network::store as network;
use crate::state::AppState;
use crate::validate::Validate;

#[derive(Debug, Serialize, ToSchema)]
pub struct InspectionOut {
    pub id: i64,
    pub station: String,
    pub loan_id: i64,
    pub line_no: i32,
    pub part_code: String,
    pub qty: i64,
    /// the returned units' serials, shown to warehouse and admin users only (empty for the
    /// other roles, as on a loan's lines)
    pub serials: Vec<String>,
    pub status: InspectionStatus,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub decided_by: Option<String>,
    pub decided_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The inspections as the caller reads them: the units' serials to warehouse and admin users
/// only, as a loan's lines show them.
fn inspection_view(
    conn: &mut DbConn,
    caller: &Caller,
    rows: Vec<InspectionRow>,
) -> Result<Vec<InspectionOut>, AppError> {
    let serials_shown = caller.sees_component_serials();
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
                serials: super::shown_serials(r.serials.as_deref(), serials_shown),
                status: r.status,
                created_at: r.created_at.and_utc(),
                decided_by: r.decided_by,
                decided_at: r.decided_at.map(|t| t.and_utc()),
            }
        })
        .collect())
}

#[derive(Debug, Deserialize, IntoParams, Validate)]
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
    responses((status = 200, description = "The page of inspections of returned parts, newest first", body = Page<InspectionOut>), E400, E401, E403, E422),
    security(("bearer" = ["admin", "station", "finance"]))
)]
#[get("/inspections")]
pub async fn list_inspections(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<InspectionQuery>,
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
            Ok(Page { items: inspection_view(conn, &caller, page.items)?, next_cursor: next })
        })
        .await?;
    Ok(web::Json(out))
}

/// The inspection's result.
#[derive(Debug, Deserialize, ToSchema, Validate)]
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
    params(("id" = i64, Path, description = "inspection id", example = 1)),
    request_body = InspectionResultIn,
    responses((status = 200, description = "The inspection decided: the part restocked or scrapped", body = InspectionOut), E400, E401, E403, E404Inspection, E409Inspection, E415, E422),
    security(("bearer" = ["admin", "station"]))
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
            Ok(inspection_view(conn, &caller, vec![row])?.remove(0))
        })
        .await?;
    Ok(web::Json(out))
}
