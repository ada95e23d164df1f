//! The work on a ticket: its events (the history), quotes, and the parts quoted, expected on
//! the work order and used.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{parts, ticket_events, ticket_parts, ticket_quotes};
use crate::db::DbConn;
use crate::tickets::rules::{JobType, QuoteStatus, Status};

/// One transition as kept in the history.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = ticket_events)]
pub struct EventRow {
    pub id: i64,
    pub ticket_id: i64,
    pub action: String,
    pub from_status: Option<Status>,
    pub to_status: Status,
    pub actor: String,
    pub at: NaiveDateTime,
    pub station_id: Option<i64>,
    pub technician_id: Option<i64>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = ticket_events, treat_none_as_default_value = false)]
pub struct NewEvent<'a> {
    pub ticket_id: i64,
    pub action: &'a str,
    pub from_status: Option<&'a str>,
    pub to_status: &'a str,
    pub actor: &'a str,
    pub at: NaiveDateTime,
    pub station_id: Option<i64>,
    pub technician_id: Option<i64>,
    pub note: Option<&'a str>,
}

pub fn insert_event(conn: &mut DbConn, e: &NewEvent<'_>) -> QueryResult<()> {
    diesel::insert_into(ticket_events::table).values(e).execute(conn).map(|_| ())
}

pub fn events(conn: &mut DbConn, ticket_id: i64) -> QueryResult<Vec<EventRow>> {
    ticket_events::table
        .filter(ticket_events::ticket_id.eq(ticket_id))
        .select(EventRow::as_select())
        .order(ticket_events::id.asc())
        .load(conn)
}

/// How many times a ticket was dispatched (the current visit's number).
/// The visits a technician made to the ticket: its arrivals. A dispatch plans visit
/// `visits_made + 1`; a dispatch again before arrival (another technician) replans that same
/// visit; a resolving visit is visit `visits_made`.
pub fn visits_made(conn: &mut DbConn, ticket_id: i64) -> QueryResult<i64> {
    ticket_events::table
        .filter(ticket_events::ticket_id.eq(ticket_id))
        .filter(ticket_events::action.eq("arrive"))
        .count()
        .get_result(conn)
}

/// Drops the work order's expected parts of one visit: a dispatch again before arrival issues a
/// new work order for it.
pub fn drop_expected(conn: &mut DbConn, ticket_id: i64, visit: i32) -> QueryResult<usize> {
    diesel::delete(
        ticket_parts::table
            .filter(ticket_parts::ticket_id.eq(ticket_id))
            .filter(ticket_parts::kind.eq(PartKind::Expected.as_str()))
            .filter(ticket_parts::visit.eq(visit)),
    )
    .execute(conn)
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = ticket_quotes)]
pub struct QuoteRow {
    pub id: i64,
    pub ticket_id: i64,
    pub job_type: JobType,
    pub labour_minor: i64,
    pub parts_minor: i64,
    pub total_minor: i64,
    pub status: QuoteStatus,
    pub note: Option<String>,
    pub quoted_by: String,
    pub quoted_at: NaiveDateTime,
    pub accepted_by: Option<String>,
    pub accepted_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = ticket_quotes, treat_none_as_default_value = false)]
pub struct NewQuote<'a> {
    pub ticket_id: i64,
    pub job_type: &'a str,
    pub labour_minor: i64,
    pub parts_minor: i64,
    pub total_minor: i64,
    pub status: &'a str,
    pub note: Option<&'a str>,
    pub quoted_by: &'a str,
    pub quoted_at: NaiveDateTime,
}

/// Supersedes the quote on offer (if any) and inserts the new one.
pub fn insert_quote(conn: &mut DbConn, q: &NewQuote<'_>) -> QueryResult<i64> {
    diesel::update(
        ticket_quotes::table
            .filter(ticket_quotes::ticket_id.eq(q.ticket_id))
            .filter(ticket_quotes::status.eq("offered")),
    )
    .set(ticket_quotes::status.eq("superseded"))
    .execute(conn)?;
    diesel::insert_into(ticket_quotes::table).values(q).returning(ticket_quotes::id).get_result(conn)
}

/// Marks the quote on offer accepted; returns it, or `None` when none is on offer.
pub fn accept_quote(
    conn: &mut DbConn,
    ticket_id: i64,
    by: &str,
    at: NaiveDateTime,
) -> QueryResult<Option<QuoteRow>> {
    let offered = ticket_quotes::table
        .filter(ticket_quotes::ticket_id.eq(ticket_id))
        .filter(ticket_quotes::status.eq("offered"));
    let n = diesel::update(offered)
        .set((
            ticket_quotes::status.eq("accepted"),
            ticket_quotes::accepted_by.eq(by),
            ticket_quotes::accepted_at.eq(at),
        ))
        .execute(conn)?;
    if n == 0 {
        return Ok(None);
    }
    accepted_quote(conn, ticket_id)
}

/// The quote the customer accepted (the amount settlement charges for out-of-warranty work).
pub fn accepted_quote(conn: &mut DbConn, ticket_id: i64) -> QueryResult<Option<QuoteRow>> {
    ticket_quotes::table
        .filter(ticket_quotes::ticket_id.eq(ticket_id))
        .filter(ticket_quotes::status.eq("accepted"))
        .select(QuoteRow::as_select())
        .order(ticket_quotes::id.desc())
        .first(conn)
        .optional()
}

/// The latest quote of each ticket (accepted or on offer; superseded ones are history).
pub fn latest_quotes(conn: &mut DbConn, ticket_ids: &[i64]) -> QueryResult<Vec<QuoteRow>> {
    ticket_quotes::table
        .filter(ticket_quotes::ticket_id.eq_any(ticket_ids))
        .filter(ticket_quotes::status.ne("superseded"))
        .select(QuoteRow::as_select())
        .order(ticket_quotes::id.asc())
        .load(conn)
}

/// A part named on a ticket: `quoted`, `expected` (work order) or `used`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartKind {
    Quoted,
    Expected,
    Used,
}

impl PartKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PartKind::Quoted => "quoted",
            PartKind::Expected => "expected",
            PartKind::Used => "used",
        }
    }
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = ticket_parts, treat_none_as_default_value = false)]
pub struct NewTicketPart<'a> {
    pub ticket_id: i64,
    pub kind: &'a str,
    pub quote_id: Option<i64>,
    pub visit: i32,
    pub part_id: i64,
    pub requested_code: &'a str,
    pub qty: i64,
    pub unit_cost_minor: i64,
    pub sale_price_minor: i64,
    pub recorded_by: &'a str,
    pub at: NaiveDateTime,
}

pub fn insert_parts(conn: &mut DbConn, rows: &[NewTicketPart<'_>]) -> QueryResult<()> {
    for r in rows {
        diesel::insert_into(ticket_parts::table).values(r).execute(conn)?;
    }
    Ok(())
}

/// A ticket part with its code and name.
#[derive(Debug, Clone, Queryable)]
pub struct PartLine {
    pub ticket_id: i64,
    pub kind: String,
    pub quote_id: Option<i64>,
    pub visit: i32,
    pub part_id: i64,
    pub code: String,
    pub name: String,
    pub qty: i64,
    pub unit_cost_minor: i64,
    pub sale_price_minor: i64,
}

/// The parts named on the given tickets, in the order they were recorded.
pub fn part_lines(conn: &mut DbConn, ticket_ids: &[i64]) -> QueryResult<Vec<PartLine>> {
    ticket_parts::table
        .inner_join(parts::table)
        .filter(ticket_parts::ticket_id.eq_any(ticket_ids))
        .select((
            ticket_parts::ticket_id,
            ticket_parts::kind,
            ticket_parts::quote_id,
            ticket_parts::visit,
            ticket_parts::part_id,
            parts::code,
            parts::name,
            ticket_parts::qty,
            ticket_parts::unit_cost_minor,
            ticket_parts::sale_price_minor,
        ))
        .order(ticket_parts::id.asc())
        .load(conn)
}

/// Whether the ticket's history holds an `action` (e.g. an `arrive`: a visit took place).
pub fn has_event(conn: &mut DbConn, ticket_id: i64, action: &str) -> QueryResult<bool> {
    use diesel::dsl::exists;
    diesel::select(exists(
        ticket_events::table
            .filter(ticket_events::ticket_id.eq(ticket_id))
            .filter(ticket_events::action.eq(action)),
    ))
    .get_result(conn)
}
