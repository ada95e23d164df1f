//! Stock balances: on hand, reserved and available per part and location.

use actix_web::{get, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{E400StockCursor, E404StockFilter, E422StockQuery};
use crate::auth::{Caller, Role, Scope};
use crate::catalogue::resolve_part_code;
use crate::error::{AppError, Problem};
use crate::http::docs::{E401, E403};
use crate::http::Query;
use crate::http::{Page, PageRequest};
use crate::ledger::store;
use crate::network::store as network;
use crate::state::AppState;
use crate::validate::Validate;

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
#[schema(example = json!({"location": "RC-HZ", "part_code": "AC-CAP-00122U", "part_name": "Compressor run capacitor 35uF", "on_hand": 10, "reserved": 3, "available": 7}))]
pub struct StockOut {
    pub location: String,
    pub part_code: String,
    /// the part's name, beside its code
    pub part_name: String,
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
    responses((status = 200, description = "The page of stock balances (on hand, reserved, available) per part and location", body = Page<StockOut>), E400StockCursor, E401, E403, E404StockFilter, E422StockQuery),
    security(("bearer" = ["admin", "warehouse", "station", "agent", "finance"]))
)]
#[get("/stock")]
pub async fn list_stock(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<StockQuery>,
) -> Result<web::Json<Page<StockOut>>, AppError> {
    // a technician sees their own tickets and loans (what they carry is on the loan), not the
    // station's stock
    caller.require(&[Role::Admin, Role::Warehouse, Role::Station, Role::Agent, Role::Finance])?;
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
            let parts = crate::catalogue::store::parts::codes_and_names_of(conn, &part_ids)?;
            Ok(page.map(|r| {
                let (part_code, part_name) = parts.get(&r.part_id).cloned().unwrap_or_default();
                StockOut {
                    location: locs.get(&r.location_id).cloned().unwrap_or_default(),
                    part_code,
                    part_name,
                    on_hand: r.on_hand,
                    reserved: r.reserved,
                    available: r.on_hand - r.reserved,
                }
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
