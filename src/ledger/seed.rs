//! Demo data of the ledger: lateral supply lanes (`seed/lateral_lanes.csv`) and opening stock
//! received from `SUPPLIER` at the central warehouse and the regional centres, through the
//! ledger like any receipt.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Deserialize;

use super::rules::Reason;
use super::store::{self, Move};
use crate::catalogue::rules::Lifecycle;
use crate::db::schema::{locations, parts};
use crate::db::DbConn;
use crate::error::AppError;
use crate::network::rules::LocationKind;

const LANES: &str = include_str!("../../seed/lateral_lanes.csv");

#[derive(Deserialize)]
struct Lane {
    centre: String,
    neighbour: String,
    priority: i32,
    lead_time_days: i32,
}

/// Loads the lanes and the opening stock; returns the number of movements posted.
pub fn load(conn: &mut DbConn, now: DateTime<Utc>) -> Result<usize, AppError> {
    let bad = |e: String| AppError::internal(anyhow::anyhow!("seed: {e}"));
    for lane in csv::Reader::from_reader(LANES.as_bytes()).deserialize::<Lane>() {
        let lane = lane.map_err(|e| bad(e.to_string()))?;
        let id = |conn: &mut DbConn, code: &str| {
            store::place_by_code(conn, code)?
                .map(|p| p.id)
                .ok_or_else(|| bad(format!("lane location {code}")))
        };
        let (c, n) = (id(conn, &lane.centre)?, id(conn, &lane.neighbour)?);
        crate::network::station::insert_lateral(conn, c, n, lane.priority, lane.lead_time_days)?;
    }
    let supplier = store::virtual_place(conn, LocationKind::Supplier)?;
    let mut stocking: Vec<(i64, String, String)> = locations::table
        .filter(locations::kind.eq_any(["central_warehouse", "regional_centre"]))
        .select((locations::id, locations::code, locations::kind))
        .order(locations::code.asc())
        .load(conn)?;
    stocking.sort_by_key(|(_, _, kind)| kind != "central_warehouse");
    let active: Vec<(i64, String, bool)> = parts::table
        .filter(parts::lifecycle.ne(Lifecycle::Obsolete.as_str()))
        .select((parts::id, parts::code, parts::serialized))
        .order(parts::code.asc())
        .load(conn)?;
    let mut posted = 0;
    for (j, (loc_id, loc_code, kind)) in stocking.iter().enumerate() {
        let place = store::place_by_id(conn, *loc_id)?;
        for (i, (part_id, code, serialized)) in active.iter().enumerate() {
            // the warehouse holds everything; each centre a third of the unserialized range
            let qty = if kind == "central_warehouse" {
                30
            } else if !serialized && (i + j) % 3 == 0 {
                2 + ((i * 7 + j * 13) % 5) as i64
            } else {
                0
            };
            if qty == 0 {
                continue;
            }
            let serials: Vec<String> = if *serialized {
                (1..=qty).map(|n| format!("{}-{loc_code}-{n:04}", code.replace('-', ""))).collect()
            } else {
                Vec::new()
            };
            store::post(
                conn,
                &Move {
                    part_id: *part_id,
                    qty,
                    from: &supplier,
                    to: &place,
                    reason: Reason::PurchaseReceipt,
                    reference: Some("opening stock"),
                    actor: Some("seed"),
                    at: now.naive_utc(),
                    serials: &serials,
                    from_reserved: false,
                    ticket_id: None,
                },
            )?;
            posted += 1;
        }
    }
    Ok(posted)
}
