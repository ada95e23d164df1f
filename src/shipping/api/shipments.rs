//! Shipments and their tracking: the list, one shipment, and the events couriers report.

use actix_web::{get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Caller, Role, Scope};
use crate::db::DbConn;
use crate::error::{AppError, FieldError};
use crate::http::docs::{E400, E401, E403, E404, E409, E415, E422};
use crate::http::{Json, Page, PageRequest};
use crate::money::Money;
use crate::network::store as network;
use crate::shipping::rules::EventKind;
use crate::shipping::service;
use crate::shipping::store::{self, ShipmentFilter, ShipmentRow};
use crate::startup::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct ShipmentLineOut {
    pub part_code: String,
    pub qty: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventOut {
    pub kind: String,
    pub at: DateTime<Utc>,
    pub note: Option<String>,
    pub actor: String,
}

/// A shipment between two locations.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": 7, "request_id": 42, "origin": "RC-HZ", "destination": "ST-TZ-001",
    "urgency": "normal", "weight_grams": 2400, "deliver_by": "2026-11-25T08:00:00Z", "status": "assigned",
    "courier": "courier-1", "tender_id": 3, "price": "35.00", "picked_up_at": null, "delivered_at": null,
    "received_at": null, "on_time": null, "damaged_units": 0, "lines": [{"part_code": "AC-CAP-00122U", "qty": 2}], "events": []}))]
pub struct ShipmentOut {
    pub id: i64,
    pub request_id: Option<i64>,
    pub origin: String,
    pub destination: String,
    pub urgency: String,
    pub weight_grams: i64,
    pub deliver_by: DateTime<Utc>,
    /// awaiting_tender, tendered, assigned, picked_up, in_transit, delivered, received
    pub status: String,
    pub courier: Option<String>,
    pub tender_id: Option<i64>,
    pub price: Option<Money>,
    pub picked_up_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub received_at: Option<DateTime<Utc>>,
    /// delivered by `deliver_by` (once delivered)
    pub on_time: Option<bool>,
    pub damaged_units: i64,
    pub lines: Vec<ShipmentLineOut>,
    pub events: Vec<EventOut>,
}

pub(super) fn username(conn: &mut DbConn, id: Option<i64>) -> Result<Option<String>, AppError> {
    use crate::db::schema::users;
    use diesel::prelude::*;
    Ok(match id {
        Some(id) => users::table.find(id).select(users::username).first(conn).optional()?,
        None => None,
    })
}

pub fn shipment_out(conn: &mut DbConn, s: ShipmentRow) -> Result<ShipmentOut, AppError> {
    let lines = store::lines(conn, s.id)?;
    let ids: Vec<i64> = lines.iter().map(|l| l.0).collect();
    let codes = crate::catalogue::store::parts::codes_of(conn, &ids)?;
    let events = store::events(conn, s.id)?;
    Ok(ShipmentOut {
        id: s.id,
        request_id: s.request_id,
        origin: network::by_id(conn, s.origin_id)?.code,
        destination: network::by_id(conn, s.destination_id)?.code,
        urgency: s.urgency,
        weight_grams: s.weight_grams,
        deliver_by: s.deliver_by.and_utc(),
        status: s.status,
        courier: username(conn, s.courier_id)?,
        tender_id: s.tender_id,
        price: s.price_minor.map(Money),
        picked_up_at: s.picked_up_at.map(|t| t.and_utc()),
        delivered_at: s.delivered_at.map(|t| t.and_utc()),
        received_at: s.received_at.map(|t| t.and_utc()),
        on_time: s.delivered_at.map(|d| d <= s.deliver_by),
        damaged_units: s.damaged_units,
        lines: lines
            .into_iter()
            .map(|(p, qty)| ShipmentLineOut { part_code: codes.get(&p).cloned().unwrap_or_default(), qty })
            .collect(),
        events: events
            .into_iter()
            .map(|(kind, at, note, actor)| EventOut { kind, at: at.and_utc(), note, actor })
            .collect(),
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ShipmentQuery {
    pub status: Option<String>,
    pub request_id: Option<i64>,
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    #[param(pattern = "^[0-9]{1,18}$")]
    pub cursor: Option<String>,
}

/// List shipments, newest first
///
/// A courier sees the shipments assigned to it; warehouse and station users those from or to
/// their locations; admin, agents and finance all.
#[utoipa::path(tag = "shipping", params(ShipmentQuery), responses((status = 200, body = Page<ShipmentOut>), E400, E401, E403), security(("bearer" = [])))]
#[get("/shipments")]
pub async fn list_shipments(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ShipmentQuery>,
) -> Result<web::Json<Page<ShipmentOut>>, AppError> {
    caller.require(&[
        Role::Admin,
        Role::Warehouse,
        Role::Station,
        Role::Agent,
        Role::Finance,
        Role::Courier,
    ])?;
    let q = query.into_inner();
    let page = PageRequest::new(q.limit, q.cursor.as_deref())?;
    let before = page.after_id()?;
    let out = state
        .db
        .read(move |conn| {
            let mut f = ShipmentFilter { status: q.status, request_id: q.request_id, ..Default::default() };
            if caller.is(Role::Courier) {
                f.courier_id = Some(caller.user_id);
            } else if let Scope::Under { path } = Scope::of(conn, &caller)? {
                f.touching = Some(network::subtree_ids(conn, &path)?);
            }
            let rows = store::list_shipments(conn, &f, before, page.fetch())?;
            let page = page.page(rows, |r| r.id.to_string());
            let next = page.next_cursor;
            let items =
                page.items.into_iter().map(|s| shipment_out(conn, s)).collect::<Result<Vec<_>, _>>()?;
            Ok(Page { items, next_cursor: next })
        })
        .await?;
    Ok(web::Json(out))
}

/// Read a shipment with its lines and tracking events
#[utoipa::path(tag = "shipping", params(("id" = i64, Path, description = "shipment id")), responses((status = 200, body = ShipmentOut), E401, E403, E404), security(("bearer" = [])))]
#[get("/shipments/{id}")]
pub async fn get_shipment(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<ShipmentOut>, AppError> {
    caller.require(&[
        Role::Admin,
        Role::Warehouse,
        Role::Station,
        Role::Agent,
        Role::Finance,
        Role::Courier,
    ])?;
    let id = id.into_inner();
    let out = state
        .db
        .read(move |conn| {
            let s = service::visible_shipment(conn, &caller, id)?;
            shipment_out(conn, s)
        })
        .await?;
    Ok(web::Json(out))
}

/// A tracking event.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "picked_up", "note": "collected at dock 3"}))]
pub struct EventIn {
    pub kind: EventKind,
    /// when it happened (default now; never in the future)
    pub at: Option<DateTime<Utc>>,
    pub note: Option<String>,
}

/// Report a tracking event (the assigned courier)
///
/// `picked_up` -> `in_transit` -> `delivered`. The courier's on-time rate counts deliveries by
/// the shipment's `deliver_by`.
#[utoipa::path(tag = "shipping", params(("id" = i64, Path, description = "shipment id")), request_body = EventIn,
    responses((status = 200, body = ShipmentOut), E400, E401, E403, E404, E409, E415, E422), security(("bearer" = [])))]
#[post("/shipments/{id}/events")]
pub async fn report_event(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: Json<EventIn>,
) -> Result<web::Json<ShipmentOut>, AppError> {
    let id = id.into_inner();
    let e = body.0;
    let now = state.clock.now();
    let at = e.at.unwrap_or(now);
    if at > now + chrono::Duration::minutes(5) {
        return Err(AppError::invalid_fields(vec![FieldError::new(
            "at",
            "an event cannot be reported before it happens",
        )]));
    }
    if e.note.as_ref().is_some_and(|n| n.chars().count() > 500) {
        return Err(AppError::invalid_fields(vec![FieldError::new("note", "at most 500 characters")]));
    }
    let out = state
        .db
        .write_retrying(move |conn| {
            service::report(conn, &caller, id, e.kind, at, e.note.as_deref())?;
            let s = store::shipment(conn, id)?.ok_or_else(|| AppError::not_found("shipment vanished"))?;
            shipment_out(conn, s)
        })
        .await?;
    Ok(web::Json(out))
}
