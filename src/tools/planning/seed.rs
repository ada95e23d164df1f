//! `echelon seed generate`: writes a generated network (`generate::Synth`) into an empty
//! database in multi-row INSERTs on the concrete connection (`echelon::on_backend!`), inside one
//! transaction: tiers, the location tree with the ledger's virtual locations, lateral lanes,
//! models, parts, compatibility with failure rates, supplier lead times, product units sold
//! (the installed base), 26 weeks of demand history (one row per part, station and week with
//! demand: `demand_history`, far fewer rows than one movement per unit) and the opening stock
//! (`purchase_receipt` movements from `SUPPLIER` with their balances, as the ledger keeps them).
//! Generated parts are not serialized.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Days, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::generate::{Synth, HISTORY_WEEKS};
use crate::tools::progress::Rows;
use echelon::catalogue::store::models::{self, NewModel};
use echelon::catalogue::store::parts::{self, NewPart};
use echelon::catalogue::store::units::NewUnit;
use echelon::db::schema::{
    demand_history, failure_rates, locations, part_supply_terms, product_units, station_tier_history,
    stock_balances, stock_movements,
};
use echelon::db::DbConn;
use echelon::error::AppError;
use echelon::network::rules::Tier;
use echelon::network::store::{self as network, TierRow};
use echelon::planning::inputs::week_start;
use echelon::planning::net::Net;
use echelon::planning::store::CHUNK;
use echelon::tickets::rules::JobType;

/// What was written.
#[derive(Debug, Default)]
pub struct Written {
    pub locations: usize,
    pub parts: usize,
    pub units: usize,
    pub history_rows: usize,
    pub opening_movements: usize,
}

const VIRTUAL: [(&str, &str, &str); 7] = [
    ("SUPPLIER", "Suppliers (all)", "supplier"),
    ("IN-TRANSIT", "Goods in transit", "in_transit"),
    ("CUSTOMER", "Installed in customers' products", "customer"),
    ("DEFECTIVE", "Old parts awaiting inspection", "defective"),
    ("QUARANTINE", "Damaged goods awaiting a claim", "quarantine"),
    ("SCRAP", "Scrapped", "scrap"),
    ("ADJUSTMENT", "Stock-count corrections", "adjustment"),
];

/// Runs `f` on `rows` in chunks of `CHUNK` (a multi-row INSERT each), counting them on the
/// command's progress bar.
pub(super) fn chunks<T>(
    conn: &mut DbConn,
    rows: &[T],
    mut f: impl FnMut(&mut DbConn, &[T]) -> QueryResult<usize>,
) -> QueryResult<()> {
    for c in rows.chunks(CHUNK) {
        f(conn, c)?;
        crate::tools::progress::rows(c.len());
    }
    Ok(())
}

/// About how many rows `write_synth` writes, for the progress bar's total.
pub fn rows_expected(s: &Synth) -> usize {
    let units: usize = s.installed.iter().map(|&(_, _, n)| n as usize).sum();
    let history: usize = s.history.iter().map(Vec::len).sum();
    s.net.nodes.len() * 2 + s.part_meta.len() * 2 + s.compat.len() * 2 + units + history + s.opening.len() * 2
}

/// Writes the network; the caller checks the database is empty in the same transaction.
/// Section by section, in this order (the ids of each section's rows are the next's input).
pub fn write_synth(
    conn: &mut DbConn,
    s: &Synth,
    now: DateTime<Utc>,
    progress: &Rows,
) -> Result<Written, AppError> {
    let at = now.naive_utc();
    let today = now.date_naive();
    let net = &s.net;
    write_tiers(conn, at)?;
    let ids = write_locations(conn, net, at)?;
    write_tier_history(conn, net, &ids, today, at)?;
    write_lanes(conn, net, &ids)?;
    progress.stage("locations written");
    let model_id = write_models(conn, s, today, at)?;
    let part_id = write_parts(conn, s, at)?;
    write_compatibility(conn, s, &model_id, &part_id)?;
    write_supply_terms(conn, net, &part_id)?;
    progress.stage("catalogue written");
    let units = write_units(conn, s, &model_id, today, at)?;
    progress.stage("units sold written");
    let history_rows = write_demand_history(conn, s, &part_id, &ids, today)?;
    progress.stage("demand history written");
    let opening_movements = write_opening_stock(conn, s, &part_id, &ids, at)?;
    // written without the ledger's flows: the stations' outstanding values from the balances
    echelon::outstanding::recompute_all(conn)?;
    // and the KPI rollup of the stock value
    echelon::rollup::stock_loaded(conn)?;
    progress.stage("opening stock written");
    Ok(Written {
        locations: net.nodes.len() + VIRTUAL.len(),
        parts: part_id.len(),
        units,
        history_rows,
        opening_movements,
    })
}

/// The four station tiers with their repair rates.
fn write_tiers(conn: &mut DbConn, at: NaiveDateTime) -> Result<(), AppError> {
    for (tier, allowance, hq, prio, days) in [
        (Tier::A, 20_000_000, true, 1, 15),
        (Tier::B, 8_000_000, true, 2, 15),
        (Tier::C, 3_000_000, false, 3, 10),
        (Tier::D, 1_000_000, false, 4, 7),
    ] {
        let row = TierRow {
            tier,
            credit_allowance_minor: allowance,
            may_order_from_hq: hq,
            allocation_priority: prio,
            core_return_days: days,
            updated_at: at,
        };
        network::insert_tier(conn, &row, &labour_rates(tier))?;
    }
    Ok(())
}

/// A tier's labour rate for every job type a ticket can have, the demo's (seed/tiers.csv), so
/// that no ticket of a generated network settles at 0.00 for want of a rate.
pub fn labour_rates(tier: Tier) -> BTreeMap<String, i64> {
    let [repair, install, maintenance, inspection] = match tier {
        Tier::A => [12_000, 8_000, 6_000, 4_000],
        Tier::B => [10_000, 7_000, 5_000, 3_500],
        Tier::C => [8_000, 6_000, 4_000, 3_000],
        Tier::D => [6_000, 5_000, 3_000, 2_500],
    };
    JobType::ALL
        .iter()
        .map(|job| {
            let rate = match job {
                JobType::Repair => repair,
                JobType::Install => install,
                JobType::Maintenance => maintenance,
                JobType::Inspection => inspection,
            };
            (job.as_str().to_string(), rate)
        })
        .collect()
}

/// The tree, level by level: a multi-row INSERT per level, then each path from its parent's;
/// then the ledger's virtual locations. Returns the database id of every node.
fn write_locations(conn: &mut DbConn, net: &Net, at: NaiveDateTime) -> Result<Vec<i64>, AppError> {
    let mut ids = vec![0i64; net.nodes.len()];
    let mut paths = vec![String::new(); net.nodes.len()];
    let levels =
        [vec![0u32], net.centre_nodes().collect::<Vec<_>>(), net.station_nodes().collect::<Vec<_>>()];
    let kinds = ["central_warehouse", "regional_centre", "station"];
    let centres = super::generate::CENTRES;
    for (level, nodes) in levels.iter().enumerate() {
        for chunk in nodes.chunks(CHUNK) {
            let rows: Vec<_> = chunk
                .iter()
                .map(|&n| {
                    let node = &net.nodes[n as usize];
                    let city = match level {
                        0 => "Qingdao",
                        1 => centres[n as usize - 1].1,
                        _ => centres[node.parent.unwrap_or(1) as usize - 1].1,
                    };
                    (
                        locations::code.eq(node.code.clone()),
                        locations::name.eq(format!(
                            "{city} {}",
                            ["central warehouse", "regional centre", "service station"][level]
                        )),
                        locations::kind.eq(kinds[level]),
                        locations::parent_id.eq(node.parent.map(|p| ids[p as usize])),
                        locations::path.eq("/"),
                        locations::region.eq(net.regions.get(node.region as usize).cloned()),
                        locations::city.eq(Some(city.to_string())),
                        locations::tier
                            .eq((level == 2).then(|| ["A", "B", "C", "D"][node.tier as usize].to_string())),
                        locations::lead_time_days.eq((level > 0).then_some(node.lead_days as i32)),
                        locations::active.eq(true),
                        locations::created_at.eq(at),
                    )
                })
                .collect();
            let got: Vec<(i64, String)> =
                echelon::on_backend!(conn, |c| diesel::insert_into(locations::table)
                    .values(&rows)
                    .returning((locations::id, locations::code))
                    .get_results(c))?;
            let by_code: HashMap<String, i64> = got.into_iter().map(|(id, code)| (code, id)).collect();
            for &n in chunk {
                let node = &net.nodes[n as usize];
                ids[n as usize] = by_code[&node.code];
                let parent_path =
                    node.parent.map(|p| paths[p as usize].clone()).unwrap_or_else(|| "/".into());
                paths[n as usize] = format!("{parent_path}{}/", ids[n as usize]);
                diesel::update(locations::table.find(ids[n as usize]))
                    .set(locations::path.eq(&paths[n as usize]))
                    .execute(conn)?;
            }
        }
    }
    for (code, name, kind) in VIRTUAL {
        let new = network::NewLocation {
            code,
            name,
            kind,
            parent_id: None,
            path: "/",
            region: None,
            city: None,
            address: None,
            tier: None,
            lead_time_days: None,
            active: true,
            created_at: at,
        };
        network::insert(conn, &new, None)?;
    }
    Ok(ids)
}

/// Each station's tier, in force from today.
fn write_tier_history(
    conn: &mut DbConn,
    net: &Net,
    ids: &[i64],
    today: NaiveDate,
    at: NaiveDateTime,
) -> Result<(), AppError> {
    let history: Vec<_> = net
        .station_nodes()
        .map(|n| {
            (
                station_tier_history::location_id.eq(ids[n as usize]),
                station_tier_history::tier.eq(Tier::ALL[net.nodes[n as usize].tier as usize].as_str()),
                station_tier_history::effective_from.eq(today),
                station_tier_history::reason.eq(Some("generated network")),
                station_tier_history::changed_by.eq(Some("seed")),
                station_tier_history::changed_at.eq(at),
            )
        })
        .collect();
    chunks(conn, &history, |conn, c| {
        echelon::on_backend!(conn, |x| diesel::insert_into(station_tier_history::table).values(c).execute(x))
    })?;
    Ok(())
}

/// The centres' lateral lanes, in each centre's order of preference.
fn write_lanes(conn: &mut DbConn, net: &Net, ids: &[i64]) -> Result<(), AppError> {
    for (c, lanes) in net.lanes.iter().enumerate() {
        for (i, &(other, lead)) in lanes.iter().enumerate() {
            echelon::network::station::insert_lateral(
                conn,
                ids[c + 1],
                ids[other as usize],
                i as i32 + 1,
                lead as i32,
            )?;
        }
    }
    Ok(())
}

/// The product models; returns their ids in the generator's order.
fn write_models(
    conn: &mut DbConn,
    s: &Synth,
    today: NaiveDate,
    at: NaiveDateTime,
) -> Result<Vec<i64>, AppError> {
    let new_models: Vec<NewModel> = s
        .models
        .iter()
        .map(|m| NewModel {
            code: m.code.clone(),
            line: m.line.to_string(),
            name: m.name.clone(),
            launch_date: today - Days::new(2000),
            end_of_production: None,
            warranty_months: 12,
            created_at: at,
        })
        .collect();
    let model_ids: HashMap<String, i64> =
        models::insert_many(conn, &new_models)?.into_iter().map(|(id, c)| (c, id)).collect();
    Ok(s.models.iter().map(|m| model_ids[&m.code]).collect())
}

/// The parts (not serialized); returns their ids in the generator's order.
fn write_parts(conn: &mut DbConn, s: &Synth, at: NaiveDateTime) -> Result<Vec<i64>, AppError> {
    let new_parts: Vec<NewPart> = s
        .part_meta
        .iter()
        .zip(&s.net.parts)
        .map(|(m, p)| NewPart {
            code: m.code.as_str().to_string(),
            line: m.code.line().to_string(),
            family: m.code.family().to_string(),
            seq: m.code.seq() as i32,
            name: m.name.clone(),
            unit_of_measure: "pcs".into(),
            unit_cost_minor: p.unit_cost_minor,
            sale_price_minor: p.unit_cost_minor * 8 / 5,
            serialized: false,
            core_returnable: false,
            weight_grams: m.weight_grams,
            lifecycle: "active".into(),
            superseded_by: None,
            interchangeability: None,
            created_at: at,
            updated_at: at,
        })
        .collect();
    let part_ids: HashMap<String, i64> =
        parts::insert_many(conn, &new_parts)?.into_iter().map(|(id, c)| (c, id)).collect();
    Ok(s.net.parts.iter().map(|p| part_ids[&p.code]).collect())
}

/// Which parts fit which models, and how often each part fails in each model.
fn write_compatibility(
    conn: &mut DbConn,
    s: &Synth,
    model_id: &[i64],
    part_id: &[i64],
) -> Result<(), AppError> {
    let compat: Vec<(i64, i64, i32)> =
        s.compat.iter().map(|&(p, m, q, _)| (model_id[m as usize], part_id[p as usize], q as i32)).collect();
    models::insert_compat_many(conn, &compat)?;
    let rates: Vec<_> = s
        .compat
        .iter()
        .map(|&(p, m, _, ppm)| {
            (
                failure_rates::part_id.eq(part_id[p as usize]),
                failure_rates::model_id.eq(model_id[m as usize]),
                failure_rates::per_million_years.eq(ppm),
            )
        })
        .collect();
    chunks(conn, &rates, |conn, c| {
        echelon::on_backend!(conn, |x| diesel::insert_into(failure_rates::table).values(c).execute(x))
    })?;
    Ok(())
}

/// Each part's supplier lead time.
fn write_supply_terms(conn: &mut DbConn, net: &Net, part_id: &[i64]) -> Result<(), AppError> {
    let terms: Vec<_> = net
        .parts
        .iter()
        .zip(part_id)
        .map(|(p, &id)| {
            (
                part_supply_terms::part_id.eq(id),
                part_supply_terms::supplier_lead_days.eq(p.supplier_lead_days as i32),
            )
        })
        .collect();
    chunks(conn, &terms, |conn, c| {
        echelon::on_backend!(conn, |x| diesel::insert_into(part_supply_terms::table).values(c).execute(x))
    })?;
    Ok(())
}

/// Units sold: the installed base, shipped over the last five years. Returns how many.
fn write_units(
    conn: &mut DbConn,
    s: &Synth,
    model_id: &[i64],
    today: NaiveDate,
    at: NaiveDateTime,
) -> Result<usize, AppError> {
    let mut units = Vec::new();
    for &(m, r, n) in &s.installed {
        for i in 0..n {
            units.push(NewUnit {
                serial: format!("G{:05}R{:02}N{:06}", m + 1, r, i + 1),
                model_id: model_id[m as usize],
                ship_date: today - Days::new(30 + (u64::from(i) * 7919 + u64::from(m) * 104_729) % 1800),
                region: s.net.regions[r as usize].clone(),
                created_at: at,
            });
        }
    }
    chunks(conn, &units, |conn, c| {
        echelon::on_backend!(conn, |x| diesel::insert_into(product_units::table).values(c).execute(x))
    })?;
    Ok(units.len())
}

/// Demand history, one row per part, station and week with demand. Returns how many rows.
fn write_demand_history(
    conn: &mut DbConn,
    s: &Synth,
    part_id: &[i64],
    ids: &[i64],
    today: NaiveDate,
) -> Result<usize, AppError> {
    let start: NaiveDate = week_start(today) + Days::new(7) - Days::new(7 * HISTORY_WEEKS as u64);
    let mut weekly: BTreeMap<(u32, u32, u16), i64> = BTreeMap::new();
    for (p, h) in s.history.iter().enumerate() {
        for &(n, w, q) in h {
            *weekly.entry((p as u32, n, w)).or_default() += q as i64;
        }
    }
    let rows: Vec<_> = weekly
        .iter()
        .map(|(&(p, n, w), &q)| {
            (
                demand_history::part_id.eq(part_id[p as usize]),
                demand_history::location_id.eq(ids[n as usize]),
                demand_history::week.eq(start + Days::new(7 * w as u64)),
                demand_history::qty.eq(q),
            )
        })
        .collect();
    chunks(conn, &rows, |conn, c| {
        echelon::on_backend!(conn, |x| diesel::insert_into(demand_history::table).values(c).execute(x))
    })?;
    Ok(rows.len())
}

/// The opening stock through the ledger's tables: `purchase_receipt` movements from SUPPLIER
/// and the balances they sum to. Returns how many movements.
fn write_opening_stock(
    conn: &mut DbConn,
    s: &Synth,
    part_id: &[i64],
    ids: &[i64],
    at: NaiveDateTime,
) -> Result<usize, AppError> {
    let supplier =
        echelon::ledger::store::virtual_place(conn, echelon::network::rules::LocationKind::Supplier)?;
    let moves: Vec<_> = s
        .opening
        .iter()
        .map(|&(p, n, q)| {
            (
                stock_movements::part_id.eq(part_id[p as usize]),
                stock_movements::qty.eq(q as i64),
                stock_movements::from_location_id.eq(supplier.id),
                stock_movements::to_location_id.eq(ids[n as usize]),
                stock_movements::reason.eq("purchase_receipt"),
                stock_movements::reference.eq(Some("opening stock")),
                stock_movements::actor.eq(Some("seed")),
                stock_movements::at.eq(at),
            )
        })
        .collect();
    chunks(conn, &moves, |conn, c| {
        echelon::on_backend!(conn, |x| diesel::insert_into(stock_movements::table).values(c).execute(x))
    })?;
    let mut supplied: BTreeMap<u32, i64> = BTreeMap::new();
    let mut balances: Vec<(i64, i64, i64, bool)> = s
        .opening
        .iter()
        .map(|&(p, n, q)| {
            *supplied.entry(p).or_default() += q as i64;
            (part_id[p as usize], ids[n as usize], q as i64, true)
        })
        .collect();
    balances.extend(supplied.iter().map(|(&p, &q)| (part_id[p as usize], supplier.id, -q, false)));
    let rows: Vec<_> = balances
        .iter()
        .map(|&(p, l, q, physical)| {
            (
                stock_balances::part_id.eq(p),
                stock_balances::location_id.eq(l),
                stock_balances::on_hand.eq(q),
                stock_balances::reserved.eq(0i64),
                stock_balances::physical.eq(physical),
            )
        })
        .collect();
    chunks(conn, &rows, |conn, c| {
        echelon::on_backend!(conn, |x| diesel::insert_into(stock_balances::table).values(c).execute(x))
    })?;
    Ok(moves.len())
}
