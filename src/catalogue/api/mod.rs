//! HTTP handlers of the catalogue, one file per resource, and the part representation they
//! share. Every authenticated role reads the catalogue; only admins change it (units: admins
//! and agents).

pub mod compat;
pub mod models;
pub mod parts;
pub mod transfer;
pub mod units;

use serde::Serialize;
use utoipa::ToSchema;

use super::rules::{Interchangeability, Lifecycle};
use super::store::parts::{self as part_store, PartRow};
use crate::db::DbConn;
use crate::error::{AppError, FieldError};
use crate::money::Money;

/// A part of the catalogue.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "code": "RF-CMP-00417I", "name": "Compressor 120 W R600a", "line": "RF", "family": "CMP",
    "unit_of_measure": "pcs", "unit_cost": "410.00", "sale_price": "690.00", "serialized": true,
    "core_returnable": true, "weight_grams": 9800, "lifecycle": "phase_out",
    "superseded_by": "RF-CMP-00418G", "interchangeability": "one_way"
}))]
pub struct PartOut {
    /// `<LINE>-<FAMILY>-<SEQ><CHECK>`; the check character is ISO/IEC 7064 MOD 37-2
    pub code: String,
    pub name: String,
    /// product line: RF refrigerators, AC air conditioners, WM washing machines
    pub line: String,
    /// part family, e.g. CMP compressor, PCB control board
    pub family: String,
    pub unit_of_measure: String,
    pub unit_cost: Money,
    /// price out of warranty
    pub sale_price: Money,
    /// tracked by serial number
    pub serialized: bool,
    /// the old part must come back
    pub core_returnable: bool,
    pub weight_grams: i32,
    pub lifecycle: Lifecycle,
    /// the direct successor's code
    pub superseded_by: Option<String>,
    pub interchangeability: Option<Interchangeability>,
}

/// Parts as the API shows them (successor ids turned into codes).
pub fn parts_out(conn: &mut DbConn, rows: Vec<PartRow>) -> Result<Vec<PartOut>, AppError> {
    let ids: Vec<i64> = rows.iter().filter_map(|r| r.superseded_by).collect();
    let codes = part_store::codes_of(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|r| PartOut {
            superseded_by: r.superseded_by.and_then(|s| codes.get(&s).cloned()),
            interchangeability: r.interchangeability,
            lifecycle: r.lifecycle,
            unit_cost: Money(r.unit_cost_minor),
            sale_price: Money(r.sale_price_minor),
            code: r.code,
            name: r.name,
            line: r.line,
            family: r.family,
            unit_of_measure: r.unit_of_measure,
            serialized: r.serialized,
            core_returnable: r.core_returnable,
            weight_grams: r.weight_grams,
        })
        .collect())
}

pub fn part_out(conn: &mut DbConn, row: PartRow) -> Result<PartOut, AppError> {
    Ok(parts_out(conn, vec![row])?.remove(0))
}

/// Adds a field error when a free-text value is blank or padded (its length is the field's
/// documented limit, checked as the body is read).
fn check_text(errors: &mut Vec<FieldError>, field: &str, value: Option<&str>) {
    if let Some(m) = value.and_then(|v| super::rules::check_name(v, usize::MAX)) {
        errors.push(FieldError::new(field, m));
    }
}
