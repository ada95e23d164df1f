//! The transactional outbox: every change a client may subscribe to writes its event here, in
//! the transaction of the change, and with it one delivery for every active webhook
//! subscription of an active owner whose event types and scope take it (a disabled user's
//! subscriptions take nothing while the user is disabled). A rolled-back change leaves neither, and
//! a committed one always has both; the delivery worker (`webhooks`) only reads what is here.
//!
//! It sits below the domains and takes plain ids and a payload, as the rollups do, so a domain
//! records its events without knowing who receives them.

use chrono::NaiveDateTime;
use diesel::prelude::*;

pub mod payloads;

use crate::db::schema::{events, locations, users, webhook_deliveries, webhook_subscriptions};
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
    let event = NewEvent { event_type, subject, scope_path, payload: payload.to_string(), at };
    let (id, subscriptions) = match &mut *conn {
        // one round trip: on the hottest writes an event's three statements cost PostgreSQL more
        // in round trips than in work
        DbConn::Pg(c) => insert_pg(c, &event)?,
        conn => insert_each(conn, &event)?,
    };
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

/// The id an object's first event names before the object has one: [`FirstEvent::new`] cuts
/// the payload around it, and the statement that creates the object puts the real id there.
pub const NOT_YET: i64 = i64::MIN;

/// The first event of an object written by the PostgreSQL statement that creates the object:
/// what [`record_at`] writes for it (sequence 1, a new object having no events yet, and one
/// delivery for each active subscription of an active owner whose types and scope take it,
/// [`takes`] in SQL), in
/// the same round trip as the object itself.
pub struct FirstEvent<'a> {
    event_type: &'static str,
    kind: &'static str,
    station_id: Option<i64>,
    scope_path: &'a str,
    /// the payload's text before and after the object's id
    payload: (String, String),
    at: NaiveDateTime,
}

impl<'a> FirstEvent<'a> {
    /// The event of `payload`, whose object's id is [`NOT_YET`]; None when that id does not
    /// appear in its text exactly once (the caller then records the event after the object).
    pub fn new(
        event_type: &'static str,
        kind: &'static str,
        station_id: Option<i64>,
        scope_path: &'a str,
        payload: impl serde::Serialize,
        at: NaiveDateTime,
    ) -> Option<Self> {
        debug_assert!(TYPES.contains(&event_type), "{event_type} is not an event type");
        let text = serde_json::to_value(payload).ok()?.to_string();
        let marker = NOT_YET.to_string();
        let (before, after) = text.split_once(&marker)?;
        if after.contains(&marker) {
            return None;
        }
        Some(FirstEvent {
            event_type,
            kind,
            station_id,
            scope_path,
            payload: (before.to_string(), after.to_string()),
            at,
        })
    }

    /// The statement's `WITH` parts `e` (the event) and `d` (its deliveries) for the object whose
    /// id the one-row `WITH` part `object` returns, with placeholders from `$first` on (seven,
    /// bound by [`FirstEvent::bind`] in that order).
    pub fn sql(object: &str, first: usize) -> String {
        Self::sql_with(object, first, true)
    }

    /// [`FirstEvent::sql`], with `deliveries` false without the `d` part: for a statement that
    /// holds only while no subscription is active (the event is written, no delivery is due).
    pub fn sql_with(object: &str, first: usize, deliveries: bool) -> String {
        let p = |i: usize| format!("${}", first + i);
        let event = format!(
            "e AS (INSERT INTO events (event_type, object_kind, object_id, sequence, station_id, scope_path, \
             payload, created_at) SELECT {t}, {k}, {object}.id, 1, {st}, {sc}, concat({pre}, {object}.id, {post}), {at} \
             FROM {object} RETURNING id)",
            t = p(0),
            k = p(1),
            st = p(2),
            sc = p(3),
            pre = p(4),
            post = p(5),
            at = p(6),
        );
        if !deliveries {
            return event;
        }
        format!(
            "{event}, \
             d AS (INSERT INTO webhook_deliveries (subscription_id, event_id, status, attempts, next_attempt_at, \
             created_at) SELECT s.id, e.id, 'pending', 0, {at}, {at} FROM e, webhook_subscriptions s \
             WHERE s.active AND {t} = ANY(string_to_array(s.event_types, ',')) \
             AND (s.scope_path IS NULL OR starts_with({sc}, s.scope_path)) \
             AND EXISTS (SELECT 1 FROM users u WHERE u.id = s.owner_id AND u.active) ORDER BY s.id RETURNING id)",
            t = p(0),
            sc = p(3),
            at = p(6),
        )
    }

    /// Binds the seven values of [`FirstEvent::sql`].
    pub fn bind<'q>(
        &'q self,
        q: diesel::query_builder::BoxedSqlQuery<'q, diesel::pg::Pg, diesel::query_builder::SqlQuery>,
    ) -> diesel::query_builder::BoxedSqlQuery<'q, diesel::pg::Pg, diesel::query_builder::SqlQuery> {
        use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};
        q.bind::<Text, _>(self.event_type)
            .bind::<Text, _>(self.kind)
            .bind::<Nullable<BigInt>, _>(self.station_id)
            .bind::<Text, _>(self.scope_path)
            .bind::<Text, _>(&self.payload.0)
            .bind::<Text, _>(&self.payload.1)
            .bind::<Timestamp, _>(self.at)
    }
}

/// Every active subscription of an active owner: id, scope path, event types.
type Subscriptions = Vec<(i64, Option<String>, String)>;

/// An event to write (its sequence is the next of its object's).
struct NewEvent<'a> {
    event_type: &'a str,
    subject: Subject,
    scope_path: &'a str,
    payload: String,
    at: NaiveDateTime,
}

/// The event written and the active subscriptions, in one PostgreSQL statement; the event's id.
fn insert_pg(c: &mut diesel::PgConnection, e: &NewEvent<'_>) -> QueryResult<(i64, Subscriptions)> {
    use crate::db::CachedExt;
    use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = BigInt)]
        event_id: i64,
        #[diesel(sql_type = Nullable<BigInt>)]
        subscription_id: Option<i64>,
        #[diesel(sql_type = Nullable<Text>)]
        subscription_scope: Option<String>,
        #[diesel(sql_type = Nullable<Text>)]
        subscription_types: Option<String>,
    }
    // an aggregate without GROUP BY gives one row even for an object's first event
    let rows: Vec<Row> = diesel::sql_query(
        "WITH e AS (INSERT INTO events (event_type, object_kind, object_id, sequence, station_id, \
           scope_path, payload, created_at) \
         SELECT $1, $2, $3, COALESCE(MAX(sequence), 0) + 1, $4, $5, $6, $7 FROM events \
           WHERE object_kind = $2 AND object_id = $3 RETURNING id) \
         SELECT e.id AS event_id, s.id AS subscription_id, s.scope_path AS subscription_scope, \
           s.event_types AS subscription_types \
         FROM e LEFT JOIN webhook_subscriptions s ON s.active \
           AND EXISTS (SELECT 1 FROM users u WHERE u.id = s.owner_id AND u.active) ORDER BY s.id",
    )
    .bind::<Text, _>(e.event_type)
    .bind::<Text, _>(e.subject.kind)
    .bind::<BigInt, _>(e.subject.id)
    .bind::<Nullable<BigInt>, _>(e.subject.station_id)
    .bind::<Text, _>(e.scope_path)
    .bind::<Text, _>(&e.payload)
    .bind::<Timestamp, _>(e.at)
    .cached()
    .load(c)?;
    let id = rows.first().map(|r| r.event_id).ok_or(diesel::result::Error::NotFound)?;
    let subscriptions = rows
        .into_iter()
        .filter_map(|r| Some((r.subscription_id?, r.subscription_scope, r.subscription_types?)))
        .collect();
    Ok((id, subscriptions))
}

/// [`insert_pg`] statement by statement (SQLite, whose statements cost no round trip).
fn insert_each(conn: &mut DbConn, e: &NewEvent<'_>) -> QueryResult<(i64, Subscriptions)> {
    let NewEvent { event_type, subject, scope_path, ref payload, at } = *e;
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
            events::payload.eq(payload),
            events::created_at.eq(at),
        ))
        .returning(events::id)
        .get_result(conn)?;
    let owners_active = users::table.filter(users::active.eq(true)).select(users::id);
    let subscriptions = webhook_subscriptions::table
        .filter(webhook_subscriptions::active.eq(true))
        .filter(webhook_subscriptions::owner_id.eq_any(owners_active))
        .order(webhook_subscriptions::id)
        .select((
            webhook_subscriptions::id,
            webhook_subscriptions::scope_path,
            webhook_subscriptions::event_types,
        ))
        .load(conn)?;
    Ok((id, subscriptions))
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
    out.extend(missing(conn)?);
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

/// Since when the outbox holds every event of a change (`event_log`): the migration that
/// made it (the beginning, for a database that held no work yet), moved forward by the
/// retention sweep and past a history imported by `seed history`.
pub fn kept_since(conn: &mut DbConn) -> QueryResult<NaiveDateTime> {
    use crate::db::schema::event_log;
    event_log::table.find(1).select(event_log::kept_since).first(conn)
}

/// Moves the start of the kept events forward to `at` (never back).
pub fn keep_since(conn: &mut DbConn, at: NaiveDateTime) -> QueryResult<()> {
    use crate::db::schema::event_log;
    diesel::update(event_log::table.find(1).filter(event_log::kept_since.lt(at)))
        .set(event_log::kept_since.eq(at))
        .execute(conn)
        .map(|_| ())
}

/// The changes made since [`kept_since`] that lack their event: a ticket's state change, a
/// parts request routed (allocated or backordered), a waiting line served by arriving stock, a
/// shipment picked up or delivered, damage found on receipt with its claim, a proposal released,
/// a month closed. Each of those leaves its own mark (a ticket's history row, a shipment's
/// times, a claim, an allocation marked as a fill, a release time, a closed period), and the
/// event must be there beside it. The clock's events (`ticket.deadline_missed`,
/// `loan_line.overdue`) report the passing of time, not a change, and are written by the
/// running server's sweep; they are not counted here.
pub fn missing(conn: &mut DbConn) -> QueryResult<Vec<String>> {
    use crate::db::schema::{
        claims, parts_request_lines, parts_requests, planning_proposals, request_allocations,
        settlement_periods, shipments, ticket_events,
    };
    use diesel::dsl::count_star;
    use std::collections::{HashMap, HashSet};
    let since = kept_since(conn)?;
    let mut out = Vec::new();
    // every state change of a ticket (its history rows after intake) has its event
    let changes: HashMap<i64, i64> = ticket_events::table
        .filter(ticket_events::from_status.is_not_null())
        .filter(ticket_events::at.ge(since))
        .group_by(ticket_events::ticket_id)
        .select((ticket_events::ticket_id, count_star()))
        .load::<(i64, i64)>(conn)?
        .into_iter()
        .collect();
    let told: HashMap<i64, i64> = events::table
        .filter(events::event_type.eq("ticket.state_changed"))
        .filter(events::created_at.ge(since))
        .group_by(events::object_id)
        .select((events::object_id, count_star()))
        .load::<(i64, i64)>(conn)?
        .into_iter()
        .collect();
    let mut tickets: Vec<_> =
        changes.iter().filter(|(t, n)| told.get(t).copied().unwrap_or(0) < **n).collect();
    tickets.sort();
    for (t, n) in tickets {
        let got = told.get(t).copied().unwrap_or(0);
        out.push(format!(
            "ticket {t} changed state {n} times since {since} but has {got} ticket.state_changed events"
        ));
    }

    // a parts request that was routed (it holds an allocation or a waiting line) was told so
    let routed: Vec<i64> = parts_requests::table
        .filter(parts_requests::created_at.ge(since))
        .filter(
            diesel::dsl::exists(
                request_allocations::table.filter(request_allocations::request_id.eq(parts_requests::id)),
            )
            .or(diesel::dsl::exists(
                parts_request_lines::table
                    .filter(parts_request_lines::request_id.eq(parts_requests::id))
                    .filter(parts_request_lines::backordered.gt(0)),
            )),
        )
        .select(parts_requests::id)
        .load(conn)?;
    let mut told: HashSet<i64> = of_type(conn, "parts_request.allocated", "parts_request", &routed)?
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    told.extend(
        of_type(conn, "parts_request.backordered", "parts_request", &routed)?.into_iter().map(|(id, _)| id),
    );
    for r in routed.iter().filter(|r| !told.contains(r)) {
        out.push(format!(
            "parts request {r} was routed but has no parts_request.allocated or .backordered event"
        ));
    }

    // every fill of a waiting line by arriving stock, at its time
    let fills: Vec<(i64, NaiveDateTime)> = request_allocations::table
        .filter(request_allocations::from_backorder.eq(true))
        .filter(request_allocations::created_at.ge(since))
        .select((request_allocations::request_id, request_allocations::created_at))
        .distinct()
        .load(conn)?;
    let ids: Vec<i64> = fills.iter().map(|f| f.0).collect();
    let told: HashSet<(i64, NaiveDateTime)> =
        of_type(conn, "backorder.filled", "parts_request", &ids)?.into_iter().collect();
    for (r, at) in fills.iter().filter(|f| !told.contains(f)) {
        out.push(format!(
            "parts request {r} had a waiting line filled at {at} without a backorder.filled event"
        ));
    }

    // shipments picked up and delivered
    let picked: Vec<i64> =
        shipments::table.filter(shipments::picked_up_at.ge(since)).select(shipments::id).load(conn)?;
    let delivered: Vec<i64> =
        shipments::table.filter(shipments::delivered_at.ge(since)).select(shipments::id).load(conn)?;
    for (event, column, moved) in
        [("shipment.picked_up", "picked up", picked), ("shipment.delivered", "delivered", delivered)]
    {
        let told: HashSet<i64> =
            of_type(conn, event, "shipment", &moved)?.into_iter().map(|(id, _)| id).collect();
        for s in moved.iter().filter(|s| !told.contains(s)) {
            out.push(format!("shipment {s} was {column} without a {event} event"));
        }
    }

    // damage found on receipt: the claim it opened, and the shipment's damage, at that time
    let opened: Vec<(i64, i64, NaiveDateTime)> = claims::table
        .filter(claims::created_at.ge(since))
        .select((claims::id, claims::shipment_id, claims::created_at))
        .load(conn)?;
    let ids: Vec<i64> = opened.iter().map(|c| c.0).collect();
    let told: HashSet<i64> =
        of_type(conn, "claim.opened", "claim", &ids)?.into_iter().map(|(id, _)| id).collect();
    let ids: Vec<i64> = opened.iter().map(|c| c.1).collect();
    let damaged: HashSet<(i64, NaiveDateTime)> =
        of_type(conn, "shipment.damaged", "shipment", &ids)?.into_iter().collect();
    for (c, s, at) in &opened {
        if !told.contains(c) {
            out.push(format!("claim {c} was opened without a claim.opened event"));
        }
        if !damaged.contains(&(*s, *at)) {
            out.push(format!(
                "shipment {s} arrived damaged at {at} (claim {c}) without a shipment.damaged event"
            ));
        }
    }

    // proposals released and months closed
    let released: Vec<i64> = planning_proposals::table
        .filter(planning_proposals::released_at.ge(since))
        .select(planning_proposals::id)
        .load(conn)?;
    let told: HashSet<i64> =
        of_type(conn, "proposal.released", "proposal", &released)?.into_iter().map(|(id, _)| id).collect();
    for p in released.iter().filter(|p| !told.contains(p)) {
        out.push(format!("proposal {p} was released without a proposal.released event"));
    }
    let closed: Vec<String> = settlement_periods::table
        .filter(settlement_periods::closed_at.ge(since))
        .select(settlement_periods::period)
        .load(conn)?;
    let ids: Vec<i64> = closed.iter().filter_map(|p| p.replace('-', "").parse().ok()).collect();
    let told: HashSet<i64> =
        of_type(conn, "period.closed", "period", &ids)?.into_iter().map(|(id, _)| id).collect();
    for p in closed.iter().filter(|p| p.replace('-', "").parse().is_ok_and(|id: i64| !told.contains(&id))) {
        out.push(format!("period {p} was closed without a period.closed event"));
    }
    Ok(out)
}

/// The events of type `t` about objects of `kind` among `ids`, with their times.
fn of_type(conn: &mut DbConn, t: &str, kind: &str, ids: &[i64]) -> QueryResult<Vec<(i64, NaiveDateTime)>> {
    let mut found = Vec::new();
    for chunk in ids.chunks(10_000) {
        found.extend(
            events::table
                .filter(events::event_type.eq(t))
                .filter(events::object_kind.eq(kind))
                .filter(events::object_id.eq_any(chunk))
                .select((events::object_id, events::created_at))
                .load::<(i64, NaiveDateTime)>(conn)?,
        );
    }
    Ok(found)
}

/// Whether a subscription of `scope` (a location path; none: the whole network) and `types`
/// (comma separated) takes an event of `event_type` whose object lies at `event_scope`. Only
/// active subscriptions of active owners are asked (the statements that load them, and
/// [`FirstEvent::sql`], leave the others out).
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
