//! The demo catalogue (spec section 17) from `seed/` (written by `seed/make_catalogue.py`,
//! embedded in the binary): parts (a canonical import file, read by the same parser as
//! `POST /parts/import`), product models, compatibility, units sold with inspection records.
//! Dates in the files are days before the load, so the demo always has three years of sales.

use std::collections::HashMap;

use chrono::{DateTime, Days, NaiveDate, Utc};
use serde::Deserialize;

use super::store::models::{self, NewModel};
use super::store::parts::{self, NewPart, PartChanges};
use super::store::units::{self, NewComponent, NewUnit};
use super::transfer;
use crate::db::DbConn;
use crate::error::AppError;

pub const PARTS: &str = include_str!("../../seed/parts.csv");
const MODELS: &str = include_str!("../../seed/models.csv");
const COMPATIBILITY: &str = include_str!("../../seed/compatibility.csv");
const UNITS: &str = include_str!("../../seed/units.csv");
const COMPONENTS: &str = include_str!("../../seed/unit_components.csv");

#[derive(Deserialize)]
struct ModelLine {
    code: String,
    line: String,
    name: String,
    launch_days_ago: u64,
    end_of_production_days_ago: Option<u64>,
    warranty_months: i32,
    /// `CMP:120;PCB:36`
    component_warranty: String,
}

#[derive(Deserialize)]
struct CompatLine {
    model: String,
    part_code: String,
    qty_per_unit: i32,
}

#[derive(Deserialize)]
struct UnitLine {
    serial: String,
    model: String,
    region: String,
    shipped_days_ago: u64,
}

#[derive(Deserialize)]
struct ComponentLine {
    unit_serial: String,
    family: String,
    part_code: String,
    serial: Option<String>,
    production_days_before_ship: Option<u64>,
}

/// What the demo catalogue holds.
#[derive(Debug, Default, Clone, Copy)]
pub struct CatalogueSummary {
    pub parts: usize,
    pub models: usize,
    pub units: usize,
}

fn read<T: for<'de> Deserialize<'de>>(name: &str, text: &str) -> Result<Vec<T>, AppError> {
    csv::Reader::from_reader(text.as_bytes())
        .deserialize()
        .enumerate()
        .map(|(i, r)| r.map_err(|e| bad(format!("seed/{name} line {}: {e}", i + 2))))
        .collect()
}

fn bad(message: String) -> AppError {
    AppError::internal(anyhow::anyhow!(message))
}

fn days_before(day: NaiveDate, days: u64) -> Result<NaiveDate, AppError> {
    day.checked_sub_days(Days::new(days)).ok_or_else(|| bad(format!("seed: {days} days before {day}")))
}

fn lookup(map: &HashMap<String, i64>, key: &str, what: &str) -> Result<i64, AppError> {
    map.get(key).copied().ok_or_else(|| bad(format!("seed: unknown {what} {key}")))
}

/// Loads the demo catalogue inside the caller's transaction, in multi-row inserts.
pub fn load(conn: &mut DbConn, now: DateTime<Utc>) -> Result<CatalogueSummary, AppError> {
    let at = now.naive_utc();
    let today = now.date_naive();
    let rows = transfer::parse(PARTS.as_bytes()).map_err(|e| bad(format!("seed/parts.csv: {e:?}")))?;
    let new: Vec<NewPart> = rows
        .iter()
        .map(|r| NewPart {
            code: r.record.code.to_string(),
            line: r.record.code.line().to_string(),
            family: r.record.code.family().to_string(),
            seq: r.record.code.seq() as i32,
            name: r.record.name.clone(),
            unit_of_measure: r.record.unit_of_measure.clone(),
            unit_cost_minor: r.record.unit_cost.0,
            sale_price_minor: r.record.sale_price.0,
            serialized: r.record.serialized,
            core_returnable: r.record.core_returnable,
            weight_grams: r.record.weight_grams,
            lifecycle: r.record.lifecycle.as_str().to_string(),
            superseded_by: None,
            interchangeability: None,
            created_at: at,
            updated_at: at,
        })
        .collect();
    let part_ids: HashMap<String, i64> =
        parts::insert_many(conn, &new)?.into_iter().map(|(id, c)| (c, id)).collect();
    for r in &rows {
        if let (Some(s), Some(i)) = (&r.record.superseded_by, r.record.interchangeability) {
            let changes = PartChanges {
                superseded_by: Some(Some(lookup(&part_ids, s.as_str(), "successor")?)),
                interchangeability: Some(Some(i.as_str().to_string())),
                ..Default::default()
            };
            parts::update(conn, lookup(&part_ids, r.record.code.as_str(), "part")?, &changes)?;
        }
    }

    let model_lines: Vec<ModelLine> = read("models.csv", MODELS)?;
    let mut new_models = Vec::new();
    for m in &model_lines {
        new_models.push(NewModel {
            code: m.code.clone(),
            line: m.line.clone(),
            name: m.name.clone(),
            launch_date: days_before(today, m.launch_days_ago)?,
            end_of_production: m.end_of_production_days_ago.map(|d| days_before(today, d)).transpose()?,
            warranty_months: m.warranty_months,
            created_at: at,
        });
    }
    let model_ids: HashMap<String, i64> =
        models::insert_many(conn, &new_models)?.into_iter().map(|(id, c)| (c, id)).collect();
    let mut terms = Vec::new();
    for m in &model_lines {
        for term in m.component_warranty.split(';').filter(|t| !t.is_empty()) {
            let (family, months) =
                term.split_once(':').ok_or_else(|| bad(format!("seed: warranty term {term}")))?;
            let months = months.parse().map_err(|_| bad(format!("seed: warranty term {term}")))?;
            terms.push((lookup(&model_ids, &m.code, "model")?, family.to_string(), months));
        }
    }
    models::insert_warranties(conn, &terms)?;

    let mut compat = Vec::new();
    for c in read::<CompatLine>("compatibility.csv", COMPATIBILITY)? {
        compat.push((
            lookup(&model_ids, &c.model, "model")?,
            lookup(&part_ids, &c.part_code, "part")?,
            c.qty_per_unit,
        ));
    }
    models::insert_compat_many(conn, &compat)?;

    let mut new_units = Vec::new();
    let mut ship_dates = HashMap::new();
    for u in read::<UnitLine>("units.csv", UNITS)? {
        let ship_date = days_before(today, u.shipped_days_ago)?;
        ship_dates.insert(u.serial.clone(), ship_date);
        new_units.push(NewUnit {
            serial: u.serial,
            model_id: lookup(&model_ids, &u.model, "model")?,
            ship_date,
            region: u.region,
            created_at: at,
        });
    }
    let unit_ids: HashMap<String, i64> =
        units::insert_many(conn, &new_units)?.into_iter().map(|(id, s)| (s, id)).collect();
    let mut components = Vec::new();
    for c in read::<ComponentLine>("unit_components.csv", COMPONENTS)? {
        let ship_date = ship_dates
            .get(&c.unit_serial)
            .copied()
            .ok_or_else(|| bad(format!("seed: unit {}", c.unit_serial)))?;
        components.push(NewComponent {
            unit_id: lookup(&unit_ids, &c.unit_serial, "unit")?,
            family: c.family,
            part_id: Some(lookup(&part_ids, &c.part_code, "part")?),
            serial: c.serial.filter(|s| !s.is_empty()),
            production_date: c.production_days_before_ship.map(|d| days_before(ship_date, d)).transpose()?,
        });
    }
    units::insert_components(conn, &components)?;
    Ok(CatalogueSummary { parts: part_ids.len(), models: model_ids.len(), units: unit_ids.len() })
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;
    use crate::catalogue::codes::PartCode;
    use crate::catalogue::rules::{self, Lifecycle};

    #[test]
    fn every_seed_code_validates_and_the_file_is_canonical() {
        let rows = transfer::parse(PARTS.as_bytes()).expect("seed/parts.csv imports cleanly");
        assert!(rows.len() >= 200, "a few hundred parts, got {}", rows.len());
        for r in &rows {
            assert_eq!(PartCode::parse(r.record.code.as_str()).as_ref(), Ok(&r.record.code));
        }
        let records: Vec<_> = rows.into_iter().map(|r| r.record).collect();
        assert_eq!(transfer::write(&records), PARTS, "seed/parts.csv is in canonical form");
        for (name, text, column) in [("compatibility", COMPATIBILITY, 1), ("unit_components", COMPONENTS, 2)]
        {
            for line in text.lines().skip(1) {
                let code = line.split(',').nth(column).unwrap();
                assert!(PartCode::parse(code).is_ok(), "{name}: {code}");
            }
        }
    }

    #[test]
    fn dropping_any_letter_of_any_seed_code_suggests_that_code_first() {
        let rows = transfer::parse(PARTS.as_bytes()).unwrap();
        let all: Vec<(String, Lifecycle)> =
            rows.iter().map(|r| (r.record.code.to_string(), r.record.lifecycle)).collect();
        let by_model = {
            let mut m: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
            for line in COMPATIBILITY.lines().skip(1) {
                let mut f = line.split(',');
                m.entry(f.next().unwrap()).or_default().insert(f.next().unwrap());
            }
            m
        };
        for (code, _) in &all {
            for (i, c) in code.char_indices().filter(|(_, c)| c.is_ascii_alphanumeric()) {
                let typo = format!("{}{}", &code[..i], &code[i + c.len_utf8()..]);
                let got = rules::rank_suggestions(&typo, all.iter().map(|(c, l)| (c.as_str(), *l)));
                assert_eq!(got.first(), Some(code), "{typo}: {got:?}");
            }
        }
        // within a model's parts too
        for (model, fits) in &by_model {
            for code in fits {
                let typo = format!("{}{}", &code[..4], &code[5..]);
                let cands =
                    all.iter().filter(|(c, _)| fits.contains(c.as_str())).map(|(c, l)| (c.as_str(), *l));
                assert_eq!(
                    rules::rank_suggestions(&typo, cands).first().map(String::as_str),
                    Some(*code),
                    "{model} {typo}"
                );
            }
        }
    }
}
