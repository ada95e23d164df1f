//! HTTP handlers of user management (admin only): list, create, read and change users.

use actix_web::{get, patch, post, web, HttpResponse};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::admin::{self, NewUserSpec, UserChange, UserFilter, UserOut};
use super::rules::{hash_password, username_fault, Role};
use super::Caller;
use crate::error::{AppError, FieldError};
use crate::http::docs::{E400, E401, E403, E415};
use crate::http::pagination::PageRequest;
use crate::http::{double_option, not_null, Json, Page, Query};
use crate::state::AppState;
use crate::validate::{not_blank, one_line, Validate};

#[derive(Debug, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UserQuery {
    /// only users of this role
    pub role: Option<Role>,
    /// only users of this location code
    #[param(max_length = 64)]
    pub location: Option<String>,
    /// only active (`true`) or disabled (`false`) users
    pub active: Option<bool>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: UserPage,
}

/// The page parameters of the user list: its cursor is a username.
#[derive(Debug, Default, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
pub struct UserPage {
    /// page size, 1-500 (default 50)
    #[param(minimum = 1, maximum = 500)]
    #[serde(default, deserialize_with = "crate::http::pagination::number")]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page: the last username on it
    #[param(min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")]
    pub cursor: Option<String>,
}

/// List users (admin)
///
/// Ordered by username; the cursor is the last username of the previous page (a text that is
/// no username's form is 400, as a cursor that is no id is in the other lists). An unknown
/// `location` is 404, as everywhere a location is named.
#[utoipa::path(
    tag = "users",
    params(UserQuery, UserPage),
    responses((status = 200, description = "The page of users, ordered by username", body = Page<UserOut>), E400, E401, E403, E404UserLocation),
    security(("bearer" = ["admin"]))
)]
#[get("/users")]
pub async fn list_users(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<UserQuery>,
) -> Result<web::Json<Page<UserOut>>, AppError> {
    caller.require(&[Role::Admin])?;
    let q = query.into_inner();
    let page = PageRequest::new(q.page.limit, q.page.cursor.as_deref())?;
    // the cursor is a username: a text of another form was never a next_cursor
    let after = page.after_key(|k| super::rules::username_fault(k).is_none())?.map(str::to_string);
    let filter = UserFilter { role: q.role, location: q.location, active: q.active };
    let result = state
        .db
        .read(move |conn| {
            let rows = admin::list(conn, &filter, after.as_deref(), page.fetch())?;
            Ok(page.page(rows, |u| u.username.clone()))
        })
        .await?;
    Ok(web::Json(result))
}

/// A new user. Passwords are 10-200 characters; usernames 1-64 ASCII letters, digits and
/// `.` `_` `-` `@`, starting with a letter or digit.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[validate(rules = new_user_rules)]
#[schema(example = json!({
    "username": "tech-st-tz-002", "password": "a-long-initial-password", "role": "technician",
    "location": "ST-TZ-001", "display_name": "Li Wei"
}))]
pub struct NewUserIn {
    #[schema(min_length = 1, max_length = 64)]
    pub username: String,
    #[schema(min_length = 10, max_length = 200)]
    pub password: String,
    pub role: Role,
    /// the location code: a warehouse user's centre or warehouse, a station or technician
    /// user's station; none for the other roles
    #[schema(min_length = 1, max_length = 64)]
    pub location: Option<String>,
    /// defaults to the username
    #[schema(min_length = 1, max_length = 200)]
    pub display_name: Option<String>,
}

fn new_user_rules(u: &NewUserIn, _at: &str, errors: &mut Vec<FieldError>) {
    if let Some(fault) = username_fault(&u.username).filter(|_| !u.username.is_empty()) {
        errors.push(FieldError::new("username", fault));
    }
    not_blank(errors, "display_name", u.display_name.as_deref());
    one_line(errors, "display_name", u.display_name.as_deref());
}

/// Argon2id on the blocking pool: it takes tens of milliseconds by design.
async fn hash(password: String) -> Result<String, AppError> {
    web::block(move || hash_password(&password)).await.map_err(|e| AppError::internal(anyhow::anyhow!("{e}")))
}

/// Create a user (admin)
///
/// An unknown location is 404; a location of the wrong kind for the role (or one for a role
/// that has none) is 422 `invalid_location`; a username already taken is 409, in any case: a
/// username is one account whatever its case (`ST-TZ-001` is taken when `st-tz-001` exists),
/// and is kept as it was written.
#[utoipa::path(
    tag = "users",
    request_body = NewUserIn,
    responses((status = 201, description = "The user created (without the password)", body = UserOut), E400, E401, E403, E404UserLocation, E409NewUser, E415, E422User),
    security(("bearer" = ["admin"]))
)]
#[post("/users")]
pub async fn create_user(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<NewUserIn>,
) -> Result<HttpResponse, AppError> {
    caller.require(&[Role::Admin])?;
    let u = body.0;
    let password_hash = hash(u.password).await?;
    let now = state.clock.now().naive_utc();
    let out = state
        .db
        .write(move |conn| {
            let spec = NewUserSpec {
                username: &u.username,
                role: u.role,
                location: u.location.as_deref(),
                display_name: u.display_name.as_deref().map(str::trim),
                password_hash: &password_hash,
            };
            admin::create(conn, &spec, now)
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/users/{}", out.username)))
        .json(out))
}

/// Read a user (admin)
#[utoipa::path(
    tag = "users",
    params(("username" = String, Path, description = "the username in any case, e.g. tech-st-tz-001", example = "tech-st-tz-001")),
    responses((status = 200, description = "The user, with its role and location", body = UserOut), E401, E403, E404User),
    security(("bearer" = ["admin"]))
)]
#[get("/users/{username}")]
pub async fn get_user(
    state: web::Data<AppState>,
    caller: Caller,
    username: web::Path<String>,
) -> Result<web::Json<UserOut>, AppError> {
    caller.require(&[Role::Admin])?;
    let username = username.into_inner();
    let out = state.db.read(move |conn| admin::get(conn, &username)).await?;
    Ok(web::Json(out))
}

/// A change of a user; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[validate(rules = user_patch_rules)]
#[schema(example = json!({"role": "technician", "location": "ST-TZ-001", "active": true}))]
pub struct UserPatchIn {
    #[serde(default, deserialize_with = "not_null")]
    #[schema(nullable = false)]
    pub role: Option<Role>,
    /// the new location code; `null` removes it (for a role that has none)
    #[serde(default, deserialize_with = "double_option")]
    #[schema(min_length = 1, max_length = 64)]
    pub location: Option<Option<String>>,
    /// `false` disables the user: it cannot log in and its tokens are refused
    #[serde(default, deserialize_with = "not_null")]
    #[schema(nullable = false)]
    pub active: Option<bool>,
    /// a new password (a reset by the admin), 10-200 characters
    #[schema(min_length = 10, max_length = 200)]
    #[serde(default, deserialize_with = "not_null")]
    #[schema(nullable = false)]
    pub password: Option<String>,
    #[schema(min_length = 1, max_length = 200)]
    #[serde(default, deserialize_with = "not_null")]
    #[schema(nullable = false)]
    pub display_name: Option<String>,
}

fn user_patch_rules(p: &UserPatchIn, _at: &str, errors: &mut Vec<FieldError>) {
    not_blank(errors, "display_name", p.display_name.as_deref());
    one_line(errors, "display_name", p.display_name.as_deref());
}

/// Change a user (admin)
///
/// Changes the role, location, active flag, password or display name. A change of the role,
/// location or active flag, or a password set, refuses every token the user holds (401 on its
/// next request, on every process); the user logs in again. The same value sent again changes
/// nothing and keeps the tokens. An admin may not disable or demote their own account, nor
/// anyone the last active admin (409). A disabled user's webhook subscriptions take no event
/// (and a delivery still waiting is not sent) until the user is enabled again.
#[utoipa::path(
    tag = "users",
    params(("username" = String, Path, description = "the username in any case, e.g. tech-st-tz-001", example = "tech-st-tz-001")),
    request_body = UserPatchIn,
    responses((status = 200, description = "The user as changed", body = UserOut), E400, E401, E403, E404UserOrLocation, E409UserChange, E415, E422User),
    security(("bearer" = ["admin"]))
)]
#[patch("/users/{username}")]
pub async fn patch_user(
    state: web::Data<AppState>,
    caller: Caller,
    username: web::Path<String>,
    body: Json<UserPatchIn>,
) -> Result<web::Json<UserOut>, AppError> {
    caller.require(&[Role::Admin])?;
    let p = body.0;
    let password_hash = match p.password {
        Some(pw) => Some(hash(pw).await?),
        None => None,
    };
    let username = username.into_inner();
    let by = caller.username.clone();
    let out = state
        .db
        .write(move |conn| {
            let change = UserChange {
                role: p.role,
                location: p.location,
                active: p.active,
                password_hash,
                display_name: p.display_name.map(|d| d.trim().to_string()),
            };
            admin::change(conn, &username, change, Some(&by))
        })
        .await?;
    Ok(web::Json(out))
}

pub fn routes<C: crate::http::Mount>(cfg: &mut C) {
    cfg.service(list_users).service(create_user).service(get_user).service(patch_user);
}

// The refusals of user management, each with its own example (`http::docs`).

crate::problems!(E404User, 404, "No user of this name", [
    NotFound => "user tech-zhou not found",
]);
crate::problems!(E404UserLocation, 404, "The location named for the user does not exist", [
    NotFound => "location ST-XX-404 not found",
]);
crate::problems!(E404UserOrLocation, 404, "No user of this name, or the location named does not exist", [
    NotFound "user" => "user tech-zhou not found",
    NotFound "location" => "location ST-XX-404 not found",
]);
crate::problems!(E409NewUser, 409, "A user of this name exists already", [
    AlreadyExists => "a user named tech-li already exists (a username is one account whatever its case)",
]);
crate::problems!(E409UserChange, 409, "An admin may not disable or demote their own account, nor the last active admin; a technician still holding work of its station (open loan lines, tickets dispatched to it) does not move to another station or role", [
    Conflict "own" => "an admin may not disable or demote their own account; ask another admin",
    Conflict "last" => "ops-admin is the last active admin; make another admin first",
    Conflict "held" => "tech-li still holds work of its station: loan 12 (open lines), ticket 7; reconcile the loans and hand the tickets to another technician first"
        {"held": ["loan 12 (open lines)", "ticket 7"]},
]);
crate::problems!(E422User, 422, "A field breaks a rule (`errors`), or the location does not fit the role", [
    ValidationFailed => "username: may hold only ASCII letters, digits, '.', '_', '-' and '@', and must start with a letter or digit"
        {"errors": [{"field": "username", "message": "may hold only ASCII letters, digits, '.', '_', '-' and '@', and must start with a letter or digit"}]},
    InvalidLocation => "a technician user belongs to a station, not a regional_centre",
]);
