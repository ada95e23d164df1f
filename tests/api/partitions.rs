//! The ledger over years (SPEC section 14, issue 26 item 6): on PostgreSQL the movements are
//! partitioned by month, a movement dated in a month without its partition lands in the default
//! partition and moves into its month's when the partition-making job makes it; closed,
//! settled months are archived (detached into plain tables, their balances kept as opening
//! figures) with the audit clean, read back, and restored with the audit clean again. SQLite
//! keeps one table and says so.

use chrono::{Datelike, Months, NaiveDate, NaiveDateTime};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::ManageConnection;
use diesel::sql_types::{BigInt, Text};
use serde_json::json;

use crate::helpers::TestApp;

/// `echelon ARGS` on the database at `url`, run off the test's thread: the server under test
/// runs on that thread and must keep answering (and closing its idle connections) meanwhile.
async fn run_echelon(url: &str, args: &[&str], ok: bool) -> String {
    let (url, args) = (url.to_string(), args.iter().map(|a| a.to_string()).collect::<Vec<_>>());
    actix_web::rt::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        crate::cli::run_echelon(&url, &args, ok)
    })
    .await
    .unwrap()
}

/// `echelon ARGS` expecting a refusal in one line, off the test's thread; returns the line.
async fn refused(url: &str, args: &[&str]) -> String {
    let (url, args) = (url.to_string(), args.iter().map(|a| a.to_string()).collect::<Vec<_>>());
    actix_web::rt::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        crate::cli::refused(&url, &args)
    })
    .await
    .unwrap()
}

#[derive(QueryableByName)]
struct N {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

fn conn(app: &TestApp) -> echelon::db::DbConn {
    echelon::db::Manager::new(&app.url).unwrap().connect().unwrap()
}

fn count(c: &mut echelon::db::DbConn, sql: &str) -> i64 {
    diesel::sql_query(sql).get_result::<N>(c).unwrap_or_else(|e| panic!("{sql}: {e}")).n
}

/// The partitions of `stock_movements`, by name.
fn partitions(c: &mut echelon::db::DbConn) -> Vec<String> {
    diesel::sql_query(
        "SELECT CAST(c.relname AS TEXT) AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
         WHERE i.inhparent = CAST('stock_movements' AS regclass) ORDER BY 1",
    )
    .load::<Name>(c)
    .unwrap()
    .into_iter()
    .map(|n| n.name)
    .collect()
}

fn month_name(d: NaiveDate) -> String {
    format!("stock_movements_{:04}_{:02}", d.year(), d.month())
}

/// Moves the test's clock forward to 10:00 on `day` of the month starting `first`.
fn move_to(app: &TestApp, first: NaiveDate, day: u32) {
    let target: NaiveDateTime = first.with_day(day).unwrap().and_hms_opt(10, 0, 0).unwrap();
    let now = app.state.clock.now().naive_utc();
    assert!(target > now, "the clock only moves forward");
    app.state.clock.advance(target - now);
}

/// The references of a part's movements as the API lists them, newest first.
async fn movement_qtys(app: &TestApp, part: &str) -> Vec<i64> {
    let r = app.get(&format!("/api/v1/movements?part_code={part}"), Some("admin")).await;
    r.ok()["items"].as_array().unwrap().iter().map(|m| m["qty"].as_i64().unwrap()).collect()
}

#[actix_web::test]
async fn movements_are_partitioned_by_month_and_a_month_without_its_partition_still_takes_them() {
    let Some(app) = TestApp::spawn_pg().await else { return };
    let c = &mut conn(&app);
    let kind = count(c, "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM pg_class WHERE relname = 'stock_movements' AND relkind = 'p'");
    assert_eq!(kind, 1, "stock_movements is a partitioned table");
    let this_month = app.state.clock.now().date_naive().with_day(1).unwrap();
    let parts = partitions(c);
    assert!(parts.contains(&"stock_movements_default".to_string()), "{parts:?}");
    for ahead in 0..=echelon::db::partitions::AHEAD {
        let m = month_name(this_month + Months::new(ahead));
        assert!(parts.contains(&m), "{m} is made ahead: {parts:?}");
    }
    // the primary key holds the partition key, and every index of the heap is kept
    let indexes = count(
        c,
        "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM pg_indexes WHERE tablename = 'stock_movements' AND indexname IN \
         ('stock_movements_pkey', 'stock_movements_part_idx', 'stock_movements_from_idx', 'stock_movements_to_idx', \
          'stock_movements_reference_idx', 'stock_movements_at_idx', 'stock_movements_ticket_idx')",
    );
    assert_eq!(indexes, 7);

    // years later, a month nobody made a partition for: the movement lands in the default one
    let far = NaiveDate::from_ymd_opt(this_month.year() + 5, 5, 1).unwrap();
    move_to(&app, far, 10);
    let part = app.new_part("12.00").await;
    app.set_stock("RC-HZ", &part, 9).await;
    assert_eq!(app.stock("RC-HZ", &part).await.0, 9);
    let in_default = count(c, "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM stock_movements_default");
    assert_eq!(in_default, 1, "the count's movement is in the default partition");

    // the job `echelon serve` runs (at start and every few minutes) makes that month and the
    // next ones, moving the month's rows out of the default partition; run again, it makes none
    let made = echelon::db::partitions::ensure_ahead(c, far.with_day(10).unwrap()).unwrap();
    assert_eq!(made, 1 + echelon::db::partitions::AHEAD as usize);
    assert_eq!(echelon::db::partitions::ensure_ahead(c, far.with_day(10).unwrap()).unwrap(), 0);
    assert!(partitions(c).contains(&month_name(far + Months::new(3))));
    assert_eq!(count(c, "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM stock_movements_default"), 0);
    let moved = count(c, &format!("SELECT CAST(COUNT(*) AS BIGINT) AS n FROM {}", month_name(far)));
    assert_eq!(moved, 1, "the movement is in its month's partition now");
    assert_eq!(movement_qtys(&app, &part).await, vec![9]);
    app.set_stock("RC-HZ", &part, 4).await;
    assert_eq!(app.stock("RC-HZ", &part).await.0, 4);
    app.finish().await;
}

#[actix_web::test]
async fn a_closed_settled_month_is_archived_read_back_and_restored_with_the_audit_clean() {
    let Some(app) = TestApp::spawn_pg().await else { return };
    let c = &mut conn(&app);
    let url = app.url.clone();
    let this_month = app.state.clock.now().date_naive().with_day(1).unwrap();
    let next = this_month + Months::new(1);
    let (p, p_next) = (this_month.format("%Y-%m").to_string(), next.format("%Y-%m").to_string());

    // a month with movements (the demo's opening stock and a count), then the next month
    let part = app.new_part("20.00").await;
    app.set_stock("RC-HZ", &part, 5).await;
    app.set_stock("ST-HZ-001", &part, 2).await;
    move_to(&app, next, 2);
    app.set_stock("RC-HZ", &part, 7).await;
    app.audit().await;

    // the month is not settled yet: nothing is archived
    let why = refused(&url, &["archive", "movements", "--before", &p_next]).await;
    assert!(why.contains(&format!("settlement period {p} is not closed")), "{why}");
    assert_eq!(count(c, "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM movement_archives"), 0);

    let closed = app.post(&format!("/api/v1/periods/{p}/close"), "finance", json!({})).await;
    closed.ok();
    app.audit().await; // and the KPI days up to now are closed
                       // a month whose period is still open stays live
    let too_far = (next + Months::new(1)).format("%Y-%m").to_string();
    let why = refused(&url, &["archive", "movements", "--before", &too_far]).await;
    assert!(why.contains(&format!("settlement period {p_next} is not closed")), "{why}");

    let in_month = count(c, &format!("SELECT CAST(COUNT(*) AS BIGINT) AS n FROM {}", month_name(this_month)));
    assert!(in_month >= 3, "the month holds the demo's opening stock and the test's counts");
    let out = run_echelon(&url, &["archive", "movements", "--before", &p_next], true).await;
    assert!(
        out.contains(&format!("archived {p}: {in_month} movements in stock_movements_archive_")),
        "{out}"
    );
    assert!(out.contains("audit: clean"), "the command audits after its commit: {out}");
    let parts = partitions(c);
    assert!(!parts.contains(&month_name(this_month)), "the month left the live table: {parts:?}");
    let archive = format!("stock_movements_archive_{}", this_month.format("%Y_%m"));
    // read back: the archive is a plain table of the same rows, and the list says so
    assert_eq!(count(c, &format!("SELECT CAST(COUNT(*) AS BIGINT) AS n FROM {archive}")), in_month);
    let listed = run_echelon(&url, &["archive", "list"], true).await;
    assert!(listed.contains(&format!("{p}\t{archive}\t{in_month} movements")), "{listed}");
    // the balances carry on from the opening figures; the live list holds the live months
    assert_eq!(app.stock("RC-HZ", &part).await.0, 7);
    assert_eq!(app.stock("ST-HZ-001", &part).await.0, 2);
    assert_eq!(movement_qtys(&app, &part).await, vec![2], "only the next month's count is live");
    let opening = count(
        c,
        "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM stock_opening_balances o JOIN parts p ON p.id = o.part_id \
         WHERE p.code = (SELECT code FROM parts ORDER BY id DESC LIMIT 1)",
    );
    assert_eq!(opening, 3, "the part's opening figures: RC-HZ, ST-HZ-001 and the count's other side");
    app.audit().await;
    // the hot path carries on
    app.set_stock("RC-HZ", &part, 6).await;
    let r = app.request().line(&part, 1).send().await;
    assert_eq!(r.status, 201, "{}", r.text);
    app.audit().await;
    // archiving again finds nothing more before the cut
    let again = run_echelon(&url, &["archive", "movements", "--before", &p_next], true).await;
    assert!(again.contains(&format!("nothing to archive before {p_next}")), "{again}");

    // an archive table that no longer adds up to the opening figures is a breach
    c.batch_execute(&format!(
        "UPDATE {archive} SET qty = qty + 1 WHERE id = (SELECT MAX(id) FROM {archive})"
    ))
    .unwrap();
    let breaches = app.state.db.read(|conn| Ok(echelon::audit::run(conn)?)).await.unwrap();
    assert!(breaches.iter().any(|b| b.contains("opening figure")), "{breaches:#?}");
    c.batch_execute(&format!(
        "UPDATE {archive} SET qty = qty - 1 WHERE id = (SELECT MAX(id) FROM {archive})"
    ))
    .unwrap();

    // restored, the month is live again, the opening figures are gone, the audit is clean
    let back = run_echelon(&url, &["archive", "restore", &p], true).await;
    assert!(
        back.contains(&format!("restored {p}: {in_month} movements back in {}", month_name(this_month))),
        "{back}"
    );
    assert!(back.contains("audit: clean"), "{back}");
    assert!(partitions(c).contains(&month_name(this_month)));
    assert_eq!(count(c, "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM stock_opening_balances"), 0);
    assert_eq!(count(c, "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM movement_archives"), 0);
    let qtys = movement_qtys(&app, &part).await;
    assert_eq!(qtys.len(), 4, "every count of the part is listed again: {qtys:?}");
    let unknown = refused(&url, &["archive", "restore", &p]).await;
    assert!(unknown.contains(&format!("{p} is not archived")), "{unknown}");
    app.finish().await;
}

crate::both!(archiving_says_what_it_needs_on_sqlite_and_refuses_a_bad_month, |app| async {
    let url = app.url.clone();
    let bad = refused(&url, &["archive", "movements", "--before", "2026-13"]).await;
    assert!(bad.contains("not a month"), "{bad}");
    if app.backend == echelon::db::Backend::Sqlite {
        let why = refused(&url, &["archive", "movements", "--before", "2026-11"]).await;
        assert!(why.contains("needs PostgreSQL"), "{why}");
        let why = refused(&url, &["archive", "restore", "2026-11"]).await;
        assert!(why.contains("needs PostgreSQL"), "{why}");
    }
});
