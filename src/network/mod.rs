//! The network: the tree of central warehouse, regional centres and stations, the virtual
//! locations of the ledger, and station tiers.

pub mod api;
pub mod grading;
pub mod rules;
pub mod station;
pub mod store;

use utoipa_actix_web::service_config::ServiceConfig;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(api::list_locations)
        .service(api::create_location)
        .service(api::get_location)
        .service(api::patch_location)
        .service(api::list_tiers)
        .service(grading::regrade_station)
        .service(grading::tier_history)
        .service(grading::tier_on_date)
        .service(grading::update_tier);
}
