//! A ticket as other domains name it: the ticket a parts request or a loan is for, checked like
//! a path id, and its return from `awaiting_parts` once its parts are in.

use chrono::{DateTime, Utc};

use super::model_of;
use super::{apply, EventExtra};
use crate::auth::{Caller, Role, Scope};
use crate::catalogue::store::models::ModelRow;
use crate::catalogue::{compatible_parts, fitting, resolve_part_code, resolve_successor, PartRow};
use crate::db::DbConn;
use crate::error::{AppError, Problem};
use crate::ledger::store as ledger;
use crate::network::store as network;
use crate::tickets::rules::{self, Action, Status};
use crate::tickets::store::{self, TicketChanges, TicketRow};

/// A ticket that parts are requested or lent for, with its unit's model.
pub struct PartsTicket {
    pub ticket: TicketRow,
    pub model: ModelRow,
}

impl PartsTicket {
    /// The part of line `i`'s code from a client, fitted to the ticket's unit: a wrong code is
    /// refused with suggestions among the model's parts only (see [`resolve_part_code`]); a part
    /// that does not fit the model ([`fitting`]: neither compatible nor a successor of a
    /// compatible part) is 422 `incompatible_part` naming the line, with the model's parts of its
    /// family as `compatible_alternatives`: each with the part that would serve it and that
    /// part's available stock at `source` (where the parts would come from).
    pub fn part(&self, conn: &mut DbConn, i: usize, raw: &str, source: i64) -> Result<PartRow, AppError> {
        let field = format!("lines[{i}].part_code");
        let part = resolve_part_code(conn, raw, Some(&self.model.code))
            .map_err(|e| e.with("line", i).with("field", &field))?;
        if fitting(conn, &part, &self.model)?.is_some() {
            return Ok(part);
        }
        let source_code = network::by_id(conn, source)?.code;
        let mut alternatives = Vec::new();
        for alt in compatible_parts(conn, &self.model, &part.family)? {
            let served = resolve_successor(conn, alt.clone())?.served;
            let available = ledger::available(conn, served.id, source)?;
            alternatives.push(serde_json::json!({
                "code": alt.code,
                "name": alt.name,
                "served_by": (served.id != alt.id).then_some(&served.code),
                "available": available,
                "source": source_code,
            }));
        }
        let detail = match alternatives.first() {
            Some(_) => format!(
                "line {i}: part {} does not fit model {} of ticket {}; it takes {}",
                part.code,
                self.model.code,
                self.ticket.id,
                alternatives.iter().filter_map(|a| a["code"].as_str()).collect::<Vec<_>>().join(", ")
            ),
            None => format!(
                "line {i}: part {} does not fit model {} of ticket {}, which takes no part of family {}",
                part.code, self.model.code, self.ticket.id, part.family
            ),
        };
        Err(AppError::unprocessable(Problem::IncompatiblePart, detail)
            .with("line", i)
            .with("field", field)
            .with("code", &part.code)
            .with("model", &self.model.code)
            .with("ticket_id", self.ticket.id)
            .with("compatible_alternatives", alternatives))
    }
}

/// The ticket `id` that parts for `station_id` are requested or lent for, checked in this order:
/// it exists and is within the caller's sight (a technician's own ticket; a station's, or a
/// warehouse's on its stations' behalf, those of the stations under it; admin any), else 404; it
/// still takes parts ([`rules::takes_parts`]), else 409 `ticket_takes_no_parts`; it is a ticket of
/// `station_id`, else 422 `ticket_of_another_station`.
pub fn for_parts(
    conn: &mut DbConn,
    caller: &Caller,
    id: i64,
    station_id: i64,
) -> Result<PartsTicket, AppError> {
    let not_found = || AppError::not_found(format!("ticket {id} not found")).with("field", "ticket_id");
    // the ticket's row first, as the ticket's own actions take it (PostgreSQL; SQLite's writers
    // run one at a time): a resolve or cancel at the same moment either commits before this
    // reads the ticket's state, or waits for this request's or loan's commit
    store::lock_ticket(conn, id)?;
    let t = store::ticket(conn, id)?.ok_or_else(not_found)?;
    let seen = match caller.role {
        Role::Technician => t.technician_id == Some(caller.user_id),
        Role::Courier => false,
        _ => match (Scope::of(conn, caller)?, t.station_id) {
            (Scope::All, _) => true,
            (scope, Some(sid)) => scope.covers(&network::by_id(conn, sid)?.path),
            (_, None) => false,
        },
    };
    if !seen {
        return Err(not_found());
    }
    rules::takes_parts(t.status, t.warranty).map_err(|m| {
        AppError::conflict(Problem::TicketTakesNoParts, format!("ticket {id}: {m}"))
            .with("current_status", t.status.as_str())
            .with("field", "ticket_id")
    })?;
    if t.station_id != Some(station_id) {
        let station = network::by_id(conn, station_id)?;
        let owner = match t.station_id {
            Some(sid) => format!("of {}", network::by_id(conn, sid)?.code),
            None => "not yet given to a station".to_string(),
        };
        return Err(AppError::unprocessable(
            Problem::TicketOfAnotherStation,
            format!(
                "ticket {id} is {owner}, not of {}: parts go to the station that does the work",
                station.code
            ),
        )
        .with("field", "ticket_id"));
    }
    let model = model_of(conn, &t)?;
    Ok(PartsTicket { ticket: t, model })
}

/// Whether the ticket has had its visit: a technician has been on site.
pub fn had_visit(conn: &mut DbConn, t: &TicketRow) -> Result<bool, AppError> {
    Ok(rules::had_visit(t.status, store::has_event(conn, t.id, Action::Arrive.as_str())?))
}

/// Every parts request tied to ticket `id` is received: a ticket awaiting parts goes back to
/// `dispatched` for the revisit (`parts_arrived`, in the name of whoever received the last
/// one). A ticket in any other state is left alone.
pub fn parts_arrived(
    conn: &mut DbConn,
    caller: &Caller,
    id: i64,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let Some(t) = store::ticket(conn, id)? else { return Ok(()) };
    if t.status != Status::AwaitingParts {
        return Ok(());
    }
    let extra = EventExtra {
        station_id: t.station_id,
        technician_id: t.technician_id,
        note: Some("every parts request tied to the ticket is received"),
    };
    apply(conn, caller, &t, Action::PartsArrived, TicketChanges::default(), extra, now)?;
    Ok(())
}
