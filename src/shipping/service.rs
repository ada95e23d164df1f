//! Shipping operations inside the caller's transaction: shipments for what a request ships,
//! urgent assignment by rate card, tenders, bids and awards, tracking events, and carrier
//! claims for damaged deliveries.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::rules::{self, EventKind, Score, ShipmentStatus, TenderStatus};
use super::store::{self, NewShipment, ShipmentRow, TenderRow};
use crate::auth::{Caller, Role, Scope};
use crate::db::DbConn;
use crate::error::{AppError, FieldError, Problem};
use crate::network::store::{self as network, LocationRow};
use crate::validate::Validate;

/// Days along the lane from `origin` to `dest`: the sum of lead times down the tree when the
/// origin is above the destination, else a lateral lane's days plus the last leg.
pub fn lane_days(conn: &mut DbConn, origin: &LocationRow, dest: &LocationRow) -> Result<i64, AppError> {
    if dest.path.starts_with(&origin.path) {
        let mut days = 0i64;
        let mut at = dest.clone();
        while at.id != origin.id {
            days += at.lead_time_days.unwrap_or(1) as i64;
            match at.parent_id {
                Some(p) => at = network::by_id(conn, p)?,
                None => break,
            }
        }
        return Ok(days.max(1));
    }
    let last_leg = dest.lead_time_days.unwrap_or(1) as i64;
    let lateral = crate::network::station::lateral_days(conn, dest.parent_id.unwrap_or(dest.id), origin.id)?;
    Ok(lateral.unwrap_or(2) as i64 + last_leg)
}

fn region(l: &LocationRow) -> String {
    l.region.clone().unwrap_or_default()
}

/// Creates the shipment for what one source ships of a request. An urgent shipment skips the
/// tender and goes by standing rate card, chosen by the tender's own score among the cards that
/// arrive in time (else the fastest card): a courier that delivered part of this request damaged
/// is passed over while another arrives in time, so a replacement does not go back to it. A
/// normal one waits for a tender.
pub fn ship_allocations(
    conn: &mut DbConn,
    request_id: i64,
    origin_id: i64,
    dest_id: i64,
    urgent: bool,
    lines: &[(i64, i64, i64)],
    at: DateTime<Utc>,
) -> Result<i64, AppError> {
    let origin = network::by_id(conn, origin_id)?;
    let dest = network::by_id(conn, dest_id)?;
    let mut weight = 0i64;
    for (_, part_id, qty) in lines {
        weight += crate::catalogue::store::parts::by_id(conn, *part_id)?.weight_grams as i64 * qty;
    }
    let due = rules::deliver_by(at.naive_utc(), lane_days(conn, &origin, &dest)?, urgent);
    let (status, courier, price) = if urgent {
        let damaged_it = store::damaging_couriers(conn, request_id)?;
        match best_rate_card(conn, &origin, &dest, weight, due, at, &damaged_it)? {
            Some((courier, price)) => (ShipmentStatus::Assigned, Some(courier), Some(price)),
            None => (ShipmentStatus::AwaitingTender, None, None),
        }
    } else {
        (ShipmentStatus::AwaitingTender, None, None)
    };
    let id = store::insert_shipment(
        conn,
        &NewShipment {
            request_id: Some(request_id),
            origin_id,
            destination_id: dest_id,
            urgency: if urgent { "urgent" } else { "normal" },
            weight_grams: weight,
            deliver_by: due,
            status,
            courier_id: courier,
            price_minor: price,
            damaged_units: 0,
            created_at: at.naive_utc(),
        },
    )?;
    for (allocation, part, qty) in lines {
        store::insert_line(conn, id, *allocation, *part, *qty)?;
    }
    Ok(id)
}

/// The rate card an urgent shipment goes by, as (courier, price): among the cards that arrive
/// by `due` (without the couriers in `passed_over` while another arrives in time), the lowest
/// tender score (price against the cheapest of them, late and damage rates by the weights, the
/// courier's record as it stands, a damage just recorded included); with none in time, the
/// fastest card.
fn best_rate_card(
    conn: &mut DbConn,
    origin: &LocationRow,
    dest: &LocationRow,
    weight: i64,
    due: chrono::NaiveDateTime,
    at: DateTime<Utc>,
    passed_over: &[i64],
) -> Result<Option<(i64, i64)>, AppError> {
    let cards = store::rate_cards_for(conn, &region(origin), &region(dest))?;
    let priced = cards
        .iter()
        .map(|(c, base, per_kg, hours)| (*c, rules::rate_card_price(*base, *per_kg, weight), *hours));
    let (mut in_time, late): (Vec<_>, Vec<_>) =
        priced.partition(|(_, _, h)| rules::meets(at.naive_utc(), *h, due));
    if in_time.iter().any(|(c, _, _)| !passed_over.contains(c)) {
        in_time.retain(|(c, _, _)| !passed_over.contains(c));
    }
    if in_time.is_empty() {
        return Ok(late.iter().min_by_key(|(c, _, h)| (*h, *c)).map(|(c, p, _)| (*c, *p)));
    }
    let weights = store::weights(conn)?;
    let ids: Vec<i64> = in_time.iter().map(|(c, _, _)| *c).collect();
    let records = store::records(conn, &ids)?;
    let cheapest = in_time.iter().map(|(_, p, _)| *p).min().unwrap_or(1);
    let scored = in_time.iter().map(|(c, p, _)| {
        let record = records.get(c).copied().unwrap_or_default();
        (rules::score(*p, cheapest, &record, &weights).total, *p, *c)
    });
    Ok(scored.min_by(|a, b| a.0.total_cmp(&b.0).then((a.1, a.2).cmp(&(b.1, b.2)))).map(|(_, p, c)| (c, p)))
}

/// Whether a courier serves both ends of a lane.
pub fn serves(
    conn: &mut DbConn,
    courier_id: i64,
    origin: &LocationRow,
    dest: &LocationRow,
) -> Result<bool, AppError> {
    let areas = store::areas(conn, courier_id)?;
    Ok(areas.contains(&region(origin)) && areas.contains(&region(dest)))
}

/// A shipment the caller may see, or 404: a courier its own, scoped users those from or to
/// their locations, others all.
pub fn visible_shipment(conn: &mut DbConn, caller: &Caller, id: i64) -> Result<ShipmentRow, AppError> {
    let not_found = || AppError::not_found(format!("shipment {id} not found"));
    let s = store::shipment(conn, id)?.ok_or_else(not_found)?;
    let ok = match caller.role {
        Role::Courier => s.courier_id == Some(caller.user_id),
        // a technician follows the parts of its own tickets (the ticket links them)
        Role::Technician => store::technician_of(conn, id)? == Some(caller.user_id),
        _ => match Scope::of(conn, caller)? {
            Scope::All => true,
            scope => {
                let o = network::by_id(conn, s.origin_id)?;
                let d = network::by_id(conn, s.destination_id)?;
                scope.covers(&o.path) || scope.covers(&d.path)
            }
        },
    };
    if ok {
        Ok(s)
    } else {
        Err(not_found())
    }
}

/// Records a tracking event by the assigned courier, dated `at` (none: `now`, or the last
/// event's time when that is later, within the clock allowance).
pub fn report(
    conn: &mut DbConn,
    caller: &Caller,
    id: i64,
    kind: EventKind,
    at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    note: Option<&str>,
) -> Result<(), AppError> {
    caller.require(&[Role::Courier])?;
    // the shipment's row locked first: two reports of one event at once are one after the
    // other, and the second is refused as a repeat
    store::lock_shipment(conn, id)?;
    let s = visible_shipment(conn, caller, id)?;
    let next = kind.next(s.status).map_err(|m| {
        AppError::conflict(Problem::InvalidTransition, m).with("current_status", s.status.as_str())
    })?;
    // tracking is in time order: not before the shipment was handed over, nor before the
    // event reported last (so `delivered` not before `picked_up`); a backdated delivery would
    // count as on time in the courier's record
    let last = store::events_of(conn, &[id])?.last().map(|(_, e)| e.1);
    let earliest = last.map_or(s.created_at, |l| l.max(s.created_at));
    // an event sent without a time follows the one before it, which the clock allowance may
    // have dated a few seconds ahead of this server's clock
    let at = at.unwrap_or_else(|| now.max(earliest.and_utc()));
    if at.naive_utc() < earliest {
        let after =
            if last.is_some() { "the event reported before it" } else { "the shipment was handed over" };
        return Err(AppError::field_problems(
            Problem::EventOutOfOrder,
            "",
            vec![crate::error::FieldError::new(
                "at",
                format!("{} is before {after} ({}Z)", at.to_rfc3339(), earliest.format("%Y-%m-%dT%H:%M:%S")),
            )],
        )
        .with("earliest", earliest.and_utc()));
    }
    if kind == EventKind::Delivered
        && !rules::delivery_report_stands(at.naive_utc(), now.naive_utc(), s.deliver_by)
    {
        return Err(AppError::field_problems(
            Problem::EventOutOfOrder,
            "",
            vec![crate::error::FieldError::new(
                "at",
                format!(
                    "the shipment was due at {}Z and this delivery is reported after that: it is dated at most {} hours before its report, or after the due time",
                    s.deliver_by.format("%Y-%m-%dT%H:%M:%S"),
                    rules::LATE_REPORT_HOURS
                ),
            )],
        )
        .with("earliest", (now - chrono::Duration::hours(rules::LATE_REPORT_HOURS)).to_rfc3339()));
    }
    store::add_event(conn, id, kind.as_str(), at.naive_utc(), note, &caller.username)?;
    store::set_status(conn, id, next)?;
    match kind {
        EventKind::PickedUp => {
            store::mark_picked_up(conn, id, at.naive_utc())?;
            publish(conn, id, "shipment.picked_up", at)?;
        }
        EventKind::Delivered => {
            if store::mark_delivered(conn, id, at.naive_utc())? {
                publish(conn, id, "shipment.delivered", at)?;
            }
        }
        EventKind::InTransit => {}
    }
    Ok(())
}

/// Records a shipment's event in the outbox: the shipment as it is now, in the scope of where
/// it goes.
fn publish(conn: &mut DbConn, id: i64, event: &'static str, at: DateTime<Utc>) -> Result<(), AppError> {
    let s = store::shipment(conn, id)?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("shipment {id} lost")))?;
    let codes = network::codes_of(conn, &[s.origin_id, s.destination_id])?;
    let code = |i: i64| codes.get(&i).cloned().unwrap_or_default();
    crate::events::record(
        conn,
        event,
        crate::events::Subject { kind: "shipment", id, station_id: Some(s.destination_id) },
        crate::events::payloads::ShipmentEvent {
            id: s.id,
            request_id: s.request_id,
            from: code(s.origin_id),
            to: code(s.destination_id),
            status: s.status.as_str().into(),
            urgency: s.urgency.clone(),
            picked_up_at: s.picked_up_at.map(|t| t.and_utc()),
            delivered_at: s.delivered_at.map(|t| t.and_utc()),
            damaged_units: s.damaged_units,
        },
        at.naive_utc(),
    )?;
    Ok(())
}

/// On receipt of an allocation's units: the shipment is delivered (if the courier did not say
/// so) and received; damaged units open a claim against the courier at their cost.
pub fn on_receipt(
    conn: &mut DbConn,
    allocation_id: i64,
    part_id: i64,
    damaged: i64,
    at: DateTime<Utc>,
) -> Result<Option<i64>, AppError> {
    let Some(s) = store::shipment_of_allocation(conn, allocation_id)? else { return Ok(None) };
    if store::mark_delivered(conn, s.id, at.naive_utc())? {
        publish(conn, s.id, "shipment.delivered", at)?;
    }
    store::mark_received(conn, s.id, damaged, at.naive_utc())?;
    if damaged == 0 {
        return Ok(None);
    }
    publish(conn, s.id, "shipment.damaged", at)?;
    let cost = crate::catalogue::store::parts::by_id(conn, part_id)?.unit_cost_minor;
    let claim = store::insert_claim(
        conn,
        s.id,
        s.request_id,
        s.courier_id,
        part_id,
        damaged,
        cost * damaged,
        at.naive_utc(),
    )?;
    let part = crate::catalogue::store::parts::by_id(conn, part_id)?.code;
    crate::events::record(
        conn,
        "claim.opened",
        crate::events::Subject { kind: "claim", id: claim, station_id: Some(s.destination_id) },
        crate::events::payloads::ClaimEvent {
            id: claim,
            shipment_id: s.id,
            request_id: s.request_id,
            part_code: part,
            qty: damaged,
            amount: crate::money::Money(cost * damaged),
        },
        at.naive_utc(),
    )?;
    Ok(Some(claim))
}

/// One bid with its score, as the award explains it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
pub struct BidScore {
    pub bid_id: i64,
    pub courier: String,
    pub price: crate::money::Money,
    pub transit_hours: i32,
    /// whether the promised transit meets `deliver_by`
    pub meets_deadline: bool,
    pub on_time_rate: f64,
    pub damage_rate: f64,
    /// absent for bids that miss the deadline
    pub score: Option<Score>,
}

/// Scores every bid of a tender (lower wins) at time `at`.
pub fn score_bids(conn: &mut DbConn, t: &TenderRow, at: DateTime<Utc>) -> Result<Vec<BidScore>, AppError> {
    let bids = store::bids_of(conn, t.id)?;
    Ok(score_bids_of(conn, &[(t, &bids)], at)?.remove(0))
}

/// Scores the bids of several tenders, each's in the order given, with the weights, the
/// couriers' names and their records read once for all of them (three queries however many).
pub fn score_bids_of(
    conn: &mut DbConn,
    tenders: &[(&TenderRow, &[store::BidRow])],
    at: DateTime<Utc>,
) -> Result<Vec<Vec<BidScore>>, AppError> {
    if tenders.is_empty() {
        return Ok(Vec::new());
    }
    let weights = store::weights(conn)?;
    let mut bidders: Vec<i64> =
        tenders.iter().flat_map(|(_, bids)| bids.iter().map(|b| b.courier_id)).collect();
    bidders.sort_unstable();
    bidders.dedup();
    // the bidders' names, a courier disabled since it bid included
    let names = store::usernames(conn, &bidders)?;
    let records = store::records(conn, &bidders)?;
    Ok(tenders
        .iter()
        .map(|(t, bids)| {
            let meets = |b: &store::BidRow| rules::meets(at.naive_utc(), b.transit_hours, t.deliver_by);
            let cheapest = bids.iter().filter(|b| meets(b)).map(|b| b.price_minor).min().unwrap_or(1);
            bids.iter()
                .map(|b| {
                    let record = records.get(&b.courier_id).copied().unwrap_or_default();
                    let meets = meets(b);
                    BidScore {
                        bid_id: b.id,
                        courier: names.get(&b.courier_id).cloned().unwrap_or_default(),
                        price: crate::money::Money(b.price_minor),
                        transit_hours: b.transit_hours,
                        meets_deadline: meets,
                        on_time_rate: (record.on_time_rate() * 10_000.0).round() / 10_000.0,
                        damage_rate: (record.damage_rate() * 10_000.0).round() / 10_000.0,
                        score: meets.then(|| rules::score(b.price_minor, cheapest, &record, &weights)),
                    }
                })
                .collect()
        })
        .collect())
}

/// Awards a tender: the lowest score among bids that meet `deliver_by`, or the named bid
/// (an override, with a reason). Assigns the courier to every shipment of the tender.
pub fn award(
    conn: &mut DbConn,
    caller: &Caller,
    t: &TenderRow,
    chosen: Option<(i64, &str)>,
    at: DateTime<Utc>,
) -> Result<Vec<BidScore>, AppError> {
    if t.status != TenderStatus::Open {
        return Err(AppError::conflict(
            Problem::TenderClosed,
            format!("tender {} is already {}", t.id, t.status),
        ));
    }
    let scores = score_bids(conn, t, at)?;
    if scores.is_empty() {
        return Err(AppError::unprocessable(
            Problem::NoValidBid,
            "no courier has bid on this tender; once its deadline passed, put its shipments out to tender again",
        ));
    }
    let best = scores
        .iter()
        .filter_map(|s| s.score.as_ref().map(|sc| (sc.total, s.bid_id)))
        .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)))
        .map(|(_, id)| id);
    let (bid_id, reason) = match chosen {
        Some((id, reason)) => {
            if !scores.iter().any(|s| s.bid_id == id) {
                return Err(AppError::unprocessable(
                    Problem::UnknownBid,
                    format!("bid {id} is not a bid on this tender"),
                ));
            }
            (id, Some(reason))
        }
        None => match best {
            Some(id) => (id, None),
            None => {
                return Err(AppError::unprocessable(
                    Problem::NoValidBid,
                    "no bid arrives by deliver_by; extend the deadline or award one anyway with a reason",
                )
                .with("bids", &scores))
            }
        },
    };
    let bid = store::bids_of(conn, t.id)?.into_iter().find(|b| b.id == bid_id).expect("bid listed above");
    let explanation = serde_json::to_string(&scores).unwrap_or_default();
    store::award(conn, t.id, bid_id, reason, &explanation)?;
    let shipments = store::tender_shipments(conn, t.id)?;
    // the price shared to the cent: the shares sum to the bid
    let shares = rules::split_evenly(bid.price_minor, shipments.len());
    for (s, share) in shipments.into_iter().zip(shares) {
        store::assign(conn, s, bid.courier_id, Some(share), Some(t.id))?;
    }
    tracing::info!(tender = t.id, bid = bid_id, by = %caller.username, overridden = reason.is_some(), "tender awarded");
    Ok(scores)
}

/// Who puts shipments out to tender and awards them.
pub const AWARDERS: &[Role] = &[Role::Admin, Role::Warehouse];

/// [`visible_tender`], its row locked first: for an award or a bid, so that two awards at once
/// (or a bid and an award) run one after the other, the second checking the state the first
/// left: one award wins and the others find the tender awarded; a bid is weighed by the award
/// or refused as too late, never taken after the award has chosen.
pub fn changing_tender(conn: &mut DbConn, caller: &Caller, id: i64) -> Result<TenderRow, AppError> {
    store::lock_tender(conn, id)?;
    visible_tender(conn, caller, id)
}

/// A tender the caller may see, or 404: a courier's when it serves both ends of the lane, a
/// warehouse user's when either end is in its scope, admin and finance all.
pub fn visible_tender(conn: &mut DbConn, caller: &Caller, id: i64) -> Result<TenderRow, AppError> {
    let not_found = || AppError::not_found(format!("tender {id} not found"));
    let t = store::tender(conn, id)?.ok_or_else(not_found)?;
    let o = network::by_id(conn, t.origin_id)?;
    let d = network::by_id(conn, t.destination_id)?;
    let ok = match caller.role {
        Role::Courier => serves(conn, caller.user_id, &o, &d)?,
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

/// Puts shipments awaiting a tender out to tender at `now`: all of one lane, dispatched by the
/// caller's location, bids taken until `bid_deadline` (after `now`, before the shipments are
/// due).
pub fn open_tender(
    conn: &mut DbConn,
    caller: &Caller,
    shipment_ids: &[i64],
    bid_deadline: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<TenderRow, AppError> {
    caller.require(AWARDERS)?;
    if bid_deadline <= now {
        return Err(AppError::invalid_fields(vec![FieldError::new("bid_deadline", "must be in the future")]));
    }
    let scope = Scope::of(conn, caller)?;
    let mut ids = shipment_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    // the shipments' rows locked first, in id order: two tenders of one shipment at once run
    // one after the other, the second finding it tendered (409) rather than taking it too
    for id in &ids {
        store::lock_shipment(conn, *id)?;
    }
    let mut rows = store::shipments_by_ids(conn, &ids)?;
    // a shipment whose tender's bids closed with no bid at all is put out to tender again: that
    // tender lapses (its other shipments await a tender again too)
    let mut lapsed = Vec::new();
    for tender_id in rows.iter().filter(|s| s.status == ShipmentStatus::Tendered).filter_map(|s| s.tender_id)
    {
        if lapsed.contains(&tender_id) {
            continue;
        }
        let t = store::tender(conn, tender_id)?.ok_or_else(|| AppError::not_found("tender vanished"))?;
        if t.status == TenderStatus::Open
            && now.naive_utc() > t.bid_deadline
            && store::bids_of(conn, t.id)?.is_empty()
        {
            lapsed.push(t.id);
        }
    }
    // (the write is one transaction: a refusal below takes the lapse back too)
    for t in &lapsed {
        store::lapse(conn, *t)?;
    }
    if !lapsed.is_empty() {
        rows = store::shipments_by_ids(conn, &ids)?;
    }
    let mut visible = Vec::new();
    for s in rows {
        // the shipping location's own staff put its shipments out to tender, not a warehouse
        // above it that sees them
        if scope.stands_at(&network::by_id(conn, s.origin_id)?.path) {
            visible.push(s);
        }
    }
    if visible.is_empty() || visible.len() != ids.len() {
        return Err(AppError::not_found("a shipment is not found among those you dispatch"));
    }
    let first = &visible[0];
    if visible.iter().any(|s| s.origin_id != first.origin_id || s.destination_id != first.destination_id) {
        return Err(AppError::unprocessable(
            Problem::MixedLanes,
            "a tender covers shipments of one lane: same origin and destination",
        ));
    }
    if let Some(s) = visible.iter().find(|s| s.status != ShipmentStatus::AwaitingTender) {
        return Err(AppError::conflict(
            Problem::NotAwaitingTender,
            format!("shipment {} is {}", s.id, s.status),
        ));
    }
    let deliver_by = visible.iter().map(|s| s.deliver_by).min().unwrap_or(first.deliver_by);
    if bid_deadline.naive_utc() >= deliver_by {
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
        bid_deadline.naive_utc(),
        &caller.username,
        now.naive_utc(),
    )?;
    for s in &visible {
        store::attach_to_tender(conn, s.id, id)?;
    }
    store::tender(conn, id)?.ok_or_else(|| AppError::not_found("tender vanished"))
}

/// A courier's bid on a tender it may see, before the deadline, once per courier; returns the
/// tender as it stands.
pub fn bid(
    conn: &mut DbConn,
    caller: &Caller,
    id: i64,
    price_minor: i64,
    transit_hours: i32,
    now: DateTime<Utc>,
) -> Result<TenderRow, AppError> {
    caller.require(&[Role::Courier])?;
    // a lane outside the courier's service area is answered like an unknown tender (as
    // `GET /tenders/{id}` does), naming none of its codes or regions
    let t = changing_tender(conn, caller, id)?;
    if t.status != TenderStatus::Open || now.naive_utc() > t.bid_deadline {
        return Err(AppError::conflict(
            Problem::TenderClosed,
            format!("bids on tender {id} closed at {}", t.bid_deadline.and_utc().to_rfc3339()),
        ));
    }
    if store::bids_of(conn, id)?.iter().any(|b| b.courier_id == caller.user_id) {
        return Err(AppError::conflict(Problem::AlreadyBid, "you have already bid on this tender"));
    }
    store::insert_bid(conn, id, caller.user_id, price_minor, transit_hours, now.naive_utc())?;
    Ok(t)
}

/// A courier account: its id, username, display name and whether it is active.
#[derive(Debug, Clone)]
pub struct Courier {
    pub id: i64,
    pub username: String,
    pub name: String,
    pub active: bool,
}

/// The courier of this username, in any case; 404 when there is no user of that name or the
/// user is not a courier (`/couriers/{username}` names couriers only).
pub fn courier(conn: &mut DbConn, username: &str) -> Result<Courier, AppError> {
    match crate::auth::store::find_by_username(conn, username)? {
        Some((u, _)) if u.role == Role::Courier.as_str() => {
            Ok(Courier { id: u.id, username: u.username, name: u.display_name, active: u.active })
        }
        Some((u, _)) => {
            Err(AppError::not_found(format!("{} is a {} account, not a courier", u.username, u.role)))
        }
        None => Err(AppError::not_found(format!("courier {username} not found"))),
    }
}

/// The courier of this username as `caller` may read it: a courier itself only (another courier
/// is 404 to it, as an unknown name is); other readers any.
pub fn visible_courier(conn: &mut DbConn, caller: &Caller, username: &str) -> Result<Courier, AppError> {
    let c = courier(conn, username)?;
    if caller.is(Role::Courier) && c.id != caller.user_id {
        return Err(AppError::not_found(format!("courier {username} not found")));
    }
    Ok(c)
}

/// Replaces a courier's service areas. Each must be a region of the network (where some
/// location is), written as the network writes it; 422 names each one that is not, with the
/// region it most likely meant.
pub fn set_areas(conn: &mut DbConn, courier_id: i64, areas: &[String]) -> Result<(), AppError> {
    let regions = crate::catalogue::store::units::regions(conn)?;
    let named = areas.iter().enumerate().map(|(i, a)| (format!("service_areas[{i}]"), a));
    crate::validate::fail_if_any(region_faults(named, &regions))?;
    let mut sorted = areas.to_vec();
    sorted.sort();
    Ok(store::set_areas(conn, courier_id, &sorted)?)
}

/// A field error for each named region that is not one of the network's `regions`, naming the
/// region it most likely meant.
fn region_faults<'a>(
    named: impl Iterator<Item = (String, &'a String)>,
    regions: &[String],
) -> Vec<FieldError> {
    named
        .filter(|(_, region)| !regions.contains(region))
        .map(|(field, region)| FieldError::new(field, rules::unknown_region(region, regions)))
        .collect()
}

/// One standing rate of a courier for a lane, as the API gives and shows it (amounts in minor
/// units).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rate {
    pub origin_region: String,
    pub dest_region: String,
    pub base_minor: i64,
    pub per_kg_minor: i64,
    pub transit_hours: i32,
}

/// Replaces a courier's rate cards. Each lane's regions must be regions of the network; 422
/// names each one that is not (`rate_cards[i].origin_region`), with the region it most likely
/// meant. A card is used only while the courier serves both ends (`store::rate_cards_for`).
pub fn set_rate_cards(conn: &mut DbConn, courier_id: i64, cards: &[Rate]) -> Result<Vec<Rate>, AppError> {
    let regions = crate::catalogue::store::units::regions(conn)?;
    let named = cards.iter().enumerate().flat_map(|(i, c)| {
        [
            (format!("rate_cards[{i}].origin_region"), &c.origin_region),
            (format!("rate_cards[{i}].dest_region"), &c.dest_region),
        ]
    });
    crate::validate::fail_if_any(region_faults(named, &regions))?;
    store::clear_rate_cards(conn, courier_id)?;
    for c in cards {
        store::add_rate_card(
            conn,
            courier_id,
            &c.origin_region,
            &c.dest_region,
            c.base_minor,
            c.per_kg_minor,
            c.transit_hours,
        )?;
    }
    rate_cards(conn, courier_id)
}

/// A courier's rate cards, in lane order.
pub fn rate_cards(conn: &mut DbConn, courier_id: i64) -> Result<Vec<Rate>, AppError> {
    Ok(store::rate_cards_of(conn, courier_id)?
        .into_iter()
        .map(|(origin_region, dest_region, base_minor, per_kg_minor, transit_hours)| Rate {
            origin_region,
            dest_region,
            base_minor,
            per_kg_minor,
            transit_hours,
        })
        .collect())
}
