//! Product models, their component warranty terms, and compatibility (the bill of service
//! parts) in the database.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::parts::PartRow;
use super::CHUNK;
use crate::db::schema::{compatibility, model_component_warranties, parts, product_models};
use crate::db::DbConn;
use crate::network::store::escape_like;
use crate::on_backend;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = product_models)]
pub struct ModelRow {
    pub id: i64,
    pub code: String,
    pub line: String,
    pub name: String,
    pub launch_date: NaiveDate,
    pub end_of_production: Option<NaiveDate>,
    pub warranty_months: i32,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = product_models, treat_none_as_default_value = false)]
pub struct NewModel {
    pub code: String,
    pub line: String,
    pub name: String,
    pub launch_date: NaiveDate,
    pub end_of_production: Option<NaiveDate>,
    pub warranty_months: i32,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = product_models)]
pub struct ModelChanges {
    pub name: Option<String>,
    pub end_of_production: Option<Option<NaiveDate>>,
    pub warranty_months: Option<i32>,
}

#[derive(Debug, Clone, Default)]
pub struct ModelFilter {
    pub line: Option<String>,
    /// text in the code or name
    pub q: Option<String>,
}

/// The product lines the catalogue knows: those of its parts and of its models, in order.
pub fn known_lines(conn: &mut DbConn) -> QueryResult<Vec<String>> {
    let mut lines: Vec<String> = parts::table.select(parts::line).distinct().load(conn)?;
    lines.extend(product_models::table.select(product_models::line).distinct().load::<String>(conn)?);
    lines.sort();
    lines.dedup();
    Ok(lines)
}

pub fn by_code(conn: &mut DbConn, code: &str) -> QueryResult<Option<ModelRow>> {
    product_models::table
        .filter(product_models::code.eq(code))
        .select(ModelRow::as_select())
        .first(conn)
        .optional()
}

pub fn by_id(conn: &mut DbConn, id: i64) -> QueryResult<ModelRow> {
    product_models::table.find(id).select(ModelRow::as_select()).first(conn)
}

/// The models of the given ids, by id (one query per `CHUNK` ids).
pub fn by_ids(conn: &mut DbConn, ids: &[i64]) -> QueryResult<BTreeMap<i64, ModelRow>> {
    let mut out = BTreeMap::new();
    for chunk in ids.chunks(CHUNK) {
        let rows: Vec<ModelRow> = product_models::table
            .filter(product_models::id.eq_any(chunk))
            .select(ModelRow::as_select())
            .load(conn)?;
        out.extend(rows.into_iter().map(|m| (m.id, m)));
    }
    Ok(out)
}

pub fn list(
    conn: &mut DbConn,
    filter: &ModelFilter,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<ModelRow>> {
    let mut q = product_models::table.select(ModelRow::as_select()).into_boxed();
    if let Some(l) = &filter.line {
        q = q.filter(product_models::line.eq(l.clone()));
    }
    if let Some(text) = &filter.q {
        let pattern = format!("%{}%", escape_like(text));
        q = q.filter(
            super::parts::lower(product_models::name)
                .like(pattern.to_lowercase())
                .escape('\\')
                .or(product_models::code.like(pattern.to_uppercase()).escape('\\')),
        );
    }
    if let Some(a) = after {
        q = q.filter(product_models::code.gt(a.to_string()));
    }
    q.order(product_models::code.asc()).limit(limit).load(conn)
}

/// Inserts models in multi-row statements; returns (id, code) of each.
pub fn insert_many(conn: &mut DbConn, rows: &[NewModel]) -> QueryResult<Vec<(i64, String)>> {
    let mut out = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(CHUNK) {
        let ids: Vec<(i64, String)> = on_backend!(conn, |c| diesel::insert_into(product_models::table)
            .values(chunk)
            .returning((product_models::id, product_models::code))
            .get_results(c)?);
        out.extend(ids);
    }
    Ok(out)
}

pub fn update(conn: &mut DbConn, id: i64, changes: &ModelChanges) -> QueryResult<()> {
    if changes.name.is_none() && changes.end_of_production.is_none() && changes.warranty_months.is_none() {
        return Ok(());
    }
    diesel::update(product_models::table.find(id)).set(changes).execute(conn).map(|_| ())
}

/// Component warranty terms (family -> months) of the given models.
pub fn warranties(conn: &mut DbConn, model_ids: &[i64]) -> QueryResult<BTreeMap<i64, BTreeMap<String, i32>>> {
    let mut out: BTreeMap<i64, BTreeMap<String, i32>> = BTreeMap::new();
    for chunk in model_ids.chunks(CHUNK) {
        let rows: Vec<(i64, String, i32)> = model_component_warranties::table
            .filter(model_component_warranties::model_id.eq_any(chunk))
            .select((
                model_component_warranties::model_id,
                model_component_warranties::family,
                model_component_warranties::months,
            ))
            .load(conn)?;
        for (m, family, months) in rows {
            out.entry(m).or_default().insert(family, months);
        }
    }
    Ok(out)
}

/// Adds component warranty terms (model id, family, months).
pub fn insert_warranties(conn: &mut DbConn, terms: &[(i64, String, i32)]) -> QueryResult<()> {
    let rows: Vec<_> = terms
        .iter()
        .map(|(m, f, months)| {
            (
                model_component_warranties::model_id.eq(*m),
                model_component_warranties::family.eq(f.as_str()),
                model_component_warranties::months.eq(*months),
            )
        })
        .collect();
    for chunk in rows.chunks(CHUNK) {
        on_backend!(conn, |c| diesel::insert_into(model_component_warranties::table)
            .values(chunk)
            .execute(c)?);
    }
    Ok(())
}

/// Removes every component term of a model.
pub fn clear_warranties(conn: &mut DbConn, model_id: i64) -> QueryResult<()> {
    diesel::delete(
        model_component_warranties::table.filter(model_component_warranties::model_id.eq(model_id)),
    )
    .execute(conn)
    .map(|_| ())
}

/// One page of a model's compatible parts with the quantity per unit, in part code order.
pub fn compatible_parts(
    conn: &mut DbConn,
    model_id: i64,
    family: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<(PartRow, i32)>> {
    let mut q = compatibility::table
        .inner_join(parts::table)
        .filter(compatibility::model_id.eq(model_id))
        .select((PartRow::as_select(), compatibility::qty_per_unit))
        .into_boxed();
    if let Some(f) = family {
        q = q.filter(parts::family.eq(f.to_string()));
    }
    if let Some(a) = after {
        q = q.filter(parts::code.gt(a.to_string()));
    }
    q.order(parts::code.asc()).limit(limit).load(conn)
}

/// The quantity of a part per unit of a model, if the part fits it.
pub fn qty_per_unit(conn: &mut DbConn, model_id: i64, part_id: i64) -> QueryResult<Option<i32>> {
    compatibility::table.find((model_id, part_id)).select(compatibility::qty_per_unit).first(conn).optional()
}

/// Adds a part to a model's bill of service parts, or changes its quantity.
pub fn upsert_compat(conn: &mut DbConn, model_id: i64, part_id: i64, qty: i32) -> QueryResult<()> {
    let changed = diesel::update(compatibility::table.find((model_id, part_id)))
        .set(compatibility::qty_per_unit.eq(qty))
        .execute(conn)?;
    if changed == 0 {
        diesel::insert_into(compatibility::table)
            .values((
                compatibility::model_id.eq(model_id),
                compatibility::part_id.eq(part_id),
                compatibility::qty_per_unit.eq(qty),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Inserts compatibility rows (model id, part id, qty) that do not exist yet.
pub fn insert_compat_many(conn: &mut DbConn, rows: &[(i64, i64, i32)]) -> QueryResult<()> {
    let values: Vec<_> = rows
        .iter()
        .map(|(m, p, q)| {
            (
                compatibility::model_id.eq(*m),
                compatibility::part_id.eq(*p),
                compatibility::qty_per_unit.eq(*q),
            )
        })
        .collect();
    for chunk in values.chunks(CHUNK) {
        on_backend!(conn, |c| diesel::insert_into(compatibility::table).values(chunk).execute(c)?);
    }
    Ok(())
}

/// Compatible parts of a model in one family, as (code, lifecycle), for alternatives.
pub fn compatible_in_family(
    conn: &mut DbConn,
    model_id: i64,
    family: &str,
) -> QueryResult<Vec<(String, crate::catalogue::rules::Lifecycle)>> {
    compatibility::table
        .inner_join(parts::table)
        .filter(compatibility::model_id.eq(model_id))
        .filter(parts::family.eq(family))
        .select((parts::code, parts::lifecycle))
        .order(parts::code.asc())
        .load(conn)
}

pub fn count(conn: &mut DbConn) -> QueryResult<i64> {
    product_models::table.count().get_result(conn)
}
