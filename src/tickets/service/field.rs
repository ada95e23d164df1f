//! The field work: the technician's arrival, the resolving visit with the parts used, an
//! escalation for technical support, and the customer's sign-off.

use chrono::{DateTime, Utc};

use super::{apply, begin, model_of, record_parts, resolve_lines, EventExtra, LineSpec, PartsOf};
use crate::auth::Caller;
use crate::db::DbConn;
use crate::error::{AppError, Problem};
use crate::tickets::rules::{self, Action, JobType};
use crate::tickets::store::{self, PartKind, TicketChanges};

/// The technician is on site.
pub fn arrive(
    conn: &mut DbConn,
    caller: &Caller,
    id: i64,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let t = begin(conn, caller, id, Action::Arrive)?;
    let extra = EventExtra { technician_id: t.technician_id, note, ..Default::default() };
    apply(conn, caller, &t, Action::Arrive, TicketChanges::default(), extra, now)?;
    Ok(())
}

/// The visit found a part missing: the ticket awaits the parts tied to it, which must be on
/// order (409 `no_parts_on_order` otherwise: nothing would end the wait).
pub fn await_parts(
    conn: &mut DbConn,
    caller: &Caller,
    id: i64,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let t = begin(conn, caller, id, Action::AwaitParts)?;
    let requests = store::links::requests_of(conn, &[t.id])?;
    if !rules::parts_on_order(requests.iter().map(|r| r.2.as_str())) {
        return Err(AppError::conflict(
            Problem::NoPartsOnOrder,
            format!(
                "ticket {id} has no parts request on its way, so nothing would end the wait: order the missing part for the ticket first (POST /parts-requests with ticket_id {id})"
            ),
        )
        .with("current_status", t.status.as_str()));
    }
    let extra = EventExtra { technician_id: t.technician_id, note, ..Default::default() };
    apply(conn, caller, &t, Action::AwaitParts, TicketChanges::default(), extra, now)?;
    Ok(())
}

/// What the technician did on a resolving visit.
#[derive(Debug, Clone)]
pub struct ResolveSpec {
    pub job_type: JobType,
    pub cause: String,
    pub parts_used: Vec<LineSpec>,
    pub note: Option<String>,
}

/// The fault is fixed: the job type (labour for settlement), the cause and the parts used. A
/// part used that no loan to the ticket brought is taken from the station's free stock
/// ([`super::stock`]), or the resolve is refused (409 `insufficient_stock`) and changes nothing.
pub fn resolve(
    conn: &mut DbConn,
    caller: &Caller,
    id: i64,
    spec: &ResolveSpec,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let t = begin(conn, caller, id, Action::Resolve)?;
    let model = model_of(conn, &t)?;
    let lines = resolve_lines(conn, &spec.parts_used, &model, super::USED)?;
    let lines = super::stock::as_lent(conn, &t, lines)?;
    let visit = store::visits_made(conn, t.id)? as i32;
    record_parts(conn, caller, &t, PartsOf { kind: PartKind::Used, quote_id: None, visit }, &lines, now)?;
    super::stock::consume_unlent(conn, caller, &t, &lines, now.naive_utc())?;
    let changes = TicketChanges {
        job_type: Some(Some(spec.job_type.as_str().into())),
        cause: Some(Some(spec.cause.clone())),
        resolved_at: Some(Some(t.resolved_at.unwrap_or(now.naive_utc()))),
        ..Default::default()
    };
    let extra =
        EventExtra { technician_id: t.technician_id, note: spec.note.as_deref(), ..Default::default() };
    apply(conn, caller, &t, Action::Resolve, changes, extra, now)?;
    crate::rollup::ticket(conn, t.id)?;
    Ok(())
}

/// The fault was not fixed on site: escalated for technical support, to be dispatched again.
pub fn escalate(
    conn: &mut DbConn,
    caller: &Caller,
    id: i64,
    note: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let t = begin(conn, caller, id, Action::Escalate)?;
    let extra = EventExtra { technician_id: t.technician_id, note: Some(note), ..Default::default() };
    apply(conn, caller, &t, Action::Escalate, TicketChanges::default(), extra, now)?;
    Ok(())
}

/// The customer signed off the work: the ticket is complete.
pub fn confirm(
    conn: &mut DbConn,
    caller: &Caller,
    id: i64,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let t = begin(conn, caller, id, Action::Confirm)?;
    let at = now.naive_utc();
    let changes =
        TicketChanges { confirmed_at: Some(Some(at)), completed_at: Some(Some(at)), ..Default::default() };
    apply(conn, caller, &t, Action::Confirm, changes, EventExtra { note, ..Default::default() }, now)?;
    Ok(())
}
