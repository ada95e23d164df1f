//! A parts request received at the station, with its damaged units.

use actix_web::{post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::AppError;
use crate::http::docs::{E400, E401, E403};
use crate::http::MaybeJson;
use crate::requests::service::{self, DamageOut, ReceiptLine};
use crate::state::AppState;
use crate::validate::Validate;

use super::*;

#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ReceivedLineIn {
    #[schema(minimum = 1, maximum = 100)]
    pub line_no: i32,
    #[schema(minimum = 0)]
    pub received_qty: i64,
    /// damaged or wrong units: they go to quarantine and are replaced
    #[serde(default)]
    #[schema(minimum = 0)]
    pub damaged_qty: i64,
}

/// What arrived. Without lines, everything in transit arrived in good order; lines sent are at
/// least one (an empty list is not taken for "everything").
#[derive(Debug, Default, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"lines": [{"line_no": 1, "received_qty": 1, "damaged_qty": 0}]}))]
pub struct ReceiveIn {
    #[serde(default)]
    #[schema(min_items = 1, max_items = 100)]
    pub lines: Option<Vec<ReceivedLineIn>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReceiveOut {
    pub request: PartsRequestOut,
    /// lines that arrived damaged, and their replacements
    pub damaged: Vec<DamageOut>,
}

/// Receive what was shipped (the station)
///
/// Good units move from `IN-TRANSIT` into the station (`transfer_receive`); damaged or wrong
/// units into `QUARANTINE` (`damaged_in_transit`), and a replacement is reserved at once
/// through the same routing, without a new request.
#[utoipa::path(
    tag = "requests",
    params(("id" = i64, Path, description = "request id", example = 1003)),
    request_body(content = Option<ReceiveIn>, description = "what arrived; empty: all in good order"),
    responses((status = 200, description = "The request after the receipt, with any damage quarantined and its replacement", body = ReceiveOut), E400, E401, E403, E404Request, E409Receive, E422Receive),
    security(("bearer" = ["admin", "warehouse", "station"]))
)]
#[post("/parts-requests/{id}/receive")]
pub async fn receive(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: MaybeJson<ReceiveIn>,
) -> Result<web::Json<ReceiveOut>, AppError> {
    let id = id.into_inner();
    let lines: Vec<(i32, i64, i64)> = body
        .0
        .and_then(|b| b.lines)
        .map(|lines| lines.iter().map(|l| (l.line_no, l.received_qty, l.damaged_qty)).collect())
        .unwrap_or_default();
    let now = state.clock.now();
    let out = state
        .db
        .write_retrying(move |conn| {
            let said: Vec<ReceiptLine> = lines
                .iter()
                .map(|&(line_no, received_qty, damaged_qty)| ReceiptLine {
                    line_no,
                    received_qty,
                    damaged_qty,
                })
                .collect();
            let damaged = service::receive(conn, &caller, id, &said, now)?;
            Ok(ReceiveOut { request: one(conn, id)?, damaged })
        })
        .await?;
    Ok(web::Json(out))
}
