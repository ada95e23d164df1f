//! HTTP handlers of the ledger: purchase receipts, stock counts, stock and movement queries.
//! The audit endpoint spans every domain and lives in `audit::api`.

use actix_web::{get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::arrivals::{Arrivals, BackorderFill};
use super::rules::{self, Reason};
use super::store::{self, Move, MovementFilter, Place};
use crate::auth::{Caller, Role, Scope};
use crate::catalogue::resolve_part_code;
use crate::db::DbConn;
use crate::error::{AppError, FieldError, Problem};
use crate::http::docs::{E400, E401, E403, E404, E409, E415, E422};
use crate::http::Query;
use crate::http::{IdPage, Json, Page, PageRequest};
use crate::network::rules::LocationKind;
use crate::network::store as network;
use crate::state::AppState;
use crate::validate::{not_blank, Validate};

/// A location the caller may act on (a stocking location in its scope), or 404.
pub fn stocking_location(conn: &mut DbConn, caller: &Caller, code: &str) -> Result<Place, AppError> {
    let scope = Scope::of(conn, caller)?;
    let row = network::by_code(conn, code)?.filter(|r| scope.covers(&r.path));
    let row = row.ok_or_else(|| AppError::not_found(format!("location {code} not found")))?;
    let place = store::place_by_id(conn, row.id)?;
    if !matches!(
        place.kind,
        LocationKind::CentralWarehouse | LocationKind::RegionalCentre | LocationKind::Station
    ) {
        return Err(AppError::unprocessable(
            Problem::NotAStockingLocation,
            format!("{code} is a {} location; stock is received and counted at the warehouse, centres and stations", place.kind.as_str()),
        ));
    }
    Ok(place)
}

#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ReceiptLineIn {
    #[schema(min_length = 1, max_length = 64)]
    pub part_code: String,
    #[schema(minimum = 1, maximum = 100000)]
    pub qty: i64,
    /// one per unit, for serialized parts
    #[serde(default)]
    #[schema(max_items = 100000)]
    pub serials: Vec<String>,
}

/// Goods received from a supplier into a location.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"location": "HQ", "reference": "PO-2026-1187", "lines": [{"part_code": "AC-CAP-00122U", "qty": 20}]}))]
pub struct ReceiptIn {
    #[schema(min_length = 1, max_length = 64)]
    pub location: String,
    /// the supplier's delivery note or purchase order
    #[schema(min_length = 1, max_length = 100)]
    pub reference: Option<String>,
    #[schema(min_items = 1, max_items = 200)]
    pub lines: Vec<ReceiptLineIn>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReceiptOut {
    pub reference: String,
    pub movements: Vec<MovementOut>,
    /// backordered request lines served from this receipt, in the order they were served
    pub backorders_filled: Vec<BackorderFill>,
}

/// One stock movement.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": 981, "part_code": "AC-CAP-00122U", "qty": 20, "from": "SUPPLIER", "to": "HQ",
    "reason": "purchase_receipt", "reference": "PO-2026-1187", "actor": "warehouse-hq",
    "at": "2026-11-23T08:12:00Z", "serials": []}))]
pub struct MovementOut {
    pub id: i64,
    pub part_code: String,
    pub qty: i64,
    pub from: String,
    pub to: String,
    pub reason: Reason,
    pub reference: Option<String>,
    pub actor: Option<String>,
    pub at: chrono::DateTime<chrono::Utc>,
    pub serials: Vec<String>,
}

/// Receive goods from a supplier (purchase receipt)
///
/// Moves the units from `SUPPLIER` into the location, then serves waiting backorders that may
/// be supplied from it (urgent ticket-linked first, then tier priority, then age).
#[utoipa::path(
    tag = "stock",
    request_body = ReceiptIn,
    responses((status = 201, body = ReceiptOut), E400, E401, E403, E404, E409, E415, E422),
    security(("bearer" = []))
)]
#[post("/receipts")]
pub async fn create_receipt(
    state: web::Data<AppState>,
    arrivals: web::Data<Arrivals>,
    caller: Caller,
    body: Json<ReceiptIn>,
) -> Result<HttpResponse, AppError> {
    caller.require(&[Role::Admin, Role::Warehouse])?;
    let input = body.0;
    let now = state.clock.now();
    let arrivals = **arrivals;
    let out = state
        .db
        .write_retrying(move |conn| {
            let to = stocking_location(conn, &caller, &input.location)?;
            let supplier = store::virtual_place(conn, LocationKind::Supplier)?;
            let reference = input
                .reference
                .clone()
                .unwrap_or_else(|| format!("receipt-{}", uuid::Uuid::now_v7().simple()));
            let mut movements = Vec::new();
            let mut parts = Vec::new();
            for (i, l) in input.lines.iter().enumerate() {
                let part = resolve_part_code(conn, &l.part_code, None).map_err(|e| e.with("line", i))?;
                rules::check_serials(part.serialized, l.qty, &l.serials).map_err(|m| {
                    AppError::invalid_fields(vec![FieldError::new(format!("lines[{i}].serials"), m)])
                })?;
                let id = store::post(
                    conn,
                    &Move {
                        part_id: part.id,
                        qty: l.qty,
                        from: &supplier,
                        to: &to,
                        reason: Reason::PurchaseReceipt,
                        reference: Some(&reference),
                        actor: Some(&caller.username),
                        at: now.naive_utc(),
                        serials: &l.serials,
                        from_reserved: false,
                    },
                )?;
                movements.push(MovementOut {
                    id,
                    part_code: part.code.clone(),
                    qty: l.qty,
                    from: supplier.code.clone(),
                    to: to.code.clone(),
                    reason: Reason::PurchaseReceipt,
                    reference: Some(reference.clone()),
                    actor: Some(caller.username.clone()),
                    at: now,
                    serials: l.serials.clone(),
                });
                parts.push(part.id);
            }
            parts.sort_unstable();
            parts.dedup();
            let mut filled = Vec::new();
            for p in parts {
                filled.extend(arrivals.arrived(conn, p, &to, now)?);
            }
            Ok(ReceiptOut { reference, movements, backorders_filled: filled })
        })
        .await?;
    Ok(HttpResponse::Created().json(out))
}

fn stock_count_rules(c: &StockCountIn, _at: &str, errors: &mut Vec<FieldError>) {
    not_blank(errors, "reason", Some(&c.reason));
}

/// A physical count of one part at one location.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"location": "RC-HZ", "part_code": "AC-CAP-00122U", "counted_qty": 7, "reason": "quarterly count"}))]
#[validate(rules = stock_count_rules)]
pub struct StockCountIn {
    #[schema(min_length = 1, max_length = 64)]
    pub location: String,
    #[schema(min_length = 1, max_length = 64)]
    pub part_code: String,
    #[schema(minimum = 0, maximum = 100000)]
    pub counted_qty: i64,
    #[schema(min_length = 1, max_length = 200)]
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StockCountOut {
    pub location: String,
    pub part_code: String,
    pub previous_on_hand: i64,
    pub counted_qty: i64,
    /// the correcting movement, absent when the count matched
    pub movement: Option<MovementOut>,
}

/// Record a stock count (count adjustment)
///
/// The difference between the count and the books becomes a `count_adjustment` movement
/// to or from `ADJUSTMENT`. A count below what is reserved for requests is 409.
#[utoipa::path(
    tag = "stock",
    request_body = StockCountIn,
    responses((status = 201, body = StockCountOut), E400, E401, E403, E404, E409, E415, E422),
    security(("bearer" = []))
)]
#[post("/stock-counts")]
pub async fn create_stock_count(
    state: web::Data<AppState>,
    arrivals: web::Data<Arrivals>,
    caller: Caller,
    body: Json<StockCountIn>,
) -> Result<HttpResponse, AppError> {
    caller.require(&[Role::Admin, Role::Warehouse, Role::Station])?;
    let input = body.0;
    let now = state.clock.now();
    let arrivals = **arrivals;
    let out = state
        .db
        .write_retrying(move |conn| {
            let place = stocking_location(conn, &caller, &input.location)?;
            let part = resolve_part_code(conn, &input.part_code, None)?;
            if part.serialized {
                return Err(AppError::unprocessable(
                    Problem::SerializedPart,
                    "serialized parts are counted by serial; adjust them with a receipt or a scrap inspection",
                ));
            }
            let (on_hand, reserved) = store::balance(conn, part.id, place.id)?;
            if input.counted_qty < reserved {
                return Err(AppError::conflict(
                    Problem::CountBelowReserved,
                    format!("{} units are reserved for requests at {}; cancel them before counting fewer", reserved, place.code),
                )
                .with("reserved", reserved));
            }
            let adjustment = store::virtual_place(conn, LocationKind::Adjustment)?;
            let diff = input.counted_qty - on_hand;
            let movement = if diff == 0 {
                None
            } else {
                let (from, to) = if diff > 0 { (&adjustment, &place) } else { (&place, &adjustment) };
                let reference = format!("count: {}", input.reason.trim());
                let id = store::post(
                    conn,
                    &Move {
                        part_id: part.id,
                        qty: diff.abs(),
                        from,
                        to,
                        reason: Reason::CountAdjustment,
                        reference: Some(&reference),
                        actor: Some(&caller.username),
                        at: now.naive_utc(),
                        serials: &[],
                        from_reserved: false,
                    },
                )?;
                Some(MovementOut {
                    id,
                    part_code: part.code.clone(),
                    qty: diff.abs(),
                    from: from.code.clone(),
                    to: to.code.clone(),
                    reason: Reason::CountAdjustment,
                    reference: Some(reference),
                    actor: Some(caller.username.clone()),
                    at: now,
                    serials: vec![],
                })
            };
            if diff > 0 {
                arrivals.arrived(conn, part.id, &place, now)?;
            }
            Ok(StockCountOut {
                location: place.code,
                part_code: part.code,
                previous_on_hand: on_hand,
                counted_qty: input.counted_qty,
                movement,
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(out))
}

#[derive(Debug, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StockQuery {
    /// a location code
    #[param(max_length = 64)]
    pub location: Option<String>,
    #[param(max_length = 64)]
    pub part_code: Option<String>,
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    #[param(pattern = "^[0-9]{1,18}:[0-9]{1,18}$")]
    pub cursor: Option<String>,
}

/// Stock of one part at one location.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"location": "RC-HZ", "part_code": "AC-CAP-00122U", "on_hand": 10, "reserved": 3, "available": 7}))]
pub struct StockOut {
    pub location: String,
    pub part_code: String,
    pub on_hand: i64,
    /// allocated to requests, still on the shelf
    pub reserved: i64,
    pub available: i64,
}

/// Stock balances
///
/// On hand, reserved and available per part and location, for the locations the caller sees
/// (a station: itself, its centre and the central warehouse).
#[utoipa::path(
    tag = "stock",
    params(StockQuery),
    responses((status = 200, body = Page<StockOut>), E400, E401, E403, E404, E422),
    security(("bearer" = []))
)]
#[get("/stock")]
pub async fn list_stock(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<StockQuery>,
) -> Result<web::Json<Page<StockOut>>, AppError> {
    caller.require(&[
        Role::Admin,
        Role::Warehouse,
        Role::Station,
        Role::Technician,
        Role::Agent,
        Role::Finance,
    ])?;
    let q = query.into_inner();
    let page = PageRequest::new(q.limit, q.cursor.as_deref())?;
    let after = match page.after.as_deref() {
        None => None,
        Some(s) => Some(parse_pair(s)?),
    };
    let out = state
        .db
        .read(move |conn| {
            let scope = Scope::of(conn, &caller)?;
            let mut ids = network::visible_ids(conn, &scope)?;
            if let Some(code) = &q.location {
                let row = network::by_code(conn, code)?
                    .filter(|r| scope.sees(&r.path))
                    .ok_or_else(|| AppError::not_found(format!("location {code} not found")))?;
                ids = Some(vec![row.id]);
            }
            let part = match &q.part_code {
                Some(c) => Some(resolve_part_code(conn, c, None)?),
                None => None,
            };
            let rows =
                store::balances(conn, part.as_ref().map(|p| p.id), ids.as_deref(), after, page.fetch())?;
            let page = page.page(rows, |r| format!("{}:{}", r.location_id, r.part_id));
            let loc_ids: Vec<i64> = page.items.iter().map(|r| r.location_id).collect();
            let part_ids: Vec<i64> = page.items.iter().map(|r| r.part_id).collect();
            let locs = network::codes_of(conn, &loc_ids)?;
            let parts = crate::catalogue::store::parts::codes_of(conn, &part_ids)?;
            Ok(page.map(|r| StockOut {
                location: locs.get(&r.location_id).cloned().unwrap_or_default(),
                part_code: parts.get(&r.part_id).cloned().unwrap_or_default(),
                on_hand: r.on_hand,
                reserved: r.reserved,
                available: r.on_hand - r.reserved,
            }))
        })
        .await?;
    Ok(web::Json(out))
}

fn parse_pair(s: &str) -> Result<(i64, i64), AppError> {
    let bad = || AppError::bad_request(Problem::InvalidQuery, "cursor is not one this API issued");
    let (a, b) = s.split_once(':').ok_or_else(bad)?;
    Ok((a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?))
}

#[derive(Debug, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MovementQuery {
    #[param(max_length = 64)]
    pub part_code: Option<String>,
    /// a location code: movements into or out of it
    #[param(max_length = 64)]
    pub location: Option<String>,
    pub reason: Option<Reason>,
    #[param(max_length = 100)]
    pub reference: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: IdPage,
}

/// Stock movements, newest first
#[utoipa::path(
    tag = "stock",
    params(MovementQuery, IdPage),
    responses((status = 200, body = Page<MovementOut>), E400, E401, E403, E404, E422),
    security(("bearer" = []))
)]
#[get("/movements")]
pub async fn list_movements(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<MovementQuery>,
) -> Result<web::Json<Page<MovementOut>>, AppError> {
    caller.require(&[Role::Admin, Role::Warehouse, Role::Station, Role::Finance])?;
    let q = query.into_inner();
    let page = q.page.request()?;
    let before = page.after_id()?;
    let out = state
        .db
        .read(move |conn| {
            let scope = Scope::of(conn, &caller)?;
            let mut filter = MovementFilter {
                reason: q.reason.map(|r| r.as_str().to_string()),
                reference: q.reference,
                ..Default::default()
            };
            if let Scope::Under { path } = &scope {
                // a scoped user sees movements into or out of its own subtree only
                filter.within = Some(network::subtree_ids(conn, path)?);
            }
            if let Some(code) = &q.location {
                let row = network::by_code(conn, code)?
                    .filter(|r| scope.covers(&r.path))
                    .ok_or_else(|| AppError::not_found(format!("location {code} not found")))?;
                filter.location_id = Some(row.id);
            }
            if let Some(c) = &q.part_code {
                filter.part_id = Some(resolve_part_code(conn, c, None)?.id);
            }
            let rows = store::movements(conn, &filter, before, page.fetch())?;
            let page = page.page(rows, |r| r.id.to_string());
            let mut loc_ids: Vec<i64> =
                page.items.iter().flat_map(|r| [r.from_location_id, r.to_location_id]).collect();
            loc_ids.dedup();
            let part_ids: Vec<i64> = page.items.iter().map(|r| r.part_id).collect();
            let locs = network::codes_of(conn, &loc_ids)?;
            let parts = crate::catalogue::store::parts::codes_of(conn, &part_ids)?;
            Ok(page.map(|r| movement_out(r, &locs, &parts)))
        })
        .await?;
    Ok(web::Json(out))
}

pub fn movement_out(
    r: store::MovementRow,
    locs: &std::collections::BTreeMap<i64, String>,
    parts: &std::collections::BTreeMap<i64, String>,
) -> MovementOut {
    MovementOut {
        id: r.id,
        part_code: parts.get(&r.part_id).cloned().unwrap_or_default(),
        qty: r.qty,
        from: locs.get(&r.from_location_id).cloned().unwrap_or_default(),
        to: locs.get(&r.to_location_id).cloned().unwrap_or_default(),
        reason: r.reason,
        reference: r.reference,
        actor: r.actor,
        at: r.at.and_utc(),
        serials: r.serials.and_then(|s| serde_json::from_str(&s).ok()).unwrap_or_default(),
    }
}
