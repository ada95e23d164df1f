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

/// A location the caller may receive or count stock at: a stocking location it works at, or a
/// station (which has no warehouse staff of its own) right under the centre it works at. 404
/// for one it cannot see, 403 for one it sees from further up: HQ's staff neither count a
/// centre's shelves nor write off a station's.
pub fn stocking_location(conn: &mut DbConn, caller: &Caller, code: &str) -> Result<Place, AppError> {
    let scope = Scope::of(conn, caller)?;
    // seeing is not owning: a location in sight (below, or the chain above) that the caller may
    // not stock is 403, an unknown one or one out of sight 404
    let row = network::by_code(conn, code)?.filter(|r| scope.sees(&r.path));
    let row = row.ok_or_else(|| AppError::not_found(format!("location {code} not found")))?;
    let at_station = row.kind == LocationKind::Station && scope.stands_at_or_over(&row.path);
    if !scope.stands_at(&row.path) && !at_station {
        return Err(AppError::forbidden(format!(
            "stock at {code} is received and counted by its own staff or its regional centre's (or an admin)"
        )));
    }
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
    /// the serials of the units moved; shown to warehouse and admin users only (empty for
    /// others), since a core return is checked against the serial a repair fitted
    pub serials: Vec<String>,
}

/// A movement as the caller reads it: its serials only for those who see parts' serials
/// ([`Caller::sees_component_serials`](crate::auth::Caller::sees_component_serials)).
pub fn movement_out(
    r: store::MovementRow,
    locs: &std::collections::BTreeMap<i64, String>,
    parts: &std::collections::BTreeMap<i64, String>,
    serials_shown: bool,
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
        serials: r
            .serials
            .filter(|_| serials_shown)
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default(),
    }
}

// The refusals of the stock ledger's operations, each with its own example (`http::docs`).

crate::problems!(E404StockFilter, 404, "The location filtered on is unknown or out of the caller's scope", [
    NotFound => "location RC-XX-999 not found",
]);
crate::problems!(E404MovementFilter, 404, "The location filtered on is unknown or out of the caller's scope", [
    NotFound => "location ST-QD-404 not found",
]);
crate::problems!(E404ReceiptLocation, 404, "The location receiving is unknown or out of the caller's scope", [
    NotFound => "location RC-NB not found",
]);
crate::problems!(E404CountLocation, 404, "The location counted is unknown or out of the caller's scope", [
    NotFound => "location ST-HZ-999 not found",
]);
crate::problems!(
    E422StockQuery,
    422,
    "The part filtered on is not a part code, or no part (`suggestions`)",
    [
        UnknownPartCode => "there is no part RF-CMP-001319; did you mean RF-CMP-00130B?"
            {"code": "RF-CMP-001319", "suggestions": ["RF-CMP-00130B"]},
        InvalidPartCode => "\"RF-CMP-00130C\" fails its check character: a character is wrong or two are swapped; did you mean RF-CMP-00130B?"
            {"code": "RF-CMP-00130C", "suggestions": ["RF-CMP-00130B"], "reason": "check_failed"},
    ]
);
crate::problems!(E400StockCursor, 400, "A query parameter does not parse or is out of its limits, or the cursor is not one this API issued", [
    InvalidQuery => "cursor is not one this API issued",
]);
crate::problems!(E409Receipt, 409, "A serial received is known at another location already, or is fitted in a unit sold; the location is inactive", [
    SerialElsewhere => "serial CMP2405000123 is not at SUPPLIER" {"serial": "CMP2405000123"},
    LocationInactive => "RC-NB is inactive: it receives no purchased goods" {"location": "RC-NB"},
]);
crate::problems!(
    E422Receipt,
    422,
    "A field breaks a rule (`errors`: serials that do not match the quantity); a part code is unknown or malformed (`suggestions`, `line`); the location does not hold stock",
    [
        ValidationFailed => "lines[0].serials: a serialized part needs one serial per unit: 2 units, 1 serials"
            {"errors": [{"field": "lines[0].serials", "message": "a serialized part needs one serial per unit: 2 units, 1 serials"}]},
        UnknownPartCode => "there is no part RF-CMP-001319; did you mean RF-CMP-00130B?"
            {"code": "RF-CMP-001319", "suggestions": ["RF-CMP-00130B"], "line": 0},
        NotAStockingLocation => "IN-TRANSIT is a in_transit location; stock is received and counted at the warehouse, centres and stations",
    ]
);
crate::problems!(E409Count, 409, "The count is below what is reserved for requests there", [
    CountBelowReserved => "3 units are reserved for requests at RC-HZ; cancel them before counting fewer" {"reserved": 3},
]);
crate::problems!(
    E422Count,
    422,
    "A field breaks a rule (`errors`); the part code is unknown (`suggestions`) or the part is serialized; the location does not hold stock",
    [
        UnknownPartCode => "there is no part RF-CMP-001319; did you mean RF-CMP-00130B?"
            {"code": "RF-CMP-001319", "suggestions": ["RF-CMP-00130B"]},
        SerializedPart => "serialized parts are counted by serial; adjust them with a receipt or a scrap inspection",
        NotAStockingLocation => "IN-TRANSIT is a in_transit location; stock is received and counted at the warehouse, centres and stations",
    ]
);
