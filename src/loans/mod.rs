//! Loans and core returns (spec section 8): parts a technician borrows from the station for a
//! ticket, each line reconciled exactly once (core return checked against the factory record,
//! fee, or unused return through inspection), and overdue loans.

pub mod api;
pub mod rules;
pub mod service;
pub mod store;

pub use store::{open_lines, overdue_of, overdue_value, OpenLine};

pub fn routes<C: crate::http::Mount>(cfg: &mut C) {
    cfg.service(api::create_loan)
        .service(api::list_loans)
        .service(api::get_loan)
        .service(api::core_return)
        .service(api::fee)
        .service(api::unused_return)
        .service(api::list_inspections)
        .service(api::inspection_result);
}
