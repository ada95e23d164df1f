//! Stock counts: the difference to the books becomes a count adjustment.

use actix_web::{post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{Caller, Role};
use crate::catalogue::resolve_part_code;
use crate::error::{AppError, FieldError, Problem};
use crate::http::docs::{E400, E401, E403, E415};
use crate::http::Json;
use crate::ledger::arrivals::Arrivals;
use crate::ledger::rules::Reason;
use crate::ledger::store::{self, Move};
use crate::network::rules::LocationKind;
use crate::state::AppState;
use crate::validate::{not_blank, Validate};

use super::*;

fn stock_count_rules(c: &StockCountIn, _at: &str, errors: &mut Vec<FieldError>) {
    not_blank(errors, "reason", Some(&c.reason));
}

/// A physical count of one part at one location.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"location": "RC-HZ", "part_code": "AC-CAP-00122U", "counted_qty": 7, "reason": "quarterly count"}))]
#[validate(rules = stock_count_rules)]
pub struct StockCountIn {
    #[schema(min_length = 1, max_length = 64)]
    pub location: String,
    #[schema(min_length = 1, max_length = 64)]
    pub part_code: String,
    #[schema(minimum = 0, maximum = 100000)]
    pub counted_qty: i64,
    #[schema(min_length = 1, max_length = 200)]
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StockCountOut {
    pub location: String,
    pub part_code: String,
    pub previous_on_hand: i64,
    pub counted_qty: i64,
    /// the correcting movement, absent when the count matched
    pub movement: Option<MovementOut>,
}

/// Record a stock count (count adjustment)
///
/// The difference between the count and the books becomes a `count_adjustment` movement
/// to or from `ADJUSTMENT`. A count below what is reserved for requests is 409. Warehouse staff
/// count the locations in their scope (a station's too); a station does not write off the
/// stock it holds on consignment (403). An inactive (closed) location is counted too, so that
/// its books can be wound down; stock counted in there serves no waiting request (an inactive
/// location is no source).
#[utoipa::path(
    tag = "stock",
    request_body = StockCountIn,
    responses((status = 201, description = "The count posted: the adjustment it made, and the backorders it filled", body = StockCountOut), E400, E401, E403, E404CountLocation, E409Count, E415, E422Count),
    security(("bearer" = ["admin", "warehouse"]))
)]
#[post("/stock-counts")]
pub async fn create_stock_count(
    state: web::Data<AppState>,
    arrivals: web::Data<Arrivals>,
    caller: Caller,
    body: Json<StockCountIn>,
) -> Result<HttpResponse, AppError> {
    caller.require(&[Role::Admin, Role::Warehouse])?;
    let input = body.0;
    let now = state.clock.now();
    let arrivals = **arrivals;
    let out = state
        .db
        .write_retrying(move |conn| {
            let place = stocking_location(conn, &caller, &input.location)?;
            let part = resolve_part_code(conn, &input.part_code, None)?;
            if part.serialized {
                return Err(AppError::unprocessable(
                    Problem::SerializedPart,
                    "serialized parts are counted by serial; adjust them with a receipt or a scrap inspection",
                ));
            }
            // locked: two counts at once each set the figure counted, not a difference from a stale one
            let (on_hand, reserved) = store::balance_locked(conn, part.id, &place)?;
            if input.counted_qty < reserved {
                return Err(AppError::conflict(
                    Problem::CountBelowReserved,
                    format!("{} units are reserved for requests at {}; cancel them before counting fewer", reserved, place.code),
                )
                .with("reserved", reserved));
            }
            let adjustment = store::virtual_place(conn, LocationKind::Adjustment)?;
            let diff = input.counted_qty - on_hand;
            let movement = if diff == 0 {
                None
            } else {
                let (from, to) = if diff > 0 { (&adjustment, &place) } else { (&place, &adjustment) };
                let reference = format!("count: {}", input.reason.trim());
                let id = store::post(
                    conn,
                    &Move {
                        part_id: part.id,
                        qty: diff.abs(),
                        from,
                        to,
                        reason: Reason::CountAdjustment,
                        reference: Some(&reference),
                        actor: Some(&caller.username),
                        at: now.naive_utc(),
                        serials: &[],
                        from_reserved: false,
                        ticket_id: None,
                    },
                )?;
                Some(MovementOut {
                    id,
                    part_code: part.code.clone(),
                    qty: diff.abs(),
                    from: from.code.clone(),
                    to: to.code.clone(),
                    reason: Reason::CountAdjustment,
                    reference: Some(reference),
                    actor: Some(caller.username.clone()),
                    at: now,
                    serials: vec![],
                })
            };
            if diff > 0 {
                arrivals.arrived(conn, part.id, &place, now)?;
            }
            Ok(StockCountOut {
                location: place.code,
                part_code: part.code,
                previous_on_hand: on_hand,
                counted_qty: input.counted_qty,
                movement,
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(out))
}
