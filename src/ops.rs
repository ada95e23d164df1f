//! Operations endpoints: liveness, readiness, Prometheus metrics.

use actix_web::{get, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::AppError;
use crate::http::docs::E503;
use crate::startup::AppState;

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"status": "ok"}))]
pub struct Health {
    pub status: String,
    /// the database engine, on `/readyz`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
}

/// Liveness: the process is up
#[utoipa::path(tag = "ops", responses((status = 200, body = Health)))]
#[get("/healthz")]
pub async fn healthz() -> web::Json<Health> {
    web::Json(Health { status: "ok".into(), database: None })
}

/// Readiness: the database answers
#[utoipa::path(tag = "ops", responses((status = 200, body = Health), E503))]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<web::Json<Health>, AppError> {
    let pools = [state.db.write.clone(), state.db.read.clone()];
    web::block(move || {
        for pool in pools {
            let mut conn = pool.get()?;
            crate::db::ping(&mut conn).map_err(|e| {
                tracing::warn!(error = %e, "readiness check failed");
                AppError::unavailable("the database does not answer")
            })?;
        }
        Ok::<_, AppError>(())
    })
    .await
    .map_err(|e| AppError::internal(anyhow::anyhow!("{e}")))??;
    Ok(web::Json(Health { status: "ready".into(), database: Some(state.db.backend.name().into()) }))
}

/// Prometheus metrics (text exposition format)
#[utoipa::path(
    tag = "ops",
    responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain; version=0.0.4"))
)]
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let pool = state.db.write.state();
    state.metrics.pool_connections.set(pool.connections as i64);
    state.metrics.pool_idle.set(pool.idle_connections as i64);
    HttpResponse::Ok().content_type("text/plain; version=0.0.4; charset=utf-8").body(state.metrics.render())
}
