//! Daily rollups of the KPI report's numerators and denominators (issue 13), so that a year of
//! a large network sums days instead of scanning a year of raw rows.
//!
//! Each rollup is defined once, as the SELECT that recomputes it from the raw rows. The same
//! SELECT, narrowed to one event's row, is upserted in the transaction of that event (a unit
//! received, a shipment delivered, a part's cost changed, a ticket resolved), or, for the
//! figures of a line's routing day and of a movement's day, narrowed to a day once that day is
//! over (`closing`: neither the parts request nor a stock movement writes a rollup; the report
//! adds the open days' lines and movements themselves); unnarrowed it rebuilds the
//! table after a bulk load; and `echelon audit` compares the stored table with it, so every
//! scenario the tests run checks every hook. Days are the UTC dates of the timestamps the
//! report filters on.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Timestamp};

use crate::db::{dialect_sql, DbConn};

mod closing;
pub mod cycle_buckets;
mod tables;

pub use closing::{closable, close_day, close_due, keep_closing};

use tables::*;

/// `{day:x}` and `{month:x}`: the UTC date of a timestamp, or the first day of its month.
fn dates(conn: &DbConn, sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(at) = rest.find("{day:").or_else(|| rest.find("{month:")) {
        let day_at = rest.find("{day:");
        let month_at = rest.find("{month:");
        let (at, month) = match (day_at, month_at) {
            (Some(d), Some(m)) if m < d => (m, true),
            (Some(d), _) => (d, false),
            (None, Some(m)) => (m, true),
            (None, None) => (at, false),
        };
        out.push_str(&rest[..at]);
        let body = &rest[at..];
        let open = if month { "{month:".len() } else { "{day:".len() };
        let close = body.find('}').unwrap_or(body.len());
        let x = &body[open..close];
        out.push_str(&match (month, conn) {
            (false, _) => format!("date({x})"),
            (true, DbConn::Pg(_)) => format!("CAST(date_trunc('month', {x}) AS DATE)"),
            (true, DbConn::Sqlite(_)) => format!("date({x}, 'start of month')"),
        });
        rest = &body[(close + 1).min(body.len())..];
    }
    out.push_str(rest);
    out
}

/// Whole seconds from `a` to `b`, truncated towards zero (as chrono's `num_seconds`): on SQLite
/// from the stored text, its seconds since the epoch and its fraction to the nanosecond.
fn secs(conn: &DbConn, a: &str, b: &str) -> String {
    match conn {
        DbConn::Pg(_) => format!("CAST(TRUNC(EXTRACT(EPOCH FROM ({b}) - ({a}))) AS BIGINT)"),
        DbConn::Sqlite(_) => {
            let whole = |x: &str| format!("CAST(strftime('%s', {x}) AS INTEGER)");
            let nanos = |x: &str| format!("CAST(substr(substr({x}, 21) || '000000000', 1, 9) AS INTEGER)");
            format!(
                "((({wb} - {wa}) * 1000000000 + {nb} - {na}) / 1000000000)",
                wb = whole(b),
                wa = whole(a),
                nb = nanos(b),
                na = nanos(a)
            )
        }
    }
}

/// The SQL of a rollup statement for the connection's dialect: the repair cycle's seconds
/// (`{cycle}`, `{wait}`: the parts wait, never negative, none without a parts request).
fn expand(conn: &DbConn, sql: &str) -> String {
    let sql = dates(conn, sql).replace(
        "{bucket}",
        &cycle_buckets::cycle_bucket_sql("CASE WHEN x.k = 1 THEN c.wait_secs ELSE c.cycle_secs END"),
    );
    if !sql.contains("{cycle}") {
        return sql;
    }
    let requested = "MIN(r.created_at)";
    let wait = secs(
        conn,
        requested,
        "COALESCE(MAX(CASE WHEN a.status = 'received' THEN a.updated_at END), t.resolved_at)",
    );
    sql.replace("{cycle}", &secs(conn, "t.created_at", "t.resolved_at")).replace(
        "{wait}",
        &format!("CASE WHEN {requested} IS NULL THEN NULL WHEN {wait} < 0 THEN 0 ELSE {wait} END"),
    )
}

/// What a rollup statement binds: nothing, an entity's id, or a span of routing times.
#[derive(Clone, Copy)]
pub(super) enum Bind {
    None,
    Id(i64),
    Span(NaiveDateTime, NaiveDateTime),
}

fn exec(conn: &mut DbConn, sql: &str, bind: Bind) -> QueryResult<usize> {
    let sql = expand(conn, sql);
    let text = dialect_sql(conn, &sql);
    crate::on_backend!(conn, |c| match bind {
        Bind::Id(id) => diesel::sql_query(text.as_ref()).bind::<BigInt, _>(id).execute(c),
        Bind::Span(a, b) =>
            diesel::sql_query(text.as_ref()).bind::<Timestamp, _>(a).bind::<Timestamp, _>(b).execute(c),
        Bind::None => diesel::sql_query(text.as_ref()).execute(c),
    })
}

/// A ticket was resolved, or one of its parts requests was made or received: its repair cycle
/// (written once it is resolved). On PostgreSQL the ticket's row is locked first, so that a
/// receipt and a resolution at the same moment see each other.
pub fn ticket(conn: &mut DbConn, ticket_id: i64) -> QueryResult<()> {
    if let DbConn::Pg(c) = conn {
        diesel::sql_query("SELECT id FROM tickets WHERE id = $1 FOR UPDATE")
            .bind::<BigInt, _>(ticket_id)
            .execute(c)?;
    }
    // its old row (if it was resolved before) leaves the histograms, its new one enters them
    let had = has_cycle(conn, ticket_id)?;
    if had {
        for r in CYCLE_HISTOGRAMS {
            r.apply(conn, 0, " AND c.ticket_id = $1", true, Bind::Id(ticket_id))?;
        }
    }
    TICKET_CYCLES.apply(conn, 0, " AND t.id = $1", false, Bind::Id(ticket_id))?;
    if had || has_cycle(conn, ticket_id)? {
        for r in CYCLE_HISTOGRAMS {
            r.apply(conn, 0, " AND c.ticket_id = $1", false, Bind::Id(ticket_id))?;
            if had {
                // a bucket emptied by the change is not kept (the recomputation has no such row)
                exec(conn, &format!("DELETE FROM {} WHERE tickets = 0", r.table), Bind::None)?;
            }
        }
    }
    Ok(())
}

/// Whether a ticket has its repair cycle in the per-ticket rollup (it is resolved).
fn has_cycle(conn: &mut DbConn, ticket_id: i64) -> QueryResult<bool> {
    use crate::db::schema::kpi_ticket_cycles as c;
    let n: i64 = c::table.filter(c::ticket_id.eq(ticket_id)).count().get_result(conn)?;
    Ok(n > 0)
}

const CYCLE_HISTOGRAMS: [&Rollup; 3] = [&CYCLES_NETWORK, &CYCLES_CENTRE, &CYCLES_TIER];

/// Tickets were loaded in bulk (resolved ones among them): every repair cycle is recomputed.
pub fn tickets_loaded(conn: &mut DbConn) -> QueryResult<()> {
    rebuild_one(conn, &TICKET_CYCLES)?;
    for r in CYCLE_HISTOGRAMS {
        rebuild_one(conn, r)?;
    }
    Ok(())
}

/// A station's tier changed: the tier-level triples are regrouped.
pub fn tiers_changed(conn: &mut DbConn) -> QueryResult<()> {
    rebuild_one(conn, &TRIPLES_TIER)?;
    rebuild_one(conn, &CYCLES_TIER)
}

/// An allocation was just received (after any split of its damaged units): its units count as
/// within lead time on its line's routing day when its shipment came by `deliver_by`.
pub fn received(conn: &mut DbConn, allocation_id: i64) -> QueryResult<()> {
    STATION_DAYS.apply(conn, 1, " AND a.id = $1", false, Bind::Id(allocation_id))
}

/// A shipment was just delivered.
pub fn delivered(conn: &mut DbConn, shipment_id: i64) -> QueryResult<()> {
    DELIVERY_DAYS.apply(conn, 0, " AND s.id = $1", false, Bind::Id(shipment_id))
}

/// The movements of the open days (`m.at` from the first open day, and from `$a` to before
/// `$b`) as `location_id, outflow_minor` rows, for the report to add to `kpi_outflow_days`.
pub fn open_outflow_rows(a: u8, b: u8) -> String {
    format!(
        "SELECT m.from_location_id AS location_id, m.qty * p.unit_cost_minor AS outflow_minor \
         FROM stock_movements m JOIN parts p ON p.id = m.part_id \
           JOIN locations l ON l.id = m.from_location_id \
         WHERE {} AND m.at >= (SELECT closed_before FROM kpi_closed) AND m.at >= ${a} AND m.at < ${b}",
        outflow_where!()
    )
}

/// The movements of the open days before `$b` as `location_id, value_minor` rows (in at the
/// destination, out at the origin), for the report to add to `kpi_stock_days`.
pub fn open_stock_rows(b: u8) -> String {
    format!(
        "SELECT l.id AS location_id, d.dir * m.qty * p.unit_cost_minor AS value_minor {} \
         WHERE m.at >= (SELECT closed_before FROM kpi_closed) AND m.at < ${b}",
        stock_from!()
    )
}

/// Opening stock was loaded in bulk: the net stock values are recomputed.
pub fn stock_loaded(conn: &mut DbConn) -> QueryResult<()> {
    rebuild_one(conn, &STOCK_DAYS)
}

/// Around a change of a part's unit cost (outflow and stock are valued at the current cost):
/// `before` takes the part's outflow and net stock value out at the old cost, after the change
/// they go back at the new one.
///
/// Only closed days are stored: on PostgreSQL the first open day is held (`FOR SHARE`) until
/// the transaction ends, so that no day closes, at the old cost, between the two calls.
pub fn cost_change(conn: &mut DbConn, part_id: i64, before: bool) -> QueryResult<()> {
    if let (DbConn::Pg(c), true) = (&mut *conn, before) {
        diesel::sql_query("SELECT id FROM kpi_closed WHERE id = 1 FOR SHARE").execute(c)?;
    }
    OUTFLOW_DAYS.apply(conn, 0, " AND m.part_id = $1", before, Bind::Id(part_id))?;
    STOCK_DAYS.apply(conn, 0, " AND m.part_id = $1", before, Bind::Id(part_id))
}

/// Rebuilds every rollup from the raw rows (after a bulk load that bypassed the flows), with
/// every day over at `now` closed.
pub fn rebuild(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<()> {
    closing::set_closed_before(conn, closable(now))?;
    for r in &ALL {
        rebuild_one(conn, r)?;
    }
    Ok(())
}

fn rebuild_one(conn: &mut DbConn, r: &Rollup) -> QueryResult<()> {
    for &month in r.grains() {
        exec(conn, &format!("DELETE FROM {}", r.table_of(month)), Bind::None)?;
        for i in 0..r.parts.len() {
            exec(conn, &r.upsert(i, "", false, month), Bind::None)?;
        }
    }
    Ok(())
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn count(conn: &mut DbConn, sql: &str) -> QueryResult<i64> {
    let sql = expand(conn, sql);
    let text = dialect_sql(conn, &sql);
    let rows: Vec<Count> = crate::on_backend!(conn, |c| diesel::sql_query(text.as_ref()).load::<Count>(c))?;
    Ok(rows.first().map(|r| r.n).unwrap_or(0))
}

/// What `echelon audit` checks: each rollup equals its recomputation from the raw rows.
pub fn breaches(conn: &mut DbConn) -> QueryResult<Vec<String>> {
    let mut out = Vec::new();
    for r in &ALL {
        for &month in r.grains() {
            let (stored, fresh) = (r.stored(month), r.recomputed(month));
            let extra = count(
                conn,
                &format!("SELECT CAST(COUNT(*) AS BIGINT) AS n FROM ({stored} EXCEPT {fresh}) t"),
            )?;
            let missing = count(
                conn,
                &format!("SELECT CAST(COUNT(*) AS BIGINT) AS n FROM ({fresh} EXCEPT {stored}) t"),
            )?;
            if extra > 0 || missing > 0 {
                out.push(format!(
                    "KPI rollup {}: {extra} stored rows differ from the raw data's, {missing} recomputed \
                     rows are not stored",
                    r.table_of(month)
                ));
            }
        }
    }
    Ok(out)
}
