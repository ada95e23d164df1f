//! A new parts request: codes resolved, the allowance checked against the station's running
//! outstanding value (and again where its share is booked), the lines reserved and routed, the
//! request written in its final state.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::routing::{allocation_row, record_allocations, reserve_need, Reserved};
use super::Station;
use crate::auth::Caller;
use crate::catalogue::resolve_successor;
use crate::catalogue::PartRow;
use crate::db::DbConn;
use crate::error::{AppError, Problem};
use crate::ledger::store as ledger;
use crate::requests::rules::{self, AllocationStatus, Status};
use crate::requests::store::{self, AllocationRow, LineRow, NewRequest, RequestRow};
use crate::tickets::service::PartsTicket;

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

/// Creates a request for `station`: checks the ticket it names (see
/// [`crate::tickets::service::for_parts`]), resolves each code (a superseded part is served by its
/// successor; for a ticket, only parts that fit its unit's model), checks the allowance, and either reserves and routes the lines or leaves the
/// request `pending_approval` with the excess.
pub fn create(
    conn: &mut DbConn,
    caller: &Caller,
    st: &Station,
    spec: &RequestSpec<'_>,
    at: DateTime<Utc>,
) -> Result<Created, AppError> {
    let Plan { stored, source_id, location_codes, value, overdue, exceeds, part_codes, mut lines_out } =
        plan(conn, caller, st, spec, at)?;
    let ticket_id = spec.ticket_id;
    // reserve line by line in part order, so that concurrent requests take row locks in one
    // order, before anything is written: the request is then inserted in its final state
    let sources = if exceeds.is_some() { Vec::new() } else { st.sources(source_id)? };
    let mut order: Vec<usize> = (0..lines_out.len()).collect();
    order.sort_by_key(|&i| lines_out[i].part_id);
    let mut reserved: Vec<Option<Reserved>> = (0..lines_out.len()).map(|_| None).collect();
    if exceeds.is_none() {
        for &i in &order {
            let line = &lines_out[i];
            reserved[i] = Some(reserve_need(conn, line.part_id, line.qty, &sources)?);
        }
    }
    let backlog: i64 = reserved.iter().flatten().map(|r| r.left).sum();
    let status = match (exceeds, backlog) {
        (Some(_), _) => Status::PendingApproval,
        (None, 0) => Status::Allocated,
        (None, _) => Status::Backordered,
    };
    // an open request owes what it reserved and what it backordered: all of its value
    let share = if exceeds.is_some() { 0 } else { value };
    // the station's running value must stay within 64 bits (a refusal rolls back the reservations)
    crate::outstanding::checked(st.row.id, stored, Some(share))?;
    let mut request = request_row(st, caller, spec, source_id, value, exceeds, status, at);
    let new = new_request(&request, share);
    let routed = if exceeds.is_some() { None } else { Some(routing_of(&reserved, &order, &sources)) };
    let (id, allocations) = write(conn, &new, &mut lines_out, routed, at)?;
    request.id = id;
    // booked as the transaction's last statement, only if the station's value then still
    // leaves room for it (else the request runs again and sees why); a request that waits for
    // approval owes nothing yet
    if share != 0 {
        crate::outstanding::add_within(conn, st.row.id, share, st.allowance.saturating_sub(overdue))?;
    }
    if let Some(ticket) = ticket_id {
        crate::rollup::ticket(conn, ticket)?;
    }
    super::routing::publish(conn, &request, &st.row, status, backlog, at)?;
    Ok(Created { request, lines: lines_out, allocations, location_codes, part_codes })
}

/// The common request, whole in one PostgreSQL statement sent outside any transaction (see
/// [`store::write_whole`]): one line, no ticket, within the allowance, and the whole quantity
/// free at the first source. It writes what [`create`] writes for that request. None, with
/// nothing written, for any other request (or on SQLite): the caller then runs [`create`] in a
/// transaction. Refusals (an unknown part, a source not allowed) are [`create`]'s.
///
/// With `assumed`, `st` is the station as this process last read it (see
/// [`RoutingCache::kept_station`](super::RoutingCache::kept_station)), and the statement writes
/// only while what that copy assumed still holds ([`store::Assumed`]).
pub fn create_whole(
    conn: &mut DbConn,
    caller: &Caller,
    st: &Station,
    spec: &RequestSpec<'_>,
    at: DateTime<Utc>,
    assumed: Option<&store::Assumed>,
) -> Result<Option<Created>, AppError> {
    if !matches!(conn, DbConn::Pg(_)) || spec.lines.len() != 1 || spec.ticket_id.is_some() {
        return Ok(None);
    }
    let Plan { stored, source_id, location_codes, value, overdue, exceeds, part_codes, mut lines_out } =
        plan(conn, caller, st, spec, at)?;
    let sources = st.sources(source_id)?;
    let (Some(&first), None) = (sources.first(), exceeds) else {
        return Ok(None);
    };
    crate::outstanding::checked(st.row.id, stored, Some(value))?;
    let mut request = request_row(st, caller, spec, source_id, value, None, Status::Allocated, at);
    request.id = crate::events::NOT_YET;
    let Some((event_type, payload)) = super::routing::event_of(&request, &st.row, Status::Allocated, 0)
    else {
        return Ok(None);
    };
    let Some(event) = crate::events::FirstEvent::new(
        event_type,
        super::routing::EVENT_KIND,
        Some(st.row.id),
        &st.row.path,
        payload,
        at.naive_utc(),
    ) else {
        return Ok(None);
    };
    let new = new_request(&request, value);
    let line = &mut lines_out[0];
    let routing = store::Routing { first_source_id: first, first_filled: line.qty, backordered: 0 };
    // the booking's ceiling as `outstanding::add_within` sets it: the value as the booking
    // finds it, with this share, within the allowance less what is overdue
    let cap = st.allowance.saturating_sub(overdue).saturating_sub(value);
    let DbConn::Pg(c) = conn else { return Ok(None) };
    let Some(w) = store::write_whole(c, &new, line, &routing, &event, cap, assumed)? else {
        return Ok(None);
    };
    request.id = w.request_id;
    (line.request_id, line.id) = (w.request_id, w.line_ids.first().copied().unwrap_or_default());
    let allocations = w
        .allocation_ids
        .iter()
        .map(|&aid| allocation_row(aid, line, first, line.qty, AllocationStatus::Reserved))
        .collect();
    Ok(Some(Created { request, lines: lines_out, allocations, location_codes, part_codes }))
}

/// What a new request comes to before anything is written.
struct Plan {
    /// the station's value as last committed, with what this transaction changed on it
    stored: i64,
    /// the source the client named
    source_id: Option<i64>,
    location_codes: BTreeMap<i64, String>,
    value: i64,
    /// the value of the station's overdue loan lines
    overdue: i64,
    /// by how much the request passes the allowance
    exceeds: Option<i64>,
    part_codes: BTreeMap<i64, String>,
    /// the lines as they will be written, before their ids and routing
    lines_out: Vec<LineRow>,
}

/// Reads and checks what a new request needs: the source it names, the ticket (every line
/// must fit its unit's model), each line's part and the value, and the allowance.
fn plan(
    conn: &mut DbConn,
    caller: &Caller,
    st: &Station,
    spec: &RequestSpec<'_>,
    at: DateTime<Utc>,
) -> Result<Plan, AppError> {
    let RequestSpec { lines, ticket_id, source, .. } = *spec;
    // the value as last committed, read without a lock (the booking checks it again),
    // with what this transaction has changed on it so far
    let stored = match st.outstanding {
        Some(v) => v,
        None => crate::outstanding::stored(conn, st.row.id)?,
    };
    let stored = crate::outstanding::as_left(st.row.id, stored);
    let mut location_codes = st.codes.clone();
    let source_id = match source {
        Some(code) => {
            let place = ledger::place_by_code(conn, code)?.ok_or_else(|| {
                AppError::unprocessable(Problem::UnknownSource, format!("there is no location {code}"))
                    .with("field", "source")
            })?;
            st.sources(Some(place.id))?;
            location_codes.insert(place.id, place.code);
            Some(place.id)
        }
        None => None,
    };
    // a ticket is checked like a path id, and every line must fit its unit's model
    let ticket = match ticket_id {
        Some(id) => Some(crate::tickets::service::for_parts(conn, caller, id, st.row.id)?),
        None => None,
    };
    let routing_source = source_id.unwrap_or(st.centre);
    let (resolved, value) = price_lines(conn, st, lines, ticket.as_ref(), routing_source)?;
    // overdue loan lines count a second time, on top of their value in the technician's
    // custody (spec section 8: they count against the allowance); from the open lines read
    // (or kept) with the station
    let overdue = match &st.open_lines {
        Some(lines) => crate::loans::overdue_of(lines, at.naive_utc()),
        None => crate::loans::overdue_value(conn, st.row.id, at.naive_utc())?,
    };
    let exceeds = rules::exceeds_by(stored.saturating_add(overdue), value, st.allowance);
    let part_codes = resolved.iter().map(|(_, p)| (p.id, p.code.clone())).collect();
    let lines_out = resolved.iter().enumerate().map(|(n, (l, part))| line_row(n, l, part)).collect();
    Ok(Plan { stored, source_id, location_codes, value, overdue, exceeds, part_codes, lines_out })
}

/// The request as it will be written (id 0 until it is).
#[allow(clippy::too_many_arguments)]
fn request_row(
    st: &Station,
    caller: &Caller,
    spec: &RequestSpec<'_>,
    source_id: Option<i64>,
    value: i64,
    exceeds: Option<i64>,
    status: Status,
    at: DateTime<Utc>,
) -> RequestRow {
    RequestRow {
        id: 0,
        station_id: st.row.id,
        ticket_id: spec.ticket_id,
        urgency: spec.urgency.to_string(),
        status,
        source_id,
        value_minor: value,
        exceeds_by_minor: exceeds,
        requested_by: caller.username.clone(),
        decided_by: None,
        decision_note: None,
        created_at: at.naive_utc(),
        updated_at: at.naive_utc(),
    }
}

/// The row to insert for `r`, owing `share`.
fn new_request(r: &RequestRow, share: i64) -> NewRequest<'_> {
    NewRequest {
        station_id: r.station_id,
        ticket_id: r.ticket_id,
        urgency: &r.urgency,
        status: r.status.as_str(),
        source_id: r.source_id,
        value_minor: r.value_minor,
        exceeds_by_minor: r.exceeds_by_minor,
        requested_by: &r.requested_by,
        created_at: r.created_at,
        updated_at: r.updated_at,
        outstanding_minor: share,
    }
}

/// Each line with the part that serves it.
type Priced<'l> = Vec<(&'l LineSpec, PartRow)>;

/// Each line's part (a superseded one served by its successor) and the request's value. For a
/// ticket, each line is fitted to the ticket's unit (see [`PartsTicket::part`]), with the
/// alternatives' stock at `routing_source`.
fn price_lines<'l>(
    conn: &mut DbConn,
    st: &Station,
    lines: &'l [LineSpec],
    ticket: Option<&PartsTicket>,
    routing_source: i64,
) -> Result<(Priced<'l>, i64), AppError> {
    let mut resolved = Vec::with_capacity(lines.len());
    let mut value = 0i64;
    for (i, l) in lines.iter().enumerate() {
        let part = match ticket {
            Some(t) => t.part(conn, i, &l.part_code, routing_source)?,
            None => st.part(conn, &l.part_code).map_err(|e| e.with("line", i))?,
        };
        let served = resolve_successor(conn, part)?.served;
        value = value.saturating_add(l.qty.saturating_mul(served.unit_cost_minor));
        resolved.push((l, served));
    }
    Ok((resolved, value))
}

/// The `n`th line (from 0) as it will be written, before its ids and routing.
fn line_row(n: usize, l: &LineSpec, part: &PartRow) -> LineRow {
    LineRow {
        id: 0,
        request_id: 0,
        line_no: n as i32 + 1,
        requested_code: l.part_code.trim().to_string(),
        part_id: part.id,
        qty: l.qty,
        unit_cost_minor: part.unit_cost_minor,
        backordered: 0,
    }
}

/// Writes the request, its lines (given their ids here) and, when it was routed, the lines'
/// routing and the allocations; returns the request id and the allocations in the order made.
fn write(
    conn: &mut DbConn,
    new: &NewRequest<'_>,
    lines_out: &mut [LineRow],
    routed: Option<(Vec<store::Routing>, Vec<store::Take>)>,
    at: DateTime<Utc>,
) -> Result<(i64, Vec<AllocationRow>), AppError> {
    Ok(match (&mut *conn, routed) {
        // on PostgreSQL one statement writes it all (see `store::write_routed`)
        (DbConn::Pg(c), Some((routing, takes))) => {
            for (line, r) in lines_out.iter_mut().zip(&routing) {
                line.backordered = r.backordered;
            }
            let just_reserved = AllocationStatus::Reserved;
            let w = store::write_routed(c, new, lines_out, &routing, &takes, just_reserved.as_str())?;
            for (line, id) in lines_out.iter_mut().zip(&w.line_ids) {
                (line.request_id, line.id) = (w.request_id, *id);
            }
            let allocations = takes
                .iter()
                .zip(&w.allocation_ids)
                .map(|(t, &aid)| allocation_row(aid, &lines_out[t.line], t.source_id, t.qty, just_reserved))
                .collect();
            (w.request_id, allocations)
        }
        (conn, routed) => {
            let id = store::insert_request(conn, new)?;
            let mut allocations = Vec::new();
            match routed {
                None => {
                    for line in lines_out.iter_mut() {
                        line.request_id = id;
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
                }
                // each line written with its routing (no update after the insert), then the
                // allocations in the order they were made
                Some((routing, takes)) => {
                    for (line, r) in lines_out.iter_mut().zip(&routing) {
                        line.request_id = id;
                        line.backordered = r.backordered;
                        line.id = store::insert_routed_line(conn, line, r, at.naive_utc())?;
                    }
                    for t in &takes {
                        let line = &lines_out[t.line];
                        allocations.extend(record_allocations(conn, line, &[(t.source_id, t.qty)], at)?);
                    }
                }
            }
            (id, allocations)
        }
    })
}

/// Each line's routing (in line order) and the allocations to make, in the order they are made:
/// lines in part order (the order their reservations were taken), each line's sources in order.
fn routing_of(
    reserved: &[Option<Reserved>],
    order: &[usize],
    sources: &[i64],
) -> (Vec<store::Routing>, Vec<store::Take>) {
    let first_source_id = sources.first().copied().unwrap_or_default();
    let routing = reserved
        .iter()
        .map(|r| {
            let (first_filled, backordered) =
                r.as_ref().map(|r| (r.first_filled, r.left)).unwrap_or_default();
            store::Routing { first_source_id, first_filled, backordered }
        })
        .collect();
    let mut takes = Vec::new();
    for &line in order {
        let made = reserved[line].iter().flat_map(|r| r.takes.iter());
        takes.extend(made.map(|&(source_id, qty)| store::Take { line, source_id, qty }));
    }
    (routing, takes)
}
