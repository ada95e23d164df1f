//! Finance settlement (spec section 10): per station and month, labour at the tier rate in
//! force on each completion date, out-of-warranty parts sold, in-warranty parts at cost,
//! overdue cores, adjustments and the net payable; streamed CSV/XLSX exports reconciled to
//! the tickets and the ledger; period close into a snapshot that never changes.

pub mod api;
pub mod export;
pub mod lines;
pub mod rules;
pub mod service;
pub mod store;
pub mod stream;

pub fn routes<C: crate::http::Mount>(cfg: &mut C) {
    cfg.service(api::settlements).service(api::post_adjustment).service(api::close_period);
}
