//! Station grading: regrading a station (kept as history, effective from a date), the tier in
//! force on a date, and what each tier allows (`PUT /tiers/{tier}`).

use std::collections::BTreeMap;

use actix_web::{get, put, web};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::api::{visible, Tier, TierOut};
use super::rules::{self, LocationKind, Regrade};
use super::store::{self, TierRow};
use crate::auth::{Caller, Role};
use crate::db::DbConn;
use crate::error::{AppError, FieldError, Problem};
use crate::http::docs::{E400, E401, E403, E415, E422};
use crate::http::Json;
use crate::http::Query;
use crate::money::Money;
use crate::state::AppState;
use crate::validate::{not_blank, Validate};

/// Roles that may read the location tree (as in `api.rs`).
const READERS: [Role; 6] =
    [Role::Admin, Role::Warehouse, Role::Station, Role::Technician, Role::Agent, Role::Finance];

/// How far ahead a regrading may be dated.
const MAX_DAYS_AHEAD: i64 = 366;

/// One grading of a station.
#[derive(Debug, Serialize, ToSchema)]
pub struct TierEntryOut {
    pub tier: Tier,
    pub effective_from: NaiveDate,
    pub reason: Option<String>,
    pub changed_by: Option<String>,
    pub changed_at: DateTime<Utc>,
}

/// A station's tier now and every grading it had.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "station": "ST-TZ-001", "tier": "B",
    "history": [{"tier": "B", "effective_from": "2026-11-23", "reason": "demo data", "changed_by": "seed",
                 "changed_at": "2026-11-23T08:00:00Z"}]
}))]
pub struct TierHistoryOut {
    pub station: String,
    /// the tier in force today
    pub tier: Option<Tier>,
    /// oldest first; an entry dated ahead takes effect on its date
    pub history: Vec<TierEntryOut>,
}

/// A visible station, or 404 (422 `not_a_station` for another kind of location).
fn station(conn: &mut DbConn, caller: &Caller, code: &str) -> Result<super::store::LocationRow, AppError> {
    let row = visible(conn, caller, code)?;
    if row.kind != LocationKind::Station {
        return Err(AppError::unprocessable(
            Problem::NotAStation,
            format!("{code} is a {}; only stations have tiers", row.kind),
        ));
    }
    Ok(row)
}

fn history_out(
    conn: &mut DbConn,
    row: &super::store::LocationRow,
    today: NaiveDate,
) -> Result<TierHistoryOut, AppError> {
    let history = store::tier_history(conn, row.id)?
        .into_iter()
        .map(|h| TierEntryOut {
            tier: h.tier,
            effective_from: h.effective_from,
            reason: h.reason,
            changed_by: h.changed_by,
            changed_at: h.changed_at.and_utc(),
        })
        .collect();
    let tier = store::tier_on(conn, row.id, today)?;
    Ok(TierHistoryOut { station: row.code.clone(), tier, history })
}

fn regrade_rules(r: &RegradeIn, _at: &str, errors: &mut Vec<FieldError>) {
    not_blank(errors, "reason", Some(&r.reason));
}

/// A regrading.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"tier": "A", "effective_from": "2026-12-01", "reason": "new workshop and two more technicians"}))]
#[validate(rules = regrade_rules)]
pub struct RegradeIn {
    pub tier: Tier,
    /// default today; a past date backdates the grading, a future one takes effect then
    #[serde(default, deserialize_with = "crate::http::date::opt_day")]
    pub effective_from: Option<NaiveDate>,
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

/// Regrade a station (admin)
///
/// Adds an entry to the station's tier history; the station's current tier changes when the
/// entry is in force today. Earlier entries are kept: settlement uses the tier on each date.
/// A regrading to the tier already in force on its date (a retried PUT among them) changes
/// nothing and answers 200 with the history as it is. The history keeps one entry a day: a
/// second regrading of a day replaces the day's entry (the day's last word decides it), and one
/// back to the tier in force before that day removes it.
#[utoipa::path(
    tag = "network",
    params(("code" = String, Path, description = "station code, e.g. ST-TZ-001", example = "ST-TZ-001")),
    request_body = RegradeIn,
    responses((status = 200, description = "The station's tier history with the new grade", body = TierHistoryOut), E400, E401, E403, E404Station, E409Regrade, E415, E422Regrade),
    security(("bearer" = ["admin"]))
)]
#[put("/locations/{code}/tier")]
pub async fn regrade_station(
    state: web::Data<AppState>,
    caller: Caller,
    code: web::Path<String>,
    body: Json<RegradeIn>,
) -> Result<web::Json<TierHistoryOut>, AppError> {
    caller.require(&[Role::Admin])?;
    let input = body.0;
    let now = state.clock.now();
    let today = now.date_naive();
    let from = input.effective_from.unwrap_or(today);
    if (from - today).num_days() > MAX_DAYS_AHEAD {
        return Err(AppError::invalid_fields(vec![FieldError::new(
            "effective_from",
            format!("at most {MAX_DAYS_AHEAD} days ahead"),
        )]));
    }
    let code = code.into_inner();
    let out = state
        .db
        .write(move |conn| {
            let row = station(conn, &caller, &code)?;
            // a closed month's figures never change: its labour was priced at the tier then
            if let Some(open) = store::first_unsettled_day(conn)?.filter(|open| from < *open) {
                return Err(AppError::conflict(
                    Problem::PeriodClosed,
                    format!(
                        "effective_from {from} falls in a month finance has closed; a regrading takes effect from {open} or later"
                    ),
                )
                .with("field", "effective_from")
                .with("earliest", open.to_string()));
            }
            // one entry a day at most, and none repeating the tier in force (`rules::regrade`)
            let history: Vec<_> =
                store::tier_history(conn, row.id)?.iter().map(|h| (h.effective_from, h.tier)).collect();
            let effect = rules::regrade(&history, from, input.tier);
            if effect == Regrade::Unchanged {
                return history_out(conn, &row, today);
            }
            if matches!(effect, Regrade::ReplaceDay | Regrade::DropDay) {
                store::drop_tier_day(conn, row.id, from)?;
            }
            if effect != Regrade::DropDay {
                store::record_tier(
                    conn,
                    row.id,
                    input.tier,
                    from,
                    Some(input.reason.trim()),
                    Some(&caller.username),
                    now.naive_utc(),
                )?;
            }
            store::apply_due_tiers(conn, today)?;
            history_out(conn, &row, today)
        })
        .await?;
    Ok(web::Json(out))
}

/// A station's tier history
#[utoipa::path(
    tag = "network",
    params(("code" = String, Path, description = "station code", example = "ST-TZ-001")),
    responses((status = 200, description = "The station's tier history, oldest first", body = TierHistoryOut), E401, E403, E404Station, E422Station),
    security(("bearer" = ["admin", "warehouse", "station", "technician", "agent", "finance"]))
)]
#[get("/locations/{code}/tier-history")]
pub async fn tier_history(
    state: web::Data<AppState>,
    caller: Caller,
    code: web::Path<String>,
) -> Result<web::Json<TierHistoryOut>, AppError> {
    caller.require(&READERS)?;
    let today = state.clock.now().date_naive();
    let code = code.into_inner();
    let out = state
        .db
        .read(move |conn| {
            let row = station(conn, &caller, &code)?;
            history_out(conn, &row, today)
        })
        .await?;
    Ok(web::Json(out))
}

#[derive(Debug, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TierOnQuery {
    /// the date (default today)
    #[serde(default, deserialize_with = "crate::http::date::opt_day")]
    pub on: Option<NaiveDate>,
}

/// The tier of a station on a date.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"station": "ST-TZ-001", "on": "2026-11-23", "tier": "B"}))]
pub struct TierOnOut {
    pub station: String,
    pub on: NaiveDate,
    /// `null` before the station's first grading
    pub tier: Option<Tier>,
}

/// The tier a station had on a date
#[utoipa::path(
    tag = "network",
    params(("code" = String, Path, description = "station code", example = "ST-TZ-001"), TierOnQuery),
    responses((status = 200, description = "The station's tier on the date asked", body = TierOnOut), E400, E401, E403, E404Station, E422Station),
    security(("bearer" = ["admin", "warehouse", "station", "technician", "agent", "finance"]))
)]
#[get("/locations/{code}/tier")]
pub async fn tier_on_date(
    state: web::Data<AppState>,
    caller: Caller,
    code: web::Path<String>,
    query: Query<TierOnQuery>,
) -> Result<web::Json<TierOnOut>, AppError> {
    caller.require(&READERS)?;
    let on = query.on.unwrap_or_else(|| state.clock.now().date_naive());
    let code = code.into_inner();
    let out = state
        .db
        .read(move |conn| {
            let row = station(conn, &caller, &code)?;
            let tier = store::tier_on(conn, row.id, on)?;
            Ok(TierOnOut { station: row.code, on, tier })
        })
        .await?;
    Ok(web::Json(out))
}

/// What a tier allows (all fields; this replaces the tier's terms).
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "credit_allowance": "90000.00", "may_order_from_hq": true, "allocation_priority": 2,
    "core_return_days": 15, "labour_rates": {"repair": "100.00", "install": "70.00", "maintenance": "50.00", "inspection": "35.00"}
}))]
#[validate(rules = tier_rules)]
pub struct TierIn {
    pub credit_allowance: Money,
    pub may_order_from_hq: bool,
    /// lower is served first when stock is short
    #[schema(minimum = 1, maximum = 99)]
    pub allocation_priority: i32,
    #[schema(minimum = 1, maximum = 365)]
    pub core_return_days: i32,
    /// job type -> rate, for every job type: repair, install, maintenance, inspection
    pub labour_rates: BTreeMap<String, Money>,
}

/// What a tier allows, beside its fields' limits (a body: `at` is empty).
fn tier_rules(t: &TierIn, _at: &str, errors: &mut Vec<FieldError>) {
    if t.credit_allowance.0 < 0 {
        errors.push(FieldError::new("credit_allowance", "must not be negative"));
    }
    // the whole rate set: a job type without a rate would be paid nothing in settlement
    let known = super::rules::JOB_TYPES.join(", ");
    for (job, rate) in &t.labour_rates {
        if !super::rules::JOB_TYPES.contains(&job.as_str()) {
            errors.push(FieldError::new(
                format!("labour_rates.{job}"),
                format!("not a job type; the job types are {known}"),
            ));
        } else if rate.0 < 0 {
            errors.push(FieldError::new(format!("labour_rates.{job}"), "must not be negative"));
        }
    }
    for job in super::rules::JOB_TYPES {
        if !t.labour_rates.contains_key(job) {
            errors.push(FieldError::new(
                format!("labour_rates.{job}"),
                "missing: every job type needs a rate (0.00 for none)",
            ));
        }
    }
}

/// Change what a tier allows (admin)
#[utoipa::path(
    tag = "network",
    params(("tier" = Tier, Path, description = "A, B, C or D", example = "B")),
    request_body = TierIn,
    responses((status = 200, description = "The tier as changed", body = TierOut), E400, E401, E403, E404Tier, E415, E422),
    security(("bearer" = ["admin"]))
)]
#[put("/tiers/{tier}")]
pub async fn update_tier(
    state: web::Data<AppState>,
    caller: Caller,
    tier: web::Path<String>,
    body: Json<TierIn>,
) -> Result<web::Json<TierOut>, AppError> {
    caller.require(&[Role::Admin])?;
    let tier = Tier::parse(&tier).ok_or_else(|| {
        AppError::not_found(format!("there is no tier {:?}; tiers are A, B, C, D", tier.as_str()))
    })?;
    let t = body.0;
    let now = state.clock.now().naive_utc();
    let out = state
        .db
        .write(move |conn| {
            let row = TierRow {
                tier,
                credit_allowance_minor: t.credit_allowance.0,
                may_order_from_hq: t.may_order_from_hq,
                allocation_priority: t.allocation_priority,
                core_return_days: t.core_return_days,
                updated_at: now,
            };
            let rates = t.labour_rates.iter().map(|(k, v)| (k.clone(), v.0)).collect();
            store::update_tier(conn, &row, &rates)?;
            Ok(TierOut {
                tier,
                credit_allowance: t.credit_allowance,
                may_order_from_hq: t.may_order_from_hq,
                allocation_priority: t.allocation_priority,
                core_return_days: t.core_return_days,
                labour_rates: t.labour_rates,
            })
        })
        .await?;
    Ok(web::Json(out))
}

// The refusals of the tier operations, each with its own example (`http::docs`).

crate::problems!(E404Station, 404, "No location of this code in the caller's sight", [
    NotFound => "location ST-TZ-404 not found",
]);
crate::problems!(E422Station, 422, "The location is not a station (only stations have tiers)", [
    NotAStation => "RC-HZ is a regional_centre; only stations have tiers",
]);
crate::problems!(E422Regrade, 422, "A field breaks a rule (`errors`), or the location is not a station", [
    ValidationFailed => "effective_from: at most 366 days ahead"
        {"errors": [{"field": "effective_from", "message": "at most 366 days ahead"}]},
    NotAStation => "RC-HZ is a regional_centre; only stations have tiers",
]);
crate::problems!(E409Regrade, 409, "The regrading would take effect in a month finance has closed", [
    PeriodClosed => "effective_from 2026-11-10 falls in a month finance has closed; a regrading takes effect from 2026-12-01 or later"
        {"field": "effective_from", "earliest": "2026-12-01"},
]);
crate::problems!(E404Tier, 404, "No tier of this name", [
    NotFound => "there is no tier \"E\"; tiers are A, B, C, D",
]);
