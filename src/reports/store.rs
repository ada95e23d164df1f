//! KPI queries: aggregates in SQL, grouped by the level's key (the network, a regional centre,
//! a station, a tier), so that a year of history is summed by the database, not in Rust.
//! Timestamps are bound as parameters; raw SQL is written once with `$n` placeholders.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Text, Timestamp};

use super::rules::{Level, Ratio};
use crate::db::{dialect_sql, DbConn};

/// The group key of a location row aliased `l` (a station, or any stocking location).
fn group_key(level: Level, alias: &str) -> String {
    match level {
        Level::Network => "'network'".to_string(),
        Level::Station => format!("CAST({alias}.id AS TEXT)"),
        // a station counts for its centre, a centre for itself
        Level::Centre => format!(
            "CAST(CASE WHEN {alias}.kind = 'station' THEN {alias}.parent_id ELSE {alias}.id END AS TEXT)"
        ),
        Level::Tier => format!("COALESCE({alias}.tier, '-')"),
    }
}

#[derive(QueryableByName)]
struct Row2 {
    #[diesel(sql_type = Text)]
    gk: String,
    #[diesel(sql_type = BigInt)]
    a: i64,
    #[diesel(sql_type = BigInt)]
    b: i64,
}

#[derive(QueryableByName)]
struct Row5 {
    #[diesel(sql_type = Text)]
    gk: String,
    #[diesel(sql_type = BigInt)]
    a: i64,
    #[diesel(sql_type = BigInt)]
    b: i64,
    #[diesel(sql_type = BigInt)]
    c: i64,
    #[diesel(sql_type = BigInt)]
    d: i64,
    #[diesel(sql_type = BigInt)]
    e: i64,
}

#[derive(QueryableByName)]
struct Named {
    #[diesel(sql_type = Text)]
    gk: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = BigInt)]
    a: i64,
}

/// Runs `sql` with the times bound in order (SQLite's placeholders are positional: a time
/// used twice is bound twice).
fn run_at<T: QueryableByName<diesel::pg::Pg> + QueryableByName<diesel::sqlite::Sqlite> + 'static>(
    conn: &mut DbConn,
    sql: &str,
    times: &[NaiveDateTime],
) -> QueryResult<Vec<T>> {
    let text = dialect_sql(conn, sql);
    crate::on_backend!(conn, |c| {
        let mut q = diesel::sql_query(text.as_ref()).into_boxed();
        for t in times {
            q = q.bind::<Timestamp, _>(*t);
        }
        q.load::<T>(c)
    })
}

fn grouped(level: Level) -> &'static str {
    if level == Level::Network {
        ""
    } else {
        " GROUP BY gk"
    }
}

/// Runs `sql` with the period's first and last day bound in order.
fn run_days<T: QueryableByName<diesel::pg::Pg> + QueryableByName<diesel::sqlite::Sqlite> + 'static>(
    conn: &mut DbConn,
    sql: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Vec<T>> {
    let text = dialect_sql(conn, sql);
    crate::on_backend!(conn, |c| diesel::sql_query(text.as_ref())
        .bind::<Date, _>(from)
        .bind::<Date, _>(to)
        .load::<T>(c))
}

/// At the station level only stations are groups (not the centres and the warehouse whose
/// stock moves and shipments also carry a location).
fn only_stations(level: Level) -> &'static str {
    if level == Level::Station {
        " AND l.kind = 'station'"
    } else {
        ""
    }
}

/// Request fill per group, for lines routed on the days [from, to], from the daily rollup:
/// units (first-choice filled / requested), lines (fully filled from the first choice / lines)
/// and the units that reached the station on a shipment delivered by its `deliver_by`.
pub fn fill(
    conn: &mut DbConn,
    level: Level,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<BTreeMap<String, (Ratio, Ratio, i64)>> {
    let sql = format!(
        "SELECT {gk} AS gk, CAST(COALESCE(SUM(k.first_units), 0) AS BIGINT) AS a, \
           CAST(COALESCE(SUM(k.units), 0) AS BIGINT) AS b, \
           CAST(COALESCE(SUM(k.first_lines), 0) AS BIGINT) AS c, \
           CAST(COALESCE(SUM(k.lines), 0) AS BIGINT) AS d, \
           CAST(COALESCE(SUM(k.units_in_time), 0) AS BIGINT) AS e \
         FROM kpi_station_days k JOIN locations l ON l.id = k.station_id \
         WHERE k.day >= $1 AND k.day <= $2{g}",
        gk = group_key(level, "l"),
        g = grouped(level)
    );
    Ok(run_days::<Row5>(conn, &sql, from, to)?
        .into_iter()
        .filter(|r| r.d > 0)
        .map(|r| (r.gk, (Ratio::new(r.a, r.b), Ratio::new(r.c, r.d), r.e)))
        .collect())
}

/// Stock-out: of the (part, first-choice source, day) triples that saw demand on the days
/// [from, to], those where the source had nothing available; per group of the requesting
/// station (a triple counts once per group however many of its stations asked).
pub fn stockouts(
    conn: &mut DbConn,
    level: Level,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<BTreeMap<String, Ratio>> {
    let sql = format!(
        "SELECT gk, CAST(COALESCE(SUM(so), 0) AS BIGINT) AS a, CAST(COUNT(*) AS BIGINT) AS b FROM ( \
           SELECT {gk} AS gk, m.part_id, m.source_id, m.day, MAX(m.stockout) AS so \
           FROM kpi_stockout_marks m JOIN locations l ON l.id = m.station_id \
           WHERE m.day >= $1 AND m.day <= $2 \
           GROUP BY 1, 2, 3, 4) t GROUP BY gk",
        gk = group_key(level, "l"),
    );
    Ok(run_days::<Row2>(conn, &sql, from, to)?.into_iter().map(|r| (r.gk, Ratio::new(r.a, r.b))).collect())
}

/// Per group: overall; per (group, courier); per (group, lane).
pub type OnTimeRows = (BTreeMap<String, Ratio>, Vec<(String, String, Ratio)>, Vec<(String, String, Ratio)>);

#[derive(QueryableByName)]
struct LaneRow {
    #[diesel(sql_type = Text)]
    gk: String,
    #[diesel(sql_type = Text)]
    courier: String,
    #[diesel(sql_type = Text)]
    lane: String,
    #[diesel(sql_type = BigInt)]
    a: i64,
    #[diesel(sql_type = BigInt)]
    b: i64,
}

/// On-time delivery of shipments delivered on the days [from, to], per group of the
/// destination: overall, per courier and per lane (origin -> destination), from the daily
/// rollup grouped by courier and lane; the overall and per-courier figures are its sums.
pub fn on_time(conn: &mut DbConn, level: Level, from: NaiveDate, to: NaiveDate) -> QueryResult<OnTimeRows> {
    let sql = format!(
        "SELECT {gk} AS gk, COALESCE(u.username, '-') AS courier, o.code || ' -> ' || l.code AS lane, \
           CAST(COALESCE(SUM(k.on_time), 0) AS BIGINT) AS a, CAST(COALESCE(SUM(k.delivered), 0) AS BIGINT) AS b \
         FROM kpi_delivery_days k JOIN locations l ON l.id = k.destination_id \
           JOIN locations o ON o.id = k.origin_id LEFT JOIN users u ON u.id = k.courier_id \
         WHERE k.day >= $1 AND k.day <= $2{only} GROUP BY 1, 2, 3",
        gk = group_key(level, "l"),
        only = only_stations(level),
    );
    let mut overall: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    let mut couriers: BTreeMap<(String, String), (i64, i64)> = BTreeMap::new();
    let mut lanes: BTreeMap<(String, String), (i64, i64)> = BTreeMap::new();
    for r in run_days::<LaneRow>(conn, &sql, from, to)? {
        for e in [
            overall.entry(r.gk.clone()).or_default(),
            couriers.entry((r.gk.clone(), r.courier)).or_default(),
            lanes.entry((r.gk, r.lane)).or_default(),
        ] {
            e.0 += r.a;
            e.1 += r.b;
        }
    }
    let list = |m: BTreeMap<(String, String), (i64, i64)>| {
        m.into_iter().map(|((g, n), (a, b))| (g, n, Ratio::new(a, b))).collect()
    };
    Ok((overall.into_iter().map(|(g, (a, b))| (g, Ratio::new(a, b))).collect(), list(couriers), list(lanes)))
}

#[derive(QueryableByName)]
struct Span {
    #[diesel(sql_type = diesel::sql_types::Nullable<Timestamp>)]
    first: Option<NaiveDateTime>,
    #[diesel(sql_type = diesel::sql_types::Nullable<Timestamp>)]
    last: Option<NaiveDateTime>,
}

/// Stock value at cost per group and echelon (location kind) at time `at`, from whichever end
/// of the ledger is nearer: the movements before `at`, or today's balances minus what moved in
/// after `at` plus what moved out. Both are exact because each balance is the sum of its
/// movements (`echelon audit` checks it); the nearer end reads fewer movements.
pub fn stock_value_at(
    conn: &mut DbConn,
    level: Level,
    at: NaiveDateTime,
) -> QueryResult<BTreeMap<(String, String), i64>> {
    let span = run_at::<Span>(conn, "SELECT MIN(at) AS first, MAX(at) AS last FROM stock_movements", &[])?;
    let near_start = match span.first() {
        Some(Span { first: Some(f), last: Some(l) }) => at - *f < *l - at,
        _ => false,
    };
    let gk = group_key(level, "l");
    let kinds = if level == Level::Station {
        "l.kind = 'station'"
    } else {
        "l.kind IN ('central_warehouse', 'regional_centre', 'station')"
    };
    if near_start {
        let sql = format!(
            "SELECT gk, name, CAST(COALESCE(SUM(v), 0) AS BIGINT) AS a FROM ( \
               SELECT {gk} AS gk, l.kind AS name, m.qty * p.unit_cost_minor AS v FROM stock_movements m \
                 JOIN parts p ON p.id = m.part_id JOIN locations l ON l.id = m.to_location_id \
                 WHERE {kinds} AND m.at < $1 \
               UNION ALL SELECT {gk}, l.kind, -m.qty * p.unit_cost_minor FROM stock_movements m \
                 JOIN parts p ON p.id = m.part_id JOIN locations l ON l.id = m.from_location_id \
                 WHERE {kinds} AND m.at < $2 \
             ) t GROUP BY gk, name"
        );
        let rows: Vec<Named> = run_at(conn, &sql, &[at, at])?;
        return Ok(rows.into_iter().map(|r| ((r.gk, r.name), r.a)).collect());
    }
    let sql = format!(
        "SELECT gk, name, CAST(COALESCE(SUM(v), 0) AS BIGINT) AS a FROM ( \
           SELECT {gk} AS gk, l.kind AS name, b.on_hand * p.unit_cost_minor AS v \
             FROM stock_balances b JOIN parts p ON p.id = b.part_id JOIN locations l ON l.id = b.location_id \
             WHERE {kinds} AND b.on_hand <> 0 \
           UNION ALL SELECT {gk}, l.kind, -m.qty * p.unit_cost_minor FROM stock_movements m \
             JOIN parts p ON p.id = m.part_id JOIN locations l ON l.id = m.to_location_id \
             WHERE {kinds} AND m.at >= $1 \
           UNION ALL SELECT {gk}, l.kind, m.qty * p.unit_cost_minor FROM stock_movements m \
             JOIN parts p ON p.id = m.part_id JOIN locations l ON l.id = m.from_location_id \
             WHERE {kinds} AND m.at >= $2 \
         ) t GROUP BY gk, name"
    );
    let text = dialect_sql(conn, &sql);
    let rows: Vec<Named> = crate::on_backend!(conn, |c| diesel::sql_query(text.as_ref())
        .bind::<Timestamp, _>(at)
        .bind::<Timestamp, _>(at)
        .load::<Named>(c))?;
    Ok(rows.into_iter().map(|r| ((r.gk, r.name), r.a)).collect())
}

/// What left each echelon towards the customer on the days [from, to], at cost, from the daily
/// rollup: shipments out of the warehouse and centres (`transfer_ship`), loans and consumption
/// out of stations.
pub fn outflow(
    conn: &mut DbConn,
    level: Level,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<BTreeMap<(String, String), i64>> {
    let sql = format!(
        "SELECT {gk} AS gk, l.kind AS name, CAST(COALESCE(SUM(k.outflow_minor), 0) AS BIGINT) AS a \
         FROM kpi_outflow_days k JOIN locations l ON l.id = k.location_id \
         WHERE k.day >= $1 AND k.day <= $2{only} GROUP BY 1, 2",
        gk = group_key(level, "l"),
        only = only_stations(level),
    );
    Ok(run_days::<Named>(conn, &sql, from, to)?.into_iter().map(|r| ((r.gk, r.name), r.a)).collect())
}

#[derive(QueryableByName)]
struct CycleRow {
    #[diesel(sql_type = Text)]
    gk: String,
    #[diesel(sql_type = Timestamp)]
    created_at: NaiveDateTime,
    #[diesel(sql_type = Timestamp)]
    resolved_at: NaiveDateTime,
    #[diesel(sql_type = diesel::sql_types::Nullable<Timestamp>)]
    requested_at: Option<NaiveDateTime>,
    #[diesel(sql_type = diesel::sql_types::Nullable<Timestamp>)]
    received_at: Option<NaiveDateTime>,
}

/// A ticket resolved in the period: hours from intake to `resolved`, and the parts wait
/// (first parts request for the ticket to the last unit received) when it waited for parts.
pub struct Cycle {
    pub hours: f64,
    pub parts_wait_hours: Option<f64>,
}

/// The repair cycles of tickets resolved in [from, to), per group of the ticket's station.
pub fn cycles(
    conn: &mut DbConn,
    level: Level,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<BTreeMap<String, Vec<Cycle>>> {
    // the parts requests of the period's tickets, aggregated once per ticket
    let sql = format!(
        "SELECT {gk} AS gk, t.created_at, t.resolved_at, w.requested_at, w.received_at \
         FROM tickets t JOIN locations l ON l.id = t.station_id \
         LEFT JOIN (SELECT r.ticket_id, MIN(r.created_at) AS requested_at, \
             MAX(CASE WHEN a.status = 'received' THEN a.updated_at END) AS received_at \
           FROM tickets tt JOIN parts_requests r ON r.ticket_id = tt.id \
             LEFT JOIN request_allocations a ON a.request_id = r.id \
           WHERE tt.resolved_at >= $1 AND tt.resolved_at < $2 GROUP BY r.ticket_id) w ON w.ticket_id = t.id \
         WHERE t.resolved_at >= $3 AND t.resolved_at < $4",
        gk = group_key(level, "l"),
    );
    let hours = |a: NaiveDateTime, b: NaiveDateTime| (b - a).num_seconds() as f64 / 3600.0;
    let mut out: BTreeMap<String, Vec<Cycle>> = BTreeMap::new();
    for r in run_at::<CycleRow>(conn, &sql, &[from, to, from, to])? {
        let parts_wait_hours = match (r.requested_at, r.received_at) {
            (Some(a), Some(b)) => Some(hours(a, b).max(0.0)),
            (Some(a), None) => Some(hours(a, r.resolved_at).max(0.0)),
            _ => None,
        };
        out.entry(r.gk)
            .or_default()
            .push(Cycle { hours: hours(r.created_at, r.resolved_at), parts_wait_hours });
    }
    Ok(out)
}

/// A named pair of counts: what the report queries below return.
#[derive(QueryableByName, Debug)]
pub struct Pair {
    #[diesel(sql_type = Text)]
    pub k: String,
    #[diesel(sql_type = BigInt)]
    pub a: i64,
    #[diesel(sql_type = BigInt)]
    pub b: i64,
}

/// Runs a query returning `k, a, b` with the timestamps bound in order (SQLite's placeholders
/// are positional: a time used twice is bound twice).
pub fn pairs(conn: &mut DbConn, sql: &str, times: &[NaiveDateTime]) -> QueryResult<Vec<Pair>> {
    let text = dialect_sql(conn, sql);
    crate::on_backend!(conn, |c| {
        let mut q = diesel::sql_query(text.as_ref()).into_boxed();
        for t in times {
            q = q.bind::<Timestamp, _>(*t);
        }
        q.load::<Pair>(c)
    })
}
