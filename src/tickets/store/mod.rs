//! Tickets, their quotes, parts and events in the database. Later domains (loans, settlement,
//! parts requests tied to a ticket) read tickets through [`ticket_model`], [`ticket_warranty`]
//! and the rows here: station, job type, resolution and sign-off times, the warranty decision,
//! the parts used with their sale price, and the accepted quote.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::rules::{Category, Channel, JobType, Status, Urgency, Warranty};
use crate::db::schema::{locations, parts, product_models, product_units, tickets, tier_labour_rates, users};
use crate::db::DbConn;

pub mod links;
mod work;

pub use work::*;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = tickets)]
pub struct TicketRow {
    pub id: i64,
    pub channel: Channel,
    pub category: Category,
    pub urgency: Urgency,
    pub status: Status,
    pub customer_name: String,
    pub customer_phone: String,
    pub customer_address: String,
    pub customer_region: String,
    pub unit_id: i64,
    pub fault: String,
    pub component_family: Option<String>,
    pub warranty: Warranty,
    pub warranty_covers: String,
    pub warranty_until: Option<NaiveDate>,
    pub warranty_reason: String,
    pub station_id: Option<i64>,
    pub technician_id: Option<i64>,
    pub job_type: Option<JobType>,
    pub cause: Option<String>,
    pub respond_by: Option<NaiveDateTime>,
    pub resolve_by: Option<NaiveDateTime>,
    pub decide_by: Option<NaiveDateTime>,
    pub responded_at: Option<NaiveDateTime>,
    pub resolved_at: Option<NaiveDateTime>,
    pub confirmed_at: Option<NaiveDateTime>,
    pub closed_at: Option<NaiveDateTime>,
    pub completed_at: Option<NaiveDateTime>,
    pub followup_sampled_at: Option<NaiveDateTime>,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A ticket as taken in (tests and tools may insert tickets in any state directly).
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = tickets, treat_none_as_default_value = false)]
pub struct NewTicket {
    pub channel: String,
    pub category: String,
    pub urgency: String,
    pub status: String,
    pub customer_name: String,
    pub customer_phone: String,
    pub customer_address: String,
    pub customer_region: String,
    pub unit_id: i64,
    pub fault: String,
    pub component_family: Option<String>,
    pub warranty: String,
    pub warranty_covers: String,
    pub warranty_until: Option<NaiveDate>,
    pub warranty_reason: String,
    pub station_id: Option<i64>,
    pub technician_id: Option<i64>,
    pub job_type: Option<String>,
    pub cause: Option<String>,
    pub respond_by: Option<NaiveDateTime>,
    pub resolve_by: Option<NaiveDateTime>,
    pub decide_by: Option<NaiveDateTime>,
    pub responded_at: Option<NaiveDateTime>,
    pub resolved_at: Option<NaiveDateTime>,
    pub confirmed_at: Option<NaiveDateTime>,
    pub closed_at: Option<NaiveDateTime>,
    pub completed_at: Option<NaiveDateTime>,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// What a transition changes: the status and time always, the rest when `Some`.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = tickets)]
pub struct TicketChanges {
    pub status: Option<String>,
    pub updated_at: Option<NaiveDateTime>,
    pub station_id: Option<Option<i64>>,
    pub technician_id: Option<Option<i64>>,
    pub job_type: Option<Option<String>>,
    pub cause: Option<Option<String>>,
    pub responded_at: Option<Option<NaiveDateTime>>,
    pub resolved_at: Option<Option<NaiveDateTime>>,
    pub confirmed_at: Option<Option<NaiveDateTime>>,
    pub closed_at: Option<Option<NaiveDateTime>>,
    pub completed_at: Option<Option<NaiveDateTime>>,
}

pub fn insert(conn: &mut DbConn, t: &NewTicket) -> QueryResult<i64> {
    diesel::insert_into(tickets::table).values(t).returning(tickets::id).get_result(conn)
}

/// Locks a ticket's row to the transaction's end (PostgreSQL; SQLite's writers run one at a
/// time). Taken before any stock row: a ticket's action (a resolve consumes from its station's
/// shelf) and a receipt of its parts request both take the ticket first, then the stock, so
/// neither waits on the other in a circle.
pub fn lock_ticket(conn: &mut DbConn, id: i64) -> QueryResult<()> {
    if let DbConn::Pg(c) = conn {
        tickets::table.find(id).select(tickets::id).for_update().load::<i64>(c)?;
    }
    Ok(())
}

pub fn ticket(conn: &mut DbConn, id: i64) -> QueryResult<Option<TicketRow>> {
    tickets::table.find(id).select(TicketRow::as_select()).first(conn).optional()
}

/// Applies a transition's changes only if the ticket is still in `from`; false when another
/// transaction moved it first.
pub fn advance(conn: &mut DbConn, id: i64, from: &str, changes: &TicketChanges) -> QueryResult<bool> {
    let target = tickets::table.filter(tickets::id.eq(id)).filter(tickets::status.eq(from));
    Ok(diesel::update(target).set(changes).execute(conn)? == 1)
}

/// Tickets past an SLA deadline that was not met, and not completed, at `$now` (the same rule
/// as `sla::Clocks::overdue`). Each deadline is tested for NULL first, so that the expression
/// is never NULL and its negation means "not overdue".
macro_rules! overdue_at {
    ($now:expr) => {{
        let now: NaiveDateTime = $now;
        tickets::completed_at.is_null().and(
            tickets::respond_by
                .is_not_null()
                .and(tickets::respond_by.lt(now))
                .and(tickets::responded_at.is_null())
                .or(tickets::resolve_by
                    .is_not_null()
                    .and(tickets::resolve_by.lt(now))
                    .and(tickets::resolved_at.is_null()))
                .or(tickets::decide_by
                    .is_not_null()
                    .and(tickets::decide_by.lt(now))
                    .and(tickets::responded_at.is_null())),
        )
    }};
}

/// How many tickets are overdue at `now` (the `echelon_tickets_overdue` gauge).
pub fn count_overdue(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<i64> {
    tickets::table.filter(overdue_at!(now)).count().get_result(conn)
}

/// The ids of the tickets overdue at `now`, oldest first (for the deadline events).
pub fn overdue_ids(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<Vec<i64>> {
    tickets::table.filter(overdue_at!(now)).select(tickets::id).order(tickets::id.asc()).load(conn)
}

/// Tickets by id.
pub fn by_ids(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<TicketRow>> {
    tickets::table
        .filter(tickets::id.eq_any(ids))
        .select(TicketRow::as_select())
        .order(tickets::id.asc())
        .load(conn)
}

/// Filters of the ticket list; scoped callers get `station_ids` or `technician_id` set.
#[derive(Debug, Clone, Default)]
pub struct TicketFilter {
    pub station_ids: Option<Vec<i64>>,
    pub technician_id: Option<i64>,
    pub status: Option<String>,
    pub category: Option<String>,
    /// only tickets overdue (`true`) or not overdue (`false`) at this time
    pub overdue: Option<(bool, NaiveDateTime)>,
}

/// Newest first, before `before`.
pub fn list(
    conn: &mut DbConn,
    f: &TicketFilter,
    before: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<TicketRow>> {
    let mut q = tickets::table.select(TicketRow::as_select()).into_boxed();
    if let Some(ids) = &f.station_ids {
        q = q.filter(tickets::station_id.eq_any(ids.clone()));
    }
    if let Some(t) = f.technician_id {
        q = q.filter(tickets::technician_id.eq(t));
    }
    if let Some(s) = &f.status {
        q = q.filter(tickets::status.eq(s.clone()));
    }
    if let Some(c) = &f.category {
        q = q.filter(tickets::category.eq(c.clone()));
    }
    match f.overdue {
        Some((true, now)) => q = q.filter(overdue_at!(now)),
        Some((false, now)) => q = q.filter(diesel::dsl::not(overdue_at!(now))),
        None => {}
    }
    if let Some(b) = before {
        q = q.filter(tickets::id.lt(b));
    }
    q.order(tickets::id.desc()).limit(limit).load(conn)
}

/// The product unit, model and model code of a ticket, for checking parts against it.
pub fn ticket_model(conn: &mut DbConn, ticket_id: i64) -> QueryResult<Option<(i64, i64, String)>> {
    tickets::table
        .inner_join(product_units::table.on(product_units::id.eq(tickets::unit_id)))
        .inner_join(product_models::table.on(product_models::id.eq(product_units::model_id)))
        .filter(tickets::id.eq(ticket_id))
        .select((product_units::id, product_models::id, product_models::code))
        .first(conn)
        .optional()
}

/// The warranty decision a ticket was taken in with.
pub fn ticket_warranty(conn: &mut DbConn, ticket_id: i64) -> QueryResult<Option<Warranty>> {
    tickets::table.find(ticket_id).select(tickets::warranty).first(conn).optional()
}

/// A ticket's warranty and what it covers (`unit`, or the part family whose longer term
/// decided).
pub fn ticket_cover(conn: &mut DbConn, ticket_id: i64) -> QueryResult<Option<(Warranty, String)>> {
    tickets::table
        .find(ticket_id)
        .select((tickets::warranty, tickets::warranty_covers))
        .first(conn)
        .optional()
}

/// (unit id, serial, model code) of the given units.
pub fn units_of(conn: &mut DbConn, unit_ids: &[i64]) -> QueryResult<Vec<(i64, String, String)>> {
    product_units::table
        .inner_join(product_models::table.on(product_models::id.eq(product_units::model_id)))
        .filter(product_units::id.eq_any(unit_ids))
        .select((product_units::id, product_units::serial, product_models::code))
        .load(conn)
}

/// Usernames of the given users.
pub fn usernames(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<(i64, String)>> {
    users::table.filter(users::id.eq_any(ids)).select((users::id, users::username)).load(conn)
}

/// Active technicians of a station: (id, username).
pub fn technicians_at(conn: &mut DbConn, station_id: i64) -> QueryResult<Vec<(i64, String)>> {
    users::table
        .filter(users::location_id.eq(station_id))
        .filter(users::role.eq("technician"))
        .filter(users::active.eq(true))
        .select((users::id, users::username))
        .order(users::username.asc())
        .load(conn)
}

/// Serials that may be what a mistyped serial meant: those sharing its first or last three
/// characters (one typo leaves at least one end intact in a serial of 7 or more), at most
/// `limit` of them.
pub fn serial_candidates(conn: &mut DbConn, typed: &str, limit: i64) -> QueryResult<Vec<String>> {
    let chars: Vec<char> = typed.chars().collect();
    if chars.len() < 3 {
        return Ok(Vec::new());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 3..].iter().collect();
    let esc = crate::network::store::escape_like;
    product_units::table
        .filter(
            product_units::serial
                .like(format!("{}%", esc(&head)))
                .escape('\\')
                .or(product_units::serial.like(format!("%{}", esc(&tail))).escape('\\')),
        )
        .select(product_units::serial)
        .limit(limit)
        .load(conn)
}

/// The labour rate of a station's current tier for a job type.
pub fn labour_rate(conn: &mut DbConn, station_id: i64, job_type: &str) -> QueryResult<Option<i64>> {
    locations::table
        .inner_join(tier_labour_rates::table.on(locations::tier.eq(tier_labour_rates::tier.nullable())))
        .filter(locations::id.eq(station_id))
        .filter(tier_labour_rates::job_type.eq(job_type))
        .select(tier_labour_rates::rate_minor)
        .first(conn)
        .optional()
}

/// The part families of a product line, in order.
pub fn families_of_line(conn: &mut DbConn, line: &str) -> QueryResult<Vec<String>> {
    parts::table
        .filter(parts::line.eq(line))
        .select(parts::family)
        .distinct()
        .order(parts::family.asc())
        .load(conn)
}
