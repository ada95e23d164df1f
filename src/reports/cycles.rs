//! Repair-cycle time (issue 13): the median and 90th percentile of the hours from intake to
//! resolution, split by whether the ticket waited for parts, and of the parts wait itself,
//! read from the per-ticket rollup (`kpi_ticket_cycles`); exact, because a percentile needs
//! every ticket's duration.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};

use super::rules::Level;
use super::store::{group_key, run_at};
use crate::db::DbConn;

#[derive(QueryableByName)]
struct CycleRow {
    #[diesel(sql_type = Text)]
    gk: String,
    #[diesel(sql_type = BigInt)]
    cycle_secs: i64,
    #[diesel(sql_type = diesel::sql_types::Nullable<BigInt>)]
    wait_secs: Option<i64>,
}

/// How many tickets, and the median and 90th percentile (nearest rank) of their seconds.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Spread {
    pub tickets: i64,
    pub p50: Option<i64>,
    pub p90: Option<i64>,
}

impl Spread {
    pub(super) fn of(mut v: Vec<i64>) -> Spread {
        v.sort_unstable();
        Spread {
            tickets: v.len() as i64,
            p50: super::rules::nearest_rank(&v, 50.0),
            p90: super::rules::nearest_rank(&v, 90.0),
        }
    }

    fn from_pg(tickets: i64, p: Option<Vec<i64>>) -> Spread {
        let p = p.unwrap_or_default();
        Spread { tickets, p50: p.first().copied(), p90: p.get(1).copied() }
    }
}

/// The repair cycles of a group, in seconds: intake to `resolved` for all tickets, those that
/// waited for parts and those that did not, and the parts wait (first parts request for the
/// ticket to the last unit received, or to the resolution when none was).
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Cycles {
    pub all: Spread,
    pub waited: Spread,
    pub without: Spread,
    pub wait: Spread,
}

#[derive(QueryableByName)]
struct PgCycles {
    #[diesel(sql_type = Text)]
    gk: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Array<BigInt>>)]
    p_all: Option<Vec<i64>>,
    #[diesel(sql_type = BigInt)]
    n_waited: i64,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Array<BigInt>>)]
    p_waited: Option<Vec<i64>>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Array<BigInt>>)]
    p_without: Option<Vec<i64>>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Array<BigInt>>)]
    p_wait: Option<Vec<i64>>,
}

/// The repair cycles of tickets resolved on the days [from, to], per group of the ticket's
/// station. Above the station level over whole months from the histograms (`buckets`); per
/// station, and over less than a whole month, from the per-ticket rollup, where PostgreSQL takes the percentiles itself (`percentile_disc` is the
/// nearest rank, each station's tickets read in the order of their cycle) and SQLite's rows
/// are ranked here. Seconds are whole, truncated towards zero.
pub fn cycles(
    conn: &mut DbConn,
    level: Level,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<BTreeMap<String, Cycles>> {
    let (m1, m2) = super::rules::whole_months(from, to);
    if level != Level::Station && m1 < m2 {
        return super::buckets::cycles(conn, level, from, to);
    }
    let (from, to) = super::buckets::bounds(from, to);
    let join = if level == Level::Network { "" } else { " JOIN locations l ON l.id = c.station_id" };
    let gk = group_key(level, "l");
    let period = "c.resolved_at >= $1 AND c.resolved_at < $2";
    if let DbConn::Pg(pg) = conn {
        // grouped by the key itself, not its text: the sort before the percentiles is cheaper
        let (gk, by) = match level {
            Level::Network => (gk.clone(), "1"),
            Level::Station => ("CAST(c.station_id AS TEXT)".to_string(), "c.station_id"),
            Level::Centre => (gk.clone(), "CASE WHEN l.kind = 'station' THEN l.parent_id ELSE l.id END"),
            Level::Tier => (gk.clone(), "COALESCE(l.tier, '-')"),
        };
        let sql = format!(
            "SELECT {gk} AS gk, CAST(COUNT(*) AS BIGINT) AS n, \
               percentile_disc(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY c.cycle_secs) AS p_all, \
               CAST(COUNT(c.wait_secs) AS BIGINT) AS n_waited, \
               percentile_disc(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY c.cycle_secs) \
                 FILTER (WHERE c.wait_secs IS NOT NULL) AS p_waited, \
               percentile_disc(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY c.cycle_secs) \
                 FILTER (WHERE c.wait_secs IS NULL) AS p_without, \
               percentile_disc(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY c.wait_secs) AS p_wait \
             FROM kpi_ticket_cycles c{join} WHERE {period} GROUP BY {by}",
        );
        let rows: Vec<PgCycles> =
            diesel::sql_query(sql).bind::<Timestamp, _>(from).bind::<Timestamp, _>(to).load(pg)?;
        return Ok(rows
            .into_iter()
            .map(|r| {
                let c = Cycles {
                    all: Spread::from_pg(r.n, r.p_all),
                    waited: Spread::from_pg(r.n_waited, r.p_waited),
                    without: Spread::from_pg(r.n - r.n_waited, r.p_without),
                    wait: Spread::from_pg(r.n_waited, r.p_wait),
                };
                (r.gk, c)
            })
            .collect());
    }
    let sql =
        format!("SELECT {gk} AS gk, c.cycle_secs, c.wait_secs FROM kpi_ticket_cycles c{join} WHERE {period}");
    let mut per: BTreeMap<String, [Vec<i64>; 4]> = BTreeMap::new();
    for r in run_at::<CycleRow>(conn, &sql, &[from, to])? {
        let v = per.entry(r.gk).or_default();
        v[0].push(r.cycle_secs);
        match r.wait_secs {
            Some(w) => {
                v[1].push(r.cycle_secs);
                v[3].push(w);
            }
            None => v[2].push(r.cycle_secs),
        }
    }
    Ok(per
        .into_iter()
        .map(|(k, [all, waited, without, wait])| {
            let c = Cycles {
                all: Spread::of(all),
                waited: Spread::of(waited),
                without: Spread::of(without),
                wait: Spread::of(wait),
            };
            (k, c)
        })
        .collect())
}
