//! Couriers with their delivery records, and the weights that score their bids.

use actix_web::{get, put, web};
use serde::Serialize;
use utoipa::ToSchema;

use super::E422Weights;
use crate::auth::{Caller, Role};
use crate::error::{AppError, FieldError};
use crate::http::docs::{E400, E401, E403, E415};
use crate::http::Json;
use crate::shipping::rules::{Record, Weights};
use crate::shipping::store;
use crate::state::AppState;

/// A courier and its delivery record.
#[derive(Debug, Serialize, ToSchema)]
pub struct CourierOut {
    pub username: String,
    pub name: String,
    pub service_areas: Vec<String>,
    pub record: Record,
    /// smoothed towards 90% while the record is short
    pub on_time_rate: f64,
    /// smoothed towards 1% while the record is short
    pub damage_rate: f64,
}

/// Couriers with their service areas and on-time and damage rates
#[utoipa::path(tag = "shipping", responses((status = 200, description = "The couriers with their service area and record", body = Vec<CourierOut>), E401, E403), security(("bearer" = ["admin", "warehouse", "finance", "courier"])))]
#[get("/couriers")]
pub async fn list_couriers(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<web::Json<Vec<CourierOut>>, AppError> {
    caller.require(super::READERS)?;
    let out = state
        .db
        .read(move |conn| {
            let couriers: Vec<(i64, String, String)> = store::couriers(conn)?
                .into_iter()
                .filter(|(id, _, _)| !caller.is(Role::Courier) || *id == caller.user_id)
                .collect();
            // each courier's record and areas, read once for all
            let ids: Vec<i64> = couriers.iter().map(|c| c.0).collect();
            let records = store::records(conn, &ids)?;
            let mut areas = store::areas_of(conn, &ids)?;
            Ok(couriers
                .into_iter()
                .map(|(id, username, name)| {
                    let record = records.get(&id).copied().unwrap_or_default();
                    CourierOut {
                        username,
                        name,
                        service_areas: areas.remove(&id).unwrap_or_default(),
                        on_time_rate: (record.on_time_rate() * 10_000.0).round() / 10_000.0,
                        damage_rate: (record.damage_rate() * 10_000.0).round() / 10_000.0,
                        record,
                    }
                })
                .collect::<Vec<_>>())
        })
        .await?;
    Ok(web::Json(out))
}

/// The weights of the tender score
#[utoipa::path(tag = "shipping", responses((status = 200, description = "The weights that score tender bids", body = Weights), E401, E403), security(("bearer" = ["admin", "warehouse", "finance", "courier"])))]
#[get("/tender-weights")]
pub async fn get_weights(state: web::Data<AppState>, caller: Caller) -> Result<web::Json<Weights>, AppError> {
    caller.require(super::READERS)?;
    Ok(web::Json(state.db.read(|conn| Ok(store::weights(conn)?)).await?))
}

/// Set the weights of the tender score (admin)
#[utoipa::path(tag = "shipping", request_body = Weights, responses((status = 200, description = "The weights as set", body = Weights), E400, E401, E403, E415, E422Weights), security(("bearer" = ["admin"])))]
#[put("/tender-weights")]
pub async fn put_weights(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<Weights>,
) -> Result<web::Json<Weights>, AppError> {
    caller.require(&[Role::Admin])?;
    let w = body.0;
    let bad: Vec<FieldError> = [
        ("price_weight", w.price_weight),
        ("late_weight", w.late_weight),
        ("damage_weight", w.damage_weight),
    ]
    .into_iter()
    .filter(|(_, v)| !(0..=1000).contains(v))
    .map(|(f, _)| FieldError::new(f, "must be between 0 and 1000 (percent)"))
    .collect();
    if !bad.is_empty() {
        return Err(AppError::invalid_fields(bad));
    }
    if w.price_weight == 0 {
        return Err(AppError::invalid_fields(vec![FieldError::new(
            "price_weight",
            "price must count for something",
        )]));
    }
    let now = state.clock.now();
    state.db.write(move |conn| Ok(store::set_weights(conn, &w, now.naive_utc())?)).await?;
    Ok(web::Json(w))
}
