//! Demo couriers' service areas and standing rate cards (`seed/couriers.csv`,
//! `seed/rate_cards.csv`); the courier users themselves are in `seed/users.csv`.

use diesel::prelude::*;
use serde::Deserialize;

use super::store;
use crate::db::schema::users;
use crate::db::DbConn;
use crate::error::AppError;
use crate::money::Money;

const COURIERS: &str = include_str!("../../seed/couriers.csv");
const RATE_CARDS: &str = include_str!("../../seed/rate_cards.csv");

#[derive(Deserialize)]
struct Courier {
    courier: String,
    regions: String,
}

#[derive(Deserialize)]
struct Card {
    courier: String,
    origin_region: String,
    dest_region: String,
    base: String,
    per_kg: String,
    transit_hours: i32,
}

pub fn load(conn: &mut DbConn) -> Result<(), AppError> {
    let bad = |e: String| AppError::internal(anyhow::anyhow!("seed: {e}"));
    let id_of = |conn: &mut DbConn, name: &str| -> Result<i64, AppError> {
        users::table
            .filter(users::username.eq(name))
            .select(users::id)
            .first(conn)
            .map_err(|_| bad(format!("courier {name}")))
    };
    for c in csv::Reader::from_reader(COURIERS.as_bytes()).deserialize::<Courier>() {
        let c = c.map_err(|e| bad(e.to_string()))?;
        let id = id_of(conn, &c.courier)?;
        for region in c.regions.split(';') {
            store::add_area(conn, id, region.trim())?;
        }
    }
    for c in csv::Reader::from_reader(RATE_CARDS.as_bytes()).deserialize::<Card>() {
        let c = c.map_err(|e| bad(e.to_string()))?;
        let id = id_of(conn, &c.courier)?;
        let money = |s: &str| Money::parse(s).map(|m| m.0).map_err(&bad);
        store::add_rate_card(
            conn,
            id,
            &c.origin_region,
            &c.dest_region,
            money(&c.base)?,
            money(&c.per_kg)?,
            c.transit_hours,
        )?;
    }
    Ok(())
}
