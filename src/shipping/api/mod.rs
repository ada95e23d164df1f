//! HTTP handlers of shipping, one file per resource: shipments and tracking, tenders with
//! their bids and awards, carrier claims, couriers and the tender weights.

pub mod claims;
pub mod couriers;
pub mod shipments;
pub mod tenders;

use crate::auth::Role;

/// Who may read tenders, couriers and the tender weights (a courier the tenders on its lanes, a
/// warehouse user those of its locations).
const READERS: &[Role] = &[Role::Admin, Role::Warehouse, Role::Finance, Role::Courier];
