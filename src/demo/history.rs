//! About 90 days of demo history ending at load time (spec section 17), drawn from a fixed
//! seed so every load tells the same story relative to its day (the weekly plan reads demand by
//! calendar week, so its orders can differ a little between loading days).
//!
//! Nothing is written by hand: every step is a call of the domain service the HTTP handler of
//! that step calls, as the demo user who would take it, at a back-dated `now`. Steps run in
//! time order from one queue (a ticket's next step is queued when its previous one is done),
//! so the ledger, the rollups, the outstanding values and the settlement see the same events,
//! in the same order, as a server would have seen them, and `echelon audit` is clean.
//!
//! What it makes, all at `ST-TZ-001` (the demo station, with its technician) and its suppliers:
//! tickets of every kind (consultations, declined quotes, repairs without parts, paid repairs
//! with a part from the station's stock or asked for the ticket, warranty repairs waiting for a
//! board, escalations), a weekly planning run with its orders released (the station's by a
//! replenishment request, shipped after a tender; the last one with a line on backorder),
//! urgent requests for tickets (shipped by rate card, one delivered damaged: a claim and its
//! replacement), loans
//! (reconciled by fee, by core return, returned unused, some cores still due or overdue), a
//! daily follow-up sample with the calls' results, and the settlement months closed by finance
//! on the third of the next month.
//!
//! Then the showcase, so that every state is on show: tickets started close to the load, the
//! last week's order with its tender and backorder, a request received, one to pick, two over
//! the allowance, the last planning run, the last day's follow-up sample. These are the objects
//! the API documentation's examples name, so they are made after the history, back-dated to
//! their times, numbered from [`SHOWCASE_IDS_FROM`] in their tables and drawn from their own
//! seed: their ids and states do not depend on what the history made before them, which moves
//! with the time of day and the date of the load (calendar weeks and months, the day a unit's
//! age is counted from). A month close falling among them is made with them.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use diesel::prelude::*;
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

use crate::auth::{Caller, Role, Scope};
use crate::db::schema::{compatibility, part_serials, parts, product_models, product_units, stock_balances};
use crate::db::DbConn;
use crate::error::AppError;
use crate::loans::service::{self as loans, How, LendLine};
use crate::requests::service::{self as requests, ReceiptLine, RequestSpec, RoutingCache};
use crate::requests::store as request_store;
use crate::settlement::rules::Period;
use crate::shipping::rules::{EventKind, ShipmentStatus, TenderStatus};
use crate::shipping::service as shipping;
use crate::shipping::store as shipping_store;
use crate::tickets::followups::{self, CallResult, Conduct};
use crate::tickets::rules::{Category, Channel, JobType, Urgency, Warranty};
use crate::tickets::service::{self as tickets, DispatchSpec, Intake, LineSpec, QuoteSpec, ResolveSpec};

/// The seed of every demo load.
const SEED: u64 = 0x0ec4_e10d;
/// The seed of the showcase's draws.
const SHOWCASE_SEED: u64 = 0x5ca5_e001;
/// Days of history.
pub const DAYS: i64 = 90;
/// The showcase makes what settles (a request received, loans, tickets resolved) within this
/// span before the load: a month close that falls within it is made with the showcase, after
/// what it settles of the month.
const SHOWCASE_SPAN: Duration = Duration::hours(73);
/// The showcase's objects (the ones the API documentation's examples name) are numbered from
/// here in each of these tables, whatever the history before them made: the history makes far
/// fewer of each.
pub const SHOWCASE_IDS_FROM: i64 = 1001;
/// The proposals of the showcase's last planning run are numbered from here (the run before it
/// proposes fewer).
pub const SHOWCASE_LAST_RUN_PROPOSALS_FROM: i64 = 1011;
const SHOWCASE_TABLES: [&str; 9] = [
    "tickets",
    "parts_requests",
    "shipments",
    "tenders",
    "follow_ups",
    "planning_runs",
    "planning_proposals",
    "loans",
    "inspections",
];
const STATION: &str = "ST-TZ-001";
const DESK: &str = "station-st-tz-001";
const TECH: &str = "tech-st-tz-001";
const AGENT: &str = "agent";
const CENTRE: &str = "RC-HZ";
const HQ: &str = "HQ";
const CENTRE_STAFF: &str = "warehouse-rc-hz";
const HQ_STAFF: &str = "warehouse-hq";
const FINANCE: &str = "finance";
const ADMIN: &str = "admin";
/// The station fill the centre's weekly plan aims at.
const TARGET_FILL: f64 = 0.98;
/// The follow-up share drawn each day (basis points).
const FOLLOWUP_SHARE_BP: u32 = 1000;

/// The station ERP's webhook receiver: on the demo's own machine (`serve --demo` allows
/// `localhost`), where `nc -lk 9000` shows what arrives once the subscription is resumed.
const RECEIVER: &str = "http://localhost:9000/echelon-hooks";

/// The desk pauses its subscription at the load, so a fresh demo sends nothing until someone
/// resumes it (`PATCH /webhooks/subscriptions/1` with `{"active": true}`); its deliveries wait.
fn pause_receiver(conn: &mut DbConn, now: DateTime<Utc>) -> Result<(), AppError> {
    use crate::db::schema::webhook_subscriptions;
    use crate::webhooks::store::{self as hooks, SubscriptionChanges};
    let ids: Vec<i64> = webhook_subscriptions::table.select(webhook_subscriptions::id).load(conn)?;
    for id in ids {
        hooks::change(
            conn,
            id,
            &SubscriptionChanges {
                active: Some(false),
                updated_at: Some(now.naive_utc()),
                ..Default::default()
            },
        )?;
    }
    Ok(())
}

/// Sets the id sequences of the showcase's tables so that their next row is numbered
/// [`SHOWCASE_IDS_FROM`].
fn reserve_showcase_ids(conn: &mut DbConn) -> Result<(), AppError> {
    for table in SHOWCASE_TABLES {
        reserve_ids(conn, table, SHOWCASE_IDS_FROM)?;
    }
    Ok(())
}

/// Sets a table's id sequence so that its next row is numbered `from`, alike on both engines;
/// an error if the table already holds that id or a later one.
fn reserve_ids(conn: &mut DbConn, table: &str, from: i64) -> Result<(), AppError> {
    use diesel::sql_types::{BigInt, Text};
    #[derive(QueryableByName)]
    struct Max {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let last = from - 1;
    let sql = format!("SELECT COALESCE(MAX(id), 0) AS n FROM {table}");
    let max = crate::on_backend!(conn, |c| diesel::sql_query(&sql).get_result::<Max>(c))?.n;
    if max > last {
        return Err(AppError::internal(anyhow::anyhow!(
            "demo history: {table} already numbered up to {max}, the showcase's are from {from}"
        )));
    }
    match conn {
        DbConn::Pg(c) => {
            diesel::sql_query("SELECT setval(pg_get_serial_sequence($1, 'id'), $2)")
                .bind::<Text, _>(table)
                .bind::<BigInt, _>(last)
                .execute(c)?;
        }
        DbConn::Sqlite(c) => {
            diesel::sql_query("DELETE FROM sqlite_sequence WHERE name = ?")
                .bind::<Text, _>(table)
                .execute(c)?;
            diesel::sql_query("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)")
                .bind::<Text, _>(table)
                .bind::<BigInt, _>(last)
                .execute(c)?;
        }
    }
    Ok(())
}

/// What the history holds, counted as it was made.
#[derive(Debug, Default, Clone)]
pub struct HistorySummary {
    pub tickets: usize,
    pub requests: usize,
    pub loans: usize,
    pub tenders: usize,
    pub follow_ups: usize,
    pub periods_closed: usize,
    pub planning_runs: usize,
    /// the weekly runs' proposals released (the station's by parts request)
    pub proposals_released: usize,
}

/// What a ticket goes through, decided at intake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// answered by phone and closed
    Consultation,
    /// quoted, the customer declined
    Declined,
    /// a visit without parts
    Simple,
    /// a part lent from the station's stock (paid by fee out of warranty; in warranty brought
    /// back unused, or its core still due)
    StockPart,
    /// in warranty, the board is missing: parts requested for the ticket, then fitted and its
    /// core returned
    Board,
    /// not fixed on the first visit
    Escalated,
}

/// One step of a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Act {
    Quote(Option<String>),
    AcceptQuote,
    Dispatch,
    Lend(String),
    Arrive,
    /// `await_parts` and the urgent request for the board; the ticket waits for the receipt
    AwaitBoard,
    /// likewise for a part the station does not hold
    AwaitPart(String),
    LendBoard,
    Escalate,
    /// the parts used, by code
    Resolve(Vec<String>),
    /// resolved with the board lent for it
    ResolveBoard,
    /// reconcile the loan: `Fee`, `CoreReturn`, `Unused`, or leave it open
    Fee,
    CoreReturn,
    Unused,
    Confirm,
    Close(&'static str),
}

struct TicketRun {
    id: i64,
    acts: Vec<Act>,
    next: usize,
    loan: Option<i64>,
    /// the fitted board's family record check: the unit's PCB production date
    unit_id: i64,
    model_id: i64,
    fast: bool,
}

#[derive(Debug, Clone)]
enum Step {
    /// `paid`: a unit out of warranty (else in it, else either); `stop_after`: the steps it
    /// gets to; `fast`: its steps follow within the hour (the showcase near the load)
    NewTicket {
        kind: Kind,
        paid: Option<bool>,
        stop_after: Option<usize>,
        fast: bool,
        /// an urgent complaint (on the 24/48-hour clocks)
        complaint: bool,
    },
    Ticket(usize),
    /// the centre's stocking plan, proposed from the demand seen
    Plan,
    /// a small request the centre has in stock: normal, on its pick list at the load; urgent,
    /// shipped by rate card and received before the load
    FromCentre {
        urgent: bool,
    },
    Replenish {
        backorder: bool,
    },
    /// a request's allocations from every source are picked and shipped
    Ship(i64),
    Tender(i64),
    Bid(i64, &'static str),
    Award(i64),
    Courier(i64, EventKind),
    Receive {
        request: i64,
        damaged: bool,
    },
    Sample(u64),
    CallBack(i64),
    CloseMonth(Period),
    /// the station's desk subscribes its ERP to the station's deliveries
    Subscribe,
    /// the desk orders compressors for a campaign, over its allowance
    Campaign,
    /// the desk orders a part for the first ticket on site, so that the ticket may wait for it
    OrderForVisit,
}

type Unit = (i64, String, i64, NaiveDate, i32);

struct Units {
    /// (unit id, serial, model id, ship date, the model's warranty in months)
    rf: Vec<Unit>,
    other: Vec<Unit>,
}

struct Gen<'a> {
    conn: &'a mut DbConn,
    rng: ChaCha8Rng,
    queue: BTreeMap<(DateTime<Utc>, u64), Step>,
    seq: u64,
    now: DateTime<Utc>,
    callers: HashMap<String, Caller>,
    units: Units,
    /// unserialized RF parts the station keeps, per model: (model id -> part codes)
    stock_parts: HashMap<i64, Vec<String>>,
    runs: Vec<TicketRun>,
    /// the ticket waiting for a request's receipt, by request
    waiting: HashMap<i64, usize>,
    routing: Arc<RoutingCache>,
    damaged_once: bool,
    /// a shipment is left awaiting its tender at the load
    held_tender: bool,
    /// making the showcase (after the history; see [`SHOWCASE_IDS_FROM`])
    showcase: bool,
    /// the month closes that fall within the showcase's span, made with it
    closes_in_showcase: Vec<(DateTime<Utc>, Period)>,
    /// the shipments of each request, as they went out
    shipments: HashMap<i64, Vec<i64>>,
    station_id: i64,
    summary: HistorySummary,
}

fn caller_of(conn: &mut DbConn, name: &str) -> Result<Caller, AppError> {
    let (u, location) = crate::auth::store::find_by_username(conn, name)?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("demo history: no user {name}")))?;
    let role: Role = u.role.parse().map_err(|e: String| AppError::internal(anyhow::anyhow!(e)))?;
    Ok(Caller { user_id: u.id, username: u.username, role, location })
}

/// Writes the history ending at `now` into the demo network loaded at `now - DAYS - 1` days,
/// inside the caller's transaction.
pub fn load(conn: &mut DbConn, now: DateTime<Utc>) -> Result<HistorySummary, AppError> {
    let mut callers = HashMap::new();
    for name in
        [DESK, TECH, AGENT, CENTRE_STAFF, HQ_STAFF, FINANCE, ADMIN, "courier-1", "courier-2", "courier-3"]
    {
        callers.insert(name.to_string(), caller_of(conn, name)?);
    }
    let station_id = crate::network::store::by_code(conn, STATION)?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("demo history: no {STATION}")))?
        .id;
    let all: Vec<(i64, String, i64, NaiveDate, i32, String)> = product_units::table
        .inner_join(product_models::table)
        .select((
            product_units::id,
            product_units::serial,
            product_units::model_id,
            product_units::ship_date,
            product_models::warranty_months,
            product_models::line,
        ))
        .order(product_units::id.asc())
        .load(conn)?;
    let (rf, other): (Vec<_>, Vec<_>) = all.into_iter().partition(|u| u.5 == "RF");
    let strip = |v: Vec<(i64, String, i64, NaiveDate, i32, String)>| {
        v.into_iter().map(|(a, b, c, d, e, _)| (a, b, c, d, e)).collect::<Vec<Unit>>()
    };
    let units = Units { rf: strip(rf), other: strip(other) };
    // the unserialized, active RF parts the centre stocks, per model they fit
    let fits: Vec<(i64, String)> = compatibility::table
        .inner_join(parts::table)
        .filter(parts::line.eq("RF"))
        .filter(parts::serialized.eq(false))
        .filter(parts::lifecycle.eq("active"))
        .select((compatibility::model_id, parts::code))
        .order((compatibility::model_id.asc(), parts::code.asc()))
        .load(conn)?;
    let mut stock_parts: HashMap<i64, Vec<String>> = HashMap::new();
    for (model, code) in fits {
        stock_parts.entry(model).or_default().push(code);
    }
    let mut g = Gen {
        conn,
        rng: ChaCha8Rng::seed_from_u64(SEED),
        queue: BTreeMap::new(),
        seq: 0,
        now,
        callers,
        units,
        stock_parts,
        runs: Vec::new(),
        waiting: HashMap::new(),
        routing: Arc::new(RoutingCache::default()),
        damaged_once: false,
        held_tender: false,
        showcase: false,
        closes_in_showcase: Vec::new(),
        shipments: HashMap::new(),
        station_id,
        summary: HistorySummary::default(),
    };
    // the history, up to the load
    g.plan();
    g.run()?;
    // then the showcase, numbered from its reserved ids and drawn from its own seed
    reserve_showcase_ids(g.conn)?;
    g.showcase = true;
    g.rng = ChaCha8Rng::seed_from_u64(SHOWCASE_SEED);
    g.plan_showcase();
    g.run()?;
    pause_receiver(g.conn, now)?;
    // the KPI rollups' days that are over, as `echelon serve` closes them
    let until = crate::rollup::closable(now.naive_utc());
    while crate::rollup::close_day(g.conn, until)? {}
    Ok(g.summary)
}

impl Gen<'_> {
    fn at(&mut self, t: DateTime<Utc>, step: Step) {
        if t <= self.now {
            self.seq += 1;
            self.queue.insert((t, self.seq), step);
        }
    }

    fn minutes(&mut self, lo: i64, hi: i64) -> Duration {
        Duration::minutes(self.rng.random_range(lo..=hi))
    }

    fn who(&self, name: &str) -> Caller {
        self.callers.get(name).cloned().expect("demo callers are loaded first")
    }

    /// The steps that start the history; each adds its followers as it runs.
    fn plan(&mut self) {
        let start = self.now - Duration::days(DAYS);
        for day in 0..DAYS {
            let morning = start + Duration::days(day) + Duration::hours(1);
            let n = self.rng.random_range(1..=3);
            for _ in 0..n {
                let kind = match self.rng.random_range(0..100) {
                    0..12 => Kind::Consultation,
                    12..20 => Kind::Declined,
                    20..48 => Kind::Simple,
                    48..72 => Kind::StockPart,
                    72..90 => Kind::Board,
                    _ => Kind::Escalated,
                };
                let t = morning + self.minutes(0, 10 * 60);
                self.at(
                    t,
                    Step::NewTicket { kind, paid: None, stop_after: None, fast: false, complaint: false },
                );
            }
            if day % 7 == 0 {
                let t = morning + Duration::hours(2);
                self.at(t, Step::Replenish { backorder: false });
            }
            // the last day's sample is the showcase's: its calls are still to make
            if day < DAYS - 1 {
                self.at(morning + Duration::hours(16), Step::Sample(SEED ^ day as u64));
            }
        }
        // finance closes each month that ended within the history on the third of the next
        let mut p = Period::of(start.date_naive());
        while p.end() <= self.now.naive_utc() {
            let close = (p.end() + Duration::days(2) + Duration::hours(9)).and_utc();
            let close = close.min(self.now - Duration::minutes(5)).max(p.end().and_utc());
            if close >= self.now - SHOWCASE_SPAN {
                self.closes_in_showcase.push((close, p));
            } else {
                self.at(close, Step::CloseMonth(p));
            }
            p = p.next();
        }
        // the station's ERP took deliveries and damage for the last two weeks; it is paused at
        // the load (see `pause_receiver`)
        self.at(self.now - Duration::days(14), Step::Subscribe);
    }

    /// The showcase: the objects the API documentation's examples name, made after the history
    /// (back-dated to their times near the load), so that they are numbered alike and stand in
    /// the same state whatever the time of day and the date of the load. A month close falling
    /// among them is made with them, so that it sees what they settle.
    fn plan_showcase(&mut self) {
        for (close, p) in std::mem::take(&mut self.closes_in_showcase) {
            self.at(close, Step::CloseMonth(p));
        }
        // a part the desk ordered urgently three days ago, delivered and received: the request
        // is for the desk to close
        self.at(self.now - Duration::hours(72), Step::FromCentre { urgent: true });
        // tickets started close to the load, so every state is on show: (hours before the
        // load, kind, out of warranty, steps taken); the first two are overdue: one past its
        // 5-day decision, an urgent complaint past its 24 hours
        let showcase: [(i64, Kind, bool, usize); 12] = [
            (150, Kind::Simple, false, 0),
            (30, Kind::Simple, false, 0),
            (2, Kind::Simple, true, 0),
            (10, Kind::Declined, true, 1),
            (10, Kind::Simple, true, 2),
            (10, Kind::Simple, false, 1),
            (10, Kind::Simple, false, 2),
            (9, Kind::Board, false, 3),
            (10, Kind::Simple, false, 3),
            (10, Kind::Escalated, false, 3),
            (10, Kind::Simple, false, 4),
            (10, Kind::StockPart, false, 3),
        ];
        for (hours, kind, paid, steps) in showcase {
            let t = self.now - Duration::hours(hours);
            let complaint = hours == 30;
            self.at(
                t,
                Step::NewTicket { kind, paid: Some(paid), stop_after: Some(steps), fast: true, complaint },
            );
        }
        // a replenishment shipped this morning, its tender still taking bids and one line
        // waiting on a backorder; one of an hour ago still to pick at the centre
        self.at(self.now - Duration::hours(9), Step::Replenish { backorder: true });
        self.at(self.now - Duration::hours(1), Step::FromCentre { urgent: false });
        self.at(self.now - Duration::minutes(30), Step::Plan);
        // the last day's follow-up sample, of the tickets completed since the day before's:
        // its calls are still to make at the load
        let last_morning = self.now - Duration::days(1) + Duration::hours(1);
        self.at(last_morning + Duration::hours(16), Step::Sample(SEED ^ (DAYS - 1) as u64));
        // a compressor campaign ordered beyond the station's allowance, waiting for approval
        self.at(self.now - Duration::minutes(20), Step::Campaign);
        // the visit on site found a part missing: it is on order for the ticket, which may then
        // wait for it (`POST /tickets/{id}/await-parts` needs a request on its way)
        self.at(self.now - Duration::minutes(1), Step::OrderForVisit);
    }

    fn run(&mut self) -> Result<(), AppError> {
        while let Some(((t, _), step)) = self.queue.pop_first() {
            self.step(t, step.clone()).map_err(|e| {
                let acts = match step {
                    Step::Ticket(i) => format!("{:?} next {}", self.runs[i].acts, self.runs[i].next),
                    _ => String::new(),
                };
                AppError::internal(anyhow::anyhow!("demo history at {t}: {step:?}: {e:?} {acts}"))
            })?;
        }
        Ok(())
    }

    fn step(&mut self, t: DateTime<Utc>, step: Step) -> Result<(), AppError> {
        match step {
            Step::NewTicket { kind, paid, stop_after, fast, complaint } => {
                self.new_ticket(t, kind, paid, stop_after, fast, complaint)
            }
            Step::Ticket(i) => self.ticket_step(t, i),
            Step::Replenish { backorder } => self.replenish(t, backorder),
            Step::FromCentre { urgent } => self.ask_centre(t, urgent),
            Step::Plan => {
                if self.showcase {
                    // the showcase's last run: its proposals numbered alike whatever the
                    // history gave the run before it
                    reserve_ids(self.conn, "planning_proposals", SHOWCASE_LAST_RUN_PROPOSALS_FROM)?;
                }
                self.plan_run(t).map(|_| ())
            }
            Step::Ship(request) => self.ship(t, request),
            Step::Tender(shipment) => self.tender(t, shipment),
            Step::Bid(tender, courier) => self.bid(t, tender, courier),
            Step::Award(tender) => self.award(t, tender),
            Step::Courier(shipment, kind) => self.courier(t, shipment, kind),
            Step::Receive { request, damaged } => self.receive(t, request, damaged),
            Step::Sample(seed) => self.sample(t, seed),
            Step::CallBack(id) => self.call_back(t, id),
            Step::Subscribe => self.subscribe(t),
            Step::Campaign => {
                // two requests, each over the tier's allowance: one to approve, one to reject
                for (code, qty) in [("RF-CMP-00130B", 250), ("RF-CMP-00137Y", 200)] {
                    self.request(t, DESK, &[(code.to_string(), qty)], "normal", None)?;
                }
                Ok(())
            }
            Step::OrderForVisit => self.order_for_visit(t),
            Step::CloseMonth(p) => {
                crate::settlement::service::close(self.conn, p, FINANCE, t)?;
                self.summary.periods_closed += 1;
                Ok(())
            }
        }
    }

    /// The desk orders, for the showcase's first ticket on site, the first active part (by code)
    /// that fits the ticket's unit.
    fn order_for_visit(&mut self, t: DateTime<Utc>) -> Result<(), AppError> {
        use crate::db::schema::{compatibility, parts, product_units, tickets};
        let ticket: Option<(i64, i64)> = tickets::table
            .inner_join(product_units::table.on(product_units::id.eq(tickets::unit_id)))
            .filter(tickets::status.eq("on_site"))
            .filter(tickets::id.ge(SHOWCASE_IDS_FROM))
            .order(tickets::id.asc())
            .select((tickets::id, product_units::model_id))
            .first(self.conn)
            .optional()?;
        let Some((ticket, model)) = ticket else { return Ok(()) };
        let part: Option<String> = compatibility::table
            .inner_join(parts::table.on(parts::id.eq(compatibility::part_id)))
            .filter(compatibility::model_id.eq(model))
            .filter(parts::lifecycle.eq("active"))
            .filter(parts::superseded_by.is_null())
            .order(parts::code.asc())
            .select(parts::code)
            .first(self.conn)
            .optional()?;
        if let Some(part) = part {
            self.request(t, DESK, &[(part, 1)], "urgent", Some(ticket))?;
        }
        Ok(())
    }

    /// The station's desk subscribes a receiver of its ERP to its shipments' deliveries, damage
    /// and backorders filled, as `POST /webhooks/subscriptions` does: each such event of the
    /// station from then on has its delivery.
    fn subscribe(&mut self, t: DateTime<Utc>) -> Result<(), AppError> {
        use crate::webhooks::store::{self as hooks, NewSubscription};
        let desk = self.who(DESK);
        let scope = crate::webhooks::service::scope_path(self.conn, &desk)?;
        let secret = crate::webhooks::rules::new_secret();
        hooks::insert(
            self.conn,
            &NewSubscription {
                owner_id: desk.user_id,
                scope_path: scope.as_deref(),
                url: RECEIVER,
                event_types: "backorder.filled,shipment.damaged,shipment.delivered",
                secret: &secret,
                active: true,
                created_at: t.naive_utc(),
                updated_at: t.naive_utc(),
            },
        )?;
        Ok(())
    }

    /// A unit for a ticket at `t`: in warranty (shipped within ten months) or out of it
    /// (shipped a month or more past its model's warranty), of the RF line when parts are
    /// involved.
    fn unit(&mut self, t: DateTime<Utc>, rf: bool, in_warranty: bool) -> (i64, String, i64) {
        // ages in whole days since the catalogue was loaded (a day before the history), not by
        // the calendar, so that the units on offer do not change with the time of day
        let loaded = self.now - Duration::days(DAYS + 1);
        let today = loaded.date_naive() + Duration::days((t - loaded).num_days());
        let fits = |u: &Unit| {
            let age = (today - u.3).num_days();
            if in_warranty {
                (1..300).contains(&age)
            } else {
                age > i64::from(u.4) * 31 + 31
            }
        };
        // the other lines' warranties run three and six years: their units are all covered
        let pool = if rf || !in_warranty { &self.units.rf } else { &self.units.other };
        let candidates: Vec<&Unit> = pool.iter().filter(|u| fits(u)).collect();
        let u = candidates[self.rng.random_range(0..candidates.len())];
        (u.0, u.1.clone(), u.2)
    }

    fn new_ticket(
        &mut self,
        t: DateTime<Utc>,
        kind: Kind,
        paid: Option<bool>,
        stop_after: Option<usize>,
        fast: bool,
        complaint: bool,
    ) -> Result<(), AppError> {
        let (rf, in_warranty) = match kind {
            Kind::Board => (true, true),
            Kind::StockPart => (true, self.rng.random_range(0..3) == 0),
            Kind::Declined => (self.rng.random_bool(0.5), false),
            _ => (self.rng.random_bool(0.6), self.rng.random_bool(0.6)),
        };
        let in_warranty = paid.map_or(in_warranty, |p| !p);
        let (unit_id, serial, model_id) = self.unit(t, rf, in_warranty);
        let category = match kind {
            _ if complaint => Category::Complaint,
            Kind::Consultation => Category::Consultation,
            Kind::Escalated => Category::TechnicalSupport,
            _ if self.rng.random_range(0..10) == 0 => Category::Complaint,
            _ => Category::Repair,
        };
        let n = self.summary.tickets + 1;
        let intake = Intake {
            channel: [Channel::Phone, Channel::Phone, Channel::WalkIn, Channel::Document][n % 4],
            category,
            urgency: if complaint || n % 9 == 0 { Urgency::Urgent } else { Urgency::Normal },
            customer_name: format!("Demo customer {n:04}"),
            customer_phone: format!("+86 576 8{:03} {:04}", n % 1000, (n * 37) % 10_000),
            customer_address: format!("{} Jiaojiang Road, Taizhou", 1 + n % 300),
            customer_region: "Zhejiang".into(),
            serial,
            model: None,
            fault: match kind {
                Kind::Board => "does not start; display dark".into(),
                Kind::Consultation => "how to set the eco mode".into(),
                _ => "noisy and not cooling well".into(),
            },
            component_family: (kind == Kind::Board).then(|| "PCB".to_string()),
            station: Some(STATION.into()),
        };
        let taker = if n % 3 == 0 { DESK } else { AGENT };
        let id = tickets::intake(self.conn, &self.who(taker), &intake, t)?;
        self.summary.tickets += 1;
        let row = crate::tickets::store::ticket(self.conn, id)?
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("ticket {id} vanished")))?;
        let paid = row.warranty == Warranty::OutOfWarranty;
        // a part the unit needs: one the station holds, else one it asks for the ticket
        let (part, held) = match kind {
            Kind::StockPart => match self.stocked_part(model_id)? {
                Some(code) => (Some(code), true),
                None => (self.needed_part(model_id), false),
            },
            _ => (None, false),
        };
        let mut acts = Vec::new();
        match kind {
            Kind::Consultation => acts.push(Act::Close(AGENT)),
            Kind::Declined if paid => acts.extend([Act::Quote(None), Act::Close(AGENT)]),
            // free work after all (the model's long warranty): the advice was enough
            Kind::Declined => acts.push(Act::Close(AGENT)),
            _ => {
                if paid {
                    acts.extend([Act::Quote(part.clone()), Act::AcceptQuote]);
                }
                acts.push(Act::Dispatch);
                match (kind, &part) {
                    (Kind::StockPart, Some(code)) => {
                        if held {
                            acts.extend([Act::Lend(code.clone()), Act::Arrive]);
                        } else {
                            let wait = Act::AwaitPart(code.clone());
                            acts.extend([Act::Arrive, wait, Act::Arrive, Act::Lend(code.clone())]);
                        }
                        if paid {
                            acts.extend([Act::Resolve(vec![code.clone()]), Act::Fee]);
                        } else if self.rng.random_bool(0.5) {
                            acts.extend([Act::Resolve(vec![]), Act::Unused]);
                        } else {
                            // the core is still due (or overdue): the line stays open
                            acts.push(Act::Resolve(vec![]));
                        }
                    }
                    (Kind::Board, _) if !paid => {
                        acts.extend([Act::Arrive, Act::AwaitBoard, Act::Arrive, Act::LendBoard]);
                        acts.extend([Act::ResolveBoard, Act::CoreReturn]);
                    }
                    (Kind::Escalated, _) => acts.extend([
                        Act::Arrive,
                        Act::Escalate,
                        Act::Dispatch,
                        Act::Arrive,
                        Act::Resolve(vec![]),
                    ]),
                    _ => acts.extend([Act::Arrive, Act::Resolve(vec![])]),
                }
                acts.extend([Act::Confirm, Act::Close(DESK)]);
            }
        }
        if let Some(n) = stop_after {
            acts.truncate(n);
        }
        self.runs.push(TicketRun { id, acts, next: 0, loan: None, unit_id, model_id, fast });
        let i = self.runs.len() - 1;
        let d = self.minutes(30, 240);
        self.at(t + d, Step::Ticket(i));
        Ok(())
    }

    /// The units of a part the station holds free now.
    fn stocked(&mut self, code: &str) -> Result<i64, AppError> {
        let free: Option<i64> = stock_balances::table
            .inner_join(parts::table.on(parts::id.eq(stock_balances::part_id)))
            .filter(stock_balances::location_id.eq(self.station_id))
            .filter(parts::code.eq(code))
            .select(stock_balances::on_hand - stock_balances::reserved)
            .first(self.conn)
            .optional()?;
        Ok(free.unwrap_or(0))
    }

    /// A part of the model's that the station stocks for it, drawn at random.
    fn needed_part(&mut self, model_id: i64) -> Option<String> {
        let codes = self.stock_parts.get(&model_id)?;
        (!codes.is_empty()).then(|| codes[self.rng.random_range(0..codes.len())].clone())
    }

    /// A part of the model's the station holds free now, if any.
    fn stocked_part(&mut self, model_id: i64) -> Result<Option<String>, AppError> {
        let codes = self.stock_parts.get(&model_id).cloned().unwrap_or_default();
        let held: Vec<String> = stock_balances::table
            .inner_join(parts::table.on(parts::id.eq(stock_balances::part_id)))
            .filter(stock_balances::location_id.eq(self.station_id))
            .filter(parts::code.eq_any(&codes))
            .filter((stock_balances::on_hand - stock_balances::reserved).gt(0))
            .select(parts::code)
            .order(parts::code.asc())
            .load(self.conn)?;
        if held.is_empty() {
            return Ok(None);
        }
        // the showcase's, the first by code: the same whatever else the history left there
        let i = if self.showcase { 0 } else { self.rng.random_range(0..held.len()) };
        Ok(Some(held[i].clone()))
    }

    fn ticket_step(&mut self, t: DateTime<Utc>, i: usize) -> Result<(), AppError> {
        let (id, act) = {
            let run = &self.runs[i];
            match run.acts.get(run.next) {
                Some(a) => (run.id, a.clone()),
                None => return Ok(()),
            }
        };
        self.runs[i].next += 1;
        let line = |code: &str| LineSpec { part_code: code.to_string(), qty: 1 };
        let mut wait = false;
        match act {
            Act::Quote(part) => {
                let spec = QuoteSpec {
                    job_type: JobType::Repair,
                    labour: None,
                    parts: part.iter().map(|c| line(c)).collect(),
                    note: None,
                };
                tickets::quote(self.conn, &self.who(AGENT), id, &spec, t)?;
            }
            Act::AcceptQuote => {
                tickets::accept_quote(self.conn, &self.who(AGENT), id, Some("customer agreed"), t)?
            }
            Act::Dispatch => {
                let spec = DispatchSpec {
                    station: None,
                    technician: TECH.into(),
                    expected_parts: vec![],
                    note: None,
                };
                tickets::dispatch(self.conn, &self.who(DESK), id, &spec, t)?;
            }
            Act::Lend(code) if self.stocked(&code)? == 0 => {
                // another ticket took the last one first: the technician asks for one (on site)
                let on_site = crate::tickets::store::ticket(self.conn, id)?
                    .is_some_and(|r| r.status == crate::tickets::rules::Status::OnSite);
                let mut at = self.runs[i].next;
                let mut again = vec![];
                if !on_site {
                    // on the way: once there (the visit already planned, else one added)
                    if self.runs[i].acts.get(at) == Some(&Act::Arrive) {
                        at += 1;
                    } else {
                        again.push(Act::Arrive);
                    }
                }
                again.extend([Act::AwaitPart(code.clone()), Act::Arrive, Act::Lend(code)]);
                self.runs[i].acts.splice(at..at, again);
            }
            Act::Lend(code) => {
                let lines = [LendLine { part_code: code, qty: 1, serials: vec![] }];
                let loan = loans::lend(self.conn, &self.who(TECH), TECH, id, &lines, t)?;
                self.runs[i].loan = Some(loan);
                self.summary.loans += 1;
            }
            Act::LendBoard => {
                let (code, serial) = self.board_at_station(self.runs[i].model_id)?;
                let lines = [LendLine { part_code: code, qty: 1, serials: vec![serial] }];
                let loan = loans::lend(self.conn, &self.who(TECH), TECH, id, &lines, t)?;
                self.runs[i].loan = Some(loan);
                self.summary.loans += 1;
            }
            Act::Arrive => tickets::arrive(self.conn, &self.who(TECH), id, None, t)?,
            Act::AwaitBoard => {
                // the part is ordered for the ticket, then the ticket waits for it
                let board = self.board_for(self.runs[i].unit_id)?;
                let request = self.request(t, TECH, &[(board, 1)], "urgent", Some(id))?;
                tickets::await_parts(self.conn, &self.who(TECH), id, Some("the main board is dead"), t)?;
                self.waiting.insert(request, i);
                wait = true;
            }
            Act::AwaitPart(code) => {
                let request = self.request(t, TECH, &[(code, 1)], "urgent", Some(id))?;
                tickets::await_parts(
                    self.conn,
                    &self.who(TECH),
                    id,
                    Some("the part is not on the shelf"),
                    t,
                )?;
                self.waiting.insert(request, i);
                wait = true;
            }
            Act::Escalate => tickets::escalate(
                self.conn,
                &self.who(TECH),
                id,
                "intermittent fault; needs the senior technician",
                t,
            )?,
            Act::Resolve(_) | Act::ResolveBoard => {
                let used: Vec<LineSpec> = match &act {
                    Act::Resolve(codes) => codes.iter().map(|c| line(c)).collect(),
                    // the board lent for the ticket is the one fitted
                    _ => {
                        let loan = self.runs[i].loan.unwrap_or_default();
                        vec![line(&self.loan_part(loan)?)]
                    }
                };
                let spec = ResolveSpec {
                    job_type: JobType::Repair,
                    cause: if used.is_empty() {
                        "adjusted and cleaned".into()
                    } else {
                        "worn part replaced".into()
                    },
                    parts_used: used,
                    note: None,
                };
                tickets::resolve(self.conn, &self.who(TECH), id, &spec, t)?;
            }
            Act::Fee => {
                let loan = self.runs[i].loan.unwrap_or_default();
                loans::reconcile(self.conn, &self.who(TECH), loan, 1, How::Fee(None), t)?;
            }
            Act::Unused => {
                let loan = self.runs[i].loan.unwrap_or_default();
                loans::reconcile(self.conn, &self.who(TECH), loan, 1, How::Unused, t)?;
            }
            Act::CoreReturn => {
                let loan = self.runs[i].loan.unwrap_or_default();
                let (_, serial, date) =
                    crate::loans::store::factory_record(self.conn, self.runs[i].unit_id, "PCB")?
                        .ok_or_else(|| AppError::internal(anyhow::anyhow!("unit without a board record")))?;
                let old = match (serial, date) {
                    (Some(s), _) => crate::loans::rules::OldPart::Serial(s),
                    (None, Some(d)) => crate::loans::rules::OldPart::ProductionDate(d),
                    (None, None) => return Ok(()),
                };
                loans::reconcile(self.conn, &self.who(TECH), loan, 1, How::Core(Some(old)), t)?;
            }
            Act::Confirm => tickets::confirm(self.conn, &self.who(TECH), id, Some("customer signed"), t)?,
            Act::Close(by) => tickets::close(self.conn, &self.who(by), id, None, t)?,
        }
        if !wait {
            let next = self.runs[i].acts.get(self.runs[i].next).cloned();
            let d = match next {
                _ if self.runs[i].fast => self.minutes(15, 40),
                Some(Act::Arrive) => self.minutes(3 * 60, 20 * 60),
                Some(Act::AcceptQuote) => self.minutes(60, 12 * 60),
                Some(Act::Close(_)) => self.minutes(4 * 60, 30 * 60),
                Some(Act::Dispatch) => self.minutes(60, 8 * 60),
                _ => self.minutes(20, 150),
            };
            self.at(t + d, Step::Ticket(i));
        }
        Ok(())
    }

    /// The board the unit's record names (the part a request resolves to its successor).
    fn board_for(&mut self, unit_id: i64) -> Result<String, AppError> {
        let (part, _, _) = crate::loans::store::factory_record(self.conn, unit_id, "PCB")?
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("unit {unit_id} has no board record")))?;
        let part = part.ok_or_else(|| AppError::internal(anyhow::anyhow!("board record without part")))?;
        Ok(crate::catalogue::store::parts::by_id(self.conn, part)?.code)
    }

    /// A board fitting the model on the station's shelf, with one of its serials.
    fn board_at_station(&mut self, model_id: i64) -> Result<(String, String), AppError> {
        let found: Option<(String, String)> = part_serials::table
            .inner_join(parts::table.on(parts::id.eq(part_serials::part_id)))
            .inner_join(compatibility::table.on(compatibility::part_id.eq(parts::id)))
            .filter(part_serials::location_id.eq(self.station_id))
            .filter(parts::family.eq("PCB"))
            .filter(compatibility::model_id.eq(model_id))
            .select((parts::code, part_serials::serial))
            .order((parts::code.asc(), part_serials::serial.asc()))
            .first(self.conn)
            .optional()?;
        found.ok_or_else(|| AppError::internal(anyhow::anyhow!("no board for model {model_id} at {STATION}")))
    }

    fn loan_part(&mut self, loan: i64) -> Result<String, AppError> {
        let line = crate::loans::store::line(self.conn, loan, 1)?
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("loan {loan} has no line")))?;
        Ok(crate::catalogue::store::parts::by_id(self.conn, line.part_id)?.code)
    }

    /// A parts request of the station by `by`, then picked and shipped by its sources.
    fn request(
        &mut self,
        t: DateTime<Utc>,
        by: &str,
        lines: &[(String, i64)],
        urgency: &str,
        ticket: Option<i64>,
    ) -> Result<i64, AppError> {
        let caller = self.who(by);
        let scope = Scope::of(self.conn, &caller)?;
        let (st, _) = requests::station_for_request(self.conn, &self.routing, &scope, STATION, None)?
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("no station {STATION}")))?;
        let specs: Vec<requests::LineSpec> =
            lines.iter().map(|(c, q)| requests::LineSpec { part_code: c.clone(), qty: *q }).collect();
        let source = (by == DESK && urgency == "normal" && lines.len() == 1).then_some(CENTRE);
        let spec = RequestSpec { lines: &specs, urgency, ticket_id: ticket, source };
        let created = requests::create(self.conn, &caller, &st, &spec, t)?;
        self.summary.requests += 1;
        let id = created.request.id;
        let d = if urgency == "urgent" { self.minutes(30, 90) } else { self.minutes(120, 300) };
        self.at(t + d, Step::Ship(id));
        Ok(id)
    }

    /// The warehouse's staff plan the network (multi-echelon, the demo's target fill); the
    /// run's id.
    fn plan_run(&mut self, t: DateTime<Utc>) -> Result<i64, AppError> {
        let caller = self.who(HQ_STAFF);
        let scope = crate::planning::api::scope_location(self.conn, &caller, None)?;
        let params = crate::planning::service::RunParams {
            policy: crate::planning::service::PolicyKind::MultiEchelon,
            target_fill: TARGET_FILL,
            budget_minor: None,
            service_level: 0.95,
            min_annual: 1.0,
            forecast_error: false,
        };
        let silent = crate::planning::policy::Silent;
        self.summary.planning_runs += 1;
        Ok(crate::planning::service::run(self.conn, &scope, params, HQ_STAFF, t, &silent)?.id)
    }

    /// The run's proposals of one kind to one destination, still proposed.
    fn proposals(
        &mut self,
        run: i64,
        kind: &str,
        destination: i64,
    ) -> Result<Vec<crate::planning::store::ProposalRow>, AppError> {
        let filter = crate::planning::store::ProposalFilter {
            run_id: Some(run),
            kind: Some(kind.into()),
            status: Some("proposed".into()),
            destination_id: Some(destination),
            ..Default::default()
        };
        Ok(crate::planning::store::proposals(self.conn, &filter, None, 100)?)
    }

    /// The week's replenishment, the way the staff work with echelon: the warehouse's staff
    /// run the plan; they release its purchase orders and its transfer to the centre (each
    /// booked through the ledger on release; a transfer the warehouse cannot fill waits for the
    /// next run); the station's desk orders the run's proposed transfer to the station by parts
    /// request (picked, shipped, tendered and received at its lead time), which releases that
    /// proposal. A run counts what is already on order to the station, so nothing is ordered
    /// twice. `backorder`: the desk also asks more of one part than the whole network holds,
    /// and the rest waits as a backorder.
    fn replenish(&mut self, t: DateTime<Utc>, backorder: bool) -> Result<(), AppError> {
        let run = self.plan_run(t)?;
        let hq = self.who(HQ_STAFF);
        let warehouse = self.location(HQ)?;
        let centre = self.location(CENTRE)?;
        let orders =
            [self.proposals(run, "purchase", warehouse)?, self.proposals(run, "transfer", centre)?].concat();
        for p in orders {
            // a transfer the warehouse cannot fill is refused whole, and nothing of it stays
            let released =
                crate::db::write_tx(self.conn, |c| crate::planning::service::release(c, &hq, p.id, t));
            match released {
                Ok(_) => self.summary.proposals_released += 1,
                Err(e) if e.kind == crate::error::Problem::InsufficientStock => {}
                Err(e) => return Err(e),
            }
        }
        let proposal = self.proposals(run, "transfer", self.station_id)?.into_iter().next();
        let mut lines: Vec<(String, i64)> = Vec::new();
        for l in proposal.as_ref().map(|p| p.lines()).unwrap_or_default() {
            lines.push((crate::catalogue::store::parts::by_id(self.conn, l.part_id())?.code, l.qty()));
        }
        if backorder {
            let mut models: Vec<i64> = self.stock_parts.keys().copied().collect();
            models.sort_unstable();
            let code = self.stock_parts[&models[0]][0].clone();
            match lines.iter_mut().find(|(c, _)| *c == code) {
                Some(line) => line.1 = 90,
                None => lines.push((code, 90)),
            }
        }
        if lines.is_empty() {
            return Ok(());
        }
        let request = self.request(t, DESK, &lines, "normal", None)?;
        if let Some(p) = proposal {
            crate::planning::service::release_by_request(self.conn, &self.who(DESK), p.id, request, t)?;
            self.summary.proposals_released += 1;
        }
        Ok(())
    }

    fn location(&mut self, code: &str) -> Result<i64, AppError> {
        Ok(crate::network::store::by_code(self.conn, code)?
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("demo history: no {code}")))?
            .id)
    }

    /// One part the centre holds free, asked of it by name.
    fn ask_centre(&mut self, t: DateTime<Utc>, urgent: bool) -> Result<(), AppError> {
        let centre = crate::network::store::by_code(self.conn, CENTRE)?
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("no {CENTRE}")))?
            .id;
        let mut codes: Vec<String> = self.stock_parts.values().flatten().cloned().collect();
        codes.sort();
        codes.dedup();
        let held: Option<String> = stock_balances::table
            .inner_join(parts::table.on(parts::id.eq(stock_balances::part_id)))
            .filter(stock_balances::location_id.eq(centre))
            .filter(parts::code.eq_any(&codes))
            .filter((stock_balances::on_hand - stock_balances::reserved).gt(1))
            .select(parts::code)
            .order(parts::code.asc())
            .first(self.conn)
            .optional()?;
        if let Some(code) = held {
            self.request(t, DESK, &[(code, 1)], if urgent { "urgent" } else { "normal" }, None)?;
        }
        Ok(())
    }

    /// Who ships from a source: its warehouse staff, else the admin.
    fn shipper(&mut self, source: i64) -> Result<&'static str, AppError> {
        let code = crate::network::store::by_id(self.conn, source)?.code;
        Ok(match code.as_str() {
            "RC-HZ" => CENTRE_STAFF,
            "HQ" => HQ_STAFF,
            _ => ADMIN,
        })
    }

    fn ship(&mut self, t: DateTime<Utc>, request: i64) -> Result<(), AppError> {
        let mut sources: Vec<i64> = request_store::allocations(self.conn, &[request])?
            .into_iter()
            .filter(|a| a.status == crate::requests::rules::AllocationStatus::Reserved)
            .map(|a| a.source_id)
            .collect();
        sources.sort_unstable();
        sources.dedup();
        if sources.is_empty() {
            return Ok(());
        }
        // one source's staff pick, then ship; stock of several sources is shipped by the
        // admin at once (a request ships once from `picked`)
        let by = if sources.len() == 1 { self.shipper(sources[0])? } else { ADMIN };
        let caller = self.who(by);
        let mut at = t;
        if sources.len() == 1 {
            requests::pick(self.conn, &caller, request, at)?;
            at += self.minutes(10, 40);
        }
        for s in requests::ship(self.conn, &caller, request, at)? {
            self.after_shipped(at, s)?;
        }
        Ok(())
    }

    /// A new shipment goes out: by its courier at once, or to tender first.
    fn after_shipped(&mut self, t: DateTime<Utc>, shipment: i64) -> Result<(), AppError> {
        let s = shipping_store::shipment(self.conn, shipment)?
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("shipment {shipment} vanished")))?;
        if let Some(r) = s.request_id {
            self.shipments.entry(r).or_default().push(shipment);
        }
        if s.status == ShipmentStatus::AwaitingTender {
            let d = self.minutes(20, 60);
            // the showcase's first shipment waits for the centre's staff to put it out to
            // tender (at the load, a shipment awaiting its tender is on show)
            if self.showcase && !self.held_tender {
                self.held_tender = true;
                return Ok(());
            }
            self.at(t + d, Step::Tender(shipment));
        } else {
            let d = self.minutes(40, 150);
            self.at(t + d, Step::Courier(shipment, EventKind::PickedUp));
        }
        Ok(())
    }

    fn origin_staff(&mut self, shipment: i64) -> Result<Caller, AppError> {
        let s = shipping_store::shipment(self.conn, shipment)?
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("shipment {shipment} vanished")))?;
        let by = self.shipper(s.origin_id)?;
        Ok(self.who(by))
    }

    fn tender(&mut self, t: DateTime<Utc>, shipment: i64) -> Result<(), AppError> {
        let caller = self.origin_staff(shipment)?;
        let s = shipping_store::shipment(self.conn, shipment)?
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("shipment {shipment} vanished")))?;
        let window = ((s.deliver_by.and_utc() - t) / 3).min(Duration::hours(20));
        let deadline = t + window;
        let tender = shipping::open_tender(self.conn, &caller, &[shipment], deadline, t)?;
        self.summary.tenders += 1;
        for courier in ["courier-1", "courier-2", "courier-3"] {
            let c = self.who(courier);
            let o = crate::network::store::by_id(self.conn, tender.origin_id)?;
            let d = crate::network::store::by_id(self.conn, tender.destination_id)?;
            if shipping::serves(self.conn, c.user_id, &o, &d)? {
                let after = self.minutes(10, (window.num_minutes() - 5).max(11));
                self.at(t + after, Step::Bid(tender.id, courier));
            }
        }
        let d = self.minutes(10, 60);
        self.at(deadline + d, Step::Award(tender.id));
        Ok(())
    }

    fn bid(&mut self, t: DateTime<Utc>, tender: i64, courier: &'static str) -> Result<(), AppError> {
        let row = shipping_store::tender(self.conn, tender)?
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("tender {tender} vanished")))?;
        let kg = row.weight_grams.max(1000) / 1000;
        let price = 1_200 + self.rng.random_range(0..10) * 100 + kg * 200;
        let hours = [8, 12, 18, 30][self.rng.random_range(0..4)];
        shipping::bid(self.conn, &self.who(courier), tender, price, hours, t)?;
        Ok(())
    }

    fn award(&mut self, t: DateTime<Utc>, tender: i64) -> Result<(), AppError> {
        let row = shipping_store::tender(self.conn, tender)?
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("tender {tender} vanished")))?;
        if row.status != TenderStatus::Open {
            return Ok(());
        }
        let shipments = shipping_store::tender_shipments(self.conn, tender)?;
        let caller = self.origin_staff(shipments[0])?;
        let scores = shipping::score_bids(self.conn, &row, t)?;
        let chosen = if scores.iter().any(|s| s.score.is_some()) {
            None
        } else {
            // no bid arrives in time: the fastest, with the reason
            scores
                .iter()
                .min_by_key(|s| (s.transit_hours, s.bid_id))
                .map(|s| (s.bid_id, "fastest bid; none in time"))
        };
        shipping::award(self.conn, &caller, &row, chosen, t)?;
        for s in shipments {
            let d = self.minutes(60, 240);
            self.at(t + d, Step::Courier(s, EventKind::PickedUp));
        }
        Ok(())
    }

    fn courier(&mut self, t: DateTime<Utc>, shipment: i64, kind: EventKind) -> Result<(), AppError> {
        let s = shipping_store::shipment(self.conn, shipment)?
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("shipment {shipment} vanished")))?;
        let courier = s.courier_id.ok_or_else(|| AppError::internal(anyhow::anyhow!("no courier")))?;
        let name = self.callers.values().find(|c| c.user_id == courier).map(|c| c.username.clone());
        let name = name.ok_or_else(|| AppError::internal(anyhow::anyhow!("unknown courier {courier}")))?;
        shipping::report(self.conn, &self.who(&name), shipment, kind, Some(t), t, None)?;
        match kind {
            EventKind::PickedUp => {
                let d = self.minutes(30, 90);
                self.at(t + d, Step::Courier(shipment, EventKind::InTransit));
            }
            EventKind::InTransit => {
                // mostly on time; one in six an hour or two late
                let due = s.deliver_by.and_utc();
                let late = self.rng.random_range(0..6) == 0;
                let arrive = if late {
                    due + self.minutes(30, 180)
                } else {
                    let spare = (due - t).num_minutes().max(60);
                    t + Duration::minutes(self.rng.random_range(spare / 3..=spare * 9 / 10).max(30))
                };
                self.at(arrive, Step::Courier(shipment, EventKind::Delivered));
            }
            EventKind::Delivered => {
                // the station receives once everything on the way has arrived
                let mut all_in = true;
                for other in
                    self.shipments.get(&s.request_id.unwrap_or_default()).cloned().unwrap_or_default()
                {
                    let o = shipping_store::shipment(self.conn, other)?;
                    all_in &= o.is_some_and(|o| {
                        matches!(o.status, ShipmentStatus::Delivered | ShipmentStatus::Received)
                    });
                }
                if let Some(request) = s.request_id.filter(|_| all_in) {
                    // the second urgent delivery for a ticket arrives with its part broken
                    let damaged = s.urgency == "urgent" && !self.damaged_once && self.waiting.len() > 1;
                    self.damaged_once |= damaged;
                    let d = self.minutes(30, 120);
                    self.at(t + d, Step::Receive { request, damaged });
                }
            }
        }
        Ok(())
    }

    fn receive(&mut self, t: DateTime<Utc>, request: i64, damaged: bool) -> Result<(), AppError> {
        let shipped: Vec<_> = request_store::allocations(self.conn, &[request])?
            .into_iter()
            .filter(|a| a.status == crate::requests::rules::AllocationStatus::Shipped)
            .collect();
        if shipped.is_empty() {
            return Ok(());
        }
        let lines = request_store::lines(self.conn, &[request])?;
        let mut said = Vec::new();
        for l in &lines {
            let qty: i64 = shipped.iter().filter(|a| a.line_id == l.id).map(|a| a.qty).sum();
            if qty > 0 {
                let bad = if damaged && said.is_empty() { 1 } else { 0 };
                said.push(ReceiptLine { line_no: l.line_no, received_qty: qty - bad, damaged_qty: bad });
            }
        }
        let out = requests::receive(self.conn, &self.who(DESK), request, &said, t)?;
        for damage in out {
            for s in damage.replacement_shipments {
                self.after_shipped(t, s)?;
            }
        }
        // a ticket waiting for this request is dispatched again by the receipt: the technician
        // goes back out
        let left = request_store::allocations(self.conn, &[request])?
            .iter()
            .any(|a| a.status == crate::requests::rules::AllocationStatus::Shipped);
        if !left {
            if let Some(i) = self.waiting.remove(&request) {
                let d = self.minutes(3 * 60, 16 * 60);
                self.at(t + d, Step::Ticket(i));
            }
        }
        Ok(())
    }

    fn sample(&mut self, t: DateTime<Utc>, seed: u64) -> Result<(), AppError> {
        let made = followups::sample(self.conn, FOLLOWUP_SHARE_BP, Some(seed), AGENT, t)?;
        self.summary.follow_ups += made.created.len();
        for id in made.created {
            let d = self.minutes(12 * 60, 60 * 60);
            self.at(t + d, Step::CallBack(id));
        }
        Ok(())
    }

    fn call_back(&mut self, t: DateTime<Utc>, id: i64) -> Result<(), AppError> {
        let satisfaction = [5, 5, 4, 4, 4, 3, 2][self.rng.random_range(0..7)];
        let conduct = match satisfaction {
            5 | 4 => Conduct::Good,
            3 => Conduct::Acceptable,
            _ => Conduct::Poor,
        };
        // a fee is asked about where one was charged: out of warranty
        let ticket = followups::by_id(self.conn, id)?.map(|f| f.ticket_id).unwrap_or_default();
        let paid = crate::tickets::store::ticket(self.conn, ticket)?
            .is_some_and(|t| t.warranty == Warranty::OutOfWarranty);
        let result = CallResult {
            satisfaction,
            conduct,
            fee_reasonable: paid.then_some(satisfaction >= 3),
            note: (satisfaction < 3).then(|| "waited two days for the technician".to_string()),
        };
        followups::record(self.conn, id, &result, AGENT, t)?;
        Ok(())
    }
}
