//! Parts requests (spec section 5): routing to a source with stock within the station's
//! allowance, atomic reservation, approval, pick/ship/receive, backorders.

pub mod api;
pub mod rules;
pub mod service;
pub mod store;

pub use service::{fill_backorders, BackorderFill};

pub fn routes<C: crate::http::Mount>(cfg: &mut C) {
    cfg.service(api::create_request)
        .service(api::list_requests)
        .service(api::get_request)
        .service(api::approve)
        .service(api::reject)
        .service(api::cancel)
        .service(api::pick)
        .service(api::ship)
        .service(api::receive)
        .service(api::close);
}
