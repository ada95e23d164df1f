//! The stock ledger (spec section 4): every quantity change is a movement between two
//! locations; balances are its projection, kept in the same transaction.

pub mod api;
pub mod arrivals;
pub mod audit;
pub mod rules;
pub mod seed;
pub mod store;

pub fn routes<C: crate::http::Mount>(cfg: &mut C) {
    cfg.service(api::create_receipt)
        .service(api::create_stock_count)
        .service(api::list_stock)
        .service(api::list_movements);
}
