//! Reserving a line's need at its sources in order, recording the allocations, re-deriving a
//! request's state, and serving backorders from new stock.

use chrono::{DateTime, Utc};

use super::{station, Station};
use crate::db::DbConn;
use crate::error::AppError;
use crate::ledger::store::{self as ledger, Place};
use crate::network::store as network;
use crate::requests::rules::{self, AllocationStatus, Status, Waiting};
use crate::requests::store::{self, AllocationRow, LineRow, RequestRow};

/// Reserves what the sources hold for a line, in order, and backorders the rest.
pub fn allocate_line(
    conn: &mut DbConn,
    line: &LineRow,
    need: i64,
    sources: &[i64],
    at: DateTime<Utc>,
) -> Result<i64, AppError> {
    route_line(conn, line, need, sources, at).map(|r| r.left)
}

/// What routing a line found.
pub struct Routed {
    /// units still waiting for stock
    pub left: i64,
    /// units reserved at the first source tried
    pub first_filled: i64,
    /// the allocations made, in order
    pub allocations: Vec<AllocationRow>,
}

/// What reserving a need at its sources found, before anything is recorded.
pub(super) struct Reserved {
    /// (source, units) reserved, in source order
    pub(super) takes: Vec<(i64, i64)>,
    pub(super) left: i64,
    pub(super) first_filled: i64,
}

/// Reserves what the sources hold of a part, in order, up to `need`.
pub(super) fn reserve_need(
    conn: &mut DbConn,
    part_id: i64,
    need: i64,
    sources: &[i64],
) -> Result<Reserved, AppError> {
    let mut need = need;
    let mut first_filled = None;
    let mut takes = Vec::new();
    for &source in sources {
        if need == 0 {
            break;
        }
        // the common case in one statement: the whole need is there
        let took = if ledger::reserve(conn, part_id, source, need)? {
            need
        } else {
            ledger::reserve_up_to(conn, part_id, source, need)?
        };
        if took > 0 {
            takes.push((source, took));
            need -= took;
        }
        first_filled.get_or_insert(took);
    }
    Ok(Reserved { takes, left: need, first_filled: first_filled.unwrap_or(0) })
}

/// Records a line's reservations as its allocations.
pub(super) fn record_allocations(
    conn: &mut DbConn,
    line: &LineRow,
    takes: &[(i64, i64)],
    at: DateTime<Utc>,
) -> Result<Vec<AllocationRow>, AppError> {
    let status = AllocationStatus::Reserved;
    let mut out = Vec::with_capacity(takes.len());
    for &(source, qty) in takes {
        let id = store::insert_allocation(conn, line, source, qty, status.as_str(), at.naive_utc())?;
        out.push(allocation_row(id, line, source, qty, status));
    }
    Ok(out)
}

/// An allocation `id` just written for `line`.
pub(super) fn allocation_row(
    id: i64,
    line: &LineRow,
    source_id: i64,
    qty: i64,
    status: AllocationStatus,
) -> AllocationRow {
    AllocationRow {
        id,
        request_id: line.request_id,
        line_id: line.id,
        part_id: line.part_id,
        source_id,
        qty,
        status,
        serials: None,
    }
}

/// Reserves what the sources hold for a line, in order; says what is left and what the first
/// source gave.
pub fn route_line(
    conn: &mut DbConn,
    line: &LineRow,
    need: i64,
    sources: &[i64],
    at: DateTime<Utc>,
) -> Result<Routed, AppError> {
    let r = reserve_need(conn, line.part_id, need, sources)?;
    let allocations = record_allocations(conn, line, &r.takes, at)?;
    Ok(Routed { left: r.left, first_filled: r.first_filled, allocations })
}

/// Allocates every line of a request (lines in part order, so that concurrent requests take
/// row locks in one order) and sets the request's state from the result.
pub(super) fn allocate_request(
    conn: &mut DbConn,
    req: &RequestRow,
    st: &Station,
    at: DateTime<Utc>,
) -> Result<(), AppError> {
    let sources = st.sources(req.source_id)?;
    let mut lines = store::lines(conn, &[req.id])?;
    lines.sort_by_key(|l| (l.part_id, l.id));
    for line in &lines {
        let routed = route_line(conn, line, line.qty, &sources, at)?;
        let first = sources.first().copied().unwrap_or_default();
        store::set_routed(conn, line.id, first, routed.first_filled, routed.left, at.naive_utc())?;
    }
    refresh_status(conn, req.id, false, at)?;
    Ok(())
}

/// Recomputes a request's state from its allocations and backlog.
pub fn refresh_status(
    conn: &mut DbConn,
    request_id: i64,
    damaged_just_now: bool,
    at: DateTime<Utc>,
) -> Result<Status, AppError> {
    let allocations: Vec<AllocationStatus> =
        store::allocations(conn, &[request_id])?.iter().map(|a| a.status).collect();
    let backlog: i64 = store::lines(conn, &[request_id])?.iter().map(|l| l.backordered).sum();
    let status = rules::derive_status(&allocations, backlog, damaged_just_now);
    let before = store::request(conn, request_id)?;
    store::set_status(conn, request_id, status.as_str(), at.naive_utc())?;
    if let Some(r) = before.filter(|r| r.status != status) {
        if matches!(status, Status::Allocated | Status::Backordered) {
            let station = network::by_id(conn, r.station_id)?;
            publish(conn, &r, &station, status, backlog, at)?;
        }
    }
    Ok(status)
}

/// The kind of object a request's events are about.
pub(super) const EVENT_KIND: &str = "parts_request";

/// A request that became allocated or backordered (at creation or since) tells its
/// subscribers, in the transaction of the change; `station` is the request's station.
pub fn publish(
    conn: &mut DbConn,
    r: &RequestRow,
    station: &network::LocationRow,
    status: Status,
    backordered_units: i64,
    at: DateTime<Utc>,
) -> Result<(), AppError> {
    let Some((event, payload)) = event_of(r, station, status, backordered_units) else {
        return Ok(());
    };
    crate::events::record_at(
        conn,
        event,
        crate::events::Subject { kind: EVENT_KIND, id: r.id, station_id: Some(r.station_id) },
        &station.path,
        payload,
        at.naive_utc(),
    )?;
    Ok(())
}

/// The event a request in `status` raises, with its payload: none but for allocated and
/// backordered.
pub(super) fn event_of(
    r: &RequestRow,
    station: &network::LocationRow,
    status: Status,
    backordered_units: i64,
) -> Option<(&'static str, crate::events::payloads::PartsRequestEvent)> {
    let event = match status {
        Status::Allocated => "parts_request.allocated",
        Status::Backordered => "parts_request.backordered",
        _ => return None,
    };
    Some((
        event,
        crate::events::payloads::PartsRequestEvent {
            id: r.id,
            station: station.code.clone(),
            status: status.as_str().into(),
            ticket_id: r.ticket_id,
            urgency: r.urgency.clone(),
            backordered_units,
        },
    ))
}

pub use crate::ledger::arrivals::BackorderFill;

/// Serves waiting lines for `part_id` from what is now available at `place`, in the order
/// urgent ticket-linked first, then tier priority, then age.
pub fn fill_backorders(
    conn: &mut DbConn,
    part_id: i64,
    place: &Place,
    at: DateTime<Utc>,
) -> Result<Vec<BackorderFill>, AppError> {
    let mut filled = Vec::new();
    if ledger::available(conn, part_id, place.id)? <= 0 {
        return Ok(filled);
    }
    let mut waiting = store::waiting_lines(conn, part_id)?;
    waiting.sort_by(|a, b| {
        let w = |(l, r, prio): &(LineRow, RequestRow, i32)| Waiting {
            urgent: r.urgency == "urgent",
            ticket_linked: r.ticket_id.is_some(),
            allocation_priority: *prio,
            created_at: r.created_at,
            line_id: l.id,
        };
        rules::fill_order(&w(a), &w(b))
    });
    for (line, req, _) in waiting {
        let station_row = network::by_id(conn, req.station_id)?;
        let st = station(conn, station_row)?;
        // an inactive place (a count at a closed centre) serves no waiting line
        if !st.open_sources(req.source_id).map(|s| s.contains(&place.id)).unwrap_or(false) {
            continue;
        }
        // what the line still waits for, its row locked: another source's fill may have served
        // it since it was listed
        let line = LineRow { backordered: store::lock_backordered(conn, line.id)?, ..line };
        if line.backordered <= 0 {
            continue;
        }
        let left = allocate_line(conn, &line, line.backordered, &[place.id], at)?;
        if left < line.backordered {
            store::mark_from_backorder(conn, &line, place.id, at.naive_utc())?;
            store::set_backordered(conn, line.id, left)?;
            refresh_status(conn, req.id, false, at)?;
            let fill = BackorderFill {
                request_id: req.id,
                line_no: line.line_no,
                station: st.row.code.clone(),
                qty: line.backordered - left,
            };
            crate::events::record(
                conn,
                "backorder.filled",
                crate::events::Subject {
                    kind: "parts_request",
                    id: req.id,
                    station_id: Some(req.station_id),
                },
                crate::events::payloads::BackorderFilledEvent {
                    request_id: fill.request_id,
                    line_no: fill.line_no,
                    station: fill.station.clone(),
                    qty: fill.qty,
                    still_backordered: left,
                    from: place.code.clone(),
                },
                at.naive_utc(),
            )?;
            filled.push(fill);
        }
        if ledger::available(conn, part_id, place.id)? <= 0 {
            break;
        }
    }
    Ok(filled)
}
