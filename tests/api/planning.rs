//! Planning: runs on the demo network, proposals, release through the ledger, scope and
//! problem answers. Every scenario ends with the audit (TestApp::finish).

use serde_json::{json, Value};

use crate::both;
use crate::builders::TECH;
use crate::helpers::TestApp;

/// A new part with demand at ST-TZ-001 (three requests of 4 for one of its tickets, allocated
/// from RC-HZ's shelf, so RC-HZ has nothing left available) and no other stock; returns its
/// code. A ticket's parts are fitted on arrival, so none of them is on order to the station's
/// shelf.
pub(crate) async fn part_in_demand(app: &TestApp) -> String {
    let part = app.part().cost("50.00").stock_at("RC-HZ", 12).fits_demo_unit().create().await;
    let ticket = app.ticket().at("ST-TZ-001").dispatched_to(TECH).on_site().create().await;
    for _ in 0..3 {
        let r = app.request().line(&part, 4).for_ticket(ticket).send().await;
        assert_eq!(r.json["status"], "allocated", "{}", r.text);
    }
    assert_eq!(app.stock("RC-HZ", &part).await, (12, 12, 0));
    part
}

pub(crate) async fn proposals(app: &TestApp, user: &str, query: &str) -> Vec<Value> {
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
    // a release takes no body: `null` is not an object with no fields, and moves nothing
    let got = app.post(&format!("/api/v1/proposals/{c_id}/release"), "warehouse-hq", json!(null)).await;
    assert_eq!(got.problem(422)["errors"][0]["field"], "(body)");
    let got = app.post(&format!("/api/v1/proposals/{c_id}/release"), "warehouse-hq", json!({})).await;
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
    // HQ sees RC-HZ's transfer to its station, but RC-HZ's stock leaves by RC-HZ's staff
    let hq = app.post(&format!("/api/v1/proposals/{s_id}/release"), "warehouse-hq", json!({})).await;
    assert!(hq.problem(403)["detail"].as_str().unwrap().contains("shipping location"), "{}", hq.text);
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

/// A centre's run: the line of its transfer of `part` to ST-TZ-001, if it proposes one.
async fn line_to_station(app: &TestApp, part: &str) -> Option<Value> {
    let run = app.post("/api/v1/planning/runs", "warehouse-rc-hz", json!({})).await;
    let id = run.ok()["id"].as_i64().unwrap();
    let list = proposals(app, "warehouse-rc-hz", &format!("run_id={id}&part_code={part}")).await;
    let p = list.iter().find(|p| p["destination"] == "ST-TZ-001")?;
    let detail = app.get(&format!("/api/v1/proposals/{}", p["id"]), Some("warehouse-rc-hz")).await;
    Some(detail.ok()["lines"][0].clone())
}

both!(a_run_counts_what_is_on_order_to_a_station_and_does_not_order_it_twice, |app| async {
    let part = part_in_demand(&app).await;
    let line = line_to_station(&app, &part).await.expect("a transfer to the station");
    assert_eq!(line["position"], 0);
    let qty = line["qty"].as_i64().unwrap();
    assert_eq!(qty, line["order_up_to"].as_i64().unwrap());
    // the station orders it for its shelf; nothing is available upstream, so it all waits as a
    // backorder: on order all the same, and the next run starts from it
    let r = app.request().line(&part, qty).send().await;
    assert_eq!(r.json["status"], "backordered", "{}", r.text);
    let request = r.json["id"].as_i64().unwrap();
    if let Some(again) = line_to_station(&app, &part).await {
        assert_eq!(again["position"], qty, "{again}");
        assert_eq!(again["qty"].as_i64().unwrap(), again["order_up_to"].as_i64().unwrap() - qty, "{again}");
    }
    // a cancelled order is on order no longer
    app.on_request(request, "cancel", "station-st-tz-001").await.ok();
    let after = line_to_station(&app, &part).await.expect("a transfer to the station");
    assert_eq!(after["position"], 0, "{after}");
});

both!(a_proposal_to_a_station_is_released_by_the_replenishment_request_that_orders_it, |app| async {
    let part = part_in_demand(&app).await;
    let line = line_to_station(&app, &part).await.expect("a transfer to the station");
    let list = proposals(&app, "warehouse-rc-hz", "destination=ST-TZ-001&status=proposed").await;
    let id = list[0]["id"].as_i64().unwrap();
    let qty = line["qty"].as_i64().unwrap();
    let ordered = app.request().line(&part, qty).create().await;
    let elsewhere = app.request().line(&part, 1).station("ST-HZ-001").create().await;
    let ticket = app.ticket().at("ST-TZ-001").dispatched_to(TECH).on_site().create().await;
    let for_ticket = app.request().line(&part, 1).for_ticket(ticket).create().await;
    let release = |request: i64| {
        let now = app.state.clock.now();
        app.state.db.write(move |c| {
            let caller = echelon::auth::Caller {
                user_id: 0,
                username: "station-st-tz-001".into(),
                role: echelon::auth::Role::Station,
                location: Some("ST-TZ-001".into()),
            };
            echelon::planning::service::release_by_request(c, &caller, id, request, now).map(|r| r.reference)
        })
    };
    // only the station's own replenishment request releases it
    assert_eq!(release(elsewhere).await.unwrap_err().status.as_u16(), 422);
    assert_eq!(release(for_ticket).await.unwrap_err().status.as_u16(), 422);
    assert_eq!(release(ordered).await.unwrap(), Some(format!("parts_request:{ordered}")));
    let again = release(ordered).await.unwrap_err();
    assert_eq!((again.status.as_u16(), again.kind.slug()), (409, "invalid_transition"));
    let shown = app.get(&format!("/api/v1/proposals/{id}"), Some("warehouse-rc-hz")).await;
    assert_eq!(shown.ok()["status"], "released", "{}", shown.text);
    assert_eq!(shown.json["released_by"], "station-st-tz-001");
});

both!(a_station_that_books_what_it_fits_counts_each_unit_of_demand_once, |app| async {
    // ST-TZ-001's technician fits 4 units of X and 4 of Z lent from the shelf (a fee: consumed
    // from his custody), and the station has ordered 4 of Z to refill its shelf; ST-HZ-001,
    // which books no consumption, orders 4 of Y. The same demand, counted once at each.
    let x = app.part().stock_at("ST-TZ-001", 4).fits_demo_unit().create().await;
    let z = app.part().stock_at("ST-TZ-001", 4).stock_at("RC-HZ", 4).fits_demo_unit().create().await;
    let y = app.part().stock_at("RC-HZ", 4).create().await;
    let quoted = json!([{"part_code": x, "qty": 4}, {"part_code": z, "qty": 4}]);
    let ticket = app
        .ticket()
        .at("ST-TZ-001")
        .family(Some("GSK"))
        .quote_accepted(json!({"job_type": "repair", "parts": quoted}))
        .dispatched_to(TECH)
        .create()
        .await;
    let loan = app.loan().ticket(ticket).line(&x, 4).line(&z, 4).create().await;
    for line in [1, 2] {
        let fee = app.post(&format!("/api/v1/loans/{loan}/lines/{line}/fee"), TECH, json!({})).await;
        assert_eq!(fee.ok()["lines"][line - 1]["status"], "fee_charged", "{}", fee.text);
    }
    app.request().line(&z, 4).create().await;
    app.request().line(&y, 4).station("ST-HZ-001").create().await;
    let run = app.post("/api/v1/planning/runs", "admin", json!({})).await;
    let id = run.ok()["id"].as_i64().unwrap();
    let history = |levels: Vec<Value>, at: &str| {
        let l = levels.iter().find(|l| l["location"] == at).unwrap_or_else(|| panic!("{levels:#?}"));
        f(&l["history_rate"])
    };
    let (qx, qy, qz) = (format!("&part_code={x}"), format!("&part_code={y}"), format!("&part_code={z}"));
    let hy = history(all_levels(&app, "admin", id, &qy, 50).await, "ST-HZ-001");
    let hx = history(all_levels(&app, "admin", id, &qx, 50).await, "ST-TZ-001");
    let hz = history(all_levels(&app, "admin", id, &qz, 50).await, "ST-TZ-001");
    assert!(hy > 0.0 && close(hx, hy) && close(hz, hy), "history rates X {hx}, Z {hz}, Y {hy}");
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
    // the whole network is outside a centre's scope: HQ, which it sees above it, is 403; a
    // sibling centre, which it does not see, is not found
    let r = app.post("/api/v1/planning/runs", "warehouse-rc-hz", json!({"location": "HQ"})).await;
    assert!(r.problem(403)["detail"].as_str().unwrap().contains("above"), "{}", r.text);
    app.post("/api/v1/planning/runs", "warehouse-rc-hz", json!({"location": "RC-BJ"})).await.problem(404);
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

/// Every level of a run, page by page (`limit` at a time, following the cursor).
async fn all_levels(app: &TestApp, user: &str, id: i64, query: &str, limit: usize) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let after = cursor.as_ref().map(|c| format!("&cursor={c}")).unwrap_or_default();
        let url = format!("/api/v1/planning/runs/{id}/levels?limit={limit}{query}{after}");
        let r = app.get(&url, Some(user)).await;
        let page = r.ok().clone();
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= limit);
        out.extend(items.iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return out,
        }
    }
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn money(v: &Value) -> f64 {
    v.as_str().unwrap_or_else(|| panic!("not an amount: {v}")).parse().unwrap()
}

/// Equal to the single precision a run keeps its figures in (7 significant digits).
fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * (1.0 + a.abs().max(b.abs()))
}

/// The pipeline and backorders of a level row, as `metric.rs` computes them from the row's
/// inputs.
fn pipe(l: &Value) -> echelon::planning::metric::Pipe {
    echelon::planning::metric::Pipe { mean: f(&l["pipeline_mean"]), var: f(&l["pipeline_variance"]) }
}

fn model(l: &Value) -> echelon::planning::metric::Backorders {
    let up_to = l["order_up_to"].as_i64().unwrap() as i32;
    echelon::planning::metric::backorders_between(l["reorder_point"].as_i64().unwrap() as i32, up_to, pipe(l))
}

both!(a_run_lists_a_level_for_every_stocked_part_and_location_and_they_agree_with_the_model, |app| async {
    use echelon::planning::metric::{backorders, child_pipe, Pipe};
    let part = part_in_demand(&app).await;
    // a part held at a station that has no demand for it: it shows with its stock, no level
    let idle = app.part().cost("20.00").stock_at("ST-HZ-001", 3).create().await;
    let run = app.post("/api/v1/planning/runs", "admin", json!({"target_fill": 0.98})).await;
    let first = run.ok()["id"].as_i64().unwrap();
    // release the part's orders in order, so its shelves hold their levels; plan again
    let list = proposals(&app, "admin", &format!("run_id={first}&part_code={part}")).await;
    for (source, dest, user) in
        [("SUPPLIER", "HQ", "warehouse-hq"), ("HQ", "RC-HZ", "warehouse-hq"), ("RC-HZ", "ST-TZ-001", "admin")]
    {
        let p = find(&list, source, dest)["id"].as_i64().unwrap();
        app.post(&format!("/api/v1/proposals/{p}/release"), user, json!({})).await.ok();
    }
    let run = app.post("/api/v1/planning/runs", "admin", json!({"target_fill": 0.98})).await;
    let run = run.ok().clone();
    let id = run["id"].as_i64().unwrap();
    let levels = all_levels(&app, "finance", id, "", 2).await;
    let of = |p: &str, loc: &str| {
        levels
            .iter()
            .find(|l| l["part_code"] == p && l["location"] == loc)
            .unwrap_or_else(|| panic!("no level of {p} at {loc} in {levels:#?}"))
            .clone()
    };
    // every location the plan stocks the part at has its level, proposed for or not: the
    // station holds its level now, so nothing is proposed for it, and its level still shows;
    // the centre and the warehouse show too, since the station's demand passes through them
    let (hq, rc, st) = (of(&part, "HQ"), of(&part, "RC-HZ"), of(&part, "ST-TZ-001"));
    assert!(st["order_up_to"].as_i64().unwrap() > 0, "{st}");
    for l in levels.iter().filter(|l| l["order_up_to"].as_i64().unwrap() > 0) {
        // multi-echelon levels are one-for-one base stock
        assert_eq!(l["reorder_point"].as_i64().unwrap() + 1, l["order_up_to"].as_i64().unwrap());
    }
    assert_eq!(st["on_hand"], st["order_up_to"], "{st}");
    let again = proposals(&app, "admin", &format!("run_id={id}&part_code={part}")).await;
    assert!(again.iter().all(|p| p["destination"] != "ST-TZ-001"), "{again:#?}");
    // every level a proposal line of the first run names is listed with the same levels
    let first_levels = all_levels(&app, "admin", first, "", 500).await;
    let mut stocked = 0;
    for p in proposals(&app, "admin", &format!("run_id={first}&limit=500")).await {
        let detail = app.get(&format!("/api/v1/proposals/{}", p["id"]), Some("admin")).await;
        for line in detail.ok()["lines"].as_array().unwrap() {
            let l = first_levels
                .iter()
                .find(|l| l["part_code"] == line["part_code"] && l["location"] == p["destination"])
                .unwrap_or_else(|| panic!("no level for {line} at {}", p["destination"]));
            assert_eq!(
                (&l["reorder_point"], &l["order_up_to"]),
                (&line["reorder_point"], &line["order_up_to"])
            );
            stocked += 1;
        }
    }
    assert!(stocked >= 3, "{stocked}");
    // stock without a level shows too
    let held = of(&idle, "ST-HZ-001");
    assert_eq!(
        (held["on_hand"].as_i64(), held["order_up_to"].as_i64(), held["demand_rate"].as_f64()),
        (Some(3), Some(0), Some(0.0))
    );

    // the expected backorders and fill are metric.rs's on each row's levels and pipeline...
    for l in &levels {
        let b = model(l);
        assert!(
            close(f(&l["expected_backorders"]), b.ebo) && close(f(&l["expected_fill"]), b.fill),
            "{l} {b:?}"
        );
        let units = l["order_up_to"].as_f64().unwrap().max(0.0);
        assert!((money(&l["stock_value"]) - money(&l["unit_cost"]) * units).abs() < 1e-6, "{l}");
    }
    // ...and each pipeline is the one metric.rs builds down the tree from the rows above it
    let lead = |l: &Value| f(&l["lead_days"]);
    assert!(close(f(&hq["pipeline_mean"]), f(&hq["demand_rate"]) * lead(&hq)));
    let up = |l: &Value| backorders(l["order_up_to"].as_i64().unwrap() as u32, pipe(l));
    let rc_pipe: Pipe = child_pipe(f(&rc["demand_rate"]), lead(&rc), f(&hq["demand_rate"]), up(&hq));
    let st_pipe: Pipe = child_pipe(f(&st["demand_rate"]), lead(&st), f(&rc["demand_rate"]), up(&rc));
    for (row, p) in [(&rc, rc_pipe), (&st, st_pipe)] {
        assert!(
            close(f(&row["pipeline_mean"]), p.mean) && close(f(&row["pipeline_variance"]), p.var),
            "{row}"
        );
    }
    // the station's rate is its blend; upstream rates are the stations' sums
    let w = st["history_weight"].as_f64().unwrap();
    let blended = match st["causal_rate"].as_f64() {
        Some(c) => w * f(&st["history_rate"]) + (1.0 - w) * c,
        None => f(&st["history_rate"]),
    };
    assert!(close(f(&st["demand_rate"]), blended) && f(&st["demand_rate"]) > 0.0, "{st}");
    assert!(hq["history_weight"].is_null() && close(f(&hq["demand_rate"]), f(&st["demand_rate"])));

    // the run's figures per echelon are its levels' sums, unrounded; the values add up
    let echelons = run["echelons"].as_array().unwrap();
    let mut value = 0.0;
    for e in echelons {
        let rows: Vec<&Value> = levels.iter().filter(|l| l["echelon"] == e["echelon"]).collect();
        assert_eq!(e["levels"].as_u64().unwrap() as usize, rows.len(), "{e}");
        let ebo: f64 = rows.iter().map(|l| f(&l["expected_backorders"])).sum();
        let rate: f64 = rows.iter().map(|l| f(&l["demand_rate"])).sum();
        let filled: f64 = rows.iter().map(|l| f(&l["demand_rate"]) * f(&l["expected_fill"])).sum();
        assert!(close(f(&e["expected_backorders"]), ebo), "{e}");
        assert!(close(f(&e["demand_rate"]), rate), "{e}");
        if rate > 0.0 {
            assert!(close(f(&e["expected_fill"]), filled / rate), "{e}");
        }
        value += money(&e["stock_value"]);
    }
    assert!((value - money(&run["target_stock_value"])).abs() < 1e-6, "{run}");
    let stations = echelons.iter().find(|e| e["echelon"] == "station").unwrap();
    let tiers = run["tiers"].as_array().unwrap();
    assert_eq!(tiers.len(), 4);
    let by_tier: f64 = tiers.iter().map(|t| f(&t["expected_backorders"])).sum();
    assert!(close(by_tier, f(&stations["expected_backorders"])));

    // filters
    let mine = all_levels(&app, "admin", id, &format!("&part_code={part}"), 50).await;
    assert!(mine.len() >= 3 && mine.iter().all(|l| l["part_code"] == part.as_str()));
    let at = all_levels(&app, "admin", id, "&location=ST-TZ-001", 50).await;
    assert!(!at.is_empty() && at.iter().all(|l| l["location"] == "ST-TZ-001"));
    let centres = all_levels(&app, "admin", id, "&echelon=regional_centre", 50).await;
    assert!(
        centres.iter().all(|l| l["echelon"] == "regional_centre")
            && centres.iter().any(|l| l["location"] == "RC-HZ")
    );
    assert_eq!(levels.iter().filter(|l| l["echelon"] == "regional_centre").count(), centres.len());

    // the CSV and the XLSX hold the JSON's rows
    let r = app.get(&format!("/api/v1/planning/runs/{id}/levels?format=csv"), Some("finance")).await;
    assert_eq!(r.status, 200);
    let text = r.text.trim_start_matches('\u{feff}');
    let mut csv = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = csv.headers().unwrap().iter().map(str::to_string).collect();
    let rows: Vec<csv::StringRecord> = csv.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), levels.len());
    let token = app.token("finance").await;
    let resp = app
        .client
        .get(format!("{}/api/v1/planning/runs/{id}/levels", app.base))
        .header("accept", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let bytes = resp.bytes().await.unwrap().to_vec();
    use calamine::{Data, Reader};
    let mut wb = calamine::Xlsx::new(std::io::Cursor::new(bytes)).expect("the XLSX opens");
    let sheet = wb.worksheet_range("Levels").expect("the Levels sheet");
    let sheet_rows: Vec<&[Data]> = sheet.rows().collect();
    let xlsx_header: Vec<String> = sheet_rows[0].iter().map(|c| c.to_string()).collect();
    assert_eq!(xlsx_header, header);
    assert_eq!(sheet_rows.len() - 1, levels.len());
    for (i, l) in levels.iter().enumerate() {
        assert_eq!(header.len(), l.as_object().unwrap().len());
        for (c, name) in header.iter().enumerate() {
            let (want, csv_cell, cell) =
                (&l[name.as_str()], &rows[i][c], sheet_rows[i + 1].get(c).unwrap_or(&Data::Empty));
            match want {
                Value::Null => {
                    assert!(csv_cell.is_empty() && matches!(cell, Data::Empty), "{name}: {cell:?}")
                }
                Value::String(s) => match s.parse::<f64>() {
                    // money: the same text in the CSV, a number in the XLSX
                    Ok(n) if name.contains("cost") || name.contains("value") => {
                        assert_eq!(csv_cell, s);
                        assert!(matches!(cell, Data::Float(x) if (x - n).abs() < 1e-9), "{name}: {cell:?}");
                    }
                    _ => {
                        assert_eq!(csv_cell, s, "{name}");
                        assert_eq!(cell.to_string(), *s, "{name}");
                    }
                },
                Value::Number(n) => {
                    let n = n.as_f64().unwrap();
                    assert_eq!(csv_cell.parse::<f64>().unwrap(), n, "{name}");
                    assert!(matches!(cell, Data::Float(x) if *x == n), "{name}: {cell:?} against {n}");
                }
                other => panic!("{name}: {other}"),
            }
        }
    }
});

both!(bad_level_filters_get_a_problem_and_levels_keep_to_their_scope, |app| async {
    part_in_demand(&app).await;
    let run = app.post("/api/v1/planning/runs", "warehouse-rc-hz", json!({})).await;
    let id = run.ok()["id"].as_i64().unwrap();
    let levels = all_levels(&app, "warehouse-rc-hz", id, "", 50).await;
    // a centre's run: its own subtree only
    assert!(!levels.is_empty());
    assert!(levels
        .iter()
        .all(|l| l["location"] == "RC-HZ" || l["location"].as_str().unwrap().starts_with("ST-")));
    assert!(levels.iter().all(|l| l["echelon"] != "central_warehouse"));
    let url = |q: &str| format!("/api/v1/planning/runs/{id}/levels?{q}");
    let bad = app.get(&url("location=NO-SUCH"), Some("admin")).await;
    assert_eq!(bad.problem(422)["errors"][0]["field"], "location");
    let outside = app.get(&url("location=ST-NB-001"), Some("warehouse-rc-hz")).await;
    assert_eq!(outside.problem(422)["type"], "/problems/validation_failed");
    app.get(&url("location=SUPPLIER"), Some("admin")).await.problem(422);
    assert_eq!(
        app.get(&url("part_code=RF-CMP-0041"), Some("admin")).await.problem(422)["type"],
        "/problems/invalid_part_code"
    );
    app.get(&url("echelon=moon"), Some("admin")).await.problem(400);
    app.get(&url("cursor=abc"), Some("admin")).await.problem(400);
    app.get(&url("limit=0"), Some("admin")).await.problem(400);
    app.get(&url("surprise=1"), Some("admin")).await.problem(400);
    app.get("/api/v1/planning/runs/999999/levels", Some("admin")).await.problem(404);
    app.get("/api/v1/planning/runs/999999/levels?format=csv", Some("admin")).await.problem(404);
    // a run of the whole network is not a centre's to read
    let hq = app.post("/api/v1/planning/runs", "admin", json!({})).await;
    let hq = hq.ok()["id"].as_i64().unwrap();
    app.get(&format!("/api/v1/planning/runs/{hq}/levels"), Some("warehouse-rc-hz")).await.problem(404);
    app.get(&format!("/api/v1/planning/runs/{hq}/levels"), Some("station-st-tz-001")).await.problem(403);
    // a baseline run's (s, S) levels: their figures are the levels' average under metric.rs
    let base = app.post("/api/v1/planning/runs", "admin", json!({"policy": "baseline"})).await;
    // its expected fill is its station echelon's, as the model reviews its levels
    let station =
        base.ok()["echelons"].as_array().unwrap().iter().find(|e| e["echelon"] == "station").cloned();
    let station = f(&station.expect("a station echelon")["expected_fill"]);
    assert!((f(&base.json["expected_fill"]) - station).abs() < 1e-4, "{}", base.text);
    let base = base.json["id"].as_i64().unwrap();
    for l in all_levels(&app, "admin", base, "", 100).await {
        let b = model(&l);
        assert!(close(f(&l["expected_backorders"]), b.ebo) && close(f(&l["expected_fill"]), b.fill), "{l}");
    }
    // planned with its forecast error: every pipeline with demand is wider than Poisson, and
    // the figures are still metric.rs's on it
    let wide = app.post("/api/v1/planning/runs", "admin", json!({"forecast_error": true})).await;
    assert_eq!(wide.ok()["forecast_error"], true);
    let wide = wide.json["id"].as_i64().unwrap();
    let levels = all_levels(&app, "admin", wide, "", 100).await;
    assert!(levels.iter().any(|l| f(&l["demand_rate"]) > 0.0));
    for l in levels {
        if f(&l["demand_rate"]) > 0.0 {
            assert!(f(&l["pipeline_variance"]) > f(&l["pipeline_mean"]), "{l}");
        }
        let b = model(&l);
        assert!(close(f(&l["expected_backorders"]), b.ebo) && close(f(&l["expected_fill"]), b.fill), "{l}");
    }
    assert_eq!(
        app.get(&format!("/api/v1/planning/runs/{base}"), Some("admin")).await.ok()["forecast_error"],
        false
    );
    let refused = app
        .post("/api/v1/planning/runs", "admin", json!({"policy": "baseline", "forecast_error": true}))
        .await;
    assert_eq!(refused.problem(422)["errors"][0]["field"], "forecast_error");
});

both!(a_centres_run_leaves_the_warehouses_transfer_into_the_centre_alone, |app| async {
    let part = part_in_demand(&app).await;
    let r = app.post("/api/v1/planning/runs", "warehouse-hq", json!({})).await;
    let hq_run = r.ok()["id"].as_i64().unwrap();
    let list = proposals(&app, "admin", &format!("run_id={hq_run}&part_code={part}")).await;
    let to_centre = find(&list, "HQ", "RC-HZ")["id"].as_i64().unwrap();
    let to_station = find(&list, "RC-HZ", "ST-TZ-001")["id"].as_i64().unwrap();
    // RC-HZ plans its own stations: its new run replaces the old transfer to its station, and
    // leaves HQ's transfer into RC-HZ, which it could not have proposed (nor release)
    let r = app.post("/api/v1/planning/runs", "warehouse-rc-hz", json!({})).await;
    assert_eq!(r.ok()["scope"], "RC-HZ", "{}", r.text);
    let status = |id: i64| {
        let app = &app;
        async move { app.get(&format!("/api/v1/proposals/{id}"), Some("admin")).await.ok()["status"].clone() }
    };
    assert_eq!(status(to_centre).await, "proposed");
    assert_eq!(status(to_station).await, "superseded");
    // the warehouse's own next run does replace it
    app.post("/api/v1/planning/runs", "warehouse-hq", json!({})).await.ok();
    assert_eq!(status(to_centre).await, "superseded");
});

both!(a_runs_orders_released_in_turn_serve_the_backorders_waiting_upstream_first, |app| async {
    // demand as above, and ST-TZ-001 waits for 40 more for its shelf: nothing is available at
    // RC-HZ or HQ (tier B orders from both), so they wait as a backorder
    let part = part_in_demand(&app).await;
    let r = app.request().line(&part, 40).send().await;
    assert_eq!(r.json["status"], "backordered", "{}", r.text);
    let waiting = r.json["id"].as_i64().unwrap();
    let run = app.post("/api/v1/planning/runs", "admin", json!({})).await;
    let id = run.ok()["id"].as_i64().unwrap();
    let list = proposals(&app, "admin", &format!("run_id={id}&part_code={part}")).await;
    let ids: Vec<(i64, &str)> = [("SUPPLIER", "HQ", "warehouse-hq"), ("HQ", "RC-HZ", "warehouse-hq")]
        .iter()
        .map(|(from, to, user)| (find(&list, from, to)["id"].as_i64().unwrap(), *user))
        .collect();
    // the purchase arrives at HQ and serves the waiting line at once (HQ is one of its
    // sources); the transfer to the centre still finds what it was planned to move
    for (proposal, user) in ids {
        let got = app.post(&format!("/api/v1/proposals/{proposal}/release"), user, json!({})).await;
        assert_eq!(got.status, 200, "release of {proposal}: {}", got.text);
    }
    let served = app.get(&format!("/api/v1/parts-requests/{waiting}"), Some("admin")).await;
    assert_eq!(served.ok()["lines"][0]["backordered"], 0, "{}", served.text);
    // the next run does not propose again what could not move: whatever it proposes for the
    // part moves too, released from the top down
    let run = app.post("/api/v1/planning/runs", "admin", json!({})).await;
    let id = run.ok()["id"].as_i64().unwrap();
    for source in ["SUPPLIER", "HQ", "RC-HZ"] {
        let list = proposals(&app, "admin", &format!("run_id={id}&part_code={part}")).await;
        for p in list.iter().filter(|p| p["source"] == source) {
            let user = if source == "RC-HZ" { "warehouse-rc-hz" } else { "warehouse-hq" };
            let got = app.post(&format!("/api/v1/proposals/{}/release", p["id"]), user, json!({})).await;
            assert_eq!(got.status, 200, "release of {p}: {}", got.text);
        }
    }
    app.audit().await;
});
