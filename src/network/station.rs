//! Stations as other domains need them while they write: the lateral lanes between regional
//! centres. A network concept, used by shipping and requests alike. (A station's writers meet on
//! its row only at the end of their transactions: see `outstanding`.)

use diesel::prelude::*;

use crate::db::schema::lateral_lanes;
use crate::db::DbConn;

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

/// Days of the lateral lane by which `neighbour_id` supplies `centre_id`, if configured.
pub fn lateral_days(conn: &mut DbConn, centre_id: i64, neighbour_id: i64) -> QueryResult<Option<i32>> {
    lateral_lanes::table
        .find((centre_id, neighbour_id))
        .select(lateral_lanes::lead_time_days)
        .first(conn)
        .optional()
}

/// The station a list filter names (`?station=`): one the scope covers, else 404 "station
/// CODE not found". A code of another kind, a centre's among them, names no station, so a list
/// filtered on it is not an empty page that would say the station has nothing.
pub fn filtered_on(
    conn: &mut DbConn,
    code: &str,
    scope: &crate::auth::Scope,
) -> Result<super::store::LocationRow, crate::error::AppError> {
    super::store::by_code(conn, code)?
        .filter(|r| r.kind == super::rules::LocationKind::Station && scope.covers(&r.path))
        .ok_or_else(|| crate::error::AppError::not_found(format!("station {code} not found")))
}
