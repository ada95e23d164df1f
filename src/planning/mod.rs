//! Replenishment and multi-echelon planning (spec section 9): demand per part and stocking
//! location from history and from failure rates x installed base (`demand`), a baseline and a
//! multi-echelon (VARI-METRIC) policy (`policy`, `greedy`, `metric`), planning runs whose
//! proposals staff review and release into the ledger (`api`, `store`). The synthetic network
//! generator and the policy simulator are tools of the binary (`src/tools/planning`).

pub mod api;
pub mod demand;
pub mod greedy;
pub mod inputs;
pub mod levels;
pub mod metric;
pub mod net;
pub mod policy;
pub mod proposals;
pub mod review;
pub mod service;
pub mod store;

pub fn routes<C: crate::http::Mount>(cfg: &mut C) {
    cfg.service(api::create_run)
        .service(api::get_run)
        .service(levels::list_levels)
        .service(proposals::list_proposals)
        .service(proposals::get_proposal)
        .service(proposals::release);
}
