//! Follow-up calls: the 5-10% sample of the tickets completed in the last 7 days, call
//! results, the station scorecard and the monthly statistic.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use echelon::db::{Backend, DbConn};
use echelon::error::AppError;
use echelon::tickets::store::{self, NewTicket};
use serde_json::{json, Value};

use crate::both;
use crate::helpers::{fresh_database, TestApp};

/// A closed ticket of the demo unit at ST-TZ-001, completed at `completed`.
fn completed(unit_id: i64, station_id: i64, technician_id: i64, completed: NaiveDateTime) -> NewTicket {
    let opened = completed - Duration::hours(30);
    NewTicket {
        channel: "phone".into(),
        category: "repair".into(),
        urgency: "normal".into(),
        status: "closed".into(),
        customer_name: "Li Lei".into(),
        customer_phone: "0576 1234 5678".into(),
        customer_address: "3 Shifu Rd".into(),
        customer_region: "Zhejiang".into(),
        unit_id,
        fault: "noisy".into(),
        component_family: None,
        warranty: "in_warranty".into(),
        warranty_covers: "unit".into(),
        warranty_until: None,
        warranty_reason: "test".into(),
        station_id: Some(station_id),
        technician_id: Some(technician_id),
        job_type: Some("repair".into()),
        cause: Some("worn bearing".into()),
        respond_by: None,
        resolve_by: None,
        decide_by: Some(opened + Duration::days(5)),
        responded_at: Some(opened + Duration::hours(2)),
        resolved_at: Some(completed - Duration::hours(1)),
        confirmed_at: Some(completed),
        closed_at: Some(completed),
        completed_at: Some(completed),
        created_by: "agent".into(),
        created_at: opened,
        updated_at: completed,
    }
}

/// Inserts `recent` tickets completed within the 7 days before `now` and `old` ones 8-20 days
/// before, for the demo unit RF00000001 at ST-TZ-001.
fn insert_completed(conn: &mut DbConn, now: NaiveDateTime, recent: i64, old: i64) -> Result<(), AppError> {
    use diesel::prelude::*;
    use echelon::db::schema::{locations, product_units, users};
    let unit: i64 = product_units::table
        .filter(product_units::serial.eq("RF00000001"))
        .select(product_units::id)
        .first(conn)?;
    let station: i64 =
        locations::table.filter(locations::code.eq("ST-TZ-001")).select(locations::id).first(conn)?;
    let tech: i64 =
        users::table.filter(users::username.eq("tech-st-tz-001")).select(users::id).first(conn)?;
    for i in 0..recent {
        // spread over the last six days and 23 hours
        store::insert(conn, &completed(unit, station, tech, now - Duration::minutes(1 + i * 50)))?;
    }
    for i in 0..old {
        store::insert(conn, &completed(unit, station, tech, now - Duration::days(8 + i % 13)))?;
    }
    // written behind the flows' back: the KPI rollup follows
    echelon::rollup::tickets_loaded(conn)?;
    Ok(())
}

async fn completed_tickets(app: &TestApp, recent: i64, old: i64) {
    let now = app.state.clock.now().naive_utc();
    app.state.db.write(move |conn| insert_completed(conn, now, recent, old)).await.unwrap();
}

fn time(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap().with_timezone(&Utc)
}

both!(five_percent_of_200_completed_tickets_gives_10_calls_none_older_than_7_days, |app| async {
    completed_tickets(&app, 200, 30).await;
    // an open ticket is not completed and is never drawn
    app.ticket().family(None).at("ST-TZ-001").create().await;
    let now = app.state.clock.now();
    let r = app.post("/api/v1/follow-ups/sample", "agent", json!({"share": 0.05, "seed": 7})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["considered"], 200);
    assert_eq!(r.json["share"], 0.05);
    let created = r.json["created"].as_array().unwrap();
    assert_eq!(created.len(), 10);
    for f in created {
        assert!(now - time(&f["completed_at"]) <= Duration::days(7), "{f}");
        assert_eq!(time(&f["due_by"]) - time(&f["completed_at"]), Duration::days(7));
        assert_eq!(f["status"], "pending");
        assert_eq!(f["station"], "ST-TZ-001");
        assert_eq!(f["technician"], "tech-st-tz-001");
    }
    let mut tickets: Vec<i64> = created.iter().map(|f| f["ticket_id"].as_i64().unwrap()).collect();
    tickets.sort_unstable();
    tickets.dedup();
    assert_eq!(tickets.len(), 10);
    // the same tickets are not considered again
    let again = app.post("/api/v1/follow-ups/sample", "admin", json!({})).await;
    assert_eq!(again.json["considered"], 0, "{}", again.text);
    assert!(again.json["created"].as_array().unwrap().is_empty());
    let list = app.get("/api/v1/follow-ups?limit=500", Some("agent")).await;
    assert_eq!(list.ok()["items"].as_array().unwrap().len(), 10);
    // a share outside 5-10% is refused; stations do not run the sample
    let r = app.post("/api/v1/follow-ups/sample", "agent", json!({"share": 0.2})).await;
    assert_eq!(r.problem(422)["errors"][0]["field"], "share");
    app.post("/api/v1/follow-ups/sample", "station-st-tz-001", json!({})).await.problem(403);
    app.get("/api/v1/follow-ups", Some("station-st-tz-001")).await.problem(403);
});

both!(one_completed_ticket_still_gets_a_call_and_its_result_feeds_the_scorecard, |app| async {
    let id = app
        .ticket()
        .at("ST-TZ-001")
        .dispatched_to("tech-st-tz-001")
        .resolved(json!({"job_type": "repair", "cause": "relay"}))
        .confirmed_by("agent", json!({}))
        .create()
        .await;
    // the sign-off completed it: a lone completed ticket still gets its call
    let r = app.post("/api/v1/follow-ups/sample", "agent", json!({"seed": 1})).await;
    assert_eq!(r.json["considered"], 1, "{}", r.text);
    let f = r.json["created"][0].clone();
    assert_eq!(f["ticket_id"], id);
    let fid = f["id"].as_i64().unwrap();
    let path = format!("/api/v1/follow-ups/{fid}/result");
    let bad = app
        .post(
            &path,
            "agent",
            json!({"satisfaction": 6, "technician_conduct": "good", "fee_reasonable": null}),
        )
        .await;
    assert_eq!(bad.problem(422)["errors"][0]["field"], "satisfaction");
    let bad = app.post(&path, "agent", json!({"satisfaction": 3, "technician_conduct": "rude"})).await;
    assert_eq!(bad.problem(422)["errors"][0]["field"], "technician_conduct");
    let ok = app
        .post(
            &path,
            "agent",
            json!({"satisfaction": 2, "technician_conduct": "poor", "fee_reasonable": true,
        "note": "came late, did not clean up"}),
        )
        .await;
    assert_eq!(ok.ok()["status"], "done");
    assert_eq!(ok.json["recorded_by"], "agent");
    let twice = app
        .post(
            &path,
            "agent",
            json!({"satisfaction": 5, "technician_conduct": "good", "fee_reasonable": true}),
        )
        .await;
    assert_eq!(twice.problem(409)["type"], "/problems/already_recorded");
    app.post(
        "/api/v1/follow-ups/99999/result",
        "agent",
        json!({"satisfaction": 5, "technician_conduct": "good"}),
    )
    .await
    .problem(404);

    let card = app.get("/api/v1/stations/ST-TZ-001/scorecard", Some("agent")).await;
    assert_eq!(card.ok()["results"], 1, "{}", card.text);
    assert_eq!(card.json["average_satisfaction"], 2.0);
    assert_eq!(card.json["poor_conduct_share"], 1.0);
    assert_eq!(card.json["fee_reasonable_share"], 1.0);
    assert_eq!(card.json["sla_compliance_share"], 1.0);
    app.get("/api/v1/stations/ST-TZ-001/scorecard", Some("station-st-tz-001")).await.ok();
    app.get("/api/v1/stations/RC-HZ/scorecard", Some("agent")).await.problem(404);

    let month = app.state.clock.now().format("%Y-%m").to_string();
    let stats = app.get(&format!("/api/v1/follow-ups/stats?month={month}"), Some("finance")).await;
    assert_eq!(stats.ok()["completed"], 1, "{}", stats.text);
    assert_eq!(stats.json["sampled"], 1);
    assert_eq!(stats.json["conduct"]["poor"], 1);
    assert_eq!(stats.json["stations"][0]["station"], "ST-TZ-001");
    app.get("/api/v1/follow-ups/stats?month=2026-13", Some("agent")).await.problem(400);
    app.get("/api/v1/follow-ups/stats", Some("agent")).await.problem(400);
});

#[test]
fn the_followups_command_draws_the_share_asked_for() {
    let url = fresh_database(Backend::Sqlite);
    let db = echelon::db::Db::connect(&url, None, 1, 1).unwrap();
    let mut conn = db.write.get().unwrap();
    let now = Utc::now().naive_utc() - Duration::minutes(5);
    echelon::db::write_tx(&mut conn, |c| insert_completed(c, now, 40, 5)).unwrap();
    drop(conn);
    let run = |args: &[&str]| {
        let out = std::process::Command::new(crate::processes::BIN)
            .arg("followups")
            .args(args)
            .env("DATABASE_URL", &url)
            .env("ECHELON_LOG", "warn")
            .env_remove("ECHELON_ENV")
            .env_remove("ECHELON_FOLLOWUP_SHARE")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, _, err) = run(&["--share", "20%"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("between 5% and 10%"), "{err}");
    let (code, out, err) = run(&["--share", "10%", "--seed", "3"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("40 completed ticket(s) considered, 4 call(s) drawn at 10%"), "{out}");
    let (_, out, _) = run(&[]);
    assert!(out.contains("0 completed ticket(s) considered, 0 call(s) drawn at 5%"), "{out}");
}
