//! Archiving closed, settled months of the ledger (PostgreSQL): `echelon archive movements
//! --before YYYY-MM` detaches each month partition before the cut and keeps it as a plain
//! table `stock_movements_archive_YYYY_MM`; what its movements added to each (part, location)
//! is added to `stock_opening_balances`, the opening figures the ledger's sums start from, so
//! the balances and `echelon audit` read the same after it. `echelon archive restore YYYY-MM`
//! takes a month's figures back out of the opening ones and re-attaches its table. Each runs in
//! one transaction (all months or none). The archive runs the whole audit first and refuses on
//! any breach; the audit does not run again inside the transaction, which holds the movements'
//! table locked from the first detach (every write of a movement would wait for it): the
//! command runs it after the commit and says what it finds.
//!
//! A month may be archived once nothing live depends on its rows: its settlement period is
//! closed (and every earlier one), every ticket whose consumption it holds is settled (the next
//! period's reconciliation reads the consumption of the tickets it settles, whatever month the
//! part went in), its KPI days are closed (the rollups keep its figures), and the audit is
//! clean before. The audit and the KPI rollups' recomputation keep reading the archived rows
//! (through `stock_movements_archived` / `stock_movements_history`), so they stay exactly as
//! strict; the hot path, the stock pages and the movement lists read the live months only.

use chrono::{Months, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Nullable, Text};

use crate::db::partitions::{self, batch, partition_name};
use crate::db::DbConn;
use crate::settlement::rules::Period;

/// The columns of a movement, in the table's order.
const COLUMNS: &str =
    "id, part_id, qty, from_location_id, to_location_id, reason, reference, actor, at, serials, ticket_id";

/// The plain table a month's archived movements are kept in.
pub fn archive_name(month: NaiveDate) -> String {
    format!("stock_movements_archive_{}", month.format("%Y_%m"))
}

/// One archived (or restored) month.
#[derive(Debug, Clone, QueryableByName)]
pub struct Month {
    #[diesel(sql_type = Text)]
    pub month: String,
    #[diesel(sql_type = Text)]
    pub table_name: String,
    #[diesel(sql_type = BigInt)]
    pub movements: i64,
}

#[derive(QueryableByName)]
struct N {
    #[diesel(sql_type = Nullable<BigInt>)]
    n: Option<i64>,
}

#[derive(QueryableByName)]
struct Day {
    #[diesel(sql_type = Date)]
    day: NaiveDate,
}

fn pg(conn: &mut DbConn) -> Result<&mut diesel::PgConnection, String> {
    match conn {
        DbConn::Pg(c) => Ok(c),
        DbConn::Sqlite(_) => {
            Err("archiving months of stock movements needs PostgreSQL, where the movements \
             are partitioned by month; on SQLite the ledger is one table and stays whole"
                .into())
        }
    }
}

fn n(conn: &mut DbConn, sql: &str) -> Result<i64, String> {
    let c = pg(conn)?;
    let r: N = diesel::sql_query(sql).get_result(c).map_err(|e| e.to_string())?;
    Ok(r.n.unwrap_or(0))
}

fn exec(conn: &mut DbConn, sql: &str) -> Result<(), String> {
    batch(conn, sql).map_err(|e| format!("{e} (in: {sql})"))
}

/// The archived months, oldest first.
pub fn list(conn: &mut DbConn) -> Result<Vec<Month>, String> {
    let c = pg(conn)?;
    diesel::sql_query("SELECT month, table_name, movements FROM movement_archives ORDER BY month")
        .load(c)
        .map_err(|e| e.to_string())
}

/// Makes `stock_movements_archived` read every archive table.
fn redefine_archived(conn: &mut DbConn) -> Result<(), String> {
    let tables: Vec<String> = list(conn)?.into_iter().map(|m| m.table_name).collect();
    let body = if tables.is_empty() {
        format!("SELECT {COLUMNS} FROM stock_movements WHERE false")
    } else {
        tables.iter().map(|t| format!("SELECT {COLUMNS} FROM {t}")).collect::<Vec<_>>().join(" UNION ALL ")
    };
    exec(conn, &format!("CREATE OR REPLACE VIEW stock_movements_archived AS {body}"))
}

/// Adds (`sign` 1) or takes back (-1) what the movements of `table` add to each (part, location)
/// to the opening figures.
fn carry(conn: &mut DbConn, table: &str, sign: i64) -> Result<(), String> {
    exec(
        conn,
        &format!(
            "INSERT INTO stock_opening_balances (part_id, location_id, qty) \
             SELECT part_id, location_id, {sign} * SUM(delta) FROM ( \
               SELECT part_id, to_location_id AS location_id, qty AS delta FROM {table} \
               UNION ALL SELECT part_id, from_location_id AS location_id, -qty AS delta FROM {table} \
             ) m GROUP BY part_id, location_id \
             ON CONFLICT (part_id, location_id) DO UPDATE SET qty = stock_opening_balances.qty + EXCLUDED.qty; \
             DELETE FROM stock_opening_balances WHERE qty = 0"
        ),
    )
}

/// Archives every month partition before `before` (the first day of a month), in the caller's
/// transaction. Returns the months archived (none when there is nothing left to archive).
pub fn archive(
    conn: &mut DbConn,
    before: Period,
    by: &str,
    now: NaiveDateTime,
) -> Result<Vec<Month>, String> {
    pg(conn)?;
    let cut = before.first_day();
    let last_month = before.prev();
    let last_closed = crate::settlement::service::last_closed(conn).map_err(|e| e.to_string())?;
    if last_closed.is_none_or(|c| c < last_month) {
        return Err(format!(
            "the settlement period {last_month} is not closed ({}): close the periods up to {last_month} \
             first (POST /api/v1/periods/{{period}}/close)",
            last_closed.map(|c| format!("the last closed is {c}")).unwrap_or_else(|| "none is".into())
        ));
    }
    let kpi_open = {
        let c = pg(conn)?;
        let d: Day = diesel::sql_query("SELECT closed_before AS day FROM kpi_closed WHERE id = 1")
            .get_result(c)
            .map_err(|e| e.to_string())?;
        d.day
    };
    if kpi_open < cut {
        return Err(format!(
            "the KPI days from {kpi_open} to {} are not closed yet (echelon serve closes each day an hour \
             after it ends): archive once they are",
            cut.pred_opt().unwrap_or(cut)
        ));
    }
    let cut_sql = cut.format("%Y-%m-%d");
    // a ticket not settled yet may still be settled by a later period, which reads the
    // consumption it names whatever month it is in
    let unsettled = n(
        conn,
        &format!(
            "SELECT MIN(m.ticket_id) AS n FROM stock_movements m WHERE m.at < '{cut_sql}' \
             AND m.reason = 'consume' AND m.ticket_id IS NOT NULL AND NOT EXISTS \
             (SELECT 1 FROM settled_items s WHERE s.kind = 'ticket' AND s.item_id = m.ticket_id)"
        ),
    )?;
    if unsettled != 0 {
        return Err(format!(
            "ticket {unsettled} (and maybe others) consumed parts before {before} but is not settled yet: \
             a later period will reconcile that consumption, so those months stay live"
        ));
    }
    // the audit runs before any lock is taken: it reads everything, writers carry on
    let breaches = super::run(conn).map_err(|e| format!("the audit failed: {e}"))?;
    if let Some(first) = breaches.first() {
        return Err(format!(
            "the audit finds {} breach(es); nothing is archived from a ledger that does not hold. The first: {first}",
            breaches.len()
        ));
    }
    let archived: Vec<String> = list(conn)?.into_iter().map(|m| m.month).collect();
    // rows of the months before the cut still in the default partition go to their month's
    let stray: Vec<Day> = diesel::sql_query(format!(
        "SELECT DISTINCT CAST(date_trunc('month', at) AS DATE) AS day FROM stock_movements_default \
         WHERE at < '{cut_sql}' ORDER BY 1"
    ))
    .load(pg(conn)?)
    .map_err(|e| e.to_string())?;
    for d in stray {
        let m = Period::of(d.day).to_string();
        if archived.contains(&m) {
            return Err(format!(
                "movements dated in {m} were written after {m} was archived: restore it first \
                 (echelon archive restore {m}), then archive again"
            ));
        }
        partitions::ensure_months(conn, d.day, d.day).map_err(|e| e.to_string())?;
    }
    let months: Vec<NaiveDate> =
        partitions::months(conn).map_err(|e| e.to_string())?.into_iter().filter(|m| *m < cut).collect();
    if let Some(m) = months.iter().map(|m| Period::of(*m).to_string()).find(|m| archived.contains(m)) {
        return Err(format!(
            "{m} is archived but has a partition again (movements dated in it came after): restore {m} \
             first (echelon archive restore {m}), then archive again"
        ));
    }
    if months.is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for m in months {
        let (part, table) = (partition_name(m), archive_name(m));
        let period = Period::of(m).to_string();
        // no one writes or reads the month while it leaves
        exec(conn, &format!("LOCK TABLE {part} IN ACCESS EXCLUSIVE MODE"))?;
        let movements = n(conn, &format!("SELECT COUNT(*) AS n FROM {part}"))?;
        carry(conn, &part, 1)?;
        exec(
            conn,
            &format!(
                "ALTER TABLE stock_movements DETACH PARTITION {part}; ALTER TABLE {part} RENAME TO {table}"
            ),
        )?;
        diesel::sql_query(
            "INSERT INTO movement_archives (month, table_name, movements, archived_at, archived_by) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind::<Text, _>(&period)
        .bind::<Text, _>(&table)
        .bind::<BigInt, _>(movements)
        .bind::<diesel::sql_types::Timestamp, _>(now)
        .bind::<Text, _>(by)
        .execute(pg(conn)?)
        .map_err(|e| e.to_string())?;
        out.push(Month { month: period, table_name: table, movements });
    }
    redefine_archived(conn)?;
    Ok(out)
}

/// Re-attaches an archived month, in the caller's transaction: its movements are live again
/// and its figures leave the opening ones.
pub fn restore(conn: &mut DbConn, month: Period) -> Result<Month, String> {
    pg(conn)?;
    let period = month.to_string();
    let Some(row) = list(conn)?.into_iter().find(|m| m.month == period) else {
        let all: Vec<String> = list(conn)?.into_iter().map(|m| m.month).collect();
        return Err(format!(
            "{period} is not archived (archived: {})",
            if all.is_empty() { "none".into() } else { all.join(", ") }
        ));
    };
    let (first, next) = (month.first_day(), month.first_day() + Months::new(1));
    let (part, table) = (partition_name(first), row.table_name.clone());
    if n(conn, &format!("SELECT CAST(COUNT(*) AS BIGINT) AS n FROM pg_class WHERE relname = '{table}'"))? == 0
    {
        return Err(format!("the archive table {table} of {period} is gone: it cannot be restored"));
    }
    let movements = n(conn, &format!("SELECT COUNT(*) AS n FROM {table}"))?;
    carry(conn, &table, -1)?;
    let (a, b) = (first.format("%Y-%m-%d"), next.format("%Y-%m-%d"));
    // movements dated in the month that came while it was archived join it
    if n(conn, &format!("SELECT CAST(COUNT(*) AS BIGINT) AS n FROM pg_class WHERE relname = '{part}'"))? > 0 {
        exec(conn, &format!("INSERT INTO {table} SELECT * FROM {part}; DROP TABLE {part}"))?;
    }
    exec(
        conn,
        &format!(
            "WITH moved AS (DELETE FROM stock_movements_default WHERE at >= '{a}' AND at < '{b}' RETURNING *) \
             INSERT INTO {table} SELECT * FROM moved; \
             ALTER TABLE {table} RENAME TO {part}; \
             ALTER TABLE stock_movements ATTACH PARTITION {part} FOR VALUES FROM ('{a}') TO ('{b}')"
        ),
    )?;
    diesel::sql_query("DELETE FROM movement_archives WHERE month = $1")
        .bind::<Text, _>(&period)
        .execute(pg(conn)?)
        .map_err(|e| e.to_string())?;
    redefine_archived(conn)?;
    Ok(Month { month: period, table_name: part, movements })
}
