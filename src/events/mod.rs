//! The transactional outbox: every change a client may subscribe to writes its event here, in
//! the transaction of the change, and with it one delivery for every active webhook
//! subscription whose event types and scope take it. A rolled-back change leaves neither, and
//! a committed one always has both; the delivery worker (`webhooks`) only reads what is here.
//!
//! It sits below the domains and takes plain ids and a payload, as the rollups do, so a domain
//! records its events without knowing who receives them.

use chrono::NaiveDateTime;
use diesel::prelude::*;

pub mod payloads;

use crate::db::schema::{events, locations, webhook_deliveries, webhook_subscriptions};
use crate::db::DbConn;

/// Every event type, in the order of the work. `ticket.deadline_missed` and
/// `loan_line.overdue` are raised by a clock (`webhooks::clock`), the others by their change.
pub const TYPES: [&str; 12] = [
    "parts_request.allocated",
    "parts_request.backordered",
    "backorder.filled",
    "shipment.picked_up",
    "shipment.delivered",
    "shipment.damaged",
    "claim.opened",
    "ticket.state_changed",
    "ticket.deadline_missed",
    "loan_line.overdue",
    "proposal.released",
    "period.closed",
];

/// What an event is about: the object's kind and id (with the event's sequence, the ordering
/// key of that object's events) and the station it belongs to (its scope).
#[derive(Debug, Clone, Copy)]
pub struct Subject {
    pub kind: &'static str,
    pub id: i64,
    pub station_id: Option<i64>,
}

/// Writes an event and its deliveries; returns the event's id. The station's path (the
/// event's scope) is read here; a caller that holds it already calls [`record_at`].
pub fn record(
    conn: &mut DbConn,
    event_type: &'static str,
    subject: Subject,
    payload: impl serde::Serialize,
    at: NaiveDateTime,
) -> QueryResult<i64> {
    let scope_path = match subject.station_id {
        Some(id) => locations::table.find(id).select(locations::path).first::<String>(conn)?,
        None => "/".to_string(),
    };
    record_at(conn, event_type, subject, &scope_path, payload, at)
}

/// [`record`] with the scope's path given (the subject's station's path, `/` for none).
pub fn record_at(
    conn: &mut DbConn,
    event_type: &'static str,
    subject: Subject,
    scope_path: &str,
    payload: impl serde::Serialize,
    at: NaiveDateTime,
) -> QueryResult<i64> {
    let payload = serde_json::to_value(payload).unwrap_or_default();
    debug_assert!(TYPES.contains(&event_type), "{event_type} is not an event type");
    let last: Option<i64> = events::table
        .filter(events::object_kind.eq(subject.kind))
        .filter(events::object_id.eq(subject.id))
        .select(diesel::dsl::max(events::sequence))
        .first(conn)?;
    let id: i64 = diesel::insert_into(events::table)
        .values((
            events::event_type.eq(event_type),
            events::object_kind.eq(subject.kind),
            events::object_id.eq(subject.id),
            events::sequence.eq(last.unwrap_or(0) + 1),
            events::station_id.eq(subject.station_id),
            events::scope_path.eq(scope_path),
            events::payload.eq(payload.to_string()),
            events::created_at.eq(at),
        ))
        .returning(events::id)
        .get_result(conn)?;
    let subscriptions: Vec<(i64, Option<String>, String)> = webhook_subscriptions::table
        .filter(webhook_subscriptions::active.eq(true))
        .select((
            webhook_subscriptions::id,
            webhook_subscriptions::scope_path,
            webhook_subscriptions::event_types,
        ))
        .load(conn)?;
    let rows: Vec<_> = subscriptions
        .into_iter()
        .filter(|(_, scope, types)| takes(scope.as_deref(), types, event_type, scope_path))
        .map(|(sid, _, _)| {
            (
                webhook_deliveries::subscription_id.eq(sid),
                webhook_deliveries::event_id.eq(id),
                webhook_deliveries::status.eq("pending"),
                webhook_deliveries::attempts.eq(0),
                webhook_deliveries::next_attempt_at.eq(at),
                webhook_deliveries::created_at.eq(at),
            )
        })
        .collect();
    if !rows.is_empty() {
        crate::on_backend!(conn, |c| diesel::insert_into(webhook_deliveries::table)
            .values(&rows)
            .execute(c))?;
    }
    Ok(id)
}

/// The outbox's invariants, for `echelon audit`: every event is of a known type and names an
/// object that exists.
pub fn breaches(conn: &mut DbConn) -> QueryResult<Vec<String>> {
    use crate::db::schema::{
        claims, loan_lines, parts_requests, planning_proposals, settlement_periods, shipments, tickets,
    };
    let mut out = Vec::new();
    let rows: Vec<(i64, String, String, i64)> = events::table
        .select((events::id, events::event_type, events::object_kind, events::object_id))
        .load(conn)?;
    let ids = |kind: &str| -> Vec<i64> { rows.iter().filter(|r| r.2 == kind).map(|r| r.3).collect() };
    let existing: std::collections::HashSet<(String, i64)> = [
        (
            "parts_request",
            parts_requests::table
                .filter(parts_requests::id.eq_any(ids("parts_request")))
                .select(parts_requests::id)
                .load::<i64>(conn)?,
        ),
        (
            "shipment",
            shipments::table
                .filter(shipments::id.eq_any(ids("shipment")))
                .select(shipments::id)
                .load::<i64>(conn)?,
        ),
        (
            "ticket",
            tickets::table.filter(tickets::id.eq_any(ids("ticket"))).select(tickets::id).load::<i64>(conn)?,
        ),
        (
            "claim",
            claims::table.filter(claims::id.eq_any(ids("claim"))).select(claims::id).load::<i64>(conn)?,
        ),
        (
            "loan_line",
            loan_lines::table
                .filter(loan_lines::id.eq_any(ids("loan_line")))
                .select(loan_lines::id)
                .load::<i64>(conn)?,
        ),
        (
            "proposal",
            planning_proposals::table
                .filter(planning_proposals::id.eq_any(ids("proposal")))
                .select(planning_proposals::id)
                .load::<i64>(conn)?,
        ),
        (
            "period",
            settlement_periods::table
                .select(settlement_periods::period)
                .load::<String>(conn)?
                .iter()
                .filter_map(|p| p.replace('-', "").parse::<i64>().ok())
                .collect(),
        ),
    ]
    .into_iter()
    .flat_map(|(k, v)| v.into_iter().map(move |i| (k.to_string(), i)))
    .collect();
    for (id, event_type, kind, object) in &rows {
        if !TYPES.contains(&event_type.as_str()) {
            out.push(format!("event {id} has an unknown type {event_type:?}"));
        }
        if !existing.contains(&(kind.clone(), *object)) {
            out.push(format!("event {id} ({event_type}) names {kind} {object}, which does not exist"));
        }
    }
    Ok(out)
}

/// Whether a subscription of `scope` (a location path; none: the whole network) and `types`
/// (comma separated) takes an event of `event_type` whose object lies at `event_scope`.
pub fn takes(scope: Option<&str>, types: &str, event_type: &str, event_scope: &str) -> bool {
    types.split(',').any(|t| t == event_type) && scope.is_none_or(|s| event_scope.starts_with(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subscription_takes_its_types_within_its_subtree_only() {
        let types = "shipment.delivered,backorder.filled";
        assert!(takes(Some("/1/5/"), types, "shipment.delivered", "/1/5/77/"));
        assert!(takes(None, types, "backorder.filled", "/1/9/80/"));
        assert!(!takes(Some("/1/5/"), types, "shipment.delivered", "/1/9/80/"), "another subtree");
        assert!(!takes(Some("/1/5/77/"), types, "shipment.delivered", "/1/5/78/"), "a sibling station");
        assert!(!takes(Some("/1/5/"), types, "ticket.state_changed", "/1/5/77/"), "another type");
        assert!(
            !takes(Some("/1/5/"), "shipment.delivered_late", "shipment.delivered", "/1/5/"),
            "whole names"
        );
    }
}
