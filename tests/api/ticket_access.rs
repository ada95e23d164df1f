//! Tickets seen from outside a ticket's own people: scoping (out of scope is 404) and bad
//! input (always a clear problem, never a 500).

use serde_json::json;

use crate::both;
use crate::tickets::{act, dispatch_to, intake, ticket, CMP, UNIT};

both!(a_technician_cannot_read_another_stations_ticket, |app| async {
    app.technician("tech-st-hz-001", "ST-HZ-001").await;
    app.technician("tech2-st-tz-001", "ST-TZ-001").await;
    let tz = app
        .ticket()
        .taken_in_by("station-st-tz-001")
        .dispatched_by("station-st-tz-001", "tech-st-tz-001")
        .create()
        .await;
    let hz = app.ticket().at("ST-HZ-001").dispatched_to("tech-st-hz-001").create().await;

    // station B's technician: station A's ticket does not exist for it
    let r = app.get(&format!("/api/v1/tickets/{tz}"), Some("tech-st-hz-001")).await;
    r.problem(404);
    assert!(!r.text.contains("Wang Fang"));
    act(&app, tz, "arrive", "tech-st-hz-001", json!({})).await.problem(404);
    app.get(&format!("/api/v1/tickets/{hz}"), Some("tech-st-hz-001")).await.ok();
    // and the other way round, for technicians and stations
    app.get(&format!("/api/v1/tickets/{hz}"), Some("tech-st-tz-001")).await.problem(404);
    app.get(&format!("/api/v1/tickets/{hz}"), Some("station-st-tz-001")).await.problem(404);
    act(&app, hz, "close", "station-st-tz-001", json!({})).await.problem(404);
    // a technician sees the tickets assigned to it, not all of its station's
    app.get(&format!("/api/v1/tickets/{tz}"), Some("tech2-st-tz-001")).await.problem(404);
    let mine = app.get("/api/v1/tickets", Some("tech-st-hz-001")).await;
    let ids: Vec<i64> =
        mine.ok()["items"].as_array().unwrap().iter().map(|t| t["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, vec![hz]);
    let theirs = app.get("/api/v1/tickets", Some("station-st-tz-001")).await;
    assert!(theirs.ok()["items"].as_array().unwrap().iter().all(|t| t["station"] == "ST-TZ-001"));
    app.get("/api/v1/tickets?station=ST-HZ-001", Some("station-st-tz-001")).await.problem(404);
    // a station takes in and dispatches for itself only: another station is out of its sight,
    // answered as a code that names no station; its own centre, which it sees, is 403
    for other in ["ST-HZ-001", "ST-XX-999"] {
        let r = app
            .post("/api/v1/tickets", "station-st-tz-001", ticket(UNIT, None, "repair", "normal", Some(other)))
            .await;
        assert_eq!(r.problem(422)["type"], "/problems/unknown_station", "{}", r.text);
        assert_eq!(r.json["field"], "station");
        let r = act(&app, tz, "dispatch", "station-st-tz-001", dispatch_to(other, "tech-st-hz-001")).await;
        assert_eq!(r.problem(422)["type"], "/problems/unknown_station", "{}", r.text);
    }
    app.post("/api/v1/tickets", "station-st-tz-001", ticket(UNIT, None, "repair", "normal", Some("RC-HZ")))
        .await
        .problem(403);
    act(&app, tz, "dispatch", "station-st-tz-001", dispatch_to("RC-HZ", "tech-st-hz-001")).await.problem(403);
    app.get("/api/v1/stations/ST-HZ-001/scorecard", Some("station-st-tz-001")).await.problem(404);
});

both!(bad_intakes_are_clear_problems, |app| async {
    // a serial with one digit dropped: 422 with the serial meant
    let r = app.post("/api/v1/tickets", "agent", ticket("RF0000001", None, "repair", "normal", None)).await;
    assert_eq!(r.problem(422)["type"], "/problems/unknown_unit");
    assert!(r.json["suggestions"].as_array().unwrap().iter().any(|s| s == UNIT), "{}", r.text);
    let mut wrong_model = ticket(UNIT, None, "repair", "normal", None);
    wrong_model["model"] = json!("BCD-470WDPG");
    let r = app.post("/api/v1/tickets", "agent", wrong_model).await;
    assert_eq!(r.problem(422)["type"], "/problems/model_mismatch");
    assert_eq!(r.json["model"], "BCD-539WT");
    let mut right_model = ticket(UNIT, Some("CMP"), "repair", "normal", None);
    right_model["model"] = json!("bcd-539wt");
    assert_eq!(app.post("/api/v1/tickets", "agent", right_model).await.status, 201);
    let r = app.post("/api/v1/tickets", "agent", ticket(UNIT, Some("XYZ"), "repair", "normal", None)).await;
    assert_eq!(r.problem(422)["type"], "/problems/unknown_component_family");
    let r = app.post("/api/v1/tickets", "agent", ticket(UNIT, Some("cmp"), "repair", "normal", None)).await;
    assert_eq!(r.problem(422)["errors"][0]["field"], "component_family");
    let r = app.post("/api/v1/tickets", "agent", ticket(UNIT, None, "gossip", "normal", None)).await;
    assert_eq!(r.problem(422)["errors"][0]["field"], "category");
    let mut extra = ticket(UNIT, None, "repair", "normal", None);
    extra["colour"] = json!("white");
    app.post("/api/v1/tickets", "agent", extra).await.problem(422);
    let mut blank = ticket(UNIT, None, "repair", "normal", None);
    blank["customer"]["phone"] = json!("call me");
    assert_eq!(
        app.post("/api/v1/tickets", "agent", blank).await.problem(422)["errors"][0]["field"],
        "customer.phone"
    );
    let r = app.post("/api/v1/tickets", "agent", ticket(UNIT, None, "repair", "normal", Some("RC-HZ"))).await;
    assert_eq!(r.problem(422)["type"], "/problems/unknown_station");
    app.post("/api/v1/tickets", "warehouse-hq", ticket(UNIT, None, "repair", "normal", None))
        .await
        .problem(403);
    let raw = app
        .raw(reqwest::Method::POST, "/api/v1/tickets", Some("agent"), "application/json", b"{".to_vec())
        .await;
    raw.problem(400);
    let r = app
        .raw(
            reqwest::Method::POST,
            "/api/v1/tickets/1/close",
            Some("agent"),
            "application/json",
            b"{\"nope\":1}".to_vec(),
        )
        .await;
    r.problem(422);
    // text PostgreSQL cannot store is refused, not a 500
    let mut nul = ticket(UNIT, None, "repair", "normal", None);
    nul["fault"] = json!("hums\u{0}loudly");
    assert_eq!(app.post("/api/v1/tickets", "agent", nul).await.problem(422)["errors"][0]["field"], "fault");
    // a query parameter is held to its documented limits (no NUL) before any look-up: 422
    let bad = app.get("/api/v1/tickets?station=ST%00", Some("agent")).await.problem(422).clone();
    assert_eq!(bad["errors"][0]["field"], "station", "{bad}");
    app.get("/api/v1/stations/ST%00/scorecard", Some("agent")).await.problem(400);
    app.get("/api/v1/tickets/999999", Some("agent")).await.problem(404);
    app.get("/api/v1/tickets/abc", Some("agent")).await.problem(404);
    app.get("/api/v1/tickets?status=lost", Some("agent")).await.problem(400);
    // the agent may leave the station open; dispatch then needs one
    let id = intake(&app, "agent", ticket(UNIT, Some("CMP"), "repair", "normal", None)).await;
    let r = act(&app, id, "dispatch", "agent", json!({"technician": "tech-st-tz-001"})).await;
    assert_eq!(r.problem(422)["errors"][0]["field"], "station");
    let r = act(
        &app,
        id,
        "dispatch",
        "agent",
        json!({"technician": "tech-st-tz-001", "expected_parts": [{"part_code": CMP, "qty": 0}]}),
    )
    .await;
    assert_eq!(r.problem(422)["errors"][0]["field"], "expected_parts[0].qty");
});

both!(a_technician_reads_the_requests_of_their_own_tickets_only, |app| async {
    let part = app.part().fits_demo_unit().stock_at("RC-HZ", 5).create().await;
    app.technician("tech2-st-tz-001", "ST-TZ-001").await;
    let mine = app.ticket().at("ST-TZ-001").dispatched_to("tech-st-tz-001").create().await;
    let theirs = app.ticket().at("ST-TZ-001").dispatched_to("tech2-st-tz-001").create().await;
    let for_mine = app.request().line(&part, 1).for_ticket(mine).create().await;
    let for_theirs = app.request().line(&part, 1).for_ticket(theirs).create().await;
    let untied = app.request().line(&part, 1).create().await;
    let tech = "tech-st-tz-001";
    app.get(&format!("/api/v1/parts-requests/{for_mine}"), Some(tech)).await.ok();
    for other in [for_theirs, untied] {
        app.get(&format!("/api/v1/parts-requests/{other}"), Some(tech)).await.problem(404);
    }
    let listed = app.get("/api/v1/parts-requests?limit=500", Some(tech)).await;
    let ids: Vec<i64> =
        listed.ok()["items"].as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, vec![for_mine], "only the request of the technician's own ticket");
    // the station sees all three
    let station = app.get("/api/v1/parts-requests?limit=500", Some("station-st-tz-001")).await;
    let all: Vec<i64> =
        station.ok()["items"].as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()).collect();
    for id in [for_mine, for_theirs, untied] {
        assert!(all.contains(&id), "{id} in {all:?}");
    }
    // nor the station's stock or figures
    app.get("/api/v1/stock?location=ST-TZ-001", Some(tech)).await.problem(403);
    app.get("/api/v1/reports/kpis", Some(tech)).await.problem(403);
});
