//! `GET /api/v1/reports/defects`: failures by model, part and cause from resolved tickets (the
//! parts used and the cause the technician recorded), and failure rates = failures / the
//! installed base's unit-months in service over the period. `failure_rates` is what planning
//! reads.

use std::collections::BTreeMap;

use actix_web::{get, web};
use chrono::{Duration, NaiveDate, NaiveDateTime};
use diesel::{QueryResult, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::rules;
use super::store;
use crate::auth::{Caller, Role};
use crate::db::DbConn;
use crate::error::{AppError, FieldError};
use crate::http::docs::{E400, E401, E403};
use crate::http::Query;
use crate::state::AppState;
use crate::validate::Validate;

/// Which models a query covers.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub line: Option<String>,
    pub model: Option<String>,
}

impl Filter {
    /// SQL conditions on `pm` (product_models), with placeholders numbered from `first`, and
    /// the values to bind to them, in order.
    fn sql(&self, first: usize) -> (String, Vec<&str>) {
        let mut out = String::new();
        let mut values = Vec::new();
        for (column, value) in [("line", &self.line), ("code", &self.model)] {
            if let Some(v) = value {
                out.push_str(&format!(" AND pm.{column} = ${}", first + values.len()));
                values.push(v.as_str());
            }
        }
        (out, values)
    }
}

/// Runs a report query returning `k, a, b`: the timestamps bound first, then the filter's
/// values (SQLite's placeholders are positional, so the SQL must use them in that order).
fn pairs(
    conn: &mut DbConn,
    sql: &str,
    times: &[NaiveDateTime],
    texts: &[&str],
) -> QueryResult<Vec<store::Pair>> {
    let text = crate::db::dialect_sql(conn, sql);
    crate::on_backend!(conn, |c| {
        let mut q = diesel::sql_query(text.as_ref()).into_boxed();
        for t in times {
            q = q.bind::<diesel::sql_types::Timestamp, _>(*t);
        }
        for v in texts {
            q = q.bind::<diesel::sql_types::Text, _>(*v);
        }
        q.load::<store::Pair>(c)
    })
}

/// Midnight at the start of `from` and after `to`: the timestamps of the days [from, to].
pub fn bounds(from: NaiveDate, to: NaiveDate) -> [NaiveDateTime; 2] {
    [
        from.and_hms_opt(0, 0, 0).unwrap_or_default(),
        (to + Duration::days(1)).and_hms_opt(0, 0, 0).unwrap_or_default(),
    ]
}

/// Failures (resolved tickets that used the part) per (model, part, cause) resolved on the
/// days [from, to].
pub fn failures(
    conn: &mut DbConn,
    from: NaiveDate,
    to: NaiveDate,
    filter: &Filter,
) -> QueryResult<Vec<(String, String, String, i64)>> {
    let (cond, values) = filter.sql(3);
    let sql = format!(
        "SELECT pm.code || '|' || p.code || '|' || COALESCE(t.cause, '-') AS k, \
           CAST(COUNT(DISTINCT t.id) AS BIGINT) AS a, CAST(0 AS BIGINT) AS b \
         FROM tickets t JOIN ticket_parts tp ON tp.ticket_id = t.id AND tp.kind = 'used' \
           JOIN parts p ON p.id = tp.part_id JOIN product_units u ON u.id = t.unit_id \
           JOIN product_models pm ON pm.id = u.model_id \
         WHERE t.resolved_at >= $1 AND t.resolved_at < $2{cond} GROUP BY 1 ORDER BY 1"
    );
    Ok(pairs(conn, &sql, &bounds(from, to), &values)?
        .into_iter()
        .filter_map(|r| {
            let mut it = r.k.splitn(3, '|');
            Some((it.next()?.to_string(), it.next()?.to_string(), it.next()?.to_string(), r.a))
        })
        .collect())
}

/// The installed base of each model: (units shipped by `to`, unit-months in service over the
/// days [from, to]).
pub fn basis(
    conn: &mut DbConn,
    from: NaiveDate,
    to: NaiveDate,
    filter: &Filter,
) -> QueryResult<BTreeMap<String, (i64, f64)>> {
    let (cond, values) = filter.sql(1);
    let sql = format!(
        "SELECT pm.code || '|' || CAST(u.ship_date AS TEXT) AS k, CAST(COUNT(*) AS BIGINT) AS a, \
           CAST(0 AS BIGINT) AS b \
         FROM product_units u JOIN product_models pm ON pm.id = u.model_id WHERE 1 = 1{cond} GROUP BY 1"
    );
    let mut out: BTreeMap<String, (i64, f64)> = BTreeMap::new();
    for r in pairs(conn, &sql, &[], &values)? {
        let Some((model, day)) = r.k.split_once('|') else { continue };
        let Ok(shipped) = day.get(..10).unwrap_or(day).parse::<NaiveDate>() else { continue };
        if shipped > to {
            continue;
        }
        let e = out.entry(model.to_string()).or_default();
        e.0 += r.a;
        e.1 += r.a as f64 * rules::unit_months(shipped, from, to);
    }
    Ok(out)
}

/// A part's failure rate in a model over a period.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FailureRate {
    pub model: String,
    pub part_code: String,
    pub failures: i64,
    /// units of the model shipped by the period's end
    pub units: i64,
    /// their months in service within the period (days x 12 / 365)
    pub unit_months: f64,
    /// failures per unit-month in service
    pub rate: Option<f64>,
}

/// Failure rates per (model, part) over the days [from, to]: what planning reads.
pub fn failure_rates(conn: &mut DbConn, from: NaiveDate, to: NaiveDate) -> QueryResult<Vec<FailureRate>> {
    rates(conn, from, to, &Filter::default())
}

fn rates(
    conn: &mut DbConn,
    from: NaiveDate,
    to: NaiveDate,
    filter: &Filter,
) -> QueryResult<Vec<FailureRate>> {
    let mut per: BTreeMap<(String, String), i64> = BTreeMap::new();
    for (model, part, _, n) in failures(conn, from, to, filter)? {
        *per.entry((model, part)).or_default() += n;
    }
    let base = basis(conn, from, to, filter)?;
    Ok(per
        .into_iter()
        .map(|((model, part_code), failures)| {
            let (units, um) = base.get(&model).copied().unwrap_or((0, 0.0));
            FailureRate {
                rate: rules::failure_rate(failures, um),
                model,
                part_code,
                failures,
                units,
                unit_months: rules::round(um, 2),
            }
        })
        .collect())
}

#[derive(Debug, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DefectQuery {
    /// first day (default: 364 days before `to`)
    #[serde(default, deserialize_with = "crate::http::date::opt_day")]
    pub from: Option<NaiveDate>,
    /// last day, inclusive (default: today)
    #[serde(default, deserialize_with = "crate::http::date::opt_day")]
    pub to: Option<NaiveDate>,
    /// only models of this product line
    #[param(min_length = 1, max_length = 32)]
    pub line: Option<String>,
    /// only this model
    #[param(min_length = 1, max_length = 64)]
    pub model: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CauseCount {
    pub cause: String,
    pub failures: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PartDefects {
    pub part_code: String,
    pub failures: i64,
    /// failures per unit-month in service
    pub failure_rate: Option<f64>,
    pub causes: Vec<CauseCount>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ModelDefects {
    pub model: String,
    /// the basis: units shipped by the period's end and their unit-months in service in it
    pub units: i64,
    pub unit_months: f64,
    pub parts: Vec<PartDefects>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"from": "2025-11-24", "to": "2026-11-23", "models": []}))]
pub struct DefectReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub models: Vec<ModelDefects>,
}

/// Defect analysis
///
/// Failures by model, part and cause from tickets resolved in the period (the parts used and
/// the recorded cause), with each part's failure rate = failures / unit-months in service of
/// the model's installed base over the period (the basis is shown).
#[utoipa::path(
    tag = "reports",
    params(DefectQuery),
    responses((status = 200, description = "The defects report: failures per part family and model over the date range", body = DefectReport), E400, E401, E403, E422Defects),
    security(("bearer" = ["admin", "warehouse", "agent", "finance"]))
)]
#[get("/reports/defects")]
pub async fn defects(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<DefectQuery>,
) -> Result<web::Json<DefectReport>, AppError> {
    caller.require(&[Role::Admin, Role::Agent, Role::Finance, Role::Warehouse])?;
    let q = query.into_inner();
    crate::validate::date_range(q.from, q.to)?;
    let to = q.to.unwrap_or_else(|| state.clock.now().date_naive());
    // a year by default, never before the first day a report reads
    let from = q.from.unwrap_or((to - Duration::days(364)).max(crate::validate::first_report_day()));
    if from > to {
        return Err(AppError::invalid_fields(vec![FieldError::new("from", "must not be after `to`")]));
    }
    // filters are codes: letters, digits and a few separators, which also keeps them inert in SQL
    let bad = |v: &Option<String>, max: usize| {
        v.as_ref().is_some_and(|s| {
            s.is_empty()
                || s.len() > max
                || !s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
        })
    };
    let mut errors = Vec::new();
    if bad(&q.line, 32) {
        errors.push(FieldError::new("line", "a product line code such as RF"));
    }
    if bad(&q.model, 64) {
        errors.push(FieldError::new("model", "a model code: letters, digits, '-', '_', '.', '/'"));
    }
    if !errors.is_empty() {
        return Err(AppError::invalid_fields(errors));
    }
    let filter = Filter { line: q.line, model: q.model };
    let report = state
        .db
        .read(move |conn| {
            // a model filtered on is one of the catalogue's, as everywhere a model is named
            let model = crate::catalogue::resolve::model_context(conn, filter.model.as_deref())?;
            let filter = Filter { line: filter.line.clone(), model: model.map(|m| m.code) };
            let rows = failures(conn, from, to, &filter)?;
            let base = basis(conn, from, to, &filter)?;
            let mut models: Vec<ModelDefects> = Vec::new();
            for (model, part, cause, n) in rows {
                if models.last().is_none_or(|m| m.model != model) {
                    let (units, um) = base.get(&model).copied().unwrap_or((0, 0.0));
                    models.push(ModelDefects {
                        model: model.clone(),
                        units,
                        unit_months: um,
                        parts: Vec::new(),
                    });
                }
                let Some(m) = models.last_mut() else { continue };
                if m.parts.last().is_none_or(|p| p.part_code != part) {
                    m.parts.push(PartDefects {
                        part_code: part,
                        failures: 0,
                        failure_rate: None,
                        causes: Vec::new(),
                    });
                }
                if let Some(p) = m.parts.last_mut() {
                    p.failures += n;
                    p.causes.push(CauseCount { cause, failures: n });
                }
            }
            for m in &mut models {
                for p in &mut m.parts {
                    p.failure_rate = rules::failure_rate(p.failures, m.unit_months);
                    p.causes.sort_by(|a, b| b.failures.cmp(&a.failures).then(a.cause.cmp(&b.cause)));
                }
                m.unit_months = rules::round(m.unit_months, 2);
            }
            Ok(DefectReport { from, to, models })
        })
        .await?;
    Ok(web::Json(report))
}

crate::problems!(E422Defects, 422, "A query parameter breaks a rule (`errors` names each), or the model filtered on is not in the catalogue", [
    ValidationFailed => "model: a model code: letters, digits, '-', '_', '.', '/'"
        {"errors": [{"field": "model", "message": "a model code: letters, digits, '-', '_', '.', '/'"}]},
    UnknownModel => "there is no product model \"BCD-999\"" {"model": "BCD-999"},
]);
