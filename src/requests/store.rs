//! Parts requests, their lines and allocations, lateral lanes and idempotency keys in the
//! database.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{
    idempotency_keys, lateral_lanes, locations, parts_request_lines, parts_requests, request_allocations,
    tiers,
};
use crate::db::{CachedExt, DbConn};
use crate::network::store::LocationRow;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = parts_requests)]
pub struct RequestRow {
    pub id: i64,
    pub station_id: i64,
    pub ticket_id: Option<i64>,
    pub urgency: String,
    pub status: String,
    pub source_id: Option<i64>,
    pub value_minor: i64,
    pub exceeds_by_minor: Option<i64>,
    pub requested_by: String,
    pub decided_by: Option<String>,
    pub decision_note: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = parts_requests)]
pub struct NewRequest<'a> {
    pub station_id: i64,
    pub ticket_id: Option<i64>,
    pub urgency: &'a str,
    pub status: &'a str,
    pub source_id: Option<i64>,
    pub value_minor: i64,
    pub exceeds_by_minor: Option<i64>,
    pub requested_by: &'a str,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// the request's share of its station's outstanding value (see `outstanding`)
    pub outstanding_minor: i64,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = parts_request_lines)]
pub struct LineRow {
    pub id: i64,
    pub request_id: i64,
    pub line_no: i32,
    pub requested_code: String,
    pub part_id: i64,
    pub qty: i64,
    pub unit_cost_minor: i64,
    pub backordered: i64,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = request_allocations)]
pub struct AllocationRow {
    pub id: i64,
    pub request_id: i64,
    pub line_id: i64,
    pub part_id: i64,
    pub source_id: i64,
    pub qty: i64,
    pub status: String,
    pub serials: Option<String>,
}

/// Inserts a request and adds its share (`r.outstanding_minor`) to its station's running value;
/// returns its id. On PostgreSQL one statement does both (the station's `UPDATE` in a
/// data-modifying `WITH`), saving a round trip on every request.
pub fn insert_request(conn: &mut DbConn, r: &NewRequest<'_>) -> QueryResult<i64> {
    use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    match conn {
        DbConn::Pg(c) if r.outstanding_minor != 0 => {
            const SQL: &str =
                "WITH booked AS (UPDATE locations SET outstanding_minor = outstanding_minor + $1 \
                  WHERE id = $2 RETURNING id) \
                INSERT INTO parts_requests (station_id, ticket_id, urgency, status, source_id, value_minor, \
                  exceeds_by_minor, requested_by, created_at, updated_at, outstanding_minor) \
                VALUES ($3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id";
            let row: Id = diesel::sql_query(SQL)
                .bind::<BigInt, _>(r.outstanding_minor)
                .bind::<BigInt, _>(r.station_id)
                .bind::<BigInt, _>(r.station_id)
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
                .cached()
                .get_result(c)?;
            Ok(row.id)
        }
        _ => {
            // optional values make diesel treat the INSERT as unbounded; it has 2^3 shapes at
            // most. On the concrete connection: the multi-backend one renders a statement's SQL
            // at every execution, even a prepared one
            let id = crate::on_backend!(conn, |c| diesel::insert_into(parts_requests::table)
                .values(r)
                .returning(parts_requests::id)
                .cached()
                .get_result(c))?;
            super::outstanding::add(conn, r.station_id, r.outstanding_minor)?;
            Ok(id)
        }
    }
}

pub fn insert_line(
    conn: &mut DbConn,
    request_id: i64,
    line_no: i32,
    requested_code: &str,
    part_id: i64,
    qty: i64,
    unit_cost_minor: i64,
) -> QueryResult<i64> {
    diesel::insert_into(parts_request_lines::table)
        .values((
            parts_request_lines::request_id.eq(request_id),
            parts_request_lines::line_no.eq(line_no),
            parts_request_lines::requested_code.eq(requested_code),
            parts_request_lines::part_id.eq(part_id),
            parts_request_lines::qty.eq(qty),
            parts_request_lines::unit_cost_minor.eq(unit_cost_minor),
            parts_request_lines::backordered.eq(0i64),
        ))
        .returning(parts_request_lines::id)
        .get_result(conn)
}

/// Inserts a line whose routing is already known (reserved before the line was written);
/// returns its id.
pub fn insert_routed_line(
    conn: &mut DbConn,
    line: &LineRow,
    routing: &Routing,
    at: NaiveDateTime,
) -> QueryResult<i64> {
    crate::on_backend!(conn, |c| diesel::insert_into(parts_request_lines::table)
        .values((
            parts_request_lines::request_id.eq(line.request_id),
            parts_request_lines::line_no.eq(line.line_no),
            parts_request_lines::requested_code.eq(&line.requested_code),
            parts_request_lines::part_id.eq(line.part_id),
            parts_request_lines::qty.eq(line.qty),
            parts_request_lines::unit_cost_minor.eq(line.unit_cost_minor),
            parts_request_lines::backordered.eq(routing.backordered),
            parts_request_lines::first_source_id.eq(routing.first_source_id),
            parts_request_lines::first_filled.eq(routing.first_filled),
            parts_request_lines::first_stockout.eq(routing.first_filled == 0),
            parts_request_lines::routed_at.eq(at),
        ))
        .returning(parts_request_lines::id)
        .get_result(c))
}

/// Where a line's first choice was and what it found.
pub struct Routing {
    pub first_source_id: i64,
    pub first_filled: i64,
    pub backordered: i64,
}

/// Records a line's routing: what it found at its first-choice source and what is left over.
pub fn set_routed(
    conn: &mut DbConn,
    line_id: i64,
    source_id: i64,
    filled: i64,
    backordered: i64,
    at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(parts_request_lines::table.find(line_id))
        .set((
            parts_request_lines::backordered.eq(backordered),
            parts_request_lines::first_source_id.eq(source_id),
            parts_request_lines::first_filled.eq(filled),
            parts_request_lines::first_stockout.eq(filled == 0),
            parts_request_lines::routed_at.eq(at),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn set_backordered(conn: &mut DbConn, line_id: i64, backordered: i64) -> QueryResult<()> {
    diesel::update(parts_request_lines::table.find(line_id))
        .set(parts_request_lines::backordered.eq(backordered))
        .execute(conn)
        .map(|_| ())
}

pub fn insert_allocation(
    conn: &mut DbConn,
    line: &LineRow,
    source_id: i64,
    qty: i64,
    status: &str,
    at: NaiveDateTime,
) -> QueryResult<i64> {
    crate::on_backend!(conn, |c| diesel::insert_into(request_allocations::table)
        .values((
            request_allocations::request_id.eq(line.request_id),
            request_allocations::line_id.eq(line.id),
            request_allocations::part_id.eq(line.part_id),
            request_allocations::source_id.eq(source_id),
            request_allocations::qty.eq(qty),
            request_allocations::status.eq(status),
            request_allocations::created_at.eq(at),
            request_allocations::updated_at.eq(at),
        ))
        .returning(request_allocations::id)
        .get_result(c))
}

pub fn set_allocation(
    conn: &mut DbConn,
    id: i64,
    status: &str,
    serials: Option<&str>,
    at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(request_allocations::table.find(id))
        .set((
            request_allocations::status.eq(status),
            request_allocations::serials.eq(serials),
            request_allocations::updated_at.eq(at),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Splits `qty` off an allocation into a new one with another status (a partly damaged
/// delivery); returns the new allocation's id.
pub fn split_allocation(
    conn: &mut DbConn,
    a: &AllocationRow,
    qty: i64,
    status: &str,
    serials: Option<&str>,
    at: NaiveDateTime,
) -> QueryResult<i64> {
    diesel::update(request_allocations::table.find(a.id))
        .set((request_allocations::qty.eq(a.qty - qty), request_allocations::updated_at.eq(at)))
        .execute(conn)?;
    diesel::insert_into(request_allocations::table)
        .values((
            request_allocations::request_id.eq(a.request_id),
            request_allocations::line_id.eq(a.line_id),
            request_allocations::part_id.eq(a.part_id),
            request_allocations::source_id.eq(a.source_id),
            request_allocations::qty.eq(qty),
            request_allocations::status.eq(status),
            request_allocations::serials.eq(serials),
            request_allocations::created_at.eq(at),
            request_allocations::updated_at.eq(at),
        ))
        .returning(request_allocations::id)
        .get_result(conn)
}

pub fn request(conn: &mut DbConn, id: i64) -> QueryResult<Option<RequestRow>> {
    parts_requests::table.find(id).select(RequestRow::as_select()).first(conn).optional()
}

pub fn lines(conn: &mut DbConn, request_ids: &[i64]) -> QueryResult<Vec<LineRow>> {
    parts_request_lines::table
        .filter(parts_request_lines::request_id.eq_any(request_ids.to_vec()))
        .select(LineRow::as_select())
        .order((parts_request_lines::request_id.asc(), parts_request_lines::line_no.asc()))
        .load(conn)
}

pub fn allocations(conn: &mut DbConn, request_ids: &[i64]) -> QueryResult<Vec<AllocationRow>> {
    request_allocations::table
        .filter(request_allocations::request_id.eq_any(request_ids.to_vec()))
        .select(AllocationRow::as_select())
        .order(request_allocations::id.asc())
        .load(conn)
}

/// Sets a request's state, and re-books its share of the station's outstanding value from its
/// allocations and backorders as they now stand (every flow of a request ends here).
pub fn set_status(conn: &mut DbConn, id: i64, status: &str, at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(parts_requests::table.find(id))
        .set((parts_requests::status.eq(status), parts_requests::updated_at.eq(at)))
        .execute(conn)?;
    super::outstanding::sync_request(conn, id)
}

pub fn set_decision(conn: &mut DbConn, id: i64, by: &str, note: Option<&str>) -> QueryResult<()> {
    diesel::update(parts_requests::table.find(id))
        .set((parts_requests::decided_by.eq(by), parts_requests::decision_note.eq(note)))
        .execute(conn)
        .map(|_| ())
}

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
    #[diesel(embed)]
    terms: TermsSqlRow,
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
    /// when it is a station with a tier
    pub terms: QueryResult<StationTerms>,
}

/// A location by code locked as by [`lock_station`], with its running outstanding value, whether
/// it has open loans, and its [`StationTerms`]. One statement for all of it.
pub fn station_by_code_locked(conn: &mut DbConn, code: &str) -> QueryResult<Option<LockedStation>> {
    use diesel::sql_types::Text;
    let pg = matches!(conn, DbConn::Pg(_));
    let text = format!(
        "{TERMS_HEAD}l.id, l.code, l.name, l.kind, l.parent_id, l.path, l.region, l.city, l.address, \
         l.tier, l.lead_time_days, l.active, l.outstanding_minor, \
         EXISTS (SELECT 1 FROM loans lo JOIN loan_lines lol ON lol.loan_id = lo.id \
           WHERE lo.station_id = l.id AND lol.status = 'open') AS open_loans, {STATION_TAIL} WHERE l.code = {} \
         ORDER BY ll.priority, ll.neighbour_id{}",
        if pg { "$1" } else { "?" },
        if pg { " FOR NO KEY UPDATE OF l" } else { "" },
    );
    let rows: Vec<StationSqlRow> =
        crate::on_backend!(conn, |c| diesel::sql_query(&text).bind::<Text, _>(code).cached().load(c))?;
    let Some(r) = rows.first() else { return Ok(None) };
    let row = LocationRow {
        id: r.id,
        code: r.code.clone(),
        name: r.name.clone(),
        kind: r.kind.clone(),
        parent_id: r.parent_id,
        path: r.path.clone(),
        region: r.region.clone(),
        city: r.city.clone(),
        address: r.address.clone(),
        tier: r.tier.clone(),
        lead_time_days: r.lead_time_days,
        active: r.active,
    };
    let terms = terms_of(&rows.iter().map(|r| &r.terms).collect::<Vec<_>>());
    Ok(Some(LockedStation { row, outstanding: r.outstanding_minor, open_loans: r.open_loans, terms }))
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

#[derive(Debug, Default, Clone)]
pub struct RequestFilter {
    pub station_ids: Option<Vec<i64>>,
    /// warehouse users: requests with an allocation from one of these sources, or from a
    /// station among `station_ids`
    pub source_ids: Option<Vec<i64>>,
    pub status: Option<String>,
}

/// Newest first, before `before`.
pub fn list(
    conn: &mut DbConn,
    f: &RequestFilter,
    before: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<RequestRow>> {
    use parts_requests::dsl as r;
    let mut q = parts_requests::table.select(RequestRow::as_select()).into_boxed();
    match (&f.station_ids, &f.source_ids) {
        (Some(st), Some(src)) => {
            let sourced = request_allocations::table
                .filter(request_allocations::source_id.eq_any(src.clone()))
                .select(request_allocations::request_id);
            q = q.filter(r::station_id.eq_any(st.clone()).or(r::id.eq_any(sourced)));
        }
        (Some(st), None) => q = q.filter(r::station_id.eq_any(st.clone())),
        (None, Some(src)) => {
            let sourced = request_allocations::table
                .filter(request_allocations::source_id.eq_any(src.clone()))
                .select(request_allocations::request_id);
            q = q.filter(r::id.eq_any(sourced));
        }
        (None, None) => {}
    }
    if let Some(s) = &f.status {
        q = q.filter(r::status.eq(s.clone()));
    }
    if let Some(b) = before {
        q = q.filter(r::id.lt(b));
    }
    q.order(r::id.desc()).limit(limit).load(conn)
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

/// Lines waiting for a part, with what decides their turn:
/// (line, request, urgency, ticket, station, tier priority).
pub fn waiting_lines(conn: &mut DbConn, part_id: i64) -> QueryResult<Vec<(LineRow, RequestRow, i32)>> {
    parts_request_lines::table
        .inner_join(parts_requests::table.on(parts_requests::id.eq(parts_request_lines::request_id)))
        .inner_join(locations::table.on(locations::id.eq(parts_requests::station_id)))
        .inner_join(tiers::table.on(locations::tier.eq(tiers::tier.nullable())))
        .filter(parts_request_lines::part_id.eq(part_id))
        .filter(parts_request_lines::backordered.gt(0))
        .filter(parts_requests::status.eq_any([
            "allocated",
            "backordered",
            "received_damaged",
            "picked",
            "shipped",
        ]))
        .select((LineRow::as_select(), RequestRow::as_select(), tiers::allocation_priority))
        .load(conn)
}

pub struct StoredAnswer {
    pub request_hash: String,
    pub status: i32,
    pub body: String,
}

pub fn idempotent_answer(conn: &mut DbConn, user_id: i64, key: &str) -> QueryResult<Option<StoredAnswer>> {
    let row: Option<(String, i32, String)> = idempotency_keys::table
        .find((user_id, key))
        .select((idempotency_keys::request_hash, idempotency_keys::status, idempotency_keys::body))
        .first(conn)
        .optional()?;
    Ok(row.map(|(request_hash, status, body)| StoredAnswer { request_hash, status, body }))
}

pub fn claim_key(
    conn: &mut DbConn,
    user_id: i64,
    key: &str,
    hash: &str,
    at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::user_id.eq(user_id),
            idempotency_keys::key.eq(key),
            idempotency_keys::request_hash.eq(hash),
            idempotency_keys::status.eq(0),
            idempotency_keys::body.eq(""),
            idempotency_keys::created_at.eq(at),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn store_answer(conn: &mut DbConn, user_id: i64, key: &str, status: i32, body: &str) -> QueryResult<()> {
    diesel::update(idempotency_keys::table.find((user_id, key)))
        .set((idempotency_keys::status.eq(status), idempotency_keys::body.eq(body)))
        .execute(conn)
        .map(|_| ())
}

/// Days of the lateral lane by which `neighbour_id` supplies `centre_id`, if configured.
pub fn lateral_days(conn: &mut DbConn, centre_id: i64, neighbour_id: i64) -> QueryResult<Option<i32>> {
    lateral_lanes::table
        .find((centre_id, neighbour_id))
        .select(lateral_lanes::lead_time_days)
        .first(conn)
        .optional()
}
