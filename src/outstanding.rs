//! The running outstanding value of each station (spec section 5's allowance): what it holds at
//! cost (its stock and its technicians' custody) and what it has coming (its open requests'
//! reserved, picked and shipped allocations and their backorders, at line cost).
//!
//! Two columns keep it, changed in the transaction of every write that changes what they sum:
//! - `parts_requests.outstanding_minor`, one request's share, re-booked by [`sync_request`]
//!   whenever a flow sets the request's state (`store::set_status`, where every flow of a
//!   request ends) and written directly when a request is created;
//! - for a station, its stock at current cost plus its requests' shares, kept in a narrow row
//!   of its own beside the station's `locations` row (which every request and event naming the
//!   station share-locks for its foreign key), `station_values.outstanding_minor`, plus the used
//!   values of its slots (`station_value_slots`, below; [`station_value!`] sums them):
//!   [`on_stock`] from
//!   `ledger::store::post` (every movement), [`on_cost_change`] from the catalogue,
//!   [`sync_request`] for the requests' flows and [`add_within`] for a new request;
//!   [`recompute_all`] after bulk loads.
//!
//! A station's row is every one of its writers' meeting point, so it is taken last: [`add`]
//! only notes a change, and the write transaction books what it noted on each station right
//! before it commits (`db::deferred`, driven by `db::write_tx`), one
//! `UPDATE ... SET outstanding_minor = outstanding_minor + delta` per station in station id
//! order. A transaction thus holds a station's row only from its last statement to its commit,
//! and always after every stock row it takes: a flow that locks stock rows in part order and a
//! new request of the same station cannot wait on each other in a circle.
//!
//! A new request checks the allowance against the value as last committed, read without a
//! lock, and books its share with [`add_within`]: the booking adds it only if the station's
//! value, as the `UPDATE` finds it, stays within the allowance; otherwise nothing is written and
//! the request runs again (`retry_transaction`), now seeing the other request's share. So two
//! requests of one station never pass its allowance together. `echelon audit` compares both
//! columns with the sums recomputed from scratch ([`recomputed`] is the station's reference).
//!
//! On PostgreSQL a booking with a ceiling does not take the station's one row: the value is
//! split into eight slots (escrow, migration `000053_station_value_slots`). A booking goes to
//! its server process's slot, which has a budget dealt out of the room left under the ceiling,
//! and takes that slot's row alone while the budget lasts, the ceiling it was dealt under still
//! holds and no increment without a ceiling has grown the base since; otherwise it locks the
//! base and every slot, checks the whole sum against its ceiling as before, and deals the room
//! left out again. So one station's requests book side by side, and still never pass the
//! allowance together. Increments without a ceiling go to the base row.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use crate::db::schema::parts_requests;
use crate::db::{deferred, CachedExt, DbConn};
use crate::error::{AppError, Problem};

/// A station's value, for its `station_values` row aliased `$v`: the base and its slots' used
/// values (see the module's documentation), as a `BIGINT`.
#[macro_export]
macro_rules! station_value {
    ($v:literal) => {
        concat!(
            "CAST(",
            $v,
            ".outstanding_minor + COALESCE((SELECT SUM(vs.used_minor) FROM station_value_slots vs \
             WHERE vs.station_id = ",
            $v,
            ".id), 0) AS BIGINT)"
        )
    };
}

/// One request's share, for a request aliased `r`: its open allocations and backorders at line
/// cost while it is open, else 0.
macro_rules! request_share {
    () => {
        "CAST(CASE WHEN r.status IN ('pending_approval', 'rejected', 'cancelled', 'closed') THEN 0 \
         ELSE COALESCE((SELECT SUM(a.qty * ln.unit_cost_minor) FROM request_allocations a \
                 JOIN parts_request_lines ln ON ln.id = a.line_id \
                 WHERE a.request_id = r.id AND a.status IN ('reserved', 'picked', 'shipped')), 0) \
            + COALESCE((SELECT SUM(ln.backordered * ln.unit_cost_minor) FROM parts_request_lines ln \
                 WHERE ln.request_id = r.id AND ln.backordered > 0), 0) \
         END AS BIGINT)"
    };
}

/// A station's running value, written at the end of the write transaction (`db::deferred`).
const STATION_VALUE: deferred::Sum = deferred::Sum {
    table: "station_values",
    column: "outstanding_minor",
    pg_add: "echelon_station_value_add",
};

/// Adds `delta` to a station's value, booked as the write transaction's last statements (at
/// once outside one).
pub fn add(conn: &mut DbConn, station_id: i64, delta: i64) -> QueryResult<()> {
    deferred::add(conn, STATION_VALUE, station_id, delta, None)
}

/// A station's value as the open write transaction will leave it: `committed` (read in it) and
/// what the transaction has noted on it so far.
pub fn as_left(station_id: i64, committed: i64) -> i64 {
    committed.saturating_add(deferred::noted(STATION_VALUE, station_id))
}

/// The station's running value as last committed (read without a lock: the booking checks the
/// allowance again).
pub fn stored(conn: &mut DbConn, station_id: i64) -> QueryResult<i64> {
    #[derive(QueryableByName)]
    struct Value {
        #[diesel(sql_type = BigInt)]
        value: i64,
    }
    const SQL: &str =
        concat!("SELECT ", station_value!("v"), " AS value FROM station_values v WHERE v.id = $1");
    let text = crate::db::dialect_sql(conn, SQL);
    let v: Value = crate::on_backend!(conn, |c| diesel::sql_query(text.as_ref())
        .bind::<BigInt, _>(station_id)
        .cached()
        .get_result(c))?;
    Ok(v.value)
}

/// Adds a new request's share to its station's value only if the value, as its booking finds
/// it, stays at or below `within` (the allowance less the overdue loans); otherwise the
/// transaction is run again (`retry_transaction`), having written nothing.
pub fn add_within(conn: &mut DbConn, station_id: i64, delta: i64, within: i64) -> QueryResult<()> {
    deferred::add(conn, STATION_VALUE, station_id, delta, Some(within))
}

/// A station's value would leave the 64-bit range of minor units: refused, nothing changes.
fn out_of_range(station_id: i64) -> AppError {
    AppError::unprocessable(
        Problem::ValueOutOfRange,
        format!(
            "the outstanding value of station {station_id} would exceed the largest amount that can be kept"
        ),
    )
    .with("station_id", station_id)
}

/// `delta` added to `value`, or the refusal.
pub(crate) fn checked(station_id: i64, value: i64, delta: Option<i64>) -> Result<i64, AppError> {
    delta.filter(|d| value.checked_add(*d).is_some()).ok_or_else(|| out_of_range(station_id))
}

/// Value at cost of what a station holds or has coming: its stock (and its technicians'
/// custody, below it in the tree), its open allocations and its backorders, recomputed from
/// scratch in one statement. The allowance check reads the running value instead
/// (`outstanding`); this is the audit's reference for it.
pub fn recomputed(conn: &mut DbConn, station_id: i64, station_path: &str) -> QueryResult<i64> {
    use diesel::sql_types::{BigInt, Text};
    #[derive(QueryableByName)]
    struct Total {
        #[diesel(sql_type = BigInt)]
        total: i64,
    }
    // the open requests drive the sums (correlated lookups by request id): the cost follows the
    // station's own requests, where a join from the allocation side made PostgreSQL scan every
    // allocation of the network
    const SQL: &str = "SELECT CAST(COALESCE(SUM(v), 0) AS BIGINT) AS total FROM ( \
        SELECT b.on_hand * p.unit_cost_minor AS v FROM stock_balances b \
          JOIN parts p ON p.id = b.part_id JOIN locations l ON l.id = b.location_id \
          WHERE l.path LIKE $1 ESCAPE '\\' AND b.on_hand > 0 \
        UNION ALL SELECT \
            (SELECT COALESCE(SUM(a.qty * ln.unit_cost_minor), 0) FROM request_allocations a \
               JOIN parts_request_lines ln ON ln.id = a.line_id \
               WHERE a.request_id = r.id AND a.status IN ('reserved', 'picked', 'shipped')) \
          + (SELECT COALESCE(SUM(ln.backordered * ln.unit_cost_minor), 0) FROM parts_request_lines ln \
               WHERE ln.request_id = r.id AND ln.backordered > 0) \
          FROM parts_requests r \
          WHERE r.station_id = $2 AND r.status NOT IN ('pending_approval', 'rejected', 'cancelled', 'closed') \
      ) x";
    let pattern = format!("{}%", crate::db::escape_like(station_path));
    let text = crate::db::dialect_sql(conn, SQL);
    let row: Total = crate::on_backend!(conn, |c| diesel::sql_query(text.as_ref())
        .bind::<Text, _>(&pattern)
        .bind::<BigInt, _>(station_id)
        .cached()
        .get_result(c))?;
    Ok(row.total)
}

#[derive(QueryableByName)]
struct Holding {
    #[diesel(sql_type = BigInt)]
    station_id: i64,
    #[diesel(sql_type = BigInt)]
    value: i64,
    /// units (on_cost_change) or unit cost (on_stock)
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// `qty` units of a part arrived at (positive) or left (negative) the location `place_id`, a
/// station or a technician's custody under one (the ledger calls this only for those): the
/// station's value moves by their current cost.
pub fn on_stock(conn: &mut DbConn, place_id: i64, part_id: i64, qty: i64) -> Result<(), AppError> {
    if qty == 0 {
        return Ok(());
    }
    // a station's technicians hang right under it (network::rules::LocationKind::parent_kind)
    const SQL: &str = concat!(
        "SELECT v.id AS station_id, ",
        station_value!("v"),
        " AS value, p.unit_cost_minor AS n \
        FROM locations x JOIN station_values v ON v.id = CASE WHEN x.kind = 'station' THEN x.id ELSE x.parent_id END \
        JOIN parts p ON p.id = $1 WHERE x.id = $2"
    );
    let text = crate::db::dialect_sql(conn, SQL);
    let h: Holding = crate::on_backend!(conn, |c| diesel::sql_query(text.as_ref())
        .bind::<BigInt, _>(part_id)
        .bind::<BigInt, _>(place_id)
        .get_result(c))?;
    let delta = checked(h.station_id, h.value, qty.checked_mul(h.n))?;
    Ok(add(conn, h.station_id, delta)?)
}

/// A part's unit cost is about to become `new_cost`: every station holding some (itself or in
/// its technicians' custody) is revalued. Runs before the part's row changes.
pub fn on_cost_change(conn: &mut DbConn, part_id: i64, new_cost: i64) -> Result<(), AppError> {
    use crate::db::schema::parts;
    let old: i64 = parts::table.find(part_id).select(parts::unit_cost_minor).first(conn)?;
    // both are validated as not negative, so the difference fits
    let step = new_cost - old;
    if step == 0 {
        return Ok(());
    }
    // only the stations that hold the part are touched (and locked)
    const SQL: &str = concat!(
        "SELECT v.id AS station_id, ",
        station_value!("v"),
        " AS value, CAST(SUM(b.on_hand) AS BIGINT) AS n \
        FROM stock_balances b JOIN locations x ON x.id = b.location_id \
          JOIN station_values v ON v.id = CASE WHEN x.kind = 'station' THEN x.id ELSE x.parent_id END \
        WHERE b.part_id = $1 AND b.on_hand > 0 AND x.kind IN ('station', 'technician') \
        GROUP BY v.id, v.outstanding_minor ORDER BY v.id"
    );
    let text = crate::db::dialect_sql(conn, SQL);
    let held: Vec<Holding> =
        crate::on_backend!(conn, |c| diesel::sql_query(text.as_ref()).bind::<BigInt, _>(part_id).load(c))?;
    let mut deltas = Vec::with_capacity(held.len());
    for h in &held {
        deltas.push((h.station_id, checked(h.station_id, h.value, step.checked_mul(h.n))?));
    }
    for (station_id, delta) in deltas {
        add(conn, station_id, delta)?;
    }
    Ok(())
}

#[derive(QueryableByName)]
struct Share {
    #[diesel(sql_type = BigInt)]
    station_id: i64,
    #[diesel(sql_type = BigInt)]
    stored: i64,
    #[diesel(sql_type = BigInt)]
    computed: i64,
}

/// Re-books a request's share after its allocations, backorders or state changed: the request's
/// stored share and its station's value move by the difference.
pub fn sync_request(conn: &mut DbConn, request_id: i64) -> QueryResult<()> {
    const SQL: &str = concat!(
        "SELECT r.station_id AS station_id, r.outstanding_minor AS stored, ",
        request_share!(),
        " AS computed FROM parts_requests r WHERE r.id = $1"
    );
    let text = crate::db::dialect_sql(conn, SQL);
    let s: Share = crate::on_backend!(conn, |c| diesel::sql_query(text.as_ref())
        .bind::<BigInt, _>(request_id)
        .cached()
        .get_result(c))?;
    let delta = s.computed - s.stored;
    if delta != 0 {
        diesel::update(parts_requests::table.find(request_id))
            .set(parts_requests::outstanding_minor.eq(s.computed))
            .execute(conn)?;
        add(conn, s.station_id, delta)?;
    }
    Ok(())
}

/// Recomputes every request's share and every station's value from scratch: for the bulk
/// writers (generated networks and histories) that write rows without the flows above.
pub fn recompute_all(conn: &mut DbConn) -> QueryResult<()> {
    const SHARES: &str = concat!("UPDATE parts_requests AS r SET outstanding_minor = ", request_share!());
    // a station's technicians hang right under it (network::rules::LocationKind::parent_kind)
    const STATIONS: &str = "UPDATE station_values AS s SET outstanding_minor = CASE \
          WHEN (SELECT l.kind FROM locations l WHERE l.id = s.id) = 'station' THEN CAST( \
          COALESCE((SELECT SUM(b.on_hand * p.unit_cost_minor) FROM stock_balances b \
             JOIN parts p ON p.id = b.part_id JOIN locations x ON x.id = b.location_id \
             WHERE (x.id = s.id OR x.parent_id = s.id) AND b.on_hand > 0), 0) \
        + COALESCE((SELECT SUM(r.outstanding_minor) FROM parts_requests r WHERE r.station_id = s.id), 0) \
        AS BIGINT) ELSE 0 END";
    diesel::sql_query(SHARES).execute(conn)?;
    diesel::sql_query(STATIONS).execute(conn)?;
    // the base now holds the whole value: the slots are dealt out again at the next booking
    diesel::sql_query("DELETE FROM station_value_slots").execute(conn)?;
    Ok(())
}

/// Every stored share or station value that differs from its sum recomputed from scratch.
pub fn breaches(conn: &mut DbConn) -> QueryResult<Vec<String>> {
    #[derive(QueryableByName)]
    struct Station {
        #[diesel(sql_type = BigInt)]
        id: i64,
        #[diesel(sql_type = Text)]
        code: String,
        #[diesel(sql_type = Text)]
        kind: String,
        #[diesel(sql_type = Text)]
        path: String,
        /// `None`: the location has no value row (every location gets one with it)
        #[diesel(sql_type = diesel::sql_types::Nullable<BigInt>)]
        stored: Option<i64>,
    }
    #[derive(QueryableByName)]
    struct Request {
        #[diesel(sql_type = BigInt)]
        id: i64,
        #[diesel(sql_type = BigInt)]
        stored: i64,
        #[diesel(sql_type = BigInt)]
        computed: i64,
    }
    let mut out = Vec::new();
    const STATIONS: &str = concat!(
        "SELECT l.id, l.code, l.kind, l.path, CASE WHEN v.id IS NULL THEN NULL ELSE ",
        station_value!("v"),
        " END AS stored FROM locations l LEFT JOIN station_values v ON v.id = l.id ORDER BY l.id"
    );
    let rows: Vec<Station> = diesel::sql_query(STATIONS).load(conn)?;
    for s in rows {
        let Some(stored) = s.stored else {
            out.push(format!("location {} ({}): no outstanding value row", s.code, s.kind));
            continue;
        };
        if s.kind != "station" {
            if stored != 0 {
                out.push(format!(
                    "location {} ({}): outstanding value {stored} kept for a non-station",
                    s.code, s.kind
                ));
            }
            continue;
        }
        let want = recomputed(conn, s.id, &s.path)?;
        if want != stored {
            out.push(format!(
                "station {}: running outstanding value {stored} but its stock, allocations and backorders sum to {want}",
                s.code
            ));
        }
    }
    const SHARES: &str = concat!(
        "SELECT id, stored, computed FROM (SELECT r.id AS id, r.outstanding_minor AS stored, ",
        request_share!(),
        " AS computed FROM parts_requests r) x WHERE stored <> computed ORDER BY id"
    );
    for r in diesel::sql_query(SHARES).load::<Request>(conn)? {
        out.push(format!(
            "parts request {}: outstanding share {} but its open allocations and backorders sum to {}",
            r.id, r.stored, r.computed
        ));
    }
    Ok(out)
}
