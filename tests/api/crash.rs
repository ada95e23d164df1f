//! Crash safety: `echelon serve` killed with SIGKILL in the middle of a request load loses no
//! answered request and leaves nothing half-written; a PostgreSQL stopped under a write load
//! gives 503 answers with `Retry-After` (never 500), turns `/readyz` red within a second, and
//! echelon recovers by itself when it returns, with nothing acknowledged lost or doubled.

use std::collections::BTreeSet;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use echelon::db::Backend;
use serde_json::{json, Value};

use crate::helpers::{fresh_database, pg_or_skip};
use crate::processes::{login, serve, BIN};

/// What the load saw: the ids of requests answered 201 (each Idempotency-Key tried until it
/// was), the keys still unanswered when the load stopped, and every answer that was neither 201
/// nor a 503 problem+json with `Retry-After`.
#[derive(Default)]
struct Seen {
    answered: Vec<i64>,
    unanswered: usize,
    bad: Vec<String>,
}

/// Runs request threads against `base` until `stop`. A key that is not answered 201 (503, or
/// no answer while echelon or its database is away) is sent again, as a client would, so an
/// acknowledged request and a retried one can be counted against what the database holds.
fn load(base: &str, token: &str, part: &str, stop: Arc<AtomicBool>) -> Vec<std::thread::JoinHandle<Seen>> {
    let stations = ["ST-TZ-001", "ST-HZ-001", "ST-SX-001", "ST-JH-001", "ST-WZ-001", "ST-HU-001"];
    (0..6)
        .map(|t| {
            let (base, token, part, stop) = (base.to_string(), token.to_string(), part.to_string(), stop.clone());
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
                let mut seen = Seen::default();
                let mut n = 0;
                'keys: while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let body = json!({"station": stations[(t + n) % stations.len()], "lines": [{"part_code": part, "qty": 1}]});
                    loop {
                        let r = client
                            .post(format!("{base}/api/v1/parts-requests"))
                            .bearer_auth(&token)
                            .header("Idempotency-Key", format!("crash-{t}-{n}"))
                            .json(&body)
                            .send();
                        match r {
                            Ok(r) if r.status() == 201 => {
                                seen.answered.push(r.json::<Value>().unwrap()["id"].as_i64().unwrap());
                                continue 'keys;
                            }
                            Ok(r) => {
                                let retry = r.headers().get("retry-after").is_some();
                                let problem = r.headers().get("content-type").is_some_and(|c| {
                                    c.to_str().unwrap_or("").starts_with("application/problem+json")
                                });
                                if r.status() != 503 || !retry || !problem {
                                    seen.bad.push(format!("{} {}", r.status(), r.text().unwrap_or_default()));
                                }
                            }
                            Err(_) => {}
                        }
                        if stop.load(Ordering::Relaxed) {
                            seen.unanswered += 1;
                            break 'keys;
                        }
                        std::thread::sleep(Duration::from_millis(50));
                    }
                }
                seen
            })
        })
        .collect()
}

/// Joins the load's threads into one account.
fn joined(threads: Vec<std::thread::JoinHandle<Seen>>) -> Seen {
    let mut all = Seen::default();
    for t in threads {
        let seen = t.join().unwrap();
        all.answered.extend(seen.answered);
        all.unanswered += seen.unanswered;
        all.bad.extend(seen.bad);
    }
    all
}

fn kill_mid_load(url: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mut s = serve(dir.path(), &[("DATABASE_URL", url)], &[]);
    let token = login(&s.base, "admin");
    let client = reqwest::blocking::Client::new();
    let part: Value = client
        .post(format!("{}/api/v1/parts", s.base))
        .bearer_auth(&token)
        .json(&json!({"line": "WM", "family": "TST", "name": "Crash part", "unit_of_measure": "pcs",
                      "unit_cost": "5.00", "sale_price": "5.00", "serialized": false, "core_returnable": false, "weight_grams": 10}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let part = part["code"].as_str().unwrap().to_string();
    let r = client
        .post(format!("{}/api/v1/receipts", s.base))
        .bearer_auth(&token)
        .json(&json!({"location": "RC-HZ", "lines": [{"part_code": part, "qty": 100000}]}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let stop = Arc::new(AtomicBool::new(false));
    let threads = load(&s.base, &token, &part, stop.clone());
    // let the load run, then kill -9 in the middle of it
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(1500) {
        std::thread::sleep(Duration::from_millis(50));
    }
    s.child.kill().unwrap(); // SIGKILL
    s.child.wait().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    let seen = joined(threads);
    assert!(seen.bad.is_empty(), "answers other than 201 or 503: {:?}", seen.bad);
    let answered: BTreeSet<i64> = seen.answered.iter().copied().collect();
    assert_eq!(answered.len(), seen.answered.len(), "two keys were answered with one request");
    assert!(answered.len() > 10, "the load ran: {} answered", answered.len());

    // after a restart every answered request is there, whole, and the ledger is consistent
    let out = Command::new(BIN).arg("audit").env("DATABASE_URL", url).output().unwrap();
    assert!(out.status.success(), "audit after kill -9: {}", String::from_utf8_lossy(&out.stdout));
    let s = serve(dir.path(), &[("DATABASE_URL", url)], &[]);
    let token = login(&s.base, "admin");
    let checked = Mutex::new(0);
    for id in &answered {
        let r: Value = client
            .get(format!("{}/api/v1/parts-requests/{id}", s.base))
            .bearer_auth(&token)
            .send()
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(r["id"], *id, "request {id} was answered 201 but is gone");
        let line = &r["lines"][0];
        let allocated: i64 =
            line["allocations"].as_array().unwrap().iter().map(|a| a["qty"].as_i64().unwrap()).sum();
        assert_eq!(allocated + line["backordered"].as_i64().unwrap(), 1, "request {id} is whole");
        *checked.lock().unwrap() += 1;
    }
    assert_eq!(*checked.lock().unwrap(), answered.len());
}

#[test]
fn kill_9_mid_load_loses_nothing_answered_on_sqlite() {
    kill_mid_load(&fresh_database(Backend::Sqlite));
}

#[test]
fn kill_9_mid_load_loses_nothing_answered_on_postgres() {
    if pg_or_skip().is_none() {
        return;
    }
    kill_mid_load(&fresh_database(Backend::Postgres));
}

/// One number from the database at `url`.
fn count(url: &str, sql: &str) -> i64 {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = echelon::db::Manager::new(url).unwrap().connect_now().unwrap();
    echelon::on_backend!(&mut conn, |c| diesel::sql_query(sql).get_result::<N>(c)).unwrap().n
}

#[test]
fn a_postgres_stopped_under_write_load_answers_503_loses_nothing_and_recovers_by_itself() {
    if pg_or_skip().is_none() {
        return;
    }
    let cluster = crate::pg::Private::start().expect("a private PostgreSQL cluster");
    let url = format!("{}/postgres", cluster.base);
    let dir = tempfile::tempdir().unwrap();
    let s = serve(dir.path(), &[("DATABASE_URL", &url)], &["--demo"]);
    let client = reqwest::blocking::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let ready = || client.get(format!("{}/readyz", s.base)).send().map(|r| r.status().as_u16()).unwrap_or(0);
    assert_eq!(ready(), 200);
    let token = login(&s.base, "admin");
    let stop = Arc::new(AtomicBool::new(false));
    let part = {
        let r: Value = client
            .get(format!("{}/api/v1/parts?limit=1&lifecycle=active", s.base))
            .bearer_auth(&token)
            .send()
            .unwrap()
            .json()
            .unwrap();
        r["items"][0]["code"].as_str().unwrap().to_string()
    };
    let before = count(&url, "SELECT COALESCE(MAX(id), 0) AS n FROM parts_requests");
    let threads = load(&s.base, &token, &part, stop.clone());
    std::thread::sleep(Duration::from_millis(800));
    cluster.stop(); // immediate mode: sessions cut mid-transaction, as a crash would
                    // while it is down, readiness says so within a second, every time, as problem+json
    for _ in 0..5 {
        let asked = Instant::now();
        let red = client.get(format!("{}/readyz", s.base)).send().unwrap();
        assert!(asked.elapsed() < Duration::from_secs(1), "/readyz took {:?}", asked.elapsed());
        assert_eq!(red.status(), 503);
        assert!(red.headers()["content-type"].to_str().unwrap().starts_with("application/problem+json"));
        assert!(red.headers().get("retry-after").is_some());
        std::thread::sleep(Duration::from_millis(300));
    }
    // reads fail cleanly (503), never hang or crash the process
    let during = client.get(format!("{}/api/v1/locations/HQ", s.base)).bearer_auth(&token).send().unwrap();
    assert_eq!(during.status(), 503);
    assert!(during.headers().get("retry-after").is_some());
    cluster.restart();
    let start = Instant::now();
    while ready() != 200 {
        assert!(start.elapsed() < Duration::from_secs(120), "readiness did not recover in 2 minutes");
        std::thread::sleep(Duration::from_millis(200));
    }
    // the load goes on against the recovered database, without restarting echelon
    std::thread::sleep(Duration::from_millis(800));
    let after = client.get(format!("{}/api/v1/locations/HQ", s.base)).bearer_auth(&token).send().unwrap();
    assert_eq!(after.status(), 200);
    stop.store(true, Ordering::Relaxed);
    let seen = joined(threads);
    assert!(
        seen.bad.is_empty(),
        "answers other than 201 or 503 problem+json with Retry-After: {:?}",
        seen.bad
    );
    let answered: BTreeSet<i64> = seen.answered.iter().copied().collect();
    assert_eq!(answered.len(), seen.answered.len(), "two keys were answered with one request");
    assert!(answered.len() > 10, "the load ran: {} answered", answered.len());
    // nothing acknowledged lost, nothing doubled: the requests made are the keys answered 201,
    // plus at most the keys still being retried when the load stopped
    let made = count(&url, &format!("SELECT COUNT(*) AS n FROM parts_requests WHERE id > {before}"));
    let lost = answered.iter().filter(|id| **id <= before).count();
    assert_eq!(lost, 0);
    let kept = count(
        &url,
        &format!(
            "SELECT COUNT(*) AS n FROM parts_requests WHERE id IN ({})",
            answered.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(",")
        ),
    );
    assert_eq!(kept as usize, answered.len(), "a request answered 201 is gone");
    assert!(
        made as usize >= answered.len() && made as usize <= answered.len() + seen.unanswered,
        "{made} requests made for {} answered and {} unanswered keys",
        answered.len(),
        seen.unanswered
    );
    let out = Command::new(BIN).arg("audit").env("DATABASE_URL", &url).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
}
