//! What happens to a loan: lending to a technician's custody, and reconciling each line
//! exactly once. Every function runs inside the caller's write transaction.
//!
//! The stock model (all through `ledger::store::post`):
//! - lend: station -> technician custody (`loan_out`); the custody location sits under the
//!   station, so the station's allowance keeps counting the parts at cost;
//! - core return (in warranty): custody -> CUSTOMER (`consume`), then the old part
//!   CUSTOMER -> the station's regional centre's bin of returned cores (`core_return`, a
//!   `defective` location under the centre, made on first use), same part id, where the centre
//!   analyses it. A serialized old part carries its serial into the ledger (the one given, or
//!   `CORE-L<line id>` when the factory recorded only a production date), so that the bin's
//!   serials always account for its stock;
//! - fee (out of warranty): custody -> CUSTOMER (`consume`), the fee kept on the line;
//! - unused return: custody -> QUARANTINE (`loan_return_unused`) with a pending inspection;
//!   passing it moves QUARANTINE -> station (`inspection_pass`), scrapping it
//!   QUARANTINE -> SCRAP (`inspection_scrap`).

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::rules::{self, InspectionStatus, LineStatus, OldPart};
use super::store::{self, InspectionRow, LoanLineRow, LoanRow, Reconciliation};
use crate::auth::store::UserRow;
use crate::auth::{Caller, Role, Scope};
use crate::db::schema::{ticket_parts, users};
use crate::db::DbConn;
use crate::error::{AppError, FieldError, Problem};
use crate::ledger::rules::{check_serials, Reason};
use crate::ledger::store::{self as ledger, Move, Place};
use crate::network::rules::LocationKind;
use crate::network::store::{self as network, LocationRow};

/// One line to lend.
pub struct LendLine {
    pub part_code: String,
    pub qty: i64,
    pub serials: Vec<String>,
}

/// The custody location of a technician at a station, made under the station on first use. A
/// technician moved to another station gets a custody of its own there (`TECH-<id>-S<station>-...`):
/// the one under the old station keeps that station's history, which the new one never reads.
pub fn custody(
    conn: &mut DbConn,
    station: &LocationRow,
    tech: &UserRow,
    at: DateTime<Utc>,
) -> Result<Place, AppError> {
    let first = rules::custody_code(tech.id, &tech.username);
    let here = ledger::places_under(conn, station.id, LocationKind::Technician)?;
    let prefix = format!("TECH-{}-", tech.id);
    if let Some(place) =
        here.into_iter().find(|p| p.code == first || p.code.starts_with(&format!("{prefix}S{}-", station.id)))
    {
        return Ok(place);
    }
    let code = if ledger::place_by_code(conn, &first)?.is_none() {
        first
    } else {
        rules::custody_code_at(tech.id, station.id, &tech.username)
    };
    let name = format!("Custody of {}", tech.username);
    ledger::new_place_under(conn, station, LocationKind::Technician, &code, &name, at.naive_utc())
}

/// Where a station's returned cores go for defect analysis: a bin under the station's regional
/// centre (`<centre>-DEFECTIVE`), made on first use; the network-wide DEFECTIVE for a station
/// with no centre above it.
fn core_bin(conn: &mut DbConn, station_id: i64, at: NaiveDateTime) -> Result<Place, AppError> {
    let station = network::by_id(conn, station_id)?;
    let centre = match station.parent_id {
        Some(id) => network::by_id(conn, id)?,
        None => return ledger::virtual_place(conn, LocationKind::Defective),
    };
    if centre.kind != LocationKind::RegionalCentre {
        return ledger::virtual_place(conn, LocationKind::Defective);
    }
    if let Some(bin) = ledger::place_under(conn, centre.id, LocationKind::Defective)? {
        return Ok(bin);
    }
    let readable = format!("{}-DEFECTIVE", centre.code);
    let code = if crate::network::rules::valid_code(&readable)
        && ledger::place_by_code(conn, &readable)?.is_none()
    {
        readable
    } else {
        format!("DEFECTIVE-{}", centre.id)
    };
    let name = format!("Returned cores at {}", centre.name);
    ledger::new_place_under(conn, &centre, LocationKind::Defective, &code, &name, at)
}

fn user_by_id(conn: &mut DbConn, id: i64) -> QueryResult<UserRow> {
    users::table.find(id).select(UserRow::as_select()).first(conn)
}

/// Usernames of the given user ids.
pub fn usernames(conn: &mut DbConn, ids: &[i64]) -> QueryResult<std::collections::BTreeMap<i64, String>> {
    Ok(users::table
        .filter(users::id.eq_any(ids.to_vec()))
        .select((users::id, users::username))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect())
}

/// Lends parts to a technician for a ticket of the station dispatched to them: the ticket
/// checked like a path id ([`crate::tickets::service::for_parts`]) and every line fitted to its
/// unit's model. A technician borrows for themselves only.
pub fn lend(
    conn: &mut DbConn,
    caller: &Caller,
    technician: &str,
    ticket_id: i64,
    lines: &[LendLine],
    now: DateTime<Utc>,
) -> Result<i64, AppError> {
    if caller.role == Role::Technician && technician != caller.username {
        return Err(AppError::forbidden("a technician borrows parts for themselves only"));
    }
    let scope = Scope::of(conn, caller)?;
    let (tech, station_code) = crate::auth::store::find_by_username(conn, technician)?
        .filter(|(u, _)| u.role == Role::Technician.as_str() && u.active)
        .ok_or_else(|| {
            AppError::unprocessable(
                Problem::InvalidTechnician,
                format!("there is no technician {technician}"),
            )
        })?;
    let station = match station_code {
        Some(code) => network::by_code(conn, &code)?,
        None => None,
    }
    .filter(|s| s.kind == LocationKind::Station)
    .ok_or_else(|| {
        AppError::unprocessable(Problem::InvalidTechnician, format!("{technician} belongs to no station"))
    })?;
    if !scope.covers(&station.path) {
        // answered as an unknown name, so that a station cannot learn another's usernames
        return Err(AppError::unprocessable(
            Problem::InvalidTechnician,
            format!("there is no technician {technician}"),
        ));
    }
    // checked like a path id: out of sight 404, past taking parts 409, another station's 422
    let fit = crate::tickets::service::for_parts(conn, caller, ticket_id, station.id)?;
    let ticket = &fit.ticket;
    if ticket.technician_id != Some(tech.id) {
        return Err(AppError::unprocessable(
            Problem::TicketNotDispatched,
            format!("ticket {ticket_id} is not dispatched to {technician}"),
        ));
    }
    let at = now.naive_utc();
    let custody = custody(conn, &station, &tech, now)?;
    let from = ledger::place_by_id(conn, station.id)?;
    let loan_id = store::insert_loan(conn, station.id, tech.id, custody.id, ticket_id, &caller.username, at)?;
    let reference = format!("loan:{loan_id}");
    let mut moves = Vec::with_capacity(lines.len());
    for (i, l) in lines.iter().enumerate() {
        // every line must fit the ticket's unit; the alternatives' stock is the station's own
        let asked = fit.part(conn, i, &l.part_code, station.id)?;
        // a superseded part is lent as its final successor, as a parts request is served with it,
        // and the line says so
        let part = crate::catalogue::resolve_successor(conn, asked)?;
        let requested_part_id = (part.served.id != part.requested.id).then_some(part.requested.id);
        let part = part.served;
        let serials = if part.serialized && l.serials.is_empty() {
            // the station's serials in order; too few means too little stock (409 below)
            ledger::serials_at(conn, part.id, station.id, l.qty)?
        } else {
            check_serials(part.serialized, l.qty, &l.serials).map_err(|m| {
                AppError::invalid_fields(vec![crate::error::FieldError::new(
                    format!("lines[{i}].serials"),
                    m,
                )])
            })?;
            l.serials.clone()
        };
        let stored = (!serials.is_empty()).then(|| serde_json::to_string(&serials).unwrap_or_default());
        store::insert_line(
            conn,
            loan_id,
            station.id,
            i as i32 + 1,
            part.id,
            requested_part_id,
            l.qty,
            part.unit_cost_minor,
            stored.as_deref(),
        )?;
        moves.push((part.id, i, l.qty, serials));
    }
    // the station's stock rows in part order, as every other write of a station takes them, so
    // that a loan and a receipt (or another loan) of one station cannot wait on each other
    moves.sort_by_key(|m| (m.0, m.1));
    for (part_id, i, qty, serials) in moves {
        ledger::post(
            conn,
            &Move {
                part_id,
                qty,
                from: &from,
                to: &custody,
                reason: Reason::LoanOut,
                reference: Some(&reference),
                actor: Some(&caller.username),
                at,
                serials: &serials,
                from_reserved: false,
                ticket_id: Some(ticket_id),
            },
        )
        .map_err(|e| e.with("line", i))?;
    }
    Ok(loan_id)
}

/// The loan if the caller may see it: admin and finance all, a station its own, a technician
/// their own; 404 otherwise.
pub fn visible(conn: &mut DbConn, caller: &Caller, id: i64) -> Result<LoanRow, AppError> {
    let not_found = || AppError::not_found(format!("loan {id} not found"));
    let loan = store::loan(conn, id)?.ok_or_else(not_found)?;
    match caller.role {
        Role::Admin | Role::Finance => Ok(loan),
        Role::Technician if loan.technician_id == caller.user_id => Ok(loan),
        Role::Station => {
            let station = network::by_id(conn, loan.station_id)?;
            if Scope::of(conn, caller)?.covers(&station.path) {
                Ok(loan)
            } else {
                Err(not_found())
            }
        }
        _ => Err(not_found()),
    }
}

/// How a line is reconciled.
#[derive(Debug, Clone)]
pub enum How {
    /// the old part taken out of the unit; none for a part that has no core (not
    /// `core_returnable`: a gasket, a lamp), which is then consumed alone
    Core(Option<OldPart>),
    Fee(Option<i64>),
    Unused,
}

fn serials_of(line: &LoanLineRow) -> Vec<String> {
    line.serials.as_deref().and_then(|s| serde_json::from_str(s).ok()).unwrap_or_default()
}

/// Reconciles one loan line, exactly once (409 when it was already).
pub fn reconcile(
    conn: &mut DbConn,
    caller: &Caller,
    loan_id: i64,
    line_no: i32,
    how: How,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    // the ticket's row locked first, then the line's. The ticket's: the resolve of the ticket
    // takes it and then reads (share-locks) its loan lines, and a reconciliation's movement and
    // swap name the ticket, so taking the line first waited on the resolve in a circle. The
    // line's: a second return of the line at once waits for the first and finds it reconciled
    // (409), rather than checking its old part against the unit's record the first one's swap
    // has just changed, which would count as a wrong part
    if let Some(l) = store::loan(conn, loan_id)? {
        crate::tickets::store::lock_ticket(conn, l.ticket_id)?;
    }
    store::lock_line(conn, loan_id, line_no)?;
    let loan = visible(conn, caller, loan_id)?;
    let line = store::line(conn, loan_id, line_no)?
        .ok_or_else(|| AppError::not_found(format!("loan {loan_id} has no line {line_no}")))?;
    if line.status != LineStatus::Open {
        return Err(already(&line));
    }
    let at = now.naive_utc();
    let custody = ledger::place_by_id(conn, loan.custody_id)?;
    let customer = ledger::virtual_place(conn, LocationKind::Customer)?;
    let reference = format!("loan:{loan_id}/{line_no}");
    let serials = serials_of(&line);

    let (code, family, serialized, sale_price) = store::part_facts(conn, line.part_id)?;
    // free under the ticket's warranty (core return) or paid by the customer (fee): the whole
    // ticket's, or for a ticket one component's longer term covers, that component's family only
    let (free, covers) =
        crate::tickets::part_in_warranty(conn, loan.ticket_id, &family)?.unwrap_or((false, String::new()));
    let paid_why = if covers == "unit" || covers.is_empty() {
        format!("ticket {} is out of warranty", loan.ticket_id)
    } else {
        format!(
            "{code} is outside ticket {}'s warranty, which covers its {covers} parts only",
            loan.ticket_id
        )
    };
    // the line's units moved once, in the reconciliation's name
    let post = |conn: &mut DbConn, from: &Place, to: &Place, reason: Reason, serials: &[String]| {
        let (part_id, qty, actor) = (line.part_id, line.qty, Some(caller.username.as_str()));
        let m = Move {
            part_id,
            qty,
            from,
            to,
            reason,
            reference: Some(&reference),
            actor,
            at,
            serials,
            from_reserved: false,
            ticket_id: Some(loan.ticket_id),
        };
        ledger::post(conn, &m)
    };
    let mut rec = Reconciliation {
        status: "",
        fee_minor: None,
        old_serial: None,
        old_production_date: None,
        by: &caller.username,
        at,
    };
    // fitted (a core return or a fee) for a ticket already settled: its parts used are final,
    // and a part consumed for it now would be in no month's check against the ledger
    if !matches!(how, How::Unused) {
        if let Some(period) = store::ticket_settled_in(conn, loan.ticket_id)? {
            return Err(AppError::conflict(
                Problem::TicketTakesNoParts,
                format!(
                    "ticket {} was settled in {period}: its parts used are final, so no part is fitted for it now; return the part unused",
                    loan.ticket_id
                ),
            )
            .with("settled_in", period));
        }
    }
    match how {
        How::Core(old) => {
            if !free {
                return Err(AppError::unprocessable(
                    Problem::NotInWarranty,
                    format!("{paid_why}: reconcile the line by fee"),
                ));
            }
            // the old part exists only once a technician has been on site
            let ticket = crate::tickets::store::ticket(conn, loan.ticket_id)?
                .ok_or_else(|| AppError::internal(anyhow::anyhow!("loan {} lost its ticket", loan.id)))?;
            if !crate::tickets::service::had_visit(conn, &ticket)? {
                return Err(AppError::conflict(
                    Problem::NoVisitYet,
                    format!(
                        "ticket {} has had no visit yet ({}): a core is returned after the technician was on site",
                        ticket.id, ticket.status
                    ),
                )
                .with("current_status", ticket.status.as_str()));
            }
            if line.core_mismatches >= rules::CORE_ATTEMPTS && caller.role != Role::Admin {
                return Err(AppError::conflict(
                    Problem::CoreAttemptsExhausted,
                    format!(
                        "{} wrong old parts were offered for loan line {}: an admin records its core return, having looked at the part",
                        line.core_mismatches, line.line_no
                    ),
                )
                .with("attempts_left", 0));
            }
            let old = match old {
                Some(old) => old,
                None if !store::core_returnable(conn, line.part_id)? => {
                    // fitted, and nothing comes back: the part is consumed, no core to check
                    rec.status = LineStatus::CoreReturned.as_str();
                    if !store::reconcile(conn, line.id, &rec)? {
                        return Err(already(&line));
                    }
                    post(conn, &custody, &customer, Reason::Consume, &serials)?;
                    return Ok(());
                }
                None => {
                    return Err(AppError::invalid_fields(vec![FieldError::new(
                        "serial",
                        format!(
                            "{code} comes back as a core: give the old part's serial or its production_date"
                        ),
                    )]))
                }
            };
            // the attempt is taken before the check, on the line's row (which waits for another
            // attempt at once to end), and given back when the part is the right one: attempts
            // made together are counted one by one, never more than the limit. A wrong part's
            // count stays: the caller commits it with the refusal (`CoreMismatch`).
            let taken = if caller.role == Role::Admin {
                store::count_core_mismatch(conn, loan.id, line.line_no)?;
                None
            } else {
                match store::take_core_attempt(conn, line.id, rules::CORE_ATTEMPTS)? {
                    Some(n) => Some(n),
                    None => {
                        return Err(AppError::conflict(
                            Problem::CoreAttemptsExhausted,
                            format!(
                                "{} wrong old parts were offered for loan line {}: an admin records its core return, having looked at the part",
                                rules::CORE_ATTEMPTS, line.line_no
                            ),
                        )
                        .with("attempts_left", 0))
                    }
                }
            };
            let left = taken.map_or(0, |n| (rules::CORE_ATTEMPTS - n).max(0));
            let (unit_id, old_serial, old_date) =
                checked_core(conn, &loan, &line, (&code, &family, serialized), old, left)?;
            // the right part: the attempt (or an admin's count) is given back
            store::uncount_core_mismatch(conn, line.id)?;
            rec.status = LineStatus::CoreReturned.as_str();
            rec.old_serial = old_serial.as_deref();
            rec.old_production_date = old_date;
            if !store::reconcile(conn, line.id, &rec)? {
                return Err(already(&line));
            }
            post(conn, &custody, &customer, Reason::Consume, &serials)?;
            // the old part goes back into the ledger at the centre's bin; a serialized one by serial
            let core_serials: Vec<String> = if serialized {
                vec![old_serial.clone().unwrap_or_else(|| format!("CORE-L{}", line.id))]
            } else {
                vec![]
            };
            let bin = core_bin(conn, loan.station_id, at)?;
            post(conn, &customer, &bin, Reason::CoreReturn, &core_serials)?;
            // the part lent is now in the unit: its record takes the fitted part's serial, so the
            // next core return on the unit is checked against it
            if let (true, Some(new_serial)) = (serialized, serials.first()) {
                crate::catalogue::store::units::record_swap(
                    conn,
                    &crate::catalogue::store::units::NewSwap {
                        unit_id,
                        ticket_id: loan.ticket_id,
                        family: &family,
                        part_id: line.part_id,
                        old_serial: old_serial.as_deref(),
                        old_production_date: old_date,
                        new_serial,
                        by: &caller.username,
                        at,
                    },
                )?;
            }
        }
        How::Fee(amount) => {
            if free {
                return Err(AppError::unprocessable(
                    Problem::InWarranty,
                    format!("ticket {} is in warranty: reconcile the line by core return", loan.ticket_id),
                ));
            }
            let fee = match amount {
                Some(a) => a,
                // the price the customer accepted: for a part lent as the successor of the one
                // quoted, the quoted part's
                None => {
                    let asked = line.requested_part_id.unwrap_or(line.part_id);
                    let quoted = match quoted_price(conn, loan.ticket_id, asked)? {
                        None if asked != line.part_id => quoted_price(conn, loan.ticket_id, line.part_id)?,
                        found => found,
                    };
                    quoted.unwrap_or(sale_price).saturating_mul(line.qty)
                }
            };
            rec.status = LineStatus::FeeCharged.as_str();
            rec.fee_minor = Some(fee);
            if !store::reconcile(conn, line.id, &rec)? {
                return Err(already(&line));
            }
            post(conn, &custody, &customer, Reason::Consume, &serials)?;
        }
        How::Unused => {
            rec.status = LineStatus::ReturnedUnused.as_str();
            if !store::reconcile(conn, line.id, &rec)? {
                return Err(already(&line));
            }
            let quarantine = ledger::virtual_place(conn, LocationKind::Quarantine)?;
            post(conn, &custody, &quarantine, Reason::LoanReturnUnused, &serials)?;
            store::insert_inspection(conn, &line, loan.station_id, at)?;
        }
    }
    Ok(())
}

/// The old part brought back for a core return, checked against the unit's record of the
/// component (the factory's, or the part a swap fitted since): its serial or its production
/// date, trimmed. A serialized part comes back one unit per line. A mismatch is refused without
/// saying what the record holds. Returns the unit and the old part's serial or date.
fn checked_core(
    conn: &mut DbConn,
    loan: &LoanRow,
    line: &LoanLineRow,
    (code, family, serialized): (&str, &str, bool),
    old: OldPart,
    attempts_left: i32,
) -> Result<(i64, Option<String>, Option<NaiveDate>), AppError> {
    let (unit_id, _, _) = crate::tickets::ticket_model(conn, loan.ticket_id)?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("ticket {} has no unit", loan.ticket_id)))?;
    let (_, rec_serial, rec_date) = store::factory_record(conn, unit_id, family)?.ok_or_else(|| {
        AppError::unprocessable(
            Problem::NoFactoryRecord,
            format!("the unit's factory record has no {family} component to check {code} against"),
        )
    })?;
    if let Err((_, given)) = rules::check_core(rec_serial.as_deref(), rec_date, &old) {
        // the record is never revealed: whoever returns the part must bring the one it holds
        let left = attempts_left;
        return Err(AppError::unprocessable(
            Problem::CoreMismatch,
            format!("the old {family} part ({given}) is not the one the unit's record holds; bring back the part taken out of the unit"),
        )
        .with("given", given)
        .with("attempts_left", left));
    }
    let (old_serial, old_date): (Option<String>, Option<NaiveDate>) = match old {
        OldPart::Serial(s) => (Some(s.trim().to_string()), None),
        OldPart::ProductionDate(d) => (None, Some(d)),
    };
    if serialized && line.qty != 1 {
        return Err(AppError::unprocessable(
            Problem::CoreQty,
            "a serialized part is core-returned one unit per loan line",
        ));
    }
    Ok((unit_id, old_serial, old_date))
}

fn already(line: &LoanLineRow) -> AppError {
    AppError::conflict(
        Problem::AlreadyReconciled,
        format!("loan line {} is reconciled already ({})", line.line_no, line.status.as_str()),
    )
    .with("current_status", line.status.as_str())
}

/// The unit sale price the ticket's accepted quote agreed for a part, if it quoted it.
fn quoted_price(conn: &mut DbConn, ticket_id: i64, part_id: i64) -> Result<Option<i64>, AppError> {
    let Some(quote) = crate::tickets::store::accepted_quote(conn, ticket_id)? else { return Ok(None) };
    Ok(ticket_parts::table
        .filter(ticket_parts::ticket_id.eq(ticket_id))
        .filter(ticket_parts::quote_id.eq(quote.id))
        .filter(ticket_parts::part_id.eq(part_id))
        .select(ticket_parts::sale_price_minor)
        .first(conn)
        .optional()?)
}

/// Records an inspection's result: passed goes back into the station's stock, scrapped to
/// SCRAP. Once only (409).
pub fn inspect(
    conn: &mut DbConn,
    caller: &Caller,
    id: i64,
    passed: bool,
    now: DateTime<Utc>,
) -> Result<InspectionRow, AppError> {
    let not_found = || AppError::not_found(format!("inspection {id} not found"));
    let row = store::inspection(conn, id)?.ok_or_else(not_found)?;
    let station = network::by_id(conn, row.station_id)?;
    if !Scope::of(conn, caller)?.covers(&station.path) {
        return Err(not_found());
    }
    let status = if passed { InspectionStatus::Passed } else { InspectionStatus::Scrapped };
    let at = now.naive_utc();
    if !store::decide_inspection(conn, id, status.as_str(), &caller.username, at)? {
        return Err(AppError::conflict(
            Problem::AlreadyInspected,
            format!("inspection {id} is decided already ({})", row.status.as_str()),
        )
        .with("current_status", row.status.as_str()));
    }
    let quarantine = ledger::virtual_place(conn, LocationKind::Quarantine)?;
    let to = if passed {
        ledger::place_by_id(conn, station.id)?
    } else {
        ledger::virtual_place(conn, LocationKind::Scrap)?
    };
    let serials: Vec<String> =
        row.serials.as_deref().and_then(|s| serde_json::from_str(s).ok()).unwrap_or_default();
    let reference = format!("inspection:{id}");
    ledger::post(
        conn,
        &Move {
            part_id: row.part_id,
            qty: row.qty,
            from: &quarantine,
            to: &to,
            reason: if passed { Reason::InspectionPass } else { Reason::InspectionScrap },
            reference: Some(&reference),
            actor: Some(&caller.username),
            at,
            serials: &serials,
            from_reserved: false,
            ticket_id: None,
        },
    )?;
    store::inspection(conn, id)?.ok_or_else(not_found)
}

/// Technician of a loan, for views.
pub fn technician(conn: &mut DbConn, loan: &LoanRow) -> QueryResult<UserRow> {
    user_by_id(conn, loan.technician_id)
}
