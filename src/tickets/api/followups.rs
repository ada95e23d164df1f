//! `/follow-ups`: drawing the follow-up sample, the call list, call results; a station's
//! scorecard and the monthly statistic.

use std::collections::BTreeMap;

use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{E404FollowUp, E404FollowUpStation, E409FollowUp, E422Sample};
use crate::auth::{Caller, Role};
use crate::db::DbConn;
use crate::error::{AppError, FieldError};
use crate::http::docs::{E400, E401, E403, E415, E422};
use crate::http::Query;
use crate::http::{IdPage, Json, MaybeJson, Page};
use crate::network::store as network;
use crate::state::AppState;
use crate::tickets::followups::{self, CallResult, Conduct, FollowUpFilter, FollowUpRow, FollowUpStatus};
use crate::tickets::sla;
use crate::tickets::store;
use crate::validate::Validate;

/// Who makes and records the follow-up calls.
const CALLERS: &[Role] = &[Role::Agent, Role::Admin];
/// Who reads them: the callers, and finance (which reads all).
const READERS: &[Role] = &[Role::Agent, Role::Admin, Role::Finance];

/// A follow-up call to make, or made.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 3, "ticket_id": 7, "station": "ST-TZ-001", "technician": "tech-st-tz-001",
    "completed_at": "2026-11-20T10:00:00Z", "due_by": "2026-11-27T10:00:00Z", "status": "done",
    "satisfaction": 5, "technician_conduct": "good", "fee_reasonable": true, "note": null,
    "sampled_by": "agent", "sampled_at": "2026-11-21T08:00:00Z", "recorded_by": "agent",
    "recorded_at": "2026-11-22T09:15:00Z"
}))]
pub struct FollowUpOut {
    pub id: i64,
    pub ticket_id: i64,
    pub station: Option<String>,
    pub technician: Option<String>,
    /// when the ticket was completed
    pub completed_at: DateTime<Utc>,
    /// the call is due within 7 days of completion
    pub due_by: DateTime<Utc>,
    pub status: FollowUpStatus,
    pub satisfaction: Option<i32>,
    pub technician_conduct: Option<Conduct>,
    pub fee_reasonable: Option<bool>,
    pub note: Option<String>,
    pub sampled_by: String,
    pub sampled_at: DateTime<Utc>,
    pub recorded_by: Option<String>,
    pub recorded_at: Option<DateTime<Utc>>,
}

fn out(conn: &mut DbConn, rows: Vec<FollowUpRow>) -> Result<Vec<FollowUpOut>, AppError> {
    let locs = network::codes_of(conn, &rows.iter().filter_map(|r| r.station_id).collect::<Vec<_>>())?;
    let user_ids: Vec<i64> = rows.iter().filter_map(|r| r.technician_id).collect();
    let users: BTreeMap<i64, String> = store::usernames(conn, &user_ids)?.into_iter().collect();
    Ok(rows
        .into_iter()
        .map(|r| FollowUpOut {
            id: r.id,
            ticket_id: r.ticket_id,
            station: r.station_id.and_then(|s| locs.get(&s).cloned()),
            technician: r.technician_id.and_then(|u| users.get(&u).cloned()),
            completed_at: r.completed_at.and_utc(),
            due_by: r.due_by.and_utc(),
            status: r.status,
            satisfaction: r.satisfaction,
            technician_conduct: r.technician_conduct,
            fee_reasonable: r.fee_reasonable,
            note: r.note,
            sampled_by: r.sampled_by,
            sampled_at: r.sampled_at.and_utc(),
            recorded_by: r.recorded_by,
            recorded_at: r.recorded_at.map(|t| t.and_utc()),
        })
        .collect())
}

/// Options of a sampling run.
#[derive(Debug, Default, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"share": 0.05}))]
pub struct SampleIn {
    /// the share of completed tickets to call, 0.05-0.10; default `ECHELON_FOLLOWUP_SHARE`
    /// (5% unless configured)
    #[schema(minimum = 0.05, maximum = 0.1)]
    pub share: Option<f64>,
    /// makes the draw repeatable
    #[schema(minimum = 0)]
    pub seed: Option<i64>,
}

/// What a sampling run did.
#[derive(Debug, Serialize, ToSchema)]
pub struct SampleOut {
    /// completed tickets of the last 7 days that no earlier run considered
    pub considered: usize,
    /// the share applied, as a fraction
    pub share: f64,
    /// the follow-up tasks created
    pub created: Vec<FollowUpOut>,
}

/// Draw the follow-up sample (agent, admin)
///
/// Of the tickets completed (signed off or closed) in the last 7 days that no earlier run
/// considered, a random `share` (5-10%, rounded up, at least one when any) becomes follow-up
/// tasks. Every ticket considered is marked, so a daily run (also `echelon followups`) calls
/// each completed ticket at most once and keeps the share.
#[utoipa::path(
    tag = "tickets",
    request_body(content = Option<SampleIn>, description = "the share and a seed; both optional"),
    responses((status = 201, description = "The calls drawn for the month", body = SampleOut), E400, E401, E403, E415, E422Sample),
    security(("bearer" = ["admin", "agent"]))
)]
#[post("/follow-ups/sample")]
pub async fn sample(
    state: web::Data<AppState>,
    caller: Caller,
    body: MaybeJson<SampleIn>,
) -> Result<HttpResponse, AppError> {
    caller.require(CALLERS)?;
    let input = body.0.unwrap_or_default();
    if input.seed.is_some_and(|s| s < 0) {
        return Err(AppError::invalid_fields(vec![FieldError::new("seed", "0 or more")]));
    }
    let seed = input.seed.map(|s| s.unsigned_abs());
    let share_bp = match input.share {
        None => state.config.followup_share_bp,
        Some(f) => rust_decimal::Decimal::from_f64_retain(f).and_then(sla::share_bp).ok_or_else(|| {
            AppError::invalid_fields(vec![FieldError::new("share", "between 0.05 and 0.10")])
        })?,
    };
    let now = state.clock.now();
    let out = state
        .db
        .write_retrying(move |conn| {
            let run = followups::sample(conn, share_bp, seed, &caller.username, now)?;
            let rows = followups::by_ids(conn, &run.created)?;
            Ok(SampleOut {
                considered: run.considered,
                share: f64::from(share_bp) / 10_000.0,
                created: out(conn, rows)?,
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(out))
}

#[derive(Debug, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FollowUpQuery {
    pub status: Option<FollowUpStatus>,
    /// a station code
    #[param(max_length = 64)]
    pub station: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: IdPage,
}

/// List follow-up calls, newest first (agent, admin; finance reads them)
#[utoipa::path(
    tag = "tickets",
    params(FollowUpQuery, IdPage),
    responses((status = 200, description = "The page of follow-up calls, newest first", body = Page<FollowUpOut>), E400, E401, E403, E404FollowUpStation, E422),
    security(("bearer" = ["admin", "agent", "finance"]))
)]
#[get("/follow-ups")]
pub async fn list_follow_ups(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<FollowUpQuery>,
) -> Result<web::Json<Page<FollowUpOut>>, AppError> {
    caller.require(READERS)?;
    let q = query.into_inner();
    let page = q.page.request()?;
    let before = page.after_id()?;
    let result = state
        .db
        .read(move |conn| {
            let mut filter = FollowUpFilter { status: q.status, ..Default::default() };
            if let Some(code) = &q.station {
                // agents, admin and finance see the whole network
                let row = crate::network::station::filtered_on(conn, code, &crate::auth::Scope::All)?;
                filter.station_id = Some(row.id);
            }
            let rows = followups::list(conn, &filter, before, page.fetch())?;
            let page = page.page(rows, |r| r.id.to_string());
            let next = page.next_cursor;
            Ok(Page { items: out(conn, page.items)?, next_cursor: next })
        })
        .await?;
    Ok(web::Json(result))
}

/// What the customer said on the call.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"satisfaction": 4, "technician_conduct": "good", "fee_reasonable": true, "note": "fixed on the first visit"}))]
pub struct ResultIn {
    /// 1 (very dissatisfied) to 5 (very satisfied)
    #[schema(minimum = 1, maximum = 5)]
    pub satisfaction: i32,
    pub technician_conduct: Conduct,
    /// whether the fee charged was reasonable (null when nothing was charged)
    pub fee_reasonable: Option<bool>,
    #[schema(max_length = 2000)]
    pub note: Option<String>,
}

/// Record a follow-up call's result (agent, admin)
///
/// Once per call: a second result is 409 `already_recorded`.
#[utoipa::path(
    tag = "tickets",
    params(("id" = i64, Path, description = "follow-up id", example = 1001)),
    request_body = ResultIn,
    responses((status = 200, description = "The follow-up with its result recorded", body = FollowUpOut), E400, E401, E403, E404FollowUp, E409FollowUp, E415, E422),
    security(("bearer" = ["admin", "agent"]))
)]
#[post("/follow-ups/{id}/result")]
pub async fn record_result(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: Json<ResultIn>,
) -> Result<web::Json<FollowUpOut>, AppError> {
    caller.require(CALLERS)?;
    let id = id.into_inner();
    let input = body.0;
    let result = CallResult {
        satisfaction: input.satisfaction,
        conduct: input.technician_conduct,
        fee_reasonable: input.fee_reasonable,
        note: input.note,
    };
    let now = state.clock.now();
    let row = state
        .db
        .write_retrying(move |conn| {
            let row = followups::record(conn, id, &result, &caller.username, now)?;
            Ok(out(conn, vec![row])?.remove(0))
        })
        .await?;
    Ok(web::Json(row))
}
