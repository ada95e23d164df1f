//! Couriers with their delivery records, and the weights that score their bids.

use actix_web::{get, put, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::E422Weights;
use crate::auth::{Caller, Role};
use crate::db::DbConn;
use crate::error::{AppError, FieldError};
use crate::http::docs::{E400, E401, E403, E415};
use crate::http::{Json, KeyPage, Page, Query};
use crate::money::Money;
use crate::shipping::rules::{Record, Weights};
use crate::shipping::service::{self, Courier};
use crate::shipping::store;
use crate::state::AppState;
use crate::validate::Validate;

/// A courier and its delivery record.
#[derive(Debug, Serialize, ToSchema)]
pub struct CourierOut {
    pub username: String,
    pub name: String,
    /// an inactive courier (a disabled user) is offered no tender
    pub active: bool,
    pub service_areas: Vec<String>,
    pub record: Record,
    /// smoothed towards 90% while the record is short
    pub on_time_rate: f64,
    /// smoothed towards 1% while the record is short
    pub damage_rate: f64,
}

/// The couriers' list: its page parameters only.
#[derive(Debug, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CourierQuery {
    #[serde(flatten)]
    #[param(ignore)]
    pub page: KeyPage,
}

/// Couriers with their service areas and on-time and damage rates
///
/// The active couriers in username order; the cursor is the username of a page's last courier.
/// A courier sees itself only.
#[utoipa::path(
    tag = "shipping",
    params(CourierQuery, KeyPage),
    responses((status = 200, description = "The page of active couriers with their service areas and records, in username order", body = Page<CourierOut>), E400, E401, E403),
    security(("bearer" = ["admin", "warehouse", "finance", "courier"]))
)]
#[get("/couriers")]
pub async fn list_couriers(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<CourierQuery>,
) -> Result<web::Json<Page<CourierOut>>, AppError> {
    caller.require(super::READERS)?;
    let page = query.into_inner().page.request()?;
    let out = state
        .db
        .read(move |conn| {
            let only = caller.is(Role::Courier).then_some(caller.user_id);
            let rows = store::couriers(conn, only, page.after.as_deref(), page.fetch())?;
            let rows = page.page(rows, |(_, username, _)| username.clone());
            let next_cursor = rows.next_cursor;
            let couriers = rows
                .items
                .into_iter()
                .map(|(id, username, name)| Courier { id, username, name, active: true })
                .collect();
            Ok(Page { items: couriers_out(conn, couriers)?, next_cursor })
        })
        .await?;
    Ok(web::Json(out))
}

/// The couriers with their records and areas, each read once for all.
fn couriers_out(conn: &mut DbConn, couriers: Vec<Courier>) -> Result<Vec<CourierOut>, AppError> {
    let ids: Vec<i64> = couriers.iter().map(|c| c.id).collect();
    let records = store::records(conn, &ids)?;
    let mut areas = store::areas_of(conn, &ids)?;
    Ok(couriers
        .into_iter()
        .map(|c| {
            let record = records.get(&c.id).copied().unwrap_or_default();
            CourierOut {
                service_areas: areas.remove(&c.id).unwrap_or_default(),
                on_time_rate: (record.on_time_rate() * 10_000.0).round() / 10_000.0,
                damage_rate: (record.damage_rate() * 10_000.0).round() / 10_000.0,
                username: c.username,
                name: c.name,
                active: c.active,
                record,
            }
        })
        .collect())
}

/// One courier, as `courier` reads it inside the caller's transaction.
fn courier_out(conn: &mut DbConn, c: Courier) -> Result<CourierOut, AppError> {
    couriers_out(conn, vec![c])?.pop().ok_or_else(|| AppError::not_found("courier"))
}

/// A courier with its service areas and record (a courier itself only)
#[utoipa::path(
    tag = "shipping",
    params(("username" = String, Path, description = "the courier's username, in any case", example = "courier-1")),
    responses((status = 200, description = "The courier with its service areas and record", body = CourierOut), E401, E403, E404Courier),
    security(("bearer" = ["admin", "warehouse", "finance", "courier"]))
)]
#[get("/couriers/{username}")]
pub async fn get_courier(
    state: web::Data<AppState>,
    caller: Caller,
    username: web::Path<String>,
) -> Result<web::Json<CourierOut>, AppError> {
    caller.require(super::READERS)?;
    let username = username.into_inner();
    let out = state
        .db
        .read(move |conn| {
            let c = service::visible_courier(conn, &caller, &username)?;
            courier_out(conn, c)
        })
        .await?;
    Ok(web::Json(out))
}

/// A courier's service areas: the whole list, which replaces the one before.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"service_areas": ["Anhui", "Jiangsu", "Shanghai", "Zhejiang"]}))]
#[validate(rules = areas_rules)]
pub struct CourierIn {
    /// the regions the courier serves, each once, as the network writes them (the `region` of
    /// its locations); a tender is offered to the couriers that serve both ends of its lane, and
    /// an urgent shipment's rate cards are those of its lane. Empty takes the courier off every
    /// lane; bids made and shipments assigned stay.
    #[schema(max_items = 100, min_length = 1, max_length = 100)]
    pub service_areas: Vec<String>,
}

/// What service areas allow beside their limits: each region once.
fn areas_rules(c: &CourierIn, _at: &str, errors: &mut Vec<FieldError>) {
    for (i, a) in c.service_areas.iter().enumerate() {
        if a.trim().is_empty() {
            errors.push(FieldError::new(format!("service_areas[{i}]"), "must not be blank"));
        } else if let Some(first) = c.service_areas[..i].iter().position(|b| b == a) {
            errors.push(FieldError::new(
                format!("service_areas[{i}]"),
                format!("{a} is listed already (service_areas[{first}])"),
            ));
        }
    }
}

/// Set a courier's service areas (admin)
///
/// The courier is a user of role `courier` (made with `POST /users`); the areas replace the
/// ones it had, in one transaction. Tenders it may see and bid on follow at once.
#[utoipa::path(
    tag = "shipping",
    params(("username" = String, Path, description = "the courier's username, in any case", example = "courier-1")),
    request_body = CourierIn,
    responses((status = 200, description = "The courier with its new service areas", body = CourierOut), E400, E401, E403, E404Courier, E415, E422Areas),
    security(("bearer" = ["admin"]))
)]
#[put("/couriers/{username}")]
pub async fn put_courier(
    state: web::Data<AppState>,
    caller: Caller,
    username: web::Path<String>,
    body: Json<CourierIn>,
) -> Result<web::Json<CourierOut>, AppError> {
    caller.require(&[Role::Admin])?;
    let username = username.into_inner();
    let areas = body.0.service_areas;
    let out = state
        .db
        .write(move |conn| {
            let c = service::courier(conn, &username)?;
            service::set_areas(conn, c.id, &areas)?;
            courier_out(conn, c)
        })
        .await?;
    Ok(web::Json(out))
}

/// A courier's standing rate for one lane, region to region: what an urgent shipment on it costs
/// and how long it takes.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"origin_region": "Zhejiang", "dest_region": "Jiangsu", "base": "18.00", "per_kg": "2.50", "transit_hours": 30}))]
pub struct RateCardIn {
    /// where the lane starts: a region of the network
    #[schema(min_length = 1, max_length = 100)]
    pub origin_region: String,
    /// where it ends: a region of the network (the origin's own for a lane within a region)
    #[schema(min_length = 1, max_length = 100)]
    pub dest_region: String,
    /// the price of a shipment, 0.00-100000.00
    pub base: Money,
    /// added for each started kilogram of its weight, 0.00-100000.00
    pub per_kg: Money,
    /// hours from pickup to delivery, 1-720
    #[schema(minimum = 1, maximum = 720)]
    pub transit_hours: i32,
}

/// A courier's rate cards: the whole set, which replaces the one before.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"rate_cards": [
    {"origin_region": "Zhejiang", "dest_region": "Zhejiang", "base": "15.00", "per_kg": "2.00", "transit_hours": 24},
    {"origin_region": "Zhejiang", "dest_region": "Jiangsu", "base": "18.00", "per_kg": "2.50", "transit_hours": 30}
]}))]
#[validate(rules = rate_card_rules)]
pub struct RateCardsIn {
    /// at most one card a lane; empty removes them all
    #[schema(max_items = 1000)]
    pub rate_cards: Vec<RateCardIn>,
}

/// The most a card's amount may be: 100,000.00.
const MAX_RATE_MINOR: i64 = 10_000_000;

/// What rate cards allow beside their limits: amounts in range, each lane once.
fn rate_card_rules(c: &RateCardsIn, _at: &str, errors: &mut Vec<FieldError>) {
    // each lane's first card, by lane: one pass however many cards
    let mut seen: std::collections::HashMap<(&str, &str), usize> = std::collections::HashMap::new();
    for (i, card) in c.rate_cards.iter().enumerate() {
        for (field, amount) in [("base", card.base), ("per_kg", card.per_kg)] {
            if !(0..=MAX_RATE_MINOR).contains(&amount.0) {
                errors.push(FieldError::new(
                    format!("rate_cards[{i}].{field}"),
                    "must be between 0.00 and 100000.00",
                ));
            }
        }
        let first = *seen.entry((card.origin_region.as_str(), card.dest_region.as_str())).or_insert(i);
        if first != i {
            errors.push(FieldError::new(
                format!("rate_cards[{i}]"),
                format!(
                    "the lane {} to {} has a card already (rate_cards[{first}])",
                    card.origin_region, card.dest_region
                ),
            ));
        }
    }
}

/// A courier's rate cards, in lane order.
#[derive(Debug, Serialize, ToSchema)]
pub struct RateCardsOut {
    pub courier: String,
    pub rate_cards: Vec<RateCardIn>,
}

fn rate_cards_out(courier: String, cards: Vec<service::Rate>) -> RateCardsOut {
    RateCardsOut {
        courier,
        rate_cards: cards
            .into_iter()
            .map(|r| RateCardIn {
                origin_region: r.origin_region,
                dest_region: r.dest_region,
                base: Money(r.base_minor),
                per_kg: Money(r.per_kg_minor),
                transit_hours: r.transit_hours,
            })
            .collect(),
    }
}

/// A courier's standing rate cards (a courier its own only)
///
/// An urgent shipment skips the tender and goes by rate card: the cards of its lane whose
/// couriers are active and serve both ends, scored as bids are.
#[utoipa::path(
    tag = "shipping",
    params(("username" = String, Path, description = "the courier's username, in any case", example = "courier-1")),
    responses((status = 200, description = "The courier's rate cards, in lane order", body = RateCardsOut), E401, E403, E404Courier),
    security(("bearer" = ["admin", "warehouse", "finance", "courier"]))
)]
#[get("/couriers/{username}/rate-cards")]
pub async fn get_rate_cards(
    state: web::Data<AppState>,
    caller: Caller,
    username: web::Path<String>,
) -> Result<web::Json<RateCardsOut>, AppError> {
    caller.require(super::READERS)?;
    let username = username.into_inner();
    let out = state
        .db
        .read(move |conn| {
            let c = service::visible_courier(conn, &caller, &username)?;
            Ok(rate_cards_out(c.username, service::rate_cards(conn, c.id)?))
        })
        .await?;
    Ok(web::Json(out))
}

/// Set a courier's rate cards (admin)
///
/// The set replaces the courier's cards in one transaction. A card is used only while its
/// courier is active and serves both regions of its lane (`PUT /couriers/{username}`).
#[utoipa::path(
    tag = "shipping",
    params(("username" = String, Path, description = "the courier's username, in any case", example = "courier-1")),
    request_body = RateCardsIn,
    responses((status = 200, description = "The courier's rate cards as set, in lane order", body = RateCardsOut), E400, E401, E403, E404Courier, E415, E422RateCards),
    security(("bearer" = ["admin"]))
)]
#[put("/couriers/{username}/rate-cards")]
pub async fn put_rate_cards(
    state: web::Data<AppState>,
    caller: Caller,
    username: web::Path<String>,
    body: Json<RateCardsIn>,
) -> Result<web::Json<RateCardsOut>, AppError> {
    caller.require(&[Role::Admin])?;
    let username = username.into_inner();
    let cards: Vec<service::Rate> = body
        .0
        .rate_cards
        .into_iter()
        .map(|c| service::Rate {
            origin_region: c.origin_region,
            dest_region: c.dest_region,
            base_minor: c.base.0,
            per_kg_minor: c.per_kg.0,
            transit_hours: c.transit_hours,
        })
        .collect();
    let out = state
        .db
        .write(move |conn| {
            let c = service::courier(conn, &username)?;
            Ok(rate_cards_out(c.username, service::set_rate_cards(conn, c.id, &cards)?))
        })
        .await?;
    Ok(web::Json(out))
}

crate::problems!(E422RateCards, 422, "A card breaks a rule (`errors` names each): an amount out of range, a lane given twice, a region not of the network", [
    ValidationFailed => "rate_cards[0].dest_region: not a region of the network; did you mean Jiangsu?"
        {"errors": [{"field": "rate_cards[0].dest_region", "message": "not a region of the network; did you mean Jiangsu?"}]},
]);

crate::problems!(E404Courier, 404, "No courier of this username (in the caller's sight: a courier sees itself only)", [
    NotFound => "courier courier-9 not found",
    NotFound "another_role" => "tech-st-tz-001 is a technician account, not a courier",
]);
crate::problems!(E422Areas, 422, "A service area breaks a rule (`errors` names each): a region listed twice, or not a region of the network", [
    ValidationFailed => "service_areas[1]: not a region of the network; did you mean Zhejiang?"
        {"errors": [{"field": "service_areas[1]", "message": "not a region of the network; did you mean Zhejiang?"}]},
]);

/// The weights of the tender score
#[utoipa::path(tag = "shipping", responses((status = 200, description = "The weights that score tender bids", body = Weights), E401, E403), security(("bearer" = ["admin", "warehouse", "finance", "courier"])))]
#[get("/tender-weights")]
pub async fn get_weights(state: web::Data<AppState>, caller: Caller) -> Result<web::Json<Weights>, AppError> {
    caller.require(super::READERS)?;
    Ok(web::Json(state.db.read(|conn| Ok(store::weights(conn)?)).await?))
}

/// Set the weights of the tender score (admin)
#[utoipa::path(tag = "shipping", request_body = Weights, responses((status = 200, description = "The weights as set", body = Weights), E400, E401, E403, E415, E422Weights), security(("bearer" = ["admin"])))]
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
