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

// The refusals of the catalogue's operations, each with its own example (`http::docs`).

crate::problems!(
    E422PartCode,
    422,
    "The code in the path is not a part code (`reason`: malformed or check_failed) or names no part, each with `suggestions` of the nearest codes; or the model given as context is unknown",
    [
        InvalidPartCode => "\"RF-CMP-00130C\" fails its check character: a character is wrong or two are swapped; did you mean RF-CMP-00130B?"
            {"code": "RF-CMP-00130C", "suggestions": ["RF-CMP-00130B"], "reason": "check_failed"},
        UnknownPartCode => "there is no part RF-CMP-001319; did you mean RF-CMP-00130B?"
            {"code": "RF-CMP-001319", "suggestions": ["RF-CMP-00130B", "RF-CMP-001327"]},
        UnknownModel => "there is no product model \"BCD-999\"" {"model": "BCD-999"},
    ]
);
crate::problems!(E422ModelContext, 422, "The model filtered on is unknown", [
    UnknownModel => "there is no product model \"BCD-999\"" {"model": "BCD-999"},
]);
crate::problems!(E409NewPart, 409, "No sequence number is left in the line and family", [
    SequenceExhausted => "no sequence number left in RF-CMP",
]);
crate::problems!(E409PartChange, 409, "Whether the part is serialized cannot change while any of it is held", [
    PartHeld => "RF-CMP-00130B is held (on hand or with serials recorded): whether it is serialized cannot change until none is" {"field": "serialized"},
]);
crate::problems!(
    E422NewPart,
    422,
    "A field breaks a rule (`errors`), or the successor named is not a part (`suggestions`) or not of the part's line and family",
    [
        ValidationFailed => "family: 3 upper-case letters, e.g. CMP" {"errors": [{"field": "family", "message": "3 upper-case letters, e.g. CMP"}]},
        UnknownPartCode => "there is no part RF-CMP-00419E; did you mean RF-CMP-00418G?"
            {"field": "superseded_by", "code": "RF-CMP-00419E", "suggestions": ["RF-CMP-00418G"]},
        InvalidPartCode => "\"RF-CMP-00418\" is not a part code: expected <LINE>-<FAMILY>-<SEQ><CHECK>, e.g. RF-CMP-00417I (2 letters, 3 letters, 5 digits and a check character); did you mean RF-CMP-00418G?"
            {"field": "superseded_by", "code": "RF-CMP-00418", "suggestions": ["RF-CMP-00418G"], "reason": "malformed"},
        LineMismatch => "successor AC-CAP-00128I is of line AC and family CAP; a successor is of the part's own, RF and CMP"
            {"field": "superseded_by"},
    ]
);
crate::problems!(
    E422PartChange,
    422,
    "A field breaks a rule (`errors`), the code in the path or the successor named is not a part (`suggestions`) or not of the part's line and family, or it would make the chain loop",
    [
        ValidationFailed => "interchangeability: required with superseded_by: one_way or two_way"
            {"errors": [{"field": "interchangeability", "message": "required with superseded_by: one_way or two_way"}]},
        InvalidPartCode => "\"RF-CMP-00130C\" fails its check character: a character is wrong or two are swapped; did you mean RF-CMP-00130B?"
            {"code": "RF-CMP-00130C", "suggestions": ["RF-CMP-00130B"], "reason": "check_failed"},
        UnknownPartCode => "there is no part RF-CMP-00419E; did you mean RF-CMP-00418G?"
            {"field": "superseded_by", "code": "RF-CMP-00419E", "suggestions": ["RF-CMP-00418G"]},
        SupersessionCycle => "RF-CMP-00130B cannot be superseded by a part that is (eventually) superseded by RF-CMP-00130B",
        LineMismatch => "successor AC-CAP-00128I is of line AC and family CAP; a successor is of the part's own, RF and CMP"
            {"field": "superseded_by"},
    ]
);
crate::problems!(E404Model, 404, "No product model of this code", [
    NotFound => "there is no product model BCD-999",
]);
crate::problems!(E409NewModel, 409, "A model of this code exists already", [
    AlreadyExists => "model BCD-539WT already exists",
]);
crate::problems!(E422Model, 422, "A field breaks a rule; `errors` names each field", [
    ValidationFailed => "end_of_production: must not be before launch_date"
        {"errors": [{"field": "end_of_production", "message": "must not be before launch_date"}]},
]);
crate::problems!(E422NewModel, 422, "A field breaks a rule (`errors` names each field), or the product line is not one the catalogue knows (`lines`)", [
    ValidationFailed => "end_of_production: must not be before launch_date"
        {"errors": [{"field": "end_of_production", "message": "must not be before launch_date"}]},
    UnknownProductLine => "the catalogue has no product line ZZ; its lines are AC, RF, WM"
        {"field": "line", "line": "ZZ", "lines": ["AC", "RF", "WM"]},
]);
crate::problems!(
    E422ModelParts,
    422,
    "A field breaks a rule (`errors`); a part code is unknown or malformed (`suggestions`), or the part is of another product line",
    [
        UnknownPartCode => "there is no part RF-CMP-001319; did you mean RF-CMP-00130B?"
            {"field": "parts[0].part_code", "code": "RF-CMP-001319", "suggestions": ["RF-CMP-00130B"]},
        LineMismatch => "part AC-CAP-00122U is of line AC, model BCD-539WT of line RF" {"field": "parts[0].part_code"},
    ]
);
crate::problems!(E404Unit, 404, "No unit of this serial", [
    NotFound => "there is no unit BCD539WT2405000999",
]);
crate::problems!(E409NewUnit, 409, "A unit of this serial exists already, or a component's serial is recorded elsewhere (in a unit, or held in stock)", [
    AlreadyExists => "unit BCD539WT2405000128 already exists",
    SerialElsewhere => "serial CMP24083100457 is recorded elsewhere already (in a unit, or held in stock)"
        {"field": "components[0].serial", "serial": "CMP24083100457"},
]);
crate::problems!(
    E422Unit,
    422,
    "A field breaks a rule (`errors`); the model is unknown; a component's part is unknown (`suggestions` among the model's parts) or does not fit the model (`compatible_alternatives`)",
    [
        ValidationFailed => "region: not a region of the network; one of: East, North, South"
            {"errors": [{"field": "region", "message": "not a region of the network; one of: East, North, South"}]},
        UnknownModel => "there is no product model \"BCD-999\"" {"model": "BCD-999"},
        UnknownPartCode => "there is no part RF-CMP-001319; did you mean RF-CMP-00130B? (parts of model BCD-539WT)"
            {"field": "components[0].part_code", "code": "RF-CMP-001319", "suggestions": ["RF-CMP-00130B"], "model": "BCD-539WT"},
        IncompatiblePart => "part RF-CMP-00417I does not fit model BCD-539WT"
            {"field": "components[0].part_code", "code": "RF-CMP-00417I", "model": "BCD-539WT", "compatible_alternatives": ["RF-CMP-00130B"]},
    ]
);
crate::problems!(E422Import, 422, "The CSV has faults (`errors`: line, column, message); nothing was imported", [
    InvalidCsv => "2 error(s) on line(s) 3, 7; nothing was imported"
        {"errors": [{"line": 3, "column": "code", "message": "fails its check character"},
                    {"line": 7, "column": "cost", "message": "not a decimal amount"}]},
]);
