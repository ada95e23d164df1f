//! The catalogue in the database: diesel queries as plain functions over `&mut DbConn`, one
//! file per concept (parts, product models with compatibility, units sold).

pub mod models;
pub mod parts;
pub mod units;

/// Rows per multi-row INSERT: well under SQLite's and PostgreSQL's bind-parameter limits.
pub const CHUNK: usize = 500;
