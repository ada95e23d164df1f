//! Product units sold, their inspection records, and the installed base derived from them.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::CHUNK;
use crate::db::schema::{locations, parts, product_models, product_units, unit_components, unit_swaps};
use crate::db::DbConn;
use crate::on_backend;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = product_units)]
pub struct UnitRow {
    pub id: i64,
    pub serial: String,
    pub model_id: i64,
    pub ship_date: NaiveDate,
    pub region: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = product_units)]
pub struct NewUnit {
    pub serial: String,
    pub model_id: i64,
    pub ship_date: NaiveDate,
    pub region: String,
    pub created_at: NaiveDateTime,
}

/// One serialized component fitted at the factory.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = unit_components, treat_none_as_default_value = false)]
pub struct NewComponent {
    pub unit_id: i64,
    pub family: String,
    pub part_id: Option<i64>,
    pub serial: Option<String>,
    pub production_date: Option<NaiveDate>,
}

/// A component as read back, with its part code.
#[derive(Debug, Clone)]
pub struct ComponentRow {
    pub family: String,
    pub part_code: Option<String>,
    pub serial: Option<String>,
    pub production_date: Option<NaiveDate>,
}

#[derive(Debug, Clone, Default)]
pub struct UnitFilter {
    pub model_id: Option<i64>,
    pub line: Option<String>,
    pub region: Option<String>,
}

pub fn by_serial(conn: &mut DbConn, serial: &str) -> QueryResult<Option<UnitRow>> {
    product_units::table
        .filter(product_units::serial.eq(serial))
        .select(UnitRow::as_select())
        .first(conn)
        .optional()
}

/// The unit of a serial as people type it: the stored serial, or the serial in capitals (the
/// form units are recorded in), so `rf00000273` finds RF00000273.
pub fn by_serial_typed(conn: &mut DbConn, serial: &str) -> QueryResult<Option<UnitRow>> {
    match by_serial(conn, serial)? {
        Some(u) => Ok(Some(u)),
        None if serial.bytes().any(|b| b.is_ascii_lowercase()) => {
            by_serial(conn, &serial.to_ascii_uppercase())
        }
        None => Ok(None),
    }
}

/// One page of units in serial order, after `after` (exclusive).
pub fn list(
    conn: &mut DbConn,
    filter: &UnitFilter,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<UnitRow>> {
    let mut q = product_units::table.select(UnitRow::as_select()).into_boxed();
    if let Some(m) = filter.model_id {
        q = q.filter(product_units::model_id.eq(m));
    }
    if let Some(l) = &filter.line {
        q = q.filter(product_units::model_id.eq_any(
            product_models::table.filter(product_models::line.eq(l.clone())).select(product_models::id),
        ));
    }
    if let Some(r) = &filter.region {
        q = q.filter(product_units::region.eq(r.clone()));
    }
    if let Some(a) = after {
        q = q.filter(product_units::serial.gt(a.to_string()));
    }
    q.order(product_units::serial.asc()).limit(limit).load(conn)
}

/// Inserts units in multi-row statements; returns (id, serial) of each.
pub fn insert_many(conn: &mut DbConn, rows: &[NewUnit]) -> QueryResult<Vec<(i64, String)>> {
    let mut out = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(CHUNK) {
        let ids: Vec<(i64, String)> = on_backend!(conn, |c| diesel::insert_into(product_units::table)
            .values(chunk)
            .returning((product_units::id, product_units::serial))
            .get_results(c)?);
        out.extend(ids);
    }
    Ok(out)
}

pub fn insert_components(conn: &mut DbConn, rows: &[NewComponent]) -> QueryResult<()> {
    for chunk in rows.chunks(CHUNK) {
        on_backend!(conn, |c| diesel::insert_into(unit_components::table).values(chunk).execute(c)?);
    }
    Ok(())
}

/// unit id, family, part code, serial, production date
type ComponentLine = (i64, String, Option<String>, Option<String>, Option<NaiveDate>);

/// The inspection records of the given units, by unit id.
pub fn components_of(conn: &mut DbConn, unit_ids: &[i64]) -> QueryResult<BTreeMap<i64, Vec<ComponentRow>>> {
    let mut out: BTreeMap<i64, Vec<ComponentRow>> = BTreeMap::new();
    for chunk in unit_ids.chunks(CHUNK) {
        let rows: Vec<ComponentLine> = unit_components::table
            .left_join(parts::table)
            .filter(unit_components::unit_id.eq_any(chunk))
            .select((
                unit_components::unit_id,
                unit_components::family,
                parts::code.nullable(),
                unit_components::serial,
                unit_components::production_date,
            ))
            .order(unit_components::id.asc())
            .load(conn)?;
        for (unit, family, part_code, serial, production_date) in rows {
            out.entry(unit).or_default().push(ComponentRow { family, part_code, serial, production_date });
        }
    }
    Ok(out)
}

/// The regions of the network (where units can be sold and serviced).
pub fn regions(conn: &mut DbConn) -> QueryResult<Vec<String>> {
    let rows: Vec<Option<String>> = locations::table
        .filter(locations::region.is_not_null())
        .select(locations::region)
        .distinct()
        .order(locations::region.asc())
        .load(conn)?;
    Ok(rows.into_iter().flatten().collect())
}

/// Units in service of one model in one region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = json!({"model": "BCD-539WT", "region": "Zhejiang", "units": 42}))]
pub struct InstalledBase {
    pub model: String,
    pub region: String,
    pub units: i64,
}

/// The installed base: units shipped (on or before `on`) per model per region, optionally for
/// one model code and/or one region, in model then region order. Demand planning uses it.
pub fn installed_base(
    conn: &mut DbConn,
    model: Option<&str>,
    region: Option<&str>,
    on: NaiveDate,
) -> QueryResult<Vec<InstalledBase>> {
    let model_id = match model {
        Some(code) => match super::models::by_code(conn, code)? {
            Some(m) => Some(m.id),
            None => return Ok(Vec::new()),
        },
        None => None,
    };
    // GROUP BY queries cannot be boxed: one statement per combination of filters
    let base = product_units::table.filter(product_units::ship_date.le(on));
    macro_rules! grouped {
        ($q:expr) => {
            $q.group_by((product_units::model_id, product_units::region))
                .select((product_units::model_id, product_units::region, diesel::dsl::count_star()))
                .load::<(i64, String, i64)>(conn)?
        };
    }
    let rows = match (model_id, region) {
        (Some(m), Some(r)) => {
            grouped!(base.filter(product_units::model_id.eq(m)).filter(product_units::region.eq(r)))
        }
        (Some(m), None) => grouped!(base.filter(product_units::model_id.eq(m))),
        (None, Some(r)) => grouped!(base.filter(product_units::region.eq(r))),
        (None, None) => grouped!(base),
    };
    let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let codes: BTreeMap<i64, String> = product_models::table
        .filter(product_models::id.eq_any(ids))
        .select((product_models::id, product_models::code))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect();
    let mut out: Vec<InstalledBase> = rows
        .into_iter()
        .filter_map(|(m, region, units)| Some(InstalledBase { model: codes.get(&m)?.clone(), region, units }))
        .collect();
    out.sort_by(|a, b| (&a.model, &a.region).cmp(&(&b.model, &b.region)));
    Ok(out)
}

pub fn count(conn: &mut DbConn) -> QueryResult<i64> {
    product_units::table.count().get_result(conn)
}

/// A swap of a unit's serialized component, as kept.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = unit_swaps)]
pub struct SwapRow {
    pub id: i64,
    pub unit_id: i64,
    pub ticket_id: i64,
    pub family: String,
    pub part_id: i64,
    pub old_serial: Option<String>,
    pub old_production_date: Option<NaiveDate>,
    pub new_serial: Option<String>,
    pub swapped_by: String,
    pub swapped_at: NaiveDateTime,
}

/// A swap to record: the part fitted in place of the unit's component of `family`.
pub struct NewSwap<'a> {
    pub unit_id: i64,
    pub ticket_id: i64,
    pub family: &'a str,
    pub part_id: i64,
    pub old_serial: Option<&'a str>,
    pub old_production_date: Option<NaiveDate>,
    pub new_serial: &'a str,
    pub by: &'a str,
    pub at: NaiveDateTime,
}

/// Records a swap: the unit's record of the component (its first of the family) takes the fitted
/// part and its serial, and the swap is kept in the unit's history.
pub fn record_swap(conn: &mut DbConn, s: &NewSwap<'_>) -> QueryResult<()> {
    let current: Option<i64> = unit_components::table
        .filter(unit_components::unit_id.eq(s.unit_id))
        .filter(unit_components::family.eq(s.family))
        .select(unit_components::id)
        .order(unit_components::id.asc())
        .first(conn)
        .optional()?;
    let fitted = (
        unit_components::part_id.eq(Some(s.part_id)),
        unit_components::serial.eq(Some(s.new_serial)),
        unit_components::production_date.eq(None::<NaiveDate>),
    );
    match current {
        Some(id) => {
            diesel::update(unit_components::table.find(id)).set(fitted).execute(conn)?;
        }
        None => {
            diesel::insert_into(unit_components::table)
                .values((
                    unit_components::unit_id.eq(s.unit_id),
                    unit_components::family.eq(s.family),
                    fitted,
                ))
                .execute(conn)?;
        }
    }
    diesel::insert_into(unit_swaps::table)
        .values((
            unit_swaps::unit_id.eq(s.unit_id),
            unit_swaps::ticket_id.eq(s.ticket_id),
            unit_swaps::family.eq(s.family),
            unit_swaps::part_id.eq(s.part_id),
            unit_swaps::old_serial.eq(s.old_serial),
            unit_swaps::old_production_date.eq(s.old_production_date),
            unit_swaps::new_serial.eq(Some(s.new_serial)),
            unit_swaps::swapped_by.eq(s.by),
            unit_swaps::swapped_at.eq(s.at),
        ))
        .execute(conn)?;
    Ok(())
}

/// The swaps of the given units, oldest first, with the fitted part's code.
pub fn swaps_of(conn: &mut DbConn, unit_ids: &[i64]) -> QueryResult<BTreeMap<i64, Vec<(SwapRow, String)>>> {
    let rows: Vec<(SwapRow, String)> = unit_swaps::table
        .inner_join(parts::table.on(parts::id.eq(unit_swaps::part_id)))
        .filter(unit_swaps::unit_id.eq_any(unit_ids.to_vec()))
        .select((SwapRow::as_select(), parts::code))
        .order(unit_swaps::id.asc())
        .load(conn)?;
    let mut out: BTreeMap<i64, Vec<(SwapRow, String)>> = BTreeMap::new();
    for r in rows {
        out.entry(r.0.unit_id).or_default().push(r);
    }
    Ok(out)
}

/// Whether a serial is recorded as fitted in a unit sold (a factory component, or a part a
/// swap fitted).
pub fn fitted_in_unit(conn: &mut DbConn, serial: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(unit_components::table.filter(unit_components::serial.eq(serial))))
        .get_result(conn)
}

/// Whether a part's serial is held in the ledger anywhere but the outside world (in stock, in
/// transit, lent out): such a part is not in a unit sold.
pub fn held_in_stock(conn: &mut DbConn, serial: &str) -> QueryResult<bool> {
    use crate::db::schema::{locations, part_serials};
    diesel::select(diesel::dsl::exists(
        part_serials::table
            .inner_join(locations::table.on(locations::id.eq(part_serials::location_id)))
            .filter(part_serials::serial.eq(serial))
            .filter(locations::kind.ne_all(crate::network::rules::LocationKind::EXTERNAL)),
    ))
    .get_result(conn)
}
