//! The integration suite: the real HTTP stack on a random port against real SQLite files and a
//! real PostgreSQL cluster (see helpers.rs and pg.rs).

mod builders;
mod helpers;
mod pg;

mod architecture;
mod authz;
mod authz_order;
mod bodies;
mod catalogue;
mod cli;
mod crash;
mod demo;
mod docs;
mod edges;
mod errors;
mod examples_on_demo;
mod follow_ups;
mod foundation;
mod history_seed;
mod hot_rows;
mod inactive_locations;
mod kpi_rollup;
mod kpis;
mod ledger_props;
mod limits;
mod loans;
mod outstanding;
mod pages;
mod partitions;
mod planning;
mod processes;
mod races;
mod replica;
mod reports;
mod requests;
mod schema;
mod settlement;
mod settlement_seed;
mod shipping;
mod states;
mod ticket_access;
mod ticket_links;
mod tickets;
mod users;
mod webhooks;
