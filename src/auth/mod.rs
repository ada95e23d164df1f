//! Who is calling and what they may see: login, JWT, the `Caller` extractor and scope checks.

pub mod admin;
pub mod api;
pub mod gate;
pub mod rules;
pub mod store;
pub mod throttle;
pub mod users_api;

use std::future::Future;
use std::pin::Pin;

use actix_web::{dev::Payload, http::header, web, FromRequest, HttpMessage, HttpRequest};

use crate::error::AppError;
use crate::state::AppState;
pub use gate::gate;
pub use rules::{Role, TokenKeys};

/// The authenticated caller, from a valid bearer token whose user is still as the token says
/// (active, at the version the token names). Handlers take it as an argument; a missing or bad
/// token, or one whose user has been disabled or changed since, never reaches the handler (401
/// problem+json).
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: i64,
    pub username: String,
    pub role: Role,
    /// the code of the location a scoped user belongs to
    pub location: Option<String>,
}

impl Caller {
    /// Whether the caller reads the serials of parts (a unit's components, the serials a stock
    /// movement carried) and components' production dates: warehouse and admin users only. A
    /// core return is checked against them, so whoever brings the old part back (a technician,
    /// a station) must not be able to read what it should say.
    pub fn sees_component_serials(&self) -> bool {
        matches!(self.role, Role::Admin | Role::Warehouse)
    }

    /// 403 unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), AppError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(AppError::forbidden(format!(
                "the {} role may not do this; it needs one of: {}",
                self.role,
                roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ")
            )))
        }
    }

    pub fn is(&self, role: Role) -> bool {
        self.role == role
    }
}

impl FromRequest for Caller {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Caller, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let claims = claims_of(req);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let read = gate::UserRead::of(req);
        Box::pin(async move {
            let claimed = Claimed(claims?);
            let state = state.ok_or_else(|| AppError::internal(anyhow::anyhow!("app state missing")))?;
            // The signature check is cached (`verify_cached`); whether the user is still as the
            // token says is not: one primary-key read on the primary, outside any transaction,
            // so that a change made through any process refuses the token at its next request.
            let uid = claimed.user_id();
            let current = state.db.primary(move |conn| Ok(store::version_of(conn, uid)?)).await?;
            let caller = claimed.confirm(current)?;
            // a refusal from here on needs no second read of the user (`gate`)
            if let Some(read) = read {
                read.note();
            }
            // the request's reads see this user's own writes (db::replica)
            crate::db::replica::set_actor(caller.user_id);
            Ok(caller)
        })
    }
}

/// A bearer token whose signature and expiry are checked, and whose user is not read yet: for
/// a handler that reads the user in the statement of its own first read, where the [`Caller`]
/// extractor would spend a statement (and a trip to a blocking thread) of its own. Such a
/// handler confirms the user ([`Claimed::confirm`] or [`Claimed::check`]) before anything
/// else: a token whose user has changed is 401 before any other answer.
#[derive(Debug, Clone)]
pub struct Claimed(rules::Claims);

impl FromRequest for Claimed {
    type Error = AppError;
    type Future = std::future::Ready<Result<Claimed, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(claims_of(req).map(Claimed))
    }
}

impl Claimed {
    pub fn user_id(&self) -> i64 {
        self.0.uid
    }

    /// The user's version the token was issued at (see [`Claimed::confirm`]).
    pub fn version(&self) -> i64 {
        self.0.ver
    }

    /// The caller as the token names it, its user not read: for decisions that are refused
    /// anyway (after [`Claimed::check`]) or confirmed by the statement that reads the user.
    pub fn unconfirmed(&self) -> Caller {
        Caller {
            user_id: self.0.uid,
            username: self.0.sub.clone(),
            role: self.0.role,
            location: self.0.loc.clone(),
        }
    }

    /// The caller, if its user as read now (`current`: version and whether active; None: no
    /// such user) is still as the token says; else 401.
    pub fn confirm(&self, current: Option<(i64, bool)>) -> Result<Caller, AppError> {
        match current {
            Some((version, true)) if version == self.0.ver => Ok(self.unconfirmed()),
            _ => Err(AppError::unauthorized(
                "this token's user has been disabled or changed since it was issued; log in again",
            )),
        }
    }

    /// [`Claimed::confirm`] with the user read now, on `conn`.
    pub fn check(&self, conn: &mut crate::db::DbConn) -> Result<Caller, AppError> {
        self.confirm(store::version_of(conn, self.0.uid)?)
    }
}

fn claims_of(req: &HttpRequest) -> Result<rules::Claims, AppError> {
    if let Some(gate::Verified(claims)) = req.extensions().get::<gate::Verified>() {
        return Ok(claims.clone());
    }
    let keys = req
        .app_data::<web::Data<TokenKeys>>()
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("token keys missing")))?;
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| AppError::unauthorized("an Authorization: Bearer token is required"))?;
    let value =
        value.to_str().map_err(|_| AppError::unauthorized("the Authorization header is not readable"))?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .ok_or_else(|| AppError::unauthorized("the Authorization header must be 'Bearer <token>'"))?;
    keys.verify_cached(token.trim(), chrono::Utc::now().timestamp()).map_err(AppError::unauthorized)
}

/// What part of the location tree a caller may see, by materialised path (`/1/5/77/`).
/// Scoped roles see their own location, everything below it and the chain above it (a
/// station sees its centre and the central warehouse, never a sibling station); other roles
/// see everything.
#[derive(Debug, Clone)]
pub enum Scope {
    All,
    Under { path: String },
}

impl Scope {
    /// The scope of a caller, read from its location's path.
    pub fn of(conn: &mut crate::db::DbConn, caller: &Caller) -> Result<Scope, AppError> {
        if !caller.role.is_location_scoped() {
            return Ok(Scope::All);
        }
        let code = caller
            .location
            .as_deref()
            .ok_or_else(|| AppError::forbidden("this user belongs to no location"))?;
        let path = store::location_by_code(conn, code)?
            .map(|l| l.path)
            .ok_or_else(|| AppError::forbidden("this user's location no longer exists"))?;
        Ok(Scope::Under { path })
    }

    /// The object lies at or below the caller's location.
    pub fn covers(&self, path: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Under { path: own } => path.starts_with(own.as_str()),
        }
    }

    /// The caller works at the location with this path itself (a role with no location works
    /// everywhere its role lets it). Seeing a location's objects from above is not acting for
    /// it: HQ's staff see every centre's allocations, tenders and transfers, and pick, ship,
    /// award and release none of them.
    pub fn stands_at(&self, path: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Under { path: own } => own == path,
        }
    }

    /// The caller works at the location itself or at the one right above it: a station's own
    /// users, or its regional centre's staff, who act on the station's side of its requests and
    /// receive and count its stock.
    pub fn stands_at_or_over(&self, path: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Under { path: own } => own == path || parent_path(path) == Some(own.as_str()),
        }
    }

    /// The location is visible: covered, or one of the caller's ancestors.
    pub fn sees(&self, path: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Under { path: own } => path.starts_with(own.as_str()) || own.starts_with(path),
        }
    }
}

/// The answer to a scoped caller who names, in a body, a location other than its own where only
/// its own is taken (a station's request or ticket for another): 403 when the caller can see
/// that location (its centre, the central warehouse), else `unknown`, the answer a code that
/// names nothing gets. A location out of the caller's sight is not told apart from one that does
/// not exist, as with a path id.
pub fn not_own(
    conn: &mut crate::db::DbConn,
    caller: &Caller,
    code: &str,
    forbidden: &str,
    unknown: AppError,
) -> AppError {
    let seen = Scope::of(conn, caller)
        .and_then(|scope| Ok(store::location_by_code(conn, code)?.is_some_and(|l| scope.sees(&l.path))));
    match seen {
        Ok(true) => AppError::forbidden(forbidden.to_string()),
        Ok(false) => unknown,
        Err(e) => e,
    }
}

/// The materialised path of a location's parent (`/1/5/` for `/1/5/42/`); none for a root.
pub fn parent_path(path: &str) -> Option<&str> {
    let trimmed = path.strip_suffix('/')?;
    let (parent, _) = trimmed.rsplit_once('/')?;
    (!parent.is_empty()).then(|| &path[..parent.len() + 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standing_at_a_location_is_being_there_or_right_above_it() {
        assert_eq!(parent_path("/1/5/42/"), Some("/1/5/"));
        assert_eq!(parent_path("/1/"), None);
        let centre = Scope::Under { path: "/1/5/".into() };
        let hq = Scope::Under { path: "/1/".into() };
        assert!(centre.stands_at("/1/5/") && !hq.stands_at("/1/5/"));
        assert!(centre.stands_at_or_over("/1/5/42/") && centre.stands_at_or_over("/1/5/"));
        assert!(!hq.stands_at_or_over("/1/5/42/"), "HQ sees a station but does not act for it");
        assert!(!centre.stands_at_or_over("/1/6/42/") && !centre.stands_at_or_over("/1/"));
        assert!(Scope::All.stands_at("/1/5/") && Scope::All.stands_at_or_over("/1/5/42/"));
    }

    #[test]
    fn a_station_sees_its_chain_but_not_its_siblings() {
        let st = Scope::Under { path: "/1/5/77/".into() };
        assert!(st.sees("/1/5/77/"));
        assert!(st.sees("/1/5/"));
        assert!(st.sees("/1/"));
        assert!(!st.sees("/1/5/78/"));
        assert!(!st.sees("/1/6/"));
        assert!(!st.covers("/1/5/"));
        // path prefixes are whole segments: /1/5/7/ is not under /1/5/77/
        assert!(!st.sees("/1/5/7/"));
        let rc = Scope::Under { path: "/1/5/".into() };
        assert!(rc.covers("/1/5/77/"));
        assert!(!rc.covers("/1/50/"));
    }
}
