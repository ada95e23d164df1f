//! Users in the database.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{locations, users};
use crate::db::DbConn;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub password_hash: String,
    pub role: String,
    pub location_id: Option<i64>,
    pub display_name: String,
    pub active: bool,
}

#[derive(Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub username: &'a str,
    pub password_hash: &'a str,
    pub role: &'a str,
    pub location_id: Option<i64>,
    pub display_name: &'a str,
    pub active: bool,
    pub created_at: NaiveDateTime,
}

/// The user and the code of its location.
pub fn find_by_username(conn: &mut DbConn, name: &str) -> QueryResult<Option<(UserRow, Option<String>)>> {
    users::table
        .left_join(locations::table)
        .filter(users::username.eq(name))
        .select((UserRow::as_select(), locations::code.nullable()))
        .first(conn)
        .optional()
}

/// A location as users and scopes need it: its id, kind and materialised path. Read here
/// rather than through `network`, which sits above `auth` in the layer order.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = locations)]
pub struct UserLocation {
    pub id: i64,
    pub kind: String,
    pub path: String,
}

pub fn location_by_code(conn: &mut DbConn, code: &str) -> QueryResult<Option<UserLocation>> {
    locations::table.filter(locations::code.eq(code)).select(UserLocation::as_select()).first(conn).optional()
}

pub fn insert(conn: &mut DbConn, user: &NewUser<'_>) -> QueryResult<i64> {
    diesel::insert_into(users::table).values(user).returning(users::id).get_result(conn)
}

pub fn count(conn: &mut DbConn) -> QueryResult<i64> {
    users::table.count().get_result(conn)
}
