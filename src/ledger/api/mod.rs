//! HTTP handlers of the stock ledger, one file per resource: receipts from suppliers, stock
//! counts, stock balances and the movements. This file holds what they share: the stocking
//! location a caller may act on and the movement as the API shows it.

mod counts;
mod movements;
mod receipts;
mod stock;

use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::{Caller, Scope};
use crate::db::DbConn;
use crate::error::{AppError, Problem};
use crate::ledger::rules::Reason;
use crate::ledger::store::{self, Place};
use crate::network::rules::LocationKind;
use crate::network::store as network;

pub use counts::*;
pub use movements::*;
pub use receipts::*;
pub use stock::*;

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
