//! The authorization matrix: every documented operation x every role, on an object in the
//! caller's scope and on one outside it. Generated from the OpenAPI document plus the table
//! below; an operation missing from the table fails the test, so a new endpoint must say who
//! may call it.
//!
//! Roles: A admin, W warehouse (RC-HZ), S station (ST-TZ-001), T technician (ST-TZ-001),
//! G agent, F finance, C courier. `public` needs no token. A role not listed gets 403; a listed
//! role is not refused (neither 401 nor 403). Then scoped callers reading or changing an
//! object of another station (ST-NB-001, under RC-NB) get 404.

use std::collections::BTreeMap;

use reqwest::Method;
use serde_json::{json, Value};

use crate::both;
use crate::helpers::TestApp;

pub const MATRIX: &str = "
GET /healthz public
GET /readyz public
GET /metrics public
POST /api/v1/auth/login public
GET /api/v1/me AWSTGFC
GET /api/v1/users A
POST /api/v1/users A
GET /api/v1/users/{username} A
PATCH /api/v1/users/{username} A
GET /api/v1/locations AWSTGF
POST /api/v1/locations A
GET /api/v1/locations/{code} AWSTGF
PATCH /api/v1/locations/{code} A
GET /api/v1/tiers AWSTGFC
GET /api/v1/locations/{code}/tier AWSTGF
PUT /api/v1/locations/{code}/tier A
GET /api/v1/locations/{code}/tier-history AWSTGF
PUT /api/v1/tiers/{tier} A
GET /api/v1/parts/export AWSTGFC
POST /api/v1/parts/import A
GET /api/v1/parts AWSTGFC
POST /api/v1/parts A
GET /api/v1/parts/{code} AWSTGFC
PATCH /api/v1/parts/{code} A
GET /api/v1/models AWSTGFC
POST /api/v1/models A
GET /api/v1/models/{code} AWSTGFC
PATCH /api/v1/models/{code} A
GET /api/v1/models/{code}/parts AWSTGFC
POST /api/v1/models/{code}/parts A
GET /api/v1/units AWSTGFC
POST /api/v1/units AG
GET /api/v1/units/{serial} AWSTGFC
GET /api/v1/installed-base AWSTGFC
POST /api/v1/receipts AW
POST /api/v1/stock-counts AW
GET /api/v1/stock AWSGF
GET /api/v1/movements AWSF
GET /api/v1/audit A
GET /api/v1/parts-requests AWSTGF
POST /api/v1/parts-requests AWST
GET /api/v1/parts-requests/{id} AWSTGF
POST /api/v1/parts-requests/{id}/approve AW
POST /api/v1/parts-requests/{id}/reject AW
POST /api/v1/parts-requests/{id}/cancel AWS
POST /api/v1/parts-requests/{id}/pick AW
POST /api/v1/parts-requests/{id}/ship AW
POST /api/v1/parts-requests/{id}/receive AWS
POST /api/v1/parts-requests/{id}/close AWS
GET /api/v1/shipments AWSGFC
GET /api/v1/shipments/{id} AWSTGFC
POST /api/v1/shipments/{id}/events C
GET /api/v1/tenders AWFC
POST /api/v1/tenders AW
GET /api/v1/tenders/{id} AWFC
POST /api/v1/tenders/{id}/bids C
POST /api/v1/tenders/{id}/award AW
GET /api/v1/claims AWSFC
GET /api/v1/couriers AWFC
GET /api/v1/couriers/{username} AWFC
PUT /api/v1/couriers/{username} A
GET /api/v1/couriers/{username}/rate-cards AWFC
PUT /api/v1/couriers/{username}/rate-cards A
GET /api/v1/tender-weights AWFC
PUT /api/v1/tender-weights A
GET /api/v1/reports/kpis AWSGF
POST /api/v1/planning/runs AW
GET /api/v1/planning/runs/{id} AWF
GET /api/v1/planning/runs/{id}/levels AWF
GET /api/v1/proposals AWF
GET /api/v1/proposals/{id} AWF
POST /api/v1/proposals/{id}/release AW
GET /api/v1/reports/kpis/history AGF
GET /api/v1/reports/kpis/sparkline AGF
GET /api/v1/reports/weekly AWSGF
GET /api/v1/reports/defects AWGF
GET /api/v1/quality-alerts AWGF
GET /api/v1/tickets ASTGF
POST /api/v1/tickets ASG
GET /api/v1/tickets/{id} ASTGF
POST /api/v1/tickets/{id}/quote ASG
POST /api/v1/tickets/{id}/accept-quote ASG
POST /api/v1/tickets/{id}/dispatch ASG
POST /api/v1/tickets/{id}/arrive AST
POST /api/v1/tickets/{id}/await-parts AST
POST /api/v1/tickets/{id}/resolve AST
POST /api/v1/tickets/{id}/escalate AST
POST /api/v1/tickets/{id}/confirm ASTG
POST /api/v1/tickets/{id}/close ASG
POST /api/v1/follow-ups/sample AG
GET /api/v1/follow-ups/stats AGF
GET /api/v1/follow-ups AGF
POST /api/v1/follow-ups/{id}/result AG
GET /api/v1/stations/{code}/scorecard ASGF
GET /api/v1/loans ASTF
POST /api/v1/loans AST
GET /api/v1/loans/{id} ASTF
POST /api/v1/loans/{id}/lines/{line}/core-return AST
POST /api/v1/loans/{id}/lines/{line}/fee AST
POST /api/v1/loans/{id}/lines/{line}/unused-return AST
GET /api/v1/inspections ASF
POST /api/v1/inspections/{id}/result AS
GET /api/v1/settlements ASF
POST /api/v1/settlements/adjustments AF
POST /api/v1/periods/{period}/close AF
GET /api/v1/webhooks/subscriptions AWSF
POST /api/v1/webhooks/subscriptions AWSF
GET /api/v1/webhooks/subscriptions/{id} AWSF
PATCH /api/v1/webhooks/subscriptions/{id} AWSF
DELETE /api/v1/webhooks/subscriptions/{id} AWSF
POST /api/v1/webhooks/subscriptions/{id}/rotate-secret AWSF
GET /api/v1/webhooks/subscriptions/{id}/deliveries AWSF
POST /api/v1/webhooks/deliveries/{id}/replay AWSF
";

/// Reads or writes of another station's objects that a scoped caller must not reach (404):
/// (method, path, roles). `{other}` is a request of ST-NB-001, `{other_shipment}` its shipment,
/// `{other_ticket}` a ticket of ST-NB-001.
const OUT_OF_SCOPE: &[(&str, &str, &str)] = &[
    ("GET", "/api/v1/locations/ST-NB-001", "WST"),
    ("GET", "/api/v1/locations/ST-NB-001/tier", "WST"),
    ("GET", "/api/v1/locations/ST-NB-001/tier-history", "WST"),
    ("GET", "/api/v1/stock?location=ST-NB-001", "WS"),
    ("GET", "/api/v1/movements?location=ST-NB-001", "WS"),
    ("GET", "/api/v1/parts-requests?station=ST-NB-001", "WST"),
    ("GET", "/api/v1/parts-requests/{other}", "WST"),
    ("POST", "/api/v1/parts-requests/{other}/cancel", "WS"),
    ("POST", "/api/v1/parts-requests/{other}/approve", "W"),
    ("POST", "/api/v1/parts-requests/{other}/pick", "W"),
    ("POST", "/api/v1/parts-requests/{other}/receive", "WS"),
    ("GET", "/api/v1/shipments/{other_shipment}", "WSTC"),
    ("POST", "/api/v1/shipments/{other_shipment}/events", "C"),
    ("POST", "/api/v1/parts-requests", "W"),
    ("GET", "/api/v1/tickets/{other_ticket}", "ST"),
    ("GET", "/api/v1/tickets?station=ST-NB-001", "ST"),
    ("POST", "/api/v1/tickets/{other_ticket}/arrive", "ST"),
    ("POST", "/api/v1/tickets/{other_ticket}/await-parts", "ST"),
    ("POST", "/api/v1/tickets/{other_ticket}/close", "S"),
    ("GET", "/api/v1/stations/ST-NB-001/scorecard", "S"),
    ("GET", "/api/v1/settlements?period=2026-11&station=ST-NB-001", "S"),
];

/// Write ownership: state-changing operations that an actor able to *read* the object may not
/// do, because it does not own it (403 `forbidden`, nothing changed). `{lateral}` is a request
/// of ST-NB-002 (under RC-NB) that RC-HZ supplies in part from its stock: RC-HZ sees it and
/// picks and ships its own allocation, nothing else.
/// Writes refused (403) to an actor that can read the object: (method, path, actor, what the
/// actor reads). `{lateral}` is a request of ST-NB-002 that RC-HZ supplies in part, `{tender}`
/// the tender RC-HZ put its shipment of it out to, which RC-NB sees (the lane ends in its area).
const NOT_OWNER: &[(&str, &str, &str, &str)] = &[
    (
        "POST",
        "/api/v1/parts-requests/{lateral}/cancel",
        "warehouse-rc-hz",
        "/api/v1/parts-requests/{lateral}",
    ),
    ("POST", "/api/v1/parts-requests/{lateral}/close", "warehouse-rc-hz", "/api/v1/parts-requests/{lateral}"),
    (
        "POST",
        "/api/v1/parts-requests/{lateral}/approve",
        "warehouse-rc-hz",
        "/api/v1/parts-requests/{lateral}",
    ),
    (
        "POST",
        "/api/v1/parts-requests/{lateral}/reject",
        "warehouse-rc-hz",
        "/api/v1/parts-requests/{lateral}",
    ),
    (
        "POST",
        "/api/v1/parts-requests/{lateral}/receive",
        "warehouse-rc-hz",
        "/api/v1/parts-requests/{lateral}",
    ),
    ("POST", "/api/v1/tenders/{tender}/award", "warehouse-rc-nb", "/api/v1/tenders/{tender}"),
];

both!(a_reader_that_does_not_own_an_object_may_not_change_it, |app| async {
    let part = app.part().stock_at("RC-NB", 1).stock_at("RC-HZ", 2).create().await;
    let lateral = app.request().station("ST-NB-002").line(&part, 3).urgency("normal").create().await;
    let url = format!("/api/v1/parts-requests/{lateral}");
    let placed = app.get(&url, Some("admin")).await.ok().clone();
    let sources: Vec<&str> = placed["lines"][0]["allocations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["source"].as_str().unwrap())
        .collect();
    assert!(sources.contains(&"RC-HZ") && sources.contains(&"RC-NB"), "{placed}");
    // what RC-HZ does own it may do: pick and ship its allocation, and tender its shipment
    app.on_request(lateral, "pick", "warehouse-rc-hz").await.ok();
    app.on_request(lateral, "ship", "warehouse-rc-hz").await.ok();
    let shipment = app.shipments_of(lateral, "admin").await[0].clone();
    assert_eq!(shipment["status"], "awaiting_tender", "{shipment}");
    let deadline = (chrono::Utc::now() + chrono::Duration::hours(2)).to_rfc3339();
    let tender = app
        .post(
            "/api/v1/tenders",
            "warehouse-rc-hz",
            json!({"shipment_ids": [shipment["id"]], "bid_deadline": deadline}),
        )
        .await;
    let tender = tender.ok()["id"].as_i64().unwrap().to_string();
    app.warehouse_user("RC-NB").await;
    let concrete = |p: &str| p.replace("{lateral}", &lateral.to_string()).replace("{tender}", &tender);
    let before = app.get(&url, Some("admin")).await.ok().clone();
    let tender_before = app.get(&concrete("/api/v1/tenders/{tender}"), Some("admin")).await.ok().clone();
    let stock = (app.stock("RC-HZ", &part).await, app.stock("RC-NB", &part).await);
    let mut problems = Vec::new();
    for (method, path, user, reads) in NOT_OWNER {
        // the actor reads the object...
        app.get(&concrete(reads), Some(user)).await.ok();
        // ...and may not change it
        let path = concrete(path);
        let m = Method::from_bytes(method.as_bytes()).unwrap();
        let token = app.token(user).await;
        let r = app.send(m, &path, Some(&token), Some(json!({}))).await;
        if r.status != 403 || !r.text.contains("/problems/forbidden") {
            problems.push(format!("{method} {path} as {user}: {} {} (want 403 forbidden)", r.status, r.text));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let after = app.get(&url, Some("admin")).await.ok().clone();
    assert_eq!(after["status"], before["status"]);
    assert_eq!(after["lines"], before["lines"]);
    assert_eq!(
        app.get(&concrete("/api/v1/tenders/{tender}"), Some("admin")).await.ok().clone(),
        tender_before
    );
    assert_eq!((app.stock("RC-HZ", &part).await, app.stock("RC-NB", &part).await), stock);
});

/// The matrix as (method, path) -> the letters of the roles that may call it, or `public`.
pub fn matrix() -> BTreeMap<(String, String), String> {
    MATRIX
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            ((f[0].to_string(), f[1].to_string()), f[2].to_string())
        })
        .collect()
}

pub fn user(role: char) -> &'static str {
    match role {
        'A' => "admin",
        'W' => "warehouse-rc-hz",
        'S' => "station-st-tz-001",
        'T' => "tech-st-tz-001",
        'G' => "agent",
        'F' => "finance",
        'C' => "courier-1",
        _ => unreachable!(),
    }
}

pub const ROLES: [char; 7] = ['A', 'W', 'S', 'T', 'G', 'F', 'C'];

/// The example of an operation's JSON request body, from the document.
pub fn example_body(doc: &Value, op: &Value) -> Option<Value> {
    let content = op.get("requestBody")?.get("content")?;
    let schema = content.get("application/json")?.get("schema")?;
    let schema = match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => &doc["components"]["schemas"][r.trim_start_matches("#/components/schemas/")],
        None => schema,
    };
    schema
        .get("example")
        .cloned()
        .or_else(|| schema.get("examples").and_then(|e| e.get(0)).cloned())
        .or(Some(json!({})))
}

/// Objects in scope of every test user (ST-TZ-001's) and outside the scoped ones' (ST-NB-001's).
pub async fn fixtures(app: &TestApp) -> BTreeMap<&'static str, String> {
    let part = app.part().stock_at("RC-HZ", 10).stock_at("RC-NB", 10).create().await;
    // the own shipment goes urgently to courier-1 by rate card; the other waits for a tender
    let mk = |station: &'static str, urgency: &'static str| {
        let part = part.clone();
        async move {
            let id = app.request().station(station).line(&part, 1).urgency(urgency).create().await;
            app.on_request(id, "ship", "admin").await.ok();
            let s = app.shipments_of(id, "admin").await;
            (id.to_string(), s[0]["id"].as_i64().unwrap().to_string())
        }
    };
    let (own, own_shipment) = mk("ST-TZ-001", "urgent").await;
    let (other, other_shipment) = mk("ST-NB-001", "normal").await;
    let pending = app.part().stock_at("RC-HZ", 5).create().await;
    let own_open = app.request().station("ST-TZ-001").line(&pending, 1).send().await;
    let unit: Value = app.get("/api/v1/units?limit=1", Some("admin")).await.ok().clone();
    let model: Value = app.get("/api/v1/models?limit=1", Some("admin")).await.ok().clone();
    let tender = app
        .post("/api/v1/tenders", "admin", json!({"shipment_ids": [], "bid_deadline": "2099-01-01T00:00:00Z"}))
        .await;
    let _ = tender;
    // a ticket of ST-TZ-001 dispatched to its technician; a completed one drawn for a follow-up
    // call; a ticket of ST-NB-001
    let own_ticket = app.ticket().at("ST-TZ-001").dispatched_to("tech-st-tz-001").create().await.to_string();
    let resolved = json!({"job_type": "repair", "cause": "relay"});
    app.ticket()
        .at("ST-TZ-001")
        .dispatched_to("tech-st-tz-001")
        .resolved(resolved)
        .confirmed(json!({}))
        .create()
        .await;
    let sampled = app.post("/api/v1/follow-ups/sample", "agent", json!({})).await;
    let follow_up = sampled.ok()["created"][0]["id"].to_string();
    let other_ticket = app.ticket().at("ST-NB-001").create().await.to_string();
    BTreeMap::from([
        ("{code}/loc", "ST-TZ-001".to_string()),
        ("{code}/part", part),
        ("{code}/model", model["items"][0]["code"].as_str().unwrap().to_string()),
        ("{serial}", unit["items"][0]["serial"].as_str().unwrap().to_string()),
        ("{tier}", "B".to_string()),
        ("{id}/request", own_open.ok()["id"].to_string()),
        ("{id}/shipped", own),
        ("{id}/shipment", own_shipment),
        ("{id}/tender", "1".to_string()),
        ("{other}", other),
        ("{other_shipment}", other_shipment),
        ("{id}/ticket", own_ticket),
        ("{id}/follow-up", follow_up),
        ("{other_ticket}", other_ticket),
    ])
}

/// The path of an operation with its parameters filled with in-scope objects.
pub fn fill(path: &str, fx: &BTreeMap<&'static str, String>) -> String {
    let get = |k: &str| fx[k].clone();
    let with = |p: &str, key: &str, val: String| p.replace(key, &val);
    let mut p = path.to_string();
    // a demo user none of the matrix's callers is (a change of it refuses only its own tokens)
    p = with(&p, "/users/{username}", "/users/warehouse-hq".to_string());
    // the matrix's courier itself (another courier's is 404 to it: `shipping`'s tests)
    p = with(&p, "/couriers/{username}", "/couriers/courier-1".to_string());
    if p.contains("/locations/{code}") {
        p = with(&p, "{code}", get("{code}/loc"));
    }
    if p.contains("/parts/{code}") {
        p = with(&p, "{code}", get("{code}/part"));
    }
    if p.contains("/models/{code}") {
        p = with(&p, "{code}", get("{code}/model"));
    }
    if p.contains("/parts-requests/{id}/receive") {
        p = with(&p, "{id}", get("{id}/shipped"));
    }
    p = with(&p, "/parts-requests/{id}", format!("/parts-requests/{}", get("{id}/request")));
    p = with(&p, "/shipments/{id}", format!("/shipments/{}", get("{id}/shipment")));
    p = with(&p, "/tenders/{id}", format!("/tenders/{}", get("{id}/tender")));
    if p.contains("/stations/{code}") {
        p = with(&p, "{code}", get("{code}/loc"));
    }
    p = with(&p, "/tickets/{id}", format!("/tickets/{}", get("{id}/ticket")));
    p = with(&p, "/follow-ups/{id}", format!("/follow-ups/{}", get("{id}/follow-up")));
    p = with(&p, "{other_ticket}", get("{other_ticket}"));
    // loans and inspections: ids that do not exist (404 for whoever may ask, 403 for the rest)
    p = with(&p, "/loans/{id}", "/loans/999999".to_string());
    p = with(&p, "{line}", "1".to_string());
    p = with(&p, "/inspections/{id}", "/inspections/999999".to_string());
    p = with(&p, "{serial}", get("{serial}"));
    p = with(&p, "{tier}", get("{tier}"));
    p = with(&p, "{other}", get("{other}"));
    p = with(&p, "{other_shipment}", get("{other_shipment}"));
    // any other id: a number, so that the role is checked rather than the path refused
    with(&p, "{id}", "1".to_string())
}

both!(every_operation_answers_every_role_as_the_matrix_says, |app| async {
    let doc: Value = app.get("/api-docs/openapi.json", None).await.ok().clone();
    let table = matrix();
    let mut problems = Vec::new();
    let mut documented = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            documented.push((method.to_uppercase(), path.clone(), op.clone()));
        }
    }
    for (m, p, _) in &documented {
        if !table.contains_key(&(m.clone(), p.clone())) {
            problems.push(format!("{m} {p}: no entry in the authorization matrix"));
        }
    }
    for key in table.keys() {
        if !documented.iter().any(|(m, p, _)| (m, p) == (&key.0, &key.1)) {
            problems.push(format!("{} {}: in the matrix but not documented", key.0, key.1));
        }
    }
    let fx = fixtures(&app).await;
    for (method, path, op) in &documented {
        let Some(allowed) = table.get(&(method.clone(), path.clone())) else { continue };
        let url = fill(path, &fx);
        let body = example_body(&doc, op);
        let m = Method::from_bytes(method.as_bytes()).unwrap();
        if allowed == "public" {
            let r = app.send(m.clone(), &url, None, body.clone()).await;
            if r.status == 401 || r.status == 403 {
                problems.push(format!("{method} {path} is public but answered {} anonymously", r.status));
            }
            continue;
        }
        let anon = app.send(m.clone(), &url, None, body.clone()).await;
        if anon.status != 401 {
            problems.push(format!("{method} {path} without a token: {} (want 401)", anon.status));
        }
        for role in ROLES {
            let token = app.token(user(role)).await;
            let r = app.send(m.clone(), &url, Some(&token), body.clone()).await;
            let may = allowed.contains(role);
            if may && (r.status == 401 || r.status == 403) {
                problems.push(format!(
                    "{method} {url} as {}: {} but the matrix allows it: {}",
                    user(role),
                    r.status,
                    r.text
                ));
            }
            if !may && r.status != 403 {
                problems.push(format!("{method} {url} as {}: {} (want 403)", user(role), r.status));
            }
            if r.status >= 500 {
                problems.push(format!("{method} {url} as {}: server error {}", user(role), r.text));
            }
        }
    }
    for (method, path, roles) in OUT_OF_SCOPE {
        let url = fill(path, &fx);
        let body = if *method == "POST" && path.ends_with("parts-requests") {
            Some(json!({"station": "ST-NB-001", "lines": [{"part_code": fx["{code}/part"], "qty": 1}]}))
        } else if path.ends_with("/events") {
            Some(json!({"kind": "picked_up"}))
        } else {
            method.eq(&"POST").then(|| json!({}))
        };
        for role in roles.chars() {
            let token = app.token(user(role)).await;
            let r = app
                .send(Method::from_bytes(method.as_bytes()).unwrap(), &url, Some(&token), body.clone())
                .await;
            if r.status != 404 {
                problems.push(format!(
                    "{method} {url} as {}: {} (want 404, out of scope): {}",
                    user(role),
                    r.status,
                    r.text
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{} authorization problems:\n{}", problems.len(), problems.join("\n"));
});
