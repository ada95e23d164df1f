//! The KPI benchmark's generated history (`echelon seed generate` then `echelon seed history`)
//! is honest: every stock change it writes is a movement with its balance (the audit, run when
//! the test app finishes, is clean) and the KPI report reads figures out of it.

use chrono::{Duration, Utc};
use echelon::db::{self, Backend};
use serde_json::Value;

use crate::helpers::{empty_database, pg_or_skip, TestApp, PASSWORD};

async fn a_generated_history_passes_the_audit_and_feeds_the_kpis(backend: Backend) {
    let app = TestApp::serve(empty_database(backend), backend);
    let now = Utc::now();
    let db = app.state.db.clone();
    let written = actix_web::web::block(move || {
        let mut conn = db.write.get().expect("a connection");
        let synth = echelon::planning::generate::generate(echelon::planning::generate::Spec {
            stations: 40,
            parts: 150,
            seed: 5,
        });
        db::write_tx(&mut conn, |c| echelon::planning::seed::write_synth(c, &synth, now, &|_| {}))
            .expect("the network is written");
        let w = db::write_tx(&mut conn, |c| {
            echelon::planning::history_write::write_history(c, 60, 5, now.naive_utc(), &|_| {})
        })
        .expect("the history is written");
        echelon::auth::admin::add_user(&mut conn, "admin", "admin", None, None, PASSWORD).expect("an admin");
        w
    })
    .await
    .unwrap();
    assert!(written.tickets > 0 && written.requests > 0 && written.shipments > 0, "{written:?}");
    assert!(written.movements > written.shipments, "{written:?}");

    // a second history onto the same network is refused
    let db = app.state.db.clone();
    let again = actix_web::web::block(move || {
        let mut conn = db.write.get().expect("a connection");
        db::write_tx(&mut conn, |c| {
            echelon::planning::history_write::write_history(c, 5, 6, Utc::now().naive_utc(), &|_| {})
        })
        .is_err()
    })
    .await
    .unwrap();
    assert!(again, "history is written once");

    let today = now.date_naive();
    let from = today - Duration::days(59);
    let r =
        app.get(&format!("/api/v1/reports/kpis?level=network&from={from}&to={today}"), Some("admin")).await;
    let g = &r.ok()["groups"][0];
    let den = |v: &Value| v["denominator"].as_i64().unwrap_or(0);
    let num = |v: &Value| v["numerator"].as_i64().unwrap_or(-1);
    for kpi in [&g["fill_rate"]["units"], &g["fill_rate"]["lines"], &g["on_time_delivery"]["overall"]] {
        assert!(den(kpi) > 0 && (0..=den(kpi)).contains(&num(kpi)), "{kpi} in {}", r.text);
    }
    assert!(g["repair_cycle"]["all"]["tickets"].as_i64().unwrap_or(0) > 0, "{}", r.text);
    app.finish().await;
}

#[actix_web::test]
async fn a_generated_history_passes_the_audit_and_feeds_the_kpis_on_sqlite() {
    a_generated_history_passes_the_audit_and_feeds_the_kpis(Backend::Sqlite).await;
}

#[actix_web::test]
async fn a_generated_history_passes_the_audit_and_feeds_the_kpis_on_postgres() {
    if pg_or_skip().is_none() {
        return;
    }
    a_generated_history_passes_the_audit_and_feeds_the_kpis(Backend::Postgres).await;
}
