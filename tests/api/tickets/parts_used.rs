//! The parts a resolving visit used (spec sections 4, 8 and 10): what loans to the ticket
//! brought is consumed through their lines; any other part used is taken from the station's
//! free stock in the resolve's transaction, or the resolve is refused (409) and changes nothing.
//! Either way the parts cost settlement charges for the ticket is what the ledger consumed.

use chrono::{Months, NaiveDate};
use serde_json::{json, Value};

use crate::both;
use crate::docs::{document, documented};
use crate::helpers::{Resp, TestApp};
use crate::settlement::{
    finish, move_to, next_month, period, reconcile, station, two_gaskets_per_unit, worked,
};
use crate::tickets::{act, CMP};

const TZ: &str = "ST-TZ-001";
const TECH: &str = "tech-st-tz-001";
const GSK: &str = "RF-GSK-00221D";
/// the factory record of RF00000001's compressor
const CMP_SERIAL: &str = "CMP6165341773";

async fn resolve(app: &TestApp, t: i64, used: Value) -> Resp {
    act(app, t, "resolve", TECH, json!({"job_type": "repair", "cause": "worn", "parts_used": used})).await
}

/// The `consume` movements the resolve of ticket `t` posted (its reference is `ticket:<id>`).
async fn consumed(app: &TestApp, t: i64) -> Vec<Value> {
    let r = app.get(&format!("/api/v1/movements?reference=ticket:{t}&reason=consume"), Some("admin")).await;
    r.ok()["items"].as_array().unwrap().clone()
}

/// The settlement of the month starting `first`, read on the 2nd of the month after.
async fn settlement(app: &TestApp, first: NaiveDate) -> Value {
    move_to(app, first.checked_add_months(Months::new(1)).unwrap(), 2);
    let r = app.get(&format!("/api/v1/settlements?period={}", period(first)), Some("finance")).await;
    r.ok().clone()
}

/// The ledger check of a settlement: (expected, actual, ok).
fn ledger_check(out: &Value) -> (Value, Value, Value) {
    let checks = out["reconciliation"].as_array().unwrap();
    let c = checks.iter().find(|c| c["name"] == "ledger_consumption").unwrap();
    (c["expected"].clone(), c["actual"].clone(), c["ok"].clone())
}

/// A refused resolve left the ticket on site with no part used and nothing consumed for it.
async fn untouched(app: &TestApp, t: i64) {
    let seen = app.get(&format!("/api/v1/tickets/{t}"), Some("agent")).await;
    assert_eq!(seen.ok()["status"], "on_site", "{}", seen.text);
    assert_eq!(seen.json["parts_used"], json!([]), "{}", seen.text);
    assert!(seen.json["resolved_at"].is_null(), "{}", seen.text);
    let resolves =
        seen.json["history"].as_array().unwrap().iter().filter(|e| e["action"] == "resolve").count();
    assert_eq!(resolves, 0, "{}", seen.text);
    assert!(consumed(app, t).await.is_empty());
}

both!(a_part_from_the_stations_own_stock_is_consumed_for_the_ticket_and_the_month_balances, |app| async {
    let first = next_month(&app);
    app.receipt(TZ).serials(CMP, &["NEWCMP0001"]).create().await;
    app.set_stock(TZ, GSK, 3).await;
    move_to(&app, first, 2);
    // in warranty for the compressor; no loan: both parts come off the station's shelf
    let t = worked(&app, TZ, TECH, true, "repair", json!([])).await;
    assert_eq!(app.stock(TZ, CMP).await, (1, 0, 1));
    let r = resolve(&app, t, json!([{"part_code": CMP, "qty": 1}, {"part_code": GSK, "qty": 1}])).await;
    assert_eq!(r.ok()["status"], "resolved", "{}", r.text);
    assert_eq!(r.json["parts_used"].as_array().map(Vec::len), Some(2));
    assert_eq!(app.stock(TZ, CMP).await, (0, 0, 0));
    assert_eq!(app.stock(TZ, GSK).await, (2, 0, 2));
    let moves = consumed(&app, t).await;
    let seen: Vec<(String, i64, String, String, String)> = moves
        .iter()
        .map(|m| {
            let s = |k: &str| m[k].as_str().unwrap().to_string();
            (s("part_code"), m["qty"].as_i64().unwrap(), s("from"), s("to"), s("actor"))
        })
        .collect();
    for part in [CMP, GSK] {
        let want = (part.to_string(), 1, TZ.to_string(), "CUSTOMER".to_string(), TECH.to_string());
        assert!(seen.contains(&want), "{part}: {seen:?}");
    }
    // the compressor leaves by its serial
    let cmp = moves.iter().find(|m| m["part_code"] == CMP).unwrap();
    assert_eq!(cmp["serials"], json!(["NEWCMP0001"]));
    act(&app, t, "confirm", TECH, json!({"note": "signed"})).await.ok();

    // the compressor at cost 365.20 and the gasket at 48.80: charged and consumed alike
    let out = settlement(&app, first).await;
    assert_eq!(station(&out, TZ)["parts_at_cost"], "414.00", "{out}");
    assert_eq!(ledger_check(&out), (json!("414.00"), json!("414.00"), json!(true)), "{out}");
    assert_eq!(out["balanced"], true, "{out}");
});

both!(a_part_the_station_has_not_got_free_is_refused_with_409_and_nothing_changes, |app| async {
    let doc = document();
    two_gaskets_per_unit(&app).await;
    app.set_stock(TZ, GSK, 1).await;
    let t = worked(&app, TZ, TECH, true, "repair", json!([])).await;

    // no compressor at the station at all
    let r = resolve(&app, t, json!([{"part_code": GSK, "qty": 1}, {"part_code": CMP, "qty": 1}])).await;
    let p = r.problem(409).clone();
    assert_eq!(p["type"], "/problems/insufficient_stock", "{}", r.text);
    assert_eq!(
        (&p["field"], &p["part_code"], &p["location"], &p["available"], &p["requested"], &p["lent"]),
        (&json!("parts_used[1]"), &json!(CMP), &json!(TZ), &json!(0), &json!(1), &json!(0)),
        "{}",
        r.text
    );
    assert!(p["detail"].as_str().unwrap().contains("no loan for ticket"), "{}", r.text);
    documented(&doc, "post", "/api/v1/tickets/{id}/resolve", &r);
    // the gasket of the first line was not taken either: the whole resolve rolled back
    assert_eq!(app.stock(TZ, GSK).await, (1, 0, 1));
    untouched(&app, t).await;

    // two gaskets over two lines, one on the shelf
    let r = resolve(&app, t, json!([{"part_code": GSK, "qty": 1}, {"part_code": GSK, "qty": 1}])).await;
    let p = r.problem(409);
    assert_eq!(
        (&p["field"], &p["available"], &p["requested"]),
        (&json!("parts_used[0]"), &json!(1), &json!(2))
    );
    assert_eq!(app.stock(TZ, GSK).await, (1, 0, 1));
    untouched(&app, t).await;

    // the one gasket on the shelf reserved for a parts request: on hand, yet not free
    let (part, loc) = ids(&app, GSK, TZ).await;
    app.state
        .db
        .write(move |c| {
            assert!(echelon::ledger::store::reserve(c, part, loc, 1)?);
            Ok(())
        })
        .await
        .unwrap();
    let r = resolve(&app, t, json!([{"part_code": GSK, "qty": 1}])).await;
    let p = r.problem(409);
    assert_eq!((&p["available"], &p["requested"]), (&json!(0), &json!(1)), "{}", r.text);
    assert!(p["detail"].as_str().unwrap().contains("(1 on hand, 1 reserved)"), "{}", r.text);
    assert_eq!(app.stock(TZ, GSK).await, (1, 1, 0));
    untouched(&app, t).await;
    app.state.db.write(move |c| echelon::ledger::store::release(c, part, loc, 1)).await.unwrap();

    // with the stock in, the same resolve goes through
    app.receipt(TZ).serials(CMP, &["NEWCMP0001"]).create().await;
    let r = resolve(&app, t, json!([{"part_code": GSK, "qty": 1}, {"part_code": CMP, "qty": 1}])).await;
    assert_eq!(r.ok()["status"], "resolved", "{}", r.text);
    assert_eq!((app.stock(TZ, GSK).await, app.stock(TZ, CMP).await), ((0, 0, 0), (0, 0, 0)));
    assert_eq!(consumed(&app, t).await.len(), 2);
});

/// The ids of a part and a location.
async fn ids(app: &TestApp, part: &str, location: &str) -> (i64, i64) {
    let (part, location) = (part.to_string(), location.to_string());
    app.state
        .db
        .read(move |c| {
            use diesel::prelude::*;
            use echelon::db::schema::{locations, parts};
            let p = parts::table.filter(parts::code.eq(&part)).select(parts::id).first(c)?;
            let l = locations::table.filter(locations::code.eq(&location)).select(locations::id).first(c)?;
            Ok((p, l))
        })
        .await
        .unwrap()
}

both!(a_part_lent_for_the_ticket_is_consumed_by_its_loan_line_and_not_again_from_the_station, |app| async {
    let first = next_month(&app);
    two_gaskets_per_unit(&app).await;
    app.receipt(TZ).serials(CMP, &["NEWCMP0001"]).create().await;
    app.set_stock(TZ, GSK, 2).await;
    move_to(&app, first, 2);

    // the compressor lent: the station has none left, and the resolve takes none from it
    let t1 = worked(&app, TZ, TECH, true, "repair", json!([])).await;
    let l1 = app.loan().by("admin").technician(TECH).ticket(t1).serials(CMP, &["NEWCMP0001"]).create().await;
    assert_eq!(app.stock(TZ, CMP).await, (0, 0, 0));
    finish(&app, t1, TECH, "repair", json!([{"part_code": CMP, "qty": 1}])).await;
    assert!(consumed(&app, t1).await.is_empty());
    reconcile(&app, l1, "core-return", TECH, json!({"serial": CMP_SERIAL})).await;

    // two gaskets used, one of them lent: the other comes off the shelf now, the lent one when
    // its line is paid by fee
    let gaskets = json!([{"part_code": GSK, "qty": 2}]);
    let t2 = worked(&app, TZ, TECH, false, "repair", gaskets.clone()).await;
    let l2 = app.loan().by("admin").technician(TECH).ticket(t2).line(GSK, 1).create().await;
    assert_eq!(app.stock(TZ, GSK).await, (1, 0, 1));
    finish(&app, t2, TECH, "repair", gaskets).await;
    assert_eq!(app.stock(TZ, GSK).await, (0, 0, 0));
    let moves = consumed(&app, t2).await;
    assert_eq!(moves.len(), 1, "{moves:?}");
    assert_eq!((&moves[0]["qty"], &moves[0]["from"]), (&json!(1), &json!(TZ)));
    reconcile(&app, l2, "fee", TECH, json!({})).await;

    // 365.20 + 2 x 48.80, charged and consumed alike
    let out = settlement(&app, first).await;
    assert_eq!(station(&out, TZ)["parts_at_cost"], "462.80", "{out}");
    assert_eq!(ledger_check(&out), (json!("462.80"), json!("462.80"), json!(true)), "{out}");
    assert_eq!(out["balanced"], true, "{out}");
});

both!(a_loan_line_returned_unused_before_the_resolve_does_not_cover_the_part, |app| async {
    app.set_stock(TZ, GSK, 1).await;
    let gasket = json!([{"part_code": GSK, "qty": 1}]);
    let t = worked(&app, TZ, TECH, false, "repair", gasket.clone()).await;
    let l = app.loan().by("admin").technician(TECH).ticket(t).line(GSK, 1).create().await;
    reconcile(&app, l, "unused-return", TECH, json!({})).await;
    // the gasket waits for its inspection in quarantine: not at the station, and lent for nothing
    let r = resolve(&app, t, gasket.clone()).await;
    assert_eq!((&r.problem(409)["available"], &r.json["lent"]), (&json!(0), &json!(0)), "{}", r.text);
    untouched(&app, t).await;
    let list = app.get("/api/v1/inspections?status=pending", Some("station-st-tz-001")).await;
    let id = list.ok()["items"][0]["id"].as_i64().unwrap();
    let body = json!({"passed": true});
    app.post(&format!("/api/v1/inspections/{id}/result"), "station-st-tz-001", body).await.ok();
    // back on the shelf: taken from there
    assert_eq!(resolve(&app, t, gasket).await.ok()["status"], "resolved");
    assert_eq!(app.stock(TZ, GSK).await, (0, 0, 0));
    assert_eq!(consumed(&app, t).await.len(), 1);
});

both!(a_malformed_parts_used_is_a_4xx_never_a_500_and_changes_nothing, |app| async {
    app.set_stock(TZ, GSK, 5).await;
    let t = worked(&app, TZ, TECH, true, "repair", json!([])).await;
    let unknown = echelon::catalogue::PartCode::issue("RF", "CMP", 99_990)
        .or_else(|| echelon::catalogue::PartCode::issue("RF", "CMP", 99_991))
        .unwrap()
        .as_str()
        .to_string();
    let line = |code: Value, qty: Value| json!([{"part_code": code, "qty": qty}]);
    let many: Vec<Value> = (0..51).map(|_| json!({"part_code": GSK, "qty": 1})).collect();
    let cases: Vec<(&str, Value)> = vec![
        ("an unknown part", line(json!(unknown), json!(1))),
        ("a malformed code", line(json!("RF-GSK-0022"), json!(1))),
        ("a code with a wrong check character", line(json!("RF-GSK-00221E"), json!(1))),
        ("a part of another model", line(json!("RF-GSK-002175"), json!(1))),
        ("an empty code", line(json!(""), json!(1))),
        ("a code of spaces", line(json!("   "), json!(1))),
        ("a NUL in the code", line(json!("RF-GSK-00221D\u{0}"), json!(1))),
        ("a very long code", line(json!("R".repeat(5000)), json!(1))),
        ("a number for a code", line(json!(12345), json!(1))),
        ("a null code", line(Value::Null, json!(1))),
        ("qty 0", line(json!(GSK), json!(0))),
        ("qty -1", line(json!(GSK), json!(-1))),
        ("qty beyond the model's", line(json!(GSK), json!(2))),
        ("qty 1000", line(json!(GSK), json!(1000))),
        ("qty 1001", line(json!(GSK), json!(1001))),
        ("qty i64::MAX", line(json!(GSK), json!(i64::MAX))),
        ("qty i64::MIN", line(json!(GSK), json!(i64::MIN))),
        ("qty past i64", line(json!(GSK), json!(u64::MAX))),
        ("qty 1e30", line(json!(GSK), json!(1e30))),
        ("qty 1.5", line(json!(GSK), json!(1.5))),
        ("qty as a string", line(json!(GSK), json!("1"))),
        ("qty null", line(json!(GSK), Value::Null)),
        ("qty true", line(json!(GSK), json!(true))),
        ("no qty", json!([{"part_code": GSK}])),
        ("no code", json!([{"qty": 1}])),
        ("an unknown member", json!([{"part_code": GSK, "qty": 1, "serials": ["X"]}])),
        ("a null line", json!([null])),
        ("a line that is a list", json!([[GSK, 1]])),
        ("a line that is a code", json!([GSK])),
        ("an object", json!({"part_code": GSK, "qty": 1})),
        ("a string", json!(GSK)),
        ("a number", json!(1)),
        ("51 lines", json!(many)),
    ];
    let before = app.stock(TZ, GSK).await;
    for (what, used) in cases {
        let r = resolve(&app, t, used).await;
        assert!((400..500).contains(&r.status), "{what}: {} {}", r.status, r.text);
        assert!(r.content_type().starts_with("application/problem+json"), "{what}: {}", r.content_type());
        assert_eq!(app.stock(TZ, GSK).await, before, "{what}");
    }
    untouched(&app, t).await;
    // a well-formed resolve then goes through, taking the gasket from the shelf
    assert_eq!(resolve(&app, t, json!([{"part_code": GSK, "qty": 1}])).await.ok()["status"], "resolved");
    assert_eq!(app.stock(TZ, GSK).await, (before.0 - 1, 0, before.2 - 1));
});
