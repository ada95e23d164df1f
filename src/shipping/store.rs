//! Shipments, tenders, bids, tracking events, claims and couriers in the database.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::rules::{ClaimStatus, Record, ShipmentStatus, TenderStatus, Weights};
use crate::db::schema::{
    bids, claims, courier_areas, rate_cards, shipment_lines, shipments, tender_weights, tenders,
    tracking_events, users,
};
use crate::db::DbConn;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = shipments)]
pub struct ShipmentRow {
    pub id: i64,
    pub request_id: Option<i64>,
    pub origin_id: i64,
    pub destination_id: i64,
    pub urgency: String,
    pub weight_grams: i64,
    pub deliver_by: NaiveDateTime,
    pub status: ShipmentStatus,
    pub courier_id: Option<i64>,
    pub tender_id: Option<i64>,
    pub price_minor: Option<i64>,
    pub picked_up_at: Option<NaiveDateTime>,
    pub delivered_at: Option<NaiveDateTime>,
    pub received_at: Option<NaiveDateTime>,
    pub damaged_units: i64,
    pub created_at: NaiveDateTime,
}

pub struct NewShipment<'a> {
    pub request_id: Option<i64>,
    pub origin_id: i64,
    pub destination_id: i64,
    pub urgency: &'a str,
    pub weight_grams: i64,
    pub deliver_by: NaiveDateTime,
    pub status: ShipmentStatus,
    pub courier_id: Option<i64>,
    pub price_minor: Option<i64>,
    pub damaged_units: i64,
    pub created_at: NaiveDateTime,
}

/// Locks a shipment's row to the transaction's end (PostgreSQL; SQLite's writers run one at a
/// time).
pub fn lock_shipment(conn: &mut DbConn, id: i64) -> QueryResult<()> {
    if let DbConn::Pg(c) = conn {
        shipments::table.find(id).select(shipments::id).for_update().load::<i64>(c)?;
    }
    Ok(())
}

pub fn insert_shipment(conn: &mut DbConn, s: &NewShipment<'_>) -> QueryResult<i64> {
    diesel::insert_into(shipments::table)
        .values((
            shipments::request_id.eq(s.request_id),
            shipments::origin_id.eq(s.origin_id),
            shipments::destination_id.eq(s.destination_id),
            shipments::urgency.eq(s.urgency),
            shipments::weight_grams.eq(s.weight_grams),
            shipments::deliver_by.eq(s.deliver_by),
            shipments::status.eq(s.status.as_str()),
            shipments::courier_id.eq(s.courier_id),
            shipments::price_minor.eq(s.price_minor),
            shipments::damaged_units.eq(s.damaged_units),
            shipments::created_at.eq(s.created_at),
        ))
        .returning(shipments::id)
        .get_result(conn)
}

pub fn insert_line(
    conn: &mut DbConn,
    shipment_id: i64,
    allocation_id: i64,
    part_id: i64,
    qty: i64,
) -> QueryResult<()> {
    diesel::insert_into(shipment_lines::table)
        .values((
            shipment_lines::shipment_id.eq(shipment_id),
            shipment_lines::allocation_id.eq(allocation_id),
            shipment_lines::part_id.eq(part_id),
            shipment_lines::qty.eq(qty),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn shipment(conn: &mut DbConn, id: i64) -> QueryResult<Option<ShipmentRow>> {
    shipments::table.find(id).select(ShipmentRow::as_select()).first(conn).optional()
}

pub fn shipments_by_ids(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<ShipmentRow>> {
    shipments::table
        .filter(shipments::id.eq_any(ids.to_vec()))
        .select(ShipmentRow::as_select())
        .order(shipments::id.asc())
        .load(conn)
}

/// The shipment that carried an allocation.
pub fn shipment_of_allocation(conn: &mut DbConn, allocation_id: i64) -> QueryResult<Option<ShipmentRow>> {
    shipment_lines::table
        .inner_join(shipments::table.on(shipments::id.eq(shipment_lines::shipment_id)))
        .filter(shipment_lines::allocation_id.eq(allocation_id))
        .select(ShipmentRow::as_select())
        .order(shipments::id.desc())
        .first(conn)
        .optional()
}

/// Whether the courier carries a shipment of this parts request.
pub fn courier_carries(conn: &mut DbConn, request_id: i64, courier_id: i64) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        shipments::table
            .filter(shipments::request_id.eq(request_id))
            .filter(shipments::courier_id.eq(courier_id)),
    ))
    .get_result(conn)
}

/// The location paths that decide who sees a parts request (shipping lists its shipments by
/// it): its station's, and those of the sources it is allocated from; `None` for no such request.
pub fn request_paths(conn: &mut DbConn, request_id: i64) -> QueryResult<Option<(String, Vec<String>)>> {
    use crate::db::schema::{locations, parts_requests, request_allocations};
    let Some(station) = parts_requests::table
        .inner_join(locations::table.on(locations::id.eq(parts_requests::station_id)))
        .filter(parts_requests::id.eq(request_id))
        .select(locations::path)
        .first::<String>(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let sources = request_allocations::table
        .inner_join(locations::table.on(locations::id.eq(request_allocations::source_id)))
        .filter(request_allocations::request_id.eq(request_id))
        .select(locations::path)
        .distinct()
        .load(conn)?;
    Ok(Some((station, sources)))
}

/// The technician of the ticket the shipment's request serves, if it serves one.
pub fn technician_of(conn: &mut DbConn, shipment_id: i64) -> QueryResult<Option<i64>> {
    use crate::db::schema::{parts_requests, tickets};
    shipments::table
        .inner_join(parts_requests::table.on(shipments::request_id.eq(parts_requests::id.nullable())))
        .inner_join(tickets::table.on(parts_requests::ticket_id.eq(tickets::id.nullable())))
        .filter(shipments::id.eq(shipment_id))
        .select(tickets::technician_id)
        .first::<Option<i64>>(conn)
        .optional()
        .map(Option::flatten)
}

/// The couriers that delivered part of this request damaged.
pub fn damaging_couriers(conn: &mut DbConn, request_id: i64) -> QueryResult<Vec<i64>> {
    shipments::table
        .filter(shipments::request_id.eq(request_id))
        .filter(shipments::damaged_units.gt(0))
        .filter(shipments::courier_id.is_not_null())
        .select(shipments::courier_id.assume_not_null())
        .distinct()
        .load(conn)
}

/// (shipment, part, qty) of the lines of these shipments, each shipment's in allocation order.
pub fn lines_of(conn: &mut DbConn, shipment_ids: &[i64]) -> QueryResult<Vec<(i64, i64, i64)>> {
    if shipment_ids.is_empty() {
        return Ok(Vec::new());
    }
    shipment_lines::table
        .filter(shipment_lines::shipment_id.eq_any(shipment_ids))
        .select((shipment_lines::shipment_id, shipment_lines::part_id, shipment_lines::qty))
        .order((shipment_lines::shipment_id.asc(), shipment_lines::allocation_id.asc()))
        .load(conn)
}

#[derive(Debug, Default)]
pub struct ShipmentFilter {
    pub courier_id: Option<i64>,
    /// origin or destination among these
    pub touching: Option<Vec<i64>>,
    pub status: Option<String>,
    pub request_id: Option<i64>,
}

pub fn list_shipments(
    conn: &mut DbConn,
    f: &ShipmentFilter,
    before: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<ShipmentRow>> {
    let mut q = shipments::table.select(ShipmentRow::as_select()).into_boxed();
    if let Some(c) = f.courier_id {
        q = q.filter(shipments::courier_id.eq(c));
    }
    if let Some(ids) = &f.touching {
        q = q.filter(
            shipments::origin_id.eq_any(ids.clone()).or(shipments::destination_id.eq_any(ids.clone())),
        );
    }
    if let Some(s) = &f.status {
        q = q.filter(shipments::status.eq(s.clone()));
    }
    if let Some(r) = f.request_id {
        q = q.filter(shipments::request_id.eq(r));
    }
    if let Some(b) = before {
        q = q.filter(shipments::id.lt(b));
    }
    q.order(shipments::id.desc()).limit(limit).load(conn)
}

pub fn set_status(conn: &mut DbConn, id: i64, status: ShipmentStatus) -> QueryResult<()> {
    diesel::update(shipments::table.find(id))
        .set(shipments::status.eq(status.as_str()))
        .execute(conn)
        .map(|_| ())
}

pub fn assign(
    conn: &mut DbConn,
    id: i64,
    courier_id: i64,
    price: Option<i64>,
    tender_id: Option<i64>,
) -> QueryResult<()> {
    diesel::update(shipments::table.find(id))
        .set((
            shipments::courier_id.eq(courier_id),
            shipments::price_minor.eq(price),
            shipments::tender_id.eq(tender_id),
            shipments::status.eq(ShipmentStatus::Assigned.as_str()),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn mark_picked_up(conn: &mut DbConn, id: i64, at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(shipments::table.find(id)).set(shipments::picked_up_at.eq(at)).execute(conn).map(|_| ())
}

/// Sets `delivered_at` once (the first report of a delivery counts) and counts the delivery
/// in the KPI rollup; true when this call delivered it.
pub fn mark_delivered(conn: &mut DbConn, id: i64, at: NaiveDateTime) -> QueryResult<bool> {
    let changed = diesel::update(shipments::table.find(id).filter(shipments::delivered_at.is_null()))
        .set(shipments::delivered_at.eq(at))
        .execute(conn)?;
    if changed > 0 {
        crate::rollup::delivered(conn, id)?;
    }
    Ok(changed > 0)
}

pub fn mark_received(conn: &mut DbConn, id: i64, damaged: i64, at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(shipments::table.find(id))
        .set((
            shipments::received_at.eq(at),
            shipments::damaged_units.eq(shipments::damaged_units + damaged),
            shipments::status.eq(ShipmentStatus::Received.as_str()),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn add_event(
    conn: &mut DbConn,
    shipment_id: i64,
    kind: &str,
    at: NaiveDateTime,
    note: Option<&str>,
    actor: &str,
) -> QueryResult<()> {
    diesel::insert_into(tracking_events::table)
        .values((
            tracking_events::shipment_id.eq(shipment_id),
            tracking_events::kind.eq(kind),
            tracking_events::at.eq(at),
            tracking_events::note.eq(note),
            tracking_events::actor.eq(actor),
        ))
        .execute(conn)
        .map(|_| ())
}

/// (kind, at, note, actor) of a shipment's events, in order.
pub type EventRow = (String, NaiveDateTime, Option<String>, String);

/// The events of these shipments with the shipment of each, in the order they were reported.
pub fn events_of(conn: &mut DbConn, shipment_ids: &[i64]) -> QueryResult<Vec<(i64, EventRow)>> {
    if shipment_ids.is_empty() {
        return Ok(Vec::new());
    }
    tracking_events::table
        .filter(tracking_events::shipment_id.eq_any(shipment_ids))
        .select((
            tracking_events::shipment_id,
            (tracking_events::kind, tracking_events::at, tracking_events::note, tracking_events::actor),
        ))
        .order(tracking_events::id.asc())
        .load(conn)
}

/// The usernames of these users (couriers, for shipments and claims), by id.
pub fn usernames(conn: &mut DbConn, ids: &[i64]) -> QueryResult<BTreeMap<i64, String>> {
    if ids.is_empty() {
        return Ok(BTreeMap::new());
    }
    Ok(users::table
        .filter(users::id.eq_any(ids))
        .select((users::id, users::username))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect())
}

/// The records of these couriers from their delivered shipments, in one query (a courier
/// with no delivery has none here: its record is the default, all zero).
pub fn records(conn: &mut DbConn, courier_ids: &[i64]) -> QueryResult<HashMap<i64, Record>> {
    let mut out: HashMap<i64, Record> = HashMap::new();
    if courier_ids.is_empty() {
        return Ok(out);
    }
    let rows: Vec<(i64, NaiveDateTime, NaiveDateTime, i64)> = shipments::table
        .filter(shipments::courier_id.eq_any(courier_ids))
        .filter(shipments::delivered_at.is_not_null())
        .select((
            shipments::courier_id.assume_not_null(),
            shipments::delivered_at.assume_not_null(),
            shipments::deliver_by,
            shipments::damaged_units,
        ))
        .load(conn)?;
    for (courier, at, by, damaged) in rows {
        let r = out.entry(courier).or_default();
        r.delivered += 1;
        r.on_time += i64::from(at <= by);
        r.damaged += i64::from(damaged > 0);
    }
    Ok(out)
}

pub fn weights(conn: &mut DbConn) -> QueryResult<Weights> {
    let (price_weight, late_weight, damage_weight) = tender_weights::table
        .find(1)
        .select((tender_weights::price_weight, tender_weights::late_weight, tender_weights::damage_weight))
        .first(conn)?;
    Ok(Weights { price_weight, late_weight, damage_weight })
}

pub fn set_weights(conn: &mut DbConn, w: &Weights, at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(tender_weights::table.find(1))
        .set((
            tender_weights::price_weight.eq(w.price_weight),
            tender_weights::late_weight.eq(w.late_weight),
            tender_weights::damage_weight.eq(w.damage_weight),
            tender_weights::updated_at.eq(at),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn areas(conn: &mut DbConn, courier_id: i64) -> QueryResult<Vec<String>> {
    courier_areas::table
        .filter(courier_areas::courier_id.eq(courier_id))
        .select(courier_areas::region)
        .order(courier_areas::region.asc())
        .load(conn)
}

/// The service areas of these couriers, each's in region order, in one query.
pub fn areas_of(conn: &mut DbConn, courier_ids: &[i64]) -> QueryResult<HashMap<i64, Vec<String>>> {
    let mut out: HashMap<i64, Vec<String>> = HashMap::new();
    if courier_ids.is_empty() {
        return Ok(out);
    }
    let rows: Vec<(i64, String)> = courier_areas::table
        .filter(courier_areas::courier_id.eq_any(courier_ids))
        .select((courier_areas::courier_id, courier_areas::region))
        .order((courier_areas::courier_id.asc(), courier_areas::region.asc()))
        .load(conn)?;
    for (courier, region) in rows {
        out.entry(courier).or_default().push(region);
    }
    Ok(out)
}

/// Replaces a courier's service areas with `regions` (inside the caller's transaction).
pub fn set_areas(conn: &mut DbConn, courier_id: i64, regions: &[String]) -> QueryResult<()> {
    diesel::delete(courier_areas::table.filter(courier_areas::courier_id.eq(courier_id))).execute(conn)?;
    for r in regions {
        add_area(conn, courier_id, r)?;
    }
    Ok(())
}

pub fn add_area(conn: &mut DbConn, courier_id: i64, region: &str) -> QueryResult<()> {
    diesel::insert_into(courier_areas::table)
        .values((courier_areas::courier_id.eq(courier_id), courier_areas::region.eq(region)))
        .execute(conn)
        .map(|_| ())
}

/// A page of the active couriers, (id, username, display name) in username order: after
/// `after`, at most `limit`, only `only` when given (a courier's own).
pub fn couriers(
    conn: &mut DbConn,
    only: Option<i64>,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<(i64, String, String)>> {
    let mut q = users::table
        .filter(users::role.eq("courier"))
        .filter(users::active.eq(true))
        .select((users::id, users::username, users::display_name))
        .order(users::username.asc())
        .limit(limit)
        .into_boxed();
    if let Some(id) = only {
        q = q.filter(users::id.eq(id));
    }
    if let Some(a) = after {
        q = q.filter(users::username.gt(a.to_string()));
    }
    q.load(conn)
}

/// Rate cards for a lane: (courier, base, per kg, transit hours).
pub fn rate_cards_for(
    conn: &mut DbConn,
    origin_region: &str,
    dest_region: &str,
) -> QueryResult<Vec<(i64, i64, i64, i32)>> {
    // a card counts only while its courier is an active courier serving both ends of the lane:
    // a disabled account, or one taken off a region, is assigned no urgent shipment there
    let serves = |region: &str| {
        diesel::dsl::exists(
            courier_areas::table
                .filter(courier_areas::courier_id.eq(rate_cards::courier_id))
                .filter(courier_areas::region.eq(region.to_string())),
        )
    };
    rate_cards::table
        .inner_join(users::table.on(users::id.eq(rate_cards::courier_id)))
        .filter(users::active.eq(true))
        .filter(users::role.eq("courier"))
        .filter(rate_cards::origin_region.eq(origin_region))
        .filter(rate_cards::dest_region.eq(dest_region))
        .filter(serves(origin_region))
        .filter(serves(dest_region))
        .select((
            rate_cards::courier_id,
            rate_cards::base_minor,
            rate_cards::per_kg_minor,
            rate_cards::transit_hours,
        ))
        .order(rate_cards::courier_id.asc())
        .load(conn)
}

/// A rate card as kept: (origin region, destination region, base, per kg, transit hours).
pub type RateCardRow = (String, String, i64, i64, i32);

/// A courier's rate cards, in lane order.
pub fn rate_cards_of(conn: &mut DbConn, courier_id: i64) -> QueryResult<Vec<RateCardRow>> {
    rate_cards::table
        .filter(rate_cards::courier_id.eq(courier_id))
        .select((
            rate_cards::origin_region,
            rate_cards::dest_region,
            rate_cards::base_minor,
            rate_cards::per_kg_minor,
            rate_cards::transit_hours,
        ))
        .order((rate_cards::origin_region.asc(), rate_cards::dest_region.asc()))
        .load(conn)
}

/// Removes a courier's rate cards (inside the caller's transaction, before it adds the new set).
pub fn clear_rate_cards(conn: &mut DbConn, courier_id: i64) -> QueryResult<()> {
    diesel::delete(rate_cards::table.filter(rate_cards::courier_id.eq(courier_id))).execute(conn).map(|_| ())
}

pub fn add_rate_card(
    conn: &mut DbConn,
    courier_id: i64,
    from: &str,
    to: &str,
    base: i64,
    per_kg: i64,
    hours: i32,
) -> QueryResult<()> {
    diesel::insert_into(rate_cards::table)
        .values((
            rate_cards::courier_id.eq(courier_id),
            rate_cards::origin_region.eq(from),
            rate_cards::dest_region.eq(to),
            rate_cards::base_minor.eq(base),
            rate_cards::per_kg_minor.eq(per_kg),
            rate_cards::transit_hours.eq(hours),
        ))
        .execute(conn)
        .map(|_| ())
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = tenders)]
pub struct TenderRow {
    pub id: i64,
    pub origin_id: i64,
    pub destination_id: i64,
    pub weight_grams: i64,
    pub deliver_by: NaiveDateTime,
    pub bid_deadline: NaiveDateTime,
    pub status: TenderStatus,
    pub awarded_bid_id: Option<i64>,
    pub override_reason: Option<String>,
    pub explanation: Option<String>,
    pub created_by: String,
    pub created_at: NaiveDateTime,
}

#[allow(clippy::too_many_arguments, reason = "one row's columns")]
pub fn insert_tender(
    conn: &mut DbConn,
    origin: i64,
    dest: i64,
    weight: i64,
    deliver_by: NaiveDateTime,
    deadline: NaiveDateTime,
    by: &str,
    at: NaiveDateTime,
) -> QueryResult<i64> {
    diesel::insert_into(tenders::table)
        .values((
            tenders::origin_id.eq(origin),
            tenders::destination_id.eq(dest),
            tenders::weight_grams.eq(weight),
            tenders::deliver_by.eq(deliver_by),
            tenders::bid_deadline.eq(deadline),
            tenders::status.eq(TenderStatus::Open.as_str()),
            tenders::created_by.eq(by),
            tenders::created_at.eq(at),
        ))
        .returning(tenders::id)
        .get_result(conn)
}

/// Locks a tender's row to the transaction's end (PostgreSQL; SQLite's writers run one at a
/// time), so that an award and another award or a bid of the same tender run one after the
/// other, the second seeing what the first did.
pub fn lock_tender(conn: &mut DbConn, id: i64) -> QueryResult<()> {
    if let DbConn::Pg(c) = conn {
        tenders::table.find(id).select(tenders::id).for_update().load::<i64>(c)?;
    }
    Ok(())
}

pub fn tender(conn: &mut DbConn, id: i64) -> QueryResult<Option<TenderRow>> {
    tenders::table.find(id).select(TenderRow::as_select()).first(conn).optional()
}

pub fn list_tenders(
    conn: &mut DbConn,
    status: Option<&str>,
    before: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<TenderRow>> {
    let mut q = tenders::table.select(TenderRow::as_select()).into_boxed();
    if let Some(s) = status {
        q = q.filter(tenders::status.eq(s.to_string()));
    }
    if let Some(b) = before {
        q = q.filter(tenders::id.lt(b));
    }
    q.order(tenders::id.desc()).limit(limit).load(conn)
}

pub fn tender_shipments(conn: &mut DbConn, tender_id: i64) -> QueryResult<Vec<i64>> {
    shipments::table
        .filter(shipments::tender_id.eq(tender_id))
        .select(shipments::id)
        .order(shipments::id.asc())
        .load(conn)
}

/// The shipments of these tenders, each's in id order, in one query.
pub fn shipments_of_tenders(conn: &mut DbConn, tender_ids: &[i64]) -> QueryResult<HashMap<i64, Vec<i64>>> {
    let mut out: HashMap<i64, Vec<i64>> = HashMap::new();
    if tender_ids.is_empty() {
        return Ok(out);
    }
    let rows: Vec<(i64, i64)> = shipments::table
        .filter(shipments::tender_id.eq_any(tender_ids))
        .select((shipments::tender_id.assume_not_null(), shipments::id))
        .order(shipments::id.asc())
        .load(conn)?;
    for (tender, shipment) in rows {
        out.entry(tender).or_default().push(shipment);
    }
    Ok(out)
}

pub fn attach_to_tender(conn: &mut DbConn, shipment_id: i64, tender_id: i64) -> QueryResult<()> {
    diesel::update(shipments::table.find(shipment_id))
        .set((shipments::tender_id.eq(tender_id), shipments::status.eq(ShipmentStatus::Tendered.as_str())))
        .execute(conn)
        .map(|_| ())
}

/// Marks a tender lapsed (its bid deadline passed with no bid) and puts its shipments back to
/// await a tender.
pub fn lapse(conn: &mut DbConn, tender_id: i64) -> QueryResult<()> {
    diesel::update(tenders::table.find(tender_id))
        .set(tenders::status.eq(TenderStatus::Lapsed.as_str()))
        .execute(conn)?;
    diesel::update(shipments::table.filter(shipments::tender_id.eq(tender_id)))
        .set((
            shipments::tender_id.eq(None::<i64>),
            shipments::status.eq(ShipmentStatus::AwaitingTender.as_str()),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn award(
    conn: &mut DbConn,
    tender_id: i64,
    bid_id: i64,
    reason: Option<&str>,
    explanation: &str,
) -> QueryResult<()> {
    diesel::update(tenders::table.find(tender_id))
        .set((
            tenders::status.eq(TenderStatus::Awarded.as_str()),
            tenders::awarded_bid_id.eq(bid_id),
            tenders::override_reason.eq(reason),
            tenders::explanation.eq(explanation),
        ))
        .execute(conn)
        .map(|_| ())
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = bids)]
pub struct BidRow {
    pub id: i64,
    pub tender_id: i64,
    pub courier_id: i64,
    pub price_minor: i64,
    pub transit_hours: i32,
    pub created_at: NaiveDateTime,
}

pub fn insert_bid(
    conn: &mut DbConn,
    tender_id: i64,
    courier_id: i64,
    price: i64,
    hours: i32,
    at: NaiveDateTime,
) -> QueryResult<i64> {
    diesel::insert_into(bids::table)
        .values((
            bids::tender_id.eq(tender_id),
            bids::courier_id.eq(courier_id),
            bids::price_minor.eq(price),
            bids::transit_hours.eq(hours),
            bids::created_at.eq(at),
        ))
        .returning(bids::id)
        .get_result(conn)
}

pub fn bids_of(conn: &mut DbConn, tender_id: i64) -> QueryResult<Vec<BidRow>> {
    bids::table
        .filter(bids::tender_id.eq(tender_id))
        .select(BidRow::as_select())
        .order(bids::id.asc())
        .load(conn)
}

/// The bids of these tenders, each's in id order, in one query.
pub fn bids_of_tenders(conn: &mut DbConn, tender_ids: &[i64]) -> QueryResult<HashMap<i64, Vec<BidRow>>> {
    let mut out: HashMap<i64, Vec<BidRow>> = HashMap::new();
    if tender_ids.is_empty() {
        return Ok(out);
    }
    let rows: Vec<BidRow> = bids::table
        .filter(bids::tender_id.eq_any(tender_ids))
        .select(BidRow::as_select())
        .order(bids::id.asc())
        .load(conn)?;
    for b in rows {
        out.entry(b.tender_id).or_default().push(b);
    }
    Ok(out)
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = claims)]
pub struct ClaimRow {
    pub id: i64,
    pub shipment_id: i64,
    pub request_id: Option<i64>,
    pub courier_id: Option<i64>,
    pub part_id: i64,
    pub qty: i64,
    pub amount_minor: i64,
    pub status: ClaimStatus,
    pub created_at: NaiveDateTime,
}

#[allow(clippy::too_many_arguments, reason = "one row's columns")]
pub fn insert_claim(
    conn: &mut DbConn,
    shipment_id: i64,
    request_id: Option<i64>,
    courier_id: Option<i64>,
    part_id: i64,
    qty: i64,
    amount: i64,
    at: NaiveDateTime,
) -> QueryResult<i64> {
    diesel::insert_into(claims::table)
        .values((
            claims::shipment_id.eq(shipment_id),
            claims::request_id.eq(request_id),
            claims::courier_id.eq(courier_id),
            claims::part_id.eq(part_id),
            claims::qty.eq(qty),
            claims::amount_minor.eq(amount),
            claims::status.eq(ClaimStatus::Open.as_str()),
            claims::created_at.eq(at),
        ))
        .returning(claims::id)
        .get_result(conn)
}

pub fn list_claims(
    conn: &mut DbConn,
    courier_id: Option<i64>,
    touching: Option<&[i64]>,
    before: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<ClaimRow>> {
    let mut q = claims::table
        .inner_join(shipments::table.on(shipments::id.eq(claims::shipment_id)))
        .select(ClaimRow::as_select())
        .into_boxed();
    if let Some(c) = courier_id {
        q = q.filter(claims::courier_id.eq(c));
    }
    if let Some(ids) = touching {
        q = q.filter(
            shipments::origin_id.eq_any(ids.to_vec()).or(shipments::destination_id.eq_any(ids.to_vec())),
        );
    }
    if let Some(b) = before {
        q = q.filter(claims::id.lt(b));
    }
    q.order(claims::id.desc()).limit(limit).load(conn)
}
