//! Reads on a real streaming replica (`DATABASE_READ_URL`): the harness starts a PostgreSQL
//! standby beside a primary of its own (`pg_basebackup -R`), and the API reads lists, reports
//! and exports there. A caller always reads its own writes; another caller may read the
//! replica's slightly older state; a replica that stops leaves every read answering, on the
//! primary; `/readyz` and `/metrics` tell the replica's state and lag.

use std::time::{Duration, Instant};

use diesel::sql_types::BigInt;
use serde_json::json;

use crate::helpers::{Replicated, Resp, TestApp, REPLICA_RETRY};

const STATION: &str = "station-st-tz-001";

/// A metric's value on `/metrics` (the first series of that name and labels).
pub async fn metric(app: &TestApp, series: &str) -> Option<f64> {
    let r = app.get("/metrics", None).await;
    assert_eq!(r.status, 200);
    r.text.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
}

/// The replica as `/readyz` reports it (which answers 200 whatever the replica's state).
async fn readyz_replica(app: &TestApp) -> serde_json::Value {
    let r = app.get("/readyz", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["status"], "ready", "{}", r.text);
    r.json["replica"].clone()
}

fn ids(r: &Resp) -> Vec<i64> {
    r.ok()["items"].as_array().unwrap().iter().map(|i| i["id"].as_i64().unwrap()).collect()
}

#[derive(diesel::QueryableByName)]
struct Commits {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Transactions committed on the standby in the test's database, by its own statistics.
fn standby_commits(r: &Replicated) -> i64 {
    r.standby_sql::<Commits>(&format!(
        "SELECT xact_commit AS n FROM pg_stat_database WHERE datname = '{}'",
        r.name
    ))
    .n
}

/// One test on the pair, its scenarios in turn: the standby is the pair's only one, and the
/// first scenario pauses its replay, the second stops it. (Two tests would wait for each other,
/// holding both of CI's test threads.)
#[actix_web::test]
async fn reads_on_a_streaming_replica() {
    let Some(r) = TestApp::spawn_replicated().await else { return };
    a_write_is_read_back_at_once_while_other_callers_read_the_replica(&r).await;
    the_replica_stopped_reads_still_answer_and_readyz_says_so(&r).await;
    r.finish().await;
}

async fn a_write_is_read_back_at_once_while_other_callers_read_the_replica(r: &Replicated) {
    let app = &r.app;
    let part = app.part().stock_at("RC-HZ", 500).create().await;

    // a station's request read back at once, by id and in its list, again and again
    for _ in 0..15 {
        let created = app.request().line(&part, 1).send().await;
        let id = created.ok()["id"].as_i64().unwrap();
        assert!(created.headers.contains_key("echelon-read-after"), "a write names its position");
        let got = app.get(&format!("/api/v1/parts-requests/{id}"), Some(STATION)).await;
        assert_eq!(got.ok()["id"], id, "{}", got.text);
        let listed = app.get("/api/v1/parts-requests?limit=5", Some(STATION)).await;
        assert_eq!(ids(&listed).first(), Some(&id), "{}", listed.text);
    }

    // with the standby's replay paused, the writer still reads its own write (on the primary)
    // while another caller's reads, served by the replica, do not see it yet
    r.caught_up().await;
    let before = app.get("/api/v1/parts-requests?limit=5", Some("admin")).await;
    r.pause().await;
    let created = app.request().line(&part, 1).send().await;
    let id = created.ok()["id"].as_i64().unwrap();
    let position = created.headers["echelon-read-after"].to_str().unwrap().to_string();
    for _ in 0..3 {
        let mine = app.get(&format!("/api/v1/parts-requests/{id}"), Some(STATION)).await;
        assert_eq!(mine.ok()["id"], id, "{}", mine.text);
        assert_eq!(ids(&app.get("/api/v1/parts-requests?limit=5", Some(STATION)).await).first(), Some(&id));
        let theirs = app.get(&format!("/api/v1/parts-requests/{id}"), Some("admin")).await;
        theirs.problem(404);
        let listed = app.get("/api/v1/parts-requests?limit=5", Some("admin")).await;
        assert_eq!(ids(&listed), ids(&before), "the admin's list is the replica's, as before the write");
    }
    // a client that sends back the position of a write it saw (through any process) reads it
    let token = app.token("admin").await;
    let sent = app
        .client
        .get(format!("{}/api/v1/parts-requests/{id}", app.base))
        .bearer_auth(&token)
        .header("Echelon-Read-After", &position)
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 200, "read after {position}");
    // a position that is no LSN is ignored: the read is the replica's
    let odd = app
        .client
        .get(format!("{}/api/v1/parts-requests/{id}", app.base))
        .bearer_auth(&token)
        .header("Echelon-Read-After", "soon")
        .send()
        .await
        .unwrap();
    assert_eq!(odd.status(), 404);

    // the paused replica's lag shows on /readyz and /metrics
    let replica = readyz_replica(app).await;
    assert_eq!(replica["state"], "replay_paused", "{replica}");
    assert_eq!(replica["reads"], "replica", "{replica}");
    assert!(replica["lag_bytes"].as_i64().unwrap() > 0, "{replica}");
    assert!(metric(app, "echelon_replica_lag_bytes").await.unwrap() > 0.0);
    assert_eq!(metric(app, "echelon_replica_up").await, Some(1.0));

    // replay resumed, everyone reads the write on the replica
    r.resume();
    r.caught_up().await;
    let theirs = app.get(&format!("/api/v1/parts-requests/{id}"), Some("admin")).await;
    assert_eq!(theirs.ok()["id"], id);
    let replica = readyz_replica(app).await;
    assert_eq!(replica["state"], "streaming", "{replica}");
    assert_eq!(replica["lag_bytes"], 0, "{replica}");
    assert_eq!(replica["lag_seconds"], 0.0, "{replica}");

    // lists, reports and exports by callers that wrote nothing run on the replica: its own
    // statistics count their transactions
    let commits = standby_commits(r);
    let served = metric(app, "echelon_replica_reads_total{served_by=\"replica\"}").await.unwrap();
    for path in [
        "/api/v1/parts-requests?limit=50",
        "/api/v1/shipments?limit=50",
        "/api/v1/stock?location=RC-HZ",
        "/api/v1/parts/export",
        "/api/v1/reports/kpis",
    ] {
        for _ in 0..4 {
            app.get(path, Some("admin")).await.ok();
        }
    }
    let settlement = app.get("/api/v1/settlements?period=2026-11&format=csv", Some("finance")).await;
    assert_eq!(settlement.status, 200, "{}", settlement.text);
    let now = metric(app, "echelon_replica_reads_total{served_by=\"replica\"}").await.unwrap();
    assert!(now >= served + 20.0, "reads served by the replica: {served} then {now}");
    assert!(metric(app, "echelon_replica_reads_total{served_by=\"primary_behind\"}").await.unwrap() > 0.0);
    // the standby publishes a backend's counts when it goes idle, at most once a second
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let grown = standby_commits(r) - commits;
        if grown >= 20 {
            break;
        }
        assert!(Instant::now() < deadline, "the standby counted {grown} transactions of the 20 reads");
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn the_replica_stopped_reads_still_answer_and_readyz_says_so(r: &Replicated) {
    let app = &r.app;
    let part = app.part().stock_at("RC-HZ", 50).create().await;
    let first = app.request().line(&part, 1).create().await;
    r.caught_up().await;
    app.get("/api/v1/parts-requests?limit=5", Some("admin")).await.ok();
    let served = metric(app, "echelon_replica_reads_total{served_by=\"replica\"}").await.unwrap();
    assert!(served > 0.0);

    r.pair.standby.stop();
    let asked = Instant::now();
    for path in [
        "/api/v1/parts-requests?limit=5".to_string(),
        format!("/api/v1/parts-requests/{first}"),
        "/api/v1/shipments?limit=5".into(),
        "/api/v1/reports/kpis".into(),
        "/api/v1/parts/export".into(),
    ] {
        let got = app.get(&path, Some("admin")).await;
        assert_eq!(got.status, 200, "{path}: {}", got.text);
    }
    let settlement = app.get("/api/v1/settlements?period=2026-11&format=csv", Some("finance")).await;
    assert_eq!(settlement.status, 200, "{}", settlement.text);
    assert!(asked.elapsed() < Duration::from_secs(3), "reads without the replica took {:?}", asked.elapsed());
    // writes and their reads go on as before
    let id = app.request().line(&part, 1).create().await;
    let got = app.get(&format!("/api/v1/parts-requests/{id}"), Some(STATION)).await;
    assert_eq!(got.ok()["id"], id);
    let replica = readyz_replica(app).await;
    assert_eq!(replica["state"], "unreachable", "{replica}");
    assert_eq!(replica["reads"], "primary", "{replica}");
    assert!(replica["lag_bytes"].is_null(), "{replica}");
    assert_eq!(metric(app, "echelon_replica_up").await, Some(0.0));
    assert!(metric(app, "echelon_replica_reads_total{served_by=\"primary_down\"}").await.unwrap() > 0.0);
    // the command-line tools read on the primary too, rather than failing on the replica
    let (primary, standby) =
        (format!("{}/{}", r.pair.primary.base, r.name), format!("{}/{}", r.pair.standby.base, r.name));
    let ran = Instant::now();
    let out = actix_web::rt::task::spawn_blocking(move || {
        std::process::Command::new(crate::processes::BIN)
            .arg("audit")
            .env("DATABASE_URL", primary)
            .env("DATABASE_READ_URL", standby)
            .output()
            .expect("run echelon")
    })
    .await
    .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said} {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(said.lines().last(), Some("audit: clean"), "{said}");
    assert!(
        ran.elapsed() < Duration::from_secs(10),
        "the audit without its replica took {:?}",
        ran.elapsed()
    );

    // the replica back, reads return to it once the circuit's wait is over
    r.pair.standby.restart();
    r.standby_answers().await;
    r.caught_up().await;
    actix_web::rt::time::sleep(REPLICA_RETRY + Duration::from_millis(50)).await;
    let before = metric(app, "echelon_replica_reads_total{served_by=\"replica\"}").await.unwrap();
    let mut back = false;
    for _ in 0..50 {
        let got = app.get(&format!("/api/v1/parts-requests/{id}"), Some("admin")).await;
        assert_eq!(got.ok()["id"], id);
        if metric(app, "echelon_replica_reads_total{served_by=\"replica\"}").await.unwrap() > before {
            back = true;
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(back, "reads did not return to the replica");
    let replica = readyz_replica(app).await;
    assert_eq!(replica["state"], "streaming", "{replica}");
    assert_eq!(replica["reads"], "replica", "{replica}");
}

#[actix_web::test]
async fn without_a_replica_readyz_and_metrics_name_none() {
    let app = TestApp::spawn(echelon::db::Backend::Sqlite).await;
    let r = app.get("/readyz", None).await;
    assert_eq!(r.status, 200);
    assert!(r.json.get("replica").is_none(), "{}", r.text);
    let m = app.get("/metrics", None).await;
    assert!(!m.text.contains("echelon_replica_"), "no replica, no replica metrics");
    let created = app
        .post(
            "/api/v1/parts",
            "admin",
            json!({"line": "RF", "family": "TST", "name": "Test part",
        "unit_of_measure": "pcs", "unit_cost": "1.00", "sale_price": "1.00", "serialized": false,
        "core_returnable": false, "weight_grams": 250}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert!(!created.headers.contains_key("echelon-read-after"), "no replica, no position to read after");
    app.finish().await;
}

/// A replica that is not there when the service starts: it starts, every read answers from
/// the primary, and `/readyz` is ready and says so.
#[actix_web::test]
async fn a_replica_away_at_start_leaves_the_reads_on_the_primary() {
    if crate::helpers::pg_or_skip().is_none() {
        return;
    }
    let url = crate::helpers::fresh_database(echelon::db::Backend::Postgres);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let read_url = format!("postgres://postgres@127.0.0.1:{closed}/nowhere");
    let app =
        TestApp::serve_with(url, echelon::db::Backend::Postgres, |c| c.database_read_url = Some(read_url));
    let asked = Instant::now();
    let listed = app.get("/api/v1/parts-requests?limit=5", Some("admin")).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    let id = app.request().line(&app.part().stock_at("RC-HZ", 5).create().await, 1).create().await;
    let got = app.get(&format!("/api/v1/parts-requests/{id}"), Some("admin")).await;
    assert_eq!(got.ok()["id"], id);
    assert!(asked.elapsed() < Duration::from_secs(5), "took {:?}", asked.elapsed());
    let replica = readyz_replica(&app).await;
    assert_eq!(replica["state"], "unreachable", "{replica}");
    assert_eq!(replica["reads"], "primary", "{replica}");
    app.finish().await;
}
