//! The desk's actions: quoting out-of-warranty work, recording the customer's acceptance,
//! dispatching a technician with the work order, and closing.

use chrono::{DateTime, Utc};

use super::{
    apply, begin, invalid, model_of, own_named, record_parts, resolve_lines, station_named, EventExtra,
    LineSpec, PartsOf,
};
use crate::auth::{Caller, Role};
use crate::db::DbConn;
use crate::error::{AppError, Problem};
use crate::money::Money;
use crate::network::store as network;
use crate::tickets::rules::{Action, JobType, Status};
use crate::tickets::store::{self, PartKind, TicketChanges, TicketRow};

/// A quote as the desk writes it.
#[derive(Debug, Clone)]
pub struct QuoteSpec {
    pub job_type: JobType,
    /// `None`: the station tier's labour rate for the job type
    pub labour: Option<Money>,
    pub parts: Vec<LineSpec>,
    pub note: Option<String>,
}

/// Quotes out-of-warranty work: labour (given, or the station tier's rate for the job type)
/// plus the parts at their sale price. A new quote supersedes the one on offer.
pub fn quote(
    conn: &mut DbConn,
    caller: &Caller,
    id: i64,
    spec: &QuoteSpec,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let t = begin(conn, caller, id, Action::Quote)?;
    let model = model_of(conn, &t)?;
    let lines = resolve_lines(conn, &spec.parts, &model, "parts")?;
    let labour = match (spec.labour, t.station_id) {
        (Some(m), _) => m.minor(),
        (None, None) => {
            return Err(invalid("labour", "the ticket has no station yet: give the labour amount"));
        }
        (None, Some(station)) => {
            store::labour_rate(conn, station, spec.job_type.as_str())?.ok_or_else(|| {
                invalid(
                    "labour",
                    format!("the station's tier has no {} rate: give the labour amount", spec.job_type),
                )
            })?
        }
    };
    let too_large = || invalid("parts", "the quote is too large");
    let parts_minor = lines.iter().try_fold(0i64, |sum, (p, qty, _)| {
        p.sale_price_minor.checked_mul(*qty).and_then(|v| sum.checked_add(v)).ok_or_else(too_large)
    })?;
    let total = labour.checked_add(parts_minor).ok_or_else(too_large)?;
    let quote_id = store::insert_quote(
        conn,
        &store::NewQuote {
            ticket_id: t.id,
            job_type: spec.job_type.as_str(),
            labour_minor: labour,
            parts_minor,
            total_minor: total,
            status: "offered",
            note: spec.note.as_deref(),
            quoted_by: &caller.username,
            quoted_at: now.naive_utc(),
        },
    )?;
    let of = PartsOf { kind: PartKind::Quoted, quote_id: Some(quote_id), visit: 0 };
    record_parts(conn, caller, &t, of, &lines, now)?;
    let changes = TicketChanges {
        responded_at: Some(Some(t.responded_at.unwrap_or(now.naive_utc()))),
        ..Default::default()
    };
    let note = format!("quote {} for {}", quote_id, Money(total));
    apply(
        conn,
        caller,
        &t,
        Action::Quote,
        changes,
        EventExtra { note: Some(&note), ..Default::default() },
        now,
    )?;
    Ok(())
}

/// Records the customer's acceptance of the quote on offer.
pub fn accept_quote(
    conn: &mut DbConn,
    caller: &Caller,
    id: i64,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let t = begin(conn, caller, id, Action::AcceptQuote)?;
    store::accept_quote(conn, t.id, &caller.username, now.naive_utc())?.ok_or_else(|| {
        AppError::conflict(Problem::NoQuote, format!("ticket {id} has no quote on offer"))
            .with("current_status", t.status.as_str())
    })?;
    apply(
        conn,
        caller,
        &t,
        Action::AcceptQuote,
        TicketChanges::default(),
        EventExtra { note, ..Default::default() },
        now,
    )?;
    Ok(())
}

/// A dispatch as the desk or the station writes it.
#[derive(Debug, Clone)]
pub struct DispatchSpec {
    pub station: Option<String>,
    pub technician: String,
    pub expected_parts: Vec<LineSpec>,
    pub note: Option<String>,
}

/// A ticket moves to another station only with nothing of its parts on the way to the first or
/// in its technician's hands: a parts request tied to it still open (its parts are on their way
/// to the first station; one received is stock of that station like any other), or a loan line
/// still open (a part in the first station's technician's custody), keeps it there (409
/// `parts_tied`, naming them).
fn parts_stay(conn: &mut DbConn, t: &TicketRow, from: i64) -> Result<(), AppError> {
    let requests = open_requests(conn, t)?;
    let loans: Vec<String> = store::links::loans_of(conn, &[t.id])?
        .into_iter()
        .filter(|l| l.4 > 0)
        .map(|l| format!("loan {} ({} open lines)", l.1, l.4))
        .collect();
    if requests.is_empty() && loans.is_empty() {
        return Ok(());
    }
    let code = network::by_id(conn, from)?.code;
    let tied: Vec<String> = requests.into_iter().chain(loans).collect();
    Err(AppError::conflict(
        Problem::PartsTied,
        format!(
            "ticket {} has parts tied to {code}: {}; receive or cancel the requests and reconcile the loans before sending it to another station",
            t.id,
            tied.join(", ")
        ),
    )
    .with("station", code)
    .with("tied", tied))
}

/// A ticket whose parts are in a technician's hands (a loan line for it still open) goes to
/// that technician only: another would fit parts it does not hold, and the one holding them
/// could no longer see the ticket it books them on. 409 `parts_tied` naming the loans; the
/// parts come back (an unused return) first.
fn parts_in_hand(conn: &mut DbConn, t: &TicketRow, technician: &str) -> Result<(), AppError> {
    let held: Vec<(String, String)> = store::links::loans_of(conn, &[t.id])?
        .into_iter()
        .filter(|l| l.4 > 0 && l.2 != technician)
        .map(|l| (format!("loan {} ({} open lines)", l.1, l.4), l.2))
        .collect();
    let Some((_, holder)) = held.first() else { return Ok(()) };
    let tied: Vec<String> = held.iter().map(|(loan, _)| loan.clone()).collect();
    Err(AppError::conflict(
        Problem::PartsTied,
        format!(
            "ticket {} has parts in the hands of {holder}: {}; return or reconcile them before dispatching another technician",
            t.id,
            tied.join(", ")
        ),
    )
    .with("technician", holder)
    .with("tied", tied))
}

/// The parts requests tied to the ticket that are still open (not cancelled, rejected,
/// received or closed), in words.
fn open_requests(conn: &mut DbConn, t: &TicketRow) -> Result<Vec<String>, AppError> {
    Ok(store::links::requests_of(conn, &[t.id])?
        .into_iter()
        .filter(|r| !matches!(r.2.as_str(), "cancelled" | "rejected" | "received" | "closed"))
        .map(|r| format!("parts request {} ({})", r.1, r.2))
        .collect())
}

/// Sends a technician of a station, with the parts expected on the work order. A station
/// dispatches its own technicians; the desk names the station (or keeps the ticket's).
pub fn dispatch(
    conn: &mut DbConn,
    caller: &Caller,
    id: i64,
    spec: &DispatchSpec,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let t = begin(conn, caller, id, Action::Dispatch)?;
    let station = match (caller.role, spec.station.as_deref()) {
        (Role::Station, named) => {
            own_named(conn, caller, named, "a station dispatches its own technicians only")?
        }
        (_, Some(code)) => station_named(conn, code)?,
        (_, None) => match t.station_id {
            Some(sid) => network::by_id(conn, sid)?,
            None => return Err(invalid("station", "the ticket has no station yet: name the station")),
        },
    };
    // a ticket is not sent to a closed station; one already there is finished there
    if t.station_id != Some(station.id) {
        crate::network::require_active(&station, "no ticket is sent there")?;
    }
    if let Some(from) = t.station_id.filter(|&s| s != station.id) {
        parts_stay(conn, &t, from)?;
    }
    let technicians = store::technicians_at(conn, station.id)?;
    let technician = technicians.iter().find(|(_, name)| *name == spec.technician).map(|(id, _)| *id);
    let Some(technician) = technician else {
        let names: Vec<&String> = technicians.iter().map(|(_, n)| n).collect();
        return Err(AppError::unprocessable(
            Problem::InvalidTechnician,
            format!("{:?} is not an active technician of {}", spec.technician, station.code),
        )
        .with("field", "technician")
        .with("technicians", names));
    };
    parts_in_hand(conn, &t, &spec.technician)?;
    let model = model_of(conn, &t)?;
    let lines = resolve_lines(conn, &spec.expected_parts, &model, "expected_parts")?;
    let visit = store::visits_made(conn, t.id)? as i32 + 1;
    if t.status == Status::Dispatched {
        // before arrival: the new work order replaces the one of the same visit
        store::drop_expected(conn, t.id, visit)?;
    }
    record_parts(conn, caller, &t, PartsOf { kind: PartKind::Expected, quote_id: None, visit }, &lines, now)?;
    let changes = TicketChanges {
        station_id: Some(Some(station.id)),
        technician_id: Some(Some(technician)),
        responded_at: Some(Some(t.responded_at.unwrap_or(now.naive_utc()))),
        ..Default::default()
    };
    let extra = EventExtra {
        station_id: Some(station.id),
        technician_id: Some(technician),
        note: spec.note.as_deref(),
    };
    apply(conn, caller, &t, Action::Dispatch, changes, extra, now)?;
    Ok(())
}

/// Closes a signed-off ticket, or one handled without a visit.
pub fn close(
    conn: &mut DbConn,
    caller: &Caller,
    id: i64,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let t = begin(conn, caller, id, Action::Close)?;
    // a closed ticket takes no more parts: a request for it still open would keep its place
    // (and an urgent one its priority) in the backorder queue for a ticket that is over
    let open = open_requests(conn, &t)?;
    if !open.is_empty() {
        return Err(AppError::conflict(
            Problem::PartsTied,
            format!(
                "ticket {} has parts requests still open: {}; cancel them (or receive them) before closing it",
                t.id,
                open.join(", ")
            ),
        )
        .with("tied", open));
    }
    let at = now.naive_utc();
    let changes = TicketChanges {
        closed_at: Some(Some(at)),
        completed_at: Some(Some(t.completed_at.unwrap_or(at))),
        ..Default::default()
    };
    apply(conn, caller, &t, Action::Close, changes, EventExtra { note, ..Default::default() }, now)?;
    Ok(())
}
