//! What `echelon audit` checks of tickets: each ticket's status is the end of its history, it
//! is complete exactly when signed off or closed, it has a technician from dispatch on, and
//! every follow-up call belongs to a completed ticket that a sampling run considered.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::rules::Status;
use crate::db::schema::{follow_ups, ticket_events, tickets};
use crate::db::DbConn;

type TicketLine = (i64, String, Option<NaiveDateTime>, Option<i64>, Option<i64>, Option<NaiveDateTime>);

/// Every breach found, in words.
pub fn breaches(conn: &mut DbConn) -> QueryResult<Vec<String>> {
    let mut out = Vec::new();
    let rows: Vec<TicketLine> = tickets::table
        .select((
            tickets::id,
            tickets::status,
            tickets::completed_at,
            tickets::station_id,
            tickets::technician_id,
            tickets::followup_sampled_at,
        ))
        .load(conn)?;
    let events: Vec<(i64, Option<String>, String)> = ticket_events::table
        .select((ticket_events::ticket_id, ticket_events::from_status, ticket_events::to_status))
        .order(ticket_events::id.asc())
        .load(conn)?;
    let mut first: BTreeMap<i64, Option<String>> = BTreeMap::new();
    let mut last: BTreeMap<i64, String> = BTreeMap::new();
    for (ticket, from, to) in events {
        first.entry(ticket).or_insert(from);
        last.insert(ticket, to);
    }
    let mut sampled_completed: BTreeMap<i64, bool> = BTreeMap::new();
    for (id, status, completed_at, station, technician, sampled_at) in &rows {
        let Some(s) = Status::parse(status) else {
            out.push(format!("ticket {id} has unknown status {status:?}"));
            continue;
        };
        // tickets inserted directly in a final state (imports, tests) may have no history
        if let Some(to) = last.get(id) {
            if to != status {
                out.push(format!("ticket {id} is {status} but its history ends in {to}"));
            }
            if first.get(id).is_some_and(|f| f.is_some()) {
                out.push(format!("ticket {id}'s history does not start at intake"));
            }
        }
        let complete = matches!(s, Status::Confirmed | Status::Closed);
        if complete != completed_at.is_some() {
            out.push(format!("ticket {id} is {status} with completed_at {completed_at:?}"));
        }
        let assigned =
            matches!(s, Status::Dispatched | Status::OnSite | Status::Resolved | Status::Unresolved);
        if assigned && (station.is_none() || technician.is_none()) {
            out.push(format!("ticket {id} is {status} without a station and technician"));
        }
        sampled_completed.insert(*id, completed_at.is_some() && sampled_at.is_some());
    }
    let calls: Vec<(i64, i64)> =
        follow_ups::table.select((follow_ups::id, follow_ups::ticket_id)).load(conn)?;
    for (call, ticket) in calls {
        if sampled_completed.get(&ticket) != Some(&true) {
            out.push(format!(
                "follow-up {call} is for ticket {ticket}, which is not a completed, sampled ticket"
            ));
        }
    }
    Ok(out)
}
