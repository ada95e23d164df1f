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
pub(super) fn group_key(level: Level, alias: &str) -> String {
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
pub(super) fn run_at<
    T: QueryableByName<diesel::pg::Pg> + QueryableByName<diesel::sqlite::Sqlite> + 'static,
>(
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

/// The rows of a daily rollup and its monthly sibling covering the days [from, to]: whole
/// months from the monthly table, the ragged ends from the daily one (6 dates, `run_spans`).
fn spans(days: &str, months: &str, cols: &str) -> String {
    format!(
        "(SELECT {cols} FROM {months} WHERE day >= $1 AND day < $2 UNION ALL \
          SELECT {cols} FROM {days} WHERE (day >= $3 AND day < $4) OR (day >= $5 AND day <= $6))"
    )
}

/// Runs a query over `spans` for the days [from, to].
fn run_spans<T: QueryableByName<diesel::pg::Pg> + QueryableByName<diesel::sqlite::Sqlite> + 'static>(
    conn: &mut DbConn,
    sql: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Vec<T>> {
    let (m1, m2) = super::rules::whole_months(from, to);
    let text = dialect_sql(conn, sql);
    crate::on_backend!(conn, |c| {
        let mut q = diesel::sql_query(text.as_ref()).into_boxed();
        for d in [m1, m2, from, m1, m2, to] {
            q = q.bind::<Date, _>(d);
        }
        q.load::<T>(c)
    })
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
         FROM {rows} k JOIN locations l ON l.id = k.station_id{g}",
        gk = group_key(level, "l"),
        g = grouped(level),
        rows = spans(
            "kpi_station_days",
            "kpi_station_months",
            "station_id, units, first_units, lines, first_lines, units_in_time"
        ),
    );
    Ok(run_spans::<Row5>(conn, &sql, from, to)?
        .into_iter()
        .filter(|r| r.d > 0)
        .map(|r| (r.gk, (Ratio::new(r.a, r.b), Ratio::new(r.c, r.d), r.e)))
        .collect())
}

/// Stock-out: of the (part, first-choice source, day) triples that saw demand on the days
/// [from, to], those where the source had nothing available; per group of the requesting
/// station (a triple counts once per group however many of its stations asked: each level
/// above a station has its own deduplicated rollup).
pub fn stockouts(
    conn: &mut DbConn,
    level: Level,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<BTreeMap<String, Ratio>> {
    let (gk, table) = match level {
        Level::Network => ("'network'", "kpi_triples_network"),
        Level::Centre => ("CAST(k.centre_id AS TEXT)", "kpi_triples_centre"),
        Level::Station => ("CAST(k.station_id AS TEXT)", "kpi_stockout_marks"),
        Level::Tier => ("k.tier", "kpi_triples_tier"),
    };
    let sql = format!(
        "SELECT {gk} AS gk, CAST(COALESCE(SUM(k.stockout), 0) AS BIGINT) AS a, CAST(COUNT(*) AS BIGINT) AS b \
         FROM {table} k WHERE k.day >= $1 AND k.day <= $2{g}",
        g = grouped(level)
    );
    Ok(run_days::<Row2>(conn, &sql, from, to)?
        .into_iter()
        .filter(|r| r.b > 0)
        .map(|r| (r.gk, Ratio::new(r.a, r.b)))
        .collect())
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
           CAST(SUM(k.on_time) AS BIGINT) AS a, CAST(SUM(k.delivered) AS BIGINT) AS b \
         FROM (SELECT destination_id, origin_id, courier_id, SUM(on_time) AS on_time, \
             SUM(delivered) AS delivered FROM {rows} d \
             GROUP BY destination_id, origin_id, courier_id) k \
           JOIN locations l ON l.id = k.destination_id \
           JOIN locations o ON o.id = k.origin_id LEFT JOIN users u ON u.id = k.courier_id \
         WHERE 1 = 1{only} GROUP BY 1, 2, 3",
        gk = group_key(level, "l"),
        only = only_stations(level),
        rows = spans(
            "kpi_delivery_days",
            "kpi_delivery_months",
            "destination_id, origin_id, courier_id, on_time, delivered"
        ),
    );
    let mut overall: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    let mut couriers: BTreeMap<(String, String), (i64, i64)> = BTreeMap::new();
    let mut lanes: BTreeMap<(String, String), (i64, i64)> = BTreeMap::new();
    for r in run_spans::<LaneRow>(conn, &sql, from, to)? {
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

/// Stock value at cost per group and echelon (location kind) at the start of `day`, from the
/// net value moved into each location per day at the parts' current cost (`kpi_stock_days`,
/// whole months from `kpi_stock_months`): exact, because each balance is the sum of its
/// movements (`echelon audit` checks both). A group's echelon is listed when one of its
/// locations had a movement before the day.
pub fn stock_value_at(
    conn: &mut DbConn,
    level: Level,
    day: NaiveDate,
) -> QueryResult<BTreeMap<(String, String), i64>> {
    use chrono::Datelike;
    let month = day.with_day(1).unwrap_or(day);
    let kinds = if level == Level::Station {
        "l.kind = 'station'"
    } else {
        "l.kind IN ('central_warehouse', 'regional_centre', 'station')"
    };
    let sql = format!(
        "SELECT {gk} AS gk, l.kind AS name, CAST(COALESCE(SUM(k.value_minor), 0) AS BIGINT) AS a \
         FROM (SELECT location_id, value_minor FROM kpi_stock_months WHERE day < $1 UNION ALL \
               SELECT location_id, value_minor FROM kpi_stock_days WHERE day >= $2 AND day < $3) k \
           JOIN locations l ON l.id = k.location_id WHERE {kinds} GROUP BY 1, 2",
        gk = group_key(level, "l"),
    );
    let text = dialect_sql(conn, &sql);
    let rows: Vec<Named> = crate::on_backend!(conn, |c| diesel::sql_query(text.as_ref())
        .bind::<Date, _>(month)
        .bind::<Date, _>(month)
        .bind::<Date, _>(day)
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
         FROM {rows} k JOIN locations l ON l.id = k.location_id \
         WHERE 1 = 1{only} GROUP BY 1, 2",
        gk = group_key(level, "l"),
        only = only_stations(level),
        rows = spans("kpi_outflow_days", "kpi_outflow_months", "location_id, outflow_minor"),
    );
    Ok(run_spans::<Named>(conn, &sql, from, to)?.into_iter().map(|r| ((r.gk, r.name), r.a)).collect())
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
