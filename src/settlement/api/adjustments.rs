//! Adjustments finance posts to a station, landing in the next open period when theirs is closed.

use actix_web::{post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::{AppError, FieldError};
use crate::http::docs::{E400, E401, E403, E415};
use crate::http::Json;
use crate::money::Money;
use crate::network::rules::LocationKind;
use crate::network::store as network;
use crate::settlement::rules::Period;
use crate::settlement::service;
use crate::state::AppState;
use crate::validate::{not_blank, Validate};

use super::*;

/// A correction to a station's settlement.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"station": "ST-TZ-001", "period": "2026-11", "amount": "-25.00",
    "reason": "duplicate labour claim on ticket 41"}))]
#[validate(rules = adjustment_rules)]
pub struct AdjustmentIn {
    #[schema(min_length = 1, max_length = 64)]
    pub station: String,
    /// the period it corrects, `YYYY-MM`; a closed period's adjustment lands in the next open one
    #[schema(pattern = r"^[2-9][0-9]{3}-(0[1-9]|1[0-2])$")]
    pub period: String,
    /// signed: positive pays the station, negative charges it; not zero
    pub amount: Money,
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": 1, "station": "ST-TZ-001", "requested_period": "2026-11", "period": "2026-12",
    "amount": "-25.00", "reason": "duplicate labour claim on ticket 41", "posted_by": "finance",
    "posted_at": "2026-12-03T09:00:00Z"}))]
pub struct AdjustmentOut {
    pub id: i64,
    pub station: String,
    /// the period it corrects, as asked (the files' `adjusts_period`)
    pub requested_period: String,
    /// where it is settled: the requested period, or the next open one when that was closed
    pub period: String,
    pub amount: Money,
    pub reason: String,
    pub posted_by: String,
    /// when it was posted (the files' `posted_on` is its day)
    pub posted_at: DateTime<Utc>,
}

fn adjustment_rules(a: &AdjustmentIn, _at: &str, errors: &mut Vec<FieldError>) {
    if Period::parse(&a.period).is_none() {
        errors.push(FieldError::new("period", "must be a month such as 2026-11 (YYYY-MM)"));
    }
    if a.amount.minor() == 0 {
        errors.push(FieldError::new("amount", "must not be zero"));
    }
    not_blank(errors, "reason", Some(&a.reason));
}

/// Post a settlement adjustment (finance, admin)
#[utoipa::path(
    tag = "finance",
    request_body = AdjustmentIn,
    responses((status = 201, description = "The adjustment posted, and the period it landed in", body = AdjustmentOut), E400, E401, E403, E404AdjustmentStation, E415, E422Adjustment),
    security(("bearer" = ["admin", "finance"]))
)]
#[post("/settlements/adjustments")]
pub async fn post_adjustment(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<AdjustmentIn>,
) -> Result<HttpResponse, AppError> {
    caller.require(FINANCE)?;
    let a = body.0;
    let period = Period::parse(&a.period)
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("a checked period does not parse")))?;
    let reason = a.reason.trim().to_string();
    let now = state.clock.now();
    // as a statement of a month not yet begun is refused, so is an adjustment for one
    if period.first_day() > now.date_naive() {
        return Err(AppError::invalid_fields(vec![FieldError::new(
            "period",
            format!("{period} has not begun; an adjustment is for this month or one before it"),
        )]));
    }
    let out = state
        .db
        .write(move |conn| {
            let st = network::by_code(conn, &a.station)?
                .filter(|r| r.kind == LocationKind::Station)
                .ok_or_else(|| AppError::not_found(format!("no station {}", a.station)))?;
            let (id, landed) = service::adjust(
                conn,
                st.id,
                period,
                a.amount.minor(),
                &reason,
                &caller.username,
                now.naive_utc(),
            )?;
            Ok(AdjustmentOut {
                id,
                station: st.code,
                requested_period: period.to_string(),
                period: landed.to_string(),
                amount: a.amount,
                reason,
                posted_by: caller.username.clone(),
                posted_at: now,
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(out))
}
