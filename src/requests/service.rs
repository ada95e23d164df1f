//! What happens to a parts request: creation with routing and reservation, approval,
//! picking, shipping, receiving, cancelling, and serving backorders from new stock. Every
//! function runs inside the caller's write transaction.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::rules::{self, Action, AllocationStatus, Status, Waiting};
use super::store::{self, AllocationRow, LineRow, NewRequest, RequestRow};
use crate::auth::{Caller, Role, Scope};
use crate::catalogue::{resolve_part_code, resolve_successor};
use crate::db::DbConn;
use crate::error::AppError;
use crate::ledger::rules::Reason;
use crate::ledger::store::{self as ledger, Move, Place};
use crate::network::rules::LocationKind;
use crate::network::store::{self as network, LocationRow};

/// A station and what routes its lines.
pub struct Station {
    pub row: LocationRow,
    pub centre: i64,
    pub central: Option<i64>,
    pub may_order_from_hq: bool,
    pub allocation_priority: i32,
    pub allowance: i64,
    pub laterals: Vec<i64>,
    /// codes of the station and of every location that may supply it
    pub codes: BTreeMap<i64, String>,
    /// the station's row is already locked for this transaction (see `store::lock_station`)
    pub locked: bool,
}

pub fn station(conn: &mut DbConn, row: LocationRow) -> Result<Station, AppError> {
    if row.kind != LocationKind::Station.as_str() {
        return Err(AppError::unprocessable("not_a_station", format!("{} is not a station", row.code)));
    }
    let terms = store::station_terms_full(conn, row.id)?;
    station_with(row, terms)
}

/// A station (its kind already checked) from its row and terms.
fn station_with(row: LocationRow, terms: store::StationTerms) -> Result<Station, AppError> {
    let centre = row
        .parent_id
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("station {} has no centre", row.code)))?;
    let mut codes = BTreeMap::from([(row.id, row.code.clone())]);
    if let Some(code) = terms.centre_code {
        codes.insert(centre, code);
    }
    if let Some((id, code)) = &terms.central {
        codes.insert(*id, code.clone());
    }
    codes.extend(terms.laterals.iter().cloned());
    Ok(Station {
        row,
        centre,
        central: terms.central.map(|(id, _)| id),
        may_order_from_hq: terms.may_order_from_hq,
        allocation_priority: terms.allocation_priority,
        allowance: terms.allowance,
        laterals: terms.laterals.into_iter().map(|(id, _)| id).collect(),
        codes,
        locked: false,
    })
}

/// The station of a new request by code, with its terms and its row locked for the transaction,
/// in one statement; `None` when there is no such location within the caller's scope.
pub fn station_for_request(
    conn: &mut DbConn,
    scope: &Scope,
    code: &str,
) -> Result<Option<Station>, AppError> {
    let Some((row, terms)) =
        store::station_by_code_locked(conn, code)?.filter(|(r, _)| scope.covers(&r.path))
    else {
        return Ok(None);
    };
    if row.kind != LocationKind::Station.as_str() {
        return Err(AppError::unprocessable("not_a_station", format!("{} is not a station", row.code)));
    }
    let mut st = station_with(row, terms?)?;
    st.locked = true;
    Ok(Some(st))
}

impl Station {
    pub fn sources(&self, requested: Option<i64>) -> Result<Vec<i64>, AppError> {
        rules::sources(self.centre, self.central, self.may_order_from_hq, &self.laterals, requested)
            .map_err(|m| AppError::unprocessable("source_not_allowed", m))
    }
}

/// What a client asks for.
#[derive(Clone, Copy)]
pub struct RequestSpec<'a> {
    pub lines: &'a [LineSpec],
    pub urgency: &'a str,
    pub ticket_id: Option<i64>,
    pub source: Option<&'a str>,
}

/// One line to request, as parsed from the client.
pub struct LineSpec {
    pub part_code: String,
    pub qty: i64,
}

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
struct Reserved {
    /// (source, units) reserved, in source order
    takes: Vec<(i64, i64)>,
    left: i64,
    first_filled: i64,
}

/// Reserves what the sources hold of a part, in order, up to `need`.
fn reserve_need(conn: &mut DbConn, part_id: i64, need: i64, sources: &[i64]) -> Result<Reserved, AppError> {
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
fn record_allocations(
    conn: &mut DbConn,
    line: &LineRow,
    takes: &[(i64, i64)],
    at: DateTime<Utc>,
) -> Result<Vec<AllocationRow>, AppError> {
    let status = AllocationStatus::Reserved.as_str();
    let mut out = Vec::with_capacity(takes.len());
    for &(source, qty) in takes {
        let id = store::insert_allocation(conn, line, source, qty, status, at.naive_utc())?;
        out.push(AllocationRow {
            id,
            request_id: line.request_id,
            line_id: line.id,
            part_id: line.part_id,
            source_id: source,
            qty,
            status: status.to_string(),
            serials: None,
        });
    }
    Ok(out)
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
fn allocate_request(
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
    crate::reports::rollup::routed(conn, req.id)?;
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
    let allocations: Vec<AllocationStatus> = store::allocations(conn, &[request_id])?
        .iter()
        .filter_map(|a| AllocationStatus::parse(&a.status))
        .collect();
    let backlog: i64 = store::lines(conn, &[request_id])?.iter().map(|l| l.backordered).sum();
    let status = rules::derive_status(&allocations, backlog, damaged_just_now);
    store::set_status(conn, request_id, status.as_str(), at.naive_utc())?;
    Ok(status)
}

/// A request just created, as the transaction wrote it: enough to answer without reading it
/// back.
pub struct Created {
    pub request: RequestRow,
    /// in line order
    pub lines: Vec<LineRow>,
    /// in the order they were made
    pub allocations: Vec<AllocationRow>,
    /// codes of every location the request names
    pub location_codes: BTreeMap<i64, String>,
    /// codes of the parts serving the lines
    pub part_codes: BTreeMap<i64, String>,
}

/// Creates a request for `station`: resolves each code (a superseded part is served by its
/// successor), checks the allowance, and either reserves and routes the lines or leaves the
/// request `pending_approval` with the excess.
pub fn create(
    conn: &mut DbConn,
    caller: &Caller,
    st: &Station,
    spec: &RequestSpec<'_>,
    at: DateTime<Utc>,
) -> Result<Created, AppError> {
    let RequestSpec { lines, urgency, ticket_id, source } = *spec;
    if !st.locked {
        store::lock_station(conn, st.row.id)?;
    }
    let mut location_codes = st.codes.clone();
    let source_id = match source {
        Some(code) => {
            let place = ledger::place_by_code(conn, code)?.ok_or_else(|| {
                AppError::unprocessable("unknown_source", format!("there is no location {code}"))
            })?;
            st.sources(Some(place.id))?;
            location_codes.insert(place.id, place.code);
            Some(place.id)
        }
        None => None,
    };
    let mut resolved = Vec::new();
    let mut value = 0i64;
    for (i, l) in lines.iter().enumerate() {
        let part = resolve_part_code(conn, &l.part_code, None).map_err(|e| e.with("line", i))?;
        let served = resolve_successor(conn, part)?.served;
        value = value.saturating_add(l.qty.saturating_mul(served.unit_cost_minor));
        resolved.push((l, served));
    }
    // overdue loan lines count a second time, on top of their value in the technician's
    // custody (spec section 8: they count against the allowance)
    let outstanding = store::outstanding_minor(conn, st.row.id, &st.row.path)?
        .saturating_add(crate::loans::overdue_value(conn, st.row.id, at.naive_utc())?);
    let exceeds = rules::exceeds_by(outstanding, value, st.allowance);
    let status = if exceeds.is_some() { Status::PendingApproval } else { Status::Allocated };
    let new = NewRequest {
        station_id: st.row.id,
        ticket_id,
        urgency,
        status: status.as_str(),
        source_id,
        value_minor: value,
        exceeds_by_minor: exceeds,
        requested_by: &caller.username,
        created_at: at.naive_utc(),
        updated_at: at.naive_utc(),
    };
    let id = store::insert_request(conn, &new)?;
    let mut request = RequestRow {
        id,
        station_id: new.station_id,
        ticket_id,
        urgency: urgency.to_string(),
        status: new.status.to_string(),
        source_id,
        value_minor: value,
        exceeds_by_minor: exceeds,
        requested_by: caller.username.clone(),
        decided_by: None,
        decision_note: None,
        created_at: new.created_at,
        updated_at: new.updated_at,
    };
    let mut part_codes = BTreeMap::new();
    let mut lines_out = Vec::with_capacity(resolved.len());
    for (n, (l, part)) in resolved.iter().enumerate() {
        part_codes.insert(part.id, part.code.clone());
        lines_out.push(LineRow {
            id: 0,
            request_id: id,
            line_no: n as i32 + 1,
            requested_code: l.part_code.trim().to_string(),
            part_id: part.id,
            qty: l.qty,
            unit_cost_minor: part.unit_cost_minor,
            backordered: 0,
        });
    }
    let mut allocations = Vec::new();
    if exceeds.is_some() {
        for line in &mut lines_out {
            line.id = store::insert_line(
                conn,
                id,
                line.line_no,
                &line.requested_code,
                line.part_id,
                line.qty,
                line.unit_cost_minor,
            )?;
        }
    } else {
        // reserve line by line in part order, so that concurrent requests take row locks in one
        // order; then write each line with its routing (no update after the insert)
        let sources = st.sources(source_id)?;
        let first_source_id = sources.first().copied().unwrap_or_default();
        let mut order: Vec<usize> = (0..lines_out.len()).collect();
        order.sort_by_key(|&i| lines_out[i].part_id);
        let mut reserved: Vec<Option<Reserved>> = (0..lines_out.len()).map(|_| None).collect();
        for &i in &order {
            let line = &lines_out[i];
            reserved[i] = Some(reserve_need(conn, line.part_id, line.qty, &sources)?);
        }
        let mut backlog = 0;
        for (line, r) in lines_out.iter_mut().zip(&reserved) {
            let Some(r) = r else { continue };
            let routing =
                store::Routing { first_source_id, first_filled: r.first_filled, backordered: r.left };
            line.backordered = r.left;
            line.id = store::insert_routed_line(conn, line, &routing, at.naive_utc())?;
            backlog += r.left;
        }
        crate::reports::rollup::routed(conn, id)?;
        for &i in &order {
            if let Some(r) = &reserved[i] {
                allocations.extend(record_allocations(conn, &lines_out[i], &r.takes, at)?);
            }
        }
        // inserted as `allocated`; only a backlog changes that
        if backlog > 0 {
            store::set_status(conn, id, Status::Backordered.as_str(), at.naive_utc())?;
            request.status = Status::Backordered.as_str().to_string();
        }
    }
    if let Some(ticket) = ticket_id {
        crate::reports::rollup::ticket(conn, ticket)?;
    }
    Ok(Created { request, lines: lines_out, allocations, location_codes, part_codes })
}

/// A request the caller may see, or 404: a station its own, a technician its station's, a
/// warehouse those of its stations or supplied from its stock, others all.
pub fn visible(conn: &mut DbConn, caller: &Caller, id: i64) -> Result<RequestRow, AppError> {
    let not_found = || AppError::not_found(format!("parts request {id} not found"));
    let req = store::request(conn, id)?.ok_or_else(not_found)?;
    if caller.role == Role::Courier {
        return Err(AppError::forbidden("couriers see shipments, not parts requests"));
    }
    match Scope::of(conn, caller)? {
        Scope::All => Ok(req),
        scope @ Scope::Under { .. } => {
            let station = network::by_id(conn, req.station_id)?;
            if scope.covers(&station.path) {
                return Ok(req);
            }
            if caller.role == Role::Warehouse {
                for a in store::allocations(conn, &[id])? {
                    if scope.covers(&network::by_id(conn, a.source_id)?.path) {
                        return Ok(req);
                    }
                }
            }
            Err(not_found())
        }
    }
}

fn status_of(req: &RequestRow) -> Status {
    Status::parse(&req.status).unwrap_or(Status::Cancelled)
}

fn check(req: &RequestRow, action: Action) -> Result<Status, AppError> {
    let s = status_of(req);
    if rules::allowed(s, action) {
        Ok(s)
    } else {
        Err(AppError::conflict("invalid_transition", rules::refusal(s, action))
            .with("current_status", s.as_str()))
    }
}

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
    caller.require(&[Role::Admin, Role::Warehouse])?;
    let req = visible(conn, caller, id)?;
    let station_row = network::by_id(conn, req.station_id)?;
    if !Scope::of(conn, caller)?.covers(&station_row.path) {
        return Err(AppError::forbidden(
            "only the station's regional centre (or an admin) decides on its requests",
        ));
    }
    check(&req, if approve { Action::Approve } else { Action::Reject })?;
    store::set_decision(conn, id, &caller.username, note)?;
    if approve {
        let st = station(conn, station_row)?;
        allocate_request(conn, &req, &st, at)?;
    } else {
        store::set_status(conn, id, Status::Rejected.as_str(), at.naive_utc())?;
    }
    Ok(())
}

/// Whether the caller acts for this source (a warehouse user: its own stock; admin: any).
fn acts_for(conn: &mut DbConn, scope: &Scope, source_id: i64) -> Result<bool, AppError> {
    Ok(scope.covers(&network::by_id(conn, source_id)?.path))
}

/// Picks the reserved allocations of the caller's stock.
pub fn pick(conn: &mut DbConn, caller: &Caller, id: i64, at: DateTime<Utc>) -> Result<(), AppError> {
    caller.require(&[Role::Admin, Role::Warehouse])?;
    let req = visible(conn, caller, id)?;
    check(&req, Action::Pick)?;
    let scope = Scope::of(conn, caller)?;
    let mut picked = 0;
    for a in store::allocations(conn, &[id])? {
        if a.status == AllocationStatus::Reserved.as_str() && acts_for(conn, &scope, a.source_id)? {
            store::set_allocation(conn, a.id, AllocationStatus::Picked.as_str(), None, at.naive_utc())?;
            picked += 1;
        }
    }
    if picked == 0 {
        return Err(AppError::conflict(
            "nothing_to_pick",
            "no reserved stock of yours waits to be picked for this request",
        ));
    }
    refresh_status(conn, id, false, at)?;
    Ok(())
}

/// Ships the picked (or still reserved) allocations of the caller's stock: the units leave the
/// source's shelf and its reservation for `IN-TRANSIT`.
pub fn ship(conn: &mut DbConn, caller: &Caller, id: i64, at: DateTime<Utc>) -> Result<Vec<i64>, AppError> {
    caller.require(&[Role::Admin, Role::Warehouse])?;
    let req = visible(conn, caller, id)?;
    let status = check(&req, Action::Ship)?;
    let scope = Scope::of(conn, caller)?;
    let mut allocations = store::allocations(conn, &[id])?;
    let any_picked = allocations.iter().any(|a| a.status == AllocationStatus::Picked.as_str());
    // from `picked` only picked allocations leave; otherwise reserved ones are picked and shipped at once
    let leaving = if status == Status::Picked || any_picked {
        AllocationStatus::Picked
    } else {
        AllocationStatus::Reserved
    };
    allocations.retain(|a| a.status == leaving.as_str());
    let mut mine = Vec::new();
    for a in allocations {
        if acts_for(conn, &scope, a.source_id)? {
            mine.push(a);
        }
    }
    if mine.is_empty() {
        return Err(AppError::conflict(
            "nothing_to_ship",
            "no stock of yours is ready to ship for this request",
        ));
    }
    let shipments = dispatch(conn, &req, &mine, &caller.username, req.urgency == "urgent", at)?;
    refresh_status(conn, id, false, at)?;
    Ok(shipments)
}

/// Moves allocated units from their sources' reservations to `IN-TRANSIT` and creates one
/// shipment per source; returns the shipments.
fn dispatch(
    conn: &mut DbConn,
    req: &RequestRow,
    allocations: &[AllocationRow],
    actor: &str,
    urgent: bool,
    at: DateTime<Utc>,
) -> Result<Vec<i64>, AppError> {
    let transit = ledger::virtual_place(conn, LocationKind::InTransit)?;
    let reference = format!("request:{}", req.id);
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
            "serials_missing",
            format!("{} lacks serials for {qty} units of {}", at.code, part.code),
        ));
    }
    Ok(serials)
}

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
    let req = visible(conn, caller, id)?;
    check(&req, Action::Receive)?;
    let station_row = network::by_id(conn, req.station_id)?;
    if !Scope::of(conn, caller)?.covers(&station_row.path) {
        return Err(AppError::forbidden(
            "only the receiving station (or its centre, or an admin) records a receipt",
        ));
    }
    let shipped: Vec<AllocationRow> = store::allocations(conn, &[id])?
        .into_iter()
        .filter(|a| a.status == AllocationStatus::Shipped.as_str())
        .collect();
    if shipped.is_empty() {
        return Err(AppError::conflict("nothing_to_receive", "nothing of this request is in transit"));
    }
    let lines = store::lines(conn, &[id])?;
    let mut per_line: BTreeMap<i64, Vec<AllocationRow>> = BTreeMap::new();
    for a in shipped {
        per_line.entry(a.line_id).or_default().push(a);
    }
    // what the station says, checked against what is in transit
    let mut damaged_of: BTreeMap<i64, i64> = BTreeMap::new();
    for s in said {
        let line = lines.iter().find(|l| l.line_no == s.line_no).ok_or_else(|| {
            AppError::unprocessable("unknown_line", format!("the request has no line {}", s.line_no))
        })?;
        let in_transit: i64 = per_line.get(&line.id).map(|v| v.iter().map(|a| a.qty).sum()).unwrap_or(0);
        if s.received_qty < 0 || s.damaged_qty < 0 || s.received_qty + s.damaged_qty != in_transit {
            return Err(AppError::unprocessable(
                "receipt_mismatch",
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
                            },
                        )?;
                    }
                    Ok(())
                };
            post(good, &dest, Reason::TransferReceive, good_serials)?;
            post(bad, &quarantine, Reason::DamagedInTransit, bad_serials)?;
            crate::shipping::service::on_receipt(conn, a.id, a.part_id, bad, at)?;
            let json = |s: &[String]| (!s.is_empty()).then(|| serde_json::to_string(s).unwrap_or_default());
            if bad == 0 {
                store::set_allocation(
                    conn,
                    a.id,
                    AllocationStatus::Received.as_str(),
                    json(good_serials).as_deref(),
                    at.naive_utc(),
                )?;
            } else if good == 0 {
                store::set_allocation(
                    conn,
                    a.id,
                    AllocationStatus::Damaged.as_str(),
                    json(bad_serials).as_deref(),
                    at.naive_utc(),
                )?;
            } else {
                store::set_allocation(
                    conn,
                    a.id,
                    AllocationStatus::Received.as_str(),
                    json(good_serials).as_deref(),
                    at.naive_utc(),
                )?;
                store::split_allocation(
                    conn,
                    &a,
                    bad,
                    AllocationStatus::Damaged.as_str(),
                    json(bad_serials).as_deref(),
                    at.naive_utc(),
                )?;
            }
            crate::reports::rollup::received(conn, a.id)?;
        }
        if line_damaged > 0 {
            // the replacement: the damaged units are owed again and routed like the original
            let st = station(conn, station_row.clone())?;
            let sources = st.sources(req.source_id)?;
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
    if let Some(ticket) = req.ticket_id {
        crate::reports::rollup::ticket(conn, ticket)?;
    }
    refresh_status(conn, id, !damages.is_empty(), at)?;
    Ok(damages)
}

/// Cancels a request that has nothing in transit; every reservation is released.
pub fn cancel(conn: &mut DbConn, caller: &Caller, id: i64, at: DateTime<Utc>) -> Result<(), AppError> {
    caller.require(&[Role::Admin, Role::Station, Role::Warehouse])?;
    let req = visible(conn, caller, id)?;
    check(&req, Action::Cancel)?;
    let allocations = store::allocations(conn, &[id])?;
    if allocations.iter().any(|a| a.status == AllocationStatus::Shipped.as_str()) {
        return Err(AppError::conflict("in_transit", "part of this request is in transit; receive it first"));
    }
    for a in allocations {
        if a.status == AllocationStatus::Reserved.as_str() || a.status == AllocationStatus::Picked.as_str() {
            ledger::release(conn, a.part_id, a.source_id, a.qty)?;
            store::set_allocation(conn, a.id, AllocationStatus::Cancelled.as_str(), None, at.naive_utc())?;
        }
    }
    for l in store::lines(conn, &[id])? {
        store::set_backordered(conn, l.id, 0)?;
    }
    store::set_status(conn, id, Status::Cancelled.as_str(), at.naive_utc())?;
    Ok(())
}

/// Closes a fully received request.
pub fn close(conn: &mut DbConn, caller: &Caller, id: i64, at: DateTime<Utc>) -> Result<(), AppError> {
    caller.require(&[Role::Admin, Role::Station, Role::Warehouse])?;
    let req = visible(conn, caller, id)?;
    check(&req, Action::Close)?;
    store::set_status(conn, id, Status::Closed.as_str(), at.naive_utc())?;
    Ok(())
}

/// A backordered line served from new stock.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"request_id": 42, "line_no": 1, "station": "ST-TZ-001", "qty": 2}))]
pub struct BackorderFill {
    pub request_id: i64,
    pub line_no: i32,
    pub station: String,
    pub qty: i64,
}

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
        if !st.sources(req.source_id).map(|s| s.contains(&place.id)).unwrap_or(false) {
            continue;
        }
        let left = allocate_line(conn, &line, line.backordered, &[place.id], at)?;
        if left < line.backordered {
            store::set_backordered(conn, line.id, left)?;
            refresh_status(conn, req.id, false, at)?;
            filled.push(BackorderFill {
                request_id: req.id,
                line_no: line.line_no,
                station: st.row.code.clone(),
                qty: line.backordered - left,
            });
        }
        if ledger::available(conn, part_id, place.id)? <= 0 {
            break;
        }
    }
    Ok(filled)
}
