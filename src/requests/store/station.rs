//! The station as a request needs it, in one locked statement; its lateral lanes; the
//! recomputed outstanding value the audit checks the running one against.

use diesel::prelude::*;

use crate::db::schema::{lateral_lanes, locations, tiers};
use crate::db::{CachedExt, DbConn};
use crate::network::store::LocationRow;

/// The station's running outstanding value, its row locked as by [`lock_station`].
pub fn lock_station_outstanding(conn: &mut DbConn, station_id: i64) -> QueryResult<i64> {
    let q = locations::table.find(station_id).select(locations::outstanding_minor);
    match conn {
        DbConn::Pg(c) => q.for_no_key_update().first(c),
        DbConn::Sqlite(_) => q.first(conn),
    }
}

/// Takes a row lock on the station's location row for the rest of the transaction (PostgreSQL;
/// SQLite already serialises writers), so that two requests of one station cannot both pass
/// its allowance. `FOR NO KEY UPDATE` writes no new row version and does not block the foreign
/// key checks of concurrent inserts that reference the station.
pub fn lock_station(conn: &mut DbConn, station_id: i64) -> QueryResult<()> {
    if let DbConn::Pg(c) = conn {
        locations::table.find(station_id).select(locations::id).for_no_key_update().first::<i64>(c)?;
    }
    Ok(())
}

/// What routes a station's lines: its tier's terms, its centre, the central warehouse and the
/// lateral centres that may supply its centre, by priority (one statement).
#[derive(Clone, Debug)]
pub struct StationTerms {
    pub allowance: i64,
    pub may_order_from_hq: bool,
    pub allocation_priority: i32,
    pub centre_code: Option<String>,
    pub central: Option<(i64, String)>,
    /// (id, code) by priority
    pub laterals: Vec<(i64, String)>,
}

/// The columns after the tier terms in [`STATION_SQL`]'s answer.
const STATION_TAIL: &str = "c.code AS centre_code, h.id AS central_id, h.code AS central_code, \
      n.id AS lateral_id, n.code AS lateral_code \
    FROM locations l LEFT JOIN tiers t ON t.tier = l.tier \
      LEFT JOIN locations c ON c.id = l.parent_id \
      LEFT JOIN locations h ON h.id = (SELECT MIN(x.id) FROM locations x WHERE x.kind = 'central_warehouse') \
      LEFT JOIN lateral_lanes ll ON ll.centre_id = l.parent_id \
      LEFT JOIN locations n ON n.id = ll.neighbour_id";

#[derive(QueryableByName)]
struct StationSqlRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    code: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    kind: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    parent_id: Option<i64>,
    #[diesel(sql_type = diesel::sql_types::Text)]
    path: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    region: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    city: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    address: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    tier: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Integer>)]
    lead_time_days: Option<i32>,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    active: bool,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    outstanding_minor: i64,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    open_loans: bool,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    revision: i64,
}

#[derive(QueryableByName)]
struct TermsSqlRow {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    allowance: Option<i64>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Bool>)]
    may_order_from_hq: Option<bool>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Integer>)]
    allocation_priority: Option<i32>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    centre_code: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    central_id: Option<i64>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    central_code: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    lateral_id: Option<i64>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    lateral_code: Option<String>,
}

/// The terms from the rows of [`STATION_TAIL`] (one per lateral lane); NotFound without a tier.
fn terms_of(rows: &[&TermsSqlRow]) -> QueryResult<StationTerms> {
    let first = rows.first().ok_or(diesel::result::Error::NotFound)?;
    let (Some(allowance), Some(may_order_from_hq), Some(allocation_priority)) =
        (first.allowance, first.may_order_from_hq, first.allocation_priority)
    else {
        return Err(diesel::result::Error::NotFound);
    };
    Ok(StationTerms {
        allowance,
        may_order_from_hq,
        allocation_priority,
        centre_code: first.centre_code.clone(),
        central: first.central_id.zip(first.central_code.clone()),
        laterals: rows.iter().filter_map(|r| r.lateral_id.zip(r.lateral_code.clone())).collect(),
    })
}

const TERMS_HEAD: &str =
    "SELECT t.credit_allowance_minor AS allowance, t.may_order_from_hq AS may_order_from_hq, \
    t.allocation_priority AS allocation_priority, ";

/// A location by code, as a new request finds it (see [`station_by_code_locked`]).
pub struct LockedStation {
    pub row: LocationRow,
    /// the running outstanding value, read under the row lock (see `outstanding`)
    pub outstanding: i64,
    /// whether the station has open loan lines (only then can some be overdue)
    pub open_loans: bool,
    /// the master data's revision (migration `000017`): [`station_terms_full`] read at the same
    /// revision still holds
    pub revision: i64,
}

/// A location by code locked as by [`lock_station`], with its running outstanding value, whether
/// it has open loans, and the master data's revision. One statement of one table: its terms, a join
/// of six, are read only when the revision says that the copy kept from before is stale (that
/// join in the locking statement cost PostgreSQL about 0.09 ms a request: BENCHMARKS.md).
pub fn station_by_code_locked(conn: &mut DbConn, code: &str) -> QueryResult<Option<LockedStation>> {
    use diesel::sql_types::Text;
    let pg = matches!(conn, DbConn::Pg(_));
    let text = format!(
        "SELECT l.id, l.code, l.name, l.kind, l.parent_id, l.path, l.region, l.city, l.address, \
         l.tier, l.lead_time_days, l.active, l.outstanding_minor, \
         EXISTS (SELECT 1 FROM loans lo JOIN loan_lines lol ON lol.loan_id = lo.id \
           WHERE lo.station_id = l.id AND lol.status = 'open') AS open_loans, \
         (SELECT r.revision FROM master_revision r WHERE r.id = 1) AS revision \
         FROM locations l WHERE l.code = {}{}",
        if pg { "$1" } else { "?" },
        if pg { " FOR NO KEY UPDATE OF l" } else { "" },
    );
    let rows: Vec<StationSqlRow> =
        crate::on_backend!(conn, |c| diesel::sql_query(&text).bind::<Text, _>(code).cached().load(c))?;
    let Some(r) = rows.into_iter().next() else { return Ok(None) };
    let row = LocationRow {
        id: r.id,
        code: r.code,
        name: r.name,
        kind: r.kind,
        parent_id: r.parent_id,
        path: r.path,
        region: r.region,
        city: r.city,
        address: r.address,
        tier: r.tier,
        lead_time_days: r.lead_time_days,
        active: r.active,
    };
    Ok(Some(LockedStation {
        row,
        outstanding: r.outstanding_minor,
        open_loans: r.open_loans,
        revision: r.revision,
    }))
}

pub fn station_terms_full(conn: &mut DbConn, station_id: i64) -> QueryResult<StationTerms> {
    use diesel::sql_types::BigInt;
    let pg = matches!(conn, DbConn::Pg(_));
    let text = format!(
        "{TERMS_HEAD}{STATION_TAIL} WHERE l.id = {} ORDER BY ll.priority, ll.neighbour_id",
        if pg { "$1" } else { "?" }
    );
    let rows: Vec<TermsSqlRow> = crate::on_backend!(conn, |c| diesel::sql_query(&text)
        .bind::<BigInt, _>(station_id)
        .cached()
        .load(c))?;
    terms_of(&rows.iter().collect::<Vec<_>>())
}

/// The lateral centres that may supply `centre_id`, by priority.
pub fn laterals(conn: &mut DbConn, centre_id: i64) -> QueryResult<Vec<i64>> {
    lateral_lanes::table
        .filter(lateral_lanes::centre_id.eq(centre_id))
        .select(lateral_lanes::neighbour_id)
        .order((lateral_lanes::priority.asc(), lateral_lanes::neighbour_id.asc()))
        .load(conn)
}

pub fn insert_lateral(
    conn: &mut DbConn,
    centre_id: i64,
    neighbour_id: i64,
    priority: i32,
    lead: i32,
) -> QueryResult<()> {
    diesel::insert_into(lateral_lanes::table)
        .values((
            lateral_lanes::centre_id.eq(centre_id),
            lateral_lanes::neighbour_id.eq(neighbour_id),
            lateral_lanes::priority.eq(priority),
            lateral_lanes::lead_time_days.eq(lead),
        ))
        .execute(conn)
        .map(|_| ())
}

/// The tier terms of a station: (credit allowance, may order from HQ, allocation priority).
pub fn station_terms(conn: &mut DbConn, station_id: i64) -> QueryResult<(i64, bool, i32)> {
    locations::table
        .inner_join(tiers::table.on(locations::tier.eq(tiers::tier.nullable())))
        .filter(locations::id.eq(station_id))
        .select((tiers::credit_allowance_minor, tiers::may_order_from_hq, tiers::allocation_priority))
        .first(conn)
}

/// Value at cost of what a station holds or has coming: its stock (and its technicians'
/// custody, below it in the tree), its open allocations and its backorders, recomputed from
/// scratch in one statement. The allowance check reads the running value instead
/// (`outstanding`); this is the audit's reference for it.
pub fn outstanding_minor(conn: &mut DbConn, station_id: i64, station_path: &str) -> QueryResult<i64> {
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
    let pattern = format!("{}%", crate::network::store::escape_like(station_path));
    let text = crate::db::dialect_sql(conn, SQL);
    let row: Total = crate::on_backend!(conn, |c| diesel::sql_query(text.as_ref())
        .bind::<Text, _>(&pattern)
        .bind::<BigInt, _>(station_id)
        .cached()
        .get_result(c))?;
    Ok(row.total)
}

/// Days of the lateral lane by which `neighbour_id` supplies `centre_id`, if configured.
pub fn lateral_days(conn: &mut DbConn, centre_id: i64, neighbour_id: i64) -> QueryResult<Option<i32>> {
    lateral_lanes::table
        .find((centre_id, neighbour_id))
        .select(lateral_lanes::lead_time_days)
        .first(conn)
        .optional()
}
