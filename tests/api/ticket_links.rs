//! Ticket-linked work keeps its promises (issue 21): a ticket named by a parts request or a loan
//! is checked like a path id, every line fits the ticket's unit, a mistyped code is matched
//! against that unit's parts only.

use serde_json::{json, Value};

use crate::both;
use crate::builders::{DEMO_MODEL, TECH};
use crate::helpers::TestApp;
use crate::tickets::{act, CMP};

const STATION: &str = "ST-TZ-001";
/// A compressor of the RF line that fits no BCD-539WT.
const OTHER_CMP: &str = "RF-CMP-001239";

/// The codes of a problem's `compatible_alternatives`.
fn alternatives(problem: &Value) -> Vec<String> {
    problem["compatible_alternatives"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["code"].as_str().unwrap().to_string())
        .collect()
}

/// `n` serialized units of `part` received at `location`, serials `<prefix>0001`...
async fn serials_in(app: &TestApp, location: &str, part: &str, prefix: &str, n: usize) {
    let serials: Vec<String> = (1..=n).map(|i| format!("{prefix}{i:04}")).collect();
    let serials: Vec<&str> = serials.iter().map(String::as_str).collect();
    app.receipt(location).serials(part, &serials).create().await;
}

/// How many parts requests the admin sees.
async fn request_count(app: &TestApp) -> usize {
    let r = app.get("/api/v1/parts-requests?limit=200", Some("admin")).await;
    r.ok()["items"].as_array().unwrap().len()
}

both!(a_ticket_request_and_loan_take_only_parts_that_fit_the_unit, |app| async {
    let t = app.ticket().at(STATION).dispatched_to(TECH).create().await;
    serials_in(&app, "RC-HZ", CMP, "HZCMP", 4).await;
    serials_in(&app, "RC-HZ", OTHER_CMP, "HZOTH", 4).await;
    let requests = request_count(&app).await;
    // the compatible compressor and one that fits another refrigerator: refused, line 1 named
    let r = app.request().line(CMP, 1).line(OTHER_CMP, 1).for_ticket(t).send().await;
    let p = r.problem(422);
    assert_eq!(p["type"], "/problems/incompatible_part");
    assert_eq!((p["line"].as_i64(), p["field"].as_str()), (Some(1), Some("lines[1].part_code")));
    assert_eq!((p["code"].as_str(), p["model"].as_str()), (Some(OTHER_CMP), Some(DEMO_MODEL)));
    assert_eq!(alternatives(p), vec![CMP.to_string()]);
    let alt = &p["compatible_alternatives"][0];
    assert_eq!((alt["available"].as_i64(), alt["source"].as_str()), (Some(4), Some("RC-HZ")));
    assert!(p["detail"].as_str().unwrap().contains(CMP), "{}", p["detail"]);
    // a part that fits no model at all: refused, no alternative of its family
    let loose = app.part().stock_at("RC-HZ", 2).create().await;
    let r = app.request().line(&loose, 1).for_ticket(t).send().await;
    assert_eq!(r.problem(422)["type"], "/problems/incompatible_part");
    assert!(alternatives(&r.json).is_empty());
    // nothing reserved, nothing written
    assert_eq!(app.stock("RC-HZ", CMP).await, (4, 0, 4));
    assert_eq!(app.stock("RC-HZ", OTHER_CMP).await, (4, 0, 4));
    assert_eq!(request_count(&app).await, requests);
    // without a ticket the same part is anyone's to order
    app.request().line(OTHER_CMP, 1).create().await;
    // the compatible part alone: 201
    let ok = app.request().line(CMP, 1).for_ticket(t).send().await;
    assert_eq!(ok.status, 201, "{}", ok.text);
    assert_eq!(ok.json["ticket_id"], t);

    // a loan of the same ticket: the same rule, the alternatives' stock at the station
    app.receipt(STATION).serials(CMP, &["NEWCMP0101"]).create().await;
    serials_in(&app, STATION, OTHER_CMP, "TZOTH", 1).await;
    let bad = app.loan().ticket(t).line(OTHER_CMP, 1).send().await;
    let p = bad.problem(422);
    assert_eq!(p["type"], "/problems/incompatible_part");
    assert_eq!(p["line"], 0);
    assert_eq!(alternatives(p), vec![CMP.to_string()]);
    assert_eq!(p["compatible_alternatives"][0]["source"], STATION);
    assert_eq!(p["compatible_alternatives"][0]["available"], 1);
    assert_eq!(app.stock(STATION, OTHER_CMP).await, (1, 0, 1));
    let lent = app.loan().ticket(t).line(CMP, 1).send().await;
    assert_eq!(lent.status, 201, "{}", lent.text);
    app.audit().await;
});

both!(a_superseded_compatible_part_is_served_by_its_successor_which_fits_too, |app| async {
    let new = app.part().cost("12.00").stock_at("RC-HZ", 5).create().await;
    let old = app
        .post(
            "/api/v1/parts",
            "admin",
            json!({"line": "RF", "family": "TST", "name": "Old part", "unit_of_measure": "pcs", "unit_cost": "11.00",
                   "sale_price": "11.00", "serialized": false, "core_returnable": false, "weight_grams": 250,
                   "lifecycle": "phase_out", "superseded_by": new, "interchangeability": "one_way"}),
        )
        .await
        .ok()["code"]
        .as_str()
        .unwrap()
        .to_string();
    let unrelated = app.part().stock_at("RC-HZ", 5).create().await;
    let shipped = app.state.clock.now().date_naive() - chrono::Duration::days(200);
    // the model's bill lists the old part only
    app.model("BCD-T21").part(&old).unit("RFT21000001", shipped).create().await;
    let t = app.ticket().serial("RFT21000001").at(STATION).create().await;
    let r = app.request().line(&old, 1).for_ticket(t).send().await;
    let line = &r.ok()["lines"][0];
    assert_eq!((line["part_code"].as_str(), line["substituted"].as_bool()), (Some(new.as_str()), Some(true)));
    // the successor itself fits: it stands for the old part
    let r = app.request().line(&new, 1).for_ticket(t).send().await;
    assert_eq!(r.status, 201, "{}", r.text);
    // another part of the family does not; the alternative names what would serve it
    let r = app.request().line(&unrelated, 1).for_ticket(t).send().await;
    let p = r.problem(422);
    assert_eq!(alternatives(p), vec![old.clone()]);
    assert_eq!(p["compatible_alternatives"][0]["served_by"], new.as_str());
    assert_eq!(p["compatible_alternatives"][0]["available"], 3);
    assert_eq!(app.stock("RC-HZ", &unrelated).await, (5, 0, 5));
    app.audit().await;
});

both!(a_mistyped_code_for_a_ticket_is_matched_against_the_units_parts_only, |app| async {
    let t = app.ticket().at(STATION).create().await;
    let bill = app.get(&format!("/api/v1/models/{DEMO_MODEL}/parts"), Some("admin")).await;
    let fits: Vec<String> = bill.ok()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap().to_string())
        .collect();
    assert!(fits.contains(&CMP.to_string()), "{fits:?}");
    // the compressor's code with its last digit wrong
    let typo = "RF-CMP-00131B";
    let free = app.request().line(typo, 1).send().await;
    let free = free.problem(422)["suggestions"].as_array().unwrap().clone();
    assert!(free.iter().any(|s| !fits.contains(&s.as_str().unwrap().to_string())), "{free:?}");
    let r = app.request().line(typo, 1).for_ticket(t).send().await;
    let p = r.problem(422);
    let suggestions: Vec<&str> =
        p["suggestions"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    assert_eq!(suggestions.first(), Some(&CMP), "{suggestions:?}");
    assert!(suggestions.iter().all(|s| fits.contains(&s.to_string())), "{suggestions:?}");
    assert_eq!((p["line"].as_i64(), p["model"].as_str()), (Some(0), Some(DEMO_MODEL)));
    app.audit().await;
});

both!(a_ticket_reference_is_checked_like_a_path_id, |app| async {
    serials_in(&app, "RC-HZ", CMP, "HZCMP", 5).await;
    let other_station = app.station_user("ST-HZ-001").await;
    let mine = app.ticket().at(STATION).create().await;
    let theirs = app.ticket().at("ST-HZ-001").create().await;
    let requests = request_count(&app).await;
    // unknown, and another station's (out of the caller's sight): the same 404
    let unknown = app.request().line(CMP, 1).for_ticket(999_999).send().await;
    let foreign = app.request().line(CMP, 1).for_ticket(theirs).send().await;
    let (unknown, foreign) = (unknown.problem(404), foreign.problem(404));
    assert_eq!(unknown["type"], foreign["type"]);
    assert_eq!(
        unknown["detail"].as_str().unwrap().replace("999999", "?"),
        foreign["detail"].as_str().unwrap().replace(&theirs.to_string(), "?")
    );
    // admin sees every ticket: a request for one station naming another's ticket is 422
    let r = app.request().station("ST-HZ-001").line(CMP, 1).for_ticket(mine).send().await;
    assert_eq!(r.problem(422)["type"], "/problems/ticket_of_another_station");
    // a closed ticket takes no more parts
    let closed = app.ticket().at(STATION).create().await;
    act(&app, closed, "close", "agent", json!({})).await.ok();
    let r = app.request().line(CMP, 1).for_ticket(closed).send().await;
    let p = r.problem(409);
    assert_eq!(
        (p["type"].as_str(), p["current_status"].as_str()),
        (Some("/problems/ticket_takes_no_parts"), Some("closed"))
    );
    // paid work before its quote is accepted neither
    let unpaid = app.ticket().at(STATION).family(Some("GSK")).create().await;
    let r = app.request().line("RF-GSK-00221D", 1).for_ticket(unpaid).send().await;
    assert_eq!(r.problem(409)["type"], "/problems/ticket_takes_no_parts");
    assert_eq!(request_count(&app).await, requests);
    assert_eq!(app.stock("RC-HZ", CMP).await, (5, 0, 5));
    // an open ticket of one's own: parts may be ordered before the first visit
    app.request().line(CMP, 1).for_ticket(mine).create().await;
    // the other station orders for its own ticket
    let r = app.post(
        "/api/v1/parts-requests",
        &other_station,
        json!({"lines": [{"part_code": CMP, "qty": 1}], "ticket_id": theirs}),
    );
    assert_eq!(r.await.status, 201);
    // a loan names its ticket the same way
    let r = app.loan().ticket(999_999).line(CMP, 1).send().await;
    assert_eq!(r.problem(404)["type"], "/problems/not_found");
    let r = app.loan().ticket(theirs).line(CMP, 1).send().await;
    assert_eq!(r.problem(404)["type"], "/problems/not_found");
    let r = app.loan().ticket(closed).line(CMP, 1).send().await;
    assert_eq!(r.problem(409)["type"], "/problems/ticket_takes_no_parts");
    app.audit().await;
});

both!(a_technician_requests_and_borrows_for_their_own_tickets_only, |app| async {
    app.technician("tech-b-tz", STATION).await;
    serials_in(&app, "RC-HZ", CMP, "HZCMP", 5).await;
    app.receipt(STATION).serials(CMP, &["NEWCMP0201"]).create().await;
    let own = app.ticket().at(STATION).dispatched_to(TECH).create().await;
    let colleague = app.ticket().at(STATION).dispatched_to("tech-b-tz").create().await;
    let body = |t: i64| json!({"lines": [{"part_code": CMP, "qty": 1}], "ticket_id": t});
    let r = app.post("/api/v1/parts-requests", TECH, body(own)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["station"], STATION);
    app.post("/api/v1/parts-requests", TECH, body(colleague)).await.problem(404);
    let none =
        app.post("/api/v1/parts-requests", TECH, json!({"lines": [{"part_code": CMP, "qty": 1}]})).await;
    assert_eq!(none.problem(422)["errors"][0]["field"], "ticket_id");
    // borrowing: for themselves, for their own ticket
    let r = app.loan().by(TECH).ticket(colleague).technician("tech-b-tz").line(CMP, 1).send().await;
    r.problem(403);
    let r = app.loan().by(TECH).ticket(colleague).line(CMP, 1).send().await;
    r.problem(404);
    let r = app.loan().by(TECH).ticket(own).line(CMP, 1).send().await;
    assert_eq!(r.status, 201, "{}", r.text);
    app.audit().await;
});

both!(a_foreign_ticket_no_longer_buys_priority_in_the_backorder_queue, |app| async {
    let part = app.part().fits_demo_unit().create().await;
    let hz_ticket = app.ticket().at("ST-HZ-001").create().await;
    // tier A (ST-HZ-001) waits first, normal, for its own ticket
    let a = app.request().station("ST-HZ-001").line(&part, 1).for_ticket(hz_ticket).send().await;
    assert_eq!(a.ok()["status"], "backordered");
    // ST-TZ-001 tries to jump the queue with an urgent request naming the other station's ticket,
    // then an unknown one: refused, nothing queued
    let jump = app.request().urgent().line(&part, 1).for_ticket(hz_ticket).send().await;
    jump.problem(404);
    let jump = app.request().urgent().line(&part, 1).for_ticket(424_242).send().await;
    jump.problem(404);
    let r = app
        .post(
            "/api/v1/receipts",
            "warehouse-rc-hz",
            json!({"location": "RC-HZ", "reference": "PO-21", "lines": [{"part_code": part, "qty": 1}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let filled: Vec<i64> = r.json["backorders_filled"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["request_id"].as_i64().unwrap())
        .collect();
    assert_eq!(filled, vec![a.json["id"].as_i64().unwrap()]);
    app.audit().await;
});

/// The ticket as the agent reads it.
async fn ticket(app: &TestApp, id: i64) -> Value {
    app.get(&format!("/api/v1/tickets/{id}"), Some("agent")).await.ok().clone()
}

both!(a_ticket_waits_for_its_parts_and_shows_them_at_every_step, |app| async {
    serials_in(&app, "RC-HZ", CMP, "HZCMP", 2).await;
    app.set_stock(STATION, "RF-GSK-00221D", 2).await;
    // an urgent complaint: resolved within 48 hours
    let t = app
        .ticket()
        .category("complaint")
        .urgency("urgent")
        .at(STATION)
        .dispatched_to(TECH)
        .on_site()
        .create()
        .await;
    let other = app.request().line(CMP, 1).create().await;
    // the visit finds the compressor missing: it is ordered for the ticket, which waits for it
    let rid = app.request().urgent().line(CMP, 1).for_ticket(t).create().await;
    let r = act(&app, t, "await-parts", TECH, json!({"note": "compressor needed"})).await;
    assert_eq!(r.ok()["status"], "awaiting_parts");
    act(&app, t, "resolve", TECH, json!({"job_type": "repair", "cause": "x"})).await.problem(409);
    let loan = app.loan().ticket(t).line("RF-GSK-00221D", 1).create().await;
    let seen = ticket(&app, t).await;
    assert_eq!(
        seen["parts_requests"],
        json!([{"id": rid, "status": "allocated", "urgency": "urgent",
        "station": STATION, "created_at": seen["parts_requests"][0]["created_at"]}])
    );
    assert_eq!(seen["shipments"], json!([]));
    assert_eq!(
        (seen["loans"][0]["id"].as_i64(), seen["loans"][0]["open_lines"].as_i64()),
        (Some(loan), Some(1))
    );
    // the requests of the ticket, and only them
    let list = app.get(&format!("/api/v1/parts-requests?ticket_id={t}"), Some("station-st-tz-001")).await;
    let ids: Vec<i64> =
        list.ok()["items"].as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, vec![rid]);
    assert_ne!(rid, other);

    // shipped: the answer names the shipment, its courier, where to track it and by when
    let shipped = app.on_request(rid, "ship", "warehouse-rc-hz").await;
    let s = &shipped.ok()["shipments"][0];
    assert_eq!(shipped.json["status"], "shipped");
    let shipment = s["id"].as_i64().unwrap();
    assert!(s["courier"].is_string(), "{s}");
    assert_eq!(s["tracking"], format!("/api/v1/shipments/{shipment}"));
    assert!(s["deliver_by"].is_string(), "{s}");
    let seen = ticket(&app, t).await;
    assert_eq!(seen["status"], "awaiting_parts");
    assert_eq!(seen["parts_requests"][0]["status"], "shipped");
    assert_eq!(
        (seen["shipments"][0]["id"].as_i64(), seen["shipments"][0]["courier"].clone()),
        (Some(shipment), s["courier"].clone())
    );

    // the SLA clocks keep running while it waits: 49 hours on, it is overdue and listed
    app.state.clock.advance(chrono::Duration::hours(49));
    let overdue = app.get("/api/v1/tickets?overdue=true", Some("agent")).await;
    assert!(overdue.ok()["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["id"] == t && i["status"] == "awaiting_parts"));

    // received: back to dispatched for the revisit
    app.deliver(shipment, chrono::Duration::hours(1)).await;
    let body = json!({"lines": [{"line_no": 1, "received_qty": 1, "damaged_qty": 0}]});
    let r = app.post(&format!("/api/v1/parts-requests/{rid}/receive"), "station-st-tz-001", body).await;
    assert_eq!(r.ok()["request"]["status"], "received", "{}", r.text);
    let seen = ticket(&app, t).await;
    assert_eq!(seen["status"], "dispatched");
    let last = seen["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["action"].as_str(), last["from_status"].as_str()),
        (Some("parts_arrived"), Some("awaiting_parts"))
    );
    assert_eq!(seen["parts_requests"][0]["status"], "received");
    assert_eq!(seen["shipments"][0]["status"], "received");
    assert_eq!(seen["loans"][0]["id"], loan);

    // the revisit resolves it; the links stay
    act(&app, t, "arrive", TECH, json!({})).await.ok();
    let body = json!({"job_type": "repair", "cause": "compressor seized", "parts_used": [{"part_code": CMP, "qty": 1}]});
    let r = act(&app, t, "resolve", TECH, body).await;
    assert_eq!(r.ok()["status"], "resolved");
    assert_eq!(r.json["parts_used"][0]["visit"], 2);
    assert_eq!(
        (r.json["parts_requests"][0]["id"].as_i64(), r.json["shipments"][0]["id"].as_i64()),
        (Some(rid), Some(shipment))
    );
    assert_eq!(r.json["loans"][0]["id"], loan);
    app.audit().await;
});

/// The factory record of RF00000001's compressor.
const CMP_SERIAL: &str = "CMP6165341773";

async fn core_return(app: &TestApp, loan: i64, serial: &str) -> crate::helpers::Resp {
    app.post(&format!("/api/v1/loans/{loan}/lines/1/core-return"), TECH, json!({"serial": serial})).await
}

both!(a_core_is_the_part_taken_out_and_the_unit_then_holds_the_new_one, |app| async {
    let unit = "/api/v1/units/RF00000001";
    // the borrower and the station cannot read the record; warehouse and admin can
    for user in [TECH, "station-st-tz-001", "agent"] {
        let u = app.get(unit, Some(user)).await;
        assert!(!u.ok().to_string().contains(CMP_SERIAL), "{user}: {}", u.text);
        assert!(u.json["components"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["serial"].is_null() && c["production_date"].is_null()));
    }
    for user in ["warehouse-rc-hz", "admin"] {
        assert!(app.get(unit, Some(user)).await.ok().to_string().contains(CMP_SERIAL), "{user}");
    }
    let t1 = app.ticket().at(STATION).dispatched_to(TECH).create().await;
    serials_in(&app, STATION, CMP, "NEWCMP03", 2).await;
    let loan = app.loan().ticket(t1).serials(CMP, &["NEWCMP030001"]).create().await;
    // no visit yet: there is no old part to bring back
    let early = core_return(&app, loan, CMP_SERIAL).await;
    let p = early.problem(409);
    assert_eq!(
        (p["type"].as_str(), p["current_status"].as_str()),
        (Some("/problems/no_visit_yet"), Some("dispatched"))
    );
    act(&app, t1, "arrive", TECH, json!({})).await.ok();
    // a wrong serial: refused, and nothing in the answer says what the record holds
    let wrong = core_return(&app, loan, "CMP0000000000").await;
    assert_eq!(wrong.problem(422)["type"], "/problems/core_mismatch");
    assert!(!wrong.text.contains(CMP_SERIAL), "{}", wrong.text);
    let l = app.get(&format!("/api/v1/loans/{loan}"), Some(TECH)).await;
    assert_eq!(l.ok()["lines"][0]["status"], "open");
    let ok = core_return(&app, loan, CMP_SERIAL).await;
    assert_eq!(ok.ok()["lines"][0]["status"], "core_returned");
    // nor can they read the fitted serial off the ledger's movements; warehouse and admin can
    let moves = format!("/api/v1/movements?reference=loan:{loan}/1&limit=500");
    let at_station = "/api/v1/movements?location=ST-TZ-001&limit=500";
    for user in ["station-st-tz-001", "finance"] {
        for path in [moves.as_str(), at_station] {
            let m = app.get(path, Some(user)).await;
            assert!(!m.ok()["items"].as_array().unwrap().is_empty(), "{user} {path}");
            assert!(!m.text.contains("NEWCMP030001"), "{user} {path}: {}", m.text);
        }
    }
    for user in ["warehouse-rc-hz", "admin"] {
        assert!(app.get(&moves, Some(user)).await.ok().to_string().contains("NEWCMP030001"), "{user}");
    }

    // the unit now holds the fitted compressor, and keeps the swap
    let u = app.get(unit, Some("admin")).await;
    let cmp = u.ok()["components"].as_array().unwrap().iter().find(|c| c["family"] == "CMP").unwrap().clone();
    assert_eq!((cmp["serial"].as_str(), cmp["part_code"].as_str()), (Some("NEWCMP030001"), Some(CMP)));
    let swap = &u.json["swaps"][0];
    assert_eq!(
        (
            swap["ticket_id"].as_i64(),
            swap["old_serial"].as_str(),
            swap["new_serial"].as_str(),
            swap["by"].as_str()
        ),
        (Some(t1), Some(CMP_SERIAL), Some("NEWCMP030001"), Some(TECH))
    );
    assert!(swap["at"].is_string());
    // the technician sees that a swap happened, not the serials
    let mine = app.get(unit, Some(TECH)).await;
    assert_eq!(mine.ok()["swaps"][0]["ticket_id"], t1);
    assert!(
        mine.json["swaps"][0]["new_serial"].is_null() && !mine.text.contains("NEWCMP030001"),
        "{}",
        mine.text
    );

    // a second repair of the unit is checked against the part now in it
    act(&app, t1, "resolve", TECH, json!({"job_type": "repair", "cause": "compressor"})).await.ok();
    let t2 = app.ticket().at(STATION).dispatched_to(TECH).on_site().create().await;
    let loan2 = app.loan().ticket(t2).serials(CMP, &["NEWCMP030002"]).create().await;
    let old = core_return(&app, loan2, CMP_SERIAL).await;
    assert_eq!(old.problem(422)["type"], "/problems/core_mismatch");
    assert!(!old.text.contains("NEWCMP030001"), "{}", old.text);
    core_return(&app, loan2, "NEWCMP030001").await.ok();
    let u = app.get(unit, Some("warehouse-rc-hz")).await;
    let swaps = u.ok()["swaps"].as_array().unwrap();
    assert_eq!(swaps.len(), 2);
    assert_eq!(
        (swaps[1]["old_serial"].as_str(), swaps[1]["new_serial"].as_str()),
        (Some("NEWCMP030001"), Some("NEWCMP030002"))
    );
    app.audit().await;
});

both!(a_ticket_awaits_every_request_tied_to_it_and_a_cancelled_one_no_longer, |app| async {
    serials_in(&app, "RC-HZ", CMP, "HZCMP", 1).await;
    let t = app.ticket().at(STATION).dispatched_to(TECH).on_site().create().await;
    let first = app.request().urgent().line(CMP, 1).for_ticket(t).create().await;
    act(&app, t, "await-parts", TECH, json!({})).await.ok();
    // a second one, not shipped yet
    let second = app.request().line(CMP, 1).for_ticket(t).create().await;
    let shipped = app.on_request(first, "ship", "warehouse-rc-hz").await;
    let shipment = shipped.ok()["shipments"][0]["id"].as_i64().unwrap();
    app.deliver(shipment, chrono::Duration::hours(1)).await;
    let body = json!({"lines": [{"line_no": 1, "received_qty": 1, "damaged_qty": 0}]});
    app.post(&format!("/api/v1/parts-requests/{first}/receive"), "station-st-tz-001", body).await.ok();
    // one of two is in: the ticket still waits
    assert_eq!(ticket(&app, t).await["status"], "awaiting_parts");
    // the other is no longer needed: cancelled, the ticket goes back for the revisit
    app.on_request(second, "cancel", "station-st-tz-001").await.ok();
    let seen = ticket(&app, t).await;
    assert_eq!(seen["status"], "dispatched");
    let statuses: Vec<&str> =
        seen["parts_requests"].as_array().unwrap().iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, vec!["received", "cancelled"]);
    app.audit().await;
});

both!(a_serial_is_in_one_place_a_unit_a_shelf_or_on_its_way_never_two, |app| async {
    let receipt = |serials: Value| json!({"location": "RC-HZ", "lines": [{"part_code": CMP, "qty": 1, "serials": serials}]});
    let before = app.stock("RC-HZ", CMP).await;
    // the compressor fitted in RF00000001 is not received into stock as well
    let r = app.post("/api/v1/receipts", "admin", receipt(json!([CMP_SERIAL]))).await;
    assert_eq!(
        (r.problem(409)["type"].as_str(), r.json["serial"].as_str()),
        (Some("/problems/serial_elsewhere"), Some(CMP_SERIAL))
    );
    // a serial on a shelf already is not received twice
    serials_in(&app, "RC-HZ", CMP, "ONEPLACE", 1).await;
    let r = app.post("/api/v1/receipts", "admin", receipt(json!(["ONEPLACE0001"]))).await;
    assert_eq!(r.problem(409)["type"], "/problems/serial_elsewhere");
    // part serials are kept in capitals: the same serial typed in lower case is the same part
    let r = app.post("/api/v1/receipts", "admin", receipt(json!(["oneplace0001"]))).await;
    assert_eq!(
        (r.problem(409)["type"].as_str(), r.json["serial"].as_str()),
        (Some("/problems/serial_elsewhere"), Some("ONEPLACE0001"))
    );
    let r = app.post("/api/v1/receipts", "admin", receipt(json!(["oneplace0002"]))).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["movements"][0]["serials"], json!(["ONEPLACE0002"]));
    assert_eq!(app.stock("RC-HZ", CMP).await.0, before.0 + 2, "the refused receipts counted nothing");
    // nor is a unit recorded with a component that is in another unit, or on a shelf
    let ship = chrono::Utc::now().date_naive() - chrono::Duration::days(10);
    let unit = |serial: &str, components: Value| json!({"serial": serial, "model": DEMO_MODEL, "ship_date": ship, "region": "Zhejiang", "components": components});
    let lower = CMP_SERIAL.to_ascii_lowercase();
    for (taken, why) in [
        (CMP_SERIAL, "fitted in RF00000001"),
        (lower.as_str(), "fitted in RF00000001, typed in lower case"),
        ("oneplace0001", "on the shelf at RC-HZ"),
    ] {
        let r = app
            .post(
                "/api/v1/units",
                "agent",
                unit("RFONEPLACE01", json!([{"part_code": CMP, "serial": taken}])),
            )
            .await;
        assert_eq!(r.problem(409)["type"], "/problems/serial_elsewhere", "{why}: {}", r.text);
        assert_eq!(r.json["field"], "components[0].serial", "{why}");
    }
    app.get("/api/v1/units/RFONEPLACE01", Some("agent")).await.problem(404);
    // a serial of its own is recorded, and is then in that unit only
    let r = app
        .post(
            "/api/v1/units",
            "agent",
            unit("RFONEPLACE01", json!([{"part_code": CMP, "serial": "CMPONEPLACE9"}])),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    // a unit's model is found as typed, as the ticket desk finds it
    let mut lower = unit("RFONEPLACE02", json!([{"part_code": CMP, "serial": "CMPONEPLACE8"}]));
    lower["model"] = json!(DEMO_MODEL.to_ascii_lowercase());
    let r = app.post("/api/v1/units", "agent", lower).await;
    assert_eq!((r.status, r.json["model"].as_str()), (201, Some(DEMO_MODEL)), "{}", r.text);
    let r = app.post("/api/v1/receipts", "admin", receipt(json!(["CMPONEPLACE9"]))).await;
    assert_eq!(r.problem(409)["type"], "/problems/serial_elsewhere");
    app.audit().await;
});
