//! echelon: the after-sales spare-parts network service.
//!
//! The modules are grouped by layer, lowest first; ARCHITECTURE.md gives the order within each
//! group. A module may use the modules before it in that order, never one after it
//! (`tests/api/architecture.rs` checks it).

// foundation
pub mod config;
pub mod db;
pub mod error;
pub mod http;
pub mod mem;
pub mod money;
pub mod state;
pub mod telemetry;
pub mod validate;
// who is calling
pub mod auth;
// running figures the domains feed through narrow functions
pub mod events;
pub mod outstanding;
pub mod rollup;
// domain cores, each with its handlers
pub mod catalogue;
pub mod ledger;
pub mod loans;
pub mod network;
pub mod planning;
pub mod reports;
pub mod requests;
pub mod settlement;
pub mod shipping;
pub mod tickets;
pub mod webhooks;
// composition
pub mod audit;
pub mod demo;
pub mod openapi;
pub mod ops;
pub mod routes;
pub mod startup;
