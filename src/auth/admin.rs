//! Managing users, for the API (`/api/v1/users`) and the CLI (`echelon user ...`) alike:
//! create, read, list, and change a role, location, active flag, password or display name.
//! A change of what a token stands for (role, location, active, password) raises the user's
//! `version`, which refuses every token issued before it (see `Caller`).

use chrono::NaiveDateTime;
use serde::Serialize;
use utoipa::ToSchema;

use super::rules::{username_fault, username_key, Role};
use super::store::{self, NewUser, UserChanges, UserRow};
use crate::db::DbConn;
use crate::error::{AppError, FieldError, Problem};

/// A user as an admin sees it (never the password hash).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "username": "tech-st-tz-002", "role": "technician", "location": "ST-TZ-001",
    "display_name": "Li Wei", "active": true, "created_at": "2026-12-05T09:30:00Z"
}))]
pub struct UserOut {
    pub username: String,
    pub role: Role,
    /// the location code of a warehouse, station or technician user
    pub location: Option<String>,
    pub display_name: String,
    /// a disabled user cannot log in and its tokens are refused
    pub active: bool,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

fn out(row: UserRow, location: Option<String>) -> Result<UserOut, AppError> {
    let role: Role = row.role.parse().map_err(|e: String| AppError::internal(anyhow::anyhow!(e)))?;
    Ok(UserOut {
        username: row.username,
        role,
        location,
        display_name: row.display_name,
        active: row.active,
        created_at: row.created_at.and_utc(),
    })
}

/// The location a user of `role` belongs to, by code: 404 for an unknown code, 422 when the
/// role needs another kind of location, none, or one.
fn location_for(conn: &mut DbConn, role: Role, location: Option<&str>) -> Result<Option<i64>, AppError> {
    match (role.required_location_kinds(), location) {
        (Some(kinds), Some(code)) => {
            let loc = store::location_by_code(conn, code)?
                .ok_or_else(|| AppError::not_found(format!("location {code} not found")))?;
            if !kinds.contains(&loc.kind.as_str()) {
                return Err(AppError::unprocessable(
                    Problem::InvalidLocation,
                    format!("a {role} user belongs to a {}, not a {}", kinds.join(" or "), loc.kind),
                ));
            }
            Ok(Some(loc.id))
        }
        (Some(kinds), None) => Err(AppError::unprocessable(
            Problem::InvalidLocation,
            format!("a {role} user needs a location (a {})", kinds.join(" or ")),
        )),
        (None, Some(_)) => Err(AppError::unprocessable(
            Problem::InvalidLocation,
            format!("a {role} user has no location; send location: null (CLI: --no-location)"),
        )),
        (None, None) => Ok(None),
    }
}

fn unknown(username: &str) -> AppError {
    AppError::not_found(format!("user {username} not found"))
}

/// A new user: the password is already hashed (Argon2id takes its time off the transaction).
pub struct NewUserSpec<'a> {
    pub username: &'a str,
    pub role: Role,
    pub location: Option<&'a str>,
    pub display_name: Option<&'a str>,
    pub password_hash: &'a str,
}

/// Creates a user; 409 when the username is taken, in any case (`ST-TZ-001` is `st-tz-001`).
pub fn create(conn: &mut DbConn, spec: &NewUserSpec<'_>, now: NaiveDateTime) -> Result<UserOut, AppError> {
    if let Some(fault) = username_fault(spec.username) {
        return Err(AppError::invalid_fields(vec![FieldError::new("username", fault)]));
    }
    let location_id = location_for(conn, spec.role, spec.location)?;
    if let Some((taken, _)) = store::find_by_username(conn, spec.username)? {
        return Err(AppError::conflict(
            Problem::AlreadyExists,
            format!(
                "a user named {} already exists (a username is one account whatever its case)",
                taken.username
            ),
        ));
    }
    store::insert(
        conn,
        &NewUser {
            username: spec.username,
            password_hash: spec.password_hash,
            role: spec.role.as_str(),
            location_id,
            display_name: spec.display_name.unwrap_or(spec.username),
            active: true,
            created_at: now,
        },
    )?;
    get(conn, spec.username)
}

pub fn get(conn: &mut DbConn, username: &str) -> Result<UserOut, AppError> {
    let (row, location) = store::find_by_username(conn, username)?.ok_or_else(|| unknown(username))?;
    out(row, location)
}

/// Filters of the user list.
#[derive(Debug, Default)]
pub struct UserFilter {
    pub role: Option<Role>,
    pub location: Option<String>,
    pub active: Option<bool>,
}

/// Users ordered by username, after `after`, at most `limit`.
pub fn list(
    conn: &mut DbConn,
    filter: &UserFilter,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<UserOut>, AppError> {
    let location_id = match &filter.location {
        None => None,
        Some(code) => match store::location_by_code(conn, code)? {
            Some(l) => Some(l.id),
            None => return Err(AppError::not_found(format!("location {code} not found"))),
        },
    };
    let rows = store::list(conn, filter.role.map(|r| r.as_str()), location_id, filter.active, after, limit)?;
    rows.into_iter().map(|(row, loc)| out(row, loc)).collect()
}

/// A change of a user; absent fields stay as they are. `location: Some(None)` removes it.
#[derive(Debug, Default)]
pub struct UserChange {
    pub role: Option<Role>,
    pub location: Option<Option<String>>,
    pub active: Option<bool>,
    /// already hashed
    pub password_hash: Option<String>,
    pub display_name: Option<String>,
}

/// Changes a user. `by` is the admin making the change: an admin may not disable or demote
/// their own account (409), so that the change cannot lock out the one who makes it.
pub fn change(
    conn: &mut DbConn,
    username: &str,
    change: UserChange,
    by: Option<&str>,
) -> Result<UserOut, AppError> {
    let (row, current_location) =
        store::find_by_username(conn, username)?.ok_or_else(|| unknown(username))?;
    let current_role: Role = row.role.parse().map_err(|e: String| AppError::internal(anyhow::anyhow!(e)))?;
    // the path may write the name in any case: the admin is who the row is
    let by_self = by.is_some_and(|b| username_key(b) == username_key(&row.username));
    if by_self && (change.active == Some(false) || change.role.is_some_and(|r| r != Role::Admin)) {
        return Err(AppError::conflict(
            Problem::Conflict,
            "an admin may not disable or demote their own account; ask another admin",
        ));
    }
    let role = change.role.unwrap_or(current_role);
    // the network keeps an active admin: the last one is not disabled or demoted, from the
    // console either
    let leaves_admins =
        current_role == Role::Admin && row.active && (role != Role::Admin || change.active == Some(false));
    if leaves_admins && store::active_admins(conn)? <= 1 {
        return Err(AppError::conflict(
            Problem::Conflict,
            format!("{username} is the last active admin; make another admin first"),
        ));
    }
    let location_id = if change.role.is_some() || change.location.is_some() {
        let location = change.location.clone().unwrap_or(current_location);
        Some(location_for(conn, role, location.as_deref())?)
    } else {
        None
    };
    if current_role == Role::Technician
        && (role != current_role || location_id.is_some_and(|l| l != row.location_id))
    {
        technician_free(conn, &row)?;
    }
    // a token names its user's version: only a real change of what it grants logs the user
    // out (the same role, location or flag sent again does not); a password set always does
    let bump = role != current_role
        || location_id.is_some_and(|l| l != row.location_id)
        || change.active.is_some_and(|a| a != row.active)
        || change.password_hash.is_some();
    store::update(
        conn,
        row.id,
        &UserChanges {
            role: change.role.map(|r| r.as_str().to_string()),
            location_id,
            active: change.active,
            password_hash: change.password_hash,
            display_name: change.display_name,
            bump,
        },
    )?;
    if role != current_role || location_id.is_some_and(|l| l != row.location_id) {
        subscriptions_follow(conn, &row, role, location_id.flatten())?;
    }
    get(conn, username)
}

/// A user's webhook subscriptions follow the user: moved, they receive the new location's
/// events (a warehouse its subtree's, admin and finance the network's); in a role that receives
/// none (a technician, a courier), or at a scope that never receives a type they take (the
/// network's `period.closed` at a location), they are paused with the reason, for an admin to
/// read or delete. Deliveries are checked against the owner again when sent.
fn subscriptions_follow(
    conn: &mut DbConn,
    row: &UserRow,
    role: Role,
    location: Option<i64>,
) -> Result<(), AppError> {
    use crate::db::schema::{locations, webhook_subscriptions as subs};
    use diesel::prelude::*;
    let scope: Option<String> = match location.filter(|_| role.is_location_scoped()) {
        Some(id) => Some(locations::table.find(id).select(locations::path).first(conn)?),
        None => None,
    };
    let mine = subs::table.filter(subs::owner_id.eq(row.id));
    diesel::update(mine).set(subs::scope_path.eq(&scope)).execute(conn)?;
    let pause = |conn: &mut DbConn, which: Vec<i64>, why: String| -> QueryResult<usize> {
        diesel::update(subs::table.filter(subs::id.eq_any(which)).filter(subs::active.eq(true)))
            .set((subs::active.eq(false), subs::paused_reason.eq(Some(why))))
            .execute(conn)
    };
    let all: Vec<(i64, String)> = mine.select((subs::id, subs::event_types)).load(conn)?;
    if !role.subscribes() {
        let why = format!("paused: its owner {} is now a {role} user, who receives no events", row.username);
        pause(conn, all.into_iter().map(|(id, _)| id).collect(), why)?;
    } else if scope.is_some() {
        let network: Vec<i64> = all
            .into_iter()
            .filter(|(_, t)| t.split(',').any(|t| t == "period.closed"))
            .map(|(id, _)| id)
            .collect();
        let why = format!(
            "paused: its owner {} now receives one location's events, and period.closed is the whole network's",
            row.username
        );
        pause(conn, network, why)?;
    }
    Ok(())
}

/// A technician leaves its station (another station, another role) only with nothing of the
/// station's in hand: no loan line still open (the parts are in its custody at that station)
/// and no ticket of that station still dispatched to it, on site, awaiting parts or unresolved
/// (409 naming them). Otherwise the new station would read the old one's loans through the
/// custody, and the technician would go on working the old station's tickets.
fn technician_free(conn: &mut DbConn, row: &UserRow) -> Result<(), AppError> {
    use crate::db::schema::{loan_lines, loans, tickets};
    use diesel::prelude::*;
    let open_loans: Vec<i64> = loans::table
        .inner_join(loan_lines::table.on(loan_lines::loan_id.eq(loans::id)))
        .filter(loans::technician_id.eq(row.id))
        .filter(loan_lines::status.eq("open"))
        .select(loans::id)
        .distinct()
        .order(loans::id.asc())
        .load(conn)?;
    let active: Vec<i64> = tickets::table
        .filter(tickets::technician_id.eq(row.id))
        .filter(tickets::status.eq_any(["dispatched", "on_site", "awaiting_parts", "unresolved"]))
        .select(tickets::id)
        .order(tickets::id.asc())
        .load(conn)?;
    if open_loans.is_empty() && active.is_empty() {
        return Ok(());
    }
    let held: Vec<String> = open_loans
        .iter()
        .map(|l| format!("loan {l} (open lines)"))
        .chain(active.iter().map(|t| format!("ticket {t}")))
        .collect();
    Err(AppError::conflict(
        Problem::Conflict,
        format!(
            "{} still holds work of its station: {}; reconcile the loans and hand the tickets to another technician first",
            row.username,
            held.join(", ")
        ),
    )
    .with("held", held))
}

/// Adds a user in one write transaction (the demo loader's and the test builders' way): the
/// role by name, the password in clear, hashed here. The refusal as one line.
pub fn add_user(
    conn: &mut DbConn,
    username: &str,
    role: &str,
    location: Option<&str>,
    display_name: Option<&str>,
    password: &str,
) -> Result<(), String> {
    let role: Role = role.parse()?;
    if let Some(fault) = super::rules::password_fault(password) {
        return Err(format!("the password {fault}"));
    }
    let hash = super::rules::hash_password(password);
    let spec = NewUserSpec { username, role, location, display_name, password_hash: &hash };
    let now = chrono::Utc::now().naive_utc();
    crate::db::write_tx(conn, |c| create(c, &spec, now)).map(|_| ()).map_err(|e: AppError| e.detail)
}
