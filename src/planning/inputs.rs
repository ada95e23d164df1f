//! What a planning run reads from the database: the stocking tree with its lead times and
//! lanes, the parts, the demand history (stored weekly history, parts requests, `consume`
//! movements), the causal inputs (failure rates x installed base) and the available stock.

use std::collections::HashMap;

use chrono::{Days, NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::demand::Inputs;
use super::net::{Kind, Net, Node, PartInfo};
use crate::catalogue::rules::Lifecycle;
use crate::db::schema::{
    compatibility, demand_history, failure_rates, lateral_lanes, locations, part_supply_terms, parts,
    parts_request_lines, parts_requests, product_models, request_allocations, stock_balances,
    stock_movements, tiers,
};
use crate::db::DbConn;

/// Weeks of history a run reads.
pub const HISTORY_WEEKS: usize = 26;
/// Supplier lead time when neither the part nor the central warehouse names one.
pub const DEFAULT_SUPPLIER_LEAD_DAYS: u32 = 30;

/// The network as loaded, with the database ids and materialised paths of its nodes.
pub struct Loaded {
    pub net: Net,
    pub node_of: HashMap<i64, u32>,
    pub part_of: HashMap<i64, u32>,
    pub paths: Vec<String>,
}

type LocationLine = (i64, String, String, Option<i64>, String, Option<String>, Option<String>, Option<i32>);

struct Builder {
    net: Net,
    node_of: HashMap<i64, u32>,
    paths: Vec<String>,
    region_of: HashMap<String, u32>,
    from_hq: HashMap<String, bool>,
}

impl Builder {
    fn push(&mut self, r: &LocationLine, kind: Kind, parent: Option<u32>) {
        let name = r.5.clone().unwrap_or_default();
        let next = self.net.regions.len() as u32;
        let region = *self.region_of.entry(name.clone()).or_insert(next);
        if region == next {
            self.net.regions.push(name);
        }
        let tier = r.6.as_deref().and_then(|t| "ABCD".find(t)).unwrap_or(3) as u8;
        let may_order_from_hq =
            kind != Kind::Station || r.6.as_ref().and_then(|t| self.from_hq.get(t)).copied().unwrap_or(false);
        self.node_of.insert(r.0, self.net.nodes.len() as u32);
        self.paths.push(r.4.clone());
        self.net.nodes.push(Node {
            code: r.1.clone(),
            kind,
            parent,
            lead_days: r.7.map(|d| d.max(0) as u32).unwrap_or(1),
            tier,
            may_order_from_hq,
            region,
            db_id: r.0,
        });
    }
}

/// The stocking tree (active locations), lanes and parts (all but obsolete ones).
pub fn load_net(conn: &mut DbConn) -> QueryResult<Option<Loaded>> {
    let rows: Vec<LocationLine> = locations::table
        .filter(locations::active.eq(true))
        .filter(locations::kind.eq_any(["central_warehouse", "regional_centre", "station"]))
        .select((
            locations::id,
            locations::code,
            locations::kind,
            locations::parent_id,
            locations::path,
            locations::region,
            locations::tier,
            locations::lead_time_days,
        ))
        .order(locations::id.asc())
        .load(conn)?;
    let Some(hq) = rows.iter().find(|r| r.2 == "central_warehouse") else { return Ok(None) };
    let hq_id = hq.0;
    let hq_lead = hq.7.map(|d| d.max(0) as u32).unwrap_or(DEFAULT_SUPPLIER_LEAD_DAYS);
    let from_hq: HashMap<String, bool> =
        tiers::table.select((tiers::tier, tiers::may_order_from_hq)).load(conn)?.into_iter().collect();
    let mut b = Builder {
        net: Net::default(),
        node_of: HashMap::new(),
        paths: Vec::new(),
        region_of: HashMap::new(),
        from_hq,
    };
    b.push(hq, Kind::Hq, None);
    for r in rows.iter().filter(|r| r.2 == "regional_centre" && r.3 == Some(hq_id)) {
        b.push(r, Kind::Centre, Some(0));
    }
    b.net.n_centres = b.net.nodes.len() - 1;
    let mut stations: Vec<(u32, &LocationLine)> = rows
        .iter()
        .filter(|r| r.2 == "station")
        .filter_map(|r| Some((*b.node_of.get(&r.3?)?, r)))
        .filter(|(parent, _)| *parent > 0)
        .collect();
    stations.sort_by_key(|(parent, r)| (*parent, r.0));
    for (parent, r) in stations {
        b.push(r, Kind::Station, Some(parent));
    }
    let Builder { mut net, node_of, paths, .. } = b;
    net.lanes = vec![Vec::new(); net.n_centres];
    let lanes: Vec<(i64, i64, i32)> = lateral_lanes::table
        .select((lateral_lanes::centre_id, lateral_lanes::neighbour_id, lateral_lanes::lead_time_days))
        .order((lateral_lanes::centre_id.asc(), lateral_lanes::priority.asc()))
        .load(conn)?;
    for (c, n, lead) in lanes {
        if let (Some(&c), Some(&n)) = (node_of.get(&c), node_of.get(&n)) {
            if (1..=net.n_centres as u32).contains(&c) && (1..=net.n_centres as u32).contains(&n) {
                net.lanes[c as usize - 1].push((n, lead.max(0) as u32));
            }
        }
    }
    let terms: HashMap<i64, i32> = part_supply_terms::table
        .select((part_supply_terms::part_id, part_supply_terms::supplier_lead_days))
        .load(conn)?
        .into_iter()
        .collect();
    let rows: Vec<(i64, String, i64)> = parts::table
        .filter(parts::lifecycle.ne(Lifecycle::Obsolete.as_str()))
        .select((parts::id, parts::code, parts::unit_cost_minor))
        .order(parts::id.asc())
        .load(conn)?;
    let mut part_of = HashMap::new();
    for (id, code, cost) in rows {
        part_of.insert(id, net.parts.len() as u32);
        net.parts.push(PartInfo {
            code,
            unit_cost_minor: cost,
            supplier_lead_days: terms.get(&id).map(|&d| d.max(0) as u32).unwrap_or(hq_lead),
            db_id: id,
        });
    }
    Ok(Some(Loaded { net, node_of, part_of, paths }))
}

/// The Monday that starts the week of `day`.
pub fn week_start(day: NaiveDate) -> NaiveDate {
    use chrono::Datelike;
    day - Days::new(day.weekday().num_days_from_monday() as u64)
}

/// History (stored weekly history, and the consumption of the last weeks, or a station's parts
/// requests where it books no consumption) and the causal rates (failure rates x installed
/// base) of the loaded network.
pub fn demand_inputs(conn: &mut DbConn, l: &Loaded, today: NaiveDate) -> QueryResult<Inputs> {
    let end = week_start(today) + Days::new(7);
    let start = end - Days::new(7 * HISTORY_WEEKS as u64);
    let mut history = vec![Vec::new(); l.net.parts.len()];
    let mut add = |part: i64, loc: i64, day: NaiveDate, qty: i64| {
        let (Some(&p), Some(&n)) = (l.part_of.get(&part), l.node_of.get(&loc)) else { return };
        if l.net.nodes[n as usize].kind != Kind::Station || day < start || day >= end || qty <= 0 {
            return;
        }
        let week = ((day - start).num_days() / 7) as u16;
        history[p as usize].push((n, week, qty.min(u32::MAX as i64) as u32));
    };
    let stored: Vec<(i64, i64, NaiveDate, i64)> = demand_history::table
        .filter(demand_history::week.ge(start))
        .select((
            demand_history::part_id,
            demand_history::location_id,
            demand_history::week,
            demand_history::qty,
        ))
        .load(conn)?;
    for (p, loc, week, qty) in stored {
        add(p, loc, week, qty);
    }
    let since = start.and_hms_opt(0, 0, 0).unwrap_or_default();
    // what a station fits is booked as consumed, from its shelf or from the custody of one of
    // its technicians (a location under the station), which stands for the station here
    let custody: HashMap<i64, i64> = locations::table
        .filter(locations::kind.eq(crate::network::rules::LocationKind::Technician.as_str()))
        .filter(locations::parent_id.is_not_null())
        .select((locations::id, locations::parent_id.assume_not_null()))
        .load::<(i64, i64)>(conn)?
        .into_iter()
        .collect();
    let consumed: Vec<(i64, i64, NaiveDateTime, i64)> = stock_movements::table
        .filter(stock_movements::reason.eq("consume"))
        .filter(stock_movements::at.ge(since))
        .select((
            stock_movements::part_id,
            stock_movements::from_location_id,
            stock_movements::at,
            stock_movements::qty,
        ))
        .load(conn)?;
    let consumed: Vec<_> = consumed
        .into_iter()
        .map(|(p, loc, at, qty)| (p, custody.get(&loc).copied().unwrap_or(loc), at, qty))
        .collect();
    // a station that books what it fits shows its demand there; its parts requests only refill
    // its shelf or bring a ticket's part (booked as consumed when fitted), and counting them
    // too would count each unit twice. A station that books no consumption shows its demand
    // by what it requests.
    let consuming: std::collections::HashSet<i64> = consumed.iter().map(|c| c.1).collect();
    let requested: Vec<(i64, i64, NaiveDateTime, i64)> = parts_request_lines::table
        .inner_join(parts_requests::table)
        .filter(parts_requests::created_at.ge(since))
        .filter(parts_requests::status.ne_all(["cancelled", "rejected"]))
        .select((
            parts_request_lines::part_id,
            parts_requests::station_id,
            parts_requests::created_at,
            parts_request_lines::qty,
        ))
        .load(conn)?;
    for (p, loc, at, qty) in requested {
        if !consuming.contains(&loc) {
            add(p, loc, at.date(), qty);
        }
    }
    for (p, loc, at, qty) in consumed {
        add(p, loc, at.date(), qty);
    }
    // causal: failures per million unit-years x units in service in the region x qty per unit
    let model_ids: HashMap<String, i64> = product_models::table
        .select((product_models::code, product_models::id))
        .load(conn)?
        .into_iter()
        .collect();
    let region_idx: HashMap<&str, u32> =
        l.net.regions.iter().enumerate().map(|(i, r)| (r.as_str(), i as u32)).collect();
    let mut base: HashMap<i64, Vec<(u32, f64)>> = HashMap::new();
    for ib in crate::catalogue::installed_base(conn, None, None, today)? {
        if let (Some(&m), Some(&r)) = (model_ids.get(&ib.model), region_idx.get(ib.region.as_str())) {
            base.entry(m).or_default().push((r, ib.units as f64));
        }
    }
    let rates: Vec<(i64, i64, i64, i32)> = failure_rates::table
        .inner_join(
            compatibility::table.on(compatibility::part_id
                .eq(failure_rates::part_id)
                .and(compatibility::model_id.eq(failure_rates::model_id))),
        )
        .select((
            failure_rates::part_id,
            failure_rates::model_id,
            failure_rates::per_million_years,
            compatibility::qty_per_unit,
        ))
        .load(conn)?;
    let mut causal = vec![Vec::new(); l.net.parts.len()];
    for (part, model, ppm, qty) in rates {
        let Some(&p) = l.part_of.get(&part) else { continue };
        for &(r, units) in base.get(&model).map(Vec::as_slice).unwrap_or(&[]) {
            causal[p as usize].push((r, ppm as f64 / 1e6 * qty.max(1) as f64 * units / 365.0));
        }
    }
    let share = super::demand::shares(&l.net, &history);
    Ok(Inputs { weeks: HISTORY_WEEKS, history, causal, share })
}

/// What is held per (part index, node): (on hand, available = on hand less reserved).
pub fn stock(conn: &mut DbConn, l: &Loaded) -> QueryResult<HashMap<(u32, u32), (i64, i64)>> {
    let rows: Vec<(i64, i64, i64, i64)> = stock_balances::table
        .filter(stock_balances::physical.eq(true))
        .filter(stock_balances::on_hand.gt(0))
        .select((
            stock_balances::part_id,
            stock_balances::location_id,
            stock_balances::on_hand,
            stock_balances::reserved,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(p, loc, h, r)| Some(((*l.part_of.get(&p)?, *l.node_of.get(&loc)?), (h, h - r))))
        .collect())
}

/// What is on order per (part index, station node): the units of the station's open
/// replenishment requests (those not raised for a ticket) that are reserved, picked or shipped
/// to it, and those still backordered. A weekly run counts them in the station's stock
/// position, so that it does not order again what is already on its way.
pub fn on_order(conn: &mut DbConn, l: &Loaded) -> QueryResult<HashMap<(u32, u32), i64>> {
    use crate::requests::rules::{AllocationStatus, Status};
    let open: Vec<&str> = Status::ALL.into_iter().filter(|s| s.is_open()).map(Status::as_str).collect();
    let moving =
        [AllocationStatus::Reserved, AllocationStatus::Picked, AllocationStatus::Shipped].map(|s| s.as_str());
    let allocated: Vec<(i64, i64, i64)> = request_allocations::table
        .inner_join(parts_requests::table.on(parts_requests::id.eq(request_allocations::request_id)))
        .filter(parts_requests::ticket_id.is_null())
        .filter(request_allocations::status.eq_any(moving))
        .select((request_allocations::part_id, parts_requests::station_id, request_allocations::qty))
        .load(conn)?;
    let backordered: Vec<(i64, i64, i64)> = parts_request_lines::table
        .inner_join(parts_requests::table)
        .filter(parts_requests::ticket_id.is_null())
        .filter(parts_requests::status.eq_any(&open))
        .filter(parts_request_lines::backordered.gt(0))
        .select((parts_request_lines::part_id, parts_requests::station_id, parts_request_lines::backordered))
        .load(conn)?;
    let mut out = HashMap::new();
    for (p, loc, q) in allocated.into_iter().chain(backordered) {
        if let (Some(&p), Some(&n)) = (l.part_of.get(&p), l.node_of.get(&loc)) {
            *out.entry((p, n)).or_insert(0) += q;
        }
    }
    Ok(out)
}

/// The units of waiting backorders (open requests' lines, for a shelf or a ticket) that will
/// draw on a node's next arrival, per (part index, node): the source the request names if it
/// names one, else the central warehouse when the station may order from it (a purchase arrives
/// there first and serves them before anything moves on), else the station's own centre. A run
/// counts them as that node's outflow, so that its orders, released in turn, each still find
/// what they were planned to move.
pub fn owed(conn: &mut DbConn, l: &Loaded) -> Result<HashMap<(u32, u32), i64>, crate::error::AppError> {
    let mut serving: HashMap<(i64, Option<i64>), i64> = HashMap::new();
    let mut out = HashMap::new();
    for (part, station_id, named, qty) in crate::requests::store::waiting_backorders(conn)? {
        let node = match serving.get(&(station_id, named)) {
            Some(&n) => n,
            None => {
                let row = crate::network::store::by_id(conn, station_id)?;
                let st = crate::requests::service::station(conn, row)?;
                let n = match (named, st.central) {
                    (Some(source), _) => source,
                    (None, Some(hq)) if st.may_order_from_hq => hq,
                    _ => st.centre,
                };
                serving.insert((station_id, named), n);
                n
            }
        };
        if let (Some(&p), Some(&n)) = (l.part_of.get(&part), l.node_of.get(&node)) {
            *out.entry((p, n)).or_insert(0) += qty;
        }
    }
    Ok(out)
}
