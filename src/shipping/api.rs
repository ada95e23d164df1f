//! HTTP handlers of shipping: shipments and tracking, tenders, bids and awards, claims,
//! couriers and the tender weights.

use actix_web::{get, post, put, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::rules::{EventKind, Record, Weights};
use super::service::{self, BidScore};
use super::store::{self, ShipmentFilter, ShipmentRow, TenderRow};
use crate::auth::{Caller, Role, Scope};
use crate::db::DbConn;
use crate::error::{AppError, FieldError, Problem};
use crate::http::docs::{E400, E401, E403, E404, E409, E415, E422};
use crate::http::{Json, Page, PageRequest};
use crate::money::Money;
use crate::network::store as network;
use crate::state::AppState;

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

fn username(conn: &mut DbConn, id: Option<i64>) -> Result<Option<String>, AppError> {
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

/// A tender: shipments on one lane put out to couriers.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenderOut {
    pub id: i64,
    pub origin: String,
    pub destination: String,
    pub weight_grams: i64,
    pub deliver_by: DateTime<Utc>,
    pub bid_deadline: DateTime<Utc>,
    /// open, awarded
    pub status: String,
    pub shipment_ids: Vec<i64>,
    /// staff see every bid with its score; a courier only its own
    pub bids: Vec<BidScore>,
    pub awarded_bid_id: Option<i64>,
    pub override_reason: Option<String>,
}

fn tender_out(
    conn: &mut DbConn,
    caller: &Caller,
    t: TenderRow,
    at: DateTime<Utc>,
) -> Result<TenderOut, AppError> {
    let mut bids = match (&t.explanation, t.status.as_str()) {
        (Some(e), "awarded") => serde_json::from_str(e).unwrap_or_default(),
        _ => service::score_bids(conn, &t, at)?,
    };
    if caller.is(Role::Courier) {
        let own: Vec<i64> = store::bids_of(conn, t.id)?
            .iter()
            .filter(|b| b.courier_id == caller.user_id)
            .map(|b| b.id)
            .collect();
        bids.retain(|b| own.contains(&b.bid_id));
    }
    Ok(TenderOut {
        id: t.id,
        origin: network::by_id(conn, t.origin_id)?.code,
        destination: network::by_id(conn, t.destination_id)?.code,
        weight_grams: t.weight_grams,
        deliver_by: t.deliver_by.and_utc(),
        bid_deadline: t.bid_deadline.and_utc(),
        status: t.status,
        shipment_ids: store::tender_shipments(conn, t.id)?,
        bids,
        awarded_bid_id: t.awarded_bid_id,
        override_reason: t.override_reason,
    })
}

/// A tender the caller may see, or 404: a courier those on lanes it serves, warehouse users
/// those from or to their locations.
fn visible_tender(conn: &mut DbConn, caller: &Caller, id: i64) -> Result<TenderRow, AppError> {
    let not_found = || AppError::not_found(format!("tender {id} not found"));
    let t = store::tender(conn, id)?.ok_or_else(not_found)?;
    let o = network::by_id(conn, t.origin_id)?;
    let d = network::by_id(conn, t.destination_id)?;
    let ok = match caller.role {
        Role::Courier => service::serves(conn, caller.user_id, &o, &d)?,
        Role::Admin | Role::Finance => true,
        Role::Warehouse => {
            let scope = Scope::of(conn, caller)?;
            scope.covers(&o.path) || scope.covers(&d.path)
        }
        _ => return Err(AppError::forbidden("tenders are for warehouse staff and couriers")),
    };
    if ok {
        Ok(t)
    } else {
        Err(not_found())
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TenderQuery {
    /// open or awarded
    pub status: Option<String>,
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    #[param(pattern = "^[0-9]{1,18}$")]
    pub cursor: Option<String>,
}

/// List tenders, newest first
///
/// A courier sees the tenders on lanes it serves; warehouse users those from or to their
/// locations.
#[utoipa::path(tag = "shipping", params(TenderQuery), responses((status = 200, body = Page<TenderOut>), E400, E401, E403), security(("bearer" = [])))]
#[get("/tenders")]
pub async fn list_tenders(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<TenderQuery>,
) -> Result<web::Json<Page<TenderOut>>, AppError> {
    caller.require(&[Role::Admin, Role::Warehouse, Role::Finance, Role::Courier])?;
    let q = query.into_inner();
    let page = PageRequest::new(q.limit, q.cursor.as_deref())?;
    let before = page.after_id()?;
    let now = state.clock.now();
    let out = state
        .db
        .read(move |conn| {
            // filter by visibility page by page: scan ahead until the page is full
            let mut items = Vec::new();
            let mut cursor = before;
            let mut more = true;
            while items.len() < page.limit as usize && more {
                let rows = store::list_tenders(conn, q.status.as_deref(), cursor, 200)?;
                more = rows.len() == 200;
                for t in rows {
                    cursor = Some(t.id);
                    if visible_tender(conn, &caller, t.id).is_ok() {
                        items.push(t);
                    }
                }
            }
            let page = page.page(items, |t| t.id.to_string());
            let next = page.next_cursor;
            let items = page
                .items
                .into_iter()
                .map(|t| tender_out(conn, &caller, t, now))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Page { items, next_cursor: next })
        })
        .await?;
    Ok(web::Json(out))
}

/// Read a tender with its bids and their scores
#[utoipa::path(tag = "shipping", params(("id" = i64, Path, description = "tender id")), responses((status = 200, body = TenderOut), E401, E403, E404), security(("bearer" = [])))]
#[get("/tenders/{id}")]
pub async fn get_tender(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<TenderOut>, AppError> {
    caller.require(&[Role::Admin, Role::Warehouse, Role::Finance, Role::Courier])?;
    let id = id.into_inner();
    let now = state.clock.now();
    let out = state
        .db
        .read(move |conn| {
            let t = visible_tender(conn, &caller, id)?;
            tender_out(conn, &caller, t, now)
        })
        .await?;
    Ok(web::Json(out))
}

/// Shipments to put out to tender.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"shipment_ids": [7, 8], "bid_deadline": "2026-11-23T18:00:00Z"}))]
pub struct TenderIn {
    /// shipments awaiting a tender, all on one lane (same origin and destination)
    #[schema(min_items = 1, max_items = 50)]
    pub shipment_ids: Vec<i64>,
    /// bids are taken until then
    pub bid_deadline: DateTime<Utc>,
}

/// Put shipments out to tender (warehouse of the origin)
#[utoipa::path(tag = "shipping", request_body = TenderIn, responses((status = 201, body = TenderOut), E400, E401, E403, E404, E409, E415, E422), security(("bearer" = [])))]
#[post("/tenders")]
pub async fn create_tender(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<TenderIn>,
) -> Result<HttpResponse, AppError> {
    caller.require(&[Role::Admin, Role::Warehouse])?;
    let input = body.0;
    let now = state.clock.now();
    if input.shipment_ids.is_empty() || input.shipment_ids.len() > 50 {
        return Err(AppError::invalid_fields(vec![FieldError::new(
            "shipment_ids",
            "give 1 to 50 shipments",
        )]));
    }
    if input.bid_deadline <= now {
        return Err(AppError::invalid_fields(vec![FieldError::new("bid_deadline", "must be in the future")]));
    }
    let out = state
        .db
        .write(move |conn| {
            let scope = Scope::of(conn, &caller)?;
            let mut ids = input.shipment_ids.clone();
            ids.sort_unstable();
            ids.dedup();
            let rows = store::shipments_by_ids(conn, &ids)?;
            let mut visible = Vec::new();
            for s in rows {
                if scope.covers(&network::by_id(conn, s.origin_id)?.path) {
                    visible.push(s);
                }
            }
            if visible.len() != ids.len() {
                return Err(AppError::not_found("a shipment is not found among those you dispatch"));
            }
            let first = &visible[0];
            if visible
                .iter()
                .any(|s| s.origin_id != first.origin_id || s.destination_id != first.destination_id)
            {
                return Err(AppError::unprocessable(
                    Problem::MixedLanes,
                    "a tender covers shipments of one lane: same origin and destination",
                ));
            }
            if let Some(s) = visible.iter().find(|s| s.status != "awaiting_tender") {
                return Err(AppError::conflict(
                    Problem::NotAwaitingTender,
                    format!("shipment {} is {}", s.id, s.status),
                ));
            }
            let deliver_by = visible.iter().map(|s| s.deliver_by).min().unwrap_or(first.deliver_by);
            if input.bid_deadline.naive_utc() >= deliver_by {
                return Err(AppError::invalid_fields(vec![FieldError::new(
                    "bid_deadline",
                    "must be before the shipments are due",
                )]));
            }
            let weight = visible.iter().map(|s| s.weight_grams).sum();
            let id = store::insert_tender(
                conn,
                first.origin_id,
                first.destination_id,
                weight,
                deliver_by,
                input.bid_deadline.naive_utc(),
                &caller.username,
                now.naive_utc(),
            )?;
            for s in &visible {
                store::attach_to_tender(conn, s.id, id)?;
            }
            let t = store::tender(conn, id)?.ok_or_else(|| AppError::not_found("tender vanished"))?;
            tender_out(conn, &caller, t, now)
        })
        .await?;
    Ok(HttpResponse::Created().json(out))
}

/// A courier's offer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"price": "35.00", "transit_hours": 20}))]
pub struct BidIn {
    pub price: Money,
    #[schema(minimum = 1, maximum = 720)]
    pub transit_hours: i32,
}

/// Bid on a tender (a courier serving the lane, before the deadline)
#[utoipa::path(tag = "shipping", params(("id" = i64, Path, description = "tender id")), request_body = BidIn,
    responses((status = 201, body = TenderOut), E400, E401, E403, E404, E409, E415, E422), security(("bearer" = [])))]
#[post("/tenders/{id}/bids")]
pub async fn create_bid(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: Json<BidIn>,
) -> Result<HttpResponse, AppError> {
    caller.require(&[Role::Courier])?;
    let id = id.into_inner();
    let bid = body.0;
    let mut errors = Vec::new();
    if bid.price.minor() <= 0 || bid.price.minor() > 100_000_000 {
        errors.push(FieldError::new("price", "must be between 0.01 and 1000000.00"));
    }
    if !(1..=720).contains(&bid.transit_hours) {
        errors.push(FieldError::new("transit_hours", "must be between 1 and 720"));
    }
    if !errors.is_empty() {
        return Err(AppError::invalid_fields(errors));
    }
    let now = state.clock.now();
    let out = state
        .db
        .write(move |conn| {
            let t = store::tender(conn, id)?
                .ok_or_else(|| AppError::not_found(format!("tender {id} not found")))?;
            let o = network::by_id(conn, t.origin_id)?;
            let d = network::by_id(conn, t.destination_id)?;
            if !service::serves(conn, caller.user_id, &o, &d)? {
                return Err(AppError::unprocessable(
                    Problem::OutsideServiceArea,
                    format!(
                        "the lane {} ({}) -> {} ({}) is outside your service area",
                        o.code,
                        o.region.clone().unwrap_or_default(),
                        d.code,
                        d.region.clone().unwrap_or_default()
                    ),
                ));
            }
            if t.status != "open" || now.naive_utc() > t.bid_deadline {
                return Err(AppError::conflict(
                    Problem::TenderClosed,
                    format!("bids on tender {id} closed at {}", t.bid_deadline.and_utc().to_rfc3339()),
                ));
            }
            if store::bids_of(conn, id)?.iter().any(|b| b.courier_id == caller.user_id) {
                return Err(AppError::conflict(Problem::AlreadyBid, "you have already bid on this tender"));
            }
            store::insert_bid(
                conn,
                id,
                caller.user_id,
                bid.price.minor(),
                bid.transit_hours,
                now.naive_utc(),
            )?;
            tender_out(conn, &caller, t, now)
        })
        .await?;
    Ok(HttpResponse::Created().json(out))
}

/// How to award: by score, or an override with a reason.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({}))]
pub struct AwardIn {
    /// award this bid instead of the best score; needs `reason`
    pub bid_id: Option<i64>,
    pub reason: Option<String>,
    /// award before the bid deadline
    #[serde(default)]
    pub now: bool,
}

/// Award a tender (warehouse)
///
/// Picks the lowest score among the bids that meet `deliver_by`: price relative to the
/// cheapest valid bid, the courier's late rate and damage rate, weighed by the admin-set
/// weights (`GET /tender-weights`). The answer shows every bid's score. Staff may award another
/// bid with a mandatory reason. No valid bid is 422 with why.
#[utoipa::path(tag = "shipping", params(("id" = i64, Path, description = "tender id")), request_body(content = Option<AwardIn>, description = "optional override"),
    responses((status = 200, body = TenderOut), E400, E401, E403, E404, E409, E422), security(("bearer" = [])))]
#[post("/tenders/{id}/award")]
pub async fn award(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: Option<Json<AwardIn>>,
) -> Result<web::Json<TenderOut>, AppError> {
    caller.require(&[Role::Admin, Role::Warehouse])?;
    let id = id.into_inner();
    let a = body.map(|b| b.0).unwrap_or_default();
    let chosen = match (a.bid_id, a.reason) {
        (Some(b), Some(r)) if !r.trim().is_empty() && r.len() <= 500 => Some((b, r)),
        (Some(_), _) => {
            return Err(AppError::invalid_fields(vec![FieldError::new(
                "reason",
                "an override needs a reason (1-500 characters)",
            )]))
        }
        (None, Some(_)) => {
            return Err(AppError::invalid_fields(vec![FieldError::new(
                "bid_id",
                "a reason goes with the bid you choose",
            )]))
        }
        (None, None) => None,
    };
    let now = state.clock.now();
    let out = state
        .db
        .write(move |conn| {
            let t = visible_tender(conn, &caller, id)?;
            if !a.now && now.naive_utc() < t.bid_deadline && t.status == "open" {
                return Err(AppError::conflict(
                    Problem::BiddingOpen,
                    "bids are still open; award after the deadline or with \"now\": true",
                ));
            }
            service::award(conn, &caller, &t, chosen.as_ref().map(|(b, r)| (*b, r.as_str())), now)?;
            let t = store::tender(conn, id)?.ok_or_else(|| AppError::not_found("tender vanished"))?;
            tender_out(conn, &caller, t, now)
        })
        .await?;
    Ok(web::Json(out))
}

/// A claim against a carrier for damaged goods.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClaimOut {
    pub id: i64,
    pub shipment_id: i64,
    pub request_id: Option<i64>,
    pub courier: Option<String>,
    pub part_code: String,
    pub qty: i64,
    /// the cost of the damaged units
    pub amount: Money,
    pub status: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ClaimQuery {
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    #[param(pattern = "^[0-9]{1,18}$")]
    pub cursor: Option<String>,
}

/// Carrier claims, newest first
#[utoipa::path(tag = "shipping", params(ClaimQuery), responses((status = 200, body = Page<ClaimOut>), E400, E401, E403), security(("bearer" = [])))]
#[get("/claims")]
pub async fn list_claims(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ClaimQuery>,
) -> Result<web::Json<Page<ClaimOut>>, AppError> {
    caller.require(&[Role::Admin, Role::Warehouse, Role::Station, Role::Finance, Role::Courier])?;
    let q = query.into_inner();
    let page = PageRequest::new(q.limit, q.cursor.as_deref())?;
    let before = page.after_id()?;
    let out = state
        .db
        .read(move |conn| {
            let courier = caller.is(Role::Courier).then_some(caller.user_id);
            let touching = match Scope::of(conn, &caller)? {
                Scope::Under { path } if !caller.is(Role::Courier) => {
                    Some(network::subtree_ids(conn, &path)?)
                }
                _ => None,
            };
            let rows = store::list_claims(conn, courier, touching.as_deref(), before, page.fetch())?;
            let page = page.page(rows, |r| r.id.to_string());
            let next = page.next_cursor;
            let mut items = Vec::new();
            for c in page.items {
                items.push(ClaimOut {
                    id: c.id,
                    shipment_id: c.shipment_id,
                    request_id: c.request_id,
                    courier: username(conn, c.courier_id)?,
                    part_code: crate::catalogue::store::parts::by_id(conn, c.part_id)?.code,
                    qty: c.qty,
                    amount: Money(c.amount_minor),
                    status: c.status,
                    created_at: c.created_at.and_utc(),
                });
            }
            Ok(Page { items, next_cursor: next })
        })
        .await?;
    Ok(web::Json(out))
}

/// A courier and its delivery record.
#[derive(Debug, Serialize, ToSchema)]
pub struct CourierOut {
    pub username: String,
    pub name: String,
    pub service_areas: Vec<String>,
    pub record: Record,
    /// smoothed towards 90% while the record is short
    pub on_time_rate: f64,
    /// smoothed towards 1% while the record is short
    pub damage_rate: f64,
}

/// Couriers with their service areas and on-time and damage rates
#[utoipa::path(tag = "shipping", responses((status = 200, body = Vec<CourierOut>), E401, E403), security(("bearer" = [])))]
#[get("/couriers")]
pub async fn list_couriers(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<web::Json<Vec<CourierOut>>, AppError> {
    caller.require(&[Role::Admin, Role::Warehouse, Role::Finance, Role::Courier])?;
    let out = state
        .db
        .read(move |conn| {
            let mut out = Vec::new();
            for (id, username, name) in store::couriers(conn)? {
                if caller.is(Role::Courier) && id != caller.user_id {
                    continue;
                }
                let record = store::record(conn, id)?;
                out.push(CourierOut {
                    username,
                    name,
                    service_areas: store::areas(conn, id)?,
                    on_time_rate: (record.on_time_rate() * 10_000.0).round() / 10_000.0,
                    damage_rate: (record.damage_rate() * 10_000.0).round() / 10_000.0,
                    record,
                });
            }
            Ok(out)
        })
        .await?;
    Ok(web::Json(out))
}

/// The weights of the tender score
#[utoipa::path(tag = "shipping", responses((status = 200, body = Weights), E401, E403), security(("bearer" = [])))]
#[get("/tender-weights")]
pub async fn get_weights(state: web::Data<AppState>, caller: Caller) -> Result<web::Json<Weights>, AppError> {
    caller.require(&[Role::Admin, Role::Warehouse, Role::Finance, Role::Courier])?;
    Ok(web::Json(state.db.read(|conn| Ok(store::weights(conn)?)).await?))
}

/// Set the weights of the tender score (admin)
#[utoipa::path(tag = "shipping", request_body = Weights, responses((status = 200, body = Weights), E400, E401, E403, E415, E422), security(("bearer" = [])))]
#[put("/tender-weights")]
pub async fn put_weights(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<Weights>,
) -> Result<web::Json<Weights>, AppError> {
    caller.require(&[Role::Admin])?;
    let w = body.0;
    let bad: Vec<FieldError> = [
        ("price_weight", w.price_weight),
        ("late_weight", w.late_weight),
        ("damage_weight", w.damage_weight),
    ]
    .into_iter()
    .filter(|(_, v)| !(0..=1000).contains(v))
    .map(|(f, _)| FieldError::new(f, "must be between 0 and 1000 (percent)"))
    .collect();
    if !bad.is_empty() {
        return Err(AppError::invalid_fields(bad));
    }
    if w.price_weight == 0 {
        return Err(AppError::invalid_fields(vec![FieldError::new(
            "price_weight",
            "price must count for something",
        )]));
    }
    let now = state.clock.now();
    state.db.write(move |conn| Ok(store::set_weights(conn, &w, now.naive_utc())?)).await?;
    Ok(web::Json(w))
}
