//! Station regrading (`PUT /locations/{code}/tier`, kept as history; the tier on a date) and
//! tier terms (`PUT /tiers/{tier}`).

use chrono::{Days, NaiveDate};
use serde_json::{json, Value};

use super::today;
use crate::both;

both!(station_regrading_keeps_history_and_answers_the_tier_on_a_date, |app| async {
    let t = today();
    // the day the template was graded: the test may run on a later day than the template was built
    let before = app.get("/api/v1/locations/ST-TZ-001/tier-history", Some("admin")).await;
    let graded: NaiveDate = before.ok()["history"][0]["effective_from"].as_str().unwrap().parse().unwrap();
    assert!(graded <= t);
    let ahead = t.checked_add_days(Days::new(10)).unwrap();
    let r = app
        .put(
            "/api/v1/locations/ST-TZ-001/tier",
            "admin",
            json!({"tier": "A", "effective_from": ahead, "reason": "new workshop"}),
        )
        .await;
    assert_eq!(r.ok()["tier"], "B", "in force today: still B");
    assert_eq!(r.json["history"].as_array().unwrap().len(), 2);
    let tier_on = |d: NaiveDate| {
        let app = &app;
        async move {
            app.get(&format!("/api/v1/locations/ST-TZ-001/tier?on={d}"), Some("station-st-tz-001")).await.ok()
                ["tier"]
                .clone()
        }
    };
    assert_eq!(tier_on(t).await, "B");
    assert_eq!(tier_on(ahead).await, "A");
    assert_eq!(tier_on(graded).await, "B");
    assert_eq!(tier_on(graded.pred_opt().unwrap()).await, Value::Null, "before its first grading");

    let r = app
        .put("/api/v1/locations/ST-TZ-001/tier", "admin", json!({"tier": "C", "reason": "service record"}))
        .await;
    assert_eq!(r.ok()["tier"], "C");
    assert_eq!(app.get("/api/v1/locations/ST-TZ-001", Some("admin")).await.ok()["tier"], "C");
    assert_eq!(tier_on(t).await, "C");
    assert_eq!(tier_on(ahead).await, "A");
    let history = app.get("/api/v1/locations/ST-TZ-001/tier-history", Some("station-st-tz-001")).await;
    let tiers: Vec<&str> =
        history.ok()["history"].as_array().unwrap().iter().map(|h| h["tier"].as_str().unwrap()).collect();
    // one entry a day: on the day of the first grading (the template's, usually today) C
    // takes its place
    let expected = if graded == t { vec!["C", "A"] } else { vec!["B", "C", "A"] };
    assert_eq!(tiers, expected);
    let c = expected.len() - 2;
    assert_eq!(history.json["history"][c]["changed_by"], "admin");
    // the same grade from the same day again (a retried PUT) adds no entry
    let again = app
        .put("/api/v1/locations/ST-TZ-001/tier", "admin", json!({"tier": "C", "reason": "sent twice"}))
        .await;
    assert_eq!(again.ok()["history"], history.json["history"], "{}", again.text);
    assert_eq!(again.json["history"][c]["reason"], "service record");
    // back to B on the day C was given replaces C (or drops the day's entry, when B was in force
    // before it), and C again after it is a change once
    for (tier, entries) in [("B", 2), ("C", expected.len()), ("C", expected.len())] {
        let r = app
            .put("/api/v1/locations/ST-TZ-001/tier", "admin", json!({"tier": tier, "reason": "review"}))
            .await;
        assert_eq!(r.ok()["tier"], tier);
        assert_eq!(r.json["history"].as_array().unwrap().len(), entries, "{}", r.text);
    }

    app.put("/api/v1/locations/RC-HZ/tier", "admin", json!({"tier": "A", "reason": "x"})).await.problem(422);
    app.put("/api/v1/locations/ST-TZ-001/tier", "admin", json!({"tier": "E", "reason": "x"}))
        .await
        .problem(422);
    app.put("/api/v1/locations/ST-TZ-001/tier", "admin", json!({"tier": "A", "reason": " "}))
        .await
        .problem(422);
    app.put("/api/v1/locations/ST-XX-999/tier", "admin", json!({"tier": "A", "reason": "x"}))
        .await
        .problem(404);
    app.get("/api/v1/locations/ST-HZ-001/tier-history", Some("station-st-tz-001")).await.problem(404);

    // the rate set is whole: a job type left out, or one misspelled, would pay nothing in
    // settlement, so either is refused, naming each, and the tier keeps its terms
    let before = app.get("/api/v1/tiers", Some("admin")).await.ok().clone();
    let partial = json!({"credit_allowance": "90000.00", "may_order_from_hq": true, "allocation_priority": 2,
                         "core_return_days": 15, "labour_rates": {"repair": "105.00", "install": "70.00"}});
    let r = app.put("/api/v1/tiers/B", "admin", partial).await;
    let fields: Vec<String> = r.problem(422)["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().into())
        .collect();
    assert_eq!(fields, ["labour_rates.maintenance", "labour_rates.inspection"], "{}", r.text);
    let typo = json!({"credit_allowance": "90000.00", "may_order_from_hq": true, "allocation_priority": 2,
                      "core_return_days": 15, "labour_rates": {"repair": "105.00", "install": "70.00",
                      "maintenance": "50.00", "inspektion": "35.00"}});
    let r = app.put("/api/v1/tiers/B", "admin", typo).await;
    let errors = r.problem(422)["errors"].as_array().unwrap().clone();
    assert!(
        errors.iter().any(|e| e["field"] == "labour_rates.inspektion"
            && e["message"].as_str().unwrap().contains("repair, install, maintenance, inspection")),
        "{errors:?}"
    );
    assert!(errors.iter().any(|e| e["field"] == "labour_rates.inspection"), "{errors:?}");
    assert_eq!(app.get("/api/v1/tiers", Some("admin")).await.ok(), &before);
    let rates = json!({"repair": "105.00", "install": "70.00", "maintenance": "0.00", "inspection": "35.00"});
    let terms = json!({"credit_allowance": "90000.00", "may_order_from_hq": true, "allocation_priority": 2,
                       "core_return_days": 15, "labour_rates": rates});
    let r = app.put("/api/v1/tiers/B", "admin", terms.clone()).await;
    assert_eq!(r.ok()["credit_allowance"], "90000.00");
    let tiers = app.get("/api/v1/tiers", Some("admin")).await.ok().clone();
    assert_eq!(tiers[1]["labour_rates"], rates);
    app.put("/api/v1/tiers/Z", "admin", terms.clone()).await.problem(404);
    app.put(
        "/api/v1/tiers/B",
        "admin",
        json!({"credit_allowance": "-1", "may_order_from_hq": true, "allocation_priority": 0,
        "core_return_days": 0, "labour_rates": {"Repair": "1"}}),
    )
    .await
    .problem(422);
});
