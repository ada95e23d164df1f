//! Closing a settlement period.

use actix_web::{post, web};

use crate::auth::Caller;
use crate::error::AppError;
use crate::http::docs::{E401, E403};
use crate::settlement::service::{self, Closed};
use crate::state::AppState;

use super::*;

/// Close a period (finance, admin)
///
/// Freezes the period's lines into a snapshot: its figures and exports never change again,
/// and anything dated in it later (a late event, an adjustment) lands in the next open
/// period. Periods close once (409 `period_closed`), in order (409 `period_out_of_order`), and
/// only after they ended (422 `period_not_ended`). The first close may be any ended month; the
/// months before it that were never closed are covered by it: closing one is 409
/// `period_closed` whose `detail` says what its statement and files say (`closed as part of
/// 2026-10 ...; its items are settled in 2026-11`), with `covered_by` and `landed_in`.
#[utoipa::path(
    tag = "finance",
    params(("period" = String, Path, description = "the month, `YYYY-MM`", example = "2026-11",
        pattern = r"^[2-9][0-9]{3}-(0[1-9]|1[0-2])$")),
    responses((status = 200, description = "The period closed, with its totals", body = Closed), E401, E403, E409Close, E422Close),
    security(("bearer" = ["admin", "finance"]))
)]
#[post("/periods/{period}/close")]
pub async fn close_period(
    state: web::Data<AppState>,
    caller: Caller,
    period: web::Path<String>,
) -> Result<web::Json<Closed>, AppError> {
    caller.require(FINANCE)?;
    let period = parse_period(&period.into_inner(), "period")?;
    let now = state.clock.now();
    let out = state.db.write(move |conn| service::close(conn, period, &caller.username, now)).await?;
    Ok(web::Json(out))
}
