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

/// The rows of a daily rollup and its monthly sibling covering the days [from, to]: whole
/// months from the monthly table, the ragged ends from the daily one (6 dates, `run_spans`).
fn spans(days: &str, months: &str, cols: &str) -> String {
    format!("({})", span_rows(days, months, cols))
}

/// `spans` without its parentheses, to be united with more rows.
fn span_rows(days: &str, months: &str, cols: &str) -> String {
    format!(
        "SELECT {cols} FROM {months} WHERE day >= $1 AND day < $2 UNION ALL \
         SELECT {cols} FROM {days} WHERE (day >= $3 AND day < $4) OR (day >= $5 AND day <= $6)"
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
    run_dates(conn, sql, &[m1, m2, from, m1, m2, to])
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

/// The routing-keyed rollups hold closed days only: a report adds the lines routed on the days
/// not closed yet (`rollup::closing`), read in the same statement as the rollup, so that a day
/// closed meanwhile is counted once. `$a` and `$b`: the first open day of the period as it was
/// just read (a bound the planner can use: a day's lines, not a third of the period's) and the
/// day after the period.
fn open_lines(a: u8, b: u8) -> String {
    format!(
        "FROM parts_request_lines ln JOIN parts_requests r ON r.id = ln.request_id \
           JOIN locations l ON l.id = r.station_id \
         WHERE ln.routed_at >= (SELECT closed_before FROM kpi_closed) \
           AND ln.routed_at >= ${a} AND ln.routed_at < ${b}"
    )
}

#[derive(QueryableByName)]
struct ClosedBefore {
    #[diesel(sql_type = Date)]
    closed_before: NaiveDate,
}

/// The days of [from, to] not closed yet, as `open_lines`' bounds; none when the period ends
/// before the first open day. Exact even if a day closes right after this read: days only ever
/// close in order, so a period entirely closed now stays so, and one that is not is bounded
/// again in its statement by the mark itself.
fn open_span(conn: &mut DbConn, from: NaiveDate, to: NaiveDate) -> QueryResult<Option<[NaiveDate; 2]>> {
    let first_open = first_open(conn)?;
    let next = to + chrono::Duration::days(1);
    Ok((next > first_open).then_some([from.max(first_open), next]))
}

/// The first day not closed yet, as just read.
fn first_open(conn: &mut DbConn) -> QueryResult<NaiveDate> {
    let sql = "SELECT closed_before FROM kpi_closed WHERE id = 1";
    let mark: Vec<ClosedBefore> = crate::on_backend!(conn, |c| diesel::sql_query(sql).load(c))?;
    Ok(mark.first().map(|m| m.closed_before).unwrap_or(NaiveDate::MIN))
}

/// Runs `sql` with the dates bound in order (SQLite's placeholders are positional).
fn run_dates<T: QueryableByName<diesel::pg::Pg> + QueryableByName<diesel::sqlite::Sqlite> + 'static>(
    conn: &mut DbConn,
    sql: &str,
    dates: &[NaiveDate],
) -> QueryResult<Vec<T>> {
    let text = dialect_sql(conn, sql);
    crate::on_backend!(conn, |c| {
        let mut q = diesel::sql_query(text.as_ref()).into_boxed();
        for d in dates {
            q = q.bind::<Date, _>(*d);
        }
        q.load::<T>(c)
    })
}

/// Request fill per group, for lines routed on the days [from, to], from the daily rollup and
/// the open days' lines: units (first-choice filled / requested), lines (fully filled from the
/// first choice / lines) and the units that reached the station on a shipment delivered by its
/// `deliver_by`.
pub fn fill(
    conn: &mut DbConn,
    level: Level,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<BTreeMap<String, (Ratio, Ratio, i64)>> {
    let cols = "station_id, units, first_units, lines, first_lines, units_in_time";
    let closed = span_rows("kpi_station_days", "kpi_station_months", cols);
    let open = open_span(conn, from, to)?;
    let open_rows = match open {
        Some(_) => format!(
            " UNION ALL SELECT r.station_id, ln.qty, ln.first_filled, 1, \
               CASE WHEN ln.first_filled >= ln.qty THEN 1 ELSE 0 END, 0 {}",
            open_lines(7, 8)
        ),
        None => String::new(),
    };
    let sql = format!(
        "SELECT {gk} AS gk, CAST(COALESCE(SUM(k.first_units), 0) AS BIGINT) AS a, \
           CAST(COALESCE(SUM(k.units), 0) AS BIGINT) AS b, \
           CAST(COALESCE(SUM(k.first_lines), 0) AS BIGINT) AS c, \
           CAST(COALESCE(SUM(k.lines), 0) AS BIGINT) AS d, \
           CAST(COALESCE(SUM(k.units_in_time), 0) AS BIGINT) AS e \
         FROM ({closed}{open_rows}) k JOIN locations l ON l.id = k.station_id{g}",
        gk = group_key(level, "l"),
        g = grouped(level),
    );
    let (m1, m2) = super::rules::whole_months(from, to);
    let mut dates = vec![m1, m2, from, m1, m2, to];
    dates.extend(open.iter().flatten());
    Ok(run_dates::<Row5>(conn, &sql, &dates)?
        .into_iter()
        .filter(|r| r.d > 0)
        .map(|r| (r.gk, (Ratio::new(r.a, r.b), Ratio::new(r.c, r.d), r.e)))
        .collect())
}

/// Stock-out: of the (part, first-choice source, day) triples that saw demand on the days
/// [from, to], those where the source had nothing available; per group of the requesting
/// station (a triple counts once per group however many of its stations asked: each level
/// above a station has its own deduplicated rollup of the closed days; the open days' lines
/// are deduplicated here, by the same group as the rollup's).
pub fn stockouts(
    conn: &mut DbConn,
    level: Level,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<BTreeMap<String, Ratio>> {
    let (gk, table, open_gk) = match level {
        Level::Network => ("'network'", "kpi_triples_network", "'network'"),
        Level::Centre => (
            "CAST(k.centre_id AS TEXT)",
            "kpi_triples_centre",
            "CAST(COALESCE(CASE WHEN l.kind = 'station' THEN l.parent_id ELSE l.id END, 0) AS TEXT)",
        ),
        Level::Station => ("CAST(k.station_id AS TEXT)", "kpi_stockout_marks", "CAST(r.station_id AS TEXT)"),
        Level::Tier => ("k.tier", "kpi_triples_tier", "COALESCE(l.tier, '-')"),
    };
    let open = open_span(conn, from, to)?;
    let open_rows = match open {
        Some(_) => format!(
            " UNION ALL SELECT {open_gk}, MAX(CASE WHEN ln.first_stockout THEN 1 ELSE 0 END) {} \
               GROUP BY date(ln.routed_at){by}, ln.part_id, COALESCE(ln.first_source_id, 0)",
            open_lines(3, 4),
            // PostgreSQL takes no constant in GROUP BY
            by = if level == Level::Network { String::new() } else { format!(", {open_gk}") },
        ),
        None => String::new(),
    };
    let sql = format!(
        "SELECT gk, CAST(COALESCE(SUM(stockout), 0) AS BIGINT) AS a, CAST(COUNT(*) AS BIGINT) AS b FROM ( \
           SELECT {gk} AS gk, k.stockout AS stockout FROM {table} k WHERE k.day >= $1 AND k.day <= $2{open_rows} \
         ) u GROUP BY gk",
    );
    let mut dates = vec![from, to];
    dates.extend(open.iter().flatten());
    Ok(run_dates::<Row2>(conn, &sql, &dates)?
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
/// net value moved into each location per closed day at the parts' current cost
/// (`kpi_stock_days`, whole months from `kpi_stock_months`) and the open days' movements
/// before `day`, read in the same statement: exact, because each balance is the sum of its
/// movements (`echelon audit` checks both rollups). A group's echelon is listed when one of
/// its locations had a movement before the day.
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
    // the open days' movements count only when an open day is before `day` (exact if a day
    // closes meanwhile, as in `open_span`)
    let open = first_open(conn)? < day;
    let open_rows =
        if open { format!(" UNION ALL {}", crate::rollup::open_stock_rows(4)) } else { String::new() };
    let sql = format!(
        "SELECT {gk} AS gk, l.kind AS name, CAST(COALESCE(SUM(k.value_minor), 0) AS BIGINT) AS a \
         FROM (SELECT location_id, value_minor FROM kpi_stock_months WHERE day < $1 UNION ALL \
               SELECT location_id, value_minor FROM kpi_stock_days WHERE day >= $2 AND day < $3{open_rows}) k \
           JOIN locations l ON l.id = k.location_id WHERE {kinds} GROUP BY 1, 2",
        gk = group_key(level, "l"),
    );
    let mut dates = vec![month, month, day];
    if open {
        dates.push(day);
    }
    Ok(run_dates::<Named>(conn, &sql, &dates)?.into_iter().map(|r| ((r.gk, r.name), r.a)).collect())
}

/// What left each echelon towards the customer on the days [from, to], at cost, from the daily
/// rollup of the closed days and the open days' movements: shipments out of the warehouse and
/// centres (`transfer_ship`), loans and consumption out of stations.
pub fn outflow(
    conn: &mut DbConn,
    level: Level,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<BTreeMap<(String, String), i64>> {
    let closed = span_rows("kpi_outflow_days", "kpi_outflow_months", "location_id, outflow_minor");
    let open = open_span(conn, from, to)?;
    let open_rows = match open {
        Some(_) => format!(" UNION ALL {}", crate::rollup::open_outflow_rows(7, 8)),
        None => String::new(),
    };
    let sql = format!(
        "SELECT {gk} AS gk, l.kind AS name, CAST(COALESCE(SUM(k.outflow_minor), 0) AS BIGINT) AS a \
         FROM ({closed}{open_rows}) k JOIN locations l ON l.id = k.location_id \
         WHERE 1 = 1{only} GROUP BY 1, 2",
        gk = group_key(level, "l"),
        only = only_stations(level),
    );
    let (m1, m2) = super::rules::whole_months(from, to);
    let mut dates = vec![m1, m2, from, m1, m2, to];
    dates.extend(open.iter().flatten());
    Ok(run_dates::<Named>(conn, &sql, &dates)?.into_iter().map(|r| ((r.gk, r.name), r.a)).collect())
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
