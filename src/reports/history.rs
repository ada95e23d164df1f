//! The weekly history of the network KPIs and a small SVG sparkline per KPI, for a trend one
//! can see at a glance.

use actix_web::{get, web, HttpRequest, HttpResponse};
use chrono::{Datelike, Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::kpis::compute_with;
use super::rules::Level;
use crate::auth::{Caller, Role};
use crate::db::DbConn;
use crate::error::{AppError, Problem};
use crate::http::docs::{E401, E403, E422};
use crate::http::Query;
use crate::state::AppState;
use crate::validate::Validate;

/// The KPIs that have a trend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Validate)]
#[serde(rename_all = "snake_case")]
pub enum Kpi {
    FillRateUnits,
    StockOutRate,
    OnTimeDelivery,
    RepairCycleMedianHours,
}

impl Kpi {
    pub const ALL: [Kpi; 4] =
        [Kpi::FillRateUnits, Kpi::StockOutRate, Kpi::OnTimeDelivery, Kpi::RepairCycleMedianHours];

    fn as_str(self) -> &'static str {
        match self {
            Kpi::FillRateUnits => "fill_rate_units",
            Kpi::StockOutRate => "stock_out_rate",
            Kpi::OnTimeDelivery => "on_time_delivery",
            Kpi::RepairCycleMedianHours => "repair_cycle_median_hours",
        }
    }
}

/// One ISO week of network figures.
#[derive(Debug, Serialize, ToSchema)]
pub struct WeekKpis {
    /// ISO week, e.g. 2026-W47
    pub week: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// request fill by units (`fill_rate.units` of the KPI report): requested units allocated
    /// from the first-choice source at request time, of the units requested
    pub fill_rate_units: Option<f64>,
    pub stock_out_rate: Option<f64>,
    pub on_time_delivery: Option<f64>,
    pub repair_cycle_median_hours: Option<f64>,
}

impl WeekKpis {
    fn value(&self, k: Kpi) -> Option<f64> {
        match k {
            Kpi::FillRateUnits => self.fill_rate_units,
            Kpi::StockOutRate => self.stock_out_rate,
            Kpi::OnTimeDelivery => self.on_time_delivery,
            Kpi::RepairCycleMedianHours => self.repair_cycle_median_hours,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KpiHistory {
    /// oldest first, ending with the current week
    pub weeks: Vec<WeekKpis>,
    /// a sparkline (SVG) per KPI
    pub sparklines: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    /// how many weeks, 1-52 (default 12)
    #[param(minimum = 1, maximum = 52)]
    pub weeks: Option<u32>,
}

#[derive(Debug, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SparklineQuery {
    /// default `fill_rate_units` (request fill by units, the KPI report's `fill_rate.units`)
    #[param(inline)]
    pub kpi: Option<Kpi>,
    /// how many weeks, 1-52 (default 12)
    #[param(minimum = 1, maximum = 52)]
    pub weeks: Option<u32>,
}

fn weeks_of(n: Option<u32>) -> Result<u32, AppError> {
    match n.unwrap_or(12) {
        w @ 1..=52 => Ok(w),
        w => Err(AppError::bad_request(Problem::InvalidQuery, format!("weeks must be 1-52, got {w}"))),
    }
}

/// The network KPIs of the last `weeks` ISO weeks up to `today`'s.
pub fn history(conn: &mut DbConn, today: NaiveDate, weeks: u32) -> Result<Vec<WeekKpis>, AppError> {
    let monday = today - Duration::days(today.weekday().num_days_from_monday() as i64);
    let mut out = Vec::new();
    for i in (0..weeks as i64).rev() {
        let from = monday - Duration::weeks(i);
        let to = from + Duration::days(6);
        let g = compute_with(conn, Level::Network, from, to, false)?;
        let g = g.first();
        let iso = from.iso_week();
        out.push(WeekKpis {
            week: format!("{}-W{:02}", iso.year(), iso.week()),
            from,
            to,
            fill_rate_units: g.and_then(|g| g.fill_rate.units.value),
            stock_out_rate: g.and_then(|g| g.stock_out_rate.value),
            on_time_delivery: g.and_then(|g| g.on_time_delivery.overall.value),
            repair_cycle_median_hours: g.and_then(|g| g.repair_cycle.all.median_hours),
        });
    }
    Ok(out)
}

/// A 120 x 30 sparkline of the values (gaps where a week has none); ratios on a 0-1 scale,
/// hours from 0 to the largest value.
pub fn sparkline(values: &[Option<f64>], ratio: bool) -> String {
    let (w, h) = (120.0, 30.0);
    let top = if ratio { 1.0 } else { values.iter().flatten().cloned().fold(0.0, f64::max).max(1.0) };
    let step = if values.len() > 1 { w / (values.len() - 1) as f64 } else { 0.0 };
    let mut segments: Vec<Vec<String>> = vec![Vec::new()];
    for (i, v) in values.iter().enumerate() {
        match v {
            Some(v) => segments.last_mut().unwrap().push(format!(
                "{:.1},{:.1}",
                i as f64 * step,
                h - 2.0 - (v / top) * (h - 4.0)
            )),
            None => segments.push(Vec::new()),
        }
    }
    let lines: String = segments
        .iter()
        .filter(|s| !s.is_empty())
        .map(|s| {
            format!(
                r##"<polyline fill="none" stroke="#1f6feb" stroke-width="1.5" points="{}"/>"##,
                s.join(" ")
            )
        })
        .collect();
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="120" height="30" viewBox="0 0 120 30">{lines}</svg>"#
    )
}

const READERS: [Role; 4] = [Role::Admin, Role::Finance, Role::Agent, Role::Warehouse];

/// The network's weekly history, for a caller who sees the whole network (403 otherwise).
async fn network_weeks(
    state: &web::Data<AppState>,
    caller: Caller,
    today: NaiveDate,
    weeks: u32,
) -> Result<Vec<WeekKpis>, AppError> {
    state
        .db
        .read(move |conn| {
            super::kpis::require_network(conn, &caller)?;
            history(conn, today, weeks)
        })
        .await
}

/// Weekly history of the network KPIs
///
/// For those who see the whole network: admins, finance, agents and the central warehouse's
/// staff (a centre's warehouse reads its own figures with `/reports/kpis`).
#[utoipa::path(tag = "reports", params(HistoryQuery), responses((status = 200, description = "Each KPI week by week, oldest first", body = KpiHistory), E400Weeks, E401, E403, E422), security(("bearer" = ["admin", "warehouse", "agent", "finance"])))]
#[get("/reports/kpis/history")]
pub async fn kpi_history(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<HistoryQuery>,
) -> Result<web::Json<KpiHistory>, AppError> {
    caller.require(&READERS)?;
    let weeks = weeks_of(query.weeks)?;
    let today = state.clock.now().date_naive();
    let weeks_out = network_weeks(&state, caller, today, weeks).await?;
    let sparklines = Kpi::ALL
        .iter()
        .map(|k| {
            (
                k.as_str().to_string(),
                format!("/api/v1/reports/kpis/sparkline?kpi={}&weeks={weeks}", k.as_str()),
            )
        })
        .collect();
    Ok(web::Json(KpiHistory { weeks: weeks_out, sparklines }))
}

/// A sparkline (SVG) of one KPI's weekly history
///
/// Of the network's history, for the same readers as `/reports/kpis/history`.
/// An `image/svg+xml` image, 120 x 30. A client that asks for `Accept:
/// application/octet-stream` only (as generated clients that keep no image type do) gets the
/// same SVG bytes under that type.
#[utoipa::path(tag = "reports", params(SparklineQuery),
    responses((status = 200, description = "A sparkline of the KPI over the weeks (SVG image)",
        content((String = "image/svg+xml"), (crate::http::FileBytes = "application/octet-stream"))),
        E400Weeks, E401, E403, E422),
    security(("bearer" = ["admin", "warehouse", "agent", "finance"])))]
#[get("/reports/kpis/sparkline")]
pub async fn kpi_sparkline(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    query: Query<SparklineQuery>,
) -> Result<HttpResponse, AppError> {
    caller.require(&READERS)?;
    let q = query.into_inner();
    let weeks = weeks_of(q.weeks)?;
    let today = state.clock.now().date_naive();
    let rows = network_weeks(&state, caller, today, weeks).await?;
    let kpi = q.kpi.unwrap_or(Kpi::FillRateUnits);
    let values: Vec<Option<f64>> = rows.iter().map(|w| w.value(kpi)).collect();
    let svg = sparkline(&values, kpi != Kpi::RepairCycleMedianHours);
    let bytes_only = crate::http::accepts(&req, "application/octet-stream")
        && !crate::http::accepts(&req, "image/svg+xml")
        && !crate::http::accepts(&req, "image/*");
    Ok(HttpResponse::Ok()
        .content_type(if bytes_only { "application/octet-stream" } else { "image/svg+xml" })
        .body(svg))
}

crate::problems!(E400Weeks, 400, "A query parameter does not parse, or weeks is not 1-52", [
    InvalidQuery => "invalid query parameters: weeks: between 1 and 52"
        {"errors": [{"field": "weeks", "message": "between 1 and 52"}]},
]);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparklines_scale_and_leave_gaps() {
        let svg = sparkline(&[Some(1.0), Some(0.5), None, Some(0.0)], true);
        assert!(svg.starts_with("<svg"));
        assert_eq!(svg.matches("<polyline").count(), 2, "{svg}");
        assert!(svg.contains("0.0,2.0 40.0,15.0"), "{svg}");
        assert!(svg.contains("120.0,28.0"), "{svg}");
    }
}
