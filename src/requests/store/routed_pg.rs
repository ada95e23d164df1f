//! A routed parts request written in one PostgreSQL statement: the station's outstanding value
//! booked, the request, its lines with their routing and their allocations (arrays unnested, so
//! that one prepared statement serves any number of lines). It writes exactly the rows that
//! `insert_request`, `insert_routed_line` and `insert_allocation` write one by one (SQLite's
//! path), in one round trip instead of two plus one per line and allocation: the hottest write
//! of the product.

use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Integer, Nullable, Text, Timestamp};

use super::{LineRow, NewRequest};
use crate::db::CachedExt;

/// What one source gave one line.
#[derive(Clone, Copy)]
pub struct Take {
    pub line_no: i32,
    pub source_id: i64,
    pub qty: i64,
}

/// The ids the statement gave: the request's, each line's (in line order), each take's (in
/// the order given).
pub struct Written {
    pub request_id: i64,
    pub line_ids: Vec<i64>,
    pub allocation_ids: Vec<i64>,
}

#[derive(QueryableByName)]
struct Out {
    /// 0 the request, 1 a line, 2 an allocation
    #[diesel(sql_type = Integer)]
    kind: i32,
    #[diesel(sql_type = BigInt)]
    id: i64,
    /// a line's number; an allocation's position in the takes
    #[diesel(sql_type = Integer)]
    n: i32,
}

const SQL: &str = "WITH booked AS ( \
       UPDATE locations SET outstanding_minor = outstanding_minor + $1 WHERE id = $2 RETURNING id), \
     req AS ( \
       INSERT INTO parts_requests (station_id, ticket_id, urgency, status, source_id, value_minor, \
         exceeds_by_minor, requested_by, created_at, updated_at, outstanding_minor) \
       VALUES ($2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $1) RETURNING id), \
     ln AS ( \
       INSERT INTO parts_request_lines (request_id, line_no, requested_code, part_id, qty, \
         unit_cost_minor, backordered, first_source_id, first_filled, first_stockout, routed_at) \
       SELECT req.id, u.line_no, u.code, u.part_id, u.qty, u.cost, u.backordered, $11, u.first_filled, \
         u.first_filled = 0, $10 \
       FROM req, unnest($12::int4[], $13::text[], $14::int8[], $15::int8[], $16::int8[], $17::int8[], \
         $18::int8[]) AS u(line_no, code, part_id, qty, cost, backordered, first_filled) \
       ORDER BY u.line_no \
       RETURNING id, request_id, line_no, part_id), \
     al AS ( \
       INSERT INTO request_allocations (request_id, line_id, part_id, source_id, qty, status, \
         created_at, updated_at) \
       SELECT ln.request_id, ln.id, ln.part_id, a.source_id, a.qty, 'reserved', $10, $10 \
       FROM unnest($19::int4[], $20::int8[], $21::int8[]) WITH ORDINALITY AS a(line_no, source_id, qty, n) \
         JOIN ln ON ln.line_no = a.line_no \
       ORDER BY a.n \
       RETURNING id, line_id, source_id) \
     SELECT 0 AS kind, req.id, 0 AS n FROM req \
     UNION ALL SELECT 1, ln.id, ln.line_no FROM ln \
     UNION ALL SELECT 2, al.id, CAST(a.n AS INT) FROM al JOIN ln ON ln.id = al.line_id \
       JOIN unnest($19::int4[], $20::int8[]) WITH ORDINALITY AS a(line_no, source_id, n) \
         ON a.line_no = ln.line_no AND a.source_id = al.source_id";

/// Writes a routed request (`lines` carry their backorder; `first_filled` per line; `takes`
/// in the order the allocations are to be made, at most one per line and source).
pub fn insert_routed_request(
    c: &mut PgConnection,
    r: &NewRequest<'_>,
    lines: &[LineRow],
    first_source_id: i64,
    first_filled: &[i64],
    takes: &[Take],
) -> QueryResult<Written> {
    let rows: Vec<Out> = diesel::sql_query(SQL)
        .bind::<BigInt, _>(r.outstanding_minor)
        .bind::<BigInt, _>(r.station_id)
        .bind::<Nullable<BigInt>, _>(r.ticket_id)
        .bind::<Text, _>(r.urgency)
        .bind::<Text, _>(r.status)
        .bind::<Nullable<BigInt>, _>(r.source_id)
        .bind::<BigInt, _>(r.value_minor)
        .bind::<Nullable<BigInt>, _>(r.exceeds_by_minor)
        .bind::<Text, _>(r.requested_by)
        .bind::<Timestamp, _>(r.created_at)
        .bind::<BigInt, _>(first_source_id)
        .bind::<Array<Integer>, _>(lines.iter().map(|l| l.line_no).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(lines.iter().map(|l| l.requested_code.as_str()).collect::<Vec<_>>())
        .bind::<Array<BigInt>, _>(lines.iter().map(|l| l.part_id).collect::<Vec<_>>())
        .bind::<Array<BigInt>, _>(lines.iter().map(|l| l.qty).collect::<Vec<_>>())
        .bind::<Array<BigInt>, _>(lines.iter().map(|l| l.unit_cost_minor).collect::<Vec<_>>())
        .bind::<Array<BigInt>, _>(lines.iter().map(|l| l.backordered).collect::<Vec<_>>())
        .bind::<Array<BigInt>, _>(first_filled.to_vec())
        .bind::<Array<Integer>, _>(takes.iter().map(|t| t.line_no).collect::<Vec<_>>())
        .bind::<Array<BigInt>, _>(takes.iter().map(|t| t.source_id).collect::<Vec<_>>())
        .bind::<Array<BigInt>, _>(takes.iter().map(|t| t.qty).collect::<Vec<_>>())
        .cached()
        .load(c)?;
    let mut out =
        Written { request_id: 0, line_ids: vec![0; lines.len()], allocation_ids: vec![0; takes.len()] };
    for row in rows {
        match row.kind {
            0 => out.request_id = row.id,
            1 => {
                if let Some(i) = lines.iter().position(|l| l.line_no == row.n) {
                    out.line_ids[i] = row.id;
                }
            }
            _ => {
                if let Some(slot) =
                    usize::try_from(row.n - 1).ok().and_then(|i| out.allocation_ids.get_mut(i))
                {
                    *slot = row.id;
                }
            }
        }
    }
    Ok(out)
}
