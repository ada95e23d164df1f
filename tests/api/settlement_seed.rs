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
