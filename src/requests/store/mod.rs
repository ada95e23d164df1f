//! Parts requests, their lines and allocations, and idempotency keys in the database.

mod idempotency;
mod routed_pg;
mod station;

pub use idempotency::{claim_key, idempotent_answer, store_answer, StoredAnswer};
pub use routed_pg::{write_routed, write_whole, Assumed, Take, Written};
pub use station::{station_by_code, station_terms, station_terms_full, StationRead, StationTerms};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::rules::{AllocationStatus, Status};
use crate::db::schema::{
    locations, parts_request_lines, parts_requests, request_allocations, tickets, tiers,
};
use crate::db::{CachedExt, DbConn};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = parts_requests)]
pub struct RequestRow {
    pub id: i64,
    pub station_id: i64,
    pub ticket_id: Option<i64>,
    pub urgency: String,
    pub status: Status,
    pub source_id: Option<i64>,
    pub value_minor: i64,
    pub exceeds_by_minor: Option<i64>,
    pub requested_by: String,
    pub decided_by: Option<String>,
    pub decision_note: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = parts_requests)]
pub struct NewRequest<'a> {
    pub station_id: i64,
    pub ticket_id: Option<i64>,
    pub urgency: &'a str,
    pub status: &'a str,
    pub source_id: Option<i64>,
    pub value_minor: i64,
    pub exceeds_by_minor: Option<i64>,
    pub requested_by: &'a str,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// the request's share of its station's outstanding value (see `outstanding`)
    pub outstanding_minor: i64,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = parts_request_lines)]
pub struct LineRow {
    pub id: i64,
    pub request_id: i64,
    pub line_no: i32,
    pub requested_code: String,
    pub part_id: i64,
    pub qty: i64,
    pub unit_cost_minor: i64,
    pub backordered: i64,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = request_allocations)]
pub struct AllocationRow {
    pub id: i64,
    pub request_id: i64,
    pub line_id: i64,
    pub part_id: i64,
    pub source_id: i64,
    pub qty: i64,
    pub status: AllocationStatus,
    pub serials: Option<String>,
}

/// Inserts a request; returns its id. Its share (`r.outstanding_minor`) is booked on its
/// station by the caller (`outstanding::add_within`).
pub fn insert_request(conn: &mut DbConn, r: &NewRequest<'_>) -> QueryResult<i64> {
    // optional values make diesel treat the INSERT as unbounded; it has 2^3 shapes at most. On
    // the concrete connection: the multi-backend one renders a statement's SQL at every
    // execution, even a prepared one
    crate::on_backend!(conn, |c| diesel::insert_into(parts_requests::table)
        .values(r)
        .returning(parts_requests::id)
        .cached()
        .get_result(c))
}

pub fn insert_line(
    conn: &mut DbConn,
    request_id: i64,
    line_no: i32,
    requested_code: &str,
    part_id: i64,
    qty: i64,
    unit_cost_minor: i64,
) -> QueryResult<i64> {
    diesel::insert_into(parts_request_lines::table)
        .values((
            parts_request_lines::request_id.eq(request_id),
            parts_request_lines::line_no.eq(line_no),
            parts_request_lines::requested_code.eq(requested_code),
            parts_request_lines::part_id.eq(part_id),
            parts_request_lines::qty.eq(qty),
            parts_request_lines::unit_cost_minor.eq(unit_cost_minor),
            parts_request_lines::backordered.eq(0i64),
        ))
        .returning(parts_request_lines::id)
        .get_result(conn)
}

/// Inserts a line whose routing is already known (reserved before the line was written);
/// returns its id.
pub fn insert_routed_line(
    conn: &mut DbConn,
    line: &LineRow,
    routing: &Routing,
    at: NaiveDateTime,
) -> QueryResult<i64> {
    crate::on_backend!(conn, |c| diesel::insert_into(parts_request_lines::table)
        .values((
            parts_request_lines::request_id.eq(line.request_id),
            parts_request_lines::line_no.eq(line.line_no),
            parts_request_lines::requested_code.eq(&line.requested_code),
            parts_request_lines::part_id.eq(line.part_id),
            parts_request_lines::qty.eq(line.qty),
            parts_request_lines::unit_cost_minor.eq(line.unit_cost_minor),
            parts_request_lines::backordered.eq(routing.backordered),
            parts_request_lines::first_source_id.eq(routing.first_source_id),
            parts_request_lines::first_filled.eq(routing.first_filled),
            parts_request_lines::first_stockout.eq(routing.first_filled == 0),
            parts_request_lines::routed_at.eq(at),
        ))
        .returning(parts_request_lines::id)
        .get_result(c))
}

/// Where a line's first choice was and what it found.
pub struct Routing {
    pub first_source_id: i64,
    pub first_filled: i64,
    pub backordered: i64,
}

/// Records a line's routing: what it found at its first-choice source and what is left over.
pub fn set_routed(
    conn: &mut DbConn,
    line_id: i64,
    source_id: i64,
    filled: i64,
    backordered: i64,
    at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(parts_request_lines::table.find(line_id))
        .set((
            parts_request_lines::backordered.eq(backordered),
            parts_request_lines::first_source_id.eq(source_id),
            parts_request_lines::first_filled.eq(filled),
            parts_request_lines::first_stockout.eq(filled == 0),
            parts_request_lines::routed_at.eq(at),
        ))
        .execute(conn)
        .map(|_| ())
}

/// A waiting line's backorder as last committed, its row locked to the transaction's end (on
/// PostgreSQL; SQLite's writers run one at a time): a fill from another source, running at the
/// same time, may have served the line since the waiting lines were listed.
pub fn lock_backordered(conn: &mut DbConn, line_id: i64) -> QueryResult<i64> {
    let q = parts_request_lines::table.find(line_id).select(parts_request_lines::backordered);
    match conn {
        DbConn::Pg(c) => q.for_update().first(c),
        c => q.first(c),
    }
}

pub fn set_backordered(conn: &mut DbConn, line_id: i64, backordered: i64) -> QueryResult<()> {
    diesel::update(parts_request_lines::table.find(line_id))
        .set(parts_request_lines::backordered.eq(backordered))
        .execute(conn)
        .map(|_| ())
}

pub fn insert_allocation(
    conn: &mut DbConn,
    line: &LineRow,
    source_id: i64,
    qty: i64,
    status: &str,
    at: NaiveDateTime,
) -> QueryResult<i64> {
    crate::on_backend!(conn, |c| diesel::insert_into(request_allocations::table)
        .values((
            request_allocations::request_id.eq(line.request_id),
            request_allocations::line_id.eq(line.id),
            request_allocations::part_id.eq(line.part_id),
            request_allocations::source_id.eq(source_id),
            request_allocations::qty.eq(qty),
            request_allocations::status.eq(status),
            request_allocations::created_at.eq(at),
            request_allocations::updated_at.eq(at),
        ))
        .returning(request_allocations::id)
        .get_result(c))
}

/// Marks the allocations `line` just got from `source_id` at `at` as a waiting line served
/// by arriving stock (the audit checks each has its `backorder.filled` event).
pub fn mark_from_backorder(
    conn: &mut DbConn,
    line: &LineRow,
    source_id: i64,
    at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(
        request_allocations::table
            // the request's allocations by their index, then the line's
            .filter(request_allocations::request_id.eq(line.request_id))
            .filter(request_allocations::line_id.eq(line.id))
            .filter(request_allocations::source_id.eq(source_id))
            .filter(request_allocations::created_at.eq(at)),
    )
    .set(request_allocations::from_backorder.eq(true))
    .execute(conn)
    .map(|_| ())
}

pub fn set_allocation(
    conn: &mut DbConn,
    id: i64,
    status: &str,
    serials: Option<&str>,
    at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(request_allocations::table.find(id))
        .set((
            request_allocations::status.eq(status),
            request_allocations::serials.eq(serials),
            request_allocations::updated_at.eq(at),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Splits `qty` off an allocation into a new one with another status (a partly damaged
/// delivery); returns the new allocation's id.
pub fn split_allocation(
    conn: &mut DbConn,
    a: &AllocationRow,
    qty: i64,
    status: &str,
    serials: Option<&str>,
    at: NaiveDateTime,
) -> QueryResult<i64> {
    diesel::update(request_allocations::table.find(a.id))
        .set((request_allocations::qty.eq(a.qty - qty), request_allocations::updated_at.eq(at)))
        .execute(conn)?;
    diesel::insert_into(request_allocations::table)
        .values((
            request_allocations::request_id.eq(a.request_id),
            request_allocations::line_id.eq(a.line_id),
            request_allocations::part_id.eq(a.part_id),
            request_allocations::source_id.eq(a.source_id),
            request_allocations::qty.eq(qty),
            request_allocations::status.eq(status),
            request_allocations::serials.eq(serials),
            request_allocations::created_at.eq(at),
            request_allocations::updated_at.eq(at),
        ))
        .returning(request_allocations::id)
        .get_result(conn)
}

/// Locks a request's row to the transaction's end (on PostgreSQL; SQLite's writers run one at a
/// time), so that two actions on one request (a cancel and a pick, two receipts) run one after
/// the other, the second seeing what the first did.
pub fn lock_request(conn: &mut DbConn, id: i64) -> QueryResult<()> {
    if let DbConn::Pg(c) = conn {
        parts_requests::table.find(id).select(parts_requests::id).for_update().load::<i64>(c)?;
    }
    Ok(())
}

pub fn request(conn: &mut DbConn, id: i64) -> QueryResult<Option<RequestRow>> {
    parts_requests::table.find(id).select(RequestRow::as_select()).first(conn).optional()
}

pub fn lines(conn: &mut DbConn, request_ids: &[i64]) -> QueryResult<Vec<LineRow>> {
    parts_request_lines::table
        .filter(parts_request_lines::request_id.eq_any(request_ids.to_vec()))
        .select(LineRow::as_select())
        .order((parts_request_lines::request_id.asc(), parts_request_lines::line_no.asc()))
        .load(conn)
}

pub fn allocations(conn: &mut DbConn, request_ids: &[i64]) -> QueryResult<Vec<AllocationRow>> {
    request_allocations::table
        .filter(request_allocations::request_id.eq_any(request_ids.to_vec()))
        .select(AllocationRow::as_select())
        .order(request_allocations::id.asc())
        .load(conn)
}

/// Sets a request's state, and re-books its share of the station's outstanding value from its
/// allocations and backorders as they now stand (every flow of a request ends here).
pub fn set_status(conn: &mut DbConn, id: i64, status: &str, at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(parts_requests::table.find(id))
        .set((parts_requests::status.eq(status), parts_requests::updated_at.eq(at)))
        .execute(conn)?;
    crate::outstanding::sync_request(conn, id)
}

pub fn set_decision(conn: &mut DbConn, id: i64, by: &str, note: Option<&str>) -> QueryResult<()> {
    diesel::update(parts_requests::table.find(id))
        .set((parts_requests::decided_by.eq(by), parts_requests::decision_note.eq(note)))
        .execute(conn)
        .map(|_| ())
}

#[derive(Debug, Default, Clone)]
pub struct RequestFilter {
    pub station_ids: Option<Vec<i64>>,
    /// warehouse users: requests with an allocation from one of these sources, or from a
    /// station among `station_ids`
    pub source_ids: Option<Vec<i64>>,
    pub status: Option<String>,
    /// only the requests tied to this ticket
    pub ticket_id: Option<i64>,
    /// only the requests tied to a ticket dispatched to this technician
    pub technician_id: Option<i64>,
    /// only the requests with an allocation from this source (besides the scope above)
    pub from_source: Option<i64>,
}

/// The statuses of the requests tied to a ticket.
pub fn statuses_for_ticket(conn: &mut DbConn, ticket_id: i64) -> QueryResult<Vec<String>> {
    parts_requests::table
        .filter(parts_requests::ticket_id.eq(ticket_id))
        .select(parts_requests::status)
        .load(conn)
}

/// Newest first, before `before`.
pub fn list(
    conn: &mut DbConn,
    f: &RequestFilter,
    before: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<RequestRow>> {
    use parts_requests::dsl as r;
    let mut q = parts_requests::table.select(RequestRow::as_select()).into_boxed();
    match (&f.station_ids, &f.source_ids) {
        (Some(st), Some(src)) => {
            let sourced = request_allocations::table
                .filter(request_allocations::source_id.eq_any(src.clone()))
                .select(request_allocations::request_id);
            q = q.filter(r::station_id.eq_any(st.clone()).or(r::id.eq_any(sourced)));
        }
        (Some(st), None) => q = q.filter(r::station_id.eq_any(st.clone())),
        (None, Some(src)) => {
            let sourced = request_allocations::table
                .filter(request_allocations::source_id.eq_any(src.clone()))
                .select(request_allocations::request_id);
            q = q.filter(r::id.eq_any(sourced));
        }
        (None, None) => {}
    }
    if let Some(s) = &f.status {
        q = q.filter(r::status.eq(s.clone()));
    }
    if let Some(t) = f.ticket_id {
        q = q.filter(r::ticket_id.eq(t));
    }
    if let Some(source) = f.from_source {
        let sourced = request_allocations::table
            .filter(request_allocations::source_id.eq(source))
            .select(request_allocations::request_id);
        q = q.filter(r::id.eq_any(sourced));
    }
    if let Some(tech) = f.technician_id {
        let theirs = tickets::table.filter(tickets::technician_id.eq(tech)).select(tickets::id.nullable());
        q = q.filter(r::ticket_id.eq_any(theirs));
    }
    if let Some(b) = before {
        q = q.filter(r::id.lt(b));
    }
    q.order(r::id.desc()).limit(limit).load(conn)
}

/// The statuses of a request whose backordered lines wait for stock (and are served when it
/// arrives at one of their sources).
const WAITING: [&str; 5] = ["allocated", "backordered", "received_damaged", "picked", "shipped"];

/// Lines waiting for a part, with what decides their turn:
/// (line, request, urgency, ticket, station, tier priority).
pub fn waiting_lines(conn: &mut DbConn, part_id: i64) -> QueryResult<Vec<(LineRow, RequestRow, i32)>> {
    parts_request_lines::table
        .inner_join(parts_requests::table.on(parts_requests::id.eq(parts_request_lines::request_id)))
        .inner_join(locations::table.on(locations::id.eq(parts_requests::station_id)))
        .inner_join(tiers::table.on(locations::tier.eq(tiers::tier.nullable())))
        .filter(parts_request_lines::part_id.eq(part_id))
        .filter(parts_request_lines::backordered.gt(0))
        .filter(parts_requests::status.eq_any(WAITING))
        .select((LineRow::as_select(), RequestRow::as_select(), tiers::allocation_priority))
        .load(conn)
}

/// A waiting backorder: (part, station, the source the request names, units).
pub type Backorder = (i64, i64, Option<i64>, i64);

/// Every waiting backorder, of every part.
pub fn waiting_backorders(conn: &mut DbConn) -> QueryResult<Vec<Backorder>> {
    parts_request_lines::table
        .inner_join(parts_requests::table.on(parts_requests::id.eq(parts_request_lines::request_id)))
        .filter(parts_request_lines::backordered.gt(0))
        .filter(parts_requests::status.eq_any(WAITING))
        .select((
            parts_request_lines::part_id,
            parts_requests::station_id,
            parts_requests::source_id,
            parts_request_lines::backordered,
        ))
        .load(conn)
}
