//! The network: the tree of central warehouse, regional centres and stations, the virtual
//! locations of the ledger, and station tiers.

pub mod api;
pub mod grading;
pub mod rules;
pub mod station;
pub mod store;

use crate::error::{AppError, Problem};

pub fn routes<C: crate::http::Mount>(cfg: &mut C) {
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

/// The refusal of new work at a location that is not active (closed: `PATCH /locations/{code}`
/// with `active: false`): 409 `location_inactive` naming it in `location`. What is already
/// under way there (a request raised, a shipment sent, a ticket taken in, a loan out) goes on;
/// reactivated, the location takes new work again.
pub fn inactive(code: &str, refused: &str) -> AppError {
    AppError::conflict(Problem::LocationInactive, format!("{code} is inactive: {refused}"))
        .with("location", code)
}

/// [`inactive`] unless the location is active.
pub fn require_active(row: &store::LocationRow, refused: &str) -> Result<(), AppError> {
    if row.active {
        Ok(())
    } else {
        Err(inactive(&row.code, refused))
    }
}
