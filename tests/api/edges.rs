//! Found at the edges by an outside look at the product, each kept here as the behaviour a user
//! sees: lists that name what they list on every row, references of the wrong kind, counts out
//! of range, sums that could not be counted, fields named when they are missing.

use chrono::Duration;
use serde_json::{json, Value};

use crate::both;

both!(stock_by_part_names_the_part_on_every_row_of_every_page, |app| async {
    let part = app.part().stock_at("RC-HZ", 4).stock_at("HQ", 2).stock_at("RC-NB", 1).create().await;
    let all = app.get(&format!("/api/v1/stock?part_code={part}"), Some("admin")).await;
    let items = all.ok()["items"].as_array().unwrap().clone();
    assert!(items.len() >= 3, "{items:?}");
    for row in &items {
        assert_eq!(row["part_code"], json!(part), "{row}");
        assert!(!row["part_name"].as_str().unwrap().is_empty(), "{row}");
    }
    // and page by page
    let mut cursor: Option<String> = None;
    let mut seen = 0;
    loop {
        let after = cursor.as_ref().map(|c| format!("&cursor={c}")).unwrap_or_default();
        let page = app.get(&format!("/api/v1/stock?part_code={part}&limit=2{after}"), Some("admin")).await;
        for row in page.ok()["items"].as_array().unwrap() {
            assert_eq!(row["part_code"], json!(part), "{row}");
            seen += 1;
        }
        match page.json["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, items.len());
});

both!(a_successor_is_of_the_parts_own_line_and_family, |app| async {
    let part = app.part().stock_at("RC-HZ", 1).create().await;
    let before = app.get(&format!("/api/v1/parts/{part}"), Some("admin")).await.ok().clone();
    // an air conditioner's capacitor and a board of the part's own line: neither is its successor
    let line = &part[..2];
    let other_line = if line == "AC" { "RF-PCB-00183H" } else { "AC-CAP-00128I" };
    let codes = app.get("/api/v1/parts?limit=500", Some("admin")).await.ok()["items"].clone();
    let other_family = codes
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap().to_string())
        .find(|c| c.starts_with(line) && c[3..6] != part[3..6])
        .unwrap();
    for successor in [other_line.to_string(), other_family] {
        let r = app
            .patch(
                &format!("/api/v1/parts/{part}"),
                "admin",
                json!({"superseded_by": successor, "interchangeability": "two_way"}),
            )
            .await;
        assert_eq!(r.problem(422)["type"], "/problems/line_mismatch", "{successor}");
        assert_eq!(r.json["field"], "superseded_by");
    }
    assert_eq!(app.get(&format!("/api/v1/parts/{part}"), Some("admin")).await.ok(), &before);
    // a request for the part is still served by the part itself
    let id = app.request().line(&part, 1).create().await;
    let r = app.get(&format!("/api/v1/parts-requests/{id}"), Some("admin")).await;
    assert_eq!(r.ok()["lines"][0]["part_code"], json!(part));
});

both!(a_receipt_says_each_line_once_and_counts_within_range, |app| async {
    let part = app.part().stock_at("RC-HZ", 2).create().await;
    let id = app.request().line(&part, 2).urgency("urgent").create().await;
    app.on_request(id, "ship", "warehouse-rc-hz").await.ok();
    let path = format!("/api/v1/parts-requests/{id}/receive");
    for lines in [
        json!([{"line_no": 1, "received_qty": 1, "damaged_qty": i64::MAX}]),
        json!([{"line_no": 1, "received_qty": i64::MAX, "damaged_qty": 1}]),
        json!([{"line_no": 1, "received_qty": 2}, {"line_no": 1, "received_qty": 2}]),
        json!([{"line_no": 1, "received_qty": 2, "damaged_qty": 0}, {"line_no": 1, "received_qty": 0, "damaged_qty": 2}]),
    ] {
        let r = app.post(&path, "station-st-tz-001", json!({"lines": lines})).await;
        assert_eq!(r.problem(422)["type"], "/problems/receipt_mismatch", "{lines}");
    }
    assert_eq!(app.stock("ST-TZ-001", &part).await, (0, 0, 0));
    let done =
        app.post(&path, "station-st-tz-001", json!({"lines": [{"line_no": 1, "received_qty": 2}]})).await;
    assert_eq!(done.ok()["request"]["status"], "received");
    assert_eq!(app.stock("ST-TZ-001", &part).await, (2, 0, 2));
});

both!(a_shipment_no_courier_has_is_not_received_and_its_award_comes_first, |app| async {
    let part = app.part().stock_at("RC-HZ", 1).create().await;
    let id = app.request().line(&part, 1).create().await;
    app.on_request(id, "ship", "warehouse-rc-hz").await.ok();
    let shipment = app.shipments_of(id, "admin").await[0].clone();
    assert_eq!(shipment["status"], "awaiting_tender");
    let path = format!("/api/v1/parts-requests/{id}/receive");
    let r = app.post(&path, "station-st-tz-001", json!({})).await;
    assert_eq!(r.problem(409)["type"], "/problems/not_dispatched");
    assert_eq!(r.json["shipment_id"], shipment["id"]);
    // tendered, not yet awarded: still refused
    let deadline = (app.state.clock.now() + Duration::hours(2)).to_rfc3339();
    // the same shipment named twice is said, not merged
    let twice = json!({"shipment_ids": [shipment["id"], shipment["id"]], "bid_deadline": deadline});
    let r = app.post("/api/v1/tenders", "warehouse-rc-hz", twice).await;
    assert_eq!(r.problem(422)["errors"][0]["field"], "shipment_ids[1]");
    let t = app
        .post(
            "/api/v1/tenders",
            "warehouse-rc-hz",
            json!({"shipment_ids": [shipment["id"]], "bid_deadline": deadline}),
        )
        .await;
    let tid = t.ok()["id"].as_i64().unwrap();
    let r = app.post(&path, "station-st-tz-001", json!({})).await;
    assert_eq!(r.problem(409)["shipment_status"], "tendered");
    assert_eq!(app.stock("ST-TZ-001", &part).await, (0, 0, 0));
    app.post(
        &format!("/api/v1/tenders/{tid}/bids"),
        "courier-1",
        json!({"price": "30.00", "transit_hours": 12}),
    )
    .await
    .ok();
    app.post(&format!("/api/v1/tenders/{tid}/award"), "warehouse-rc-hz", json!({"now": true})).await.ok();
    // awarded: the receipt closes it, delivered by its courier
    assert_eq!(app.post(&path, "station-st-tz-001", json!({})).await.ok()["request"]["status"], "received");
    let s = app.get(&format!("/api/v1/shipments/{}", shipment["id"]), Some("admin")).await;
    assert_eq!(s.ok()["status"], "received");
    assert_eq!(s.json["courier"], "courier-1");
    // and nothing tracks it any more
    let e = app
        .post(
            &format!("/api/v1/shipments/{}/events", shipment["id"]),
            "courier-1",
            json!({"kind": "picked_up"}),
        )
        .await;
    e.problem(409);
});

both!(adjustments_are_bounded_so_that_every_statement_can_be_summed, |app| async {
    let period = app.state.clock.now().format("%Y-%m").to_string();
    let adj = |station: &str, amount: &str| json!({"station": station, "period": period, "amount": amount, "reason": "edge"});
    // one beyond what a station's unsettled adjustments may come to: refused, nothing posted
    let r =
        app.post("/api/v1/settlements/adjustments", "finance", adj("ST-TZ-001", "999999999999999.99")).await;
    assert_eq!(r.problem(422)["errors"][0]["field"], "amount");
    // the most there is room for, on both sides: the signs do not cancel out
    app.post("/api/v1/settlements/adjustments", "finance", adj("ST-TZ-001", "600000000000.00")).await.ok();
    let r =
        app.post("/api/v1/settlements/adjustments", "finance", adj("ST-TZ-001", "-600000000000.00")).await;
    assert_eq!(r.problem(422)["errors"][0]["field"], "amount");
    app.post("/api/v1/settlements/adjustments", "finance", adj("ST-TZ-001", "-400000000000.00")).await.ok();
    // many stations at their bound: the network's statement and its file still add up
    for station in ["ST-HZ-001", "ST-NB-001", "ST-SH-001"] {
        app.post("/api/v1/settlements/adjustments", "finance", adj(station, "1000000000000.00")).await.ok();
    }
    let s = app.get(&format!("/api/v1/settlements?period={period}"), Some("finance")).await;
    assert_eq!(
        s.ok()["totals"]["adjustments"].as_str().unwrap().parse::<f64>().unwrap(),
        3_200_000_000_000.0
    );
    let csv = app.get(&format!("/api/v1/settlements?period={period}&format=csv"), Some("finance")).await;
    assert_eq!(csv.status, 200);
    assert!(csv.text.contains("1000000000000.00"), "{}", &csv.text[..csv.text.len().min(400)]);
});

both!(a_missing_field_is_named_itself, |app| async {
    let r = app.post("/api/v1/users", "admin", json!({"username": "nobody-yet"})).await;
    let e = &r.problem(422)["errors"][0];
    assert_ne!(e["field"], "(body)", "{}", r.text);
    assert_eq!(e["message"], "required", "{}", r.text);
    let r = app.post("/api/v1/parts-requests", "station-st-tz-001", json!({"lines": [{"qty": 1}]})).await;
    assert_eq!(r.problem(422)["errors"][0]["field"], "lines[0].part_code", "{}", r.text);
    // a display name is one line: a tab would break the tab-separated `echelon user list`
    let r = app
        .post("/api/v1/users", "admin", json!({"username": "tabbed", "password": "password-123456", "role": "agent", "display_name": "a\tb"}))
        .await;
    assert_eq!(r.problem(422)["errors"][0]["field"], "display_name");
    // a role that may not take an action on a ticket is told which roles may
    let r = app.post("/api/v1/tickets/1/accept-quote", "finance", json!({})).await;
    let detail = r.problem(403)["detail"].as_str().unwrap().to_string();
    assert!(detail.ends_with("it needs one of: admin, station, agent"), "{}", r.text);
});

both!(every_operation_refuses_a_query_parameter_it_does_not_take, |app| async {
    let doc = app.get("/api-docs/openapi.json", None).await.ok().clone();
    let before = crate::limits::counts(&app).await;
    let mut probed = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let concrete = crate::limits::concrete(path);
        for (method, op) in item.as_object().unwrap() {
            let m: reqwest::Method = method.to_uppercase().parse().unwrap();
            // a caller the operation takes: another is refused before its query is read
            let user = crate::limits::caller(op);
            for query in ["colour_of_the_box=1", "dry_run=true", "limt=2"] {
                let r = app
                    .raw(
                        m.clone(),
                        &format!("{concrete}?{query}"),
                        Some(user),
                        "application/json",
                        b"{}".to_vec(),
                    )
                    .await;
                let p = r.problem(400);
                assert_eq!(p["type"], "/problems/invalid_query", "{method} {path}?{query}: {}", r.text);
                assert_eq!(p["parameter"], query.split('=').next().unwrap(), "{method} {path}?{query}");
            }
            probed += 1;
        }
    }
    assert!(probed >= 100, "{probed} operations");
    assert_eq!(crate::limits::counts(&app).await, before, "a refused query wrote nothing");
    // the parameters an operation documents still pass
    app.get("/api/v1/webhooks/subscriptions?limit=2", Some("admin")).await.ok();
    app.get("/api/v1/stock?location=RC-HZ&limit=1", Some("admin")).await.ok();
});

both!(a_technician_follows_the_shipments_of_its_own_tickets_only, |app| async {
    let part = app.part().fits_demo_unit().stock_at("RC-HZ", 2).create().await;
    let ticket = app.ticket().at("ST-TZ-001").dispatched_to(crate::builders::TECH).on_site().create().await;
    let id = app.request().line(&part, 1).for_ticket(ticket).urgent().create().await;
    app.on_request(id, "ship", "warehouse-rc-hz").await.ok();
    let t = app.get(&format!("/api/v1/tickets/{ticket}"), Some(crate::builders::TECH)).await;
    let link = t.ok()["shipments"][0]["tracking"].as_str().unwrap().to_string();
    let s = app.get(&link, Some(crate::builders::TECH)).await;
    assert_eq!(s.ok()["request_id"], json!(id));
    // another technician of the same station, and a shipment of no ticket of this one: 404
    app.technician("tech-edge-2", "ST-TZ-001").await;
    app.get(&link, Some("tech-edge-2")).await.problem(404);
    let other = app.request().line(&part, 1).urgent().create().await;
    app.on_request(other, "ship", "warehouse-rc-hz").await.ok();
    let plain = app.shipments_of(other, "admin").await[0]["id"].as_i64().unwrap();
    app.get(&format!("/api/v1/shipments/{plain}"), Some(crate::builders::TECH)).await.problem(404);
    // reading is all: a technician posts no tracking
    app.post(&format!("{link}/events"), crate::builders::TECH, json!({"kind": "picked_up"}))
        .await
        .problem(403);
});

both!(a_change_that_clears_what_cannot_be_cleared_is_refused_naming_it, |app| async {
    let part = app.part().create().await;
    for (path, field) in [
        ("/api/v1/locations/ST-NB-002".to_string(), "name"),
        ("/api/v1/locations/ST-NB-002".to_string(), "active"),
        (format!("/api/v1/parts/{part}"), "unit_cost"),
        (format!("/api/v1/parts/{part}"), "name"),
        ("/api/v1/users/station-st-tz-001".to_string(), "active"),
        ("/api/v1/models/BCD-539WT".to_string(), "warranty_months"),
    ] {
        let before = app.get(&path, Some("admin")).await.ok().clone();
        let r = app.patch(&path, "admin", json!({field: null})).await;
        let e = &r.problem(422)["errors"][0];
        assert_eq!(e["field"], field, "{path}: {}", r.text);
        assert!(e["message"].as_str().unwrap().contains("cannot be cleared"), "{path}: {}", r.text);
        assert_eq!(app.get(&path, Some("admin")).await.ok(), &before, "{path}");
    }
    // a field that can be cleared still is
    let r = app.patch("/api/v1/locations/ST-NB-002", "admin", json!({"address": null})).await;
    assert_eq!(r.ok()["address"], json!(null));
});

both!(a_ticket_waiting_for_parts_is_sent_again_when_the_wait_is_given_up, |app| async {
    let t = app.ticket().at("ST-TZ-001").dispatched_to(crate::builders::TECH).on_site().create().await;
    let path = |action: &str| format!("/api/v1/tickets/{t}/{action}");
    // the part ordered for the ticket, then the order given up: the wait has nothing to end it
    let part = app.part().fits_demo_unit().stock_at("RC-HZ", 1).create().await;
    let rid = app.request().line(&part, 1).for_ticket(t).create().await;
    app.post(&path("await-parts"), crate::builders::TECH, json!({})).await.ok();
    app.on_request(rid, "cancel", "station-st-tz-001").await.ok();
    let r = app.post(&path("close"), "agent", json!({})).await;
    let detail = r.problem(409)["detail"].as_str().unwrap().to_string();
    assert!(detail.ends_with("allowed now: dispatch"), "{detail}");
    // the desk gives up waiting and sends the technician again
    let again = app.post(&path("dispatch"), "agent", json!({"technician": crate::builders::TECH})).await;
    assert_eq!(again.ok()["status"], "dispatched");
});

both!(a_ticket_with_parts_tied_to_its_station_is_not_sent_to_another, |app| async {
    let part = app.part().fits_demo_unit().stock_at("RC-HZ", 2).create().await;
    let t = app.ticket().at("ST-TZ-001").dispatched_to(crate::builders::TECH).create().await;
    let rid = app.request().line(&part, 1).for_ticket(t).create().await;
    app.technician("tech-edge-nb", "ST-NB-001").await;
    let elsewhere = json!({"station": "ST-NB-001", "technician": "tech-edge-nb"});
    let r = app.post(&format!("/api/v1/tickets/{t}/dispatch"), "agent", elsewhere.clone()).await;
    assert_eq!(r.problem(409)["type"], "/problems/parts_tied");
    assert_eq!(r.json["station"], "ST-TZ-001");
    assert!(r.json["tied"][0].as_str().unwrap().contains(&format!("parts request {rid}")), "{}", r.text);
    let ticket = app.get(&format!("/api/v1/tickets/{t}"), Some("station-st-tz-001")).await;
    assert_eq!(ticket.ok()["station"], "ST-TZ-001");
    // another technician of the same station: no move, so allowed
    app.technician("tech-edge-tz", "ST-TZ-001").await;
    let same = json!({"technician": "tech-edge-tz"});
    app.post(&format!("/api/v1/tickets/{t}/dispatch"), "agent", same).await.ok();
    // the request cancelled, nothing holds the ticket at its station
    app.on_request(rid, "cancel", "station-st-tz-001").await.ok();
    let moved = app.post(&format!("/api/v1/tickets/{t}/dispatch"), "agent", elsewhere.clone()).await;
    assert_eq!(moved.ok()["station"], "ST-NB-001");
    // a request received is stock of its station like any other: it ties nothing
    let t2 = app.ticket().at("ST-TZ-001").dispatched_to(crate::builders::TECH).create().await;
    let r2 = app.request().line(&part, 1).for_ticket(t2).urgent().create().await;
    app.on_request(r2, "ship", "warehouse-rc-hz").await.ok();
    app.on_request(r2, "receive", "station-st-tz-001").await.ok();
    let moved = app.post(&format!("/api/v1/tickets/{t2}/dispatch"), "agent", elsewhere).await;
    assert_eq!(moved.ok()["station"], "ST-NB-001");
});

both!(a_ticket_whose_parts_a_technician_holds_goes_to_no_other_technician, |app| async {
    let part = app.part().fits_demo_unit().stock_at("ST-TZ-001", 1).create().await;
    let tech = crate::builders::TECH;
    let t = app.ticket().at("ST-TZ-001").dispatched_to(tech).create().await;
    let loan = app.loan().by("admin").technician(tech).ticket(t).line(&part, 1).create().await;
    app.technician("tech-edge-hand", "ST-TZ-001").await;
    let other = json!({"technician": "tech-edge-hand"});
    let r = app.post(&format!("/api/v1/tickets/{t}/dispatch"), "agent", other.clone()).await;
    assert_eq!(r.problem(409)["type"], "/problems/parts_tied", "{}", r.text);
    assert_eq!(r.json["technician"], tech);
    assert!(r.json["tied"][0].as_str().unwrap().contains(&format!("loan {loan}")), "{}", r.text);
    let ticket = app.get(&format!("/api/v1/tickets/{t}"), Some("agent")).await;
    assert_eq!(ticket.ok()["technician"], tech, "still the holder's");
    // the holder may be sent again; the part returned unused, another technician may go
    app.post(&format!("/api/v1/tickets/{t}/dispatch"), "agent", json!({"technician": tech})).await.ok();
    app.post(&format!("/api/v1/loans/{loan}/lines/1/unused-return"), tech, json!({})).await.ok();
    let moved = app.post(&format!("/api/v1/tickets/{t}/dispatch"), "agent", other).await;
    assert_eq!(moved.ok()["technician"], "tech-edge-hand");
    app.audit().await;
});

both!(a_parent_filtered_on_is_checked_like_a_path_id, |app| async {
    let r = app.get("/api/v1/locations?parent=NOPE", Some("admin")).await;
    assert_eq!(r.problem(404)["field"], "parent", "{}", r.text);
    // a station sees the chain above it, not a sibling
    let st = "station-st-tz-001";
    app.get("/api/v1/locations?parent=ST-HZ-001", Some(st)).await.problem(404);
    let r = app.get("/api/v1/locations?parent=RC-HZ", Some(st)).await;
    let codes: Vec<&str> =
        r.ok()["items"].as_array().unwrap().iter().filter_map(|l| l["code"].as_str()).collect();
    assert_eq!(codes, ["ST-TZ-001"]);
    let r = app.get("/api/v1/locations?parent=RC-HZ", Some("admin")).await;
    assert!(r.ok()["items"].as_array().unwrap().len() > 1, "{}", r.text);
});

both!(a_name_city_or_address_is_one_line_of_visible_text, |app| async {
    for (field, value) in
        [("name", "Taizhou\nstation"), ("city", "Tai\u{7}zhou"), ("address", "No. 1 \u{202e}Road")]
    {
        let mut body = serde_json::Map::new();
        body.insert(field.to_string(), json!(value));
        let r = app.patch("/api/v1/locations/ST-TZ-001", "admin", Value::Object(body)).await;
        assert_eq!(r.problem(422)["errors"][0]["field"], field, "{}", r.text);
    }
    let r =
        app.patch("/api/v1/users/tech-st-tz-001", "admin", json!({"display_name": "Li\u{200b}Wei"})).await;
    assert_eq!(r.problem(422)["errors"][0]["field"], "display_name", "{}", r.text);
    // an ideographic space is a space, not a hidden character
    let r =
        app.patch("/api/v1/locations/ST-TZ-001", "admin", json!({"address": "台州市\u{3000}椒江区"})).await;
    assert_eq!(r.ok()["address"], "台州市\u{3000}椒江区");
});

both!(a_date_is_yyyy_mm_dd_exactly_in_every_query_and_body, |app| async {
    for odd in ["%2B002026-12-07", "%202026-12-07", "2026-12-07%20", "2026-12-07%0A"] {
        for path in [
            format!("/api/v1/reports/kpis?from={odd}"),
            format!("/api/v1/reports/defects?to={odd}"),
            format!("/api/v1/stations/ST-TZ-001/scorecard?from={odd}"),
            format!("/api/v1/installed-base?on={odd}"),
            format!("/api/v1/locations/ST-TZ-001/tier?on={odd}"),
        ] {
            let r = app.get(&path, Some("admin")).await;
            assert!(
                r.problem(400)["detail"].as_str().unwrap_or("").contains("YYYY-MM-DD"),
                "{path}: {}",
                r.text
            );
        }
    }
    for odd in ["+002026-12-07", " 2026-12-07", "2026-12-07\n"] {
        let model = json!({"code": "BCD-ODD1", "line": "RF", "name": "Odd", "launch_date": odd, "warranty_months": 12});
        let r = app.post("/api/v1/models", "admin", model).await;
        assert!(r.status == 400 || r.status == 422, "{odd:?}: {}", r.text);
        assert!(r.text.contains("YYYY-MM-DD"), "{odd:?}: {}", r.text);
        let r = app
            .patch(
                &format!("/api/v1/models/{}", crate::builders::DEMO_MODEL),
                "admin",
                json!({"end_of_production": odd}),
            )
            .await;
        assert!(r.text.contains("YYYY-MM-DD"), "{odd:?}: {}", r.text);
    }
    app.get("/api/v1/models/BCD-ODD1", Some("admin")).await.problem(404);
    // the plain form still reads
    app.get("/api/v1/reports/kpis?from=2026-11-01&to=2026-11-30", Some("admin")).await.ok();
    let r = app
        .patch(
            &format!("/api/v1/models/{}", crate::builders::DEMO_MODEL),
            "admin",
            json!({"end_of_production": null}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
});

both!(an_adjustment_or_a_tracking_event_in_the_future_is_refused_as_documented, |app| async {
    let next = (app.state.clock.now() + Duration::days(40)).format("%Y-%m").to_string();
    let adj = json!({"station": "ST-TZ-001", "period": next, "amount": "5.00", "reason": "early"});
    let r = app.post("/api/v1/settlements/adjustments", "finance", adj).await;
    assert_eq!(r.problem(422)["errors"][0]["field"], "period");
    let part = app.part().stock_at("RC-HZ", 1).create().await;
    let id = app.request().line(&part, 1).urgent().create().await;
    app.on_request(id, "ship", "warehouse-rc-hz").await.ok();
    let s = app.shipments_of(id, "admin").await[0]["id"].as_i64().unwrap();
    let later = (app.state.clock.now() + Duration::hours(3)).to_rfc3339();
    let r = app
        .post(
            &format!("/api/v1/shipments/{s}/events"),
            "courier-1",
            json!({"kind": "picked_up", "at": later}),
        )
        .await;
    assert_eq!(r.problem(422)["type"], "/problems/event_out_of_order");
    assert_eq!(r.json["errors"][0]["field"], "at");
});

both!(a_report_refuses_a_location_that_cannot_name_a_group_and_dates_it_cannot_print, |app| async {
    for (query, field) in [
        ("level=tier&location=Z", "location"),
        ("level=tier&location=RC-HZ", "location"),
        ("level=centre&location=ST-TZ-001", "location"),
        ("level=station&location=RC-HZ", "location"),
        ("level=network&location=RC-HZ", "location"),
        ("to=0000-01-01", "to"),
        ("from=2026-01-01&to=12026-01-01", "to"),
    ] {
        let r = app.get(&format!("/api/v1/reports/kpis?{query}"), Some("admin")).await;
        if r.status == 400 {
            continue; // a date chrono cannot read at all is a malformed query
        }
        assert_eq!(r.problem(422)["errors"][0]["field"], field, "{query}: {}", r.text);
    }
    // what fits still answers, empty or not
    app.get("/api/v1/reports/kpis?level=tier&location=A", Some("admin")).await.ok();
    app.get("/api/v1/reports/kpis?level=station&location=ST-TZ-001", Some("admin")).await.ok();
    app.get("/api/v1/reports/kpis?level=centre&location=RC-XX", Some("admin")).await.problem(404);
    let r = app.get("/api/v1/reports/weekly?week=9999-W52", Some("admin")).await;
    assert_eq!(r.problem(422)["errors"][0]["field"], "week");
});

both!(every_operation_that_takes_no_body_reads_one_sent_as_strictly_as_any, |app| async {
    let doc = app.get("/api-docs/openapi.json", None).await.ok().clone();
    let before = crate::limits::counts(&app).await;
    let mut probed = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let concrete = crate::limits::concrete(path);
        for (method, op) in item.as_object().unwrap() {
            if op.get("requestBody").is_some() {
                continue;
            }
            let m: reqwest::Method = method.to_uppercase().parse().unwrap();
            for (ct, body, status, problem) in [
                ("application/json", &br#"{"reason": "x"}"#[..], 422, "validation_failed"),
                ("application/json", b"{{{garbage", 400, "malformed_json"),
                ("application/json", b" ", 400, "malformed_json"),
                ("application/json", b"[]", 422, "validation_failed"),
                ("text/plain", b"x", 415, "unsupported_media_type"),
            ] {
                let r = app.raw(m.clone(), &concrete, Some("admin"), ct, body.to_vec()).await;
                let p = r.problem(status);
                assert_eq!(p["type"], format!("/problems/{problem}"), "{method} {path}: {}", r.text);
                if body.starts_with(b"{\"") {
                    assert_eq!(p["errors"][0]["field"], "reason", "{method} {path}: {}", r.text);
                }
            }
            probed += 1;
        }
    }
    assert!(probed >= 40, "{probed} operations");
    assert_eq!(crate::limits::counts(&app).await, before, "a refused body wrote nothing");
    // the action itself: a body it does not read is refused and changes nothing; nothing, or
    // `{}` (an object with no fields, as a generated client may send), acts
    let part = app.part().stock_at("RC-HZ", 2).create().await;
    let cancel = |id: i64, body: &[u8]| {
        let path = format!("/api/v1/parts-requests/{id}/cancel");
        let body = body.to_vec();
        let app = &app;
        async move {
            app.raw(reqwest::Method::POST, &path, Some("station-st-tz-001"), "application/json", body).await
        }
    };
    let id = app.request().line(&part, 1).create().await;
    cancel(id, br#"{"reason": "customer went elsewhere"}"#).await.problem(422);
    let seen = app.get(&format!("/api/v1/parts-requests/{id}"), Some("admin")).await;
    assert_eq!(seen.ok()["status"], "allocated", "the refused cancel did nothing");
    assert_eq!(cancel(id, b"").await.ok()["status"], "cancelled");
    let other = app.request().line(&part, 1).create().await;
    assert_eq!(cancel(other, b"{}").await.ok()["status"], "cancelled");
});

both!(hq_sees_a_centres_work_but_acts_for_none_of_it, |app| async {
    // a request of ST-TZ-001 served from RC-HZ: HQ's staff see it (their scope covers the whole
    // tree), but neither stand on the station's side of it nor hold its stock
    let part = app.part().stock_at("RC-HZ", 4).create().await;
    let id = app.request().line(&part, 1).create().await;
    let action = |what: &'static str, user: &'static str| {
        let app = &app;
        async move { app.post(&format!("/api/v1/parts-requests/{id}/{what}"), user, json!({})).await }
    };
    assert_eq!(app.get(&format!("/api/v1/parts-requests/{id}"), Some("warehouse-hq")).await.status, 200);
    let refused = action("cancel", "warehouse-hq").await;
    assert!(refused.problem(403)["detail"].as_str().unwrap().contains("regional centre"), "{}", refused.text);
    let refused = action("pick", "warehouse-hq").await;
    assert_eq!(refused.problem(409)["type"], "/problems/nothing_to_pick", "none of it is HQ's stock");
    let seen = app.get(&format!("/api/v1/parts-requests/{id}"), Some("admin")).await;
    assert_eq!(seen.ok()["status"], "allocated", "HQ changed nothing");
    assert_eq!(app.stock("RC-HZ", &part).await, (4, 1, 3));
    // RC-HZ picks and ships its own allocation; the shipment is put out to tender by RC-HZ, not HQ
    action("pick", "warehouse-rc-hz").await.ok();
    action("ship", "warehouse-rc-hz").await.ok();
    let shipment = app.shipments_of(id, "admin").await[0]["id"].clone();
    let deadline = (app.state.clock.now() + chrono::Duration::hours(2)).to_rfc3339();
    let tender = json!({"shipment_ids": [shipment], "bid_deadline": deadline});
    app.post("/api/v1/tenders", "warehouse-hq", tender.clone()).await.problem(404);
    let t = app.post("/api/v1/tenders", "warehouse-rc-hz", tender).await;
    let tid = t.ok()["id"].as_i64().unwrap();
    app.post(
        &format!("/api/v1/tenders/{tid}/bids"),
        "courier-1",
        json!({"price": "30.00", "transit_hours": 12}),
    )
    .await
    .ok();
    let award = json!({"now": true});
    app.post(&format!("/api/v1/tenders/{tid}/award"), "warehouse-hq", award.clone()).await.problem(403);
    app.post(&format!("/api/v1/tenders/{tid}/award"), "warehouse-rc-hz", award).await.ok();
    // stock is received and counted by the location's own staff or its centre's, not HQ's
    let count = |user: &'static str, location: &'static str| {
        let part = part.clone();
        let app = &app;
        async move {
            let body =
                json!({"location": location, "part_code": part, "counted_qty": 0, "reason": "cycle count"});
            app.post("/api/v1/stock-counts", user, body).await
        }
    };
    app.set_stock("ST-TZ-001", &part, 2).await;
    count("warehouse-hq", "ST-TZ-001").await.problem(403);
    count("warehouse-hq", "RC-HZ").await.problem(403);
    assert_eq!(app.stock("ST-TZ-001", &part).await.0, 2, "HQ wrote off nothing");
    assert_eq!(count("warehouse-rc-hz", "ST-TZ-001").await.status, 201);
    assert_eq!(app.stock("ST-TZ-001", &part).await.0, 0, "the centre counts its station");
    let receipt = json!({"location": "RC-HZ", "lines": [{"part_code": part, "qty": 1}]});
    app.post("/api/v1/receipts", "warehouse-hq", receipt).await.problem(403);
    // seeing is not owning: the centre sees HQ above it (403 there), not a sibling centre (404)
    count("warehouse-rc-hz", "HQ").await.problem(403);
    let receipt = |at: &str| json!({"location": at, "lines": [{"part_code": part, "qty": 1}]});
    app.post("/api/v1/receipts", "warehouse-rc-hz", receipt("HQ")).await.problem(403);
    app.post("/api/v1/receipts", "warehouse-rc-hz", receipt("RC-NB")).await.problem(404);
    app.post("/api/v1/receipts", "warehouse-rc-hz", receipt("NOWHERE")).await.problem(404);
    app.audit().await;
});

both!(a_ticket_with_a_parts_request_still_open_is_not_closed, |app| async {
    // an urgent request for a ticket, backordered: closing the ticket would leave it at the
    // head of the queue for work that is over
    let part = app.part().fits_demo_unit().create().await;
    let t = app.ticket().at("ST-TZ-001").create().await;
    let rid = app.request().line(&part, 1).for_ticket(t).urgent().create().await;
    let path = format!("/api/v1/tickets/{t}/close");
    let r = app.post(&path, "agent", json!({})).await;
    assert_eq!(r.problem(409)["type"], "/problems/parts_tied", "{}", r.text);
    assert!(
        r.json["tied"][0].as_str().unwrap().contains(&format!("parts request {rid} (backordered)")),
        "{}",
        r.text
    );
    let seen = app.get(&format!("/api/v1/tickets/{t}"), Some("agent")).await;
    assert_eq!(seen.ok()["status"], "open");
    app.on_request(rid, "cancel", "station-st-tz-001").await.ok();
    assert_eq!(app.post(&path, "agent", json!({})).await.ok()["status"], "closed");
});

both!(a_technician_moves_to_another_station_only_with_nothing_of_the_first_in_hand, |app| async {
    use crate::builders::TECH;
    let part = app.part().fits_demo_unit().stock_at("ST-TZ-001", 2).create().await;
    let part_hz = app.part().fits_demo_unit().stock_at("ST-HZ-001", 2).create().await;
    let t = app.ticket().at("ST-TZ-001").dispatched_to(TECH).create().await;
    let loan = app.loan().ticket(t).line(&part, 1).create().await;
    let seen = app.get(&format!("/api/v1/loans/{loan}"), Some("admin")).await;
    let old_custody = seen.ok()["custody"].as_str().unwrap().to_string();
    let move_to = json!({"location": "ST-HZ-001"});
    let path = format!("/api/v1/users/{TECH}");
    let r = app.patch(&path, "admin", move_to.clone()).await;
    assert_eq!(
        r.problem(409)["held"],
        json!([format!("loan {loan} (open lines)"), format!("ticket {t}")]),
        "{}",
        r.text
    );
    let me = app.get(&path, Some("admin")).await;
    assert_eq!(me.ok()["location"], "ST-TZ-001", "nothing changed");
    // the loan reconciled and the ticket handed to another technician: free to go
    app.post(&format!("/api/v1/loans/{loan}/lines/1/unused-return"), TECH, json!({})).await.ok();
    app.technician("tech-edge-other", "ST-TZ-001").await;
    app.post(&format!("/api/v1/tickets/{t}/dispatch"), "agent", json!({"technician": "tech-edge-other"}))
        .await
        .ok();
    assert_eq!(app.patch(&path, "admin", move_to).await.ok()["location"], "ST-HZ-001");
    // at the new station its loans go into a custody of its own there: the old station does not
    // see it, and the new one does not see the old custody's history
    let hz = app.station_user("ST-HZ-001").await;
    let t2 = app.ticket().at("ST-HZ-001").dispatched_to(TECH).create().await;
    let r = app.loan().by(&hz).ticket(t2).line(&part_hz, 1).send().await;
    assert_eq!(r.status, 201, "{}", r.text);
    let custody = r.json["custody"].as_str().unwrap().to_string();
    assert_ne!(custody, old_custody);
    let here = app.get(&format!("/api/v1/locations/{custody}"), Some("admin")).await;
    assert_eq!(here.ok()["parent"], "ST-HZ-001");
    app.get(&format!("/api/v1/stock?location={custody}"), Some("station-st-tz-001")).await.problem(404);
    app.get(&format!("/api/v1/movements?location={old_custody}"), Some(&hz)).await.problem(404);
    app.audit().await;
});

both!(a_unit_records_each_component_family_once, |app| async {
    let today = app.state.clock.now().date_naive();
    let unit = json!({"serial": "AUD-0001", "model": "BCD-539WT", "ship_date": today.to_string(), "region": "Zhejiang",
        "components": [{"family": "CMP", "serial": "SER1"}, {"family": "CMP", "serial": "SER2"}]});
    let r = app.post("/api/v1/units", "admin", unit).await;
    assert_eq!(r.problem(422)["errors"][0]["field"], "components[1].family", "{}", r.text);
    app.get("/api/v1/units/AUD-0001", Some("admin")).await.problem(404);
});

both!(a_request_filtered_on_in_the_shipment_list_is_checked_like_a_path_id, |app| async {
    // RC-HZ ships to ST-TZ-001 (ours) and to ST-HZ-001 (another station's); a courier carries ours
    let part = app.part().stock_at("RC-HZ", 2).create().await;
    let ours = app.request().line(&part, 1).create().await;
    let theirs = app.request().station("ST-HZ-001").line(&part, 1).create().await;
    for id in [ours, theirs] {
        app.on_request(id, "ship", "warehouse-rc-hz").await.ok();
    }
    app.dispatch(ours).await;
    let courier = app.shipments_of(ours, "admin").await[0]["courier"].as_str().unwrap().to_string();
    let app = &app;
    let list = |id: i64, user: String| async move {
        app.get(&format!("/api/v1/shipments?request_id={id}"), Some(&user)).await
    };
    // unknown, another station's, or (for a courier) one it carries nothing of: 404 naming the field
    for (id, user) in [
        (424_242, "station-st-tz-001".to_string()),
        (theirs, "station-st-tz-001".to_string()),
        (theirs, courier.clone()),
        (424_242, courier.clone()),
    ] {
        let r = list(id, user.clone()).await;
        assert_eq!(r.problem(404)["field"], "request_id", "{user} on {id}: {}", r.text);
    }
    // in sight: the request's shipments
    for (id, user) in [
        (ours, "station-st-tz-001".to_string()),
        (ours, courier.clone()),
        (theirs, "warehouse-rc-hz".to_string()),
        (theirs, "admin".to_string()),
    ] {
        let r = list(id, user.clone()).await;
        assert_eq!(r.ok()["items"].as_array().unwrap().len(), 1, "{user} on {id}: {}", r.text);
    }
    app.audit().await;
});

both!(a_line_a_courier_has_is_received_while_another_sources_line_waits_for_its_tender, |app| async {
    // line 1 from RC-HZ, line 2 from HQ (RC-HZ has none; tier B may order from HQ)
    let near = app.part().stock_at("RC-HZ", 1).create().await;
    let far = app.part().stock_at("HQ", 1).create().await;
    let id = app.request().line(&near, 1).line(&far, 1).create().await;
    app.on_request(id, "ship", "warehouse-rc-hz").await.ok();
    app.dispatch(id).await;
    app.on_request(id, "ship", "warehouse-hq").await.ok();
    let waiting: Vec<_> = app
        .shipments_of(id, "admin")
        .await
        .into_iter()
        .filter(|s| s["status"] == "awaiting_tender")
        .collect();
    assert_eq!(waiting.len(), 1, "HQ's shipment waits for its tender");
    let path = format!("/api/v1/parts-requests/{id}/receive");
    // naming the waiting line is refused, and nothing moves
    let r = app.post(&path, "station-st-tz-001", json!({"lines": [{"line_no": 2, "received_qty": 1}]})).await;
    assert_eq!(r.problem(409)["shipment_id"], waiting[0]["id"], "{}", r.text);
    assert_eq!(app.stock("ST-TZ-001", &near).await.0, 0);
    // the line RC-HZ's courier brought is received; HQ's stays in transit
    let r = app.post(&path, "station-st-tz-001", json!({"lines": [{"line_no": 1, "received_qty": 1}]})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!((app.stock("ST-TZ-001", &near).await.0, app.stock("ST-TZ-001", &far).await.0), (1, 0));
    // with nothing else on its way, the waiting shipment is said
    let r = app.post(&path, "station-st-tz-001", json!({})).await;
    assert_eq!(r.problem(409)["type"], "/problems/not_dispatched");
    app.dispatch(id).await;
    app.post(&path, "station-st-tz-001", json!({})).await.ok();
    assert_eq!(app.stock("ST-TZ-001", &far).await.0, 1);
    app.audit().await;
});

both!(a_write_that_takes_no_idempotency_key_refuses_one, |app| async {
    // a retried receipt would book its stock twice: the key is refused, not ignored
    let part = app.part().create().await;
    let token = app.token("warehouse-rc-hz").await;
    let receipt = json!({"location": "RC-HZ", "lines": [{"part_code": part, "qty": 1}]});
    let r = app
        .client
        .post(format!("{}/api/v1/receipts", app.base))
        .bearer_auth(&token)
        .header("idempotency-key", "retry-1")
        .json(&receipt)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        (&body["type"], &body["header"]),
        (&json!("/problems/invalid_header"), &json!("Idempotency-Key"))
    );
    assert_eq!(app.stock("RC-HZ", &part).await.0, 0, "nothing booked");
    // reads and the parts request, which takes it, go on as before
    let token = app.token("station-st-tz-001").await;
    let get = app.client.get(format!("{}/api/v1/stock?location=ST-TZ-001", app.base)).bearer_auth(&token);
    assert_eq!(get.header("idempotency-key", "x").send().await.unwrap().status(), 200);
    let part = app.part().stock_at("RC-HZ", 2).create().await;
    let body = json!({"lines": [{"part_code": part, "qty": 1}]});
    let send = || {
        app.client
            .post(format!("{}/api/v1/parts-requests", app.base))
            .bearer_auth(&token)
            .header("idempotency-key", "order-7")
            .json(&body)
            .send()
    };
    let (a, b) = (send().await.unwrap(), send().await.unwrap());
    assert_eq!(a.status(), 201);
    let (a, b): (serde_json::Value, serde_json::Value) = (a.json().await.unwrap(), b.json().await.unwrap());
    assert_eq!(a["id"], b["id"]);
});

both!(a_file_export_answers_what_accept_prefers_or_406, |app| async {
    let p = app.state.clock.now().format("%Y-%m").to_string();
    let token = app.token("finance").await;
    let get = |accept: &'static str| {
        let url = format!("{}/api/v1/settlements?period={p}", app.base);
        let req = app.client.get(url).bearer_auth(&token).header("accept", accept);
        async move { req.send().await.unwrap() }
    };
    let ct = |r: &reqwest::Response| r.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct(&get("text/csv").await).starts_with("text/csv"));
    assert!(ct(&get("text/csv;q=0.1, application/json").await).starts_with("application/json"));
    let r = get("application/pdf").await;
    assert_eq!(r.status(), 406);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["type"], "/problems/not_acceptable");
    assert_eq!(body["available"][1], "text/csv");
    // `format=` picks outright
    let r = app.get("/api/v1/reports/weekly?format=csv", Some("admin")).await;
    assert!(r.content_type().starts_with("text/csv"));
});

both!(a_ticket_filtered_on_is_checked_like_a_station, |app| async {
    // another station's ticket, or none at all: 404, as `?station=` of another station is
    let hz = app.station_user("ST-HZ-001").await;
    let theirs = app.ticket().at("ST-HZ-001").create().await;
    let ours = app.ticket().at("ST-TZ-001").create().await;
    for id in [theirs, 424_242] {
        let r = app.get(&format!("/api/v1/parts-requests?ticket_id={id}"), Some("station-st-tz-001")).await;
        assert_eq!(r.problem(404)["field"], "ticket_id", "{}", r.text);
    }
    app.get(&format!("/api/v1/parts-requests?ticket_id={ours}"), Some("station-st-tz-001")).await.ok();
    app.get(&format!("/api/v1/parts-requests?ticket_id={theirs}"), Some(&hz)).await.ok();
    app.get(&format!("/api/v1/parts-requests?ticket_id={theirs}"), Some("admin")).await.ok();
});

both!(a_report_range_out_of_the_years_read_or_reversed_is_said_not_answered_empty, |app| async {
    // a day past 9999-12-30 would be year 10000, whose stored timestamps sort before all others
    for (path, field) in [
        ("/api/v1/stations/ST-TZ-001/scorecard?to=9999-12-31", "to"),
        ("/api/v1/stations/ST-TZ-001/scorecard?from=0001-01-01", "from"),
        ("/api/v1/stations/ST-TZ-001/scorecard?from=2026-12-10&to=2026-12-01", "from"),
        ("/api/v1/reports/defects?from=2026-01-01&to=9999-12-31", "to"),
        ("/api/v1/reports/defects?from=0001-01-01", "from"),
        ("/api/v1/reports/kpis?to=9999-12-31", "to"),
    ] {
        let r = app.get(path, Some("admin")).await;
        assert_eq!(r.problem(422)["errors"][0]["field"], field, "{path}: {}", r.text);
    }
    // a default start never falls before the first day a report reads
    let r = app.get("/api/v1/reports/kpis?to=1970-01-05", Some("admin")).await;
    assert_eq!(r.ok()["from"], "1970-01-01", "{}", r.text);
    let r = app.get("/api/v1/reports/defects?to=1970-03-01", Some("admin")).await;
    assert_eq!(r.ok()["from"], "1970-01-01", "{}", r.text);
    app.get("/api/v1/stations/ST-TZ-001/scorecard?from=2026-01-01&to=2999-12-31", Some("admin")).await.ok();
});

both!(a_list_filtered_on_a_code_that_names_no_station_is_404_for_everyone, |app| async {
    // a centre's code, or none at all: no station of that code, for every reader of each list
    // (finance got an empty page of loans where a technician got 404)
    let lists: [(&str, &[&str]); 4] = [
        ("loans", &["finance", "admin", "tech-st-tz-001"]),
        ("parts-requests", &["admin", "warehouse-hq", "finance"]),
        ("tickets", &["admin", "agent", "finance"]),
        ("follow-ups", &["admin", "agent"]),
    ];
    for (list, users) in lists {
        for user in users {
            for code in ["RC-HZ", "HQ", "ST-NO-999"] {
                let r = app.get(&format!("/api/v1/{list}?station={code}"), Some(user)).await;
                let detail = r.problem(404)["detail"].as_str().unwrap().to_string();
                assert!(detail.contains(code), "{list} as {user} on {code}: {}", r.text);
            }
        }
    }
    for (list, user) in [("loans", "finance"), ("parts-requests", "warehouse-hq"), ("tickets", "agent")] {
        app.get(&format!("/api/v1/{list}?station=ST-TZ-001"), Some(user)).await.ok();
    }
});

both!(an_id_cursor_that_is_no_id_is_a_bad_query_not_an_empty_page, |app| async {
    for path in [
        "/api/v1/tickets?cursor=-1",
        "/api/v1/tickets?cursor=0",
        "/api/v1/movements?cursor=%2B5",
        "/api/v1/parts-requests?cursor=-7",
        "/api/v1/claims?cursor=007",
    ] {
        let r = app.get(path, Some("admin")).await;
        assert_eq!(r.problem(400)["type"], "/problems/invalid_query", "{path}: {}", r.text);
    }
    // a cursor of the list's form is a position, as the next_cursor it gave
    for path in ["/api/v1/parts?limit=2", "/api/v1/locations?limit=2"] {
        let first = app.get(path, Some("admin")).await;
        let cursor = first.ok()["next_cursor"].as_str().unwrap().to_string();
        let next = app.get(&format!("{path}&cursor={cursor}"), Some("admin")).await;
        assert_eq!(next.ok()["items"].as_array().unwrap().len(), 2, "{path}");
        assert_ne!(next.json["items"][0], first.json["items"][0], "{path}");
    }
});

/// A unit the demo does not hold, of the demo model, shipped long ago.
fn new_unit(serial: &str, model: &str) -> Value {
    let shipped = chrono::Utc::now().date_naive() - Duration::days(400);
    json!({"serial": serial, "model": model, "ship_date": shipped.to_string(), "region": "Zhejiang"})
}

both!(a_serial_typed_with_spaces_around_it_is_refused_by_intake_as_by_units, |app| async {
    let tickets = "SELECT COUNT(*) AS n FROM tickets";
    let units = "SELECT COUNT(*) AS n FROM product_units";
    let before = (app.count(tickets).await, app.count(units).await);
    for serial in [" RF00000001", "RF00000001 ", "\tRF00000001"] {
        let r = app.post("/api/v1/tickets", "agent", app.ticket().serial(serial).body()).await;
        assert_eq!(r.problem(422)["errors"][0]["field"], "serial", "intake {serial:?}: {}", r.text);
        let r = app
            .post("/api/v1/units", "admin", new_unit(&format!("{serial}9"), crate::builders::DEMO_MODEL))
            .await;
        assert_eq!(r.problem(422)["errors"][0]["field"], "serial", "unit {serial:?}: {}", r.text);
    }
    assert_eq!((app.count(tickets).await, app.count(units).await), before);
    // as typed without them, each takes it
    assert_eq!(
        app.post("/api/v1/tickets", "agent", app.ticket().serial("RF00000001").body()).await.status,
        201
    );
    let r = app.post("/api/v1/units", "admin", new_unit("RF000000019", crate::builders::DEMO_MODEL)).await;
    assert_eq!(r.status, 201, "{}", r.text);
});

both!(a_model_typed_in_lower_case_is_taken_by_units_as_by_tickets, |app| async {
    let r = app.post("/api/v1/units", "admin", new_unit("RF2611000777", "bcd-539wt")).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["model"], crate::builders::DEMO_MODEL);
    let mut ticket = app.ticket().serial("RF2611000777").body();
    ticket["model"] = json!("bcd-539wt");
    assert_eq!(app.post("/api/v1/tickets", "agent", ticket).await.status, 201);
});

both!(a_models_product_line_is_one_the_catalogue_knows, |app| async {
    let models = "SELECT COUNT(*) AS n FROM product_models";
    let before = app.count(models).await;
    let model = |code: &str, line: &str| json!({"code": code, "line": line, "name": "a model", "launch_date": "2026-01-05", "warranty_months": 12});
    let r = app.post("/api/v1/models", "admin", model("ZZ-100", "ZZ")).await;
    assert_eq!(r.problem(422)["type"], "/problems/unknown_product_line", "{}", r.text);
    assert_eq!(r.json["field"], "line");
    assert_eq!(r.json["lines"], json!(["AC", "RF", "WM"]));
    assert_eq!(app.count(models).await, before);
    app.get("/api/v1/models/ZZ-100", Some("admin")).await.problem(404);
    // a line of the catalogue's parts is taken
    assert_eq!(app.post("/api/v1/models", "admin", model("WM-100", "WM")).await.status, 201);
});

both!(a_stations_own_code_in_lower_case_is_its_code, |app| async {
    let user = "station-st-tz-001";
    for path in [
        "/api/v1/locations/{c}",
        "/api/v1/locations/{c}/tier",
        "/api/v1/locations/{c}/tier-history",
        "/api/v1/stations/{c}/scorecard",
        "/api/v1/stock?location={c}",
        "/api/v1/movements?location={c}",
        "/api/v1/parts-requests?station={c}",
        "/api/v1/tickets?station={c}",
        "/api/v1/follow-ups?station={c}",
        "/api/v1/loans?station={c}",
        "/api/v1/reports/kpis?location={c}",
    ] {
        let upper = app.get(&path.replace("{c}", "ST-TZ-001"), Some(user)).await;
        let lower = app.get(&path.replace("{c}", "st-tz-001"), Some(user)).await;
        assert_eq!((lower.status, &lower.json), (upper.status, &upper.json), "{path}: {}", lower.text);
    }
    // and named in a body
    let part = app.part().stock_at("RC-HZ", 2).create().await;
    let r = app.request().line(&part, 1).with("station", json!("st-tz-001")).send().await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["station"], "ST-TZ-001");
    let r = app.post("/api/v1/tickets", user, app.ticket().at("st-tz-001").body()).await;
    assert_eq!(r.status, 201, "{}", r.text);
});

both!(a_regrading_to_the_tier_in_force_adds_nothing_and_a_day_keeps_one_entry, |app| async {
    let path = "/api/v1/locations/ST-TZ-001/tier";
    let before = app.get("/api/v1/locations/ST-TZ-001/tier-history", Some("admin")).await.ok().clone();
    let tier = before["tier"].as_str().unwrap().to_string();
    let entries = before["history"].as_array().unwrap().len();
    let tomorrow = (chrono::Utc::now().date_naive() + Duration::days(1)).to_string();
    let regrade =
        |tier: &str, reason: &str| json!({"tier": tier, "effective_from": tomorrow, "reason": reason});
    // to the tier it has, today or from tomorrow: nothing changes, and the answer is the
    // history as it is
    let r = app.put(path, "admin", json!({"tier": tier, "reason": "graded again"})).await;
    assert_eq!(r.ok(), &before);
    let r = app.put(path, "admin", regrade(&tier, "graded again")).await;
    assert_eq!(r.ok(), &before);
    // several regradings of one day: one entry for the day, the last one's
    let other = if tier == "A" { ["C", "B"] } else { ["A", "C"] };
    app.put(path, "admin", regrade(other[0], "new workshop")).await.ok();
    let r = app.put(path, "admin", regrade(other[1], "the workshop closed again")).await;
    let history = r.ok()["history"].as_array().unwrap().clone();
    assert_eq!(history.len(), entries + 1, "{history:?}");
    let last = &history[entries];
    assert_eq!(
        (&last["tier"], &last["reason"], &last["effective_from"]),
        (&json!(other[1]), &json!("the workshop closed again"), &json!(tomorrow))
    );
    // and back to the tier in force before that day: the day has no regrading left
    let r = app.put(path, "admin", regrade(&tier, "back as it was")).await;
    assert_eq!(r.ok(), &before);
    app.audit().await;
});

both!(a_ticket_waits_for_parts_only_when_some_are_on_order, |app| async {
    let tech = crate::builders::TECH;
    let part = app.part().fits_demo_unit().stock_at("RC-HZ", 2).create().await;
    let t = app.ticket().at("ST-TZ-001").dispatched_to(tech).on_site().create().await;
    let path = |action: &str| format!("/api/v1/tickets/{t}/{action}");
    let events = "SELECT COUNT(*) AS n FROM ticket_events";
    // the visit finds a part missing, but nothing is on order for the ticket: nothing would end
    // the wait, so it is refused and the ticket stays on site
    let before = app.count(events).await;
    let r = app.post(&path("await-parts"), tech, json!({})).await;
    assert_eq!(r.problem(409)["type"], "/problems/no_parts_on_order", "{}", r.text);
    assert_eq!(r.json["current_status"], "on_site");
    assert_eq!(app.count(events).await, before);
    let seen = app.get(&format!("/api/v1/tickets/{t}"), Some("agent")).await;
    assert_eq!(seen.ok()["status"], "on_site");
    // an order given up is none either
    let cancelled = app.request().line(&part, 1).for_ticket(t).create().await;
    app.on_request(cancelled, "cancel", "station-st-tz-001").await.ok();
    let r = app.post(&path("await-parts"), tech, json!({})).await;
    assert_eq!(r.problem(409)["type"], "/problems/no_parts_on_order", "{}", r.text);
    // with the part on order for the ticket, the ticket waits for it
    app.request().line(&part, 1).for_ticket(t).create().await;
    assert_eq!(app.post(&path("await-parts"), tech, json!({})).await.ok()["status"], "awaiting_parts");
});
