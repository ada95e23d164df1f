//! The catalogue (issue 4): self-checking part codes refused with the right suggestion, the
//! demo catalogue, and who may change what. Import/export, parts and models, and station
//! grading are in `catalogue/`.

mod grading;
mod models;
mod transfer;

use chrono::NaiveDate;
use diesel::prelude::*;
use echelon::catalogue::PartCode;
use reqwest::Method;
use serde_json::{json, Value};

use crate::both;
use crate::helpers::TestApp;

pub fn today() -> NaiveDate {
    chrono::Utc::now().date_naive()
}

/// Every part of the catalogue, walking the cursor.
pub async fn all_parts(app: &TestApp, query: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor = String::new();
    loop {
        let r = app.get(&format!("/api/v1/parts?limit=100{query}{cursor}"), Some("admin")).await;
        let body = r.ok().clone();
        items.extend(body["items"].as_array().unwrap().iter().cloned());
        match body["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => return items,
        }
    }
}

pub fn code_of(v: &Value) -> String {
    v["code"].as_str().unwrap().to_string()
}

/// The code with its `n`-th letter (A-Z) dropped.
pub fn drop_letter(code: &str, n: usize) -> String {
    let (i, _) = code.char_indices().filter(|(_, c)| c.is_ascii_uppercase()).nth(n).unwrap();
    format!("{}{}", &code[..i], &code[i + 1..])
}

pub async fn export(app: &TestApp, user: &str) -> String {
    let r = app.get("/api/v1/parts/export", Some(user)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.content_type().starts_with("text/csv"), "{}", r.content_type());
    r.text.strip_prefix('\u{feff}').expect("the file starts with a byte-order mark").to_string()
}

pub async fn import(app: &TestApp, user: &str, csv: &str) -> crate::helpers::Resp {
    import_as(app, user, "text/csv", csv.as_bytes().to_vec()).await
}

/// `POST /parts/import` of `body` sent as `content_type`.
pub async fn import_as(app: &TestApp, user: &str, content_type: &str, body: Vec<u8>) -> crate::helpers::Resp {
    app.raw(Method::POST, "/api/v1/parts/import", Some(user), content_type, body).await
}

both!(every_catalogue_column_exists_in_the_database, |app| async {
    use echelon::db::schema::*;
    app.state
        .db
        .read(|conn| {
            macro_rules! probe {
                ($($t:ident),*) => {$(
                    $t::table.select($t::all_columns).limit(0).execute(conn)?;
                )*};
            }
            probe!(
                parts,
                product_models,
                model_component_warranties,
                compatibility,
                product_units,
                unit_components
            );
            Ok(())
        })
        .await
        .unwrap();
});

both!(the_demo_catalogue_has_three_lines_of_models_parts_and_units, |app| async {
    let parts = all_parts(&app, "").await;
    assert!(parts.len() >= 200, "a few hundred parts, got {}", parts.len());
    for p in &parts {
        assert!(PartCode::parse(p["code"].as_str().unwrap()).is_ok(), "{p}");
    }
    let models = app.get("/api/v1/models?limit=500", Some("station-st-tz-001")).await.ok()["items"].clone();
    let models = models.as_array().unwrap();
    for line in ["RF", "AC", "WM"] {
        assert!(models.iter().filter(|m| m["line"] == line).count() >= 8, "models of {line}");
    }
    let rf = app.get("/api/v1/models/BCD-539WT", Some("agent")).await;
    assert_eq!(rf.ok()["component_warranty"]["CMP"], 120);
    // the installed base in pages: walked by cursor, every row once, in model then region order,
    // the same rows in pages of 500 as in pages of 37
    let walk = |limit: usize| {
        let app = &app;
        async move {
            let mut walked: Vec<Value> = Vec::new();
            let mut path = format!("/api/v1/installed-base?limit={limit}");
            loop {
                let page = app.get(&path, Some("finance")).await.ok().clone();
                let items = page["items"].as_array().unwrap();
                assert!(items.len() <= limit);
                walked.extend(items.iter().cloned());
                match page["next_cursor"].as_str() {
                    Some(c) => path = format!("/api/v1/installed-base?limit={limit}&cursor={c}"),
                    None => break,
                }
            }
            walked
        }
    };
    let whole = walk(500).await;
    assert!(whole.len() > 500, "{} rows: more than a page", whole.len());
    let total: i64 = whole.iter().map(|b| b["units"].as_i64().unwrap()).sum();
    assert!(total >= 900, "about 1000 units sold, got {total}");
    assert_eq!(walk(37).await, whole);
    let keys: Vec<(String, String)> =
        whole.iter().map(|b| (b["model"].to_string(), b["region"].to_string())).collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "in model then region order");
    // a line break or a tab is in no model code or region (the document's pattern says so)
    for bad in [
        "BCD-539WT",
        ":Zhejiang",
        "BCD-539WT:",
        "BCD-539WT:Zhe%0Ajiang",
        "BCD-539WT%09:Zhejiang",
        "BCD-539WT:Zhejiang%0D",
    ] {
        let r = app.get(&format!("/api/v1/installed-base?cursor={bad}"), Some("finance")).await;
        assert_eq!(r.problem(400)["type"], "/problems/invalid_query", "{bad}");
    }
    app.get("/api/v1/installed-base?limit=501", Some("finance")).await.problem(400);
    let zj = app.get("/api/v1/installed-base?model=BCD-539WT&region=Zhejiang", Some("admin")).await;
    let zj = zj.ok()["items"].as_array().unwrap().clone();
    assert!(!zj.is_empty() && zj.iter().all(|b| b["model"] == "BCD-539WT" && b["region"] == "Zhejiang"));
    let units = app.get("/api/v1/units?model=BCD-539WT&limit=5", Some("tech-st-tz-001")).await;
    let unit = units.ok()["items"][0].clone();
    let families: Vec<&str> =
        unit["components"].as_array().unwrap().iter().map(|c| c["family"].as_str().unwrap()).collect();
    assert_eq!(families, vec!["CMP", "PCB"], "{unit}");
    // a technician (who brings cores back) does not read the record's serials and dates
    assert!(unit["components"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["serial"].is_null() && c["production_date"].is_null()));
    let seen = app.get("/api/v1/units?model=BCD-539WT&limit=5", Some("warehouse-rc-hz")).await;
    let unit = &seen.ok()["items"][0];
    assert!(
        unit["components"][0]["serial"].is_string() && unit["components"][1]["production_date"].is_string()
    );
    assert_eq!(unit["warranty"][0]["covers"], "unit");
    let one =
        app.get(&format!("/api/v1/units/{}", unit["serial"].as_str().unwrap()), Some("courier-1")).await;
    assert_eq!(one.ok()["serial"], unit["serial"]);
    app.get("/api/v1/units/NOPE0000", Some("admin")).await.problem(404);
    // free text in the name, any case; filters combine
    let found = all_parts(&app, "&q=COMPRESSOR&line=RF").await;
    assert!(!found.is_empty());
    assert!(found
        .iter()
        .all(|p| p["name"].as_str().unwrap().to_lowercase().contains("compressor") && p["line"] == "RF"));
    assert!(all_parts(&app, "&q=100%25").await.is_empty(), "% in the text matches itself");
    let models = app.get("/api/v1/models?q=side-by&line=RF", Some("admin")).await;
    assert!(models.ok()["items"].as_array().unwrap().iter().any(|m| m["code"] == "BCD-539WT"));
});

both!(a_dropped_letter_is_refused_with_the_intended_code_first, |app| async {
    let parts = all_parts(&app, "").await;
    // a spread of codes over the three lines, each with each of its letters dropped in turn
    for p in parts.iter().step_by(17) {
        let code = code_of(p);
        let letters = code.chars().filter(char::is_ascii_uppercase).count();
        for n in 0..letters {
            let typo = drop_letter(&code, n);
            let r = app.get(&format!("/api/v1/parts/{typo}"), Some("station-st-tz-001")).await;
            let problem = r.problem(422);
            assert_eq!(problem["type"], "/problems/invalid_part_code", "{typo}");
            assert_eq!(problem["suggestions"][0], code.as_str(), "{typo}: {problem}");
        }
    }
    // a swapped pair fails the check, still 422 with the code first
    let code = code_of(&parts[3]);
    let mut swapped: Vec<char> = code.chars().collect();
    let at = (7..11).find(|&i| swapped[i] != swapped[i + 1]).unwrap();
    swapped.swap(at, at + 1);
    let swapped: String = swapped.into_iter().collect();
    let r = app.get(&format!("/api/v1/parts/{swapped}"), Some("admin")).await;
    assert_eq!(r.problem(422)["reason"], "check_failed");
    assert_eq!(r.json["suggestions"][0], code.as_str());
    // well formed with a right check, but no such part: 422 as every part code of no part,
    // with suggestions; a change of it is refused the same way
    let unknown =
        PartCode::issue("RF", "CMP", 99_990).or_else(|| PartCode::issue("RF", "CMP", 99_991)).unwrap();
    let r = app.get(&format!("/api/v1/parts/{unknown}"), Some("admin")).await;
    assert_eq!(r.problem(422)["type"], "/problems/unknown_part_code");
    assert!(r.json["suggestions"].is_array(), "{}", r.text);
    let r = app.patch(&format!("/api/v1/parts/{unknown}"), "admin", json!({"name": "x"})).await;
    assert_eq!(r.problem(422)["type"], "/problems/unknown_part_code");
    // lower case and spaces around are the same code
    let r = app.get(&format!("/api/v1/parts/%20{}", code.to_lowercase()), Some("admin")).await;
    assert_eq!(r.ok()["code"], code.as_str());
});

both!(with_a_model_in_context_only_compatible_parts_are_suggested, |app| async {
    let model = "BCD-539WT";
    let fits: Vec<String> =
        app.get(&format!("/api/v1/models/{model}/parts?limit=500"), Some("admin")).await.ok()["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(code_of)
            .collect();
    assert!(!fits.is_empty());
    let others: Vec<String> =
        all_parts(&app, "&line=RF").await.iter().map(code_of).filter(|c| !fits.contains(c)).collect();
    let foreign = &others[others.len() / 2];
    let typo = drop_letter(foreign, 3);
    let plain = app.get(&format!("/api/v1/parts/{typo}"), Some("admin")).await;
    assert_eq!(plain.problem(422)["suggestions"][0], foreign.as_str());
    let scoped = app.get(&format!("/api/v1/parts/{typo}?model={model}"), Some("admin")).await;
    let suggestions = scoped.problem(422)["suggestions"].as_array().unwrap().clone();
    assert!(
        !suggestions.iter().any(|s| s == foreign.as_str()),
        "{foreign} does not fit {model}: {suggestions:?}"
    );
    assert!(suggestions.iter().all(|s| fits.iter().any(|f| s == f.as_str())), "{suggestions:?}");
    // a compatible part's typo still comes back first within the model
    let typo = drop_letter(&fits[0], 2);
    let r = app.get(&format!("/api/v1/parts/{typo}?model={model}"), Some("admin")).await;
    assert_eq!(r.problem(422)["suggestions"][0], fits[0].as_str());
    app.get(&format!("/api/v1/parts/{typo}?model=NO-SUCH"), Some("admin")).await.problem(422);
    // the list filter by model gives the same parts
    let listed: Vec<String> = all_parts(&app, &format!("&model={model}")).await.iter().map(code_of).collect();
    assert_eq!(listed, fits);
});

both!(a_station_reads_the_catalogue_but_changes_nothing, |app| async {
    let st = "station-st-tz-001";
    let code = code_of(&app.get("/api/v1/parts?limit=1", Some(st)).await.ok()["items"][0]);
    app.get(&format!("/api/v1/parts/{code}"), Some(st)).await.ok();
    app.get("/api/v1/models", Some(st)).await.ok();
    app.get("/api/v1/models/BCD-539WT/parts", Some(st)).await.ok();
    app.get("/api/v1/units?limit=3", Some(st)).await.ok();
    assert!(export(&app, st).await.starts_with("code,name,line,family"));
    let part = json!({"line": "RF", "family": "CMP", "name": "x", "unit_of_measure": "pcs", "unit_cost": "1",
                      "sale_price": "1", "serialized": false, "core_returnable": false, "weight_grams": 1});
    for user in [st, "warehouse-rc-hz", "agent", "finance"] {
        app.post("/api/v1/parts", user, part.clone()).await.problem(403);
    }
    app.patch(&format!("/api/v1/parts/{code}"), st, json!({"name": "x"})).await.problem(403);
    app.post(
        "/api/v1/models/BCD-539WT/parts",
        st,
        json!({"parts": [{"part_code": code, "qty_per_unit": 1}]}),
    )
    .await
    .problem(403);
    app.patch("/api/v1/models/BCD-539WT", st, json!({"name": "x"})).await.problem(403);
    app.put("/api/v1/locations/ST-TZ-001/tier", st, json!({"tier": "A", "reason": "we are great"}))
        .await
        .problem(403);
    app.put(
        "/api/v1/tiers/A",
        st,
        json!({"credit_allowance": "1", "may_order_from_hq": true, "allocation_priority": 1,
        "core_return_days": 1, "labour_rates": {"repair": "1", "install": "1", "maintenance": "1", "inspection": "1"}}),
    )
    .await
    .problem(403);
    app.get("/api/v1/parts", None).await.problem(401);
    // bad queries are 400, not 500
    app.get("/api/v1/parts?lifecycle=dead", Some(st)).await.problem(400);
    app.get("/api/v1/parts?limit=0", Some(st)).await.problem(400);
    app.get("/api/v1/units?colour=red", Some(st)).await.problem(400);
});
