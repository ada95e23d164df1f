//! Tenders: shipments of one lane put out to couriers, their bids and the award.

use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{
    E404NewTender, E404Tender, E409Award, E409Bid, E409NewTender, E422Award, E422Bid, E422NewTender,
};
use crate::auth::{Caller, Role, Scope};
use crate::db::DbConn;
use crate::error::{AppError, FieldError, Problem};
use crate::http::docs::{E400, E401, E403, E415, E422};
use crate::http::Query;
use crate::http::{IdPage, Json, MaybeJson, Page};
use crate::money::Money;
use crate::network::store as network;
use crate::shipping::rules::TenderStatus;
use crate::shipping::service::{self, BidScore, AWARDERS};
use crate::shipping::store::{self, TenderRow};
use crate::state::AppState;
use crate::validate::Validate;

/// A tender: shipments on one lane put out to couriers.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenderOut {
    pub id: i64,
    pub origin: String,
    pub destination: String,
    pub weight_grams: i64,
    pub deliver_by: DateTime<Utc>,
    pub bid_deadline: DateTime<Utc>,
    pub status: TenderStatus,
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
    Ok(tenders_out(conn, caller, vec![t], at)?.remove(0))
}

/// The API view of tenders, with a fixed number of queries however many: the lanes' codes,
/// the shipments, the bids and (for the tenders not yet awarded) their scores, each read once
/// for all.
fn tenders_out(
    conn: &mut DbConn,
    caller: &Caller,
    rows: Vec<TenderRow>,
    at: DateTime<Utc>,
) -> Result<Vec<TenderOut>, AppError> {
    let ids: Vec<i64> = rows.iter().map(|t| t.id).collect();
    let places: Vec<i64> = rows.iter().flat_map(|t| [t.origin_id, t.destination_id]).collect();
    let codes = network::codes_of(conn, &places)?;
    let code = |id: i64| codes.get(&id).cloned().ok_or(diesel::result::Error::NotFound);
    let mut shipments = store::shipments_of_tenders(conn, &ids)?;
    let bids = store::bids_of_tenders(conn, &ids)?;
    // an awarded tender shows the scores its award was explained with
    let explained = |t: &TenderRow| t.status == TenderStatus::Awarded && t.explanation.is_some();
    let to_score: Vec<(&TenderRow, &[store::BidRow])> = rows
        .iter()
        .filter(|t| !explained(t))
        .map(|t| (t, bids.get(&t.id).map(Vec::as_slice).unwrap_or_default()))
        .collect();
    let mut scored = service::score_bids_of(conn, &to_score, at)?.into_iter();
    let mut out = Vec::with_capacity(rows.len());
    for t in rows {
        let mut bids_out = match (&t.explanation, explained(&t)) {
            (Some(e), true) => serde_json::from_str(e).unwrap_or_default(),
            _ => scored.next().unwrap_or_default(),
        };
        if caller.is(Role::Courier) {
            let own: Vec<i64> = bids
                .get(&t.id)
                .into_iter()
                .flatten()
                .filter(|b| b.courier_id == caller.user_id)
                .map(|b| b.id)
                .collect();
            bids_out.retain(|b: &BidScore| own.contains(&b.bid_id));
        }
        out.push(TenderOut {
            id: t.id,
            origin: code(t.origin_id)?,
            destination: code(t.destination_id)?,
            weight_grams: t.weight_grams,
            deliver_by: t.deliver_by.and_utc(),
            bid_deadline: t.bid_deadline.and_utc(),
            status: t.status,
            shipment_ids: shipments.remove(&t.id).unwrap_or_default(),
            bids: bids_out,
            awarded_bid_id: t.awarded_bid_id,
            override_reason: t.override_reason,
        });
    }
    Ok(out)
}

/// A tender the caller may see, or 404: a courier those on lanes it serves, warehouse users
/// those from or to their locations.
/// Who may see which tenders, decided once for a list: the courier's service areas or the
/// warehouse user's scope are read once, not per tender.
enum Viewer {
    All,
    Courier(Vec<String>),
    Within(Scope),
    Nobody,
}

impl Viewer {
    fn of(conn: &mut DbConn, caller: &Caller) -> Result<Viewer, AppError> {
        Ok(match caller.role {
            Role::Courier => Viewer::Courier(store::areas(conn, caller.user_id)?),
            Role::Admin | Role::Finance => Viewer::All,
            // a warehouse user with no location sees no tender (as `visible_tender` refuses each)
            Role::Warehouse => match Scope::of(conn, caller) {
                Ok(scope) => Viewer::Within(scope),
                Err(e) if e.status == actix_web::http::StatusCode::FORBIDDEN => Viewer::Nobody,
                Err(e) => return Err(e),
            },
            _ => Viewer::Nobody,
        })
    }

    /// The rows this viewer sees (as [`service::visible_tender`] decides), the lanes' locations read in
    /// one query.
    fn keep(&self, conn: &mut DbConn, rows: Vec<TenderRow>) -> Result<Vec<TenderRow>, AppError> {
        let ids: Vec<i64> = rows.iter().flat_map(|t| [t.origin_id, t.destination_id]).collect();
        let places = match self {
            Viewer::Nobody => Default::default(),
            _ => network::by_ids(conn, &ids)?,
        };
        let region = |l: &network::LocationRow| l.region.clone().unwrap_or_default();
        Ok(rows
            .into_iter()
            .filter(|t| {
                let lane = places.get(&t.origin_id).zip(places.get(&t.destination_id));
                match (self, lane) {
                    (Viewer::All, Some(_)) => true,
                    (Viewer::Courier(areas), Some((o, d))) => {
                        areas.contains(&region(o)) && areas.contains(&region(d))
                    }
                    (Viewer::Within(scope), Some((o, d))) => scope.covers(&o.path) || scope.covers(&d.path),
                    _ => false,
                }
            })
            .collect())
    }
}

#[derive(Debug, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TenderQuery {
    pub status: Option<TenderStatus>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: IdPage,
}

/// List tenders, newest first
///
/// A courier sees the tenders on lanes it serves; warehouse users those from or to their
/// locations.
#[utoipa::path(tag = "shipping", params(TenderQuery, IdPage), responses((status = 200, description = "The page of tenders in the caller's sight, newest first", body = Page<TenderOut>), E400, E401, E403, E422), security(("bearer" = ["admin", "warehouse", "finance", "courier"])))]
#[get("/tenders")]
pub async fn list_tenders(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<TenderQuery>,
) -> Result<web::Json<Page<TenderOut>>, AppError> {
    caller.require(super::READERS)?;
    let q = query.into_inner();
    let page = q.page.request()?;
    let before = page.after_id()?;
    let now = state.clock.now();
    let out = state
        .db
        .read(move |conn| {
            // filter by visibility page by page: scan ahead until the page is full, in batches
            // of a whole page at least (a caller who sees every tender reads one batch)
            let viewer = Viewer::of(conn, &caller)?;
            let batch = page.fetch().max(200);
            let mut items = Vec::new();
            let mut cursor = before;
            let mut more = true;
            while items.len() < page.limit as usize && more {
                let rows = store::list_tenders(conn, q.status.map(TenderStatus::as_str), cursor, batch)?;
                more = rows.len() as i64 == batch;
                cursor = rows.last().map(|t| t.id).or(cursor);
                items.extend(viewer.keep(conn, rows)?);
            }
            let page = page.page(items, |t| t.id.to_string());
            let next = page.next_cursor;
            let items = tenders_out(conn, &caller, page.items, now)?;
            Ok(Page { items, next_cursor: next })
        })
        .await?;
    Ok(web::Json(out))
}

/// Read a tender with its bids and their scores
#[utoipa::path(tag = "shipping", params(("id" = i64, Path, description = "tender id", example = 1002)), responses((status = 200, description = "The tender, with its shipments and bids", body = TenderOut), E401, E403, E404Tender), security(("bearer" = ["admin", "warehouse", "finance", "courier"])))]
#[get("/tenders/{id}")]
pub async fn get_tender(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<web::Json<TenderOut>, AppError> {
    caller.require(super::READERS)?;
    let id = id.into_inner();
    let now = state.clock.now();
    let out = state
        .db
        .read(move |conn| {
            let t = service::visible_tender(conn, &caller, id)?;
            tender_out(conn, &caller, t, now)
        })
        .await?;
    Ok(web::Json(out))
}

/// Shipments to put out to tender.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"shipment_ids": [1002], "bid_deadline": "2030-12-31T18:00:00Z"}))]
#[validate(rules = tender_rules)]
pub struct TenderIn {
    /// shipments awaiting a tender, all on one lane (same origin and destination)
    #[schema(min_items = 1, max_items = 50)]
    pub shipment_ids: Vec<i64>,
    /// bids are taken until then
    pub bid_deadline: DateTime<Utc>,
}

/// A shipment named twice is a mistake of the caller's, said rather than merged.
fn tender_rules(t: &TenderIn, _at: &str, errors: &mut Vec<FieldError>) {
    for (i, id) in t.shipment_ids.iter().enumerate() {
        if t.shipment_ids[..i].contains(id) {
            errors
                .push(FieldError::new(format!("shipment_ids[{i}]"), format!("shipment {id} is named twice")));
        }
    }
}

/// Put shipments out to tender (warehouse of the origin)
///
/// Shipments awaiting a tender, all of one lane. A shipment whose tender got no bid by its
/// deadline may be put out to tender again: that tender lapses (status `lapsed`, its shipments
/// freed), so nothing is stranded when no courier bid. A shipment from or to a location
/// closed since (inactive) is still tendered: it carries work already under way (new
/// shipments start only from reservations, which an inactive location no longer takes).
#[utoipa::path(tag = "shipping", request_body = TenderIn, responses((status = 201, description = "The tender opened for bids", body = TenderOut), E400, E401, E403, E404NewTender, E409NewTender, E415, E422NewTender), security(("bearer" = ["admin", "warehouse"])))]
#[post("/tenders")]
pub async fn create_tender(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<TenderIn>,
) -> Result<HttpResponse, AppError> {
    let input = body.0;
    let now = state.clock.now();
    let out = state
        .db
        .write(move |conn| {
            let t = service::open_tender(conn, &caller, &input.shipment_ids, input.bid_deadline, now)?;
            tender_out(conn, &caller, t, now)
        })
        .await?;
    Ok(HttpResponse::Created().json(out))
}

fn bid_rules(b: &BidIn, _at: &str, errors: &mut Vec<FieldError>) {
    if b.price.minor() <= 0 || b.price.minor() > 100_000_000 {
        errors.push(FieldError::new("price", "must be between 0.01 and 1000000.00"));
    }
}

/// A courier's offer.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"price": "35.00", "transit_hours": 20}))]
#[validate(rules = bid_rules)]
pub struct BidIn {
    pub price: Money,
    #[schema(minimum = 1, maximum = 720)]
    pub transit_hours: i32,
}

/// Bid on a tender (a courier serving the lane, before the deadline)
#[utoipa::path(tag = "shipping", params(("id" = i64, Path, description = "tender id", example = 1001)), request_body = BidIn,
    responses((status = 201, description = "The tender with the courier's bid", body = TenderOut), E400, E401, E403, E404Tender, E409Bid, E415, E422Bid), security(("bearer" = ["courier"])))]
#[post("/tenders/{id}/bids")]
pub async fn create_bid(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: Json<BidIn>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let bid = body.0;
    let now = state.clock.now();
    let out = state
        .db
        .write(move |conn| {
            let t = service::bid(conn, &caller, id, bid.price.minor(), bid.transit_hours, now)?;
            tender_out(conn, &caller, t, now)
        })
        .await?;
    Ok(HttpResponse::Created().json(out))
}

/// How to award: by score, or an override with a reason.
#[derive(Debug, Default, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"now": true}))]
pub struct AwardIn {
    /// award this bid instead of the best score; needs `reason`
    pub bid_id: Option<i64>,
    #[schema(min_length = 1, max_length = 500)]
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
#[utoipa::path(tag = "shipping", params(("id" = i64, Path, description = "tender id", example = 1002)), request_body(content = Option<AwardIn>, description = "optional override"),
    responses((status = 200, description = "The tender awarded, its courier assigned to the shipments", body = TenderOut), E400, E401, E403, E404Tender, E409Award, E422Award), security(("bearer" = ["admin", "warehouse"])))]
#[post("/tenders/{id}/award")]
pub async fn award(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: MaybeJson<AwardIn>,
) -> Result<web::Json<TenderOut>, AppError> {
    caller.require(AWARDERS)?;
    let id = id.into_inner();
    let a = body.0.unwrap_or_default();
    let chosen = match (a.bid_id, a.reason) {
        (Some(b), Some(r)) if !r.trim().is_empty() => Some((b, r)),
        (Some(_), _) => {
            return Err(AppError::invalid_fields(vec![FieldError::new(
                "reason",
                "an override needs a reason",
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
            let t = service::changing_tender(conn, &caller, id)?;
            // seeing a tender (its lane ends in the caller's area) is not awarding it: the
            // shipping side, which put the shipments out to tender, awards
            if !Scope::of(conn, &caller)?.stands_at(&network::by_id(conn, t.origin_id)?.path) {
                return Err(AppError::forbidden(
                    "only staff of the shipping location (or an admin) award its tender",
                ));
            }
            if !a.now && now.naive_utc() < t.bid_deadline && t.status == TenderStatus::Open {
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
