//! The webhooks' tables: subscriptions, deliveries and their attempts (the events themselves
//! are written by `events`).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{events, webhook_attempts, webhook_deliveries, webhook_subscriptions};
use crate::db::DbConn;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_subscriptions)]
pub struct SubscriptionRow {
    pub id: i64,
    pub owner_id: i64,
    pub scope_path: Option<String>,
    pub url: String,
    pub event_types: String,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_until: Option<NaiveDateTime>,
    pub active: bool,
    pub paused_reason: Option<String>,
    pub failing_since: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = webhook_subscriptions)]
pub struct NewSubscription<'a> {
    pub owner_id: i64,
    pub scope_path: Option<&'a str>,
    pub url: &'a str,
    pub event_types: &'a str,
    pub secret: &'a str,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = webhook_subscriptions)]
pub struct SubscriptionChanges {
    pub url: Option<String>,
    pub event_types: Option<String>,
    pub secret: Option<String>,
    pub previous_secret: Option<Option<String>>,
    pub previous_until: Option<Option<NaiveDateTime>>,
    pub active: Option<bool>,
    pub paused_reason: Option<Option<String>>,
    pub failing_since: Option<Option<NaiveDateTime>>,
    pub updated_at: Option<NaiveDateTime>,
}

pub fn insert(conn: &mut DbConn, s: &NewSubscription<'_>) -> QueryResult<i64> {
    diesel::insert_into(webhook_subscriptions::table)
        .values(s)
        .returning(webhook_subscriptions::id)
        .get_result(conn)
}

pub fn subscription(conn: &mut DbConn, id: i64) -> QueryResult<Option<SubscriptionRow>> {
    webhook_subscriptions::table.find(id).select(SubscriptionRow::as_select()).first(conn).optional()
}

/// Subscriptions, oldest first, after id `after`: one owner's, or all (`owner` None).
pub fn subscriptions(
    conn: &mut DbConn,
    owner: Option<i64>,
    after: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<SubscriptionRow>> {
    let mut q = webhook_subscriptions::table.select(SubscriptionRow::as_select()).into_boxed();
    if let Some(o) = owner {
        q = q.filter(webhook_subscriptions::owner_id.eq(o));
    }
    if let Some(a) = after {
        q = q.filter(webhook_subscriptions::id.gt(a));
    }
    q.order(webhook_subscriptions::id.asc()).limit(limit).load(conn)
}

pub fn change(conn: &mut DbConn, id: i64, c: &SubscriptionChanges) -> QueryResult<()> {
    diesel::update(webhook_subscriptions::table.find(id)).set(c).execute(conn).map(|_| ())
}

/// Removes a subscription with its deliveries and their attempts.
pub fn delete(conn: &mut DbConn, id: i64) -> QueryResult<()> {
    let deliveries = webhook_deliveries::table
        .filter(webhook_deliveries::subscription_id.eq(id))
        .select(webhook_deliveries::id);
    diesel::delete(webhook_attempts::table.filter(webhook_attempts::delivery_id.eq_any(deliveries)))
        .execute(conn)?;
    diesel::delete(webhook_deliveries::table.filter(webhook_deliveries::subscription_id.eq(id)))
        .execute(conn)?;
    diesel::delete(webhook_subscriptions::table.find(id)).execute(conn).map(|_| ())
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries)]
pub struct DeliveryRow {
    pub id: i64,
    pub subscription_id: i64,
    pub event_id: i64,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub locked_until: Option<NaiveDateTime>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub last_latency_ms: Option<i64>,
    pub created_at: NaiveDateTime,
    pub delivered_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = events)]
pub struct EventRow {
    pub id: i64,
    pub event_type: String,
    pub object_kind: String,
    pub object_id: i64,
    pub sequence: i64,
    pub station_id: Option<i64>,
    pub scope_path: String,
    pub payload: String,
    pub created_at: NaiveDateTime,
}

pub fn delivery(conn: &mut DbConn, id: i64) -> QueryResult<Option<DeliveryRow>> {
    webhook_deliveries::table.find(id).select(DeliveryRow::as_select()).first(conn).optional()
}

/// A subscription's deliveries with their events, newest first, before id `before`.
pub fn deliveries(
    conn: &mut DbConn,
    subscription_id: i64,
    before: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<(DeliveryRow, EventRow)>> {
    let mut q = webhook_deliveries::table
        .inner_join(events::table)
        .filter(webhook_deliveries::subscription_id.eq(subscription_id))
        .select((DeliveryRow::as_select(), EventRow::as_select()))
        .into_boxed();
    if let Some(b) = before {
        q = q.filter(webhook_deliveries::id.lt(b));
    }
    q.order(webhook_deliveries::id.desc()).limit(limit).load(conn)
}

/// Deliveries due at `now` and not leased, oldest first; each is leased until `lease_until`
/// in the same statement's transaction (on PostgreSQL the rows another process holds are
/// skipped, not waited for).
pub fn claim_due(
    conn: &mut DbConn,
    now: NaiveDateTime,
    lease_until: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<(DeliveryRow, EventRow, SubscriptionRow)>> {
    // a paused subscription's deliveries wait until it is resumed
    let active = webhook_subscriptions::table
        .filter(webhook_subscriptions::active.eq(true))
        .select(webhook_subscriptions::id);
    let due = webhook_deliveries::table
        .filter(webhook_deliveries::status.eq("pending"))
        .filter(webhook_deliveries::subscription_id.eq_any(active))
        .filter(webhook_deliveries::next_attempt_at.le(now))
        .filter(webhook_deliveries::locked_until.is_null().or(webhook_deliveries::locked_until.lt(now)))
        .select(webhook_deliveries::id)
        .order(webhook_deliveries::next_attempt_at.asc())
        .limit(limit);
    let ids: Vec<i64> = match conn {
        DbConn::Pg(c) => due.for_update().skip_locked().load(c)?,
        DbConn::Sqlite(c) => due.load(c)?,
    };
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    diesel::update(webhook_deliveries::table.filter(webhook_deliveries::id.eq_any(&ids)))
        .set(webhook_deliveries::locked_until.eq(lease_until))
        .execute(conn)?;
    webhook_deliveries::table
        .inner_join(events::table)
        .inner_join(webhook_subscriptions::table)
        .filter(webhook_deliveries::id.eq_any(&ids))
        .select((DeliveryRow::as_select(), EventRow::as_select(), SubscriptionRow::as_select()))
        .order(webhook_deliveries::id.asc())
        .load(conn)
}

/// One attempt's outcome, written with the delivery's new state.
pub struct Outcome<'a> {
    pub at: NaiveDateTime,
    pub status_code: Option<i32>,
    pub error: Option<&'a str>,
    pub latency_ms: i64,
    /// delivered, pending (with `next_attempt_at`) or failed
    pub status: &'a str,
    pub next_attempt_at: NaiveDateTime,
}

pub fn record_attempt(conn: &mut DbConn, delivery_id: i64, o: &Outcome<'_>) -> QueryResult<()> {
    diesel::insert_into(webhook_attempts::table)
        .values((
            webhook_attempts::delivery_id.eq(delivery_id),
            webhook_attempts::at.eq(o.at),
            webhook_attempts::status_code.eq(o.status_code),
            webhook_attempts::error.eq(o.error),
            webhook_attempts::latency_ms.eq(o.latency_ms),
        ))
        .execute(conn)?;
    diesel::update(webhook_deliveries::table.find(delivery_id))
        .set((
            webhook_deliveries::status.eq(o.status),
            webhook_deliveries::attempts.eq(webhook_deliveries::attempts + 1),
            webhook_deliveries::next_attempt_at.eq(o.next_attempt_at),
            webhook_deliveries::locked_until.eq(None::<NaiveDateTime>),
            webhook_deliveries::last_status_code.eq(o.status_code),
            webhook_deliveries::last_error.eq(o.error),
            webhook_deliveries::last_latency_ms.eq(o.latency_ms),
            webhook_deliveries::delivered_at.eq((o.status == "delivered").then_some(o.at)),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Puts a delivery back in the queue, due at `at` (a replay).
pub fn requeue(conn: &mut DbConn, id: i64, at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(webhook_deliveries::table.find(id))
        .set((
            webhook_deliveries::status.eq("pending"),
            webhook_deliveries::next_attempt_at.eq(at),
            webhook_deliveries::locked_until.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)
        .map(|_| ())
}

/// One attempt: (delivery, at, status code, error, latency in ms).
pub type AttemptRow = (i64, NaiveDateTime, Option<i32>, Option<String>, i64);

/// The attempts of deliveries, oldest first.
pub fn attempts(conn: &mut DbConn, delivery_ids: &[i64]) -> QueryResult<Vec<AttemptRow>> {
    webhook_attempts::table
        .filter(webhook_attempts::delivery_id.eq_any(delivery_ids))
        .select((
            webhook_attempts::delivery_id,
            webhook_attempts::at,
            webhook_attempts::status_code,
            webhook_attempts::error,
            webhook_attempts::latency_ms,
        ))
        .order(webhook_attempts::id.asc())
        .load(conn)
}

/// How many deliveries are waiting (the `echelon_webhook_pending` gauge).
pub fn pending(conn: &mut DbConn) -> QueryResult<i64> {
    webhook_deliveries::table.filter(webhook_deliveries::status.eq("pending")).count().get_result(conn)
}
