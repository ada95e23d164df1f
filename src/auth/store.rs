//! Users in the database.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{locations, login_failures, users};
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
    pub created_at: NaiveDateTime,
    pub version: i64,
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

diesel::define_sql_function! {
    /// SQL `lower()`, the same on SQLite and PostgreSQL for ASCII (every username is ASCII).
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// The user and the code of its location, by its name in any case (the unique index
/// `users_username_any_case` of migration `000055` is on `lower(username)`).
pub fn find_by_username(conn: &mut DbConn, name: &str) -> QueryResult<Option<(UserRow, Option<String>)>> {
    users::table
        .left_join(locations::table)
        .filter(lower(users::username).eq(super::rules::username_key(name)))
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

/// A user's username.
pub fn username_of(conn: &mut DbConn, id: i64) -> QueryResult<Option<String>> {
    users::table.find(id).select(users::username).first(conn).optional()
}

/// The usernames of users by id, in one statement (for a page of rows naming users).
pub fn usernames_of(conn: &mut DbConn, ids: &[i64]) -> QueryResult<std::collections::BTreeMap<i64, String>> {
    if ids.is_empty() {
        return Ok(std::collections::BTreeMap::new());
    }
    let rows: Vec<(i64, String)> =
        users::table.filter(users::id.eq_any(ids)).select((users::id, users::username)).load(conn)?;
    Ok(rows.into_iter().collect())
}

/// What a user may see now, as a webhook delivery checks it: `None` when the user is disabled
/// or gone, `Some(None)` for a role that sees the whole network, `Some(Some(path))` for a
/// scoped one (its location's path).
pub fn scope_of_user(conn: &mut DbConn, id: i64) -> QueryResult<Option<Option<String>>> {
    let row: Option<(String, bool, Option<String>)> = users::table
        .left_join(locations::table)
        .filter(users::id.eq(id))
        .select((users::role, users::active, locations::path.nullable()))
        .first(conn)
        .optional()?;
    Ok(match row {
        Some((role, true, path)) => match role.parse::<crate::auth::Role>() {
            Ok(r) if !r.subscribes() => None,
            Ok(r) if !r.is_location_scoped() => Some(None),
            _ => path.map(Some),
        },
        _ => None,
    })
}

pub fn location_by_code(conn: &mut DbConn, code: &str) -> QueryResult<Option<UserLocation>> {
    // codes are upper-case, and one typed in lower case names the same location (as
    // `network::rules::canonical_code`, above this layer, reads it)
    let code = code.to_ascii_uppercase();
    locations::table.filter(locations::code.eq(code)).select(UserLocation::as_select()).first(conn).optional()
}

pub fn insert(conn: &mut DbConn, user: &NewUser<'_>) -> QueryResult<i64> {
    diesel::insert_into(users::table).values(user).returning(users::id).get_result(conn)
}

pub fn count(conn: &mut DbConn) -> QueryResult<i64> {
    users::table.count().get_result(conn)
}

/// The version and whether the user is active: the per-request check of a token (one
/// primary-key read).
pub fn version_of(conn: &mut DbConn, id: i64) -> QueryResult<Option<(i64, bool)>> {
    users::table.find(id).select((users::version, users::active)).first(conn).optional()
}

/// What a change of a user writes; each present field is set, and `version` goes up by one
/// when `bump` (a change of what the user's tokens stand for).
#[derive(Default)]
pub struct UserChanges {
    pub role: Option<String>,
    pub location_id: Option<Option<i64>>,
    pub active: Option<bool>,
    pub password_hash: Option<String>,
    pub display_name: Option<String>,
    pub bump: bool,
}

/// How many admins are active, their rows locked to the end of the transaction on PostgreSQL
/// (SQLite's write transaction holds the whole database): two admins disabling each other at
/// once are counted one after the other, and the second finds the first gone.
pub fn active_admins(conn: &mut DbConn) -> QueryResult<i64> {
    let admins =
        users::table.filter(users::role.eq("admin")).filter(users::active.eq(true)).select(users::id);
    let ids: Vec<i64> = match conn {
        DbConn::Pg(c) => admins.for_update().load(c)?,
        _ => admins.load(conn)?,
    };
    Ok(ids.len() as i64)
}

pub fn update(conn: &mut DbConn, id: i64, c: &UserChanges) -> QueryResult<()> {
    #[derive(AsChangeset)]
    #[diesel(table_name = users)]
    struct Set<'a> {
        role: Option<&'a str>,
        location_id: Option<Option<i64>>,
        active: Option<bool>,
        password_hash: Option<&'a str>,
        display_name: Option<&'a str>,
    }
    let set = Set {
        role: c.role.as_deref(),
        location_id: c.location_id,
        active: c.active,
        password_hash: c.password_hash.as_deref(),
        display_name: c.display_name.as_deref(),
    };
    let target = users::table.find(id);
    if c.bump {
        diesel::update(target).set((set, users::version.eq(users::version + 1))).execute(conn)?;
    } else if c.role.is_some()
        || c.location_id.is_some()
        || c.active.is_some()
        || c.display_name.is_some()
        || c.password_hash.is_some()
    {
        diesel::update(target).set(set).execute(conn)?;
    }
    Ok(())
}

/// One page of users ordered by username, after `after`, with their locations' codes.
pub fn list(
    conn: &mut DbConn,
    role: Option<&str>,
    location_id: Option<i64>,
    active: Option<bool>,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<(UserRow, Option<String>)>> {
    let mut q = users::table
        .left_join(locations::table)
        .select((UserRow::as_select(), locations::code.nullable()))
        .order(users::username)
        .limit(limit)
        .into_boxed();
    if let Some(r) = role {
        q = q.filter(users::role.eq(r.to_string()));
    }
    if let Some(l) = location_id {
        q = q.filter(users::location_id.eq(l));
    }
    if let Some(a) = active {
        q = q.filter(users::active.eq(a));
    }
    if let Some(a) = after {
        q = q.filter(users::username.gt(a.to_string()));
    }
    q.load(conn)
}

/// A counted failure: the window it belongs to and the failures in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failures {
    pub window_start: NaiveDateTime,
    pub failures: i32,
}

/// The failures counted for a username and for an address (`None` where there is no row).
pub fn login_failures_of(
    conn: &mut DbConn,
    username: &str,
    address: &str,
) -> QueryResult<(Option<Failures>, Option<Failures>)> {
    let rows: Vec<(String, NaiveDateTime, i32)> = login_failures::table
        .filter(login_failures::scope.eq("username").and(login_failures::subject.eq(username)))
        .or_filter(login_failures::scope.eq("address").and(login_failures::subject.eq(address)))
        .select((login_failures::scope, login_failures::window_start, login_failures::failures))
        .load(conn)?;
    let of = |scope: &str| {
        rows.iter()
            .find(|(s, _, _)| s == scope)
            .map(|(_, window_start, failures)| Failures { window_start: *window_start, failures: *failures })
    };
    Ok((of("username"), of("address")))
}

/// Counts one failure for `scope` (`username` or `address`) and `subject`: one more in the
/// current window, or the first of a new window when the row's window started at or before
/// `window_cutoff`. One statement, atomic under concurrent processes.
pub fn count_login_failure(
    conn: &mut DbConn,
    scope: &str,
    subject: &str,
    now: NaiveDateTime,
    window_cutoff: NaiveDateTime,
) -> QueryResult<()> {
    use diesel::sql_types::{Text, Timestamp};
    const SQL: &str = "INSERT INTO login_failures (scope, subject, window_start, failures) \
        VALUES (?1, ?2, ?3, 1) ON CONFLICT (scope, subject) DO UPDATE SET \
        failures = CASE WHEN login_failures.window_start <= ?4 THEN 1 ELSE login_failures.failures + 1 END, \
        window_start = CASE WHEN login_failures.window_start <= ?4 THEN excluded.window_start \
        ELSE login_failures.window_start END";
    let text: std::borrow::Cow<'static, str> = match conn {
        DbConn::Pg(_) => SQL.replace('?', "$").into(),
        DbConn::Sqlite(_) => SQL.into(),
    };
    crate::on_backend!(conn, |c| diesel::sql_query(text.as_ref())
        .bind::<Text, _>(scope)
        .bind::<Text, _>(subject)
        .bind::<Timestamp, _>(now)
        .bind::<Timestamp, _>(window_cutoff)
        .execute(c))?;
    Ok(())
}

/// Clears a username's failures (after a successful login).
pub fn clear_login_failures(conn: &mut DbConn, username: &str) -> QueryResult<()> {
    diesel::delete(
        login_failures::table
            .filter(login_failures::scope.eq("username"))
            .filter(login_failures::subject.eq(username)),
    )
    .execute(conn)?;
    Ok(())
}

/// Drops the rows whose window has ended, so that guessed usernames do not pile up.
pub fn forget_old_login_failures(conn: &mut DbConn, window_cutoff: NaiveDateTime) -> QueryResult<()> {
    diesel::delete(login_failures::table.filter(login_failures::window_start.le(window_cutoff)))
        .execute(conn)?;
    Ok(())
}
