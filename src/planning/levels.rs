//! A run's levels (`GET /planning/runs/{id}/levels`): per (part, location) of the run's scope,
//! the levels it chose, the stock at the run, the demand rate it used and what that blends,
//! the pipeline, the expected backorders and fill (`review`), as JSON pages or streamed as a
//! CSV or XLSX file (the settlement export's streaming, formula-safe text and media types).

use std::collections::BTreeMap;
use std::io::{self, Write};

use actix_web::http::header;
use actix_web::{get, web, HttpRequest, HttpResponse};
use diesel::prelude::*;
use rust_xlsxwriter::{DocProperties, Format as CellFormat, Workbook, Worksheet};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::api::{visible_run, E404Run};
use super::review::{shown, Entry, Figures};
use super::store;
use crate::auth::{Caller, Role, Scope};
use crate::catalogue::resolve_part_code;
use crate::db::DbConn;
use crate::error::{AppError, FieldError, Problem};
use crate::http::docs::{E400, E401, E403, E406};
use crate::http::{KeyPage, Page, Query};
use crate::money::Money;
use crate::network::rules::LocationKind;
use crate::network::store as network;
use crate::settlement::api::{Format, XlsxFile, XLSX};
use crate::settlement::export::{neutralised, BOM};
use crate::settlement::stream;
use crate::state::AppState;
use crate::validate::Validate;

/// A location's echelon in the stocking tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Validate)]
#[serde(rename_all = "snake_case")]
pub enum Echelon {
    CentralWarehouse,
    RegionalCentre,
    Station,
}

impl Echelon {
    fn of(class: u8) -> Echelon {
        match class {
            0 => Echelon::CentralWarehouse,
            1 => Echelon::RegionalCentre,
            _ => Echelon::Station,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Echelon::CentralWarehouse => "central_warehouse",
            Echelon::RegionalCentre => "regional_centre",
            Echelon::Station => "station",
        }
    }
}

/// A station tier's letter from its class (`review::class_of`).
pub fn tier_of(class: u8) -> Option<&'static str> {
    ["A", "B", "C", "D"].get((class as usize).checked_sub(2)?).copied()
}

#[derive(Debug, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LevelQuery {
    /// one part's levels
    #[param(max_length = 64)]
    pub part_code: Option<String>,
    /// one location's levels (a stocking location in the caller's scope)
    #[param(max_length = 64)]
    pub location: Option<String>,
    pub echelon: Option<Echelon>,
    /// `csv` or `xlsx` for a file of every level that matches (as does `Accept: text/csv` or
    /// the XLSX media type); no pages
    #[param(inline)]
    pub format: Option<Format>,
    /// CSV only: start the file with a UTF-8 byte-order mark (default `true`)
    pub bom: Option<bool>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: KeyPage,
}

/// The levels' page parameters as the document shows them: those of every keyed list
/// (`KeyPage`, which reads them), with the cursor's form, `part_id:location_id`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct LevelPage {
    /// page size, 1-500 (default 50)
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
    /// `next_cursor` of the previous page
    #[param(pattern = "^[0-9]{1,18}:[0-9]{1,18}$")]
    cursor: Option<String>,
}

/// One (part, location) of a run: the levels it chose and what they give under its model.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"part_code": "RF-CMP-00417I", "location": "ST-TZ-001", "echelon": "station",
    "tier": "B", "reorder_point": 1, "order_up_to": 2, "on_hand": 0, "available": 0, "lead_days": 1,
    "unit_cost": "50.00", "stock_value": "100.00", "demand_rate": 0.0421, "history_rate": 0.0659,
    "causal_rate": 0.0303, "history_weight": 0.3327, "pipeline_mean": 0.0611, "pipeline_variance": 0.0733,
    "expected_backorders": 0.00011, "expected_fill": 0.9981}))]
pub struct LevelOut {
    pub part_code: String,
    pub location: String,
    pub echelon: Echelon,
    /// the station's tier at the run; `null` upstream
    pub tier: Option<String>,
    /// the location orders when its stock position falls to this or below (-1: it holds none
    /// and orders on demand)
    pub reorder_point: i64,
    /// ... up to this level (multi-echelon: one-for-one base stock, `reorder_point` + 1)
    pub order_up_to: i64,
    /// on hand at the run
    pub on_hand: i64,
    /// on hand less reserved at the run (with what is on order to a station, the position the
    /// proposals start from)
    pub available: i64,
    /// days from the location's supplier (the warehouse: the part's supplier lead time)
    pub lead_days: i64,
    pub unit_cost: Money,
    /// `order_up_to` at `unit_cost`
    pub stock_value: Money,
    /// units a day the run planned for: a station's estimate from `history_rate` and
    /// `causal_rate` (`history_weight` x history + (1 - `history_weight`) x causal, the
    /// Gamma-Poisson posterior mean; without a causal rate, the history rate); a centre's or
    /// the warehouse's, the sum of its stations'
    pub demand_rate: f64,
    /// units a day from the last 26 weeks of requests and consumption (each week's units
    /// discounted by 0.98 a week of age, over the days discounted the same way); upstream,
    /// summed over the stations
    pub history_rate: f64,
    /// units a day from failure rates x the installed base of the compatible models in the
    /// station's region x the station's share; `null` where the part has no installed base
    /// there; upstream, summed over the stations that have one
    pub causal_rate: Option<f64>,
    /// a station's weight of the history in its rate: T / (T + 1 / (cv2 x causal)), T the
    /// history's discounted days and cv2 the causal rates' squared relative error the run
    /// learned from the history (a slow mover leans on its causal rate, a fast one on its
    /// history); 1 without a causal rate or with one of zero; `null` upstream
    pub history_weight: Option<f64>,
    /// units due in to the location under the run's levels (VARI-METRIC): its own lead-time
    /// demand plus its share of its supplier's expected backorders
    pub pipeline_mean: f64,
    pub pipeline_variance: f64,
    /// expected units short at the location under these levels
    pub expected_backorders: f64,
    /// the model's fill at the location: the chance a demand at it (at a station, a
    /// customer's; upstream, an order of a location below) is served at once from the
    /// location's own shelf; at a station, its expected station fill
    pub expected_fill: f64,
}

/// What the levels are filtered on, resolved.
#[derive(Debug, Clone, Default)]
pub struct LevelFilter {
    pub run_id: i64,
    pub part_id: Option<i64>,
    pub location_id: Option<i64>,
    pub classes: Option<std::ops::RangeInclusive<u8>>,
}

impl LevelFilter {
    fn keeps(&self, e: &Entry) -> bool {
        self.location_id.is_none_or(|l| l == e.location_id())
            && self.classes.as_ref().is_none_or(|c| c.contains(&e.class()))
    }
}

fn bad_cursor() -> AppError {
    AppError::bad_request(
        Problem::InvalidQuery,
        "cursor is not a key of this list (use the next_cursor of the previous page)",
    )
}

/// `part_id:location_id`, the key of a level in the list's order.
fn parse_cursor(c: &str) -> Result<(i64, i64), AppError> {
    let (p, l) = c.split_once(':').ok_or_else(bad_cursor)?;
    Ok((p.parse().map_err(|_| bad_cursor())?, l.parse().map_err(|_| bad_cursor())?))
}

/// Rows of `planning_levels` read at a time.
const CHUNK: i64 = 200;

/// The levels after `after` that pass the filter, in (part id, location id) order, calling
/// `take` on each until it answers false.
fn scan(
    conn: &mut DbConn,
    f: &LevelFilter,
    after: Option<(i64, i64)>,
    mut take: impl FnMut(&mut DbConn, i64, Entry) -> Result<bool, AppError>,
) -> Result<(), AppError> {
    let mut from = after.map(|a| a.0);
    loop {
        let rows = store::levels(conn, f.run_id, f.part_id, from, CHUNK)?;
        for r in &rows {
            let entries: Vec<Entry> = serde_json::from_str(&r.levels).map_err(|e| {
                AppError::internal(anyhow::anyhow!("run {} part {}: {e}", r.run_id, r.part_id))
            })?;
            for e in entries {
                if after.is_some_and(|a| (r.part_id, e.location_id()) <= a) || !f.keeps(&e) {
                    continue;
                }
                if !take(conn, r.part_id, e)? {
                    return Ok(());
                }
            }
        }
        match rows.last() {
            Some(last) if rows.len() as i64 == CHUNK => from = Some(last.part_id + 1),
            _ => return Ok(()),
        }
    }
}

/// Part codes and unit costs by id.
fn parts_of(conn: &mut DbConn, ids: &[i64]) -> QueryResult<BTreeMap<i64, (String, i64)>> {
    use crate::db::schema::parts;
    let mut out = BTreeMap::new();
    for chunk in ids.chunks(500) {
        let rows: Vec<(i64, String, i64)> = parts::table
            .filter(parts::id.eq_any(chunk))
            .select((parts::id, parts::code, parts::unit_cost_minor))
            .load(conn)?;
        out.extend(rows.into_iter().map(|(id, code, cost)| (id, (code, cost))));
    }
    Ok(out)
}

/// The levels as the API shows them.
fn levels_out(
    conn: &mut DbConn,
    rows: Vec<(i64, Entry)>,
    weighing: Weighing,
) -> Result<Vec<LevelOut>, AppError> {
    let mut part_ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    part_ids.dedup();
    let mut loc_ids: Vec<i64> = rows.iter().map(|r| r.1.location_id()).collect();
    loc_ids.sort_unstable();
    loc_ids.dedup();
    let parts = parts_of(conn, &part_ids)?;
    let locs = network::codes_of(conn, &loc_ids)?;
    Ok(rows
        .into_iter()
        .map(|(part_id, e)| {
            let (code, cost) = parts.get(&part_id).cloned().unwrap_or_default();
            let station = e.class() >= 2;
            LevelOut {
                part_code: code,
                location: locs.get(&e.location_id()).cloned().unwrap_or_default(),
                echelon: Echelon::of(e.class()),
                tier: tier_of(e.class()).map(str::to_string),
                reorder_point: e.reorder() as i64,
                order_up_to: e.up_to() as i64,
                on_hand: e.on_hand(),
                available: e.available(),
                lead_days: e.lead_days() as i64,
                unit_cost: Money(cost),
                stock_value: Money(e.up_to().max(0) as i64 * cost),
                demand_rate: shown(e.7),
                history_rate: shown(e.8),
                causal_rate: e.9.map(shown),
                history_weight: station.then(|| weighing.of(e.causal())),
                pipeline_mean: shown(e.10),
                pipeline_variance: shown(e.11),
                expected_backorders: shown(e.12),
                expected_fill: shown(e.13),
            }
        })
        .collect())
}

/// How a run weighed a station's history against its causal rate.
#[derive(Debug, Clone, Copy)]
pub enum Weighing {
    /// per station, from the causal error the run learned and its history's days
    Learned { cv2: f64, days: f64 },
    /// one weight for every station (a run made before the weights were per station)
    Fixed(f64),
}

impl Weighing {
    fn of(self, causal: Option<f64>) -> f64 {
        match (self, causal) {
            (_, None) => 1.0,
            (Weighing::Learned { cv2, days }, c) => super::demand::history_weight(days, c, cv2),
            (Weighing::Fixed(w), Some(_)) => w,
        }
    }
}

/// The figures the run stored (none for a run made before levels were kept).
pub fn figures_of(run: &store::RunRow) -> Option<Figures> {
    run.figures.as_deref().and_then(|f| serde_json::from_str(f).ok())
}

/// Checks the run and the filters against the caller; returns the resolved filter and the
/// run's weighing of history against causal rates.
fn resolve(
    conn: &mut DbConn,
    caller: &Caller,
    id: i64,
    q: &LevelQuery,
) -> Result<(LevelFilter, Weighing), AppError> {
    let run = visible_run(conn, caller, id)?;
    let weight = match figures_of(&run) {
        Some(Figures { causal_cv2: Some(cv2), exposure_days: Some(days), .. }) => {
            Weighing::Learned { cv2, days }
        }
        Some(Figures { history_weight: Some(w), .. }) => Weighing::Fixed(w),
        _ => Weighing::Fixed(0.0),
    };
    let mut f = LevelFilter {
        run_id: run.id,
        classes: q.echelon.map(|e| match e {
            Echelon::CentralWarehouse => 0..=0,
            Echelon::RegionalCentre => 1..=1,
            Echelon::Station => 2..=5,
        }),
        ..LevelFilter::default()
    };
    if let Some(c) = &q.part_code {
        f.part_id = Some(resolve_part_code(conn, c, None)?.id);
    }
    if let Some(code) = &q.location {
        let scope = Scope::of(conn, caller)?;
        let row = network::by_code(conn, code)?.filter(|r| {
            scope.covers(&r.path)
                && matches!(
                    r.kind,
                    LocationKind::CentralWarehouse | LocationKind::RegionalCentre | LocationKind::Station
                )
        });
        let row = row.ok_or_else(|| {
            AppError::invalid_fields(vec![FieldError::new(
                "location",
                format!("{code} is no stocking location in the caller's scope"),
            )])
        })?;
        f.location_id = Some(row.id);
    }
    Ok((f, weight))
}

/// `format=` when given, else what `Accept` prefers of JSON, CSV and XLSX (406 for none).
fn wanted(req: &HttpRequest, format: Option<Format>) -> Result<Format, AppError> {
    if let Some(f) = format {
        return Ok(f);
    }
    let i = crate::http::negotiate(req, &["application/json", "text/csv", XLSX])?;
    Ok([Format::Json, Format::Csv, Format::Xlsx][i])
}

/// The columns of the files, the JSON's fields in their order.
pub const HEADER: [&str; 19] = [
    "part_code",
    "location",
    "echelon",
    "tier",
    "reorder_point",
    "order_up_to",
    "on_hand",
    "available",
    "lead_days",
    "unit_cost",
    "stock_value",
    "demand_rate",
    "history_rate",
    "causal_rate",
    "history_weight",
    "pipeline_mean",
    "pipeline_variance",
    "expected_backorders",
    "expected_fill",
];

enum Cell<'a> {
    Text(&'a str),
    Int(i64),
    Money(Money),
    Num(Option<f64>),
}

fn cells(l: &LevelOut) -> [Cell<'_>; 19] {
    [
        Cell::Text(&l.part_code),
        Cell::Text(&l.location),
        Cell::Text(l.echelon.as_str()),
        Cell::Text(l.tier.as_deref().unwrap_or("")),
        Cell::Int(l.reorder_point),
        Cell::Int(l.order_up_to),
        Cell::Int(l.on_hand),
        Cell::Int(l.available),
        Cell::Int(l.lead_days),
        Cell::Money(l.unit_cost),
        Cell::Money(l.stock_value),
        Cell::Num(Some(l.demand_rate)),
        Cell::Num(Some(l.history_rate)),
        Cell::Num(l.causal_rate),
        Cell::Num(l.history_weight),
        Cell::Num(Some(l.pipeline_mean)),
        Cell::Num(Some(l.pipeline_variance)),
        Cell::Num(Some(l.expected_backorders)),
        Cell::Num(Some(l.expected_fill)),
    ]
}

fn internal(e: impl std::fmt::Display) -> AppError {
    AppError::internal(anyhow::anyhow!("levels export: {e}"))
}

/// Every level that passes the filter, in pages of `CHUNK` parts, to `row`.
fn each_level(
    conn: &mut DbConn,
    f: &LevelFilter,
    weight: Weighing,
    mut row: impl FnMut(&LevelOut) -> Result<(), AppError>,
) -> Result<(), AppError> {
    let mut batch: Vec<(i64, Entry)> = Vec::new();
    let mut flush = |conn: &mut DbConn, batch: &mut Vec<(i64, Entry)>| -> Result<(), AppError> {
        for l in levels_out(conn, std::mem::take(batch), weight)? {
            row(&l)?;
        }
        Ok(())
    };
    scan(conn, f, None, |conn, part, e| {
        batch.push((part, e));
        if batch.len() >= 5000 {
            flush(conn, &mut batch)?;
        }
        Ok(true)
    })?;
    flush(conn, &mut batch)
}

/// The levels as CSV: `HEADER`, then a row per level (text cells formula-safe, money with two
/// places, rates as the JSON's numbers, an absent one empty).
pub fn write_csv<W: Write>(
    conn: &mut DbConn,
    f: &LevelFilter,
    weight: Weighing,
    mut out: W,
    bom: bool,
) -> Result<(), AppError> {
    if bom {
        out.write_all(BOM.as_bytes()).map_err(internal)?;
    }
    let mut w = csv::Writer::from_writer(out);
    w.write_record(HEADER).map_err(internal)?;
    each_level(conn, f, weight, |l| {
        let rec: Vec<String> = cells(l)
            .iter()
            .map(|c| match c {
                Cell::Text(t) => neutralised(t).into_owned(),
                Cell::Int(i) => i.to_string(),
                Cell::Money(m) => m.to_string(),
                Cell::Num(n) => n.map(|n| n.to_string()).unwrap_or_default(),
            })
            .collect();
        w.write_record(&rec).map_err(internal)
    })?;
    w.flush().map_err(internal)
}

fn xlsx_row(ws: &mut Worksheet, r: u32, l: &LevelOut, money: &CellFormat) -> Result<(), AppError> {
    for (c, cell) in cells(l).iter().enumerate() {
        let c = c as u16;
        match cell {
            Cell::Text("") | Cell::Num(None) => continue,
            Cell::Text(t) => ws.write_string(r, c, *t),
            Cell::Int(i) => ws.write_number(r, c, *i as f64),
            Cell::Money(m) => ws.write_number_with_format(r, c, m.0 as f64 / 100.0, money),
            Cell::Num(Some(n)) => ws.write_number(r, c, *n),
        }
        .map_err(internal)?;
    }
    Ok(())
}

/// The levels as an XLSX workbook at `path`: sheet `Levels`, the CSV's rows (header frozen,
/// numbers as numbers), written in constant-memory mode.
pub fn write_xlsx(
    conn: &mut DbConn,
    f: &LevelFilter,
    weight: Weighing,
    path: &std::path::Path,
) -> Result<(), AppError> {
    let mut wb = Workbook::new();
    wb.set_properties(&DocProperties::new().set_title(format!("echelon planning run {} levels", f.run_id)));
    let bold = CellFormat::new().set_bold();
    let money = CellFormat::new().set_num_format("#,##0.00");
    let ws = wb.add_worksheet_with_constant_memory();
    ws.set_name("Levels").map_err(internal)?;
    for (c, h) in HEADER.iter().enumerate() {
        let width = if c < 2 { 16.0 } else { h.len() as f64 + 2.0 };
        ws.set_column_width(c as u16, width).map_err(internal)?;
    }
    for (c, h) in HEADER.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold).map_err(internal)?;
    }
    ws.set_freeze_panes(1, 0).map_err(internal)?;
    let mut r = 1u32;
    each_level(conn, f, weight, |l| {
        xlsx_row(ws, r, l, &money)?;
        r += 1;
        Ok(())
    })?;
    wb.save(path).map_err(internal)
}

/// A planning run's levels
///
/// Every (part, location) of the run's scope it planned: a location with a level, with
/// demand, or holding stock of the part at the run (so a level shows even where stock is
/// above its reorder point and nothing was proposed). For each: the reorder point and
/// order-up-to level, on hand and available at the run, the demand rate the run used with its
/// history and causal parts and the blend's weight, the pipeline (mean and variance) those
/// levels leave the location facing, and the expected backorders and fill they give (the
/// VARI-METRIC model the multi-echelon policy plans with; a baseline level (s, S) is taken
/// with its stock position uniform over s+1..S). Ordered by part, then location (ids); the
/// cursor is `part_id:location_id`. Filters: `part_code`, `location`, `echelon`.
/// `format=csv|xlsx` (or `Accept: text/csv` / the XLSX type) streams every matching level as a
/// file with the JSON's fields as columns, no pages: the CSV starts with a UTF-8 byte-order
/// mark (`bom=false` drops it) and a text cell a spreadsheet would take for a formula gets a
/// leading `'`. A run made before levels were kept lists none.
#[utoipa::path(
    tag = "planning",
    params(("id" = i64, Path, description = "run id", example = 1002), LevelQuery, LevelPage),
    responses(
        (status = 200, description = "The run's levels (a JSON page, or a CSV or XLSX file of them all)", content(
            (Page<LevelOut> = "application/json", example = json!({"items": [{"part_code": "RF-CMP-00417I",
                "location": "ST-TZ-001", "echelon": "station", "tier": "B", "reorder_point": 1,
                "order_up_to": 2, "on_hand": 0, "available": 0, "lead_days": 1, "unit_cost": "50.00",
                "stock_value": "100.00", "demand_rate": 0.0421, "history_rate": 0.0659,
                "causal_rate": 0.0303, "history_weight": 0.3327, "pipeline_mean": 0.0611,
                "pipeline_variance": 0.0733, "expected_backorders": 0.00011, "expected_fill": 0.9981}],
                "next_cursor": "417:12"})),
            (String = "text/csv"),
            (XlsxFile = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        )),
        E400, E401, E403, E404Run, E406, E422Levels
    ),
    security(("bearer" = ["admin", "warehouse", "finance"]))
)]
#[get("/planning/runs/{id}/levels")]
pub async fn list_levels(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<i64>,
    query: Query<LevelQuery>,
) -> Result<HttpResponse, AppError> {
    caller.require(&[Role::Admin, Role::Warehouse, Role::Finance])?;
    let id = id.into_inner();
    let q = query.into_inner();
    let page = q.page.request()?;
    let after = page.after.as_deref().map(parse_cursor).transpose()?;
    let format = wanted(&req, q.format)?;
    let (filter, weight) = {
        let q = LevelQuery { page: KeyPage::default(), ..q };
        state.db.read(move |conn| resolve(conn, &caller, id, &q)).await?
    };
    let name = format!("planning-run-{id}-levels");
    let attachment =
        |ext: &str| (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}.{ext}\""));
    match format {
        Format::Csv => {
            let bom = q.bom.unwrap_or(true);
            let body = stream::spawn(state.db.read_pool().await, move |conn, mut w| {
                write_csv(conn, &filter, weight, &mut w, bom)?;
                w.flush().map_err(internal)
            });
            Ok(HttpResponse::Ok()
                .content_type("text/csv; charset=utf-8")
                .insert_header(attachment("csv"))
                .streaming(body))
        }
        Format::Xlsx => {
            let body = stream::spawn(state.db.read_pool().await, move |conn, mut w| {
                let io = |e: io::Error| internal(e);
                let file = tempfile::Builder::new()
                    .prefix("echelon-levels-")
                    .suffix(".xlsx")
                    .tempfile()
                    .map_err(io)?;
                write_xlsx(conn, &filter, weight, file.path())?;
                let mut f = file.reopen().map_err(io)?;
                io::copy(&mut f, &mut w).map_err(io)?;
                w.flush().map_err(io)
            });
            Ok(HttpResponse::Ok().content_type(XLSX).insert_header(attachment("xlsx")).streaming(body))
        }
        Format::Json => {
            let out = state
                .db
                .read(move |conn| {
                    let mut rows = Vec::new();
                    let fetch = page.fetch() as usize;
                    scan(conn, &filter, after, |_, part, e| {
                        rows.push((part, e));
                        Ok(rows.len() < fetch)
                    })?;
                    let page = page.page(rows, |(part, e)| format!("{part}:{}", e.location_id()));
                    let next = page.next_cursor;
                    Ok(Page { items: levels_out(conn, page.items, weight)?, next_cursor: next })
                })
                .await?;
            Ok(HttpResponse::Ok().json(out))
        }
    }
}

crate::problems!(
    E422Levels,
    422,
    "A filter names no stocking location in the caller's scope (`errors`), or no part (`suggestions`)",
    [
        ValidationFailed => "location: NO-SUCH is no stocking location in the caller's scope"
            {"errors": [{"field": "location", "message": "NO-SUCH is no stocking location in the caller's scope"}]},
        UnknownPartCode => "there is no part RF-CMP-001319; did you mean RF-CMP-00130B?"
            {"code": "RF-CMP-001319", "suggestions": ["RF-CMP-00130B"]},
        InvalidPartCode => "\"RF-CMP-00130C\" fails its check character: a character is wrong or two are swapped; did you mean RF-CMP-00130B?"
            {"code": "RF-CMP-00130C", "suggestions": ["RF-CMP-00130B"], "reason": "check_failed"},
    ]
);
