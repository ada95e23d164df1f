//! Shipping (spec section 6): shipments for what requests ship, courier tenders scored on
//! price and record, urgent shipments by standing rate card, tracking, and carrier claims for
//! damaged deliveries.

pub mod api;
pub mod rules;
pub mod seed;
pub mod service;
pub mod store;

use utoipa_actix_web::service_config::ServiceConfig;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(api::list_shipments)
        .service(api::get_shipment)
        .service(api::report_event)
        .service(api::list_tenders)
        .service(api::create_tender)
        .service(api::get_tender)
        .service(api::create_bid)
        .service(api::award)
        .service(api::list_claims)
        .service(api::list_couriers)
        .service(api::get_weights)
        .service(api::put_weights);
}
