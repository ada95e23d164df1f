//! The network's KPIs on a scenario whose figures are worked out by hand.

use chrono::Duration;
use serde_json::{json, Value};

use crate::both;
use crate::helpers::{into_resp, TestApp};

async fn request(app: &TestApp, part: &str, qty: i64) -> i64 {
    app.request().line(part, qty).urgent().create().await
}

/// Ships a request (urgent: courier-1 by rate card) and reports it delivered now; returns
/// the shipment.
async fn ship_and_deliver(app: &TestApp, id: i64) -> i64 {
    app.on_request(id, "ship", "warehouse-rc-hz").await.ok();
    let s = app.shipments_of(id, "admin").await[0]["id"].as_i64().unwrap();
    app.deliver(s, Duration::zero()).await;
    s
}

fn ratio(v: &Value) -> (i64, i64) {
    (v["numerator"].as_i64().unwrap(), v["denominator"].as_i64().unwrap())
}

both!(kpis_of_a_hand_worked_scenario, |app| async {
    let today = app.state.clock.now().date_naive();
    let p = app.part().create().await;
    let q = app.part().create().await;
    app.set_stock("RC-HZ", &p, 3).await;
    app.set_stock("RC-HZ", &q, 5).await;
    // A: 2 of p, both from RC-HZ (the first choice); B: 2 of p, 1 left at RC-HZ, HQ has none,
    // 1 backordered; C: 1 of p, RC-HZ empty (a stock-out); D: 1 of q from RC-HZ
    let a = request(&app, &p, 2).await;
    let _b = request(&app, &p, 2).await;
    let _c = request(&app, &p, 1).await;
    let d = request(&app, &q, 1).await;
    // A delivered in time and received; D delivered 30 h late (due within 24 h) and received
    ship_and_deliver(&app, a).await;
    app.on_request(a, "receive", "station-st-tz-001").await.ok();
    app.on_request(d, "ship", "warehouse-rc-hz").await.ok();
    let s = app.shipments_of(d, "admin").await[0]["id"].as_i64().unwrap();
    app.deliver(s, Duration::hours(30)).await;
    app.on_request(d, "receive", "station-st-tz-001").await.ok();

    let range = format!("from={today}&to={}", today + Duration::days(2));
    let r = app
        .get(&format!("/api/v1/reports/kpis?level=station&location=ST-TZ-001&{range}"), Some("admin"))
        .await;
    let g = &r.ok()["groups"][0];
    assert_eq!(g["key"], "ST-TZ-001");
    // units: 2 + 1 + 0 + 1 first-choice of 2 + 2 + 1 + 1 requested
    assert_eq!(ratio(&g["fill_rate"]["units"]), (4, 6));
    assert_eq!(g["fill_rate"]["units"]["value"], 0.6667);
    // lines fully from the first choice: A and D of four
    assert_eq!(ratio(&g["fill_rate"]["lines"]), (2, 4));
    // reached the station within the lane's lead time: A's 2 units
    assert_eq!(ratio(&g["fill_rate"]["units_within_lead_time"]), (2, 6));
    // (part, source, day) with demand: (p, RC-HZ, today) with a stock-out, (q, RC-HZ, today) without
    assert_eq!(ratio(&g["stock_out_rate"]), (1, 2));
    // shipments delivered: A on time, D late
    assert_eq!(ratio(&g["on_time_delivery"]["overall"]), (1, 2));
    assert_eq!(
        g["on_time_delivery"]["by_courier"],
        json!([{"name": "courier-1", "on_time": {"numerator": 1, "denominator": 2, "value": 0.5}}])
    );
    assert_eq!(g["on_time_delivery"]["by_lane"][0]["name"], "RC-HZ -> ST-TZ-001");
    // the station holds 3 units at 10.00 received in the period, none at its start
    let stock = g["stock"].as_array().unwrap().iter().find(|s| s["echelon"] == "station").unwrap();
    assert_eq!(stock["value_at_start"], "0.00");
    assert_eq!(stock["value_at_end"], "30.00");

    // the centre level counts RC-HZ's stations and RC-HZ's own stock movements
    let c =
        app.get(&format!("/api/v1/reports/kpis?level=centre&location=RC-HZ&{range}"), Some("finance")).await;
    assert_eq!(ratio(&c.ok()["groups"][0]["fill_rate"]["units"]), (4, 6));
    let centre = c.json["groups"][0]["stock"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["echelon"] == "regional_centre")
        .unwrap()
        .clone();
    // shipped out of RC-HZ at 10.00: A's 2 units of p and D's 1 unit of q (B's unit waits)
    assert_eq!(centre["outflow"], "30.00");
    // the network sees the same requests (the demo holds no others)
    let n = app.get(&format!("/api/v1/reports/kpis?{range}"), Some("admin")).await;
    assert_eq!(ratio(&n.ok()["groups"][0]["fill_rate"]["units"]), (4, 6));
});

both!(a_station_sees_its_own_kpis_only, |app| async {
    app.get("/api/v1/reports/kpis?level=network", Some("station-st-tz-001")).await.problem(403);
    let default = app.get("/api/v1/reports/kpis", Some("station-st-tz-001")).await;
    assert_eq!(default.ok()["level"], "station");
    app.get("/api/v1/reports/kpis?level=tier", Some("warehouse-rc-hz")).await.problem(403);
    let own = app.get("/api/v1/reports/kpis?level=station", Some("station-st-tz-001")).await;
    assert!(own.ok()["groups"].as_array().unwrap().iter().all(|g| g["key"] == "ST-TZ-001"));
    // another station's code is answered like an unknown one (404), so a station cannot learn
    // which codes exist; the same for a centre outside the chain. A technician sees their own
    // tickets and loans, not the station's figures
    let kpis_at = |code: &str| format!("/api/v1/reports/kpis?level=station&location={code}");
    app.get(&kpis_at("ST-TZ-001"), Some("tech-st-tz-001")).await.problem(403);
    for user in ["station-st-tz-001"] {
        let other = app.get(&kpis_at("ST-HZ-001"), Some(user)).await;
        let unknown = app.get(&kpis_at("ST-XX-999"), Some(user)).await;
        let (other, unknown) = (other.problem(404), unknown.problem(404));
        assert_eq!(other["type"], unknown["type"]);
        assert_eq!(
            other["detail"].as_str().unwrap().replace("ST-HZ-001", "?"),
            unknown["detail"].as_str().unwrap().replace("ST-XX-999", "?")
        );
    }
    app.get(&kpis_at("ST-NB-001"), Some("warehouse-rc-hz")).await.problem(404);
    // out of sight is 404 before its kind is weighed (not "a station, not a centre")
    let r = app.get("/api/v1/reports/kpis?level=centre&location=ST-NB-001", Some("warehouse-rc-hz")).await;
    assert_eq!(r.problem(404)["detail"], "location ST-NB-001 not found");
    let r = app.get("/api/v1/reports/kpis?level=centre&location=ST-HZ-001", Some("warehouse-rc-hz")).await;
    assert_eq!(r.problem(422)["errors"][0]["field"], "location", "in sight, of the wrong kind");
    app.get(&kpis_at("ST-HZ-001"), Some("warehouse-rc-hz")).await.ok();
    // a centre's warehouse reads its centre, not the network's figures or their history; the
    // central warehouse's staff, whose subtree is the network, read them all as finance does
    for path in [
        "/api/v1/reports/kpis?level=network",
        "/api/v1/reports/kpis/history",
        "/api/v1/reports/kpis/sparkline",
    ] {
        app.get(path, Some("warehouse-rc-hz")).await.problem(403);
    }
    let hq = app.warehouse_user("HQ").await;
    for path in [
        "/api/v1/reports/kpis",
        "/api/v1/reports/kpis?level=network",
        "/api/v1/reports/kpis?level=tier",
        "/api/v1/reports/kpis/history",
        "/api/v1/reports/kpis/sparkline",
    ] {
        let mine = app.get(path, Some(&hq)).await;
        assert_eq!(mine.status, 200, "{path}: {}", mine.text);
        if mine.content_type().starts_with("application/json") {
            assert_eq!(mine.json, app.get(path, Some("finance")).await.json, "{path}");
        }
    }
    let centres = app.get("/api/v1/reports/kpis?level=centre", Some(&hq)).await;
    let all = app.get("/api/v1/reports/kpis?level=centre", Some("finance")).await;
    assert_eq!(centres.ok()["groups"], all.json["groups"]);
    app.get(&kpis_at("ST-TZ-001"), Some("station-st-tz-001")).await.ok();
    app.get(&kpis_at("ST-HZ-001"), Some("finance")).await.ok();
    app.get("/api/v1/reports/kpis", Some("courier-1")).await.problem(403);
    app.get("/api/v1/reports/kpis?level=station", Some("finance")).await.ok();
    app.get("/api/v1/reports/kpis?from=2026-12-01&to=2026-11-01", Some("admin")).await.problem(422);
    app.get("/api/v1/reports/kpis?level=galaxy", Some("admin")).await.problem(400);
});

/// Intake of an in-warranty compressor ticket for ST-TZ-001, dispatched to its technician and
/// on site; returns the ticket.
async fn visit(app: &TestApp) -> i64 {
    app.ticket().at("ST-TZ-001").dispatched_by("station-st-tz-001", "tech-st-tz-001").on_site().create().await
}

async fn resolve(app: &TestApp, id: i64) {
    crate::tickets::act(
        app,
        id,
        "resolve",
        "tech-st-tz-001",
        json!({"job_type": "repair", "cause": "relay"}),
    )
    .await
    .ok();
}

both!(repair_cycle_time_splits_tickets_that_waited_for_parts, |app| async {
    let today = app.state.clock.now().date_naive();
    let part = app.part().fits_demo_unit().stock_at("RC-HZ", 1).create().await;
    // T1 and T2 at hour 0; T2 needs a part, requested at once
    let t1 = visit(&app).await;
    let t2 = visit(&app).await;
    let rid = app.request().line(&part, 1).for_ticket(t2).create().await;
    app.state.clock.advance(Duration::hours(4));
    let t3 = visit(&app).await; // T3 at hour 4
    app.state.clock.advance(Duration::hours(4)); // hour 8: T3 resolved after 4 h
    resolve(&app, t3).await;
    app.state.clock.advance(Duration::hours(2)); // hour 10: T1 resolved after 10 h
    resolve(&app, t1).await;
    app.on_request(rid, "ship", "warehouse-rc-hz").await.ok();
    app.state.clock.advance(Duration::hours(10)); // hour 20: the part arrives (a 20 h wait)
    app.on_request(rid, "receive", "station-st-tz-001").await.ok();
    app.state.clock.advance(Duration::hours(10)); // hour 30: T2 resolved after 30 h
    resolve(&app, t2).await;

    let range = format!("from={today}&to={}", today + Duration::days(3));
    let r = app
        .get(&format!("/api/v1/reports/kpis?level=station&location=ST-TZ-001&{range}"), Some("admin"))
        .await;
    let c = &r.ok()["groups"][0]["repair_cycle"];
    // cycles 4, 10, 30 h: median 10, 90th percentile (nearest rank) 30
    assert_eq!(c["all"], json!({"tickets": 3, "median_hours": 10.0, "p90_hours": 30.0}));
    assert_eq!(c["waited_for_parts"], json!({"tickets": 1, "median_hours": 30.0, "p90_hours": 30.0}));
    assert_eq!(c["without_parts_wait"], json!({"tickets": 2, "median_hours": 4.0, "p90_hours": 10.0}));
    assert_eq!(c["parts_wait"], json!({"tickets": 1, "median_hours": 20.0, "p90_hours": 20.0}));
});

both!(kpis_have_a_weekly_trend_and_gauges, |app| async {
    let part = app.part().stock_at("RC-HZ", 1).create().await;
    request(&app, &part, 1).await; // fully from the first choice
    request(&app, &part, 1).await; // a stock-out
    let h = app.get("/api/v1/reports/kpis/history?weeks=4", Some("finance")).await;
    let weeks = h.ok()["weeks"].as_array().unwrap().clone();
    assert_eq!(weeks.len(), 4);
    assert_eq!(weeks[3]["fill_rate_units"], 0.5);
    assert!(weeks[0]["fill_rate_units"].is_null());
    let link = h.json["sparklines"]["fill_rate_units"].as_str().unwrap().to_string();
    let svg = app.get(&link, Some("finance")).await;
    assert_eq!(svg.status, 200);
    assert!(svg.content_type().starts_with("image/svg+xml"));
    assert!(svg.text.contains("<polyline"));
    // a client that keeps no image type asks for bytes and gets the same SVG under that type
    let bytes = app
        .client
        .get(format!("{}{link}", app.base))
        .header("accept", "application/octet-stream")
        .bearer_auth(app.token("finance").await)
        .send()
        .await
        .unwrap();
    let bytes = into_resp(bytes).await;
    assert_eq!(bytes.content_type(), "application/octet-stream");
    assert_eq!(bytes.text, svg.text);
    app.get("/api/v1/reports/kpis/history?weeks=99", Some("admin")).await.problem(400);
    app.get("/api/v1/reports/kpis/history", Some("station-st-tz-001")).await.problem(403);
    let m = app.get("/metrics", None).await;
    assert!(m.text.contains(r#"echelon_kpi{name="fill_rate_units"} 0.5"#), "{}", m.text);
    assert!(m.text.contains(r#"echelon_kpi{name="stock_out_rate"} 1"#), "{}", m.text);
});

both!(repair_cycle_percentiles_over_whole_months_come_from_the_histograms_exactly, |app| async {
    let today = app.state.clock.now().date_naive();
    let part = app.part().fits_demo_unit().stock_at("RC-HZ", 1).create().await;
    // T1, T2 and T3 at hour 0; T2 needs a part, requested at once
    let t1 = visit(&app).await;
    let t2 = visit(&app).await;
    let t3 = visit(&app).await;
    let rid = app.request().line(&part, 1).for_ticket(t2).create().await;
    app.state.clock.advance(Duration::hours(4)); // hour 4: T1 resolved after 4 h
    resolve(&app, t1).await;
    // 4 h 05: T3, in the same quarter-hour bucket as T1
    app.state.clock.advance(Duration::minutes(5));
    resolve(&app, t3).await;
    app.state.clock.advance(Duration::minutes(115)); // hour 6: T2 resolved before its part came
    resolve(&app, t2).await;
    app.on_request(rid, "ship", "warehouse-rc-hz").await.ok();
    // hour 16: the part arrives: T2's wait runs to it (16 h), its histogram row moves
    app.state.clock.advance(Duration::hours(10));
    app.on_request(rid, "receive", "station-st-tz-001").await.ok();
    let breaches = app.state.db.read(|c| Ok(echelon::rollup::breaches(c)?)).await.unwrap();
    assert_eq!(breaches, Vec::<String>::new());

    // this month and the next, whole: the histograms; four days: the tickets themselves
    let first = |d: chrono::NaiveDate| d - Duration::days(chrono::Datelike::day(&d) as i64 - 1);
    let next = first(first(today) + Duration::days(32));
    let months = format!("from={}&to={}", first(today), first(next + Duration::days(32)) - Duration::days(1));
    let days = format!("from={today}&to={}", today + Duration::days(3));
    for (level, location) in
        [("network", None), ("centre", Some("RC-HZ")), ("tier", Some("B")), ("station", Some("ST-TZ-001"))]
    {
        let at = location.map(|l| format!("&location={l}")).unwrap_or_default();
        let url = |range: &str| format!("/api/v1/reports/kpis?level={level}{at}&{range}");
        let c = app.get(&url(&months), Some("admin")).await.ok()["groups"][0]["repair_cycle"].clone();
        // cycles 4, 4.08 and 6 h: median (rank 2, the second of its bucket) 4.08, 90th
        // percentile (rank 3) 6
        assert_eq!(c["all"], json!({"tickets": 3, "median_hours": 4.08, "p90_hours": 6.0}), "{level}");
        assert_eq!(c["waited_for_parts"], json!({"tickets": 1, "median_hours": 6.0, "p90_hours": 6.0}));
        assert_eq!(c["without_parts_wait"], json!({"tickets": 2, "median_hours": 4.0, "p90_hours": 4.08}));
        assert_eq!(c["parts_wait"], json!({"tickets": 1, "median_hours": 16.0, "p90_hours": 16.0}));
        let d = app.get(&url(&days), Some("admin")).await.ok()["groups"][0]["repair_cycle"].clone();
        assert_eq!(d, c, "{level}: the same from the tickets");
    }
});
