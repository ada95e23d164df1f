//! Loads a generated network for `history::simulate` and writes the year it simulated: tickets,
//! parts requests with their lines (routed, with the first-choice fields the KPIs read),
//! allocations, shipments with their lines and tracking, and every stock change as a movement,
//! with the balances recomputed from the movements so that `echelon audit` stays clean.
//! Rows go in multi-row INSERTs inside the caller's transaction; ids of rows that others point
//! at are assigned here (the tables are empty), and PostgreSQL's sequences are moved past them.

use std::collections::HashMap;

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double};

use super::history::{self, Levels, Min, Network, Places, Planner, Rows, Station};
use super::seed::chunks;
use crate::tools::progress::Rows as Progress;
use echelon::db::schema::{
    lateral_lanes, locations, part_supply_terms, parts, parts_request_lines, parts_requests, product_units,
    request_allocations, shipment_lines, shipments, stock_balances, stock_movements, tickets, tiers,
    tracking_events, users,
};
use echelon::db::DbConn;
use echelon::error::{AppError, Problem};
use echelon::network::rules::LocationKind;

/// What was written.
#[derive(Debug, Default)]
pub struct Written {
    pub tickets: usize,
    pub requests: usize,
    pub lines: usize,
    pub allocations: usize,
    pub shipments: usize,
    pub tracking_events: usize,
    pub movements: usize,
}

#[derive(QueryableByName)]
struct RateRow {
    #[diesel(sql_type = BigInt)]
    part_id: i64,
    #[diesel(sql_type = BigInt)]
    location_id: i64,
    #[diesel(sql_type = Double)]
    per_day: f64,
}

const COURIERS: usize = 4;

/// id, kind, parent, tier, lead time days, region
type LocationLine = (i64, String, Option<i64>, Option<String>, Option<i32>, Option<String>);

fn empty(conn: &mut DbConn) -> QueryResult<bool> {
    let n: i64 = parts_requests::table.count().get_result(conn)?;
    let t: i64 = tickets::table.count().get_result(conn)?;
    let s: i64 = shipments::table.count().get_result(conn)?;
    let r: i64 = stock_balances::table.filter(stock_balances::reserved.ne(0)).count().get_result(conn)?;
    Ok(n + t + s + r == 0)
}

/// The network as the simulation needs it; adds the generated couriers.
fn load(conn: &mut DbConn, at: NaiveDateTime) -> Result<(Network, HashMap<i64, String>), AppError> {
    let locs: Vec<LocationLine> = locations::table
        .select((
            locations::id,
            locations::kind,
            locations::parent_id,
            locations::tier,
            locations::lead_time_days,
            locations::region,
        ))
        .order(locations::id.asc())
        .load(conn)?;
    let hq: HashMap<String, bool> =
        tiers::table.select((tiers::tier, tiers::may_order_from_hq)).load(conn)?.into_iter().collect();
    let warehouse = locs.iter().find(|l| l.1 == "central_warehouse").map(|l| l.0).ok_or_else(|| {
        AppError::bad_request(Problem::NoNetwork, "generate a network first (echelon seed generate)")
    })?;
    let mut lanes: Vec<(i64, i64, i32, i32)> = lateral_lanes::table
        .select((
            lateral_lanes::centre_id,
            lateral_lanes::neighbour_id,
            lateral_lanes::priority,
            lateral_lanes::lead_time_days,
        ))
        .load(conn)?;
    lanes.sort_by_key(|l| (l.0, l.2));
    let mut centres: HashMap<i64, (i64, Vec<(i64, i64)>)> = locs
        .iter()
        .filter(|l| l.1 == "regional_centre")
        .map(|l| (l.0, (i64::from(l.4.unwrap_or(1)), Vec::new())))
        .collect();
    for (c, n, _, lead) in lanes {
        if let Some(e) = centres.get_mut(&c) {
            e.1.push((n, i64::from(lead)));
        }
    }
    let stations: Vec<Station> = locs
        .iter()
        .filter(|l| l.1 == "station")
        .filter_map(|l| {
            Some(Station {
                id: l.0,
                centre: l.2.filter(|p| centres.contains_key(p))?,
                may_order_from_hq: l.3.as_ref().and_then(|t| hq.get(t)).copied().unwrap_or(false),
                lead_days: i64::from(l.4.unwrap_or(1)),
            })
        })
        .collect();
    let regions: HashMap<i64, String> = locs.iter().filter_map(|l| Some((l.0, l.5.clone()?))).collect();
    let costs: Vec<(i64, i64)> = parts::table.select((parts::id, parts::unit_cost_minor)).load(conn)?;
    let leads: HashMap<i64, i32> = part_supply_terms::table
        .select((part_supply_terms::part_id, part_supply_terms::supplier_lead_days))
        .load(conn)?
        .into_iter()
        .collect();
    let parts = costs
        .into_iter()
        .map(|(id, c)| (id, (c, i64::from(leads.get(&id).copied().unwrap_or(30)))))
        .collect();
    let balances: Vec<(i64, i64, i64)> = stock_balances::table
        .filter(stock_balances::physical.eq(true))
        .select((stock_balances::part_id, stock_balances::location_id, stock_balances::on_hand))
        .load(conn)?;
    let opening = balances.into_iter().map(|(p, l, q)| ((p, l), q)).collect();
    let index: HashMap<i64, usize> = stations.iter().enumerate().map(|(i, s)| (s.id, i)).collect();
    let rates: Vec<RateRow> = echelon::on_backend!(conn, |c| diesel::sql_query(
        "SELECT part_id, location_id, CAST(SUM(qty) AS DOUBLE PRECISION) / \
           (7.0 * (SELECT COUNT(DISTINCT week) FROM demand_history)) AS per_day \
         FROM demand_history GROUP BY part_id, location_id ORDER BY part_id, location_id"
    )
    .load::<RateRow>(c))?;
    let rates = rates
        .into_iter()
        .filter_map(|r| Some((r.part_id, *index.get(&r.location_id)?, r.per_day)))
        .filter(|r| r.2 > 0.0)
        .collect();
    let mut couriers = Vec::new();
    for k in 1..=COURIERS {
        let id: i64 = diesel::insert_into(users::table)
            .values((
                users::username.eq(format!("gen-courier-{k}")),
                // no password: generated couriers cannot log in
                users::password_hash.eq("!"),
                users::role.eq("courier"),
                users::display_name.eq(format!("Generated courier {k}")),
                users::active.eq(true),
                users::created_at.eq(at),
            ))
            .returning(users::id)
            .get_result(conn)?;
        couriers.push(id);
    }
    Ok((Network { stations, centres, warehouse, parts, opening, rates, couriers }, regions))
}

/// The weekly planning run of the history: the multi-echelon policy at `target` station fill,
/// on the 26 weeks of demand before the day (the generated `demand_history` taken as the 26
/// weeks before the history starts, then the demand the history diagnosed).
struct WeeklyPlanner<'a> {
    loaded: echelon::planning::inputs::Loaded,
    prior: echelon::planning::demand::Inputs,
    target: f64,
    progress: &'a Progress,
    runs: usize,
}

impl Planner for WeeklyPlanner<'_> {
    fn plan(&mut self, day: i64, seen: &[(i64, i64, i64)]) -> Levels {
        let weeks = self.prior.weeks as i64;
        let (week, net) = (day / 7, &self.loaded.net);
        // the window's weeks: from `week - weeks` (index 0) to `week - 1`
        let first = week - weeks;
        let mut history: Vec<Vec<(u32, u16, u32)>> = vec![Vec::new(); net.parts.len()];
        for (p, h) in self.prior.history.iter().enumerate() {
            for &(n, w, q) in h {
                let at = i64::from(w) - weeks;
                if at >= first {
                    history[p].push((n, (at - first) as u16, q));
                }
            }
        }
        for &(part, station, d) in seen {
            let w = d / 7;
            let (Some(&p), Some(&n)) = (self.loaded.part_of.get(&part), self.loaded.node_of.get(&station))
            else {
                continue;
            };
            if w >= first && w < week {
                history[p as usize].push((n, (w - first) as u16, 1));
            }
        }
        let inputs = echelon::planning::demand::Inputs {
            weeks: self.prior.weeks,
            history,
            causal: self.prior.causal.clone(),
            share: self.prior.share.clone(),
        };
        let rates = echelon::planning::demand::estimate(net, &inputs);
        let target = echelon::planning::policy::Target { fill: Some(self.target), budget_minor: None };
        let plan =
            echelon::planning::policy::multi_echelon(net, &rates, target, &echelon::planning::policy::Silent);
        self.runs += 1;
        if self.runs % 10 == 1 {
            self.progress.stage(&format!("planning run {} (day {day})", self.runs));
        }
        let mut levels = Levels::new();
        for (p, ls) in plan.levels.iter().enumerate() {
            for l in ls {
                let key = (net.parts[p].db_id, net.nodes[l.node as usize].db_id);
                levels.insert(key, (i64::from(l.reorder), i64::from(l.up_to)));
            }
        }
        levels
    }
}

/// How the history replenishes: weekly planning runs at a target station fill, or the old rule
/// (each location reorders what left it, at the opening stock's levels).
#[derive(Debug, Clone, Copy)]
pub enum Replenish {
    Planned { target_fill: f64 },
    OneForOne,
}

/// Simulates `days` ending at `now` and writes them; the network must hold no requests,
/// tickets or shipments yet.
pub fn write_history(
    conn: &mut DbConn,
    days: i64,
    seed: u64,
    replenish: Replenish,
    now: NaiveDateTime,
    progress: &Progress,
) -> Result<Written, AppError> {
    if !empty(conn)? {
        return Err(AppError::conflict(
            Problem::NotEmpty,
            "history is generated once, onto a generated network without requests, tickets or shipments",
        ));
    }
    let start = now - Duration::days(days);
    // the year's months get their partitions of the movements (PostgreSQL) before their rows
    echelon::db::partitions::ensure_months(conn, start.date(), now.date())?;
    // the generated opening stock is the network as it stood when the history starts
    diesel::update(stock_movements::table.filter(stock_movements::reference.eq("opening stock")))
        .set(stock_movements::at.eq(start))
        .execute(conn)?;
    let (net, regions) = load(conn, now)?;
    let place = |conn: &mut DbConn, k| echelon::ledger::store::virtual_place(conn, k).map(|p| p.id);
    let places = Places {
        supplier: place(conn, LocationKind::Supplier)?,
        in_transit: place(conn, LocationKind::InTransit)?,
        customer: place(conn, LocationKind::Customer)?,
    };
    let units: Vec<i64> =
        product_units::table.select(product_units::id).order(product_units::id).load(conn)?;
    if units.is_empty() {
        return Err(AppError::bad_request(Problem::NoNetwork, "the network has no product units sold"));
    }
    progress.stage("network loaded");
    let mut planner = match replenish {
        Replenish::Planned { target_fill } => {
            let loaded = echelon::planning::inputs::load_net(conn)?.ok_or_else(|| {
                AppError::bad_request(Problem::NoNetwork, "generate a network first (echelon seed generate)")
            })?;
            let prior = echelon::planning::inputs::demand_inputs(conn, &loaded, now.date())?;
            Some(WeeklyPlanner { loaded, prior, target: target_fill, progress, runs: 0 })
        }
        Replenish::OneForOne => None,
    };
    let rows = history::simulate(&net, places, days, seed, planner.as_mut().map(|p| p as &mut dyn Planner));
    // about the rows to write: tickets, requests, lines, allocations, shipments with a line
    // and about two tracking events each, movements and a balance per few of them
    crate::tools::progress::expect(
        rows.tickets.len()
            + rows.requests.len()
            + rows.lines.len()
            + rows.allocations.len()
            + rows.shipments.len() * 3
            + rows.movements.len() * 6 / 5,
    );
    progress.stage(&format!(
        "simulated {days} days: {} tickets, {} requests, {} shipments, {} movements",
        rows.tickets.len(),
        rows.requests.len(),
        rows.shipments.len(),
        rows.movements.len()
    ));
    let t = |m: Min| start + Duration::minutes(m);
    let mut out = write_tickets(conn, &rows, &units, &regions, t)?;
    progress.stage("tickets written");
    write_requests(conn, &rows, &net, t, &mut out)?;
    progress.stage("requests, allocations and shipments written");
    write_ledger(conn, &rows, t, &mut out)?;
    progress.stage("movements and balances written");
    // written without the requests' and the ledger's flows: every share and station value at once
    echelon::outstanding::recompute_all(conn)?;
    // the history bypassed the flows: the KPI rollups are recomputed from what it wrote, with
    // statistics of it first (without them PostgreSQL plans the year's scans as if empty)
    if let DbConn::Pg(c) = conn {
        diesel::sql_query("ANALYZE").execute(c)?;
    }
    echelon::rollup::rebuild(conn, chrono::Utc::now().naive_utc())?;
    progress.stage("KPI rollups rebuilt");
    // an imported past has no events (no one could have subscribed to it): the outbox's
    // record, which the audit checks against the changes, starts after it
    echelon::events::keep_since(conn, now.max(chrono::Utc::now().naive_utc()))?;
    if let DbConn::Pg(c) = conn {
        for table in ["tickets", "parts_requests", "parts_request_lines", "request_allocations", "shipments"]
        {
            diesel::sql_query(format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"
            ))
            .execute(c)?;
        }
    }
    Ok(out)
}

fn write_tickets(
    conn: &mut DbConn,
    rows: &Rows,
    units: &[i64],
    regions: &HashMap<i64, String>,
    t: impl Fn(Min) -> NaiveDateTime,
) -> Result<Written, AppError> {
    let data: Vec<_> = rows
        .tickets
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let id = i as i64 + 1;
            let created = t(k.created);
            let resolved = k.resolved.map(&t);
            (
                (
                    tickets::id.eq(id),
                    tickets::channel.eq("phone"),
                    tickets::category.eq("repair"),
                    tickets::urgency.eq("normal"),
                    tickets::status.eq(if resolved.is_some() { "confirmed" } else { "open" }),
                    tickets::customer_name.eq(format!("Customer {id}")),
                    tickets::customer_phone.eq(format!("138{:08}", id % 100_000_000)),
                    tickets::customer_address.eq(format!("{id} Generated Road")),
                    tickets::customer_region.eq(regions.get(&k.station).cloned().unwrap_or_default()),
                    tickets::unit_id.eq(units[(i * 7919) % units.len()]),
                    tickets::fault.eq("part failure (generated history)"),
                    tickets::warranty.eq("in_warranty"),
                ),
                (
                    tickets::warranty_covers.eq("unit"),
                    tickets::warranty_reason.eq("generated history"),
                    tickets::station_id.eq(Some(k.station)),
                    tickets::job_type.eq(Some("repair")),
                    tickets::respond_by.eq(Some(created + Duration::hours(24))),
                    tickets::resolve_by.eq(Some(created + Duration::hours(72))),
                    tickets::responded_at.eq(Some(created + Duration::hours(2))),
                    tickets::resolved_at.eq(resolved),
                    // confirmed by the customer when the repair is done
                    tickets::confirmed_at.eq(resolved),
                    tickets::completed_at.eq(resolved),
                    tickets::created_by.eq("seed"),
                    tickets::created_at.eq(created),
                    tickets::updated_at.eq(resolved.unwrap_or(created)),
                ),
            )
        })
        .collect();
    chunks(conn, &data, |conn, c| {
        echelon::on_backend!(conn, |x| diesel::insert_into(tickets::table).values(c).execute(x))
    })?;
    Ok(Written { tickets: data.len(), ..Written::default() })
}

fn write_requests(
    conn: &mut DbConn,
    rows: &Rows,
    net: &Network,
    t: impl Fn(Min) -> NaiveDateTime,
    out: &mut Written,
) -> Result<(), AppError> {
    let codes: HashMap<i64, String> =
        parts::table.select((parts::id, parts::code)).load(conn)?.into_iter().collect();
    // a request is backordered while a line waits, shipped while units travel, else received
    let mut travelling = vec![false; rows.requests.len()];
    for a in &rows.allocations {
        if a.received.is_none() {
            travelling[rows.lines[a.line].request] = true;
        }
    }
    let data: Vec<_> = rows
        .requests
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let waits = r.lines.iter().any(|&l| rows.lines[l].backordered > 0);
            let status = if waits {
                "backordered"
            } else if travelling[i] {
                "shipped"
            } else {
                "received"
            };
            let value: i64 =
                r.lines.iter().map(|&l| rows.lines[l].qty * net.parts[&rows.lines[l].part].0).sum();
            (
                parts_requests::id.eq(i as i64 + 1),
                parts_requests::station_id.eq(r.station),
                parts_requests::ticket_id.eq(r.ticket.map(|t| t as i64 + 1)),
                parts_requests::urgency.eq(if r.ticket.is_some() { "urgent" } else { "normal" }),
                parts_requests::status.eq(status),
                parts_requests::value_minor.eq(value),
                parts_requests::requested_by.eq("seed"),
                parts_requests::created_at.eq(t(r.at)),
                parts_requests::updated_at.eq(t(r.at)),
            )
        })
        .collect();
    chunks(conn, &data, |conn, c| {
        echelon::on_backend!(conn, |x| diesel::insert_into(parts_requests::table).values(c).execute(x))
    })?;
    out.requests = data.len();
    let data: Vec<_> = rows
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            (
                parts_request_lines::id.eq(i as i64 + 1),
                parts_request_lines::request_id.eq(l.request as i64 + 1),
                parts_request_lines::line_no.eq(l.line_no),
                parts_request_lines::requested_code.eq(codes.get(&l.part).cloned().unwrap_or_default()),
                parts_request_lines::part_id.eq(l.part),
                parts_request_lines::qty.eq(l.qty),
                parts_request_lines::unit_cost_minor.eq(net.parts[&l.part].0),
                parts_request_lines::backordered.eq(l.backordered),
                parts_request_lines::first_source_id.eq(Some(l.first_source)),
                parts_request_lines::first_filled.eq(l.first_filled),
                parts_request_lines::first_stockout.eq(l.first_filled == 0),
                parts_request_lines::routed_at.eq(Some(t(l.at))),
            )
        })
        .collect();
    chunks(conn, &data, |conn, c| {
        echelon::on_backend!(conn, |x| diesel::insert_into(parts_request_lines::table).values(c).execute(x))
    })?;
    out.lines = data.len();
    let data: Vec<_> = rows
        .shipments
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let status = match (s.delivered, s.received) {
                (_, Some(_)) => "received",
                (Some(_), None) => "delivered",
                _ => "in_transit",
            };
            (
                shipments::id.eq(i as i64 + 1),
                shipments::request_id.eq(s.request.map(|r| r as i64 + 1)),
                shipments::origin_id.eq(s.origin),
                shipments::destination_id.eq(s.destination),
                shipments::urgency.eq(if s.request.is_some_and(|r| rows.requests[r].ticket.is_some()) {
                    "urgent"
                } else {
                    "normal"
                }),
                shipments::weight_grams.eq(s.weight_grams),
                shipments::deliver_by.eq(t(s.deliver_by)),
                shipments::status.eq(status),
                shipments::courier_id.eq(Some(s.courier)),
                shipments::picked_up_at.eq(Some(t(s.at))),
                shipments::delivered_at.eq(s.delivered.map(&t)),
                shipments::received_at.eq(s.received.map(&t)),
                shipments::created_at.eq(t(s.at)),
            )
        })
        .collect();
    chunks(conn, &data, |conn, c| {
        echelon::on_backend!(conn, |x| diesel::insert_into(shipments::table).values(c).execute(x))
    })?;
    out.shipments = data.len();
    let names: HashMap<i64, String> =
        net.couriers.iter().enumerate().map(|(k, &id)| (id, format!("gen-courier-{}", k + 1))).collect();
    let mut events = Vec::new();
    for (i, s) in rows.shipments.iter().enumerate() {
        let who = names[&s.courier].clone();
        events.push((i as i64 + 1, "picked_up", t(s.at), who.clone()));
        if let Some(d) = s.delivered {
            events.push((i as i64 + 1, "delivered", t(d), who));
        }
    }
    let data: Vec<_> = events
        .iter()
        .map(|(s, k, at, who)| {
            (
                tracking_events::shipment_id.eq(*s),
                tracking_events::kind.eq(*k),
                tracking_events::at.eq(*at),
                tracking_events::actor.eq(who),
            )
        })
        .collect();
    chunks(conn, &data, |conn, c| {
        echelon::on_backend!(conn, |x| diesel::insert_into(tracking_events::table).values(c).execute(x))
    })?;
    out.tracking_events = data.len();
    let data: Vec<_> = rows
        .allocations
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let l = &rows.lines[a.line];
            (
                request_allocations::id.eq(i as i64 + 1),
                request_allocations::request_id.eq(l.request as i64 + 1),
                request_allocations::line_id.eq(a.line as i64 + 1),
                request_allocations::part_id.eq(l.part),
                request_allocations::source_id.eq(a.source),
                request_allocations::qty.eq(a.qty),
                request_allocations::status.eq(if a.received.is_some() { "received" } else { "shipped" }),
                request_allocations::created_at.eq(t(a.at)),
                request_allocations::updated_at.eq(t(a.received.unwrap_or(a.at))),
            )
        })
        .collect();
    chunks(conn, &data, |conn, c| {
        echelon::on_backend!(conn, |x| diesel::insert_into(request_allocations::table).values(c).execute(x))
    })?;
    out.allocations = data.len();
    let data: Vec<_> = rows
        .allocations
        .iter()
        .enumerate()
        .map(|(i, a)| {
            (
                shipment_lines::shipment_id.eq(a.shipment as i64 + 1),
                shipment_lines::allocation_id.eq(i as i64 + 1),
                shipment_lines::part_id.eq(rows.lines[a.line].part),
                shipment_lines::qty.eq(a.qty),
            )
        })
        .collect();
    chunks(conn, &data, |conn, c| {
        echelon::on_backend!(conn, |x| diesel::insert_into(shipment_lines::table).values(c).execute(x))
    })?;
    Ok(())
}

/// The movements, then every balance recomputed as the opening balance plus what moved.
fn write_ledger(
    conn: &mut DbConn,
    rows: &Rows,
    t: impl Fn(Min) -> NaiveDateTime,
    out: &mut Written,
) -> Result<(), AppError> {
    let data: Vec<_> = rows
        .movements
        .iter()
        .map(|m| {
            (
                stock_movements::part_id.eq(m.part),
                stock_movements::qty.eq(m.qty),
                stock_movements::from_location_id.eq(m.from),
                stock_movements::to_location_id.eq(m.to),
                stock_movements::reason.eq(m.reason),
                stock_movements::reference.eq(Some("generated history")),
                stock_movements::actor.eq(Some("seed")),
                stock_movements::at.eq(t(m.at)),
            )
        })
        .collect();
    chunks(conn, &data, |conn, c| {
        echelon::on_backend!(conn, |x| diesel::insert_into(stock_movements::table).values(c).execute(x))
    })?;
    out.movements = data.len();
    let mut balances: HashMap<(i64, i64), (i64, bool)> = stock_balances::table
        .select((
            stock_balances::part_id,
            stock_balances::location_id,
            stock_balances::on_hand,
            stock_balances::physical,
        ))
        .load::<(i64, i64, i64, bool)>(conn)?
        .into_iter()
        .map(|(p, l, q, ph)| ((p, l), (q, ph)))
        .collect();
    let kinds: HashMap<i64, LocationKind> =
        locations::table.select((locations::id, locations::kind)).load(conn)?.into_iter().collect();
    let physical = |l: i64| kinds.get(&l).is_some_and(|k| !k.is_external());
    for m in &rows.movements {
        balances.entry((m.part, m.from)).or_insert((0, physical(m.from))).0 -= m.qty;
        balances.entry((m.part, m.to)).or_insert((0, physical(m.to))).0 += m.qty;
    }
    let mut all: Vec<_> = balances.into_iter().collect();
    all.sort_unstable_by_key(|b| b.0);
    diesel::delete(stock_balances::table).execute(conn)?;
    let data: Vec<_> = all
        .iter()
        .map(|&((p, l), (q, ph))| {
            (
                stock_balances::part_id.eq(p),
                stock_balances::location_id.eq(l),
                stock_balances::on_hand.eq(q),
                stock_balances::reserved.eq(0i64),
                stock_balances::physical.eq(ph),
            )
        })
        .collect();
    chunks(conn, &data, |conn, c| {
        echelon::on_backend!(conn, |x| diesel::insert_into(stock_balances::table).values(c).execute(x))
    })?;
    Ok(())
}
