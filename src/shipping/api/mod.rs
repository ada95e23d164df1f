//! HTTP handlers of shipping, one file per resource: shipments and tracking, tenders with
//! their bids and awards, carrier claims, couriers and the tender weights.

pub mod claims;
pub mod couriers;
pub mod shipments;
pub mod tenders;
