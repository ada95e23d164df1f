//! Shipping (spec section 6): shipments for what requests ship, courier tenders scored on
//! price and record, urgent shipments by standing rate card, tracking, and carrier claims for
//! damaged deliveries.

pub mod api;
pub mod rules;
pub mod seed;
pub mod service;
pub mod store;

pub fn routes<C: crate::http::Mount>(cfg: &mut C) {
    cfg.service(api::shipments::list_shipments)
        .service(api::shipments::get_shipment)
        .service(api::shipments::report_event)
        .service(api::tenders::list_tenders)
        .service(api::tenders::create_tender)
        .service(api::tenders::get_tender)
        .service(api::tenders::create_bid)
        .service(api::tenders::award)
        .service(api::claims::list_claims)
        .service(api::couriers::list_couriers)
        .service(api::couriers::get_courier)
        .service(api::couriers::put_courier)
        .service(api::couriers::get_rate_cards)
        .service(api::couriers::put_rate_cards)
        .service(api::couriers::get_weights)
        .service(api::couriers::put_weights);
}
