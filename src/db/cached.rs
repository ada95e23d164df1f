//! Prepared-statement caching for the statements diesel will not cache by itself.
//!
//! Diesel keeps a prepared statement per connection for queries whose SQL it can prove to be
//! bounded, but it never caches an `UPDATE`, an `INSERT` of a struct with optional fields, or a
//! `sql_query`: those are parsed and planned by PostgreSQL (and compiled by SQLite) afresh at
//! every execution. Wrapped in [`Cached`], such a statement is cached by its SQL text like any
//! other, so the database parses it once per connection.
//!
//! Only for statements whose SQL takes a small, fixed number of shapes (fixed columns, no `IN`
//! lists): each distinct text stays prepared for the connection's lifetime.
//!
//! Only the loading methods (`load`, `get_result`, `get_results`) keep the wrapper's answer:
//! `execute` hands the statement on by reference, and diesel's `QueryFragment for &T` asks the
//! statement itself, which says no. So a cached `UPDATE` is written with `RETURNING` and loaded.

use diesel::backend::Backend;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::{QueryResult, RunQueryDsl};

/// A statement diesel should keep prepared, keyed by its SQL text and bind types.
#[derive(Debug, Clone, Copy)]
pub struct Cached<Q>(pub Q);

impl<Q> QueryId for Cached<Q> {
    type QueryId = ();
    // no static id: the statement cache keys the statement by its SQL text
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q, DB> QueryFragment<DB> for Cached<Q>
where
    Q: QueryFragment<DB>,
    DB: Backend,
{
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &DB) -> QueryResult<bool> {
        Ok(true)
    }
}

impl<Q: Query> Query for Cached<Q> {
    type SqlType = Q::SqlType;
}

impl<Q, Conn> RunQueryDsl<Conn> for Cached<Q> {}

/// `.cached()` on any statement.
pub trait CachedExt: Sized {
    fn cached(self) -> Cached<Self> {
        Cached(self)
    }
}

impl<Q> CachedExt for Q {}
