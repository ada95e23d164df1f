//! Parts in the database.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::CHUNK;
use crate::catalogue::rules::{Interchangeability, Lifecycle};
use crate::db::schema::{compatibility, parts};
use crate::db::DbConn;
use crate::network::store::escape_like;
use crate::on_backend;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = parts)]
pub struct PartRow {
    pub id: i64,
    pub code: String,
    pub line: String,
    pub family: String,
    pub seq: i32,
    pub name: String,
    pub unit_of_measure: String,
    pub unit_cost_minor: i64,
    pub sale_price_minor: i64,
    pub serialized: bool,
    pub core_returnable: bool,
    pub weight_grams: i32,
    pub lifecycle: Lifecycle,
    pub superseded_by: Option<i64>,
    pub interchangeability: Option<Interchangeability>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = parts, treat_none_as_default_value = false)]
pub struct NewPart {
    pub code: String,
    pub line: String,
    pub family: String,
    pub seq: i32,
    pub name: String,
    pub unit_of_measure: String,
    pub unit_cost_minor: i64,
    pub sale_price_minor: i64,
    pub serialized: bool,
    pub core_returnable: bool,
    pub weight_grams: i32,
    pub lifecycle: String,
    pub superseded_by: Option<i64>,
    pub interchangeability: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Changes to a part; `None` leaves a column alone, `Some(None)` clears a nullable one.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = parts)]
pub struct PartChanges {
    pub name: Option<String>,
    pub unit_of_measure: Option<String>,
    pub unit_cost_minor: Option<i64>,
    pub sale_price_minor: Option<i64>,
    pub serialized: Option<bool>,
    pub core_returnable: Option<bool>,
    pub weight_grams: Option<i32>,
    pub lifecycle: Option<String>,
    pub superseded_by: Option<Option<i64>>,
    pub interchangeability: Option<Option<String>>,
    pub updated_at: Option<NaiveDateTime>,
}

diesel::define_sql_function! {
    /// SQL `lower()`, the same on SQLite and PostgreSQL for ASCII.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// Filters of the part list.
#[derive(Debug, Clone, Default)]
pub struct PartFilter {
    pub line: Option<String>,
    pub family: Option<String>,
    pub lifecycle: Option<String>,
    /// only parts compatible with this model id
    pub model_id: Option<i64>,
    /// text in the name (or code)
    pub q: Option<String>,
}

pub fn by_code(conn: &mut DbConn, code: &str) -> QueryResult<Option<PartRow>> {
    // on the concrete connection: the multi-backend one renders a statement's SQL at every
    // execution, even a prepared one (this runs on every parts request)
    on_backend!(conn, |c| parts::table
        .filter(parts::code.eq(code))
        .select(PartRow::as_select())
        .first(c)
        .optional())
}

pub fn by_id(conn: &mut DbConn, id: i64) -> QueryResult<PartRow> {
    parts::table.find(id).select(PartRow::as_select()).first(conn)
}

/// Codes of the given part ids.
pub fn codes_of(conn: &mut DbConn, ids: &[i64]) -> QueryResult<BTreeMap<i64, String>> {
    if ids.is_empty() {
        return Ok(BTreeMap::new());
    }
    let mut out = BTreeMap::new();
    for chunk in ids.chunks(CHUNK) {
        let rows: Vec<(i64, String)> =
            parts::table.filter(parts::id.eq_any(chunk)).select((parts::id, parts::code)).load(conn)?;
        out.extend(rows);
    }
    Ok(out)
}

/// (code, name) of the parts with these ids, for lists that show a part beside its code.
pub fn codes_and_names_of(conn: &mut DbConn, ids: &[i64]) -> QueryResult<BTreeMap<i64, (String, String)>> {
    let mut out = BTreeMap::new();
    for chunk in ids.chunks(CHUNK) {
        let rows: Vec<(i64, String, String)> = parts::table
            .filter(parts::id.eq_any(chunk))
            .select((parts::id, parts::code, parts::name))
            .load(conn)?;
        out.extend(rows.into_iter().map(|(id, code, name)| (id, (code, name))));
    }
    Ok(out)
}

/// The parts with the given codes (absent codes are left out).
pub fn by_codes(conn: &mut DbConn, codes: &[String]) -> QueryResult<Vec<PartRow>> {
    let mut out = Vec::with_capacity(codes.len());
    for chunk in codes.chunks(CHUNK) {
        out.extend(parts::table.filter(parts::code.eq_any(chunk)).select(PartRow::as_select()).load(conn)?);
    }
    Ok(out)
}

/// Ids of the given codes (absent codes are left out).
pub fn ids_of(conn: &mut DbConn, codes: &[String]) -> QueryResult<BTreeMap<String, i64>> {
    let mut out = BTreeMap::new();
    for chunk in codes.chunks(CHUNK) {
        let rows: Vec<(String, i64)> =
            parts::table.filter(parts::code.eq_any(chunk)).select((parts::code, parts::id)).load(conn)?;
        out.extend(rows);
    }
    Ok(out)
}

/// One page of parts in code order, after `after` (exclusive).
pub fn list(
    conn: &mut DbConn,
    filter: &PartFilter,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<PartRow>> {
    let mut q = parts::table.select(PartRow::as_select()).into_boxed();
    if let Some(l) = &filter.line {
        q = q.filter(parts::line.eq(l.clone()));
    }
    if let Some(f) = &filter.family {
        q = q.filter(parts::family.eq(f.clone()));
    }
    if let Some(l) = &filter.lifecycle {
        q = q.filter(parts::lifecycle.eq(l.clone()));
    }
    if let Some(m) = filter.model_id {
        q = q.filter(parts::id.eq_any(
            compatibility::table.filter(compatibility::model_id.eq(m)).select(compatibility::part_id),
        ));
    }
    if let Some(text) = &filter.q {
        let pattern = format!("%{}%", escape_like(text));
        // lower() on both sides: SQLite's LIKE folds ASCII case, PostgreSQL's does not
        q = q.filter(
            lower(parts::name)
                .like(pattern.to_lowercase())
                .escape('\\')
                .or(parts::code.like(pattern.to_uppercase()).escape('\\')),
        );
    }
    if let Some(a) = after {
        q = q.filter(parts::code.gt(a.to_string()));
    }
    q.order(parts::code.asc()).limit(limit).load(conn)
}

/// Every part in code order (the export).
pub fn all(conn: &mut DbConn) -> QueryResult<Vec<PartRow>> {
    parts::table.select(PartRow::as_select()).order(parts::code.asc()).load(conn)
}

/// The parts of a family in a model's bill of service parts, by code.
pub fn compatible_of_family(conn: &mut DbConn, model_id: i64, family: &str) -> QueryResult<Vec<PartRow>> {
    parts::table
        .filter(parts::family.eq(family))
        .filter(parts::id.eq_any(
            compatibility::table.filter(compatibility::model_id.eq(model_id)).select(compatibility::part_id),
        ))
        .select(PartRow::as_select())
        .order(parts::code.asc())
        .load(conn)
}

/// Codes and lifecycles a wrong code may be matched against: every part, or the parts
/// compatible with a model.
pub fn suggestion_candidates(
    conn: &mut DbConn,
    model_id: Option<i64>,
) -> QueryResult<Vec<(String, Lifecycle)>> {
    let mut q = parts::table.select((parts::code, parts::lifecycle)).into_boxed();
    if let Some(m) = model_id {
        q = q.filter(parts::id.eq_any(
            compatibility::table.filter(compatibility::model_id.eq(m)).select(compatibility::part_id),
        ));
    }
    q.load(conn)
}

/// Every part code.
pub fn all_codes(conn: &mut DbConn) -> QueryResult<Vec<String>> {
    parts::table.select(parts::code).load(conn)
}

/// The highest sequence number used in a line and family.
pub fn max_seq(conn: &mut DbConn, line: &str, family: &str) -> QueryResult<Option<i32>> {
    parts::table
        .filter(parts::line.eq(line))
        .filter(parts::family.eq(family))
        .select(diesel::dsl::max(parts::seq))
        .first(conn)
}

pub fn insert(conn: &mut DbConn, new: &NewPart) -> QueryResult<i64> {
    diesel::insert_into(parts::table).values(new).returning(parts::id).get_result(conn)
}

/// Inserts many parts in multi-row statements; returns (id, code) of each.
pub fn insert_many(conn: &mut DbConn, rows: &[NewPart]) -> QueryResult<Vec<(i64, String)>> {
    let mut out = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(CHUNK) {
        let ids: Vec<(i64, String)> = on_backend!(conn, |c| diesel::insert_into(parts::table)
            .values(chunk)
            .returning((parts::id, parts::code))
            .get_results(c)?);
        out.extend(ids);
    }
    Ok(out)
}

/// Applies the changes; a new unit cost first revalues the stations holding the part (refused
/// with `value_out_of_range` if a station's value would overflow) and the part's outflow in the
/// KPI rollup (both valued at the current cost).
pub fn update(conn: &mut DbConn, id: i64, changes: &PartChanges) -> Result<(), crate::error::AppError> {
    if let Some(cost) = changes.unit_cost_minor {
        // stock is valued at current cost in the stations' running outstanding values
        crate::outstanding::on_cost_change(conn, id, cost)?;
        crate::rollup::cost_change(conn, id, true)?;
    }
    diesel::update(parts::table.find(id)).set(changes).execute(conn)?;
    if changes.unit_cost_minor.is_some() {
        crate::rollup::cost_change(conn, id, false)?;
    }
    Ok(())
}

/// The part that directly supersedes `id`, if any.
pub fn successor_of(conn: &mut DbConn, id: i64) -> QueryResult<Option<i64>> {
    parts::table
        .find(id)
        .select(parts::superseded_by)
        .first::<Option<i64>>(conn)
        .optional()
        .map(Option::flatten)
}

/// Every supersession link: part id -> successor id.
pub fn supersessions(conn: &mut DbConn) -> QueryResult<BTreeMap<i64, i64>> {
    let rows: Vec<(i64, Option<i64>)> = parts::table
        .filter(parts::superseded_by.is_not_null())
        .select((parts::id, parts::superseded_by))
        .load(conn)?;
    Ok(rows.into_iter().filter_map(|(id, s)| s.map(|s| (id, s))).collect())
}

pub fn count(conn: &mut DbConn) -> QueryResult<i64> {
    parts::table.count().get_result(conn)
}

/// Codes of the models a part fits.
pub fn models_of(conn: &mut DbConn, part_id: i64) -> QueryResult<Vec<String>> {
    use crate::db::schema::product_models;
    compatibility::table
        .inner_join(product_models::table)
        .filter(compatibility::part_id.eq(part_id))
        .select(product_models::code)
        .order(product_models::code.asc())
        .load(conn)
}

/// Whether any of a part is held: units on hand anywhere but the outside world (suppliers,
/// customers, count corrections: on a shelf, in transit, with a technician), or a serial of it
/// recorded there. While it is, whether the part is serialized cannot change: the ledger's
/// rule that each serialized unit held has its serial there would break either way.
pub fn held(conn: &mut DbConn, part_id: i64) -> QueryResult<bool> {
    use crate::db::schema::{locations, part_serials, stock_balances as b};
    use crate::network::rules::LocationKind;
    let on_hand = diesel::select(diesel::dsl::exists(
        b::table
            .inner_join(locations::table.on(locations::id.eq(b::location_id)))
            .filter(b::part_id.eq(part_id))
            .filter(b::on_hand.ne(0))
            .filter(locations::kind.ne_all(LocationKind::EXTERNAL)),
    ))
    .get_result::<bool>(conn)?;
    Ok(on_hand
        || diesel::select(diesel::dsl::exists(
            part_serials::table
                .inner_join(locations::table.on(locations::id.eq(part_serials::location_id)))
                .filter(part_serials::part_id.eq(part_id))
                .filter(locations::kind.ne_all(LocationKind::EXTERNAL)),
        ))
        .get_result::<bool>(conn)?)
}
