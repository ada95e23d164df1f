//! Stations as other domains need them while they write: the row lock that serialises a
//! station's writers, and the lateral lanes between regional centres. Network concepts, used
//! by the ledger, shipping, loans and requests alike.

use diesel::prelude::*;

use crate::db::schema::{lateral_lanes, locations};
use crate::db::DbConn;

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
