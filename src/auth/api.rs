//! Login and the caller's own profile.

use actix_web::http::header;
use actix_web::{get, post, web, HttpRequest};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::rules::{dummy_hash, verify_password, Role, TokenKeys};
use super::throttle::{self, Verdict};
use super::{store, Caller};
use crate::error::{AppError, Problem};
use crate::http::docs::{E400, E401, E415, E422, E429};
use crate::http::Json;
use crate::state::AppState;
use crate::validate::Validate;

#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"username": "station-st-tz-001", "password": "echelon-demo"}))]
pub struct LoginRequest {
    #[schema(max_length = 200)]
    pub username: String,
    #[schema(max_length = 1000)]
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"access_token": "eyJhbGciOiJIUzI1NiJ9...", "token_type": "Bearer", "expires_in": 28800}))]
pub struct TokenResponse {
    pub access_token: String,
    /// always `Bearer`
    pub token_type: String,
    /// seconds until the token expires
    pub expires_in: i64,
}

/// Log in
///
/// Exchanges a username and password for a bearer token (HS256 JWT). Use it in Swagger UI's
/// Authorize button. Failed logins are counted per username and per client address: after a
/// few in a row the answers are slowed, then refused with 429 and `Retry-After` until the
/// window ends; the answers and their timing are the same whether the username exists or not.
/// A successful login clears its username's count. A username is one account whatever its
/// case: `ST-TZ-001` logs in as `st-tz-001` when that is the name stored, and the token names
/// the user as stored.
#[utoipa::path(
    tag = "auth",
    request_body = LoginRequest,
    responses((status = 200, description = "The access token and when it expires", body = TokenResponse), E400, E401, E415, E422, E429)
)]
#[post("/auth/login")]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    keys: web::Data<TokenKeys>,
    body: Json<LoginRequest>,
) -> Result<web::Json<TokenResponse>, AppError> {
    let LoginRequest { username, password } = body.0;
    // a name in any case is the account's: looked up and its failures counted by one key
    let username = super::rules::username_key(&username);
    // behind a trusted load balancer, the address it says it served (`throttle::client_address`)
    let forwarded: Vec<String> = req
        .headers()
        .get_all("x-forwarded-for")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect();
    let address =
        throttle::client_address(req.peer_addr().map(|a| a.ip()), &forwarded, &state.config.trusted_proxies);
    let policy = state.config.login;
    let now = state.clock.now().naive_utc();
    let window_cutoff = now - chrono::Duration::seconds(policy.window_seconds);
    // the counts from the primary: every process counts the same failures
    let (name, addr) = (username.clone(), address.clone());
    let (found, (by_name, by_address)) = state
        .db
        .primary(move |conn| {
            Ok((store::find_by_username(conn, &name)?, store::login_failures_of(conn, &name, &addr)?))
        })
        .await?;
    match throttle::verdict(&policy, by_name, by_address, now) {
        Verdict::Refuse { retry_after } => {
            return Err(AppError::of(
                Problem::TooManyLogins,
                format!("too many failed logins; try again in {retry_after} seconds"),
            )
            .with_header(header::RETRY_AFTER, retry_after.to_string()))
        }
        Verdict::Proceed(wait) if !wait.is_zero() => actix_web::rt::time::sleep(wait).await,
        Verdict::Proceed(_) => {}
    }
    // The public development default is no password in production: a database whose demo users
    // were loaded in development and that is then served in production does not let them in
    // with it (it is refused as any wrong password is, after the same verification).
    let public_default = state.config.environment == crate::config::Environment::Production
        && password == crate::config::DEV_DEMO_PASSWORD;
    // Verify on the blocking pool: Argon2id takes tens of milliseconds by design. An unknown
    // username is verified against a dummy hash, so it takes as long as a wrong password.
    let accepted = web::block(move || {
        let hash = found.as_ref().map(|(u, _)| u.password_hash.as_str()).unwrap_or(dummy_hash());
        let ok = verify_password(&password, hash) && !public_default;
        match found {
            Some((user, loc)) if ok && user.active => Some((user, loc)),
            _ => None,
        }
    })
    .await
    .map_err(|e| AppError::internal(anyhow::anyhow!("{e}")))?;
    let Some((user, loc)) = accepted else {
        state
            .db
            .write(move |conn| {
                store::count_login_failure(conn, "username", &username, now, window_cutoff)?;
                store::count_login_failure(conn, "address", &address, now, window_cutoff)?;
                store::forget_old_login_failures(conn, window_cutoff)?;
                Ok(())
            })
            .await?;
        return Err(AppError::unauthorized("wrong username or password"));
    };
    if by_name.is_some() {
        let name = username.clone();
        state.db.write(move |conn| Ok(store::clear_login_failures(conn, &name)?)).await?;
    }
    let role: Role = user.role.parse().map_err(|e: String| AppError::internal(anyhow::anyhow!(e)))?;
    let token = keys.issue(user.id, &user.username, role, loc, user.version, now.and_utc().timestamp());
    Ok(web::Json(TokenResponse {
        access_token: token,
        token_type: "Bearer".into(),
        expires_in: keys.ttl_seconds,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"username": "station-st-tz-001", "role": "station", "location": "ST-TZ-001", "display_name": "Taizhou station desk"}))]
pub struct Me {
    pub username: String,
    pub role: Role,
    /// the location a warehouse, station or technician user belongs to
    pub location: Option<String>,
    pub display_name: String,
}

/// Who am I
#[utoipa::path(
    tag = "auth",
    responses((status = 200, description = "Who the caller is: username, role, location", body = Me), E401),
    security(("bearer" = []))
)]
#[get("/me")]
pub async fn me(state: web::Data<AppState>, caller: Caller) -> Result<web::Json<Me>, AppError> {
    let username = caller.username.clone();
    let found = state.db.read(move |conn| Ok(store::find_by_username(conn, &username)?)).await?;
    match found {
        Some((user, location)) if user.active => Ok(web::Json(Me {
            username: user.username,
            role: caller.role,
            location,
            display_name: user.display_name,
        })),
        _ => Err(AppError::unauthorized("this user no longer exists or is disabled")),
    }
}

pub fn routes<C: crate::http::Mount>(cfg: &mut C) {
    cfg.service(login).service(me);
    super::users_api::routes(cfg);
}
