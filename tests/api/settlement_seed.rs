//! The benchmark's generated settlement month (`echelon seed settlement`) is honest: its parts
//! and loans go through the ledger, so the export reconciles in full and the audit (run when the
//! test app finishes) is clean.

use chrono::{Datelike, Months};

use crate::both;
use crate::cli::{number_before, run_echelon};

/// Tickets per station: three still give ticket parts, loans, ledger consumption and overdue
/// cores (what the test checks) at a quarter of the benchmark's twelve, which made this the
/// slowest test of the suite.
const PER_STATION: usize = 3;

both!(a_generated_settlement_month_reconciles_with_the_ledger, |app| async {
    // the month before the clock's, so that never-returned cores are overdue by now
    let first = app.state.clock.now().date_naive().with_day(1).unwrap() - Months::new(1);
    let p = format!("{:04}-{:02}", first.year(), first.month());
    let per_station = PER_STATION.to_string();
    let g = run_echelon(
        &app.url,
        &["seed", "settlement", "--period", &p, "--tickets", &per_station, "--seed", "7"],
        true,
    );
    let (stations, tickets) = (number_before(&g, "stations"), number_before(&g, "tickets"));
    let (ticket_parts, loan_lines) = (number_before(&g, "parts"), number_before(&g, "loan"));
    assert!(stations > 0 && tickets == PER_STATION as i64 * stations, "{g}");
    assert!(ticket_parts > 0 && loan_lines > ticket_parts / 2, "{g}");

    let r = app.get(&format!("/api/v1/settlements?period={p}"), Some("finance")).await;
    let out = r.ok();
    let checks = out["reconciliation"].as_array().unwrap();
    let failed: Vec<&serde_json::Value> = checks.iter().filter(|c| c["ok"] != true).collect();
    assert!(failed.is_empty(), "every reconciliation check matches: {failed:#?}");
    assert_eq!(out["balanced"], true, "{}", r.text);
    let ledger = checks.iter().find(|c| c["name"] == "ledger_consumption").unwrap();
    assert_ne!(ledger["actual"], "0.00", "the generated parts were consumed through the ledger");
    assert_ne!(out["totals"]["overdue_cores"], "0.00", "some cores are overdue: {}", out["totals"]);
});

/// A generated network (`echelon seed generate`) has a labour rate for every job type at every
/// tier, so its install, maintenance and inspection tickets settle at their rate, never at 0.00
/// "no labour rate".
async fn a_generated_network_pays_labour_for_every_job_type(backend: echelon::db::Backend) {
    let app = crate::helpers::TestApp::serve(crate::helpers::empty_database(backend), backend);
    run_echelon(&app.url, &["seed", "generate", "--stations", "12", "--parts", "60", "--seed", "5"], true);
    let db = app.state.db.clone();
    actix_web::web::block(move || {
        let mut conn = db.write.get().expect("a connection");
        echelon::auth::admin::add_user(&mut conn, "finance", "finance", None, None, crate::helpers::PASSWORD)
            .expect("a finance user");
    })
    .await
    .unwrap();
    let tiers = app.get("/api/v1/tiers", Some("finance")).await;
    let tiers = tiers.ok().as_array().unwrap().clone();
    assert_eq!(tiers.len(), 4, "{tiers:?}");
    for t in &tiers {
        for job in ["repair", "install", "maintenance", "inspection"] {
            let rate = t["labour_rates"][job].as_str().unwrap_or("0.00");
            assert_ne!(rate, "0.00", "tier {} has no {job} rate: {t}", t["tier"]);
        }
    }

    // a generated month on it: every in-warranty ticket is paid its tier's rate for its job
    let first = app.state.clock.now().date_naive().with_day(1).unwrap() - Months::new(1);
    let p = format!("{:04}-{:02}", first.year(), first.month());
    run_echelon(&app.url, &["seed", "settlement", "--period", &p, "--tickets", "6", "--seed", "7"], true);
    let csv = app.get(&format!("/api/v1/settlements?period={p}&format=csv&bom=false"), Some("finance")).await;
    assert_eq!(csv.status, 200, "{}", csv.text);
    let rows = crate::settlement::parse_csv(&csv.text);
    let paid = |job: &str| {
        rows.iter()
            .filter(|r| r["row_type"] == "detail" && r["warranty"] == "in_warranty" && r["job_type"] == job)
            .map(|r| (r["tier"].clone(), r["labour"].clone(), r["note"].clone()))
            .collect::<Vec<_>>()
    };
    for job in ["repair", "install", "maintenance", "inspection"] {
        let lines = paid(job);
        assert!(!lines.is_empty(), "no in-warranty {job} ticket in the generated month");
        for (tier, labour, note) in lines {
            let rate = &tiers.iter().find(|t| t["tier"] == tier.as_str()).unwrap()["labour_rates"][job];
            assert_eq!(
                (labour.as_str(), note.as_str()),
                (rate.as_str().unwrap(), ""),
                "{job} at tier {tier}"
            );
        }
    }
    app.finish().await;
}

#[actix_web::test]
async fn a_generated_network_pays_labour_for_every_job_type_on_sqlite() {
    a_generated_network_pays_labour_for_every_job_type(echelon::db::Backend::Sqlite).await;
}

#[actix_web::test]
async fn a_generated_network_pays_labour_for_every_job_type_on_postgres() {
    if crate::helpers::pg_or_skip().is_none() {
        return;
    }
    a_generated_network_pays_labour_for_every_job_type(echelon::db::Backend::Postgres).await;
}
