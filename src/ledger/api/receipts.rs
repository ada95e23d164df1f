//! Goods received from a supplier (purchase receipts), serving waiting backorders.

use actix_web::{post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{Caller, Role};
use crate::catalogue::resolve_part_code;
use crate::error::{AppError, FieldError};
use crate::http::docs::{E400, E401, E403, E415};
use crate::http::Json;
use crate::ledger::arrivals::{Arrivals, BackorderFill};
use crate::ledger::rules::{self, Reason};
use crate::ledger::store::{self, Move};
use crate::network::rules::LocationKind;
use crate::state::AppState;
use crate::validate::Validate;

use super::*;

#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ReceiptLineIn {
    #[schema(min_length = 1, max_length = 64)]
    pub part_code: String,
    #[schema(minimum = 1, maximum = 100000)]
    pub qty: i64,
    /// one per unit, for serialized parts
    #[serde(default)]
    #[schema(max_items = 100000)]
    pub serials: Vec<String>,
}

/// Goods received from a supplier into a location.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"location": "RC-HZ", "reference": "PO-2026-1187", "lines": [{"part_code": "AC-CAP-00122U", "qty": 20}]}))]
pub struct ReceiptIn {
    #[schema(min_length = 1, max_length = 64)]
    pub location: String,
    /// the supplier's delivery note or purchase order
    #[schema(min_length = 1, max_length = 100)]
    pub reference: Option<String>,
    #[schema(min_items = 1, max_items = 200)]
    pub lines: Vec<ReceiptLineIn>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReceiptOut {
    pub reference: String,
    pub movements: Vec<MovementOut>,
    /// backordered request lines served from this receipt, in the order they were served
    pub backorders_filled: Vec<BackorderFill>,
}

/// Receive goods from a supplier (purchase receipt)
///
/// Moves the units from `SUPPLIER` into the location, then serves waiting backorders that may
/// be supplied from it (urgent ticket-linked first, then tier priority, then age). An inactive
/// (closed) location receives nothing: 409 `location_inactive` naming it, and nothing moves;
/// stock counts there still correct its books.
#[utoipa::path(
    tag = "stock",
    request_body = ReceiptIn,
    responses((status = 201, description = "The receipt posted: one movement per line from SUPPLIER into the location, and the backorders it filled", body = ReceiptOut), E400, E401, E403, E404ReceiptLocation, E409Receipt, E415, E422Receipt),
    security(("bearer" = ["admin", "warehouse"]))
)]
#[post("/receipts")]
pub async fn create_receipt(
    state: web::Data<AppState>,
    arrivals: web::Data<Arrivals>,
    caller: Caller,
    body: Json<ReceiptIn>,
) -> Result<HttpResponse, AppError> {
    caller.require(&[Role::Admin, Role::Warehouse])?;
    let mut input = body.0;
    for l in &mut input.lines {
        rules::in_capitals(&mut l.serials);
    }
    let now = state.clock.now();
    let arrivals = **arrivals;
    let out = state
        .db
        .write_retrying(move |conn| {
            let to = stocking_location(conn, &caller, &input.location)?;
            // a closed location buys nothing in; a count there still corrects its books
            crate::network::require_active(
                &crate::network::store::by_id(conn, to.id)?,
                "it receives no purchased goods",
            )?;
            let supplier = store::virtual_place(conn, LocationKind::Supplier)?;
            let reference = input
                .reference
                .clone()
                .unwrap_or_else(|| format!("receipt-{}", uuid::Uuid::now_v7().simple()));
            let mut movements = Vec::new();
            let mut parts = Vec::new();
            for (i, l) in input.lines.iter().enumerate() {
                let part = resolve_part_code(conn, &l.part_code, None).map_err(|e| e.with("line", i))?;
                rules::check_serials(part.serialized, l.qty, &l.serials).map_err(|m| {
                    AppError::invalid_fields(vec![FieldError::new(format!("lines[{i}].serials"), m)])
                })?;
                let id = store::post(
                    conn,
                    &Move {
                        part_id: part.id,
                        qty: l.qty,
                        from: &supplier,
                        to: &to,
                        reason: Reason::PurchaseReceipt,
                        reference: Some(&reference),
                        actor: Some(&caller.username),
                        at: now.naive_utc(),
                        serials: &l.serials,
                        from_reserved: false,
                        ticket_id: None,
                    },
                )?;
                movements.push(MovementOut {
                    id,
                    part_code: part.code.clone(),
                    qty: l.qty,
                    from: supplier.code.clone(),
                    to: to.code.clone(),
                    reason: Reason::PurchaseReceipt,
                    reference: Some(reference.clone()),
                    actor: Some(caller.username.clone()),
                    at: now,
                    serials: l.serials.clone(),
                });
                parts.push(part.id);
            }
            parts.sort_unstable();
            parts.dedup();
            let mut filled = Vec::new();
            for p in parts {
                filled.extend(arrivals.arrived(conn, p, &to, now)?);
            }
            Ok(ReceiptOut { reference, movements, backorders_filled: filled })
        })
        .await?;
    Ok(HttpResponse::Created().json(out))
}
