//! The actions on a parts request: approve, reject, cancel, pick, ship, close.

use actix_web::{post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::db::DbConn;
use crate::error::AppError;
use crate::http::docs::{E401, E403, E422};
use crate::http::MaybeJson;
use crate::requests::service;
use crate::state::AppState;
use crate::validate::Validate;

use super::*;

/// An optional note with a decision.
#[derive(Debug, Default, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"note": "approved for the compressor campaign"}))]
pub struct DecisionIn {
    #[schema(max_length = 500)]
    pub note: Option<String>,
}

async fn act<F>(state: web::Data<AppState>, f: F) -> Result<web::Json<PartsRequestOut>, AppError>
where
    F: Fn(&mut DbConn, chrono::DateTime<chrono::Utc>) -> Result<i64, AppError> + Send + 'static,
{
    let now = state.clock.now();
    let out = state
        .db
        .write_retrying(move |conn| {
            let id = f(conn, now)?;
            one(conn, id)
        })
        .await?;
    Ok(web::Json(out))
}

fn note_of(body: MaybeJson<DecisionIn>) -> Result<Option<String>, AppError> {
    Ok(body.0.and_then(|b| b.note))
}

/// Approve a request over the allowance (the station's centre or admin)
///
/// Four eyes: the user who raised the request (a warehouse or admin user requesting for a
/// station) does not approve it (403 `own_request`, and nothing changes); another user of the
/// station's centre, or an admin, does. The lines are reserved among the station's active
/// sources: a named source that is inactive, or no active source at all, is 409
/// `location_inactive` (reject it instead). A request of a station closed since it was raised
/// may still be approved: it is work already under way.
#[utoipa::path(
    tag = "requests",
    params(("id" = i64, Path, description = "request id", example = 1005)),
    request_body(content = Option<DecisionIn>, description = "an optional note"),
    responses((status = 200, description = "The request approved, its lines reserved or backordered", body = PartsRequestOut), E401, E403Approve, E404Request, E409Decide, E422),
    security(("bearer" = ["admin", "warehouse"]))
)]
#[post("/parts-requests/{id}/approve")]
pub async fn approve(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: MaybeJson<DecisionIn>,
) -> Result<web::Json<PartsRequestOut>, AppError> {
    let id = id.into_inner();
    let note = note_of(body)?;
    act(state, move |conn, now| service::decide(conn, &caller, id, true, note.as_deref(), now).map(|_| id))
        .await
}

/// Reject a request over the allowance (the station's centre or admin)
///
/// Its raiser may reject it too: rejecting grants nothing and reserves nothing, as
/// withdrawing it (`cancel`) does not; only approving needs a second pair of eyes.
#[utoipa::path(
    tag = "requests",
    params(("id" = i64, Path, description = "request id", example = 1006)),
    request_body(content = Option<DecisionIn>, description = "an optional note"),
    responses((status = 200, description = "The request rejected; nothing is reserved", body = PartsRequestOut), E401, E403, E404Request, E409Reject, E422),
    security(("bearer" = ["admin", "warehouse"]))
)]
#[post("/parts-requests/{id}/reject")]
pub async fn reject(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: MaybeJson<DecisionIn>,
) -> Result<web::Json<PartsRequestOut>, AppError> {
    let id = id.into_inner();
    let note = note_of(body)?;
    act(state, move |conn, now| service::decide(conn, &caller, id, false, note.as_deref(), now).map(|_| id))
        .await
}

/// Cancel a request; every reservation is released
#[utoipa::path(
    tag = "requests",
    params(("id" = i64, Path, description = "request id", example = 1004)),
    responses((status = 200, description = "The request cancelled, every reservation released", body = PartsRequestOut), E401, E403, E404Request, E409Cancel),
    security(("bearer" = ["admin", "warehouse", "station"]))
)]
#[post("/parts-requests/{id}/cancel")]
pub async fn cancel(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<PartsRequestOut>, AppError> {
    let id = id.into_inner();
    act(state, move |conn, now| service::cancel(conn, &caller, id, now).map(|_| id)).await
}

/// Pick the reserved units of your stock (warehouse)
#[utoipa::path(
    tag = "requests",
    params(("id" = i64, Path, description = "request id", example = 1004)),
    responses((status = 200, description = "The request with the caller's reserved allocations picked", body = PartsRequestOut), E401, E403, E404Request, E409Pick),
    security(("bearer" = ["admin", "warehouse"]))
)]
#[post("/parts-requests/{id}/pick")]
pub async fn pick(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<PartsRequestOut>, AppError> {
    let id = id.into_inner();
    act(state, move |conn, now| service::pick(conn, &caller, id, now).map(|_| id)).await
}

/// A shipment just made for a request: who carries it, where to track it, by when.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": 31, "origin": "RC-HZ", "status": "assigned", "courier": "courier-1",
    "tracking": "/api/v1/shipments/31", "deliver_by": "2026-11-24T10:00:00Z", "tender_id": null}))]
pub struct ShippedOut {
    pub id: i64,
    pub origin: String,
    /// `assigned` (an urgent shipment goes to the best standing rate card at once) or
    /// `awaiting_tender` (a courier is chosen by tender)
    pub status: String,
    /// the courier carrying it, once one is assigned
    pub courier: Option<String>,
    /// where the shipment and its tracking events are read
    pub tracking: String,
    /// the promised delivery time
    pub deliver_by: chrono::DateTime<chrono::Utc>,
    pub tender_id: Option<i64>,
}

/// A request after `ship`, with the shipments that call made.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShipOut {
    #[serde(flatten)]
    pub request: PartsRequestOut,
    /// the shipments this call made, one per source
    pub shipments: Vec<ShippedOut>,
}

/// Ship the picked units of your stock (warehouse)
///
/// The units leave the source for `IN-TRANSIT` (`transfer_ship`). The answer is the request with
/// the shipments made: each with its courier (once assigned), its tracking address and the
/// promised delivery time.
#[utoipa::path(
    tag = "requests",
    params(("id" = i64, Path, description = "request id", example = 1004)),
    responses((status = 200, description = "The request with the shipments this call made", body = ShipOut), E401, E403, E404Request, E409Ship),
    security(("bearer" = ["admin", "warehouse"]))
)]
#[post("/parts-requests/{id}/ship")]
pub async fn ship(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<ShipOut>, AppError> {
    let id = id.into_inner();
    let now = state.clock.now();
    let out = state
        .db
        .write_retrying(move |conn| {
            let made = service::ship(conn, &caller, id, now)?;
            let rows = crate::shipping::store::shipments_by_ids(conn, &made)?;
            let couriers: Vec<i64> = rows.iter().filter_map(|s| s.courier_id).collect();
            let names = crate::shipping::store::usernames(conn, &couriers)?;
            let origins: Vec<i64> = rows.iter().map(|s| s.origin_id).collect();
            let places = crate::network::store::codes_of(conn, &origins)?;
            let shipments = rows
                .into_iter()
                .map(|s| ShippedOut {
                    id: s.id,
                    origin: places.get(&s.origin_id).cloned().unwrap_or_default(),
                    status: s.status.as_str().to_string(),
                    courier: s.courier_id.and_then(|c| names.get(&c).cloned()),
                    tracking: format!("/api/v1/shipments/{}", s.id),
                    deliver_by: s.deliver_by.and_utc(),
                    tender_id: s.tender_id,
                })
                .collect();
            Ok(ShipOut { request: one(conn, id)?, shipments })
        })
        .await?;
    Ok(web::Json(out))
}

/// Close a fully received request
#[utoipa::path(
    tag = "requests",
    operation_id = "close_parts_request",
    params(("id" = i64, Path, description = "request id", example = 1001)),
    responses((status = 200, description = "The request closed", body = PartsRequestOut), E401, E403, E404Request, E409Close),
    security(("bearer" = ["admin", "warehouse", "station"]))
)]
#[post("/parts-requests/{id}/close")]
pub async fn close(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<PartsRequestOut>, AppError> {
    let id = id.into_inner();
    act(state, move |conn, now| service::close(conn, &caller, id, now).map(|_| id)).await
}
