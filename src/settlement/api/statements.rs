//! A period's settlement statements, as JSON or streamed as CSV or XLSX.

use actix_web::http::header;
use actix_web::{get, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Caller, Role};
use crate::error::AppError;
use crate::http::docs::{E400, E401, E403};
use crate::http::Query;
use crate::money::Money;
use crate::settlement::lines::{Sink, Spec};
use crate::settlement::rules::{Line, Totals};
use crate::settlement::service::{self, Check};
use crate::settlement::stream;
use crate::state::AppState;
use crate::validate::Validate;

use super::*;

#[derive(Debug, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SettlementQuery {
    /// the month, `YYYY-MM` (required; checked after the caller's role, so a role that may
    /// not read settlements always gets 403)
    #[param(pattern = r"^[2-9][0-9]{3}-(0[1-9]|1[0-2])$", example = "2026-11")]
    pub period: Option<String>,
    /// a station's code: its settlement only (a station user always gets its own); left out,
    /// every station the caller may see
    #[param(max_length = 64)]
    pub station: Option<String>,
    /// `csv` or `xlsx` for a file (as does `Accept: text/csv` or the XLSX media type)
    #[param(inline)]
    pub format: Option<Format>,
    /// CSV only: start the file with a UTF-8 byte-order mark, so that Excel reads Chinese text
    /// right (default `true`; `false` for tools that do not expect one)
    pub bom: Option<bool>,
}

/// A station's (or the network's) figures for the period.
#[derive(Debug, Serialize, ToSchema)]
pub struct Summary {
    /// the station's code; `null` in the network total
    pub station: Option<String>,
    pub lines: i64,
    pub tickets: i64,
    pub parts_qty: i64,
    /// paid to the station: in-warranty labour at the tier rate in force on each completion date
    pub labour: Money,
    /// owed by the station: out-of-warranty parts at sale price
    pub parts_sold: Money,
    /// shown, not in the net: in-warranty parts at company cost
    pub warranty_parts: Money,
    /// every part used on the period's tickets, at cost
    pub parts_at_cost: Money,
    /// owed by the station: overdue cores at cost, less those credited back
    pub overdue_cores: Money,
    /// signed adjustments posted by finance
    pub adjustments: Money,
    /// labour - parts sold - overdue cores + adjustments; positive: the company pays the station
    pub net_payable: Money,
}

fn summary(station: Option<String>, t: &Totals) -> Summary {
    Summary {
        station,
        lines: t.lines,
        tickets: t.tickets,
        parts_qty: t.parts_qty,
        labour: Money(t.labour),
        parts_sold: Money(t.parts_sold),
        warranty_parts: Money(t.warranty_parts),
        parts_at_cost: Money(t.parts_cost),
        overdue_cores: Money(t.overdue_cores),
        adjustments: Money(t.adjustments),
        net_payable: Money(t.net),
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"period": "2026-11", "status": "open", "closed_at": null, "station": null,
    "stations": [], "totals": {"station": null, "lines": 0, "tickets": 0, "parts_qty": 0, "labour": "0.00",
    "parts_sold": "0.00", "warranty_parts": "0.00", "parts_at_cost": "0.00", "overdue_cores": "0.00",
    "adjustments": "0.00", "net_payable": "0.00"}, "reconciliation": [], "balanced": true}))]
pub struct SettlementOut {
    pub period: String,
    /// `open` (computed live) or `closed` (read from the snapshot taken at close)
    pub status: String,
    pub closed_at: Option<DateTime<Utc>>,
    /// the station asked for, if any
    pub station: Option<String>,
    /// one summary per station with lines in the period, in code order
    pub stations: Vec<Summary>,
    pub totals: Summary,
    /// the totals checked against the tickets and the ledger's `consume` movements
    pub reconciliation: Vec<Check>,
    /// every check is ok
    pub balanced: bool,
}

struct Collect(Vec<Summary>);

impl Sink for Collect {
    fn line(&mut self, _: &Line) -> Result<(), AppError> {
        Ok(())
    }

    fn station(&mut self, code: &str, t: &Totals) -> Result<(), AppError> {
        self.0.push(summary(Some(code.to_string()), t));
        Ok(())
    }
}

fn wanted(req: &HttpRequest, format: Option<Format>) -> Format {
    if let Some(f) = format {
        return f;
    }
    if crate::http::accepts(req, "text/csv") {
        Format::Csv
    } else if crate::http::accepts(req, XLSX) {
        Format::Xlsx
    } else {
        Format::Json
    }
}

/// A period's settlement (finance, admin; a station its own)
///
/// Per station: in-warranty labour at the rate of the tier in force on each ticket's
/// completion date, out-of-warranty parts sold (owed at sale price), in-warranty parts (company
/// cost, shown), overdue cores at cost, adjustments, and the net payable (positive: the company
/// pays the station), with the reconciliation against the tickets and the ledger. JSON gives
/// the summaries; `format=csv|xlsx` (or `Accept: text/csv` / the XLSX type) streams a file with
/// a detail row per ticket or charge, a summary row per station, the total and the
/// reconciliation. The CSV starts with a UTF-8 byte-order mark (`bom=false` drops it) and a
/// text cell that a spreadsheet would take for a formula (starting with `=`, `+`, `-`, `@`, a
/// tab or a carriage return) is written with a leading `'`; the XLSX has its columns sized and
/// every amount and count a number. A closed period is read from its snapshot and never changes; an open one
/// is computed live, and the period after the last closed one also takes late items.
#[utoipa::path(
    tag = "finance",
    params(SettlementQuery),
    responses(
        (status = 200, description = "The month's settlement per station (JSON, CSV or XLSX)", content(
            (SettlementOut = "application/json"),
            (String = "text/csv"),
            (XlsxFile = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        )),
        E400, E401, E403, E404SettlementStation, E422Settlement
    ),
    security(("bearer" = []))
)]
#[get("/settlements")]
pub async fn settlements(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    query: Query<SettlementQuery>,
) -> Result<HttpResponse, AppError> {
    caller.require(&[Role::Finance, Role::Admin, Role::Station])?;
    let q = query.into_inner();
    let period = parse_period(q.period.as_deref().unwrap_or(""), "period")?;
    let format = wanted(&req, q.format);
    let now = state.clock.now();
    // a month that has not begun has nothing to settle: an empty "open" file would pass for one
    if period.first_day() > now.date_naive() {
        return Err(AppError::invalid_fields(vec![FieldError::new(
            "period",
            format!("{period} has not begun; nothing is settled before its month"),
        )]));
    }
    let asked = q.station.clone();
    let station = state.db.read(move |conn| station_scope(conn, &caller, asked.as_deref())).await?;
    let spec = Spec { period, station: station.as_ref().map(|s| s.0), now: now.naive_utc() };
    let scope = station.as_ref().map(|s| s.1.clone()).unwrap_or_else(|| "ALL".into());
    let name = format!("settlement-{period}-{scope}");
    match format {
        Format::Csv => Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}.csv\"")))
            .streaming(stream::csv(state.db.read.clone(), spec, scope, q.bom.unwrap_or(true)))),
        Format::Xlsx => Ok(HttpResponse::Ok()
            .content_type(XLSX)
            .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}.xlsx\"")))
            .streaming(stream::xlsx(state.db.read.clone(), spec, scope))),
        Format::Json => {
            let code = station.map(|s| s.1);
            let out = state
                .db
                .read(move |conn| {
                    let mut sink = Collect(Vec::new());
                    let (totals, sources) = service::export(conn, &spec, &mut sink)?;
                    let closed_at = service::closed_at(conn, period)?;
                    let reconciliation = service::checks(&totals, &sources);
                    Ok(SettlementOut {
                        period: period.to_string(),
                        status: if closed_at.is_some() { "closed" } else { "open" }.into(),
                        closed_at: closed_at.map(|t| t.and_utc()),
                        station: code,
                        stations: sink.0,
                        totals: summary(None, &totals),
                        balanced: reconciliation.iter().all(|c| c.ok),
                        reconciliation,
                    })
                })
                .await?;
            Ok(HttpResponse::Ok().json(out))
        }
    }
}
