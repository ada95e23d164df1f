//! The rollup of a new parts request's lines, written from the values the request's transaction
//! already holds instead of re-reading its rows: the hot path of every parts request, so each
//! statement is small, prepared once and sent on the concrete connection. It writes exactly what
//! `FILL` and the stock-out triples recompute from the rows (the audit compares them).
//!
//! A stock-out triple already stored is left alone unless this request found the source empty:
//! a triple is shared by every station asking for the part from that source on that day, and
//! `ON CONFLICT DO NOTHING` takes no row lock, where an update would hold one until commit.

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Text};

use crate::db::{dialect_sql, CachedExt, DbConn};

/// One routed line: its part, its first-choice source, what it asked for and what the first
/// choice gave at once.
pub struct RoutedLine {
    pub part_id: i64,
    pub source_id: i64,
    pub qty: i64,
    pub first_filled: i64,
}

/// A request just routed: when, by which station (its centre and current tier), its lines.
pub struct Routed<'a> {
    pub at: NaiveDateTime,
    pub station_id: i64,
    /// the station's parent centre (0 when it has none)
    pub centre_id: i64,
    pub tier: Option<&'a str>,
    pub lines: &'a [RoutedLine],
}

/// A station's fill sums added to its row of the day or of the month (`$1`).
fn sums_sql(table: &str) -> String {
    let add = |c: &str| format!("{c} = {table}.{c} + excluded.{c}");
    format!(
        "INSERT INTO {table} (day, station_id, units, first_units, lines, first_lines, units_in_time) \
         VALUES ($1, $2, $3, $4, $5, $6, 0) ON CONFLICT (day, station_id) DO UPDATE SET {}",
        ["units", "first_units", "lines", "first_lines"].map(add).join(", ")
    )
}

static DAYS: once_cell::sync::Lazy<String> = once_cell::sync::Lazy::new(|| sums_sql("kpi_station_days"));
static MONTHS: once_cell::sync::Lazy<String> = once_cell::sync::Lazy::new(|| sums_sql("kpi_station_months"));

/// The group a stock-out triple table is kept by.
enum Group<'a> {
    Station(i64),
    Centre(i64),
    Tier(&'a str),
    Network,
}

impl Group<'_> {
    fn table(&self) -> (&'static str, Option<&'static str>) {
        match self {
            Group::Station(_) => ("kpi_stockout_marks", Some("station_id")),
            Group::Centre(_) => ("kpi_triples_centre", Some("centre_id")),
            Group::Tier(_) => ("kpi_triples_tier", Some("tier")),
            Group::Network => ("kpi_triples_network", None),
        }
    }
}

/// A triple marked as seen, and as a stock-out when `stockout` (a flag that stays set).
fn triple_sql(group: &Group<'_>, stockout: bool) -> String {
    let (table, column) = group.table();
    let (cols, vals) = match column {
        Some(c) => (format!("day, {c}, part_id, source_id"), "$1, $2, $3, $4"),
        None => ("day, part_id, source_id".to_string(), "$1, $2, $3"),
    };
    let on_conflict = if stockout { "DO UPDATE SET stockout = 1" } else { "DO NOTHING" };
    format!(
        "INSERT INTO {table} ({cols}, stockout) VALUES ({vals}, {s}) ON CONFLICT ({cols}) {on_conflict}",
        s = i32::from(stockout)
    )
}

fn triple(
    conn: &mut DbConn,
    group: &Group<'_>,
    day: NaiveDate,
    key: (i64, i64),
    stockout: bool,
) -> QueryResult<()> {
    let (part, source) = key;
    let sql = triple_sql(group, stockout);
    let text = dialect_sql(conn, &sql).into_owned();
    match group {
        Group::Station(id) | Group::Centre(id) => crate::on_backend!(conn, |c| diesel::sql_query(&text)
            .bind::<Date, _>(day)
            .bind::<BigInt, _>(*id)
            .bind::<BigInt, _>(part)
            .bind::<BigInt, _>(source)
            .cached()
            .execute(c)),
        Group::Tier(t) => crate::on_backend!(conn, |c| diesel::sql_query(&text)
            .bind::<Date, _>(day)
            .bind::<Text, _>(*t)
            .bind::<BigInt, _>(part)
            .bind::<BigInt, _>(source)
            .cached()
            .execute(c)),
        Group::Network => crate::on_backend!(conn, |c| diesel::sql_query(&text)
            .bind::<Date, _>(day)
            .bind::<BigInt, _>(part)
            .bind::<BigInt, _>(source)
            .cached()
            .execute(c)),
    }
    .map(|_| ())
}

fn station_sums(
    conn: &mut DbConn,
    sql: &str,
    day: NaiveDate,
    station: i64,
    sums: [i64; 4],
) -> QueryResult<()> {
    let text = dialect_sql(conn, sql).into_owned();
    crate::on_backend!(conn, |c| diesel::sql_query(&text)
        .bind::<Date, _>(day)
        .bind::<BigInt, _>(station)
        .bind::<BigInt, _>(sums[0])
        .bind::<BigInt, _>(sums[1])
        .bind::<BigInt, _>(sums[2])
        .bind::<BigInt, _>(sums[3])
        .cached()
        .execute(c))
    .map(|_| ())
}

/// Writes a just-routed request's fill and stock-out triples, in its transaction.
pub fn write(conn: &mut DbConn, r: &Routed<'_>) -> QueryResult<()> {
    if r.lines.is_empty() {
        return Ok(());
    }
    let day = r.at.date();
    let month = day.with_day(1).unwrap_or(day);
    let units = r.lines.iter().map(|l| l.qty).sum();
    let first_units = r.lines.iter().map(|l| l.first_filled).sum();
    let lines = r.lines.len() as i64;
    let first_lines = r.lines.iter().filter(|l| l.first_filled >= l.qty).count() as i64;
    let sums = [units, first_units, lines, first_lines];
    station_sums(conn, &DAYS, day, r.station_id, sums)?;
    station_sums(conn, &MONTHS, month, r.station_id, sums)?;
    // one triple per (part, first source), a stock-out when any of its lines found nothing
    let mut triples = std::collections::BTreeMap::<(i64, i64), bool>::new();
    for l in r.lines {
        *triples.entry((l.part_id, l.source_id)).or_default() |= l.first_filled == 0;
    }
    let tier = r.tier.unwrap_or("-");
    for group in [Group::Station(r.station_id), Group::Centre(r.centre_id), Group::Tier(tier), Group::Network]
    {
        for (&key, &stockout) in &triples {
            triple(conn, &group, day, key, stockout)?;
        }
    }
    Ok(())
}
