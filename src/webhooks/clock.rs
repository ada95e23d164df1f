//! The events a clock raises rather than a change: a ticket that missed an SLA deadline, a
//! loan line whose core is overdue. The delivery worker sweeps for them every half minute and
//! writes each once (the sweep holds a lock, so two processes never both write one).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::events;
use crate::db::DbConn;
use crate::error::AppError;
use crate::events::payloads::{LoanLineOverdueEvent, TicketDeadlineEvent};
use crate::events::Subject;

/// How many of each a sweep writes at most (the rest wait for the next sweep).
const BATCH: i64 = 500;

/// Objects of `kind` among `ids` that already have an event of `event_type`.
fn already(
    conn: &mut DbConn,
    event_type: &str,
    kind: &str,
    ids: &[i64],
) -> QueryResult<std::collections::HashSet<i64>> {
    Ok(events::table
        .filter(events::event_type.eq(event_type))
        .filter(events::object_kind.eq(kind))
        .filter(events::object_id.eq_any(ids))
        .select(events::object_id)
        .load::<i64>(conn)?
        .into_iter()
        .collect())
}

/// Writes the deadline and overdue events due at `now` that are not written yet, and removes
/// the events older than `retention_days` whose deliveries are all done; returns how many
/// events it wrote. A deadline missed, or a core due, before the retention window is not told
/// again once its event is gone.
pub fn record_due(conn: &mut DbConn, now: NaiveDateTime, retention_days: i64) -> Result<usize, AppError> {
    crate::db::setup_lock(conn)?;
    let cutoff = now - chrono::Duration::days(retention_days);
    forget_before(conn, cutoff)?;
    crate::events::keep_since(conn, cutoff)?;
    let mut written = 0;
    // the ones not told yet whose first missed deadline lies within the window, at most a
    // batch of them (the rest next time)
    let ids = crate::tickets::store::overdue_ids(conn, now)?;
    let done = already(conn, "ticket.deadline_missed", "ticket", &ids)?;
    let todo: Vec<i64> = ids.into_iter().filter(|id| !done.contains(id)).collect();
    let first_missed = |t: &crate::tickets::store::TicketRow| {
        [t.respond_by, t.resolve_by, t.decide_by].into_iter().flatten().filter(|b| *b < now).min()
    };
    let late: Vec<_> = crate::tickets::store::by_ids(conn, &todo)?
        .into_iter()
        .filter(|t| first_missed(t).is_none_or(|f| f >= cutoff))
        .take(BATCH as usize)
        .collect();
    for t in late {
        let missed: Vec<String> = [
            ("respond_by", t.respond_by, t.responded_at),
            ("resolve_by", t.resolve_by, t.resolved_at),
            ("decide_by", t.decide_by, t.responded_at),
        ]
        .into_iter()
        .filter(|(_, by, met)| by.is_some_and(|b| b < now) && met.is_none())
        .map(|(name, _, _)| name.to_string())
        .collect();
        let station = match t.station_id {
            Some(id) => Some(crate::network::store::by_id(conn, id)?.code),
            None => None,
        };
        crate::events::record(
            conn,
            "ticket.deadline_missed",
            Subject { kind: "ticket", id: t.id, station_id: t.station_id },
            TicketDeadlineEvent {
                id: t.id,
                station,
                status: t.status.as_str().into(),
                urgency: t.urgency.as_str().into(),
                missed,
                respond_by: t.respond_by.map(|d| d.and_utc()),
                resolve_by: t.resolve_by.map(|d| d.and_utc()),
                decide_by: t.decide_by.map(|d| d.and_utc()),
            },
            now,
        )?;
        written += 1;
    }
    let lines = crate::loans::store::overdue_lines_at(conn, now)?;
    let ids: Vec<i64> = lines.iter().map(|l| l.line_id).collect();
    let done = already(conn, "loan_line.overdue", "loan_line", &ids)?;
    for l in
        lines.into_iter().filter(|l| !done.contains(&l.line_id) && l.due_at >= cutoff).take(BATCH as usize)
    {
        let station = crate::network::store::by_id(conn, l.station_id)?.code;
        let part_code = crate::catalogue::store::parts::by_id(conn, l.part_id)?.code;
        crate::events::record(
            conn,
            "loan_line.overdue",
            Subject { kind: "loan_line", id: l.line_id, station_id: Some(l.station_id) },
            LoanLineOverdueEvent {
                loan_id: l.loan_id,
                line_no: l.line_no,
                station,
                part_code,
                qty: l.qty,
                value: crate::money::Money(l.value_minor),
                due_at: l.due_at.and_utc(),
            },
            now,
        )?;
        written += 1;
    }
    Ok(written)
}

/// Removes the events created before `cutoff` whose deliveries are all done, with their
/// deliveries and attempts (a thousand at a time).
fn forget_before(conn: &mut DbConn, cutoff: NaiveDateTime) -> QueryResult<usize> {
    use crate::db::schema::{webhook_attempts, webhook_deliveries};
    let waiting = webhook_deliveries::table
        .filter(webhook_deliveries::status.eq("pending"))
        .select(webhook_deliveries::event_id);
    let old: Vec<i64> = events::table
        .filter(events::created_at.lt(cutoff))
        .filter(events::id.ne_all(waiting))
        .select(events::id)
        .limit(1000)
        .load(conn)?;
    if old.is_empty() {
        return Ok(0);
    }
    let deliveries = webhook_deliveries::table
        .filter(webhook_deliveries::event_id.eq_any(&old))
        .select(webhook_deliveries::id);
    diesel::delete(webhook_attempts::table.filter(webhook_attempts::delivery_id.eq_any(deliveries)))
        .execute(conn)?;
    diesel::delete(webhook_deliveries::table.filter(webhook_deliveries::event_id.eq_any(&old)))
        .execute(conn)?;
    diesel::delete(events::table.filter(events::id.eq_any(&old))).execute(conn)
}
