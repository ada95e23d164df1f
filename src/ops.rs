//! Operations endpoints: liveness, readiness, Prometheus metrics.

use actix_web::{get, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::AppError;
use crate::http::docs::E503;
use crate::http::Metrics;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
#[schema(example = json!({"status": "ok"}))]
pub struct Health {
    pub status: String,
    /// the database engine, on `/readyz`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// the streaming replica reads go to, on `/readyz` when `DATABASE_READ_URL` names one;
    /// its absence never makes the service unready (reads then run on the primary)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replica: Option<ReplicaHealth>,
}

/// The read replica as `/readyz` reports it.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"state": "streaming", "reads": "replica", "lag_bytes": 0, "lag_seconds": 0.0}))]
pub struct ReplicaHealth {
    /// `streaming`, `replay_paused`, `unreachable`, or `not_in_recovery` (the read URL names a
    /// server that is no standby)
    pub state: String,
    /// where reads go now: `replica`, or `primary` for a while after the replica could not be
    /// reached
    pub reads: String,
    /// WAL written on the primary that the replica has not replayed yet (absent when unknown)
    pub lag_bytes: Option<i64>,
    /// the age of the last replayed transaction while the replica has WAL left to replay; 0
    /// when it has replayed all it received (absent when unknown)
    pub lag_seconds: Option<f64>,
}

/// How long `/readyz` and `/metrics` wait for each server when they ask the replica its lag.
const REPLICA_WITHIN: std::time::Duration = std::time::Duration::from_millis(250);

/// Liveness: the process is up
#[utoipa::path(tag = "ops", responses((status = 200, description = "The process is up", body = Health)))]
#[get("/healthz")]
pub async fn healthz() -> web::Json<Health> {
    web::Json(Health { status: "ok".into(), database: None, replica: None })
}

/// How long `/readyz` waits for the database before it answers 503: under the 1-2 s timeout
/// an orchestrator's probe usually has.
const READY_WITHIN: std::time::Duration = std::time::Duration::from_millis(800);

/// Readiness: the database answers (503 within a second when it does not); a read replica's
/// state and lag are reported, and its absence leaves the service ready
#[utoipa::path(tag = "ops", responses((status = 200, description = "The process is up and its database answers", body = Health), E503))]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<web::Json<Health>, AppError> {
    // the primary's pools; a replica is reported below, never a reason to be unready
    let pools = [state.db.write.clone(), state.db.fresh.clone()];
    // the check runs on the blocking pool and is given up after READY_WITHIN: a pool that
    // waits for a connection that cannot be made, or a ping to a server that no longer
    // answers, must not hold the probe
    let check = web::block(move || {
        for pool in pools {
            crate::db::answers(&pool, READY_WITHIN)?;
        }
        Ok::<_, AppError>(())
    });
    match actix_web::rt::time::timeout(READY_WITHIN, check).await {
        Ok(Ok(result)) => result?,
        Ok(Err(e)) => return Err(AppError::internal(anyhow::anyhow!("{e}"))),
        Err(_) => return Err(AppError::unavailable("the database did not answer in time")),
    }
    let replica = state.db.replica_status(REPLICA_WITHIN).await.map(|r| ReplicaHealth {
        state: r.state.into(),
        reads: r.reads.into(),
        lag_bytes: r.lag_bytes,
        lag_seconds: r.lag_seconds,
    });
    Ok(web::Json(Health { status: "ready".into(), database: Some(state.db.backend.name().into()), replica }))
}

/// Prometheus metrics (text exposition format)
#[utoipa::path(
    tag = "ops",
    responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain; version=0.0.4"))
)]
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>, gauges: web::Data<Metrics>) -> HttpResponse {
    let pool = state.db.write.state();
    gauges.pool_connections.set(pool.connections as i64);
    gauges.pool_idle.set(pool.idle_connections as i64);
    if let Some(r) = state.db.replica_status(REPLICA_WITHIN).await {
        let counts = state.db.replica.as_ref().map(|r| &r.counts);
        gauges.replica(&r, counts);
    }
    // one cheap COUNT; a database that does not answer leaves the last value and the scrape
    // still succeeds
    let read = state.db.read_pool().await;
    let now = state.clock.now().naive_utc();
    let counted = web::block(move || {
        let mut conn = read.get().map_err(|e| e.to_string())?;
        let overdue = crate::tickets::store::count_overdue(&mut conn, now).map_err(|e| e.to_string())?;
        let pending = crate::webhooks::store::pending(&mut conn).map_err(|e| e.to_string())?;
        Ok::<_, String>((overdue, pending))
    })
    .await;
    match counted {
        Ok(Ok((overdue, pending))) => {
            gauges.tickets_overdue.set(overdue);
            gauges.webhook_pending.set(pending);
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "cannot count overdue tickets and pending webhooks for /metrics")
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot count overdue tickets and pending webhooks for /metrics")
        }
    }
    refresh_kpis(&state, &gauges).await;
    HttpResponse::Ok().content_type("text/plain; version=0.0.4; charset=utf-8").body(gauges.render())
}

/// The network KPIs of the last 30 days as gauges, recomputed at most once a minute.
async fn refresh_kpis(state: &web::Data<AppState>, gauges: &Metrics) {
    {
        let mut at = gauges.kpis_at.lock().unwrap_or_else(|e| e.into_inner());
        if at.is_some_and(|t| t.elapsed() < std::time::Duration::from_secs(60)) {
            return;
        }
        *at = Some(std::time::Instant::now());
    }
    let read = state.db.read_pool().await;
    let today = state.clock.now().date_naive();
    let computed = web::block(move || {
        let mut conn = read.get().map_err(|e| e.to_string())?;
        let from = today - chrono::Duration::days(29);
        crate::reports::kpis::compute(&mut conn, crate::reports::rules::Level::Network, from, today)
            .map_err(|e| e.to_string())
    })
    .await;
    let groups = match computed {
        Ok(Ok(g)) => g,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "cannot compute the KPIs for /metrics");
            return;
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot compute the KPIs for /metrics");
            return;
        }
    };
    let Some(g) = groups.first() else { return };
    let set = |name: &str, v: Option<f64>| {
        if let Some(v) = v {
            gauges.kpis.with_label_values(&[name]).set(v);
        }
    };
    set("fill_rate_units", g.fill_rate.units.value);
    set("fill_rate_lines", g.fill_rate.lines.value);
    set("fill_rate_within_lead_time", g.fill_rate.units_within_lead_time.value);
    set("stock_out_rate", g.stock_out_rate.value);
    set("on_time_delivery", g.on_time_delivery.overall.value);
    set("repair_cycle_median_hours", g.repair_cycle.all.median_hours);
    set("repair_cycle_p90_hours", g.repair_cycle.all.p90_hours);
    for s in &g.stock {
        set(&format!("turnover_{}", s.echelon), s.turnover);
        set(&format!("stock_value_{}", s.echelon), Some(s.value_at_end.minor() as f64 / 100.0));
    }
}
