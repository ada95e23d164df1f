//! Who is calling comes before what they sent (spec 13: 401, then 403, then 400/415/422).
//!
//! [`gate`] runs before anything reads a request's input (`http::declared_input`'s query and
//! header checks, the handler's body and query extractors), on every operation the OpenAPI
//! document secures (`http::RouteTable`):
//! - no token or a bad one is 401;
//! - a role the operation's `bearer` requirement does not name is 403, whatever the body or
//!   query, and the handler does not run;
//! - any other refusal given before the user was read (an unknown query parameter, a malformed
//!   body, a path id that is no number) is 401 when the token's user has been disabled or
//!   changed since, as the [`Caller`](super::Caller) extractor would have answered.
//!
//! The user is read only on a refusal: the operations a role may call read it once, in the
//! `Caller` extractor (or with their first statement, `Claimed`), as before.

use std::cell::Cell;
use std::rc::Rc;
use std::str::FromStr;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpRequest};

use super::{claims_of, Claimed, Role};
use crate::error::AppError;
use crate::http::RouteTable;
use crate::state::AppState;

/// Set by the [`Caller`](super::Caller) extractor once it has read the token's user in this
/// request: a refusal after that needs no second read.
#[derive(Clone, Default)]
pub(super) struct UserRead(Rc<Cell<bool>>);

impl UserRead {
    /// The request's note, when its gate made one.
    pub(super) fn of(req: &HttpRequest) -> Option<UserRead> {
        req.extensions().get::<UserRead>().cloned()
    }

    /// The user has been read and is as the token says.
    pub(super) fn note(&self) {
        self.0.set(true);
    }
}

/// The claims of the request's token as the gate verified them, so that the extractors do not
/// look the token up again.
#[derive(Clone)]
pub(super) struct Verified(pub(super) super::rules::Claims);

/// The middleware: see the module's documentation.
pub async fn gate(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let routes = req.app_data::<web::Data<RouteTable>>().cloned();
    let roles =
        routes.as_ref().and_then(|routes| routes.operation_of(&req)).and_then(|op| op.roles.as_deref());
    // a public operation, or no operation at all (the fallback's 404/405)
    let Some(roles) = roles else { return next.call(req).await };
    let claimed = Claimed(claims_of(req.request())?);
    let state = req.app_data::<web::Data<AppState>>().cloned();
    if !roles.is_empty() && !roles.iter().any(|r| r == claimed.0.role.as_str()) {
        let roles: Vec<Role> = roles.iter().filter_map(|r| Role::from_str(r).ok()).collect();
        let forbidden =
            claimed.unconfirmed().require(&roles).err().unwrap_or_else(|| {
                AppError::forbidden(format!("the {} role may not do this", claimed.0.role))
            });
        return Err(stale(state, claimed).await.unwrap_or(forbidden).into());
    }
    let read = UserRead::default();
    // the token verified here is the one the handler's extractors read (`claims_of`)
    req.extensions_mut().insert(Verified(claimed.0.clone()));
    req.extensions_mut().insert(read.clone());
    let answer = next.call(req).await;
    let status = match &answer {
        Ok(res) => res.status(),
        Err(e) => e.as_response_error().status_code(),
    };
    if status.is_client_error() && status != StatusCode::UNAUTHORIZED && !read.0.get() {
        if let Some(stale) = stale(state, claimed).await {
            return Err(stale.into());
        }
    }
    answer
}

/// The 401 of a token whose user, read now, is no longer as the token says. When the user
/// cannot be read, none: the refusal it would replace holds whatever the user's state.
async fn stale(state: Option<web::Data<AppState>>, claimed: Claimed) -> Option<AppError> {
    let uid = claimed.user_id();
    let current = state?.db.primary(move |conn| Ok(super::store::version_of(conn, uid)?)).await.ok()?;
    claimed.confirm(current).err()
}
