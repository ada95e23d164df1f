//! `GET /api/v1/quality-alerts`: a part's failures in a model over the last N weeks against
//! its normal rate (the preceding 52 weeks' failures per unit-month in service) applied to the
//! installed base; an alert when the observed count exceeds the 99% Poisson upper bound of
//! the expected. Computed on demand.

use std::collections::BTreeMap;

use actix_web::{get, web};
use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::defects::{self, Filter};
use super::rules;
use crate::auth::{Caller, Role};
use crate::db::DbConn;
use crate::error::{AppError, FieldError};
use crate::http::docs::{E400, E401, E403};
use crate::http::Query;
use crate::state::AppState;
use crate::validate::Validate;

/// Weeks the normal rate is drawn from.
pub const BASELINE_WEEKS: i64 = 52;
/// The confidence of the upper bound.
pub const CONFIDENCE: f64 = 0.99;

#[derive(Debug, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AlertQuery {
    /// the recent window in weeks, ending today (default 4)
    #[param(minimum = 1, maximum = 26)]
    pub weeks: Option<u8>,
}

/// One alert, with its evidence.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QualityAlert {
    pub model: String,
    pub part_code: String,
    /// failures in the recent window
    pub observed: i64,
    /// normal rate x unit-months in service in the recent window
    pub expected: f64,
    /// the 99% Poisson upper bound of `expected`: an alert when `observed` exceeds it
    pub threshold: i64,
    /// failures per unit-month over the baseline window
    pub normal_rate: f64,
    pub baseline_failures: i64,
    pub baseline_unit_months: f64,
    pub recent_unit_months: f64,
    /// units of the model in service at the end of the window
    pub units: i64,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"from": "2026-10-27", "to": "2026-11-23", "baseline_from": "2025-10-28",
    "baseline_to": "2026-10-26", "weeks": 4, "confidence": 0.99, "alerts": []}))]
pub struct QualityAlerts {
    /// the recent window (inclusive days)
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// the baseline window: the 52 weeks before it
    pub baseline_from: NaiveDate,
    pub baseline_to: NaiveDate,
    pub weeks: i64,
    pub confidence: f64,
    pub alerts: Vec<QualityAlert>,
}

/// Evaluates every (model, part) with failures in the recent window ending `today`. A pair
/// without baseline failures has no normal rate to compare with and raises nothing.
pub fn evaluate(conn: &mut DbConn, today: NaiveDate, weeks: i64) -> Result<QualityAlerts, AppError> {
    let to = today;
    let from = to - Duration::days(7 * weeks - 1);
    let baseline_to = from - Duration::days(1);
    let baseline_from = from - Duration::days(7 * BASELINE_WEEKS);
    let all = Filter::default();
    let count = |rows: Vec<(String, String, String, i64)>| {
        let mut per: BTreeMap<(String, String), i64> = BTreeMap::new();
        for (m, p, _, n) in rows {
            *per.entry((m, p)).or_default() += n;
        }
        per
    };
    let recent = count(defects::failures(conn, from, to, &all)?);
    let past = count(defects::failures(conn, baseline_from, baseline_to, &all)?);
    let recent_base = defects::basis(conn, from, to, &all)?;
    let past_base = defects::basis(conn, baseline_from, baseline_to, &all)?;
    let mut alerts = Vec::new();
    for ((model, part), observed) in recent {
        let baseline_failures = past.get(&(model.clone(), part.clone())).copied().unwrap_or(0);
        let (_, baseline_um) = past_base.get(&model).copied().unwrap_or((0, 0.0));
        let (units, recent_um) = recent_base.get(&model).copied().unwrap_or((0, 0.0));
        if baseline_failures == 0 || baseline_um <= 0.0 {
            continue;
        }
        let normal_rate = baseline_failures as f64 / baseline_um;
        let expected = normal_rate * recent_um;
        let (threshold, alert) = rules::exceeds(observed, expected, CONFIDENCE);
        if alert {
            alerts.push(QualityAlert {
                model,
                part_code: part,
                observed,
                expected: rules::round(expected, 4),
                threshold,
                normal_rate: rules::round(normal_rate, 6),
                baseline_failures,
                baseline_unit_months: rules::round(baseline_um, 2),
                recent_unit_months: rules::round(recent_um, 2),
                units,
            });
        }
    }
    Ok(QualityAlerts { from, to, baseline_from, baseline_to, weeks, confidence: CONFIDENCE, alerts })
}

/// Quality alerts
///
/// A part whose failures in a model over the last `weeks` weeks (default 4) exceed the 99%
/// Poisson upper bound of what its normal rate (the 52 weeks before, per unit-month in
/// service) predicts for the installed base; each alert carries the observed and expected
/// counts and the threshold.
#[utoipa::path(
    tag = "reports",
    params(AlertQuery),
    responses((status = 200, description = "The quality alerts: part families failing above their usual rate", body = QualityAlerts), E400, E401, E403, E422Alerts),
    security(("bearer" = ["admin", "warehouse", "agent", "finance"]))
)]
#[get("/quality-alerts")]
pub async fn quality_alerts(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<AlertQuery>,
) -> Result<web::Json<QualityAlerts>, AppError> {
    caller.require(&[Role::Admin, Role::Agent, Role::Finance, Role::Warehouse])?;
    let weeks = i64::from(query.weeks.unwrap_or(4));
    if !(1..=26).contains(&weeks) {
        return Err(AppError::invalid_fields(vec![FieldError::new("weeks", "must be 1 to 26")]));
    }
    let today = state.clock.now().date_naive();
    Ok(web::Json(state.db.read(move |conn| evaluate(conn, today, weeks)).await?))
}

crate::problems!(E422Alerts, 422, "A query parameter breaks a rule; `errors` names it", [
    ValidationFailed => "weeks: must be 1 to 26" {"errors": [{"field": "weeks", "message": "must be 1 to 26"}]},
]);
