//! Idempotency keys: the answer a request with a key got, replayed to its retries.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::idempotency_keys;
use crate::db::DbConn;

pub struct StoredAnswer {
    pub request_hash: String,
    pub status: i32,
    pub body: String,
}

pub fn idempotent_answer(conn: &mut DbConn, user_id: i64, key: &str) -> QueryResult<Option<StoredAnswer>> {
    let row: Option<(String, i32, String)> = idempotency_keys::table
        .find((user_id, key))
        .select((idempotency_keys::request_hash, idempotency_keys::status, idempotency_keys::body))
        .first(conn)
        .optional()?;
    Ok(row.map(|(request_hash, status, body)| StoredAnswer { request_hash, status, body }))
}

pub fn claim_key(
    conn: &mut DbConn,
    user_id: i64,
    key: &str,
    hash: &str,
    at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::user_id.eq(user_id),
            idempotency_keys::key.eq(key),
            idempotency_keys::request_hash.eq(hash),
            idempotency_keys::status.eq(0),
            idempotency_keys::body.eq(""),
            idempotency_keys::created_at.eq(at),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn store_answer(conn: &mut DbConn, user_id: i64, key: &str, status: i32, body: &str) -> QueryResult<()> {
    diesel::update(idempotency_keys::table.find((user_id, key)))
        .set((idempotency_keys::status.eq(status), idempotency_keys::body.eq(body)))
        .execute(conn)
        .map(|_| ())
}
