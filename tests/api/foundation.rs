//! The platform: demo network, login, scoping, locations, tiers, ops endpoints, OpenAPI.

use serde_json::{json, Value};

use crate::both;
use crate::helpers::TestApp;

/// Every location visible to `user`, walking the cursor.
async fn all_locations(app: &TestApp, user: &str, page: usize) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor = String::new();
    loop {
        let r = app.get(&format!("/api/v1/locations?limit={page}{cursor}"), Some(user)).await;
        let body = r.ok().clone();
        items.extend(body["items"].as_array().unwrap().iter().cloned());
        match body["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => return items,
        }
    }
}

fn codes(items: &[Value]) -> Vec<&str> {
    items.iter().map(|i| i["code"].as_str().unwrap()).collect()
}

both!(admin_lists_the_whole_demo_network, |app| async {
    let r = app.get("/api/v1/locations?limit=500", Some("admin")).await;
    let items = r.ok()["items"].as_array().unwrap().clone();
    let count = |kind: &str| items.iter().filter(|i| i["kind"] == kind).count();
    assert_eq!(count("central_warehouse"), 1);
    assert_eq!(count("regional_centre"), 30);
    assert!(count("station") >= 200, "a few hundred stations, got {}", count("station"));
    let c = codes(&items);
    for code in ["HQ", "RC-HZ", "RC-NB", "RC-SH", "ST-TZ-001"] {
        assert!(c.contains(&code), "{code} missing");
    }
    let tz = items.iter().find(|i| i["code"] == "ST-TZ-001").unwrap();
    assert_eq!(tz["tier"], "B");
    assert_eq!(tz["parent"], "RC-HZ");
    let under_hz: Vec<&Value> = items.iter().filter(|i| i["parent"] == "RC-HZ").collect();
    for tier in ["A", "B", "C", "D"] {
        assert!(under_hz.iter().any(|i| i["tier"] == tier), "no tier {tier} station under RC-HZ");
    }
    assert!(r.json["next_cursor"].is_null());
});

both!(pages_walk_every_location_once_in_code_order, |app| async {
    let whole =
        app.get("/api/v1/locations?limit=500", Some("admin")).await.ok()["items"].as_array().unwrap().len();
    let paged = all_locations(&app, "admin", 37).await;
    let c = codes(&paged);
    assert_eq!(c.len(), whole);
    let mut sorted = c.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, c, "pages are in code order without repeats");
});

both!(a_station_sees_itself_and_its_chain_but_no_other_station, |app| async {
    let st = "station-st-tz-001";
    let r = app.get("/api/v1/locations/ST-TZ-001", Some(st)).await;
    assert_eq!(r.ok()["code"], "ST-TZ-001");
    app.get("/api/v1/locations/RC-HZ", Some(st)).await.ok();
    app.get("/api/v1/locations/HQ", Some(st)).await.ok();
    let other = app.get("/api/v1/locations/ST-HZ-001", Some(st)).await;
    other.problem(404);
    assert!(!other.text.contains("Hangzhou"), "a 404 says nothing about the hidden station");
    let mine = all_locations(&app, st, 2).await;
    let mut c = codes(&mine);
    c.sort();
    assert_eq!(c, vec!["HQ", "RC-HZ", "ST-TZ-001"]);
    // the technician of the station sees the same
    let tech = all_locations(&app, "tech-st-tz-001", 50).await;
    assert_eq!(tech.len(), 3);
});

both!(a_centre_sees_its_stations_and_not_another_centre, |app| async {
    let mine = all_locations(&app, "warehouse-rc-hz", 500).await;
    let c = codes(&mine);
    assert!(c.contains(&"ST-TZ-001") && c.contains(&"HQ") && c.contains(&"RC-HZ"));
    assert!(!c.contains(&"RC-NB"));
    assert!(mine.iter().all(|l| l["kind"] != "station" || l["parent"] == "RC-HZ"));
    app.get("/api/v1/locations/RC-NB", Some("warehouse-rc-hz")).await.problem(404);
    app.get("/api/v1/locations/ST-TZ-001", Some("warehouse-rc-hz")).await.ok();
    // filters combine with the scope
    let stations = app.get("/api/v1/locations?kind=station&tier=B&limit=500", Some("warehouse-rc-hz")).await;
    assert!(stations.ok()["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|l| l["tier"] == "B" && l["parent"] == "RC-HZ"));
});

both!(me_names_the_caller_and_its_location, |app| async {
    let r = app.get("/api/v1/me", Some("station-st-tz-001")).await;
    assert_eq!(r.ok()["role"], "station");
    assert_eq!(r.json["location"], "ST-TZ-001");
    let r = app.get("/api/v1/me", Some("finance")).await;
    assert_eq!(r.ok()["role"], "finance");
    assert!(r.json["location"].is_null());
});

both!(login_refuses_a_wrong_password_and_an_unknown_user_alike, |app| async {
    for (u, p) in [("admin", "wrong-password"), ("nobody", "echelon-demo")] {
        let r = app
            .send(
                reqwest::Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({"username": u, "password": p})),
            )
            .await;
        assert_eq!(r.problem(401)["detail"], "wrong username or password");
    }
    let r = app
        .send(
            reqwest::Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"username": "admin", "password": "echelon-demo"})),
        )
        .await;
    assert_eq!(r.ok()["token_type"], "Bearer");
    assert!(r.json["expires_in"].as_i64().unwrap() > 0);
});

both!(admin_creates_and_changes_locations_and_others_may_not, |app| async {
    let new = json!({"code": "ST-HZ-101", "name": "Hangzhou Xihu station", "kind": "station",
                     "parent": "RC-HZ", "city": "Hangzhou", "tier": "C", "lead_time_days": 1});
    app.post("/api/v1/locations", "station-st-tz-001", new.clone()).await.problem(403);
    app.post("/api/v1/locations", "warehouse-rc-hz", new.clone()).await.problem(403);
    let r = app.post("/api/v1/locations", "admin", new.clone()).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.headers["location"], "/api/v1/locations/ST-HZ-101");
    assert_eq!(r.json["parent"], "RC-HZ");
    app.post("/api/v1/locations", "admin", new.clone()).await.problem(409);
    // the new station is in the centre's scope at once, and not in a sibling's
    app.get("/api/v1/locations/ST-HZ-101", Some("warehouse-rc-hz")).await.ok();
    app.get("/api/v1/locations/ST-HZ-101", Some("station-st-tz-001")).await.problem(404);

    let bad = app
        .post(
            "/api/v1/locations",
            "admin",
            json!({"code": "ST-HZ-102", "name": "x", "kind": "station", "parent": "HQ", "tier": "C"}),
        )
        .await;
    assert!(bad.problem(422)["detail"].as_str().unwrap().contains("regional_centre"));
    let bad = app
        .post(
            "/api/v1/locations",
            "admin",
            json!({"code": "st hz", "name": " ", "kind": "station", "parent": "RC-HZ", "tier": "C"}),
        )
        .await;
    let errors = bad.problem(422)["errors"].as_array().unwrap().clone();
    let fields: Vec<&str> = errors.iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, vec!["code", "name"]);
    app.post(
        "/api/v1/locations",
        "admin",
        json!({"code": "HQ-2", "name": "Second HQ", "kind": "central_warehouse"}),
    )
    .await
    .problem(422);

    let r = app
        .patch(
            "/api/v1/locations/ST-HZ-101",
            "admin",
            json!({"name": "Xihu station", "city": null, "lead_time_days": 2}),
        )
        .await;
    assert_eq!(r.ok()["name"], "Xihu station");
    assert!(r.json["city"].is_null());
    assert_eq!(r.json["lead_time_days"], 2);
    app.patch("/api/v1/locations/ST-HZ-101", "admin", json!({"lead_time_days": 9999})).await.problem(422);
    app.patch("/api/v1/locations/NOPE-1", "admin", json!({"name": "x"})).await.problem(404);
    app.patch("/api/v1/locations/ST-TZ-001", "station-st-tz-001", json!({"name": "x"})).await.problem(403);
});

both!(couriers_may_not_browse_the_network, |app| async {
    app.get("/api/v1/locations", Some("courier-1")).await.problem(403);
    app.get("/api/v1/locations/HQ", Some("courier-1")).await.problem(403);
});

both!(tiers_are_listed_with_money_as_exact_strings, |app| async {
    let r = app.get("/api/v1/tiers", Some("station-st-tz-001")).await;
    let tiers = r.ok().as_array().unwrap().clone();
    assert_eq!(tiers.len(), 4);
    assert_eq!(tiers[0]["tier"], "A");
    assert_eq!(tiers[0]["credit_allowance"], "200000.00");
    assert_eq!(tiers[2]["may_order_from_hq"], false);
    assert_eq!(tiers[1]["labour_rates"]["repair"], "100.00");
});

both!(health_readiness_and_metrics_answer, |app| async {
    let r = app.get("/healthz", None).await;
    assert_eq!(r.ok()["status"], "ok");
    let r = app.get("/readyz", None).await;
    assert_eq!(r.ok()["status"], "ready");
    assert_eq!(r.json["database"], app.backend.name());
    app.get("/api/v1/locations/HQ", Some("admin")).await.ok();
    let m = app.get("/metrics", None).await;
    assert_eq!(m.status, 200);
    assert!(m.content_type().starts_with("text/plain"));
    assert!(
        m.text.contains(
            r#"echelon_http_requests_total{method="GET",route="/api/v1/locations/{code}",status="200"} 1"#
        ),
        "{}",
        m.text
    );
    assert!(m.text.contains("echelon_http_request_duration_seconds_bucket"));
    assert!(m.text.contains("echelon_db_pool_connections"));
    assert!(r.headers.contains_key("x-request-id"));
});

both!(the_served_openapi_document_is_the_committed_one, |app| async {
    let served = app.get("/api-docs/openapi.json", None).await;
    let doc = served.ok();
    assert_eq!(doc["openapi"], "3.1.0");
    let committed: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json"))
            .expect("openapi/openapi.json is committed"),
    )
    .unwrap();
    assert!(
        *doc == committed,
        "openapi/openapi.json is stale: run `cargo run -- openapi --out openapi/openapi.json`"
    );
    assert!(doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer");
    // every operation has a tag, a summary, an example-bearing success body and its errors
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            assert!(op["tags"].as_array().is_some_and(|t| !t.is_empty()), "{method} {path} has no tag");
            assert!(op["summary"].is_string(), "{method} {path} has no summary");
            let responses = op["responses"].as_object().unwrap();
            assert!(responses.keys().any(|k| k.starts_with('2')), "{method} {path} has no success response");
            if op.get("security").is_some() {
                assert!(responses.contains_key("401"), "{method} {path} lacks its 401");
            }
            // an operation that names the roles that may call it refuses the others
            let names_roles = op["security"]
                .as_array()
                .is_some_and(|s| s.iter().any(|r| r["bearer"].as_array().is_some_and(|b| !b.is_empty())));
            if names_roles {
                assert!(responses.contains_key("403"), "{method} {path} lacks its 403");
            }
            // the gate refuses every role it does not find named: a misspelled one would be
            let roles = op["security"].as_array().into_iter().flatten().flat_map(|r| r["bearer"].as_array());
            for role in roles.flatten() {
                let known = ["admin", "warehouse", "station", "technician", "agent", "finance", "courier"];
                assert!(known.contains(&role.as_str().unwrap_or("")), "{method} {path}: no role {role}");
            }
        }
    }
});

/// Every `$ref` under `v`, with where it was found.
fn refs<'a>(v: &'a Value, at: &str, out: &mut Vec<(String, &'a str)>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("$ref", Value::String(r)) => out.push((at.to_string(), r)),
                    _ => refs(x, &format!("{at}/{k}"), out),
                }
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                refs(x, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

both!(every_ref_of_the_openapi_document_resolves, |app| async {
    let served = app.get("/api-docs/openapi.json", None).await;
    let doc = served.ok();
    let mut found = Vec::new();
    refs(doc, "", &mut found);
    assert!(found.len() > 50, "the document refers to its components ({} refs)", found.len());
    let dangling: Vec<String> = found
        .iter()
        .filter(|(_, r)| {
            // a local JSON pointer into the components (`#/components/schemas/Name`)
            let Some(pointer) = r.strip_prefix('#') else { return true };
            !pointer.starts_with("/components/") || doc.pointer(pointer).is_none()
        })
        .map(|(at, r)| format!("{r} (at {at})"))
        .collect();
    assert!(dangling.is_empty(), "$refs to components the document does not define: {dangling:#?}");
});

both!(swagger_ui_is_served_from_the_binary, |app| async {
    let page = app.get("/swagger-ui/", None).await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("swagger-ui"), "{}", page.text);
    let init = app.get("/swagger-ui/swagger-initializer.js", None).await;
    assert_eq!(init.status, 200);
    assert!(init.text.contains("/api-docs/openapi.json"));
    for asset in ["swagger-ui-bundle.js", "swagger-ui.css", "swagger-ui-standalone-preset.js"] {
        let r = app.get(&format!("/swagger-ui/{asset}"), None).await;
        assert_eq!(r.status, 200, "{asset}");
        assert!(r.text.len() > 1000, "{asset} is served from the binary");
    }
    for text in [&page.text, &init.text] {
        assert!(!text.contains("https://"), "no CDN: the page loads nothing from the network");
    }
    // the token pasted into Authorize survives a reload
    assert!(init.text.replace(' ', "").contains("\"persistAuthorization\":true"), "{}", init.text);
    // the front door and the UI's address without its slash lead to the UI
    let plain = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    for path in ["/", "/swagger-ui"] {
        let r = plain.get(format!("{}{path}", app.base)).send().await.unwrap();
        assert_eq!(r.status(), 308, "{path}");
        assert_eq!(r.headers()["location"], "/swagger-ui/", "{path}");
    }
    assert!(app.get("/", None).await.text.contains("swagger-ui"), "followed, / shows the UI");
});

/// What a third-party client generator needs of the document: one name per schema and per
/// operation, and optional bodies it can leave out.
#[test]
fn the_openapi_document_is_fit_for_client_generators() {
    let doc: Value = serde_json::from_str(&echelon::openapi::document_json()).unwrap();
    let mut operation_ids = std::collections::BTreeMap::<String, Vec<String>>::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap_or_default().to_string();
            operation_ids.entry(id).or_default().push(format!("{method} {path}"));
            // an optional body is the body's schema by reference and not required, never
            // `oneOf [null, body]`
            if let Some(body) = op.get("requestBody") {
                for (media, content) in body["content"].as_object().unwrap() {
                    let schema = &content["schema"];
                    assert!(schema.get("oneOf").is_none(), "{method} {path} {media}: {schema}");
                }
            }
        }
    }
    let shared: Vec<_> = operation_ids.iter().filter(|(_, ops)| ops.len() > 1).collect();
    assert!(shared.is_empty(), "operationIds used twice: {shared:?}");
    // a page's items are the item's own schema, by reference, not a copy of it
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let pages: Vec<_> = schemas.keys().filter(|k| k.starts_with("Page_")).collect();
    assert!(pages.len() > 10, "{pages:?}");
    for page in pages {
        let item = page.trim_start_matches("Page_");
        assert!(schemas.contains_key(item), "{page} pages a schema the document does not name");
        assert_eq!(
            schemas[page]["properties"]["items"]["items"]["$ref"],
            format!("#/components/schemas/{item}"),
            "{page}"
        );
    }
    // utoipa names a schema after its type and keeps the last of two types of one name, so a
    // clash cannot be seen in the document: the sources are read for it
    let mut names = std::collections::BTreeMap::<String, Vec<String>>::new();
    let mut files = vec![std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/src"))];
    while let Some(at) = files.pop() {
        if at.is_dir() {
            files.extend(std::fs::read_dir(&at).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        if at.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&at).unwrap();
        let mut deriving = false;
        let mut alias = None;
        for line in text.lines().map(str::trim) {
            if line.starts_with("#[derive(") && line.contains("ToSchema") {
                deriving = true;
            } else if deriving && line.starts_with("#[schema(as = ") {
                alias =
                    line.trim_start_matches("#[schema(as = ").split([')', ',']).next().map(str::to_string);
            } else if deriving && (line.starts_with("pub struct ") || line.starts_with("pub enum ")) {
                let name =
                    line.split_whitespace().nth(2).unwrap().split(['<', '{', '(', ';']).next().unwrap();
                let name = alias.take().unwrap_or_else(|| name.to_string());
                names.entry(name).or_default().push(at.display().to_string());
                deriving = false;
            }
        }
    }
    let clashes: Vec<_> = names.iter().filter(|(_, at)| at.len() > 1).collect();
    assert!(clashes.is_empty(), "two schema types share a name: {clashes:?}");
    assert!(names.len() > 100, "the scan found the schema types: {}", names.len());
}

both!(a_stock_count_adjusts_the_books_within_its_rules_and_scope, |app| async {
    let part = app.part().stock_at("RC-HZ", 5).create().await;
    let count = |user: &'static str, location: &'static str, qty: i64| {
        let part = part.clone();
        let app = &app;
        async move {
            app.post(
                "/api/v1/stock-counts",
                user,
                json!({"location": location, "part_code": part, "counted_qty": qty, "reason": "cycle count"}),
            )
            .await
        }
    };
    // counted as the books hold it: no movement
    let same = count("warehouse-rc-hz", "RC-HZ", 5).await;
    assert_eq!(same.status, 201, "{}", same.text);
    assert!(same.json["movement"].is_null());
    // two fewer: a count_adjustment to ADJUSTMENT, by whom and why
    let less = count("warehouse-rc-hz", "RC-HZ", 3).await;
    assert_eq!(less.status, 201, "{}", less.text);
    assert_eq!(less.json["previous_on_hand"], 5);
    let m = &less.json["movement"];
    assert_eq!(
        (m["qty"].as_i64(), m["from"].as_str(), m["to"].as_str()),
        (Some(2), Some("RC-HZ"), Some("ADJUSTMENT"))
    );
    assert_eq!(
        (m["reason"].as_str(), m["actor"].as_str()),
        (Some("count_adjustment"), Some("warehouse-rc-hz"))
    );
    assert_eq!(app.stock("RC-HZ", &part).await.0, 3);
    // a request reserves two: a count below them is refused, and nothing changes
    let r = app.request().line(&part, 2).create().await;
    assert!(r > 0);
    let below = count("warehouse-rc-hz", "RC-HZ", 1).await;
    assert_eq!(below.problem(409)["reserved"], 2, "{}", below.text);
    assert_eq!(app.stock("RC-HZ", &part).await, (3, 2, 1));
    // another centre's warehouse is outside the scope (404, nothing said of it); a station may
    // not write off the stock it holds; neither changes anything
    count("warehouse-rc-hz", "RC-NB", 9).await.problem(404);
    count("station-st-tz-001", "ST-TZ-001", 9).await.problem(403);
    count("station-st-tz-001", "RC-HZ", 0).await.problem(403);
    assert_eq!(app.stock("RC-HZ", &part).await, (3, 2, 1));
    assert_eq!(app.stock("ST-TZ-001", &part).await.0, 0);
    // the centre's warehouse counts one of its stations
    let st = count("warehouse-rc-hz", "ST-TZ-001", 1).await;
    assert_eq!(st.status, 201, "{}", st.text);
    assert_eq!(app.stock("ST-TZ-001", &part).await.0, 1);
});
