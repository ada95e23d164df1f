//! Daily rollups of the KPI report's numerators and denominators (issue 13), so that a year of
//! a large network sums days instead of scanning a year of raw rows.
//!
//! Each rollup is defined once, as the SELECT that recomputes it from the raw rows. The same
//! SELECT, narrowed to one event's row, is upserted in the transaction of that event (a line
//! routed, a unit received, a shipment delivered, a movement posted, a part's cost changed);
//! unnarrowed it rebuilds the table after a bulk load (and in the migration); and `echelon
//! audit` compares the stored table with it, so every scenario the tests run checks every hook.
//! Days are the UTC dates of the timestamps the report filters on.

use diesel::prelude::*;
use diesel::sql_types::BigInt;

use crate::db::{dialect_sql, DbConn};

/// How a recomputed row merges into a stored one with the same key.
#[derive(Clone, Copy, PartialEq)]
enum Merge {
    /// counts and sums: stored + new
    Add,
    /// a flag that, once set, stays set
    Max,
    /// one row per entity, recomputed whole
    Replace,
}

/// One rollup table: its key and value columns and the SELECTs that recompute it (each yields
/// the key then the values, grouped by the key; `{f}` is where an event's filter goes).
struct Rollup {
    table: &'static str,
    /// the same sums per month (`day` the month's first), for the whole months of a period
    months: Option<&'static str>,
    key: &'static [&'static str],
    values: &'static [&'static str],
    merge: Merge,
    parts: &'static [&'static str],
}

/// Requested and first-choice units and lines per (routing day, requesting station).
const FILL: &str = "SELECT {day:ln.routed_at} AS day, r.station_id AS station_id, \
       CAST(SUM(ln.qty) AS BIGINT) AS units, CAST(SUM(ln.first_filled) AS BIGINT) AS first_units, \
       CAST(COUNT(*) AS BIGINT) AS lines, \
       CAST(SUM(CASE WHEN ln.first_filled >= ln.qty THEN 1 ELSE 0 END) AS BIGINT) AS first_lines, \
       CAST(0 AS BIGINT) AS units_in_time \
     FROM parts_request_lines ln JOIN parts_requests r ON r.id = ln.request_id \
     WHERE ln.routed_at IS NOT NULL{f} GROUP BY {day:ln.routed_at}, r.station_id";

/// Units received on a shipment delivered by its `deliver_by`, on their line's routing day.
const IN_TIME: &str = "SELECT {day:ln.routed_at} AS day, r.station_id AS station_id, \
       CAST(0 AS BIGINT) AS units, CAST(0 AS BIGINT) AS first_units, CAST(0 AS BIGINT) AS lines, \
       CAST(0 AS BIGINT) AS first_lines, CAST(SUM(a.qty) AS BIGINT) AS units_in_time \
     FROM request_allocations a JOIN parts_request_lines ln ON ln.id = a.line_id \
       JOIN parts_requests r ON r.id = a.request_id \
       JOIN shipment_lines sl ON sl.allocation_id = a.id JOIN shipments s ON s.id = sl.shipment_id \
     WHERE a.status = 'received' AND ln.routed_at IS NOT NULL \
       AND s.delivered_at IS NOT NULL AND s.delivered_at <= s.deliver_by{f} \
     GROUP BY {day:ln.routed_at}, r.station_id";

const STATION_DAYS: Rollup = Rollup {
    table: "kpi_station_days",
    months: Some("kpi_station_months"),
    key: &["day", "station_id"],
    values: &["units", "first_units", "lines", "first_lines", "units_in_time"],
    merge: Merge::Add,
    parts: &[FILL, IN_TIME],
};

/// The (part, first-choice source, day) triples with demand per group of requesting stations
/// (`{g}`: the group's key column and expression), 1 where the source had nothing available
/// for one of the lines.
const TRIPLES: &str = "SELECT date(ln.routed_at) AS day, {g}ln.part_id AS part_id, \
       COALESCE(ln.first_source_id, 0) AS source_id, \
       MAX(CASE WHEN ln.first_stockout THEN 1 ELSE 0 END) AS stockout \
     FROM parts_request_lines ln JOIN parts_requests r ON r.id = ln.request_id \
       JOIN locations l ON l.id = r.station_id \
     WHERE ln.routed_at IS NOT NULL{f} \
     GROUP BY 1, 2, 3, 4";

/// Per station (the station level needs no deduplication).
const STOCKOUT_MARKS: Rollup = Rollup {
    table: "kpi_stockout_marks",
    months: None,
    key: &["day", "station_id", "part_id", "source_id"],
    values: &["stockout"],
    merge: Merge::Max,
    parts: &["SELECT date(ln.routed_at) AS day, r.station_id AS station_id, ln.part_id AS part_id, \
       COALESCE(ln.first_source_id, 0) AS source_id, \
       MAX(CASE WHEN ln.first_stockout THEN 1 ELSE 0 END) AS stockout \
     FROM parts_request_lines ln JOIN parts_requests r ON r.id = ln.request_id \
     WHERE ln.routed_at IS NOT NULL{f} GROUP BY 1, 2, 3, 4"],
};

/// Per centre of the requesting station.
const TRIPLES_CENTRE: Rollup = Rollup {
    table: "kpi_triples_centre",
    months: None,
    key: &["day", "centre_id", "part_id", "source_id"],
    values: &["stockout"],
    merge: Merge::Max,
    parts: &[TRIPLES],
};

/// Per current tier of the requesting station (rebuilt when a tier changes).
const TRIPLES_TIER: Rollup = Rollup {
    table: "kpi_triples_tier",
    months: None,
    key: &["day", "tier", "part_id", "source_id"],
    values: &["stockout"],
    merge: Merge::Max,
    parts: &[TRIPLES],
};

/// For the whole network.
const TRIPLES_NETWORK: Rollup = Rollup {
    table: "kpi_triples_network",
    months: None,
    key: &["day", "part_id", "source_id"],
    values: &["stockout"],
    merge: Merge::Max,
    parts: &["SELECT date(ln.routed_at) AS day, ln.part_id AS part_id, COALESCE(ln.first_source_id, 0) AS source_id, \
       MAX(CASE WHEN ln.first_stockout THEN 1 ELSE 0 END) AS stockout \
     FROM parts_request_lines ln WHERE ln.routed_at IS NOT NULL{f} GROUP BY 1, 2, 3"],
};

/// The group key expression of the shared triples SELECT, per table.
fn group_of(table: &str) -> &'static str {
    match table {
        "kpi_triples_centre" => {
            "COALESCE(CASE WHEN l.kind = 'station' THEN l.parent_id ELSE l.id END, 0) AS centre_id, "
        }
        "kpi_triples_tier" => "COALESCE(l.tier, '-') AS tier, ",
        _ => "",
    }
}

/// What a resolved ticket's repair cycle is made of.
const TICKET_CYCLES: Rollup = Rollup {
    table: "kpi_ticket_cycles",
    months: None,
    key: &["ticket_id"],
    values: &[
        "station_id",
        "created_at",
        "resolved_at",
        "requested_at",
        "received_at",
        "cycle_secs",
        "wait_secs",
    ],
    merge: Merge::Replace,
    parts: &["SELECT t.id AS ticket_id, t.station_id AS station_id, t.created_at AS created_at, \
           t.resolved_at AS resolved_at, MIN(r.created_at) AS requested_at, \
           MAX(CASE WHEN a.status = 'received' THEN a.updated_at END) AS received_at, \
           {cycle} AS cycle_secs, {wait} AS wait_secs \
         FROM tickets t LEFT JOIN parts_requests r ON r.ticket_id = t.id \
           LEFT JOIN request_allocations a ON a.request_id = r.id \
         WHERE t.resolved_at IS NOT NULL AND t.station_id IS NOT NULL{f} \
         GROUP BY t.id, t.station_id, t.created_at, t.resolved_at"],
};

/// Shipments delivered and delivered on time per (day, destination, origin, courier or 0).
const DELIVERY_DAYS: Rollup = Rollup {
    table: "kpi_delivery_days",
    months: Some("kpi_delivery_months"),
    key: &["day", "destination_id", "origin_id", "courier_id"],
    values: &["delivered", "on_time"],
    merge: Merge::Add,
    parts: &["SELECT {day:s.delivered_at} AS day, s.destination_id AS destination_id, \
           s.origin_id AS origin_id, COALESCE(s.courier_id, 0) AS courier_id, \
           CAST(COUNT(*) AS BIGINT) AS delivered, \
           CAST(SUM(CASE WHEN s.delivered_at <= s.deliver_by THEN 1 ELSE 0 END) AS BIGINT) AS on_time \
         FROM shipments s WHERE s.delivered_at IS NOT NULL{f} \
         GROUP BY {day:s.delivered_at}, s.destination_id, s.origin_id, COALESCE(s.courier_id, 0)"],
};

/// What left a location towards customers per day at the parts' cost (`{s}`: the sign).
const OUTFLOW_DAYS: Rollup = Rollup {
    table: "kpi_outflow_days",
    months: Some("kpi_outflow_months"),
    key: &["day", "location_id"],
    values: &["outflow_minor"],
    merge: Merge::Add,
    parts: &["SELECT {day:m.at} AS day, m.from_location_id AS location_id, \
           CAST({s}SUM(m.qty * p.unit_cost_minor) AS BIGINT) AS outflow_minor \
         FROM stock_movements m JOIN parts p ON p.id = m.part_id \
           JOIN locations l ON l.id = m.from_location_id \
         WHERE ((l.kind IN ('central_warehouse', 'regional_centre') AND m.reason = 'transfer_ship') \
           OR (l.kind = 'station' AND m.reason IN ('loan_out', 'consume'))){f} \
         GROUP BY {day:m.at}, m.from_location_id"],
};

const ALL: [Rollup; 8] = [
    STATION_DAYS,
    STOCKOUT_MARKS,
    TRIPLES_CENTRE,
    TRIPLES_TIER,
    TRIPLES_NETWORK,
    DELIVERY_DAYS,
    OUTFLOW_DAYS,
    TICKET_CYCLES,
];

impl Rollup {
    /// The grains the rollup is kept in: days, and months when it has a monthly table.
    fn grains(&self) -> &'static [bool] {
        if self.months.is_some() {
            &[false, true]
        } else {
            &[false]
        }
    }

    fn table_of(&self, month: bool) -> &'static str {
        match (month, self.months) {
            (true, Some(m)) => m,
            _ => self.table,
        }
    }

    /// Part `i` narrowed by `filter`, in days or months.
    fn select(&self, i: usize, filter: &str, negate: bool, month: bool) -> String {
        let s = self.parts[i]
            .replace("{f}", filter)
            .replace("{s}", if negate { "-" } else { "" })
            .replace("{g}", group_of(self.table));
        if month {
            s.replace("{day:", "{month:")
        } else {
            s
        }
    }

    /// `INSERT` of part `i` narrowed by `filter`, merged into the stored rows.
    fn upsert(&self, i: usize, filter: &str, negate: bool, month: bool) -> String {
        let select = self.select(i, filter, negate, month);
        let t = self.table_of(month);
        let set: Vec<String> = self
            .values
            .iter()
            .map(|v| match self.merge {
                Merge::Add => format!("{v} = {t}.{v} + excluded.{v}"),
                Merge::Max => {
                    format!("{v} = CASE WHEN excluded.{v} > {t}.{v} THEN excluded.{v} ELSE {t}.{v} END")
                }
                Merge::Replace => format!("{v} = excluded.{v}"),
            })
            .collect();
        format!(
            "INSERT INTO {t} ({k}, {v}) {select} ON CONFLICT ({k}) DO UPDATE SET {set}",
            k = self.key.join(", "),
            v = self.values.join(", "),
            set = set.join(", ")
        )
    }

    /// The whole table recomputed from the raw rows.
    fn recomputed(&self, month: bool) -> String {
        let parts: Vec<String> = (0..self.parts.len()).map(|i| self.select(i, "", false, month)).collect();
        if let [one] = parts.as_slice() {
            return one.clone();
        }
        let sums: Vec<String> =
            self.values.iter().map(|v| format!("CAST(SUM({v}) AS BIGINT) AS {v}")).collect();
        format!(
            "SELECT {k}, {sums} FROM ({u}) u GROUP BY {k}",
            k = self.key.join(", "),
            sums = sums.join(", "),
            u = parts.join(" UNION ALL ")
        )
    }

    fn stored(&self, month: bool) -> String {
        format!("SELECT {}, {} FROM {}", self.key.join(", "), self.values.join(", "), self.table_of(month))
    }

    /// Upserts part `i` narrowed by `filter` (bound to `id`) in every grain.
    fn apply(
        &self,
        conn: &mut DbConn,
        i: usize,
        filter: &str,
        negate: bool,
        id: Option<i64>,
    ) -> QueryResult<()> {
        for &month in self.grains() {
            exec(conn, &self.upsert(i, filter, negate, month), id)?;
        }
        Ok(())
    }
}

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
    let sql = dates(conn, sql);
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

fn exec(conn: &mut DbConn, sql: &str, id: Option<i64>) -> QueryResult<usize> {
    let sql = expand(conn, sql);
    let text = dialect_sql(conn, &sql);
    crate::on_backend!(conn, |c| match id {
        Some(id) => diesel::sql_query(text.as_ref()).bind::<BigInt, _>(id).execute(c),
        None => diesel::sql_query(text.as_ref()).execute(c),
    })
}

/// The lines of a request were just routed (each line is routed once): their fill and their
/// stock-out triples.
pub fn routed(conn: &mut DbConn, request_id: i64) -> QueryResult<()> {
    for r in [&STATION_DAYS, &STOCKOUT_MARKS, &TRIPLES_CENTRE, &TRIPLES_TIER, &TRIPLES_NETWORK] {
        r.apply(conn, 0, " AND ln.request_id = $1", false, Some(request_id))?;
    }
    Ok(())
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
    TICKET_CYCLES.apply(conn, 0, " AND t.id = $1", false, Some(ticket_id))
}

/// Tickets were loaded in bulk (resolved ones among them): every repair cycle is recomputed.
pub fn tickets_loaded(conn: &mut DbConn) -> QueryResult<()> {
    rebuild_one(conn, &TICKET_CYCLES)
}

/// A station's tier changed: the tier-level triples are regrouped.
pub fn tiers_changed(conn: &mut DbConn) -> QueryResult<()> {
    rebuild_one(conn, &TRIPLES_TIER)
}

/// An allocation was just received (after any split of its damaged units): its units count as
/// within lead time on its line's routing day when its shipment came by `deliver_by`.
pub fn received(conn: &mut DbConn, allocation_id: i64) -> QueryResult<()> {
    STATION_DAYS.apply(conn, 1, " AND a.id = $1", false, Some(allocation_id))
}

/// A shipment was just delivered.
pub fn delivered(conn: &mut DbConn, shipment_id: i64) -> QueryResult<()> {
    DELIVERY_DAYS.apply(conn, 0, " AND s.id = $1", false, Some(shipment_id))
}

/// A movement was just posted (the SELECT keeps only those that count as outflow).
pub fn moved(conn: &mut DbConn, movement_id: i64) -> QueryResult<()> {
    OUTFLOW_DAYS.apply(conn, 0, " AND m.id = $1", false, Some(movement_id))
}

/// Around a change of a part's unit cost (outflow is valued at the current cost): `before`
/// takes the part's outflow out at the old cost, after the change it goes back at the new one.
pub fn cost_change(conn: &mut DbConn, part_id: i64, before: bool) -> QueryResult<()> {
    OUTFLOW_DAYS.apply(conn, 0, " AND m.part_id = $1", before, Some(part_id))
}

/// Rebuilds every rollup from the raw rows (after a bulk load that bypassed the flows).
pub fn rebuild(conn: &mut DbConn) -> QueryResult<()> {
    for r in &ALL {
        rebuild_one(conn, r)?;
    }
    Ok(())
}

fn rebuild_one(conn: &mut DbConn, r: &Rollup) -> QueryResult<()> {
    for &month in r.grains() {
        exec(conn, &format!("DELETE FROM {}", r.table_of(month)), None)?;
        for i in 0..r.parts.len() {
            exec(conn, &r.upsert(i, "", false, month), None)?;
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
