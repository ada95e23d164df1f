//! Crash safety: `echelon serve` killed with SIGKILL in the middle of a request load loses no
//! answered request and leaves nothing half-written; a PostgreSQL restart under load turns
//! `/readyz` red, then green again without restarting echelon.

use std::collections::BTreeSet;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use echelon::db::Backend;
use serde_json::{json, Value};

use crate::helpers::{fresh_database, pg_or_skip};
use crate::processes::{login, serve, BIN};

/// Runs request threads against `base` until `stop`; returns the ids of requests answered 201.
fn load(
    base: &str,
    token: &str,
    part: &str,
    stop: Arc<AtomicBool>,
) -> Vec<std::thread::JoinHandle<Vec<i64>>> {
    let stations = ["ST-TZ-001", "ST-HZ-001", "ST-SX-001", "ST-JH-001", "ST-WZ-001", "ST-HU-001"];
    (0..6)
        .map(|t| {
            let (base, token, part, stop) = (base.to_string(), token.to_string(), part.to_string(), stop.clone());
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
                let mut answered = Vec::new();
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let r = client
                        .post(format!("{base}/api/v1/parts-requests"))
                        .bearer_auth(&token)
                        .header("Idempotency-Key", format!("crash-{t}-{n}"))
                        .json(&json!({"station": stations[(t + n) % stations.len()], "lines": [{"part_code": part, "qty": 1}]}))
                        .send();
                    match r {
                        Ok(r) if r.status() == 201 => answered.push(r.json::<Value>().unwrap()["id"].as_i64().unwrap()),
                        Ok(_) => {}
                        Err(_) => std::thread::sleep(Duration::from_millis(20)),
                    }
                }
                answered
            })
        })
        .collect()
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
    let answered: BTreeSet<i64> = threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
    assert!(answered.len() > 10, "the load ran: {} answered", answered.len());

    // after a restart every answered request is there, whole, and the ledger is consistent
    let out = Command::new(BIN).arg("audit").env("DATABASE_URL", url).output().unwrap();
    assert!(out.status.success(), "audit after kill -9: {}", String::from_utf8_lossy(&out.stdout));
    let s = serve(dir.path(), &[("DATABASE_URL", url)], &[]);
    let token = login(&s.base, "admin");
    let seen = Mutex::new(0);
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
        *seen.lock().unwrap() += 1;
    }
    assert_eq!(*seen.lock().unwrap(), answered.len());
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

#[test]
fn a_postgres_restart_under_load_turns_readiness_red_then_green_without_restarting_echelon() {
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
    let threads = load(&s.base, &token, &part, stop.clone());
    std::thread::sleep(Duration::from_millis(500));
    cluster.stop();
    let red = client.get(format!("{}/readyz", s.base)).send().unwrap();
    assert_eq!(red.status(), 503);
    assert!(red.headers()["content-type"].to_str().unwrap().starts_with("application/problem+json"));
    // requests fail cleanly (503), never hang or crash the process
    let during = client.get(format!("{}/api/v1/locations/HQ", s.base)).bearer_auth(&token).send().unwrap();
    assert_eq!(during.status(), 503);
    cluster.restart();
    let start = Instant::now();
    while ready() != 200 {
        assert!(start.elapsed() < Duration::from_secs(30), "readiness did not recover");
        std::thread::sleep(Duration::from_millis(200));
    }
    let after = client.get(format!("{}/api/v1/locations/HQ", s.base)).bearer_auth(&token).send().unwrap();
    assert_eq!(after.status(), 200);
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    let out = Command::new(BIN).arg("audit").env("DATABASE_URL", &url).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
}
