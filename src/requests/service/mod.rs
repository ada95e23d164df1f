//! What happens to a parts request: creation with routing and reservation, approval,
//! picking, shipping, receiving, cancelling, and serving backorders from new stock. Every
//! function runs inside the caller's write transaction.

mod create;
mod handling;
mod receive;
mod routing;
mod station;

pub use create::{create, create_whole, Created, LineSpec, RequestSpec};
pub use handling::{cancel, close, decide, pick, ship};
pub use receive::{receive, DamageOut, ReceiptLine, ReplacementOut};
pub use routing::{allocate_line, fill_backorders, refresh_status, route_line, BackorderFill, Routed};
pub use station::{station, station_for_request, RoutingCache, Station};

use super::rules::{self, Action, Status};
use super::store::{self, RequestRow};
use crate::auth::{Caller, Role, Scope};
use crate::db::DbConn;
use crate::error::{AppError, Problem};
use crate::network::store as network;

/// [`visible`], its row locked first: for an action that changes the request, so that actions
/// on one request at the same moment run one after the other, each checking the state the one
/// before left.
pub fn changing(conn: &mut DbConn, caller: &Caller, id: i64) -> Result<RequestRow, AppError> {
    store::lock_request(conn, id)?;
    visible(conn, caller, id)
}

/// A request the caller may see, or 404: a station its own, a technician its station's, a
/// warehouse those of its stations or supplied from its stock, others all.
pub fn visible(conn: &mut DbConn, caller: &Caller, id: i64) -> Result<RequestRow, AppError> {
    let not_found = || AppError::not_found(format!("parts request {id} not found"));
    let req = store::request(conn, id)?.ok_or_else(not_found)?;
    if caller.role == Role::Courier {
        return Err(AppError::forbidden("couriers see shipments, not parts requests"));
    }
    // a technician sees the requests of their own tickets (what is tied to them), no other
    if caller.role == Role::Technician {
        let theirs = match req.ticket_id {
            Some(t) => crate::tickets::store::ticket(conn, t)?
                .is_some_and(|t| t.technician_id == Some(caller.user_id)),
            None => false,
        };
        if !theirs {
            return Err(not_found());
        }
    }
    match Scope::of(conn, caller)? {
        Scope::All => Ok(req),
        scope @ Scope::Under { .. } => {
            let station = network::by_id(conn, req.station_id)?;
            if scope.covers(&station.path) {
                return Ok(req);
            }
            if caller.role == Role::Warehouse {
                for a in store::allocations(conn, &[id])? {
                    if scope.covers(&network::by_id(conn, a.source_id)?.path) {
                        return Ok(req);
                    }
                }
            }
            Err(not_found())
        }
    }
}

/// A request tied to `ticket` was received, cancelled or rejected: when every request tied to
/// it is now in (each received, or closed after it, cancelled or rejected, and at least one
/// received), a ticket awaiting parts goes back to `dispatched` for the revisit. A damaged
/// receipt still waits for its replacement.
fn tell_ticket(
    conn: &mut DbConn,
    caller: &Caller,
    ticket: Option<i64>,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(), AppError> {
    let Some(ticket) = ticket else { return Ok(()) };
    let mut statuses = Vec::new();
    for s in store::statuses_for_ticket(conn, ticket)? {
        statuses.push(Status::parse(&s).ok_or_else(|| {
            AppError::internal(anyhow::anyhow!("a parts request has an unknown status {s:?}"))
        })?);
    }
    let received = |s: &Status| matches!(s, Status::Received | Status::Closed);
    let done = |s: &Status| received(s) || matches!(s, Status::Cancelled | Status::Rejected);
    if statuses.iter().all(done) && statuses.iter().any(received) {
        crate::tickets::service::parts_arrived(conn, caller, ticket, at)?;
    }
    Ok(())
}

fn status_of(req: &RequestRow) -> Status {
    req.status
}

fn check(req: &RequestRow, action: Action) -> Result<Status, AppError> {
    let s = status_of(req);
    if rules::allowed(s, action) {
        Ok(s)
    } else {
        Err(AppError::conflict(Problem::InvalidTransition, rules::refusal(s, action))
            .with("current_status", s.as_str()))
    }
}

/// Whether the caller acts for this source (a warehouse user: its own stock, not a centre's
/// below it; admin: any).
fn acts_for(conn: &mut DbConn, scope: &Scope, source_id: i64) -> Result<bool, AppError> {
    Ok(scope.stands_at(&network::by_id(conn, source_id)?.path))
}

/// The request's station, when the caller stands on the station's side of it: the station's
/// own users, the warehouse staff of its regional centre and admin. A warehouse that sees the
/// request from further up (HQ) or only because it supplies part of it is refused 403 with
/// `refusal`: it acts on its own allocations (pick, ship) and nothing else.
fn station_side(
    conn: &mut DbConn,
    caller: &Caller,
    req: &RequestRow,
    refusal: &str,
) -> Result<network::LocationRow, AppError> {
    let station_row = network::by_id(conn, req.station_id)?;
    if !Scope::of(conn, caller)?.stands_at_or_over(&station_row.path) {
        return Err(AppError::forbidden(refusal));
    }
    Ok(station_row)
}
