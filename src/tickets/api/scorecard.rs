//! A station's scorecard (follow-up results and SLA compliance) and the monthly follow-up
//! statistic.

use actix_web::{get, web};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{E400Month, E404Scorecard};
use crate::auth::{Caller, Role, Scope};
use crate::error::{AppError, Problem};
use crate::http::docs::{E401, E403, E422};
use crate::http::Query;
use crate::network::rules::LocationKind;
use crate::network::store as network;
use crate::state::AppState;
use crate::tickets::followups::{self, CallSummary, FollowUpStatus, Period};
use crate::validate::Validate;

#[derive(Debug, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PeriodQuery {
    /// tickets taken in (and, for calls, completed) on or after this day
    #[serde(default, deserialize_with = "crate::http::date::opt_day")]
    pub from: Option<NaiveDate>,
    /// ... and on or before this day
    #[serde(default, deserialize_with = "crate::http::date::opt_day")]
    pub to: Option<NaiveDate>,
}

/// A station's service record.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "station": "ST-TZ-001", "tickets": 40, "sla_decided": 36, "sla_kept": 33, "sla_compliance_share": 0.9167,
    "results": 6, "average_satisfaction": 4.33, "poor_conduct_share": 0.0, "fee_reasonable_share": 1.0,
    "conduct": {"acceptable": 1, "good": 5, "poor": 0}
}))]
pub struct ScorecardOut {
    pub station: String,
    /// tickets of the station in the period
    pub tickets: usize,
    /// tickets whose time limits are decided (kept, or broken)
    pub sla_decided: usize,
    pub sla_kept: usize,
    /// kept / decided
    pub sla_compliance_share: Option<f64>,
    /// the follow-up call results (flattened: `results`, `average_satisfaction`, ...)
    #[serde(flatten)]
    pub calls: CallSummary,
}

/// The period of the query (checked by [`crate::validate::date_range`] first).
fn period(q: &PeriodQuery) -> Period {
    let midnight = |d: NaiveDate| d.and_time(chrono::NaiveTime::MIN);
    Period { from: q.from.map(midnight), to: q.to.and_then(|d| d.succ_opt()).map(midnight) }
}

/// A station's scorecard: follow-up results and SLA compliance
///
/// The station itself, agents, finance and admin read it; another station's is 404.
#[utoipa::path(
    tag = "tickets",
    params(("code" = String, Path, description = "station code", example = "ST-TZ-001"), PeriodQuery),
    responses((status = 200, description = "The station's scorecard for the month", body = ScorecardOut), E400Month, E401, E403, E404Scorecard, E422),
    security(("bearer" = ["admin", "station", "agent", "finance"]))
)]
#[get("/stations/{code}/scorecard")]
pub async fn scorecard(
    state: web::Data<AppState>,
    caller: Caller,
    code: web::Path<String>,
    query: Query<PeriodQuery>,
) -> Result<web::Json<ScorecardOut>, AppError> {
    caller.require(&[Role::Admin, Role::Agent, Role::Finance, Role::Station])?;
    let code = code.into_inner();
    // days a report reads, `from` not after `to`: a reversed or far-off range is a mistake to
    // say, not a period in which nothing happened
    crate::validate::date_range(query.from, query.to)?;
    let period = period(&query);
    let now = state.clock.now().naive_utc();
    let result = state
        .db
        .read(move |conn| {
            let scope = Scope::of(conn, &caller)?;
            let row = network::by_code(conn, &code)?
                .filter(|r| r.kind == LocationKind::Station && scope.covers(&r.path))
                .ok_or_else(|| AppError::not_found(format!("station {code} not found")))?;
            let (tickets, sla_decided, sla_kept) = followups::station_sla(conn, row.id, period, now)?;
            let results = followups::station_results(conn, row.id, period)?;
            Ok(ScorecardOut {
                station: row.code,
                tickets,
                sla_decided,
                sla_kept,
                sla_compliance_share: followups::compliance_share(sla_decided, sla_kept),
                calls: followups::summarise(&results),
            })
        })
        .await?;
    Ok(web::Json(result))
}

#[derive(Debug, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MonthQuery {
    /// `YYYY-MM`
    #[param(pattern = "^[0-9]{4}-(0[1-9]|1[0-2])$", example = "2026-11")]
    pub month: String,
}

/// One station's line of the monthly statistic.
#[derive(Debug, Serialize, ToSchema)]
pub struct StationMonthOut {
    pub station: Option<String>,
    #[serde(flatten)]
    pub calls: CallSummary,
}

/// The follow-up statistic of a month.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "month": "2026-11", "completed": 180, "sampled": 12, "sample_share": 0.0667, "pending": 2,
    "results": 10, "average_satisfaction": 4.4, "poor_conduct_share": 0.1, "fee_reasonable_share": 1.0,
    "conduct": {"acceptable": 2, "good": 7, "poor": 1},
    "stations": [{"station": "ST-TZ-001", "results": 4, "average_satisfaction": 4.75, "poor_conduct_share": 0.0,
                  "fee_reasonable_share": 1.0, "conduct": {"acceptable": 1, "good": 3, "poor": 0}}]
}))]
pub struct MonthStatsOut {
    pub month: String,
    /// tickets completed in the month
    pub completed: i64,
    /// of them drawn for a call
    pub sampled: usize,
    pub sample_share: Option<f64>,
    /// calls still to make
    pub pending: usize,
    #[serde(flatten)]
    pub calls: CallSummary,
    pub stations: Vec<StationMonthOut>,
}

/// The monthly follow-up statistic (agent, finance, admin)
///
/// Over the tickets completed in the month: how many were drawn for a call, and what the calls
/// said, overall and per station.
#[utoipa::path(
    tag = "tickets",
    params(MonthQuery),
    responses((status = 200, description = "The month's follow-up figures, overall and per station", body = MonthStatsOut), E400Month, E401, E403, E422),
    security(("bearer" = ["admin", "agent", "finance"]))
)]
#[get("/follow-ups/stats")]
pub async fn stats(
    state: web::Data<AppState>,
    caller: Caller,
    // the role is checked before the query: a caller without the role learns nothing of it
    query: Result<Query<MonthQuery>, actix_web::Error>,
) -> Result<web::Json<MonthStatsOut>, actix_web::Error> {
    caller.require(&[Role::Agent, Role::Finance, Role::Admin])?;
    let month = query?.into_inner().month;
    let bad = || AppError::bad_request(Problem::InvalidQuery, format!("month {month:?} is not YYYY-MM"));
    let first = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").map_err(|_| bad())?;
    if month.len() != 7 {
        return Err(bad().into());
    }
    let next = first.checked_add_months(chrono::Months::new(1)).ok_or_else(bad)?;
    let (from, to) =
        (first.and_hms_opt(0, 0, 0).unwrap_or_default(), next.and_hms_opt(0, 0, 0).unwrap_or_default());
    let result = state
        .db
        .read(move |conn| {
            let (completed, rows) = followups::month(conn, from, to)?;
            let done = |r: &followups::MonthRow| r.4 == FollowUpStatus::Done.as_str();
            let results = |pick: &dyn Fn(&followups::MonthRow) -> bool| {
                rows.iter()
                    .filter(|r| done(r) && pick(r))
                    .map(|r| (r.1, r.2.clone(), r.3))
                    .collect::<Vec<_>>()
            };
            let mut station_ids: Vec<Option<i64>> = rows.iter().filter(|r| done(r)).map(|r| r.0).collect();
            station_ids.sort_unstable();
            station_ids.dedup();
            let codes = network::codes_of(conn, &station_ids.iter().flatten().copied().collect::<Vec<_>>())?;
            let stations = station_ids
                .iter()
                .map(|sid| StationMonthOut {
                    station: sid.and_then(|s| codes.get(&s).cloned()),
                    calls: followups::summarise(&results(&|r| r.0 == *sid)),
                })
                .collect();
            let sampled = rows.len();
            Ok(MonthStatsOut {
                month: month.clone(),
                completed,
                sampled,
                sample_share: (completed > 0)
                    .then(|| (sampled as f64 / completed as f64 * 10_000.0).round() / 10_000.0),
                pending: rows.iter().filter(|r| !done(r)).count(),
                calls: followups::summarise(&results(&|_| true)),
                stations,
            })
        })
        .await?;
    Ok(web::Json(result))
}
