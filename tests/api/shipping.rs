//! Shipments, courier tenders, tracking and damaged deliveries.

use chrono::{Duration, Utc};
use echelon::shipping::rules::ShipmentStatus;
use echelon::shipping::store::{self as shipping, NewShipment};
use serde_json::{json, Value};

use crate::both;
use crate::helpers::TestApp;

/// A request of `qty` units for ST-TZ-001 from RC-HZ, picked and shipped; returns the
/// request id and its shipment.
async fn shipped(app: &TestApp, qty: i64, urgency: &str) -> (i64, Value) {
    let part = app.part().cost("20.00").stock_at("RC-HZ", qty).create().await;
    let id = app.request().line(&part, qty).urgency(urgency).create().await;
    app.on_request(id, "ship", "warehouse-rc-hz").await.ok();
    let shipment = app.shipments_of(id, "warehouse-rc-hz").await[0].clone();
    (id, shipment)
}

/// Gives a courier a delivery record: `delivered` shipments, `late` of them late and
/// `damaged` of them damaged (history, written straight to the shipments table).
async fn history(app: &TestApp, courier: &str, delivered: i64, late: i64, damaged: i64) {
    let courier = courier.to_string();
    app.state
        .db
        .write(move |conn| {
            use diesel::prelude::*;
            use echelon::db::schema::{locations, users};
            let cid: i64 = users::table.filter(users::username.eq(&courier)).select(users::id).first(conn)?;
            let hz: i64 =
                locations::table.filter(locations::code.eq("RC-HZ")).select(locations::id).first(conn)?;
            let tz: i64 =
                locations::table.filter(locations::code.eq("ST-TZ-001")).select(locations::id).first(conn)?;
            let due = (Utc::now() - Duration::days(30)).naive_utc();
            for i in 0..delivered {
                let id = shipping::insert_shipment(
                    conn,
                    &NewShipment {
                        request_id: None,
                        origin_id: hz,
                        destination_id: tz,
                        urgency: "normal",
                        weight_grams: 1000,
                        deliver_by: due,
                        status: ShipmentStatus::Received,
                        courier_id: Some(cid),
                        price_minor: Some(3000),
                        damaged_units: if i < damaged { 1 } else { 0 },
                        created_at: due - Duration::days(2),
                    },
                )?;
                let at = if i < late { due + Duration::hours(5) } else { due - Duration::hours(3) };
                shipping::mark_delivered(conn, id, at)?;
            }
            Ok(())
        })
        .await
        .unwrap();
    app.history_imported().await;
}

fn bid_of<'a>(tender: &'a Value, courier: &str) -> &'a Value {
    tender["bids"].as_array().unwrap().iter().find(|b| b["courier"] == courier).unwrap()
}

both!(the_award_goes_to_the_best_score_not_the_cheapest_careless_courier, |app| async {
    history(&app, "courier-1", 20, 1, 6).await; // cheap, on time, breaks things
    history(&app, "courier-2", 20, 2, 0).await;
    history(&app, "courier-3", 20, 8, 0).await; // often late
    let (_, s) = shipped(&app, 2, "normal").await;
    assert_eq!(s["status"], "awaiting_tender");
    let deadline = (Utc::now() + Duration::hours(2)).to_rfc3339();
    let t = app
        .post(
            "/api/v1/tenders",
            "warehouse-rc-hz",
            json!({"shipment_ids": [s["id"]], "bid_deadline": deadline}),
        )
        .await;
    assert_eq!(t.status, 201, "{}", t.text);
    let tid = t.json["id"].as_i64().unwrap();
    for (courier, price) in [("courier-1", "30.00"), ("courier-2", "33.00"), ("courier-3", "34.00")] {
        let r = app
            .post(
                &format!("/api/v1/tenders/{tid}/bids"),
                courier,
                json!({"price": price, "transit_hours": 20}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        // a courier sees its own bid only
        assert_eq!(r.json["bids"].as_array().unwrap().len(), 1);
    }
    // awarding before the deadline needs "now"
    app.post(&format!("/api/v1/tenders/{tid}/award"), "warehouse-rc-hz", json!({})).await.problem(409);
    let a = app.post(&format!("/api/v1/tenders/{tid}/award"), "warehouse-rc-hz", json!({"now": true})).await;
    let tender = a.ok().clone();
    assert_eq!(tender["status"], "awarded");
    let winner = bid_of(&tender, "courier-2");
    assert_eq!(tender["awarded_bid_id"], winner["bid_id"]);
    // every bid's score is explained, and the cheapest lost on its damage record
    let scores: Vec<f64> = ["courier-1", "courier-2", "courier-3"]
        .iter()
        .map(|c| bid_of(&tender, c)["score"]["total"].as_f64().unwrap())
        .collect();
    assert!(scores[1] < scores[0] && scores[1] < scores[2], "{scores:?}");
    let cheap = bid_of(&tender, "courier-1");
    assert_eq!(cheap["score"]["price_part"], 1.0);
    assert!(
        cheap["score"]["damage_part"].as_f64().unwrap()
            > bid_of(&tender, "courier-2")["score"]["damage_part"].as_f64().unwrap()
    );
    let shipment = app.get(&format!("/api/v1/shipments/{}", s["id"]), Some("warehouse-rc-hz")).await;
    assert_eq!(shipment.ok()["courier"], "courier-2");
    assert_eq!(shipment.json["status"], "assigned");
    // awarded twice is a conflict
    app.post(&format!("/api/v1/tenders/{tid}/award"), "warehouse-rc-hz", json!({"now": true}))
        .await
        .problem(409);
});

both!(late_foreign_and_unauthorised_bids_are_refused, |app| async {
    let (_, s) = shipped(&app, 1, "normal").await;
    let deadline = (Utc::now() + Duration::hours(1)).to_rfc3339();
    let t = app
        .post(
            "/api/v1/tenders",
            "warehouse-rc-hz",
            json!({"shipment_ids": [s["id"]], "bid_deadline": deadline}),
        )
        .await;
    let tid = t.ok()["id"].as_i64().unwrap();
    let bid = json!({"price": "30.00", "transit_hours": 12});
    // a station may not bid
    app.post(&format!("/api/v1/tenders/{tid}/bids"), "station-st-tz-001", bid.clone()).await.problem(403);
    // a lane outside the courier's area: an HQ (Shandong) shipment for courier-3 (south only)
    let part = app.part().cost("20.00").stock_at("HQ", 1).create().await;
    let r = app.request().station("ST-HZ-001").line(&part, 1).send().await;
    let rid = r.ok()["id"].as_i64().unwrap();
    app.on_request(rid, "ship", "warehouse-hq").await.ok();
    let hq_ship = app.get(&format!("/api/v1/shipments?request_id={rid}"), Some("warehouse-hq")).await.ok()
        ["items"][0]
        .clone();
    let t2 = app
        .post(
            "/api/v1/tenders",
            "warehouse-hq",
            json!({"shipment_ids": [hq_ship["id"]], "bid_deadline": deadline}),
        )
        .await;
    let t2 = t2.ok()["id"].as_i64().unwrap();
    // a lane outside courier-3's service area: its bid is answered like an unknown tender, as
    // its GET is, and names none of the lane's codes or regions
    let far = app.post(&format!("/api/v1/tenders/{t2}/bids"), "courier-3", bid.clone()).await;
    let far = far.problem(404);
    assert_eq!(far["type"], "/problems/not_found");
    let unknown = app.post("/api/v1/tenders/999999/bids", "courier-3", bid.clone()).await;
    assert_eq!(
        far["detail"].as_str().unwrap().replace(&t2.to_string(), "N"),
        unknown.problem(404)["detail"].as_str().unwrap().replace("999999", "N")
    );
    let text = far.to_string();
    for code in ["RC-", "HQ", "ST-", "region"] {
        assert!(!text.contains(code), "{text}");
    }
    app.get(&format!("/api/v1/tenders/{t2}"), Some("courier-3")).await.problem(404);
    // a bid after the deadline
    app.state.clock.advance(Duration::hours(2));
    let late = app.post(&format!("/api/v1/tenders/{tid}/bids"), "courier-1", bid.clone()).await;
    assert_eq!(late.problem(409)["type"], "/problems/tender_closed");
    // no bid at all: award says why
    let none = app.post(&format!("/api/v1/tenders/{tid}/award"), "warehouse-rc-hz", json!({})).await;
    assert_eq!(none.problem(422)["type"], "/problems/no_valid_bid");
    // an override needs a reason
    app.post(&format!("/api/v1/tenders/{tid}/award"), "warehouse-rc-hz", json!({"bid_id": 1}))
        .await
        .problem(422);
});

both!(a_delivery_with_one_of_two_units_damaged_is_claimed_and_replaced, |app| async {
    let (rid, s) = shipped(&app, 2, "urgent").await;
    // urgent: no tender, the best standing rate card for Zhejiang -> Zhejiang in time (courier-1: 24 h)
    assert_eq!(s["status"], "assigned");
    assert_eq!(s["courier"], "courier-1");
    let part = s["lines"][0]["part_code"].as_str().unwrap().to_string();
    app.set_stock("HQ", &part, 5).await;
    let r = app
        .post(
            &format!("/api/v1/parts-requests/{rid}/receive"),
            "station-st-tz-001",
            json!({"lines": [{"line_no": 1, "received_qty": 1, "damaged_qty": 1}]}),
        )
        .await;
    assert_eq!(r.ok()["request"]["status"], "received_damaged");
    assert_eq!(app.stock("ST-TZ-001", &part).await, (1, 0, 1));
    let quarantine = app
        .get(&format!("/api/v1/movements?part_code={part}&reason=damaged_in_transit"), Some("admin"))
        .await;
    assert_eq!(quarantine.ok()["items"][0]["qty"], 1);
    assert_eq!(quarantine.json["items"][0]["to"], "QUARANTINE");
    let claims = app.get("/api/v1/claims", Some("admin")).await;
    let claim = &claims.ok()["items"][0];
    assert_eq!(claim["courier"], "courier-1");
    assert_eq!(claim["qty"], 1);
    assert_eq!(claim["amount"], "20.00");
    assert_eq!(claim["shipment_id"], s["id"]);
    // RC-HZ is now empty: the replacement for 1 unit comes from HQ (tier B may order from HQ),
    // already shipped
    let repl = &r.json["damaged"][0];
    assert_eq!(repl["replacement"], json!([{"source": "HQ", "qty": 1}]));
    let ships = app.get(&format!("/api/v1/shipments?request_id={rid}"), Some("admin")).await;
    let items = ships.ok()["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 2);
    let replacement = items.iter().find(|i| i["id"] != s["id"]).unwrap();
    assert_eq!(replacement["lines"], json!([{"part_code": part, "qty": 1}]));
    assert_eq!(replacement["origin"], "HQ");

    // the courier sees its claim, another courier does not
    assert_eq!(app.get("/api/v1/claims", Some("courier-1")).await.ok()["items"].as_array().unwrap().len(), 1);
    assert_eq!(app.get("/api/v1/claims", Some("courier-2")).await.ok()["items"].as_array().unwrap().len(), 0);
});

both!(a_late_delivery_lowers_the_couriers_on_time_rate, |app| async {
    let (_, s) = shipped(&app, 1, "urgent").await;
    let sid = s["id"].as_i64().unwrap();
    let rate = |v: &Value| {
        v["items"].as_array().unwrap().iter().find(|c| c["username"] == "courier-1").unwrap().clone()
    };
    let before = rate(app.get("/api/v1/couriers", Some("admin")).await.ok());
    // only the assigned courier reports; the order of events is kept
    app.post(&format!("/api/v1/shipments/{sid}/events"), "courier-2", json!({"kind": "picked_up"}))
        .await
        .problem(404);
    app.post(&format!("/api/v1/shipments/{sid}/events"), "station-st-tz-001", json!({"kind": "picked_up"}))
        .await
        .problem(403);
    app.post(&format!("/api/v1/shipments/{sid}/events"), "courier-1", json!({"kind": "delivered"}))
        .await
        .problem(409);
    app.post(&format!("/api/v1/shipments/{sid}/events"), "courier-1", json!({"kind": "picked_up"}))
        .await
        .ok();
    app.state.clock.advance(Duration::hours(30)); // due in 24 h
    let d =
        app.post(&format!("/api/v1/shipments/{sid}/events"), "courier-1", json!({"kind": "delivered"})).await;
    assert_eq!(d.ok()["status"], "delivered");
    assert_eq!(d.json["on_time"], false);
    assert_eq!(d.json["events"].as_array().unwrap().len(), 2);
    let after = rate(app.get("/api/v1/couriers", Some("admin")).await.ok());
    assert_eq!(after["record"]["delivered"], before["record"]["delivered"].as_i64().unwrap() + 1);
    assert_eq!(after["record"]["on_time"], before["record"]["on_time"]);
    assert!(after["on_time_rate"].as_f64().unwrap() < before["on_time_rate"].as_f64().unwrap());
    // a courier sees only its own record
    assert_eq!(
        app.get("/api/v1/couriers", Some("courier-1")).await.ok()["items"].as_array().unwrap().len(),
        1
    );
});

both!(tender_weights_are_admin_data, |app| async {
    let w = app.get("/api/v1/tender-weights", Some("warehouse-rc-hz")).await;
    assert_eq!(w.ok()["damage_weight"], 300);
    app.put(
        "/api/v1/tender-weights",
        "warehouse-rc-hz",
        json!({"price_weight": 100, "late_weight": 50, "damage_weight": 100}),
    )
    .await
    .problem(403);
    app.put(
        "/api/v1/tender-weights",
        "admin",
        json!({"price_weight": 100, "late_weight": 5000, "damage_weight": 100}),
    )
    .await
    .problem(422);
    let ok = app
        .put(
            "/api/v1/tender-weights",
            "admin",
            json!({"price_weight": 100, "late_weight": 50, "damage_weight": 100}),
        )
        .await;
    assert_eq!(ok.ok()["late_weight"], 50);
});

both!(tracking_events_keep_time_order_and_a_backdated_delivery_is_refused, |app| async {
    let (_, s) = shipped(&app, 1, "urgent").await;
    let sid = s["id"].as_i64().unwrap();
    let events = format!("/api/v1/shipments/{sid}/events");
    let courier = |v: &Value| {
        v["items"].as_array().unwrap().iter().find(|c| c["username"] == "courier-1").unwrap().clone()
    };
    let before = courier(app.get("/api/v1/couriers", Some("admin")).await.ok());
    let now = app.state.clock.now();
    let at = |d: Duration| (now + d).to_rfc3339();
    // before the shipment existed, or in the future: refused, naming `at`
    for when in [at(-Duration::days(400)), at(-Duration::hours(1)), at(Duration::days(1))] {
        let r = app.post(&events, "courier-1", json!({"kind": "picked_up", "at": when})).await;
        let p = r.problem(422);
        assert_eq!(p["errors"][0]["field"], "at", "{}", r.text);
    }
    assert_eq!(
        app.post(&events, "courier-1", json!({"kind": "picked_up", "at": at(-Duration::hours(1))}))
            .await
            .json["type"],
        "/problems/event_out_of_order"
    );
    app.state.clock.advance(Duration::hours(2));
    app.post(&events, "courier-1", json!({"kind": "picked_up"})).await.ok();
    app.state.clock.advance(Duration::hours(40)); // due in 24 h: late
                                                  // a delivery dated before the pick-up (to look on time) is refused; nothing changes
    let back =
        app.post(&events, "courier-1", json!({"kind": "delivered", "at": at(Duration::hours(1))})).await;
    assert_eq!(back.problem(422)["type"], "/problems/event_out_of_order");
    let shown = app.get(&format!("/api/v1/shipments/{sid}"), Some("admin")).await;
    assert_eq!(shown.ok()["status"], "picked_up");
    assert_eq!(shown.json["events"].as_array().unwrap().len(), 1);
    // nor is one dated after the pick-up and before the due time but reported long after it
    let late_report =
        app.post(&events, "courier-1", json!({"kind": "delivered", "at": at(Duration::hours(3))})).await;
    let p = late_report.problem(422);
    assert_eq!(
        (p["type"].as_str(), p["errors"][0]["field"].as_str()),
        (Some("/problems/event_out_of_order"), Some("at"))
    );
    assert_eq!(app.get(&format!("/api/v1/shipments/{sid}"), Some("admin")).await.ok()["status"], "picked_up");
    assert_eq!(
        courier(app.get("/api/v1/couriers", Some("admin")).await.ok()),
        before,
        "on-time figures unchanged"
    );
    // the true delivery counts, late
    let d = app.post(&events, "courier-1", json!({"kind": "delivered"})).await;
    assert_eq!(d.ok()["on_time"], false);
    let after = courier(app.get("/api/v1/couriers", Some("admin")).await.ok());
    assert_eq!(after["record"]["on_time"], before["record"]["on_time"]);
    assert_eq!(after["record"]["delivered"], before["record"]["delivered"].as_i64().unwrap() + 1);
});

both!(a_replacement_after_a_damaged_delivery_goes_to_another_courier_that_arrives_in_time, |app| async {
    // stock at HQ only: the urgent request and its replacement travel the same lane, HQ ->
    // ST-TZ-001 (Shandong -> Zhejiang: courier-1 48 h, courier-2 60 h; urgent, due in 60 h)
    let part = app.part().cost("20.00").stock_at("HQ", 3).create().await;
    // damage weighs nothing in the score here, so only the rule passes the courier over
    app.put(
        "/api/v1/tender-weights",
        "admin",
        json!({"price_weight": 100, "late_weight": 0, "damage_weight": 0}),
    )
    .await
    .ok();
    let rid = app.request().line(&part, 2).urgency("urgent").create().await;
    app.on_request(rid, "ship", "admin").await.ok();
    let first = app.shipments_of(rid, "admin").await[0].clone();
    assert_eq!(first["origin"], "HQ");
    let damaging = first["courier"].as_str().unwrap().to_string();
    let record = |v: &Value, who: &str| {
        v["items"].as_array().unwrap().iter().find(|c| c["username"] == who).unwrap().clone()
    };
    let before = record(app.get("/api/v1/couriers", Some("admin")).await.ok(), &damaging);
    let r = app
        .post(
            &format!("/api/v1/parts-requests/{rid}/receive"),
            "station-st-tz-001",
            json!({"lines": [{"line_no": 1, "received_qty": 1, "damaged_qty": 1}]}),
        )
        .await;
    assert_eq!(r.ok()["damaged"][0]["replacement"], json!([{"source": "HQ", "qty": 1}]));
    let items = app.shipments_of(rid, "admin").await;
    let replacement = items.iter().find(|i| i["id"] != first["id"]).unwrap();
    // the same lane and weight class that chose `damaging` first now chooses another courier
    assert_eq!(replacement["origin"], "HQ");
    assert_ne!(replacement["courier"], damaging.as_str(), "{replacement}");
    assert_eq!(replacement["status"], "assigned");
    // the damage is on the record that weighed the choice
    let after = record(app.get("/api/v1/couriers", Some("admin")).await.ok(), &damaging);
    assert_eq!(after["record"]["damaged"], before["record"]["damaged"].as_i64().unwrap() + 1);
    assert!(after["damage_rate"].as_f64().unwrap() > before["damage_rate"].as_f64().unwrap());
});

both!(a_tender_over_several_shipments_shares_the_price_to_the_cent, |app| async {
    let mut ids = Vec::new();
    for _ in 0..3 {
        let (_, s) = shipped(&app, 1, "normal").await;
        assert_eq!(s["status"], "awaiting_tender", "{s}");
        ids.push(s["id"].as_i64().unwrap());
    }
    let deadline = (Utc::now() + Duration::hours(2)).to_rfc3339();
    let t = app
        .post("/api/v1/tenders", "warehouse-rc-hz", json!({"shipment_ids": ids, "bid_deadline": deadline}))
        .await;
    assert_eq!(t.status, 201, "{}", t.text);
    let tid = t.json["id"].as_i64().unwrap();
    let bid = json!({"price": "100.00", "transit_hours": 20});
    let r = app.post(&format!("/api/v1/tenders/{tid}/bids"), "courier-1", bid).await;
    assert_eq!(r.status, 201, "{}", r.text);
    app.post(&format!("/api/v1/tenders/{tid}/award"), "warehouse-rc-hz", json!({"now": true})).await.ok();
    let mut prices = Vec::new();
    for id in &ids {
        let s = app.get(&format!("/api/v1/shipments/{id}"), Some("warehouse-rc-hz")).await;
        assert_eq!(s.ok()["courier"], "courier-1");
        prices.push(s.json["price"].as_str().unwrap().to_string());
    }
    // 100.00 over three: no cent lost, none made up
    prices.sort();
    assert_eq!(prices, ["33.33", "33.33", "33.34"]);
});

both!(a_tender_that_got_no_bid_lapses_when_its_shipments_are_put_out_again, |app| async {
    let (_, s) = shipped(&app, 1, "normal").await;
    let (_, other) = shipped(&app, 1, "normal").await;
    let sid = s["id"].as_i64().unwrap();
    let tender = |ids: Value| {
        let deadline = (app.state.clock.now() + Duration::hours(1)).to_rfc3339();
        app.post("/api/v1/tenders", "warehouse-rc-hz", json!({"shipment_ids": ids, "bid_deadline": deadline}))
    };
    let first = tender(json!([sid])).await.ok()["id"].as_i64().unwrap();
    let bid_on = tender(json!([other["id"]])).await.ok()["id"].as_i64().unwrap();
    let bid = json!({"price": "30.00", "transit_hours": 12});
    app.post(&format!("/api/v1/tenders/{bid_on}/bids"), "courier-1", bid.clone()).await.ok();
    // while bids are open, a tendered shipment is not put out again
    let r = tender(json!([sid])).await;
    assert_eq!(r.problem(409)["type"], "/problems/not_awaiting_tender");
    app.state.clock.advance(Duration::hours(2));
    // no bid came: it cannot be awarded...
    let none = app.post(&format!("/api/v1/tenders/{first}/award"), "warehouse-rc-hz", json!({})).await;
    assert_eq!(none.problem(422)["type"], "/problems/no_valid_bid");
    // ...but is not stranded: put out again, the old tender lapses and frees it
    let again = tender(json!([sid])).await;
    let second = again.ok()["id"].as_i64().unwrap();
    assert_eq!(again.json["shipment_ids"], json!([sid]));
    let old = app.get(&format!("/api/v1/tenders/{first}"), Some("warehouse-rc-hz")).await;
    assert_eq!((old.ok()["status"].as_str(), &old.json["shipment_ids"]), (Some("lapsed"), &json!([])));
    let listed = app.get("/api/v1/tenders?status=lapsed", Some("admin")).await;
    let ids: Vec<i64> =
        listed.ok()["items"].as_array().unwrap().iter().map(|t| t["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, vec![first]);
    let shipment = app.get(&format!("/api/v1/shipments/{sid}"), Some("warehouse-rc-hz")).await;
    assert_eq!(
        (shipment.ok()["status"].as_str(), shipment.json["tender_id"].as_i64()),
        (Some("tendered"), Some(second))
    );
    // a tender that got a bid does not lapse: it is awarded (or overridden), not put out again
    let r = tender(json!([other["id"]])).await;
    assert_eq!(r.problem(409)["type"], "/problems/not_awaiting_tender");
    // the new tender takes bids and is awarded as any
    app.post(&format!("/api/v1/tenders/{second}/bids"), "courier-1", bid).await.ok();
    let a =
        app.post(&format!("/api/v1/tenders/{second}/award"), "warehouse-rc-hz", json!({"now": true})).await;
    assert_eq!(a.ok()["status"], "awarded");
    let shipment = app.get(&format!("/api/v1/shipments/{sid}"), Some("warehouse-rc-hz")).await;
    assert_eq!(
        (shipment.ok()["status"].as_str(), shipment.json["courier"].as_str()),
        (Some("assigned"), Some("courier-1"))
    );
    // a status the lists do not know is a bad query, not an empty page
    for path in
        ["/api/v1/tenders?status=bogus", "/api/v1/shipments?status=RECEIVED", "/api/v1/shipments?status="]
    {
        let r = app.get(path, Some("admin")).await;
        assert_eq!(r.problem(400)["type"], "/problems/invalid_query", "{path}");
    }
});

both!(the_award_passes_over_late_bids_and_an_override_names_its_bid_and_reason, |app| async {
    let app = &app;
    let open = |ids: Value| async move {
        let deadline = (app.state.clock.now() + Duration::hours(1)).to_rfc3339();
        app.post("/api/v1/tenders", "warehouse-rc-hz", json!({"shipment_ids": ids, "bid_deadline": deadline}))
            .await
    };
    let bid = |tid: i64, courier: &'static str, price: &'static str, hours: i64| async move {
        app.post(
            &format!("/api/v1/tenders/{tid}/bids"),
            courier,
            json!({"price": price, "transit_hours": hours}),
        )
        .await
    };
    // the cheapest bid arrives after deliver_by: the award goes to the one that arrives in time
    let (_, s) = shipped(app, 1, "normal").await;
    let t = open(json!([s["id"]])).await.ok()["id"].as_i64().unwrap();
    bid(t, "courier-1", "10.00", 700).await.ok();
    bid(t, "courier-2", "40.00", 12).await.ok();
    let a = app.post(&format!("/api/v1/tenders/{t}/award"), "warehouse-rc-hz", json!({"now": true})).await;
    let tender = a.ok().clone();
    assert_eq!(tender["awarded_bid_id"], bid_of(&tender, "courier-2")["bid_id"]);
    let late = bid_of(&tender, "courier-1");
    assert_eq!((late["meets_deadline"].as_bool(), late["score"].is_null()), (Some(false), true), "{late}");
    // every bid late: no award by score, the bids shown scored...
    let (_, s2) = shipped(app, 1, "normal").await;
    let t2 = open(json!([s2["id"]])).await.ok()["id"].as_i64().unwrap();
    bid(t2, "courier-1", "10.00", 700).await.ok();
    bid(t2, "courier-2", "12.00", 720).await.ok();
    let none =
        app.post(&format!("/api/v1/tenders/{t2}/award"), "warehouse-rc-hz", json!({"now": true})).await;
    assert_eq!(none.problem(422)["type"], "/problems/no_valid_bid");
    assert_eq!(none.json["bids"].as_array().unwrap().len(), 2, "{}", none.text);
    // ...but staff may choose one anyway, with a reason, which the tender keeps
    let chosen = none.json["bids"].as_array().unwrap().iter().find(|b| b["courier"] == "courier-2").unwrap()
        ["bid_id"]
        .clone();
    let body =
        json!({"now": true, "bid_id": chosen, "reason": "the only courier with a truck free this week"});
    let o = app.post(&format!("/api/v1/tenders/{t2}/award"), "warehouse-rc-hz", body).await;
    assert_eq!(
        (o.ok()["status"].as_str(), &o.json["awarded_bid_id"], o.json["override_reason"].as_str()),
        (Some("awarded"), &chosen, Some("the only courier with a truck free this week"))
    );
    let shipment = app.get(&format!("/api/v1/shipments/{}", s2["id"]), Some("warehouse-rc-hz")).await;
    assert_eq!(
        (shipment.ok()["status"].as_str(), shipment.json["courier"].as_str()),
        (Some("assigned"), Some("courier-2"))
    );
    // a tender is of one lane: shipments to two stations are refused together, and stay free
    let (_, here) = shipped(app, 1, "normal").await;
    let part = app.part().cost("20.00").stock_at("RC-HZ", 1).create().await;
    let elsewhere = app.request().station("ST-HZ-001").line(&part, 1).create().await;
    app.on_request(elsewhere, "ship", "warehouse-rc-hz").await.ok();
    let there = app.shipments_of(elsewhere, "warehouse-rc-hz").await[0].clone();
    let r = open(json!([here["id"], there["id"]])).await;
    assert_eq!(r.problem(422)["type"], "/problems/mixed_lanes");
    for s in [&here, &there] {
        let seen = app.get(&format!("/api/v1/shipments/{}", s["id"]), Some("warehouse-rc-hz")).await;
        assert_eq!(seen.ok()["status"], "awaiting_tender");
    }
});

both!(an_event_without_a_time_follows_one_dated_within_the_clock_allowance, |app| async {
    let (_, s) = shipped(&app, 1, "urgent").await;
    let events = format!("/api/v1/shipments/{}/events", s["id"]);
    // the courier's clock runs 50 s ahead: allowed, and the next event, sent without a time,
    // is dated after it rather than refused as out of order
    let ahead = (app.state.clock.now() + Duration::seconds(50)).to_rfc3339();
    app.post(&events, "courier-1", json!({"kind": "picked_up", "at": ahead})).await.ok();
    let r = app.post(&events, "courier-1", json!({"kind": "in_transit"})).await;
    let shown = r.ok()["events"].as_array().unwrap().clone();
    assert_eq!(shown.len(), 2);
    assert!(shown[1]["at"].as_str() >= shown[0]["at"].as_str(), "{shown:?}");
    // a delivery reported soon after it happened, before the due time, counts on time
    app.state.clock.advance(Duration::hours(3));
    let when = (app.state.clock.now() - Duration::hours(1)).to_rfc3339();
    let d = app.post(&events, "courier-1", json!({"kind": "delivered", "at": when})).await;
    assert_eq!((d.ok()["status"].as_str(), d.json["on_time"].as_bool()), (Some("delivered"), Some(true)));
});

both!(an_admin_gives_a_new_courier_its_service_areas_and_it_is_offered_their_tenders, |app| async {
    // a courier account made through the API serves no lane until the admin gives it areas
    let new = json!({"username": "courier-sf", "password": crate::helpers::PASSWORD, "role": "courier",
                     "display_name": "SF Express"});
    assert_eq!(app.post("/api/v1/users", "admin", new).await.status, 201);
    let c = app.get("/api/v1/couriers/COURIER-SF", Some("admin")).await;
    let c = c.ok();
    assert_eq!((c["username"].as_str(), c["active"].as_bool()), (Some("courier-sf"), Some(true)));
    assert_eq!(c["service_areas"], json!([]));
    // a tender on RC-HZ -> ST-TZ-001 (Zhejiang to Zhejiang)
    let (_, s) = shipped(&app, 1, "normal").await;
    let deadline = (Utc::now() + Duration::hours(1)).to_rfc3339();
    let t = app
        .post(
            "/api/v1/tenders",
            "warehouse-rc-hz",
            json!({"shipment_ids": [s["id"]], "bid_deadline": deadline}),
        )
        .await;
    let tid = t.ok()["id"].as_i64().unwrap();
    let bid = json!({"price": "25.00", "transit_hours": 10});
    app.get(&format!("/api/v1/tenders/{tid}"), Some("courier-sf")).await.problem(404);
    app.post(&format!("/api/v1/tenders/{tid}/bids"), "courier-sf", bid.clone()).await.problem(404);

    // refused, each naming its field, and nothing changes: a region misspelt or in another
    // case (with the one meant), a region the network has not, one listed twice, a blank one
    let bad = app
        .put(
            "/api/v1/couriers/courier-sf",
            "admin",
            json!({"service_areas": ["Zhejaing", "zhejiang", "Atlantis", "Jiangsu", "Jiangsu", " "]}),
        )
        .await;
    let p = bad.problem(422);
    let errors: Vec<(String, String)> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"].as_str().unwrap().to_string(), e["message"].as_str().unwrap().to_string()))
        .collect();
    assert!(
        errors.contains(&("service_areas[4]".into(), "Jiangsu is listed already (service_areas[3])".into())),
        "{errors:?}"
    );
    assert!(errors.contains(&("service_areas[5]".into(), "must not be blank".into())), "{errors:?}");
    // the body's own faults are reported first, then (once they are mended) the network's
    let bad = app
        .put(
            "/api/v1/couriers/courier-sf",
            "admin",
            json!({"service_areas": ["Zhejaing", "zhejiang", "Atlantis", "Jiangsu"]}),
        )
        .await;
    let p = bad.problem(422);
    assert_eq!(p["type"], "/problems/validation_failed");
    let messages: Vec<&str> =
        p["errors"].as_array().unwrap().iter().map(|e| e["message"].as_str().unwrap()).collect();
    let fields: Vec<&str> =
        p["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["service_areas[0]", "service_areas[1]", "service_areas[2]"], "{p}");
    assert_eq!(messages[0], "not a region of the network; did you mean Zhejiang?");
    assert_eq!(messages[1], "not a region of the network; did you mean Zhejiang?");
    assert!(messages[2].starts_with("not a region of the network; the regions are "), "{p}");
    assert_eq!(app.get("/api/v1/couriers/courier-sf", Some("admin")).await.ok()["service_areas"], json!([]));
    // only the admin sets areas; a courier sees itself only; a user who is no courier is none
    let areas = json!({"service_areas": ["Zhejiang", "Jiangsu"]});
    app.put("/api/v1/couriers/courier-sf", "warehouse-rc-hz", areas.clone()).await.problem(403);
    app.put("/api/v1/couriers/courier-sf", "courier-sf", areas.clone()).await.problem(403);
    app.get("/api/v1/couriers/courier-1", Some("courier-sf")).await.problem(404);
    app.get("/api/v1/couriers/courier-sf", Some("station-st-tz-001")).await.problem(403);
    let other = app.put("/api/v1/couriers/tech-st-tz-001", "admin", areas.clone()).await;
    assert_eq!(other.problem(404)["detail"], "tech-st-tz-001 is a technician account, not a courier");
    let none = app.put("/api/v1/couriers/courier-9", "admin", areas.clone()).await;
    assert_eq!(none.problem(404)["detail"], "courier courier-9 not found");

    // set: the courier sees the tender on its lane at once and bids
    let set = app.put("/api/v1/couriers/courier-sf", "admin", areas).await;
    assert_eq!(set.ok()["service_areas"], json!(["Jiangsu", "Zhejiang"]));
    assert_eq!(
        app.get("/api/v1/couriers/courier-sf", Some("courier-sf")).await.ok()["service_areas"],
        json!(["Jiangsu", "Zhejiang"])
    );
    let listed = app.get("/api/v1/couriers", Some("admin")).await;
    assert!(listed.ok()["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["username"] == "courier-sf" && c["service_areas"] == json!(["Jiangsu", "Zhejiang"])));
    app.get(&format!("/api/v1/tenders/{tid}"), Some("courier-sf")).await.ok();
    assert_eq!(app.post(&format!("/api/v1/tenders/{tid}/bids"), "courier-sf", bid.clone()).await.status, 201);
    // emptied: off every lane again (its bid stays on the tender)
    let off = app.put("/api/v1/couriers/courier-sf", "admin", json!({"service_areas": []})).await;
    assert_eq!(off.ok()["service_areas"], json!([]));
    app.get(&format!("/api/v1/tenders/{tid}"), Some("courier-sf")).await.problem(404);
    let tender = app.get(&format!("/api/v1/tenders/{tid}"), Some("warehouse-rc-hz")).await;
    assert_eq!(tender.ok()["bids"].as_array().map(Vec::len), Some(1), "{}", tender.text);
    // disabled: out of the list, still readable, and its bid still names it
    app.patch("/api/v1/users/courier-sf", "admin", json!({"active": false})).await.ok();
    let listed = app.get("/api/v1/couriers?limit=500", Some("admin")).await;
    assert!(listed.ok()["items"].as_array().unwrap().iter().all(|c| c["username"] != "courier-sf"));
    assert_eq!(app.get("/api/v1/couriers/courier-sf", Some("admin")).await.ok()["active"], false);
    let tender = app.get(&format!("/api/v1/tenders/{tid}"), Some("warehouse-rc-hz")).await;
    assert_eq!(tender.ok()["bids"][0]["courier"], "courier-sf", "{}", tender.text);
    // a field of the wrong type or a misspelt one is named, as in every body
    let wrong = app.put("/api/v1/couriers/courier-sf", "admin", json!({"service_areas": "Zhejiang"})).await;
    assert_eq!(wrong.problem(422)["errors"][0]["field"], "service_areas");
    let misspelt = app.put("/api/v1/couriers/courier-sf", "admin", json!({"areas": ["Zhejiang"]})).await;
    assert!(
        misspelt.problem(422)["detail"].as_str().unwrap().contains("unknown field `areas`"),
        "{}",
        misspelt.text
    );
});

/// Ships an urgent request of one `part` from RC-HZ to ST-TZ-001; the courier its shipment was
/// assigned to by rate card.
async fn urgent_courier(app: &TestApp, part: &str) -> String {
    let rid = app.request().line(part, 1).urgency("urgent").create().await;
    app.on_request(rid, "ship", "warehouse-rc-hz").await.ok();
    let s = app.shipments_of(rid, "warehouse-rc-hz").await[0].clone();
    assert_eq!(s["status"], "assigned", "{s}");
    s["courier"].as_str().unwrap().to_string()
}

both!(an_urgent_shipment_goes_only_to_an_active_courier_that_serves_both_ends, |app| async {
    // RC-HZ -> ST-TZ-001, Zhejiang to Zhejiang: every demo courier has a rate card for it
    let part = app.part().cost("20.00").stock_at("RC-HZ", 10).create().await;
    let chosen = urgent_courier(&app, &part).await;
    // that courier disabled: the card of a disabled account is not used
    app.patch(&format!("/api/v1/users/{chosen}"), "admin", json!({"active": false})).await.ok();
    let next = urgent_courier(&app, &part).await;
    assert_ne!(next, chosen);
    app.patch(&format!("/api/v1/users/{chosen}"), "admin", json!({"active": true})).await.ok();
    assert_eq!(urgent_courier(&app, &part).await, chosen, "back in service, it is chosen again");
    // taken off Zhejiang: its Zhejiang card lies dormant
    let c = app.get(&format!("/api/v1/couriers/{chosen}"), Some("admin")).await.ok().clone();
    let kept: Vec<Value> =
        c["service_areas"].as_array().unwrap().iter().filter(|a| *a != "Zhejiang").cloned().collect();
    app.put(&format!("/api/v1/couriers/{chosen}"), "admin", json!({"service_areas": kept})).await.ok();
    assert_ne!(urgent_courier(&app, &part).await, chosen);
});

both!(an_admin_sets_a_couriers_rate_cards_and_urgent_shipments_follow, |app| async {
    let part = app.part().cost("20.00").stock_at("RC-HZ", 10).create().await;
    let new = json!({"username": "courier-sf", "password": crate::helpers::PASSWORD, "role": "courier",
                     "display_name": "SF Express"});
    assert_eq!(app.post("/api/v1/users", "admin", new).await.status, 201);
    let none = app.get("/api/v1/couriers/courier-sf/rate-cards", Some("admin")).await;
    assert_eq!(none.ok()["rate_cards"], json!([]));
    // refused, each naming its field, and nothing changes
    let card = |o: &str, d: &str, base: &str| json!({"origin_region": o, "dest_region": d, "base": base, "per_kg": "0.10", "transit_hours": 12});
    let bad = app
        .put(
            "/api/v1/couriers/courier-sf/rate-cards",
            "admin",
            json!({"rate_cards": [card("Zhejiang", "Zhejiang", "-1.00"), card("Zhejiang", "Zhejiang", "1.00")]}),
        )
        .await;
    let fields: Vec<String> = bad.problem(422)["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(fields, ["rate_cards[0].base", "rate_cards[1]"], "{}", bad.text);
    let bad = app
        .put(
            "/api/v1/couriers/courier-sf/rate-cards",
            "admin",
            json!({"rate_cards": [card("Zhejaing", "Atlantis", "1.00")]}),
        )
        .await;
    let p = bad.problem(422);
    assert_eq!(p["errors"][0]["field"], "rate_cards[0].origin_region");
    assert_eq!(p["errors"][0]["message"], "not a region of the network; did you mean Zhejiang?");
    assert_eq!(p["errors"][1]["field"], "rate_cards[0].dest_region");
    let hours = json!({"rate_cards": [{"origin_region": "Zhejiang", "dest_region": "Zhejiang", "base": "1.00",
                                       "per_kg": "0.10", "transit_hours": 0}]});
    app.put("/api/v1/couriers/courier-sf/rate-cards", "admin", hours).await.problem(422);
    assert_eq!(
        app.get("/api/v1/couriers/courier-sf/rate-cards", Some("admin")).await.ok()["rate_cards"],
        json!([])
    );
    let cheap = json!({"rate_cards": [card("Zhejiang", "Zhejiang", "1.00")]});
    app.put("/api/v1/couriers/courier-sf/rate-cards", "warehouse-rc-hz", cheap.clone()).await.problem(403);
    app.put("/api/v1/couriers/tech-st-tz-001/rate-cards", "admin", cheap.clone()).await.problem(404);
    app.get("/api/v1/couriers/courier-sf/rate-cards", Some("courier-1")).await.problem(404);

    // the cheapest, fastest card on the lane: yet not used while the courier serves no region
    let set = app.put("/api/v1/couriers/courier-sf/rate-cards", "admin", cheap).await;
    assert_eq!(set.ok()["rate_cards"], json!([card("Zhejiang", "Zhejiang", "1.00")]));
    assert_ne!(urgent_courier(&app, &part).await, "courier-sf");
    // with Zhejiang in its areas, it carries the next urgent shipment
    app.put("/api/v1/couriers/courier-sf", "admin", json!({"service_areas": ["Zhejiang"]})).await.ok();
    assert_eq!(urgent_courier(&app, &part).await, "courier-sf");
    // its cards emptied, it carries none again
    let off = app.put("/api/v1/couriers/courier-sf/rate-cards", "admin", json!({"rate_cards": []})).await;
    assert_eq!(off.ok()["rate_cards"], json!([]));
    assert_ne!(urgent_courier(&app, &part).await, "courier-sf");
    // a courier reads its own
    let mine = app.get("/api/v1/couriers/courier-1/rate-cards", Some("courier-1")).await;
    assert!(mine.ok()["rate_cards"].as_array().is_some_and(|c| !c.is_empty()));
});
