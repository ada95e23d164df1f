//! Parts requests: routing, allowance, reservation under concurrency, idempotency, backorders,
//! pick/ship/receive and scoping.

use serde_json::{json, Value};

use crate::both;
use crate::helpers::TestApp;

/// The stations under RC-HZ in the demo, by tier.
const TIER_A: &str = "ST-HZ-001";
const TIER_B: &str = "ST-TZ-001";
const TIER_C: &str = "ST-SX-001";
const TIER_D: &str = "ST-JH-001";

/// A request posted by admin for a station, with `extra` fields beside its lines.
async fn request(app: &TestApp, station: &str, lines: Value, extra: Value) -> crate::helpers::Resp {
    let request = app.request().station(station).lines(lines);
    extra
        .as_object()
        .unwrap()
        .iter()
        .fold(request, |r, (field, value)| r.with(field, value.clone()))
        .send()
        .await
}

fn allocations(r: &Value) -> Vec<(String, i64, String)> {
    r["lines"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|l| l["allocations"].as_array().unwrap().clone())
        .map(|a| {
            (
                a["source"].as_str().unwrap().to_string(),
                a["qty"].as_i64().unwrap(),
                a["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

both!(a_station_request_is_reserved_at_its_own_centre, |app| async {
    let part = app.part().stock_at("RC-HZ", 5).create().await;
    let r = app.request().line(&part, 2).send().await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["status"], "allocated");
    assert_eq!(r.json["station"], "ST-TZ-001");
    assert_eq!(r.json["value"], "20.00");
    assert_eq!(allocations(&r.json), vec![("RC-HZ".to_string(), 2, "reserved".to_string())]);
    assert_eq!(app.stock("RC-HZ", &part).await, (5, 2, 3));
    // the station reads its request; another station gets 404
    let id = r.json["id"].as_i64().unwrap();
    app.get(&format!("/api/v1/parts-requests/{id}"), Some("station-st-tz-001")).await.ok();
    app.get(&format!("/api/v1/parts-requests/{id}"), Some("warehouse-rc-hz")).await.ok();
    app.get(&format!("/api/v1/parts-requests/{id}"), Some("warehouse-hq")).await.ok();
});

both!(a_station_cannot_see_or_touch_another_stations_request, |app| async {
    let part = app.part().stock_at("RC-HZ", 5).create().await;
    let r = request(&app, TIER_A, json!([{"part_code": part, "qty": 1}]), json!({})).await;
    let id = r.ok()["id"].as_i64().unwrap();
    // its own station user reads it; another station gets 404
    let own = app.station_user(TIER_A).await;
    assert_eq!(app.get(&format!("/api/v1/parts-requests/{id}"), Some(&own)).await.ok()["station"], TIER_A);
    let other = app.get(&format!("/api/v1/parts-requests/{id}"), Some("station-st-tz-001")).await;
    other.problem(404);
    assert!(!other.text.contains(TIER_A));
    app.on_request(id, "cancel", "station-st-tz-001").await.problem(404);
    let list = app.get("/api/v1/parts-requests", Some("station-st-tz-001")).await;
    assert!(list.ok()["items"].as_array().unwrap().iter().all(|r| r["station"] == "ST-TZ-001"));
    // a station may not request for another station, which is out of its sight (404, as a code
    // that names none), nor for its centre, which it sees (403)
    for (other, status) in [(TIER_A, 404), ("ST-XX-999", 404), ("RC-HZ", 403)] {
        let r = app
            .post(
                "/api/v1/parts-requests",
                "station-st-tz-001",
                json!({"station": other, "lines": [{"part_code": part, "qty": 1}]}),
            )
            .await;
        r.problem(status);
    }
    // couriers and a centre outside the chain see nothing
    app.get(&format!("/api/v1/parts-requests/{id}"), Some("courier-1")).await.problem(403);
});

both!(routing_goes_to_hq_only_when_the_tier_allows, |app| async {
    let part = app.part().stock_at("HQ", 10).create().await;
    // RC-HZ is empty: tier A is served from HQ
    let a = request(&app, TIER_A, json!([{"part_code": part, "qty": 3}]), json!({})).await;
    assert_eq!(a.ok()["status"], "allocated");
    assert_eq!(allocations(&a.json), vec![("HQ".to_string(), 3, "reserved".to_string())]);
    // tier C may not order from HQ: with no lateral stock it is backordered
    let c = request(&app, TIER_C, json!([{"part_code": part, "qty": 2}]), json!({})).await;
    assert_eq!(c.ok()["status"], "backordered");
    assert!(allocations(&c.json).is_empty());
    assert_eq!(c.json["lines"][0]["backordered"], 2);
    // stock arriving at a configured lateral centre (RC-NB) serves the waiting line from there
    app.set_stock("RC-NB", &part, 1).await;
    let c = app.get(&format!("/api/v1/parts-requests/{}", c.json["id"]), Some("admin")).await;
    assert_eq!(allocations(&c.json), vec![("RC-NB".to_string(), 1, "reserved".to_string())]);
    assert_eq!(c.json["lines"][0]["backordered"], 1);
    // and a new tier C request takes lateral stock directly
    app.set_stock("RC-NB", &part, 3).await;
    let c2 = request(&app, TIER_C, json!([{"part_code": part, "qty": 3}]), json!({})).await;
    assert_eq!(allocations(&c2.json), vec![("RC-NB".to_string(), 1, "reserved".to_string())]);
    assert_eq!(c2.json["lines"][0]["backordered"], 2);
    // a line is split across sources: own centre first, then HQ (the waiting lines are
    // cancelled first, or the new RC-HZ stock would serve them)
    for r in [&c, &c2] {
        app.post(&format!("/api/v1/parts-requests/{}/cancel", r.json["id"]), "admin", json!({})).await.ok();
    }
    app.set_stock("RC-HZ", &part, 2).await;
    let b = request(&app, TIER_B, json!([{"part_code": part, "qty": 5}]), json!({})).await;
    assert_eq!(
        allocations(&b.json),
        vec![("RC-HZ".to_string(), 2, "reserved".to_string()), ("HQ".to_string(), 3, "reserved".to_string())]
    );
    // a requested source outside the allowed ones is refused, and nothing is written
    let before = app.get("/api/v1/parts-requests?limit=500", Some("admin")).await.ok()["items"]
        .as_array()
        .unwrap()
        .len();
    let bad = request(&app, TIER_C, json!([{"part_code": part, "qty": 1}]), json!({"source": "HQ"})).await;
    assert_eq!(bad.problem(422)["type"], "/problems/source_not_allowed");
    assert_eq!(bad.json["field"], "source");
    let unknown =
        request(&app, TIER_C, json!([{"part_code": part, "qty": 1}]), json!({"source": "RC-XX-999"})).await;
    assert_eq!(
        (unknown.problem(422)["type"].as_str(), unknown.json["field"].as_str()),
        (Some("/problems/unknown_source"), Some("source"))
    );
    let after = app.get("/api/v1/parts-requests?limit=500", Some("admin")).await.ok()["items"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(before, after);
    // a requested allowed source is the only one tried
    let only = request(&app, TIER_A, json!([{"part_code": part, "qty": 1}]), json!({"source": "HQ"})).await;
    assert_eq!(allocations(&only.json), vec![("HQ".to_string(), 1, "reserved".to_string())]);
});

both!(a_request_over_the_allowance_waits_for_approval_with_the_exact_excess, |app| async {
    // tier D: 10 000.00 allowance; the demo station holds nothing yet
    let part = app.part().cost("3000.00").stock_at("RC-HZ", 10).create().await;
    let fits = request(&app, TIER_D, json!([{"part_code": part, "qty": 3}]), json!({})).await;
    assert_eq!(fits.ok()["status"], "allocated");
    // 9 000.00 outstanding + 6 000.00 requested = 15 000.00: 5 000.00 over
    let over = request(&app, TIER_D, json!([{"part_code": part, "qty": 2}]), json!({})).await;
    assert_eq!(over.ok()["status"], "pending_approval");
    assert_eq!(over.json["exceeds_by"], "5000.00");
    assert!(allocations(&over.json).is_empty());
    assert_eq!(app.stock("RC-HZ", &part).await, (10, 3, 7));
    let id = over.json["id"].as_i64().unwrap();
    // the station cannot approve its own request; another centre cannot see it
    app.on_request(id, "approve", "station-st-tz-001").await.problem(403);
    // a note is counted in characters: 501 are refused (and nothing changes), 400 Chinese
    // characters (1,200 bytes) are taken
    let approve = format!("/api/v1/parts-requests/{id}/approve");
    app.post(&approve, "warehouse-rc-hz", json!({"note": "备".repeat(501)})).await.problem(422);
    assert_eq!(app.stock("RC-HZ", &part).await, (10, 3, 7));
    let note = "配件到货".repeat(100);
    let ok = app.post(&approve, "warehouse-rc-hz", json!({"note": note})).await;
    assert_eq!(ok.ok()["status"], "allocated");
    assert_eq!(ok.json["decided_by"], "warehouse-rc-hz");
    assert_eq!(allocations(&ok.json), vec![("RC-HZ".to_string(), 2, "reserved".to_string())]);
    // approving twice is a state conflict
    app.on_request(id, "approve", "admin").await.problem(409);
    // a rejected request reserves nothing
    let over2 = request(&app, TIER_D, json!([{"part_code": part, "qty": 1}]), json!({})).await;
    let id2 = over2.json["id"].as_i64().unwrap();
    let rej = app.on_request(id2, "reject", "admin").await;
    assert_eq!(rej.ok()["status"], "rejected");
    assert_eq!(app.stock("RC-HZ", &part).await, (10, 5, 5));
});

both!(backorders_are_filled_urgent_ticket_first_then_tier_then_age, |app| async {
    let part = app.part().fits_demo_unit().create().await;
    // a ticket of the tier D station, its unit one the part fits
    let ticket = app.ticket().at(TIER_D).create().await;
    // three stations wait, oldest first: tier C normal, tier A normal, tier D urgent for a ticket
    let c = request(&app, TIER_C, json!([{"part_code": part, "qty": 1}]), json!({})).await;
    let a = request(&app, TIER_A, json!([{"part_code": part, "qty": 1}]), json!({})).await;
    let d = request(
        &app,
        TIER_D,
        json!([{"part_code": part, "qty": 1}]),
        json!({"urgency": "urgent", "ticket_id": ticket}),
    )
    .await;
    for r in [&c, &a, &d] {
        assert_eq!(r.ok()["status"], "backordered");
    }
    let r = app
        .post(
            "/api/v1/receipts",
            "warehouse-rc-hz",
            json!({"location": "RC-HZ", "reference": "PO-1", "lines": [{"part_code": part, "qty": 2}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let filled: Vec<i64> = r.json["backorders_filled"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["request_id"].as_i64().unwrap())
        .collect();
    assert_eq!(filled, vec![d.json["id"].as_i64().unwrap(), a.json["id"].as_i64().unwrap()]);
    let get = |r: &crate::helpers::Resp| format!("/api/v1/parts-requests/{}", r.json["id"]);
    assert_eq!(app.get(&get(&d), Some("admin")).await.json["status"], "allocated");
    assert_eq!(app.get(&get(&a), Some("admin")).await.json["status"], "allocated");
    assert_eq!(app.get(&get(&c), Some("admin")).await.json["status"], "backordered");
    assert_eq!(app.stock("RC-HZ", &part).await, (2, 2, 0));
});

both!(pick_ship_receive_moves_stock_through_transit, |app| async {
    let part = app.part().stock_at("RC-HZ", 4).create().await;
    let r = app.request().line(&part, 3).send().await;
    let id = r.ok()["id"].as_i64().unwrap();
    let path = |a: &str| format!("/api/v1/parts-requests/{id}/{a}");
    // the station cannot pick; receiving before shipping is a conflict
    app.post(&path("pick"), "station-st-tz-001", json!({})).await.problem(403);
    app.post(&path("receive"), "station-st-tz-001", json!({})).await.problem(409);
    assert_eq!(app.post(&path("pick"), "warehouse-rc-hz", json!({})).await.ok()["status"], "picked");
    app.post(&path("pick"), "warehouse-rc-hz", json!({})).await.problem(409);
    assert_eq!(app.post(&path("ship"), "warehouse-rc-hz", json!({})).await.ok()["status"], "shipped");
    assert_eq!(app.stock("RC-HZ", &part).await, (1, 0, 1));
    app.post(&path("cancel"), "station-st-tz-001", json!({})).await.problem(409);
    // no courier has the shipment yet (it awaits its tender): nothing is received, nothing moves
    let early = app.post(&path("receive"), "station-st-tz-001", json!({})).await;
    assert_eq!(early.problem(409)["type"], "/problems/not_dispatched");
    assert_eq!(early.json["shipment_status"], "awaiting_tender");
    assert_eq!(app.stock("ST-TZ-001", &part).await, (0, 0, 0));
    assert_eq!(app.shipments_of(id, "admin").await[0]["status"], "awaiting_tender");
    app.dispatch(id).await;
    // 2 good, 1 damaged: the damaged unit is quarantined and replaced from RC-HZ's last unit,
    // re-shipped at once
    let rec = app
        .post(
            &path("receive"),
            "station-st-tz-001",
            json!({"lines": [{"line_no": 1, "received_qty": 2, "damaged_qty": 1}]}),
        )
        .await;
    assert_eq!(rec.ok()["request"]["status"], "received_damaged");
    assert_eq!(rec.json["damaged"][0]["damaged_qty"], 1);
    assert_eq!(rec.json["damaged"][0]["replacement"][0]["source"], "RC-HZ");
    assert_eq!(rec.json["damaged"][0]["replacement_shipments"].as_array().unwrap().len(), 1);
    assert_eq!(app.stock("ST-TZ-001", &part).await, (2, 0, 2));
    assert_eq!(app.stock("RC-HZ", &part).await, (0, 0, 0));
    let q = app
        .get(&format!("/api/v1/movements?part_code={part}&reason=damaged_in_transit"), Some("admin"))
        .await;
    assert_eq!(q.ok()["items"][0]["to"], "QUARANTINE");
    // lines sent are at least one: an empty list is not "everything arrived"
    let empty = app.post(&path("receive"), "station-st-tz-001", json!({"lines": []})).await;
    assert_eq!(empty.problem(422)["errors"][0]["field"], "lines", "{}", empty.text);
    assert_eq!(app.stock("ST-TZ-001", &part).await, (2, 0, 2), "nothing moved");
    // the replacement arrives, then the request closes
    let done = app.post(&path("receive"), "station-st-tz-001", json!({})).await;
    assert_eq!(done.ok()["request"]["status"], "received");
    assert_eq!(app.post(&path("close"), "station-st-tz-001", json!({})).await.ok()["status"], "closed");
    assert_eq!(app.stock("ST-TZ-001", &part).await, (3, 0, 3));
    // a receipt whose numbers do not add up is refused
    let bad = app
        .post(&path("receive"), "station-st-tz-001", json!({"lines": [{"line_no": 1, "received_qty": 5}]}))
        .await;
    assert_eq!(bad.status, 409, "{}", bad.text);
});

both!(cancel_releases_every_reservation, |app| async {
    let part = app.part().stock_at("RC-HZ", 2).stock_at("HQ", 2).create().await;
    let r = request(&app, TIER_A, json!([{"part_code": part, "qty": 4}]), json!({})).await;
    let id = r.ok()["id"].as_i64().unwrap();
    app.on_request(id, "pick", "warehouse-rc-hz").await.ok();
    let c = app.on_request(id, "cancel", "admin").await;
    assert_eq!(c.ok()["status"], "cancelled");
    assert_eq!(app.stock("RC-HZ", &part).await, (2, 0, 2));
    assert_eq!(app.stock("HQ", &part).await, (2, 0, 2));
    app.on_request(id, "cancel", "admin").await.problem(409);
});

both!(a_lateral_supplier_picks_its_own_allocation_and_may_not_cancel_or_close_the_request, |app| async {
    // ST-NB-002 (tier C, under RC-NB): RC-NB holds 2, its lateral neighbour RC-HZ supplies 3
    let part = app.part().stock_at("RC-NB", 2).stock_at("RC-HZ", 3).create().await;
    let nb = "ST-NB-002";
    let r = request(&app, nb, json!([{"part_code": part, "qty": 5}]), json!({})).await;
    let id = r.ok()["id"].as_i64().unwrap();
    let sorted = |v: &Value| {
        let mut a = allocations(v);
        a.sort();
        a
    };
    let reserved = vec![
        ("RC-HZ".to_string(), 3, "reserved".to_string()),
        ("RC-NB".to_string(), 2, "reserved".to_string()),
    ];
    assert_eq!(sorted(&r.json), reserved);
    let read = |user: &'static str| {
        let app = &app;
        async move { app.get(&format!("/api/v1/parts-requests/{id}"), Some(user)).await.ok().clone() }
    };
    // RC-HZ sees the request (it supplies part of it) but neither cancels nor closes it
    read("warehouse-rc-hz").await;
    for action in ["cancel", "close"] {
        let refused = app.on_request(id, action, "warehouse-rc-hz").await;
        let p = refused.problem(403);
        assert_eq!(p["type"], "/problems/forbidden");
        assert!(p["detail"].as_str().unwrap().contains("its own allocations"), "{p}");
    }
    // nothing changed: the request, its allocations, both centres' stock
    let after = read("admin").await;
    assert_eq!(after["status"], r.json["status"]);
    assert_eq!(sorted(&after), reserved);
    assert_eq!(after["lines"][0]["backordered"], r.json["lines"][0]["backordered"]);
    assert_eq!(app.stock("RC-HZ", &part).await, (3, 3, 0));
    assert_eq!(app.stock("RC-NB", &part).await, (2, 2, 0));
    // it picks its own allocation and only that one; then it has nothing left to pick
    app.on_request(id, "pick", "warehouse-rc-hz").await.ok();
    let picked = read("admin").await;
    assert_eq!(
        sorted(&picked),
        vec![
            ("RC-HZ".to_string(), 3, "picked".to_string()),
            ("RC-NB".to_string(), 2, "reserved".to_string())
        ]
    );
    let again = app.on_request(id, "pick", "warehouse-rc-hz").await;
    assert_eq!(again.problem(409)["type"], "/problems/nothing_to_pick");
    // the station's own user cancels the whole request: every reservation released
    let own = app.station_user(nb).await;
    assert_eq!(app.on_request(id, "cancel", &own).await.ok()["status"], "cancelled");
    assert_eq!(app.stock("RC-HZ", &part).await, (3, 0, 3));
    assert_eq!(app.stock("RC-NB", &part).await, (2, 0, 2));
    // the station's own centre (RC-NB) cancels another such request
    let r2 = request(&app, nb, json!([{"part_code": part, "qty": 4}]), json!({})).await;
    let id2 = r2.ok()["id"].as_i64().unwrap();
    app.on_request(id2, "cancel", "warehouse-rc-hz").await.problem(403);
    let centre = app.warehouse_user("RC-NB").await;
    assert_eq!(app.on_request(id2, "cancel", &centre).await.ok()["status"], "cancelled");
    assert_eq!(app.stock("RC-HZ", &part).await, (3, 0, 3));
    assert_eq!(app.stock("RC-NB", &part).await, (2, 0, 2));
});

both!(a_wrong_code_is_refused_with_suggestions_and_nothing_is_written, |app| async {
    let part = app.part().stock_at("RC-HZ", 2).create().await;
    let typo: String = part.chars().enumerate().filter(|(i, _)| *i != 8).map(|(_, c)| c).collect();
    let r = app.request().line(&typo, 1).send().await;
    let p = r.problem(422);
    assert_eq!(p["suggestions"][0], part.as_str(), "{}", r.text);
    assert_eq!(app.stock("RC-HZ", &part).await, (2, 0, 2));
    let bad = app.request().line(&part, 0).send().await;
    assert_eq!(bad.problem(422)["errors"][0]["field"], "lines[0].qty");
    app.post("/api/v1/parts-requests", "station-st-tz-001", json!({"lines": []})).await.problem(422);
});

/// A phased-out part (cost 11.00) superseded one way by `new`; returns its code.
async fn superseded_by(app: &TestApp, new: &str) -> String {
    let old = app
        .post(
            "/api/v1/parts",
            "admin",
            json!({"line": "RF", "family": "TST", "name": "Old part", "unit_of_measure": "pcs", "unit_cost": "11.00",
                   "sale_price": "11.00", "serialized": false, "core_returnable": false, "weight_grams": 250,
                   "lifecycle": "phase_out", "superseded_by": new, "interchangeability": "one_way"}),
        )
        .await;
    old.ok()["code"].as_str().unwrap().to_string()
}

both!(a_superseded_part_is_served_by_its_successor, |app| async {
    let new = app.part().cost("12.00").create().await;
    let old = superseded_by(&app, &new).await;
    app.set_stock("RC-HZ", &new, 3).await;
    let r = app.request().line(&old, 1).send().await;
    let line = &r.ok()["lines"][0];
    assert_eq!(line["requested_code"], old.as_str());
    assert_eq!(line["part_code"], new.as_str());
    assert_eq!(line["substituted"], true);
    assert_eq!(app.stock("RC-HZ", &new).await, (3, 1, 2));
});

both!(one_idempotency_key_creates_one_request_under_20_concurrent_retries, |app| async {
    let part = app.part().stock_at("RC-HZ", 50).create().await;
    let token = app.token("station-st-tz-001").await;
    let body = json!({"lines": [{"part_code": part, "qty": 1}]});
    let sends = (0..20).map(|_| {
        app.client
            .post(format!("{}/api/v1/parts-requests", app.base))
            .bearer_auth(&token)
            .header("Idempotency-Key", "order-7f3a")
            .json(&body)
            .send()
    });
    let answers = futures_util::future::join_all(sends).await;
    let mut bodies = Vec::new();
    for a in answers {
        let r = crate::helpers::into_resp(a.unwrap()).await;
        assert_eq!(r.status, 201, "{}", r.text);
        bodies.push(r.json.clone());
    }
    // every retry gets the first answer, whole
    bodies.dedup();
    assert_eq!(bodies.len(), 1, "one request for one key: {bodies:#?}");
    let first = bodies.remove(0);
    assert_eq!(app.stock("RC-HZ", &part).await, (50, 1, 49));
    let send = |user_token: String, key: &'static str| {
        app.client
            .post(format!("{}/api/v1/parts-requests", app.base))
            .bearer_auth(user_token)
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
    };
    // still the first answer once the request moved on (cancelled), and nothing done again
    let id = first["id"].as_i64().unwrap();
    app.on_request(id, "cancel", "station-st-tz-001").await.ok();
    let late = crate::helpers::into_resp(send(token.clone(), "order-7f3a").await.unwrap()).await;
    assert_eq!((late.status, &late.json), (201, &first));
    assert_eq!(app.stock("RC-HZ", &part).await, (50, 0, 50));
    // a key is the user's own: another station's same key makes that station's request
    let other_station = app.station_user("ST-HZ-001").await;
    let theirs =
        crate::helpers::into_resp(send(app.token(&other_station).await, "order-7f3a").await.unwrap()).await;
    assert_eq!((theirs.status, theirs.json["station"].as_str()), (201, Some("ST-HZ-001")), "{}", theirs.text);
    assert_ne!(theirs.json["id"], first["id"]);
    // two keys on one request: refused, not one of them taken
    let two = app
        .client
        .post(format!("{}/api/v1/parts-requests", app.base))
        .bearer_auth(&token)
        .header("Idempotency-Key", "order-a1")
        .header("Idempotency-Key", "order-a2")
        .json(&body)
        .send()
        .await
        .unwrap();
    let two = crate::helpers::into_resp(two).await;
    assert_eq!(two.problem(400)["type"], "/problems/invalid_header", "{}", two.text);
    assert_eq!(app.stock("RC-HZ", &part).await, (50, 1, 49));
    // the same key with another body is refused
    let other = app
        .client
        .post(format!("{}/api/v1/parts-requests", app.base))
        .bearer_auth(&token)
        .header("Idempotency-Key", "order-7f3a")
        .json(&json!({"lines": [{"part_code": part, "qty": 2}]}))
        .send()
        .await
        .unwrap();
    crate::helpers::into_resp(other).await.problem(422);
});

both!(sixty_four_concurrent_requests_for_ten_units_promise_exactly_ten, |app| async {
    let part = app.part().stock_at("RC-HZ", 10).create().await;
    let token = app.token("admin").await;
    let stations = crate::helpers::RC_HZ_STATIONS;
    let sends = (0..64).map(|i| {
        app.client
            .post(format!("{}/api/v1/parts-requests", app.base))
            .bearer_auth(&token)
            .json(&json!({"station": stations[i % stations.len()], "lines": [{"part_code": part, "qty": 1}]}))
            .send()
    });
    let mut from_hz = 0;
    let mut elsewhere_or_waiting = 0;
    for a in futures_util::future::join_all(sends).await {
        let r = crate::helpers::into_resp(a.unwrap()).await;
        assert_eq!(r.status, 201, "{}", r.text);
        let alloc = allocations(&r.json);
        if alloc.iter().any(|(s, _, _)| s == "RC-HZ") {
            from_hz += 1;
        } else {
            elsewhere_or_waiting += 1;
        }
    }
    assert_eq!(from_hz, 10);
    assert_eq!(elsewhere_or_waiting, 54);
    assert_eq!(app.stock("RC-HZ", &part).await, (10, 10, 0));
});

both!(the_answer_to_a_request_is_what_reading_it_back_shows, |app| async {
    // the POST answer is rendered from what the transaction wrote; it must match a fresh read:
    // lines out of part order, a split over two sources with a backorder, a successor
    let split = app.part().create().await;
    let new = app.part().cost("12.00").create().await;
    let old = superseded_by(&app, &new).await;
    app.set_stock("RC-HZ", &split, 2).await;
    app.set_stock("HQ", &split, 1).await;
    app.set_stock("RC-HZ", &new, 3).await;
    let lines = json!([{"part_code": old, "qty": 1}, {"part_code": split, "qty": 5}]);
    let r = request(&app, TIER_B, lines, json!({"urgency": "urgent"})).await;
    let posted = r.ok().clone();
    assert_eq!(posted["status"], "backordered");
    assert_eq!(posted["lines"][0]["part_code"], new.as_str());
    assert_eq!(posted["lines"][0]["substituted"], true);
    assert_eq!(posted["lines"][1]["backordered"], 2);
    assert_eq!(
        allocations(&posted),
        vec![
            ("RC-HZ".to_string(), 1, "reserved".to_string()),
            ("RC-HZ".to_string(), 2, "reserved".to_string()),
            ("HQ".to_string(), 1, "reserved".to_string()),
        ]
    );
    let id = posted["id"].as_i64().unwrap();
    let read = app.get(&format!("/api/v1/parts-requests/{id}"), Some("admin")).await;
    assert_eq!(read.ok(), &posted);
    // a named source, and a request left waiting for approval
    let r = request(&app, TIER_A, json!([{"part_code": new, "qty": 1}]), json!({"source": "RC-HZ"})).await;
    let posted = r.ok().clone();
    assert_eq!(posted["source"], "RC-HZ");
    let read = app.get(&format!("/api/v1/parts-requests/{}", posted["id"]), Some("admin")).await;
    assert_eq!(read.ok(), &posted);
    let r = request(&app, TIER_D, json!([{"part_code": split, "qty": 100000}]), json!({})).await;
    let posted = r.ok().clone();
    assert_eq!(posted["status"], "pending_approval");
    let read = app.get(&format!("/api/v1/parts-requests/{}", posted["id"]), Some("admin")).await;
    assert_eq!(read.ok(), &posted);
    // a free part (nothing to add to the station's outstanding value) beside a part with no
    // stock anywhere: one line reserved, one wholly backordered
    let free = app.part().cost("0.00").create().await;
    let none = app.part().cost("3.00").create().await;
    app.set_stock("RC-HZ", &free, 4).await;
    let lines = json!([{"part_code": free, "qty": 2}, {"part_code": none, "qty": 1}]);
    let r = request(&app, TIER_B, lines, json!({})).await;
    let posted = r.ok().clone();
    assert_eq!((posted["status"].as_str(), posted["value"].as_str()), (Some("backordered"), Some("3.00")));
    assert_eq!(allocations(&posted), vec![("RC-HZ".to_string(), 2, "reserved".to_string())]);
    let read = app.get(&format!("/api/v1/parts-requests/{}", posted["id"]), Some("admin")).await;
    assert_eq!(read.ok(), &posted);
    let r = request(&app, TIER_B, json!([{"part_code": free, "qty": 1}]), json!({})).await;
    let posted = r.ok().clone();
    assert_eq!((posted["status"].as_str(), posted["value"].as_str()), (Some("allocated"), Some("0.00")));
    let read = app.get(&format!("/api/v1/parts-requests/{}", posted["id"]), Some("admin")).await;
    assert_eq!(read.ok(), &posted);
});

both!(a_change_to_the_network_reaches_the_very_next_request, |app| async {
    // each process keeps what routes a station's requests; a change to a tier, or a station
    // regraded, must reach the next request all the same
    let part = app.part().stock_at("HQ", 10).create().await;
    let one = json!([{"part_code": part, "qty": 1}]);
    // tier C may not order from HQ: backordered (and its terms now kept)
    let r = request(&app, TIER_C, one.clone(), json!({})).await;
    assert_eq!(r.ok()["status"], "backordered");
    tier_c_from_hq(&app, true).await;
    let r = request(&app, TIER_C, one.clone(), json!({})).await;
    assert_eq!(r.ok()["status"], "allocated", "the tier's new terms are used at once");
    assert_eq!(allocations(&r.json), vec![("HQ".to_string(), 1, "reserved".to_string())]);
    tier_c_from_hq(&app, false).await;
    let r = request(&app, TIER_C, one.clone(), json!({})).await;
    assert_eq!(r.ok()["status"], "backordered");
    // the station regraded to tier A (which may order from HQ), from today
    let regrade = json!({"tier": "A", "reason": "new workshop"});
    app.put(&format!("/api/v1/locations/{TIER_C}/tier"), "admin", regrade).await.ok();
    let r = request(&app, TIER_C, one.clone(), json!({})).await;
    assert_eq!(r.ok()["status"], "allocated", "the station's new tier is used at once");
    assert_eq!(r.json["value"], "10.00");
    // the part's cost changed, then the part superseded: the next request sees each at once
    app.patch(&format!("/api/v1/parts/{part}"), "admin", json!({"unit_cost": "12.50"})).await.ok();
    let r = request(&app, TIER_C, one.clone(), json!({})).await;
    assert_eq!(r.ok()["value"], "12.50", "the part's new cost is used at once");
    let successor = app.part().cost("20.00").stock_at("HQ", 5).create().await;
    let supersede =
        json!({"lifecycle": "phase_out", "superseded_by": successor, "interchangeability": "one_way"});
    app.patch(&format!("/api/v1/parts/{part}"), "admin", supersede).await.ok();
    let r = request(&app, TIER_C, one, json!({})).await;
    assert_eq!(r.ok()["lines"][0]["part_code"], successor.as_str(), "served by the new successor at once");
    assert_eq!(r.json["value"], "20.00");
});

/// Tier C's terms as they are, but whether it may order from HQ.
async fn tier_c_from_hq(app: &TestApp, from_hq: bool) {
    let tiers = app.get("/api/v1/tiers", Some("admin")).await.ok().clone();
    let mut c = tiers.as_array().unwrap().iter().find(|t| t["tier"] == "C").unwrap().clone();
    let c = c.as_object_mut().unwrap();
    c.remove("tier");
    c.insert("may_order_from_hq".into(), json!(from_hq));
    app.put("/api/v1/tiers/C", "admin", json!(c)).await.ok();
}

both!(a_warehouse_lists_what_it_must_pick_by_source, |app| async {
    let part = app.part().stock_at("RC-NB", 1).stock_at("RC-HZ", 5).create().await;
    // ST-NB-002's request takes RC-NB's one unit and two of RC-HZ's (lateral); ST-TZ-001's one
    let lateral = app.request().station("ST-NB-002").line(&part, 3).create().await;
    let own = app.request().line(&part, 1).create().await;
    let ids = |r: &Value| -> Vec<i64> {
        r["items"].as_array().unwrap().iter().map(|i| i["id"].as_i64().unwrap()).collect()
    };
    let pick = app.get("/api/v1/parts-requests?source=RC-HZ&status=allocated", Some("warehouse-rc-hz")).await;
    let mut got = ids(pick.ok());
    got.sort();
    assert_eq!(got, vec![lateral, own]);
    let nb = app.get("/api/v1/parts-requests?source=RC-NB", Some("admin")).await;
    assert_eq!(ids(nb.ok()), vec![lateral]);
    // a station sees its own requests only, whatever the source
    let st = app.get("/api/v1/parts-requests?source=RC-HZ", Some("station-st-tz-001")).await;
    assert_eq!(ids(st.ok()), vec![own]);
    // an unknown location and one the caller does not see are answered alike
    let unknown = app.get("/api/v1/parts-requests?source=ST-XX-999", Some("station-st-tz-001")).await;
    let unseen = app.get("/api/v1/parts-requests?source=ST-HZ-001", Some("station-st-tz-001")).await;
    assert_eq!(unknown.problem(404)["type"], unseen.problem(404)["type"]);
});

both!(stock_rows_name_their_part, |app| async {
    let part = app.part().stock_at("RC-HZ", 3).create().await;
    let name = app.get(&format!("/api/v1/parts/{part}"), Some("admin")).await.ok()["name"].clone();
    let stock =
        app.get(&format!("/api/v1/stock?location=RC-HZ&part_code={part}"), Some("warehouse-rc-hz")).await;
    let row = &stock.ok()["items"][0];
    assert_eq!((&row["part_code"], &row["part_name"]), (&json!(part), &name), "{row}");
    assert!(name.as_str().is_some_and(|n| !n.is_empty()));
});

both!(each_source_ships_its_own_part_of_a_request_whatever_the_other_has_done, |app| async {
    // five units for a tier C station: two from its own centre, three from the lateral one
    let part = app.part().stock_at("RC-HZ", 2).stock_at("RC-NB", 3).create().await;
    let r = request(&app, TIER_C, json!([{"part_code": part, "qty": 5}]), json!({})).await;
    assert_eq!(
        allocations(&r.json),
        vec![
            ("RC-HZ".to_string(), 2, "reserved".to_string()),
            ("RC-NB".to_string(), 3, "reserved".to_string())
        ]
    );
    let id = r.json["id"].as_i64().unwrap();
    let ningbo = app.warehouse_user("RC-NB").await;
    // the own centre picks its two and leaves them on the bench; Ningbo ships its three at once
    app.on_request(id, "pick", "warehouse-rc-hz").await.ok();
    let nb = app.on_request(id, "ship", &ningbo).await;
    assert_eq!(nb.status, 200, "{}", nb.text);
    // and the own centre ships what it picked
    app.on_request(id, "ship", "warehouse-rc-hz").await.ok();
    let shipments = app.shipments_of(id, "admin").await;
    let mut from: Vec<&str> = shipments.iter().map(|s| s["origin"].as_str().unwrap_or("?")).collect();
    from.sort();
    assert_eq!(from, ["RC-HZ", "RC-NB"], "{shipments:?}");
    // nothing of Ningbo's is left to ship: a second ship is refused and changes nothing
    app.on_request(id, "ship", &ningbo).await.problem(409);
    assert_eq!(app.shipments_of(id, "admin").await.len(), 2);
});

both!(stock_a_cancelled_request_releases_serves_the_lines_waiting_for_it, |app| async {
    let part = app.part().stock_at("RC-HZ", 2).create().await;
    let first = request(&app, TIER_B, json!([{"part_code": part, "qty": 2}]), json!({})).await;
    assert_eq!(first.ok()["status"], "allocated");
    // nothing left at RC-HZ (nor at HQ): a tier C station's line waits, then a tier A one
    let c = request(&app, TIER_C, json!([{"part_code": part, "qty": 1}]), json!({})).await;
    assert_eq!(c.ok()["status"], "backordered");
    let a = request(&app, TIER_A, json!([{"part_code": part, "qty": 2}]), json!({})).await;
    assert_eq!(a.ok()["status"], "backordered");
    // the first request cancelled: its two units serve the waiting lines in fill order (tier
    // priority before age), as stock arriving would, in the same transaction
    app.post(&format!("/api/v1/parts-requests/{}/cancel", first.json["id"]), "station-st-tz-001", json!({}))
        .await
        .ok();
    let a = app.get(&format!("/api/v1/parts-requests/{}", a.json["id"]), Some("admin")).await;
    assert_eq!(a.ok()["status"], "allocated", "{}", a.text);
    assert_eq!(allocations(&a.json), vec![("RC-HZ".to_string(), 2, "reserved".to_string())]);
    assert_eq!(a.json["lines"][0]["backordered"], 0);
    let c = app.get(&format!("/api/v1/parts-requests/{}", c.json["id"]), Some("admin")).await;
    assert_eq!(c.ok()["status"], "backordered", "tier A came first: {}", c.text);
    assert_eq!(c.json["lines"][0]["backordered"], 1);
    // a cancelled backorder releases nothing and serves nobody; the audit (at the end) is clean
    app.post(&format!("/api/v1/parts-requests/{}/cancel", c.json["id"]), "admin", json!({})).await.ok();
    let a = app.get(&format!("/api/v1/parts-requests/{}", a.json["id"]), Some("admin")).await;
    assert_eq!(allocations(&a.json), vec![("RC-HZ".to_string(), 2, "reserved".to_string())]);
});

both!(a_centre_that_is_no_configured_lateral_neighbour_never_serves, |app| async {
    // RC-HZ's lateral neighbours are RC-NB and RC-SH; RC-BJ is none of them
    let part = app.part().stock_at("RC-BJ", 10).create().await;
    let c = request(&app, TIER_C, json!([{"part_code": part, "qty": 2}]), json!({})).await;
    assert_eq!(
        (c.ok()["status"].as_str(), c.json["lines"][0]["backordered"].as_i64()),
        (Some("backordered"), Some(2))
    );
    assert!(allocations(&c.json).is_empty(), "{}", c.text);
    // nor when the station names it
    let named =
        request(&app, TIER_C, json!([{"part_code": part, "qty": 1}]), json!({"source": "RC-BJ"})).await;
    assert_eq!(
        (named.problem(422)["type"].as_str(), named.json["field"].as_str()),
        (Some("/problems/source_not_allowed"), Some("source"))
    );
    assert_eq!(app.stock("RC-BJ", &part).await, (10, 0, 10), "RC-BJ's stock untouched");
    // a configured neighbour's stock serves the same station
    app.set_stock("RC-SH", &part, 1).await;
    let served = app.get(&format!("/api/v1/parts-requests/{}", c.json["id"]), Some("admin")).await;
    assert_eq!(allocations(&served.json), vec![("RC-SH".to_string(), 1, "reserved".to_string())]);
});

/// Each row a query gives, as the text of its one column `t`.
async fn texts(app: &TestApp, sql: String) -> Vec<String> {
    app.state
        .db
        .primary(move |conn| {
            #[derive(diesel::QueryableByName)]
            struct T {
                #[diesel(sql_type = diesel::sql_types::Text)]
                t: String,
            }
            use diesel::RunQueryDsl;
            let rows: Vec<T> = echelon::on_backend!(conn, |c| diesel::sql_query(sql.as_str()).load(c))?;
            Ok(rows.into_iter().map(|r| r.t).collect())
        })
        .await
        .unwrap()
}

/// What a request wrote, without its ids and times: the request, its lines, its allocations,
/// its events (the payload's id taken out) and, for each event, the subscriptions given a
/// delivery.
async fn written(app: &TestApp, id: i64) -> Vec<String> {
    let c = |col: &str| format!("CAST({col} AS TEXT)");
    let join = |cols: &[&str]| cols.iter().map(|x| c(x)).collect::<Vec<_>>().join(" || '|' || ");
    let mut out = Vec::new();
    let request = join(&[
        "station_id",
        "urgency",
        "status",
        "COALESCE(source_id, 0)",
        "value_minor",
        "COALESCE(exceeds_by_minor, 0)",
        "requested_by",
        "outstanding_minor",
    ]);
    out.extend(texts(app, format!("SELECT {request} AS t FROM parts_requests WHERE id = {id}")).await);
    let line = join(&[
        "line_no",
        "requested_code",
        "part_id",
        "qty",
        "unit_cost_minor",
        "backordered",
        "first_source_id",
        "first_filled",
        "first_stockout",
        "routed_at IS NOT NULL",
    ]);
    out.extend(
        texts(
            app,
            format!("SELECT {line} AS t FROM parts_request_lines WHERE request_id = {id} ORDER BY id"),
        )
        .await,
    );
    let allocation =
        join(&["part_id", "source_id", "qty", "status", "from_backorder", "created_at = updated_at"]);
    out.extend(
        texts(
            app,
            format!("SELECT {allocation} AS t FROM request_allocations WHERE request_id = {id} ORDER BY id"),
        )
        .await,
    );
    let event = join(&[
        "event_type",
        "sequence",
        "station_id",
        "scope_path",
        &format!("REPLACE(payload, '\"id\":{id}', '')"),
    ]);
    let where_ = format!("object_kind = 'parts_request' AND object_id = {id}");
    out.extend(texts(app, format!("SELECT {event} AS t FROM events WHERE {where_} ORDER BY id")).await);
    let deliveries = join(&["d.subscription_id", "d.status", "d.attempts"]);
    out.extend(
        texts(
            app,
            format!(
                "SELECT {deliveries} AS t FROM webhook_deliveries d JOIN events e ON e.id = d.event_id \
                 WHERE e.{where_} ORDER BY d.id"
            ),
        )
        .await,
    );
    out
}

/// An answer without its ids and times.
fn scrubbed(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !(k.as_str() == "id" || k.ends_with("_id") || k.ends_with("_at")))
                .map(|(k, v)| (k.clone(), scrubbed(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(scrubbed).collect()),
        v => v.clone(),
    }
}

/// On PostgreSQL, whether the request's rows and its event were written by one statement (one
/// command of their transaction) rather than one statement after another.
async fn one_command(app: &TestApp, id: i64) -> bool {
    let commands = texts(
        app,
        format!(
            "SELECT CAST(cmin AS TEXT) AS t FROM parts_requests WHERE id = {id} UNION ALL \
             SELECT CAST(cmin AS TEXT) FROM events WHERE object_kind = 'parts_request' AND object_id = {id}"
        ),
    )
    .await;
    assert_eq!(commands.len(), 2, "{commands:?}");
    commands[0] == commands[1]
}

both!(a_one_line_request_in_one_statement_writes_what_its_transaction_writes, |app| async {
    // on PostgreSQL the common request (one line, no ticket, no idempotency key) is one
    // statement outside a transaction; with an idempotency key it is the transaction's
    let part = app.part().stock_at("RC-HZ", 10).create().await;
    let url = "http://127.0.0.1:9/hooks";
    let mut taken = Vec::new();
    let sibling = app.station_user("ST-HZ-001").await;
    for (user, types, takes) in [
        ("admin", vec!["parts_request.allocated"], true),
        ("warehouse-rc-hz", vec!["shipment.delivered", "parts_request.allocated"], true),
        (&format!("station-{}", TIER_B.to_lowercase()), vec!["parts_request.allocated"], true),
        (&sibling, vec!["parts_request.allocated"], false),
        ("admin", vec!["parts_request.backordered", "shipment.delivered"], false),
    ] {
        let r =
            app.post("/api/v1/webhooks/subscriptions", user, json!({"url": url, "event_types": types})).await;
        assert_eq!(r.status, 201, "{}", r.text);
        if takes {
            taken.push(r.json["id"].as_i64().unwrap());
        }
    }
    let body = json!({"station": TIER_B, "lines": [{"part_code": part, "qty": 2}], "urgency": "urgent"});
    let whole = app.post("/api/v1/parts-requests", "admin", body.clone()).await;
    assert_eq!(whole.status, 201, "{}", whole.text);
    let keyed = app
        .client
        .post(format!("{}/api/v1/parts-requests", app.base))
        .bearer_auth(app.token("admin").await)
        .header("Idempotency-Key", "in-a-transaction")
        .json(&body)
        .send()
        .await
        .unwrap();
    let keyed = crate::helpers::into_resp(keyed).await;
    assert_eq!(keyed.status, 201, "{}", keyed.text);
    // the same answer but for ids
    assert_eq!(scrubbed(&whole.json), scrubbed(&keyed.json));
    assert_eq!(whole.json["status"], "allocated");
    assert_eq!(allocations(&whole.json), vec![("RC-HZ".to_string(), 2, "reserved".to_string())]);
    // the same rows, and a delivery for each subscription that takes the event, no other
    let (w, k) = (whole.json["id"].as_i64().unwrap(), keyed.json["id"].as_i64().unwrap());
    assert_eq!(written(&app, w).await, written(&app, k).await);
    let delivered = texts(
        &app,
        format!(
            "SELECT CAST(d.subscription_id AS TEXT) AS t FROM webhook_deliveries d JOIN events e ON e.id = d.event_id \
             WHERE e.object_kind = 'parts_request' AND e.object_id = {w} ORDER BY d.subscription_id"
        ),
    )
    .await;
    assert_eq!(delivered, taken.iter().map(|t| t.to_string()).collect::<Vec<_>>());
    assert_eq!(app.stock("RC-HZ", &part).await, (10, 4, 6));
    if app.backend == echelon::db::Backend::Postgres {
        assert!(one_command(&app, w).await, "the common request is one statement");
        assert!(!one_command(&app, k).await, "a keyed request is its transaction's statements");
    }
});

both!(a_waiting_line_is_filled_once_when_two_sources_free_stock_at_once, |app| async {
    // six requests hold HQ's six units; six more for the same part wait (RC-HZ has none). Then
    // at once: the six HQ requests are cancelled (HQ's units serve the waiting lines) and six
    // single units arrive at RC-HZ (each serves a waiting line): every waiting line is served
    // once, by one source or the other, never by both
    let part = app.part().stock_at("HQ", 6).create().await;
    let mut held = Vec::new();
    for _ in 0..6 {
        let r = app.request().station(TIER_A).line(&part, 1).with("source", json!("HQ")).send().await;
        assert_eq!(r.ok()["status"], "allocated", "{}", r.text);
        held.push(r.json["id"].as_i64().unwrap());
    }
    let mut waiting = Vec::new();
    for _ in 0..6 {
        let r = app.request().station(TIER_A).line(&part, 1).send().await;
        assert_eq!(r.ok()["status"], "backordered", "{}", r.text);
        waiting.push(r.json["id"].as_i64().unwrap());
    }
    let token = app.token("admin").await;
    let post = |path: String, body: Value| {
        app.client.post(format!("{}{path}", app.base)).bearer_auth(&token).json(&body).send()
    };
    let mut calls = Vec::new();
    for (i, id) in held.iter().enumerate() {
        calls.push(post(format!("/api/v1/parts-requests/{id}/cancel"), json!({})));
        let receipt = json!({"location": "RC-HZ", "reference": format!("r{i}"), "lines": [{"part_code": part, "qty": 1}]});
        calls.push(post("/api/v1/receipts".to_string(), receipt));
    }
    for a in futures_util::future::join_all(calls).await {
        let r = crate::helpers::into_resp(a.unwrap()).await;
        assert!(r.status < 300, "{}", r.text);
    }
    // 12 units freed for 6 waiting units: each line has one unit, and 6 stay free
    for id in &waiting {
        let r = app.get(&format!("/api/v1/parts-requests/{id}"), Some("admin")).await;
        let held: i64 = r.ok()["lines"][0]["allocations"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["status"] == "reserved")
            .map(|a| a["qty"].as_i64().unwrap())
            .sum();
        assert_eq!((held, r.json["status"].as_str()), (1, Some("allocated")), "{}", r.text);
    }
    let (hq, rc) = (app.stock("HQ", &part).await, app.stock("RC-HZ", &part).await);
    assert_eq!(hq.1 + rc.1, 6, "reserved: HQ {hq:?}, RC-HZ {rc:?}");
    assert_eq!(hq.0 + rc.0, 12);
});

both!(a_request_over_the_allowance_is_approved_by_another_user_than_the_one_who_raised_it, |app| async {
    let doc = crate::docs::document();
    // tier D: 10 000.00 allowance; 12 000.00 asked by the centre on the station's behalf
    let part = app.part().cost("3000.00").stock_at("RC-HZ", 10).create().await;
    let body = json!({"station": TIER_D, "lines": [{"part_code": part, "qty": 4}]});
    let raised = app.post("/api/v1/parts-requests", "warehouse-rc-hz", body.clone()).await;
    assert_eq!(raised.ok()["status"], "pending_approval");
    let id = raised.json["id"].as_i64().unwrap();
    // its raiser may not approve it: 403, and nothing changes
    let own = app.on_request(id, "approve", "warehouse-rc-hz").await;
    assert_eq!(own.problem(403)["type"], "/problems/own_request", "{}", own.text);
    assert_eq!(own.json["requested_by"], "warehouse-rc-hz");
    crate::docs::documented(&doc, "post", "/api/v1/parts-requests/{id}/approve", &own);
    let still = app.get(&format!("/api/v1/parts-requests/{id}"), Some("admin")).await;
    assert_eq!(
        (still.ok()["status"].as_str(), still.json["decided_by"].as_str()),
        (Some("pending_approval"), None)
    );
    assert_eq!(app.stock("RC-HZ", &part).await, (10, 0, 10));
    // another user of the centre approves it
    let colleague = "warehouse-rc-hz-2";
    let user = json!({"username": colleague, "role": "warehouse", "location": "RC-HZ",
        "password": crate::helpers::PASSWORD});
    assert_eq!(app.post("/api/v1/users", "admin", user).await.status, 201);
    let ok = app.on_request(id, "approve", colleague).await;
    assert_eq!(
        (ok.ok()["status"].as_str(), ok.json["decided_by"].as_str()),
        (Some("allocated"), Some(colleague))
    );
    assert_eq!(app.stock("RC-HZ", &part).await, (10, 4, 6));
    // admin too is held to it; its raiser may reject (withdraw) its own
    let mine = app.post("/api/v1/parts-requests", "admin", body.clone()).await;
    let mine = mine.ok()["id"].as_i64().unwrap();
    let r = app.on_request(mine, "approve", "admin").await;
    assert_eq!(r.problem(403)["type"], "/problems/own_request");
    assert_eq!(app.on_request(mine, "approve", "warehouse-rc-hz").await.ok()["status"], "allocated");
    let withdrawn = app.post("/api/v1/parts-requests", "warehouse-rc-hz", body).await;
    let withdrawn = withdrawn.ok()["id"].as_i64().unwrap();
    assert_eq!(app.on_request(withdrawn, "reject", "warehouse-rc-hz").await.ok()["status"], "rejected");
    assert_eq!(app.stock("RC-HZ", &part).await, (10, 8, 2));
});

/// How many parts requests the server wrote in one round trip (its `/metrics`).
async fn one_trips(app: &TestApp) -> i64 {
    crate::replica::metric(app, "echelon_parts_requests_one_round_trip_total").await.map_or(0, |n| n as i64)
}

/// A station's running value (`outstanding`) as committed.
async fn station_value(app: &TestApp, code: &'static str) -> i64 {
    app.state
        .db
        .read(move |c| {
            use diesel::prelude::*;
            use echelon::db::schema::locations;
            let id: i64 = echelon::on_backend!(c, |c| locations::table
                .filter(locations::code.eq(code))
                .select(locations::id)
                .first(c))?;
            Ok(echelon::outstanding::stored(c, id)?)
        })
        .await
        .unwrap()
}

both!(a_request_planned_from_the_kept_station_is_written_only_while_what_it_kept_holds, |app| async {
    // on PostgreSQL a station's common request is planned from the station as the process
    // read it for the one before, and written in one round trip by a statement that checks
    // what that copy assumed: the user as the token says, the station active with the same loan
    // lines open, the master data unchanged; the booking checks the allowance on the value as it is
    let pg = app.backend == echelon::db::Backend::Postgres;
    let user = "station-st-tz-001";
    let part = app.part().cost("10.00").stock_at("RC-HZ", 50).create().await;
    let ask = || app.post("/api/v1/parts-requests", user, json!({"lines": [{"part_code": part, "qty": 1}]}));
    let first = ask().await;
    assert_eq!(first.ok()["status"], "allocated", "{}", first.text);
    let before = one_trips(&app).await;
    let kept = ask().await;
    assert_eq!(kept.ok()["status"], "allocated", "{}", kept.text);
    assert_eq!(one_trips(&app).await, before + i64::from(pg), "one round trip on PostgreSQL");
    // the same answer and rows as the request that read the station
    assert_eq!(scrubbed(&first.json), scrubbed(&kept.json));
    let (f, k) = (first.json["id"].as_i64().unwrap(), kept.json["id"].as_i64().unwrap());
    assert_eq!(written(&app, f).await, written(&app, k).await);

    // the user disabled: 401, nothing written; enabled again (a new version), a new token
    let requests = || app.count("SELECT COUNT(*) AS n FROM parts_requests");
    let n = requests().await;
    app.patch(&format!("/api/v1/users/{user}"), "admin", json!({"active": false})).await.ok();
    assert_eq!(ask().await.status, 401);
    app.patch(&format!("/api/v1/users/{user}"), "admin", json!({"active": true})).await.ok();
    assert_eq!(ask().await.status, 401, "the old token's version is gone");
    app.forget_token(user);
    assert_eq!(requests().await, n, "nothing written");

    // the station closed: 409, nothing written; open again, it requests again
    app.set_active(TIER_B, false).await;
    assert_eq!(ask().await.problem(409)["type"], "/problems/location_inactive");
    assert_eq!(requests().await, n, "nothing written");
    app.set_active(TIER_B, true).await;
    for _ in 0..2 {
        assert_eq!(ask().await.ok()["status"], "allocated");
    }

    // room for two more requests of 10.00: the kept value is older than the one the booking
    // finds, and the request over the allowance waits for approval, exceeding it by 10.00
    let value = station_value(&app, TIER_B).await + 2000;
    let tiers = app.get("/api/v1/tiers", Some("admin")).await.ok().clone();
    let mut b = tiers.as_array().unwrap().iter().find(|t| t["tier"] == "B").unwrap().clone();
    let b = b.as_object_mut().unwrap();
    b.remove("tier");
    b.insert("credit_allowance".into(), json!(format!("{}.{:02}", value / 100, value % 100)));
    app.put("/api/v1/tiers/B", "admin", json!(b)).await.ok();
    let trips = one_trips(&app).await;
    for _ in 0..2 {
        assert_eq!(ask().await.ok()["status"], "allocated");
    }
    assert_eq!(one_trips(&app).await, trips + i64::from(pg), "the first read the new terms");
    let over = ask().await;
    assert_eq!(over.ok()["status"], "pending_approval", "{}", over.text);
    assert_eq!(over.json["exceeds_by"], "10.00", "{}", over.text);
    assert_eq!(station_value(&app, TIER_B).await, value, "booked up to the allowance, not past it");
    assert_eq!(one_trips(&app).await, trips + i64::from(pg));

    // an open loan line at the station: the copy keeps the station's open lines (what of them
    // is overdue counts at each request's time: `loans::an_overdue_loan_counts_against_the_
    // allowance`), and the statement writes only while those are the open ones
    let ticket = app.ticket().at(TIER_B).on_site().dispatched_to("tech-st-tz-001").create().await;
    app.receipt(TIER_B).serials(crate::tickets::CMP, &["NEWCMP0700"]).create().await;
    app.loan().ticket(ticket).serials(crate::tickets::CMP, &["NEWCMP0700"]).send().await.ok();
    // (a new part is new master data: made before the station is read again)
    let spare = app.part().cost("5.00").fits_demo_unit().stock_at(TIER_B, 1).create().await;
    let trips = one_trips(&app).await;
    let mut raised = b.clone();
    raised.insert("credit_allowance".into(), json!("900000000.00"));
    app.put("/api/v1/tiers/B", "admin", json!(raised)).await.ok();
    for _ in 0..3 {
        assert_eq!(ask().await.ok()["status"], "allocated");
    }
    assert_eq!(one_trips(&app).await, trips + 2 * i64::from(pg), "read once, then kept with its open line");
    // another line lent: the open lines are not the kept ones, so nothing is written in one
    // round trip until the station is read again
    app.loan().ticket(ticket).line(&spare, 1).send().await.ok();
    let trips = one_trips(&app).await;
    let n = requests().await;
    for _ in 0..3 {
        assert_eq!(ask().await.ok()["status"], "allocated");
    }
    assert_eq!(requests().await, n + 3, "each written once");
    assert_eq!(one_trips(&app).await, trips + 2 * i64::from(pg), "the first read the new line");

    // no subscription active: the statement writes no deliveries; one subscribed meanwhile
    // (the master data revised), every request after it has its delivery, in one round trip
    // again from the second on; paused, none again
    let deliveries = |id: i64| {
        texts(
            &app,
            format!(
                "SELECT CAST(d.id AS TEXT) AS t FROM webhook_deliveries d JOIN events e ON e.id = d.event_id \
                 WHERE e.object_kind = 'parts_request' AND e.object_id = {id}"
            ),
        )
    };
    let quiet = ask().await.ok()["id"].as_i64().unwrap();
    assert!(deliveries(quiet).await.is_empty());
    let hook = json!({"url": "http://127.0.0.1:9/hooks", "event_types": ["parts_request.allocated"]});
    let sub = app.post("/api/v1/webhooks/subscriptions", user, hook).await;
    assert_eq!(sub.status, 201, "{}", sub.text);
    let trips = one_trips(&app).await;
    for _ in 0..3 {
        let id = ask().await.ok()["id"].as_i64().unwrap();
        assert_eq!(deliveries(id).await.len(), 1, "request {id} has its delivery");
    }
    assert_eq!(one_trips(&app).await, trips + 2 * i64::from(pg), "the first read the subscription");
    let path = format!("/api/v1/webhooks/subscriptions/{}", sub.json["id"]);
    app.patch(&path, user, json!({"active": false})).await.ok();
    let trips = one_trips(&app).await;
    for _ in 0..3 {
        let id = ask().await.ok()["id"].as_i64().unwrap();
        assert!(deliveries(id).await.is_empty(), "request {id}: its subscription is paused");
    }
    assert_eq!(one_trips(&app).await, trips + 2 * i64::from(pg), "the first read the pause");
});
