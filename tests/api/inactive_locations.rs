//! A location made inactive (`PATCH /locations/{code}` with `active: false`, a station or centre
//! closed) starts no new work: no parts request of it or from it, no ticket taken in or moved
//! there, no goods bought in; what is under way there finishes; reactivated, it works again.

use serde_json::{json, Value};

use crate::both;
use crate::builders::TECH;
use crate::docs::{document, documented};
use crate::helpers::{Resp, TestApp};

const STATION: &str = "ST-TZ-001";

/// How many parts requests there are.
async fn requests(app: &TestApp) -> i64 {
    app.count("SELECT COUNT(*) AS n FROM parts_requests").await
}

/// A parts request of ST-TZ-001 for `lines`, as its station user, with an `Idempotency-Key`
/// when given (a keyed request runs as a transaction, never as the one statement).
async fn post(app: &TestApp, lines: Value, extra: Value, key: Option<&str>) -> Resp {
    let mut body = json!({"lines": lines});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let mut req = app
        .client
        .post(format!("{}/api/v1/parts-requests", app.base))
        .bearer_auth(app.token("station-st-tz-001").await)
        .json(&body);
    if let Some(k) = key {
        req = req.header("Idempotency-Key", k);
    }
    crate::helpers::into_resp(req.send().await.unwrap()).await
}

/// Asserts a 409 `location_inactive` naming `location`.
fn inactive(r: &Resp, location: &str) {
    let p = r.problem(409);
    assert_eq!(p["type"], "/problems/location_inactive", "{}", r.text);
    assert_eq!(p["location"], location, "{}", r.text);
}

fn sources(r: &Value) -> Vec<String> {
    r["lines"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|l| l["allocations"].as_array().unwrap().clone())
        .map(|a| a["source"].as_str().unwrap().to_string())
        .collect()
}

both!(an_inactive_station_raises_no_parts_request_and_reactivated_it_does, |app| async {
    let doc = document();
    let part = app.part().stock_at("RC-HZ", 10).create().await;
    let other = app.part().stock_at("RC-HZ", 10).create().await;
    // the station asks once while active, so its terms are kept by the process
    let first = post(&app, json!([{"part_code": part, "qty": 1}]), json!({}), None).await;
    assert_eq!(first.status, 201, "{}", first.text);
    app.set_active(STATION, false).await;
    let before = requests(&app).await;
    let one = json!([{"part_code": part, "qty": 1}]);
    let two = json!([{"part_code": part, "qty": 1}, {"part_code": other, "qty": 1}]);
    // the one statement (PostgreSQL's common request), two lines, a keyed request, and a
    // warehouse asking on the station's behalf: each refused, nothing written or reserved
    for r in [
        post(&app, one.clone(), json!({}), None).await,
        post(&app, two.clone(), json!({}), None).await,
        post(&app, one.clone(), json!({}), Some("closed-1")).await,
        app.post("/api/v1/parts-requests", "warehouse-rc-hz", json!({"station": STATION, "lines": one}))
            .await,
    ] {
        inactive(&r, STATION);
        documented(&doc, "post", "/api/v1/parts-requests", &r);
    }
    assert_eq!(requests(&app).await, before);
    assert_eq!(app.stock("RC-HZ", &part).await, (10, 1, 9));
    assert_eq!(app.stock("RC-HZ", &other).await, (10, 0, 10));
    // another station goes on
    let sibling = app.request().station("ST-HZ-001").line(&part, 1).send().await;
    assert_eq!(sibling.status, 201, "{}", sibling.text);
    // reactivated, the same requests are taken (the key refused before was never kept)
    app.set_active(STATION, true).await;
    let whole = post(&app, one.clone(), json!({}), None).await;
    assert_eq!((whole.status, sources(&whole.json)), (201, vec!["RC-HZ".to_string()]), "{}", whole.text);
    let split = post(&app, two, json!({}), None).await;
    assert_eq!(split.status, 201, "{}", split.text);
    let keyed = post(&app, one, json!({}), Some("closed-1")).await;
    assert_eq!(keyed.status, 201, "{}", keyed.text);
    assert_eq!(app.stock("RC-HZ", &part).await, (10, 5, 5));
});

both!(an_inactive_centre_is_no_source_and_named_it_is_refused, |app| async {
    let doc = document();
    let part = app.part().stock_at("RC-HZ", 10).stock_at("HQ", 10).stock_at("RC-NB", 10).create().await;
    let second = app.part().stock_at("RC-HZ", 10).stock_at("HQ", 10).create().await;
    let one = json!([{"part_code": part, "qty": 1}]);
    // routed once while RC-HZ is open: the station's terms are kept with it
    let open = post(&app, one.clone(), json!({}), None).await;
    assert_eq!(sources(&open.ok().clone()), vec!["RC-HZ"]);
    app.set_active("RC-HZ", false).await;
    // the station's own centre closed: HQ supplies (tier B may order from it), in one
    // statement, in a transaction, and split over two lines alike
    let whole = post(&app, one.clone(), json!({}), None).await;
    assert_eq!(sources(&whole.ok().clone()), vec!["HQ"]);
    let keyed = post(&app, one.clone(), json!({}), Some("hq-1")).await;
    assert_eq!(sources(&keyed.ok().clone()), vec!["HQ"]);
    let lines = json!([{"part_code": part, "qty": 1}, {"part_code": second, "qty": 1}]);
    let two = post(&app, lines, json!({}), None).await;
    assert_eq!(sources(&two.ok().clone()), vec!["HQ", "HQ"]);
    // named, the closed centre is refused and nothing is written or reserved
    let before = requests(&app).await;
    for key in [None, Some("rc-hz-1")] {
        let r = post(&app, one.clone(), json!({"source": "RC-HZ"}), key).await;
        inactive(&r, "RC-HZ");
        assert_eq!(r.json["field"], "source", "{}", r.text);
        documented(&doc, "post", "/api/v1/parts-requests", &r);
    }
    assert_eq!(requests(&app).await, before);
    assert_eq!(app.stock("RC-HZ", &part).await, (10, 1, 9));
    // HQ closed too: the configured lateral centre supplies
    app.set_active("HQ", false).await;
    let lateral = post(&app, one.clone(), json!({}), None).await;
    assert_eq!(sources(&lateral.ok().clone()), vec!["RC-NB"]);
    assert_eq!(app.stock("HQ", &part).await, (10, 3, 7));
    // stock counted in at the closed centre serves no waiting line from it
    let empty = app.part().create().await;
    let waiting = post(&app, json!([{"part_code": empty, "qty": 1}]), json!({}), None).await;
    assert_eq!(waiting.ok()["status"], "backordered");
    app.set_stock("RC-HZ", &empty, 3).await;
    assert_eq!(app.stock("RC-HZ", &empty).await, (3, 0, 3));
    // reopened, RC-HZ is the first source again, and what was counted in serves the wait
    app.set_active("HQ", true).await;
    app.set_active("RC-HZ", true).await;
    let back = post(&app, one, json!({}), None).await;
    assert_eq!(sources(&back.ok().clone()), vec!["RC-HZ"]);
    app.set_stock("RC-HZ", &empty, 4).await;
    let id = waiting.json["id"].as_i64().unwrap();
    let filled = app.get(&format!("/api/v1/parts-requests/{id}"), Some("admin")).await;
    assert_eq!(filled.ok()["status"], "allocated", "{}", filled.text);
});

both!(work_under_way_at_a_closed_station_or_from_a_closed_centre_finishes, |app| async {
    let part = app.part().stock_at("RC-HZ", 10).create().await;
    let shipped = app.request().line(&part, 2).create().await;
    let kept = app.request().line(&part, 1).create().await;
    let dropped = app.request().line(&part, 1).create().await;
    app.set_active("RC-HZ", false).await;
    // the closed centre still picks and ships what it had promised
    app.on_request(shipped, "pick", "warehouse-rc-hz").await.ok();
    app.on_request(shipped, "ship", "warehouse-rc-hz").await.ok();
    app.set_active(STATION, false).await;
    // it raises nothing new ...
    let new = post(&app, json!([{"part_code": part, "qty": 1}]), json!({}), None).await;
    inactive(&new, STATION);
    // ... yet receives what is on its way, and cancels what it no longer needs
    let received = app.on_request(shipped, "receive", "station-st-tz-001").await;
    assert_eq!(received.ok()["request"]["status"], "received", "{}", received.text);
    let cancelled = app.on_request(dropped, "cancel", "station-st-tz-001").await;
    assert_eq!(cancelled.ok()["status"], "cancelled", "{}", cancelled.text);
    assert_eq!(app.stock(STATION, &part).await, (2, 0, 2));
    assert_eq!(app.stock("RC-HZ", &part).await, (8, 1, 7));
    // and its counts still correct its books
    app.set_stock(STATION, &part, 1).await;
    assert_eq!(app.stock(STATION, &part).await, (1, 0, 1));
    let r = app.get(&format!("/api/v1/parts-requests/{kept}"), Some("admin")).await;
    assert_eq!(r.ok()["status"], "allocated");
});

both!(an_inactive_station_takes_no_new_ticket_nor_one_moved_to_it, |app| async {
    let doc = document();
    let under_way = app.ticket().at(STATION).dispatched_to(TECH).create().await;
    let unplaced = app.ticket().create().await;
    app.set_active(STATION, false).await;
    let tickets = || app.count("SELECT COUNT(*) AS n FROM tickets");
    let before = tickets().await;
    // taken in for it by the desk, or by the station itself: refused, nothing written
    for user in ["agent", "station-st-tz-001"] {
        let r = app.post("/api/v1/tickets", user, app.ticket().at(STATION).body()).await;
        inactive(&r, STATION);
        documented(&doc, "post", "/api/v1/tickets", &r);
    }
    assert_eq!(tickets().await, before);
    // sent there from nowhere (or from another station): refused, the ticket as it was
    let dispatch = format!("/api/v1/tickets/{unplaced}/dispatch");
    let r = app.post(&dispatch, "agent", json!({"station": STATION, "technician": TECH})).await;
    inactive(&r, STATION);
    documented(&doc, "post", "/api/v1/tickets/{id}/dispatch", &r);
    let t = app.get(&format!("/api/v1/tickets/{unplaced}"), Some("admin")).await;
    assert_eq!((t.ok()["status"].as_str(), t.json["station"].as_str()), (Some("open"), None), "{}", t.text);
    // a ticket already there is still worked: dispatched again (a revisit) and resolved
    let again = format!("/api/v1/tickets/{under_way}/dispatch");
    app.post(&again, "agent", json!({"technician": TECH})).await.ok();
    app.post(&format!("/api/v1/tickets/{under_way}/arrive"), TECH, json!({})).await.ok();
    let resolved = app
        .post(
            &format!("/api/v1/tickets/{under_way}/resolve"),
            TECH,
            json!({"job_type": "repair", "cause": "relay"}),
        )
        .await;
    assert_eq!(resolved.ok()["status"], "resolved", "{}", resolved.text);
    // reopened, it takes tickets again
    app.set_active(STATION, true).await;
    app.post(&dispatch, "agent", json!({"station": STATION, "technician": TECH})).await.ok();
    app.ticket().at(STATION).taken_in_by("station-st-tz-001").create().await;
});

both!(an_inactive_location_receives_no_purchased_goods, |app| async {
    let doc = document();
    let part = app.part().stock_at("RC-HZ", 2).create().await;
    app.set_active("RC-HZ", false).await;
    let receipt = json!({"location": "RC-HZ", "lines": [{"part_code": part, "qty": 5}]});
    let movements = || app.count("SELECT COUNT(*) AS n FROM stock_movements");
    let before = movements().await;
    let r = app.post("/api/v1/receipts", "warehouse-rc-hz", receipt.clone()).await;
    inactive(&r, "RC-HZ");
    documented(&doc, "post", "/api/v1/receipts", &r);
    assert_eq!(movements().await, before);
    assert_eq!(app.stock("RC-HZ", &part).await, (2, 0, 2));
    app.set_active("RC-HZ", true).await;
    assert_eq!(app.post("/api/v1/receipts", "warehouse-rc-hz", receipt).await.status, 201);
    assert_eq!(app.stock("RC-HZ", &part).await, (7, 0, 7));
});

both!(a_proposal_to_or_from_a_location_closed_since_the_run_is_not_released, |app| async {
    let doc = document();
    let part = crate::planning::part_in_demand(&app).await;
    let run = app.post("/api/v1/planning/runs", "admin", json!({})).await;
    let id = run.ok()["id"].as_i64().unwrap();
    let list = crate::planning::proposals(&app, "admin", &format!("run_id={id}&part_code={part}")).await;
    let purchase = list.iter().find(|p| p["destination"] == "HQ").expect("a purchase into HQ");
    let release = format!("/api/v1/proposals/{}/release", purchase["id"]);
    app.set_active("HQ", false).await;
    let r = app.post(&release, "warehouse-hq", json!({})).await;
    inactive(&r, "HQ");
    documented(&doc, "post", "/api/v1/proposals/{id}/release", &r);
    assert_eq!(app.stock("HQ", &part).await, (0, 0, 0));
    let p = app.get(&format!("/api/v1/proposals/{}", purchase["id"]), Some("admin")).await;
    assert_eq!(p.ok()["status"], "proposed");
    app.set_active("HQ", true).await;
    let got = app.post(&release, "warehouse-hq", json!({})).await;
    assert_eq!(got.ok()["proposal"]["status"], "released", "{}", got.text);
    assert!(app.stock("HQ", &part).await.0 > 0);
});
