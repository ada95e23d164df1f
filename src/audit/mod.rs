//! `echelon audit`: checks the invariants the data must always keep and lists every breach.
//! The network's shape is checked here; the stock ledger adds its own checks as it lands.

pub mod api;
pub mod archive;
mod states;

use diesel::prelude::*;

use crate::db::schema::{locations, station_tier_history, users};
use crate::db::DbConn;
use crate::network::rules::{LocationKind, Tier};
use crate::network::store::LocationRow;

/// Every breach found, in words; empty when all is well. The state columns are checked first:
/// a row with an unknown state cannot be read by the checks after them, which then stop.
pub fn run(conn: &mut DbConn) -> QueryResult<Vec<String>> {
    let mut breaches = states::breaches(conn)?;
    match invariants(conn) {
        Ok(found) => breaches.extend(found),
        Err(e) if !breaches.is_empty() => breaches.push(format!("the other checks could not run: {e}")),
        Err(e) => return Err(e),
    }
    Ok(breaches)
}

/// The invariants across the domains, on data whose states are known.
fn invariants(conn: &mut DbConn) -> QueryResult<Vec<String>> {
    let mut breaches = Vec::new();
    let rows: Vec<LocationRow> = locations::table.select(LocationRow::as_select()).load(conn)?;
    let by_id: std::collections::HashMap<i64, &LocationRow> = rows.iter().map(|r| (r.id, r)).collect();
    let centrals = rows.iter().filter(|r| r.kind == LocationKind::CentralWarehouse).count();
    if centrals > 1 {
        breaches.push(format!("{centrals} central warehouses; there must be one"));
    }
    for r in &rows {
        // a kind the code does not know fails the read above; `states` names it
        let kind = r.kind;
        let parent = r.parent_id.and_then(|p| by_id.get(&p));
        let parent_kind = parent.map(|p| p.kind);
        if !kind.may_hang_under(parent_kind) {
            breaches.push(format!(
                "location {} ({}) hangs under {:?}",
                r.code,
                r.kind,
                parent.map(|p| &p.code)
            ));
        }
        let want = match parent {
            Some(p) => format!("{}{}/", p.path, r.id),
            None => format!("/{}/", r.id),
        };
        if r.path != want {
            breaches
                .push(format!("location {} has path {} but its place in the tree is {want}", r.code, r.path));
        }
        if (kind == LocationKind::Station) != r.tier.is_some() {
            breaches.push(format!(
                "location {} ({}) has tier {:?}",
                r.code,
                r.kind,
                r.tier.map(Tier::as_str)
            ));
        }
    }
    // The current tier of a station is the latest entry of its history in force today
    // (a regrading dated ahead takes effect on its date).
    let today = chrono::Utc::now().date_naive();
    let history: Vec<(i64, Tier, chrono::NaiveDate, i64)> = station_tier_history::table
        .filter(station_tier_history::effective_from.le(today))
        .select((
            station_tier_history::location_id,
            station_tier_history::tier,
            station_tier_history::effective_from,
            station_tier_history::id,
        ))
        .load(conn)?;
    for r in rows.iter().filter(|r| r.kind == LocationKind::Station) {
        let latest = history.iter().filter(|h| h.0 == r.id).max_by_key(|h| (h.2, h.3)).map(|h| h.1);
        if latest != r.tier {
            breaches.push(format!(
                "station {} has tier {:?} but its history says {:?}",
                r.code,
                r.tier.map(Tier::as_str),
                latest.map(Tier::as_str)
            ));
        }
    }
    let scoped: Vec<(String, String, Option<i64>)> =
        users::table.select((users::username, users::role, users::location_id)).load(conn)?;
    for (name, role, loc) in scoped {
        let Ok(role) = role.parse::<crate::auth::Role>() else {
            breaches.push(format!("user {name} has unknown role {role:?}"));
            continue;
        };
        if let Some(kinds) = role.required_location_kinds() {
            let ok = loc.and_then(|l| by_id.get(&l)).is_some_and(|l| kinds.contains(&l.kind.as_str()));
            if !ok {
                breaches.push(format!("user {name} ({role}) is not attached to a {}", kinds.join(" or ")));
            }
        }
    }
    breaches.extend(crate::catalogue::audit(conn)?);
    breaches.extend(crate::ledger::audit::breaches(conn)?);
    breaches.extend(crate::outstanding::breaches(conn)?);
    breaches.extend(crate::tickets::audit(conn)?);
    breaches.extend(crate::rollup::breaches(conn)?);
    breaches.extend(crate::events::breaches(conn)?);
    Ok(breaches)
}
