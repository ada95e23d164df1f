//! Receiving what was shipped: good units into the station, damaged ones into quarantine and
//! replaced at once.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::handling::dispatch;
use super::routing::{allocate_line, refresh_status};
use super::{changing, check, station, station_side, tell_ticket};
use crate::auth::{Caller, Role};
use crate::db::DbConn;
use crate::error::{AppError, Problem};
use crate::ledger::rules::Reason;
use crate::ledger::store::{self as ledger, Move, Place};
use crate::network::rules::LocationKind;
use crate::network::store as network;
use crate::requests::rules::{Action, AllocationStatus};
use crate::requests::store::{self, AllocationRow};
use crate::shipping::rules::ShipmentStatus;

/// What a station says of one line on receipt.
pub struct ReceiptLine {
    pub line_no: i32,
    pub received_qty: i64,
    pub damaged_qty: i64,
}

/// What a receipt found wrong, per line.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DamageOut {
    pub line_no: i32,
    pub part_code: String,
    pub damaged_qty: i64,
    /// units reserved again as the replacement, from where
    pub replacement: Vec<ReplacementOut>,
    /// replacement units still waiting for stock
    pub replacement_backordered: i64,
    /// the shipments carrying the replacement (re-shipped at once, urgently)
    pub replacement_shipments: Vec<i64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReplacementOut {
    pub source: String,
    pub qty: i64,
}

/// Receives what was shipped: good units into the station, damaged or wrong ones into
/// `QUARANTINE`; each damaged unit is replaced at once through the same routing.
pub fn receive(
    conn: &mut DbConn,
    caller: &Caller,
    id: i64,
    said: &[ReceiptLine],
    at: DateTime<Utc>,
) -> Result<Vec<DamageOut>, AppError> {
    caller.require(&[Role::Admin, Role::Station, Role::Warehouse])?;
    let req = changing(conn, caller, id)?;
    // a ticket's request takes the ticket's row before any stock row, as the ticket's actions
    // do: a resolve at the same moment consumes from the same station's shelf, and the receipt
    // rolls the ticket up at its end (`rollup::ticket`)
    if let Some(ticket) = req.ticket_id {
        crate::tickets::store::lock_ticket(conn, ticket)?;
    }
    let station_row = station_side(
        conn,
        caller,
        &req,
        "only the receiving station (or its centre, or an admin) records a receipt",
    )?;
    check(&req, Action::Receive)?;
    let shipped: Vec<AllocationRow> = store::allocations(conn, &[id])?
        .into_iter()
        .filter(|a| a.status == AllocationStatus::Shipped)
        .collect();
    if shipped.is_empty() {
        return Err(AppError::conflict(Problem::NothingToReceive, "nothing of this request is in transit"));
    }
    // a shipment no courier has taken (awaiting its tender, or tendered) is still at its
    // origin: receiving it would close what its award and tracking have yet to do. The lines a
    // courier has are received; those waiting for one are not, and a receipt of nothing else,
    // or one naming a line that only waits, is 409 `not_dispatched` naming the shipment.
    let mut waiting: BTreeMap<i64, crate::shipping::store::ShipmentRow> = BTreeMap::new();
    let mut on_way = Vec::with_capacity(shipped.len());
    for a in shipped {
        match crate::shipping::store::shipment_of_allocation(conn, a.id)? {
            Some(s) if matches!(s.status, ShipmentStatus::AwaitingTender | ShipmentStatus::Tendered) => {
                waiting.entry(a.line_id).or_insert(s);
            }
            _ => on_way.push(a),
        }
    }
    let not_dispatched = |s: &crate::shipping::store::ShipmentRow| {
        AppError::conflict(
            Problem::NotDispatched,
            format!(
                "shipment {} is {}: no courier has it yet; it is received once it is awarded and on its way",
                s.id,
                s.status.as_str()
            ),
        )
        .with("shipment_id", s.id)
        .with("shipment_status", s.status.as_str())
    };
    let lines = store::lines(conn, &[id])?;
    for s in said {
        let line = lines.iter().find(|l| l.line_no == s.line_no);
        if let Some(w) =
            line.filter(|l| !on_way.iter().any(|a| a.line_id == l.id)).and_then(|l| waiting.get(&l.id))
        {
            return Err(not_dispatched(w));
        }
    }
    if on_way.is_empty() {
        if let Some(w) = waiting.values().next() {
            return Err(not_dispatched(w));
        }
    }
    let shipped = on_way;
    let mut per_line: BTreeMap<i64, Vec<AllocationRow>> = BTreeMap::new();
    for a in shipped {
        per_line.entry(a.line_id).or_default().push(a);
    }
    // what the station says, checked against what is in transit
    let mut damaged_of: BTreeMap<i64, i64> = BTreeMap::new();
    for s in said {
        let line = lines.iter().find(|l| l.line_no == s.line_no).ok_or_else(|| {
            AppError::unprocessable(Problem::UnknownLine, format!("the request has no line {}", s.line_no))
        })?;
        if damaged_of.contains_key(&line.id) {
            return Err(AppError::unprocessable(
                Problem::ReceiptMismatch,
                format!("line {} is given twice; say each line's counts once", s.line_no),
            )
            .with("line_no", s.line_no));
        }
        let in_transit: i64 = per_line.get(&line.id).map(|v| v.iter().map(|a| a.qty).sum()).unwrap_or(0);
        if s.received_qty < 0
            || s.damaged_qty < 0
            || s.received_qty.checked_add(s.damaged_qty) != Some(in_transit)
        {
            return Err(AppError::unprocessable(
                Problem::ReceiptMismatch,
                format!(
                    "line {}: {in_transit} units are in transit; received_qty + damaged_qty must equal that",
                    s.line_no
                ),
            )
            .with("line_no", s.line_no)
            .with("in_transit", in_transit));
        }
        damaged_of.insert(line.id, s.damaged_qty);
    }
    let transit = ledger::virtual_place(conn, LocationKind::InTransit)?;
    let quarantine = ledger::virtual_place(conn, LocationKind::Quarantine)?;
    let dest = ledger::place_by_id(conn, req.station_id)?;
    let reference = format!("request:{id}");
    let mut damages = Vec::new();
    // the stock rows (IN-TRANSIT's, shared by every receipt) in one order, by part then line,
    // whatever the order of the request's lines, so two receipts cannot deadlock
    let part_of = |line_id: i64| lines.iter().find(|l| l.id == line_id).map(|l| l.part_id);
    let mut per_line: Vec<(i64, Vec<AllocationRow>)> = per_line.into_iter().collect();
    // the allocations received, for the station's fill day: written after every stock row, so
    // that two receipts of one station lock that row only once they hold their stock rows
    let mut received = Vec::new();
    per_line.sort_by_key(|(line_id, _)| (part_of(*line_id), *line_id));
    for (line_id, allocations) in per_line {
        let mut damaged_left = damaged_of.get(&line_id).copied().unwrap_or(0);
        let line = lines
            .iter()
            .find(|l| l.id == line_id)
            .cloned()
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("line vanished")))?;
        let line_damaged = damaged_left;
        for a in allocations {
            let serials: Vec<String> =
                a.serials.as_deref().and_then(|s| serde_json::from_str(s).ok()).unwrap_or_default();
            let bad = damaged_left.min(a.qty);
            damaged_left -= bad;
            let good = a.qty - bad;
            let (bad_serials, good_serials) = serials.split_at((bad as usize).min(serials.len()));
            let mut post =
                |qty: i64, to: &Place, reason: Reason, serials: &[String]| -> Result<(), AppError> {
                    if qty > 0 {
                        ledger::post(
                            conn,
                            &Move {
                                part_id: a.part_id,
                                qty,
                                from: &transit,
                                to,
                                reason,
                                reference: Some(&reference),
                                actor: Some(&caller.username),
                                at: at.naive_utc(),
                                serials,
                                from_reserved: false,
                                ticket_id: None,
                            },
                        )?;
                    }
                    Ok(())
                };
            post(good, &dest, Reason::TransferReceive, good_serials)?;
            post(bad, &quarantine, Reason::DamagedInTransit, bad_serials)?;
            crate::shipping::service::on_receipt(conn, a.id, a.part_id, bad, at)?;
            let json = |s: &[String]| (!s.is_empty()).then(|| serde_json::to_string(s).unwrap_or_default());
            // the allocation keeps the good units (all of them damaged: it is the damaged one);
            // damaged units beside good ones split off into an allocation of their own
            let (status, serials) = if bad == 0 || good > 0 {
                (AllocationStatus::Received, good_serials)
            } else {
                (AllocationStatus::Damaged, bad_serials)
            };
            store::set_allocation(conn, a.id, status.as_str(), json(serials).as_deref(), at.naive_utc())?;
            if good > 0 && bad > 0 {
                store::split_allocation(
                    conn,
                    &a,
                    bad,
                    AllocationStatus::Damaged.as_str(),
                    json(bad_serials).as_deref(),
                    at.naive_utc(),
                )?;
            }
            received.push(a.id);
        }
        if line_damaged > 0 {
            // the replacement: the damaged units are owed again and routed like the original
            // among the active sources only; with none, the replacement waits (backordered)
            let st = station(conn, station_row.clone())?;
            let sources = st.open_sources(req.source_id)?;
            let before = store::allocations(conn, &[id])?.iter().map(|a| a.id).max().unwrap_or(0);
            let left = allocate_line(conn, &line, line_damaged, &sources, at)?;
            store::set_backordered(conn, line.id, line.backordered + left)?;
            // the replacement is re-shipped at once, urgently, without a new request
            let fresh: Vec<AllocationRow> =
                store::allocations(conn, &[id])?.into_iter().filter(|a| a.id > before).collect();
            let shipments = if fresh.is_empty() {
                Vec::new()
            } else {
                dispatch(conn, &req, &fresh, &caller.username, true, at)?
            };
            let mut replacement = Vec::new();
            for a in &fresh {
                replacement
                    .push(ReplacementOut { source: network::by_id(conn, a.source_id)?.code, qty: a.qty });
            }
            let part_code = crate::catalogue::store::parts::by_id(conn, line.part_id)?.code;
            damages.push(DamageOut {
                line_no: line.line_no,
                part_code,
                damaged_qty: line_damaged,
                replacement,
                replacement_backordered: left,
                replacement_shipments: shipments,
            });
        }
    }
    for a in received {
        crate::rollup::received(conn, a)?;
    }
    // told in the order of the request's lines
    damages.sort_by_key(|d| d.line_no);
    if let Some(ticket) = req.ticket_id {
        crate::rollup::ticket(conn, ticket)?;
    }
    refresh_status(conn, id, !damages.is_empty(), at)?;
    tell_ticket(conn, caller, req.ticket_id, at)?;
    Ok(damages)
}
