//! The catalogue in the database: diesel queries as plain functions over `&mut DbConn`, one
//! file per concept (parts, product models with compatibility, units sold).

pub mod models;
pub mod parts;
pub mod units;

/// Rows per multi-row INSERT: well under SQLite's and PostgreSQL's bind-parameter limits.
pub const CHUNK: usize = 500;

/// Runs a diesel query on the concrete connection inside a `DbConn`: multi-row INSERTs are not
/// available through the MultiConnection (its SQLite side lacks batch-insert support), but are
/// on each engine's own connection, inside the same transaction.
macro_rules! on_engine {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            crate::db::DbConn::Pg($c) => $body,
            crate::db::DbConn::Sqlite($c) => $body,
        }
    };
}
pub(crate) use on_engine;
