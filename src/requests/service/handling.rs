//! What a warehouse and the station do with a request: approve or reject, pick, ship, cancel,
//! close.

use chrono::{DateTime, Utc};

use super::routing::{allocate_request, refresh_status};
use super::{acts_for, changing, check, station, station_side, tell_ticket};
use crate::auth::{Caller, Role, Scope};
use crate::db::DbConn;
use crate::error::{AppError, Problem};
use crate::ledger::rules::Reason;
use crate::ledger::store::{self as ledger, Move, Place};
use crate::network::rules::LocationKind;
use crate::requests::rules::{Action, AllocationStatus, Status};
use crate::requests::store::{self, AllocationRow, RequestRow};

/// Who decides on, picks and ships a request (the supplying side).
const SUPPLIERS: &[Role] = &[Role::Admin, Role::Warehouse];
/// Who may cancel or close a request (its station, its regional centre or admin; see `station_side`).
const PARTIES: &[Role] = &[Role::Admin, Role::Station, Role::Warehouse];

/// Approve or reject a request waiting for approval (a warehouse user of the station's centre,
/// or admin).
pub fn decide(
    conn: &mut DbConn,
    caller: &Caller,
    id: i64,
    approve: bool,
    note: Option<&str>,
    at: DateTime<Utc>,
) -> Result<(), AppError> {
    caller.require(SUPPLIERS)?;
    let req = changing(conn, caller, id)?;
    let station_row = station_side(
        conn,
        caller,
        &req,
        "only the station's regional centre (or an admin) decides on its requests",
    )?;
    check(&req, if approve { Action::Approve } else { Action::Reject })?;
    // four eyes: credit beyond the allowance is granted by another user than the one who asked
    // for it (rejecting grants nothing: a raiser may, as it may cancel)
    if approve && req.requested_by == caller.username {
        return Err(AppError::of(
            Problem::OwnRequest,
            format!(
                "{} raised parts request {id}: another user approves it (a request is withdrawn with cancel)",
                caller.username
            ),
        )
        .with("requested_by", &caller.username));
    }
    store::set_decision(conn, id, &caller.username, note)?;
    if approve {
        // the station's value changes: booked at the transaction's end, after the stock
        // (see `outstanding`)
        let st = station(conn, station_row)?;
        allocate_request(conn, &req, &st, at)?;
    } else {
        store::set_status(conn, id, Status::Rejected.as_str(), at.naive_utc())?;
        tell_ticket(conn, caller, req.ticket_id, at)?;
    }
    Ok(())
}

/// Picks the reserved allocations of the caller's stock.
pub fn pick(conn: &mut DbConn, caller: &Caller, id: i64, at: DateTime<Utc>) -> Result<(), AppError> {
    caller.require(SUPPLIERS)?;
    let req = changing(conn, caller, id)?;
    check(&req, Action::Pick)?;
    let scope = Scope::of(conn, caller)?;
    let mut picked = 0;
    for a in store::allocations(conn, &[id])? {
        if a.status == AllocationStatus::Reserved && acts_for(conn, &scope, a.source_id)? {
            store::set_allocation(conn, a.id, AllocationStatus::Picked.as_str(), None, at.naive_utc())?;
            picked += 1;
        }
    }
    if picked == 0 {
        return Err(AppError::conflict(
            Problem::NothingToPick,
            "no reserved stock of yours waits to be picked for this request",
        ));
    }
    refresh_status(conn, id, false, at)?;
    Ok(())
}

/// Ships the picked (or still reserved) allocations of the caller's stock: the units leave the
/// source's shelf and its reservation for `IN-TRANSIT`.
pub fn ship(conn: &mut DbConn, caller: &Caller, id: i64, at: DateTime<Utc>) -> Result<Vec<i64>, AppError> {
    caller.require(SUPPLIERS)?;
    let req = changing(conn, caller, id)?;
    check(&req, Action::Ship)?;
    let scope = Scope::of(conn, caller)?;
    let mut mine = Vec::new();
    for a in store::allocations(conn, &[id])? {
        if matches!(a.status, AllocationStatus::Picked | AllocationStatus::Reserved)
            && acts_for(conn, &scope, a.source_id)?
        {
            mine.push(a);
        }
    }
    // each source ships on its own: where the caller has picked, only what it picked leaves;
    // otherwise its reserved units are picked and shipped at once (whatever another source of
    // the same request has done)
    let leaving = if mine.iter().any(|a| a.status == AllocationStatus::Picked) {
        AllocationStatus::Picked
    } else {
        AllocationStatus::Reserved
    };
    mine.retain(|a| a.status == leaving);
    if mine.is_empty() {
        return Err(AppError::conflict(
            Problem::NothingToShip,
            "no stock of yours is ready to ship for this request",
        ));
    }
    let shipments = dispatch(conn, &req, &mine, &caller.username, req.urgency == "urgent", at)?;
    refresh_status(conn, id, false, at)?;
    Ok(shipments)
}

/// Moves allocated units from their sources' reservations to `IN-TRANSIT` and creates one
/// shipment per source; returns the shipments.
pub(super) fn dispatch(
    conn: &mut DbConn,
    req: &RequestRow,
    allocations: &[AllocationRow],
    actor: &str,
    urgent: bool,
    at: DateTime<Utc>,
) -> Result<Vec<i64>, AppError> {
    let transit = ledger::virtual_place(conn, LocationKind::InTransit)?;
    let reference = format!("request:{}", req.id);
    // the stock rows in one order (by part, then source), whatever the order of the request's
    // lines: two shipments of the same parts in opposite orders would otherwise deadlock
    let mut allocations: Vec<&AllocationRow> = allocations.iter().collect();
    allocations.sort_by_key(|a| (a.part_id, a.source_id, a.id));
    let mut shipped = Vec::new();
    for a in allocations {
        let source = ledger::place_by_id(conn, a.source_id)?;
        let serials = serials_for(conn, a.part_id, &source, a.qty)?;
        ledger::post(
            conn,
            &Move {
                part_id: a.part_id,
                qty: a.qty,
                from: &source,
                to: &transit,
                reason: Reason::TransferShip,
                reference: Some(&reference),
                actor: Some(actor),
                at: at.naive_utc(),
                serials: &serials,
                from_reserved: true,
                ticket_id: None,
            },
        )?;
        let serials = (!serials.is_empty()).then(|| serde_json::to_string(&serials).unwrap_or_default());
        store::set_allocation(
            conn,
            a.id,
            AllocationStatus::Shipped.as_str(),
            serials.as_deref(),
            at.naive_utc(),
        )?;
        shipped.push((a.source_id, a.id, a.part_id, a.qty));
    }
    shipped.sort_unstable();
    let mut shipments = Vec::new();
    for chunk in shipped.chunk_by(|a, b| a.0 == b.0) {
        let lines: Vec<(i64, i64, i64)> = chunk.iter().map(|&(_, a, p, q)| (a, p, q)).collect();
        shipments.push(crate::shipping::service::ship_allocations(
            conn,
            req.id,
            chunk[0].0,
            req.station_id,
            urgent,
            &lines,
            at,
        )?);
    }
    Ok(shipments)
}

/// The serials of `qty` units of a serialized part at a location (none for other parts).
fn serials_for(conn: &mut DbConn, part_id: i64, at: &Place, qty: i64) -> Result<Vec<String>, AppError> {
    let part = crate::catalogue::store::parts::by_id(conn, part_id)?;
    if !part.serialized {
        return Ok(Vec::new());
    }
    let serials = crate::ledger::store::serials_at(conn, part_id, at.id, qty)?;
    if (serials.len() as i64) < qty {
        return Err(AppError::conflict(
            Problem::SerialsMissing,
            format!("{} lacks serials for {qty} units of {}", at.code, part.code),
        ));
    }
    Ok(serials)
}

/// Cancels a request that has nothing in transit; every reservation is released.
pub fn cancel(conn: &mut DbConn, caller: &Caller, id: i64, at: DateTime<Utc>) -> Result<(), AppError> {
    caller.require(PARTIES)?;
    let req = changing(conn, caller, id)?;
    station_side(
        conn,
        caller,
        &req,
        "only the requesting station, its regional centre or an admin cancels a request; a centre \
         that supplies part of it picks and ships its own allocations and nothing else",
    )?;
    check(&req, Action::Cancel)?;
    let allocations = store::allocations(conn, &[id])?;
    if allocations.iter().any(|a| a.status == AllocationStatus::Shipped) {
        return Err(AppError::conflict(
            Problem::InTransit,
            "part of this request is in transit; receive it first",
        ));
    }
    let mut allocations = allocations;
    // the stock rows in one order, by part then source (as `dispatch`)
    allocations.sort_by_key(|a| (a.part_id, a.source_id, a.id));
    let mut released: Vec<(i64, i64)> = Vec::new();
    for a in allocations {
        if a.status == AllocationStatus::Reserved || a.status == AllocationStatus::Picked {
            ledger::release(conn, a.part_id, a.source_id, a.qty)?;
            store::set_allocation(conn, a.id, AllocationStatus::Cancelled.as_str(), None, at.naive_utc())?;
            if released.last() != Some(&(a.part_id, a.source_id)) {
                released.push((a.part_id, a.source_id));
            }
        }
    }
    for l in store::lines(conn, &[id])? {
        store::set_backordered(conn, l.id, 0)?;
    }
    store::set_status(conn, id, Status::Cancelled.as_str(), at.naive_utc())?;
    tell_ticket(conn, caller, req.ticket_id, at)?;
    // stock released is stock arrived for the lines waiting on it there (spec section 5: in
    // fill order), served in the same transaction and in the same (part, source) order
    for (part_id, source_id) in released {
        let place = ledger::place_by_id(conn, source_id)?;
        super::routing::fill_backorders(conn, part_id, &place, at)?;
    }
    Ok(())
}

/// Closes a fully received request.
pub fn close(conn: &mut DbConn, caller: &Caller, id: i64, at: DateTime<Utc>) -> Result<(), AppError> {
    caller.require(PARTIES)?;
    let req = changing(conn, caller, id)?;
    station_side(
        conn,
        caller,
        &req,
        "only the requesting station, its regional centre or an admin closes a request; a centre \
         that supplies part of it picks and ships its own allocations and nothing else",
    )?;
    check(&req, Action::Close)?;
    store::set_status(conn, id, Status::Closed.as_str(), at.naive_utc())?;
    Ok(())
}
