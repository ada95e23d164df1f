//! The KPI rollup tables, each defined by the SELECT that recomputes it from the raw rows; the
//! statements that upsert, rebuild and check it are made from that SELECT.

use diesel::QueryResult;

use crate::db::DbConn;

/// How a recomputed row merges into a stored one with the same key.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Merge {
    /// counts and sums: stored + new
    Add,
    /// a flag that, once set, stays set
    Max,
    /// one row per entity, recomputed whole
    Replace,
}

/// One rollup table: its key and value columns and the SELECTs that recompute it (each yields
/// the key then the values, grouped by the key; `{f}` is where an event's filter goes).
pub(super) struct Rollup {
    pub(super) table: &'static str,
    /// the same sums per month (`day` the month's first), for the whole months of a period
    pub(super) months: Option<&'static str>,
    pub(super) key: &'static [&'static str],
    pub(super) values: &'static [&'static str],
    pub(super) merge: Merge,
    pub(super) parts: &'static [&'static str],
}

/// Where a rollup of the routing day keeps closed days only (`{closed}`): the days before
/// `kpi_closed.closed_before`. The report reads the open days from the request lines.
pub(super) const CLOSED: &str = " AND ln.routed_at < (SELECT closed_before FROM kpi_closed)";

/// The same for the rollups of the movements (`{moved_closed}`): the report reads the open
/// days from the movements themselves, so that no stock movement writes a summary row.
pub(super) const MOVED_CLOSED: &str = " AND m.at < (SELECT closed_before FROM kpi_closed)";

/// Requested and first-choice units and lines per (routing day, requesting station), closed
/// days only.
pub(super) const FILL: &str = "SELECT {day:ln.routed_at} AS day, r.station_id AS station_id, \
       CAST(SUM(ln.qty) AS BIGINT) AS units, CAST(SUM(ln.first_filled) AS BIGINT) AS first_units, \
       CAST(COUNT(*) AS BIGINT) AS lines, \
       CAST(SUM(CASE WHEN ln.first_filled >= ln.qty THEN 1 ELSE 0 END) AS BIGINT) AS first_lines, \
       CAST(0 AS BIGINT) AS units_in_time \
     FROM parts_request_lines ln JOIN parts_requests r ON r.id = ln.request_id \
     WHERE ln.routed_at IS NOT NULL{closed}{f} GROUP BY {day:ln.routed_at}, r.station_id";

/// Units received on a shipment delivered by its `deliver_by`, on their line's routing day.
pub(super) const IN_TIME: &str = "SELECT {day:ln.routed_at} AS day, r.station_id AS station_id, \
       CAST(0 AS BIGINT) AS units, CAST(0 AS BIGINT) AS first_units, CAST(0 AS BIGINT) AS lines, \
       CAST(0 AS BIGINT) AS first_lines, CAST(SUM(a.qty) AS BIGINT) AS units_in_time \
     FROM request_allocations a JOIN parts_request_lines ln ON ln.id = a.line_id \
       JOIN parts_requests r ON r.id = a.request_id \
       JOIN shipment_lines sl ON sl.allocation_id = a.id JOIN shipments s ON s.id = sl.shipment_id \
     WHERE a.status = 'received' AND ln.routed_at IS NOT NULL \
       AND s.delivered_at IS NOT NULL AND s.delivered_at <= s.deliver_by{f} \
     GROUP BY {day:ln.routed_at}, r.station_id";

pub(super) const STATION_DAYS: Rollup = Rollup {
    table: "kpi_station_days",
    months: Some("kpi_station_months"),
    key: &["day", "station_id"],
    values: &["units", "first_units", "lines", "first_lines", "units_in_time"],
    merge: Merge::Add,
    parts: &[FILL, IN_TIME],
};

/// The (part, first-choice source, day) triples with demand per group of requesting stations
/// (`{g}`: the group's key column and expression), 1 where the source had nothing available
/// for one of the lines; closed days only.
pub(super) const TRIPLES: &str = "SELECT date(ln.routed_at) AS day, {g}ln.part_id AS part_id, \
       COALESCE(ln.first_source_id, 0) AS source_id, \
       MAX(CASE WHEN ln.first_stockout THEN 1 ELSE 0 END) AS stockout \
     FROM parts_request_lines ln JOIN parts_requests r ON r.id = ln.request_id \
       JOIN locations l ON l.id = r.station_id \
     WHERE ln.routed_at IS NOT NULL{closed}{f} \
     GROUP BY 1, 2, 3, 4";

/// Per station (the station level needs no deduplication).
pub(super) const STOCKOUT_MARKS: Rollup = Rollup {
    table: "kpi_stockout_marks",
    months: None,
    key: &["day", "station_id", "part_id", "source_id"],
    values: &["stockout"],
    merge: Merge::Max,
    parts: &["SELECT date(ln.routed_at) AS day, r.station_id AS station_id, ln.part_id AS part_id, \
       COALESCE(ln.first_source_id, 0) AS source_id, \
       MAX(CASE WHEN ln.first_stockout THEN 1 ELSE 0 END) AS stockout \
     FROM parts_request_lines ln JOIN parts_requests r ON r.id = ln.request_id \
     WHERE ln.routed_at IS NOT NULL{closed}{f} GROUP BY 1, 2, 3, 4"],
};

/// Per centre of the requesting station.
pub(super) const TRIPLES_CENTRE: Rollup = Rollup {
    table: "kpi_triples_centre",
    months: None,
    key: &["day", "centre_id", "part_id", "source_id"],
    values: &["stockout"],
    merge: Merge::Max,
    parts: &[TRIPLES],
};

/// Per current tier of the requesting station (rebuilt when a tier changes).
pub(super) const TRIPLES_TIER: Rollup = Rollup {
    table: "kpi_triples_tier",
    months: None,
    key: &["day", "tier", "part_id", "source_id"],
    values: &["stockout"],
    merge: Merge::Max,
    parts: &[TRIPLES],
};

/// For the whole network.
pub(super) const TRIPLES_NETWORK: Rollup = Rollup {
    table: "kpi_triples_network",
    months: None,
    key: &["day", "part_id", "source_id"],
    values: &["stockout"],
    merge: Merge::Max,
    parts: &["SELECT date(ln.routed_at) AS day, ln.part_id AS part_id, COALESCE(ln.first_source_id, 0) AS source_id, \
       MAX(CASE WHEN ln.first_stockout THEN 1 ELSE 0 END) AS stockout \
     FROM parts_request_lines ln WHERE ln.routed_at IS NOT NULL{closed}{f} GROUP BY 1, 2, 3"],
};

/// The group key expression of the shared triples SELECT, per table.
fn group_of(table: &str) -> &'static str {
    match table {
        "kpi_triples_centre" | "kpi_cycles_centre" => {
            "COALESCE(CASE WHEN l.kind = 'station' THEN l.parent_id ELSE l.id END, 0) AS centre_id, "
        }
        "kpi_triples_tier" | "kpi_cycles_tier" => "COALESCE(l.tier, '-') AS tier, ",
        _ => "",
    }
}

/// What a resolved ticket's repair cycle is made of.
pub(super) const TICKET_CYCLES: Rollup = Rollup {
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
pub(super) const DELIVERY_DAYS: Rollup = Rollup {
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

/// Which movements count as outflow of their origin `l`: shipments out of the warehouse and
/// centres, loans and consumption out of stations.
macro_rules! outflow_where {
    () => {
        "((l.kind IN ('central_warehouse', 'regional_centre') AND m.reason = 'transfer_ship') \
           OR (l.kind = 'station' AND m.reason IN ('loan_out', 'consume')))"
    };
}
pub(super) use outflow_where;

/// Each movement twice, into its destination (`d.dir` 1) and out of its origin (-1), with the
/// location `l` it counts for and its part `p`.
macro_rules! stock_from {
    () => {
        "FROM stock_movements_history m CROSS JOIN (SELECT 1 AS dir UNION ALL SELECT -1 AS dir) d \
           JOIN parts p ON p.id = m.part_id \
           JOIN locations l ON l.id = CASE WHEN d.dir = 1 THEN m.to_location_id ELSE m.from_location_id END"
    };
}
pub(super) use stock_from;

/// What left a location towards customers per day at the parts' cost (`{s}`: the sign), closed
/// days only.
pub(super) const OUTFLOW_DAYS: Rollup = Rollup {
    table: "kpi_outflow_days",
    months: Some("kpi_outflow_months"),
    key: &["day", "location_id"],
    values: &["outflow_minor"],
    merge: Merge::Add,
    parts: &[concat!(
        "SELECT {day:m.at} AS day, m.from_location_id AS location_id, \
           CAST({s}SUM(m.qty * p.unit_cost_minor) AS BIGINT) AS outflow_minor \
         FROM stock_movements_history m JOIN parts p ON p.id = m.part_id \
           JOIN locations l ON l.id = m.from_location_id \
         WHERE ",
        outflow_where!(),
        "{moved_closed}{f} GROUP BY {day:m.at}, m.from_location_id"
    )],
};

/// The resolved tickets per (month of resolution, group, series, bucket of seconds), from the
/// per-ticket rollup: series 0 the cycle of a ticket that did not wait for parts, 1 of one
/// that did, 2 the parts wait (`{bucket}`: `rules::cycle_bucket` of the series' seconds; `{g}`
/// the group's key column and expression). The report finds the bucket holding a percentile's
/// rank here and reads only that bucket's tickets.
pub(super) const CYCLE_BUCKETS: &str = "SELECT {month:c.resolved_at} AS day, {g}\
       CASE WHEN x.k = 1 THEN 2 WHEN c.wait_secs IS NULL THEN 0 ELSE 1 END AS series, \
       {bucket} AS bucket, CAST({s}COUNT(*) AS BIGINT) AS tickets \
     FROM kpi_ticket_cycles c CROSS JOIN (SELECT 0 AS k UNION ALL SELECT 1 AS k) x \
       JOIN locations l ON l.id = c.station_id \
     WHERE (x.k = 0 OR c.wait_secs IS NOT NULL){f} GROUP BY 1, 2, 3, 4";

/// For the whole network.
pub(super) const CYCLES_NETWORK: Rollup = Rollup {
    table: "kpi_cycles_network",
    months: None,
    key: &["day", "series", "bucket"],
    values: &["tickets"],
    merge: Merge::Add,
    parts: &["SELECT {month:c.resolved_at} AS day, \
       CASE WHEN x.k = 1 THEN 2 WHEN c.wait_secs IS NULL THEN 0 ELSE 1 END AS series, \
       {bucket} AS bucket, CAST({s}COUNT(*) AS BIGINT) AS tickets \
     FROM kpi_ticket_cycles c CROSS JOIN (SELECT 0 AS k UNION ALL SELECT 1 AS k) x \
     WHERE (x.k = 0 OR c.wait_secs IS NOT NULL){f} GROUP BY 1, 2, 3"],
};

/// Per centre of the ticket's station.
pub(super) const CYCLES_CENTRE: Rollup = Rollup {
    table: "kpi_cycles_centre",
    months: None,
    key: &["day", "centre_id", "series", "bucket"],
    values: &["tickets"],
    merge: Merge::Add,
    parts: &[CYCLE_BUCKETS],
};

/// Per current tier of the ticket's station (rebuilt when a tier changes).
pub(super) const CYCLES_TIER: Rollup = Rollup {
    table: "kpi_cycles_tier",
    months: None,
    key: &["day", "tier", "series", "bucket"],
    values: &["tickets"],
    merge: Merge::Add,
    parts: &[CYCLE_BUCKETS],
};

/// The net value that moved into a stocking location per day at the parts' current cost (in
/// minus out; `{s}`: the sign), so that the stock value at the start of a day is the sum of
/// the days before it (each balance is the sum of its movements); closed days only.
pub(super) const STOCK_DAYS: Rollup = Rollup {
    table: "kpi_stock_days",
    months: Some("kpi_stock_months"),
    key: &["day", "location_id"],
    values: &["value_minor"],
    merge: Merge::Add,
    parts: &[concat!(
        "SELECT {day:m.at} AS day, l.id AS location_id, \
           CAST({s}SUM(d.dir * m.qty * p.unit_cost_minor) AS BIGINT) AS value_minor ",
        stock_from!(),
        " WHERE l.kind IN ('central_warehouse', 'regional_centre', 'station'){moved_closed}{f} \
         GROUP BY {day:m.at}, l.id"
    )],
};

pub(super) const ALL: [Rollup; 12] = [
    STATION_DAYS,
    STOCKOUT_MARKS,
    TRIPLES_CENTRE,
    TRIPLES_TIER,
    TRIPLES_NETWORK,
    DELIVERY_DAYS,
    OUTFLOW_DAYS,
    TICKET_CYCLES,
    // after the per-ticket rollup they are counted from
    CYCLES_NETWORK,
    CYCLES_CENTRE,
    CYCLES_TIER,
    STOCK_DAYS,
];

impl Rollup {
    /// The grains the rollup is kept in: days, and months when it has a monthly table.
    pub(super) fn grains(&self) -> &'static [bool] {
        if self.months.is_some() {
            &[false, true]
        } else {
            &[false]
        }
    }

    pub(super) fn table_of(&self, month: bool) -> &'static str {
        match (month, self.months) {
            (true, Some(m)) => m,
            _ => self.table,
        }
    }

    /// Part `i` narrowed by `filter`, in days or months.
    pub(super) fn select(&self, i: usize, filter: &str, negate: bool, month: bool) -> String {
        let s = self.parts[i]
            .replace("{f}", filter)
            .replace("{s}", if negate { "-" } else { "" })
            .replace("{g}", group_of(self.table))
            .replace("{closed}", CLOSED)
            .replace("{moved_closed}", MOVED_CLOSED);
        if month {
            s.replace("{day:", "{month:")
        } else {
            s
        }
    }

    /// `INSERT` of part `i` narrowed by `filter`, merged into the stored rows.
    pub(super) fn upsert(&self, i: usize, filter: &str, negate: bool, month: bool) -> String {
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
    pub(super) fn recomputed(&self, month: bool) -> String {
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

    pub(super) fn stored(&self, month: bool) -> String {
        format!("SELECT {}, {} FROM {}", self.key.join(", "), self.values.join(", "), self.table_of(month))
    }

    /// Upserts part `i` narrowed by `filter` (with `bind` bound) in every grain.
    pub(super) fn apply(
        &self,
        conn: &mut DbConn,
        i: usize,
        filter: &str,
        negate: bool,
        bind: super::Bind,
    ) -> QueryResult<()> {
        for &month in self.grains() {
            super::exec(conn, &self.upsert(i, filter, negate, month), bind)?;
        }
        Ok(())
    }
}
