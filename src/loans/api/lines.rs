//! A loan line reconciled exactly once: the core returned, the fee collected, or the part returned unused.

use actix_web::{post, web};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::{Caller, Role};
use crate::error::{AppError, FieldError, Problem};
use crate::http::docs::{E400, E401, E403, E415};
use crate::http::{Json, MaybeJson};
use crate::loans::rules::OldPart;
use crate::loans::service::{self, How};
use crate::money::Money;
use crate::state::AppState;
use crate::validate::Validate;

use super::*;

/// The old part brought back: its serial, or its production date when it has none.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"serial": "CMP6165341773"}))]
pub struct CoreReturnIn {
    #[schema(min_length = 1, max_length = 64)]
    pub serial: Option<String>,
    #[serde(default, deserialize_with = "crate::http::date::opt_day")]
    pub production_date: Option<NaiveDate>,
}

/// The fee collected; default: the part's price on the accepted quote, else its sale price,
/// times the quantity.
#[derive(Debug, Default, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"amount": "620.50"}))]
pub struct FeeIn {
    pub amount: Option<Money>,
}

async fn reconcile(
    state: web::Data<AppState>,
    caller: Caller,
    path: (i64, i32),
    how: How,
) -> Result<web::Json<LoanOut>, AppError> {
    caller.require(&[Role::Admin, Role::Station, Role::Technician])?;
    let (id, line) = path;
    let now = state.clock.now();
    let out = state
        .db
        .write_retrying(move |conn| match service::reconcile(conn, &caller, id, line, how.clone(), now) {
            Ok(()) => Ok(Ok(one(conn, &caller, id, now.naive_utc())?)),
            // a wrong old part changes nothing of the loan, but it is counted on the line: the
            // count commits with its check, and the refusal is answered after
            Err(e) if e.kind == Problem::CoreMismatch => Ok(Err(e)),
            Err(e) => Err(e),
        })
        .await??;
    Ok(web::Json(out))
}

/// Reconcile an in-warranty line by the old part
///
/// The ticket must have had its visit (a technician on site), else 409 `no_visit_yet`. The old
/// part's serial (or production date) must match the unit's record of the part's family (the
/// factory's, or the part a swap fitted since); then the new part is consumed (custody ->
/// CUSTOMER) and the old one to the bin of returned cores of the station's regional centre
/// (`core_return`) for defect analysis, and for a
/// serialized part the unit's record takes the fitted part's serial, with the swap kept in its
/// history. A mismatch is refused (422 `core_mismatch` with `given` and `attempts_left`; the
/// recorded serial is never shown) and the line stays open. After five wrong old parts on a line
/// only an admin records its core return (409 `core_attempts_exhausted` for anyone else). A
/// part that has no core (not `core_returnable`: a gasket, a lamp) is reconciled here with
/// neither field: fitted, it is consumed and nothing goes to DEFECTIVE; a part that has one needs
/// its old part (422 naming `serial`). A line is reconciled once (409).
#[utoipa::path(
    tag = "loans",
    params(("id" = i64, Path, description = "loan id", example = 1001), ("line" = i32, Path, description = "line number", example = 1)),
    request_body = CoreReturnIn,
    responses((status = 200, description = "The loan with the line reconciled by the old part's return", body = LoanOut), E400, E401, E403, E404LoanLine, E409CoreReturn, E415, E422CoreReturn),
    security(("bearer" = ["admin", "station", "technician"]))
)]
#[post("/loans/{id}/lines/{line}/core-return")]
pub async fn core_return(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(i64, i32)>,
    body: Json<CoreReturnIn>,
) -> Result<web::Json<LoanOut>, AppError> {
    let old = match (body.0.serial, body.0.production_date) {
        // in capitals, as every part serial in the ledger
        (Some(s), None) if !s.trim().is_empty() => Some(OldPart::Serial(s.to_ascii_uppercase())),
        (Some(_), None) => {
            return Err(AppError::invalid_fields(vec![FieldError::new("serial", "must not be blank")]))
        }
        (None, Some(d)) => Some(OldPart::ProductionDate(d)),
        // a part without a core is reconciled with neither (the service refuses it otherwise)
        (None, None) => None,
        (Some(_), Some(_)) => {
            return Err(AppError::invalid_fields(vec![FieldError::new(
                "serial",
                "give the old part's serial or its production_date, not both",
            )]))
        }
    };
    reconcile(state, caller, path.into_inner(), How::Core(old)).await
}

/// Reconcile an out-of-warranty line by the fee
///
/// The part is consumed (custody -> CUSTOMER) and the fee recorded for settlement. A line is
/// reconciled once (409).
#[utoipa::path(
    tag = "loans",
    params(("id" = i64, Path, description = "loan id", example = 1001), ("line" = i32, Path, description = "line number", example = 1)),
    request_body(content = Option<FeeIn>, description = "the amount, when not the default"),
    responses((status = 200, description = "The loan with the line reconciled by a fee", body = LoanOut), E400, E401, E403, E404LoanLine, E409Fee, E415, E422Fee),
    security(("bearer" = ["admin", "station", "technician"]))
)]
#[post("/loans/{id}/lines/{line}/fee")]
pub async fn fee(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(i64, i32)>,
    body: MaybeJson<FeeIn>,
) -> Result<web::Json<LoanOut>, AppError> {
    let amount = body.0.and_then(|b| b.amount).map(|m| m.0);
    if amount.is_some_and(|a| a < 0) {
        return Err(AppError::invalid_fields(vec![FieldError::new("amount", "must not be negative")]));
    }
    reconcile(state, caller, path.into_inner(), How::Fee(amount)).await
}

/// Reconcile a line by returning the part unused
///
/// The part leaves the technician's custody for QUARANTINE (`loan_return_unused`) and waits for
/// an inspection. A line is reconciled once (409).
#[utoipa::path(
    tag = "loans",
    params(("id" = i64, Path, description = "loan id", example = 1001), ("line" = i32, Path, description = "line number", example = 1)),
    responses((status = 200, description = "The loan with the line's part back on the station's shelf", body = LoanOut), E401, E403, E404LoanLine, E409Unused),
    security(("bearer" = ["admin", "station", "technician"]))
)]
#[post("/loans/{id}/lines/{line}/unused-return")]
pub async fn unused_return(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(i64, i32)>,
) -> Result<web::Json<LoanOut>, AppError> {
    reconcile(state, caller, path.into_inner(), How::Unused).await
}
