//! HTTP handlers of settlement: the period's settlement (JSON summary, or a streamed CSV or
//! XLSX file), adjustments and period close.

use actix_web::http::header;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::lines::{Sink, Spec};
use super::rules::{Line, Period, Totals};
use super::service::{self, Check, Closed};
use super::stream;
use crate::auth::{Caller, Role};
use crate::db::DbConn;
use crate::error::{AppError, FieldError};
use crate::http::docs::{E400, E401, E403, E404, E409, E415, E422};
use crate::http::Json;
use crate::http::Query;
use crate::money::Money;
use crate::network::rules::LocationKind;
use crate::network::store as network;
use crate::state::AppState;
use crate::validate::{not_blank, Validate};

/// Who posts adjustments and closes periods.
const FINANCE: &[Role] = &[Role::Finance, Role::Admin];

pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// An XLSX workbook: sheet `Settlement` (the rows of the CSV, header frozen) and sheet
/// `Reconciliation`. Only its schema is used: the body is streamed, never built.
pub struct XlsxFile;

impl utoipa::PartialSchema for XlsxFile {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, SchemaType, Type};
        ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::String))
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .description(Some("An XLSX workbook"))
            .into()
    }
}

impl ToSchema for XlsxFile {}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema, Validate)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Json,
    Csv,
    Xlsx,
}

#[derive(Debug, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SettlementQuery {
    /// the month, `YYYY-MM` (required; checked after the caller's role, so a role that may
    /// not read settlements always gets 403)
    #[param(pattern = r"^[2-9][0-9]{3}-(0[1-9]|1[0-2])$", example = "2026-11")]
    pub period: Option<String>,
    /// a station's code: its settlement only (a station user always gets its own)
    #[param(example = "ST-TZ-001", max_length = 64)]
    pub station: Option<String>,
    /// `csv` or `xlsx` for a file (as does `Accept: text/csv` or the XLSX media type)
    #[param(inline)]
    pub format: Option<Format>,
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

fn parse_period(s: &str, field: &str) -> Result<Period, AppError> {
    Period::parse(s).ok_or_else(|| {
        AppError::invalid_fields(vec![FieldError::new(field, "must be a month such as 2026-11 (YYYY-MM)")])
    })
}

/// The station a caller may see: finance and admin any (or all), a station its own only
/// (another's is 404); others 403.
fn station_scope(
    conn: &mut DbConn,
    caller: &Caller,
    asked: Option<&str>,
) -> Result<Option<(i64, String)>, AppError> {
    let not_found = |c: &str| AppError::not_found(format!("no station {c}"));
    match caller.role {
        Role::Finance | Role::Admin => match asked {
            None => Ok(None),
            Some(code) => {
                let row = network::by_code(conn, code)?
                    .filter(|r| r.kind == LocationKind::Station)
                    .ok_or_else(|| not_found(code))?;
                Ok(Some((row.id, row.code)))
            }
        },
        Role::Station => {
            let own = caller.location.clone().unwrap_or_default();
            if asked.is_some_and(|a| a != own) {
                return Err(not_found(asked.unwrap_or_default()));
            }
            let row = network::by_code(conn, &own)?
                .ok_or_else(|| AppError::forbidden("this user belongs to no location"))?;
            Ok(Some((row.id, row.code)))
        }
        _ => Err(AppError::forbidden(format!("the {} role may not read settlements", caller.role))),
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
/// reconciliation. A closed period is read from its snapshot and never changes; an open one
/// is computed live, and the period after the last closed one also takes late items.
#[utoipa::path(
    tag = "finance",
    params(SettlementQuery),
    responses(
        (status = 200, description = "The settlement", content(
            (SettlementOut = "application/json"),
            (String = "text/csv"),
            (XlsxFile = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        )),
        E400, E401, E403, E404, E422
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
    let asked = q.station.clone();
    let station = state.db.read(move |conn| station_scope(conn, &caller, asked.as_deref())).await?;
    let spec = Spec { period, station: station.as_ref().map(|s| s.0), now: now.naive_utc() };
    let scope = station.as_ref().map(|s| s.1.clone()).unwrap_or_else(|| "ALL".into());
    let name = format!("settlement-{period}-{scope}");
    match format {
        Format::Csv => Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}.csv\"")))
            .streaming(stream::csv(state.db.read.clone(), spec, scope))),
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

/// A correction to a station's settlement.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"station": "ST-TZ-001", "period": "2026-11", "amount": "-25.00",
    "reason": "duplicate labour claim on ticket 41"}))]
#[validate(rules = adjustment_rules)]
pub struct AdjustmentIn {
    #[schema(min_length = 1, max_length = 64)]
    pub station: String,
    /// the period it corrects, `YYYY-MM`; a closed period's adjustment lands in the next open one
    #[schema(pattern = r"^[2-9][0-9]{3}-(0[1-9]|1[0-2])$")]
    pub period: String,
    /// signed: positive pays the station, negative charges it; not zero
    pub amount: Money,
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": 1, "station": "ST-TZ-001", "requested_period": "2026-11", "period": "2026-12",
    "amount": "-25.00", "reason": "duplicate labour claim on ticket 41", "posted_by": "finance",
    "posted_at": "2026-12-03T09:00:00Z"}))]
pub struct AdjustmentOut {
    pub id: i64,
    pub station: String,
    pub requested_period: String,
    /// where it is settled: the requested period, or the next open one when that was closed
    pub period: String,
    pub amount: Money,
    pub reason: String,
    pub posted_by: String,
    pub posted_at: DateTime<Utc>,
}

fn adjustment_rules(a: &AdjustmentIn, _at: &str, errors: &mut Vec<FieldError>) {
    if Period::parse(&a.period).is_none() {
        errors.push(FieldError::new("period", "must be a month such as 2026-11 (YYYY-MM)"));
    }
    if a.amount.minor() == 0 {
        errors.push(FieldError::new("amount", "must not be zero"));
    }
    not_blank(errors, "reason", Some(&a.reason));
}

/// Post a settlement adjustment (finance, admin)
#[utoipa::path(
    tag = "finance",
    request_body = AdjustmentIn,
    responses((status = 201, body = AdjustmentOut), E400, E401, E403, E404, E415, E422),
    security(("bearer" = []))
)]
#[post("/settlements/adjustments")]
pub async fn post_adjustment(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<AdjustmentIn>,
) -> Result<HttpResponse, AppError> {
    caller.require(FINANCE)?;
    let a = body.0;
    let period = Period::parse(&a.period)
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("a checked period does not parse")))?;
    let reason = a.reason.trim().to_string();
    let now = state.clock.now();
    let out = state
        .db
        .write(move |conn| {
            let st = network::by_code(conn, &a.station)?
                .filter(|r| r.kind == LocationKind::Station)
                .ok_or_else(|| AppError::not_found(format!("no station {}", a.station)))?;
            let (id, landed) = service::adjust(
                conn,
                st.id,
                period,
                a.amount.minor(),
                &reason,
                &caller.username,
                now.naive_utc(),
            )?;
            Ok(AdjustmentOut {
                id,
                station: st.code,
                requested_period: period.to_string(),
                period: landed.to_string(),
                amount: a.amount,
                reason,
                posted_by: caller.username.clone(),
                posted_at: now,
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(out))
}

/// Close a period (finance, admin)
///
/// Freezes the period's lines into a snapshot: its figures and exports never change again,
/// and anything dated in it later (a late event, an adjustment) lands in the next open
/// period. Periods close once (409 `period_closed`), in order (409 `period_out_of_order`), and
/// only after they ended (422 `period_not_ended`).
#[utoipa::path(
    tag = "finance",
    params(("period" = String, Path, description = "the month, `YYYY-MM`", example = "2026-11",
        pattern = r"^[2-9][0-9]{3}-(0[1-9]|1[0-2])$")),
    responses((status = 200, body = Closed), E401, E403, E409, E422),
    security(("bearer" = []))
)]
#[post("/periods/{period}/close")]
pub async fn close_period(
    state: web::Data<AppState>,
    caller: Caller,
    period: web::Path<String>,
) -> Result<web::Json<Closed>, AppError> {
    caller.require(FINANCE)?;
    let period = parse_period(&period.into_inner(), "period")?;
    let now = state.clock.now();
    let out = state.db.write(move |conn| service::close(conn, period, &caller.username, now)).await?;
    Ok(web::Json(out))
}
