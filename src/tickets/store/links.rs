//! What other domains tied to tickets, read for the ticket's answer: its parts requests, their
//! shipments and its loans. Read straight from their tables (the domains that own them sit above
//! tickets), by batch of tickets.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{loan_lines, loans, parts_requests, shipments, users};
use crate::db::DbConn;
use crate::tickets::rules::Lent;

/// A parts request tied to a ticket: (ticket, id, status, urgency, station, created).
pub type RequestLink = (i64, i64, String, String, i64, NaiveDateTime);

/// A shipment of a request tied to a ticket.
#[derive(Debug, Clone)]
pub struct ShipmentLink {
    pub ticket_id: i64,
    pub id: i64,
    pub request_id: i64,
    pub status: String,
    pub courier: Option<String>,
    pub deliver_by: NaiveDateTime,
    pub delivered_at: Option<NaiveDateTime>,
}

/// A loan for a ticket: (ticket, id, technician's username, created, open lines, lines).
pub type LoanLink = (i64, i64, String, NaiveDateTime, i64, i64);

pub fn requests_of(conn: &mut DbConn, tickets: &[i64]) -> QueryResult<Vec<RequestLink>> {
    let rows: Vec<(Option<i64>, i64, String, String, i64, NaiveDateTime)> = parts_requests::table
        .filter(parts_requests::ticket_id.eq_any(tickets.to_vec()))
        .select((
            parts_requests::ticket_id,
            parts_requests::id,
            parts_requests::status,
            parts_requests::urgency,
            parts_requests::station_id,
            parts_requests::created_at,
        ))
        .order(parts_requests::id.asc())
        .load(conn)?;
    Ok(rows.into_iter().filter_map(|(t, id, s, u, st, at)| t.map(|t| (t, id, s, u, st, at))).collect())
}

/// (ticket, shipment, request, status, courier, deliver by, delivered at) as read.
type ShipmentFields =
    (Option<i64>, i64, Option<i64>, String, Option<i64>, NaiveDateTime, Option<NaiveDateTime>);

pub fn shipments_of(conn: &mut DbConn, tickets: &[i64]) -> QueryResult<Vec<ShipmentLink>> {
    let rows: Vec<ShipmentFields> = shipments::table
        .inner_join(parts_requests::table.on(shipments::request_id.eq(parts_requests::id.nullable())))
        .filter(parts_requests::ticket_id.eq_any(tickets.to_vec()))
        .select((
            parts_requests::ticket_id,
            shipments::id,
            shipments::request_id,
            shipments::status,
            shipments::courier_id,
            shipments::deliver_by,
            shipments::delivered_at,
        ))
        .order(shipments::id.asc())
        .load(conn)?;
    let couriers: Vec<i64> = rows.iter().filter_map(|r| r.4).collect();
    let names: std::collections::BTreeMap<i64, String> = users::table
        .filter(users::id.eq_any(couriers))
        .select((users::id, users::username))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect();
    Ok(rows
        .into_iter()
        .filter_map(|(t, id, request_id, status, courier, deliver_by, delivered_at)| {
            Some(ShipmentLink {
                ticket_id: t?,
                id,
                request_id: request_id?,
                status,
                courier: courier.and_then(|c| names.get(&c).cloned()),
                deliver_by,
                delivered_at,
            })
        })
        .collect())
}

pub fn loans_of(conn: &mut DbConn, tickets: &[i64]) -> QueryResult<Vec<LoanLink>> {
    let rows: Vec<(i64, i64, String, NaiveDateTime)> = loans::table
        .inner_join(users::table.on(users::id.eq(loans::technician_id)))
        .filter(loans::ticket_id.eq_any(tickets.to_vec()))
        .select((loans::ticket_id, loans::id, users::username, loans::created_at))
        .order(loans::id.asc())
        .load(conn)?;
    let ids: Vec<i64> = rows.iter().map(|r| r.1).collect();
    let lines: Vec<(i64, String)> = loan_lines::table
        .filter(loan_lines::loan_id.eq_any(ids))
        .select((loan_lines::loan_id, loan_lines::status))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(t, id, tech, at)| {
            let mine = lines.iter().filter(|l| l.0 == id);
            let total = mine.clone().count() as i64;
            let open = mine.filter(|l| l.1 == "open").count() as i64;
            (t, id, tech, at, open, total)
        })
        .collect())
}

/// The loan lines lent for a ticket that did not come back unused (a line still open, or one
/// consumed by its core return or fee), in id order. What a resolving visit used of
/// these is consumed through its loan line; what it used beyond them comes from the station's
/// stock. The lines are read locked to the transaction's end (PostgreSQL; SQLite's writers run
/// one at a time), so a line returned unused at the same time waits and the resolve sees it
/// open, or the resolve sees it returned.
pub fn lent_for(conn: &mut DbConn, ticket_id: i64) -> QueryResult<Vec<Lent>> {
    let of_ticket = loans::table.filter(loans::ticket_id.eq(ticket_id)).select(loans::id);
    let lines = loan_lines::table
        .filter(loan_lines::loan_id.eq_any(of_ticket))
        .filter(loan_lines::status.ne("returned_unused"))
        .order(loan_lines::id.asc())
        .select((loan_lines::part_id, loan_lines::requested_part_id, loan_lines::qty));
    let rows: Vec<(i64, Option<i64>, i64)> = match conn {
        DbConn::Pg(c) => lines.for_share().load(c)?,
        other => lines.load(other)?,
    };
    Ok(rows
        .into_iter()
        .map(|(part_id, requested_part_id, qty)| Lent { part_id, requested_part_id, qty })
        .collect())
}
