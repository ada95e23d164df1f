//! HTTP handlers of parts requests, one file per resource: the requests themselves (create,
//! list, read), the actions on one (approve, reject, cancel, pick, ship, close) and its
//! receipt. This file holds what they share: the request as the API shows it.

mod actions;
mod receipt;
mod requests;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::DbConn;
use crate::error::AppError;
use crate::money::Money;
use crate::network::store as network;
use crate::requests::rules::{AllocationStatus, Status};
use crate::requests::store::{self, AllocationRow, LineRow, RequestRow};
use crate::validate::Validate;

pub use actions::*;
pub use receipt::*;
pub use requests::*;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, Validate)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    #[default]
    Normal,
    Urgent,
}

impl Urgency {
    fn as_str(self) -> &'static str {
        match self {
            Urgency::Normal => "normal",
            Urgency::Urgent => "urgent",
        }
    }
}

/// Units of a line promised from one source.
#[derive(Debug, Serialize, ToSchema)]
pub struct AllocationOut {
    pub source: String,
    pub qty: i64,
    pub status: AllocationStatus,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RequestLineOut {
    pub line_no: i32,
    /// the code as the client sent it
    pub requested_code: String,
    /// the part that serves the line
    pub part_code: String,
    /// true when a superseded part is served by its successor
    pub substituted: bool,
    pub qty: i64,
    pub unit_cost: Money,
    /// units still waiting for stock
    pub backordered: i64,
    pub allocations: Vec<AllocationOut>,
}

/// A parts request with where each line is served from.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 42, "station": "ST-TZ-001", "status": "allocated", "urgency": "urgent", "ticket_id": null,
    "source": null, "value": "1280.00", "exceeds_by": null, "requested_by": "station-st-tz-001",
    "decided_by": null, "created_at": "2026-11-23T08:00:00Z", "updated_at": "2026-11-23T08:00:00Z",
    "lines": [{"line_no": 1, "requested_code": "AC-CAP-00122U", "part_code": "AC-CAP-00122U",
               "substituted": false, "qty": 1, "unit_cost": "1280.00", "backordered": 0,
               "allocations": [{"source": "RC-HZ", "qty": 1, "status": "reserved"}]}]
}))]
pub struct PartsRequestOut {
    pub id: i64,
    pub station: String,
    pub status: Status,
    pub urgency: Urgency,
    pub ticket_id: Option<i64>,
    pub source: Option<String>,
    /// value of the request at cost
    pub value: Money,
    /// by how much the station's allowance would be exceeded (when pending approval)
    pub exceeds_by: Option<Money>,
    pub requested_by: String,
    pub decided_by: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    pub lines: Vec<RequestLineOut>,
}

/// The full view of requests (lines and allocations loaded in three queries).
pub fn view(conn: &mut DbConn, rows: Vec<RequestRow>) -> Result<Vec<PartsRequestOut>, AppError> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let lines = store::lines(conn, &ids)?;
    let allocations = store::allocations(conn, &ids)?;
    let mut loc_ids: Vec<i64> =
        rows.iter().flat_map(|r| std::iter::once(r.station_id).chain(r.source_id)).collect();
    loc_ids.extend(allocations.iter().map(|a| a.source_id));
    loc_ids.sort_unstable();
    loc_ids.dedup();
    let locs = network::codes_of(conn, &loc_ids)?;
    let part_ids: Vec<i64> = lines.iter().map(|l| l.part_id).collect();
    let parts = crate::catalogue::store::parts::codes_of(conn, &part_ids)?;
    Ok(render(rows, &lines, &allocations, &locs, &parts))
}

/// Requests as the API shows them, from their rows (lines in line order, allocations in id
/// order) and the codes of the locations and parts they name.
fn render(
    rows: Vec<RequestRow>,
    lines: &[LineRow],
    allocations: &[AllocationRow],
    locs: &BTreeMap<i64, String>,
    parts: &BTreeMap<i64, String>,
) -> Vec<PartsRequestOut> {
    let code = |id: i64| locs.get(&id).cloned().unwrap_or_default();
    rows.into_iter()
        .map(|r| PartsRequestOut {
            id: r.id,
            station: code(r.station_id),
            status: r.status,
            urgency: if r.urgency == "urgent" { Urgency::Urgent } else { Urgency::Normal },
            ticket_id: r.ticket_id,
            source: r.source_id.map(code),
            value: Money(r.value_minor),
            exceeds_by: r.exceeds_by_minor.map(Money),
            requested_by: r.requested_by,
            decided_by: r.decided_by,
            created_at: r.created_at.and_utc(),
            updated_at: r.updated_at.and_utc(),
            lines: lines
                .iter()
                .filter(|l| l.request_id == r.id)
                .map(|l| {
                    let part_code = parts.get(&l.part_id).cloned().unwrap_or_default();
                    RequestLineOut {
                        line_no: l.line_no,
                        substituted: crate::catalogue::rules::code_key(&l.requested_code)
                            != crate::catalogue::rules::code_key(&part_code),
                        requested_code: l.requested_code.clone(),
                        part_code,
                        qty: l.qty,
                        unit_cost: Money(l.unit_cost_minor),
                        backordered: l.backordered,
                        allocations: allocations
                            .iter()
                            .filter(|a| a.line_id == l.id)
                            .map(|a| AllocationOut {
                                source: code(a.source_id),
                                qty: a.qty,
                                status: a.status,
                            })
                            .collect(),
                    }
                })
                .collect(),
        })
        .collect()
}

fn one(conn: &mut DbConn, id: i64) -> Result<PartsRequestOut, AppError> {
    let row = store::request(conn, id)?
        .ok_or_else(|| AppError::not_found(format!("parts request {id} not found")))?;
    Ok(view(conn, vec![row])?.remove(0))
}

// The refusals of the parts requests' operations, each with its own example (`http::docs`).

crate::problems!(E404Request, 404, "No parts request of this id in the caller's sight", [
    NotFound => "parts request 12 not found",
]);
crate::problems!(E404Create, 404, "The station, the ticket or the source named is unknown or out of the caller's sight", [
    NotFound "station" => "station ST-TZ-009 not found",
    NotFound "ticket" => "ticket 7 not found" {"field": "ticket_id"},
]);
crate::problems!(E404List, 404, "The station, source location or ticket filtered on is unknown or out of the caller's sight", [
    NotFound "station" => "station ST-TZ-009 not found",
    NotFound "source" => "location RC-XX-999 not found",
    NotFound "ticket" => "ticket 4242 not found" {"field": "ticket_id"},
]);
crate::problems!(E409Create, 409, "The ticket named takes no more parts; the station, or the source named, is inactive (or every source of the station is)", [
    TicketTakesNoParts => "ticket 7: a ticket that is resolved takes no more parts"
        {"current_status": "resolved", "field": "ticket_id"},
    LocationInactive => "ST-TZ-001 is inactive: it raises no new parts requests" {"location": "ST-TZ-001"},
    LocationInactive "source" => "RC-NB is inactive: it supplies no new reservations"
        {"location": "RC-NB", "field": "source"},
]);
crate::problems!(
    E422Create,
    422,
    "A field breaks a rule (`errors`); a part code is unknown or malformed (`suggestions`), or does not fit the ticket's unit (`compatible_alternatives`); the station, source or ticket does not fit; an `Idempotency-Key` reused for another request",
    [
        ValidationFailed => "ticket_id: a technician requests parts for a ticket of theirs: name it"
            {"errors": [{"field": "ticket_id", "message": "a technician requests parts for a ticket of theirs: name it"}]},
        UnknownPartCode => "there is no part RF-CMP-001319; did you mean RF-CMP-00130B?"
            {"code": "RF-CMP-001319", "suggestions": ["RF-CMP-00130B", "RF-CMP-001327"], "line": 0,
             "field": "lines[0].part_code", "model": "BCD-539WT"},
        InvalidPartCode => "\"RF-CMP-00130C\" fails its check character: a character is wrong or two are swapped; did you mean RF-CMP-00130B?"
            {"code": "RF-CMP-00130C", "suggestions": ["RF-CMP-00130B"], "reason": "check_failed", "line": 0,
             "field": "lines[0].part_code"},
        IncompatiblePart => "line 0: part RF-CMP-00417I does not fit model BCD-539WT of ticket 7; it takes RF-CMP-00130B"
            {"line": 0, "field": "lines[0].part_code", "code": "RF-CMP-00417I", "model": "BCD-539WT", "ticket_id": 7,
             "compatible_alternatives": [{"code": "RF-CMP-00130B", "name": "Compressor 1/6 HP",
                 "served_by": null, "available": 4, "source": "RC-HZ"}]},
        TicketOfAnotherStation => "ticket 7 is of ST-TZ-002, not of ST-TZ-001: parts go to the station that does the work"
            {"field": "ticket_id"},
        NotAStation => "RC-HZ is not a station",
        UnknownSource => "there is no location RC-XX-999" {"field": "source"},
        SourceNotAllowed => "this station may not be supplied from that source: its own regional centre, the central warehouse if its tier allows, or a configured lateral centre" {"field": "source"},
        IdempotencyKeyReused => "this Idempotency-Key was used for a different request",
    ]
);
crate::problems!(E409Decide, 409, "The request does not wait for approval; approved, it would reserve at an inactive source", [
    InvalidTransition => "a request that is allocated cannot be approved" {"current_status": "allocated"},
    LocationInactive => "RC-HZ is inactive: it supplies no new reservations" {"location": "RC-HZ"},
]);
crate::problems!(E409Reject, 409, "The request does not wait for approval", [
    InvalidTransition => "a request that is allocated cannot be rejected" {"current_status": "allocated"},
]);
crate::problems!(E403Approve, 403, "The caller's role may not decide on requests, the caller is not on the station's side of it, or the caller raised the request (four eyes: another user approves it)", [
    Forbidden => "only the station's regional centre (or an admin) decides on its requests",
    OwnRequest => "warehouse-rc-hz raised parts request 42: another user approves it (a request is withdrawn with cancel)"
        {"requested_by": "warehouse-rc-hz"},
]);
crate::problems!(E409Cancel, 409, "The request is past cancelling, or part of it is in transit", [
    InvalidTransition => "a request that is received cannot be cancelled" {"current_status": "received"},
    InTransit => "part of this request is in transit; receive it first",
]);
crate::problems!(E409Pick, 409, "The request is not allocated, or none of its reserved stock is the caller's", [
    InvalidTransition => "a request that is shipped cannot be picked" {"current_status": "shipped"},
    NothingToPick => "no reserved stock of yours waits to be picked for this request",
]);
crate::problems!(E409Ship, 409, "Nothing of the caller's stock is ready to ship, or its serials are missing", [
    InvalidTransition => "a request that is received cannot be shipped" {"current_status": "received"},
    NothingToShip => "no stock of yours is ready to ship for this request",
    SerialsMissing => "RC-HZ lacks serials for 2 units of RF-CMP-00130B",
]);
crate::problems!(E409Receive, 409, "Nothing of the request is in transit, or a shipment of it has no courier yet", [
    InvalidTransition => "a request that is pending_approval cannot be received" {"current_status": "pending_approval"},
    NothingToReceive => "nothing of this request is in transit",
    NotDispatched => "shipment 68 is awaiting_tender: no courier has it yet; it is received once it is awarded and on its way"
        {"shipment_id": 68, "shipment_status": "awaiting_tender"},
]);
crate::problems!(E422Receive, 422, "A field breaks a rule (`errors`), or a line's counts do not add up to what is in transit", [
    UnknownLine => "the request has no line 3",
    ReceiptMismatch => "line 1: 2 units are in transit; received_qty + damaged_qty must equal that"
        {"line_no": 1, "in_transit": 2},
]);
crate::problems!(E409Close, 409, "The request is not fully received", [
    InvalidTransition => "a request that is shipped cannot be closed" {"current_status": "shipped"},
]);
