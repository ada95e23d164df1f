//! Replenishment and multi-echelon planning (spec section 9): demand per part and stocking
//! location from history and from failure rates x installed base (`demand`), a baseline and a
//! multi-echelon (VARI-METRIC) policy (`policy`, `greedy`, `metric`), planning runs whose
//! proposals staff review and release into the ledger (`api`, `store`), a synthetic network
//! generator (`generate`) and a policy simulator (`simulate`).

pub mod api;
pub mod bench;
pub mod cli;
pub mod demand;
pub mod draws;
pub mod generate;
pub mod greedy;
pub mod history;
pub mod history_write;
pub mod inputs;
pub mod metric;
pub mod net;
pub mod policy;
pub mod proposals;
pub mod seed;
pub mod service;
pub mod sim_kpis;
pub mod simulate;
pub mod store;

use utoipa_actix_web::service_config::ServiceConfig;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(api::create_run)
        .service(api::get_run)
        .service(proposals::list_proposals)
        .service(proposals::get_proposal)
        .service(proposals::release);
}
