//! The integration suite: the real HTTP stack on a random port against real SQLite files and a
//! real PostgreSQL cluster (see helpers.rs and pg.rs).

mod helpers;
mod pg;

mod catalogue;
mod errors;
mod foundation;
mod ledger_props;
mod planning;
mod processes;
mod requests;
mod schema;
