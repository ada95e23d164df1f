//! Found at the edges by an outside look at the product, each kept here as the behaviour a user
//! sees: lists that name what they list on every row, references of the wrong kind, counts out
//! of range, sums that could not be counted, fields named when they are missing.

use chrono::Duration;
use serde_json::json;

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
    // a role that may take no action on a ticket says so
    let r = app.post("/api/v1/tickets/1/accept-quote", "finance", json!({})).await;
    assert!(r.problem(403)["detail"].as_str().unwrap().ends_with("none"), "{}", r.text);
});
