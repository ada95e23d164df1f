//! `GET /api/v1/audit`: the audit over HTTP. It reads every domain, so it is served from here,
//! above them, rather than from the ledger.

use actix_web::{get, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::{Caller, Role};
use crate::error::AppError;
use crate::http::docs::{E401, E403};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"clean": true, "breaches": []}))]
pub struct AuditOut {
    pub clean: bool,
    pub breaches: Vec<String>,
}

/// Check every data invariant (admin)
///
/// The same checks as `echelon audit`: balances equal their movements, every part sums to zero
/// over all locations, no location holding goods is negative, reservations equal open
/// allocations, serials are where their units are.
#[utoipa::path(tag = "stock", responses((status = 200, description = "The invariants checked and any violation found", body = AuditOut), E401, E403), security(("bearer" = ["admin"])))]
#[get("/audit")]
pub async fn audit(state: web::Data<AppState>, caller: Caller) -> Result<web::Json<AuditOut>, AppError> {
    caller.require(&[Role::Admin])?;
    let breaches = state.db.read(|conn| Ok(super::run(conn)?)).await?;
    Ok(web::Json(AuditOut { clean: breaches.is_empty(), breaches }))
}
