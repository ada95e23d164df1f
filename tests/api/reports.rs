//! Section 11's reports: a seeded week's service report, failure rates on a small installed
//! base worked out by hand, and a quality alert raised by an injected spike of failures.

use chrono::{Datelike, Duration, NaiveDate};
use serde_json::{json, Value};

use crate::both;
use crate::helpers::{TestApp, PASSWORD};
use crate::tickets::{act, intake, ticket, CMP, UNIT};

const GSK: &str = "RF-GSK-00221D";

fn names(v: &Value) -> Vec<(String, i64)> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap().to_string(), c["count"].as_i64().unwrap()))
        .collect()
}

fn pairs(v: &[(&str, i64)]) -> Vec<(String, i64)> {
    v.iter().map(|(a, b)| (a.to_string(), *b)).collect()
}

fn ratio(v: &Value) -> (i64, i64) {
    (v["numerator"].as_i64().unwrap(), v["denominator"].as_i64().unwrap())
}

/// The parts a visit fits come off ST-TZ-001's shelf (no loan brings them): one of each is
/// received there first.
async fn shelve(app: &TestApp, parts: &[&str]) {
    static SERIAL: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let mut receipt = app.receipt("ST-TZ-001");
    for p in parts {
        receipt = if *p == CMP {
            let serial = format!("RPTCMP{:06}", SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
            receipt.serials(p, &[&serial])
        } else {
            receipt.line(p, 1)
        };
    }
    if !parts.is_empty() {
        receipt.create().await;
    }
}

/// Dispatches to ST-TZ-001's technician, arrives and resolves with the parts used.
async fn fix(app: &TestApp, id: i64, cause: &str, parts: &[&str]) {
    let tech = "tech-st-tz-001";
    act(app, id, "dispatch", "agent", json!({"station": "ST-TZ-001", "technician": tech})).await.ok();
    act(app, id, "arrive", tech, json!({})).await.ok();
    shelve(app, parts).await;
    let used: Vec<Value> = parts.iter().map(|p| json!({"part_code": p, "qty": 1})).collect();
    let r = act(app, id, "resolve", tech, json!({"job_type": "repair", "cause": cause, "parts_used": used}))
        .await;
    assert_eq!(r.ok()["status"], "resolved");
}

/// A model compatible with the compressor and the gasket (120 months on the compressor) and
/// units of it shipped on the given days.
async fn model_with_units(app: &TestApp, code: &str, launch: NaiveDate, shipped: &[NaiveDate]) {
    let model = app.model(code).name("Report test refrigerator").launched(launch).part(GSK).part(CMP);
    let model = shipped.iter().enumerate().fold(model, |m, (i, day)| m.unit(&format!("{code}-{i:04}"), *day));
    model.create().await;
}

/// A ticket of a unit, taken in, dispatched to ST-TZ-001's technician and resolved with the
/// parts used.
async fn fixed(app: &TestApp, serial: &str, cause: &str, parts: &[&str]) -> i64 {
    shelve(app, parts).await;
    let used: Vec<Value> = parts.iter().map(|p| json!({"part_code": p, "qty": 1})).collect();
    app.ticket()
        .serial(serial)
        .dispatched_at("ST-TZ-001", "tech-st-tz-001")
        .resolved(json!({"job_type": "repair", "cause": cause, "parts_used": used}))
        .create()
        .await
}

both!(a_seeded_week_reports_the_tickets_opened_in_it, |app| async {
    // next Monday, 10:00: a week of its own
    let now = app.state.clock.now();
    let monday = now.date_naive() + Duration::days(7 - i64::from(now.weekday().num_days_from_monday()));
    let target = monday.and_hms_opt(10, 0, 0).unwrap().and_utc();
    app.state.clock.advance(target - now);
    let week = echelon::reports::rules::week_of(monday);

    let safety = app.ticket().category("safety_incident").urgency("urgent").at("ST-TZ-001").create().await;
    let complaint = app.ticket().category("complaint").urgency("urgent").at("ST-TZ-001").create().await;
    let mut walk_in = ticket(UNIT, None, "consultation", "normal", None);
    walk_in["channel"] = json!("walk_in");
    // a fault as told, which a spreadsheet would run as a formula
    walk_in["fault"] = json!("  =Noisy FAN ");
    intake(&app, "agent", walk_in).await;
    // the safety incident: answered and resolved at once, confirmed and closed
    fix(&app, safety, "loose earth wire", &[CMP]).await;
    act(&app, safety, "confirm", "tech-st-tz-001", json!({})).await.ok();
    act(&app, safety, "close", "agent", json!({})).await.ok();
    // the complaint is answered a day and an hour late and stays unresolved
    app.state.clock.advance(Duration::hours(25));
    act(
        &app,
        complaint,
        "dispatch",
        "agent",
        json!({"station": "ST-TZ-001", "technician": "tech-st-tz-001"}),
    )
    .await
    .ok();
    // two units of a test part consumed at the station in the week
    let at = app.state.clock.now().naive_utc();
    let consumed = app.part().stock_at("ST-TZ-001", 5).create().await;
    let code = consumed.clone();
    app.state
        .db
        .write(move |conn| {
            use echelon::ledger::{rules::Reason, store};
            use echelon::network::rules::LocationKind;
            let from = store::place_by_code(conn, "ST-TZ-001")?.expect("the station");
            let to = store::virtual_place(conn, LocationKind::Customer)?;
            let part = echelon::catalogue::store::parts::by_code(conn, &code)?.expect("the part").id;
            store::post(
                conn,
                &store::Move {
                    part_id: part,
                    qty: 2,
                    from: &from,
                    to: &to,
                    reason: Reason::Consume,
                    reference: None,
                    actor: Some("tech-st-tz-001"),
                    at,
                    serials: &[],
                    from_reserved: false,
                    ticket_id: None,
                },
            )
        })
        .await
        .unwrap();

    let r = app.get(&format!("/api/v1/reports/weekly?week={week}"), Some("agent")).await;
    let j = r.ok();
    assert_eq!(j["from"], monday.to_string());
    assert_eq!(
        (j["opened"].as_i64(), j["resolved"].as_i64(), j["closed"].as_i64()),
        (Some(3), Some(1), Some(1))
    );
    let by = &j["opened_by"];
    assert_eq!(names(&by["by_status"]), pairs(&[("closed", 1), ("dispatched", 1), ("open", 1)]));
    assert_eq!(names(&by["by_channel"]), pairs(&[("phone", 2), ("walk_in", 1)]));
    assert_eq!(
        names(&by["by_category"]),
        pairs(&[("complaint", 1), ("consultation", 1), ("safety_incident", 1)])
    );
    assert_eq!(names(&by["by_model"]), pairs(&[("BCD-539WT", 3)]));
    assert_eq!(names(&by["by_fault"]), pairs(&[("=noisy fan", 1), ("CMP", 2)]));
    assert_eq!(names(&by["by_station"]), pairs(&[("-", 1), ("ST-TZ-001", 2)]));
    // the two 24/48-hour tickets: the safety incident kept both clocks, the complaint neither
    assert_eq!(ratio(&j["sla"]["answered_in_time"]), (1, 2));
    assert_eq!(ratio(&j["sla"]["resolved_in_time"]), (1, 2));
    // and the compressor the safety incident's visit took off the station's shelf
    assert_eq!(j["parts_consumed"], json!([{"part_code": CMP, "qty": 1}, {"part_code": consumed, "qty": 2}]));
    assert_eq!(j["parts_returned_unused"], json!([]));
    assert_eq!(j["satisfaction"], json!({"average": null, "count": 0}));

    // the week before holds none of them
    let before = echelon::reports::rules::week_of(monday - Duration::days(7));
    let r = app.get(&format!("/api/v1/reports/weekly?week={before}"), Some("finance")).await;
    assert_eq!(r.ok()["opened"], 0);

    // CSV by parameter and by Accept header
    let c = app.get(&format!("/api/v1/reports/weekly?week={week}&format=csv"), Some("admin")).await;
    assert_eq!(c.status, 200);
    assert!(c.content_type().starts_with("text/csv"), "{}", c.content_type());
    assert!(c.text.starts_with("\u{feff}section,name,value,numerator,denominator\n"), "{}", c.text);
    let token = app.token("admin").await;
    let raw = |query: String| {
        let url = format!("{}/api/v1/reports/weekly?week={week}&format=csv{query}", app.base);
        let (client, token) = (app.client.clone(), token.clone());
        async move { client.get(url).bearer_auth(token).send().await.unwrap().bytes().await.unwrap().to_vec() }
    };
    let with_bom = raw(String::new()).await;
    assert!(with_bom.starts_with(b"\xEF\xBB\xBFsection,"), "{:?}", &with_bom[..12]);
    assert_eq!(&with_bom[3..], &raw("&bom=false".into()).await[..], "the mark is the only difference");
    assert!(c.text.contains("tickets,opened,3,,\n"), "{}", c.text);
    assert!(c.text.contains("fault,'=noisy fan,1,,\n"), "neutralised: {}", c.text);
    let disposition = c.headers.get("content-disposition").and_then(|v| v.to_str().ok());
    assert_eq!(disposition, Some(format!("attachment; filename=\"weekly-{week}.csv\"").as_str()));
    assert!(c.text.contains("sla,answered_in_time,0.5,1,2\n"), "{}", c.text);
    assert!(c.text.contains(&format!("parts_consumed,{consumed},2,,\n")), "{}", c.text);
    let token = app.token("warehouse-rc-hz").await;
    let r = app
        .client
        .get(format!("{}/api/v1/reports/weekly?week={week}", app.base))
        .bearer_auth(token)
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    assert!(r.text().await.unwrap().contains("station,ST-TZ-001,2,,\n"));

    // a station sees its own tickets; another station none of them
    let own = app.get(&format!("/api/v1/reports/weekly?week={week}"), Some("station-st-tz-001")).await;
    assert_eq!(own.ok()["opened"], 2);
    assert_eq!(own.json["station"], "ST-TZ-001");
    assert_eq!(own.json["parts_consumed"][1]["qty"], 2);
    app.state
        .db
        .write(|conn| {
            echelon::auth::admin::add_user(conn, "station-hz", "station", Some("ST-HZ-001"), None, PASSWORD)
                .map_err(|e| echelon::error::AppError::internal(anyhow::anyhow!(e)))
        })
        .await
        .unwrap();
    let other = app.get(&format!("/api/v1/reports/weekly?week={week}"), Some("station-hz")).await;
    assert_eq!(other.ok()["opened"], 0);
    assert_eq!(other.json["parts_consumed"], json!([]));
    // a warehouse user counts its location's stations: RC-HZ's the ST-TZ-001 tickets (not the
    // one no station has yet), another centre's none, and the stock its stations consumed
    let hz = app.get(&format!("/api/v1/reports/weekly?week={week}"), Some("warehouse-rc-hz")).await;
    assert_eq!(hz.ok()["opened"], 2, "{}", hz.text);
    assert_eq!(names(&hz.json["opened_by"]["by_station"]), pairs(&[("ST-TZ-001", 2)]));
    assert_eq!(
        hz.json["parts_consumed"],
        json!([{"part_code": CMP, "qty": 1}, {"part_code": consumed, "qty": 2}])
    );
    assert!(hz.json["station"].is_null());
    app.state
        .db
        .write(|conn| {
            echelon::auth::admin::add_user(conn, "warehouse-nb", "warehouse", Some("RC-NB"), None, PASSWORD)
                .map_err(|e| echelon::error::AppError::internal(anyhow::anyhow!(e)))
        })
        .await
        .unwrap();
    let nb = app.get(&format!("/api/v1/reports/weekly?week={week}"), Some("warehouse-nb")).await;
    assert_eq!(nb.ok()["opened"], 0, "{}", nb.text);
    assert_eq!(nb.json["opened_by"]["by_station"], json!([]));
    assert_eq!(nb.json["parts_consumed"], json!([]));
    app.get("/api/v1/reports/weekly", Some("tech-st-tz-001")).await.problem(403);
    app.get("/api/v1/reports/weekly", Some("courier-1")).await.problem(403);
    app.get("/api/v1/reports/weekly?week=2026-W60", Some("admin")).await.problem(422);
    app.get("/api/v1/reports/weekly?week=2026-11-23", Some("admin")).await.problem(422);
    app.get("/api/v1/reports/weekly?format=xml", Some("admin")).await.problem(400);
    // the default is the current week
    assert_eq!(app.get("/api/v1/reports/weekly", Some("admin")).await.ok()["week"], week);
});

both!(failure_rates_on_a_small_installed_base_match_hand_figures, |app| async {
    let today = app.state.clock.now().date_naive();
    let old = today - Duration::days(800);
    // four units in service all year, one shipped 72 days before the end: 4 x 12 + 73 x 12 / 365
    // = 50.4 unit-months over the 365 days [today - 364, today]
    model_with_units(
        &app,
        "BCD-DEF1",
        today - Duration::days(1000),
        &[old, old, old, old, today - Duration::days(72)],
    )
    .await;
    let t = |cause: &'static str, parts: &'static [&'static str]| {
        let app = &app;
        async move {
            fixed(app, "BCD-DEF1-0000", cause, parts).await;
        }
    };
    t("relay burnt out", &[CMP]).await;
    t("relay burnt out", &[CMP]).await;
    t("refrigerant leak", &[CMP, GSK]).await;

    let r = app.get("/api/v1/reports/defects?model=BCD-DEF1", Some("finance")).await;
    let models = r.ok()["models"].as_array().unwrap();
    assert_eq!(models.len(), 1, "{}", r.text);
    let m = &models[0];
    assert_eq!((m["model"].as_str(), m["units"].as_i64()), (Some("BCD-DEF1"), Some(5)));
    assert_eq!(m["unit_months"], 50.4);
    assert_eq!(m["parts"][0]["part_code"], CMP);
    assert_eq!(m["parts"][0]["failures"], 3);
    // 3 / 50.4
    assert_eq!(m["parts"][0]["failure_rate"], 0.059524);
    assert_eq!(
        m["parts"][0]["causes"],
        json!([{"cause": "relay burnt out", "failures": 2}, {"cause": "refrigerant leak", "failures": 1}])
    );
    assert_eq!(m["parts"][1]["part_code"], GSK);
    assert_eq!(m["parts"][1]["failure_rate"], 0.019841);
    // the line filter keeps it, another line drops it; a period before the tickets is empty
    let r = app.get("/api/v1/reports/defects?line=RF", Some("agent")).await;
    assert!(r.ok()["models"].as_array().unwrap().iter().any(|m| m["model"] == "BCD-DEF1"));
    let r = app.get("/api/v1/reports/defects?line=XX", Some("agent")).await;
    assert_eq!(r.ok()["models"], json!([]));
    // a model is found as typed (model codes are in capitals), as the ticket desk takes it
    let r = app.get("/api/v1/reports/defects?model=bcd-def1", Some("agent")).await;
    assert_eq!(r.ok()["models"][0]["model"], "BCD-DEF1", "{}", r.text);
    // a model filtered on is the catalogue's, as everywhere a model is named
    let r = app.get("/api/v1/reports/defects?model=BCD-NONE", Some("agent")).await;
    assert_eq!(
        (r.problem(422)["type"].as_str(), r.json["model"].as_str()),
        (Some("/problems/unknown_model"), Some("BCD-NONE"))
    );
    // both filters are bound parameters, in order: line, then model
    let r = app.get("/api/v1/reports/defects?line=RF&model=BCD-DEF1", Some("agent")).await;
    assert_eq!(r.ok()["models"].as_array().unwrap().len(), 1, "{}", r.text);
    let r = app.get("/api/v1/reports/defects?line=AC&model=BCD-DEF1", Some("agent")).await;
    assert_eq!(r.ok()["models"], json!([]));
    let early = today - Duration::days(30);
    let r = app.get(&format!("/api/v1/reports/defects?model=BCD-DEF1&to={early}"), Some("agent")).await;
    assert_eq!(r.ok()["models"], json!([]));
    app.get(&format!("/api/v1/reports/defects?from={today}&to={early}"), Some("admin")).await.problem(422);
    app.get("/api/v1/reports/defects", Some("station-st-tz-001")).await.problem(403);
    app.get("/api/v1/reports/defects", Some("tech-st-tz-001")).await.problem(403);

    // what planning reads
    let from = today - Duration::days(364);
    let rates = app
        .state
        .db
        .read(move |conn| Ok(echelon::reports::defects::failure_rates(conn, from, today)?))
        .await
        .unwrap();
    let cmp = rates.iter().find(|r| r.model == "BCD-DEF1" && r.part_code == CMP).unwrap();
    assert_eq!((cmp.failures, cmp.units, cmp.unit_months, cmp.rate), (3, 5, 50.4, Some(0.059524)));
});

/// Moves a ticket's resolution `days` back.
async fn backdate(app: &TestApp, id: i64, days: i64) {
    let at = app.state.clock.now().naive_utc() - Duration::days(days);
    app.state
        .db
        .write(move |conn| {
            use diesel::prelude::*;
            use echelon::db::schema::tickets;
            diesel::update(tickets::table.filter(tickets::id.eq(id)))
                .set(tickets::resolved_at.eq(Some(at)))
                .execute(conn)?;
            // written behind the flows' back: the KPI rollup follows
            echelon::rollup::ticket(conn, id)?;
            Ok(())
        })
        .await
        .unwrap();
}

both!(a_spike_of_compressor_failures_raises_one_alert, |app| async {
    let today = app.state.clock.now().date_naive();
    let old = today - Duration::days(1000);
    model_with_units(&app, "BCD-ALR1", today - Duration::days(1200), &[old; 10]).await;
    let fail = |parts: &'static [&'static str]| {
        let app = &app;
        async move { fixed(app, "BCD-ALR1-0003", "worn", parts).await }
    };
    // the normal rate: 13 compressor failures (and 13 gaskets) in the 52 weeks before the last
    // four, one every four weeks; the last four weeks' expected count is 13 x 28 / 364 = 1.0,
    // whose 99% Poisson bound is 4
    for k in 0..13 {
        let id = fail(&[CMP, GSK]).await;
        backdate(&app, id, 30 + 28 * k).await;
    }
    // a normal month: one compressor and one gasket
    fail(&[CMP, GSK]).await;
    let r = app.get("/api/v1/quality-alerts", Some("warehouse-rc-hz")).await;
    assert_eq!(r.ok()["alerts"], json!([]), "{}", r.text);
    assert_eq!(r.json["weeks"], 4);
    // a spike: five more compressors (six in four weeks)
    for _ in 0..5 {
        fail(&[CMP]).await;
    }
    let r = app.get("/api/v1/quality-alerts", Some("admin")).await;
    let alerts = r.ok()["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 1, "{}", r.text);
    let a = &alerts[0];
    assert_eq!((a["model"].as_str(), a["part_code"].as_str()), (Some("BCD-ALR1"), Some(CMP)));
    assert_eq!((a["observed"].as_i64(), a["threshold"].as_i64()), (Some(6), Some(4)));
    assert_eq!(a["expected"], 1.0);
    assert_eq!(a["baseline_failures"], 13);
    assert_eq!(a["units"], 10);
    // with a 26-week window the spike is diluted by the normal months
    let r = app.get("/api/v1/quality-alerts?weeks=26", Some("agent")).await;
    assert!(r.ok()["alerts"].as_array().is_some(), "{}", r.text);
    // a query parameter out of its documented range is a malformed query: 400 naming it
    let bad = app.get("/api/v1/quality-alerts?weeks=0", Some("admin")).await.problem(400).clone();
    assert_eq!(bad["errors"][0]["field"], "weeks", "{bad}");
    app.get("/api/v1/quality-alerts", Some("station-st-tz-001")).await.problem(403);
    app.get("/api/v1/quality-alerts", Some("courier-1")).await.problem(403);
});
