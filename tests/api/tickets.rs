//! Service tickets: the warranty decision at intake, the quote before out-of-warranty dispatch,
//! the whole lifecycle with its history, SLA deadlines with a moved clock, scoping.

use chrono::{Duration, Months};
use serde_json::{json, Value};

use crate::both;
use crate::helpers::{Resp, TestApp};

mod parts_used;

/// A demo unit of BCD-539WT (12 months on the unit, 120 on the compressor), shipped ~3 years ago.
pub const UNIT: &str = "RF00000001";
pub const CMP: &str = "RF-CMP-00130B";
const GSK: &str = "RF-GSK-00221D";

pub fn ticket(
    serial: &str,
    family: Option<&str>,
    category: &str,
    urgency: &str,
    station: Option<&str>,
) -> Value {
    let mut t = json!({
        "channel": "phone",
        "customer": {"name": "Wang Fang", "phone": "+86 576 8888 1234", "address": "12 Jiefang Rd", "region": "Zhejiang"},
        "serial": serial,
        "fault": "not cooling",
        "category": category,
        "urgency": urgency,
    });
    if let Some(f) = family {
        t["component_family"] = json!(f);
    }
    if let Some(s) = station {
        t["station"] = json!(s);
    }
    t
}

pub async fn intake(app: &TestApp, user: &str, body: Value) -> i64 {
    let r = app.post("/api/v1/tickets", user, body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.json["id"].as_i64().unwrap()
}

pub async fn act(app: &TestApp, id: i64, action: &str, user: &str, body: Value) -> Resp {
    app.post(&format!("/api/v1/tickets/{id}/{action}"), user, body).await
}

/// A dispatch body naming the station and the technician.
pub fn dispatch_to(station: &str, tech: &str) -> Value {
    json!({"station": station, "technician": tech})
}

both!(a_compressor_fault_is_in_warranty_and_a_door_seal_fault_needs_an_accepted_quote, |app| async {
    let today = app.state.clock.now().date_naive();
    let shipped = today.checked_sub_months(Months::new(13)).unwrap();
    app.model("BCD-T13").part(GSK).part(CMP).unit("RFT13000001", shipped).create().await;

    // the compressor has 120 months: in warranty, free, dispatched without a quote
    let cmp = intake(&app, "agent", ticket("RFT13000001", Some("CMP"), "repair", "normal", None)).await;
    let t = app.get(&format!("/api/v1/tickets/{cmp}"), Some("agent")).await;
    assert_eq!(t.ok()["warranty"], "in_warranty", "{}", t.text);
    assert_eq!(t.json["warranty_covers"], "CMP");
    let reason = t.json["warranty_reason"].as_str().unwrap();
    assert!(
        reason.starts_with(&format!("compressor (CMP) covered 120 months from ship date {shipped}")),
        "{reason}"
    );
    act(&app, cmp, "quote", "agent", json!({"job_type": "repair"})).await.problem(409);
    assert_eq!(
        act(&app, cmp, "quote", "agent", json!({"job_type": "repair"})).await.json["type"],
        "/problems/quote_not_needed"
    );
    let d = act(&app, cmp, "dispatch", "agent", dispatch_to("ST-TZ-001", "tech-st-tz-001")).await;
    assert_eq!(d.ok()["status"], "dispatched");

    // the door seal has only the unit's 12 months: out of warranty, a quote first
    let gsk =
        intake(&app, "agent", ticket("RFT13000001", Some("GSK"), "repair", "normal", Some("ST-TZ-001")))
            .await;
    let t = app.get(&format!("/api/v1/tickets/{gsk}"), Some("agent")).await;
    assert_eq!(t.ok()["warranty"], "out_of_warranty");
    assert_eq!(t.json["warranty_covers"], "unit");
    assert!(t.json["warranty_reason"].as_str().unwrap().contains("expired"), "{}", t.text);
    let refused = act(&app, gsk, "dispatch", "agent", dispatch_to("ST-TZ-001", "tech-st-tz-001")).await;
    assert_eq!(refused.problem(409)["type"], "/problems/quote_required");
    assert_eq!(refused.json["current_status"], "open");
    // labour from tier B's repair rate (100.00) plus the gasket at its sale price (73.00)
    let q = act(
        &app,
        gsk,
        "quote",
        "agent",
        json!({"job_type": "repair", "parts": [{"part_code": GSK, "qty": 1}]}),
    )
    .await;
    assert_eq!(q.ok()["status"], "quoted");
    assert_eq!(q.json["quote"]["labour"], "100.00");
    assert_eq!(q.json["quote"]["parts_total"], "73.00");
    assert_eq!(q.json["quote"]["total"], "173.00");
    assert_eq!(q.json["quote"]["status"], "offered");
    assert!(q.json["responded_at"].is_string());
    // quoted but not accepted: still no dispatch
    let refused = act(&app, gsk, "dispatch", "agent", dispatch_to("ST-TZ-001", "tech-st-tz-001")).await;
    assert_eq!(refused.problem(409)["type"], "/problems/quote_required");
    // a revised quote with a given labour amount supersedes the first
    let q = act(
        &app,
        gsk,
        "quote",
        "agent",
        json!({"job_type": "repair", "labour": "80", "parts": [{"part_code": GSK, "qty": 1}]}),
    )
    .await;
    assert_eq!(q.ok()["quote"]["total"], "153.00");
    let a = act(&app, gsk, "accept-quote", "agent", json!({"note": "customer agreed by phone"})).await;
    assert_eq!(a.ok()["status"], "quote_accepted");
    assert_eq!(a.json["quote"]["status"], "accepted");
    let d = act(
        &app,
        gsk,
        "dispatch",
        "agent",
        json!({"station": "ST-TZ-001", "technician": "tech-st-tz-001",
        "expected_parts": [{"part_code": GSK, "qty": 1}]}),
    )
    .await;
    assert_eq!(d.ok()["status"], "dispatched");
    assert_eq!(d.json["expected_parts"][0]["part_code"], GSK);
    // settlement reads the accepted amount and the decision
    let (accepted, warranty) = app
        .state
        .db
        .read(move |conn| {
            let q = echelon::tickets::store::accepted_quote(conn, gsk)?.map(|q| q.total_minor);
            Ok((q, echelon::tickets::ticket_warranty(conn, gsk)?))
        })
        .await
        .unwrap();
    assert_eq!(accepted, Some(15300));
    assert_eq!(warranty, Some(echelon::tickets::Warranty::OutOfWarranty));
});

both!(a_ticket_runs_its_whole_lifecycle_and_refuses_illegal_transitions, |app| async {
    let id = intake(&app, "agent", ticket(UNIT, Some("CMP"), "repair", "normal", None)).await;
    let t = app.get(&format!("/api/v1/tickets/{id}"), Some("agent")).await;
    assert_eq!(t.ok()["status"], "open");
    assert_eq!(t.json["station"], Value::Null);
    assert_eq!(t.json["model"], "BCD-539WT");
    // arriving before dispatch is refused with the current status
    let r = act(&app, id, "arrive", "admin", json!({})).await;
    assert_eq!(r.problem(409)["type"], "/problems/invalid_transition");
    assert_eq!(r.json["current_status"], "open");
    // the work order's parts are checked: a mistyped code gets suggestions, a part of
    // another model the compatible alternatives
    let bad = act(
        &app,
        id,
        "dispatch",
        "agent",
        json!({"station": "ST-TZ-001", "technician": "tech-st-tz-001",
        "expected_parts": [{"part_code": "RF-CMP-0130B", "qty": 1}]}),
    )
    .await;
    assert_eq!(bad.problem(422)["suggestions"][0], CMP, "{}", bad.text);
    let other = "RF-GSK-002175";
    let bad = act(
        &app,
        id,
        "dispatch",
        "agent",
        json!({"station": "ST-TZ-001", "technician": "tech-st-tz-001",
        "expected_parts": [{"part_code": other, "qty": 1}]}),
    )
    .await;
    assert_eq!(bad.problem(422)["type"], "/problems/incompatible_part");
    assert_eq!(bad.json["compatible_alternatives"], json!([GSK]));
    let bad = act(&app, id, "dispatch", "agent", dispatch_to("ST-HZ-001", "tech-st-tz-001")).await;
    assert_eq!(bad.problem(422)["type"], "/problems/invalid_technician");
    // the technician sees nothing until dispatched to it
    app.get(&format!("/api/v1/tickets/{id}"), Some("tech-st-tz-001")).await.problem(404);
    let d = act(
        &app,
        id,
        "dispatch",
        "agent",
        json!({"station": "ST-TZ-001", "technician": "tech-st-tz-001",
        "expected_parts": [{"part_code": CMP, "qty": 1}]}),
    )
    .await;
    assert_eq!(d.ok()["status"], "dispatched");
    assert_eq!(
        (d.json["station"].as_str(), d.json["technician"].as_str()),
        (Some("ST-TZ-001"), Some("tech-st-tz-001"))
    );
    // dispatched again before arrival: a new work order for the same, first visit
    let d = act(
        &app,
        id,
        "dispatch",
        "agent",
        json!({"station": "ST-TZ-001", "technician": "tech-st-tz-001",
        "expected_parts": [{"part_code": GSK, "qty": 2}]}),
    )
    .await;
    let expected = &d.ok()["expected_parts"];
    assert_eq!(expected.as_array().map(Vec::len), Some(1), "{}", d.text);
    assert_eq!(
        (expected[0]["part_code"].as_str(), expected[0]["qty"].as_i64(), expected[0]["visit"].as_i64()),
        (Some(GSK), Some(2), Some(1))
    );
    let tech = "tech-st-tz-001";
    app.get(&format!("/api/v1/tickets/{id}"), Some(tech)).await.ok();
    assert_eq!(act(&app, id, "arrive", tech, json!({})).await.ok()["status"], "on_site");
    // not fixed on the first visit: escalated, then a revisit
    act(&app, id, "escalate", tech, json!({})).await.problem(422);
    let e =
        act(&app, id, "escalate", tech, json!({"note": "trips after 20 minutes; wiring suspected"})).await;
    assert_eq!(e.ok()["status"], "unresolved");
    let r = act(&app, id, "resolve", tech, json!({"job_type": "repair", "cause": "x"})).await;
    assert_eq!(r.problem(409)["current_status"], "unresolved");
    act(&app, id, "dispatch", tech, dispatch_to("ST-TZ-001", tech)).await.problem(403);
    act(&app, id, "dispatch", "station-st-tz-001", json!({"technician": tech})).await.ok();
    act(&app, id, "arrive", tech, json!({})).await.ok();
    // one unit is repaired: no more of a part than the model holds (one compressor), whether
    // on one line or spread over two
    for used in [
        json!([{"part_code": CMP, "qty": 1000}]),
        json!([{"part_code": CMP, "qty": 1}, {"part_code": CMP, "qty": 1}]),
    ] {
        let n = used.as_array().map_or(0, Vec::len) - 1;
        let r =
            act(&app, id, "resolve", tech, json!({"job_type": "repair", "cause": "x", "parts_used": used}))
                .await;
        assert_eq!(r.problem(422)["errors"][0]["field"], format!("parts_used[{n}].qty"), "{}", r.text);
    }
    // the compressor fitted comes off the station's shelf (no loan brought it)
    app.receipt("ST-TZ-001").serials(CMP, &["NEWCMP0001"]).create().await;
    let r = act(
        &app,
        id,
        "resolve",
        tech,
        json!({"job_type": "repair", "cause": "compressor relay burnt out",
        "parts_used": [{"part_code": CMP, "qty": 1}]}),
    )
    .await;
    assert_eq!(r.ok()["status"], "resolved");
    assert_eq!(app.stock("ST-TZ-001", CMP).await, (0, 0, 0));
    assert_eq!(r.json["job_type"], "repair");
    assert_eq!(r.json["parts_used"][0]["part_code"], CMP);
    assert_eq!(r.json["parts_used"][0]["sale_price"], "620.50");
    assert_eq!(r.json["parts_used"][0]["visit"], 2);
    assert!(r.json["resolved_at"].is_string());
    assert_eq!(
        act(&app, id, "confirm", tech, json!({"note": "signed by the customer"})).await.ok()["status"],
        "confirmed"
    );
    act(&app, id, "close", tech, json!({})).await.problem(403);
    let c = act(&app, id, "close", "agent", json!({})).await;
    assert_eq!(c.ok()["status"], "closed");
    assert!(c.json["completed_at"].is_string() && c.json["closed_at"].is_string());
    let r = act(&app, id, "dispatch", "agent", dispatch_to("ST-TZ-001", tech)).await;
    assert_eq!(r.problem(409)["current_status"], "closed");
    assert!(r.json["detail"].as_str().unwrap().contains("nothing more"), "{}", r.text);
    // the history: every transition with its actor
    let h = app.get(&format!("/api/v1/tickets/{id}"), Some("agent")).await;
    let steps: Vec<(String, String)> = h.ok()["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap().to_string(), e["actor"].as_str().unwrap().to_string()))
        .collect();
    let want = [
        ("intake", "agent"),
        ("dispatch", "agent"),
        ("dispatch", "agent"),
        ("arrive", tech),
        ("escalate", tech),
        ("dispatch", "station-st-tz-001"),
        ("arrive", tech),
        ("resolve", tech),
        ("confirm", tech),
        ("close", "agent"),
    ];
    assert_eq!(steps, want.map(|(a, b)| (a.to_string(), b.to_string())).to_vec());
    assert_eq!(h.json["history"][4]["note"], "trips after 20 minutes; wiring suspected");
    assert_eq!(h.json["history"][9]["from_status"], "confirmed");
    // other domains find the ticket's model
    let model = app.state.db.read(move |c| Ok(echelon::tickets::ticket_model(c, id)?)).await.unwrap();
    assert_eq!(model.map(|m| m.2), Some("BCD-539WT".to_string()));
    // roles without tickets
    app.get(&format!("/api/v1/tickets/{id}"), Some("warehouse-rc-hz")).await.problem(403);
    app.get("/api/v1/tickets", Some("courier-1")).await.problem(403);
    app.get(&format!("/api/v1/tickets/{id}"), Some("finance")).await.ok();
});

both!(an_urgent_safety_incident_unresolved_after_49_hours_is_overdue, |app| async {
    let safety = app.ticket().category("safety_incident").urgency("urgent").at("ST-TZ-001").create().await;
    let repair = app.ticket().at("ST-TZ-001").create().await;
    let t = app.get(&format!("/api/v1/tickets/{safety}"), Some("agent")).await;
    let created = chrono::DateTime::parse_from_rfc3339(t.ok()["created_at"].as_str().unwrap()).unwrap();
    let at = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
    assert_eq!(at(&t.json["respond_by"]) - created, Duration::hours(24));
    assert_eq!(at(&t.json["resolve_by"]) - created, Duration::hours(48));
    assert_eq!(t.json["decide_by"], Value::Null);
    let r = app.get(&format!("/api/v1/tickets/{repair}"), Some("agent")).await;
    assert_eq!(at(&r.ok()["decide_by"]) - at(&r.json["created_at"]), Duration::days(5));
    assert_eq!(r.json["respond_by"], Value::Null);
    // answered in time: a technician is on the way
    act(&app, safety, "dispatch", "agent", dispatch_to("ST-TZ-001", "tech-st-tz-001")).await.ok();
    let none = app.get("/api/v1/tickets?overdue=true", Some("agent")).await;
    assert!(none.ok()["items"].as_array().unwrap().is_empty(), "{}", none.text);

    app.state.clock.advance(Duration::hours(49));
    let list = app.get("/api/v1/tickets?overdue=true", Some("agent")).await;
    let items = list.ok()["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", list.text);
    assert_eq!(items[0]["id"], safety);
    assert_eq!(items[0]["overdue"], true);
    assert_eq!(items[0]["overdue_clocks"], json!(["resolve"]));
    let others = app.get("/api/v1/tickets?overdue=false", Some("agent")).await;
    let ids: Vec<&Value> = others.ok()["items"].as_array().unwrap().iter().map(|t| &t["id"]).collect();
    assert_eq!(ids, vec![&json!(repair)]);
    let metrics = app.get("/metrics", None).await;
    assert!(metrics.text.contains("echelon_tickets_overdue 1"), "{}", metrics.text);
    // the station and the assigned technician see it among their overdue tickets too
    for user in ["station-st-tz-001", "tech-st-tz-001"] {
        let l = app.get("/api/v1/tickets?overdue=true", Some(user)).await;
        assert_eq!(l.ok()["items"][0]["id"], safety, "{user}");
    }
    // resolved late: no longer overdue (the breach shows in the station's compliance)
    act(&app, safety, "arrive", "tech-st-tz-001", json!({})).await.ok();
    act(
        &app,
        safety,
        "resolve",
        "tech-st-tz-001",
        json!({"job_type": "inspection", "cause": "loose earth wire"}),
    )
    .await
    .ok();
    let list = app.get("/api/v1/tickets?overdue=true", Some("agent")).await;
    assert!(list.ok()["items"].as_array().unwrap().is_empty(), "{}", list.text);
    // five days without a decision: the repair ticket is overdue
    app.state.clock.advance(Duration::days(4));
    let list = app.get("/api/v1/tickets?overdue=true&category=repair", Some("agent")).await;
    assert_eq!(list.ok()["items"][0]["id"], repair);
    assert_eq!(list.json["items"][0]["overdue_clocks"], json!(["decide"]));
    let card = app.get("/api/v1/stations/ST-TZ-001/scorecard", Some("station-st-tz-001")).await;
    assert_eq!(card.ok()["tickets"], 2);
    assert_eq!(card.json["sla_decided"], 2);
    assert_eq!(card.json["sla_kept"], 0);
});

both!(a_customer_outside_the_networks_regions_or_with_an_invisible_name_is_refused, |app| async {
    let count = || async {
        app.get("/api/v1/tickets?limit=500", Some("admin")).await.ok()["items"].as_array().unwrap().len()
    };
    let before = count().await;
    for (field, value) in
        [("region", "Atlantis"), ("name", "\u{200B}"), ("name", "\u{1B}"), ("address", "\u{202E}\u{200D}")]
    {
        let mut body = ticket("RF00000001", None, "repair", "normal", Some("ST-TZ-001"));
        body["customer"][field] = json!(value);
        let r = app.post("/api/v1/tickets", "agent", body).await;
        let p = r.problem(422);
        let fields: Vec<&str> =
            p["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert_eq!(fields, vec![format!("customer.{field}").as_str()], "{value:?}: {}", r.text);
    }
    assert_eq!(count().await, before, "nothing was taken in");
});
