//! The KPI rollups (issue 13): written by the flows, they give the report the figures the raw
//! rows give, through backorders filled days later, late and split receipts and a cost change.

use chrono::Duration;
use serde_json::{json, Value};

use crate::both;
use crate::helpers::TestApp;

fn ratio(v: &Value) -> (i64, i64) {
    (v["numerator"].as_i64().unwrap(), v["denominator"].as_i64().unwrap())
}

/// Ships what a request has ready (urgent: courier-1 by rate card), reports the shipment
/// delivered after `hours`; returns it.
async fn ship(app: &TestApp, id: i64, hours: i64) -> i64 {
    app.on_request(id, "ship", "warehouse-rc-hz").await.ok();
    let items = app.shipments_of(id, "admin").await;
    let s = items.iter().map(|s| s["id"].as_i64().unwrap()).max().unwrap();
    app.deliver(s, Duration::hours(hours)).await;
    s
}

/// Closes the days before `day` (the demo's, its movements among them), so that the closings a
/// scenario counts are its own days'.
async fn close_before(app: &TestApp, day: chrono::NaiveDate) {
    while app.state.db.write(move |c| Ok(echelon::rollup::close_day(c, day)?)).await.unwrap() {}
}

async fn breaches(app: &TestApp) -> Vec<String> {
    app.state.db.read(|c| Ok(echelon::rollup::breaches(c)?)).await.unwrap()
}

async fn report(app: &TestApp, query: &str) -> Value {
    app.get(&format!("/api/v1/reports/kpis?{query}"), Some("admin")).await.ok()["groups"].clone()
}

both!(the_rollup_report_equals_the_raw_recomputation_through_late_receipts, |app| async {
    // day 0 starts at 01:00 (the day boundaries below do not depend on when the test runs)
    let now = app.state.clock.now().naive_utc();
    let day0 = now.date() + Duration::days(1);
    app.state.clock.advance(day0.and_hms_opt(1, 0, 0).unwrap() - now);
    close_before(&app, day0).await;
    let p = app.part().stock_at("RC-HZ", 1).create().await;
    // day 0: 3 of p; RC-HZ has 1, HQ none: 2 backordered
    let r = app.request().line(&p, 3).urgent().send().await;
    let a = r.ok()["id"].as_i64().unwrap();
    assert_eq!(r.json["lines"][0]["backordered"], 2);
    ship(&app, a, 1).await;
    app.on_request(a, "receive", "station-st-tz-001").await.ok();
    // day 1: the backorder is filled; shipped, delivered in time, received with 1 damaged
    // (its replacement is backordered again)
    app.state.clock.advance(Duration::hours(26));
    app.set_stock("RC-HZ", &p, 2).await;
    ship(&app, a, 2).await;
    app.post(
        &format!("/api/v1/parts-requests/{a}/receive"),
        "station-st-tz-001",
        json!({"lines": [{"line_no": 1, "received_qty": 1, "damaged_qty": 1}]}),
    )
    .await
    .ok();
    // day 1: a second request, delivered 30 h late (due within 24 h) on day 2
    let b = app.request().line(&p, 1).urgent().send().await;
    let b = b.ok()["id"].as_i64().unwrap();
    app.set_stock("RC-HZ", &p, 1).await; // serves the replacement first (older), not B
    let b_line = app.get(&format!("/api/v1/parts-requests/{b}"), Some("admin")).await;
    assert_eq!(b_line.ok()["lines"][0]["backordered"], 1);
    // the part's cost changes: outflow is valued at the current cost
    app.patch(&format!("/api/v1/parts/{p}"), "admin", json!({"unit_cost": "12.00"})).await.ok();
    app.set_stock("RC-HZ", &p, 2).await; // one more on hand: now B
    ship(&app, b, 30).await;
    app.on_request(b, "receive", "station-st-tz-001").await.ok();

    let station = format!("level=station&location=ST-TZ-001&from={day0}&to={day0}");
    let g = &report(&app, &station).await[0];
    // the day-0 line: 1 of 3 from the first choice; 1 + 1 units received in time on later
    // days count on its routing day (the damaged unit and its replacement do not: the
    // replacement was not shipped yet)
    assert_eq!(ratio(&g["fill_rate"]["units"]), (1, 3));
    assert_eq!(ratio(&g["fill_rate"]["lines"]), (0, 1));
    assert_eq!(ratio(&g["fill_rate"]["units_within_lead_time"]), (2, 3));
    assert_eq!(ratio(&g["stock_out_rate"]), (0, 1));
    let day1 = day0 + Duration::days(1);
    let g = &report(&app, &format!("level=station&location=ST-TZ-001&from={day1}&to={day1}")).await[0];
    // B routed on day 1 with RC-HZ empty: a stock-out; delivered on day 1: the refill, in time
    assert_eq!(ratio(&g["fill_rate"]["units"]), (0, 1));
    assert_eq!(ratio(&g["stock_out_rate"]), (1, 1));
    assert_eq!(ratio(&g["on_time_delivery"]["overall"]), (1, 1));
    let day2 = day0 + Duration::days(2);
    let g = &report(&app, &format!("level=station&location=ST-TZ-001&from={day2}&to={day2}")).await[0];
    assert_eq!(ratio(&g["on_time_delivery"]["overall"]), (0, 1));
    // RC-HZ shipped 1 + 2 + 1 units (the replacement still waits), at the new cost
    let c = report(&app, &format!("level=centre&location=RC-HZ&from={day0}&to={day2}")).await;
    let centre =
        c[0]["stock"].as_array().unwrap().iter().find(|s| s["echelon"] == "regional_centre").unwrap();
    assert_eq!(centre["outflow"], "48.00");
    // whole months are read from the monthly rollups: the months around the scenario hold
    // all of it (A: 1 of 3 first-choice, 2 in time; B: 0 of 1, late; 2 of 3 shipments on time)
    let first = |d: chrono::NaiveDate| d - Duration::days(chrono::Datelike::day(&d) as i64 - 1);
    let last = first(first(day2) + Duration::days(32)) - Duration::days(1);
    let g =
        &report(&app, &format!("level=station&location=ST-TZ-001&from={}&to={last}", first(day0))).await[0];
    assert_eq!(ratio(&g["fill_rate"]["units"]), (1, 4));
    assert_eq!(ratio(&g["fill_rate"]["units_within_lead_time"]), (2, 4));
    assert_eq!(ratio(&g["on_time_delivery"]["overall"]), (2, 3));
    // the station level lists stations only
    let all = report(&app, &format!("level=station&from={day0}&to={day2}")).await;
    assert!(all.as_array().unwrap().iter().all(|g| g["key"].as_str().unwrap().starts_with("ST-")), "{all}");

    // what the flows wrote is what the raw rows give: the audit's check, and the report
    // unchanged after rebuilding every rollup from the raw rows
    assert_eq!(breaches(&app).await, Vec::<String>::new());
    let levels = ["network", "centre", "station", "tier"];
    let mut before = Vec::new();
    for l in levels {
        before.push(report(&app, &format!("level={l}&from={day0}&to={day2}")).await);
    }
    let same = |label: &'static str| {
        let (app, before) = (&app, &before);
        async move {
            for (l, b) in levels.iter().zip(before) {
                assert_eq!(&report(app, &format!("level={l}&from={day0}&to={day2}")).await, b, "{label} {l}");
            }
        }
    };
    // days 0 and 1 are over: closed (as `echelon serve` closes them), read from the rollups
    // instead of the lines, the figures do not change; day 2 (today) stays open
    assert_eq!(echelon::rollup::close_due(&app.state).await.unwrap(), 2);
    assert_eq!(echelon::rollup::close_due(&app.state).await.unwrap(), 0);
    same("closed").await;
    assert_eq!(breaches(&app).await, Vec::<String>::new());
    let now = app.state.clock.now().naive_utc();
    app.state.db.write(move |c| Ok(echelon::rollup::rebuild(c, now)?)).await.unwrap();
    same("rebuilt").await;
    // the check fails on a rollup that drifted from the raw rows (a closed day's stock-out
    // mark too), and a rebuild mends it
    for (drift, table) in [
        ("UPDATE kpi_station_days SET units_in_time = units_in_time + 1", "kpi_station_days"),
        ("UPDATE kpi_triples_network SET stockout = 1 - stockout", "kpi_triples_network"),
    ] {
        app.state
            .db
            .write(move |c| {
                use diesel::RunQueryDsl;
                echelon::on_backend!(c, |x| diesel::sql_query(drift).execute(x))?;
                Ok(())
            })
            .await
            .unwrap();
        let found = breaches(&app).await;
        assert!(found.len() == 1 && found[0].contains(table), "{found:?}");
        app.state.db.write(move |c| Ok(echelon::rollup::rebuild(c, now)?)).await.unwrap();
        assert!(breaches(&app).await.is_empty());
    }
});

both!(a_day_closes_once_while_the_open_days_come_from_the_lines, |app| async {
    let now = app.state.clock.now().naive_utc();
    let day0 = now.date() + Duration::days(1);
    // day 0 starts at 02:00: day 1's request comes more than the closing grace (an hour) after
    // day 0 ended
    app.state.clock.advance(day0.and_hms_opt(2, 0, 0).unwrap() - now);
    close_before(&app, day0).await;
    let p = app.part().cost("5.00").stock_at("RC-HZ", 2).create().await;
    let ask = |qty: i64| {
        let (app, p) = (&app, &p);
        async move {
            app.request().line(p, qty).urgent().send().await.ok();
        }
    };
    ask(2).await; // day 0: both from RC-HZ
    app.state.clock.advance(Duration::hours(24));
    ask(3).await; // day 1: RC-HZ empty, a stock-out
    let query = format!("level=station&location=ST-TZ-001&from={day0}&to={}", day0 + Duration::days(1));
    let open = report(&app, &query).await;
    assert_eq!(ratio(&open[0]["fill_rate"]["units"]), (2, 5));
    assert_eq!(ratio(&open[0]["stock_out_rate"]), (1, 2));
    // two closers at once (two `echelon serve` processes): day 0 is rolled up once
    let (a, b) = tokio::join!(echelon::rollup::close_due(&app.state), echelon::rollup::close_due(&app.state));
    assert_eq!(a.unwrap() + b.unwrap(), 1);
    assert_eq!(breaches(&app).await, Vec::<String>::new());
    // day 0 from its rollup, day 1 from its lines: the same figures
    assert_eq!(report(&app, &query).await, open);
    // a period of closed days only reads the rollup
    let g = &report(&app, &format!("level=station&location=ST-TZ-001&from={day0}&to={day0}")).await[0];
    assert_eq!(ratio(&g["fill_rate"]["units"]), (2, 2));
    assert_eq!(ratio(&g["stock_out_rate"]), (0, 1));
    // a request later today is counted at once
    ask(1).await;
    let g = &report(&app, &query).await[0];
    assert_eq!(ratio(&g["fill_rate"]["units"]), (2, 6));
    assert_eq!(ratio(&g["fill_rate"]["lines"]), (1, 3));
    assert_eq!(ratio(&g["stock_out_rate"]), (1, 2));
});
