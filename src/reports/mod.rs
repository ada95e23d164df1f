//! Reports: the network's KPIs (spec section 1's figures, issue 13), the weekly service
//! report, defect analysis and quality alerts (section 11).

pub mod alerts;
mod buckets;
pub mod cycles;
pub mod defects;
pub mod history;
pub mod kpis;
pub mod rules;
pub mod store;
pub mod weekly;

pub fn routes<C: crate::http::Mount>(cfg: &mut C) {
    cfg.service(kpis::kpis)
        .service(history::kpi_history)
        .service(history::kpi_sparkline)
        .service(weekly::weekly)
        .service(defects::defects)
        .service(alerts::quality_alerts);
}
