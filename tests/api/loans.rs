//! Loans and core returns (spec section 8): lending to a technician's custody, the core return
//! checked against the factory record, fees, unused returns through inspection, overdue loans
//! against the allowance.

use chrono::Duration;
use serde_json::{json, Value};

use crate::both;
use crate::helpers::{Resp, TestApp};
use crate::tickets::CMP;

const STATION: &str = "ST-TZ-001";
const TECH: &str = "tech-st-tz-001";
const GSK: &str = "RF-GSK-00221D";
/// the factory record of RF00000001's compressor
pub const CMP_SERIAL: &str = "CMP6165341773";

/// An in-warranty (compressor, the technician on site: the old part is out) or out-of-warranty
/// (door gasket, quoted and accepted) ticket of the station, dispatched to its technician.
async fn dispatched(app: &TestApp, in_warranty: bool) -> i64 {
    let ticket = app.ticket().at(STATION);
    let ticket = if in_warranty {
        ticket.on_site()
    } else {
        ticket
            .family(Some("GSK"))
            .quote_accepted(json!({"job_type": "repair", "parts": [{"part_code": GSK, "qty": 1}]}))
    };
    ticket.dispatched_to(TECH).create().await
}

/// RC-HZ's bin of returned cores, where ST-TZ-001's cores go.
const BIN: &str = "RC-HZ-DEFECTIVE";

/// How many of `part` RC-HZ's bin of returned cores holds (none before its first core).
pub async fn cores_at_centre(app: &TestApp, part: &str) -> i64 {
    let r = app.get(&format!("/api/v1/stock?location={BIN}&part_code={part}"), Some("admin")).await;
    if r.status == 404 {
        return 0;
    }
    r.ok()["items"].as_array().unwrap().first().map(|i| i["on_hand"].as_i64().unwrap()).unwrap_or(0)
}

async fn line(app: &TestApp, loan: i64, line: i32, how: &str, user: &str, body: Value) -> Resp {
    app.post(&format!("/api/v1/loans/{loan}/lines/{line}/{how}"), user, body).await
}

both!(an_in_warranty_loan_is_reconciled_by_the_matching_old_compressor, |app| async {
    let t = dispatched(&app, true).await;
    app.receipt(STATION).serials(CMP, &["NEWCMP0001"]).create().await;
    let before = app.stock(STATION, CMP).await.0;
    let network_bin = app.stock("DEFECTIVE", CMP).await.0;
    let r = app.loan().ticket(t).serials(CMP, &["NEWCMP0001"]).send().await;
    assert_eq!(r.status, 201, "{}", r.text);
    let loan = r.json["id"].as_i64().unwrap();
    let custody = r.json["custody"].as_str().unwrap().to_string();
    assert_eq!(r.json["lines"][0]["status"], "open");
    assert_eq!(r.json["technician"], TECH);
    assert_eq!(app.stock(STATION, CMP).await.0, before - 1);
    assert_eq!(app.stock(&custody, CMP).await.0, 1);
    // the technician sees their loan
    let mine = app.get("/api/v1/loans", Some(TECH)).await;
    assert!(mine.ok()["items"].as_array().unwrap().iter().any(|l| l["id"] == loan));

    let ok = line(&app, loan, 1, "core-return", TECH, json!({"serial": CMP_SERIAL})).await;
    assert_eq!(ok.ok()["lines"][0]["status"], "core_returned", "{}", ok.text);
    assert_eq!(ok.json["lines"][0]["old_serial"], CMP_SERIAL);
    assert_eq!(app.stock(STATION, CMP).await.0, before - 1);
    assert_eq!(app.stock(&custody, CMP).await.0, 0);
    // the core travels up to the station's regional centre for defect analysis: its bin of
    // returned cores, made on first use under RC-HZ, holds it; the centre's staff see
    // it there, the station does not
    assert_eq!(cores_at_centre(&app, CMP).await, 1);
    assert_eq!(app.stock("DEFECTIVE", CMP).await.0, network_bin, "not the network-wide bin");
    let bin = app.get(&format!("/api/v1/locations/{BIN}"), Some("warehouse-rc-hz")).await;
    assert_eq!(
        (&bin.ok()["kind"], &bin.json["parent"]),
        (&json!("defective"), &json!("RC-HZ")),
        "{}",
        bin.text
    );
    let seen =
        app.get(&format!("/api/v1/stock?location={BIN}&part_code={CMP}"), Some("warehouse-rc-hz")).await;
    assert_eq!(seen.ok()["items"][0]["on_hand"], 1, "{}", seen.text);
    let other =
        app.get(&format!("/api/v1/stock?location={BIN}&part_code={CMP}"), Some("station-st-tz-001")).await;
    assert!(matches!(other.status, 403 | 404), "{}", other.text);
    let elsewhere =
        app.get(&format!("/api/v1/stock?location={BIN}&part_code={CMP}"), Some("warehouse-hq")).await;
    assert_eq!(elsewhere.ok()["items"][0]["on_hand"], 1);
    let moves = app.get(&format!("/api/v1/movements?reference=loan:{loan}/1"), Some("admin")).await;
    let reasons: Vec<&str> =
        moves.ok()["items"].as_array().unwrap().iter().map(|m| m["reason"].as_str().unwrap()).collect();
    assert!(reasons.contains(&"consume") && reasons.contains(&"core_return"), "{reasons:?}");
    // once only
    let again = line(&app, loan, 1, "core-return", TECH, json!({"serial": CMP_SERIAL})).await;
    assert_eq!(again.problem(409)["type"], "/problems/already_reconciled");
    app.audit().await;
});

both!(an_inspection_shows_the_returned_units_serials_to_admins_only_as_its_loan_does, |app| async {
    let t = dispatched(&app, true).await;
    app.receipt(STATION).serials(CMP, &["NEWCMP0003"]).create().await;
    let r = app.loan().ticket(t).line(CMP, 1).send().await;
    assert_eq!(r.status, 201, "{}", r.text);
    let loan = r.json["id"].as_i64().unwrap();
    line(&app, loan, 1, "unused-return", TECH, json!({})).await.ok();
    let of_loan =
        |page: &Value| page["items"].as_array().unwrap().iter().find(|i| i["loan_id"] == loan).cloned();
    for user in ["station-st-tz-001", "finance"] {
        let list = app.get("/api/v1/inspections", Some(user)).await;
        let mine = of_loan(list.ok()).unwrap_or_else(|| panic!("{user}: {}", list.text));
        assert_eq!(mine["serials"], json!([]), "{user}");
    }
    let list = app.get("/api/v1/inspections", Some("admin")).await;
    let mine = of_loan(list.ok()).unwrap();
    assert_eq!(mine["serials"], json!(["NEWCMP0003"]));
    let id = mine["id"].as_i64().unwrap();
    let p = app
        .post(&format!("/api/v1/inspections/{id}/result"), "station-st-tz-001", json!({"passed": true}))
        .await;
    assert_eq!((p.ok()["status"].as_str(), &p.json["serials"]), (Some("passed"), &json!([])));
    app.audit().await;
});

both!(another_stations_technician_is_answered_as_an_unknown_name, |app| async {
    let t = dispatched(&app, true).await;
    app.technician("tech-loan-nb", "ST-NB-001").await;
    let lend =
        |who: &str| json!({"technician": who, "ticket_id": t, "lines": [{"part_code": CMP, "qty": 1}]});
    let theirs = app.post("/api/v1/loans", "station-st-tz-001", lend("tech-loan-nb")).await;
    let nobody = app.post("/api/v1/loans", "station-st-tz-001", lend("tech-loan-none")).await;
    assert_eq!(theirs.problem(422)["type"], "/problems/invalid_technician");
    assert_eq!(
        theirs.json["detail"].as_str().unwrap().replace("tech-loan-nb", "?"),
        nobody.problem(422)["detail"].as_str().unwrap().replace("tech-loan-none", "?")
    );
    // a technician borrows for themselves only, whoever is named
    let r = app.post("/api/v1/loans", TECH, lend("tech-loan-none")).await;
    r.problem(403);
    app.audit().await;
});

both!(a_wrong_old_serial_is_refused_and_the_loan_stays_open, |app| async {
    let t = dispatched(&app, true).await;
    app.receipt(STATION).serials(CMP, &["NEWCMP0002"]).create().await;
    let r = app.loan().ticket(t).line(CMP, 1).send().await;
    assert_eq!(r.status, 201, "{}", r.text);
    // the lent unit's serial (its unit's record once fitted) is for admins to read (as units'
    // component serials are): not the station's or its technician's, who bring the core back
    assert_eq!(r.json["lines"][0]["serials"], json!([]), "{}", r.text);
    let loan = r.json["id"].as_i64().unwrap();
    for user in ["station-st-tz-001", TECH, "finance"] {
        let seen = app.get(&format!("/api/v1/loans/{loan}"), Some(user)).await;
        assert_eq!(seen.ok()["lines"][0]["serials"], json!([]), "{user}");
        let listed = app.get("/api/v1/loans", Some(user)).await;
        let mine =
            listed.ok()["items"].as_array().unwrap().iter().find(|l| l["id"] == loan).cloned().unwrap();
        assert_eq!(mine["lines"][0]["serials"], json!([]), "{user}");
    }
    let seen = app.get(&format!("/api/v1/loans/{loan}"), Some("admin")).await;
    assert_eq!(seen.ok()["lines"][0]["serials"].as_array().unwrap().len(), 1);
    let custody = r.json["custody"].as_str().unwrap().to_string();
    let station = app.stock(STATION, CMP).await.0;
    let defective = cores_at_centre(&app, CMP).await;
    let bad =
        line(&app, loan, 1, "core-return", "station-st-tz-001", json!({"serial": "CMP0000000000"})).await;
    assert_eq!(bad.problem(422)["type"], "/problems/core_mismatch", "{}", bad.text);
    assert_eq!(bad.json["given"], "CMP0000000000");
    // the refusal never says what the unit's record holds
    assert!(!bad.text.contains(CMP_SERIAL), "{}", bad.text);
    assert!(bad.json.get("expected").is_none(), "{}", bad.text);
    let l = app.get(&format!("/api/v1/loans/{loan}"), Some("station-st-tz-001")).await;
    assert_eq!(l.ok()["lines"][0]["status"], "open");
    assert_eq!(app.stock(STATION, CMP).await.0, station);
    assert_eq!(app.stock(&custody, CMP).await.0, 1);
    assert_eq!(cores_at_centre(&app, CMP).await, defective);
    assert_eq!(bad.json["attempts_left"], 4);
    // an in-warranty line is not settled by a fee
    let fee = line(&app, loan, 1, "fee", "station-st-tz-001", json!({})).await;
    assert_eq!(fee.problem(422)["type"], "/problems/in_warranty");
    // agents have no business with loans
    assert_eq!(app.get(&format!("/api/v1/loans/{loan}"), Some("agent")).await.status, 403);
    // guessing is cut short: five wrong old parts in all (station or technician), then not
    // even the right one is taken from them, so the refusals cannot give the record away
    for (left, who) in [(3, TECH), (2, "station-st-tz-001"), (1, TECH), (0, TECH)] {
        let guess =
            line(&app, loan, 1, "core-return", who, json!({"serial": format!("CMPGUESS{left}")})).await;
        assert_eq!(guess.problem(422)["attempts_left"], left, "{}", guess.text);
    }
    for who in [TECH, "station-st-tz-001"] {
        let right = line(&app, loan, 1, "core-return", who, json!({"serial": CMP_SERIAL})).await;
        assert_eq!(right.problem(409)["type"], "/problems/core_attempts_exhausted", "{}", right.text);
        assert!(!right.text.contains(CMP_SERIAL), "{}", right.text);
    }
    let l = app.get(&format!("/api/v1/loans/{loan}"), Some("station-st-tz-001")).await;
    assert_eq!(l.ok()["lines"][0]["status"], "open");
    assert_eq!(app.stock(&custody, CMP).await.0, 1);
    assert_eq!(cores_at_centre(&app, CMP).await, defective);
    // an admin, having looked at the part, records it
    let admin = line(&app, loan, 1, "core-return", "admin", json!({"serial": CMP_SERIAL})).await;
    assert_eq!(admin.ok()["lines"][0]["status"], "core_returned", "{}", admin.text);
    assert_eq!(cores_at_centre(&app, CMP).await, defective + 1);
    app.audit().await;
});

both!(out_of_warranty_fee_and_unused_returns_each_reconcile_once, |app| async {
    let t = dispatched(&app, false).await;
    let pass = app.part().cost("20.00").fits_demo_unit().create().await;
    let scrap = app.part().cost("30.00").fits_demo_unit().create().await;
    app.set_stock(STATION, GSK, 5).await;
    app.set_stock(STATION, &pass, 2).await;
    app.set_stock(STATION, &scrap, 2).await;
    let r = app.loan().ticket(t).line(GSK, 1).line(&pass, 1).line(&scrap, 1).send().await;
    assert_eq!(r.status, 201, "{}", r.text);
    let loan = r.json["id"].as_i64().unwrap();
    let custody = r.json["custody"].as_str().unwrap().to_string();
    // not enough stock: 409 from the ledger, nothing lent
    let short = app.loan().ticket(t).line(&pass, 5).send().await;
    assert_eq!(short.problem(409)["type"], "/problems/insufficient_stock");

    // the fee defaults to the accepted quote's price of the part
    let fee = line(&app, loan, 1, "fee", TECH, json!({})).await;
    assert_eq!(fee.ok()["lines"][0]["status"], "fee_charged", "{}", fee.text);
    assert_eq!(fee.json["lines"][0]["fee"], "73.00");
    assert_eq!(app.stock(&custody, GSK).await.0, 0);
    assert_eq!(
        line(&app, loan, 1, "fee", TECH, json!({})).await.problem(409)["type"],
        "/problems/already_reconciled"
    );
    assert_eq!(line(&app, loan, 1, "unused-return", TECH, json!({})).await.status, 409);
    // an out-of-warranty line has no core return
    let core = line(&app, loan, 2, "core-return", TECH, json!({"serial": "X1"})).await;
    assert_eq!(core.problem(422)["type"], "/problems/not_in_warranty");

    // unused returns wait for inspection, then go back to stock or to scrap
    for l in [2, 3] {
        let u = line(&app, loan, l, "unused-return", TECH, json!({})).await;
        assert_eq!(u.ok()["lines"][l as usize - 1]["status"], "returned_unused", "{}", u.text);
    }
    assert_eq!(line(&app, loan, 2, "unused-return", TECH, json!({})).await.status, 409);
    assert_eq!(app.stock(STATION, &pass).await.0, 1);
    let list = app.get("/api/v1/inspections?status=pending", Some("station-st-tz-001")).await;
    let items = list.ok()["items"].as_array().unwrap().clone();
    let id_of = |code: &str| items.iter().find(|i| i["part_code"] == code).unwrap()["id"].as_i64().unwrap();
    let (ip, is) = (id_of(&pass), id_of(&scrap));
    let p = app
        .post(&format!("/api/v1/inspections/{ip}/result"), "station-st-tz-001", json!({"passed": true}))
        .await;
    assert_eq!(p.ok()["status"], "passed");
    let s = app
        .post(&format!("/api/v1/inspections/{is}/result"), "station-st-tz-001", json!({"passed": false}))
        .await;
    assert_eq!(s.ok()["status"], "scrapped");
    let again =
        app.post(&format!("/api/v1/inspections/{ip}/result"), "admin", json!({"passed": false})).await;
    assert_eq!(again.problem(409)["type"], "/problems/already_inspected");
    assert_eq!(app.stock(STATION, &pass).await.0, 2);
    assert_eq!(app.stock(STATION, &scrap).await.0, 1);
    assert_eq!(app.stock("SCRAP", &scrap).await.0, 1);
    assert_eq!(app.stock(&custody, &pass).await.0, 0);
    let l = app.get(&format!("/api/v1/loans/{loan}"), Some("finance")).await;
    assert!(l.ok()["lines"].as_array().unwrap().iter().all(|l| l["status"] != "open"));
    app.audit().await;
});

both!(an_overdue_loan_counts_against_the_allowance, |app| async {
    let t = dispatched(&app, true).await;
    let part = app.part().cost("100.00").fits_demo_unit().stock_at(STATION, 1).create().await;
    let r = app.loan().ticket(t).line(&part, 1).send().await;
    assert_eq!(r.status, 201, "{}", r.text);
    let loan = r.json["id"].as_i64().unwrap();
    assert_eq!(r.json["overdue"], false);
    // what is left of the allowance now, with the loan in custody
    let (allowance, outstanding) = app
        .state
        .db
        .read(|conn| {
            let st = echelon::network::store::by_code(conn, STATION)?.unwrap();
            let allowance = echelon::requests::store::station_terms(conn, st.id)?.0;
            Ok((allowance, echelon::outstanding::recomputed(conn, st.id, &st.path)?))
        })
        .await
        .unwrap();
    let room = allowance - outstanding;
    assert!(room > 10_000, "the station has {room} left");
    // a part worth all that is left but 50.00: it fits while the loan is on time
    let value = room - 5_000;
    let big =
        app.part().cost(&format!("{}.{:02}", value / 100, value % 100)).stock_at("RC-HZ", 2).create().await;
    let request = json!({"lines": [{"part_code": big, "qty": 1}]});
    let fits = app.post("/api/v1/parts-requests", "station-st-tz-001", request.clone()).await;
    assert_eq!(fits.status, 201, "{}", fits.text);
    assert_eq!(fits.json["status"], "allocated");
    let id = fits.json["id"].as_i64().unwrap();
    app.on_request(id, "cancel", "station-st-tz-001").await.ok();
    assert!(app.get("/api/v1/loans?overdue=true", Some("admin")).await.ok()["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|l| l["id"] != loan));

    // past tier B's 15 core-return days the open line is overdue
    app.state.clock.advance(Duration::days(16));
    let overdue = app.get("/api/v1/loans?overdue=true", Some("station-st-tz-001")).await;
    let items = overdue.ok()["items"].as_array().unwrap().clone();
    assert!(items.iter().any(|l| l["id"] == loan && l["overdue"] == true), "{}", overdue.text);
    let now = app.state.clock.now().naive_utc();
    let charged = app
        .state
        .db
        .read(move |conn| {
            let st = echelon::network::store::by_code(conn, STATION)?.unwrap();
            Ok(echelon::loans::store::overdue_value(conn, st.id, now)?)
        })
        .await
        .unwrap();
    assert_eq!(charged, 10_000);
    // the same request no longer fits: it waits for approval
    let waits = app.post("/api/v1/parts-requests", "station-st-tz-001", request).await;
    assert_eq!(waits.status, 201, "{}", waits.text);
    assert_eq!(waits.json["status"], "pending_approval");
    assert_eq!(waits.json["exceeds_by"], "50.00");
    app.audit().await;
});

both!(another_station_or_technician_reads_and_changes_no_loan_or_inspection_of_others, |app| async {
    let t = dispatched(&app, false).await;
    let spare = app.part().cost("20.00").fits_demo_unit().create().await;
    app.set_stock(STATION, GSK, 2).await;
    app.set_stock(STATION, &spare, 1).await;
    let r = app.loan().ticket(t).line(GSK, 1).line(&spare, 1).send().await;
    assert_eq!(r.status, 201, "{}", r.text);
    let loan = r.json["id"].as_i64().unwrap();
    let u = line(&app, loan, 2, "unused-return", TECH, json!({})).await;
    assert_eq!(u.ok()["lines"][1]["status"], "returned_unused");
    let pending = app.get("/api/v1/inspections?status=pending", Some("station-st-tz-001")).await;
    let inspection = pending.ok()["items"][0]["id"].as_i64().unwrap();
    // another station's desk, and another technician of the same station
    app.state
        .db
        .write(|conn| {
            use echelon::auth::admin::add_user;
            let fail = |e: String| echelon::error::AppError::internal(anyhow::anyhow!(e));
            add_user(conn, "station-hz-desk", "station", Some("ST-HZ-001"), None, crate::helpers::PASSWORD)
                .map_err(fail)?;
            add_user(conn, "tech-st-tz-002", "technician", Some(STATION), None, crate::helpers::PASSWORD)
                .map_err(fail)
        })
        .await
        .unwrap();
    let before = app.get(&format!("/api/v1/loans/{loan}"), Some("admin")).await.ok().clone();
    for who in ["station-hz-desk", "tech-st-tz-002"] {
        let seen = app.get(&format!("/api/v1/loans/{loan}"), Some(who)).await;
        seen.problem(404);
        assert!(!seen.text.contains(GSK), "{who}: {}", seen.text);
        let list = app.get("/api/v1/loans", Some(who)).await;
        assert!(list.ok()["items"].as_array().unwrap().iter().all(|l| l["id"] != loan), "{who}");
        line(&app, loan, 1, "fee", who, json!({})).await.problem(404);
        line(&app, loan, 1, "unused-return", who, json!({})).await.problem(404);
        line(&app, loan, 1, "core-return", who, json!({"serial": "X1"})).await.problem(404);
    }
    // an inspection is the station's: another station's desk neither sees nor decides it
    let other = app
        .post(
            &format!("/api/v1/inspections/{inspection}/result"),
            "station-hz-desk",
            json!({"passed": false}),
        )
        .await;
    other.problem(404);
    let list = app.get("/api/v1/inspections?status=pending", Some("station-hz-desk")).await;
    assert!(list.ok()["items"].as_array().unwrap().is_empty(), "{}", list.text);
    // nothing changed: the loan as it was, the inspection still pending, the spare not scrapped
    assert_eq!(app.get(&format!("/api/v1/loans/{loan}"), Some("admin")).await.ok(), &before);
    let pending = app.get("/api/v1/inspections?status=pending", Some("station-st-tz-001")).await;
    assert_eq!(pending.ok()["items"][0]["id"], inspection);
    assert_eq!(app.stock("SCRAP", &spare).await.0, 0);
    app.audit().await;
});

both!(a_part_without_a_core_is_booked_as_fitted_and_one_with_a_core_needs_it, |app| async {
    let t = dispatched(&app, true).await;
    // a part of the compressor's family (which the ticket's warranty covers) that has no core
    let lamp = app.part().family("CMP").fits_demo_unit().stock_at(STATION, 2).create().await;
    let r = app.loan().ticket(t).line(&lamp, 1).send().await;
    assert_eq!(r.status, 201, "{}", r.text);
    let loan = r.json["id"].as_i64().unwrap();
    let custody = r.json["custody"].as_str().unwrap().to_string();
    let defective = cores_at_centre(&app, &lamp).await;
    let ok = line(&app, loan, 1, "core-return", TECH, json!({})).await;
    assert_eq!(ok.ok()["lines"][0]["status"], "core_returned", "{}", ok.text);
    assert_eq!(ok.json["lines"][0]["old_serial"], json!(null));
    assert_eq!(app.stock(&custody, &lamp).await.0, 0);
    assert_eq!(cores_at_centre(&app, &lamp).await, defective, "no core comes back");
    let moves = app.get(&format!("/api/v1/movements?reference=loan:{loan}/1"), Some("admin")).await;
    let reasons: Vec<&str> =
        moves.ok()["items"].as_array().unwrap().iter().map(|m| m["reason"].as_str().unwrap()).collect();
    assert!(reasons.contains(&"consume") && !reasons.contains(&"core_return"), "{reasons:?}");
    // a compressor has a core: without it the line stays open
    app.receipt(STATION).serials(crate::tickets::CMP, &["NEWCMP0009"]).create().await;
    let r = app.loan().ticket(t).line(crate::tickets::CMP, 1).send().await;
    let loan = r.json["id"].as_i64().unwrap();
    let bare = line(&app, loan, 1, "core-return", TECH, json!({})).await;
    assert_eq!(bare.problem(422)["errors"][0]["field"], "serial");
    let open = app.get(&format!("/api/v1/loans/{loan}"), Some(TECH)).await;
    assert_eq!(open.ok()["lines"][0]["status"], "open");
    app.audit().await;
});

both!(wrong_cores_offered_at_once_are_counted_one_by_one, |app| async {
    let t = dispatched(&app, true).await;
    app.receipt(STATION).serials(CMP, &["NEWCMP0009"]).create().await;
    let r = app.loan().ticket(t).line(CMP, 1).send().await;
    let loan = r.ok()["id"].as_i64().unwrap();
    let sends = (0..12)
        .map(|i| line(&app, loan, 1, "core-return", TECH, json!({"serial": format!("CMPGUESS{i:02}")})));
    let answers = futures_util::future::join_all(sends).await;
    let mut left: Vec<i64> = answers
        .iter()
        .filter(|a| a.status == 422)
        .map(|a| {
            assert_eq!(a.json["type"], "/problems/core_mismatch", "{}", a.text);
            a.json["attempts_left"].as_i64().unwrap()
        })
        .collect();
    left.sort_unstable();
    assert_eq!(left, vec![0, 1, 2, 3, 4], "five wrong parts evaluated, each counted");
    for a in answers.iter().filter(|a| a.status != 422) {
        assert_eq!(a.problem(409)["type"], "/problems/core_attempts_exhausted", "{}", a.text);
    }
    // the right part from the technician now is refused too; an admin records it
    let right = line(&app, loan, 1, "core-return", TECH, json!({"serial": CMP_SERIAL})).await;
    assert_eq!(right.problem(409)["type"], "/problems/core_attempts_exhausted");
    let admin = line(&app, loan, 1, "core-return", "admin", json!({"serial": CMP_SERIAL})).await;
    assert_eq!(admin.ok()["lines"][0]["status"], "core_returned", "{}", admin.text);
    app.audit().await;
});

/// The rows `sql` touches, as its plan runs: on PostgreSQL each node's actual rows and the rows
/// its filters removed, summed (`EXPLAIN ANALYZE`); on SQLite the plan's steps (`EXPLAIN QUERY
/// PLAN`), which name the index each table is read through.
fn plan_of(conn: &mut echelon::db::DbConn, sql: &str) -> (i64, Vec<String>) {
    use diesel::prelude::*;
    use diesel::sql_types::Text;
    #[derive(QueryableByName)]
    struct Step {
        #[diesel(sql_type = Text)]
        detail: String,
    }
    match conn {
        echelon::db::DbConn::Pg(c) => {
            diesel::sql_query(
                "CREATE FUNCTION pg_temp.plan(q text) RETURNS SETOF text LANGUAGE plpgsql AS $$ \
                 DECLARE r text; BEGIN FOR r IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) ' || q \
                 LOOP RETURN NEXT r; END LOOP; END $$",
            )
            .execute(c)
            .unwrap();
            let steps: Vec<Step> = diesel::sql_query("SELECT p AS detail FROM pg_temp.plan($1) AS p")
                .bind::<Text, _>(sql)
                .load(c)
                .unwrap();
            let number = |line: &str, key: &str| -> i64 {
                line.split(key).nth(1).map_or(0, |rest| {
                    rest.trim_start().split(|ch: char| !ch.is_ascii_digit()).next().unwrap().parse().unwrap()
                })
            };
            let lines: Vec<String> = steps.into_iter().map(|s| s.detail).collect();
            let touched = lines
                .iter()
                .map(|l| {
                    number(l, "rows=")
                        + number(l, "Rows Removed by Filter:")
                        + number(l, "Rows Removed by Index Recheck:")
                })
                .sum();
            (touched, lines)
        }
        echelon::db::DbConn::Sqlite(c) => {
            let steps: Vec<Step> = diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}")).load(c).unwrap();
            (0, steps.into_iter().map(|s| s.detail).collect())
        }
    }
}

both!(a_stations_open_loan_lines_are_read_without_its_settled_history, |app| async {
    // one open line of ST-TZ-001, lent through the API
    let t = dispatched(&app, true).await;
    let part = app.part().cost("10.00").fits_demo_unit().stock_at(STATION, 1).create().await;
    let r = app.loan().ticket(t).line(&part, 1).send().await;
    let loan = r.ok()["id"].as_i64().unwrap();
    let plan = app
        .state
        .db
        .write(move |conn| {
            use diesel::prelude::*;
            use diesel::Connection;
            let station = echelon::network::store::by_code(conn, STATION)?.unwrap().id;
            let other = echelon::network::store::by_code(conn, "ST-NB-001")?.unwrap().id;
            let mut out = None;
            // years of loans in a transaction of its own, rolled back once measured (they move
            // no stock): 5,000 more loans of the station, each line settled, and 5,000 open
            // lines of another station
            let _ = conn.transaction::<(), diesel::result::Error, _>(|conn| {
                for (tag, at, status) in [("settled", station, "core_returned"), ("elsewhere", other, "open")] {
                    diesel::sql_query(format!(
                        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000) \
                         INSERT INTO loans (station_id, technician_id, custody_id, ticket_id, created_by, created_at) \
                         SELECT {at}, technician_id, custody_id, ticket_id, '{tag}', created_at FROM loans, n WHERE loans.id = {loan}"
                    ))
                    .execute(conn)?;
                    diesel::sql_query(format!(
                        "INSERT INTO loan_lines (loan_id, station_id, line_no, part_id, qty, unit_cost_minor, status) \
                         SELECT lo.id, lo.station_id, 1, l.part_id, 1, l.unit_cost_minor, '{status}' \
                         FROM loans lo, loan_lines l WHERE lo.created_by = '{tag}' AND l.loan_id = {loan}"
                    ))
                    .execute(conn)?;
                }
                diesel::sql_query("ANALYZE").execute(conn)?;
                let sql = echelon::loans::store::open_line_ids_sql(&station.to_string());
                out = Some(plan_of(conn, &sql));
                // the product's read of the same lines sees the one open line
                let open = echelon::loans::store::open_lines(conn, station)?;
                assert_eq!(open.len(), 1, "{open:?}");
                Err(diesel::result::Error::RollbackTransaction)
            });
            Ok(out.unwrap())
        })
        .await
        .unwrap();
    let (touched, steps) = plan;
    let text = steps.join("\n");
    assert!(text.contains("loan_lines_open_by_station"), "{text}");
    assert!(!text.contains("loans "), "read through the loans: {text}");
    // PostgreSQL: the one open line (read, then returned), not 5,000 loans nor 5,000 other lines
    assert!(touched <= 4, "{touched} rows touched:\n{text}");
});

both!(a_loan_of_a_superseded_part_lends_its_successor_and_says_so, |app| async {
    let t = dispatched(&app, true).await;
    let new = app.part().cost("12.00").fits_demo_unit().stock_at(STATION, 2).create().await;
    let old = app.part().cost("11.00").fits_demo_unit().stock_at(STATION, 1).create().await;
    let r = app
        .patch(
            &format!("/api/v1/parts/{old}"),
            "admin",
            json!({"superseded_by": new, "interchangeability": "one_way", "lifecycle": "phase_out"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app.loan().ticket(t).line(&old, 1).line(&new, 1).send().await;
    assert_eq!(r.status, 201, "{}", r.text);
    let loan = r.json["id"].as_i64().unwrap();
    let custody = r.json["custody"].as_str().unwrap().to_string();
    let lines = r.json["lines"].clone();
    assert_eq!(lines[0]["requested_code"], old.as_str());
    assert_eq!(lines[0]["part_code"], new.as_str());
    assert_eq!(lines[0]["substituted"], true);
    assert_eq!(lines[0]["unit_cost"], "12.00", "lent at the successor's cost");
    assert_eq!((&lines[1]["requested_code"], &lines[1]["part_code"]), (&json!(new), &json!(new)));
    assert_eq!(lines[1]["substituted"], false);
    assert_eq!(r.json["open_value"], "24.00");
    // both units lent are the successor's; the old part's unit stays on the shelf
    assert_eq!(app.stock(STATION, &new).await.0, 0);
    assert_eq!(app.stock(&custody, &new).await.0, 2);
    assert_eq!(app.stock(STATION, &old).await.0, 1);
    assert_eq!(app.stock(&custody, &old).await.0, 0);
    // read back alike, by the station and by finance
    for user in ["station-st-tz-001", "finance"] {
        let read = app.get(&format!("/api/v1/loans/{loan}"), Some(user)).await;
        assert_eq!(read.ok()["lines"], lines, "{user}");
    }
    // with none of the successor left, the old part is not lent in its place
    let short = app.loan().ticket(t).line(&old, 1).send().await;
    assert_eq!(short.problem(409)["type"], "/problems/insufficient_stock");
    assert_eq!(app.stock(STATION, &old).await.0, 1);
    // the technician records the code asked for: the unit got the successor lent in its place,
    // which its loan line consumes; the old part's unit stays on the station's shelf
    let used = json!([{"part_code": old, "qty": 1}]);
    let body = json!({"job_type": "repair", "cause": "worn", "parts_used": used});
    let r = crate::tickets::act(&app, t, "resolve", TECH, body).await;
    assert_eq!(r.ok()["status"], "resolved", "{}", r.text);
    let parts: Vec<(&str, i64)> = r.json["parts_used"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["part_code"].as_str().unwrap(), p["qty"].as_i64().unwrap()))
        .collect();
    assert_eq!(parts, vec![(new.as_str(), 1)], "recorded as fitted: {}", r.text);
    assert_eq!(app.stock(STATION, &old).await.0, 1);
    let consumed =
        app.get(&format!("/api/v1/movements?reference=ticket:{t}&reason=consume"), Some("admin")).await;
    assert_eq!(consumed.ok()["items"], json!([]), "nothing taken from the shelf");
    // the other unit lent goes back as what was lent
    let u = line(&app, loan, 2, "unused-return", TECH, json!({})).await;
    assert_eq!(u.ok()["lines"][1]["status"], "returned_unused", "{}", u.text);
    assert_eq!(app.stock(&custody, &new).await.0, 1);
    app.audit().await;
});

both!(a_fee_for_a_successor_lent_in_place_of_the_quoted_part_is_the_quoted_price, |app| async {
    let new = app.part().cost("12.00").fits_demo_unit().stock_at(STATION, 1).create().await;
    let old = app.part().cost("11.00").fits_demo_unit().create().await;
    let quote = json!({"job_type": "repair", "parts": [{"part_code": old, "qty": 1}]});
    let t =
        app.ticket().at(STATION).family(Some("GSK")).quote_accepted(quote).dispatched_to(TECH).create().await;
    let body = json!({"superseded_by": new, "interchangeability": "one_way", "lifecycle": "phase_out"});
    assert_eq!(app.patch(&format!("/api/v1/parts/{old}"), "admin", body).await.status, 200);
    let r = app.loan().ticket(t).line(&old, 1).send().await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        (&r.json["lines"][0]["part_code"], &r.json["lines"][0]["substituted"]),
        (&json!(new), &json!(true))
    );
    let loan = r.json["id"].as_i64().unwrap();
    // the customer accepted 11.00 for the old part; the successor's own price is 12.00
    let fee = line(&app, loan, 1, "fee", TECH, json!({})).await;
    assert_eq!(fee.ok()["lines"][0]["fee"], "11.00", "{}", fee.text);
    app.audit().await;
});
