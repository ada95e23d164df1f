//! The parts a resolving visit fitted that no loan to the ticket brought. Every part the
//! ticket records as used is charged in settlement at cost, so the ledger must consume each
//! one for the ticket: a lent part is consumed when its loan line is reconciled (core return
//! or fee, `loans::service`); any other is taken here, in the resolve's transaction, from the
//! ticket's station's free stock (`on_hand - reserved`: what parts requests reserved stays on
//! the shelf for them) straight into the customer's unit, a `consume` movement naming the
//! ticket. A station without that much free stock refuses the resolve (409
//! `insufficient_stock`) and nothing is written: the ticket stays on site, the stock as it was.

use chrono::NaiveDateTime;

use crate::auth::Caller;
use crate::catalogue::PartRow;
use crate::db::DbConn;
use crate::error::{AppError, Problem};
use crate::ledger::rules::Reason;
use crate::ledger::store::{self as ledger, Move, Place};
use crate::network::rules::LocationKind;
use crate::tickets::rules::{beyond_loans, lent_in_place, BeyondLoans};
use crate::tickets::store::{links, TicketRow};

/// The resolving visit's `lines` as fitted: the units of a superseded part recorded by the code
/// asked for, where a loan for the ticket lent its successor in its place, are recorded as that
/// successor (the unit got what was lent, and its loan line consumes it), each keeping the code
/// the technician wrote (`rules::lent_in_place`). A line partly so covered is split in two.
pub(super) fn as_lent(
    conn: &mut DbConn,
    t: &TicketRow,
    lines: Vec<(PartRow, i64, String)>,
) -> Result<Vec<(PartRow, i64, String)>, AppError> {
    let used: Vec<(i64, i64)> = lines.iter().map(|(p, q, _)| (p.id, *q)).collect();
    let in_place = lent_in_place(&used, &links::lent_for(conn, t.id)?);
    if in_place.is_empty() {
        return Ok(lines);
    }
    let mut out = Vec::with_capacity(lines.len() + in_place.len());
    for (i, (part, qty, code)) in lines.into_iter().enumerate() {
        let mut rest = qty;
        for &(_, successor, n) in in_place.iter().filter(|(line, _, _)| *line == i) {
            out.push((crate::catalogue::store::parts::by_id(conn, successor)?, n, code.clone()));
            rest -= n;
        }
        if rest > 0 {
            out.push((part, rest, code));
        }
    }
    Ok(out)
}

/// Consumes from the ticket's station what `lines` used beyond the parts lent for the ticket.
pub(super) fn consume_unlent(
    conn: &mut DbConn,
    caller: &Caller,
    t: &TicketRow,
    lines: &[(PartRow, i64, String)],
    at: NaiveDateTime,
) -> Result<(), AppError> {
    if lines.is_empty() {
        return Ok(());
    }
    let used: Vec<(i64, i64)> = lines.iter().map(|(p, q, _)| (p.id, *q)).collect();
    let takes = beyond_loans(&used, &links::lent_for(conn, t.id)?);
    if takes.is_empty() {
        return Ok(());
    }
    let station_id = t
        .station_id
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("ticket {} is on site with no station", t.id)))?;
    let station = ledger::place_by_id(conn, station_id)?;
    let customer = ledger::virtual_place(conn, LocationKind::Customer)?;
    let reference = format!("ticket:{}", t.id);
    // in part order, as every write of a station takes its stock rows (ARCHITECTURE.md)
    for b in takes {
        let part = &lines[b.line].0;
        let short = |conn: &mut DbConn| refusal(conn, t, &station, part, &b);
        // a serialized part leaves by its serials: the station's in order, as a loan takes them
        let serials = if part.serialized {
            let s = ledger::serials_at(conn, part.id, station.id, b.take)?;
            if (s.len() as i64) < b.take {
                return Err(short(conn));
            }
            s
        } else {
            Vec::new()
        };
        let m = Move {
            part_id: part.id,
            qty: b.take,
            from: &station,
            to: &customer,
            reason: Reason::Consume,
            reference: Some(&reference),
            actor: Some(&caller.username),
            at,
            serials: &serials,
            from_reserved: false,
            ticket_id: Some(t.id),
        };
        match ledger::post(conn, &m) {
            Ok(_) => {}
            Err(e) if e.kind == Problem::InsufficientStock => return Err(short(conn)),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// 409 `insufficient_stock`: the station has not got free what the visit used beyond its loans.
fn refusal(conn: &mut DbConn, t: &TicketRow, station: &Place, part: &PartRow, b: &BeyondLoans) -> AppError {
    let (on_hand, reserved) = ledger::balance(conn, part.id, station.id).unwrap_or((0, 0));
    let available = on_hand - reserved;
    let why = if b.lent > 0 {
        format!("{} were lent for ticket {}, so the other {} come", b.lent, t.id, b.take)
    } else {
        format!("no loan for ticket {} brought it, so it comes", t.id)
    };
    AppError::conflict(
        Problem::InsufficientStock,
        format!(
            "parts_used[{}]: {} x{} used; {why} from {}'s free stock, which holds {available} ({on_hand} on hand, {reserved} reserved); lend the part for the ticket or receive it at the station first",
            b.line, part.code, b.used, station.code
        ),
    )
    .with("field", format!("parts_used[{}]", b.line))
    .with("part_code", &part.code)
    .with("location", &station.code)
    .with("available", available)
    .with("requested", b.take)
    .with("lent", b.lent)
}
