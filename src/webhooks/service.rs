//! Subscriptions (who may subscribe to what, and see which) and the two transactional halves
//! of a delivery: claiming what is due, and recording what the receiver answered.

use chrono::{Duration, NaiveDateTime};

use super::rules;
use super::store::{self, DeliveryRow, EventRow, Outcome, SubscriptionChanges, SubscriptionRow};
use crate::auth::{Caller, Role, Scope};
use crate::config::Webhooks;
use crate::db::DbConn;
use crate::error::{AppError, Problem};

/// Who may subscribe: admin and finance to the whole network, a warehouse to its subtree, a
/// station to its own events.
/// (`Role::subscribes`; a user's subscriptions follow the user's changes, `auth::admin`).
pub const SUBSCRIBERS: &[Role] = &[Role::Admin, Role::Finance, Role::Warehouse, Role::Station];

/// How long a rotated-out secret still signs (beside the new one).
pub const ROTATION_GRACE_HOURS: i64 = 24;

/// The subtree a caller's subscriptions receive: its location's path, or none (the network).
pub fn scope_path(conn: &mut DbConn, caller: &Caller) -> Result<Option<String>, AppError> {
    caller.require(SUBSCRIBERS)?;
    Ok(match Scope::of(conn, caller)? {
        Scope::All => None,
        Scope::Under { path } => Some(path),
    })
}

/// A subscription the caller may see and change: its own (admin: any); else 404.
pub fn owned(conn: &mut DbConn, caller: &Caller, id: i64) -> Result<SubscriptionRow, AppError> {
    caller.require(SUBSCRIBERS)?;
    store::subscription(conn, id)?
        .filter(|s| s.owner_id == caller.user_id || caller.is(Role::Admin))
        .ok_or_else(|| AppError::not_found(format!("subscription {id} not found")))
}

/// The URL checked as `rules::url_refusal` says, resolving its host with the system's DNS: 422
/// `invalid_url` naming why.
pub fn check_url(url: &str, config: &Webhooks) -> Result<(), AppError> {
    let resolve = |host: &str, port: u16| {
        use std::net::ToSocketAddrs;
        (host, port).to_socket_addrs().map(|a| a.map(|s| s.ip()).collect()).unwrap_or_default()
    };
    match rules::url_refusal(url, &config.allow_hosts, resolve) {
        None => Ok(()),
        Some(why) => Err(AppError::unprocessable(Problem::InvalidUrl, why)),
    }
}

/// A new secret for the subscription; the old one keeps signing beside it for the grace.
pub fn rotate(conn: &mut DbConn, s: &SubscriptionRow, now: NaiveDateTime) -> Result<String, AppError> {
    let secret = rules::new_secret();
    store::change(
        conn,
        s.id,
        &SubscriptionChanges {
            secret: Some(secret.clone()),
            previous_secret: Some(Some(s.secret.clone())),
            previous_until: Some(Some(now + Duration::hours(ROTATION_GRACE_HOURS))),
            updated_at: Some(now),
            ..Default::default()
        },
    )?;
    Ok(secret)
}

/// A claimed delivery: what to send where, or why it may not be sent.
pub struct Claimed {
    pub delivery: DeliveryRow,
    pub event: EventRow,
    pub subscription: SubscriptionRow,
    /// why the event may not go to this subscription any more (its owner left the event's
    /// scope, or was disabled): the delivery fails without a request
    pub refused: Option<String>,
}

/// Leases the deliveries due at `now` for `lease` (a process that dies mid-delivery leaves them
/// to another after that) and checks each against its owner as the owner is now.
pub fn claim(
    conn: &mut DbConn,
    now: NaiveDateTime,
    lease: Duration,
    limit: i64,
) -> Result<Vec<Claimed>, AppError> {
    let rows = store::claim_due(conn, now, now + lease, limit)?;
    let mut out = Vec::with_capacity(rows.len());
    for (delivery, event, subscription) in rows {
        let owner = crate::auth::store::scope_of_user(conn, subscription.owner_id)?;
        let refused = match owner {
            None => {
                Some("the subscription's owner is disabled, gone or no longer receives events".to_string())
            }
            Some(path)
                if !crate::events::takes(
                    path.as_deref(),
                    &subscription.event_types,
                    &event.event_type,
                    &event.scope_path,
                ) =>
            {
                Some("the event lies outside the owner's scope".to_string())
            }
            Some(_) => None,
        };
        out.push(Claimed { delivery, event, subscription, refused });
    }
    Ok(out)
}

/// What a receiver did with one attempt.
pub struct Answer {
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub latency_ms: i64,
}

impl Answer {
    pub fn succeeded(&self) -> bool {
        self.status_code.is_some_and(|c| (200..300).contains(&c))
    }
}

/// Records an attempt: a success delivers and clears the subscription's failing mark; a
/// failure is retried after the backoff until the delivery is a day old, and a subscription
/// failing for a day is paused, with the reason for its owner to read.
pub fn finish(
    conn: &mut DbConn,
    c: &Claimed,
    answer: &Answer,
    now: NaiveDateTime,
    config: &Webhooks,
    jitter: f64,
) -> Result<(), AppError> {
    let give_up = Duration::hours(config.give_up_hours);
    let error = answer.error.clone().or_else(|| {
        answer.status_code.filter(|_| !answer.succeeded()).map(|code| format!("the receiver answered {code}"))
    });
    let (status, next) = if answer.succeeded() {
        ("delivered", now)
    } else if now - c.delivery.created_at >= give_up || c.refused.is_some() {
        ("failed", now)
    } else {
        let wait = rules::backoff(
            (c.delivery.attempts + 1) as u32,
            std::time::Duration::from_secs(config.retry_seconds),
            jitter,
        );
        ("pending", now + Duration::from_std(wait).unwrap_or(give_up))
    };
    store::record_attempt(
        conn,
        c.delivery.id,
        &Outcome {
            at: now,
            status_code: answer.status_code.map(i32::from),
            error: error.as_deref(),
            latency_ms: answer.latency_ms,
            status,
            next_attempt_at: next,
        },
    )?;
    if c.refused.is_some() {
        return Ok(());
    }
    let s = store::subscription(conn, c.subscription.id)?;
    let Some(s) = s else { return Ok(()) };
    let changes = if answer.succeeded() {
        SubscriptionChanges { failing_since: Some(None), ..Default::default() }
    } else {
        let since = s.failing_since.unwrap_or(now);
        let pause = now - since >= give_up && s.active;
        SubscriptionChanges {
            failing_since: Some(Some(since)),
            active: pause.then_some(false),
            paused_reason: pause.then(|| {
                Some(format!(
                    "paused at {}Z: every delivery failed since {}Z; last: {}",
                    now.format("%Y-%m-%dT%H:%M:%S"),
                    since.format("%Y-%m-%dT%H:%M:%S"),
                    error.clone().unwrap_or_default()
                ))
            }),
            ..Default::default()
        }
    };
    store::change(conn, s.id, &changes)?;
    Ok(())
}
