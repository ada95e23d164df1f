//! The repair-cycle percentiles of a network, a centre or a tier over a period with whole
//! months (issue 13) from the monthly histograms (`kpi_cycles_*`), exactly: the buckets of its
//! whole months (and of its ragged days, counted from the per-ticket rollup) locate the bucket
//! holding each percentile's nearest rank, and only that bucket's tickets are read to pick the
//! value.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Integer, Text, Timestamp};

use super::cycles::{Cycles, Spread};
use super::rules::{self, cycle_bucket_range, cycle_bucket_sql, Level};
use super::store::group_key;
use crate::db::{dialect_sql, DbConn};

/// [from 00:00, to + 1 day 00:00).
pub(super) fn bounds(from: NaiveDate, to: NaiveDate) -> (NaiveDateTime, NaiveDateTime) {
    let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0).unwrap_or_default();
    (midnight(from), midnight(to + Duration::days(1)))
}

#[derive(QueryableByName)]
struct BucketRow {
    #[diesel(sql_type = Text)]
    gk: String,
    #[diesel(sql_type = Integer)]
    series: i32,
    #[diesel(sql_type = BigInt)]
    bucket: i64,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// The four spreads of a group: which series of the histogram each counts (0: cycles without
/// a parts wait, 1: with one, 2: the waits) and whether its seconds are the wait.
const SPREADS: [(&[i32], bool); 4] = [(&[0, 1], false), (&[1], false), (&[0], false), (&[2], true)];
const PERCENTILES: [f64; 2] = [50.0, 90.0];

/// Where one percentile of one spread of a group lies: its bucket and its rank inside it.
struct Target {
    gk: String,
    spread: usize,
    p: usize,
    bucket: i64,
    rank: usize,
}

pub(super) fn cycles(
    conn: &mut DbConn,
    level: Level,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<BTreeMap<String, Cycles>> {
    let (table, hist_gk) = match level {
        Level::Centre => ("kpi_cycles_centre", "CAST(h.centre_id AS TEXT)"),
        Level::Tier => ("kpi_cycles_tier", "h.tier"),
        _ => ("kpi_cycles_network", "'network'"),
    };
    let gk = group_key(level, "l");
    let (m1, m2) = rules::whole_months(from, to);
    let ((start, end), (t1, t2)) = (bounds(from, to), (bounds(m1, m1).0, bounds(m2, m2).0));
    let sql = format!(
        "SELECT gk, series, bucket, CAST(SUM(n) AS BIGINT) AS n FROM ( \
           SELECT {hist_gk} AS gk, h.series AS series, h.bucket AS bucket, h.tickets AS n \
             FROM {table} h WHERE h.day >= $1 AND h.day < $2 \
           UNION ALL {raw} AND c.resolved_at >= $3 AND c.resolved_at < $4 \
           UNION ALL {raw} AND c.resolved_at >= $5 AND c.resolved_at < $6 \
         ) t GROUP BY gk, series, bucket",
        raw = format!(
            "SELECT {gk}, CASE WHEN x.k = 1 THEN 2 WHEN c.wait_secs IS NULL THEN 0 ELSE 1 END, {bucket}, 1 \
             FROM kpi_ticket_cycles c CROSS JOIN (SELECT 0 AS k UNION ALL SELECT 1 AS k) x \
               JOIN locations l ON l.id = c.station_id WHERE (x.k = 0 OR c.wait_secs IS NOT NULL)",
            bucket = cycle_bucket_sql("CASE WHEN x.k = 1 THEN c.wait_secs ELSE c.cycle_secs END"),
        ),
    );
    let text = dialect_sql(conn, &sql);
    let rows: Vec<BucketRow> = crate::on_backend!(conn, |c| diesel::sql_query(text.as_ref())
        .bind::<Date, _>(m1)
        .bind::<Date, _>(m2)
        .bind::<Timestamp, _>(start)
        .bind::<Timestamp, _>(t1)
        .bind::<Timestamp, _>(t2)
        .bind::<Timestamp, _>(end)
        .load::<BucketRow>(c))?;
    // per group and series: tickets per bucket, in the order of the buckets
    let mut hist: BTreeMap<String, [BTreeMap<i64, i64>; 3]> = BTreeMap::new();
    for r in rows.into_iter().filter(|r| r.n != 0) {
        let series = usize::try_from(r.series).unwrap_or(0).min(2);
        *hist.entry(r.gk).or_default()[series].entry(r.bucket).or_default() += r.n;
    }
    let mut out: BTreeMap<String, Cycles> = BTreeMap::new();
    let mut targets = Vec::new();
    for (gk, series) in &hist {
        let mut spreads = [Spread::default(); 4];
        for (i, (which, _)) in SPREADS.iter().enumerate() {
            let mut counts: BTreeMap<i64, i64> = BTreeMap::new();
            for &s in *which {
                for (&b, &n) in &series[s as usize] {
                    *counts.entry(b).or_default() += n;
                }
            }
            let total: i64 = counts.values().sum();
            spreads[i].tickets = total;
            for (p, &pct) in PERCENTILES.iter().enumerate() {
                let Some(rank) = rules::rank_of(usize::try_from(total).unwrap_or(0), pct) else {
                    continue;
                };
                let mut before = 0usize;
                for (&bucket, &n) in &counts {
                    let n = usize::try_from(n).unwrap_or(0);
                    if before + n >= rank {
                        targets.push(Target { gk: gk.clone(), spread: i, p, bucket, rank: rank - before });
                        break;
                    }
                    before += n;
                }
            }
        }
        let [all, waited, without, wait] = spreads;
        out.insert(gk.clone(), Cycles { all, waited, without, wait });
    }
    let values = bucket_values(conn, &gk, (start, end), &targets)?;
    for (i, t) in targets.iter().enumerate() {
        let mut v = values.get(&i).cloned().unwrap_or_default();
        v.sort_unstable();
        let value = v.get(t.rank - 1).copied();
        if let Some(c) = out.get_mut(&t.gk) {
            let spread = match t.spread {
                0 => &mut c.all,
                1 => &mut c.waited,
                2 => &mut c.without,
                _ => &mut c.wait,
            };
            if t.p == 0 {
                spread.p50 = value;
            } else {
                spread.p90 = value;
            }
        }
    }
    Ok(out)
}

#[derive(QueryableByName)]
struct TargetValue {
    #[diesel(sql_type = BigInt)]
    target: i64,
    #[diesel(sql_type = BigInt)]
    v: i64,
}

/// The seconds of each target's bucket: the tickets of its group resolved in [start, end)
/// whose cycle (of its kind: any, waited, without a wait) or wait lies in the bucket, read
/// per station through the station's index on its seconds.
fn bucket_values(
    conn: &mut DbConn,
    gk: &str,
    (start, end): (NaiveDateTime, NaiveDateTime),
    targets: &[Target],
) -> QueryResult<BTreeMap<usize, Vec<i64>>> {
    let quote = |s: &str| format!("'{}'", s.replace('\'', "''"));
    let mut rows: [Vec<String>; 2] = [Vec::new(), Vec::new()];
    for (i, t) in targets.iter().enumerate() {
        let (lo, hi) = cycle_bucket_range(t.bucket);
        // no cycle is this negative (and a literal of i64::MIN is no BIGINT in PostgreSQL)
        let lo = lo.max(-(1 << 62));
        let is_wait = SPREADS[t.spread].1;
        rows[usize::from(is_wait)].push(format!(
            "(CAST({i} AS BIGINT), {}, CAST({lo} AS BIGINT), CAST({hi} AS BIGINT), {})",
            quote(&t.gk),
            t.spread
        ));
    }
    let mut branches = Vec::new();
    for (is_wait, rows) in rows.iter().enumerate() {
        if rows.is_empty() {
            continue;
        }
        let (col, kind) = if is_wait == 1 {
            ("c.wait_secs", "")
        } else {
            // spread 0: all, 1: waited, 2: without a wait
            (
                "c.cycle_secs",
                " AND (t.column5 = 0 OR (t.column5 = 1 AND c.wait_secs IS NOT NULL) \
                 OR (t.column5 = 2 AND c.wait_secs IS NULL))",
            )
        };
        branches.push(format!(
            "SELECT t.column1 AS target, {col} AS v FROM (VALUES {}) t \
               JOIN locations l ON {gk} = t.column2 \
               JOIN kpi_ticket_cycles c ON c.station_id = l.id AND {col} >= t.column3 AND {col} < t.column4 \
             WHERE c.resolved_at >= $1 AND c.resolved_at < $2{kind}",
            rows.join(", ")
        ));
    }
    if branches.is_empty() {
        return Ok(BTreeMap::new());
    }
    let sql = branches.join(" UNION ALL ");
    let times: Vec<NaiveDateTime> = branches.iter().flat_map(|_| [start, end]).collect();
    let text = dialect_sql(conn, &sql);
    let found: Vec<TargetValue> = crate::on_backend!(conn, |c| {
        let mut q = diesel::sql_query(text.as_ref()).into_boxed();
        for t in &times {
            q = q.bind::<Timestamp, _>(*t);
        }
        q.load::<TargetValue>(c)
    })?;
    let mut per: BTreeMap<usize, Vec<i64>> = BTreeMap::new();
    for r in found {
        per.entry(usize::try_from(r.target).unwrap_or(usize::MAX)).or_default().push(r.v);
    }
    Ok(per)
}
