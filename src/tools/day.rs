//! `echelon bench day`: one regional centre's working day, driven against a running echelon by
//! many clients at once, as its people work: the stations look up stock and ask for parts, the
//! centre's warehouse lists, picks and ships, the courier posts tracking, the stations receive,
//! the call centre opens and lists tickets, finance reads the KPIs, the weekly report and the
//! settlement file. Every call's latency is kept per operation; the answer is a table (or JSON)
//! of count, errors, server errors, p50 and p99 per operation.
//!
//! The mix (per 100 operations) follows the case's day at one centre: a station looks stock up
//! before most requests, every request is picked, shipped, tracked twice and received once, a
//! ticket is opened for about every three requests, and lists and reports are read throughout
//! (`MIX`). The flow's steps take the requests made before them (queues shared by the clients);
//! a step whose queue is empty does the nearest step before it that has work (a receive with
//! nothing delivered posts tracking, a pick with nothing to pick asks for parts), so the flow
//! never starves at its end, however short the run.
//!
//! Two ways to drive it. A closed loop (the default): each of `--clients` starts its next
//! operation when the last one answered, which measures what the machine can do. An open loop
//! (`--rate OPS`): operations start on a Poisson schedule whatever the server does, at most
//! `--clients` at once, and each operation's first call counts from when it was due, so a
//! server that falls behind shows it in the latencies instead of slowing the driver down.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// What `echelon bench day` is told.
pub struct Day {
    /// one or more servers (the clients are spread over them)
    pub urls: Vec<String>,
    pub clients: usize,
    pub seconds: u64,
    pub centre: String,
    pub password: String,
    pub json: bool,
    /// open loop: operations started per second on a schedule (Poisson arrivals), at most
    /// `clients` in flight, each call's latency counted from when its operation was due;
    /// `None`: closed loop, each client starting its next operation when the last one answers
    pub rate: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Op {
    StockLookup,
    Request,
    ListRequests,
    PickShip,
    Track,
    Receive,
    ListShipments,
    Ticket,
    ListTickets,
    Kpis,
    Weekly,
    SettlementCsv,
}

/// Operations per 100, in the order of the day.
const MIX: [(Op, u32); 12] = [
    (Op::StockLookup, 21),
    (Op::Request, 16),
    (Op::ListRequests, 8),
    (Op::PickShip, 15),
    (Op::Track, 14),
    (Op::Receive, 8),
    (Op::ListShipments, 6),
    (Op::Ticket, 4),
    (Op::ListTickets, 4),
    (Op::Kpis, 2),
    (Op::Weekly, 1),
    (Op::SettlementCsv, 1),
];

/// Where an operation's calls go, and when the operation was due (its first call's latency
/// counts from then; `None` once taken, or in a closed loop).
struct At<'a> {
    base: &'a str,
    due: Option<Instant>,
}

/// The requests waiting for each next step, and what the day needs to know.
struct Shared {
    http: reqwest::Client,
    tokens: HashMap<&'static str, String>,
    centre: String,
    stations: Vec<String>,
    parts: Vec<String>,
    serials: Vec<String>,
    period: String,
    to_pick: Mutex<VecDeque<i64>>,
    to_track: Mutex<VecDeque<(i64, i64)>>,
    to_receive: Mutex<VecDeque<i64>>,
    /// per call name: latencies in microseconds, answers that were not 2xx, and 5xx
    calls: Mutex<HashMap<&'static str, Calls>>,
}

#[derive(Default)]
struct Calls {
    micros: Vec<u64>,
    refused: u64,
    failed: u64,
}

impl Shared {
    /// One call as `user` to `at`'s server, timed and counted under `name` (from when it was
    /// due, for an operation's first call in an open loop: [`Day::rate`]); the answer's JSON when 2xx.
    async fn call(
        &self,
        at: &mut At<'_>,
        name: &'static str,
        user: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Option<Value> {
        let mut req = self.http.request(method, format!("{}{path}", at.base)).bearer_auth(&self.tokens[user]);
        if let Some(b) = body {
            req = req.json(&b);
        }
        // an operation's first call counts from when the operation was due (open loop): time
        // spent waiting for a free client is the server's backlog, not the client's
        let started = at.due.take().unwrap_or_else(Instant::now);
        let answer = req.send().await;
        let (status, text) = match answer {
            Ok(r) => {
                let status = r.status().as_u16();
                (status, r.text().await.unwrap_or_default())
            }
            Err(_) => (0, String::new()),
        };
        let micros = started.elapsed().as_micros() as u64;
        let mut calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
        let c = calls.entry(name).or_default();
        c.micros.push(micros);
        if !(200..300).contains(&status) {
            c.refused += 1;
            if status >= 500 || status == 0 {
                c.failed += 1;
            }
            return None;
        }
        Some(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    fn pick<'a>(&self, from: &'a [String]) -> &'a str {
        &from[rand::random_range(0..from.len())]
    }
}

async fn login(http: &reqwest::Client, base: &str, user: &str, password: &str) -> Result<String, String> {
    let r = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": user, "password": password}))
        .send()
        .await
        .map_err(|e| format!("cannot reach {base}: {e}"))?;
    let v: Value = r.json().await.map_err(|e| format!("login of {user}: {e}"))?;
    v["access_token"].as_str().map(String::from).ok_or_else(|| format!("login of {user} refused: {v}"))
}

async fn items(http: &reqwest::Client, base: &str, token: &str, path: &str) -> Result<Vec<Value>, String> {
    let v: Value = http
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    Ok(v["items"].as_array().cloned().unwrap_or_default())
}

/// Runs the day; prints the table (or JSON).
pub fn run(day: Day) -> Result<(), String> {
    if day.clients == 0 {
        return Err("--clients must be at least 1".into());
    }
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    rt.block_on(drive(day))
}

async fn drive(day: Day) -> Result<(), String> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(day.clients)
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| e.to_string())?;
    let bases: Vec<String> = day.urls.iter().map(|u| u.trim_end_matches('/').to_string()).collect();
    let base = bases.first().cloned().ok_or("no --url")?;
    let centre_code = day.centre.to_ascii_lowercase();
    let names = [
        ("admin", "admin".to_string()),
        ("warehouse", format!("warehouse-{centre_code}")),
        ("courier", "courier-1".to_string()),
        ("agent", "agent".to_string()),
        ("finance", "finance".to_string()),
        ("station", String::new()),
    ];
    let mut tokens = HashMap::new();
    for (role, user) in names.iter().filter(|(_, u)| !u.is_empty()) {
        tokens.insert(*role, login(&http, &base, user, &day.password).await?);
    }
    let admin = tokens["admin"].clone();
    let stations: Vec<String> = items(
        &http,
        &base,
        &admin,
        &format!("/api/v1/locations?kind=station&parent={}&limit=500", day.centre),
    )
    .await?
    .iter()
    .filter_map(|l| l["code"].as_str().map(String::from))
    .collect();
    // the tickets are opened by a station user of the centre's (the first there is)
    let station_user = items(&http, &base, &admin, "/api/v1/users?role=station&limit=500")
        .await?
        .iter()
        .find(|u| u["location"].as_str().is_some_and(|l| stations.iter().any(|s| s == l)))
        .and_then(|u| u["username"].as_str().map(String::from))
        .ok_or_else(|| format!("{} has no station with a station user", day.centre))?;
    tokens.insert("station", login(&http, &base, &station_user, &day.password).await?);
    let stocked: Vec<String> =
        items(&http, &base, &admin, &format!("/api/v1/stock?location={}&limit=500", day.centre))
            .await?
            .iter()
            .filter(|s| s["available"].as_i64().unwrap_or(0) > 1000)
            .filter_map(|s| s["part_code"].as_str().map(String::from))
            .collect();
    if stocked.len() < 2 {
        return Err(format!(
            "{} holds fewer than two parts with stock to spare: receive some first",
            day.centre
        ));
    }
    let serials: Vec<String> = items(&http, &base, &admin, "/api/v1/units?limit=100")
        .await?
        .iter()
        .filter_map(|u| u["serial"].as_str().map(String::from))
        .collect();
    let today = chrono::Utc::now().date_naive();
    let shared = Arc::new(Shared {
        http,
        tokens,
        centre: day.centre.clone(),
        stations: stations.clone(),
        parts: stocked,
        serials,
        period: today.format("%Y-%m").to_string(),
        to_pick: Mutex::new(VecDeque::new()),
        to_track: Mutex::new(VecDeque::new()),
        to_receive: Mutex::new(VecDeque::new()),
        calls: Mutex::new(HashMap::new()),
    });
    let started = Instant::now();
    let until = started + Duration::from_secs(day.seconds);
    let mut tasks = Vec::new();
    match day.rate {
        None => {
            for i in 0..day.clients {
                let s = shared.clone();
                let b = bases[i % bases.len()].clone();
                tasks.push(tokio::spawn(async move {
                    while Instant::now() < until {
                        step(&s, &b, choose(), None).await;
                    }
                }));
            }
        }
        Some(rate) => {
            // Poisson arrivals: exponential gaps of mean 1/rate; an operation due while every
            // client is busy waits for one, and that wait counts in its latency
            let free = Arc::new(tokio::sync::Semaphore::new(day.clients));
            let gap = rand_distr::Exp::new(rate).map_err(|e| format!("--rate {rate}: {e}"))?;
            let mut due = started;
            let mut n = 0usize;
            while due < until {
                tokio::time::sleep_until(due.into()).await;
                let (s, b, free) = (shared.clone(), bases[n % bases.len()].clone(), free.clone());
                tasks.push(tokio::spawn(async move {
                    let _client = free.acquire_owned().await;
                    step(&s, &b, choose(), Some(due)).await;
                }));
                n += 1;
                let wait: f64 = rand_distr::Distribution::sample(&gap, &mut rand::rng());
                due += Duration::from_secs_f64(wait);
            }
        }
    }
    for t in tasks {
        t.await.map_err(|e| e.to_string())?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    report(&shared, elapsed, day.clients, day.rate, day.json, &stations);
    Ok(())
}

fn choose() -> Op {
    let total: u32 = MIX.iter().map(|(_, w)| w).sum();
    let mut n = rand::random_range(0..total);
    for (op, w) in MIX {
        if n < w {
            return op;
        }
        n -= w;
    }
    Op::StockLookup
}

/// `op`, or the nearest step before it in the flow with a request waiting for it (a request
/// when none has): a step with an empty queue moves the flow on instead.
fn ready(s: &Shared, op: Op) -> Op {
    fn has<T>(q: &Mutex<VecDeque<T>>) -> bool {
        !q.lock().unwrap_or_else(|e| e.into_inner()).is_empty()
    }
    let flow =
        [(Op::Receive, has(&s.to_receive)), (Op::Track, has(&s.to_track)), (Op::PickShip, has(&s.to_pick))];
    match flow.iter().position(|(step, _)| *step == op) {
        Some(at) => flow[at..].iter().find(|(_, has)| *has).map_or(Op::Request, |(step, _)| *step),
        None => op,
    }
}

async fn step(s: &Shared, base: &str, op: Op, due: Option<Instant>) {
    let at = &mut At { base, due };
    let op = ready(s, op);
    use reqwest::Method as M;
    let pop = |q: &Mutex<VecDeque<i64>>| q.lock().unwrap_or_else(|e| e.into_inner()).pop_front();
    match op {
        Op::StockLookup => {
            let path =
                format!("/api/v1/stock?location={}&part_code={}", s.pick(&s.stations), s.pick(&s.parts));
            s.call(at, "stock look-up", "admin", M::GET, &path, None).await;
        }
        Op::Request => request(s, at).await,
        Op::ListRequests => {
            let path = format!("/api/v1/parts-requests?source={}&limit=50", s.centre);
            s.call(at, "list requests", "warehouse", M::GET, &path, None).await;
        }
        Op::PickShip => {
            let Some(id) = pop(&s.to_pick) else { return request(s, at).await };
            if s.call(
                at,
                "pick",
                "warehouse",
                M::POST,
                &format!("/api/v1/parts-requests/{id}/pick"),
                Some(json!({})),
            )
            .await
            .is_none()
            {
                return;
            }
            if s.call(
                at,
                "ship",
                "warehouse",
                M::POST,
                &format!("/api/v1/parts-requests/{id}/ship"),
                Some(json!({})),
            )
            .await
            .is_none()
            {
                return;
            }
            let list = s
                .call(
                    at,
                    "shipments of a request",
                    "warehouse",
                    M::GET,
                    &format!("/api/v1/shipments?request_id={id}"),
                    None,
                )
                .await;
            for sh in list.and_then(|l| l["items"].as_array().cloned()).unwrap_or_default() {
                if let Some(sid) = sh["id"].as_i64() {
                    s.to_track.lock().unwrap_or_else(|e| e.into_inner()).push_back((id, sid));
                }
            }
        }
        Op::Track => {
            let next = s.to_track.lock().unwrap_or_else(|e| e.into_inner()).pop_front();
            let Some((id, shipment)) = next else { return request(s, at).await };
            let path = format!("/api/v1/shipments/{shipment}/events");
            for kind in ["picked_up", "delivered"] {
                if s.call(at, "tracking event", "courier", M::POST, &path, Some(json!({"kind": kind})))
                    .await
                    .is_none()
                {
                    return;
                }
            }
            s.to_receive.lock().unwrap_or_else(|e| e.into_inner()).push_back(id);
        }
        Op::Receive => {
            let Some(id) = pop(&s.to_receive) else { return request(s, at).await };
            s.call(
                at,
                "receive",
                "admin",
                M::POST,
                &format!("/api/v1/parts-requests/{id}/receive"),
                Some(json!({})),
            )
            .await;
        }
        Op::ListShipments => {
            s.call(at, "list shipments", "warehouse", M::GET, "/api/v1/shipments?limit=50", None).await;
        }
        Op::Ticket => {
            if s.serials.is_empty() {
                return;
            }
            let body = json!({"channel": "phone", "serial": s.pick(&s.serials), "fault": "not cooling",
                "category": "repair", "customer": {"name": "Wang Fang", "phone": "+86 576 8888 1234",
                "address": "12 Jiefang Rd", "region": "Zhejiang"}});
            s.call(at, "open ticket", "station", M::POST, "/api/v1/tickets", Some(body)).await;
        }
        Op::ListTickets => {
            s.call(at, "list tickets", "agent", M::GET, "/api/v1/tickets?limit=50", None).await;
        }
        Op::Kpis => {
            let path = format!("/api/v1/reports/kpis?level=centre&location={}", s.centre);
            s.call(at, "KPI report", "finance", M::GET, &path, None).await;
        }
        Op::Weekly => {
            s.call(at, "weekly report", "finance", M::GET, "/api/v1/reports/weekly", None).await;
        }
        Op::SettlementCsv => {
            let path = format!("/api/v1/settlements?period={}&format=csv", s.period);
            s.call(at, "settlement CSV", "finance", M::GET, &path, None).await;
        }
    }
}

/// A station's urgent request for two different parts the centre holds.
async fn request(s: &Shared, at: &mut At<'_>) {
    let first = s.pick(&s.parts);
    let mut second = s.pick(&s.parts);
    while second == first {
        second = s.pick(&s.parts);
    }
    let body = json!({"station": s.pick(&s.stations), "urgency": "urgent",
        "lines": [{"part_code": first, "qty": 1}, {"part_code": second, "qty": 1}]});
    let made = s
        .call(at, "parts request", "admin", reqwest::Method::POST, "/api/v1/parts-requests", Some(body))
        .await;
    if let Some(id) = made.filter(|r| r["status"] == "allocated").and_then(|r| r["id"].as_i64()) {
        s.to_pick.lock().unwrap_or_else(|e| e.into_inner()).push_back(id);
    }
}

fn report(s: &Shared, elapsed: f64, clients: usize, rate: Option<f64>, as_json: bool, stations: &[String]) {
    let calls = s.calls.lock().unwrap_or_else(|e| e.into_inner());
    let mut rows: Vec<(&str, u64, u64, u64, f64, f64)> = calls
        .iter()
        .map(|(name, c)| {
            let mut m = c.micros.clone();
            m.sort_unstable();
            let at = |q: f64| {
                m.get(((m.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or(0) as f64 / 1000.0
            };
            (*name, m.len() as u64, c.refused, c.failed, at(0.50), at(0.99))
        })
        .collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.1));
    let total: u64 = rows.iter().map(|r| r.1).sum();
    let writes = ["parts request", "pick", "ship", "tracking event", "receive", "open ticket"];
    let written: u64 = rows.iter().filter(|r| writes.contains(&r.0)).map(|r| r.1 - r.2).sum();
    if as_json {
        let ops: Vec<Value> = rows
            .iter()
            .map(|r| json!({"operation": r.0, "count": r.1, "not_2xx": r.2, "server_errors": r.3, "p50_ms": r.4, "p99_ms": r.5}))
            .collect();
        let out = json!({"seconds": elapsed, "clients": clients, "offered_operations_per_second": rate,
            "stations": stations.len(), "calls": total,
            "calls_per_second": total as f64 / elapsed, "writes_per_second": written as f64 / elapsed, "operations": ops});
        println!("{out}");
        return;
    }
    let load = match rate {
        Some(r) => format!("{r} operations/s offered (at most {clients} at once)"),
        None => format!("{clients} clients"),
    };
    println!(
        "one day at {} ({} stations), {load}, {elapsed:.1} s: {total} calls, {:.1}/s, writes {:.1}/s",
        s.centre,
        stations.len(),
        total as f64 / elapsed,
        written as f64 / elapsed
    );
    println!(
        "{:<24} {:>8} {:>8} {:>6} {:>9} {:>9}",
        "operation", "count", "not 2xx", "5xx", "p50 ms", "p99 ms"
    );
    for r in rows {
        println!("{:<24} {:>8} {:>8} {:>6} {:>9.2} {:>9.2}", r.0, r.1, r.2, r.3, r.4, r.5);
    }
}
