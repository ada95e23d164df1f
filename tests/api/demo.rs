//! The living demo (spec section 17): the demo as `serve --demo` loads it holds about 90 days of
//! history, so every list, the KPIs, the scorecards and the settlement show real figures to each
//! demo user on the first start, the audit is clean, and two loads on different days tell the
//! same story relative to their day.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, Utc};
use diesel::prelude::*;
use echelon::db::{self, Backend};
use serde_json::Value;

use crate::helpers::{empty_database, pg_or_skip, TestApp, PASSWORD};

/// A database holding the demo loaded at `now` as `serve --demo` loads it (`demo::load` inside
/// one write transaction).
pub(crate) fn demo_database(backend: Backend, now: DateTime<Utc>) -> String {
    let url = empty_database(backend);
    let manager = db::Manager::new(&url).unwrap();
    let mut conn = manager.connect_now().expect("connect");
    db::migrate(&mut conn).expect("migrate");
    db::write_tx(&mut conn, |c| {
        db::setup_lock(c)?;
        assert!(echelon::demo::is_empty(c)?);
        echelon::demo::load(c, PASSWORD, now).map(|_| ())
    })
    .expect("load the demo with its history");
    url
}

fn items(r: &crate::helpers::Resp) -> Vec<Value> {
    r.ok()["items"].as_array().cloned().unwrap_or_default()
}

async fn list(app: &TestApp, path: &str, user: &str) -> Vec<Value> {
    items(&app.get(path, Some(user)).await)
}

fn period_of(d: chrono::NaiveDate) -> String {
    format!("{:04}-{:02}", d.year(), d.month())
}

async fn a_living_demo(app: &TestApp, loaded: DateTime<Utc>) {
    // tickets in every state, all at the demo station
    let statuses = [
        "open",
        "quoted",
        "quote_accepted",
        "dispatched",
        "on_site",
        "awaiting_parts",
        "resolved",
        "unresolved",
        "confirmed",
        "closed",
    ];
    for status in statuses {
        let found = list(app, &format!("/api/v1/tickets?status={status}&limit=5"), "agent").await;
        assert!(!found.is_empty(), "no ticket is {status}");
    }
    // the station sees its own tickets, an overdue one among them; its technician his
    let overdue = list(app, "/api/v1/tickets?overdue=true&limit=50", "station-st-tz-001").await;
    assert!(!overdue.is_empty(), "the station has an overdue ticket");
    assert!(overdue.iter().all(|t| t["station"] == "ST-TZ-001"), "{overdue:?}");
    assert!(!list(app, "/api/v1/tickets?limit=5", "tech-st-tz-001").await.is_empty());

    // parts requests: a line waiting on a backorder, and the centre's pick list
    let requests = list(app, "/api/v1/parts-requests?limit=500", "station-st-tz-001").await;
    let waiting =
        |r: &Value| r["lines"].as_array().unwrap().iter().any(|l| l["backordered"].as_i64() > Some(0));
    assert!(requests.iter().any(waiting), "a request waits on a backorder");
    let to_pick = list(app, "/api/v1/parts-requests?source=RC-HZ&status=allocated", "warehouse-rc-hz").await;
    assert!(!to_pick.is_empty(), "the centre has something to pick");
    assert!(!list(app, "/api/v1/parts-requests?status=received&limit=5", "station-st-tz-001")
        .await
        .is_empty());

    // shipments: one on its way, one delivered damaged with its claim; courier-1 has work
    let in_transit = list(app, "/api/v1/shipments?status=in_transit", "admin").await;
    assert!(!in_transit.is_empty(), "a shipment is in transit");
    let claims = list(app, "/api/v1/claims", "admin").await;
    assert!(!claims.is_empty(), "a damaged delivery has its claim");
    let damaged = app.get(&format!("/api/v1/shipments/{}", claims[0]["shipment_id"]), Some("admin")).await;
    assert!(damaged.ok()["damaged_units"].as_i64().unwrap_or(0) > 0, "{}", damaged.text);
    assert!(!list(app, "/api/v1/shipments?limit=5", "courier-1").await.is_empty(), "courier-1 has shipments");

    // tenders: open and awarded
    for status in ["open", "awarded"] {
        let found = list(app, &format!("/api/v1/tenders?status={status}"), "warehouse-rc-hz").await;
        let found = if found.is_empty() {
            list(app, &format!("/api/v1/tenders?status={status}"), "admin").await
        } else {
            found
        };
        assert!(!found.is_empty(), "no tender is {status}");
    }

    // loans: a core still due and one overdue
    let loans = list(app, "/api/v1/loans?limit=500", "tech-st-tz-001").await;
    let open_line = |l: &Value| l["lines"].as_array().unwrap().iter().any(|x| x["status"] == "open");
    assert!(loans.iter().any(|l| open_line(l) && l["overdue"] == false), "a core is due");
    assert!(loans.iter().any(|l| open_line(l) && l["overdue"] == true), "a core is overdue");
    assert!(!list(app, "/api/v1/loans?overdue=true", "station-st-tz-001").await.is_empty());
    assert!(!list(app, "/api/v1/loans?overdue=true", "tech-st-tz-001").await.is_empty());
    assert!(!list(app, "/api/v1/tickets?status=awaiting_parts", "tech-st-tz-001").await.is_empty());

    // the weekly plan: a run each week, its orders released (the station's by the parts request
    // that ordered the run's lines), and the last run's proposals still to review
    let proposals = list(app, "/api/v1/proposals?limit=500", "warehouse-rc-hz").await;
    assert!(proposals.iter().any(|p| p["status"] == "proposed"), "a proposal to review");
    let mut runs: Vec<i64> = proposals.iter().map(|p| p["run_id"].as_i64().unwrap()).collect();
    runs.dedup();
    assert!(runs.len() >= 10, "about a run a week: {runs:?}");
    let by_request: Vec<&Value> = proposals
        .iter()
        .filter(|p| p["reference"].as_str().is_some_and(|r| r.starts_with("parts_request:")))
        .collect();
    assert!(by_request.len() >= 5, "{proposals:#?}");
    for p in by_request {
        assert_eq!((&p["status"], &p["destination"]), (&"released".into(), &"ST-TZ-001".into()), "{p}");
        let id = p["reference"].as_str().unwrap().trim_start_matches("parts_request:");
        let ordered = app.get(&format!("/api/v1/parts-requests/{id}"), Some("station-st-tz-001")).await;
        let proposal = app.get(&format!("/api/v1/proposals/{}", p["id"]), Some("warehouse-rc-hz")).await;
        for line in proposal.ok()["lines"].as_array().unwrap() {
            let asked = ordered.ok()["lines"]
                .as_array()
                .unwrap()
                .iter()
                .find(|l| l["part_code"] == line["part_code"]);
            assert!(
                asked.is_some_and(|l| l["qty"] == line["qty"] || l["qty"] == 90),
                "{line} in {}",
                ordered.text
            );
        }
    }
    assert!(
        proposals
            .iter()
            .any(|p| p["status"] == "released" && p["source"] == "HQ" && p["destination"] == "RC-HZ"),
        "the warehouse released a transfer to the centre"
    );

    // follow-ups, called and still to call
    let calls = list(app, "/api/v1/follow-ups?limit=500", "agent").await;
    assert!(calls.iter().any(|c| c["status"] == "done"), "a call has its result");

    // KPIs with numbers, not nulls
    let kpis = app.get("/api/v1/reports/kpis", Some("admin")).await;
    let group = &kpis.ok()["groups"][0];
    assert!(group["fill_rate"]["units"]["value"].is_number(), "{}", kpis.text);
    assert!(group["stock_out_rate"]["value"].is_number(), "{}", kpis.text);
    assert!(group["on_time_delivery"]["overall"]["value"].is_number(), "{}", kpis.text);
    assert!(group["repair_cycle"]["all"]["median_hours"].is_number(), "{}", kpis.text);
    let station_kpis = app.get("/api/v1/reports/kpis", Some("station-st-tz-001")).await;
    assert!(station_kpis.ok()["groups"][0]["repair_cycle"]["all"]["tickets"].as_i64().unwrap_or(0) > 0);

    // the station's scorecard
    let card = app.get("/api/v1/stations/ST-TZ-001/scorecard", Some("station-st-tz-001")).await;
    assert!(card.ok()["tickets"].as_u64().unwrap_or(0) > 0, "{}", card.text);
    assert!(card.json["sla_compliance_share"].is_number(), "{}", card.text);
    assert!(card.json["results"].as_u64().unwrap_or(0) > 0, "{}", card.text);
    assert!(card.json["fee_reasonable_share"].is_number(), "{}", card.text);

    // settlement: last month closed, this one open with lines
    let today = loaded.date_naive();
    let this = period_of(today);
    let last = period_of(today.with_day(1).unwrap() - Duration::days(1));
    let closed = app.get(&format!("/api/v1/settlements?period={last}"), Some("finance")).await;
    assert_eq!(closed.ok()["status"], "closed", "{}", closed.text);
    assert!(closed.json["totals"]["lines"].as_i64().unwrap_or(0) > 0, "{}", closed.text);
    // every figure reconciles to its source, the ledger's consumption too (a part consumed on
    // the 30th for a ticket completed on the 1st counts in the month the ticket settles in)
    let reconciles = |s: &Value| {
        let checks = s["reconciliation"].as_array().unwrap();
        checks.len() >= 6 && checks.iter().all(|c| c["ok"] == true)
    };
    assert!(reconciles(&closed.json), "{}", closed.text);
    let open = app.get(&format!("/api/v1/settlements?period={this}"), Some("finance")).await;
    assert_eq!(open.ok()["status"], "open", "{}", open.text);
    assert!(reconciles(&open.json), "{}", open.text);
    // within its first half day a month has seen little of the history yet
    if loaded - loaded.date_naive().with_day(1).unwrap().and_hms_opt(0, 0, 0).unwrap().and_utc()
        > Duration::hours(12)
    {
        assert!(open.json["totals"]["lines"].as_i64().unwrap_or(0) > 0, "{}", open.text);
    }
    let own = app.get(&format!("/api/v1/settlements?period={last}"), Some("station-st-tz-001")).await;
    assert!(own.status == 200 || own.status == 403, "{}", own.text);
}

mod the_demo_holds_ninety_days_of_history {
    use super::*;

    #[actix_web::test]
    async fn sqlite() {
        let loaded = Utc::now();
        let app = TestApp::serve(demo_database(Backend::Sqlite, loaded), Backend::Sqlite);
        a_living_demo(&app, loaded).await;
        app.finish().await;
    }

    #[actix_web::test]
    async fn postgres() {
        if pg_or_skip().is_none() {
            return;
        }
        let loaded = Utc::now();
        let app = TestApp::serve(demo_database(Backend::Postgres, loaded), Backend::Postgres);
        a_living_demo(&app, loaded).await;
        app.finish().await;
    }
}

/// Rows per (table, status) and the rows of the tables without a status.
fn shape(url: &str) -> BTreeMap<String, i64> {
    use echelon::db::schema::{claims, follow_ups, loan_lines, parts_requests, shipments, tenders, tickets};
    let manager = db::Manager::new(url).unwrap();
    let mut conn = manager.connect_now().unwrap();
    let c = &mut conn;
    let mut out = BTreeMap::new();
    let mut put = |table: &str, rows: Vec<(String, i64)>| {
        for (status, n) in rows {
            out.insert(format!("{table}.{status}"), n);
        }
    };
    use diesel::dsl::count_star;
    put(
        "tickets",
        tickets::table.group_by(tickets::status).select((tickets::status, count_star())).load(c).unwrap(),
    );
    put(
        "parts_requests",
        parts_requests::table
            .group_by(parts_requests::status)
            .select((parts_requests::status, count_star()))
            .load(c)
            .unwrap(),
    );
    put(
        "shipments",
        shipments::table
            .group_by(shipments::status)
            .select((shipments::status, count_star()))
            .load(c)
            .unwrap(),
    );
    put(
        "tenders",
        tenders::table.group_by(tenders::status).select((tenders::status, count_star())).load(c).unwrap(),
    );
    put(
        "loan_lines",
        loan_lines::table
            .group_by(loan_lines::status)
            .select((loan_lines::status, count_star()))
            .load(c)
            .unwrap(),
    );
    put(
        "follow_ups",
        follow_ups::table
            .group_by(follow_ups::status)
            .select((follow_ups::status, count_star()))
            .load(c)
            .unwrap(),
    );
    put("claims", vec![("all".into(), claims::table.count().get_result(c).unwrap())]);
    out
}

#[test]
fn two_loads_on_different_days_have_the_same_shape() {
    let now = Utc::now();
    let earlier = now - Duration::days(47) - Duration::hours(7) - Duration::minutes(13);
    let a = shape(&demo_database(Backend::Sqlite, now));
    let b = shape(&demo_database(Backend::Sqlite, earlier));
    assert!(a.get("tickets.closed").copied().unwrap_or(0) > 100, "{a:?}");
    // the same story: every state of every table on show in both, in about the same numbers
    // (the weekly plan reads demand by calendar week, so what it orders, and what waits for a
    // part, can differ by a little between two loading days)
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>(), "{a:?}\n{b:?}");
    for (key, &x) in &a {
        let y = b[key];
        assert!((x - y).abs() <= 3.max(x / 10), "{key}: {x} and {y}\n{a:?}\n{b:?}");
    }
}
