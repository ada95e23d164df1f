//! Parts created with issued codes and superseded; product models, compatibility, units sold
//! and the installed base.

use chrono::Days;
use echelon::catalogue::PartCode;
use serde_json::json;

use super::{all_parts, code_of, drop_letter, today};
use crate::both;

both!(admins_create_parts_with_issued_codes_and_supersede_them, |app| async {
    let body = json!({"line": "RF", "family": "CMP", "name": "Compressor 150 W R600a", "unit_of_measure": "pcs",
                      "unit_cost": "450.00", "sale_price": "760.5", "serialized": true, "core_returnable": true,
                      "weight_grams": 10100});
    let r = app.post("/api/v1/parts", "admin", body.clone()).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let new = code_of(&r.json);
    assert!(new.starts_with("RF-CMP-") && PartCode::parse(&new).is_ok());
    assert_eq!(r.json["sale_price"], "760.50");
    assert_eq!(r.headers["location"], format!("/api/v1/parts/{new}").as_str());
    let second = code_of(&app.post("/api/v1/parts", "admin", body.clone()).await.ok().clone());
    assert!(PartCode::parse(&second).unwrap().seq() > PartCode::parse(&new).unwrap().seq());
    // no two codes are one dropped character apart, so a typo of either names it first
    for code in [&new, &second] {
        let typo = drop_letter(code, 4);
        let r = app.get(&format!("/api/v1/parts/{typo}"), Some("admin")).await;
        assert_eq!(r.problem(422)["suggestions"][0], code.as_str());
    }

    let bad = app.post("/api/v1/parts", "admin", json!({"line": "rf", "family": "CM", "name": " ", "unit_of_measure": "PCS",
        "unit_cost": "-1", "sale_price": "1", "serialized": true, "core_returnable": true, "weight_grams": -5})).await;
    let fields: Vec<String> = bad.problem(422)["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_string())
        .collect();
    for f in ["line", "family", "name", "unit_of_measure", "unit_cost", "weight_grams"] {
        assert!(fields.iter().any(|x| x == f), "{f} in {fields:?}");
    }

    // supersession: new -> second, then a loop back is refused
    let r = app.patch(&format!("/api/v1/parts/{new}"), "admin", json!({"superseded_by": second})).await;
    assert_eq!(r.problem(422)["errors"][0]["field"], "interchangeability");
    let r = app
        .patch(
            &format!("/api/v1/parts/{new}"),
            "admin",
            json!({"superseded_by": second, "interchangeability": "two_way", "lifecycle": "phase_out"}),
        )
        .await;
    assert_eq!(r.ok()["successor"]["code"], second.as_str());
    assert_eq!(r.json["lifecycle"], "phase_out");
    let r = app
        .patch(
            &format!("/api/v1/parts/{second}"),
            "admin",
            json!({"superseded_by": new, "interchangeability": "one_way"}),
        )
        .await;
    assert_eq!(r.problem(422)["type"], "/problems/supersession_cycle");
    let typo = drop_letter(&second, 1);
    let r = app
        .patch(
            &format!("/api/v1/parts/{new}"),
            "admin",
            json!({"superseded_by": typo, "interchangeability": "one_way"}),
        )
        .await;
    assert_eq!(r.problem(422)["suggestions"][0], second.as_str());
    let r = app.patch(&format!("/api/v1/parts/{new}"), "admin", json!({"superseded_by": null})).await;
    assert!(r.ok()["superseded_by"].is_null() && r.json["interchangeability"].is_null());
    app.patch(&format!("/api/v1/parts/{}", drop_letter(&new, 0)), "admin", json!({"name": "x"}))
        .await
        .problem(422);
});

both!(models_compatibility_and_units_are_recorded, |app| async {
    let model = json!({"code": "BCD-999TEST", "line": "RF", "name": "Test fridge", "launch_date": "2024-01-01",
                       "warranty_months": 12, "component_warranty": {"CMP": 120}});
    let r = app.post("/api/v1/models", "admin", model.clone()).await;
    assert_eq!(r.status, 201, "{}", r.text);
    app.post("/api/v1/models", "admin", model.clone()).await.problem(409);
    app.post("/api/v1/models", "station-st-tz-001", model.clone()).await.problem(403);
    let bad = app
        .post(
            "/api/v1/models",
            "admin",
            json!({"code": "bcd/1", "line": "R", "name": "x", "launch_date": "2024-01-01",
        "end_of_production": "2023-01-01", "warranty_months": 999, "component_warranty": {"cmp": 0}}),
        )
        .await;
    assert_eq!(bad.problem(422)["errors"].as_array().unwrap().len(), 5, "{}", bad.text);

    let rf = all_parts(&app, "&line=RF&family=CMP").await;
    let pcb = all_parts(&app, "&line=RF&family=PCB").await;
    let (cmp, board) = (code_of(&rf[0]), code_of(&pcb[0]));
    let r = app.post("/api/v1/models/BCD-999TEST/parts", "admin", json!({"parts": [{"part_code": cmp, "qty_per_unit": 1}, {"part_code": board, "qty_per_unit": 1}]})).await;
    assert_eq!(r.ok().as_array().unwrap().len(), 2);
    let ac = code_of(&all_parts(&app, "&line=AC&family=CMP").await[0]);
    let r = app
        .post(
            "/api/v1/models/BCD-999TEST/parts",
            "admin",
            json!({"parts": [{"part_code": ac, "qty_per_unit": 1}]}),
        )
        .await;
    assert_eq!(r.problem(422)["type"], "/problems/line_mismatch");
    let listed = app.get("/api/v1/models/BCD-999TEST/parts", Some("station-st-tz-001")).await;
    assert_eq!(listed.ok()["items"].as_array().unwrap().len(), 2);

    let ship = today().checked_sub_days(Days::new(30)).unwrap();
    let unit = json!({"serial": "RFTEST0001", "model": "BCD-999TEST", "ship_date": ship, "region": "Zhejiang",
                      "components": [{"part_code": cmp, "serial": "CMPTEST0001"}, {"part_code": board, "production_date": ship}]});
    app.post("/api/v1/units", "station-st-tz-001", unit.clone()).await.problem(403);
    let r = app.post("/api/v1/units", "agent", unit.clone()).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["warranty"][1]["covers"], "CMP");
    assert_eq!(r.json["warranty"][1]["active"], true);
    app.post("/api/v1/units", "agent", unit.clone()).await.problem(409);
    // a serial differing only in case is the same unit: no twin with another ship date (and so
    // another warranty), and the unit is found as people type it
    let mut twin = unit.clone();
    twin["serial"] = json!("rfTEST0001");
    twin["ship_date"] = json!(today());
    twin["components"] = json!([]);
    let r = app.post("/api/v1/units", "agent", twin).await;
    assert_eq!(r.problem(409)["type"], "/problems/already_exists", "{}", r.text);
    let found = app.get("/api/v1/units/rftest0001", Some("agent")).await;
    assert_eq!(
        (found.ok()["serial"].as_str(), found.json["ship_date"].as_str()),
        (Some("RFTEST0001"), Some(&*ship.to_string()))
    );
    let lower =
        json!({"serial": "rftest0005", "model": "BCD-999TEST", "ship_date": ship, "region": "Zhejiang"});
    let r = app.post("/api/v1/units", "agent", lower).await;
    assert_eq!((r.status, r.json["serial"].as_str()), (201, Some("RFTEST0005")), "{}", r.text);
    // a component that does not fit the model, a region outside the network, a future ship date
    let wrong = json!({"serial": "RFTEST0002", "model": "BCD-999TEST", "ship_date": ship, "region": "Zhejiang",
                       "components": [{"part_code": code_of(&rf[1]), "serial": "CMPTEST0002"}]});
    assert_eq!(
        app.post("/api/v1/units", "admin", wrong).await.problem(422)["type"],
        "/problems/incompatible_part"
    );
    let wrong =
        json!({"serial": "RFTEST0003", "model": "BCD-999TEST", "ship_date": ship, "region": "Atlantis"});
    assert_eq!(app.post("/api/v1/units", "admin", wrong).await.problem(422)["errors"][0]["field"], "region");
    let wrong = json!({"serial": "RFTEST0004", "model": "BCD-999TEST", "ship_date": today().checked_add_days(Days::new(3)).unwrap(), "region": "Zhejiang"});
    app.post("/api/v1/units", "admin", wrong).await.problem(422);
    let base = app.get("/api/v1/installed-base?model=BCD-999TEST", Some("admin")).await;
    // RFTEST0001 and RFTEST0005 (its lower-case twin refused)
    assert_eq!(
        base.ok(),
        &json!({"items": [{"model": "BCD-999TEST", "region": "Zhejiang", "units": 2}], "next_cursor": null})
    );
    let base = app
        .get(
            &format!("/api/v1/installed-base?model=BCD-999TEST&on={}", ship.pred_opt().unwrap()),
            Some("admin"),
        )
        .await;
    assert_eq!(base.ok(), &json!({"items": [], "next_cursor": null}));
    let r = app
        .patch(
            "/api/v1/models/BCD-999TEST",
            "admin",
            json!({"end_of_production": "2026-01-01", "component_warranty": {"CMP": 60}}),
        )
        .await;
    assert_eq!(r.ok()["component_warranty"], json!({"CMP": 60}));
});
