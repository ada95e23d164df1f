//! Shipments and their tracking: the list, one shipment, and the events couriers report.

use std::collections::BTreeMap;

use actix_web::{get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{E404Shipment, E404ShipmentList, E409Event, E422Event};
use crate::auth::{Caller, Role, Scope};
use crate::db::DbConn;
use crate::error::{AppError, FieldError, Problem};
use crate::http::docs::{E400, E401, E403, E415, E422};
use crate::http::Query;
use crate::http::{IdPage, Json, Page};
use crate::money::Money;
use crate::network::store as network;
use crate::shipping::rules::{EventKind, ShipmentStatus};
use crate::shipping::service;
use crate::shipping::store::{self, EventRow, ShipmentFilter, ShipmentRow};
use crate::state::AppState;
use crate::validate::Validate;

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
    pub status: ShipmentStatus,
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

/// Sorted, without repeats: the ids to look up once each.
fn distinct(mut ids: Vec<i64>) -> Vec<i64> {
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Shipments as the API shows them. Their lines, events, places and couriers are read in one
/// query per table, so a page costs the same few statements whatever its size.
pub fn shipments_out(conn: &mut DbConn, rows: Vec<ShipmentRow>) -> Result<Vec<ShipmentOut>, AppError> {
    let ids: Vec<i64> = rows.iter().map(|s| s.id).collect();
    let mut lines: BTreeMap<i64, Vec<(i64, i64)>> = BTreeMap::new();
    for (shipment, part, qty) in store::lines_of(conn, &ids)? {
        lines.entry(shipment).or_default().push((part, qty));
    }
    let parts = distinct(lines.values().flatten().map(|l| l.0).collect());
    let codes = crate::catalogue::store::parts::codes_of(conn, &parts)?;
    let mut events: BTreeMap<i64, Vec<EventRow>> = BTreeMap::new();
    for (shipment, event) in store::events_of(conn, &ids)? {
        events.entry(shipment).or_default().push(event);
    }
    let places = distinct(rows.iter().flat_map(|s| [s.origin_id, s.destination_id]).collect());
    let places = network::codes_of(conn, &places)?;
    let couriers = store::usernames(conn, &distinct(rows.iter().filter_map(|s| s.courier_id).collect()))?;
    let place = |id: i64| places.get(&id).cloned().unwrap_or_default();
    Ok(rows
        .into_iter()
        .map(|s| ShipmentOut {
            id: s.id,
            request_id: s.request_id,
            origin: place(s.origin_id),
            destination: place(s.destination_id),
            urgency: s.urgency,
            weight_grams: s.weight_grams,
            deliver_by: s.deliver_by.and_utc(),
            status: s.status,
            courier: s.courier_id.and_then(|c| couriers.get(&c).cloned()),
            tender_id: s.tender_id,
            price: s.price_minor.map(Money),
            picked_up_at: s.picked_up_at.map(|t| t.and_utc()),
            delivered_at: s.delivered_at.map(|t| t.and_utc()),
            received_at: s.received_at.map(|t| t.and_utc()),
            on_time: s.delivered_at.map(|d| d <= s.deliver_by),
            damaged_units: s.damaged_units,
            lines: lines
                .remove(&s.id)
                .unwrap_or_default()
                .into_iter()
                .map(|(p, qty)| ShipmentLineOut {
                    part_code: codes.get(&p).cloned().unwrap_or_default(),
                    qty,
                })
                .collect(),
            events: events
                .remove(&s.id)
                .unwrap_or_default()
                .into_iter()
                .map(|(kind, at, note, actor)| EventOut { kind, at: at.and_utc(), note, actor })
                .collect(),
        })
        .collect())
}

/// One shipment as the API shows it.
pub fn shipment_out(conn: &mut DbConn, s: ShipmentRow) -> Result<ShipmentOut, AppError> {
    Ok(shipments_out(conn, vec![s])?.remove(0))
}

#[derive(Debug, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ShipmentQuery {
    pub status: Option<ShipmentStatus>,
    pub request_id: Option<i64>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: IdPage,
}

/// List shipments, newest first
///
/// A courier sees the shipments assigned to it; warehouse and station users those from or to
/// their locations; admin, agents and finance all. A `request_id` is checked like a path id:
/// a parts request that is unknown or out of the caller's sight is 404 (for a courier, one it
/// carries nothing of), not an empty page.
#[utoipa::path(tag = "shipping", params(ShipmentQuery, IdPage), responses((status = 200, description = "The page of shipments in the caller's sight, newest first", body = Page<ShipmentOut>), E400, E401, E403, E404ShipmentList, E422), security(("bearer" = ["admin", "warehouse", "station", "agent", "finance", "courier"])))]
#[get("/shipments")]
pub async fn list_shipments(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<ShipmentQuery>,
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
    let page = q.page.request()?;
    let before = page.after_id()?;
    let out = state
        .db
        .read(move |conn| {
            if let Some(rid) = q.request_id {
                // as the request itself is seen: its station's side, and a warehouse that
                // supplies it
                let seen = if caller.is(Role::Courier) {
                    store::courier_carries(conn, rid, caller.user_id)?
                } else {
                    match store::request_paths(conn, rid)? {
                        None => false,
                        Some((station, sources)) => {
                            let scope = Scope::of(conn, &caller)?;
                            scope.covers(&station)
                                || (caller.is(Role::Warehouse) && sources.iter().any(|p| scope.covers(p)))
                        }
                    }
                };
                if !seen {
                    return Err(AppError::not_found(format!("parts request {rid} not found"))
                        .with("field", "request_id"));
                }
            }
            let mut f = ShipmentFilter {
                status: q.status.map(|s| s.as_str().to_string()),
                request_id: q.request_id,
                ..Default::default()
            };
            if caller.is(Role::Courier) {
                f.courier_id = Some(caller.user_id);
            } else if let Scope::Under { path } = Scope::of(conn, &caller)? {
                f.touching = Some(network::subtree_ids(conn, &path)?);
            }
            let rows = store::list_shipments(conn, &f, before, page.fetch())?;
            let page = page.page(rows, |r| r.id.to_string());
            let next = page.next_cursor;
            Ok(Page { items: shipments_out(conn, page.items)?, next_cursor: next })
        })
        .await?;
    Ok(web::Json(out))
}

/// Read a shipment with its lines and tracking events
///
/// A courier reads the shipments it carries, a technician those of its own tickets' parts (the
/// ticket's `tracking` link), the other roles those of their scope.
#[utoipa::path(tag = "shipping", params(("id" = i64, Path, description = "shipment id", example = 1005)), responses((status = 200, description = "The shipment, with its tracking events", body = ShipmentOut), E401, E403, E404Shipment), security(("bearer" = [])))]
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
        Role::Technician,
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
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "delivered", "note": "left with the station's desk"}))]
pub struct EventIn {
    pub kind: EventKind,
    /// when it happened (default now): never in the future (a minute's clock difference is
    /// allowed), never before the shipment was handed over or before the event reported last
    pub at: Option<DateTime<Utc>>,
    #[schema(max_length = 500)]
    pub note: Option<String>,
}

/// Report a tracking event (the assigned courier)
///
/// `picked_up` -> `in_transit` -> `delivered`, in time order: an event dated in the future,
/// before the shipment was handed over or before the event reported last is 422
/// `event_out_of_order` and changes nothing; an event without `at` is dated now (or just after
/// the event before it). The courier's on-time rate counts deliveries by the shipment's
/// `deliver_by`: a delivery reported after `deliver_by` is dated at most 2 hours before its
/// report (or after `deliver_by`), so a late one cannot be backdated into time.
#[utoipa::path(tag = "shipping", params(("id" = i64, Path, description = "shipment id", example = 1005)), request_body = EventIn,
    responses((status = 200, description = "The shipment after the event", body = ShipmentOut), E400, E401, E403, E404Shipment, E409Event, E415, E422Event), security(("bearer" = ["courier"])))]
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
    if e.at.is_some_and(|at| at > now + chrono::Duration::minutes(1)) {
        // as the API says: every event out of time order is `event_out_of_order`
        return Err(AppError::field_problems(
            Problem::EventOutOfOrder,
            "",
            vec![FieldError::new("at", "an event cannot be reported before it happens")],
        )
        .with("latest", (now + chrono::Duration::minutes(1)).to_rfc3339()));
    }
    let out = state
        .db
        .write_retrying(move |conn| {
            service::report(conn, &caller, id, e.kind, e.at, now, e.note.as_deref())?;
            let s = store::shipment(conn, id)?.ok_or_else(|| AppError::not_found("shipment vanished"))?;
            shipment_out(conn, s)
        })
        .await?;
    Ok(web::Json(out))
}
