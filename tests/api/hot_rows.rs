//! Concurrent multi-line shipments from one centre (issue 26): the stock rows of a shipment are
//! locked in one order whatever the order of its lines, and no derived figure (a KPI summary
//! row of the centre) is locked between them, so two shipments of the same parts in opposite
//! orders never deadlock. Every ship succeeds at once (no retry spent on a deadlock), nothing is
//! oversold, the audit is clean, and on PostgreSQL the database counted no deadlock. And reads
//! answer while every write connection waits for a lock (they have a pool of their own).

use serde_json::json;

use crate::both;
use crate::helpers::TestApp;

/// Stations under RC-HZ (its first choice): each request of a pair from its own station.
const STATIONS: [&str; 10] = crate::helpers::RC_HZ_STATIONS;

/// Pairs of requests shipped at once.
const PAIRS: usize = 24;

/// The deadlocks PostgreSQL counted in the test's database (after the backends of the pool
/// have flushed their statistics: at most a second after they went idle).
pub(crate) async fn deadlocks(app: &TestApp) -> i64 {
    std::thread::sleep(std::time::Duration::from_millis(2500));
    app.state
        .db
        .primary(|conn| {
            use diesel::prelude::*;
            #[derive(QueryableByName)]
            struct N {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                n: i64,
            }
            let sql = "SELECT CAST(deadlocks AS BIGINT) AS n FROM pg_stat_database \
                       WHERE datname = current_database()";
            let rows: Vec<N> = echelon::on_backend!(conn, |c| diesel::sql_query(sql).load(c))?;
            Ok(rows.first().map(|r| r.n).unwrap_or(0))
        })
        .await
        .unwrap()
}

/// How many of the requests have a line of part `p`.
async fn requests_naming(app: &TestApp, requests: &[i64], p: &str) -> i64 {
    let mut n = 0;
    for id in requests {
        let r = app.get(&format!("/api/v1/parts-requests/{id}"), Some("admin")).await;
        n += r.ok()["lines"].as_array().unwrap().iter().filter(|l| l["part_code"] == p).count() as i64;
    }
    n
}

both!(multi_line_shipments_in_opposite_part_orders_from_one_centre_never_deadlock, |app| async {
    // pair i: parts P and Q at RC-HZ; one request asks [Q, P] while P has no stock anywhere
    // (P is backordered and allocated when it arrives: its allocations are in the order Q, P),
    // the other asks [P, Q] (allocated P, Q). Every third pair also shares a part with the
    // pair before it, so the pairs contend with each other on the centre's rows too.
    let mut parts: Vec<(String, i64)> = Vec::new();
    let mut requests = Vec::new();
    let mut shared: Option<String> = None;
    for i in 0..PAIRS {
        let p = app.part().cost("1.00").create().await;
        let q = match (&shared, i % 3) {
            (Some(q), 2) => q.clone(),
            _ => {
                let q = app.part().cost("1.00").stock_at("RC-HZ", 4).create().await;
                parts.push((q.clone(), 4));
                q
            }
        };
        shared = Some(q.clone());
        let ask = |station: &'static str, first: &String, second: &String| {
            app.request().station(station).line(first, 1).line(second, 1).send()
        };
        let y = ask(STATIONS[(2 * i) % STATIONS.len()], &q, &p).await;
        assert_eq!(y.ok()["lines"][1]["backordered"], 1, "{}", y.text);
        app.set_stock("RC-HZ", &p, 2).await;
        parts.push((p.clone(), 2));
        let x = ask(STATIONS[(2 * i + 1) % STATIONS.len()], &p, &q).await;
        for r in [&y.json, x.ok()] {
            let id = r["id"].as_i64().unwrap();
            let r = app.get(&format!("/api/v1/parts-requests/{id}"), Some("admin")).await;
            assert_eq!(r.ok()["status"], "allocated", "{}", r.text);
            for line in r.json["lines"].as_array().unwrap() {
                assert_eq!(line["allocations"][0]["source"], "RC-HZ", "{}", r.text);
            }
            app.on_request(id, "pick", "warehouse-rc-hz").await.ok();
            requests.push(id);
        }
    }
    let before = if app.backend == echelon::db::Backend::Postgres { deadlocks(&app).await } else { 0 };
    // every ship at once, over real HTTP (the server's pool bounds how many run together)
    let token = app.token("warehouse-rc-hz").await;
    let sends = requests.iter().map(|id| {
        app.client
            .post(format!("{}/api/v1/parts-requests/{id}/ship", app.base))
            .bearer_auth(&token)
            .json(&json!({}))
            .send()
    });
    let started = std::time::Instant::now();
    let answers = futures_util::future::join_all(sends).await;
    eprintln!("{:?}: {} ships at once took {:?}", app.backend, requests.len(), started.elapsed());
    let mut failed = Vec::new();
    for (id, answer) in requests.iter().zip(answers) {
        let r = crate::helpers::into_resp(answer.expect("the server answers")).await;
        if r.status != 200 {
            failed.push((id, r.status, r.text));
        }
    }
    let found =
        if app.backend == echelon::db::Backend::Postgres { deadlocks(&app).await - before } else { 0 };
    let statuses: Vec<u16> = failed.iter().map(|f| f.1).collect();
    assert!(
        failed.is_empty() && found == 0,
        "{} of {} ships failed ({statuses:?}), {found} deadlocks detected; first failures: {:#?}",
        failed.len(),
        requests.len(),
        &failed[..failed.len().min(2)]
    );
    // nothing oversold: one unit of each part left RC-HZ per request naming it, and no
    // reservation is left behind
    for (p, stock) in &parts {
        let left = stock - requests_naming(&app, &requests, p).await;
        assert_eq!(app.stock("RC-HZ", p).await, (left, 0, left), "{p}");
    }
    for id in &requests {
        let r = app.get(&format!("/api/v1/parts-requests/{id}"), Some("admin")).await;
        assert_eq!(r.ok()["status"], "shipped", "{}", r.text);
    }
});

both!(reads_answer_while_every_write_connection_waits_for_a_lock, |app| async {
    use diesel::connection::SimpleConnection;
    let part = app.part().cost("1.00").stock_at("RC-HZ", 100).create().await;
    // another session holds what every parts request of ST-TZ-001 must take: the station's
    // row on PostgreSQL, the database's write lock on SQLite
    let mut holder = echelon::db::Manager::new(&app.url).unwrap().connect_now().unwrap();
    let hold = match app.backend {
        echelon::db::Backend::Postgres => {
            "BEGIN; SELECT id FROM locations WHERE code = 'ST-TZ-001' FOR UPDATE"
        }
        echelon::db::Backend::Sqlite => "BEGIN IMMEDIATE",
    };
    holder.batch_execute(hold).unwrap();
    // more requests than the write pool has connections: each holds one while it waits
    let writers = app.state.config.pool_size as usize + 4;
    let token = app.token("station-st-tz-001").await;
    let admin = app.token("admin").await;
    let sends = (0..writers).map(|_| {
        app.client
            .post(format!("{}/api/v1/parts-requests", app.base))
            .bearer_auth(&token)
            .json(&json!({"lines": [{"part_code": part, "qty": 1}]}))
            .send()
    });
    let reads = async {
        actix_web::rt::time::sleep(std::time::Duration::from_millis(700)).await;
        let mut took = Vec::new();
        for path in [
            format!("/api/v1/stock?location=RC-HZ&part_code={part}"),
            "/api/v1/parts-requests?limit=5".to_string(),
            "/api/v1/me".to_string(),
        ] {
            let started = std::time::Instant::now();
            let r = app.send(reqwest::Method::GET, &path, Some(&admin), None).await;
            took.push((path, r.status, started.elapsed()));
        }
        holder.batch_execute("COMMIT").unwrap();
        took
    };
    let (answers, took) = tokio::join!(futures_util::future::join_all(sends), reads);
    // the reads answered at once, while every writer still waited
    for (path, status, elapsed) in &took {
        assert_eq!(*status, 200, "{path}");
        assert!(elapsed.as_millis() < 2000, "{path} took {elapsed:?} while the writers waited");
    }
    // and the writers went on once the lock was released
    for a in answers {
        let r = crate::helpers::into_resp(a.expect("the server answers")).await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    assert_eq!(app.stock("RC-HZ", &part).await, (100, writers as i64, 100 - writers as i64));
});

both!(one_stations_requests_ships_receipts_and_loans_at_once_never_deadlock, |app| async {
    // every write of one station at once, on the same two parts in both orders: new requests,
    // ships of its picked requests, receipts of its shipped ones and loans from its shelf. The
    // station's row, which all of them change, is taken last by each (at its booking), so none
    // waits on another in a circle, and the allowance still holds for the new requests.
    const STATION: &str = "ST-TZ-001";
    const EACH: usize = 6;
    let p =
        app.part().cost("1.00").stock_at("RC-HZ", 200).stock_at(STATION, 40).fits_demo_unit().create().await;
    let q =
        app.part().cost("1.00").stock_at("RC-HZ", 200).stock_at(STATION, 40).fits_demo_unit().create().await;
    let pair = |i: usize| if i % 2 == 0 { (&p, &q) } else { (&q, &p) };
    let ask = |i: usize| {
        let (a, b) = pair(i);
        app.request().line(a, 1).line(b, 1).send()
    };
    let mut to_ship = Vec::new();
    let mut to_receive = Vec::new();
    for i in 0..2 * EACH {
        let id = ask(i).await.ok()["id"].as_i64().unwrap();
        app.on_request(id, "pick", "warehouse-rc-hz").await.ok();
        if i < EACH {
            to_ship.push(id);
        } else {
            app.on_request(id, "ship", "warehouse-rc-hz").await.ok();
            app.dispatch(id).await;
            to_receive.push(id);
        }
    }
    let ticket = app.ticket().at(STATION).dispatched_to(crate::builders::TECH).on_site().create().await;
    let before = if app.backend == echelon::db::Backend::Postgres { deadlocks(&app).await } else { 0 };
    let (station, centre) = (app.token("station-st-tz-001").await, app.token("warehouse-rc-hz").await);
    let post = |token: &String, path: String, body: serde_json::Value| {
        app.client.post(format!("{}{path}", app.base)).bearer_auth(token).json(&body).send()
    };
    let mut sends = Vec::new();
    for i in 0..EACH {
        let (a, b) = pair(i + 1);
        let lines = json!([{"part_code": a, "qty": 1}, {"part_code": b, "qty": 1}]);
        sends.push(post(&station, "/api/v1/parts-requests".into(), json!({"lines": lines})));
        sends.push(post(&centre, format!("/api/v1/parts-requests/{}/ship", to_ship[i]), json!({})));
        sends.push(post(&station, format!("/api/v1/parts-requests/{}/receive", to_receive[i]), json!({})));
        let loan = json!({"technician": crate::builders::TECH, "ticket_id": ticket, "lines": lines});
        sends.push(post(&station, "/api/v1/loans".into(), loan));
    }
    let answers = futures_util::future::join_all(sends).await;
    let mut failed = Vec::new();
    for a in answers {
        let r = crate::helpers::into_resp(a.expect("the server answers")).await;
        if !(200..300).contains(&r.status) {
            failed.push((r.status, r.text));
        }
    }
    let found =
        if app.backend == echelon::db::Backend::Postgres { deadlocks(&app).await - before } else { 0 };
    assert!(failed.is_empty() && found == 0, "{found} deadlocks; failed: {failed:#?}");
    // every unit accounted for: each loan took one P and one Q off the shelf, each receipt
    // brought one of each
    assert_eq!(app.stock(STATION, &p).await.0, 40);
    assert_eq!(app.stock(STATION, &q).await.0, 40);
});

both!(a_ticket_resolved_as_its_parts_request_is_received_never_deadlocks, |app| async {
    // the technician resolves a ticket, using a part from the station's shelf, at the moment
    // the station receives the ticket's parts request of that part: the resolve takes the
    // ticket's row and then the shelf's stock row, and the receipt takes the ticket's row
    // before the stock rows too, so neither waits on the other in a circle
    const TZ: &str = "ST-TZ-001";
    const TECH: &str = "tech-st-tz-001";
    const ROUNDS: usize = 8;
    let part =
        app.part().cost("1.00").stock_at("RC-HZ", 100).stock_at(TZ, 100).fits_demo_unit().create().await;
    let mut pairs = Vec::new();
    for _ in 0..ROUNDS {
        let t = crate::settlement::worked(&app, TZ, TECH, true, "repair", json!([])).await;
        let r = app.request().station(TZ).line(&part, 1).for_ticket(t).create().await;
        for action in ["pick", "ship"] {
            app.on_request(r, action, "admin").await.ok();
        }
        app.dispatch(r).await;
        pairs.push((t, r));
    }
    let before = if app.backend == echelon::db::Backend::Postgres { deadlocks(&app).await } else { 0 };
    let started = std::time::Instant::now();
    let (app_ref, part_ref) = (&app, &part);
    let both = pairs.iter().map(|&(t, r)| async move {
        let (app, part) = (app_ref, part_ref);
        let resolve =
            json!({"job_type": "repair", "cause": "worn", "parts_used": [{"part_code": part, "qty": 1}]});
        futures_util::future::join(
            app.post(&format!("/api/v1/parts-requests/{r}/receive"), "admin", json!({})),
            crate::tickets::act(app, t, "resolve", TECH, resolve),
        )
        .await
    });
    for (received, resolved) in futures_util::future::join_all(both).await {
        assert_eq!(received.ok()["request"]["status"], "received", "{}", received.text);
        assert_eq!(resolved.ok()["status"], "resolved", "{}", resolved.text);
    }
    let found =
        if app.backend == echelon::db::Backend::Postgres { deadlocks(&app).await - before } else { 0 };
    assert_eq!(found, 0, "deadlocks detected (in {:?})", started.elapsed());
    // each round's unit arrived and one left for the customer: the shelf is where it began
    assert_eq!(app.stock(TZ, &part).await.0, 100);
});
