//! echelon: the after-sales spare-parts network service.

pub mod audit;
pub mod auth;
pub mod catalogue;
pub mod config;
pub mod db;
pub mod demo;
pub mod error;
pub mod http;
pub mod ledger;
pub mod loans;
pub mod money;
pub mod network;
pub mod openapi;
pub mod ops;
pub mod planning;
pub mod reports;
pub mod requests;
pub mod settlement;
pub mod shipping;
pub mod startup;
pub mod telemetry;
pub mod tickets;
