//! A period's settlement statements, as JSON or streamed as CSV or XLSX.

use actix_web::http::header;
use actix_web::{get, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Caller, Role};
use crate::error::AppError;
use crate::http::docs::{E400, E401, E403, E406};
use crate::http::Query;
use crate::money::Money;
use crate::settlement::export::Scope;
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
    /// the station's name; `null` in the network total
    pub station_name: Option<String>,
    pub lines: i64,
    pub tickets: i64,
    /// the parts fitted on the tickets (a core line's quantity, charged or credited back, is
    /// no part used and is not counted here)
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

fn summary(station: Option<(String, String)>, t: &Totals) -> Summary {
    let (station, station_name) = station.unzip();
    Summary {
        station,
        station_name,
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
#[schema(example = json!({"period": "2026-11", "status": "open", "status_detail": "open", "closed_at": null,
    "closed_by": null, "covered_by": null, "landed_in": null, "station": null,
    "stations": [], "totals": {"station": null, "station_name": null, "lines": 0, "tickets": 0, "parts_qty": 0,
    "labour": "0.00", "parts_sold": "0.00", "warranty_parts": "0.00", "parts_at_cost": "0.00",
    "overdue_cores": "0.00", "adjustments": "0.00", "net_payable": "0.00"}, "reconciliation": [],
    "balanced": true}))]
pub struct SettlementOut {
    pub period: String,
    /// `open` (computed live) or `closed` (read from the snapshot taken at close; also a month
    /// covered by a later close, see `covered_by`)
    pub status: String,
    /// the state in words, as the files' `period_status` column and the close's 409 say it:
    /// `open`, `closed at 2026-11-02T09:00:00Z by finance`, or for a covered month `closed as
    /// part of 2026-10 (closed at 2026-11-02T09:00:00Z by finance); its items are settled in
    /// 2026-11`
    pub status_detail: String,
    /// when it was closed (a covered month: when the close that covers it was made)
    pub closed_at: Option<DateTime<Utc>>,
    /// who closed it (a covered month: who made the close that covers it)
    pub closed_by: Option<String>,
    /// a month never closed itself but before a closed period: that close, the first after it.
    /// Its lines are none; its items landed in `landed_in`
    #[schema(example = "2026-10")]
    pub covered_by: Option<String>,
    /// a covered month: the period whose statement holds its items (the one after `covered_by`)
    #[schema(example = "2026-11")]
    pub landed_in: Option<String>,
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

    fn station(&mut self, code: &str, name: &str, t: &Totals) -> Result<(), AppError> {
        self.0.push(summary(Some((code.to_string(), name.to_string())), t));
        Ok(())
    }
}

/// `format=` when given, else what `Accept` prefers of JSON, CSV and XLSX (406 for none).
fn wanted(req: &HttpRequest, format: Option<Format>) -> Result<Format, AppError> {
    if let Some(f) = format {
        return Ok(f);
    }
    let i = crate::http::negotiate(req, &["application/json", "text/csv", XLSX])?;
    Ok([Format::Json, Format::Csv, Format::Xlsx][i])
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
/// is computed live, and the period after the last closed one also takes late items. A month
/// before the first closed one that was never closed itself is covered by that close: `closed`,
/// with `covered_by` and `landed_in` (the period whose statement holds its items), and no lines.
/// Every file row names the station beside its code (`station_name`) and carries the period's
/// state in words (`period_status`, the JSON's `status_detail`); an adjustment's row has the
/// period it corrects (`adjusts_period`) and its posting day (`posted_on`) beside `period`, the
/// one it landed in.
#[utoipa::path(
    tag = "finance",
    params(SettlementQuery),
    responses(
        (status = 200, description = "The month's settlement per station (JSON, CSV or XLSX)", content(
            (SettlementOut = "application/json", examples(
                ("open" = (summary = "An open month, computed live", value = json!({"period": "2026-11",
                    "status": "open", "status_detail": "open", "closed_at": null, "closed_by": null,
                    "covered_by": null, "landed_in": null, "station": "ST-TZ-001", "stations": [{"station": "ST-TZ-001",
                    "station_name": "Taizhou service station 1", "lines": 4, "tickets": 3, "parts_qty": 3,
                    "labour": "220.00", "parts_sold": "146.00", "warranty_parts": "365.20",
                    "parts_at_cost": "462.80", "overdue_cores": "0.00", "adjustments": "15.00",
                    "net_payable": "89.00"}], "totals": {"station": null, "station_name": null, "lines": 4,
                    "tickets": 3, "parts_qty": 3, "labour": "220.00", "parts_sold": "146.00",
                    "warranty_parts": "365.20", "parts_at_cost": "462.80", "overdue_cores": "0.00",
                    "adjustments": "15.00", "net_payable": "89.00"}, "reconciliation": [], "balanced": true}))),
                ("covered" = (summary = "A month covered by a later close: no lines, its items in landed_in",
                    value = json!({"period": "2026-09", "status": "closed", "status_detail":
                    "closed as part of 2026-10 (closed at 2026-11-02T09:00:00Z by finance); its items are settled in 2026-11",
                    "closed_at": "2026-11-02T09:00:00Z", "closed_by": "finance", "covered_by": "2026-10",
                    "landed_in": "2026-11", "station": null, "stations": [], "totals": {"station": null,
                    "station_name": null, "lines": 0, "tickets": 0, "parts_qty": 0, "labour": "0.00",
                    "parts_sold": "0.00", "warranty_parts": "0.00", "parts_at_cost": "0.00",
                    "overdue_cores": "0.00", "adjustments": "0.00", "net_payable": "0.00"},
                    "reconciliation": [], "balanced": true})))
            )),
            (String = "text/csv"),
            (XlsxFile = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        )),
        E400, E401, E403, E404SettlementStation, E406, E422Settlement
    ),
    security(("bearer" = ["admin", "station", "finance"]))
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
    let format = wanted(&req, q.format)?;
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
    let scope =
        station.as_ref().map(|s| Scope { code: s.1.clone(), name: s.2.clone() }).unwrap_or_else(Scope::all);
    let name = format!("settlement-{period}-{}", scope.code);
    match format {
        Format::Csv => Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}.csv\"")))
            .streaming(stream::csv(state.db.read_pool().await, spec, scope, q.bom.unwrap_or(true)))),
        Format::Xlsx => Ok(HttpResponse::Ok()
            .content_type(XLSX)
            .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}.xlsx\"")))
            .streaming(stream::xlsx(state.db.read_pool().await, spec, scope))),
        Format::Json => {
            let code = station.map(|s| s.1);
            let out = state
                .db
                .read(move |conn| {
                    let mut sink = Collect(Vec::new());
                    let (totals, sources) = service::export(conn, &spec, &mut sink)?;
                    let st = service::state(conn, period)?;
                    let reconciliation = service::checks(&totals, &sources);
                    Ok(SettlementOut {
                        period: period.to_string(),
                        status: st.status().into(),
                        status_detail: st.describe(),
                        closed_at: st.closed_at().map(|t| t.and_utc()),
                        closed_by: st.closed_by().map(str::to_string),
                        covered_by: st.covered_by().map(|p| p.to_string()),
                        landed_in: st.landed_in().map(|p| p.to_string()),
                        station: code.clone(),
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
