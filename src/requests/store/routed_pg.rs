//! A routed parts request written in one PostgreSQL statement: the request, its lines with their
//! routing and their allocations (its share is booked on the station at the transaction's end,
//! `outstanding::add_within`). It writes exactly
//! the rows that `insert_request`, `insert_routed_line` and `insert_allocation` write one by one
//! (SQLite's path), in one round trip instead of one for the request plus one per line and per
//! allocation: on this, the product's hottest write, every round trip costs PostgreSQL about as
//! much as a small statement's execution (BENCHMARKS.md).
//!
//! The statement's text follows the request's shape (how many lines, how many allocations), so
//! a connection keeps a handful of prepared texts. Each row is one plain `INSERT ... SELECT`
//! from the row before it (a chain of one-row `WITH` parts, no arrays, no joins to sort), so the
//! ids are drawn in the order the rows are listed: lines in line order, then allocations in the
//! order they were made, as the statement-by-statement path draws them.

use std::fmt::Write as _;

use diesel::pg::{Pg, PgConnection};
use diesel::prelude::*;
use diesel::query_builder::BoxedSqlQuery;
use diesel::query_builder::SqlQuery;
use diesel::sql_types::{Array, BigInt, Bool, Integer, Nullable, Text, Timestamp};

use super::{LineRow, NewRequest, Routing};
use crate::db::CachedExt;

/// One allocation to make: the line it serves (an index into the lines) and what one source
/// gave it.
#[derive(Clone, Copy, Debug)]
pub struct Take {
    pub line: usize,
    pub source_id: i64,
    pub qty: i64,
}

/// The ids the statement drew: the request's, each line's (in the order given), each take's
/// (in the order given).
#[derive(Debug)]
pub struct Written {
    pub request_id: i64,
    pub line_ids: Vec<i64>,
    pub allocation_ids: Vec<i64>,
}

#[derive(QueryableByName)]
struct Out {
    #[diesel(sql_type = BigInt)]
    request_id: i64,
    #[diesel(sql_type = Array<BigInt>)]
    line_ids: Vec<i64>,
    #[diesel(sql_type = Array<BigInt>)]
    allocation_ids: Vec<i64>,
}

/// The statement's text for `lines` lines and the takes' lines `takes` (placeholders numbered in
/// the order [`write_routed`] binds them).
fn sql(lines: usize, takes: &[usize]) -> String {
    let mut s = String::from("WITH ");
    let mut n = 0usize;
    let mut p = |k: usize| -> String {
        let first = n + 1;
        n += k;
        (first..=n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
    };
    let _ = write!(
        s,
        "req AS (INSERT INTO parts_requests (station_id, ticket_id, urgency, status, source_id, \
         value_minor, exceeds_by_minor, requested_by, created_at, updated_at, outstanding_minor) \
         VALUES ({}) RETURNING id)",
        p(11)
    );
    // each row selected from the row before it: one row each, drawn in this order
    let mut prev = "req".to_string();
    for i in 0..lines {
        let _ = write!(
            s,
            ", l{i} AS (INSERT INTO parts_request_lines (request_id, line_no, requested_code, part_id, \
             qty, unit_cost_minor, backordered, first_source_id, first_filled, first_stockout, routed_at) \
             SELECT req.id, {} FROM req{} RETURNING id)",
            p(10),
            if prev == "req" { String::new() } else { format!(", {prev}") }
        );
        prev = format!("l{i}");
    }
    for (j, &line) in takes.iter().enumerate() {
        let _ = write!(
            s,
            ", a{j} AS (INSERT INTO request_allocations (request_id, line_id, part_id, source_id, qty, \
             status, created_at, updated_at) SELECT req.id, l{line}.id, {} FROM req, l{line}{} RETURNING id)",
            p(6),
            if prev == format!("l{line}") { String::new() } else { format!(", {prev}") }
        );
        prev = format!("a{j}");
    }
    let list =
        |prefix: &str, k: usize| (0..k).map(|i| format!("{prefix}{i}.id")).collect::<Vec<_>>().join(", ");
    let from: Vec<String> = std::iter::once("req".to_string())
        .chain((0..lines).map(|i| format!("l{i}")))
        .chain((0..takes.len()).map(|j| format!("a{j}")))
        .collect();
    let _ = write!(
        s,
        " SELECT req.id AS request_id, CAST(ARRAY[{}] AS BIGINT[]) AS line_ids, \
         CAST(ARRAY[{}] AS BIGINT[]) AS allocation_ids FROM {}",
        list("l", lines),
        list("a", takes.len()),
        from.join(", ")
    );
    s
}

/// Binds the request row's eleven values, in the column order both statements insert them.
fn bind_request<'q>(
    q: BoxedSqlQuery<'q, Pg, SqlQuery>,
    r: &'q NewRequest<'_>,
) -> BoxedSqlQuery<'q, Pg, SqlQuery> {
    q.bind::<BigInt, _>(r.station_id)
        .bind::<Nullable<BigInt>, _>(r.ticket_id)
        .bind::<Text, _>(r.urgency)
        .bind::<Text, _>(r.status)
        .bind::<Nullable<BigInt>, _>(r.source_id)
        .bind::<BigInt, _>(r.value_minor)
        .bind::<Nullable<BigInt>, _>(r.exceeds_by_minor)
        .bind::<Text, _>(r.requested_by)
        .bind::<Timestamp, _>(r.created_at)
        .bind::<Timestamp, _>(r.updated_at)
        .bind::<BigInt, _>(r.outstanding_minor)
}

/// Writes a routed request: `r`, `lines` (their
/// backorder and routing in `routing`, in the same order) and `takes` as allocations with status
/// `status`, in the order given.
pub fn write_routed(
    c: &mut PgConnection,
    r: &NewRequest<'_>,
    lines: &[LineRow],
    routing: &[Routing],
    takes: &[Take],
    status: &str,
) -> QueryResult<Written> {
    let text = sql(lines.len(), &takes.iter().map(|t| t.line).collect::<Vec<_>>());
    let mut q = bind_request(diesel::sql_query(text).into_boxed(), r);
    for (l, routed) in lines.iter().zip(routing) {
        q = q
            .bind::<Integer, _>(l.line_no)
            .bind::<Text, _>(&l.requested_code)
            .bind::<BigInt, _>(l.part_id)
            .bind::<BigInt, _>(l.qty)
            .bind::<BigInt, _>(l.unit_cost_minor)
            .bind::<BigInt, _>(routed.backordered)
            .bind::<BigInt, _>(routed.first_source_id)
            .bind::<BigInt, _>(routed.first_filled)
            .bind::<Bool, _>(routed.first_filled == 0)
            .bind::<Timestamp, _>(r.created_at);
    }
    for t in takes {
        let part_id = lines.get(t.line).map(|l| l.part_id).unwrap_or_default();
        q = q
            .bind::<BigInt, _>(part_id)
            .bind::<BigInt, _>(t.source_id)
            .bind::<BigInt, _>(t.qty)
            .bind::<Text, _>(status)
            .bind::<Timestamp, _>(r.created_at)
            .bind::<Timestamp, _>(r.created_at);
    }
    let out: Out = q.cached().get_result(c)?;
    Ok(Written { request_id: out.request_id, line_ids: out.line_ids, allocation_ids: out.allocation_ids })
}

/// What a request planned from a station kept between requests assumed, checked by the
/// statement that writes it ([`write_whole`]): the token's user is active at this version, the
/// station is active and its open loan lines are these (so what of them is overdue counts
/// against its allowance as planned), and the master data (the station's code, centre, tier
/// and terms, its sources, whether any webhook subscription is active) is at this revision.
#[derive(Clone, Debug)]
pub struct Assumed {
    pub user_id: i64,
    pub user_version: i64,
    pub revision: i64,
    /// the ids of the station's open loan lines, in id order
    pub open_lines: Vec<i64>,
    /// whether any webhook subscription was active at this revision: when not, the statement
    /// writes the event and no deliveries
    pub subscribed: bool,
}

/// A one-line request served whole by one source, as one statement that is its own
/// transaction (sent outside any): the reservation, the rows [`write_routed`] writes, the
/// request's first event with its deliveries (none, and no part of the statement looking for
/// them, when `assumed` says no subscription is active), and the station's share booked only
/// if its value is then at most `cap` (else SQLSTATE 40001, `echelon_station_value_add`, and
/// nothing is written). None, with nothing written, when the source has not the whole quantity
/// free.
///
/// The booking is the function's first step written into the statement (`bf`: the slot of this
/// server process, when its budget has room), so that the common booking costs no function call;
/// only when that finds no room does the statement call `echelon_station_value_add`, which tries
/// the slot again and then deals the slots out anew or refuses (migration 000056).
///
/// The station's row is taken after the stock row, as every transaction takes them
/// (`db::deferred`), and held only to the statement's end.
///
/// With `assumed`, the request was planned from the station as this process last read it,
/// without reading it again: the reservation, and so everything after it, is made only if what
/// that plan assumed still holds when the statement runs (see [`Assumed`]); else None, and
/// nothing is written.
pub fn write_whole(
    c: &mut PgConnection,
    r: &NewRequest<'_>,
    line: &LineRow,
    routing: &Routing,
    event: &crate::events::FirstEvent<'_>,
    cap: i64,
    assumed: Option<&Assumed>,
) -> QueryResult<Option<Written>> {
    // the event's seven values are $20-$26; what the plan assumed follows them
    let assumes = match assumed {
        None => String::new(),
        // one subquery for all of it: each of its own cost the statement an executor node
        Some(_) => format!(
            " AND EXISTS (SELECT 1 FROM users u, locations s, master_revision m \
               WHERE u.id = $27 AND u.active AND u.version = $28 AND s.id = $4 AND s.active \
               AND m.id = 1 AND m.revision = $29 AND ARRAY({}) = $30)",
            crate::loans::store::open_line_ids_sql("$4")
        ),
    };
    let text = format!(
        "WITH r AS (UPDATE stock_balances SET reserved = reserved + $1 WHERE part_id = $2 AND location_id = $3 \
         AND on_hand - reserved >= $1{assumes} RETURNING 1), \
         req AS (INSERT INTO parts_requests (station_id, ticket_id, urgency, status, source_id, value_minor, \
         exceeds_by_minor, requested_by, created_at, updated_at, outstanding_minor) \
         SELECT $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14 FROM r RETURNING id), \
         l0 AS (INSERT INTO parts_request_lines (request_id, line_no, requested_code, part_id, qty, \
         unit_cost_minor, backordered, first_source_id, first_filled, first_stockout, routed_at) \
         SELECT req.id, $15, $16, $2, $1, $17, 0, $3, $1, false, $12 FROM req RETURNING id), \
         a0 AS (INSERT INTO request_allocations (request_id, line_id, part_id, source_id, qty, status, \
         created_at, updated_at) SELECT req.id, l0.id, $2, $3, $1, $18, $12, $12 FROM req, l0 RETURNING id), \
         {}, \
         bf AS (UPDATE station_value_slots s SET used_minor = s.used_minor + $14 FROM a0 \
         WHERE s.station_id = $4 AND s.slot = echelon_station_value_slot() \
         AND s.used_minor::numeric + $14 <= s.budget_minor AND s.ceiling_minor <= $19::numeric + $14 \
         AND s.base_minor >= (SELECT v.outstanding_minor FROM station_values v WHERE v.id = $4) RETURNING 1), \
         b AS (SELECT CASE WHEN EXISTS (SELECT 1 FROM bf) THEN NULL \
         ELSE echelon_station_value_add($4, $14, $19) END AS booked FROM a0) \
         SELECT req.id AS request_id, CAST(ARRAY[l0.id] AS BIGINT[]) AS line_ids, \
         CAST(ARRAY[a0.id] AS BIGINT[]) AS allocation_ids FROM req, l0, a0, e, b",
        crate::events::FirstEvent::sql_with("req", 20, assumed.is_none_or(|a| a.subscribed))
    );
    debug_assert_eq!((routing.first_filled, routing.backordered), (line.qty, 0));
    let q: BoxedSqlQuery<'_, Pg, SqlQuery> = diesel::sql_query(text)
        .into_boxed()
        .bind::<BigInt, _>(line.qty)
        .bind::<BigInt, _>(line.part_id)
        .bind::<BigInt, _>(routing.first_source_id);
    let q = bind_request(q, r)
        .bind::<Integer, _>(line.line_no)
        .bind::<Text, _>(&line.requested_code)
        .bind::<BigInt, _>(line.unit_cost_minor)
        .bind::<Text, _>(crate::requests::rules::AllocationStatus::Reserved.as_str())
        .bind::<BigInt, _>(cap);
    let mut q = event.bind(q);
    if let Some(a) = assumed {
        q = q
            .bind::<BigInt, _>(a.user_id)
            .bind::<BigInt, _>(a.user_version)
            .bind::<BigInt, _>(a.revision)
            .bind::<Array<BigInt>, _>(&a.open_lines);
    }
    let out: Option<Out> = q.cached().get_result(c).optional()?;
    Ok(out.map(|o| Written {
        request_id: o.request_id,
        line_ids: o.line_ids,
        allocation_ids: o.allocation_ids,
    }))
}

#[cfg(test)]
mod tests {
    use super::sql;

    #[test]
    fn placeholders_follow_the_binding_order() {
        let s = sql(2, &[0, 1, 1]);
        // 11 request + 2 x 10 line + 3 x 6 allocation values
        assert!(s.contains("$49") && !s.contains("$50"), "{s}");
        assert!(s.starts_with("WITH req AS (INSERT INTO parts_requests"), "{s}");
        // each row selected from the row before it
        assert!(
            s.contains("l1 AS (INSERT INTO parts_request_lines") && s.contains("FROM req, l0 RETURNING id)")
        );
        assert!(
            s.contains("SELECT req.id, l0.id, $32, $33, $34, $35, $36, $37 FROM req, l0, l1 RETURNING id)"),
            "{s}"
        );
        assert!(
            s.contains("SELECT req.id, l1.id, $38, $39, $40, $41, $42, $43 FROM req, l1, a0 RETURNING id)"),
            "{s}"
        );
        assert!(s.ends_with("FROM req, l0, l1, a0, a1, a2"), "{s}");
        let one = sql(1, &[]);
        assert!(one.contains("$21") && !one.contains("$22"), "{one}");
        assert!(one.contains("CAST(ARRAY[] AS BIGINT[]) AS allocation_ids"), "{one}");
    }
}
