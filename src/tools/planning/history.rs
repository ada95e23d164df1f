//! `echelon seed history`: a year of operations on a generated network, for the KPI benchmark
//! (issue 13). Replays demand drawn from the network's own `demand_history` rates through the
//! same routing the requests service uses (own centre, then the warehouse when the tier
//! allows, then the centre's lateral lanes, else a backorder at the own centre), with
//! base-stock replenishment: a station asks once a day for what it used from its shelf, a
//! centre orders from the warehouse what it shipped out or owes, the warehouse buys weekly
//! from the supplier. Every repair is a ticket; a ticket whose part is not on the station's
//! shelf waits for a parts request. Everything follows from the seed.
//!
//! With a `Planner` (the default of `seed history`), the network is run the way its staff
//! would run it with echelon: a planning run each week (the multi-echelon policy at the chosen
//! target, on the demand seen so far) sets every location's reorder point and order-up-to
//! level, and each evening every location whose inventory position (on hand + on order - owed)
//! has fallen to its reorder point orders up to its level: a station with a parts request, a
//! centre from the warehouse, the warehouse from the supplier (received after the part's lead
//! time), as the run's proposals, released, would. The history starts with every location at
//! the first run's order-up-to level (a network already planned with echelon). Without one,
//! the old rule: a station asks for what it used, a centre for what it shipped, the warehouse
//! buys weekly.
//!
//! This module only simulates and collects the rows (`Rows`); `history_write` loads the
//! network and writes them. Flows still under way at the end of the year are left in the
//! state they reached: lines backordered, shipments in transit or delivered and not yet
//! received, tickets open.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};

use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, Exp, LogNormal};

/// Minutes since the start of the history.
pub type Min = i64;

const HOUR: Min = 60;
const DAY: Min = 24 * HOUR;

/// Reorder point and order-up-to level per (part, location).
pub type Levels = HashMap<(i64, i64), (i64, i64)>;

/// Plans the network's levels (`history_write` plans with the multi-echelon policy).
pub trait Planner {
    /// The levels to hold from day `day` on, given every unit of demand diagnosed so far at a
    /// station: (part, station id, day).
    fn plan(&mut self, day: i64, seen: &[(i64, i64, i64)]) -> Levels;
}

/// A station as routing sees it.
pub struct Station {
    pub id: i64,
    pub centre: i64,
    pub may_order_from_hq: bool,
    /// days from its centre
    pub lead_days: i64,
}

/// What the simulation starts from (loaded by `history_write::load`).
pub struct Network {
    pub stations: Vec<Station>,
    /// centre id -> (lead days from the warehouse, lateral lanes as (centre, lead days))
    pub centres: HashMap<i64, (i64, Vec<(i64, i64)>)>,
    pub warehouse: i64,
    /// part id -> (unit cost, supplier lead days)
    pub parts: HashMap<i64, (i64, i64)>,
    /// (part, location) -> units on hand at the start
    pub opening: HashMap<(i64, i64), i64>,
    /// (part, station index, mean units a day)
    pub rates: Vec<(i64, usize, f64)>,
    /// courier user ids
    pub couriers: Vec<i64>,
}

pub struct Request {
    pub station: i64,
    pub ticket: Option<usize>,
    pub at: Min,
    pub lines: Vec<usize>,
}

pub struct Line {
    pub request: usize,
    pub line_no: i32,
    pub part: i64,
    pub qty: i64,
    pub backordered: i64,
    pub first_source: i64,
    pub first_filled: i64,
    pub at: Min,
}

pub struct Allocation {
    pub line: usize,
    pub source: i64,
    pub qty: i64,
    pub at: Min,
    /// when the units reached the station, if they did within the history
    pub received: Option<Min>,
    pub shipment: usize,
}

pub struct Shipment {
    pub request: Option<usize>,
    pub origin: i64,
    pub destination: i64,
    pub at: Min,
    pub deliver_by: Min,
    pub courier: i64,
    pub delivered: Option<Min>,
    pub received: Option<Min>,
    pub weight_grams: i64,
}

pub struct Ticket {
    pub station: i64,
    pub created: Min,
    pub resolved: Option<Min>,
}

/// A ledger movement: part, qty, from, to, reason, at, reference.
pub struct Movement {
    pub part: i64,
    pub qty: i64,
    pub from: i64,
    pub to: i64,
    pub reason: &'static str,
    pub at: Min,
}

/// The virtual places movements pass through.
#[derive(Clone, Copy)]
pub struct Places {
    pub supplier: i64,
    pub in_transit: i64,
    pub customer: i64,
}

#[derive(Default)]
pub struct Rows {
    pub requests: Vec<Request>,
    pub lines: Vec<Line>,
    pub allocations: Vec<Allocation>,
    pub shipments: Vec<Shipment>,
    pub tickets: Vec<Ticket>,
    pub movements: Vec<Movement>,
}

enum Ev {
    /// a unit of demand diagnosed at a station (station index)
    Demand(i64, usize),
    /// units reaching a stocking location's shelf
    Arrive(i64, i64, i64),
    /// a ticket's parts reached the station
    TicketParts(usize, i64),
    DayEnd(i64),
}

/// Units owed by a centre (to a station's line) or by the warehouse (to a centre).
struct Claim {
    qty: i64,
    line: Option<usize>,
    to: i64,
}

struct Sim<'a> {
    net: &'a Network,
    places: Places,
    end: Min,
    rng: ChaCha8Rng,
    on_hand: HashMap<(i64, i64), i64>,
    queue: HashMap<(i64, i64), VecDeque<Claim>>,
    /// (station, part) -> units used from the shelf today
    used: HashMap<(i64, i64), i64>,
    /// (centre, part) -> units to order from the warehouse tonight
    centre_orders: HashMap<(i64, i64), i64>,
    /// part -> units to buy this week
    buy: HashMap<i64, i64>,
    events: BinaryHeap<Reverse<(Min, u64, usize)>>,
    pending: Vec<Option<Ev>>,
    seq: u64,
    station_index: HashMap<i64, usize>,
    /// the ticket waiting for each line's units
    line_ticket: HashMap<usize, usize>,
    /// (centre, part) a centre keeps on its shelf: what it held at the start, and what a
    /// station once asked of it in vain (it then stocks one more than it ships)
    stocked: std::collections::HashSet<(i64, i64)>,
    rows: Rows,
    /// the planned levels (with a planner)
    levels: Option<Levels>,
    /// (part, location) -> units ordered for its shelf and not yet arrived (with a planner)
    on_order: HashMap<(i64, i64), i64>,
    /// (part, location) whose position changed since the evening's check (with a planner)
    touched: std::collections::BTreeSet<(i64, i64)>,
    /// every unit of demand so far: (part, station, day)
    seen: Vec<(i64, i64, i64)>,
}

impl Sim<'_> {
    fn push(&mut self, at: Min, ev: Ev) {
        if at <= self.end {
            self.seq += 1;
            self.pending.push(Some(ev));
            self.events.push(Reverse((at, self.seq, self.pending.len() - 1)));
        }
    }

    fn hours(&mut self, median: f64, sigma: f64) -> Min {
        let d = LogNormal::new(median.ln(), sigma).map(|d| d.sample(&mut self.rng)).unwrap_or(median);
        (d * HOUR as f64) as Min + 1
    }

    fn moved(&mut self, part: i64, qty: i64, from: i64, to: i64, reason: &'static str, at: Min) {
        if at <= self.end {
            self.rows.movements.push(Movement { part, qty, from, to, reason, at });
        }
    }

    /// A shipment picked up at `at`, due as the shipping service sets `deliver_by` from the
    /// lane's lead time; transit around it, some couriers later than others.
    fn ship(
        &mut self,
        origin: i64,
        destination: i64,
        request: Option<usize>,
        at: Min,
        lead_days: i64,
        weight_grams: i64,
    ) -> usize {
        let urgent = request.is_some_and(|r| self.rows.requests[r].ticket.is_some());
        let zero = chrono::NaiveDateTime::default();
        let lead = (echelon::shipping::rules::deliver_by(zero, lead_days, urgent) - zero).num_minutes();
        let k = self.rng.random_range(0..self.net.couriers.len());
        let on_time = [0.96, 0.92, 0.86, 0.9][k % 4];
        let transit = if self.rng.random_bool(on_time) {
            (lead as f64 * self.rng.random_range(0.4..1.0)) as Min
        } else {
            (lead as f64 * self.rng.random_range(1.0..1.8)) as Min + HOUR
        };
        let delivered = at + transit;
        let received = delivered + self.hours(1.0, 0.5);
        self.rows.shipments.push(Shipment {
            request,
            origin,
            destination,
            at,
            deliver_by: at + lead,
            courier: self.net.couriers[k],
            delivered: (delivered <= self.end).then_some(delivered),
            received: (received <= self.end).then_some(received),
            weight_grams,
        });
        self.rows.shipments.len() - 1
    }

    /// Ships `qty` of a line from `source` to the line's station now.
    fn allocate(&mut self, line: usize, source: i64, qty: i64, at: Min) {
        let (part, req) = (self.rows.lines[line].part, self.rows.lines[line].request);
        let station = self.rows.requests[req].station;
        let si = self.station_index[&station];
        let st = &self.net.stations[si];
        let lead = if source == st.centre {
            st.lead_days
        } else if source == self.net.warehouse {
            self.net.centres[&st.centre].0 + st.lead_days
        } else {
            let lanes = &self.net.centres[&st.centre].1;
            lanes.iter().find(|(c, _)| *c == source).map_or(2, |(_, d)| *d) + st.lead_days
        };
        let s = self.ship(source, station, Some(req), at, lead, 500 * qty);
        let received = self.rows.shipments[s].received;
        self.moved(part, qty, source, self.places.in_transit, "transfer_ship", at);
        if let Some(r) = received {
            self.moved(part, qty, self.places.in_transit, station, "transfer_receive", r);
            match self.line_ticket.get(&line).copied() {
                Some(t) => self.push(r, Ev::TicketParts(t, part)),
                None => self.push(r, Ev::Arrive(station, part, qty)),
            }
        }
        self.rows.allocations.push(Allocation { line, source, qty, at, received, shipment: s });
        // what left a centre is ordered from the warehouse tonight; the warehouse buys weekly
        if self.levels.is_some() {
            self.touched.insert((part, source));
        } else if source == self.net.warehouse {
            *self.buy.entry(part).or_default() += qty;
        } else {
            *self.centre_orders.entry((source, part)).or_default() += qty;
        }
    }

    fn take(&mut self, loc: i64, part: i64, want: i64) -> i64 {
        let have = self.on_hand.entry((part, loc)).or_default();
        let took = want.min(*have).max(0);
        *have -= took;
        took
    }

    /// A station's request, one line per (part, qty), routed as the requests service does.
    fn request(&mut self, station: usize, ticket: Option<usize>, wants: &[(i64, i64)], at: Min) {
        let st = &self.net.stations[station];
        let (sid, centre) = (st.id, st.centre);
        let mut sources = vec![centre];
        if st.may_order_from_hq {
            sources.push(self.net.warehouse);
        }
        sources.extend(self.net.centres[&centre].1.iter().map(|(c, _)| *c));
        let req = self.rows.requests.len();
        self.rows.requests.push(Request { station: sid, ticket, at, lines: Vec::new() });
        for (i, &(part, qty)) in wants.iter().enumerate() {
            let line = self.rows.lines.len();
            self.rows.lines.push(Line {
                request: req,
                line_no: i as i32 + 1,
                part,
                qty,
                backordered: 0,
                first_source: centre,
                first_filled: 0,
                at,
            });
            self.rows.requests[req].lines.push(line);
            if let Some(t) = ticket {
                self.line_ticket.insert(line, t);
            }
            let mut need = qty;
            for (k, &src) in sources.iter().enumerate() {
                let took = self.take(src, part, need);
                if k == 0 {
                    self.rows.lines[line].first_filled = took;
                    if took == 0 && self.levels.is_none() && self.stocked.insert((centre, part)) {
                        *self.centre_orders.entry((centre, part)).or_default() += 1;
                    }
                }
                if took > 0 {
                    self.allocate(line, src, took, at);
                    need -= took;
                }
                if need == 0 {
                    break;
                }
            }
            if need > 0 {
                self.rows.lines[line].backordered = need;
                self.queue.entry((part, centre)).or_default().push_back(Claim {
                    qty: need,
                    line: Some(line),
                    to: sid,
                });
                if self.levels.is_some() {
                    self.touched.insert((part, centre));
                } else {
                    *self.centre_orders.entry((centre, part)).or_default() += need;
                }
            }
        }
    }

    /// Units on a shelf serve what is owed there first, first come first served.
    fn arrive(&mut self, loc: i64, part: i64, qty: i64, at: Min) {
        *self.on_hand.entry((part, loc)).or_default() += qty;
        if self.levels.is_some() {
            *self.on_order.entry((part, loc)).or_default() -= qty;
        }
        while let Some(c) = self.queue.get_mut(&(part, loc)).and_then(|q| q.front_mut()) {
            let take = c.qty.min(self.on_hand[&(part, loc)]);
            if take == 0 {
                break;
            }
            c.qty -= take;
            let (line, to, done) = (c.line, c.to, c.qty == 0);
            if done {
                self.queue.get_mut(&(part, loc)).and_then(VecDeque::pop_front);
            }
            *self.on_hand.entry((part, loc)).or_default() -= take;
            match line {
                Some(l) => {
                    self.rows.lines[l].backordered -= take;
                    self.allocate(l, loc, take, at);
                    // the centre ordered these when it queued them: do not order them twice
                    if let Some(o) = self.centre_orders.get_mut(&(loc, part)) {
                        *o -= take;
                    }
                }
                None => self.replenish_centre(to, part, take, at),
            }
        }
    }

    /// The warehouse ships `qty` of a part to a centre.
    fn replenish_centre(&mut self, centre: i64, part: i64, qty: i64, at: Min) {
        let wh = self.net.warehouse;
        let lead = self.net.centres[&centre].0;
        let s = self.ship(wh, centre, None, at, lead, 500 * qty);
        self.moved(part, qty, wh, self.places.in_transit, "transfer_ship", at);
        if let Some(r) = self.rows.shipments[s].received {
            self.moved(part, qty, self.places.in_transit, centre, "transfer_receive", r);
            self.push(r, Ev::Arrive(centre, part, qty));
        }
    }

    /// A centre's order of `qty` from the warehouse: shipped now as far as the warehouse has
    /// it, the rest owed to the centre there (shipped when stock arrives).
    fn order_from_warehouse(&mut self, centre: i64, part: i64, qty: i64, at: Min) {
        let took = self.take(self.net.warehouse, part, qty);
        if took > 0 {
            self.replenish_centre(centre, part, took, at);
        }
        if qty > took {
            let owed = Claim { qty: qty - took, line: None, to: centre };
            self.queue.entry((part, self.net.warehouse)).or_default().push_back(owed);
        }
    }

    /// The warehouse buys `qty` from the supplier, received after the part's lead time.
    fn buy_now(&mut self, part: i64, qty: i64, at: Min) {
        let lead = self.net.parts.get(&part).map_or(30, |p| p.1).max(1);
        let arrives = at + lead * DAY;
        self.moved(part, qty, self.places.supplier, self.net.warehouse, "purchase_receipt", arrives);
        self.push(arrives, Ev::Arrive(self.net.warehouse, part, qty));
    }

    /// (part, location)'s inventory position: on hand + on order - owed there.
    fn position(&self, part: i64, loc: i64) -> i64 {
        let owed: i64 = self.queue.get(&(part, loc)).map_or(0, |q| q.iter().map(|c| c.qty).sum());
        self.on_hand.get(&(part, loc)).copied().unwrap_or(0)
            + self.on_order.get(&(part, loc)).copied().unwrap_or(0)
            - owed
    }

    /// What (part, location) orders tonight: up to its level when its position is at or below
    /// its reorder point.
    fn short(&self, part: i64, loc: i64) -> i64 {
        let Some(&(reorder, up_to)) = self.levels.as_ref().and_then(|l| l.get(&(part, loc))) else {
            return 0;
        };
        let pos = self.position(part, loc);
        if pos <= reorder {
            up_to - pos
        } else {
            0
        }
    }

    /// The evening under planned levels: stations, then centres, then the warehouse order up
    /// to their levels (each after the orders below it, which it must serve).
    fn day_end_planned(&mut self, at: Min) {
        let used: Vec<(i64, i64)> = self.used.drain().map(|((s, p), _)| (p, s)).collect();
        self.touched.extend(used);
        let mut pending = std::mem::take(&mut self.touched);
        // stations: one request each, its lines in part order
        let mut asks: Vec<(i64, i64, i64)> = pending
            .iter()
            .filter(|(_, l)| self.station_index.contains_key(l))
            .map(|&(p, l)| (l, p, self.short(p, l)))
            .filter(|a| a.2 > 0)
            .collect();
        asks.sort_unstable();
        let mut i = 0;
        while i < asks.len() {
            let station = asks[i].0;
            let wants: Vec<(i64, i64)> =
                asks[i..].iter().take_while(|a| a.0 == station).map(|a| (a.1, a.2)).collect();
            i += wants.len();
            for &(part, qty) in &wants {
                *self.on_order.entry((part, station)).or_default() += qty;
            }
            self.request(self.station_index[&station], None, &wants, at);
        }
        // centres: from the warehouse, what it has now, the rest owed to them there
        pending.append(&mut self.touched);
        let centres: Vec<(i64, i64)> =
            pending.iter().filter(|(_, l)| self.net.centres.contains_key(l)).copied().collect();
        let wh = self.net.warehouse;
        for (part, centre) in centres {
            let qty = self.short(part, centre);
            if qty <= 0 {
                continue;
            }
            *self.on_order.entry((part, centre)).or_default() += qty;
            self.order_from_warehouse(centre, part, qty, at);
            pending.insert((part, wh));
        }
        // the warehouse: from the supplier, after the part's lead time
        pending.append(&mut self.touched);
        let parts: Vec<i64> = pending.iter().filter(|&&(_, l)| l == wh).map(|&(p, _)| p).collect();
        for part in parts {
            let qty = self.short(part, wh);
            if qty <= 0 {
                continue;
            }
            *self.on_order.entry((part, wh)).or_default() += qty;
            self.buy_now(part, qty, at);
        }
    }

    /// The network as the first planning run leaves it: every location holds its order-up-to
    /// level when the history starts (the units beyond the opening stock received from the
    /// supplier at the start), as a network planned with echelon before the year would.
    fn stock_up(&mut self) {
        let mut short: Vec<((i64, i64), i64)> = self
            .levels
            .iter()
            .flatten()
            .map(|(&key, &(_, up_to))| (key, up_to - self.on_hand.get(&key).copied().unwrap_or(0)))
            .filter(|s| s.1 > 0)
            .collect();
        short.sort_unstable();
        for ((part, loc), qty) in short {
            *self.on_hand.entry((part, loc)).or_default() += qty;
            self.moved(part, qty, self.places.supplier, loc, "purchase_receipt", 0);
        }
    }

    /// A planning run: the new levels, and every location checked against them tonight.
    fn replan(&mut self, planner: &mut dyn Planner, day: i64) {
        let levels = planner.plan(day, &self.seen);
        self.touched.extend(levels.keys().copied());
        self.levels = Some(levels);
    }

    fn day_end(&mut self, day: i64, at: Min) {
        if self.levels.is_some() {
            return self.day_end_planned(at);
        }
        // stations ask for what they used today, one request each
        let mut used: Vec<((i64, i64), i64)> = self.used.drain().collect();
        used.sort_unstable();
        let mut i = 0;
        while i < used.len() {
            let station = used[i].0 .0;
            let wants: Vec<(i64, i64)> =
                used[i..].iter().take_while(|u| u.0 .0 == station).map(|u| (u.0 .1, u.1)).collect();
            i += wants.len();
            self.request(self.station_index[&station], None, &wants, at);
        }
        // centres order from the warehouse what left them or what they owe
        let mut orders: Vec<((i64, i64), i64)> = self.centre_orders.drain().filter(|o| o.1 > 0).collect();
        orders.sort_unstable();
        for ((centre, part), qty) in orders {
            self.order_from_warehouse(centre, part, qty, at);
            *self.buy.entry(part).or_default() += qty;
        }
        // the warehouse buys weekly what it shipped; the supplier delivers after its lead time
        if day % 7 == 6 {
            let mut buy: Vec<(i64, i64)> = self.buy.drain().filter(|b| b.1 > 0).collect();
            buy.sort_unstable();
            for (part, qty) in buy {
                self.buy_now(part, qty, at);
            }
        }
    }

    fn demand(&mut self, part: i64, station: usize, at: Min) {
        let sid = self.net.stations[station].id;
        // the ticket came in before the diagnosis visit that found the part to replace
        let created = at - self.hours(14.0, 0.7);
        let t = self.rows.tickets.len();
        self.rows.tickets.push(Ticket { station: sid, created, resolved: None });
        self.seen.push((part, sid, at / DAY));
        if self.take(sid, part, 1) == 1 {
            self.moved(part, 1, sid, self.places.customer, "consume", at);
            *self.used.entry((sid, part)).or_default() += 1;
            let done = at + self.hours(2.0, 0.5);
            self.rows.tickets[t].resolved = (done <= self.end).then_some(done);
        } else {
            self.request(station, Some(t), &[(part, 1)], at);
        }
    }

    fn ticket_parts(&mut self, t: usize, part: i64, at: Min) {
        let sid = self.rows.tickets[t].station;
        let fit = at + self.hours(6.0, 0.8);
        self.moved(part, 1, sid, self.places.customer, "consume", fit);
        let done = fit + self.hours(1.0, 0.5);
        self.rows.tickets[t].resolved = (done <= self.end).then_some(done);
    }
}

/// Simulates `days` of operations from the network's opening stock; with a planner, planned
/// each week (on the first day and every seventh after).
pub fn simulate(
    net: &Network,
    places: Places,
    days: i64,
    seed: u64,
    mut planner: Option<&mut dyn Planner>,
) -> Rows {
    let end = days * DAY;
    let mut sim = Sim {
        net,
        places,
        end,
        rng: ChaCha8Rng::seed_from_u64(seed ^ 0x6b70_6962),
        on_hand: net.opening.clone(),
        queue: HashMap::new(),
        used: HashMap::new(),
        centre_orders: HashMap::new(),
        buy: HashMap::new(),
        events: BinaryHeap::new(),
        pending: Vec::new(),
        seq: 0,
        station_index: net.stations.iter().enumerate().map(|(i, s)| (s.id, i)).collect(),
        line_ticket: HashMap::new(),
        stocked: net
            .opening
            .keys()
            .filter(|(_, l)| net.centres.contains_key(l))
            .map(|&(p, l)| (l, p))
            .collect(),
        rows: Rows::default(),
        levels: None,
        on_order: HashMap::new(),
        touched: Default::default(),
        seen: Vec::new(),
    };
    if let Some(p) = planner.as_deref_mut() {
        sim.replan(p, 0);
        sim.stock_up();
    }
    // demand: a Poisson process per (part, station) at its historical rate, in working hours
    let mut draws = ChaCha8Rng::seed_from_u64(seed);
    for &(part, station, rate) in &net.rates {
        let Ok(gap) = Exp::new(rate) else { continue };
        let mut day = gap.sample(&mut draws);
        while day < days as f64 {
            let at = (day.floor() as Min) * DAY + draws.random_range(8 * HOUR..18 * HOUR);
            sim.push(at, Ev::Demand(part, station));
            day += gap.sample(&mut draws);
        }
    }
    for d in 0..days {
        sim.push(d * DAY + 20 * HOUR, Ev::DayEnd(d));
    }
    while let Some(Reverse((at, _, i))) = sim.events.pop() {
        match sim.pending[i].take() {
            Some(Ev::Demand(part, station)) => sim.demand(part, station, at),
            Some(Ev::Arrive(loc, part, qty)) => sim.arrive(loc, part, qty, at),
            Some(Ev::TicketParts(t, part)) => sim.ticket_parts(t, part, at),
            Some(Ev::DayEnd(d)) => {
                if d > 0 && d % 7 == 0 {
                    if let Some(p) = planner.as_deref_mut() {
                        sim.replan(p, d);
                    }
                }
                sim.day_end(d, at)
            }
            None => {}
        }
    }
    sim.rows
}
