//! The station as a request needs it, in one locked statement. Its row lock and lateral lanes
//! are `network::station`; the recomputed outstanding value is `outstanding::recomputed`.

use diesel::prelude::*;

use crate::db::schema::{locations, tiers};
use crate::db::{CachedExt, DbConn};
use crate::network::rules::{LocationKind, Tier};
use crate::network::store::LocationRow;

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
    /// those of the centre, the central warehouse and the laterals that are not active (a
    /// change of `active` revises the master data too, migration `000054`)
    pub inactive: Vec<i64>,
}

/// The columns after the tier terms in [`STATION_SQL`]'s answer.
const STATION_TAIL: &str =
    "c.id AS centre_id, c.code AS centre_code, c.active AS centre_active, h.id AS central_id, \
      h.code AS central_code, h.active AS central_active, n.id AS lateral_id, n.code AS lateral_code, \
      n.active AS lateral_active \
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
    kind: LocationKind,
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
    tier: Option<Tier>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Integer>)]
    lead_time_days: Option<i32>,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    active: bool,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    outstanding_minor: i64,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    open_loans: bool,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    subscribed: bool,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    revision: i64,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    asker_version: Option<i64>,
}

#[derive(QueryableByName)]
struct TermsSqlRow {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    allowance: Option<i64>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Bool>)]
    may_order_from_hq: Option<bool>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Integer>)]
    allocation_priority: Option<i32>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    centre_id: Option<i64>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    centre_code: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Bool>)]
    centre_active: Option<bool>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    central_id: Option<i64>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    central_code: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Bool>)]
    central_active: Option<bool>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    lateral_id: Option<i64>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    lateral_code: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Bool>)]
    lateral_active: Option<bool>,
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
        inactive: first
            .centre_id
            .filter(|_| first.centre_active == Some(false))
            .into_iter()
            .chain(first.central_id.filter(|_| first.central_active == Some(false)))
            .chain(rows.iter().filter(|r| r.lateral_active == Some(false)).filter_map(|r| r.lateral_id))
            .collect(),
    })
}

const TERMS_HEAD: &str =
    "SELECT t.credit_allowance_minor AS allowance, t.may_order_from_hq AS may_order_from_hq, \
    t.allocation_priority AS allocation_priority, ";

/// A location by code, as a new request finds it (see [`station_by_code`]).
pub struct StationRead {
    pub row: LocationRow,
    /// the running outstanding value as last committed
    pub outstanding: i64,
    /// whether the station has open loan lines (only then can some be overdue)
    pub open_loans: bool,
    /// whether any webhook subscription is active (any change of that changes the revision:
    /// migration `000057`)
    pub subscribed: bool,
    /// the master data's revision (migration `000017`): [`station_terms_full`] read at the same
    /// revision still holds
    pub revision: i64,
    /// the version of the user asked about, when active (see [`station_by_code`])
    pub asker_version: Option<i64>,
}

/// A location by code, with its running outstanding value as last committed (read without a
/// lock: a new request's booking checks the allowance again, see `outstanding`), whether it has
/// open loans, and the master data's revision. One statement of one table: its terms, a join
/// of six, are read only when the revision says that the copy kept from before is stale (that
/// join in the locking statement cost PostgreSQL about 0.09 ms a request: BENCHMARKS.md).
pub fn station_by_code(
    conn: &mut DbConn,
    code: &str,
    asker: Option<i64>,
) -> QueryResult<Option<StationRead>> {
    use diesel::sql_types::{BigInt, Nullable, Text};
    let code = crate::network::rules::canonical_code(code);
    let pg = matches!(conn, DbConn::Pg(_));
    let text = format!(
        "SELECT l.id, l.code, l.name, l.kind, l.parent_id, l.path, l.region, l.city, l.address, \
         l.tier, l.lead_time_days, l.active, \
         (SELECT {} FROM station_values v WHERE v.id = l.id) AS outstanding_minor, \
         EXISTS ({}) AS open_loans, \
         EXISTS (SELECT 1 FROM webhook_subscriptions ws WHERE ws.active) AS subscribed, \
         (SELECT r.revision FROM master_revision r WHERE r.id = 1) AS revision, \
         (SELECT u.version FROM users u WHERE u.id = {} AND u.active) AS asker_version \
         FROM locations l WHERE l.code = {}",
        crate::station_value!("v"),
        crate::loans::store::open_line_ids_sql("l.id"),
        if pg { "$2" } else { "?" },
        if pg { "$1" } else { "?" },
    );
    let rows: Vec<StationSqlRow> = match conn {
        // PostgreSQL numbers its placeholders; SQLite binds in the order they appear
        DbConn::Pg(c) => diesel::sql_query(&text)
            .bind::<Text, _>(code.as_str())
            .bind::<Nullable<BigInt>, _>(asker)
            .cached()
            .load(c)?,
        DbConn::Sqlite(c) => diesel::sql_query(&text)
            .bind::<Nullable<BigInt>, _>(asker)
            .bind::<Text, _>(code.as_str())
            .cached()
            .load(c)?,
    };
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
    Ok(Some(StationRead {
        row,
        outstanding: r.outstanding_minor,
        open_loans: r.open_loans,
        subscribed: r.subscribed,
        revision: r.revision,
        asker_version: r.asker_version,
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

/// The tier terms of a station: (credit allowance, may order from HQ, allocation priority).
pub fn station_terms(conn: &mut DbConn, station_id: i64) -> QueryResult<(i64, bool, i32)> {
    locations::table
        .inner_join(tiers::table.on(locations::tier.eq(tiers::tier.nullable())))
        .filter(locations::id.eq(station_id))
        .select((tiers::credit_allowance_minor, tiers::may_order_from_hq, tiers::allocation_priority))
        .first(conn)
}
