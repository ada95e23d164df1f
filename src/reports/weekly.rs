//! `GET /api/v1/reports/weekly`: the weekly service report (spec section 11) — tickets opened
//! in an ISO week by status, channel, category, model, fault and station; those resolved and
//! closed in it; SLA compliance; parts consumed and returned unused; follow-up satisfaction.
//! JSON, or CSV with `format=csv` or `Accept: text/csv`.

use actix_web::{get, web, HttpRequest, HttpResponse};
use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::rules::{self, Ratio};
use super::store::{self, Pair};
use crate::auth::{Caller, Role};
use crate::db::DbConn;
use crate::error::{AppError, FieldError};
use crate::http::docs::{E400, E401, E403, E406};
use crate::http::Query;
use crate::network::rules::LocationKind;
use crate::network::store::{self as network, LocationRow};
use crate::state::AppState;
use crate::validate::Validate;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema, Validate)]
#[serde(rename_all = "snake_case")]
pub enum ReportFormat {
    Json,
    Csv,
}

#[derive(Debug, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct WeeklyQuery {
    /// the ISO week, e.g. `2026-W48` (default: the current week)
    #[param(pattern = r"^[0-9]{4}-W[0-9]{2}$", example = "2026-W48")]
    pub week: Option<String>,
    /// `csv` for a CSV file (as does `Accept: text/csv`)
    #[param(inline)]
    pub format: Option<ReportFormat>,
    /// `false` leaves out the CSV's UTF-8 byte-order mark (default `true`: Excel then reads
    /// Chinese text right)
    pub bom: Option<bool>,
}

/// A count under a name.
#[derive(Debug, Serialize, ToSchema)]
pub struct Count {
    pub name: String,
    pub count: i64,
}

/// Tickets opened in the week, counted along each dimension.
#[derive(Debug, Serialize, ToSchema)]
pub struct Breakdown {
    /// the tickets' current status
    pub by_status: Vec<Count>,
    pub by_channel: Vec<Count>,
    pub by_category: Vec<Count>,
    pub by_model: Vec<Count>,
    /// the component family named at intake, else the fault text (trimmed, lower case)
    pub by_fault: Vec<Count>,
    /// the station's code, `-` when not yet dispatched
    pub by_station: Vec<Count>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Sla {
    /// of the tickets opened in the week with a response deadline, those answered by it
    pub answered_in_time: Ratio,
    /// of the tickets opened in the week with a resolution deadline, those resolved by it
    pub resolved_in_time: Ratio,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PartQty {
    pub part_code: String,
    pub qty: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Satisfaction {
    /// average score (1-5) of the follow-up calls recorded in the week; absent without any
    pub average: Option<f64>,
    pub count: i64,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"week": "2026-W48", "from": "2026-11-23", "to": "2026-11-29", "station": null,
    "opened": 0, "resolved": 0, "closed": 0}))]
pub struct WeeklyReport {
    pub week: String,
    /// Monday
    pub from: NaiveDate,
    /// Sunday
    pub to: NaiveDate,
    /// the station the report is limited to (a station's own report)
    pub station: Option<String>,
    pub opened: i64,
    pub resolved: i64,
    pub closed: i64,
    pub opened_by: Breakdown,
    pub sla: Sla,
    /// `consume` movements in the week, by part
    pub parts_consumed: Vec<PartQty>,
    /// `loan_return_unused` movements in the week, by part
    pub parts_returned_unused: Vec<PartQty>,
    pub satisfaction: Satisfaction,
}

fn counts(rows: Vec<Pair>) -> Vec<Count> {
    rows.into_iter().map(|r| Count { name: r.k, count: r.a }).collect()
}

fn parts(rows: Vec<Pair>) -> Vec<PartQty> {
    rows.into_iter().map(|r| PartQty { part_code: r.k, qty: r.a }).collect()
}

/// Computes the report of the week [start, end), for one station or all.
/// The part of the network a report counts: a location's subtree (a station with its
/// technicians' custody, or a warehouse user's centre or warehouse with everything below it).
pub struct Within {
    /// the subtree's location ids (never empty: the location itself is one)
    pub ids: Vec<i64>,
    /// the station's code when the subtree is a station's
    pub station: Option<String>,
}

impl Within {
    /// `location`'s subtree.
    pub fn subtree(conn: &mut DbConn, location: &LocationRow) -> Result<Within, AppError> {
        let mut ids = network::subtree_ids(conn, &location.path)?;
        if !ids.contains(&location.id) {
            ids.push(location.id);
        }
        let station = (location.kind == LocationKind::Station).then(|| location.code.clone());
        Ok(Within { ids, station })
    }
}

/// The report for `week` (starting `monday`), over `within` (None: the whole network).
pub fn compute(
    conn: &mut DbConn,
    week: &str,
    monday: NaiveDate,
    within: Option<Within>,
) -> Result<WeeklyReport, AppError> {
    let start: NaiveDateTime = monday.and_hms_opt(0, 0, 0).unwrap_or_default();
    let end = start + chrono::Duration::days(7);
    let w = [start, end];
    let list = within.as_ref().map(|x| x.ids.iter().map(i64::to_string).collect::<Vec<_>>().join(", "));
    let st = |col: &str| list.as_ref().map(|l| format!(" AND {col} IN ({l})")).unwrap_or_default();
    let tf = st("t.station_id");
    let opened = "FROM tickets t JOIN product_units u ON u.id = t.unit_id \
                  JOIN product_models pm ON pm.id = u.model_id LEFT JOIN locations l ON l.id = t.station_id \
                  WHERE t.created_at >= $1 AND t.created_at < $2";
    let mut by = |expr: &str| -> Result<Vec<Count>, AppError> {
        let sql = format!(
            "SELECT {expr} AS k, CAST(COUNT(*) AS BIGINT) AS a, CAST(0 AS BIGINT) AS b {opened}{tf} \
             GROUP BY 1 ORDER BY 1"
        );
        Ok(counts(store::pairs(conn, &sql, &w)?))
    };
    let opened_by = Breakdown {
        by_status: by("t.status")?,
        by_channel: by("t.channel")?,
        by_category: by("t.category")?,
        by_model: by("pm.code")?,
        by_fault: by("COALESCE(t.component_family, LOWER(TRIM(t.fault)))")?,
        by_station: by("COALESCE(l.code, '-')")?,
    };
    let count_in = |conn: &mut DbConn, col: &str| -> Result<i64, AppError> {
        let sql = format!(
            "SELECT 'n' AS k, CAST(COUNT(*) AS BIGINT) AS a, CAST(0 AS BIGINT) AS b FROM tickets t \
             WHERE t.{col} >= $1 AND t.{col} < $2{tf}"
        );
        Ok(store::pairs(conn, &sql, &w)?.first().map(|r| r.a).unwrap_or(0))
    };
    let opened_n = count_in(conn, "created_at")?;
    let resolved = count_in(conn, "resolved_at")?;
    let closed = count_in(conn, "closed_at")?;
    let sla = |conn: &mut DbConn, at: &str, by: &str| -> Result<Ratio, AppError> {
        let sql = format!(
            "SELECT 'n' AS k, \
               CAST(COALESCE(SUM(CASE WHEN t.{at} IS NOT NULL AND t.{at} <= t.{by} THEN 1 ELSE 0 END), 0) AS BIGINT) AS a, \
               CAST(COUNT(*) AS BIGINT) AS b \
             FROM tickets t WHERE t.created_at >= $1 AND t.created_at < $2 AND t.{by} IS NOT NULL{tf}"
        );
        Ok(store::pairs(conn, &sql, &w)?.first().map(|r| Ratio::new(r.a, r.b)).unwrap_or_default())
    };
    let sla = Sla {
        answered_in_time: sla(conn, "responded_at", "respond_by")?,
        resolved_in_time: sla(conn, "resolved_at", "resolve_by")?,
    };
    let moved = |conn: &mut DbConn, reason: &str, filter: &str| -> Result<Vec<PartQty>, AppError> {
        let sql = format!(
            "SELECT p.code AS k, CAST(COALESCE(SUM(m.qty), 0) AS BIGINT) AS a, CAST(0 AS BIGINT) AS b \
             FROM stock_movements_history m JOIN parts p ON p.id = m.part_id \
             WHERE m.reason = '{reason}' AND m.at >= $1 AND m.at < $2{filter} GROUP BY 1 ORDER BY 1"
        );
        Ok(parts(store::pairs(conn, &sql, &w)?))
    };
    let consumed = moved(conn, "consume", &st("m.from_location_id"))?;
    let returned_filter = list
        .as_ref()
        .map(|l| format!(" AND (m.from_location_id IN ({l}) OR m.to_location_id IN ({l}))"))
        .unwrap_or_default();
    let returned = moved(conn, "loan_return_unused", &returned_filter)?;
    let sql = format!(
        "SELECT 'n' AS k, CAST(COALESCE(SUM(f.satisfaction), 0) AS BIGINT) AS a, CAST(COUNT(*) AS BIGINT) AS b \
         FROM follow_ups f WHERE f.recorded_at >= $1 AND f.recorded_at < $2 AND f.satisfaction IS NOT NULL{}",
        st("f.station_id")
    );
    let (sum, n) = store::pairs(conn, &sql, &w)?.first().map(|r| (r.a, r.b)).unwrap_or((0, 0));
    Ok(WeeklyReport {
        week: week.to_string(),
        from: monday,
        to: monday + chrono::Duration::days(6),
        station: within.and_then(|x| x.station),
        opened: opened_n,
        resolved,
        closed,
        opened_by,
        sla,
        parts_consumed: consumed,
        parts_returned_unused: returned,
        satisfaction: Satisfaction {
            average: (n > 0).then(|| rules::round(sum as f64 / n as f64, 2)),
            count: n,
        },
    })
}

/// The report as CSV: one row per figure (`section,name,value,numerator,denominator`), after a
/// byte-order mark when `bom`; a name (a fault as the customer told it, a model, a station) that a
/// spreadsheet would run as a formula is neutralised.
pub fn to_csv(r: &WeeklyReport, bom: bool) -> Result<String, AppError> {
    let start = if bom { crate::http::sheet::BOM.as_bytes().to_vec() } else { Vec::new() };
    let mut w = csv::Writer::from_writer(start);
    let err = |e: csv::Error| AppError::internal(anyhow::anyhow!(e));
    let mut row = |section: &str, name: &str, value: String, num: String, den: String| {
        let name = crate::http::sheet::neutralised(name);
        w.write_record([section, &name, value.as_str(), num.as_str(), den.as_str()]).map_err(err)
    };
    row("section", "name", "value".into(), "numerator".into(), "denominator".into())?;
    row("week", &r.week, r.from.to_string(), String::new(), String::new())?;
    for (name, v) in [("opened", r.opened), ("resolved", r.resolved), ("closed", r.closed)] {
        row("tickets", name, v.to_string(), String::new(), String::new())?;
    }
    let b = &r.opened_by;
    for (section, list) in [
        ("status", &b.by_status),
        ("channel", &b.by_channel),
        ("category", &b.by_category),
        ("model", &b.by_model),
        ("fault", &b.by_fault),
        ("station", &b.by_station),
    ] {
        for c in list {
            row(section, &c.name, c.count.to_string(), String::new(), String::new())?;
        }
    }
    for (name, ratio) in
        [("answered_in_time", r.sla.answered_in_time), ("resolved_in_time", r.sla.resolved_in_time)]
    {
        let v = ratio.value.map(|v| v.to_string()).unwrap_or_default();
        row("sla", name, v, ratio.numerator.to_string(), ratio.denominator.to_string())?;
    }
    for p in &r.parts_consumed {
        row("parts_consumed", &p.part_code, p.qty.to_string(), String::new(), String::new())?;
    }
    for p in &r.parts_returned_unused {
        row("parts_returned_unused", &p.part_code, p.qty.to_string(), String::new(), String::new())?;
    }
    let avg = r.satisfaction.average.map(|v| v.to_string()).unwrap_or_default();
    row("satisfaction", "average", avg, String::new(), r.satisfaction.count.to_string())?;
    let bytes = w.into_inner().map_err(|e| AppError::internal(anyhow::anyhow!(e.to_string())))?;
    String::from_utf8(bytes).map_err(|e| AppError::internal(anyhow::anyhow!(e)))
}

/// The weekly service report
///
/// Tickets opened in an ISO week by status, channel, category, model, fault and station, those
/// resolved and closed in it, SLA compliance with numerators and denominators, parts consumed
/// and returned unused, follow-up satisfaction. A station sees its own tickets only, a
/// warehouse user those of its location's stations.
/// `format=csv` or `Accept: text/csv` for a CSV file.
#[utoipa::path(
    tag = "reports",
    params(WeeklyQuery),
    responses(
        (status = 200, description = "The weekly service report (JSON or CSV)", content(
            (WeeklyReport = "application/json"),
            (String = "text/csv")
        )),
        E400, E401, E403, E406, E422Weekly
    ),
    security(("bearer" = ["admin", "warehouse", "station", "agent", "finance"]))
)]
#[get("/reports/weekly")]
pub async fn weekly(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    query: Query<WeeklyQuery>,
) -> Result<HttpResponse, AppError> {
    caller.require(&[Role::Admin, Role::Agent, Role::Finance, Role::Warehouse, Role::Station])?;
    let q = query.into_inner();
    let week = q.week.unwrap_or_else(|| rules::week_of(state.clock.now().date_naive()));
    let (monday, _) = rules::iso_week(&week).ok_or_else(|| {
        AppError::invalid_fields(vec![FieldError::new("week", "must be an ISO week such as 2026-W48")])
    })?;
    let bom = q.bom.unwrap_or(true);
    let csv = match q.format {
        Some(f) => f == ReportFormat::Csv,
        None => crate::http::negotiate(&req, &["application/json", "text/csv"])? == 1,
    };
    let report = state
        .db
        .read(move |conn| {
            // a station counts its own tickets and stock, a warehouse user its location's
            // subtree (spec section 12: warehouse users are scoped to their location)
            let within = if matches!(caller.role, Role::Station | Role::Warehouse) {
                let code = caller.location.clone().unwrap_or_default();
                let own = network::by_code(conn, &code)?
                    .ok_or_else(|| AppError::forbidden("this user belongs to no location"))?;
                Some(Within::subtree(conn, &own)?)
            } else {
                None
            };
            compute(conn, &week, monday, within)
        })
        .await?;
    if csv {
        let name = format!("attachment; filename=\"weekly-{}.csv\"", report.week);
        Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((actix_web::http::header::CONTENT_DISPOSITION, name))
            .body(to_csv(&report, bom)?))
    } else {
        Ok(HttpResponse::Ok().json(report))
    }
}

crate::problems!(E422Weekly, 422, "The week is not an ISO week; `errors` names it", [
    ValidationFailed => "week: must be an ISO week such as 2026-W48"
        {"errors": [{"field": "week", "message": "must be an ISO week such as 2026-W48"}]},
]);
