//! Reports: the network's KPIs (spec section 1's figures, issue 13).

pub mod history;
pub mod kpis;
pub mod rules;
pub mod store;

use utoipa_actix_web::service_config::ServiceConfig;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(kpis::kpis).service(history::kpi_history).service(history::kpi_sparkline);
}
