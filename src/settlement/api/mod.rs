//! HTTP handlers of settlement, one file per resource: a period's settlement statements
//! (JSON, CSV or XLSX), the adjustments finance posts and the closing of a period. This file
//! holds what they share: the XLSX media type, the period and the station scope.

mod adjustments;
mod periods;
mod statements;

use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::{Caller, Role};
use crate::db::DbConn;
use crate::error::{AppError, FieldError};
use crate::network::rules::LocationKind;
use crate::network::store as network;
use crate::settlement::rules::Period;
use crate::validate::Validate;

pub use adjustments::*;
pub use periods::*;
pub use statements::*;

/// Who posts adjustments and closes periods.
const FINANCE: &[Role] = &[Role::Finance, Role::Admin];

pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// An XLSX workbook: sheet `Settlement` (the rows of the CSV, header frozen) and sheet
/// `Reconciliation`. Only its schema is used: the body is streamed, never built.
pub struct XlsxFile;

impl utoipa::PartialSchema for XlsxFile {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, SchemaType, Type};
        ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::String))
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .description(Some("An XLSX workbook"))
            .into()
    }
}

impl ToSchema for XlsxFile {}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema, Validate)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Json,
    Csv,
    Xlsx,
}

fn parse_period(s: &str, field: &str) -> Result<Period, AppError> {
    Period::parse(s).ok_or_else(|| {
        AppError::invalid_fields(vec![FieldError::new(field, "must be a month such as 2026-11 (YYYY-MM)")])
    })
}

/// The station a caller may see, as (id, code, name): finance and admin any (or all), a
/// station its own only (another's is 404); others 403.
fn station_scope(
    conn: &mut DbConn,
    caller: &Caller,
    asked: Option<&str>,
) -> Result<Option<(i64, String, String)>, AppError> {
    let not_found = |c: &str| AppError::not_found(format!("no station {c}"));
    match caller.role {
        Role::Finance | Role::Admin => match asked {
            None => Ok(None),
            Some(code) => {
                let row = network::by_code(conn, code)?
                    .filter(|r| r.kind == LocationKind::Station)
                    .ok_or_else(|| not_found(code))?;
                Ok(Some((row.id, row.code, row.name)))
            }
        },
        Role::Station => {
            let own = caller.location.clone().unwrap_or_default();
            if asked.is_some_and(|a| a != own) {
                return Err(not_found(asked.unwrap_or_default()));
            }
            let row = network::by_code(conn, &own)?
                .ok_or_else(|| AppError::forbidden("this user belongs to no location"))?;
            Ok(Some((row.id, row.code, row.name)))
        }
        _ => Err(AppError::forbidden(format!("the {} role may not read settlements", caller.role))),
    }
}

// The refusals of the settlement's operations, each with its own example (`http::docs`).

crate::problems!(E404SettlementStation, 404, "No station of this code (a station user: another station than its own)", [
    NotFound => "no station ST-SX-002",
]);
crate::problems!(E422Settlement, 422, "The period is not a month, or has not begun; `errors` names the field", [
    ValidationFailed => "period: 2027-01 has not begun; nothing is settled before its month"
        {"errors": [{"field": "period", "message": "2027-01 has not begun; nothing is settled before its month"}]},
]);
crate::problems!(E404AdjustmentStation, 404, "No station of this code", [
    NotFound => "no station ST-AD-404",
]);
crate::problems!(E422Adjustment, 422, "A field breaks a rule; `errors` names each field", [
    ValidationFailed => "period: must be a month such as 2026-11 (YYYY-MM)"
        {"errors": [{"field": "period", "message": "must be a month such as 2026-11 (YYYY-MM)"}]},
]);
crate::problems!(E409Close, 409, "The period is closed already (itself, or covered by a later close), or periods close in order", [
    PeriodClosed => "period 2026-10 is already closed at 2026-11-02T09:00:00Z by finance"
        {"period": "2026-10", "closed_at": "2026-11-02T09:00:00Z", "closed_by": "finance"},
    PeriodClosed "period_covered" => "period 2026-09 is already closed as part of 2026-10 (closed at 2026-11-02T09:00:00Z by finance); its items are settled in 2026-11"
        {"period": "2026-09", "closed_at": "2026-11-02T09:00:00Z", "closed_by": "finance",
            "covered_by": "2026-10", "landed_in": "2026-11"},
    PeriodOutOfOrder => "periods close in order: the next to close is 2026-11" {"next_to_close": "2026-11"},
]);
crate::problems!(E422Close, 422, "The period is not a month, or has not ended yet", [
    ValidationFailed => "period: must be a month such as 2026-11 (YYYY-MM)"
        {"errors": [{"field": "period", "message": "must be a month such as 2026-11 (YYYY-MM)"}]},
    PeriodNotEnded => "period 2026-12 has not ended yet: it can be closed from 2027-01-01",
]);
