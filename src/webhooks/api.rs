//! `/webhooks/subscriptions` and their deliveries: a station or warehouse client subscribes a
//! URL to event types instead of polling lists.

use actix_web::{delete, get, patch, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::service::{self, SUBSCRIBERS};
use super::store::{self, NewSubscription, SubscriptionChanges, SubscriptionRow};
use crate::auth::Caller;
use crate::db::DbConn;
use crate::error::{AppError, FieldError, Problem};
use crate::http::docs::{E400, E401, E403, E415};
use crate::http::{not_null, IdPage, Json, Page, Query};
use crate::state::AppState;
use crate::validate::Validate;

crate::problems!(E404Subscription, 404, "No subscription of this id that the caller owns", [
    NotFound => "subscription 3 not found",
]);
crate::problems!(E404Delivery, 404, "No delivery of this id on a subscription the caller owns", [
    NotFound => "delivery 12 not found",
]);
crate::problems!(E422Subscription, 422, "A field breaks a rule (`errors` names each), or the URL may not be used", [
    ValidationFailed => "event_types: an event type is named twice"
        {"errors": [{"field": "event_types", "message": "an event type is named twice"}]},
    InvalidUrl => "the host 10.1.2.3 is a private, loopback or link-local address (10.1.2.3); only hosts listed in ECHELON_WEBHOOK_ALLOW_HOSTS may be",
]);

/// An event type a subscription can take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Validate)]
pub enum EventType {
    #[serde(rename = "parts_request.allocated")]
    PartsRequestAllocated,
    #[serde(rename = "parts_request.backordered")]
    PartsRequestBackordered,
    #[serde(rename = "backorder.filled")]
    BackorderFilled,
    #[serde(rename = "shipment.picked_up")]
    ShipmentPickedUp,
    #[serde(rename = "shipment.delivered")]
    ShipmentDelivered,
    #[serde(rename = "shipment.damaged")]
    ShipmentDamaged,
    #[serde(rename = "claim.opened")]
    ClaimOpened,
    #[serde(rename = "ticket.state_changed")]
    TicketStateChanged,
    #[serde(rename = "ticket.deadline_missed")]
    TicketDeadlineMissed,
    #[serde(rename = "loan_line.overdue")]
    LoanLineOverdue,
    #[serde(rename = "proposal.released")]
    ProposalReleased,
    #[serde(rename = "period.closed")]
    PeriodClosed,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::PartsRequestAllocated => "parts_request.allocated",
            EventType::PartsRequestBackordered => "parts_request.backordered",
            EventType::BackorderFilled => "backorder.filled",
            EventType::ShipmentPickedUp => "shipment.picked_up",
            EventType::ShipmentDelivered => "shipment.delivered",
            EventType::ShipmentDamaged => "shipment.damaged",
            EventType::ClaimOpened => "claim.opened",
            EventType::TicketStateChanged => "ticket.state_changed",
            EventType::TicketDeadlineMissed => "ticket.deadline_missed",
            EventType::LoanLineOverdue => "loan_line.overdue",
            EventType::ProposalReleased => "proposal.released",
            EventType::PeriodClosed => "period.closed",
        }
    }

    fn parse(s: &str) -> Option<EventType> {
        serde_json::from_value(serde_json::Value::String(s.to_string())).ok()
    }
}

/// A new subscription.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"url": "http://localhost:9000/echelon-hooks",
    "event_types": ["backorder.filled", "shipment.delivered", "shipment.damaged"]}))]
pub struct SubscriptionIn {
    /// where events are posted: http or https; a private or loopback address only when the
    /// operator allows its host
    #[schema(min_length = 8, max_length = 500)]
    pub url: String,
    #[schema(min_items = 1, max_items = 12)]
    pub event_types: Vec<EventType>,
    /// default true; false creates it paused
    pub active: Option<bool>,
}

/// A change to a subscription: any of its URL, its event types, or whether it is active
/// (activating a paused one clears why it was paused).
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"active": true}))]
pub struct SubscriptionPatch {
    #[schema(min_length = 8, max_length = 500)]
    #[serde(default, deserialize_with = "not_null")]
    #[schema(nullable = false)]
    pub url: Option<String>,
    #[schema(min_items = 1, max_items = 12)]
    #[serde(default, deserialize_with = "not_null")]
    #[schema(nullable = false)]
    pub event_types: Option<Vec<EventType>>,
    #[serde(default, deserialize_with = "not_null")]
    #[schema(nullable = false)]
    pub active: Option<bool>,
}

/// A subscription. `secret` appears only in the answers that make one (create, rotate-secret):
/// keep it, it verifies every delivery's signature.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": 3, "url": "https://erp.st-tz-001.example/echelon-hooks",
    "event_types": ["backorder.filled", "shipment.delivered"], "active": true, "paused_reason": null,
    "failing_since": null, "owner": "station-st-tz-001", "scope": "ST-TZ-001",
    "created_at": "2026-12-05T09:00:00Z", "updated_at": "2026-12-05T09:00:00Z",
    "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}))]
pub struct SubscriptionOut {
    pub id: i64,
    pub url: String,
    pub event_types: Vec<EventType>,
    pub active: bool,
    /// why a failing subscription was paused
    pub paused_reason: Option<String>,
    /// since when every delivery failed (a day of it pauses the subscription)
    pub failing_since: Option<DateTime<Utc>>,
    pub owner: String,
    /// the location whose subtree's events it receives; none: the whole network
    pub scope: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

fn out(conn: &mut DbConn, s: SubscriptionRow, secret: Option<String>) -> Result<SubscriptionOut, AppError> {
    let mut one = outs(conn, vec![s])?;
    let mut s = one.remove(0);
    s.secret = secret;
    Ok(s)
}

/// The location id a scope path ends with (`/1/2/32/`: 32).
fn scope_id(path: &str) -> i64 {
    path.trim_end_matches('/').rsplit('/').next().and_then(|i| i.parse().ok()).unwrap_or(0)
}

/// Subscriptions as the API shows them (without their secrets), their owners' names and their
/// scopes' codes read in one statement each, whatever the number of rows.
fn outs(conn: &mut DbConn, rows: Vec<SubscriptionRow>) -> Result<Vec<SubscriptionOut>, AppError> {
    let owners: Vec<i64> = rows.iter().map(|s| s.owner_id).collect();
    let scopes: Vec<i64> = rows.iter().filter_map(|s| s.scope_path.as_deref().map(scope_id)).collect();
    let names = crate::auth::store::usernames_of(conn, &owners)?;
    let codes = crate::network::store::codes_of(conn, &scopes)?;
    Ok(rows
        .into_iter()
        .map(|s| SubscriptionOut {
            id: s.id,
            url: s.url,
            event_types: s.event_types.split(',').filter_map(EventType::parse).collect(),
            active: s.active,
            paused_reason: s.paused_reason,
            failing_since: s.failing_since.map(|t| t.and_utc()),
            owner: names.get(&s.owner_id).cloned().unwrap_or_default(),
            scope: s.scope_path.as_deref().and_then(|p| codes.get(&scope_id(p)).cloned()),
            created_at: s.created_at.and_utc(),
            updated_at: s.updated_at.and_utc(),
            secret: None,
        })
        .collect())
}

/// The subscription as it is now, with `secret` when the answer shows it (create, rotate).
fn reread(conn: &mut DbConn, id: i64, secret: Option<String>) -> Result<SubscriptionOut, AppError> {
    let row = store::subscription(conn, id)?
        .ok_or_else(|| AppError::not_found(format!("subscription {id} not found")))?;
    out(conn, row, secret)
}

/// The URL checked (its host resolved) on the blocking pool.
async fn check_url(state: &AppState, url: String) -> Result<(), AppError> {
    let config = state.config.webhooks.clone();
    web::block(move || service::check_url(&url, &config))
        .await
        .map_err(|e| AppError::internal(anyhow::anyhow!("{e}")))?
}

/// A location's subscription (a station's, a warehouse's) never receives a network-wide event:
/// `period.closed` belongs to no station. Naming it there is refused rather than kept silent.
fn receivable(types: &str, scope: Option<&str>) -> Result<(), AppError> {
    match scope {
        Some(_) if types.split(',').any(|t| t == "period.closed") => Err(AppError::field_problems(
            Problem::ValidationFailed,
            "",
            vec![FieldError::new(
                "event_types",
                "period.closed is the whole network's: a location's subscription never receives it",
            )],
        )),
        _ => Ok(()),
    }
}

fn types_text(types: &[EventType]) -> Result<String, AppError> {
    let mut names: Vec<&str> = types.iter().map(|t| t.as_str()).collect();
    let n = names.len();
    names.sort_unstable();
    names.dedup();
    if names.len() != n {
        return Err(AppError::field_problems(
            Problem::ValidationFailed,
            "",
            vec![FieldError::new("event_types", "an event type is named twice")],
        ));
    }
    Ok(names.join(","))
}

/// Subscribe a URL to events (admin, finance, warehouse, station)
///
/// The subscription receives the events of its owner's scope only: a station its own, a
/// warehouse its subtree's, admin and finance the whole network's; this is checked again when
/// each event is delivered. The URL must be http or https; a host that resolves to a private,
/// loopback or link-local address is refused (422 `invalid_url`) unless the operator lists it
/// in `ECHELON_WEBHOOK_ALLOW_HOSTS`. The answer carries the signing `secret`, once.
#[utoipa::path(tag = "webhooks", request_body = SubscriptionIn,
    responses((status = 201, description = "The subscription, with its secret", body = SubscriptionOut),
        E400, E401, E403, E415, E422Subscription),
    security(("bearer" = ["admin", "warehouse", "station", "finance"])))]
#[post("/webhooks/subscriptions")]
pub async fn create_subscription(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<SubscriptionIn>,
) -> Result<HttpResponse, AppError> {
    caller.require(SUBSCRIBERS)?;
    let input = body.0;
    let types = types_text(&input.event_types)?;
    check_url(&state, input.url.clone()).await?;
    let now = state.clock.now().naive_utc();
    let answer = state
        .db
        .write(move |conn| {
            let scope = service::scope_path(conn, &caller)?;
            receivable(&types, scope.as_deref())?;
            let secret = super::rules::new_secret();
            let id = store::insert(
                conn,
                &NewSubscription {
                    owner_id: caller.user_id,
                    scope_path: scope.as_deref(),
                    url: &input.url,
                    event_types: &types,
                    secret: &secret,
                    active: input.active.unwrap_or(true),
                    created_at: now,
                    updated_at: now,
                },
            )?;
            reread(conn, id, Some(secret))
        })
        .await?;
    Ok(HttpResponse::Created().json(answer))
}

/// List the caller's subscriptions, oldest first (admin: everyone's)
#[utoipa::path(tag = "webhooks", params(IdPage),
    responses((status = 200, description = "A page of subscriptions, without their secrets", body = Page<SubscriptionOut>),
        E400, E401, E403),
    security(("bearer" = ["admin", "warehouse", "station", "finance"])))]
#[get("/webhooks/subscriptions")]
pub async fn list_subscriptions(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<IdPage>,
) -> Result<web::Json<Page<SubscriptionOut>>, AppError> {
    caller.require(SUBSCRIBERS)?;
    let page = query.into_inner().request()?;
    let after = page.after_id()?;
    let answer = state
        .db
        .read(move |conn| {
            let owner = (!caller.is(crate::auth::Role::Admin)).then_some(caller.user_id);
            let rows = store::subscriptions(conn, owner, after, page.limit + 1)?;
            let rows = outs(conn, rows)?;
            Ok(page.page(rows, |s| s.id.to_string()))
        })
        .await?;
    Ok(web::Json(answer))
}

/// Read a subscription (its owner, or admin)
#[utoipa::path(tag = "webhooks", params(("id" = i64, Path, description = "the subscription", example = 1)),
    responses((status = 200, description = "The subscription, without its secret", body = SubscriptionOut), E401, E403, E404Subscription),
    security(("bearer" = ["admin", "warehouse", "station", "finance"])))]
#[get("/webhooks/subscriptions/{id}")]
pub async fn get_subscription(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<i64>,
) -> Result<web::Json<SubscriptionOut>, AppError> {
    let id = path.into_inner();
    let answer = state.db.read(move |conn| {
        let s = service::owned(conn, &caller, id)?;
        out(conn, s, None)
    });
    Ok(web::Json(answer.await?))
}

/// Change a subscription's URL, event types, or pause and resume it (its owner, or admin)
#[utoipa::path(tag = "webhooks", params(("id" = i64, Path, description = "the subscription", example = 1)),
    request_body = SubscriptionPatch,
    responses((status = 200, description = "The subscription as changed", body = SubscriptionOut),
        E400, E401, E403, E404Subscription, E415, E422Subscription),
    security(("bearer" = ["admin", "warehouse", "station", "finance"])))]
#[patch("/webhooks/subscriptions/{id}")]
pub async fn patch_subscription(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<i64>,
    body: Json<SubscriptionPatch>,
) -> Result<web::Json<SubscriptionOut>, AppError> {
    let id = path.into_inner();
    let input = body.0;
    let types = input.event_types.as_deref().map(types_text).transpose()?;
    if let Some(url) = input.url.clone() {
        check_url(&state, url).await?;
    }
    let now = state.clock.now().naive_utc();
    let answer = state
        .db
        .write(move |conn| {
            let s = service::owned(conn, &caller, id)?;
            if let Some(types) = &types {
                receivable(types, s.scope_path.as_deref())?;
            }
            let resumed = input.active == Some(true) && !s.active;
            store::change(
                conn,
                s.id,
                &SubscriptionChanges {
                    url: input.url,
                    event_types: types,
                    active: input.active,
                    paused_reason: resumed.then_some(None),
                    failing_since: resumed.then_some(None),
                    updated_at: Some(now),
                    ..Default::default()
                },
            )?;
            reread(conn, id, None)
        })
        .await?;
    Ok(web::Json(answer))
}

/// Delete a subscription with its delivery log (its owner, or admin)
#[utoipa::path(tag = "webhooks", params(("id" = i64, Path, description = "the subscription", example = 1)),
    responses((status = 204, description = "The subscription and its delivery log are gone; nothing more is sent to its URL"), E401, E403, E404Subscription),
    security(("bearer" = ["admin", "warehouse", "station", "finance"])))]
#[delete("/webhooks/subscriptions/{id}")]
pub async fn delete_subscription(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    state
        .db
        .write(move |conn| {
            service::owned(conn, &caller, id)?;
            Ok(store::delete(conn, id)?)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Give a subscription a new signing secret (its owner, or admin)
///
/// For a day the old secret still signs beside the new one (two signatures in
/// `webhook-signature`), so a receiver can switch without losing an event.
#[utoipa::path(tag = "webhooks", params(("id" = i64, Path, description = "the subscription", example = 1)),
    responses((status = 200, description = "The subscription with its new secret", body = SubscriptionOut), E401, E403, E404Subscription),
    security(("bearer" = ["admin", "warehouse", "station", "finance"])))]
#[post("/webhooks/subscriptions/{id}/rotate-secret")]
pub async fn rotate_secret(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<i64>,
) -> Result<web::Json<SubscriptionOut>, AppError> {
    let id = path.into_inner();
    let now = state.clock.now().naive_utc();
    let answer = state
        .db
        .write(move |conn| {
            let s = service::owned(conn, &caller, id)?;
            let secret = service::rotate(conn, &s, now)?;
            reread(conn, id, Some(secret))
        })
        .await?;
    Ok(web::Json(answer))
}

/// One attempt to deliver.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptOut {
    pub at: DateTime<Utc>,
    /// the receiver's HTTP status; none when it could not be reached
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub latency_ms: i64,
}

/// An event's delivery to a subscription, with every attempt.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": 12, "message_id": "msg_12", "event_id": 40, "event_type": "shipment.delivered",
    "object_kind": "shipment", "object_id": 7, "sequence": 2, "status": "delivered", "attempts": 2,
    "next_attempt_at": "2026-12-05T09:00:30Z", "delivered_at": "2026-12-05T09:00:31Z",
    "last_status_code": 200, "last_error": null, "created_at": "2026-12-05T09:00:00Z",
    "log": [{"at": "2026-12-05T09:00:00Z", "status_code": 503, "error": "the receiver answered 503", "latency_ms": 12},
        {"at": "2026-12-05T09:00:31Z", "status_code": 200, "error": null, "latency_ms": 9}]}))]
pub struct DeliveryOut {
    pub id: i64,
    /// the `webhook-id` header of every attempt
    pub message_id: String,
    pub event_id: i64,
    pub event_type: String,
    pub object_kind: String,
    pub object_id: i64,
    pub sequence: i64,
    /// pending, delivered, or failed (retried for a day)
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub log: Vec<AttemptOut>,
}

/// A subscription's deliveries, newest first, each with its attempts (its owner, or admin)
#[utoipa::path(tag = "webhooks", params(("id" = i64, Path, description = "the subscription", example = 1), IdPage),
    responses((status = 200, description = "A page of deliveries, newest first", body = Page<DeliveryOut>),
        E400, E401, E403, E404Subscription),
    security(("bearer" = ["admin", "warehouse", "station", "finance"])))]
#[get("/webhooks/subscriptions/{id}/deliveries")]
pub async fn list_deliveries(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<i64>,
    query: Query<IdPage>,
) -> Result<web::Json<Page<DeliveryOut>>, AppError> {
    let id = path.into_inner();
    let page = query.into_inner().request()?;
    let before = page.after_id()?;
    let answer = state
        .db
        .read(move |conn| {
            let s = service::owned(conn, &caller, id)?;
            let rows = store::deliveries(conn, s.id, before, page.limit + 1)?;
            let ids: Vec<i64> = rows.iter().map(|(d, _)| d.id).collect();
            let attempts = store::attempts(conn, &ids)?;
            let items: Vec<DeliveryOut> = rows
                .into_iter()
                .map(|(d, e)| DeliveryOut {
                    id: d.id,
                    message_id: format!("msg_{}", d.id),
                    event_id: e.id,
                    event_type: e.event_type,
                    object_kind: e.object_kind,
                    object_id: e.object_id,
                    sequence: e.sequence,
                    status: d.status,
                    attempts: d.attempts,
                    next_attempt_at: d.next_attempt_at.and_utc(),
                    delivered_at: d.delivered_at.map(|t| t.and_utc()),
                    last_status_code: d.last_status_code,
                    last_error: d.last_error,
                    created_at: d.created_at.and_utc(),
                    log: attempts
                        .iter()
                        .filter(|a| a.0 == d.id)
                        .map(|a| AttemptOut {
                            at: a.1.and_utc(),
                            status_code: a.2,
                            error: a.3.clone(),
                            latency_ms: a.4,
                        })
                        .collect(),
                })
                .collect();
            Ok(page.page(items, |d| d.id.to_string()))
        })
        .await?;
    Ok(web::Json(answer))
}

/// Send a delivery again (its subscription's owner, or admin)
///
/// The delivery goes back in the queue, due now, with the same `webhook-id`; its log keeps
/// the earlier attempts.
#[utoipa::path(tag = "webhooks", params(("id" = i64, Path, description = "the delivery", example = 1)),
    responses((status = 202, description = "Queued again"), E401, E403, E404Delivery),
    security(("bearer" = ["admin", "warehouse", "station", "finance"])))]
#[post("/webhooks/deliveries/{id}/replay")]
pub async fn replay_delivery(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    caller.require(SUBSCRIBERS)?;
    let id = path.into_inner();
    let now = state.clock.now().naive_utc();
    state
        .db
        .write(move |conn| {
            let d = store::delivery(conn, id)?
                .ok_or_else(|| AppError::not_found(format!("delivery {id} not found")))?;
            service::owned(conn, &caller, d.subscription_id)
                .map_err(|_| AppError::not_found(format!("delivery {id} not found")))?;
            Ok(store::requeue(conn, id, now)?)
        })
        .await?;
    Ok(HttpResponse::Accepted().finish())
}
