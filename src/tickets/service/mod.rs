//! What happens to a ticket: intake with its warranty decision and SLA deadlines
//! ([`intake`]), the desk's quote, acceptance, dispatch and closing ([`desk`]), the field work
//! and sign-off ([`field`]), with the parts a resolving visit used that no loan brought taken
//! from the station's stock ([`stock`]). Every action is one checked transition kept in the
//! history with its actor and time. Every function runs inside the caller's transaction.

mod desk;
mod field;
mod intake;
mod parts;
mod stock;

use chrono::{DateTime, Utc};

use super::rules::{self, Action, Status, Warranty};
use super::store::{self, NewEvent, NewTicketPart, PartKind, TicketChanges, TicketRow};
use crate::auth::{Caller, Role, Scope};
use crate::catalogue::store::models::{self as model_store, ModelRow};
use crate::catalogue::{check_compatible, resolve_part_code, PartRow};
use crate::db::DbConn;
use crate::error::{AppError, FieldError, Problem};
use crate::network::rules::LocationKind;
use crate::network::store::{self as network, LocationRow};

pub use desk::{accept_quote, close, dispatch, quote, DispatchSpec, QuoteSpec};
pub use field::{arrive, await_parts, confirm, escalate, resolve, ResolveSpec};
pub use intake::{intake, Intake};
pub use parts::{for_parts, had_visit, parts_arrived, PartsTicket};

/// One part line from a client.
#[derive(Debug, Clone)]
pub struct LineSpec {
    pub part_code: String,
    pub qty: i64,
}

fn invalid(field: &str, message: impl Into<String>) -> AppError {
    AppError::invalid_fields(vec![FieldError::new(field, message)])
}

/// A station of the network named in a body, or 422 `unknown_station`.
fn station_named(conn: &mut DbConn, code: &str) -> Result<LocationRow, AppError> {
    network::by_code(conn, code)?.filter(|r| r.kind == LocationKind::Station).ok_or_else(|| {
        AppError::unprocessable(Problem::UnknownStation, format!("there is no station {code}"))
            .with("field", "station")
    })
}

/// A station user's own station, where it may name only that one: another code is 403 when the
/// station sees that location (its centre), else the unknown station's 422 (another station is
/// out of its sight, like a path id).
fn own_named(
    conn: &mut DbConn,
    caller: &Caller,
    named: Option<&str>,
    forbidden: &str,
) -> Result<LocationRow, AppError> {
    let own = own_station(conn, caller)?;
    // its own code in any case is its own (codes are upper-case: `canonical_code`)
    match named.filter(|n| !n.eq_ignore_ascii_case(&own.code)) {
        Some(other) => {
            let unknown =
                AppError::unprocessable(Problem::UnknownStation, format!("there is no station {other}"))
                    .with("field", "station");
            Err(crate::auth::not_own(conn, caller, other, forbidden, unknown))
        }
        None => Ok(own),
    }
}

/// The caller's own station (station users).
fn own_station(conn: &mut DbConn, caller: &Caller) -> Result<LocationRow, AppError> {
    let code =
        caller.location.as_deref().ok_or_else(|| AppError::forbidden("this user belongs to no station"))?;
    network::by_code(conn, code)?.ok_or_else(|| AppError::forbidden("this user's station no longer exists"))
}

/// Who sees tickets at all: warehouse and courier users do not (403).
pub fn require_ticket_role(caller: &Caller) -> Result<(), AppError> {
    caller.require(&[Role::Admin, Role::Agent, Role::Finance, Role::Station, Role::Technician])
}

/// A ticket the caller may see, or 404: a technician its own (assigned to it), a station those
/// of its station, agents, finance and admin all.
pub fn visible(conn: &mut DbConn, caller: &Caller, id: i64) -> Result<TicketRow, AppError> {
    require_ticket_role(caller)?;
    let not_found = || AppError::not_found(format!("ticket {id} not found"));
    let t = store::ticket(conn, id)?.ok_or_else(not_found)?;
    let seen = match caller.role {
        Role::Technician => t.technician_id == Some(caller.user_id),
        Role::Station => match (t.station_id, Scope::of(conn, caller)?) {
            (Some(sid), scope) => scope.covers(&network::by_id(conn, sid)?.path),
            (None, _) => false,
        },
        _ => true,
    };
    if seen {
        Ok(t)
    } else {
        Err(not_found())
    }
}

pub fn status_of(t: &TicketRow) -> Status {
    t.status
}

/// The checks before an action, in order: the role may take it (403), the ticket is visible
/// (404), the state allows it (409).
fn begin(conn: &mut DbConn, caller: &Caller, id: i64, action: Action) -> Result<TicketRow, AppError> {
    require_ticket_role(caller)?;
    if !rules::may(caller.role, action) {
        let allowed: Vec<&str> =
            Action::ALL.iter().filter(|a| rules::may(caller.role, **a)).map(|a| a.as_str()).collect();
        let may = if allowed.is_empty() { "none".to_string() } else { allowed.join(", ") };
        return Err(AppError::forbidden(format!(
            "the {} role may not take the {action} action on a ticket; the actions it may take: {may}",
            caller.role
        )));
    }
    // the ticket's row locked first (PostgreSQL; SQLite's writers run one at a time): two
    // actions on one ticket at once (two quotes, two resolutions) run one after the other, the
    // second checking the state the first left
    store::lock_ticket(conn, id)?;
    let t = visible(conn, caller, id)?;
    let from = status_of(&t);
    let conflict = |kind: Problem, detail: String| {
        AppError::conflict(kind, detail).with("current_status", from.as_str()).with("action", action.as_str())
    };
    if action == Action::Quote && t.warranty == Warranty::InWarranty {
        return Err(conflict(
            Problem::QuoteNotNeeded,
            format!(
                "ticket {id} is in warranty: the work is free and needs no quote ({})",
                t.warranty_reason
            ),
        ));
    }
    if action == Action::Dispatch && rules::dispatch_needs_quote(t.warranty, from) {
        return Err(conflict(
            Problem::QuoteRequired,
            format!(
                "ticket {id} is out of warranty: the customer must accept a quote before dispatch ({})",
                t.warranty_reason
            ),
        ));
    }
    rules::transition(from, action).map_err(|r| conflict(Problem::InvalidTransition, r.to_string()))?;
    Ok(t)
}

/// What an event records besides the transition.
#[derive(Default)]
struct EventExtra<'a> {
    station_id: Option<i64>,
    technician_id: Option<i64>,
    note: Option<&'a str>,
}

/// Moves the ticket and records the event; a lost race is retried by `write_retrying`.
fn apply(
    conn: &mut DbConn,
    caller: &Caller,
    t: &TicketRow,
    action: Action,
    mut changes: TicketChanges,
    extra: EventExtra<'_>,
    now: DateTime<Utc>,
) -> Result<Status, AppError> {
    let from = status_of(t);
    let to = rules::transition(from, action)
        .map_err(|r| AppError::conflict(Problem::InvalidTransition, r.to_string()))?;
    let at = now.naive_utc();
    changes.status = Some(to.as_str().into());
    changes.updated_at = Some(at);
    if !store::advance(conn, t.id, from.as_str(), &changes)? {
        return Err(AppError::retry_transaction());
    }
    store::insert_event(
        conn,
        &NewEvent {
            ticket_id: t.id,
            action: action.as_str(),
            from_status: Some(from.as_str()),
            to_status: to.as_str(),
            actor: &caller.username,
            at,
            station_id: extra.station_id,
            technician_id: extra.technician_id,
            note: extra.note,
        },
    )?;
    let station_id = changes.station_id.flatten().or(t.station_id);
    let station = match station_id {
        Some(id) => Some(crate::network::store::by_id(conn, id)?.code),
        None => None,
    };
    crate::events::record(
        conn,
        "ticket.state_changed",
        crate::events::Subject { kind: "ticket", id: t.id, station_id },
        crate::events::payloads::TicketStateEvent {
            id: t.id,
            station,
            from: from.as_str().into(),
            to: to.as_str().into(),
            action: action.as_str().into(),
            actor: caller.username.clone(),
            at: now,
        },
        at,
    )?;
    Ok(to)
}

/// The product model of a ticket's unit.
fn model_of(conn: &mut DbConn, t: &TicketRow) -> Result<ModelRow, AppError> {
    let (_, model_id, _) = store::ticket_model(conn, t.id)?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("ticket {} lost its unit", t.id)))?;
    Ok(model_store::by_id(conn, model_id)?)
}

/// Each line's part, checked like every part code (422 with suggestions among the model's
/// parts) and for fit with the model (422 `incompatible_part` with alternatives).
/// The field of the parts a resolving visit fitted.
const USED: &str = "parts_used";

fn resolve_lines(
    conn: &mut DbConn,
    lines: &[LineSpec],
    model: &ModelRow,
    field: &str,
) -> Result<Vec<(PartRow, i64, String)>, AppError> {
    let mut out: Vec<(PartRow, i64, String)> = Vec::with_capacity(lines.len());
    for (i, l) in lines.iter().enumerate() {
        let f = format!("{field}[{i}].part_code");
        let part =
            resolve_part_code(conn, &l.part_code, Some(&model.code)).map_err(|e| e.with("field", &f))?;
        let per_unit = check_compatible(conn, &part, model).map_err(|e| e.with("field", &f))?;
        // what a visit fitted is what settlement charges: one unit is repaired, so no more of a
        // part than the model holds (its bill of service parts); a quote or a work order may
        // name spares
        let before: i64 = out.iter().filter(|(p, _, _)| p.id == part.id).map(|(_, q, _)| q).sum();
        if field == USED && before + l.qty > i64::from(per_unit) {
            return Err(AppError::invalid_fields(vec![FieldError::new(
                format!("{field}[{i}].qty"),
                format!(
                    "model {} holds {per_unit} of {} per unit: at most {per_unit} for one repair, got {}",
                    model.code,
                    part.code,
                    before + l.qty
                ),
            )]));
        }
        out.push((part, l.qty, l.part_code.trim().to_string()));
    }
    Ok(out)
}

/// Where recorded parts belong: their kind, the quote (quoted parts) and the visit.
struct PartsOf {
    kind: PartKind,
    quote_id: Option<i64>,
    visit: i32,
}

fn record_parts(
    conn: &mut DbConn,
    caller: &Caller,
    t: &TicketRow,
    of: PartsOf,
    lines: &[(PartRow, i64, String)],
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let PartsOf { kind, quote_id, visit } = of;
    let rows: Vec<NewTicketPart<'_>> = lines
        .iter()
        .map(|(part, qty, code)| NewTicketPart {
            ticket_id: t.id,
            kind: kind.as_str(),
            quote_id,
            visit,
            part_id: part.id,
            requested_code: code,
            qty: *qty,
            unit_cost_minor: part.unit_cost_minor,
            sale_price_minor: part.sale_price_minor,
            recorded_by: &caller.username,
            at: now.naive_utc(),
        })
        .collect();
    Ok(store::insert_parts(conn, &rows)?)
}
