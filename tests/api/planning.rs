//! Planning: runs on the demo network, proposals, release through the ledger, scope and
//! problem answers. Every scenario ends with the audit (TestApp::finish).

use serde_json::{json, Value};

use crate::both;
use crate::helpers::TestApp;

/// A new part with demand at ST-TZ-001 (three requests of 4, allocated from RC-HZ's shelf, so
/// RC-HZ has nothing left available) and no other stock; returns its code.
async fn part_in_demand(app: &TestApp) -> String {
    let part = app.part().cost("50.00").stock_at("RC-HZ", 12).create().await;
    for _ in 0..3 {
        let r = app.request().line(&part, 4).send().await;
        assert_eq!(r.json["status"], "allocated", "{}", r.text);
    }
    assert_eq!(app.stock("RC-HZ", &part).await, (12, 12, 0));
    part
}

async fn proposals(app: &TestApp, user: &str, query: &str) -> Vec<Value> {
    let r = app.get(&format!("/api/v1/proposals?{query}"), Some(user)).await;
    r.ok()["items"].as_array().unwrap().clone()
}

fn find<'a>(list: &'a [Value], source: &str, destination: &str) -> &'a Value {
    list.iter()
        .find(|p| p["source"] == source && p["destination"] == destination)
        .unwrap_or_else(|| panic!("no proposal {source} -> {destination} in {list:#?}"))
}

both!(a_planning_run_proposes_down_the_tree_and_releases_move_stock_through_the_ledger, |app| async {
    let part = part_in_demand(&app).await;
    let r = app
        .post("/api/v1/planning/runs", "admin", json!({"policy": "multi_echelon", "target_fill": 0.98}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let run = r.json.clone();
    assert_eq!(run["scope"], "HQ");
    assert_eq!(run["policy"], "multi_echelon");
    assert!(run["expected_fill"].as_f64().unwrap() >= 0.98, "{run}");
    assert!(run["transfers"].as_i64().unwrap() >= 2 && run["purchases"].as_i64().unwrap() >= 1, "{run}");
    let id = run["id"].as_i64().unwrap();
    assert_eq!(app.get(&format!("/api/v1/planning/runs/{id}"), Some("warehouse-hq")).await.ok()["id"], id);

    let list = proposals(&app, "admin", &format!("run_id={id}&part_code={part}")).await;
    let purchase = find(&list, "SUPPLIER", "HQ").clone();
    let to_centre = find(&list, "HQ", "RC-HZ").clone();
    let to_station = find(&list, "RC-HZ", "ST-TZ-001").clone();
    assert_eq!(purchase["kind"], "purchase");
    assert_eq!(to_station["kind"], "transfer");
    // only this part has demand in the demo: every order has its one line
    assert!(list.iter().all(|o| o["line_count"] == 1), "{list:#?}");
    let (p_id, c_id, s_id) = (
        purchase["id"].as_i64().unwrap(),
        to_centre["id"].as_i64().unwrap(),
        to_station["id"].as_i64().unwrap(),
    );
    let detail = app.get(&format!("/api/v1/proposals/{s_id}"), Some("warehouse-rc-hz")).await;
    let line = detail.ok()["lines"][0].clone();
    assert_eq!(line["part_code"], part.as_str());
    assert_eq!(line["position"], 0);
    assert_eq!(line["qty"], line["order_up_to"]);
    assert_eq!(detail.json["units"], line["qty"]);
    // the centre's transfer covers what it sends on to the station, the warehouse's purchase both
    let units = |o: &Value| o["units"].as_i64().unwrap();
    assert!(units(&to_centre) >= units(&to_station));
    assert!(units(&purchase) >= units(&to_centre));

    // RC-HZ holds nothing available yet: its transfer to the station may not take more
    let early = app.post(&format!("/api/v1/proposals/{s_id}/release"), "warehouse-rc-hz", json!({})).await;
    assert_eq!(early.problem(409)["type"], "/problems/insufficient_stock");
    assert_eq!(early.json["short"][0]["part_code"], part.as_str());
    assert_eq!(app.stock("RC-HZ", &part).await, (12, 12, 0));

    // scope: RC-HZ's staff see the transfers touching RC-HZ but not the purchase into HQ
    let theirs = proposals(&app, "warehouse-rc-hz", &format!("run_id={id}")).await;
    assert!(
        theirs.iter().all(|p| p["source"] == "RC-HZ"
            || p["destination"] == "RC-HZ"
            || p["destination"].as_str().unwrap().starts_with("ST-")),
        "{theirs:#?}"
    );
    assert!(theirs.iter().all(|p| p["kind"] == "transfer"));
    app.post(&format!("/api/v1/proposals/{p_id}/release"), "warehouse-rc-hz", json!({})).await.problem(404);
    app.get(&format!("/api/v1/proposals/{p_id}"), Some("warehouse-rc-hz")).await.problem(404);
    app.post(&format!("/api/v1/proposals/{c_id}/release"), "warehouse-rc-hz", json!({})).await.problem(403);

    // release in order: purchase at HQ, HQ -> RC-HZ, RC-HZ -> ST-TZ-001
    let got = app.post(&format!("/api/v1/proposals/{p_id}/release"), "warehouse-hq", json!({})).await;
    assert_eq!(got.ok()["proposal"]["status"], "released", "{}", got.text);
    assert_eq!(got.json["movements"], 1);
    let bought = units(&purchase);
    assert_eq!(app.stock("HQ", &part).await.0, bought);
    let got = app.post(&format!("/api/v1/proposals/{c_id}/release"), "warehouse-hq", json!(null)).await;
    assert_eq!(got.ok()["movements"], 2);
    let moved = app.get(&format!("/api/v1/movements?reference=proposal:{c_id}"), Some("admin")).await;
    let mut reasons: Vec<String> = moved.ok()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["reason"].as_str().unwrap().to_string())
        .collect();
    reasons.sort();
    assert_eq!(reasons, vec!["transfer_receive", "transfer_ship"]);
    let to_c = units(&to_centre);
    assert_eq!(app.stock("HQ", &part).await.0, bought - to_c);
    assert_eq!(app.stock("RC-HZ", &part).await, (12 + to_c, 12, to_c));
    let got = app.post(&format!("/api/v1/proposals/{s_id}/release"), "warehouse-rc-hz", json!({})).await;
    assert_eq!(got.ok()["proposal"]["released_by"], "warehouse-rc-hz");
    let to_s = units(&to_station);
    assert_eq!(app.stock("ST-TZ-001", &part).await, (to_s, 0, to_s));
    assert_eq!(app.stock("RC-HZ", &part).await, (12 + to_c - to_s, 12, to_c - to_s));
    // the movements carry the proposal as their reference
    let moved = app.get(&format!("/api/v1/movements?reference=proposal:{s_id}"), Some("admin")).await;
    assert_eq!(moved.ok()["items"].as_array().unwrap().len(), 2);

    // a released proposal is not released twice
    let again = app.post(&format!("/api/v1/proposals/{s_id}/release"), "admin", json!({})).await;
    assert_eq!(again.problem(409)["type"], "/problems/invalid_transition");
    // a new run supersedes what is still open for the same locations
    let r2 = app.post("/api/v1/planning/runs", "admin", json!({})).await;
    assert_eq!(r2.status, 201, "{}", r2.text);
    let open = proposals(&app, "admin", &format!("run_id={id}&status=proposed")).await;
    assert!(open.is_empty(), "{open:#?}");
    let listed = proposals(&app, "admin", &format!("run_id={id}&status=released&limit=2")).await;
    assert_eq!(listed.len(), 2);
});

both!(a_centre_plans_its_own_subtree_and_stations_may_not_plan, |app| async {
    let part = part_in_demand(&app).await;
    let r = app
        .post("/api/v1/planning/runs", "warehouse-rc-hz", json!({"policy": "baseline", "service_level": 0.9}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["scope"], "RC-HZ");
    assert_eq!(r.json["service_level"], 0.9);
    let id = r.json["id"].as_i64().unwrap();
    let list = proposals(&app, "warehouse-rc-hz", &format!("run_id={id}&part_code={part}")).await;
    assert!(list.iter().all(|p| p["source"] == "RC-HZ"), "{list:#?}");
    find(&list, "RC-HZ", "ST-TZ-001");
    // the whole network is outside a centre's scope
    app.post("/api/v1/planning/runs", "warehouse-rc-hz", json!({"location": "HQ"})).await.problem(404);
    let hq = app.post("/api/v1/planning/runs", "admin", json!({"target_fill": 0.9})).await;
    let hq_id = hq.ok()["id"].as_i64().unwrap();
    app.get(&format!("/api/v1/planning/runs/{hq_id}"), Some("warehouse-rc-hz")).await.problem(404);
    // stations and couriers do not plan
    app.post("/api/v1/planning/runs", "station-st-tz-001", json!({})).await.problem(403);
    app.post("/api/v1/planning/runs", "courier-1", json!({})).await.problem(403);
    app.get("/api/v1/proposals", Some("station-st-tz-001")).await.problem(403);
    app.post(&format!("/api/v1/proposals/{hq_id}/release"), "courier-1", json!({})).await.problem(403);
});

both!(bad_planning_input_gets_a_problem_not_a_500, |app| async {
    let app = &app;
    let bad = |body: Value| async move { app.post("/api/v1/planning/runs", "admin", body).await };
    assert_eq!(bad(json!({"target_fill": 1.5})).await.problem(422)["errors"][0]["field"], "target_fill");
    bad(json!({"policy": "baseline", "target_fill": 0.9})).await.problem(422);
    bad(json!({"target_fill": 0.9, "budget": "1000.00"})).await.problem(422);
    bad(json!({"budget": "-5.00"})).await.problem(422);
    bad(json!({"budget": "12.345"})).await.problem(422);
    bad(json!({"policy": "magic"})).await.problem(422);
    bad(json!({"surprise": true})).await.problem(422);
    assert_eq!(
        bad(json!({"location": "ST-TZ-001"})).await.problem(422)["type"],
        "/problems/not_a_planning_scope"
    );
    bad(json!({"location": "NO-SUCH"})).await.problem(404);
    let budget = bad(json!({"budget": "5000.00"})).await;
    assert_eq!(budget.status, 201, "{}", budget.text);
    assert_eq!(budget.json["budget"], "5000.00");
    assert!(budget.json["target_stock_value"].as_str().unwrap().parse::<f64>().unwrap() <= 5000.0);
    app.get("/api/v1/planning/runs/999999", Some("admin")).await.problem(404);
    app.get("/api/v1/planning/runs/abc", Some("admin")).await.problem(404);
    app.get("/api/v1/proposals?limit=0", Some("admin")).await.problem(400);
    app.get("/api/v1/proposals?status=bogus", Some("admin")).await.problem(400);
    app.get("/api/v1/proposals?part_code=RF-CMP-0041", Some("admin")).await.problem(422);
    app.get("/api/v1/proposals?source=NOWHERE", Some("admin")).await.problem(404);
    app.post("/api/v1/proposals/999999/release", "admin", json!({})).await.problem(404);
    let part = part_in_demand(app).await;
    let run = app.post("/api/v1/planning/runs", "admin", json!({})).await;
    let id = run.ok()["id"].as_i64().unwrap();
    let list = proposals(app, "admin", &format!("run_id={id}&part_code={part}&kind=purchase")).await;
    let p = list[0]["id"].as_i64().unwrap();
    app.get(&format!("/api/v1/proposals/{p}"), Some("station-st-tz-001")).await.problem(403);
    app.get("/api/v1/proposals/999999", Some("admin")).await.problem(404);
    let got = app.post(&format!("/api/v1/proposals/{p}/release"), "admin", json!({})).await;
    assert_eq!(app.stock("HQ", &part).await.0, got.ok()["proposal"]["units"].as_i64().unwrap());
});
